//! Verification of a log's entries in bulk: each entry checked the way
//! `verify_entry` checks one (the log's key ID, the Ed25519 signature, the
//! index and state the event names), but the signatures in batches
//! (`ed25519_dalek::verify_batch`), and each leaf hash against the stored one.
//!
//! Batch verification differs from `verify_strict` only on signatures that only
//! the key's holder could make (a non-canonical or small-order `R`), or with
//! negligible probability (2^-128); a failed batch is re-checked one by one
//! with `verify_strict`, which names the bad entry.

use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};

use super::data_loss;
use super::wire::{EventParts, Fields};
use crate::error::{Error, Result};
use crate::log::entry::{EntryError, EVENT_SIGNATURE_CONTEXT};
use crate::log::keys::LogKeys;
use crate::log::merkle::{self, leaf_hash, Hash};
use crate::log::note::{KeyId, NoteVerifier};
use crate::store::{EntryBatch, Store};

/// Signatures checked per batch verification.
const SIGNATURE_BATCH: usize = 256;

/// Each entry's leaf hash must be the stored one; returns the chunk's subtree root.
pub(super) fn check_leaves(store: &Store, batch: &EntryBatch) -> Result<Hash> {
    let end = batch.start() + batch.len() as u64;
    let stored = store.leaf_hashes(batch.start(), end)?;
    let mut leaves = Vec::with_capacity(batch.len());
    for ((index, bytes), stored) in batch.iter().zip(&stored) {
        let leaf = leaf_hash(bytes);
        if leaf != *stored {
            return Err(Error::DataLoss(format!(
                "entry {index} does not match its stored leaf hash"
            )));
        }
        leaves.push(leaf);
    }
    Ok(merkle::subtree_root(&leaves))
}

/// The keys and place every entry of the log must have: each key with the
/// first index it signs (0 for the first key, the entry after its rotation
/// entry for a later one: see `log::keys`).
pub(crate) struct Verification {
    keys: Vec<(u64, VerifyingKey, KeyId)>,
    state: String,
}

impl Verification {
    pub(crate) fn new(verifier: &NoteVerifier, state: &str) -> Result<Verification> {
        Ok(Verification {
            keys: vec![(0, verifying_key(verifier)?, verifier.key_id())],
            state: state.to_string(),
        })
    }

    /// Each entry checked with the key in force at its index in `keys`.
    pub(crate) fn with_keys(keys: &LogKeys, state: &str) -> Result<Verification> {
        let mut verification = Verification::new(keys.pinned(), state)?;
        for rotation in keys.rotations() {
            verification
                .keys
                .push((rotation.index + 1, verifying_key(&rotation.key)?, rotation.key.key_id()));
        }
        Ok(verification)
    }

    /// The key in force at `index`.
    fn key(&self, index: u64) -> (&VerifyingKey, KeyId) {
        let found = self.keys.iter().rev().find(|(first, ..)| *first <= index);
        let (_, key, id) = found.unwrap_or(&self.keys[0]);
        (key, *id)
    }

    /// The checks of `verify_entry` but the signature's.
    pub(super) fn check_entry(&self, index: u64, fields: &Fields<'_>, event: &EventParts<'_>) -> Result<()> {
        let (_, key_id) = self.key(index);
        if fields.key_id != key_id {
            return Err(data_loss(EntryError::ForeignKey {
                index,
                found: hex::encode(fields.key_id),
                expected: hex::encode(key_id),
            }));
        }
        if event.index != index || *event.state != *self.state.as_bytes() {
            return Err(data_loss(EntryError::WrongPlace {
                index,
                claimed: event.index,
                state: String::from_utf8_lossy(&event.state).into_owned(),
            }));
        }
        Ok(())
    }

    /// Checks `signatures[i]` over `messages[i]` (of entry `first + i`), in
    /// batches; a failed batch is re-checked one by one to name the bad entry.
    pub(crate) fn verify_signatures(&self, first: u64, messages: &[&[u8]], signatures: &[Signature]) -> Result<()> {
        let mut offset = 0;
        for (messages, signatures) in messages.chunks(SIGNATURE_BATCH).zip(signatures.chunks(SIGNATURE_BATCH)) {
            let start = first + offset as u64;
            let keys: Vec<VerifyingKey> = (start..start + messages.len() as u64).map(|i| *self.key(i).0).collect();
            // A weak (small-order) key is where batch and strict verification differ.
            let one_by_one = keys.iter().any(|k| k.is_weak());
            let batch_ok = !one_by_one && ed25519_dalek::verify_batch(messages, signatures, &keys).is_ok();
            if !batch_ok {
                for (i, ((message, signature), key)) in messages.iter().zip(signatures).zip(&keys).enumerate() {
                    if key.verify_strict(message, signature).is_err() {
                        return Err(data_loss(EntryError::BadSignature {
                            index: start + i as u64,
                        }));
                    }
                }
            }
            offset += messages.len();
        }
        Ok(())
    }
}

/// The signed messages and signatures of one chunk, gathered for a batch check.
#[derive(Default)]
pub(super) struct Signed {
    messages: Vec<u8>,
    ends: Vec<usize>,
    signatures: Vec<Signature>,
}

impl Signed {
    pub(super) fn clear(&mut self) {
        self.messages.clear();
        self.ends.clear();
        self.signatures.clear();
    }

    pub(super) fn push(&mut self, index: u64, fields: &Fields<'_>) -> Result<()> {
        let signature =
            Signature::from_slice(fields.signature).map_err(|_| data_loss(EntryError::BadSignature { index }))?;
        self.messages.extend_from_slice(EVENT_SIGNATURE_CONTEXT);
        self.messages.extend_from_slice(fields.event);
        self.ends.push(self.messages.len());
        self.signatures.push(signature);
        Ok(())
    }

    pub(super) fn verify(&self, verification: &Verification, first: u64) -> Result<()> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        let messages: Vec<&[u8]> = starts
            .zip(self.ends.iter().copied())
            .map(|(from, to)| &self.messages[from..to])
            .collect();
        verification.verify_signatures(first, &messages, &self.signatures)
    }
}

/// The Ed25519 key of `verifier`, from its key string (`<name>+<id>+<base64
/// of the algorithm byte and the key>`).
fn verifying_key(verifier: &NoteVerifier) -> Result<VerifyingKey> {
    let text = verifier.to_key_string();
    let unusable = |why: &str| {
        Error::Internal(format!(
            "the log's key {text} is unusable for batch verification: {why}"
        ))
    };
    let encoded = text.rsplit('+').next().unwrap_or_default();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| unusable("not base64"))?;
    let material: [u8; 32] = match raw.as_slice() {
        [1, key @ ..] => key.try_into().map_err(|_| unusable("not 32 bytes"))?,
        _ => return Err(unusable("not an Ed25519 key")),
    };
    VerifyingKey::from_bytes(&material).map_err(|_| unusable("not a valid Ed25519 key"))
}
