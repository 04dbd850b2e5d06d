//! Rebuilding a damaged or lost store from any node that serves the same log
//! (an archive, another state's mirror). Nothing is taken on the source's word:
//! every entry must carry this log's signature, and the rebuilt tree must give
//! exactly the root of a checkpoint signed by this log's key that extends the
//! last checkpoint this node published. So a repair can never introduce
//! anything the board did not sign.
//!
//! The new store is built beside the old one (`log.repair`) and swapped in only
//! when complete; the damaged store is kept as `log.damaged-<unix time>`.
//!
//! A repair rebuilds the *log* only. The private store (`private/`: openings,
//! bodies, each person's key) is in no mirror, by design (DESIGN.md §8), so it
//! cannot be rebuilt from one: a repair refuses to start without it, and
//! refuses to finish when it lacks records the log commits to (a backup older
//! than the log), naming how many, rather than leave a registry that silently
//! lost people's records.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ledger::{checkpoint_path, index_event, snapshot_path, store_path, MissingRecords};
use crate::log::keys::LogKeys;
use crate::log::merkle::{leaf_hash, verify_consistency, Frontier, TreeSize};
use crate::log::note::{Checkpoint, NoteVerifier};
use crate::source::LogSource;
use crate::store::{files, CommitBatch, Store};
use crate::vault::{vault_path, Vault};

/// Entries written per commit while rebuilding.
const REPAIR_CHUNK: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    pub entries: u64,
    pub checkpoint: Checkpoint,
    /// Where the damaged store was moved, if there was one.
    pub damaged_store: Option<PathBuf>,
}

/// The checkpoint to rebuild to: the source's, if signed by us and consistent
/// with (at least as large as) what this node last published.
async fn target(data_dir: &Path, verifier: &NoteVerifier, source: &dyn LogSource) -> Result<(Checkpoint, Vec<u8>)> {
    let published_note = files::read_optional(&checkpoint_path(data_dir))?.ok_or_else(|| {
        Error::FailedPrecondition(format!(
            "{} has no published checkpoint to repair against",
            checkpoint_path(data_dir).display()
        ))
    })?;
    let note = source.checkpoint_note().await?;
    let (offered, keys) = crate::keychain::open_checkpoint(&LogKeys::new(verifier.clone()), &note, source)
        .await
        .map_err(|e| Error::DataLoss(format!("the source's checkpoint is not signed by this log's key: {e}")))?;
    let published = keys.open_checkpoint(&published_note).map_err(|e| {
        Error::DataLoss(format!(
            "the published checkpoint does not verify with this log's keys: {e}"
        ))
    })?;
    if offered.size < published.size {
        return Err(Error::DataLoss(format!(
            "the source holds {} entries, fewer than the {} this node published",
            offered.size, published.size
        )));
    }
    if published.size > 0 {
        let proof = source
            .consistency_proof(TreeSize(published.size), TreeSize(offered.size))
            .await?;
        if !verify_consistency(published.size, offered.size, &proof, &published.root, &offered.root) {
            return Err(Error::DataLoss(
                "the source's log is not an extension of the published one: a fork".into(),
            ));
        }
    }
    Ok((offered, note))
}

/// Fetches, verifies and writes every entry into `store`; returns the frontier.
async fn rebuild(
    store: &Store,
    source: &dyn LogSource,
    verifier: &NoteVerifier,
    state: &str,
    size: u64,
) -> Result<(Frontier, LogKeys)> {
    let mut frontier = Frontier::default();
    let mut batch = CommitBatch::default();
    let mut keys = LogKeys::new(verifier.clone());
    while frontier.size() < size {
        let start = frontier.size();
        let page = source.entries(start, size).await?;
        if page.is_empty() {
            return Err(Error::DataLoss(format!("the source returned no entries at {start}")));
        }
        for (index, entry) in (start..).zip(page).take((size - start) as usize) {
            let rotations = keys.rotations().len();
            let event = keys
                .verify_entry(index, &entry, state)
                .map_err(|e| Error::DataLoss(format!("the source served a bad entry: {e}")))?;
            index_event(&mut batch.index, index, &event, keys.rotations().len() > rotations);
            batch.hashes.extend(frontier.push(leaf_hash(&entry)));
            batch.entries.push((index, entry));
        }
        if batch.entries.len() >= REPAIR_CHUNK {
            store.commit(&std::mem::take(&mut batch))?;
        }
    }
    store.commit(&batch)?;
    Ok((frontier, keys))
}

