//! Reading a log only as far as its witnesses vouch for it: a [`LogSource`]
//! whose checkpoint is the newest one cosigned by a quorum of pinned
//! witnesses. A follower given this source never advances past what the
//! quorum cosigned; a checkpoint without the quorum is "not yet witnessed"
//! (`FAILED_PRECONDITION`), never valid and never an alarm.

use crate::error::Error;
use crate::log::cosignature::WitnessPolicy;
use crate::log::merkle::{Hash, LeafIndex, TreeSize};
use crate::source::{LogIdentity, LogSource, SourceFuture};

pub struct WitnessedSource<'a> {
    pub inner: &'a dyn LogSource,
    pub policy: WitnessPolicy,
}

impl LogSource for WitnessedSource<'_> {
    fn identity(&self) -> SourceFuture<'_, LogIdentity> {
        self.inner.identity()
    }

    fn checkpoint_note(&self) -> SourceFuture<'_, Vec<u8>> {
        Box::pin(async move {
            let note = self.inner.witnessed_note().await.map_err(|e| match e {
                Error::NotFound(why) => Error::FailedPrecondition(format!("not yet witnessed: {why}")),
                other => other,
            })?;
            self.policy
                .check(&note)
                .map_err(|e| Error::FailedPrecondition(e.to_string()))?;
            Ok(note)
        })
    }

    fn witnessed_note(&self) -> SourceFuture<'_, Vec<u8>> {
        self.checkpoint_note()
    }

    fn entries(&self, start: u64, end: u64) -> SourceFuture<'_, Vec<Vec<u8>>> {
        self.inner.entries(start, end)
    }

    fn inclusion_proof(&self, index: LeafIndex, tree_size: TreeSize) -> SourceFuture<'_, Vec<Hash>> {
        self.inner.inclusion_proof(index, tree_size)
    }

    fn consistency_proof(&self, from_size: TreeSize, to_size: TreeSize) -> SourceFuture<'_, Vec<Hash>> {
        self.inner.consistency_proof(from_size, to_size)
    }
}
