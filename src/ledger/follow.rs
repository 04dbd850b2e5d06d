//! A follower: a read-only copy of another node's log (a mirror). It never
//! signs anything; it *publishes* (serves, replays, decides on) only a tree
//! that a checkpoint signed by the origin's pinned key covers exactly.
//!
//! A follower catches up in bounded steps: `stage` takes the next chunk of
//! entries (each signature checked), writes them to the store beyond the
//! published tree and extends a *staged* frontier and registry; the caller
//! proves each staged prefix consistent with the origin's signed checkpoint;
//! `publish_staged` moves the published tree up once the staged tree is exactly
//! the signed one. Memory is one chunk, whatever the backlog. Staged entries
//! beyond the published tree are never served and are forgotten on restart
//! (open ignores them; the next catch-up writes them again).

use crate::domain::sealed::NoOpenings;
use std::path::PathBuf;
use std::sync::Arc;

use super::{checkpoint_path, lock, open, replay, Ledger, Published, Settings, Shared};
use crate::clock::SystemClock;
use crate::domain::profile::RequirementProfile;
use crate::error::{Error, Result};
use crate::log::keys::LogKeys;
use crate::log::merkle::{leaf_hash, Frontier, Hash};
use crate::log::note::NoteVerifier;
use crate::projection::{logged_fact, Registry};
use crate::store::{files, CommitBatch, StoreError};

/// A follower's trees: the published one and, during a catch-up, the staged one.
pub(super) struct FollowerTrees {
    published: Frontier,
    staged: Option<Staged>,
}

/// Entries verified and stored beyond the published tree, not yet covered by a
/// signed checkpoint.
struct Staged {
    frontier: Frontier,
    registry: Registry,
    /// The origin's keys, with the rotations the staged entries made.
    keys: LogKeys,
}

/// The staged tree after a `stage` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StagedTree {
    pub size: u64,
    pub root: Hash,
}

impl FollowerTrees {
    pub(super) fn new(published: Frontier) -> FollowerTrees {
        FollowerTrees {
            published,
            staged: None,
        }
    }
}

impl Ledger {
    /// Opens a follower's store. A mirror never seeded holds no checkpoint:
    /// it opens as the empty tree and catches up from its origin.
    pub fn open_follower(data_dir: PathBuf, state: String, verifier: NoteVerifier) -> Result<Ledger> {
        let params = open::OpenParams {
            data_dir: &data_dir,
            state: &state,
            verifier: &verifier,
            signer: None,
            accept_unpublished_store: false,
        };
        let opened = open::open_verified(&params)?;
        let registry = replay::rebuild(
            &opened.store,
            &data_dir,
            opened.published.checkpoint.size,
            &NoOpenings,
            None,
        )?
        .0;
        let profile = RequirementProfile::default_for(&state).into();
        let settings = Settings {
            data_dir,
            state,
            profile,
            clock: Arc::new(SystemClock),
        };
        let shared = Shared::new(opened.store, opened.published, registry, settings, opened.keys, None);
        *lock(&shared.follower) = Some(FollowerTrees::new(opened.frontier));
        open::spawn_sweep(&shared, opened.sweep_below);
        Ok(Ledger { shared })
    }

    /// True for a follower (mirror) of another node's log.
    pub fn is_follower(&self) -> bool {
        lock(&self.shared.follower).is_some()
    }

    /// The size of the tree verified so far: the staged one during a catch-up,
    /// else the published one.
    pub fn staged_size(&self) -> u64 {
        lock(&self.shared.follower)
            .as_ref()
            .map_or(0, |trees| match &trees.staged {
                Some(staged) => staged.frontier.size(),
                None => trees.published.size(),
            })
    }

    /// The origin's keys as far as this follower verified its entries: the
    /// staged tree's during a catch-up, else the published tree's.
    pub fn follower_keys(&self) -> LogKeys {
        let staged = lock(&self.shared.follower)
            .as_ref()
            .and_then(|trees| trees.staged.as_ref().map(|staged| staged.keys.clone()));
        staged.unwrap_or_else(|| self.keys())
    }

    /// The staged tree of an unfinished catch-up, if there is one.
    pub fn staged_tree(&self) -> Option<StagedTree> {
        let guard = lock(&self.shared.follower);
        let staged = guard.as_ref()?.staged.as_ref()?;
        Some(StagedTree {
            size: staged.frontier.size(),
            root: staged.frontier.root(),
        })
    }

