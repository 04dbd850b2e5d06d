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

use super::{checkpoint_path, replay, AppendRequest, Published, Receipt, Shared};
use crate::domain::fact::Fact;
use crate::domain::rules;
use crate::error::{Error, Result};
use crate::limits;
use crate::log::entry::{decode_entry, sign_event};
use crate::log::merkle::{leaf_hash, Frontier};
use crate::log::note::{Checkpoint, NoteSigner};
use crate::pb;
use crate::projection::Registry;
use crate::store::{files, CommitBatch, StoreError};

/// What only the writer holds: the key, the tree's right edge and its own
/// working copy of the registry (ahead of the read view during a batch).
pub(super) struct Writer {
    pub signer: NoteSigner,
    pub frontier: Frontier,
    pub registry: Registry,
    /// A signed batch an I/O error kept from becoming durable; `frontier` and
    /// `registry` already include it, the read view does not.
    pub unpublished: Option<Unpublished>,
}

/// A signed batch waiting to be made durable and published.
pub(super) struct Unpublished {
    writes: CommitBatch,
    published: Published,
    /// True once the store holds the batch durably (only the file is missing).
    stored: bool,
    /// Failed attempts so far; a retry of the store part reopens sled first,
    /// since sled refuses every write after an I/O error until reopened.
    attempts: u32,
    tried_at: Instant,
    /// What callers are told while the batch waits.
    error: Error,
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
        commit(&shared, &mut writer, batch);
        if writer.unpublished.is_none() && writer.registry.size >= snapshot_at + limits::SNAPSHOT_EVERY_EVENTS {
            snapshot_at = writer.registry.size;
            snapshot_in_background(shared, writer.registry.clone());
        }
    }
    let durable = writer.unpublished.is_none() && writer.registry.size > snapshot_at;
    if let Some(shared) = shared.upgrade().filter(|_| durable) {
        replay::write_snapshot(&shared.store, &shared.data_dir, &writer.registry);
    }
}

fn snapshot_in_background(shared: Arc<Shared>, registry: Registry) {
    let weak = Arc::downgrade(&shared);
    shared.spawn_background("peerreg-snapshot", move || {
        if let Some(shared) = weak.upgrade() {
            replay::write_snapshot(&shared.store, &shared.data_dir, &registry);
        }
    });
}

/// What became of one request in a batch.
enum Outcome {
    Appended(u64),
    Duplicate(u64),
    Refused(Error),
}

/// The writes of one batch being built, and the event ids it already holds.
struct Pending {
    writes: CommitBatch,
    event_ids: HashMap<String, (u64, Vec<u8>)>,
}

fn commit(shared: &Shared, writer: &mut Writer, batch: Vec<AppendRequest>) {
    if let Err(refusal) = ready(shared, writer) {
        for request in batch {
            let _ = request.reply.send(Err(refusal.clone()));
        }
        return;
    }
    let before = writer.frontier.clone();
    let today = shared.clock.today();
    let mut pending = Pending {
        writes: CommitBatch::default(),
        event_ids: HashMap::new(),
    };
    let outcomes: Vec<Outcome> = batch
        .iter()
        .map(|request| sequence(shared, writer, today, &mut pending, request))
        .collect();
    let published = if pending.writes.entries.is_empty() {
        Ok(shared.published.borrow().clone())
    } else {
        publish(shared, writer, pending.writes)
    };
    match &published {
        Ok(published) => make_visible(shared, writer, published),
        // Paused on an I/O error: the writer stays ahead with the kept batch.
        Err(_) if writer.unpublished.is_some() => {}
        Err(_) => {
            writer.frontier = before;
            writer.registry = shared.registry.read().unwrap_or_else(|p| p.into_inner()).clone();
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
            }),
            (Ok(published), Outcome::Duplicate(index)) => Ok(Receipt {
                index,
                published: published.clone(),
                duplicate: true,
            }),
        };
        let _ = request.reply.send(answer);
    }
}

/// Encoding of a body alone, to compare a retried append with the original.
fn body_bytes(body: &pb::event::Body) -> Vec<u8> {
    pb::Event {
        body: Some(body.clone()),
        ..Default::default()
    }
    .encode_to_vec()
}

