//! Rebuilding the registry: at open from the snapshot if it belongs to this
//! log, then by replaying the entries after it; from scratch otherwise. Also a
//! full replay of a stopped node's log that re-verifies every entry (for an
//! audit, and the replay benchmark).
//!
//! A replay reads the log on every core: reader threads each take every n-th
//! chunk of entries, read it in one store scan, decode it ([`wire`]) and turn
//! it into facts (re-verifying it if asked, [`verify`]), and the calling thread
//! applies the chunks in log order to the registry. Every body is read by the
//! one parser of bodies ([`logged_fact`]), as the append and a mirror's ingest
//! read it, so the registry is the one their incremental application gave, even
//! for an origin that signed a body this node refuses (it changes nothing,
//! everywhere).
//!
//! A verifying replay also checks that the chunks' subtree roots hash to the
//! signed checkpoint's root.

mod snapshot_io;
mod verify;
pub mod wire;

pub(super) use snapshot_io::write_snapshot;
pub(crate) use snapshot_io::SnapshotKey;
pub(crate) use verify::Verification;

use std::borrow::Cow;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use prost::Message;

use self::snapshot_io::load_snapshot;
use self::verify::{check_leaves, Signed};
use self::wire::{entry_fields, event_parts, EventParts, Fields};
use super::store_path;
use crate::domain::fact::Fact;
use crate::domain::sealed::Openings;
use crate::error::{Error, Result};
use crate::log::entry::EntryError;
use crate::log::keys::LogKeys;
use crate::log::merkle::{self, Hash, TreeSize};
use crate::log::note::{Checkpoint, NoteVerifier};
use crate::pb;
use crate::projection::{logged_fact, Registry};
use crate::store::{EntryBatch, Store};

/// Entries one reader thread handles at a time (a power of two: a chunk is a
/// complete subtree of the log's tree, which verification relies on).
pub(crate) const CHUNK: u64 = 1024;

/// Chunks each reader may have ready ahead of the applier.
const READ_AHEAD: usize = 8;

/// Most reader threads a replay starts.
const READERS_MAX: usize = 8;

/// What one replay did.
#[derive(Clone, Debug)]
pub struct ReplayStats {
    /// Entries replayed (or decoded, or verified).
    pub events: u64,
    /// Time taken, not counting opening the store.
    pub elapsed: Duration,
    /// Threads reading (or verifying) in parallel.
    pub threads: usize,
}

impl ReplayStats {
    pub fn per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What opens the private records a replay meets: the node's private store
/// for its own log, nothing for a mirror.
pub(crate) type Opener<'a> = &'a (dyn Openings + Sync);

/// The registry at open (snapshot, then the rest replayed), and the entries
/// named by each expungement notice in the replayed part.
pub(super) fn rebuild(
    store: &Store,
    data_dir: &Path,
    size: u64,
    openings: Opener<'_>,
    key: SnapshotKey,
) -> Result<(Registry, Vec<Vec<u64>>)> {
    let started = Instant::now();
    let registry = load_snapshot(store, data_dir, size, key).unwrap_or_default();
    let from = registry.size;
    let (registry, notices) = replay_noting(store, registry, size, openings)?;
    tracing::info!(
        snapshot_covers = from,
        replayed = size - from,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "registry rebuilt"
    );
    Ok((registry, notices))
}

/// Applies entries `[registry.size, size)` in order, without re-verifying them.
#[cfg(test)]
pub(super) fn replay(store: &Store, registry: Registry, size: u64, openings: Opener<'_>) -> Result<Registry> {
    replay_noting(store, registry, size, openings).map(|(registry, _)| registry)
}

/// [`replay`], also returning the entries named by each expungement notice met.
fn replay_noting(
    store: &Store,
    registry: Registry,
    size: u64,
    openings: Opener<'_>,
) -> Result<(Registry, Vec<Vec<u64>>)> {
    let mut registry = registry;
    let mut refused = Refused::default();
    let from = registry.size;
    run(store, from, size, &Work::Replay, openings, |chunk| {
        refused.apply(&mut registry, chunk);
        Ok(())
    })?;
    let notices = std::mem::take(&mut refused.notices);
    refused.report();
    Ok((registry, notices))
}

/// Whether a full replay also re-verifies every entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checks {
    /// Trust the store (it was verified at open and by the sweep): fastest.
    None,
    /// Re-verify every signature, place and leaf hash, and the signed root.
    Signatures,
}

