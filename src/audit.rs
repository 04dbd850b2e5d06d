//! An independent auditor: anyone holding a log's verifier key string can check
//! the whole log, and notice if it is ever rewritten.
//!
//! One run: verify the latest checkpoint with the pinned key (or a key the
//! pinned key introduced through the log's own signed rotation entries, see
//! `log::keys`; any other key is refused); demand a
//! consistency proof from the checkpoint remembered by the previous run (a
//! rewritten history fails here); fetch every entry, verify every signature,
//! recompute the root; spot-check inclusion proofs; remember the new checkpoint.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits;
use crate::log::cosignature::WitnessPolicy;
use crate::log::keys::LogKeys;
use crate::log::merkle::{leaf_hash, verify_consistency, verify_inclusion, Frontier, Hash, LeafIndex, TreeSize};
use crate::log::note::{Checkpoint, NoteVerifier};
use crate::source::LogSource;
use crate::store::files;

/// What the auditor remembers between runs: the last verified checkpoint of
/// each log, by origin.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AuditState {
    pub logs: BTreeMap<String, RememberedCheckpoint>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RememberedCheckpoint {
    pub size: u64,
    /// Hex of the root hash.
    pub root: String,
    /// The signed note, kept as evidence.
    pub note: String,
}

/// What one successful audit established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The size the previous run remembered, now proven to be a prefix.
    pub previous_size: Option<u64>,
    pub entries_verified: u64,
    pub inclusion_proofs_checked: u64,
}

impl AuditState {
    pub fn load(path: &Path) -> Result<AuditState> {
        match files::read_optional(path)? {
            None => Ok(AuditState::default()),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::InvalidArgument(format!("audit state file {} is unreadable: {e}", path.display()))),
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Internal(format!("audit state: {e}")))?;
        files::write_atomic(path, &json, files::Mode::Readable)?;
        Ok(())
    }
}

fn not_the_chain(e: impl std::fmt::Display) -> Error {
    Error::DataLoss(format!(
        "the checkpoint does not verify with the pinned key's chain: {e}"
    ))
}

/// The checkpoint carries `witnesses`' quorum, or it is "not yet witnessed".
fn witnessed_enough(witnesses: &WitnessPolicy, note: &[u8], checkpoint: &Checkpoint) -> Result<()> {
    witnesses
        .check(note)
        .map_err(|e| Error::FailedPrecondition(format!("checkpoint of size {}: {e}", checkpoint.size)))
}

/// The node has no witnessed checkpoint to show: not an alarm, a wait.
fn not_yet_witnessed(error: Error) -> Error {
    match error {
        Error::NotFound(why) => Error::FailedPrecondition(format!("not yet witnessed: {why}")),
        other => other,
    }
}

fn rewritten(detail: String) -> Error {
    Error::FailedPrecondition(format!(
        "LOG REWRITTEN: {detail}. Keep the audit state file as evidence."
    ))
}

/// Audits the log at `client` against the pinned `verifier`, using and updating
/// `state_file`. Any failure is an error whose message says what is wrong.
pub async fn audit(client: &dyn LogSource, verifier: &NoteVerifier, state_file: &Path) -> Result<AuditReport> {
    audit_witnessed(client, verifier, &WitnessPolicy::default(), state_file).await
}

/// As [`audit`], up to the newest checkpoint `witnesses` cosigned (their
/// quorum): a checkpoint without it is reported as not yet witnessed and is
/// neither audited nor remembered.
pub async fn audit_witnessed(
    client: &dyn LogSource,
    verifier: &NoteVerifier,
    witnesses: &WitnessPolicy,
    state_file: &Path,
) -> Result<AuditReport> {
    let identity = client.identity().await?;
    let note = if witnesses.quorum > 0 {
        client.witnessed_note().await.map_err(not_yet_witnessed)?
    } else {
        client.checkpoint_note().await?
    };
    let pinned = LogKeys::new(verifier.clone());
    let (checkpoint, _) = crate::keychain::open_checkpoint(&pinned, &note, client)
        .await
        .map_err(not_the_chain)?;
    witnessed_enough(witnesses, &note, &checkpoint)?;
    let state = AuditState::load(state_file)?;
    let previous = state.logs.get(&checkpoint.origin).cloned();
    if let Some(previous) = &previous {
        check_consistent(client, previous, &checkpoint).await?;
    }
    let (entries_verified, leaves, keys) = verify_all_entries(client, verifier, &identity.state, &checkpoint).await?;
    // The chain learned entry by entry must open the checkpoint too.
    keys.open_checkpoint(&note).map_err(|e| {
        Error::DataLoss(format!(
            "the checkpoint is not signed by the key the entries put in force: {e}"
        ))
    })?;
    let inclusion_proofs_checked = spot_check(client, &checkpoint, &leaves).await?;
    let checked = (entries_verified, inclusion_proofs_checked);
    remember(state, state_file, checkpoint, &note, previous, checked)
}

