//! The only module that knows the log's files and sled.
//!
//! The log itself (entries and Merkle hashes) is a set of append-only C2SP
//! `tlog-tiles` files ([`tiles`]) and its commit point a two-slot checkpoint
//! file ([`slots`]), under `<data>/log/`:
//! - `tile/entries/<N>`, `tile/<L>/<N>`: entry bundles and hash tiles, each
//!   one file growing until full, then immutable;
//! - `checkpoint`: the newest signed checkpoint, in place, checksummed;
//! - `index/`: a sled database for what a B-tree is for, all derivable from
//!   the entries: `i` ‖ event id → index (idempotent retries), `t` ‖ tag →
//!   index (record references, DESIGN.md §8), `k` ‖ index (key rotations),
//!   and `m:indexed` (entries `[0, m:indexed)` are indexed).
//!
//! A group commit ([`Store::commit`]): entries and hashes are written where
//! they belong and every tile file touched is `fdatasync`ed; then the
//! checkpoint is written into the older slot and `fdatasync`ed (the commit
//! point); then the index is updated in memory, and made durable about once
//! a second. A crash before the checkpoint's sync leaves the checkpoint
//! before it: the tiles are cut back to it at open. A crash before the
//! index's sync leaves the index behind the log: the ledger indexes the
//! missing entries again at open ([`Store::indexed`]). An index sled cannot
//! open is rebuilt the same way.
//!
//! Durability of sled (DESIGN.md §1.5): sled 0.34's `flush` only issues
//! `sync_file_range`, so syncs also `fdatasync` its files ([`SledDb`]). sled
//! hides corruption (it panics or silently loses keys), so every call into
//! sled runs under `catch_unwind` and a panic becomes
//! [`StoreError::Panicked`] naming the directory and what was being read.
//!
//! An I/O error (a full disk, a failing device) is not corruption: it stays
//! [`StoreError::Io`] and becomes `RESOURCE_EXHAUSTED` or `UNAVAILABLE`, never
//! `DATA_LOSS`. sled keeps the first I/O error it meets and refuses every later
//! write until it is opened again, hence [`Store::reopen`].
//!
//! [`private`] is the node's second store, for what the log only commits to
//! (DESIGN.md §8); it shares the sled machinery ([`SledDb`]).

pub mod convert;
pub mod files;
pub mod private;
mod sled_db;
pub mod slots;
mod tiles;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::log::merkle::{Hash, HashReader, NodeId};
use sled_db::SledDb;
use slots::Slots;
use tiles::TileFiles;

const EVENT_ID_PREFIX: u8 = b'i';
const TAG_PREFIX: u8 = b't';
/// Indices of the entries that rotate the log's key (found again at open).
const KEY_ROTATION_PREFIX: u8 = b'k';
/// Entries `[0, m:indexed)` are in the index.
const INDEXED_KEY: &[u8] = b"m:indexed";
/// How often the index is made durable (it is rebuilt from the log past that).
const INDEX_SYNC_INTERVAL: Duration = Duration::from_secs(1);

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
    /// A store in the layout before tiles (everything in one sled database).
    #[error("the store in {dir} is in the earlier single-database layout; convert it once with `peerreg store convert --data-dir {data_dir}` (with the node stopped)", data_dir = dir.parent().unwrap_or(dir).display())]
    OldLayout { dir: PathBuf },
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
    // The index's sled lock (the tile layout), or the whole store's (the earlier one).
    Ok(sled_db::in_use(&index_dir(dir))? || sled_db::in_use(dir)?)
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
            StoreError::OldLayout { .. } => Error::FailedPrecondition(error.to_string()),
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
    /// What the index learns of the batch's entries.
    pub index: IndexBatch,
    pub checkpoint_note: Vec<u8>,
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
    dir: PathBuf,
    tiles: TileFiles,
    slots: Slots,
    index: SledDb,
    /// The size the newest checkpoint covers, and its note.
    checkpoint: Mutex<(u64, Vec<u8>)>,
    /// When the index was last made durable.
    index_synced: Mutex<Instant>,
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

/// The size a checkpoint note claims (its signature is the ledger's to check).
fn claimed_size(dir: &Path, note: &[u8]) -> Result<u64, StoreError> {
    crate::log::note::unverified_body(note)
        .and_then(crate::log::note::Checkpoint::parse_body)
        .map(|checkpoint| checkpoint.size)
        .map_err(|e| StoreError::Corrupt {
            dir: dir.to_path_buf(),
            detail: format!("the stored checkpoint is malformed: {e}"),
        })
}

/// The index's own directory inside the store.
fn index_dir(dir: &Path) -> PathBuf {
    dir.join("index")
}

