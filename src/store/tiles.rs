//! The log's entries and Merkle hashes on disk, laid out as C2SP
//! `tlog-tiles` under `<store>/tile/`: `tile/entries/<N>` (entry bundles) and
//! `tile/<L>/<N>` (hash tiles, the tree's nodes of height `8·L`).
//!
//! Each tile is one append-only file at its full tile's path, growing while
//! the tile fills: its first `W` entries (or hashes) are exactly the partial
//! tile `…​.p/<W>`, and once full it never changes. Only nodes of height
//! `8·L` are stored; any other node is hashed from the ≤ 128 stored nodes
//! below it in the same tile, as tlog-tiles clients do.
//!
//! Writes are positional (`pwrite` at the offset the entry or hash belongs
//! at), so writing a batch again after an I/O error is idempotent. Bytes past
//! the checkpoint (a crash between a tile's sync and the checkpoint's) are
//! cut off at open ([`TileFiles::recover`]): nothing past the checkpoint was
//! ever acknowledged.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{fault, files, EntryBatch, StoreError};
use crate::log::merkle::{node_hash, Hash, NodeId};
use crate::log::tiles::{index_path, TILE_HEIGHT, TILE_WIDTH};

/// Hash tile levels a 64-bit tree can have.
const LEVELS: u8 = 64 / TILE_HEIGHT;

/// Which tile file: an entry bundle (`None`) or a hash tile level, and its index.
type TileKey = (Option<u8>, u64);

pub(super) struct TileFiles {
    dir: PathBuf,
    tail: Mutex<Tail>,
}

/// What the writer knows of the end of the stored log.
#[derive(Default)]
struct Tail {
    /// Entries stored (may run past the checkpoint: a follower's staged tail).
    size: u64,
    /// Bytes in the bundle that entry `size` goes to.
    bundle_bytes: u64,
}

/// One tile file's part of a commit: where its bytes go.
struct TileWrite {
    offset: u64,
    bytes: Vec<u8>,
}

impl TileFiles {
    /// The tiles under `dir` (created if missing), cut back to `size` entries.
    pub(super) fn open(dir: &Path, size: u64) -> Result<TileFiles, StoreError> {
        files::create_dir_durable(&dir.join("tile"))?;
        let tiles = TileFiles {
            dir: dir.to_path_buf(),
            tail: Mutex::new(Tail::default()),
        };
        tiles.recover(size)?;
        Ok(tiles)
    }

    /// Whether the tiles under `dir` hold entries past the first `size`
    /// (read before opening, which would cut them).
    pub(super) fn holds_more_than(dir: &Path, size: u64) -> Result<bool, StoreError> {
        let tiles = TileFiles {
            dir: dir.to_path_buf(),
            tail: Mutex::new(Tail::default()),
        };
        let bundle = size / TILE_WIDTH;
        if tiles.file_len((None, bundle + 1))? > 0 {
            return Ok(true);
        }
        let bytes = tiles.read_tile((None, bundle))?.unwrap_or_default();
        Ok(bundle_prefix(&bytes, size % TILE_WIDTH).is_some_and(|end| end < bytes.len()))
    }

