//! Mirror mode: any node can keep a verified read-only copy of another state's
//! log and serve it through `TransparencyLog` (select it with the
//! `peerreg-origin` request metadata). A mirror verifies every checkpoint
//! against the pinned key and a consistency proof from the last one it holds,
//! every entry's signature, and the rebuilt root; it never signs anything for
//! the origin. An origin that forks is an equivocation: the evidence (both
//! signed checkpoints) is written to `equivocation.json` in the mirror's
//! directory, logged, and following stops.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::parse_state;
use crate::error::{Error, Result};
use crate::ledger::{checkpoint_path, store_path, Ledger};
use crate::log::merkle::verify_consistency;
use crate::log::note::{Checkpoint, NoteVerifier};
use crate::repair::build_store;
use crate::service::client::LogClient;
use crate::store::files;

/// How often a mirror asks its origin for a new checkpoint, and the longest
/// back-off while the origin is unreachable.
pub const FOLLOW_INTERVAL: Duration = Duration::from_secs(2);
pub const FOLLOW_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// `ORIGIN=ENDPOINT:VERIFIER_KEY`, as given to `serve --mirror`.
#[derive(Clone, Debug)]
pub struct MirrorSpec {
    pub origin: String,
    pub endpoint: String,
    pub verifier: NoteVerifier,
}

impl FromStr for MirrorSpec {
    type Err = Error;

    fn from_str(text: &str) -> Result<MirrorSpec> {
        let usage = || Error::InvalidArgument(format!("--mirror {text:?}: expected ORIGIN=ENDPOINT:VERIFIER_KEY"));
        let (origin, rest) = text.split_once('=').ok_or_else(usage)?;
        // The verifier key starts with the origin's name: split just before it.
        let at = rest.rfind(&format!(":{origin}+")).ok_or_else(usage)?;
        let verifier = NoteVerifier::parse(&rest[at + 1..]).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        Ok(MirrorSpec {
            origin: origin.to_string(),
            endpoint: rest[..at].to_string(),
            verifier,
        })
    }
}

/// Where a mirror of `origin` lives inside a node's data directory.
pub fn mirror_dir(data_dir: &Path, origin: &str) -> PathBuf {
    let safe: String = origin
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' })
        .collect();
    data_dir.join("mirrors").join(safe)
}

/// Opens the mirror of `spec`, seeding it from the origin on first use.
pub async fn open(data_dir: &Path, spec: &MirrorSpec) -> Result<Ledger> {
    let dir = mirror_dir(data_dir, &spec.origin);
    if !dir.join("state").exists() {
        seed(&dir, spec, &LogClient::connect(&spec.endpoint).await?).await?;
    }
    open_seeded(&dir, spec)?.ok_or_else(|| Error::DataLoss(format!("{} is missing", dir.join("state").display())))
}

/// Opens the mirror in `dir` if it was seeded (without touching the network).
/// The `state` file is written last when seeding, so without it there is no mirror.
pub fn open_seeded(dir: &Path, spec: &MirrorSpec) -> Result<Option<Ledger>> {
    let Some(state) = files::read_optional(&dir.join("state"))? else {
        return Ok(None);
    };
    let state = String::from_utf8_lossy(&state).trim().to_string();
    Ledger::open_follower(dir.to_path_buf(), state, spec.verifier.clone()).map(Some)
}

/// Copies the origin's log into `dir`: its latest checkpoint, signed by the
/// pinned key, and every entry, each checked, rebuilding that root.
pub async fn seed(dir: &Path, spec: &MirrorSpec, client: &LogClient) -> Result<()> {
    let state = parse_state(&client.identity().await?.state)?;
    let note = client.checkpoint_note().await?;
    let checkpoint = Checkpoint::open(&note, &spec.verifier).map_err(|e| {
        Error::DataLoss(format!(
            "{}'s checkpoint is not signed by the pinned key: {e}",
            spec.origin
        ))
    })?;
    if dir.exists() {
        // An interrupted seeding (no `state` file yet): start it again.
        std::fs::remove_dir_all(dir)
            .map_err(|e| Error::Internal(format!("cannot clear the unfinished mirror {}: {e}", dir.display())))?;
    }
    files::create_dir_durable(dir)?;
    build_store(&store_path(dir), client, &spec.verifier, &state, &checkpoint, &note).await?;
    files::write_atomic(&checkpoint_path(dir), &note, false)?;
    files::write_atomic(&dir.join("state"), state.as_bytes(), false)?;
    tracing::info!(origin = %spec.origin, entries = checkpoint.size, "mirror seeded");
    Ok(())
}

/// The evidence of an equivocation, as recorded in `equivocation.json`: two
/// checkpoints signed by the same pinned key that cannot both be true.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquivocationRecord {
    pub origin: String,
    pub detail: String,
    pub held_checkpoint: String,
    pub offered_checkpoint: String,
    /// Unix seconds when it was recorded.
    #[serde(default)]
    pub recorded_unix: i64,
}

