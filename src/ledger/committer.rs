//! The single writer. Takes every queued append (up to a bounded batch), assigns
//! indices, signs entries, extends the tree, signs one checkpoint, commits it all
//! in one durable write, publishes, then answers every caller. Batches form
//! naturally: appends that arrive while a commit is being synced wait for the
//! next one, so the batch size grows with load and the wait is at most one commit.
//!
//! Two ways a commit can fail. Stored data failing its own check is corruption:
//! the ledger halts for good (`DATA_LOSS`) until an operator repairs it. An I/O
//! error (a full disk) only *pauses* appends: the signed batch is kept as it is
//! and written again, identical, when the next append arrives (at most every
//! `limits::IO_RETRY_INTERVAL`); meanwhile appends are refused with the OS
//! error (`RESOURCE_EXHAUSTED` or `UNAVAILABLE`). Nothing is sequenced past a
//! kept batch, so its indices and checkpoint are never signed twice.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Instant;

use prost::Message;
use tokio::sync::mpsc;

use chrono::NaiveDate;

use super::private::{self, NodeKeys, People};
use super::{checkpoint_path, replay, AppendRequest, Proven, Published, Receipt, Shared};
use crate::domain::commitment::Bytes32;
use crate::domain::fact::Fact;
use crate::domain::rules;
use crate::error::{Error, Result};
use crate::limits;
use crate::log::entry::sign_event;
use crate::log::keys::{sign_note_by, LogKeys};
use crate::log::merkle::{leaf_hash, BatchNodes, Frontier};
use crate::log::note::{Checkpoint, NoteSigner};
use crate::pb;
use crate::projection::Registry;
use crate::store::{files, CommitBatch, StoreError};
use crate::vault::{Vault, VaultBatch};

/// What only the writer holds: the key, the tree's right edge and its own
/// working copy of the registry (ahead of the read view during a batch).
pub(super) struct Writer {
    /// The key in force: signs every new entry and checkpoint.
    pub signer: NoteSigner,
    /// The key before the newest rotation: signs checkpoints too during the
    /// transition period (see `rotate`).
    pub retired: Option<NoteSigner>,
    /// The log's keys, including rotations in the batch being built.
    pub chain: LogKeys,
    pub frontier: Frontier,
    pub registry: Registry,
    /// The node's private store (DESIGN.md §8) and what the writer keeps of it.
    pub vault: Vault,
    pub keys: NodeKeys,
    pub people: People,
    /// A signed batch an I/O error kept from becoming durable; `frontier` and
    /// `registry` already include it, the read view does not.
    pub unpublished: Option<Unpublished>,
}

/// A signed batch waiting to be made durable and published.
pub(super) struct Unpublished {
    writes: CommitBatch,
    /// The batch's new private records, made durable before the log (an
    /// acknowledged entry always has its opening).
    private: VaultBatch,
    /// True once the vault holds `private` durably.
    private_stored: bool,
    /// The batch's erasures, made durable after the log holds the public
    /// notice (a crash between is redone at the next open: see
    /// `private::redo_erasures`), so keys are never destroyed for an
    /// expungement the log does not record.
    erasures: VaultBatch,
    erased: bool,
    /// True when the batch expunged something: the snapshot, which holds the
    /// registry in clear, is rewritten at once.
    expunges: bool,
    published: Published,
    /// True once the store holds the batch durably (only the file is missing).
    stored: bool,
    /// Failed attempts so far; a retry of the store part reopens sled first,
    /// since sled refuses every write after an I/O error until reopened.
    attempts: u32,
    tried_at: Instant,
    /// What callers are told while the batch waits.
    error: Error,
    /// When the batch was taken (for the commit latency).
    started: Instant,
    /// What the batch records that metrics count.
    tally: Tally,
}

/// The facts of a batch that metrics count once it is durable.
#[derive(Default)]
struct Tally {
    /// Outcomes of transfer evaluations ("approved", ...).
    evaluations: Vec<&'static str>,
    disclosures: u64,
}

impl Tally {
    fn add(&mut self, fact: &Fact) {
        match fact {
            Fact::TransferEvaluated(evaluation) => self.evaluations.push(evaluation.outcome.as_str()),
            Fact::DisclosureRecorded { .. } => self.disclosures += 1,
            _ => {}
        }
    }
}

