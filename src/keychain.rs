//! Opening another node's checkpoint when its key may have rotated since the
//! reader last looked: the reader's chain (`log::keys::LogKeys`) is taught
//! the rotation entries the node names, each checked as the chain requires
//! (signed by the key in force at its index) and proven included in the very
//! tree the checkpoint claims, then the checkpoint must verify with the key
//! in force for its size. The node's list of rotations is only a pointer to
//! where to look: a list that skips one leaves the checkpoint unopened, a
//! list that invents one points at an entry that does not rotate.
//!
//! A checkpoint that no chain opens is *suspect*, never an equivocation: a
//! signature by a key the pinned key never introduced proves nothing about
//! the log.

use crate::error::{Error, Result};
use crate::log::keys::{LogKeys, ROTATIONS_MAX};
use crate::log::merkle::{leaf_hash, verify_inclusion, LeafIndex, TreeSize};
use crate::log::note::{unverified_body, Checkpoint};
use crate::source::LogSource;

/// Opens `note` with `keys`, learning first the rotations `source` names
/// below the checkpoint's size if the chain does not open it as it is.
/// Returns the checkpoint and the chain it was opened with.
pub async fn open_checkpoint(keys: &LogKeys, note: &[u8], source: &dyn LogSource) -> Result<(Checkpoint, LogKeys)> {
    if let Ok(checkpoint) = keys.open_checkpoint(note) {
        return Ok((checkpoint, keys.clone()));
    }
    let claimed = unverified_body(note)
        .and_then(Checkpoint::parse_body)
        .map_err(|e| suspect(format!("the checkpoint is malformed: {e}")))?;
    let mut learned = keys.clone();
    let known = keys.last_rotation();
    let rotations = source.identity().await?.key_rotations;
    for index in rotations.into_iter().take(ROTATIONS_MAX + 1) {
        if index >= claimed.size || known.is_some_and(|known| index <= known) {
            continue;
        }
        let entry = source
            .entries(index, index + 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| suspect(format!("the node names entry {index} as a key rotation but does not serve it")))?;
        let proof = source.inclusion_proof(LeafIndex(index), TreeSize(claimed.size)).await?;
        if !verify_inclusion(&leaf_hash(&entry), index, claimed.size, &proof, &claimed.root) {
            return Err(suspect(format!(
                "the key rotation entry {index} is not proven included in the tree of size {}",
                claimed.size
            )));
        }
        accept_learned(&mut learned, index, &entry)?;
    }
    let checkpoint = learned.open_checkpoint(note).map_err(|e| {
        suspect(format!(
            "the checkpoint is not signed by the log's key in force ({e}); a key not introduced by a signed rotation entry is refused"
        ))
    })?;
    Ok((checkpoint, learned))
}

/// Where a reader accepts a key learned from a rotation entry (the entry's
/// signature by the key before it is checked by `LogKeys::learn`).
pub fn accept_learned(keys: &mut LogKeys, index: u64, entry: &[u8]) -> Result<bool> {
    keys.learn(index, entry)
        .map_err(|e| suspect(format!("a key the log did not introduce is refused: {e}")))
}

fn suspect(detail: String) -> Error {
    Error::DataLoss(detail)
}