    fn path(&self, (level, index): TileKey) -> PathBuf {
        let level = level.map_or_else(|| "entries".to_string(), |l| l.to_string());
        self.dir.join("tile").join(level).join(index_path(index))
    }

    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            dir: self.dir.clone(),
            detail,
        }
    }

    /// Entries stored.
    pub(super) fn size(&self) -> u64 {
        self.tail.lock().unwrap_or_else(|p| p.into_inner()).size
    }

    /// Cuts every tile file back to what a tree of `size` entries holds and
    /// removes tiles past it; a tile holding less than that is corruption.
    fn recover(&self, size: u64) -> Result<(), StoreError> {
        let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        let bundle = size / TILE_WIDTH;
        let in_bundle = size % TILE_WIDTH;
        let bytes = self.read_tile((None, bundle))?.unwrap_or_default();
        let end = bundle_prefix(&bytes, in_bundle).ok_or_else(|| {
            self.corrupt(format!(
                "entry bundle {bundle} holds fewer than the {in_bundle} entries the checkpoint covers"
            ))
        })?;
        self.cut((None, bundle), end as u64, bytes.len() as u64)?;
        if bundle > 0 {
            self.expect_full((None, bundle - 1), true)?;
        }
        self.remove_after((None, bundle))?;
        for level in 0..LEVELS {
            let count = size >> (u32::from(level) * u32::from(TILE_HEIGHT));
            let (index, width) = (count / TILE_WIDTH, count % TILE_WIDTH);
            let key = (Some(level), index);
            let length = self.file_len(key)?;
            if length < width * 32 {
                return Err(self.corrupt(format!(
                    "hash tile {} holds {} hashes, the checkpoint needs {width}",
                    self.path(key).display(),
                    length / 32
                )));
            }
            self.cut(key, width * 32, length)?;
            if index > 0 {
                self.expect_full((Some(level), index - 1), true)?;
            }
            self.remove_after(key)?;
        }
        *tail = Tail {
            size,
            bundle_bytes: end as u64,
        };
        Ok(())
    }

    /// A full tile must be whole: a hash tile exactly 8 KiB, a bundle 256 entries.
    fn expect_full(&self, key: TileKey, check: bool) -> Result<(), StoreError> {
        if !check {
            return Ok(());
        }
        let whole = match key.0 {
            Some(_) => self.file_len(key)? == TILE_WIDTH * 32,
            None => {
                let bytes = self.read_tile(key)?.unwrap_or_default();
                bundle_prefix(&bytes, TILE_WIDTH) == Some(bytes.len())
            }
        };
        if whole {
            Ok(())
        } else {
            Err(self.corrupt(format!("the full tile {} is not whole", self.path(key).display())))
        }
    }

    fn file_len(&self, key: TileKey) -> Result<u64, StoreError> {
        let path = self.path(key);
        match std::fs::metadata(&path) {
            Ok(metadata) => Ok(metadata.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(StoreError::io(&path, "inspecting", e)),
        }
    }

    /// Truncates a tile file to `keep` bytes (removes it if that is 0).
    fn cut(&self, key: TileKey, keep: u64, length: u64) -> Result<(), StoreError> {
        if keep >= length {
            return Ok(());
        }
        let path = self.path(key);
        if keep == 0 {
            std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, "removing a tile past the checkpoint", e))?;
            return files::sync_dir(path.parent().unwrap_or(&self.dir));
        }
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, "opening", e))?;
        file.set_len(keep)
            .and_then(|()| file.sync_all())
            .map_err(|e| StoreError::io(&path, "cutting back to the checkpoint", e))
    }

    /// Removes the tiles after `key` at its level a crash may have begun
    /// (a batch starts at most a few; they are consecutive).
    fn remove_after(&self, (level, index): TileKey) -> Result<(), StoreError> {
        let mut next = index + 1;
        loop {
            let path = self.path((level, next));
            match std::fs::remove_file(&path) {
                Ok(()) => files::sync_dir(path.parent().unwrap_or(&self.dir))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(StoreError::io(&path, "removing a tile past the checkpoint", e)),
            }
            next += 1;
        }
    }

    /// A tile file's bytes; `None` if it does not exist.
    fn read_tile(&self, key: TileKey) -> Result<Option<Vec<u8>>, StoreError> {
        files::read_optional(&self.path(key))
    }

    /// The first `width` entries (or hashes) of a tile, exactly as served.
    pub(super) fn tile_bytes(&self, level: Option<u8>, index: u64, width: u64) -> Result<Vec<u8>, StoreError> {
        let bytes = self.read_tile((level, index))?.unwrap_or_default();
        let end = match level {
            Some(_) => Some(width as usize * 32).filter(|end| *end <= bytes.len()),
            None => bundle_prefix(&bytes, width),
        };
        match end {
            Some(end) => Ok(bytes[..end].to_vec()),
            None => Err(self.corrupt(format!(
                "tile {} holds fewer than {width} items",
                self.path((level, index)).display()
            ))),
        }
    }

    /// Appends entries `[first, …)` and the batch's tree nodes, then makes
    /// every file touched durable. `first` may lie before the stored end (a
    /// follower rewriting its unpublished staged tail) but never before
    /// `published`.
    pub(super) fn append(
        &self,
        entries: &[(u64, Vec<u8>)],
        hashes: &[(NodeId, Hash)],
        published: u64,
    ) -> Result<(), StoreError> {
        let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        let Some(first) = entries.first().map(|(index, _)| *index) else {
            return Ok(());
        };
        if first < published || first > tail.size {
            return Err(StoreError::Refused {
                dir: self.dir.clone(),
                detail: format!(
                    "entries from {first}: the store holds {} and published {published}",
                    tail.size
                ),
            });
        }
        if first < tail.size {
            drop(tail);
            self.recover(first)?;
            tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        }
        let (writes, bundle_bytes) = self.plan(&tail, entries, hashes)?;
        let mut created_in = Vec::new();
        let mut synced = Vec::with_capacity(writes.len());
        for (key, write) in &writes {
            let (file, created) = self.open_for_write(*key)?;
            let path = self.path(*key);
            file.write_all_at(&write.bytes, write.offset)
                .map_err(|e| StoreError::io(&path, "writing", e))?;
            if created {
                created_in.push(path.parent().unwrap_or(&self.dir).to_path_buf());
            }
            synced.push((path, file));
        }
        for (path, file) in &synced {
            fault::check(path).map_err(|e| StoreError::io(path, "fdatasync", e))?;
            file.sync_data().map_err(|e| StoreError::io(path, "fdatasync", e))?;
        }
        created_in.dedup();
        for dir in created_in {
            files::sync_dir(&dir)?;
        }
        tail.size = first + entries.len() as u64;
        tail.bundle_bytes = bundle_bytes;
        Ok(())
    }

    /// Where each tile's new bytes go, and the bytes in the last bundle after.
    fn plan(
        &self,
        tail: &Tail,
        entries: &[(u64, Vec<u8>)],
        hashes: &[(NodeId, Hash)],
    ) -> Result<(BTreeMap<TileKey, TileWrite>, u64), StoreError> {
        let mut writes: BTreeMap<TileKey, TileWrite> = BTreeMap::new();
        let mut bundle_bytes = tail.bundle_bytes;
        for (expected, (index, entry)) in (tail.size..).zip(entries) {
            let length = u16::try_from(entry.len()).ok().filter(|_| *index == expected);
            let Some(length) = length else {
                return Err(StoreError::Refused {
                    dir: self.dir.clone(),
                    detail: format!(
                        "entry {index} (expected {expected}, {} bytes, at most 65,535)",
                        entry.len()
                    ),
                });
            };
            if index % TILE_WIDTH == 0 {
                bundle_bytes = 0;
            }
            let write = writes.entry((None, index / TILE_WIDTH)).or_insert(TileWrite {
                offset: bundle_bytes,
                bytes: Vec::new(),
            });
            write.bytes.extend_from_slice(&length.to_be_bytes());
            write.bytes.extend_from_slice(entry);
            bundle_bytes += 2 + entry.len() as u64;
        }
        for (node, hash) in hashes.iter().filter(|(node, _)| node.level % TILE_HEIGHT == 0) {
            let key = (Some(node.level / TILE_HEIGHT), node.index / TILE_WIDTH);
            let offset = (node.index % TILE_WIDTH) * 32;
            let write = writes.entry(key).or_insert(TileWrite {
                offset,
                bytes: Vec::new(),
            });
            if write.offset + write.bytes.len() as u64 != offset {
                return Err(StoreError::Refused {
                    dir: self.dir.clone(),
                    detail: format!("tree hash {node:?} out of order"),
                });
            }
            write.bytes.extend_from_slice(hash);
        }
        Ok((writes, bundle_bytes))
    }

    /// Opens a tile file for writing, creating it (and its directories).
    fn open_for_write(&self, key: TileKey) -> Result<(File, bool), StoreError> {
        let path = self.path(key);
        if let Some(parent) = path.parent() {
            if !parent.is_dir() {
                files::create_dir_durable(parent)?;
            }
        }
        let created = !path.exists();
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io(&path, "opening", e))?;
        Ok((file, created))
    }

    /// Entries `[start, end)` into `batch`, one sequential read per bundle.
    pub(super) fn read_entries(&self, start: u64, end: u64, batch: &mut EntryBatch) -> Result<(), StoreError> {
        batch.start = start;
        batch.bytes.clear();
        batch.ends.clear();
        let stored = self.size();
        if end > stored {
            return Err(self.corrupt(format!("entry {} is missing", start.max(stored))));
        }
        let mut index = start;
        while index < end {
            let bundle = index / TILE_WIDTH;
            let bytes = self.read_tile((None, bundle))?.unwrap_or_default();
            let mut at = 0usize;
            let first = bundle * TILE_WIDTH;
            let last = end.min(first + TILE_WIDTH);
            for i in first..last {
                let Some((from, to)) = next_entry(&bytes, at) else {
                    return Err(self.corrupt(format!("entry {i} is missing from bundle {bundle}")));
                };
                if i >= index {
                    batch.bytes.extend_from_slice(&bytes[from..to]);
                    batch.ends.push(batch.bytes.len());
                }
                at = to;
            }
            index = last;
        }
        Ok(())
    }

    /// The stored nodes of height `8·L` `[first, first + count)` of one tile.
    fn stored_hashes(&self, level: u8, first: u64, count: u64, cache: &mut TileCache) -> Result<Vec<Hash>, StoreError> {
        let key = (Some(level / TILE_HEIGHT), first / TILE_WIDTH);
        let bytes = match cache.entry(key) {
            std::collections::hash_map::Entry::Occupied(held) => held.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => slot.insert(self.read_tile(key)?.unwrap_or_default()),
        };
        let from = ((first % TILE_WIDTH) * 32) as usize;
        let to = from + count as usize * 32;
        let Some(slice) = bytes.get(from..to) else {
            return Err(self.corrupt(format!(
                "tree hash at level {level} index {} is missing",
                first + count - 1
            )));
        };
        Ok(slice.chunks_exact(32).filter_map(|c| c.try_into().ok()).collect())
    }

    /// Any tree node's hash: read if stored, else hashed from the stored
    /// nodes below it in its tile.
    pub(super) fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut cache = TileCache::new();
        nodes
            .iter()
            .map(|node| {
                let base = node.level - node.level % TILE_HEIGHT;
                let height = node.level - base;
                let first = node.index.checked_mul(1 << height).unwrap_or(u64::MAX - 256);
                let below = self.stored_hashes(base, first, 1 << height, &mut cache)?;
                Ok(fold_perfect(below))
            })
            .collect()
    }
}

