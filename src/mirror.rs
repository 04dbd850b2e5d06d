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

use serde::Serialize;

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
    let state_file = dir.join("state");
    if !store_path(&dir).exists() {
        seed(&dir, spec).await?;
    }
    let state = files::read_optional(&state_file)?
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .ok_or_else(|| Error::DataLoss(format!("{} is missing", state_file.display())))?;
    Ledger::open_follower(dir, state, spec.verifier.clone())
}

async fn seed(dir: &Path, spec: &MirrorSpec) -> Result<()> {
    let client = LogClient::connect(&spec.endpoint).await?;
    let state = parse_state(&client.identity().await?.state)?;
    let note = client.checkpoint_note().await?;
    let checkpoint = Checkpoint::open(&note, &spec.verifier).map_err(|e| {
        Error::DataLoss(format!(
            "{}'s checkpoint is not signed by the pinned key: {e}",
            spec.origin
        ))
    })?;
    files::create_dir_durable(dir)?;
    build_store(&store_path(dir), &client, &spec.verifier, &state, &checkpoint, &note).await?;
    files::write_atomic(&checkpoint_path(dir), &note, false)?;
    files::write_atomic(&dir.join("state"), state.as_bytes(), false)?;
    tracing::info!(origin = %spec.origin, entries = checkpoint.size, "mirror seeded");
    Ok(())
}

#[derive(Serialize)]
struct Evidence<'a> {
    origin: &'a str,
    detail: &'a str,
    held_checkpoint: String,
    offered_checkpoint: String,
}

fn equivocation(mirror: &Ledger, origin: &str, offered: &[u8], detail: String) -> Error {
    let evidence = Evidence {
        origin,
        detail: &detail,
        held_checkpoint: String::from_utf8_lossy(&mirror.published().note).into_owned(),
        offered_checkpoint: String::from_utf8_lossy(offered).into_owned(),
    };
    let path = mirror.data_dir().join("equivocation.json");
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
