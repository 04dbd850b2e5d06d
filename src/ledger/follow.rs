//! A follower: a read-only copy of another node's log (a mirror). It never
//! signs anything; it stores entries only together with a checkpoint signed by
//! the origin's pinned key whose tree they complete exactly.

use std::path::PathBuf;
use std::sync::Arc;

use super::{checkpoint_path, lock, open, replay, Ledger, Published, Settings, Shared};
use crate::clock::SystemClock;
use crate::domain::profile::RequirementProfile;
use crate::error::{Error, Result};
use crate::log::entry::verify_entry;
use crate::log::merkle::leaf_hash;
use crate::log::note::{Checkpoint, NoteVerifier};
use crate::store::{files, CommitBatch};

impl Ledger {
    /// Opens a follower's store (already seeded with a checkpoint of its origin).
    pub fn open_follower(data_dir: PathBuf, state: String, verifier: NoteVerifier) -> Result<Ledger> {
        let params = open::OpenParams {
            data_dir: &data_dir,
            state: &state,
            verifier: &verifier,
            signer: None,
            accept_unpublished_store: false,
        };
        let opened = open::open_verified(&params)?;
        let registry = replay::rebuild(&opened.store, &data_dir, opened.published.checkpoint.size)?;
        let profile = RequirementProfile::default_for(&state);
        let settings = Settings {
            data_dir,
            state,
            profile,
            clock: Arc::new(SystemClock),
        };
        let shared = Shared::new(opened.store, opened.published, registry, settings, verifier, None);
        *lock(&shared.follower_frontier) = Some(opened.frontier);
        open::spawn_sweep(&shared, opened.sweep_below);
        Ok(Ledger { shared })
    }

    /// True for a follower (mirror) of another node's log.
    pub fn is_follower(&self) -> bool {
        lock(&self.shared.follower_frontier).is_some()
    }

    /// Stores `entries` (the next ones after the current tree) with the origin's
    /// signed `note` whose tree they complete. Anything else is refused.
    pub fn ingest(&self, entries: Vec<Vec<u8>>, note: Vec<u8>) -> Result<Published> {
        let shared = &self.shared;
        let mut guard = lock(&shared.follower_frontier);
        let Some(frontier) = guard.as_mut() else {
            return Err(Error::FailedPrecondition(
                "only a follower ingests another node's entries".into(),
            ));
        };
        let checkpoint = Checkpoint::open(&note, &shared.verifier)
            .map_err(|e| Error::DataLoss(format!("the checkpoint is not signed by the pinned key: {e}")))?;
        let start = frontier.size();
        if checkpoint.size != start + entries.len() as u64 {
            return Err(Error::InvalidArgument(format!(
                "{} entries after {start} do not make a tree of size {}",
                entries.len(),
                checkpoint.size
            )));
        }
        let mut extended = frontier.clone();
        let mut registry = shared.registry.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut batch = CommitBatch::default();
        for (index, entry) in (start..).zip(entries) {
            let event = verify_entry(index, &entry, &shared.verifier, &shared.state)
                .map_err(|e| Error::DataLoss(format!("the origin served a bad entry: {e}")))?;
            if let Err(e) = registry.apply_event(index, &event) {
                tracing::warn!(index, "a followed event does not replay: {e}");
                registry.size = index + 1;
            }
            batch.hashes.extend(extended.push(leaf_hash(&entry)));
            batch.event_ids.push((event.event_id, index));
            batch.entries.push((index, entry));
        }
        if extended.root() != checkpoint.root {
            return Err(Error::FailedPrecondition(format!(
                "EQUIVOCATION: the origin's checkpoint of size {} is not an extension of the {start} entries already verified",
                checkpoint.size
            )));
        }
        batch.checkpoint_note = note;
        shared.store.commit(&batch)?;
        files::write_atomic(&checkpoint_path(&shared.data_dir), &batch.checkpoint_note, false)?;
        *frontier = extended;
        *shared.registry.write().unwrap_or_else(|p| p.into_inner()) = registry;
        let published = Published {
            note: Arc::from(batch.checkpoint_note),
            checkpoint,
        };
        shared.published.send_replace(published.clone());
        Ok(published)
    }
}
