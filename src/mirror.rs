//! Mirror mode: any node can keep a verified read-only copy of another state's
//! log and serve it through `TransparencyLog` (select it with the
//! `peerreg-origin` request metadata). A mirror verifies every checkpoint
//! against the pinned key and a consistency proof from the last one it holds,
//! every entry's signature, and the rebuilt root; it never signs anything for
//! the origin.
//!
//! **An alarm is a proof** (DESIGN.md §2). Only evidence that anyone can
//! re-check offline with the pinned key alone is recorded as an equivocation
//! (`equivocation.json`, see [`EquivocationProof`]; `peerreg trust
//! verify-evidence` re-checks it). A stale checkpoint, a missing or bad proof,
//! a timeout or a bad entry is *suspect*: a man in the middle can cause any of
//! them, so they are logged, counted, shown and retried, never a block.
//!
//! Following is done in bounded rounds ([`follow_round`]): at most
//! [`FollowLimits::chunk_entries`] entries in memory at a time, each chunk
//! proven to be a prefix of the origin's signed checkpoint, and a deadline per
//! round after which the progress made is kept and the round ends.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::domain::states::parse_state;
use crate::error::{Error, Result};
use crate::ledger::{store_path, Ledger, StagedTree};
use crate::limits;
use crate::log::keys::LogKeys;
use crate::log::merkle::{verify_consistency, Hash, TreeSize};
use crate::log::note::{Checkpoint, NoteVerifier};
use crate::metrics::{FollowerRole, FollowerState, FollowerView, Metrics};
use crate::source::LogSource;
use crate::store::files;

/// How often a mirror asks its origin for a new checkpoint, and the longest
/// back-off while the origin is unreachable or suspect.
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
        let usage = || Error::InvalidArgument("--mirror: expected ORIGIN=ENDPOINT:VERIFIER_KEY".to_string());
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

/// The directory holding every mirror of a node.
pub fn mirrors_root(data_dir: &Path) -> PathBuf {
    data_dir.join("mirrors")
}

/// Where a mirror of `origin` lives: a readable slug of the origin plus 16 hex
/// digits of its SHA-256, so no two origins share a directory (`a/b` and
/// `a_b` differ) and no origin names anything but a plain directory inside
/// `mirrors/`, whatever characters it holds.
pub fn mirror_dir(data_dir: &Path, origin: &str) -> PathBuf {
    const SLUG_CHARS_MAX: usize = 48;
    let slug: String = origin
        .chars()
        .take(SLUG_CHARS_MAX)
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    let digest = Sha256::digest(origin.as_bytes());
    mirrors_root(data_dir).join(format!("{slug}-{}", hex::encode(&digest[..8])))
}

/// Opens the mirror in `dir` if it was seeded (without touching the network).
/// The `state` file is written last when seeding, so without it there is no mirror.
pub fn open_seeded(dir: &Path, spec: &MirrorSpec) -> Result<Option<Ledger>> {
    let Some(state) = files::read_optional(&dir.join("state"))? else {
        return Ok(None);
    };
    let state = parse_state(String::from_utf8_lossy(&state).trim())?;
    Ledger::open_follower(dir.to_path_buf(), state, spec.verifier.clone()).map(Some)
}

/// Opens the mirror of `spec` in `data_dir`, creating an empty one on first
/// use (it catches up in [`follow_round`]s).
pub async fn open(data_dir: &Path, spec: &MirrorSpec, source: &dyn LogSource) -> Result<Ledger> {
    let dir = mirror_dir(data_dir, &spec.origin);
    if let Some(ledger) = open_seeded(&dir, spec)? {
        return Ok(ledger);
    }
    seed(data_dir, &dir, source).await?;
    open_seeded(&dir, spec)?.ok_or_else(|| Error::DataLoss(format!("{} is missing", dir.join("state").display())))
}

/// Creates an empty mirror in `dir` (inside `data_dir`'s `mirrors/`) for the
/// state the source says it is (the caller checks that claim).
pub async fn seed(data_dir: &Path, dir: &Path, source: &dyn LogSource) -> Result<()> {
    let state = parse_state(&source.identity().await?.state)?;
    if dir.exists() {
        // An interrupted seeding (no `state` file yet): start it again.
        files::remove_dir_within(&mirrors_root(data_dir), dir)?;
    }
    files::create_dir_durable(dir)?;
    files::create_dir_durable(&store_path(dir))?;
    files::write_atomic(&dir.join("state"), state.as_bytes(), files::Mode::Readable)?;
    Ok(())
}