/// What the index of a batch of entries holds (also built again from entries
/// by the ledger when the index is behind the log).
#[derive(Debug, Default)]
pub struct IndexBatch {
    pub event_ids: Vec<(String, u64)>,
    /// Record references (tags) of the entries, each with its entry's index.
    pub tags: Vec<([u8; 32], u64)>,
    /// Indices of the entries that rotate the log's key.
    pub key_rotations: Vec<u64>,
}

impl Store {
    /// Opens (or creates) the store in `dir`: the checkpoint, the tiles cut
    /// back to it, and the index (rebuilt empty if sled cannot open it).
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, false)
    }

    /// As [`Store::open`], but when a checkpoint slot is unreadable and
    /// entries past the other one are stored, continues from that older
    /// checkpoint and discards the entries past it (an operator's choice:
    /// `--accept-store-as-is`).
    pub fn open_from_older_checkpoint(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, true)
    }

    fn open_with(dir: &Path, accept_older: bool) -> Result<Store, StoreError> {
        if dir.join("db").exists() {
            return Err(StoreError::OldLayout { dir: dir.to_path_buf() });
        }
        files::create_dir_durable(dir)?;
        // The index's sled lock first: whoever holds it owns the store, and
        // nothing below (cutting tiles back to the checkpoint) may run while
        // another process commits.
        let index = open_index(dir)?;
        let slots = Slots::open(&dir.join("checkpoint"))?;
        let note = slots.read()?.unwrap_or_default();
        let size = if note.is_empty() { 0 } else { claimed_size(dir, &note)? };
        if note.is_empty() && dir.join("tile/entries/000").exists() {
            return Err(StoreError::Corrupt {
                dir: dir.to_path_buf(),
                detail: "entries are stored but the checkpoint is missing".into(),
            });
        }
        if slots.fell_back() && !accept_older && TileFiles::holds_more_than(dir, size)? {
            return Err(StoreError::Corrupt {
                dir: dir.to_path_buf(),
                detail: format!(
                    "a checkpoint slot is unreadable and entries past the other one (size {size}) are \
                     stored: the newest checkpoint may be lost. Repair the store from a mirror, or start \
                     with --accept-store-as-is to continue from size {size} (the entries past it are discarded)"
                ),
            });
        }
        let tiles = TileFiles::open(dir, size)?;
        Ok(Store {
            dir: dir.to_path_buf(),
            tiles,
            slots,
            index,
            checkpoint: Mutex::new((size, note)),
            index_synced: Mutex::new(Instant::now()),
        })
    }

    /// Closes sled and opens the index again from what is on disk. After an
    /// I/O error sled refuses every write until it is reopened. Waits for
    /// calls in progress; calls made meanwhile wait for it.
    pub fn reopen(&self) -> Result<(), StoreError> {
        self.index.reopen()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A consistent copy of the store in a new directory `target`, for a
    /// backup: the caller keeps every writer out meanwhile (the committer is
    /// paused between group commits). The index is made durable first.
    pub fn export_to(&self, target: &Path) -> Result<(), StoreError> {
        if target.exists() {
            let exists = std::io::Error::new(ErrorKind::AlreadyExists, "the target exists");
            return Err(StoreError::io(target, "exporting", exists));
        }
        self.sync_index()?;
        files::create_dir_durable(target)?;
        files::copy_tree_durably(&self.dir.join("tile"), &target.join("tile"))?;
        let checkpoint = "checkpoint";
        files::copy_durably(
            &self.dir.join(checkpoint),
            &target.join(checkpoint),
            files::Mode::Readable,
        )?;
        self.index.export_to(&index_dir(target))?;
        files::sync_dir(target)
    }

    fn guarded<T>(&self, what: &'static str, call: impl FnOnce(&sled::Db) -> sled::Result<T>) -> Result<T, StoreError> {
        self.index.guarded(what, call)
    }

    pub fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            dir: self.dir.clone(),
            detail,
        }
    }

    /// The latest signed checkpoint committed to the store, if any.
    pub fn checkpoint_note(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let checkpoint = self.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Some(checkpoint.1.clone()).filter(|note| !note.is_empty()))
    }

    /// The stored bytes of entry `index`, unverified.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if index >= self.tiles.size() {
            return Ok(None);
        }
        let mut batch = EntryBatch::default();
        self.tiles.read_entries(index, index + 1, &mut batch)?;
        let entry = batch.iter().next().map(|(_, entry)| entry.to_vec());
        Ok(entry)
    }

    /// Stored entries `[start, end)` in order; a missing one is corruption.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut batch = EntryBatch::default();
        self.read_entries(start, end, &mut batch)?;
        Ok(batch.iter().map(|(_, entry)| entry.to_vec()).collect())
    }

    /// Stored entries `[start, end)` into `batch` (whose buffers are reused),
    /// one sequential read per bundle; a missing one is corruption.
    pub fn read_entries(&self, start: u64, end: u64, batch: &mut EntryBatch) -> Result<(), StoreError> {
        self.tiles.read_entries(start, end.max(start), batch)
    }

    /// The stored leaf hashes of entries `[start, end)`.
    pub fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
        let leaves: Vec<NodeId> = (start..end).map(NodeId::leaf).collect();
        self.tiles.read_hashes(&leaves)
    }

    /// The first `width` items of a tile (`level` `None`: an entry bundle),
    /// as its file holds them: the bytes `tlog-tiles` serves.
    pub fn tile(&self, level: Option<u8>, index: u64, width: u64) -> Result<Vec<u8>, StoreError> {
        self.tiles.tile_bytes(level, index, width)
    }

    /// The index of the last stored entry, if any.
    pub fn last_entry_index(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.tiles.size().checked_sub(1))
    }

    /// The index an `event_id` was appended at, if it was.
    pub fn event_index(&self, event_id: &str) -> Result<Option<u64>, StoreError> {
        let value = self.guarded("looking up an event id", |db| db.get(event_id_key(event_id)))?;
        self.stored_index(value, "an event id")
    }

    /// The index of the entry carrying record reference `tag`, if stored.
    pub fn tag_index(&self, tag: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        let value = self.guarded("looking up a record reference", |db| db.get(tag_key(tag)))?;
        self.stored_index(value, "a record reference")
    }

    /// An index value as stored; one past the stored log is treated as absent
    /// (a follower's staged tail cut at open).
    fn stored_index(&self, value: Option<sled::IVec>, what: &str) -> Result<Option<u64>, StoreError> {
        let Some(bytes) = value else {
            return Ok(None);
        };
        match <[u8; 8]>::try_from(bytes.as_ref()) {
            Ok(raw) => Ok(Some(u64::from_be_bytes(raw)).filter(|index| *index < self.tiles.size())),
            Err(_) => Err(self.corrupt(format!("the index stored for {what} is malformed"))),
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

    /// Entries `[0, indexed)` are in the index; the ledger indexes the rest
    /// again ([`Store::index`]) before using it. `None`: the index is ahead
    /// of the log (a cut staged tail) and must be rebuilt ([`Store::clear_index`]).
    pub fn indexed(&self) -> Result<Option<u64>, StoreError> {
        let value = self.guarded("reading the index's extent", |db| db.get(INDEXED_KEY))?;
        let indexed = match value {
            None => 0,
            Some(bytes) => match <[u8; 8]>::try_from(bytes.as_ref()) {
                Ok(raw) => u64::from_be_bytes(raw),
                Err(_) => return Err(self.corrupt("the index's extent is malformed".into())),
            },
        };
        Ok(Some(indexed).filter(|indexed| *indexed <= self.tiles.size()))
    }

    /// Empties the index (to be rebuilt from the entries).
    pub fn clear_index(&self) -> Result<(), StoreError> {
        self.guarded("clearing the index", |db| db.clear())?;
        self.sync_index()
    }

    /// Adds entries' index terms, up to `indexed`; made durable with the next sync.
    pub fn index(&self, batch: &IndexBatch, indexed: u64) -> Result<(), StoreError> {
        let mut writes = sled::Batch::default();
        for (event_id, index) in &batch.event_ids {
            writes.insert(event_id_key(event_id), &index.to_be_bytes());
        }
        for (tag, index) in &batch.tags {
            writes.insert(&tag_key(tag)[..], &index.to_be_bytes());
        }
        for index in &batch.key_rotations {
            writes.insert(&key_rotation_key(*index)[..], &[][..]);
        }
        writes.insert(INDEXED_KEY, &indexed.to_be_bytes());
        self.guarded("indexing", |db| db.apply_batch(writes))?;
        let mut synced = self.index_synced.lock().unwrap_or_else(|p| p.into_inner());
        if synced.elapsed() >= INDEX_SYNC_INTERVAL {
            self.index.sync()?;
            *synced = Instant::now();
        }
        Ok(())
    }

    /// Makes the index durable now.
    pub fn sync_index(&self) -> Result<(), StoreError> {
        self.index.sync()?;
        *self.index_synced.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        Ok(())
    }

    /// One group commit: entries and hashes durable in their tiles, then the
    /// checkpoint (the commit point), then the index. Written again after an
    /// error, the same batch only redoes what is missing.
    pub fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        let mut checkpoint = self.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
        let done = !batch.checkpoint_note.is_empty() && batch.checkpoint_note == checkpoint.1;
        if !done {
            self.tiles.append(&batch.entries, &batch.hashes, checkpoint.0)?;
            if !batch.checkpoint_note.is_empty() {
                let size = claimed_size(&self.dir, &batch.checkpoint_note)?;
                assert!(size <= self.tiles.size(), "a checkpoint past the stored entries");
                self.slots.write(&batch.checkpoint_note)?;
                *checkpoint = (size, batch.checkpoint_note.clone());
            }
        }
        drop(checkpoint);
        self.index(&batch.index, self.tiles.size())
    }
}

