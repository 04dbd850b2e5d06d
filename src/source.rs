//! What the readers of another node's log need from it, as small traits that
//! the readers own (mirror, repair, audit, federation). The gRPC clients in
//! `service` implement them; so does a `Ledger` in the same process; tests
//! wrap either to play a hostile partner (stale, forked, slow, huge) without a
//! fake gRPC server.
//!
//! The futures are boxed so that the traits are object-safe: federation holds
//! one connector for every trusted state and a source per round, and the cost
//! of one allocation per network call does not matter.

use std::future::Future;
use std::pin::Pin;

use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::log::merkle::{Hash, LeafIndex, TreeSize};
use crate::pb;

/// A source's answer, later.
pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Who a log says it is (unverified until checked against a pinned key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogIdentity {
    pub origin: String,
    pub state: String,
    pub verifier_key: String,
    /// Indices of the entries that rotated the log's key (unverified: each
    /// is checked when learned, see `log::keys`).
    pub key_rotations: Vec<u64>,
}

/// A log served by someone else: nothing it says is believed until checked
/// against a pinned key and proofs.
pub trait LogSource: Send + Sync {
    fn identity(&self) -> SourceFuture<'_, LogIdentity>;
    /// The latest signed checkpoint note, unverified.
    fn checkpoint_note(&self) -> SourceFuture<'_, Vec<u8>>;
    /// The newest checkpoint note the log's witnesses cosigned, with their
    /// cosignatures, unverified; `NOT_FOUND` while there is none. A source
    /// that runs no witnessing has none.
    fn witnessed_note(&self) -> SourceFuture<'_, Vec<u8>> {
        Box::pin(async { Err(Error::NotFound("this log is not witnessed".into())) })
    }
    /// Entries from `start`, at most up to `end` (a page: possibly fewer).
    fn entries(&self, start: u64, end: u64) -> SourceFuture<'_, Vec<Vec<u8>>>;
    fn inclusion_proof(&self, index: LeafIndex, tree_size: TreeSize) -> SourceFuture<'_, Vec<Hash>>;
    fn consistency_proof(&self, from_size: TreeSize, to_size: TreeSize) -> SourceFuture<'_, Vec<Hash>>;
}

/// An origin board's node, as a receiving state asks it for evidence.
pub trait EvidenceSource: Send + Sync {
    /// The evidence bundle for one credential (unverified), asked with a
    /// signed request (see `evidence::signed_request`).
    fn evidence(&self, request: pb::GetEvidenceRequest) -> SourceFuture<'_, pb::EvidenceBundle>;
}

/// A node asked for a fresh portable proof of one credential.
pub trait ProofSource: Send + Sync {
    fn credential_proof(&self, credential_number: String) -> SourceFuture<'_, pb::CredentialProof>;
}

/// Where a trusted state's node is, and the CA its certificate must chain to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAddress {
    pub endpoint: String,
    /// PEM of the CA for `https://` endpoints; `None` for the system roots or plaintext.
    pub ca_pem: Option<Vec<u8>>,
}

/// How federation reaches trusted states (gRPC in a node; anything in tests).
pub trait Connector: Send + Sync {
    fn log(&self, address: &NodeAddress) -> SourceFuture<'_, Box<dyn LogSource>>;
    fn node(&self, address: &NodeAddress) -> SourceFuture<'_, Box<dyn EvidenceSource>>;
}

/// A ledger in this process is a source too: a node's own log, or a mirror.
impl LogSource for Ledger {
    fn identity(&self) -> SourceFuture<'_, LogIdentity> {
        let identity = LogIdentity {
            origin: self.verifier().name().to_string(),
            state: self.state().to_string(),
            verifier_key: self.verifier().to_key_string(),
            key_rotations: self.keys().rotations().iter().map(|r| r.index).collect(),
        };
        Box::pin(async move { Ok(identity) })
    }

    fn checkpoint_note(&self) -> SourceFuture<'_, Vec<u8>> {
        let note = self.published().note.to_vec();
        Box::pin(async move { Ok(note) })
    }

    fn entries(&self, start: u64, end: u64) -> SourceFuture<'_, Vec<Vec<u8>>> {
        Box::pin(async move { blocking(self, move |ledger| ledger.entries(start, end)).await })
    }

    fn inclusion_proof(&self, index: LeafIndex, tree_size: TreeSize) -> SourceFuture<'_, Vec<Hash>> {
        Box::pin(async move { blocking(self, move |ledger| ledger.inclusion_proof(index, tree_size)).await })
    }

    fn consistency_proof(&self, from_size: TreeSize, to_size: TreeSize) -> SourceFuture<'_, Vec<Hash>> {
        Box::pin(async move { blocking(self, move |ledger| ledger.consistency_proof(from_size, to_size)).await })
    }
}

/// Runs a store read off the async threads.
async fn blocking<T: Send + 'static>(
    ledger: &Ledger,
    read: impl FnOnce(&Ledger) -> Result<T> + Send + 'static,
) -> Result<T> {
    let ledger = ledger.clone();
    tokio::task::spawn_blocking(move || read(&ledger))
        .await
        .map_err(|e| Error::Internal(format!("a log read stopped: {e}")))?
}
