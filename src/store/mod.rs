//! The only module that knows sled.
//!
//! One sled tree holds the whole log, under prefixed big-endian keys, so a group
//! commit is one atomic `sled::Batch`:
//! - `e` ‖ index (u64 BE) → encoded `LogEntry`
//! - `h` ‖ level (u8) ‖ index (u64 BE) → 32-byte hash of a complete subtree
//! - `i` ‖ event_id → index (u64 BE), for idempotent retries
//! - `t` ‖ tag (32 bytes) → index (u64 BE) of the entry carrying that record
//!   reference, so a holder of a person's key finds their records and proves
//!   the next one absent (DESIGN.md §8)
//! - `m:checkpoint` → the latest signed checkpoint note
//! - `m:format` → [`LOG_FORMAT`], written with every checkpoint: a store
//!   without it was written in the first format (bodies in clear) and is
//!   refused at open
//!
//! Durability (DESIGN.md §1.5): sled 0.34's `flush` only issues `sync_file_range`,
//! so [`Store::commit`] also `fdatasync`s the `db` file and any new blob files.
//! sled hides corruption (it panics or silently loses keys), so every call into
//! sled that can touch damaged pages runs under `catch_unwind` and a panic
//! becomes [`StoreError::Panicked`] naming the directory and what was being read.
//!
//! An I/O error (a full disk, a failing device) is not corruption: it stays
//! [`StoreError::Io`] and becomes `RESOURCE_EXHAUSTED` or `UNAVAILABLE`, never
//! `DATA_LOSS`. sled keeps the first I/O error it meets and refuses every later
//! write until it is opened again, hence [`Store::reopen`].
//!
//! [`private`] is the node's second store, for what the log only commits to
//! (DESIGN.md §8); it shares this durability machinery ([`SledDb`]).

pub mod files;
pub mod private;
mod sled_db;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::log::merkle::{Hash, HashReader, NodeId};
use sled_db::SledDb;

const ENTRY_PREFIX: u8 = b'e';
const HASH_PREFIX: u8 = b'h';
const EVENT_ID_PREFIX: u8 = b'i';
const TAG_PREFIX: u8 = b't';
/// Indices of the entries that rotate the log's key (found again at open).
const KEY_ROTATION_PREFIX: u8 = b'k';
const CHECKPOINT_KEY: &[u8] = b"m:checkpoint";
const FORMAT_KEY: &[u8] = b"m:format";
/// The log format this version writes: public events of DESIGN.md §8.
pub const LOG_FORMAT: &[u8] = b"peerreg log format 2: public events (DESIGN.md section 8)";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {what} failed: {source}")]
    Io {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("the store in {dir} could not be opened: {detail}")]
    Open { dir: PathBuf, detail: String },
    #[error("the store in {dir} crashed while {what} ({detail}): its files are damaged; repair it from a mirror")]
    Panicked { dir: PathBuf, what: String, detail: String },
    #[error("the store in {dir} is damaged: {detail}")]
    Corrupt { dir: PathBuf, detail: String },
    /// The caller asked for something the store must not do (a record for a
    /// person it does not hold, say): a bug above the store, not damage.
    #[error("the store in {dir} refused a write: {detail}")]
    Refused { dir: PathBuf, detail: String },
}

/// Whether a running process holds the store in `dir` open (a node serving
/// its data directory): offline tools refuse to change what it holds.
pub fn in_use(dir: &Path) -> Result<bool, StoreError> {
    sled_db::in_use(dir)
}

impl StoreError {
    pub fn io(path: &Path, what: &'static str, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            what,
            source,
        }
    }
}

/// True for the errors an operator fixes by freeing space or raising a quota.
fn is_disk_full(error: &std::io::Error) -> bool {
    matches!(error.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded)
}

impl From<StoreError> for Error {
    /// Corruption is `DATA_LOSS`; an I/O error is what it is, with the OS's
    /// words: a full disk `RESOURCE_EXHAUSTED`, anything else `UNAVAILABLE`.
    /// The message names the file, not the whole path (callers may be anyone).
    fn from(error: StoreError) -> Error {
        match &error {
            StoreError::Panicked { .. } | StoreError::Corrupt { .. } => Error::DataLoss(error.to_string()),
            StoreError::Io { path, what, source } => {
                let file = path.file_name().unwrap_or(path.as_os_str()).to_string_lossy();
                let message = format!("the node cannot use its disk: {what} {file} failed: {source}");
                if is_disk_full(source) {
                    Error::ResourceExhausted(format!("{message}; an operator must free space"))
                } else {
                    Error::Unavailable(message)
                }
            }
            StoreError::Open { .. } | StoreError::Refused { .. } => Error::Internal(error.to_string()),
        }
    }
}

