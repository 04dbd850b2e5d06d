//! The store's checkpoint: the commit point of every group commit, written in
//! place in one of two fixed, checksummed slots of one file, so committing it
//! costs one `pwrite` and one `fdatasync` (no temp file, rename or directory
//! sync).
//!
//! Crash safety: a commit writes the slot *not* holding the newest
//! checkpoint, so the newest durable checkpoint is never overwritten. A crash
//! mid-write leaves that slot torn; its checksum fails and the other slot (the
//! checkpoint before, whose tiles were synced before it was written) is read.
//! A slot counts only if its magic, length and SHA-256 check; of two valid
//! slots the higher sequence number wins. The checkpoint being written was not
//! acknowledged or shown to anyone before its `fdatasync` returned, so falling
//! back to the one before loses nothing anyone relied on.
//!
//! Slot layout (4,096 bytes, one page): `MAGIC` (16) ‖ sequence (u64 BE) ‖
//! note length (u32 BE) ‖ note ‖ SHA-256 of everything before it ‖ zeros.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::{fault, files, StoreError};

/// Identifies a slot of this format (and the log format it belongs to).
const MAGIC: &[u8; 16] = b"peerreg-ckpt-v1\n";
pub const SLOT_BYTES: usize = 4096;
const HEADER: usize = MAGIC.len() + 8 + 4;
/// The longest note a slot holds.
pub const NOTE_MAX: usize = SLOT_BYTES - HEADER - 32;

/// The two-slot checkpoint file, held open for in-place writes.
pub(super) struct Slots {
    path: PathBuf,
    file: File,
    /// The newest slot's sequence number and index (0 or 1); `None` if empty.
    newest: Mutex<Option<(u64, usize)>>,
    /// Whether, at open, the slot beside the newest was not whole although it
    /// had been written: torn by a crash, or damaged.
    fell_back: bool,
}

/// A slot's bytes for `note` at `sequence`.
fn encode(sequence: u64, note: &[u8]) -> Vec<u8> {
    let mut slot = Vec::with_capacity(SLOT_BYTES);
    slot.extend_from_slice(MAGIC);
    slot.extend_from_slice(&sequence.to_be_bytes());
    slot.extend_from_slice(&(note.len() as u32).to_be_bytes());
    slot.extend_from_slice(note);
    let sum = Sha256::digest(&slot);
    slot.extend_from_slice(&sum);
    slot.resize(SLOT_BYTES, 0);
    slot
}

/// A slot's sequence number and note, if it is whole.
fn decode(slot: &[u8]) -> Option<(u64, &[u8])> {
    if slot.len() != SLOT_BYTES || !slot.starts_with(MAGIC) {
        return None;
    }
    let sequence = u64::from_be_bytes(slot[16..24].try_into().ok()?);
    let length = u32::from_be_bytes(slot[24..28].try_into().ok()?) as usize;
    if length > NOTE_MAX {
        return None;
    }
    let end = HEADER + length;
    let sum = Sha256::digest(&slot[..end]);
    (slot[end..end + 32] == sum[..]).then(|| (sequence, &slot[HEADER..end]))
}

/// The newest whole slot of a file's bytes: its sequence, index and note.
fn newest(bytes: &[u8]) -> Option<(u64, usize, Vec<u8>)> {
    (0..2)
        .filter_map(|i| {
            let slot = bytes.get(i * SLOT_BYTES..(i + 1) * SLOT_BYTES)?;
            decode(slot).map(|(sequence, note)| (sequence, i, note.to_vec()))
        })
        .max_by_key(|(sequence, ..)| *sequence)
}

/// The note in the checkpoint file at `path`: `Ok(None)` if there is no
/// file, `Corrupt` if neither slot is whole. Reads only this file, so it
/// works on a store too damaged to open (repair reads what was published).
pub fn read_note(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(bytes) = files::read_optional(path)? else {
        return Ok(None);
    };
    match newest(&bytes) {
        Some((.., note)) => Ok(Some(note)),
        None => Err(StoreError::Corrupt {
            dir: path.parent().unwrap_or(path).to_path_buf(),
            detail: format!(
                "{}: neither checkpoint slot is whole (both fail their checksum)",
                path.display()
            ),
        }),
    }
}

