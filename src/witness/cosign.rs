//! The witness side: this node cosigns the checkpoints of the logs on its
//! trust list (C2SP `tlog-witness` `add-checkpoint`), never two that
//! disagree.
//!
//! For each origin it keeps the last checkpoint it cosigned, as the signed
//! note itself, in `<data>/witness/<hex SHA-256(origin)>.checkpoint` (the
//! origin never becomes a path). A request is checked in the spec's order
//! (well-formed, known origin, the log's signature, the old size against the
//! size held, the consistency proof from the held checkpoint), and the new
//! checkpoint is written durably (temp file, fsync, rename, directory fsync)
//! *before* the cosignature is returned: a cosignature is never given for a
//! size the witness could forget. One request is checked and persisted at a
//! time (`lock`), so the check and the write are one step.
//!
//! A checkpoint of the size held with another root is a fork: both notes are
//! signed by the log's key, so they are a proof anyone can re-check; it is
//! recorded (`<hex>.equivocation.json`, and through [`WitnessedLogs`] as the
//! federation's alarm) and refused.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::request::AddCheckpoint;
use crate::error::{Error, Result};
use crate::log::cosignature::Cosigner;
use crate::log::keys::LogKeys;
use crate::log::merkle::verify_consistency;
use crate::log::note::{split_note, Checkpoint};
use crate::mirror::{unix_now, EquivocationProof, EquivocationRecord};
use crate::store::files;

/// What the witness needs to know of the logs it witnesses.
pub trait WitnessedLogs: Send + Sync {
    /// The keys of the log named `origin` (its pinned key, and the later
    /// keys its own signed entries introduced, as far as this node has
    /// verified them), if this node witnesses it.
    fn keys(&self, origin: &str) -> Option<LogKeys>;
    /// Told of a proven fork: two checkpoints signed by `origin`'s key, one
    /// size, two roots (the federation blocks decisions on that log).
    fn fork_proven(&self, origin: &str, record: &EquivocationRecord);
}

/// Why an `add-checkpoint` request was refused, one case per status code the
/// spec gives (mapped to HTTP in `service::web::witness`).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// 400: the body is not a request, or its old size is past its checkpoint.
    #[error("{0}")]
    Malformed(String),
    /// 404: this node does not witness that log.
    #[error("this node does not witness the log {0:?}; only logs on its trust list")]
    UnknownLog(String),
    /// 403: the checkpoint is not signed by the log's pinned key.
    #[error("the checkpoint is not signed by the pinned key of {origin}: {detail}")]
    BadSignature { origin: String, detail: String },
    /// 409 with `text/x.tlog.size`: the old size is not the size held.
    #[error("this witness last cosigned size {held} for this log, not the old size given")]
    SizeConflict { held: u64 },
    /// 409: the size held, with another root. Recorded as evidence.
    #[error(
        "this witness cosigned a different checkpoint of size {size} for {origin}; both are kept as evidence of a fork"
    )]
    Fork { origin: String, size: u64 },
    /// 422: the consistency proof does not lead from the held checkpoint to this one.
    #[error("the consistency proof does not show size {to} extends the size {from} this witness cosigned")]
    BadProof { from: u64, to: u64 },
    /// 500: the witness's own state could not be read or written.
    #[error(transparent)]
    Store(#[from] Error),
}

/// This node's witness.
pub struct Witness {
    cosigner: Cosigner,
    dir: PathBuf,
    logs: Arc<dyn WitnessedLogs>,
    lock: Mutex<()>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Where a node keeps its witness state.
pub fn witness_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("witness")
}

impl Witness {
    /// A witness keeping its state in `dir` (created if missing).
    pub fn open(dir: PathBuf, cosigner: Cosigner, logs: Arc<dyn WitnessedLogs>) -> Result<Witness> {
        files::create_dir_durable(&dir)?;
        Ok(Witness {
            cosigner,
            dir,
            logs,
            lock: Mutex::new(()),
        })
    }

    /// The verifier key string partners pin for this witness.
    pub fn verifier_key(&self) -> String {
        self.cosigner.verifier_key()
    }

