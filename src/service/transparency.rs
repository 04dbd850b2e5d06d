//! `peerreg.v1.TransparencyLog`: public, read-only, unauthenticated.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::admission::StreamSlots;
use super::rpc::transparency_log_server::TransparencyLog;
use crate::domain::fact::quote;
use crate::error::Error;
use crate::ledger::Ledger;
use crate::limits;
use crate::log::merkle::{LeafIndex, TreeSize};
use crate::pb;
use crate::witness::Witnessing;

/// Request metadata naming which log to read: a mirrored origin. Without it,
/// the node's own log answers.
pub const ORIGIN_METADATA: &str = "peerreg-origin";

pub struct TransparencyLogService {
    ledger: Ledger,
    /// Logs this node mirrors, by origin.
    mirrors: Arc<HashMap<String, Ledger>>,
    /// Bounds `WatchEntries` streams, overall and per client address.
    watchers: StreamSlots,
    /// The node's witnessing: cosignatures on its own checkpoints.
    witnessing: Option<Arc<Witnessing>>,
}

impl TransparencyLogService {
    pub fn new(ledger: Ledger) -> TransparencyLogService {
        TransparencyLogService::with_mirrors(ledger, Vec::new())
    }

    /// Serves `ledger` and, selected by `peerreg-origin` metadata, `mirrors`.
    pub fn with_mirrors(ledger: Ledger, mirrors: Vec<Ledger>) -> TransparencyLogService {
        let open = ledger.metrics().open_streams("entry_watch");
        let mirrors = mirrors
            .into_iter()
            .map(|m| (m.verifier().name().to_string(), m))
            .collect();
        TransparencyLogService {
            ledger,
            mirrors: Arc::new(mirrors),
            watchers: StreamSlots::new(
                "entry watch streams",
                limits::WATCH_STREAMS_MAX,
                limits::WATCH_STREAMS_PER_ADDRESS_MAX,
            )
            .counted(open),
            witnessing: None,
        }
    }

    /// Serves the own log's checkpoints with the cosignatures `witnessing` collected.
    pub fn witnessed_by(mut self, witnessing: Option<Arc<Witnessing>>) -> TransparencyLogService {
        self.witnessing = witnessing;
        self
    }

    fn is_own(&self, ledger: &Ledger) -> bool {
        std::ptr::eq(ledger, &self.ledger)
    }

    /// The log a request asks for.
    fn log(&self, metadata: &MetadataMap) -> Result<&Ledger, Error> {
        let Some(value) = metadata.get(ORIGIN_METADATA) else {
            return Ok(&self.ledger);
        };
        let origin = value
            .to_str()
            .map_err(|_| Error::InvalidArgument("peerreg-origin is not text".into()))?;
        if origin == self.ledger.verifier().name() {
            return Ok(&self.ledger);
        }
        self.mirrors
            .get(origin)
            .ok_or_else(|| Error::NotFound(format!("this node neither runs nor mirrors the log {}", quote(origin))))
    }
}

