//! Serving a node: the listener is injected (tests bind `127.0.0.1:0`), the
//! shutdown signal too; health and reflection ride along.

use std::future::Future;

use tokio::net::{TcpListener, TcpStream};
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::Server;

use super::rpc::transparency_log_server::TransparencyLogServer;
use super::{TransparencyLogService, FILE_DESCRIPTOR_SET};
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::limits;

/// Accepted connections with Nagle's algorithm off: small unary answers must not
/// wait for the peer's delayed ACK (≈40 ms a call otherwise).
fn incoming(listener: TcpListener) -> impl Stream<Item = std::io::Result<TcpStream>> {
    TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}

/// Serves `ledger` on `listener` until `shutdown` completes, then drains
/// in-flight requests and returns.
pub async fn serve(listener: TcpListener, ledger: Ledger, shutdown: impl Future<Output = ()> + Send) -> Result<()> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<TransparencyLogServer<TransparencyLogService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| Error::Internal(format!("cannot build the reflection service: {e}")))?;
    let log = TransparencyLogServer::new(TransparencyLogService::new(ledger))
        .max_decoding_message_size(limits::GRPC_REQUEST_BYTES_MAX)
        .max_encoding_message_size(limits::GRPC_RESPONSE_BYTES_MAX);
    Server::builder()
        .max_concurrent_streams(Some(limits::GRPC_CONCURRENT_STREAMS_MAX))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(log)
        .serve_with_incoming_shutdown(incoming(listener), shutdown)
        .await
        .map_err(|e| Error::Internal(format!("the gRPC server failed: {e}")))
}