    /// Verifies and stores `entries`, the next ones after the staged (or
    /// published) tree; returns the staged tree. Blocking: call it off the
    /// async threads. A bad signature or an entry of another state is
    /// `DATA_LOSS` and stages nothing.
    pub fn stage(&self, entries: &[Vec<u8>]) -> Result<StagedTree> {
        let shared = &self.shared;
        let mut guard = lock(&shared.follower);
        let trees = guard.as_mut().ok_or_else(not_a_follower)?;
        let (mut frontier, mut registry, mut keys) = match &trees.staged {
            Some(staged) => (staged.frontier.clone(), staged.registry.clone(), staged.keys.clone()),
            None => (trees.published.clone(), self.registry(), self.keys()),
        };
        let mut batch = CommitBatch::default();
        for (index, entry) in (frontier.size()..).zip(entries) {
            let rotations = keys.rotations().len();
            let mut event = keys
                .verify_entry(index, entry, &shared.state)
                .map_err(|e| Error::DataLoss(format!("the origin served a bad entry: {e}")))?;
            // The record references are indexed too, so a holder of a
            // person's key (a receiving state with consent) finds their records here.
            super::index_event(&mut batch.index, index, &event, keys.rotations().len() > rotations);
            // The same parser as replay: a refused body is counted and skipped.
            if let Err(e) = registry.apply_logged(index, logged_fact(event.body.take(), &NoOpenings)) {
                tracing::warn!(index, "a followed event does not replay: {e}");
            }
            batch.hashes.extend(frontier.push(leaf_hash(entry)));
            batch.entries.push((index, entry.clone()));
        }
        if let Err(error) = shared.store.commit(&batch) {
            if matches!(error, StoreError::Io { .. }) {
                // sled refuses writes after an I/O error until reopened; the
                // next round writes this chunk again.
                if let Err(reopen) = shared.store.reopen() {
                    tracing::warn!("cannot reopen the mirror's store: {reopen}");
                }
            }
            return Err(error.into());
        }
        let tree = StagedTree {
            size: frontier.size(),
            root: frontier.root(),
        };
        trees.staged = Some(Staged {
            frontier,
            registry,
            keys,
        });
        Ok(tree)
    }

    /// Forgets the staged tree (its entries stay in the store, unserved, and are
    /// overwritten by the next catch-up).
    pub fn discard_staged(&self) {
        if let Some(trees) = lock(&self.shared.follower).as_mut() {
            trees.staged = None;
        }
    }

    /// Publishes the staged tree under the origin's signed `note`, which must
    /// cover it exactly. Anything else is refused and publishes nothing.
    pub fn publish_staged(&self, note: Vec<u8>) -> Result<Published> {
        let shared = &self.shared;
        let mut guard = lock(&shared.follower);
        let trees = guard.as_mut().ok_or_else(not_a_follower)?;
        let keys = trees
            .staged
            .as_ref()
            .map_or_else(|| self.keys(), |staged| staged.keys.clone());
        let checkpoint = keys.open_checkpoint(&note).map_err(|e| {
            Error::DataLoss(format!(
                "the checkpoint is not signed by the origin's key in force (the pinned key or one it introduced): {e}"
            ))
        })?;
        // Nothing staged: the published tree itself gets its first signed note
        // (a mirror created empty, of an origin whose log is still empty).
        let tree = trees
            .staged
            .as_ref()
            .map_or(&trees.published, |staged| &staged.frontier);
        if tree.size() != checkpoint.size || tree.root() != checkpoint.root {
            return Err(Error::InvalidArgument(format!(
                "the signed checkpoint of size {} does not cover the staged tree of size {}",
                checkpoint.size,
                tree.size()
            )));
        }
        shared.store.commit(&CommitBatch {
            checkpoint_note: note.clone(),
            ..Default::default()
        })?;
        files::write_atomic(&checkpoint_path(&shared.data_dir), &note, files::Mode::Readable)?;
        if let Some(staged) = trees.staged.take() {
            trees.published = staged.frontier;
            *shared.registry.write().unwrap_or_else(|p| p.into_inner()) = staged.registry;
            *shared.keys.write().unwrap_or_else(|p| p.into_inner()) = staged.keys;
        }
        let published = Published {
            note: Arc::from(note),
            checkpoint,
        };
        shared.published.send_replace(published.clone());
        Ok(published)
    }

    /// The root of the published tree at `size` (at most the published size).
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        let published = self.published().checkpoint.size;
        if size > published {
            return Err(Error::OutOfRange(format!(
                "size {size} is past the published tree of size {published}"
            )));
        }
        self.shared.root_at(size)
    }
}

fn not_a_follower() -> Error {
    Error::FailedPrecondition("only a follower stores another node's entries".into())
}
