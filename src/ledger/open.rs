//! Opening a log without ever serving or extending a damaged one.
//!
//! Verified at open, in O(log n + tail) reads so restart stays fast as the log
//! grows:
//! 1. the store's checkpoint (the newest whole slot; the store refuses a
//!    torn newest slot with entries past the older one) verifies with this
//!    node's key;
//! 2. the tiles hold exactly the checkpoint's entries (the store cuts what a
//!    crash left past it, and refuses tiles holding fewer: a store that lost
//!    entries);
//! 3. the root recomputed from stored hashes equals the checkpoint's root;
//! 4. the index is brought up to the log (entries its lazy sync lost are
//!    indexed again);
//! 5. the last `OPEN_VERIFY_TAIL_ENTRIES` entries (where a crash lands) have valid
//!    signatures and match their stored leaf hashes.
//!
//! Verified lazily: every entry and every interior hash by a background sweep
//! right after open, and every entry and proof again each time it is served. A
//! failure in either halts signing (see `Shared::halt`).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Instant;

use super::{checkpoint_path, store_path, MissingRecords, Published, Shared};
use crate::error::{Error, Result};
use crate::limits;
use crate::log::entry::decode_entry;
use crate::log::keys::LogKeys;
use crate::log::merkle::{empty_root, leaf_hash, Frontier, Hash, HashReader, NodeId};
use crate::log::note::{unverified_body, Checkpoint, NoteSigner, NoteVerifier};
use crate::log::tiles::TILE_HEIGHT;
use crate::pb;
use crate::store::{files, CommitBatch, IndexBatch, Store};
use crate::vault::{vault_path, VaultCheck};

pub(super) struct Opened {
    pub store: Store,
    pub frontier: Frontier,
    pub published: Published,
    /// The log's keys, learned from the rotation entries the published tree holds.
    pub keys: LogKeys,
    /// Entries `[0, sweep_below)` are left to the background sweep.
    pub sweep_below: u64,
}

/// Entries checked per read during verification; bounds memory.
const VERIFY_CHUNK: u64 = 1024;

/// What opening needs: a follower (mirror) has the verifier but no signer.
pub(super) struct OpenParams<'a> {
    pub data_dir: &'a Path,
    pub state: &'a str,
    pub verifier: &'a NoteVerifier,
    /// Creates the empty log's first checkpoint; `None` for a follower.
    pub signer: Option<&'a NoteSigner>,
    pub accept_unpublished_store: bool,
}

pub(super) fn open_verified(options: &OpenParams<'_>) -> Result<Opened> {
    files::create_dir_durable(options.data_dir)?;
    let stale = files::remove_stale_temps(options.data_dir)?;
    if stale > 0 {
        tracing::info!(data_dir = %options.data_dir.display(), stale, "removed temp files left by an interrupted write");
    }
    let published_path = checkpoint_path(options.data_dir);
    let published_note = files::read_optional(&published_path)?;
    if published_note.is_some() && !store_path(options.data_dir).exists() {
        // Refuse before creating anything, so the directory stays as it was found.
        return Err(Error::DataLoss(format!(
            "refusing to start: the store {} is missing but this node published a checkpoint ({}); repair it from a mirror",
            store_path(options.data_dir).display(),
            published_path.display()
        )));
    }
    let path = store_path(options.data_dir);
    let store = if options.accept_unpublished_store {
        Store::open_from_older_checkpoint(&path)?
    } else {
        Store::open(&path)?
    };
    catch_up_index(&store)?;
    let verifier = options.verifier;
    let Some(stored_note) = store.checkpoint_note()? else {
        return create(store, options, published_note);
    };
    let keys = stored_keys(&store, verifier, &stored_note)?;
    let stored = open_note(&stored_note, &keys, &store, "the store's own checkpoint")?;
    let last = store.last_entry_index()?;
    if last != stored.size.checked_sub(1) {
        let found = last.map_or(0, |i| i + 1);
        return Err(data_loss(
            &store,
            format!("the checkpoint covers {} entries but {found} are stored", stored.size),
        ));
    }
    let frontier = Frontier::load(stored.size, &store)?;
    if frontier.root() != stored.root {
        return Err(data_loss(
            &store,
            format!(
                "the stored tree hashes do not give the signed root at size {}",
                stored.size
            ),
        ));
    }
    check_published(&store, options, &keys, &stored, published_note.as_deref())?;
    if published_note.as_deref() != Some(&stored_note[..]) {
        files::write_atomic(&published_path, &stored_note, files::Mode::Readable)?;
    }
    let tail_start = stored.size.saturating_sub(limits::OPEN_VERIFY_TAIL_ENTRIES);
    verify_range(&store, &keys, options.state, tail_start, stored.size).map_err(|e| data_loss(&store, e))?;
    let published = Published {
        note: Arc::from(stored_note),
        checkpoint: stored.clone(),
    };
    Ok(Opened {
        store,
        frontier,
        published,
        keys,
        sweep_below: stored.size,
    })
}