/// Where a mirror keeps the evidence of an unacknowledged equivocation.
pub fn equivocation_path(mirror_dir: &Path) -> PathBuf {
    mirror_dir.join("equivocation.json")
}

/// The recorded, unacknowledged equivocation of the mirror in `mirror_dir`.
pub fn recorded_equivocation(mirror_dir: &Path) -> Result<Option<EquivocationRecord>> {
    let path = equivocation_path(mirror_dir);
    let Some(bytes) = files::read_optional(&path)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::DataLoss(format!("{} is not readable: {e}", path.display())))
}

/// Marks the recorded equivocation as seen by an operator: the evidence is
/// kept (renamed with the time) and decisions may use the log again.
pub fn acknowledge_equivocation(mirror_dir: &Path) -> Result<Option<PathBuf>> {
    let path = equivocation_path(mirror_dir);
    if !path.exists() {
        return Ok(None);
    }
    let kept = mirror_dir.join(format!("equivocation.acknowledged-{}.json", unix_now()));
    std::fs::rename(&path, &kept)
        .map_err(|e| Error::Internal(format!("cannot acknowledge {}: {e}", path.display())))?;
    Ok(Some(kept))
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Records, durably and in the log output, that `origin` signed `offered`,
/// which contradicts the checkpoint `mirror` holds; the error to return.
pub fn equivocation(mirror: &Ledger, origin: &str, offered: &[u8], detail: String) -> Error {
    let evidence = EquivocationRecord {
        origin: origin.to_string(),
        detail: detail.clone(),
        held_checkpoint: String::from_utf8_lossy(&mirror.published().note).into_owned(),
        offered_checkpoint: String::from_utf8_lossy(offered).into_owned(),
        recorded_unix: unix_now(),
    };
    let path = equivocation_path(mirror.data_dir());
    match serde_json::to_vec_pretty(&evidence) {
        Ok(json) => {
            if let Err(e) = files::write_atomic(&path, &json, false) {
                tracing::error!("cannot record equivocation evidence: {e}");
            }
        }
        Err(e) => tracing::error!("cannot encode equivocation evidence: {e}"),
    }
    tracing::error!(%origin, %detail, evidence = %path.display(), "EQUIVOCATION: the origin forked its log");
    Error::FailedPrecondition(format!(
        "EQUIVOCATION by {origin}: {detail} (evidence in {})",
        path.display()
    ))
}

/// One round of following: fetch, verify, store. Returns the entries added.
pub async fn sync_once(mirror: &Ledger, origin: &str, client: &LogClient) -> Result<u64> {
    let note = client.checkpoint_note().await?;
    let offered = Checkpoint::open(&note, mirror.verifier())
        .map_err(|e| Error::DataLoss(format!("{origin}'s checkpoint is not signed by the pinned key: {e}")))?;
    let held = mirror.published().checkpoint;
    if offered.size < held.size || (offered.size == held.size && offered.root != held.root) {
        let detail = format!(
            "offered a tree of size {} that contradicts the verified one of size {}",
            offered.size, held.size
        );
        return Err(equivocation(mirror, origin, &note, detail));
    }
    if offered.size == held.size {
        return Ok(0);
    }
    if held.size > 0 {
        let proof = client.consistency_proof(held.size, offered.size).await?;
        if !verify_consistency(held.size, offered.size, &proof, &held.root, &offered.root) {
            let detail = format!("no valid consistency proof from size {} to {}", held.size, offered.size);
            return Err(equivocation(mirror, origin, &note, detail));
        }
    }
    let mut entries = Vec::new();
    while held.size + (entries.len() as u64) < offered.size {
        let page = client.entries(held.size + entries.len() as u64, offered.size).await?;
        if page.is_empty() {
            return Err(Error::DataLoss(format!("{origin} returned no entries")));
        }
        entries.extend(page);
    }
    entries.truncate((offered.size - held.size) as usize);
    let added = entries.len() as u64;
    match mirror.ingest(entries, note.clone()) {
        Err(Error::FailedPrecondition(detail)) => Err(equivocation(mirror, origin, &note, detail)),
        other => other.map(|_| added),
    }
}

/// Follows the origin until the mirror shuts down or the origin equivocates;
/// an unreachable origin is retried with back-off.
pub fn spawn_follower(mirror: Ledger, spec: MirrorSpec) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut wait = FOLLOW_INTERVAL;
        loop {
            tokio::time::sleep(wait).await;
            let round = async {
                let client = LogClient::connect(&spec.endpoint).await?;
                sync_once(&mirror, &spec.origin, &client).await
            };
            match round.await {
                Ok(added) => {
                    wait = FOLLOW_INTERVAL;
                    if added > 0 {
                        tracing::info!(origin = %spec.origin, added, "mirror followed its origin");
                    }
                }
                Err(Error::FailedPrecondition(_)) => return,
                Err(e) => {
                    wait = (wait * 2).min(FOLLOW_BACKOFF_MAX);
                    tracing::warn!(origin = %spec.origin, "cannot follow the origin ({e}); retrying in {wait:?}");
                }
            }
        }
    })
}
