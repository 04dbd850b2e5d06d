//! Rebuilding the registry: at open from the snapshot if it belongs to this
//! log, then by replaying the entries after it; from scratch otherwise. Also a
//! full replay of a stopped node's log that re-verifies every entry (for an
//! audit, and the replay benchmark).
//!
//! A replay reads the log on every core: reader threads each take every n-th
//! chunk of entries, read it in one store scan, decode it and turn it into facts
//! (re-verifying it if asked), and the calling thread applies the chunks in log
//! order to the registry. Entries of a log this node verified passed
//! `Fact::from_body` before they were signed, so they are not validated again
//! (see [`logged_fact`]); the registry is the one their incremental application
//! gave.
//!
//! Verification checks each entry the way `verify_entry` does (the log's key
//! ID, the Ed25519 signature, the index and state the event names) but checks
//! the signatures in batches (`ed25519_dalek::verify_batch`), then checks each
//! entry's leaf hash against the stored one and that the leaves hash to the
//! signed checkpoint's root. Batch verification differs from `verify_strict`
//! only on signatures that only the key's holder could make (a non-canonical or
//! small-order `R`), or with negligible probability (2^-128); a failed batch is
//! re-checked one by one with `verify_strict`, which names the bad entry.

use std::borrow::Cow;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use prost::Message;

use super::{snapshot_path, store_path};
use crate::domain::fact::Fact;
use crate::error::{Error, Result};
use crate::log::entry::{EntryError, EVENT_SIGNATURE_CONTEXT};
use crate::log::merkle::{leaf_hash, node_hash, root_at, Hash};
use crate::log::note::{Checkpoint, KeyId, NoteVerifier};
use crate::pb;
use crate::projection::{logged_fact, snapshot, Registry};
use crate::store::{files, EntryBatch, Store};

/// Entries one reader thread handles at a time (a power of two: a chunk is a
/// complete subtree of the log's tree, which verification relies on).
const CHUNK: u64 = 1024;

/// Signatures checked per batch verification.
const SIGNATURE_BATCH: usize = 256;

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

pub(super) fn rebuild(store: &Store, data_dir: &Path, size: u64) -> Result<Registry> {
    let started = Instant::now();
    let registry = load_snapshot(store, data_dir, size).unwrap_or_default();
    let from = registry.size;
    let registry = replay(store, registry, size)?;
    tracing::info!(
        snapshot_covers = from,
        replayed = size - from,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "registry rebuilt"
    );
    Ok(registry)
}

/// The snapshot, if present, intact, and taken of this very log.
fn load_snapshot(store: &Store, data_dir: &Path, size: u64) -> Option<Registry> {
    let path = snapshot_path(data_dir);
    let bytes = files::read_optional(&path).ok().flatten()?;
    let ignore = |why: String| tracing::warn!(path = %path.display(), "ignoring the registry snapshot: {why}");
    let (registry, root): (Registry, Hash) = match snapshot::decode(&bytes) {
        Ok(decoded) => decoded,
        Err(why) => {
            ignore(why);
            return None;
        }
    };
    if registry.size > size {
        ignore(format!("it covers {} events but the log has {size}", registry.size));
        return None;
    }
    if root_at(registry.size, store).ok() != Some(root) {
        ignore("it was taken of a different log".into());
        return None;
    }
    Some(registry)
}

/// Applies entries `[registry.size, size)` in order, without re-verifying them.
pub(super) fn replay(store: &Store, registry: Registry, size: u64) -> Result<Registry> {
    let mut registry = registry;
    let from = registry.size;
    run(store, from, size, &Work::Replay, |chunk| {
        for (index, fact) in chunk.facts.drain(..) {
            match fact {
                Some(fact) => registry.apply_owned(index, fact),
                None => registry.skip(index),
            }
        }
        Ok(())
    })?;
    Ok(registry)
}

