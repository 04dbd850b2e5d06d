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
use crate::log::keys::{open_with_rotations, LogKeys, ROTATIONS_MAX};
use crate::log::merkle::{LeafIndex, TreeSize};
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
    let known = keys.last_rotation();
    let mut fetched = Vec::new();
    for index in source
        .identity()
        .await?
        .key_rotations
        .into_iter()
        .take(ROTATIONS_MAX + 1)
    {
        if index >= claimed.size || known.is_some_and(|known| index <= known) {
            continue;
        }
        let entry = source
            .entries(index, index + 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                suspect(format!(
                    "the node names entry {index} as a key rotation but does not serve it"
                ))
            })?;
        let proof = source.inclusion_proof(LeafIndex(index), TreeSize(claimed.size)).await?;
        fetched.push((index, entry, proof));
    }
    let proven: Vec<_> = fetched
        .iter()
        .map(|(index, entry, proof)| (*index, entry.as_slice(), proof.as_slice()))
        .collect();
    open_with_rotations(keys, note, &proven).map_err(|e| {
        suspect(format!(
            "the checkpoint is not signed by the log's key in force ({e}); a key not introduced by a signed rotation entry is refused"
        ))
    })
}

fn suspect(detail: String) -> Error {
    Error::DataLoss(detail)
}
