//! Rebuilding the registry at open: from the snapshot if it belongs to this
//! log, then by replaying the entries after it; from scratch otherwise.

use std::time::Instant;

use super::snapshot_path;
use crate::error::{Error, Result};
use crate::log::entry::decode_entry;
use crate::log::merkle::{root_at, Hash};
use crate::projection::{snapshot, Registry};
use crate::store::{files, Store};

/// Entries decoded per store read while replaying.
const REPLAY_CHUNK: u64 = 4096;

pub(super) fn rebuild(store: &Store, data_dir: &std::path::Path, size: u64) -> Result<Registry> {
    let started = Instant::now();
    let mut registry = load_snapshot(store, data_dir, size).unwrap_or_default();
    let from = registry.size;
    replay(store, &mut registry, size)?;
    tracing::info!(
        snapshot_covers = from,
        replayed = size - from,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "registry rebuilt"
    );
    Ok(registry)
}

/// The snapshot, if present, intact, and taken of this very log.
fn load_snapshot(store: &Store, data_dir: &std::path::Path, size: u64) -> Option<Registry> {
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

/// Applies entries `[registry.size, size)` in order.
pub(super) fn replay(store: &Store, registry: &mut Registry, size: u64) -> Result<()> {
    while registry.size < size {
        let start = registry.size;
        let end = size.min(start + REPLAY_CHUNK);
        for (index, bytes) in (start..).zip(store.entries(start, end)?) {
            let (_, event) = decode_entry(index, &bytes).map_err(|e| Error::DataLoss(e.to_string()))?;
            registry
                .apply_event(index, &event)
                .map_err(|e| Error::DataLoss(format!("entry {index} does not replay: {e}")))?;
            registry.size = index + 1;
        }
    }
    Ok(())
}

/// Writes a snapshot of `registry` (atomically; a failure only costs replay time).
pub(super) fn write_snapshot(store: &Store, data_dir: &std::path::Path, registry: &Registry) {
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