/// Rebuilds the registry of the stopped node in `data_dir` from its whole log
/// (ignoring any snapshot). With `verify`, also re-verifies every entry: its
/// signature by `verifier`'s key, its place (index and `state`), its stored
/// leaf hash, and that all the leaves hash to the store's signed checkpoint.
pub fn replay_log(
    data_dir: &Path,
    verifier: &NoteVerifier,
    state: &str,
    verify: bool,
) -> Result<(Registry, ReplayStats)> {
    let store = Store::open(&store_path(data_dir))?;
    let checkpoint = stored_checkpoint(&store, verifier)?;
    let started = Instant::now();
    let work = match verify {
        true => Work::Verify(Box::new(Verification::new(verifier, state)?)),
        false => Work::Replay,
    };
    let mut registry = Registry::default();
    let mut subtrees = Vec::new();
    let threads = run(&store, 0, checkpoint.size, &work, |chunk| {
        for (index, fact) in chunk.facts.drain(..) {
            match fact {
                Some(fact) => registry.apply_owned(index, fact),
                None => registry.skip(index),
            }
        }
        subtrees.extend(chunk.root);
        Ok(())
    })?;
    if verify && root_of_chunks(&subtrees, checkpoint.size) != checkpoint.root {
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

/// A baseline for [`replay_log`]: reads and decodes every entry of the stopped
/// node in `data_dir` (its `LogEntry` and `Event`) the way a replay does, on
/// the same threads, but applies nothing.
pub fn decode_log(data_dir: &Path) -> Result<ReplayStats> {
    let store = Store::open(&store_path(data_dir))?;
    let size = store.last_entry_index()?.map_or(0, |last| last + 1);
    let started = Instant::now();
    let mut decoded = 0u64;
    let threads = run(&store, 0, size, &Work::Decode, |chunk| {
        decoded += chunk.count;
        Ok(())
    })?;
    Ok(ReplayStats {
        events: decoded,
        elapsed: started.elapsed(),
        threads,
    })
}

/// A baseline for a verifying [`replay_log`]: batch-verifies the signature of
/// every entry of the stopped node in `data_dir` on every core, with nothing
/// else to do: the signed messages are read into memory first, untimed.
pub fn batch_verify_log(data_dir: &Path, verifier: &NoteVerifier) -> Result<ReplayStats> {
    let store = Store::open(&store_path(data_dir))?;
    let size = store.last_entry_index()?.map_or(0, |last| last + 1);
    let verification = Verification::new(verifier, "")?;
    let mut messages = Vec::new();
    let mut ends = Vec::new();
    let mut signatures = Vec::new();
    let mut batch = EntryBatch::default();
    let mut start = 0;
    while start < size {
        let end = size.min(start + CHUNK);
        store.read_entries(start, end, &mut batch)?;
        for (index, bytes) in batch.iter() {
            let fields = entry_fields(bytes).ok_or_else(|| data_loss(EntryError::Undecodable { index }))?;
            messages.extend_from_slice(EVENT_SIGNATURE_CONTEXT);
            messages.extend_from_slice(fields.event);
            ends.push(messages.len());
            signatures.push(
                Signature::from_slice(fields.signature).map_err(|_| data_loss(EntryError::BadSignature { index }))?,
            );
        }
        start = end;
    }
    drop(store);
    let starts = std::iter::once(0).chain(ends.iter().copied());
    let slices: Vec<&[u8]> = starts
        .zip(ends.iter().copied())
        .map(|(from, to)| &messages[from..to])
        .collect();
    let threads = readers();
    let share = slices.len().div_ceil(threads).max(1);
    let started = Instant::now();
    let failed = std::thread::scope(|scope| {
        let handles: Vec<_> = slices
            .chunks(share)
            .zip(signatures.chunks(share))
            .map(|(messages, signatures)| {
                let verification = &verification;
                scope.spawn(move || verification.verify_signatures(0, messages, signatures).is_err())
            })
            .collect();
        // Join every thread (no short cut), so none is left to panic the scope.
        let failed: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap_or(true)).collect();
        failed.contains(&true)
    });
    let elapsed = started.elapsed();
    if failed {
        return Err(Error::DataLoss("an entry's signature does not verify".into()));
    }
    Ok(ReplayStats {
        events: size,
        elapsed,
        threads,
    })
}

/// The store's checkpoint, checked with `verifier`, and its entries all present.
fn stored_checkpoint(store: &Store, verifier: &NoteVerifier) -> Result<Checkpoint> {
    let note = store
        .checkpoint_note()?
        .ok_or_else(|| Error::FailedPrecondition(format!("the store in {} holds no log", store.dir().display())))?;
    let checkpoint = Checkpoint::open(&note, verifier)
        .map_err(|e| Error::DataLoss(format!("the store's checkpoint does not verify: {e}")))?;
    let last = store.last_entry_index()?;
    if last != checkpoint.size.checked_sub(1) {
        return Err(Error::DataLoss(format!(
            "the checkpoint covers {} entries but {} are stored",
            checkpoint.size,
            last.map_or(0, |i| i + 1)
        )));
    }
    Ok(checkpoint)
}

/// What the reader threads do with each entry.
enum Work {
    /// Decode only (a baseline).
    Decode,
    /// Decode and turn into facts.
    Replay,
    /// Verify, decode and turn into facts.
    Verify(Box<Verification>),
}

/// What the applier receives for one chunk.
struct Chunk {
    /// Entries in the chunk.
    count: u64,
    /// Each entry's fact (none for an entry without a body), unless decoding only.
    facts: Vec<(u64, Option<Fact>)>,
    /// When verifying: the root of the chunk's subtree of the log's tree.
    root: Option<Hash>,
}

fn readers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, READERS_MAX)
}

