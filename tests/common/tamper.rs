//! A node that serves a real log but alters one entry in transit: what a
//! tampering (or broken) mirror looks like to auditors and repairs.

use std::pin::Pin;

use peerreg::ledger::Ledger;
use peerreg::pb;
use peerreg::service::rpc::transparency_log_server::{TransparencyLog, TransparencyLogServer};
use peerreg::service::TransparencyLogService;
use tonic::{Request, Response, Status};

/// A node that serves a real log but alters entry `victim` in transit.
struct TamperingLog {
    honest: TransparencyLogService,
    victim: u64,
}

#[tonic::async_trait]
impl TransparencyLog for TamperingLog {
    async fn get_log_info(&self, r: Request<pb::GetLogInfoRequest>) -> Result<Response<pb::LogInfo>, Status> {
        self.honest.get_log_info(r).await
    }
    async fn get_checkpoint(&self, r: Request<pb::GetCheckpointRequest>) -> Result<Response<pb::Checkpoint>, Status> {
        self.honest.get_checkpoint(r).await
    }
    async fn get_witnessed_checkpoint(
        &self,
        r: Request<pb::GetWitnessedCheckpointRequest>,
    ) -> Result<Response<pb::WitnessedCheckpoint>, Status> {
        self.honest.get_witnessed_checkpoint(r).await
    }
    async fn get_entries(&self, r: Request<pb::GetEntriesRequest>) -> Result<Response<pb::GetEntriesResponse>, Status> {
        let start = r.get_ref().start;
        let mut page = self.honest.get_entries(r).await?;
        if let Some(entry) = self
            .victim
            .checked_sub(start)
            .and_then(|i| page.get_mut().entries.get_mut(i as usize))
        {
            let at = entry.len() - 70;
            entry[at] ^= 0x20;
        }
        Ok(page)
    }
    async fn get_inclusion_proof(
        &self,
        r: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        self.honest.get_inclusion_proof(r).await
    }
    async fn get_consistency_proof(
        &self,
        r: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        self.honest.get_consistency_proof(r).await
    }
    type WatchEntriesStream =
        Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::WatchEntriesResponse, Status>> + Send>>;
    async fn watch_entries(
        &self,
        _: Request<pb::WatchEntriesRequest>,
    ) -> Result<Response<Self::WatchEntriesStream>, Status> {
        Err(Status::unimplemented("not in this fake"))
    }
}

pub async fn serve_tampering(ledger: Ledger, victim: u64) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let service = TamperingLog {
        honest: TransparencyLogService::new(ledger),
        victim,
    };
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TransparencyLogServer::new(service))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    endpoint
}
