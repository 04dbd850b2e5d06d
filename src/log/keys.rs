//! A log's chain of keys: the pinned key, then each key the log itself
//! introduced with a signed `SigningKeyRotated` entry. A reader that pinned
//! the first key accepts a later key only through this chain; a key that
//! appears any other way proves nothing and is refused.
//!
//! The rules (the writer, every reader and every test follow them):
//! - **Entries.** The key in force for entry `i` is the newest key whose
//!   rotation entry has an index `< i`. The rotation entry itself is signed
//!   by the key in force before it (the old key vouches for the new one).
//! - **Checkpoints.** The key in force for a checkpoint of size `n` is the
//!   newest key whose rotation entry has an index `< n` (a tree that holds
//!   the rotation entry is signed by the new key). [`LogKeys::open_checkpoint`]
//!   requires a valid signature by that key; other signature lines are
//!   ignored, as C2SP requires. A checkpoint of an older size still opens with
//!   the older key, so remembered checkpoints and old proofs keep verifying.
//!   During a transition period the writer also signs with the previous key,
//!   so a reader that has not yet read the rotation entry still opens it.
//! - **Learning.** [`LogKeys::learn`] accepts a rotation only from an entry
//!   validly signed by the key in force at its index, after every rotation
//!   already known, naming a new key of the same origin (the key name is the
//!   origin) that is not already in the chain. Anything else that names a key
//!   is refused with the reason. `learn` is the one place a key enters a
//!   chain (`accept`), so a further condition (a witnessed checkpoint
//!   covering the entry) has one place to go.
//!
//! The chain keeps each rotation entry's bytes, so it can be handed on (in a
//! proof file, an evidence bundle) and checked by anyone holding the pinned
//! key alone: [`LogKeys::from_rotations`].

use super::entry::{decode_entry, verify_entry, EntryError};
use super::merkle::{leaf_hash, verify_inclusion, Hash};
use super::note::{unverified_body, Checkpoint, NoteError, NoteSigner, NoteVerifier};
use crate::pb;

/// At most this many rotations in one chain: bounds what a reader learns.
pub const ROTATIONS_MAX: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(transparent)]
    Entry(#[from] EntryError),
    #[error(transparent)]
    Note(#[from] NoteError),
    /// An entry that names a key, refused as a rotation (the reason says why).
    #[error("entry {index}: refused as a key rotation: {reason}")]
    Rotation { index: u64, reason: String },
}

/// One rotation: the entry at `index` introduced `key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub index: u64,
    /// The encoded `LogEntry`, exactly as logged (signed by the previous key).
    pub entry: Vec<u8>,
    pub key: NoteVerifier,
}

/// The keys of one log, in the order the log introduced them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogKeys {
    pinned: NoteVerifier,
    rotations: Vec<Rotation>,
}

impl LogKeys {
    /// A chain that knows only the pinned key.
    pub fn new(pinned: NoteVerifier) -> LogKeys {
        LogKeys {
            pinned,
            rotations: Vec::new(),
        }
    }

    /// The pinned key, then the rotations in `entries` (index, encoded entry),
    /// each learned in turn; the first refusal is returned.
    pub fn from_rotations(pinned: NoteVerifier, entries: &[(u64, Vec<u8>)]) -> Result<LogKeys, KeyError> {
        let mut keys = LogKeys::new(pinned);
        for (index, entry) in entries {
            if !keys.learn(*index, entry)? {
                return Err(rotation(*index, "the entry does not rotate the key"));
            }
        }
        Ok(keys)
    }

    /// The key the reader pinned (the log's first key); its name is the origin.
    pub fn pinned(&self) -> &NoteVerifier {
        &self.pinned
    }

    /// The newest key known.
    pub fn current(&self) -> &NoteVerifier {
        self.rotations.last().map_or(&self.pinned, |r| &r.key)
    }

    /// The key in force before the newest rotation (`None` without rotations).
    pub fn previous(&self) -> Option<&NoteVerifier> {
        let n = self.rotations.len();
        match n {
            0 => None,
            1 => Some(&self.pinned),
            _ => Some(&self.rotations[n - 2].key),
        }
    }

    pub fn rotations(&self) -> &[Rotation] {
        &self.rotations
    }