/// Runs `work` over entries `[from, to)` and hands the chunks to `apply` in log
/// order; returns the number of reader threads used.
fn run(
    store: &Store,
    from: u64,
    to: u64,
    work: &Work,
    mut apply: impl FnMut(&mut Chunk) -> Result<()>,
) -> Result<usize> {
    let chunks = to.saturating_sub(from).div_ceil(CHUNK);
    let span = |k: u64| (from + k * CHUNK, to.min(from + (k + 1) * CHUNK));
    if chunks <= 1 {
        // Too little to be worth a thread.
        let mut buffers = Buffers::default();
        for k in 0..chunks {
            let (start, end) = span(k);
            apply(&mut read_chunk(store, work, start, end, &mut buffers)?)?;
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
            let (recycler, recycled) = mpsc::channel::<Vec<(u64, Option<Fact>)>>();
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
                        let chunk = read_chunk(store, work, start, end, &mut buffers);
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

fn data_loss(error: EntryError) -> Error {
    Error::DataLoss(error.to_string())
}

/// Reads entries `[start, end)` and does `work` on them.
fn read_chunk(store: &Store, work: &Work, start: u64, end: u64, buffers: &mut Buffers) -> Result<Chunk> {
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
        match (work, event.body) {
            (Work::Decode, _) => {}
            (_, None) => facts.push((index, None)),
            (_, Some(body)) => {
                let fact =
                    logged_fact(body).map_err(|e| Error::DataLoss(format!("entry {index} does not replay: {e}")))?;
                facts.push((index, Some(fact)));
            }
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
    facts: Vec<(u64, Option<Fact>)>,
}

/// Each entry's leaf hash must be the stored one; returns the chunk's subtree root.
fn check_leaves(store: &Store, batch: &EntryBatch) -> Result<Hash> {
    let end = batch.start() + batch.len() as u64;
    let stored = store.leaf_hashes(batch.start(), end)?;
    let mut leaves = Vec::with_capacity(batch.len());
    for ((index, bytes), stored) in batch.iter().zip(&stored) {
        let leaf = leaf_hash(bytes);
        if leaf != *stored {
            return Err(Error::DataLoss(format!(
                "entry {index} does not match its stored leaf hash"
            )));
        }
        leaves.push(leaf);
    }
    Ok(subtree_root(&leaves))
}

/// RFC 6962's hash of a list of leaf hashes (MTH), for a non-empty list.
fn subtree_root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => crate::log::merkle::empty_root(),
        [leaf] => *leaf,
        _ => {
            let split = leaves.len().next_power_of_two() / 2;
            node_hash(&subtree_root(&leaves[..split]), &subtree_root(&leaves[split..]))
        }
    }
}

/// The root of a tree of `size` leaves from the roots of its consecutive
/// `CHUNK`-leaf subtrees (the last one possibly smaller).
fn root_of_chunks(subtrees: &[Hash], size: u64) -> Hash {
    match subtrees {
        [] => crate::log::merkle::empty_root(),
        [root] => *root,
        _ => {
            // The split of MTH: the largest power of two below `size`, whole chunks.
            let left = size.next_power_of_two() / 2;
            let split = (left / CHUNK) as usize;
            node_hash(
                &root_of_chunks(&subtrees[..split], left),
                &root_of_chunks(&subtrees[split..], size - left),
            )
        }
    }
}

/// The fields of an encoded `LogEntry`, borrowed.
struct Fields<'a> {
    event: &'a [u8],
    signature: &'a [u8],
    key_id: &'a [u8],
}

/// Reads a `LogEntry` in place, without copying its fields out. Handles the
/// encodings prost writes (the three fields, each once or again, in any
/// order); anything else is left to prost (`None`), so whatever this accepts
/// prost decodes to the same fields.
fn entry_fields(bytes: &[u8]) -> Option<Fields<'_>> {
    let mut fields = Fields {
        event: &[],
        signature: &[],
        key_id: &[],
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        let (tag, after_tag) = varint(rest)?;
        let (length, after_length) = varint(after_tag)?;
        let length = usize::try_from(length).ok()?;
        if after_length.len() < length {
            return None;
        }
        let (value, after) = after_length.split_at(length);
        match tag {
            0x0a => fields.event = value,
            0x12 => fields.signature = value,
            0x1a => fields.key_id = value,
            _ => return None,
        }
        rest = after;
    }
    Some(fields)
}