/// Saves `checkpoint` as the one this auditor verified last for its log, and
/// reports the run (`checked`: entries verified, inclusion proofs checked).
fn remember(
    mut state: AuditState,
    state_file: &Path,
    checkpoint: Checkpoint,
    note: &[u8],
    previous: Option<RememberedCheckpoint>,
    checked: (u64, u64),
) -> Result<AuditReport> {
    state.logs.insert(
        checkpoint.origin.clone(),
        RememberedCheckpoint {
            size: checkpoint.size,
            root: hex::encode(checkpoint.root),
            note: String::from_utf8_lossy(note).into_owned(),
        },
    );
    state.save(state_file)?;
    Ok(AuditReport {
        origin: checkpoint.origin,
        size: checkpoint.size,
        root: checkpoint.root,
        previous_size: previous.map(|p| p.size),
        entries_verified: checked.0,
        inclusion_proofs_checked: checked.1,
    })
}

/// The new checkpoint must extend the remembered one.
async fn check_consistent(client: &dyn LogSource, previous: &RememberedCheckpoint, now: &Checkpoint) -> Result<()> {
    let old_root: Hash = hex::decode(&previous.root)
        .ok()
        .and_then(|r| r.try_into().ok())
        .ok_or_else(|| Error::InvalidArgument("the audit state file holds a malformed root".into()))?;
    if now.size < previous.size {
        return Err(rewritten(format!(
            "the log shrank from {} to {} entries",
            previous.size, now.size
        )));
    }
    if previous.size == 0 {
        return Ok(());
    }
    let proof = client
        .consistency_proof(TreeSize(previous.size), TreeSize(now.size))
        .await?;
    if !verify_consistency(previous.size, now.size, &proof, &old_root, &now.root) {
        return Err(rewritten(format!(
            "the tree of size {} is not an extension of the tree of size {} verified earlier (root {})",
            now.size, previous.size, previous.root
        )));
    }
    Ok(())
}

/// Fetches every entry, verifies its signature (by the key in force, learning
/// rotations as they come) and place, recomputes the root. Returns the count,
/// the leaf hashes of the entries chosen for spot checks, and the chain.
async fn verify_all_entries(
    client: &dyn LogSource,
    verifier: &NoteVerifier,
    state: &str,
    checkpoint: &Checkpoint,
) -> Result<(u64, Vec<(u64, Hash)>, LogKeys)> {
    let mut keys = LogKeys::new(verifier.clone());
    let spots = spot_indices(checkpoint.size);
    let mut frontier = Frontier::default();
    let mut leaves = Vec::with_capacity(spots.len());
    while frontier.size() < checkpoint.size {
        let start = frontier.size();
        let page = client.entries(start, checkpoint.size).await?;
        if page.is_empty() {
            return Err(Error::DataLoss(format!("the node returned no entries at {start}")));
        }
        for (index, entry) in (start..).zip(&page).take((checkpoint.size - start) as usize) {
            keys.verify_entry(index, entry, state)
                .map_err(|e| Error::DataLoss(e.to_string()))?;
            let leaf = leaf_hash(entry);
            if spots.binary_search(&index).is_ok() {
                leaves.push((index, leaf));
            }
            frontier.push(leaf);
        }
    }
    if frontier.root() != checkpoint.root {
        return Err(Error::DataLoss(format!(
            "the entries served do not hash to the signed root of the tree of size {}",
            checkpoint.size
        )));
    }
    Ok((frontier.size(), leaves, keys))
}

/// Up to `AUDIT_SPOT_CHECKS` indices spread over the log, first and last included.
fn spot_indices(size: u64) -> Vec<u64> {
    if size == 0 {
        return Vec::new();
    }
    let count = size.min(limits::AUDIT_SPOT_CHECKS);
    let mut spots: Vec<u64> = (0..count).map(|i| i * (size - 1) / (count - 1).max(1)).collect();
    spots.dedup();
    spots
}

async fn spot_check(client: &dyn LogSource, checkpoint: &Checkpoint, leaves: &[(u64, Hash)]) -> Result<u64> {
    for (index, leaf) in leaves {
        let proof = client
            .inclusion_proof(LeafIndex(*index), TreeSize(checkpoint.size))
            .await?;
        if !verify_inclusion(leaf, *index, checkpoint.size, &proof, &checkpoint.root) {
            return Err(Error::DataLoss(format!(
                "the inclusion proof for entry {index} does not verify"
            )));
        }
    }
    Ok(leaves.len() as u64)
}