pub(super) fn spawn(
    shared: Weak<Shared>,
    writer: Writer,
    requests: mpsc::Receiver<AppendRequest>,
) -> Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("peerreg-committer".into())
        .spawn(move || run(shared, writer, requests))
        .map_err(|e| Error::Internal(format!("cannot start the log writer thread: {e}")))
}

/// Runs until the queue closes: at `Ledger::shutdown`, or when the last handle
/// drops `Shared` (which owns the queue's sender; hence the weak reference here).
fn run(shared: Weak<Shared>, mut writer: Writer, mut requests: mpsc::Receiver<AppendRequest>) {
    let mut snapshot_at = writer.registry.size;
    while let Some(first) = requests.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < limits::COMMIT_BATCH_MAX {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let Some(shared) = shared.upgrade() else { return };
        {
            let _no_backup_copying = shared.commit_gate.lock().unwrap_or_else(|p| p.into_inner());
            commit(&shared, &mut writer, batch);
        }
        if writer.unpublished.is_none() && writer.registry.size >= snapshot_at + limits::SNAPSHOT_EVERY_EVENTS {
            snapshot_at = writer.registry.size;
            snapshot_in_background(shared, writer.registry.clone(), writer.keys.snapshot);
        }
    }
    let durable = writer.unpublished.is_none() && writer.registry.size > snapshot_at;
    if let Some(shared) = shared.upgrade() {
        PublishedCopy::default().refresh(&shared, true);
        if durable {
            save_snapshot(&shared, &writer.registry, writer.keys.snapshot);
        }
    }
}

/// Keeps the copy of the published checkpoint outside the store
/// (`ledger::checkpoint_path`) off the commit path: a thread rewrites it when
/// it is `PUBLISHED_COPY_INTERVAL` old and the log grew; the committer
/// writes it once more as it stops.
pub(super) fn spawn_published_copy(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    shared.spawn_background("peerreg-published-copy", move || {
        let mut copy = PublishedCopy::default();
        loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let Some(shared) = weak.upgrade().filter(|s| !s.stopping.load(Ordering::Relaxed)) else {
                return;
            };
            copy.refresh(&shared, false);
        }
    });
}

#[derive(Default)]
struct PublishedCopy {
    size: u64,
    at: Option<Instant>,
}

impl PublishedCopy {
    fn refresh(&mut self, shared: &Shared, now: bool) {
        let due = self.at.is_none_or(|at| at.elapsed() >= super::PUBLISHED_COPY_INTERVAL);
        let published = shared.published.borrow().clone();
        if published.checkpoint.size <= self.size || published.note.is_empty() || !(due || now) {
            return;
        }
        let path = checkpoint_path(&shared.data_dir);
        match files::write_atomic(&path, &published.note, files::Mode::Readable) {
            Ok(()) => self.size = published.checkpoint.size,
            // Only a copy: the store's checkpoint is the commit point.
            Err(e) => tracing::warn!("cannot update the published checkpoint's copy: {e}"),
        }
        self.at = Some(Instant::now());
    }
}

fn snapshot_in_background(shared: Arc<Shared>, registry: Registry, key: Bytes32) {
    let weak = Arc::downgrade(&shared);
    shared.spawn_background("peerreg-snapshot", move || {
        if let Some(shared) = weak.upgrade() {
            save_snapshot(&shared, &registry, key);
        }
    });
}

/// Writes a snapshot unless a newer one was written meanwhile: a background
/// snapshot taken before an expungement must never replace the one written
/// after it (it would bring the expunged records back to disk).
fn save_snapshot(shared: &Shared, registry: &Registry, key: Bytes32) {
    let mut newest = shared.snapshot_size.lock().unwrap_or_else(|p| p.into_inner());
    if registry.size < *newest {
        return;
    }
    replay::write_snapshot(&shared.store, &shared.data_dir, registry, Some(key));
    *newest = registry.size;
}

/// What became of one request in a batch.
enum Outcome {
    Appended(u64),
    Duplicate(u64),
    Refused(Error),
}

/// The writes of one batch being built, and the event ids it already holds
/// (keyed hashes, with their command's fingerprint).
struct Pending {
    writes: CommitBatch,
    private: VaultBatch,
    erasures: VaultBatch,
    event_ids: HashMap<String, (u64, Bytes32)>,
    expunges: bool,
    started: Instant,
    tally: Tally,
}