/// Evidence that the origin signed two statements that cannot both be true,
/// checkable offline with its verifier key alone ([`verify_equivocation`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EquivocationProof {
    /// Two checkpoints of the same size with different roots.
    SameSize { first: String, second: String },
    /// `smaller`'s root is not the root of `larger`'s tree at `smaller`'s size:
    /// `prefix_root` is, as `consistency_proof` (RFC 9162) shows against
    /// `larger`'s signed root.
    NotAPrefix {
        smaller: String,
        larger: String,
        prefix_root: String,
        consistency_proof: Vec<String>,
    },
    /// Two different entries at one `index` of `state`'s log, each signed by
    /// the key (standard base64 of the encoded `LogEntry`s).
    TwoEntries {
        state: String,
        index: u64,
        first: String,
        second: String,
    },
}

/// The contents of `equivocation.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquivocationRecord {
    pub origin: String,
    /// The pinned verifier key the proof is checked with.
    pub verifier_key: String,
    pub detail: String,
    #[serde(flatten)]
    pub proof: EquivocationProof,
    /// Unix seconds when it was recorded.
    #[serde(default)]
    pub recorded_unix: i64,
    /// The origin's key rotation entries (index, standard base64 of the
    /// encoded entry) when the proof is signed by a later key than the
    /// pinned one: each is checked against the key before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_rotations: Vec<(u64, String)>,
}

impl EquivocationRecord {
    /// A record of `proof` against the log whose keys are `keys`, now.
    pub fn new(keys: &LogKeys, detail: String, proof: EquivocationProof) -> EquivocationRecord {
        let pinned = keys.pinned();
        EquivocationRecord {
            origin: pinned.name().to_string(),
            verifier_key: pinned.to_key_string(),
            detail,
            proof,
            recorded_unix: unix_now(),
            key_rotations: keys
                .rotation_entries()
                .into_iter()
                .map(|(index, entry)| (index, BASE64.encode(entry)))
                .collect(),
        }
    }

    /// Writes the record durably to `path`; a failure is logged (the alarm
    /// is raised either way: losing the file must not silence it).
    pub fn write(&self, path: &Path) {
        match serde_json::to_vec_pretty(self) {
            Ok(json) => {
                if let Err(e) = files::write_atomic(path, &json, files::Mode::Readable) {
                    tracing::error!("cannot record equivocation evidence: {e}");
                }
            }
            Err(e) => tracing::error!("cannot encode equivocation evidence: {e}"),
        }
    }

    /// The origin's keys as the record names them, rebuilt from `pinned`.
    pub fn keys(&self, pinned: &NoteVerifier) -> Result<LogKeys> {
        let mut entries = Vec::with_capacity(self.key_rotations.len());
        for (index, text) in self.key_rotations.iter().take(crate::log::keys::ROTATIONS_MAX + 1) {
            let bytes = BASE64
                .decode(text)
                .map_err(|_| Error::InvalidArgument(format!("key rotation entry {index} is not base64")))?;
            entries.push((*index, bytes));
        }
        LogKeys::from_rotations(pinned.clone(), &entries)
            .map_err(|e| Error::InvalidArgument(format!("the record's key rotations do not verify: {e}")))
    }
}

impl EquivocationRecord {
    /// The checkpoint this node held and the one that contradicts it.
    pub fn checkpoints(&self) -> (&str, &str) {
        match &self.proof {
            EquivocationProof::SameSize { first, second } => (first, second),
            EquivocationProof::NotAPrefix { smaller, larger, .. } => (larger, smaller),
            EquivocationProof::TwoEntries { first, second, .. } => (first, second),
        }
    }
}

/// Checks an equivocation proof with the pinned key alone; says what it proves.
pub fn verify_equivocation(proof: &EquivocationProof, verifier: &NoteVerifier) -> Result<String> {
    verify_equivocation_with(proof, &LogKeys::new(verifier.clone()))
}