/// Reads a log's C2SP tiles by path (`checkpoint`, `tile/entries/000`, …)
/// from wherever they are served: the node's HTTP side, a CDN, a copy in an
/// object store. Implemented over HTTP by `service`.
pub trait TileReader: Send + Sync {
    fn get(&self, path: &str) -> crate::source::SourceFuture<'_, Vec<u8>>;
}

/// Audits a log through its tiles alone, trusting nothing the server says:
/// every entry bundle is fetched, every entry's signature checked by the key
/// in force (learning rotations as they come), the root recomputed and
/// compared with the checkpoint signed by the pinned key's chain; the root at
/// the size remembered from the last run is recomputed on the way, so the
/// log is proven to have only grown. Reads the whole log each time (it has
/// no proofs to lean on); memory is one bundle and the tree's right edge.
pub async fn audit_tiles(
    tiles: &dyn TileReader,
    verifier: &NoteVerifier,
    witnesses: &WitnessPolicy,
    state_file: &Path,
) -> Result<AuditReport> {
    let note = tiles.get("checkpoint").await?;
    let claimed = Checkpoint::parse_body(crate::log::note::unverified_body(&note).map_err(bad_checkpoint)?)
        .map_err(bad_checkpoint)?;
    let state = AuditState::load(state_file)?;
    let previous = state.logs.get(&claimed.origin).cloned();
    if previous.as_ref().is_some_and(|p| p.size > claimed.size) {
        return Err(rewritten(format!(
            "the log shrank from {} to {} entries",
            previous.as_ref().map_or(0, |p| p.size),
            claimed.size
        )));
    }
    let (keys, root_then) = hash_bundles(tiles, verifier, claimed.size, previous.as_ref().map(|p| p.size)).await?;
    let checkpoint = keys.open_checkpoint(&note).map_err(not_the_chain)?;
    witnessed_enough(witnesses, &note, &checkpoint)?;
    if root_then.0 != checkpoint.root {
        return Err(Error::DataLoss(format!(
            "the entry bundles do not hash to the signed root of the tree of size {}",
            checkpoint.size
        )));
    }
    if let (Some(previous), Some(then)) = (&previous, root_then.1) {
        if hex::encode(then) != previous.root {
            return Err(rewritten(format!(
                "the tree's first {} entries no longer hash to the root verified earlier ({})",
                previous.size, previous.root
            )));
        }
    }
    let entries = checkpoint.size;
    remember(state, state_file, checkpoint, &note, previous, (entries, 0))
}

fn bad_checkpoint(e: crate::log::note::NoteError) -> Error {
    Error::DataLoss(format!("the served checkpoint is not a checkpoint: {e}"))
}

/// Every entry of a tree of `size` from its bundles, verified; answers the
/// learned keys, the root, and the root at `then` (a size remembered earlier).
async fn hash_bundles(
    tiles: &dyn TileReader,
    verifier: &NoteVerifier,
    size: u64,
    then: Option<u64>,
) -> Result<(LogKeys, (Hash, Option<Hash>))> {
    use crate::log::tiles::{decode_bundle, entry_bundles};
    let mut keys = LogKeys::new(verifier.clone());
    let mut frontier = Frontier::default();
    let mut root_then = (then == Some(0)).then(crate::log::merkle::empty_root);
    let mut state = None;
    for bundle in entry_bundles(size) {
        let bytes = tiles.get(&bundle.path()).await?;
        let entries = decode_bundle(&bytes)
            .filter(|e| e.len() as u64 == bundle.width)
            .ok_or_else(|| Error::DataLoss(format!("{} is not a bundle of {} entries", bundle.path(), bundle.width)))?;
        for entry in entries {
            let index = frontier.size();
            let state = state.get_or_insert_with(|| entry_state(entry)).clone();
            keys.verify_entry(index, entry, &state)
                .map_err(|e| Error::DataLoss(format!("entry {index}: {e}")))?;
            frontier.push(leaf_hash(entry));
            if then == Some(frontier.size()) {
                root_then = Some(frontier.root());
            }
        }
    }
    Ok((keys, (frontier.root(), root_then)))
}

/// The state code the log's first entry names (signed, so checked with it):
/// every later entry must name the same.
fn entry_state(entry: &[u8]) -> String {
    use prost::Message;
    crate::pb::LogEntry::decode(entry)
        .ok()
        .and_then(|e| crate::pb::Event::decode(e.event.as_slice()).ok())
        .map(|event| event.state)
        .unwrap_or_default()
}