/// Opens the index, or, if sled cannot open it (damaged, or torn by a crash
/// before its sync), moves it out of the way and starts an empty one: every
/// entry is indexed again from the log.
fn open_index(dir: &Path) -> Result<SledDb, StoreError> {
    let path = index_dir(dir);
    match SledDb::open(&path) {
        Ok(index) => Ok(index),
        Err(StoreError::Io { path, what, source }) => Err(StoreError::Io { path, what, source }),
        Err(error) => {
            tracing::warn!(dir = %path.display(), "the log's index cannot be opened ({error}); rebuilding it from the log");
            files::remove_dir_within(dir, &path)?;
            SledDb::open(&path)
        }
    }
}

impl HashReader for Store {
    type Error = StoreError;

    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        self.tiles.read_hashes(nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::merkle::{leaf_hash, Frontier};
    use crate::log::note::{Checkpoint, NoteSigner};

    fn signed(frontier: &Frontier) -> Vec<u8> {
        let signer = NoteSigner::from_seed("peerreg.local/test", [7; 32]).unwrap_or_else(|e| panic!("{e}"));
        let checkpoint = Checkpoint {
            origin: "peerreg.local/test".into(),
            size: frontier.size(),
            root: frontier.root(),
        };
        checkpoint.sign(&signer).into_bytes()
    }

    #[test]
    fn a_commit_is_readable_after_reopening_and_the_index_catches_up() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut frontier = Frontier::default();
        let mut batch = CommitBatch::default();
        for (index, entry) in [(0, b"zero".to_vec()), (1, b"one".to_vec())] {
            batch.hashes.extend(frontier.push(leaf_hash(&entry)));
            batch.entries.push((index, entry));
        }
        batch.index = IndexBatch {
            event_ids: vec![("a".into(), 0), ("b".into(), 1)],
            tags: vec![([9; 32], 1)],
            key_rotations: vec![1],
        };
        batch.checkpoint_note = signed(&frontier);
        {
            let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(store.last_entry_index().ok(), Some(None));
            store.commit(&batch).unwrap_or_else(|e| panic!("{e}"));
            // The same batch again (a retry after an error) changes nothing.
            store.commit(&batch).unwrap_or_else(|e| panic!("{e}"));
            store.sync_index().unwrap_or_else(|e| panic!("{e}"));
        }
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.entries(0, 2).ok(), Some(vec![b"zero".to_vec(), b"one".to_vec()]));
        assert!(matches!(store.entries(0, 3), Err(StoreError::Corrupt { .. })));
        assert_eq!(store.last_entry_index().ok(), Some(Some(1)));
        assert_eq!(store.indexed().ok(), Some(Some(2)));
        assert_eq!(store.event_index("b").ok(), Some(Some(1)));
        assert_eq!(store.event_index("c").ok(), Some(None));
        assert_eq!(store.tag_index(&[9; 32]).ok(), Some(Some(1)));
        assert_eq!(store.key_rotations().ok(), Some(vec![1]));
        assert_eq!(store.checkpoint_note().ok(), Some(Some(batch.checkpoint_note.clone())));
        assert_eq!(
            store.read_hashes(&[NodeId { level: 1, index: 0 }]).ok(),
            Some(vec![frontier.root()])
        );
        assert!(store.read_hashes(&[NodeId::leaf(5)]).is_err());
        let mut read = EntryBatch::default();
        store.read_entries(1, 2, &mut read).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.iter().collect::<Vec<_>>(), vec![(1, &b"one"[..])]);
        assert_eq!(store.leaf_hashes(0, 1).ok(), Some(vec![leaf_hash(b"zero")]));
        assert!(store.tile(None, 0, 2).is_ok_and(|b| b.len() == 2 + 4 + 2 + 3));
    }

    #[test]
    fn entries_without_a_checkpoint_and_the_old_layout_are_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        {
            let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
            let batch = CommitBatch {
                entries: vec![(0, b"zero".to_vec())],
                hashes: vec![(NodeId::leaf(0), leaf_hash(b"zero"))],
                ..Default::default()
            };
            store.commit(&batch).unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(matches!(Store::open(dir.path()), Err(StoreError::Corrupt { .. })));
        std::fs::write(dir.path().join("db"), b"sled").unwrap_or_else(|e| panic!("{e}"));
        let refused = Store::open(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("peerreg store convert"), "{refused}");
    }
}