/// Rebuilds the registry of the stopped node in `data_dir` from its whole log
/// (ignoring any snapshot). With `Checks::Signatures`, also re-verifies every entry: its
/// signature by `verifier`'s key, its place (index and `state`), its stored
/// leaf hash, and that all the leaves hash to the store's signed checkpoint.
pub fn replay_log(
    data_dir: &Path,
    verifier: &NoteVerifier,
    state: &str,
    checks: Checks,
    openings: Opener<'_>,
) -> Result<(Registry, ReplayStats)> {
    let verify = checks == Checks::Signatures;
    let store = Store::open(&store_path(data_dir))?;
    let (checkpoint, keys) = stored_checkpoint(&store, verifier)?;
    let started = Instant::now();
    let work = match verify {
        true => Work::Verify(Box::new(Verification::with_keys(&keys, state)?)),
        false => Work::Replay,
    };
    let mut registry = Registry::default();
    let mut refused = Refused::default();
    let mut subtrees = Vec::new();
    let threads = run(&store, 0, checkpoint.size, &work, openings, |chunk| {
        refused.apply(&mut registry, chunk);
        subtrees.extend(chunk.root);
        Ok(())
    })?;
    refused.report();
    if verify && merkle::root_of_chunks(&subtrees, TreeSize(checkpoint.size), CHUNK) != checkpoint.root {
        return Err(Error::DataLoss(format!(
            "the stored entries do not hash to the signed root of the log at size {}",
            checkpoint.size
        )));
    }
    let stats = ReplayStats {
        events: checkpoint.size,
        elapsed: started.elapsed(),
        threads,
    };
    Ok((registry, stats))
}

/// The store's checkpoint, checked with the log's keys (`verifier` and the
/// keys the store's rotation entries introduce), its entries all present;
/// and those keys.
fn stored_checkpoint(store: &Store, verifier: &NoteVerifier) -> Result<(Checkpoint, LogKeys)> {
    let note = store
        .checkpoint_note()?
        .ok_or_else(|| Error::FailedPrecondition(format!("the store in {} holds no log", store.dir().display())))?;
    let keys = super::open::stored_keys(store, verifier, &note)?;
    let checkpoint = keys
        .open_checkpoint(&note)
        .map_err(|e| Error::DataLoss(format!("the store's checkpoint does not verify: {e}")))?;
    let last = store.last_entry_index()?;
    if last != checkpoint.size.checked_sub(1) {
        return Err(Error::DataLoss(format!(
            "the checkpoint covers {} entries but {} are stored",
            checkpoint.size,
            last.map_or(0, |i| i + 1)
        )));
    }
    Ok((checkpoint, keys))
}

/// What the reader threads do with each entry.
pub(crate) enum Work {
    /// Decode only (a baseline).
    Decode,
    /// Decode and turn into facts.
    Replay,
    /// Verify, decode and turn into facts.
    Verify(Box<Verification>),
}

/// What an entry records, as [`logged_fact`] reads it.
type Logged = Result<Option<Fact>>;

/// Entries whose signed body the parser refuses: each changes nothing, as it
/// changed nothing when it was ingested; reported once per replay.
#[derive(Default)]
struct Refused {
    count: u64,
    first: Option<(u64, Error)>,
    /// The entries each expungement notice applied names.
    notices: Vec<Vec<u64>>,
}

impl Refused {
    /// Applies one chunk's facts to `registry` in order, noting refusals.
    fn apply(&mut self, registry: &mut Registry, chunk: &mut Chunk) {
        for (index, fact) in chunk.facts.drain(..) {
            if let Ok(Some(Fact::Expunged { indices, .. })) = &fact {
                self.notices.push(indices.clone());
            }
            if let Err(why) = registry.apply_logged(index, fact) {
                self.count += 1;
                self.first.get_or_insert((index, why));
            }
        }
    }

    fn report(self) {
        if let Some((index, why)) = self.first {
            tracing::warn!(
                refused = self.count,
                first = index,
                "entries hold signed bodies this node's parser refuses; they change nothing (entry {index}: {why})"
            );
        }
    }
}

/// What the applier receives for one chunk.
pub(crate) struct Chunk {
    /// Entries in the chunk.
    pub(crate) count: u64,
    /// What each entry records (see [`logged_fact`]), unless decoding only.
    facts: Vec<(u64, Logged)>,
    /// When verifying: the root of the chunk's subtree of the log's tree.
    root: Option<Hash>,
}

pub(crate) fn readers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, READERS_MAX)
}