/// Checks an equivocation proof with the origin's keys (the pinned key and
/// the keys its rotation entries introduced); says what it proves.
pub fn verify_equivocation_with(proof: &EquivocationProof, keys: &LogKeys) -> Result<String> {
    let open = |what: &str, note: &str| {
        keys.open_checkpoint(note.as_bytes())
            .map_err(|e| Error::InvalidArgument(format!("the {what} checkpoint is not signed by the key: {e}")))
    };
    match proof {
        EquivocationProof::SameSize { first, second } => {
            let (a, b) = (open("first", first)?, open("second", second)?);
            if a.size != b.size || a.root == b.root {
                return Err(Error::InvalidArgument(
                    "the two checkpoints do not have one size and two roots: no equivocation is shown".into(),
                ));
            }
            Ok(format!("two signed trees of size {} with different roots", a.size))
        }
        EquivocationProof::NotAPrefix {
            smaller,
            larger,
            prefix_root,
            consistency_proof,
        } => {
            let (small, large) = (open("smaller", smaller)?, open("larger", larger)?);
            let prefix = decode_hash(prefix_root)?;
            let path = consistency_proof
                .iter()
                .map(|h| decode_hash(h))
                .collect::<Result<Vec<_>>>()?;
            let proven = small.size > 0
                && small.size < large.size
                && verify_consistency(small.size, large.size, &path, &prefix, &large.root);
            if !proven || prefix == small.root {
                return Err(Error::InvalidArgument(
                    "the consistency proof does not show the smaller tree's root to differ from the larger tree's prefix"
                        .into(),
                ));
            }
            Ok(format!(
                "the signed tree of size {} is not a prefix of the signed tree of size {}",
                small.size, large.size
            ))
        }
        EquivocationProof::TwoEntries {
            state,
            index,
            first,
            second,
        } => {
            let entry = |what: &str, text: &str| {
                let bytes = BASE64
                    .decode(text)
                    .map_err(|_| Error::InvalidArgument(format!("the {what} entry is not base64")))?;
                keys.check_entry(*index, &bytes, state)
                    .map_err(|e| Error::InvalidArgument(format!("the {what} entry is not signed by the key: {e}")))?;
                Ok::<_, Error>(bytes)
            };
            if entry("first", first)? == entry("second", second)? {
                return Err(Error::InvalidArgument(
                    "the two entries are the same: no equivocation is shown".into(),
                ));
            }
            Ok(format!("two different entries at index {index}"))
        }
    }
}

/// The first of `entries` (index, encoded `LogEntry`) that is signed by the
/// origin and differs from the entry the mirror holds at that index: two
/// signed entries at one index prove an equivocation. An unsigned one proves
/// nothing and is passed over.
pub fn conflicting_entry(mirror: &Ledger, entries: &[(u64, &[u8])]) -> Result<Option<EquivocationProof>> {
    let held = mirror.published().checkpoint.size;
    for &(index, offered) in entries.iter().filter(|(index, _)| *index < held) {
        let ours = mirror.entries(index, index + 1)?;
        let Some(ours) = ours.first().filter(|ours| ours.as_slice() != offered) else {
            continue;
        };
        if mirror.keys().check_entry(index, offered, mirror.state()).is_err() {
            continue;
        }
        return Ok(Some(EquivocationProof::TwoEntries {
            state: mirror.state().to_string(),
            index,
            first: BASE64.encode(ours),
            second: BASE64.encode(offered),
        }));
    }
    Ok(None)
}

fn decode_hash(text: &str) -> Result<Hash> {
    BASE64
        .decode(text)
        .ok()
        .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| Error::InvalidArgument("a hash in the proof is not 32 bytes of base64".into()))
}

/// Where a mirror keeps the evidence of an unacknowledged equivocation.
pub fn equivocation_path(mirror_dir: &Path) -> PathBuf {
    mirror_dir.join("equivocation.json")
}

/// Reads an equivocation record file.
pub fn read_equivocation(path: &Path) -> Result<Option<EquivocationRecord>> {
    let Some(bytes) = files::read_optional(path)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::DataLoss(format!("{} is not readable: {e}", path.display())))
}