fn commit(shared: &Shared, writer: &mut Writer, batch: Vec<AppendRequest>) {
    if let Err(refusal) = ready(shared, writer) {
        for request in batch {
            let _ = request.reply.send(Err(refusal.clone()));
        }
        return;
    }
    let before = writer.frontier.clone();
    let mut batch = batch;
    let today = shared.clock.today();
    let mut pending = Pending {
        writes: CommitBatch::default(),
        private: VaultBatch::default(),
        erasures: VaultBatch::default(),
        event_ids: HashMap::new(),
        expunges: false,
        started: Instant::now(),
        tally: Tally::default(),
    };
    let outcomes: Vec<Outcome> = batch
        .iter_mut()
        .map(|request| sequence(shared, writer, today, &mut pending, request))
        .collect();
    let proofs = Proofs::of(&before, &pending.writes);
    let published = if pending.writes.entries.is_empty() {
        Ok(shared.published.borrow().clone())
    } else {
        publish(shared, writer, pending)
    };
    match &published {
        Ok(published) => {
            make_visible(shared, writer, published);
            writer.people.trim();
        }
        // Paused on an I/O error: the writer stays ahead with the kept batch.
        Err(_) if writer.unpublished.is_some() => {}
        Err(_) => {
            writer.frontier = before;
            writer.registry = shared.registry.read().unwrap_or_else(|p| p.into_inner()).clone();
            // Record numbers and people of the lost batch were never stored:
            // found again from the vault and the tag index.
            writer.people = People::default();
        }
    }
    for (request, outcome) in batch.into_iter().zip(outcomes) {
        let answer = match (&published, outcome) {
            (_, Outcome::Refused(error)) => Err(error),
            (Err(error), _) => Err(error.clone()),
            (Ok(published), Outcome::Appended(index)) => Ok(Receipt {
                index,
                published: published.clone(),
                duplicate: false,
                proven: proofs.proven(index, published.checkpoint.size),
            }),
            (Ok(published), Outcome::Duplicate(index)) => Ok(Receipt {
                index,
                published: published.clone(),
                duplicate: true,
                proven: None,
            }),
        };
        let _ = request.reply.send(answer);
    }
}

/// What the writer keeps of a batch to answer each append with its entry
/// and inclusion proof from memory (issue 18: receipts are never read back).
struct Proofs {
    nodes: BatchNodes,
    first: u64,
    entries: Vec<Vec<u8>>,
}

impl Proofs {
    fn of(before: &Frontier, writes: &CommitBatch) -> Proofs {
        Proofs {
            nodes: BatchNodes::new(before, &writes.hashes),
            first: writes.entries.first().map_or(0, |(index, _)| *index),
            entries: writes.entries.iter().map(|(_, entry)| entry.clone()).collect(),
        }
    }

    /// Entry `index` of the batch and its proof in the tree of `size`.
    fn proven(&self, index: u64, size: u64) -> Option<Arc<Proven>> {
        let entry = self
            .entries
            .get(usize::try_from(index.checked_sub(self.first)?).ok()?)?;
        let inclusion_proof = self.nodes.inclusion_proof(index, size).ok()?;
        Some(Arc::new(Proven {
            entry: entry.clone(),
            inclusion_proof,
        }))
    }
}

fn sequence(
    shared: &Shared,
    writer: &mut Writer,
    today: NaiveDate,
    pending: &mut Pending,
    request: &mut AppendRequest,
) -> Outcome {
    let event_id = writer.keys.event_id(&request.event_id);
    let fingerprint = writer.keys.fingerprint(&request.body);
    let earlier = find_event_id(shared, writer, pending, &event_id)
        .and_then(|found| earlier_use(found, &fingerprint, &request.event_id));
    match earlier {
        Err(error) => return Outcome::Refused(error),
        Ok(Some(index)) => return Outcome::Duplicate(index),
        Ok(None) => {}
    }
    match seal_and_sign(shared, writer, today, pending, request, &event_id) {
        Ok((index, entry, fact)) => {
            if let Err(error) = rotate_if_asked(writer, pending, request, index, &entry, &fact) {
                return Outcome::Refused(error);
            }
            pending.writes.hashes.extend(writer.frontier.push(leaf_hash(&entry)));
            writer.registry.apply(index, &fact);
            pending.tally.add(&fact);
            pending.expunges |= matches!(fact, Fact::Expunged { .. });
            pending.writes.entries.push((index, entry));
            pending.writes.index.event_ids.push((event_id.clone(), index));
            pending
                .private
                .fingerprints
                .push((event_id_bytes(&event_id), fingerprint));
            pending.event_ids.insert(event_id, (index, fingerprint));
            Outcome::Appended(index)
        }
        Err(error) => Outcome::Refused(error),
    }
}