fn hashes(proof: Vec<[u8; 32]>) -> Vec<Vec<u8>> {
    proof.into_iter().map(|h| h.to_vec()).collect()
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchEntriesResponse, Status>> + Send>>;

#[tonic::async_trait]
impl TransparencyLog for TransparencyLogService {
    async fn get_log_info(&self, request: Request<pb::GetLogInfoRequest>) -> Result<Response<pb::LogInfo>, Status> {
        let ledger = self.log(request.metadata())?;
        let verifier = ledger.verifier();
        let keys = ledger.keys();
        Ok(Response::new(pb::LogInfo {
            origin: verifier.name().to_string(),
            state: ledger.state().to_string(),
            verifier_key: verifier.to_key_string(),
            witness_key: match &self.witnessing {
                Some(w) if self.is_own(ledger) => w.witness.verifier_key(),
                _ => String::new(),
            },
            key_rotations: keys.rotations().iter().map(|r| r.index).collect(),
            current_verifier_key: keys.current().to_key_string(),
        }))
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::Checkpoint>, Status> {
        let ledger = self.log(request.metadata())?;
        let published = ledger.published();
        let mut checkpoint = super::convert::checkpoint(&published);
        if let Some(witnessing) = self.witnessing.as_ref().filter(|_| self.is_own(ledger)) {
            checkpoint.note = witnessing.checkpoint_note(&published);
        }
        Ok(Response::new(checkpoint))
    }

    async fn get_witnessed_checkpoint(
        &self,
        request: Request<pb::GetWitnessedCheckpointRequest>,
    ) -> Result<Response<pb::WitnessedCheckpoint>, Status> {
        let ledger = self.log(request.metadata())?;
        let not_yet =
            || Error::NotFound("this log is not yet witnessed: no checkpoint carries its witness quorum".into());
        let witnessing = self
            .witnessing
            .as_ref()
            .filter(|_| self.is_own(ledger))
            .ok_or_else(not_yet)?;
        let (published, note) = witnessing.collector.witnessed().ok_or_else(not_yet)?;
        let policy = witnessing.collector.policy();
        Ok(Response::new(pb::WitnessedCheckpoint {
            note,
            size: published.checkpoint.size,
            root_hash: published.checkpoint.root.to_vec(),
            witness_keys: policy.witnesses.iter().map(|w| w.to_key_string()).collect(),
            quorum: u32::try_from(policy.quorum).unwrap_or(u32::MAX),
        }))
    }

    async fn get_entries(
        &self,
        request: Request<pb::GetEntriesRequest>,
    ) -> Result<Response<pb::GetEntriesResponse>, Status> {
        let ledger = self.log(request.metadata())?.clone();
        let pb::GetEntriesRequest { start, end } = request.into_inner();
        let entries = ledger.entries(start, end)?;
        Ok(Response::new(pb::GetEntriesResponse { entries }))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        let ledger = self.log(request.metadata())?.clone();
        let pb::GetInclusionProofRequest { index, tree_size } = request.into_inner();
        let proof = ledger.inclusion_proof(LeafIndex(index), TreeSize(tree_size))?;
        Ok(Response::new(pb::InclusionProof { hashes: hashes(proof) }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        let ledger = self.log(request.metadata())?.clone();
        let pb::GetConsistencyProofRequest { from_size, to_size } = request.into_inner();
        let proof = ledger.consistency_proof(TreeSize(from_size), TreeSize(to_size))?;
        Ok(Response::new(pb::ConsistencyProof { hashes: hashes(proof) }))
    }

    type WatchEntriesStream = WatchStream;

    async fn watch_entries(&self, request: Request<pb::WatchEntriesRequest>) -> Result<Response<WatchStream>, Status> {
        let ledger = self.log(request.metadata())?.clone();
        let remote = request.remote_addr();
        let pb::WatchEntriesRequest { from_index } = request.into_inner();
        let size = ledger.published().checkpoint.size;
        if from_index > size {
            return Err(Error::OutOfRange(format!("from_index {from_index} is past the tree of size {size}")).into());
        }
        let slot = self.watchers.acquire(remote)?;
        // One slot more than the buffer: kept free for the cut-off status.
        let (sender, receiver) = mpsc::channel(limits::WATCH_BUFFER_ENTRIES + 1);
        tokio::spawn(async move {
            let _slot = slot;
            follow(ledger, from_index, sender).await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}

type WatchSender = mpsc::Sender<Result<pb::WatchEntriesResponse, Status>>;

/// Sends entries from `cursor` on, then each new one as it is published, until
/// the client goes away, the node shuts down, or the client falls too far behind.
async fn follow(ledger: Ledger, mut cursor: u64, sender: WatchSender) {
    let mut published = ledger.subscribe();
    loop {
        let size = published.borrow_and_update().checkpoint.size;
        while cursor < size {
            match ledger.entries(cursor, size) {
                Ok(page) => {
                    for entry in page {
                        if !send_or_cut_off(&sender, Ok(pb::WatchEntriesResponse { index: cursor, entry })).await {
                            return;
                        }
                        cursor += 1;
                    }
                }
                Err(error) => {
                    let _ = sender.send(Err(error.into())).await;
                    return;
                }
            }
        }
        tokio::select! {
            changed = published.changed() => if changed.is_err() { return },
            () = sender.closed() => return,
        }
    }
}

/// Sends one item; a consumer that leaves its buffer full for too long is cut
/// off with `RESOURCE_EXHAUSTED` rather than buffered without bound. Items are
/// sent only while two slots are free, so the last one always fits the status.
pub(super) async fn send_or_cut_off<T>(sender: &mpsc::Sender<Result<T, Status>>, item: Result<T, Status>) -> bool {
    match tokio::time::timeout(limits::WATCH_SEND_TIMEOUT, sender.reserve_many(2)).await {
        Ok(Ok(mut permits)) => {
            if let Some(permit) = permits.next() {
                permit.send(item);
            }
            true
        }
        Ok(Err(_)) => false,
        Err(_) => {
            let status = Status::resource_exhausted(format!(
                "watch stream cut off: the client read nothing for {:?} with {} entries waiting; reconnect from the last index seen",
                limits::WATCH_SEND_TIMEOUT,
                limits::WATCH_BUFFER_ENTRIES
            ));
            let _ = sender.try_send(Err(status));
            false
        }
    }
}
