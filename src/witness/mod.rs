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
//! - [`read`]: a log read only as far as a quorum of its witnesses cosigned
//!   (what followers use when the node asks for a witness quorum).
//!
//! Readers check a quorum with [`crate::log::cosignature::WitnessPolicy`].

pub mod collect;
pub mod cosign;
pub mod read;
pub mod request;

pub use collect::{Collector, Reply, WitnessClient, WitnessPeer};
pub use cosign::{witness_dir, Refusal, Witness, WitnessedLogs};

use std::sync::{Arc, Mutex};

use crate::ledger::Published;

/// A node's witnessing at work: its witness (cosigning the logs it trusts)
/// and its collector (asking its own witnesses), with the collector's task.
pub struct Witnessing {
    pub witness: Witness,
    pub collector: Arc<Collector>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Witnessing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witnessing")
            .field("witness", &self.witness)
            .finish_non_exhaustive()
    }
}

impl Witnessing {
    /// Starts collecting if this node has witnesses: signing is held *now*,
    /// before anything is served, until they confirm the store is current.
    pub fn start(witness: Witness, collector: Collector) -> Arc<Witnessing> {
        let collector = Arc::new(collector);
        let task = collector.has_witnesses().then(|| {
            collector.hold();
            tokio::spawn(collector.clone().run())
        });
        Arc::new(Witnessing {
            witness,
            collector,
            task: Mutex::new(task),
        })
    }

    /// Stops the collector (the node is stopping).
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }

    /// `published`'s note with the cosignatures collected for it so far.
    pub fn checkpoint_note(&self, published: &Published) -> Vec<u8> {
        self.collector.checkpoint_note(published)
    }
}
