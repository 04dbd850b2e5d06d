//! The one-time conversion of a store in the earlier layout (entries, tree
//! hashes, indexes and checkpoint all in one sled database at `<data>/log/`)
//! to tiles (`peerreg store convert`). The old store is read, never changed:
//! the new one is built beside it in `log.converting/`, its root checked
//! against the signed checkpoint, then the two are swapped and the old one
//! kept as `log.before-tiles/` until the operator removes it.

use std::path::{Path, PathBuf};

use super::sled_db::SledDb;
use super::{claimed_size, files, CommitBatch, IndexBatch, Store, StoreError};
use crate::log::merkle::{leaf_hash, Frontier};

const OLD_ENTRY_PREFIX: u8 = b'e';
const OLD_CHECKPOINT_KEY: &[u8] = b"m:checkpoint";
const OLD_FORMAT_KEY: &[u8] = b"m:format";
/// The only earlier-layout format that converts: public events (DESIGN.md §8).
const CONVERTIBLE_FORMAT: &[u8] = b"peerreg log format 2: public events (DESIGN.md section 8)";
/// Entries copied per tile commit.
const CHUNK: usize = 4096;

/// What a conversion did.
#[derive(Debug)]
pub struct Converted {
    pub entries: u64,
    /// Where the old store now is (the operator removes it once satisfied).
    pub old_store: PathBuf,
}

fn refused(dir: &Path, detail: String) -> StoreError {
    StoreError::Refused {
        dir: dir.to_path_buf(),
        detail,
    }
}

/// Converts the earlier-layout store in `dir` (a data directory's `log/`).
/// The node must be stopped.
pub fn convert(dir: &Path) -> Result<Converted, StoreError> {
    if !dir.join("db").exists() {
        return Err(refused(
            dir,
            "it is not in the earlier layout: nothing to convert".into(),
        ));
    }
    if super::in_use(dir)? {
        return Err(refused(dir, "a running node holds it open: stop the node first".into()));
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    let (building, kept) = (parent.join("log.converting"), parent.join("log.before-tiles"));
    if kept.exists() {
        return Err(refused(dir, format!("{} exists: remove it first", kept.display())));
    }
    if building.exists() {
        files::remove_dir_within(parent, &building)?;
    }
    let entries = build(&SledDb::open(dir)?, dir, &building)?;
    std::fs::rename(dir, &kept).map_err(|e| StoreError::io(dir, "moving the old store aside", e))?;
    std::fs::rename(&building, dir).map_err(|e| StoreError::io(&building, "moving the new store into place", e))?;
    files::sync_dir(parent)?;
    Ok(Converted {
        entries,
        old_store: kept,
    })
}

/// Writes the old store's log as tiles into the new store `target`.
fn build(old: &SledDb, dir: &Path, target: &Path) -> Result<u64, StoreError> {
    let format = old.guarded("reading the log format", |db| db.get(OLD_FORMAT_KEY))?;
    if format.as_deref() != Some(CONVERTIBLE_FORMAT) {
        return Err(refused(
            dir,
            "its log was written in the first format, which published private records in clear \
             (DESIGN.md section 8); it cannot be converted: start with a new, empty data directory"
                .into(),
        ));
    }
    let note = old
        .guarded("reading the checkpoint", |db| db.get(OLD_CHECKPOINT_KEY))?
        .ok_or_else(|| refused(dir, "it holds no checkpoint".into()))?
        .to_vec();
    let size = claimed_size(dir, &note)?;
    let store = Store::open(target)?;
    let mut frontier = Frontier::default();
    while frontier.size() < size {
        let start = frontier.size();
        let end = size.min(start + CHUNK as u64);
        let mut batch = CommitBatch::default();
        for (index, entry) in (start..end).zip(old_entries(old, start, end)?) {
            batch.hashes.extend(frontier.push(leaf_hash(&entry)));
            batch.entries.push((index, entry));
        }
        store.commit(&batch)?;
    }
    let claimed = crate::log::note::unverified_body(&note)
        .and_then(crate::log::note::Checkpoint::parse_body)
        .map_err(|e| old.corrupt(format!("the checkpoint is malformed: {e}")))?;
    if frontier.root() != claimed.root {
        return Err(old.corrupt(format!("its entries do not give the checkpoint's root at size {size}")));
    }
    store.index(&old_index(old)?, size)?;
    store.commit(&CommitBatch {
        checkpoint_note: note,
        ..Default::default()
    })?;
    store.sync_index()?;
    Ok(size)
}

/// Old entries `[start, end)`; a missing one is corruption.
fn old_entries(old: &SledDb, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
    let key = |index: u64| {
        let mut key = [OLD_ENTRY_PREFIX; 9];
        key[1..].copy_from_slice(&index.to_be_bytes());
        key
    };
    let rows = old.guarded("reading entries", |db| {
        db.range(key(start)..key(end))
            .map(|item| item.map(|(_, value)| value.to_vec()))
            .collect::<sled::Result<Vec<_>>>()
    })?;
    if rows.len() as u64 != end - start {
        return Err(old.corrupt(format!("entries between {start} and {end} are missing")));
    }
    Ok(rows)
}

/// The old store's indexes, which keep their keys in the new index.
fn old_index(old: &SledDb) -> Result<IndexBatch, StoreError> {
    let rows = |prefix: u8| {
        old.guarded("reading the indexes", move |db| {
            db.scan_prefix([prefix])
                .map(|item| item.map(|(key, value)| (key.to_vec(), value.to_vec())))
                .collect::<sled::Result<Vec<_>>>()
        })
    };
    let index_of = |value: &[u8]| value.try_into().ok().map(u64::from_be_bytes);
    let mut batch = IndexBatch::default();
    for (key, value) in rows(super::EVENT_ID_PREFIX)? {
        let id = String::from_utf8(key[1..].to_vec()).ok();
        if let (Some(id), Some(index)) = (id, index_of(&value)) {
            batch.event_ids.push((id, index));
        }
    }
    for (key, value) in rows(super::TAG_PREFIX)? {
        if let (Ok(tag), Some(index)) = (<[u8; 32]>::try_from(&key[1..]), index_of(&value)) {
            batch.tags.push((tag, index));
        }
    }
    for (key, _) in rows(super::KEY_ROTATION_PREFIX)? {
        batch.key_rotations.extend(super::index_from_key(&key));
    }
    Ok(batch)
}