/// Fault injection for tests: makes the durable sync of a store fail as a full
/// or failing disk would, after sled has taken the batch in memory.
#[doc(hidden)]
pub mod fault {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    /// Directories whose stores fail to sync, with the OS error number to fail with.
    static FAILING: Mutex<Vec<(PathBuf, i32)>> = Mutex::new(Vec::new());

    fn failing() -> std::sync::MutexGuard<'static, Vec<(PathBuf, i32)>> {
        FAILING.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every store under `dir` fails its syncs with OS error `errno` until [`clear`].
    pub fn fail_syncs_under(dir: &Path, errno: i32) {
        failing().push((dir.to_path_buf(), errno));
    }

    pub fn clear(dir: &Path) {
        failing().retain(|(failing, _)| failing != dir);
    }

    pub(super) fn check(store_dir: &Path) -> std::io::Result<()> {
        match failing().iter().find(|(dir, _)| store_dir.starts_with(dir)) {
            Some((_, errno)) => Err(std::io::Error::from_raw_os_error(*errno)),
            None => Ok(()),
        }
    }
}

/// Everything one group commit writes, applied atomically.
#[derive(Debug, Default)]
pub struct CommitBatch {
    pub entries: Vec<(u64, Vec<u8>)>,
    pub hashes: Vec<(NodeId, Hash)>,
    pub event_ids: Vec<(String, u64)>,
    /// Record references (tags) of the entries, each with its entry's index.
    pub tags: Vec<([u8; 32], u64)>,
    pub checkpoint_note: Vec<u8>,
    /// Indices of the batch's entries that rotate the log's key.
    pub key_rotations: Vec<u64>,
}