/// What a replay needs of an `Event`: its place and its body.
struct EventParts<'a> {
    state: Cow<'a, [u8]>,
    index: u64,
    body: Option<pb::event::Body>,
}

/// Reads an `Event` without copying its state and id out (only its body is
/// decoded, by prost). Handles the encodings prost writes, each field checked
/// as prost checks it (text is UTF-8, the timestamp decodes); anything else,
/// including a second body, is left to prost (`None`).
fn event_parts(bytes: &[u8]) -> Option<EventParts<'_>> {
    use pb::event::Body;
    let mut parts = EventParts {
        state: Cow::Borrowed(&[]),
        index: 0,
        body: None,
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        let (tag, after_tag) = varint(rest)?;
        if tag == 0x10 {
            (parts.index, rest) = varint(after_tag)?;
            continue;
        }
        if tag & 7 != 2 {
            return None;
        }
        let (length, after_length) = varint(after_tag)?;
        let length = usize::try_from(length).ok()?;
        if after_length.len() < length {
            return None;
        }
        let (value, after) = after_length.split_at(length);
        rest = after;
        let body = match tag >> 3 {
            1 => {
                std::str::from_utf8(value).ok()?;
                parts.state = Cow::Borrowed(value);
                continue;
            }
            3 => {
                std::str::from_utf8(value).ok()?;
                continue;
            }
            4 => {
                prost_types::Timestamp::decode(value).ok()?;
                continue;
            }
            _ if parts.body.is_some() => return None,
            10 => Body::PeerEnrolled(Message::decode(value).ok()?),
            11 => Body::NameChanged(Message::decode(value).ok()?),
            12 => Body::TrainingCompleted(Message::decode(value).ok()?),
            13 => Body::ExperienceRecorded(Message::decode(value).ok()?),
            14 => Body::ExamRecorded(Message::decode(value).ok()?),
            15 => Body::CredentialIssued(Message::decode(value).ok()?),
            16 => Body::ContinuingEducationCompleted(Message::decode(value).ok()?),
            17 => Body::CredentialRenewed(Message::decode(value).ok()?),
            18 => Body::DisciplinaryAction(Message::decode(value).ok()?),
            19 => Body::CredentialReinstated(Message::decode(value).ok()?),
            20 => Body::SigningKeyRotated(Message::decode(value).ok()?),
            21 => Body::TransferEvaluated(Message::decode(value).ok()?),
            _ => return None,
        };
        parts.body = Some(body);
    }
    Some(parts)
}