/// After the operator's rotation entry (signed by the key in force) is
/// sequenced: learns it into the writer's chain as any reader would, and
/// makes its new key the one that signs from the next entry on.
fn rotate_if_asked(
    writer: &mut Writer,
    pending: &mut Pending,
    request: &mut AppendRequest,
    index: u64,
    entry: &[u8],
    fact: &Fact,
) -> Result<()> {
    let Some(new) = request.rotate_to.take() else {
        return Ok(());
    };
    if !matches!(fact, Fact::SigningKeyRotated { .. }) {
        return Err(Error::Internal(
            "a key rotation request must carry a rotation entry".into(),
        ));
    }
    match writer.chain.learn(index, entry) {
        Ok(true) => {}
        Ok(false) => return Err(Error::Internal("the rotation entry was not learned".into())),
        Err(e) => return Err(Error::FailedPrecondition(format!("the key rotation is refused: {e}"))),
    }
    writer.retired = Some(std::mem::replace(&mut writer.signer, *new));
    pending.writes.index.key_rotations.push(index);
    Ok(())
}

/// The keys that sign a checkpoint of `size`: the key in force, and the
/// previous one while the transition period after the newest rotation lasts.
fn checkpoint_signers<'a>(shared: &Shared, writer: &'a Writer, size: u64) -> Vec<&'a NoteSigner> {
    let transition = shared.key_transition_entries.load(Ordering::Relaxed);
    let in_transition = writer
        .chain
        .last_rotation()
        .is_some_and(|index| size <= index.saturating_add(1).saturating_add(transition));
    let mut signers = vec![&writer.signer];
    signers.extend(writer.retired.as_ref().filter(|_| in_transition));
    signers
}

/// The keyed hash of an event id as the vault keys it (its 32 bytes).
fn event_id_bytes(event_id: &str) -> Bytes32 {
    let mut bytes = [0u8; 32];
    if hex::decode_to_slice(event_id, &mut bytes).is_err() {
        unreachable!("event ids in the log are always 64 hex digits made by NodeKeys::event_id");
    }
    bytes
}

/// Checks the command against the registry, seals it and signs its entry.
/// Nothing is added to the batch unless all of it succeeds.
fn seal_and_sign(
    shared: &Shared,
    writer: &mut Writer,
    today: NaiveDate,
    pending: &mut Pending,
    request: &AppendRequest,
    event_id: &str,
) -> Result<(u64, Vec<u8>, Fact)> {
    let fact = Fact::from_body(&request.body)?;
    match (&fact, &request.rotate_to) {
        (Fact::SigningKeyRotated { new_verifier_key }, Some(new)) => {
            if *new_verifier_key != new.verifier().to_key_string() {
                return Err(Error::Internal("a rotation entry must name the key it installs".into()));
            }
        }
        _ => rules::check(&writer.registry, &shared.profile, &fact, today)?,
    }
    let context = private::Context {
        vault: &writer.vault,
        store: &shared.store,
        registry: &writer.registry,
    };
    let prepared = private::prepare(&context, &mut writer.people, &request.body, fact)?;
    let index = writer.frontier.size();
    let event = pb::Event {
        state: shared.state.clone(),
        index,
        event_id: event_id.to_string(),
        recorded_at: Some(prost_types::Timestamp::from(shared.clock.now())),
        body: Some(prepared.sealed.public),
    };
    let entry = sign_event(&event, &writer.signer).encode_to_vec();
    if entry.len() > limits::ENTRY_BYTES_MAX {
        return Err(Error::ResourceExhausted(format!(
            "the event is {} bytes encoded; entries are limited to {} bytes",
            entry.len(),
            limits::ENTRY_BYTES_MAX
        )));
    }
    if let Some((person, ..)) = &prepared.owner {
        if pending.erasures.erase_people.contains(person) {
            return Err(Error::Unavailable(
                "this person's record is being expunged in the same commit; send the command again".into(),
            ));
        }
    }
    for erased in &prepared.erasures.erase_people {
        writer.people.forget(erased);
    }
    private::merge(&mut pending.erasures, prepared.erasures);
    let mut private = VaultBatch::default();
    if let Some((person, k_subject, next_seq, created)) = prepared.owner {
        writer.people.advance(person, k_subject, next_seq);
        private.new_people.extend(created.map(|secrets| (person, secrets)));
        if let Some(opened) = prepared.sealed.private {
            pending.writes.index.tags.push((opened.tag, index));
            private.records.push((person, opened.commitment(), opened));
        }
    }
    private::merge(&mut pending.private, private);
    Ok((index, entry, prepared.fact))
}