/// Brings the index up to the log: entries past what it holds (a crash
/// before its periodic sync) are indexed again from their tiles; an index
/// ahead of the log (a follower's staged tail cut at open) is rebuilt.
fn catch_up_index(store: &Store) -> Result<()> {
    let size = store.last_entry_index()?.map_or(0, |last| last + 1);
    let from = match store.indexed()? {
        Some(indexed) => indexed,
        None => {
            store.clear_index()?;
            0
        }
    };
    let mut start = from;
    while start < size {
        let end = size.min(start + VERIFY_CHUNK);
        let mut batch = IndexBatch::default();
        for (index, entry) in (start..).zip(store.entries(start, end)?) {
            let (_, event) = decode_entry(index, &entry).map_err(|e| data_loss(store, e.to_string()))?;
            let rotates = matches!(event.body, Some(pb::event::Body::SigningKeyRotated(_)));
            super::index_event(&mut batch, index, &event, rotates);
        }
        store.index(&batch, end)?;
        start = end;
    }
    if size > from {
        store.sync_index()?;
        tracing::info!(dir = %store.dir().display(), entries = size - from, "indexed entries the index had not made durable");
    }
    Ok(())
}

/// The log's keys: the pinned key, then each rotation entry the store lists
/// below the size its checkpoint claims, learned in order (each must be
/// signed by the key before it). The claim is checked right after, with the
/// key in force for it; a store that lost a rotation's index fails that check.
pub(super) fn stored_keys(store: &Store, verifier: &NoteVerifier, note: &[u8]) -> Result<LogKeys> {
    let mut keys = LogKeys::new(verifier.clone());
    let claimed = unverified_body(note)
        .and_then(Checkpoint::parse_body)
        .map_err(|e| data_loss(store, format!("the store's checkpoint is malformed: {e}")))?;
    for index in store.key_rotations()? {
        if index >= claimed.size {
            break;
        }
        let Some(entry) = store.entry(index)? else {
            return Err(data_loss(store, format!("the key rotation entry {index} is missing")));
        };
        match keys.learn(index, &entry) {
            Ok(true) => {}
            Ok(false) => {
                return Err(data_loss(
                    store,
                    format!("entry {index} is listed as a key rotation but is not one"),
                ));
            }
            Err(e) => return Err(data_loss(store, e.to_string())),
        }
    }
    Ok(keys)
}

fn data_loss(store: &Store, detail: String) -> Error {
    Error::DataLoss(format!(
        "refusing to serve the log in {}: {detail}",
        store.dir().display()
    ))
}

fn open_note(note: &[u8], keys: &LogKeys, store: &Store, what: &str) -> Result<Checkpoint> {
    keys.open_checkpoint(note).map_err(|e| {
        data_loss(
            store,
            format!(
                "{what} does not verify with this node's key {} ({e}); is this the right key for this data directory?",
                keys.current().to_key_string()
            ),
        )
    })
}

