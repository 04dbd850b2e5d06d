//! The single writer. Takes every queued append (up to a bounded batch), assigns
//! indices, signs entries, extends the tree, signs one checkpoint, commits it all
//! in one durable write, publishes, then answers every caller. Batches form
//! naturally: appends that arrive while a commit is being synced wait for the
//! next one, so the batch size grows with load and the wait is at most one commit.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::SystemTime;

use prost::Message;
use tokio::sync::mpsc;

use super::{checkpoint_path, AppendRequest, Published, Receipt, Shared};
use crate::error::{Error, Result};
use crate::limits;
use crate::log::entry::{decode_entry, sign_event};
use crate::log::merkle::{leaf_hash, Frontier};
use crate::log::note::{Checkpoint, NoteSigner};
use crate::pb;
use crate::store::{files, CommitBatch};

pub(super) fn spawn(
    shared: Weak<Shared>,
    signer: NoteSigner,
    frontier: Frontier,
    requests: mpsc::Receiver<AppendRequest>,
) -> Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("peerreg-committer".into())
        .spawn(move || run(shared, &signer, frontier, requests))
        .map_err(|e| Error::Internal(format!("cannot start the log writer thread: {e}")))
}

/// Runs until the queue closes: at `Ledger::shutdown`, or when the last handle
/// drops `Shared` (which owns the queue's sender; hence the weak reference here).
fn run(shared: Weak<Shared>, signer: &NoteSigner, mut frontier: Frontier, mut requests: mpsc::Receiver<AppendRequest>) {
    while let Some(first) = requests.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < limits::COMMIT_BATCH_MAX {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let Some(shared) = shared.upgrade() else { return };
        commit(&shared, signer, &mut frontier, batch);
    }
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

fn commit(shared: &Shared, signer: &NoteSigner, frontier: &mut Frontier, batch: Vec<AppendRequest>) {
    if let Some(reason) = shared.halt_reason() {
        let refusal = Error::DataLoss(format!(
            "this node has stopped signing ({reason}); an operator must repair it"
        ));
        for request in batch {
            let _ = request.reply.send(Err(refusal.clone()));
        }
        return;
    }
    let before = frontier.clone();
    let mut pending = Pending {
        writes: CommitBatch::default(),
        event_ids: HashMap::new(),
    };
    let outcomes: Vec<Outcome> = batch
        .iter()
        .map(|request| sequence(shared, signer, frontier, &mut pending, request))
        .collect();
    let published = if pending.writes.entries.is_empty() {
        Ok(shared.published.borrow().clone())
    } else {
        publish(shared, signer, frontier, pending.writes)
    };
    if published.is_err() {
        *frontier = before;
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

fn recorded_at() -> prost_types::Timestamp {
    prost_types::Timestamp::from(SystemTime::now())
}

fn sequence(
    shared: &Shared,
    signer: &NoteSigner,
    frontier: &mut Frontier,
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
    let index = frontier.size();
    let event = pb::Event {
        state: shared.state.clone(),
        index,
        event_id: request.event_id.clone(),
        recorded_at: Some(recorded_at()),
        body: Some(request.body.clone()),
    };
    let entry = sign_event(&event, signer).encode_to_vec();
    if entry.len() > limits::ENTRY_BYTES_MAX {
        return Outcome::Refused(Error::ResourceExhausted(format!(
            "the event is {} bytes encoded; entries are limited to {} bytes",
            entry.len(),
            limits::ENTRY_BYTES_MAX
        )));
    }
    pending.writes.hashes.extend(frontier.push(leaf_hash(&entry)));
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
    shared.published.send_replace(published.clone());
    shared.commits.fetch_add(1, Ordering::Relaxed);
    Ok(published)
}