/// The index an event id (its keyed hash) already has, in this batch or the
/// log, with its command's fingerprint (`None` when the vault lost it).
fn find_event_id(
    shared: &Shared,
    writer: &Writer,
    pending: &Pending,
    event_id: &str,
) -> Result<Option<(u64, Option<Bytes32>)>> {
    if let Some((index, fingerprint)) = pending.event_ids.get(event_id) {
        return Ok(Some((*index, Some(*fingerprint))));
    }
    logged_event_id(shared, &writer.vault, event_id)
}

/// The index an event id (its keyed hash) has in the log, with its command's
/// fingerprint (`None` when the vault lost it).
pub(super) fn logged_event_id(
    shared: &Shared,
    vault: &Vault,
    event_id: &str,
) -> Result<Option<(u64, Option<Bytes32>)>> {
    let Some(index) = shared.store.event_index(event_id).map_err(|e| shared.damaged(e))? else {
        return Ok(None);
    };
    let fingerprint = vault.fingerprint(&event_id_bytes(event_id))?;
    Ok(Some((index, fingerprint)))
}

/// What an earlier use of an event id (`found`: its index and command
/// fingerprint) means for a command with `fingerprint`: none (`Ok(None)`),
/// a retry of that entry (`Ok(Some(index))`), or the id reused for another
/// command (`ALREADY_EXISTS`). The one rule for appends and dry runs.
pub(super) fn earlier_use(
    found: Option<(u64, Option<Bytes32>)>,
    fingerprint: &Bytes32,
    client_event_id: &str,
) -> Result<Option<u64>> {
    match found {
        None => Ok(None),
        Some((index, original)) if original.as_ref() == Some(fingerprint) => Ok(Some(index)),
        Some((index, _)) => Err(Error::AlreadyExists(format!(
            "event_id {} was already used for a different event (entry {index}); use a new event_id",
            limits::quote(client_event_id)
        ))),
    }
}

/// Whether a new batch may be sequenced: not after a halt, and not while a
/// kept batch waits; that batch is retried first (at most every
/// `limits::IO_RETRY_INTERVAL`), and once it is durable appends resume.
fn ready(shared: &Shared, writer: &mut Writer) -> Result<()> {
    not_halted(shared)?;
    let Some(kept) = writer.unpublished.take() else {
        return Ok(());
    };
    if kept.tried_at.elapsed() < limits::IO_RETRY_INTERVAL {
        let error = kept.error.clone();
        writer.unpublished = Some(kept);
        return Err(error);
    }
    make_durable(shared, writer, kept)?;
    tracing::info!(data_dir = %shared.data_dir.display(), "the disk takes writes again; appends resumed");
    Ok(())
}

/// Refuses work once the ledger has halted (stored data failed its check).
pub(super) fn not_halted(shared: &Shared) -> Result<()> {
    if let Some(reason) = shared.halt_reason() {
        return Err(Error::DataLoss(format!(
            "this node has stopped signing ({reason}); an operator must repair it"
        )));
    }
    match shared.held.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
        Some(reason) => Err(Error::Unavailable(format!(
            "this node signs nothing yet: {reason}; retry shortly"
        ))),
        None => Ok(()),
    }
}

/// Replaces the read view with the writer's registry, then wakes followers:
/// whoever sees the new checkpoint must also see the registry that includes it.
fn make_visible(shared: &Shared, writer: &Writer, published: &Published) {
    *shared.registry.write().unwrap_or_else(|p| p.into_inner()) = writer.registry.clone();
    let mut keys = shared.keys.write().unwrap_or_else(|p| p.into_inner());
    if keys.rotations().len() != writer.chain.rotations().len() {
        *keys = writer.chain.clone();
        // Requests to other states are signed by the key in force too.
        *super::lock(&shared.request_signer) = Some(writer.signer.request_signer());
    }
    drop(keys);
    shared.published.send_if_modified(|current| {
        let newer = current.checkpoint.size < published.checkpoint.size;
        if newer {
            *current = published.clone();
        }
        newer
    });
}