/// Tile bytes read during one call, by tile.
type TileCache = std::collections::HashMap<TileKey, Vec<u8>>;

/// The root of a perfect subtree from its leaves (a power of two of them).
fn fold_perfect(mut level: Vec<Hash>) -> Hash {
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level.first().copied().unwrap_or_default()
}

/// The entry starting at `at` in a bundle: its byte range, if whole.
fn next_entry(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let length = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
    let from = at + 2;
    let to = from.checked_add(length).filter(|to| *to <= bytes.len())?;
    Some((from, to))
}

/// The bytes of a bundle's first `count` entries, if it holds them.
fn bundle_prefix(bytes: &[u8], count: u64) -> Option<usize> {
    let mut at = 0;
    for _ in 0..count {
        at = next_entry(bytes, at)?.1;
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::merkle::{leaf_hash, subtree_root, Frontier};

    fn append_leaves(tiles: &TileFiles, frontier: &mut Frontier, from: u64, to: u64) {
        let mut entries = Vec::new();
        let mut hashes = Vec::new();
        for i in from..to {
            let entry = format!("entry {i}").into_bytes();
            hashes.extend(frontier.push(leaf_hash(&entry)));
            entries.push((i, entry));
        }
        tiles.append(&entries, &hashes, 0).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn entries_and_any_node_read_back_and_a_torn_tail_is_cut_at_open() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let tiles = TileFiles::open(dir.path(), 0).unwrap_or_else(|e| panic!("{e}"));
        let mut frontier = Frontier::default();
        for (from, to) in [(0, 1), (1, 300), (300, 513), (513, 70_000)] {
            append_leaves(&tiles, &mut frontier, from, to);
        }
        let mut batch = EntryBatch::default();
        tiles
            .read_entries(250, 260, &mut batch)
            .unwrap_or_else(|e| panic!("{e}"));
        let read: Vec<Vec<u8>> = batch.iter().map(|(_, e)| e.to_vec()).collect();
        let expected: Vec<Vec<u8>> = (250..260).map(|i| format!("entry {i}").into_bytes()).collect();
        assert_eq!(read, expected);
        let leaves: Vec<Hash> = (0..4096).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect();
        for level in [0u8, 3, 8, 10] {
            let span = 1usize << level;
            let node = NodeId { level, index: 1 };
            let got = tiles.read_hashes(&[node]).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(got, vec![subtree_root(&leaves[span..2 * span])], "level {level}");
        }
        assert_eq!(
            tiles
                .read_hashes(&[NodeId { level: 16, index: 0 }])
                .ok()
                .map(|h| h.len()),
            Some(1)
        );
        assert!(tiles.read_hashes(&[NodeId::leaf(70_000)]).is_err());
        drop(tiles);
        // Reopened at an earlier checkpoint: everything past it is cut.
        let tiles = TileFiles::open(dir.path(), 600).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tiles.size(), 600);
        assert!(!dir.path().join("tile/entries/003").exists());
        let level_one = std::fs::metadata(dir.path().join("tile/1/000")).map(|m| m.len()).ok();
        assert_eq!(level_one, Some(2 * 32), "600 entries hold 2 nodes of height 8");
        assert!(!dir.path().join("tile/2/000").exists());
        assert_eq!(tiles.tile_bytes(Some(0), 2, 88).map(|b| b.len()).ok(), Some(88 * 32));
        let mut frontier = Frontier::default();
        for i in 0..600 {
            frontier.push(leaf_hash(format!("entry {i}").as_bytes()));
        }
        append_leaves(&tiles, &mut frontier, 600, 700);
        tiles
            .read_entries(590, 700, &mut batch)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batch.len(), 110);
        // A checkpoint past what the tiles hold is refused.
        drop(tiles);
        assert!(matches!(
            TileFiles::open(dir.path(), 701),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