impl Slots {
    /// Opens the checkpoint file at `path`, creating it (empty, durably) if
    /// missing. A file with no whole slot is `Corrupt`, unless it is empty.
    pub(super) fn open(path: &Path) -> Result<Slots, StoreError> {
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io(path, "opening", e))?;
        if !existed {
            files::sync_dir(path.parent().unwrap_or(Path::new(".")))?;
        }
        let bytes = std::fs::read(path).map_err(|e| StoreError::io(path, "reading", e))?;
        let (newest, fell_back) = match newest(&bytes) {
            Some((sequence, index, _)) => {
                let other = bytes.get((1 - index) * SLOT_BYTES..(2 - index) * SLOT_BYTES);
                let never_written = sequence == 1 && other.is_none_or(|slot| slot.iter().all(|b| *b == 0));
                let whole = other.and_then(decode).is_some();
                (Some((sequence, index)), !whole && !never_written)
            }
            None if bytes.iter().all(|b| *b == 0) => (None, false),
            None => {
                return Err(StoreError::Corrupt {
                    dir: path.parent().unwrap_or(path).to_path_buf(),
                    detail: format!("{}: neither checkpoint slot is whole", path.display()),
                })
            }
        };
        Ok(Slots {
            path: path.to_path_buf(),
            file,
            newest: Mutex::new(newest),
            fell_back,
        })
    }

    /// Whether the slot beside the newest was torn or damaged at open: the
    /// newest readable checkpoint may then not be the newest written.
    pub(super) fn fell_back(&self) -> bool {
        self.fell_back
    }

    /// The newest checkpoint note, if one was ever written.
    pub(super) fn read(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let newest = *self.newest.lock().unwrap_or_else(|p| p.into_inner());
        let Some((_, index)) = newest else {
            return Ok(None);
        };
        let mut slot = vec![0u8; SLOT_BYTES];
        self.file
            .read_exact_at(&mut slot, (index * SLOT_BYTES) as u64)
            .map_err(|e| StoreError::io(&self.path, "reading", e))?;
        match decode(&slot) {
            Some((_, note)) => Ok(Some(note.to_vec())),
            None => Err(StoreError::Corrupt {
                dir: self.path.parent().unwrap_or(&self.path).to_path_buf(),
                detail: format!("{}: the newest checkpoint slot changed on disk", self.path.display()),
            }),
        }
    }

    /// Writes `note` into the older slot and makes it durable: from then on
    /// it is the checkpoint. On an error the newest checkpoint is unchanged.
    pub(super) fn write(&self, note: &[u8]) -> Result<(), StoreError> {
        if note.len() > NOTE_MAX {
            return Err(StoreError::Refused {
                dir: self.path.clone(),
                detail: format!("a checkpoint note of {} bytes (at most {NOTE_MAX})", note.len()),
            });
        }
        let mut newest = self.newest.lock().unwrap_or_else(|p| p.into_inner());
        let (sequence, index) = match *newest {
            Some((sequence, index)) => (sequence + 1, 1 - index),
            None => (1, 0),
        };
        let slot = encode(sequence, note);
        fault::check(&self.path).map_err(|e| StoreError::io(&self.path, "fdatasync", e))?;
        self.file
            .write_all_at(&slot, (index * SLOT_BYTES) as u64)
            .map_err(|e| StoreError::io(&self.path, "writing", e))?;
        self.file
            .sync_data()
            .map_err(|e| StoreError::io(&self.path, "fdatasync", e))?;
        *newest = Some((sequence, index));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_whole_slot_wins_and_a_torn_one_falls_back() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("checkpoint");
        let slots = Slots::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(slots.read().ok(), Some(None));
        slots.write(b"one").unwrap_or_else(|e| panic!("{e}"));
        drop(slots);
        let slots = Slots::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!slots.fell_back(), "one slot written, the other never");
        for note in [&b"two"[..], b"three"] {
            slots.write(note).unwrap_or_else(|e| panic!("{e}"));
        }
        drop(slots);
        assert_eq!(read_note(&path).ok(), Some(Some(b"three".to_vec())));
        // "three" went to slot 0 (sequence 3); tear it: "two" is read.
        let mut bytes = std::fs::read(&path).unwrap_or_default();
        bytes[HEADER + 1] ^= 1;
        std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_note(&path).ok(), Some(Some(b"two".to_vec())));
        let slots = Slots::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(slots.read().ok(), Some(Some(b"two".to_vec())));
        assert!(slots.fell_back(), "a written slot that is not whole is reported");
        // The next write goes to the torn slot, never over "two".
        slots.write(b"four").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_note(&path).ok(), Some(Some(b"four".to_vec())));
        bytes = std::fs::read(&path).unwrap_or_default();
        assert_eq!(
            decode(&bytes[SLOT_BYTES..]).map(|(_, n)| n.to_vec()),
            Some(b"two".to_vec())
        );
        // Both torn: refused, never read as empty.
        bytes[HEADER + 1] ^= 1;
        bytes[SLOT_BYTES + HEADER] ^= 1;
        std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(read_note(&path), Err(StoreError::Corrupt { .. })));
        assert!(matches!(Slots::open(&path), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn an_oversized_note_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let slots = Slots::open(&dir.path().join("checkpoint")).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            slots.write(&vec![b'a'; NOTE_MAX + 1]),
            Err(StoreError::Refused { .. })
        ));
        slots.write(&vec![b'a'; NOTE_MAX]).unwrap_or_else(|e| panic!("{e}"));
    }
}