/// Consecutive stored entries read by [`Store::read_entries`], back to back in
/// one buffer.
#[derive(Debug, Default)]
pub struct EntryBatch {
    start: u64,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl EntryBatch {
    /// The index of the first entry.
    pub fn start(&self) -> u64 {
        self.start
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each entry's index and stored bytes, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        (self.start..)
            .zip(starts.zip(self.ends.iter().copied()))
            .map(|(index, (from, to))| (index, &self.bytes[from..to]))
    }
}

pub struct Store {
    db: SledDb,
}

fn entry_key(index: u64) -> [u8; 9] {
    let mut key = [ENTRY_PREFIX; 9];
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

fn hash_key(node: NodeId) -> [u8; 10] {
    let mut key = [HASH_PREFIX; 10];
    key[1] = node.level;
    key[2..].copy_from_slice(&node.index.to_be_bytes());
    key
}

fn event_id_key(event_id: &str) -> Vec<u8> {
    let mut key = vec![EVENT_ID_PREFIX];
    key.extend_from_slice(event_id.as_bytes());
    key
}

fn tag_key(tag: &[u8; 32]) -> [u8; 33] {
    let mut key = [TAG_PREFIX; 33];
    key[1..].copy_from_slice(tag);
    key
}

fn key_rotation_key(index: u64) -> [u8; 9] {
    let mut key = [KEY_ROTATION_PREFIX; 9];
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

fn index_from_key(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

impl Store {
    /// Opens (or creates) the sled database in `dir`. A panic inside sled is
    /// turned into an error that names `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Ok(Store { db: SledDb::open(dir)? })
    }

    /// Closes sled and opens it again from what is on disk. After an I/O error
    /// sled refuses every write until it is reopened; whatever it had taken in
    /// memory but not made durable is gone afterwards, so the caller writes it
    /// again. Waits for calls in progress; calls made meanwhile wait for it.
    pub fn reopen(&self) -> Result<(), StoreError> {
        self.db.reopen()
    }

    pub fn dir(&self) -> &Path {
        self.db.dir()
    }

    /// A consistent copy of the store in a new database at `target`, for a
    /// backup: the caller keeps every writer out meanwhile (the committer is
    /// paused between group commits).
    pub fn export_to(&self, target: &Path) -> Result<(), StoreError> {
        self.db.export_to(target)
    }

    fn guarded<T>(&self, what: &'static str, call: impl FnOnce(&sled::Db) -> sled::Result<T>) -> Result<T, StoreError> {
        self.db.guarded(what, call)
    }

    pub fn corrupt(&self, detail: String) -> StoreError {
        self.db.corrupt(detail)
    }

    /// The latest signed checkpoint committed to the store, if any.
    pub fn checkpoint_note(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.guarded("reading the checkpoint", |db| db.get(CHECKPOINT_KEY))?;
        Ok(value.map(|v| v.to_vec()))
    }

    /// The stored bytes of entry `index`, unverified.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.guarded("reading an entry", |db| db.get(entry_key(index)))?;
        Ok(value.map(|v| v.to_vec()))
    }

    /// Stored entries `[start, end)` in order; a missing one is corruption.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let wanted = end.saturating_sub(start) as usize;
        // The whole scan runs guarded: sled can panic inside `next()` on damaged pages.
        let scanned = self.guarded("scanning entries", |db| {
            db.range(entry_key(start)..entry_key(end))
                .take(wanted)
                .collect::<sled::Result<Vec<_>>>()
        })?;
        let mut entries = Vec::with_capacity(wanted);
        for (expected, (key, value)) in (start..end).zip(scanned) {
            if index_from_key(&key) != Some(expected) {
                return Err(self.corrupt(format!("entry {expected} is missing")));
            }
            entries.push(value.to_vec());
        }
        if entries.len() < wanted {
            return Err(self.corrupt(format!("entry {} is missing", start + entries.len() as u64)));
        }
        Ok(entries)
    }

    /// Stored entries `[start, end)` into `batch` (whose buffers are reused), in
    /// one scan and without an allocation per entry; a missing one is corruption.
    pub fn read_entries(&self, start: u64, end: u64, batch: &mut EntryBatch) -> Result<(), StoreError> {
        let wanted = end.saturating_sub(start);
        batch.start = start;
        batch.bytes.clear();
        batch.ends.clear();
        // The whole scan runs guarded: sled can panic inside `next()` on damaged pages.
        let gap = self.guarded("scanning entries", |db| {
            let mut expected = start;
            for item in db.range(entry_key(start)..entry_key(end)) {
                let (key, value) = item?;
                if index_from_key(&key) != Some(expected) {
                    return Ok(Some(expected));
                }
                batch.bytes.extend_from_slice(&value);
                batch.ends.push(batch.bytes.len());
                expected += 1;
            }
            Ok((expected < end).then_some(expected))
        })?;
        match gap {
            Some(missing) => Err(self.corrupt(format!("entry {missing} is missing"))),
            None if batch.ends.len() as u64 == wanted => Ok(()),
            None => Err(self.corrupt(format!("entry {} is missing", start + batch.ends.len() as u64))),
        }
    }

    /// The stored leaf hashes of entries `[start, end)`, in one scan.
    pub fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
        let (first, last) = (hash_key(NodeId::leaf(start)), hash_key(NodeId::leaf(end)));
        let mut hashes = Vec::with_capacity(end.saturating_sub(start) as usize);
        let gap = self.guarded("scanning leaf hashes", |db| {
            let mut expected = start;
            for item in db.range(first..last) {
                let (key, value) = item?;
                let index = key
                    .get(2..10)
                    .and_then(|raw| raw.try_into().ok())
                    .map(u64::from_be_bytes);
                let Ok(hash) = <Hash>::try_from(value.as_ref()) else {
                    return Ok(Some(expected));
                };
                if index != Some(expected) {
                    return Ok(Some(expected));
                }
                hashes.push(hash);
                expected += 1;
            }
            Ok((expected < end).then_some(expected))
        })?;
        match gap {
            Some(index) => Err(self.corrupt(format!("the leaf hash of entry {index} is missing or malformed"))),
            None => Ok(hashes),
        }
    }

    /// The index of the last stored entry, if any (O(log n)).
    pub fn last_entry_index(&self) -> Result<Option<u64>, StoreError> {
        let last = self.guarded("finding the last entry", |db| {
            db.scan_prefix([ENTRY_PREFIX]).next_back().transpose()
        })?;
        Ok(last.and_then(|(key, _)| index_from_key(&key)))
    }

    /// The index an `event_id` was appended at, if it was.
    pub fn event_index(&self, event_id: &str) -> Result<Option<u64>, StoreError> {
        let value = self.guarded("looking up an event id", |db| db.get(event_id_key(event_id)))?;
        match value {
            None => Ok(None),
            Some(bytes) => match <[u8; 8]>::try_from(bytes.as_ref()) {
                Ok(raw) => Ok(Some(u64::from_be_bytes(raw))),
                Err(_) => Err(self.corrupt(format!("the index stored for event id {event_id:?} is malformed"))),
            },
        }
    }

    /// The index of the entry carrying record reference `tag`, if stored.
    pub fn tag_index(&self, tag: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        let value = self.guarded("looking up a record reference", |db| db.get(tag_key(tag)))?;
        match value {
            None => Ok(None),
            Some(bytes) => match <[u8; 8]>::try_from(bytes.as_ref()) {
                Ok(raw) => Ok(Some(u64::from_be_bytes(raw))),
                Err(_) => Err(self.corrupt("the index stored for a record reference is malformed".into())),
            },
        }
    }