/// What the in-place reader takes from one stored entry, owned: the entry's
/// fields, then the event's state, index and body (`None` where the reader
/// leaves the bytes to prost). Only for `tests/fuzz.rs`, which checks that
/// it agrees with prost on every input.
#[doc(hidden)]
pub type InPlace = Option<(pb::LogEntry, Option<(String, u64, Option<pb::event::Body>)>)>;

#[doc(hidden)]
pub fn read_in_place(bytes: &[u8]) -> InPlace {
    let fields = entry_fields(bytes)?;
    let event = event_parts(fields.event).map(|parts| {
        (
            String::from_utf8_lossy(&parts.state).into_owned(),
            parts.index,
            parts.body,
        )
    });
    let entry = pb::LogEntry {
        event: fields.event.to_vec(),
        signature: fields.signature.to_vec(),
        key_id: fields.key_id.to_vec(),
    };
    Some((entry, event))
}

/// A protobuf varint and the bytes after it.
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        if i == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// The key and place every entry of the log must have.
struct Verification {
    key: VerifyingKey,
    key_id: KeyId,
    state: String,
}

impl Verification {
    fn new(verifier: &NoteVerifier, state: &str) -> Result<Verification> {
        Ok(Verification {
            key: verifying_key(verifier)?,
            key_id: verifier.key_id(),
            state: state.to_string(),
        })
    }

    /// The checks of `verify_entry` but the signature's.
    fn check_entry(&self, index: u64, fields: &Fields<'_>, event: &EventParts<'_>) -> Result<()> {
        if fields.key_id != self.key_id {
            return Err(data_loss(EntryError::ForeignKey {
                index,
                found: hex::encode(fields.key_id),
                expected: hex::encode(self.key_id),
            }));
        }
        if event.index != index || *event.state != *self.state.as_bytes() {
            return Err(data_loss(EntryError::WrongPlace {
                index,
                claimed: event.index,
                state: String::from_utf8_lossy(&event.state).into_owned(),
            }));
        }
        Ok(())
    }

    /// Checks `signatures[i]` over `messages[i]` (of entry `first + i`), in
    /// batches; a failed batch is re-checked one by one to name the bad entry.
    fn verify_signatures(&self, first: u64, messages: &[&[u8]], signatures: &[Signature]) -> Result<()> {
        // A weak (small-order) key is where batch and strict verification differ.
        let one_by_one = self.key.is_weak();
        let keys = vec![self.key; SIGNATURE_BATCH.min(messages.len())];
        let mut offset = 0;
        for (messages, signatures) in messages.chunks(SIGNATURE_BATCH).zip(signatures.chunks(SIGNATURE_BATCH)) {
            let batch_ok =
                !one_by_one && ed25519_dalek::verify_batch(messages, signatures, &keys[..messages.len()]).is_ok();
            if !batch_ok {
                for (i, (message, signature)) in messages.iter().zip(signatures).enumerate() {
                    if self.key.verify_strict(message, signature).is_err() {
                        return Err(data_loss(EntryError::BadSignature {
                            index: first + (offset + i) as u64,
                        }));
                    }
                }
            }
            offset += messages.len();
        }
        Ok(())
    }
}

