//! The single writer. Takes every queued append (up to a bounded batch), assigns
//! indices, signs entries, extends the tree, signs one checkpoint, commits it all
//! in one durable write, publishes, then answers every caller. Batches form
//! naturally: appends that arrive while a commit is being synced wait for the
//! next one, so the batch size grows with load and the wait is at most one commit.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

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
use crate::store::{files, CommitBatch};

/// What only the writer holds: the key, the tree's right edge and its own
/// working copy of the registry (ahead of the read view during a batch).
pub(super) struct Writer {
    pub signer: NoteSigner,
    pub frontier: Frontier,
    pub registry: Registry,
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
        if writer.registry.size >= snapshot_at + limits::SNAPSHOT_EVERY_EVENTS {
            snapshot_at = writer.registry.size;
            snapshot_in_background(shared, writer.registry.clone());
        }
    }
    if let Some(shared) = shared.upgrade().filter(|_| writer.registry.size > snapshot_at) {
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
    if let Some(reason) = shared.halt_reason() {
        let refusal = Error::DataLoss(format!(
            "this node has stopped signing ({reason}); an operator must repair it"
        ));
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
        publish(shared, &writer.signer, &writer.frontier, pending.writes)
    };
    let mut view = shared.registry.write().unwrap_or_else(|p| p.into_inner());
    match &published {
        Ok(_) => *view = writer.registry.clone(),
        Err(_) => {
            writer.frontier = before;
            writer.registry = view.clone();
        }
    }
    drop(view);
    // Only now wake followers: whoever sees the new checkpoint must also see
    // the registry that includes it.
    if let Ok(published) = &published {
        shared.published.send_if_modified(|current| {
            let newer = current.checkpoint.size < published.checkpoint.size;
            if newer {
                *current = published.clone();
            }
            newer
        });
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

/// Signs the checkpoint for the extended tree, commits durably, publishes.
fn publish(shared: &Shared, signer: &NoteSigner, frontier: &Frontier, mut writes: CommitBatch) -> Result<Published> {
    let checkpoint = Checkpoint {
        origin: signer.verifier().name().to_string(),
        size: frontier.size(),
        root: frontier.root(),
    };
    let note = checkpoint.sign(signer);
    assert_eq!(
        Checkpoint::open(note.as_bytes(), &shared.verifier).as_ref(),
        Ok(&checkpoint)
    );
    writes.checkpoint_note = note.into_bytes();
    let halt = |what: &str, e: String| shared.halt(format!("{what} failed, the store may be inconsistent: {e}"));
    shared
        .store
        .commit(&writes)
        .map_err(|e| halt("committing a batch", e.to_string()))?;
    files::write_atomic(&checkpoint_path(&shared.data_dir), &writes.checkpoint_note, false)
        .map_err(|e| halt("publishing the checkpoint file", e.to_string()))?;
    let published = Published {
        note: Arc::from(writes.checkpoint_note),
        checkpoint,
    };
    shared.commits.fetch_add(1, Ordering::Relaxed);
    Ok(published)
}