fn sequence(
    shared: &Shared,
    writer: &mut Writer,
    today: NaiveDate,
    pending: &mut Pending,
    request: &AppendRequest,
) -> Outcome {
    let body = body_bytes(&request.body);
    match find_event_id(shared, pending, &request.event_id) {
        Err(error) => return Outcome::Refused(error),
        Ok(Some((index, original))) if original == body => return Outcome::Duplicate(index),
        Ok(Some((index, _))) => {
            return Outcome::Refused(Error::AlreadyExists(format!(
                "event_id {:?} was already used for a different event (entry {index}); use a new event_id",
                request.event_id
            )))
        }
        Ok(None) => {}
    }
    let fact = match Fact::from_body(&request.body) {
        Ok(fact) => fact,
        Err(error) => return Outcome::Refused(error),
    };
    if let Err(error) = rules::check(&writer.registry, &shared.profile, &fact, today) {
        return Outcome::Refused(error);
    }
    let index = writer.frontier.size();
    let event = pb::Event {
        state: shared.state.clone(),
        index,
        event_id: request.event_id.clone(),
        recorded_at: Some(prost_types::Timestamp::from(shared.clock.now())),
        body: Some(request.body.clone()),
    };
    let entry = sign_event(&event, &writer.signer).encode_to_vec();
    if entry.len() > limits::ENTRY_BYTES_MAX {
        return Outcome::Refused(Error::ResourceExhausted(format!(
            "the event is {} bytes encoded; entries are limited to {} bytes",
            entry.len(),
            limits::ENTRY_BYTES_MAX
        )));
    }
    pending.writes.hashes.extend(writer.frontier.push(leaf_hash(&entry)));
    writer.registry.apply(index, &fact);
    pending.writes.entries.push((index, entry));
    pending.writes.event_ids.push((request.event_id.clone(), index));
    pending.event_ids.insert(request.event_id.clone(), (index, body));
    Outcome::Appended(index)
}

/// The index and body bytes an `event_id` already has, in this batch or the log.
fn find_event_id(shared: &Shared, pending: &Pending, event_id: &str) -> Result<Option<(u64, Vec<u8>)>> {
    if let Some(found) = pending.event_ids.get(event_id) {
        return Ok(Some(found.clone()));
    }
    let Some(index) = shared.store.event_index(event_id).map_err(|e| shared.damaged(e))? else {
        return Ok(None);
    };
    let entries = shared.verified_entries(index, index + 1)?;
    let (_, event) = decode_entry(index, &entries[0])
        .map_err(|e| shared.halt(format!("event id {event_id:?} points at an unreadable entry: {e}")))?;
    let body = event.body.map(|b| body_bytes(&b)).unwrap_or_default();
    Ok(Some((index, body)))
}

/// Whether a new batch may be sequenced: not after a halt, and not while a
/// kept batch waits; that batch is retried first (at most every
/// `limits::IO_RETRY_INTERVAL`), and once it is durable appends resume.
fn ready(shared: &Shared, writer: &mut Writer) -> Result<()> {
    if let Some(reason) = shared.halt_reason() {
        return Err(Error::DataLoss(format!(
            "this node has stopped signing ({reason}); an operator must repair it"
        )));
    }
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

/// Replaces the read view with the writer's registry, then wakes followers:
/// whoever sees the new checkpoint must also see the registry that includes it.
fn make_visible(shared: &Shared, writer: &Writer, published: &Published) {
    *shared.registry.write().unwrap_or_else(|p| p.into_inner()) = writer.registry.clone();
    shared.published.send_if_modified(|current| {
        let newer = current.checkpoint.size < published.checkpoint.size;
        if newer {
            *current = published.clone();
        }
        newer
    });
}

/// Signs the checkpoint for the extended tree, commits durably, publishes.
fn publish(shared: &Shared, writer: &mut Writer, mut writes: CommitBatch) -> Result<Published> {
    let checkpoint = Checkpoint {
        origin: writer.signer.verifier().name().to_string(),
        size: writer.frontier.size(),
        root: writer.frontier.root(),
    };
    let note = checkpoint.sign(&writer.signer);
    assert_eq!(
        Checkpoint::open(note.as_bytes(), &shared.verifier).as_ref(),
        Ok(&checkpoint)
    );
    writes.checkpoint_note = note.into_bytes();
    let published = Published {
        note: Arc::from(writes.checkpoint_note.as_slice()),
        checkpoint,
    };
    let kept = Unpublished {
        writes,
        published: published.clone(),
        stored: false,
        attempts: 0,
        tried_at: Instant::now(),
        error: Error::Internal(String::new()),
    };
    make_durable(shared, writer, kept)?;
    Ok(published)
}

/// Writes a signed batch to the store and the checkpoint file. On an I/O error
/// the batch is kept in `writer.unpublished` for a retry; on anything else the
/// ledger halts, since the store may then hold something it cannot vouch for.
fn make_durable(shared: &Shared, writer: &mut Writer, mut kept: Unpublished) -> Result<()> {
    match write_batch(shared, &mut kept) {
        Ok(()) => {
            shared.commits.fetch_add(1, Ordering::Relaxed);
            if kept.attempts > 0 {
                make_visible(shared, writer, &kept.published);
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

fn write_batch(shared: &Shared, kept: &mut Unpublished) -> Result<(), StoreError> {
    if !kept.stored {
        if kept.attempts > 0 {
            shared.store.reopen()?;
        }
        shared.store.commit(&kept.writes)?;
        kept.stored = true;
    }
    files::write_atomic(
        &checkpoint_path(&shared.data_dir),
        &kept.writes.checkpoint_note,
        files::Mode::Readable,
    )
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