/// The signed messages and signatures of one chunk, gathered for a batch check.
#[derive(Default)]
struct Signed {
    messages: Vec<u8>,
    ends: Vec<usize>,
    signatures: Vec<Signature>,
}

impl Signed {
    fn clear(&mut self) {
        self.messages.clear();
        self.ends.clear();
        self.signatures.clear();
    }

    fn push(&mut self, index: u64, fields: &Fields<'_>) -> Result<()> {
        let signature =
            Signature::from_slice(fields.signature).map_err(|_| data_loss(EntryError::BadSignature { index }))?;
        self.messages.extend_from_slice(EVENT_SIGNATURE_CONTEXT);
        self.messages.extend_from_slice(fields.event);
        self.ends.push(self.messages.len());
        self.signatures.push(signature);
        Ok(())
    }

    fn verify(&self, verification: &Verification, first: u64) -> Result<()> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        let messages: Vec<&[u8]> = starts
            .zip(self.ends.iter().copied())
            .map(|(from, to)| &self.messages[from..to])
            .collect();
        verification.verify_signatures(first, &messages, &self.signatures)
    }
}

/// The Ed25519 key of `verifier`, from its key string (`<name>+<id>+<base64
/// of the algorithm byte and the key>`).
fn verifying_key(verifier: &NoteVerifier) -> Result<VerifyingKey> {
    let text = verifier.to_key_string();
    let unusable = |why: &str| {
        Error::Internal(format!(
            "the log's key {text} is unusable for batch verification: {why}"
        ))
    };
    let encoded = text.rsplit('+').next().unwrap_or_default();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| unusable("not base64"))?;
    let material: [u8; 32] = match raw.as_slice() {
        [1, key @ ..] => key.try_into().map_err(|_| unusable("not 32 bytes"))?,
        _ => return Err(unusable("not an Ed25519 key")),
    };
    VerifyingKey::from_bytes(&material).map_err(|_| unusable("not a valid Ed25519 key"))
}