/// The recorded, unacknowledged equivocation of the mirror in `mirror_dir`.
pub fn recorded_equivocation(mirror_dir: &Path) -> Result<Option<EquivocationRecord>> {
    read_equivocation(&equivocation_path(mirror_dir))
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

/// Records a proven equivocation durably and in the log output; the error to return.
pub fn equivocation(mirror: &Ledger, detail: String, proof: EquivocationProof) -> Error {
    let verifier = mirror.verifier();
    let keys = mirror.keys();
    debug_assert!(
        verify_equivocation_with(&proof, &keys).is_ok(),
        "recorded an unproven alarm"
    );
    let evidence = EquivocationRecord::new(&keys, detail.clone(), proof);
    let path = equivocation_path(mirror.data_dir());
    evidence.write(&path);
    let origin = verifier.name();
    tracing::error!(%origin, %detail, evidence = %path.display(), "EQUIVOCATION: the origin signed two incompatible logs");
    Error::FailedPrecondition(format!(
        "EQUIVOCATION by {origin}: {detail} (evidence in {})",
        path.display()
    ))
}

/// What `offered` (signed, of a size no larger than the held tree) proves
/// against the mirror's own verified tree: nothing (a stale but consistent
/// checkpoint), or an equivocation.
pub fn check_against_held(
    mirror: &Ledger,
    offered: &Checkpoint,
    offered_note: &[u8],
) -> Result<Option<EquivocationProof>> {
    let held = mirror.published();
    let size = held.checkpoint.size;
    if offered.size > size {
        return Err(Error::Internal(
            "a larger checkpoint cannot be checked against the held tree".into(),
        ));
    }
    let note_text = |note: &[u8]| String::from_utf8_lossy(note).into_owned();
    if offered.size == size {
        return Ok(
            (offered.root != held.checkpoint.root).then(|| EquivocationProof::SameSize {
                first: note_text(&held.note),
                second: note_text(offered_note),
            }),
        );
    }
    if offered.size == 0 {
        return Ok(None);
    }
    let prefix_root = mirror.root_at(offered.size)?;
    if prefix_root == offered.root {
        return Ok(None);
    }
    let proof = mirror.consistency_proof(TreeSize(offered.size), TreeSize(size))?;
    Ok(Some(EquivocationProof::NotAPrefix {
        smaller: note_text(offered_note),
        larger: note_text(&held.note),
        prefix_root: BASE64.encode(prefix_root),
        consistency_proof: proof.iter().map(|h| BASE64.encode(h)).collect(),
    }))
}

/// Bounds on one round of following.
#[derive(Clone, Copy, Debug)]
pub struct FollowLimits {
    /// Entries fetched, verified and stored per step (memory: one chunk).
    pub chunk_entries: u64,
    /// How long one round may take; progress is kept when it ends.
    pub round_deadline: Duration,
}

impl Default for FollowLimits {
    fn default() -> FollowLimits {
        FollowLimits {
            chunk_entries: limits::FOLLOW_CHUNK_ENTRIES,
            round_deadline: limits::FOLLOW_ROUND_DEADLINE,
        }
    }
}

/// What one round of following achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// The mirror holds the origin's latest checkpoint; `added` entries were published.
    Current { added: u64 },
    /// The deadline ended the round: `verified` of `target` entries are staged.
    CatchingUp { verified: u64, target: u64 },
}

/// Why a round stopped short.
#[derive(Debug)]
pub enum RoundError {
    /// Proven and recorded: no decision is based on this log until acknowledged.
    Equivocation(Error),
    /// Unproven trouble (stale, unprovable, slow, unreachable, bad data): retried.
    Suspect(Error),
}

impl From<RoundError> for Error {
    fn from(error: RoundError) -> Error {
        match error {
            RoundError::Equivocation(e) | RoundError::Suspect(e) => e,
        }
    }
}

fn suspect(detail: String) -> RoundError {
    RoundError::Suspect(Error::Unavailable(detail))
}

/// Awaits `call` until `deadline`; late is suspect.
async fn before<T>(deadline: Instant, call: impl std::future::Future<Output = Result<T>>) -> Result<T, RoundError> {
    match tokio::time::timeout_at(deadline, call).await {
        Ok(answer) => answer.map_err(RoundError::Suspect),
        Err(_) => Err(suspect("the origin did not answer before the round's deadline".into())),
    }
}

