//! The verifiable log's pure parts: Merkle math, signed notes and checkpoints,
//! entry signing. No IO, no transport: the `ledger` puts them to work.

pub mod cosignature;
pub mod entry;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod tiles;