/// Writes a snapshot of `registry` (atomically; a failure only costs replay time).
pub(super) fn write_snapshot(store: &Store, data_dir: &Path, registry: &Registry) {
    let started = Instant::now();
    let written = root_at(registry.size, store)
        .map_err(Error::from)
        .and_then(|root| snapshot::encode(registry, &root))
        .and_then(|bytes| files::write_atomic(&snapshot_path(data_dir), &bytes, false).map_err(Error::from));
    match written {
        Ok(()) => tracing::info!(
            events = registry.size,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "registry snapshot written"
        ),
        Err(e) => tracing::warn!("could not write the registry snapshot: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::bodies;
    use crate::log::entry::{decode_entry, sign_event};
    use crate::log::merkle::Frontier;
    use crate::log::note::NoteSigner;
    use crate::store::CommitBatch;
    use pb::event::Body;

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("peerreg.local/ms", [1; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn kinds() -> Vec<Body> {
        let mut all = vec![
            bodies::enrol("MS-P-1", "Ada Lovelace"),
            bodies::training("MS-P-1", "CORE", 40, "2024-01-31", &[("engages_peers", 10)]),
            bodies::experience("MS-P-1", pb::ExperienceKind::Volunteer, 100, "2023-02-28", "2024-02-29"),
            bodies::exam("MS-P-1", 90, "2024-03-01"),
            bodies::issue("MS-P-1", "MS-1", "2024-03-02", "2026-03-02"),
            bodies::ce("MS-P-1", "ethics", 6, "2025-01-01"),
            bodies::renew("MS-1", "2026-01-01", "2028-03-02"),
            bodies::discipline("MS-1", pb::DisciplineKind::Suspension, "2026-02-01", "2026-05-01"),
            bodies::reinstate("MS-1", "2026-03-01"),
            Body::NameChanged(pb::NameChanged {
                peer_id: "MS-P-1".into(),
                new_legal_name: "Ada King".into(),
            }),
        ];
        all.extend(bodies::qualification("MS-P-2"));
        all
    }

    /// Bodies whose dates or enums `from_body` reads differently or refuses.
    fn odd() -> Vec<Body> {
        vec![
            bodies::training("MS-P-1", "CORE", 40, "2024-1-31", &[]),
            bodies::training("MS-P-1", "CORE", 40, "2023-02-29", &[]),
            bodies::training("MS-P-1", "CORE", 40, "+2024-01-31", &[]),
            bodies::exam("MS-P-1", 90, "2024-03-0x"),
            bodies::experience(
                "MS-P-1",
                pb::ExperienceKind::Unspecified,
                100,
                "2023-02-28",
                "2024-02-29",
            ),
            bodies::issue("MS-P-1", "MS-1", "2024-13-02", "2026-03-02"),
            Body::CredentialIssued(pb::CredentialIssued {
                credential_type: 99,
                ..match bodies::issue("MS-P-1", "MS-1", "2024-03-02", "2026-03-02") {
                    Body::CredentialIssued(issue) => issue,
                    _ => pb::CredentialIssued::default(),
                }
            }),
            bodies::renew("MS-1", "2026-01-01", "20280302"),
            bodies::ce("MS-P-1", "ethics", 6, "0000-01-01"),
        ]
    }

    #[test]
    fn logged_facts_are_the_facts_from_body_gives() {
        for body in kinds().into_iter().chain(odd()) {
            let expected = crate::domain::fact::Fact::from_body(&body);
            let logged = logged_fact(body.clone());
            match (&expected, &logged) {
                (Ok(expected), Ok(logged)) => assert_eq!(expected, logged, "{body:?}"),
                (Err(expected), Err(logged)) => assert_eq!(expected.to_string(), logged.to_string()),
                _ => panic!("{body:?}: from_body gives {expected:?}, the replay {logged:?}"),
            }
        }
    }

    fn entry(index: u64, body: Body) -> Vec<u8> {
        let event = pb::Event {
            state: "MS".into(),
            index,
            event_id: format!("e-{index}"),
            recorded_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 5,
            }),
            body: Some(body),
        };
        sign_event(&event, &signer()).encode_to_vec()
    }

    #[test]
    fn entries_read_in_place_agree_with_prost() {
        for (index, body) in (0..).zip(kinds()) {
            let bytes = entry(index, body);
            let (logged, event) = decode_entry(index, &bytes).unwrap_or_else(|e| panic!("{e}"));
            let fields = entry_fields(&bytes).unwrap_or_else(|| panic!("entry {index} not read in place"));
            assert_eq!(
                (fields.event, fields.signature, fields.key_id),
                (&logged.event[..], &logged.signature[..], &logged.key_id[..])
            );
            let parts = event_parts(fields.event).unwrap_or_else(|| panic!("event {index} not read in place"));
            assert_eq!(
                (&parts.state[..], parts.index, &parts.body),
                (event.state.as_bytes(), event.index, &event.body)
            );
        }
        // What prost would merge, skip or refuse is left to prost.
        let event = pb::Event {
            state: "MS".into(),
            body: Some(bodies::enrol("MS-P-1", "Ada")),
            ..Default::default()
        }
        .encode_to_vec();
        let mut twice = event.clone();
        twice.extend_from_slice(
            &pb::Event {
                body: Some(bodies::enrol("MS-P-2", "Bea")),
                ..Default::default()
            }
            .encode_to_vec(),
        );
        assert!(event_parts(&event).is_some());
        assert!(event_parts(&twice).is_none(), "a second body is prost's to merge");
        let mut unknown = event.clone();
        unknown.extend_from_slice(&[0xf8, 0x01, 0x01]);
        assert!(event_parts(&unknown).is_none());
        let mut bad_text = pb::Event {
            state: "MS".into(),
            ..Default::default()
        }
        .encode_to_vec();
        bad_text[2] = 0xff;
        assert!(event_parts(&bad_text).is_none());
        assert!(pb::Event::decode(&bad_text[..]).is_err());
        assert!(entry_fields(&[0x0a, 0x05, 1]).is_none(), "truncated");
        assert!(entry_fields(&[0x08, 0x01]).is_none(), "a varint field is prost's");
    }

    #[test]
    fn roots_from_chunks_are_the_tree_roots() {
        for size in [1u64, 2, 3, 1023, 1024, 1025, 2048, 3000, 4097] {
            let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let mut frontier = Frontier::default();
            for leaf in &leaves {
                frontier.push(*leaf);
            }
            let chunks: Vec<Hash> = leaves.chunks(CHUNK as usize).map(subtree_root).collect();
            assert_eq!(subtree_root(&leaves), frontier.root(), "size {size}");
            assert_eq!(root_of_chunks(&chunks, size), frontier.root(), "size {size}");
        }
    }

    /// Peer `i`'s enrolment, or (for odd `i`) a change of the name of a peer
    /// the first 1300 events enrolled.
    fn enrolment_or_rename(i: usize) -> Body {
        match i % 2 {
            0 => crate::bench::enrolment(i),
            _ => Body::NameChanged(pb::NameChanged {
                peer_id: format!("MS-P-{:08}", i % 1300),
                new_legal_name: format!("Renamed {i}"),
            }),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replays_equal_the_kept_registry_and_verification_catches_a_forgery() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ledger = crate::bench::open_ledger(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        // Enrolments first, then renames of them: more than two chunks in all.
        crate::bench::fill(&ledger, 0, 1300, 16, crate::bench::enrolment)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        crate::bench::fill(&ledger, 1300, 1300, 16, enrolment_or_rename)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let kept = ledger.registry();
        let verifier = ledger.verifier().clone();
        ledger.shutdown().await;
        assert_eq!(kept.size, 2600);

        for verify in [false, true] {
            let (registry, stats) = replay_log(dir.path(), &verifier, "MS", verify).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(registry, kept, "verify: {verify}");
            assert_eq!(stats.events, 2600);
        }
        assert_eq!(decode_log(dir.path()).map(|s| s.events).ok(), Some(2600));
        assert_eq!(
            batch_verify_log(dir.path(), &verifier).map(|s| s.events).ok(),
            Some(2600)
        );
        let wrong_state = replay_log(dir.path(), &verifier, "TN", true).map(|_| ());
        assert!(matches!(wrong_state, Err(Error::DataLoss(_))), "{wrong_state:?}");

        // Entry 1500 replaced by one signed with another key: the plain replay
        // applies it, the verifying one refuses it.
        {
            let store = Store::open(&store_path(dir.path())).unwrap_or_else(|e| panic!("{e}"));
            let other = NoteSigner::from_seed("peerreg.local/ms", [2; 32]).unwrap_or_else(|e| panic!("{e}"));
            let mut forged = pb::Event::decode(
                &pb::LogEntry::decode(&store.entry(1500).ok().flatten().unwrap_or_default()[..])
                    .unwrap_or_default()
                    .event[..],
            )
            .unwrap_or_default();
            forged.body = Some(bodies::enrol("MS-P-FORGED", "Mallory"));
            let mut entry = sign_event(&forged, &other);
            entry.key_id = verifier.key_id().to_vec();
            let batch = CommitBatch {
                entries: vec![(1500, entry.encode_to_vec())],
                ..Default::default()
            };
            store.commit(&batch).unwrap_or_else(|e| panic!("{e}"));
        }
        let (plain, _) = replay_log(dir.path(), &verifier, "MS", false).unwrap_or_else(|e| panic!("{e}"));
        assert!(plain.peer("MS-P-FORGED").is_some());
        match replay_log(dir.path(), &verifier, "MS", true) {
            Err(Error::DataLoss(why)) => assert!(why.contains("entry 1500"), "{why}"),
            other => panic!("a forged entry went unnoticed: {:?}", other.map(|(_, s)| s)),
        }
        assert!(batch_verify_log(dir.path(), &verifier).is_err());
    }
}
