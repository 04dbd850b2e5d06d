//! Baselines for the replay benchmark: the same reading and verification a
//! replay does, with nothing else to do, to say how close a replay comes.

use crate::domain::sealed::NoOpenings;
use std::path::Path;
use std::time::Instant;

use ed25519_dalek::Signature;

use crate::error::{Error, Result};
use crate::ledger::replay::wire::entry_fields;
use crate::ledger::replay::{self, data_loss, readers, ReplayStats, Verification, Work, CHUNK};
use crate::ledger::store_path;
use crate::log::entry::{EntryError, EVENT_SIGNATURE_CONTEXT};
use crate::log::note::NoteVerifier;
use crate::store::{EntryBatch, Store};

/// A baseline for [`replay::replay_log`]: reads and decodes every entry of the stopped
/// node in `data_dir` (its `LogEntry` and `Event`) the way a replay does, on
/// the same threads, but applies nothing.
pub fn decode_log(data_dir: &Path) -> Result<ReplayStats> {
    let store = Store::open(&store_path(data_dir))?;
    let size = store.last_entry_index()?.map_or(0, |last| last + 1);
    let started = Instant::now();
    let mut decoded = 0u64;
    let threads = replay::run(&store, 0, size, &Work::Decode, &NoOpenings, |chunk| {
        decoded += chunk.count;
        Ok(())
    })?;
    Ok(ReplayStats {
        events: decoded,
        elapsed: started.elapsed(),
        threads,
    })
}

/// A baseline for a verifying [`replay::replay_log`]: batch-verifies the signature of
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