    /// Answers one `add-checkpoint` request body: the cosignature line (with
    /// its newline) or the refusal.
    pub fn add_checkpoint(&self, body: &[u8]) -> std::result::Result<String, Refusal> {
        let request = AddCheckpoint::parse(body).map_err(Refusal::Malformed)?;
        let (text, _) = split_note(&request.note).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let unverified = Checkpoint::parse_body(text).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let keys = self
            .logs
            .keys(&unverified.origin)
            .ok_or_else(|| Refusal::UnknownLog(crate::limits::quote(&unverified.origin)))?;
        let checkpoint = keys.open_checkpoint(&request.note).map_err(|e| Refusal::BadSignature {
            origin: unverified.origin.clone(),
            detail: e.to_string(),
        })?;
        if request.old_size > checkpoint.size {
            return Err(Refusal::Malformed(format!(
                "the old size {} is larger than the checkpoint's size {}",
                request.old_size, checkpoint.size
            )));
        }
        let _one_at_a_time = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let held = self.held(&keys)?;
        self.check_against(&keys, held.as_ref(), &request, &checkpoint)?;
        files::write_atomic(
            &self.state_path(&checkpoint.origin),
            &request.note,
            files::Mode::Readable,
        )
        .map_err(Error::from)?;
        let time = u64::try_from(unix_now()).unwrap_or(0);
        Ok(format!("{}\n", self.cosigner.cosign(&checkpoint.body(), time)))
    }

    /// The checkpoint this witness last cosigned for `origin`, if any (the
    /// note as the log signed it).
    pub fn cosigned(&self, origin: &str) -> Result<Option<Vec<u8>>> {
        Ok(files::read_optional(&self.state_path(origin))?)
    }

    fn check_against(
        &self,
        keys: &LogKeys,
        held: Option<&(Checkpoint, Vec<u8>)>,
        request: &AddCheckpoint,
        checkpoint: &Checkpoint,
    ) -> std::result::Result<(), Refusal> {
        let held_size = held.map_or(0, |(c, _)| c.size);
        if let Some((old, old_note)) = held.filter(|(c, _)| c.size == checkpoint.size && c.root != checkpoint.root) {
            self.record_fork(keys, old_note, &request.note);
            return Err(Refusal::Fork {
                origin: old.origin.clone(),
                size: old.size,
            });
        }
        if request.old_size != held_size {
            return Err(Refusal::SizeConflict { held: held_size });
        }
        // Every tree extends the empty one, and a tree extends itself (its
        // root was compared above): neither needs a proof line.
        let proven = match held {
            Some((old, _)) if old.size > 0 && old.size < checkpoint.size => {
                verify_consistency(old.size, checkpoint.size, &request.proof, &old.root, &checkpoint.root)
            }
            _ => request.proof.is_empty(),
        };
        if !proven {
            return Err(Refusal::BadProof {
                from: held_size,
                to: checkpoint.size,
            });
        }
        Ok(())
    }

    /// The held checkpoint, re-verified: a state file that no longer verifies
    /// with the pinned key is damaged, and the witness cosigns nothing for
    /// that log until an operator looks.
    fn held(&self, keys: &LogKeys) -> Result<Option<(Checkpoint, Vec<u8>)>> {
        let path = self.state_path(keys.pinned().name());
        let Some(note) = files::read_optional(&path)? else {
            return Ok(None);
        };
        let checkpoint = keys.open_checkpoint(&note).map_err(|e| {
            Error::DataLoss(format!(
                "the witness state {} does not verify ({e}); restore it or remove it knowing the witness \
                 then trusts the next checkpoint it is shown",
                path.display()
            ))
        })?;
        Ok(Some((checkpoint, note)))
    }

    fn record_fork(&self, keys: &LogKeys, first: &[u8], second: &[u8]) {
        let origin = keys.pinned().name();
        let proof = EquivocationProof::SameSize {
            first: String::from_utf8_lossy(first).into_owned(),
            second: String::from_utf8_lossy(second).into_owned(),
        };
        let detail = "two checkpoints of one size with different roots, both shown to this witness";
        let record = EquivocationRecord::new(keys, detail.into(), proof);
        tracing::error!(%origin, "a log showed this witness two checkpoints of one size: evidence recorded");
        record.write(&self.dir.join(format!("{}.equivocation.json", origin_file(origin))));
        self.logs.fork_proven(origin, &record);
    }

    fn state_path(&self, origin: &str) -> PathBuf {
        self.dir.join(format!("{}.checkpoint", origin_file(origin)))
    }
}

/// An origin's file stem: the hex SHA-256 of its name, so no name from a
/// request ever becomes a path.
fn origin_file(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}