    /// The index of the newest rotation entry, if any.
    pub fn last_rotation(&self) -> Option<u64> {
        self.rotations.last().map(|r| r.index)
    }

    /// The rotations as (index, entry) pairs, for [`LogKeys::from_rotations`].
    pub fn rotation_entries(&self) -> Vec<(u64, Vec<u8>)> {
        self.rotations.iter().map(|r| (r.index, r.entry.clone())).collect()
    }

    /// The chain as it was for a tree of `size` entries (rotations below it).
    pub fn truncated(&self, size: u64) -> LogKeys {
        LogKeys {
            pinned: self.pinned.clone(),
            rotations: self.rotations.iter().filter(|r| r.index < size).cloned().collect(),
        }
    }

    /// The key in force for entry `index`: the newest introduced before it.
    pub fn for_entry(&self, index: u64) -> &NoteVerifier {
        self.newest_below(index)
    }

    /// The key in force for a checkpoint of `size` entries.
    pub fn for_size(&self, size: u64) -> &NoteVerifier {
        self.newest_below(size)
    }

    fn newest_below(&self, bound: u64) -> &NoteVerifier {
        self.rotations
            .iter()
            .rev()
            .find(|r| r.index < bound)
            .map_or(&self.pinned, |r| &r.key)
    }

    /// True when `verifier` is one of this chain's keys.
    pub fn contains(&self, verifier: &NoteVerifier) -> bool {
        self.pinned == *verifier || self.rotations.iter().any(|r| r.key == *verifier)
    }

    /// Verifies a checkpoint note with the key in force for its size.
    pub fn open_checkpoint(&self, note: &[u8]) -> Result<Checkpoint, NoteError> {
        let claimed = Checkpoint::parse_body(unverified_body(note)?)?;
        Checkpoint::open(note, self.for_size(claimed.size))
    }

    /// Checks entry `index` as `entry::verify_entry` does, with the key in
    /// force at `index`, and learns the key it introduces, if it rotates.
    pub fn verify_entry(&mut self, index: u64, bytes: &[u8], state: &str) -> Result<pb::Event, KeyError> {
        let event = verify_entry(index, bytes, self.for_entry(index), state)?;
        if matches!(event.body, Some(pb::event::Body::SigningKeyRotated(_))) {
            self.learn(index, bytes)?;
        }
        Ok(event)
    }

    /// Checks entry `index` with the key in force, without learning (for a
    /// reader that verifies entries out of order, below what it learned).
    pub fn check_entry(&self, index: u64, bytes: &[u8], state: &str) -> Result<pb::Event, KeyError> {
        Ok(verify_entry(index, bytes, self.for_entry(index), state)?)
    }

    /// Learns the key entry `index` introduces. `Ok(false)`: the entry
    /// rotates nothing, or is a rotation this chain already holds. Refused:
    /// an entry not signed by the key in force at its index, a rotation
    /// before one already known, a key of another origin, or a key already
    /// in the chain.
    pub fn learn(&mut self, index: u64, bytes: &[u8]) -> Result<bool, KeyError> {
        let (entry, event) = decode_entry(index, bytes)?;
        let Some(pb::event::Body::SigningKeyRotated(rotated)) = &event.body else {
            return Ok(false);
        };
        if self.rotations.iter().any(|r| r.index == index && r.entry == bytes) {
            return Ok(false);
        }
        let signer = self.for_entry(index);
        if entry.key_id != signer.key_id() {
            return Err(rotation(
                index,
                &format!(
                    "it is signed by key ID {}, not by the key in force {} (a key is introduced only by the key before it)",
                    hex::encode(&entry.key_id),
                    hex::encode(signer.key_id())
                ),
            ));
        }
        verify_entry(index, bytes, signer, &event.state)?;
        if self.last_rotation().is_some_and(|last| index <= last) {
            return Err(rotation(index, "it is not after the newest rotation already known"));
        }
        let key = NoteVerifier::parse(&rotated.new_verifier_key)
            .map_err(|e| rotation(index, &format!("the new key does not parse: {e}")))?;
        if key.name() != self.pinned.name() {
            return Err(rotation(
                index,
                &format!(
                    "the new key is for origin {}, not this log's origin {}",
                    crate::limits::quote(key.name()),
                    crate::limits::quote(self.pinned.name())
                ),
            ));
        }
        if self.contains(&key) {
            return Err(rotation(index, "the new key is already one of this log's keys"));
        }
        self.accept(Rotation {
            index,
            entry: bytes.to_vec(),
            key,
        })?;
        Ok(true)
    }