/// Runs `work` over entries `[from, to)` and hands the chunks to `apply` in log
/// order; returns the number of reader threads used.
pub(crate) fn run(
    store: &Store,
    from: u64,
    to: u64,
    work: &Work,
    openings: Opener<'_>,
    mut apply: impl FnMut(&mut Chunk) -> Result<()>,
) -> Result<usize> {
    let chunks = to.saturating_sub(from).div_ceil(CHUNK);
    let span = |k: u64| (from + k * CHUNK, to.min(from + (k + 1) * CHUNK));
    if chunks <= 1 {
        // Too little to be worth a thread.
        let mut buffers = Buffers::default();
        for k in 0..chunks {
            let (start, end) = span(k);
            apply(&mut read_chunk(store, work, openings, start, end, &mut buffers)?)?;
        }
        return Ok(1);
    }
    let threads = readers().min(chunks as usize);
    std::thread::scope(|scope| {
        let mut receivers = Vec::with_capacity(threads);
        let mut recyclers = Vec::with_capacity(threads);
        let mut handles = Vec::with_capacity(threads);
        for reader in 0..threads {
            let (sender, receiver) = mpsc::sync_channel::<Result<Chunk>>(READ_AHEAD);
            // Emptied fact vectors go back to their reader, to be filled again.
            let (recycler, recycled) = mpsc::channel::<Vec<(u64, Logged)>>();
            receivers.push(receiver);
            recyclers.push(recycler);
            let spawned = std::thread::Builder::new()
                .name(format!("peerreg-replay-{reader}"))
                .spawn_scoped(scope, move || {
                    let mut buffers = Buffers::default();
                    for k in (reader as u64..chunks).step_by(threads) {
                        let (start, end) = span(k);
                        if let Ok(facts) = recycled.try_recv() {
                            buffers.facts = facts;
                        }
                        let chunk = read_chunk(store, work, openings, start, end, &mut buffers);
                        let failed = chunk.is_err();
                        if sender.send(chunk).is_err() || failed {
                            return;
                        }
                    }
                })
                .map_err(|e| Error::Internal(format!("cannot start a replay thread: {e}")))?;
            handles.push(spawned);
        }
        let mut applied = Ok(());
        for k in 0..chunks {
            let chunk = match receivers[k as usize % threads].recv() {
                Ok(chunk) => chunk,
                Err(_) => Err(Error::Internal("a replay thread stopped early".into())),
            };
            applied = chunk.and_then(|mut chunk| {
                apply(&mut chunk)?;
                let _ = recyclers[k as usize % threads].send(chunk.facts);
                Ok(())
            });
            if applied.is_err() {
                break;
            }
        }
        // Unblock readers still waiting to hand over a chunk, then wait for them.
        drop(receivers);
        for handle in handles {
            if handle.join().is_err() {
                applied = applied.and(Err(Error::Internal("a replay thread panicked".into())));
            }
        }
        applied.map(|()| threads)
    })
}

pub(crate) fn data_loss(error: EntryError) -> Error {
    Error::DataLoss(error.to_string())
}

/// Reads entries `[start, end)` and does `work` on them.
fn read_chunk(
    store: &Store,
    work: &Work,
    openings: Opener<'_>,
    start: u64,
    end: u64,
    buffers: &mut Buffers,
) -> Result<Chunk> {
    let Buffers { batch, signed, facts } = buffers;
    store.read_entries(start, end, batch)?;
    let count = batch.len() as u64;
    facts.clear();
    signed.clear();
    for (index, bytes) in batch.iter() {
        let owned;
        let fields = match entry_fields(bytes) {
            Some(fields) => fields,
            None => {
                owned = pb::LogEntry::decode(bytes).map_err(|_| data_loss(EntryError::Undecodable { index }))?;
                Fields {
                    event: &owned.event,
                    signature: &owned.signature,
                    key_id: &owned.key_id,
                }
            }
        };
        let event = match event_parts(fields.event) {
            Some(parts) => parts,
            None => {
                let event =
                    pb::Event::decode(fields.event).map_err(|_| data_loss(EntryError::Undecodable { index }))?;
                EventParts {
                    state: Cow::Owned(event.state.into_bytes()),
                    index: event.index,
                    body: event.body,
                }
            }
        };
        if let Work::Verify(verification) = work {
            verification.check_entry(index, &fields, &event)?;
            signed.push(index, &fields)?;
        }
        if !matches!(work, Work::Decode) {
            facts.push((index, logged_fact(event.body, openings)));
        }
    }
    let root = match work {
        Work::Verify(verification) => {
            signed.verify(verification, start)?;
            Some(check_leaves(store, batch)?)
        }
        _ => None,
    };
    let facts = std::mem::take(facts);
    Ok(Chunk { count, facts, root })
}

/// A reader thread's buffers, reused from chunk to chunk.
#[derive(Default)]
struct Buffers {
    batch: EntryBatch,
    signed: Signed,
    facts: Vec<(u64, Logged)>,
}

#[cfg(test)]
mod tests;
