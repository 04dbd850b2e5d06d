//! The registry snapshot on disk: a cache of the registry at some size of the
//! log, used at open only if it was taken of this very log (its root matches).

use std::path::Path;
use std::time::Instant;

use crate::error::Error;
use crate::ledger::snapshot_path;
use crate::log::merkle::{root_at, Hash};
use crate::projection::{snapshot, Registry};
use crate::store::{files, Store};

/// The snapshot, if present, intact, and taken of this very log.
pub(super) fn load_snapshot(store: &Store, data_dir: &Path, size: u64) -> Option<Registry> {
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

/// Writes a snapshot of `registry` (atomically; a failure only costs replay time).
pub(in crate::ledger) fn write_snapshot(store: &Store, data_dir: &Path, registry: &Registry) {
    let started = Instant::now();
    let written = root_at(registry.size, store)
        .map_err(Error::from)
        .and_then(|root| snapshot::encode(registry, &root))
        .and_then(|bytes| {
            files::write_atomic(&snapshot_path(data_dir), &bytes, files::Mode::Readable).map_err(Error::from)
        });
    match written {
        Ok(()) => tracing::info!(
            events = registry.size,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "registry snapshot written"
        ),
        Err(e) => tracing::warn!("could not write the registry snapshot: {e}"),
    }
}
