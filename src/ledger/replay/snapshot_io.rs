//! The registry snapshot on disk: a cache of the registry at some size of the
//! log, used at open only if it was taken of this very log (its root matches).
//! A board's registry holds people's private records (names, training), so
//! its snapshot is encrypted under a key derived from the private store's
//! node secret (`SnapshotKey`); a mirror's holds only public facts and is
//! written in clear. After an expungement the committer rewrites it at once.

use std::path::Path;
use std::time::Instant;

use crate::error::Error;
use crate::ledger::snapshot_path;
use crate::log::merkle::{root_at, Hash};
use crate::projection::{snapshot, Registry};
use crate::store::{files, Store};
use crate::vault::{decrypt_file, encrypt_file, Bytes32};

/// The key a snapshot is encrypted under: `Some` for a board's own log.
pub(crate) type SnapshotKey = Option<Bytes32>;

const SNAPSHOT_LABEL: &str = "peerreg/v1/snapshot";

/// The snapshot, if present, intact, and taken of this very log.
pub(super) fn load_snapshot(store: &Store, data_dir: &Path, size: u64, key: SnapshotKey) -> Option<Registry> {
    let path = snapshot_path(data_dir);
    let stored = files::read_optional(&path).ok().flatten()?;
    let ignore = |why: String| tracing::warn!(path = %path.display(), "ignoring the registry snapshot: {why}");
    let bytes = match key {
        Some(key) => match decrypt_file(&key, SNAPSHOT_LABEL, &stored) {
            Some(plain) => plain,
            None => {
                ignore("it does not decrypt under this node's key".into());
                return None;
            }
        },
        None => stored,
    };
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
pub(in crate::ledger) fn write_snapshot(store: &Store, data_dir: &Path, registry: &Registry, key: SnapshotKey) {
    let started = Instant::now();
    let written = root_at(registry.size, store)
        .map_err(Error::from)
        .and_then(|root| snapshot::encode(registry, &root))
        .and_then(|plain| match key {
            Some(key) => encrypt_file(&key, SNAPSHOT_LABEL, &plain),
            None => Ok(plain),
        })
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