/// A store with no checkpoint: a new log, unless the copy of the published
/// checkpoint says otherwise.
fn create(store: Store, options: &OpenParams<'_>, published_note: Option<Vec<u8>>) -> Result<Opened> {
    if let Some(note) = published_note {
        let size = Checkpoint::parse_body(&String::from_utf8_lossy(&note))
            .map(|c| c.size)
            .unwrap_or(0);
        return Err(data_loss(
            &store,
            format!("the store is empty but a checkpoint of size {size} was published; repair the store from a mirror"),
        ));
    }
    let checkpoint = Checkpoint {
        origin: options.verifier.name().to_string(),
        size: 0,
        root: empty_root(),
    };
    let Some(signer) = options.signer else {
        // A follower starts from the empty tree (any staged tail is ignored);
        // it has no signed checkpoint until its first catch-up publishes one.
        let published = Published {
            note: Arc::from(Vec::new()),
            checkpoint,
        };
        return Ok(Opened {
            store,
            frontier: Frontier::default(),
            published,
            keys: LogKeys::new(options.verifier.clone()),
            sweep_below: 0,
        });
    };
    if store.last_entry_index()?.is_some() {
        return Err(data_loss(
            &store,
            "entries are stored but the store's checkpoint is missing".into(),
        ));
    }
    let note = checkpoint.sign(signer).into_bytes();
    store.commit(&CommitBatch {
        checkpoint_note: note.clone(),
        ..Default::default()
    })?;
    files::write_atomic(&checkpoint_path(options.data_dir), &note, files::Mode::Readable)?;
    tracing::info!(data_dir = %options.data_dir.display(), origin = %checkpoint.origin, "created a new empty log");
    let published = Published {
        note: Arc::from(note),
        checkpoint,
    };
    Ok(Opened {
        store,
        frontier: Frontier::default(),
        published,
        keys: LogKeys::new(options.verifier.clone()),
        sweep_below: 0,
    })
}

/// The store must extend the copy of the checkpoint published outside it
/// (at most `PUBLISHED_COPY_INTERVAL` old), never fork it or fall short of it.
fn check_published(
    store: &Store,
    options: &OpenParams<'_>,
    keys: &LogKeys,
    stored: &Checkpoint,
    note: Option<&[u8]>,
) -> Result<()> {
    let Some(note) = note else {
        if stored.size == 0 || options.accept_unpublished_store {
            return Ok(());
        }
        return Err(data_loss(store, format!(
            "the store holds {} entries but there is no published checkpoint file {}; if you restored this store deliberately, start with --accept-store-as-is",
            stored.size, checkpoint_path(options.data_dir).display()
        )));
    };
    let published = open_note(note, keys, store, "the published checkpoint file")?;
    if published.size > stored.size {
        return Err(data_loss(
            store,
            format!(
                "the store holds {} entries but {} were published: the store lost entries; repair it from a mirror",
                stored.size, published.size
            ),
        ));
    }
    let root = crate::log::merkle::root_at(published.size, store)?;
    if root != published.root {
        return Err(data_loss(store, format!(
            "the store's tree at the published size {} differs from the published root (store size {}): serving it would fork the published log",
            published.size, stored.size
        )));
    }
    Ok(())
}

/// Checks entries `[start, end)`: signature (by the key in force at each),
/// place and stored leaf hash. A rotation entry `keys` does not list is
/// refused (the keys after it would not be the ones the log names).
fn verify_range(store: &Store, keys: &LogKeys, state: &str, start: u64, end: u64) -> Result<Vec<Hash>, String> {
    let mut leaves = Vec::with_capacity(end.saturating_sub(start) as usize);
    let mut keys = keys.clone();
    let mut chunk_start = start;
    while chunk_start < end {
        let chunk_end = end.min(chunk_start + VERIFY_CHUNK);
        let entries = store.entries(chunk_start, chunk_end).map_err(|e| e.to_string())?;
        let ids: Vec<NodeId> = (chunk_start..chunk_end).map(NodeId::leaf).collect();
        let stored = store.read_hashes(&ids).map_err(|e| e.to_string())?;
        for ((index, entry), stored) in (chunk_start..).zip(&entries).zip(&stored) {
            let before = keys.rotations().len();
            keys.verify_entry(index, entry, state).map_err(|e| e.to_string())?;
            if keys.rotations().len() != before {
                return Err(format!("entry {index} rotates the key but the store does not list it"));
            }
            let leaf = leaf_hash(entry);
            if leaf != *stored {
                return Err(format!("entry {index} does not match its stored leaf hash"));
            }
            leaves.push(leaf);
        }
        chunk_start = chunk_end;
    }
    Ok(leaves)
}