/// Builds a store in `store_dir` holding exactly the tree of `checkpoint` (signed
/// by `verifier`'s key, `note`), from entries fetched from `source` and verified.
pub(crate) async fn build_store(
    store_dir: &Path,
    source: &dyn LogSource,
    verifier: &NoteVerifier,
    state: &str,
    checkpoint: &Checkpoint,
    note: &[u8],
) -> Result<()> {
    let store = Store::open(store_dir)?;
    let (frontier, keys) = rebuild(&store, source, verifier, state, checkpoint.size).await?;
    if frontier.root() != checkpoint.root {
        return Err(Error::DataLoss(
            "the source's entries do not give the root this log signed".into(),
        ));
    }
    keys.open_checkpoint(note).map_err(|e| {
        Error::DataLoss(format!(
            "the checkpoint is not signed by the key the entries put in force: {e}"
        ))
    })?;
    store.commit(&CommitBatch {
        checkpoint_note: note.to_vec(),
        ..Default::default()
    })?;
    Ok(())
}

/// Rebuilds the store in `data_dir` from `source`. See the module docs.
pub async fn repair(
    data_dir: &Path,
    verifier: &NoteVerifier,
    state: &str,
    source: &dyn LogSource,
) -> Result<RepairReport> {
    let vault_dir = vault_path(data_dir);
    if !Vault::exists(&vault_dir) {
        return Err(Error::FailedPrecondition(format!(
            "{} is missing: a mirror holds the log but never the private records (names, training, exams, \
             consents), so a repair cannot bring them back. Restore the private store from its backup into \
             that directory, then repair again",
            vault_dir.display()
        )));
    }
    let (checkpoint, note) = target(data_dir, verifier, source).await?;
    let building = data_dir.join("log.repair");
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(|e| Error::Internal(format!("{}: {e}", building.display())))?;
    }
    build_store(&building, source, verifier, state, &checkpoint, &note).await?;
    check_private_records(&building, &Vault::open(&vault_dir)?, checkpoint.size)?;
    let damaged_store = swap_in(data_dir, &building)?;
    files::write_atomic(&checkpoint_path(data_dir), &note, files::Mode::Readable)?;
    let _ = std::fs::remove_file(snapshot_path(data_dir));
    Ok(RepairReport {
        entries: checkpoint.size,
        checkpoint,
        damaged_store,
    })
}

/// Refuses a rebuilt log whose committed records the private store does not
/// hold, unless a later notice expunged them.
fn check_private_records(store_dir: &Path, vault: &Vault, size: u64) -> Result<()> {
    let store = Store::open(store_dir)?;
    let mut missing = MissingRecords::default();
    missing.scan(&store, vault, 0, size)?;
    if missing.count() > 0 {
        return Err(Error::DataLoss(format!(
            "the private store lacks {} records the log commits to (restored from a backup older than the \
             log?). Restore a newer backup of {}; the repair changed nothing",
            missing.count(),
            vault_path(store_dir.parent().unwrap_or(store_dir)).display()
        )));
    }
    Ok(())
}

/// Moves the damaged store aside (kept for investigation) and the rebuilt one in.
fn swap_in(data_dir: &Path, building: &Path) -> Result<Option<PathBuf>> {
    let live = store_path(data_dir);
    let io = |what: &str, e: std::io::Error| Error::Internal(format!("{what}: {e}"));
    let damaged = if live.exists() {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = data_dir.join(format!("log.damaged-{seconds}"));
        std::fs::rename(&live, &aside).map_err(|e| io("moving the damaged store aside", e))?;
        Some(aside)
    } else {
        None
    };
    std::fs::rename(building, &live).map_err(|e| io("moving the rebuilt store in", e))?;
    files::sync_dir(data_dir)?;
    Ok(damaged)
}