    /// The indices of the stored entries that rotate the log's key, ascending
    /// (the entries themselves are checked by whoever reads them).
    pub fn key_rotations(&self) -> Result<Vec<u64>, StoreError> {
        let keys = self.guarded("listing key rotations", |db| {
            db.scan_prefix([KEY_ROTATION_PREFIX])
                .take(crate::log::keys::ROTATIONS_MAX + 1)
                .map(|item| item.map(|(key, _)| key))
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(keys.iter().filter_map(|key| index_from_key(key)).collect())
    }

    /// The log format the store was written in (`None`: the first format, or empty).
    pub fn format(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.guarded("reading the log format", |db| db.get(FORMAT_KEY))?;
        Ok(value.map(|v| v.to_vec()))
    }

    /// Applies one group commit atomically, then makes it durable.
    pub fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        let mut writes = sled::Batch::default();
        for (index, bytes) in &batch.entries {
            writes.insert(&entry_key(*index), bytes.as_slice());
        }
        for (node, hash) in &batch.hashes {
            writes.insert(&hash_key(*node), hash);
        }
        for (event_id, index) in &batch.event_ids {
            writes.insert(event_id_key(event_id), &index.to_be_bytes());
        }
        for (tag, index) in &batch.tags {
            writes.insert(&tag_key(tag)[..], &index.to_be_bytes());
        }
        for index in &batch.key_rotations {
            writes.insert(&key_rotation_key(*index)[..], &[][..]);
        }
        // Empty only while a repair rebuilds a store chunk by chunk: the note is
        // written with the last chunk, once the whole tree has been checked.
        if !batch.checkpoint_note.is_empty() {
            writes.insert(CHECKPOINT_KEY, batch.checkpoint_note.as_slice());
            writes.insert(FORMAT_KEY, LOG_FORMAT);
        }
        self.db.apply(writes)
    }
}

impl HashReader for Store {
    type Error = StoreError;

    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut hashes = Vec::with_capacity(nodes.len());
        for node in nodes {
            let value = self.guarded("reading a tree hash", |db| db.get(hash_key(*node)))?;
            let Some(bytes) = value else {
                return Err(self.corrupt(format!("tree hash {node:?} is missing")));
            };
            let hash = <Hash>::try_from(bytes.as_ref())
                .map_err(|_| self.corrupt(format!("tree hash {node:?} is not 32 bytes")))?;
            hashes.push(hash);
        }
        Ok(hashes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_is_readable_after_reopening() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let batch = CommitBatch {
            entries: vec![(0, b"zero".to_vec()), (1, b"one".to_vec())],
            hashes: vec![(NodeId::leaf(0), [1; 32]), (NodeId { level: 1, index: 0 }, [2; 32])],
            event_ids: vec![("a".into(), 0), ("b".into(), 1)],
            tags: vec![([9; 32], 1)],
            checkpoint_note: b"note".to_vec(),
            key_rotations: vec![1],
        };
        {
            let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(store.last_entry_index().ok(), Some(None));
            store.commit(&batch).unwrap_or_else(|e| panic!("{e}"));
        }
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.entries(0, 2).ok(), Some(vec![b"zero".to_vec(), b"one".to_vec()]));
        assert!(matches!(store.entries(0, 3), Err(StoreError::Corrupt { .. })));
        assert_eq!(store.last_entry_index().ok(), Some(Some(1)));
        assert_eq!(store.event_index("b").ok(), Some(Some(1)));
        assert_eq!(store.event_index("c").ok(), Some(None));
        assert_eq!(store.key_rotations().ok(), Some(vec![1]));
        assert_eq!(store.checkpoint_note().ok(), Some(Some(b"note".to_vec())));
        assert_eq!(
            store.read_hashes(&[NodeId { level: 1, index: 0 }]).ok(),
            Some(vec![[2; 32]])
        );
        assert!(store.read_hashes(&[NodeId::leaf(5)]).is_err());

        let mut read = EntryBatch::default();
        store.read_entries(0, 2, &mut read).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(u64, &[u8])> = read.iter().collect();
        assert_eq!(got, vec![(0, &b"zero"[..]), (1, &b"one"[..])]);
        store.read_entries(1, 2, &mut read).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((read.start(), read.len()), (1, 1));
        assert!(matches!(
            store.read_entries(1, 3, &mut read),
            Err(StoreError::Corrupt { .. })
        ));
        assert_eq!(store.leaf_hashes(0, 1).ok(), Some(vec![[1; 32]]));
        assert!(matches!(store.leaf_hashes(0, 2), Err(StoreError::Corrupt { .. })));
    }
}