/// Starts the background sweep of entries `[0, end)`: every entry, and every
/// interior hash rebuilt from the leaves and compared with the stored one.
pub(super) fn spawn_sweep(shared: &Arc<Shared>, end: u64) {
    let weak = Arc::downgrade(shared);
    shared.spawn_background("peerreg-sweep", move || sweep(weak, end));
}

fn sweep(weak: Weak<Shared>, end: u64) {
    let started = Instant::now();
    let mut frontier = Frontier::default();
    while frontier.size() < end {
        // Holding only a weak handle lets the store close while a sweep runs.
        let Some(shared) = weak.upgrade().filter(|s| !s.stopping.load(Ordering::Relaxed)) else {
            return;
        };
        let start = frontier.size();
        let chunk_end = end.min(start + VERIFY_CHUNK);
        if let Err(reason) = sweep_chunk(&shared, &mut frontier, start, chunk_end) {
            shared.halt(format!("integrity sweep: {reason}"));
            return;
        }
        shared.verified_below.store(chunk_end, Ordering::Relaxed);
    }
    if let Some(shared) = weak.upgrade() {
        shared.verified_below.store(u64::MAX, Ordering::Relaxed);
    }
    tracing::info!(
        entries = end,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "integrity sweep verified the whole log"
    );
    sweep_private_store(&weak);
}

/// The private store's part of the sweep ([`check_private_store`]). Damage
/// there halts signing too: the registry the writer checks commands against
/// may be missing records.
fn sweep_private_store(weak: &Weak<Shared>) {
    let Some(shared) = weak.upgrade().filter(|s| !s.stopping.load(Ordering::Relaxed)) else {
        return;
    };
    match check_private_store(&shared) {
        Ok(Some(check)) => tracing::info!(
            people = check.people,
            records = check.records,
            "integrity sweep verified the private store"
        ),
        Ok(None) => {}
        Err(e) => {
            shared.halt(format!("integrity sweep of the private store: {e}"));
        }
    }
}

/// Checks the private store against the published log: every record an
/// entry commits to is held (unless a notice expunged it: a damaged sled file
/// can lose rows without a word), and every record held decrypts under its
/// person's key and opens its commitment. `None` for a follower, which holds
/// no private store.
pub(super) fn check_private_store(shared: &Shared) -> Result<Option<VaultCheck>> {
    let Some(vault) = super::lock(&shared.vault).clone() else {
        return Ok(None);
    };
    let mut missing = MissingRecords::default();
    let mut scanned = 0;
    loop {
        // Entries appended meanwhile are read too: they hold the notices of
        // any record erased while the scan ran.
        let size = shared.published.borrow().checkpoint.size;
        if scanned >= size {
            break;
        }
        missing.scan(&shared.store, &vault, scanned, size)?;
        scanned = size;
    }
    if missing.count() > 0 {
        return Err(Error::DataLoss(format!(
            "the private store {} lacks {} records the log commits to (entries {:?}…): restore it from a backup",
            vault_path(&shared.data_dir).display(),
            missing.count(),
            missing.first()
        )));
    }
    Ok(Some(vault.verify_all()?))
}

fn sweep_chunk(shared: &Shared, frontier: &mut Frontier, start: u64, end: u64) -> Result<(), String> {
    let keys = shared.keys.read().unwrap_or_else(|p| p.into_inner()).clone();
    let leaves = verify_range(&shared.store, &keys, &shared.state, start, end)?;
    let mut completed = Vec::new();
    for leaf in leaves {
        // Only the nodes tiles store (height 8·L) are compared: the others
        // are hashed from them on every read.
        completed.extend(
            frontier
                .push(leaf)
                .into_iter()
                .filter(|(node, _)| node.level > 0 && node.level % TILE_HEIGHT == 0),
        );
    }
    let ids: Vec<NodeId> = completed.iter().map(|(node, _)| *node).collect();
    let stored = shared.store.read_hashes(&ids).map_err(|e| e.to_string())?;
    for ((node, rebuilt), stored) in completed.iter().zip(&stored) {
        if rebuilt != stored {
            return Err(format!(
                "stored tree hash at level {} index {} is wrong",
                node.level, node.index
            ));
        }
    }
    Ok(())
}