    /// The one place a key enters the chain.
    fn accept(&mut self, learned: Rotation) -> Result<(), KeyError> {
        if self.rotations.len() >= ROTATIONS_MAX {
            return Err(rotation(
                learned.index,
                &format!("a log may rotate its key at most {ROTATIONS_MAX} times"),
            ));
        }
        self.rotations.push(learned);
        Ok(())
    }
}

/// A rotation entry handed over with its inclusion proof: (index, encoded
/// entry, proof into the tree of the checkpoint it comes with).
pub type ProvenRotation<'a> = (u64, &'a [u8], &'a [Hash]);

/// Opens `note` after teaching a copy of `keys` the rotation entries
/// `proven` carries (those it does not know yet, below the size the note
/// claims), each proven included in the very tree the note claims and
/// learned as [`LogKeys::learn`] requires. Returns the checkpoint and the
/// chain that opened it. An unproven or unlearnable entry is refused; a note
/// no chain opens is refused.
pub fn open_with_rotations(
    keys: &LogKeys,
    note: &[u8],
    proven: &[ProvenRotation<'_>],
) -> Result<(Checkpoint, LogKeys), KeyError> {
    let claimed = Checkpoint::parse_body(unverified_body(note)?)?;
    let mut learned = keys.clone();
    let known = keys.last_rotation();
    for &(index, entry, proof) in proven.iter().take(ROTATIONS_MAX + 1) {
        if index >= claimed.size || known.is_some_and(|known| index <= known) {
            continue;
        }
        if !verify_inclusion(&leaf_hash(entry), index, claimed.size, proof, &claimed.root) {
            return Err(rotation(
                index,
                &format!("it is not proven included in the tree of size {}", claimed.size),
            ));
        }
        learned.learn(index, entry)?;
    }
    let checkpoint = learned.open_checkpoint(note)?;
    Ok((checkpoint, learned))
}

fn rotation(index: u64, reason: &str) -> KeyError {
    KeyError::Rotation {
        index,
        reason: reason.to_string(),
    }
}

/// Signs `body` into one note by every signer, in order (C2SP allows several
/// signature lines; a verifier uses the one of its key).
pub fn sign_note_by(body: &str, signers: &[&NoteSigner]) -> String {
    let mut note = String::new();
    for (i, signer) in signers.iter().enumerate() {
        let signed = signer.sign_note(body);
        if i == 0 {
            note.push_str(&signed);
        } else {
            note.push_str(&signed[body.len() + 1..]);
        }
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::entry::sign_event;
    use prost::Message;

    const ORIGIN: &str = "peerreg.local/ms";

    fn key(seed: u8) -> NoteSigner {
        NoteSigner::from_seed(ORIGIN, [seed; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn event(index: u64, body: pb::event::Body) -> pb::Event {
        pb::Event {
            state: "MS".into(),
            index,
            event_id: format!("e-{index}"),
            recorded_at: None,
            body: Some(body),
        }
    }

    fn plain(index: u64, signer: &NoteSigner) -> Vec<u8> {
        let body = pb::event::Body::CredentialRenewed(pb::CredentialRenewed {
            imported: false,
            credential_number: "MS-1".into(),
            renewed_on: "2026-01-01".into(),
            new_expires_on: "2028-01-01".into(),
        });
        sign_event(&event(index, body), signer).encode_to_vec()
    }

    fn rotate(index: u64, signer: &NoteSigner, new_key: &str) -> Vec<u8> {
        let body = pb::event::Body::SigningKeyRotated(pb::SigningKeyRotated {
            new_verifier_key: new_key.to_string(),
        });
        sign_event(&event(index, body), signer).encode_to_vec()
    }

    fn checkpoint(size: u64) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: [size as u8; 32],
        }
    }

    #[test]
    fn keys_are_in_force_after_their_rotation_entry_and_checkpoints_by_size() {
        let (old, new) = (key(1), key(2));
        let mut keys = LogKeys::new(old.verifier().clone());
        keys.verify_entry(0, &plain(0, &old), "MS")
            .unwrap_or_else(|e| panic!("{e}"));
        let entry = rotate(1, &old, &new.verifier().to_key_string());
        keys.verify_entry(1, &entry, "MS").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(keys.current(), new.verifier());
        assert_eq!(keys.for_entry(1), old.verifier());
        assert_eq!(keys.for_entry(2), new.verifier());
        keys.verify_entry(2, &plain(2, &new), "MS")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(keys.check_entry(2, &plain(2, &old), "MS").is_err());
        // A remembered checkpoint of size 1 opens with the old key; size 2 needs the new one.
        let remembered = checkpoint(1).sign(&old);
        assert_eq!(keys.open_checkpoint(remembered.as_bytes()), Ok(checkpoint(1)));
        assert!(keys.open_checkpoint(checkpoint(2).sign(&old).as_bytes()).is_err());
        assert_eq!(
            keys.open_checkpoint(checkpoint(2).sign(&new).as_bytes()),
            Ok(checkpoint(2))
        );
        // Both signatures during the transition: a reader not yet taught opens it too.
        let both = sign_note_by(&checkpoint(3).body(), &[&new, &old]);
        assert_eq!(keys.open_checkpoint(both.as_bytes()), Ok(checkpoint(3)));
        let untaught = LogKeys::new(old.verifier().clone());
        assert_eq!(untaught.open_checkpoint(both.as_bytes()), Ok(checkpoint(3)));
        // Handed on as entries, the chain is rebuilt from the pinned key alone.
        let rebuilt = LogKeys::from_rotations(old.verifier().clone(), &keys.rotation_entries());
        assert_eq!(rebuilt.as_ref(), Ok(&keys));
        assert_eq!(keys.truncated(1), untaught);
    }

    #[test]
    fn a_key_that_appears_any_other_way_is_refused() {
        let (old, new, stranger) = (key(1), key(2), key(3));
        let mut keys = LogKeys::new(old.verifier().clone());
        // Entries and checkpoints signed by a key never introduced.
        assert!(matches!(
            keys.verify_entry(0, &plain(0, &stranger), "MS"),
            Err(KeyError::Entry(EntryError::ForeignKey { .. }))
        ));
        assert!(keys.open_checkpoint(checkpoint(1).sign(&stranger).as_bytes()).is_err());
        // A rotation entry signed by the key it introduces, or by a stranger.
        let self_signed = rotate(0, &new, &new.verifier().to_key_string());
        assert!(matches!(keys.learn(0, &self_signed), Err(KeyError::Rotation { .. })));
        let by_stranger = rotate(0, &stranger, &new.verifier().to_key_string());
        assert!(matches!(keys.learn(0, &by_stranger), Err(KeyError::Rotation { .. })));
        // A key of another origin, a malformed key, the pinned key again.
        let other = NoteSigner::from_seed("peerreg.local/tn", [4; 32]).unwrap_or_else(|e| panic!("{e}"));
        for named in [
            other.verifier().to_key_string(),
            "garbage".into(),
            old.verifier().to_key_string(),
        ] {
            let entry = rotate(0, &old, &named);
            assert!(
                matches!(keys.learn(0, &entry), Err(KeyError::Rotation { .. })),
                "{named} must be refused"
            );
        }
        assert_eq!(keys, LogKeys::new(old.verifier().clone()));
        // A tampered rotation entry does not verify.
        let mut tampered = rotate(0, &old, &new.verifier().to_key_string());
        let at = tampered.len() - 70;
        tampered[at] ^= 1;
        assert!(keys.learn(0, &tampered).is_err());
        // Learned once; learning it again changes nothing; an earlier one is refused.
        let good = rotate(5, &old, &new.verifier().to_key_string());
        assert_eq!(keys.learn(5, &good), Ok(true));
        assert_eq!(keys.learn(5, &good), Ok(false));
        let earlier = rotate(3, &old, &stranger.verifier().to_key_string());
        assert!(keys.learn(3, &earlier).is_err());
        assert_eq!(keys.learn(6, &plain(6, &new)), Ok(false));
    }
}
