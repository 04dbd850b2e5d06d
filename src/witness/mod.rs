//! Witnessing (C2SP `tlog-witness` and `tlog-cosignature`): states vouch for
//! each other's logs.
//!
//! - [`cosign`]: the witness side. This node cosigns the checkpoints of the
//!   logs on its trust list, after checking each extends the last one it
//!   cosigned, and records a fork shown to it as evidence.
//! - [`collect`]: the log side. After each commit this node asks its
//!   witnesses to cosign its checkpoint, serves the cosignatures, and at
//!   start refuses to sign if a witness proves its store is behind.
//! - [`request`]: the `add-checkpoint` request body.
//!
//! Readers check a quorum with [`crate::log::cosignature::WitnessPolicy`].

pub mod collect;
pub mod cosign;
pub mod request;

pub use collect::{Collector, Reply, WitnessClient, WitnessPeer};
pub use cosign::{witness_dir, Refusal, Witness, WitnessedLogs};