/// Signs the checkpoint for the extended tree, commits durably, publishes.
fn publish(shared: &Shared, writer: &mut Writer, pending: Pending) -> Result<Published> {
    let Pending {
        mut writes,
        private,
        erasures,
        expunges,
        started,
        tally,
        ..
    } = pending;
    let checkpoint = Checkpoint {
        origin: writer.signer.verifier().name().to_string(),
        size: writer.frontier.size(),
        root: writer.frontier.root(),
    };
    let note = sign_note_by(&checkpoint.body(), &checkpoint_signers(shared, writer, checkpoint.size));
    assert_eq!(writer.chain.open_checkpoint(note.as_bytes()).as_ref(), Ok(&checkpoint));
    writes.checkpoint_note = note.into_bytes();
    let published = Published {
        note: Arc::from(writes.checkpoint_note.as_slice()),
        checkpoint,
    };
    let kept = Unpublished {
        writes,
        private,
        private_stored: false,
        erasures,
        erased: false,
        expunges,
        published: published.clone(),
        stored: false,
        attempts: 0,
        tried_at: Instant::now(),
        error: Error::Internal(String::new()),
        started,
        tally,
    };
    make_durable(shared, writer, kept)?;
    Ok(published)
}

/// Writes a signed batch to the store and the checkpoint file. On an I/O error
/// the batch is kept in `writer.unpublished` for a retry; on anything else the
/// ledger halts, since the store may then hold something it cannot vouch for.
fn make_durable(shared: &Shared, writer: &mut Writer, mut kept: Unpublished) -> Result<()> {
    match write_batch(shared, &writer.vault, &mut kept) {
        Ok(()) => {
            shared.commits.fetch_add(1, Ordering::Relaxed);
            count_commit(shared, &kept);
            if kept.attempts > 0 {
                make_visible(shared, writer, &kept.published);
            }
            if kept.expunges {
                // The snapshot holds the registry as it was: replace it now,
                // so no file keeps what was expunged (DESIGN.md §8).
                save_snapshot(shared, &writer.registry, writer.keys.snapshot);
            }
            Ok(())
        }
        Err(error @ StoreError::Io { .. }) => {
            tracing::error!(data_dir = %shared.data_dir.display(), attempts = kept.attempts + 1, "{error}; appends are paused until the disk takes writes again");
            kept.attempts += 1;
            kept.tried_at = Instant::now();
            kept.error = paused(error);
            let refusal = kept.error.clone();
            writer.unpublished = Some(kept);
            Err(refusal)
        }
        Err(error) => Err(shared.halt(format!(
            "committing a batch failed, the store may be inconsistent: {error}"
        ))),
    }
}

/// Records a durable batch in the node's metrics.
fn count_commit(shared: &Shared, kept: &Unpublished) {
    let metrics = &shared.metrics;
    metrics.committed(
        kept.writes.entries.len() as u64,
        kept.started.elapsed(),
        kept.published.checkpoint.size,
    );
    for outcome in &kept.tally.evaluations {
        metrics.evaluated(outcome);
    }
    for _ in 0..kept.tally.disclosures {
        metrics.disclosed();
    }
}

fn write_batch(shared: &Shared, vault: &Vault, kept: &mut Unpublished) -> Result<(), StoreError> {
    if !kept.private_stored {
        if kept.attempts > 0 {
            vault.reopen()?;
        }
        let started = Instant::now();
        vault.commit(&kept.private)?;
        shared.metrics.flushed("private", started.elapsed());
        kept.private_stored = true;
    }
    if !kept.stored {
        if kept.attempts > 0 {
            shared.store.reopen()?;
        }
        let started = Instant::now();
        shared.store.commit(&kept.writes)?;
        shared.metrics.flushed("log", started.elapsed());
        kept.stored = true;
    }
    if !kept.erased {
        if !private::is_empty(&kept.erasures) {
            vault.commit(&kept.erasures)?;
        }
        kept.erased = true;
    }
    Ok(())
}

/// What an append is told while appends are paused by an I/O error.
fn paused(error: StoreError) -> Error {
    const OUTCOME: &str = ". Appends are paused until it can write again; this append is not \
        acknowledged but is kept and written first when appends resume: send it again with \
        the same event_id to get its receipt";
    match Error::from(error) {
        Error::ResourceExhausted(message) => Error::ResourceExhausted(format!("{message}{OUTCOME}")),
        Error::Unavailable(message) => Error::Unavailable(format!("{message}{OUTCOME}")),
        other => other,
    }
}
