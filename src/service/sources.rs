//! The gRPC clients as the sources that the log's readers own traits for
//! (`crate::source`), and the connector federation reaches trusted states with.

use super::client::{connect_with, ClientTls, LogClient, NodeClient};
use crate::log::merkle::{Hash, LeafIndex, TreeSize};
use crate::pb;
use crate::source::{Connector, EvidenceSource, LogIdentity, LogSource, NodeAddress, ProofSource, SourceFuture};

impl LogSource for LogClient {
    fn identity(&self) -> SourceFuture<'_, LogIdentity> {
        Box::pin(LogClient::identity(self))
    }

    fn checkpoint_note(&self) -> SourceFuture<'_, Vec<u8>> {
        Box::pin(LogClient::checkpoint_note(self))
    }

    fn witnessed_note(&self) -> SourceFuture<'_, Vec<u8>> {
        Box::pin(LogClient::witnessed_note(self))
    }

    fn entries(&self, start: u64, end: u64) -> SourceFuture<'_, Vec<Vec<u8>>> {
        Box::pin(LogClient::entries(self, start, end))
    }

    fn inclusion_proof(&self, index: LeafIndex, tree_size: TreeSize) -> SourceFuture<'_, Vec<Hash>> {
        Box::pin(LogClient::inclusion_proof(self, index.0, tree_size.0))
    }

    fn consistency_proof(&self, from_size: TreeSize, to_size: TreeSize) -> SourceFuture<'_, Vec<Hash>> {
        Box::pin(LogClient::consistency_proof(self, from_size.0, to_size.0))
    }
}

impl EvidenceSource for NodeClient {
    fn evidence(&self, request: pb::GetEvidenceRequest) -> SourceFuture<'_, pb::EvidenceBundle> {
        Box::pin(NodeClient::evidence(self, request))
    }
}

impl ProofSource for NodeClient {
    fn credential_proof(&self, credential_number: String) -> SourceFuture<'_, pb::CredentialProof> {
        Box::pin(NodeClient::export_proof(self, credential_number))
    }
}

/// Reaches trusted states over gRPC (TLS when their trust entry names a CA).
#[derive(Clone, Copy, Debug, Default)]
pub struct GrpcConnector;

fn tls(address: &NodeAddress) -> Option<ClientTls> {
    address.ca_pem.as_ref().map(|ca_pem| ClientTls {
        ca_pem: ca_pem.clone(),
        identity: None,
        domain: None,
    })
}

impl Connector for GrpcConnector {
    fn log(&self, address: &NodeAddress) -> SourceFuture<'_, Box<dyn LogSource>> {
        let address = address.clone();
        Box::pin(async move {
            let channel = connect_with(&address.endpoint, tls(&address).as_ref()).await?;
            Ok(Box::new(LogClient::new(channel)) as Box<dyn LogSource>)
        })
    }

    fn node(&self, address: &NodeAddress) -> SourceFuture<'_, Box<dyn EvidenceSource>> {
        let address = address.clone();
        Box::pin(async move {
            let channel = connect_with(&address.endpoint, tls(&address).as_ref()).await?;
            Ok(Box::new(NodeClient::from_channel(channel, None)) as Box<dyn EvidenceSource>)
        })
    }
}