/// One bounded round of following: fetch the origin's checkpoint, verify it,
/// and catch up towards it in proven chunks until it is reached or the
/// round's deadline passes. See the module docs for what is an alarm.
pub async fn follow_round(mirror: &Ledger, source: &dyn LogSource, limits: FollowLimits) -> Result<Round, RoundError> {
    let deadline = Instant::now() + limits.round_deadline;
    let note = before(deadline, source.checkpoint_note()).await?;
    let (offered, _) = before(
        deadline,
        crate::keychain::open_checkpoint(&mirror.follower_keys(), &note, source),
    )
    .await?;
    let held = mirror.published().checkpoint;
    if offered.size <= held.size {
        return match check_against_held(mirror, &offered, &note).map_err(RoundError::Suspect)? {
            Some(proof) => Err(RoundError::Equivocation(equivocation(
                mirror,
                format!(
                    "its checkpoint of size {} contradicts the verified tree of size {}",
                    offered.size, held.size
                ),
                proof,
            ))),
            None if offered.size < held.size => Err(suspect(format!(
                "the origin offered a stale checkpoint of size {} (this node holds size {})",
                offered.size, held.size
            ))),
            None if mirror.published().note.is_empty() => {
                mirror.publish_staged(note).map_err(RoundError::Suspect)?;
                Ok(Round::Current { added: 0 })
            }
            None => Ok(Round::Current { added: 0 }),
        };
    }
    if held.size > 0 {
        let proof = before(
            deadline,
            source.consistency_proof(TreeSize(held.size), TreeSize(offered.size)),
        )
        .await?;
        if !verify_consistency(held.size, offered.size, &proof, &held.root, &offered.root) {
            return Err(suspect(format!(
                "no valid consistency proof from size {} to {}",
                held.size, offered.size
            )));
        }
    }
    catch_up(mirror, source, &offered, deadline, limits).await?;
    if mirror.staged_size() < offered.size {
        return Ok(Round::CatchingUp {
            verified: mirror.staged_size(),
            target: offered.size,
        });
    }
    mirror.publish_staged(note).map_err(|e| {
        mirror.discard_staged();
        suspect(format!("the entries do not give the signed root: {e}"))
    })?;
    Ok(Round::Current {
        added: offered.size - held.size,
    })
}

/// Stages chunks towards `target` until it is reached or `deadline` passes
/// (no chunk starts after it; each chunk's calls have a round's time of their
/// own, so a round lasts at most about twice its deadline). Each staged prefix
/// must be proven consistent with the signed target; a prefix that is not is
/// discarded.
async fn catch_up(
    mirror: &Ledger,
    source: &dyn LogSource,
    target: &Checkpoint,
    deadline: Instant,
    limits: FollowLimits,
) -> Result<(), RoundError> {
    let mut proven_prefix = false;
    while mirror.staged_size() < target.size && Instant::now() < deadline {
        let deadline = Instant::now() + limits.round_deadline;
        if !proven_prefix {
            prove_staged_prefix(mirror, source, target, deadline).await?;
            proven_prefix = true;
        }
        let start = mirror.staged_size();
        let end = target.size.min(start + limits.chunk_entries.max(1));
        let chunk = fetch(source, start, end, deadline).await?;
        let staging = mirror.clone();
        let staged = tokio::task::spawn_blocking(move || staging.stage(&chunk))
            .await
            .map_err(|e| RoundError::Suspect(Error::Internal(format!("staging stopped: {e}"))))?
            .map_err(|e| {
                mirror.discard_staged();
                RoundError::Suspect(e)
            })?;
        if staged.size < target.size && !is_prefix(source, staged, target, deadline).await? {
            mirror.discard_staged();
            return Err(suspect(format!(
                "entries {start}..{end} are not a prefix of the signed tree of size {}",
                target.size
            )));
        }
    }
    Ok(())
}

