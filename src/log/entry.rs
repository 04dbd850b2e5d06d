//! Log entries: an encoded `Event` plus the state key's signature over it.
//!
//! Signatures are over bytes, never over objects: the event is encoded once,
//! signed, and those exact bytes are what every later reader hashes and checks.

use prost::Message;

use super::note::{NoteSigner, NoteVerifier};
use crate::pb;

/// Domain separation: an entry signature can never be replayed as a note signature.
pub const EVENT_SIGNATURE_CONTEXT: &[u8] = b"peerreg/v1/event\n";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EntryError {
    #[error("entry {index}: not a valid LogEntry encoding")]
    Undecodable { index: u64 },
    #[error("entry {index}: signed by key ID {found}, not the log's key {expected}")]
    ForeignKey {
        index: u64,
        found: String,
        expected: String,
    },
    #[error("entry {index}: the signature does not verify")]
    BadSignature { index: u64 },
    /// `state` is quoted (a short prefix): a hostile signer chooses it.
    #[error("entry {index}: the event says it is entry {claimed} of state {state}")]
    WrongPlace { index: u64, claimed: u64, state: String },
}

fn signed_message(event: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(EVENT_SIGNATURE_CONTEXT.len() + event.len());
    message.extend_from_slice(EVENT_SIGNATURE_CONTEXT);
    message.extend_from_slice(event);
    message
}

/// Encodes `event` once and signs those bytes.
pub fn sign_event(event: &pb::Event, signer: &NoteSigner) -> pb::LogEntry {
    let event = event.encode_to_vec();
    let signature = signer.sign_bytes(&signed_message(&event)).to_vec();
    pb::LogEntry {
        event,
        signature,
        key_id: signer.verifier().key_id().to_vec(),
    }
}

/// Decodes an entry and its event, without checking the signature.
pub fn decode_entry(index: u64, bytes: &[u8]) -> Result<(pb::LogEntry, pb::Event), EntryError> {
    let entry = pb::LogEntry::decode(bytes).map_err(|_| EntryError::Undecodable { index })?;
    let event = pb::Event::decode(entry.event.as_slice()).map_err(|_| EntryError::Undecodable { index })?;
    Ok((entry, event))
}

/// Decodes entry `index`, checks it was signed by `verifier`'s key and that the
/// event names this index and `state`.
pub fn verify_entry(index: u64, bytes: &[u8], verifier: &NoteVerifier, state: &str) -> Result<pb::Event, EntryError> {
    let (entry, event) = decode_entry(index, bytes)?;
    if entry.key_id != verifier.key_id() {
        return Err(EntryError::ForeignKey {
            index,
            found: hex::encode(&entry.key_id),
            expected: hex::encode(verifier.key_id()),
        });
    }
    if !verifier.verify_bytes(&signed_message(&entry.event), &entry.signature) {
        return Err(EntryError::BadSignature { index });
    }
    if event.index != index || event.state != state {
        return Err(EntryError::WrongPlace {
            index,
            claimed: event.index,
            state: crate::limits::quote(&event.state),
        });
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(index: u64) -> pb::Event {
        pb::Event {
            state: "MS".into(),
            index,
            event_id: format!("e-{index}"),
            recorded_at: None,
            body: Some(pb::event::Body::CredentialRenewed(pb::CredentialRenewed {
                imported: false,
                credential_number: "MS-1".into(),
                renewed_on: "2026-01-01".into(),
                new_expires_on: "2028-01-01".into(),
            })),
        }
    }

    #[test]
    fn signed_entries_verify_and_tampering_is_caught() {
        let key = NoteSigner::from_seed("peerreg.local/ms", [1; 32]).unwrap_or_else(|e| panic!("{e}"));
        let bytes = sign_event(&event(5), &key).encode_to_vec();
        assert_eq!(verify_entry(5, &bytes, key.verifier(), "MS"), Ok(event(5)));
        assert!(matches!(
            verify_entry(6, &bytes, key.verifier(), "MS"),
            Err(EntryError::WrongPlace { .. })
        ));
        assert!(matches!(
            verify_entry(5, &bytes, key.verifier(), "TN"),
            Err(EntryError::WrongPlace { .. })
        ));

        let other = NoteSigner::from_seed("peerreg.local/ms", [2; 32]).unwrap_or_else(|e| panic!("{e}"));
        let forged = sign_event(&event(5), &other).encode_to_vec();
        assert!(matches!(
            verify_entry(5, &forged, key.verifier(), "MS"),
            Err(EntryError::ForeignKey { .. })
        ));

        let mut entry = sign_event(&event(5), &key);
        entry.event[10] ^= 1;
        let tampered = entry.encode_to_vec();
        assert!(verify_entry(5, &tampered, key.verifier(), "MS").is_err());
    }
}