/// A staged tree left by an earlier round must be a prefix of the new target.
async fn prove_staged_prefix(
    mirror: &Ledger,
    source: &dyn LogSource,
    target: &Checkpoint,
    deadline: Instant,
) -> Result<(), RoundError> {
    let Some(staged) = mirror.staged_tree() else {
        return Ok(());
    };
    if !is_prefix(source, staged, target, deadline).await? {
        mirror.discard_staged();
    }
    Ok(())
}

/// Whether the source proves `staged` a prefix of the signed `target`.
async fn is_prefix(
    source: &dyn LogSource,
    staged: StagedTree,
    target: &Checkpoint,
    deadline: Instant,
) -> Result<bool, RoundError> {
    let proof = before(
        deadline,
        source.consistency_proof(TreeSize(staged.size), TreeSize(target.size)),
    )
    .await?;
    Ok(verify_consistency(
        staged.size,
        target.size,
        &proof,
        &staged.root,
        &target.root,
    ))
}

/// Reports a mirror's round to `metrics`; answers the largest size the
/// origin has shown so far (kept across suspect rounds).
fn report_round(metrics: &Metrics, mirror: &Ledger, round: &Result<Round, RoundError>, shown: u64) -> u64 {
    let verified = mirror.published().checkpoint.size;
    let (state, target) = match round {
        Ok(Round::Current { .. }) => (FollowerState::Following, verified),
        Ok(Round::CatchingUp { target, .. }) => (FollowerState::CatchingUp, *target),
        Err(RoundError::Suspect(_)) => (FollowerState::Suspect, shown),
        Err(RoundError::Equivocation(_)) => (FollowerState::Equivocation, shown),
    };
    let target = target.max(verified);
    let view = FollowerView {
        verified,
        target,
        state,
    };
    metrics.follower(FollowerRole::Mirror, mirror.verifier().name(), view);
    target
}

/// Entries `[start, end)`, page by page.
async fn fetch(source: &dyn LogSource, start: u64, end: u64, deadline: Instant) -> Result<Vec<Vec<u8>>, RoundError> {
    let mut entries = Vec::with_capacity((end - start) as usize);
    while start + (entries.len() as u64) < end {
        let page = before(deadline, source.entries(start + entries.len() as u64, end)).await?;
        if page.is_empty() {
            return Err(suspect(format!(
                "the origin returned no entries at {}",
                start + entries.len() as u64
            )));
        }
        entries.extend(page);
    }
    entries.truncate((end - start) as usize);
    Ok(entries)
}

/// Follows the origin until aborted; retries suspect rounds with back-off,
/// continues a catch-up at once, stops after a proven equivocation.
pub fn spawn_follower<S: LogSource + 'static>(
    mirror: Ledger,
    source: S,
    limits: FollowLimits,
) -> tokio::task::JoinHandle<()> {
    spawn_counted_follower(mirror, source, limits, None)
}

/// As [`spawn_follower`], reporting each round's outcome (verified size,
/// entries behind, state) to `metrics` when given (a node's own metrics).
pub fn spawn_counted_follower<S: LogSource + 'static>(
    mirror: Ledger,
    source: S,
    limits: FollowLimits,
    metrics: Option<Arc<Metrics>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut wait = Duration::ZERO;
        let mut shown = mirror.published().checkpoint.size;
        loop {
            tokio::time::sleep(wait).await;
            let round = follow_round(&mirror, &source, limits).await;
            if let Some(metrics) = &metrics {
                shown = report_round(metrics, &mirror, &round, shown);
            }
            match round {
                Ok(Round::Current { added }) => {
                    wait = FOLLOW_INTERVAL;
                    if added > 0 {
                        tracing::info!(origin = %mirror.verifier().name(), added, "mirror followed its origin");
                    }
                }
                Ok(Round::CatchingUp { verified, target }) => {
                    wait = Duration::ZERO;
                    tracing::info!(origin = %mirror.verifier().name(), verified, target, "mirror catching up");
                }
                Err(RoundError::Equivocation(_)) => return,
                Err(RoundError::Suspect(e)) => {
                    wait = (wait * 2).clamp(FOLLOW_INTERVAL, FOLLOW_BACKOFF_MAX);
                    tracing::warn!(origin = %mirror.verifier().name(), "suspect follow round ({e}); retrying in {wait:?}");
                }
            }
        }
    })
}
