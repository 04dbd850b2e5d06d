//! Serving a node: the listener is injected (tests bind `127.0.0.1:0`), the
//! shutdown signal too; health and reflection ride along. Every connection and
//! request is bounded by [`ServerLimits`]: open connections, requests in flight
//! per connection, time to a response, and keepalive to shed vanished peers.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use super::incoming::LimitedIncoming;
use super::rpc::admin_server::AdminServer;
use super::rpc::board_server::BoardServer;
use super::rpc::federation_server::FederationServer;
use super::rpc::reciprocity_server::ReciprocityServer;
use super::rpc::registry_server::RegistryServer;
use super::rpc::transparency_log_server::TransparencyLogServer;
use super::rpc_metrics::RpcMetricsLayer;
use super::{
    AdminService, BoardService, FederationService, ReciprocityService, RegistryService, TransparencyLogService,
    FILE_DESCRIPTOR_SET,
};
use crate::auth::Tokens;
use crate::error::{Error, Result};
use crate::federation::Federation;
use crate::ledger::Ledger;
use crate::limits::{self, ServerLimits};
use crate::witness::Witnessing;

pub use super::tls::TlsFiles;

/// What a node serves besides its ledger.
#[derive(Clone)]
pub struct ServeOptions {
    /// Tokens allowed to write (and to read full peer records).
    pub tokens: Arc<Tokens>,
    pub tls: Option<TlsFiles>,
    /// Other states' logs this node follows and serves read-only.
    pub mirrors: Vec<Ledger>,
    /// The states this node trusts (none if absent).
    pub federation: Option<Arc<Federation>>,
    /// Connections, requests in flight, request time, keepalive.
    pub limits: ServerLimits,
    /// The node's witness and cosignature collector, if it runs them.
    pub witnessing: Option<Arc<Witnessing>>,
    /// The board's VC issuer key and public URL, if the HTTP side issues VCs.
    pub vc: Option<crate::vc::issuer::Issuing>,
}

fn tls_config(files: &TlsFiles) -> ServerTlsConfig {
    let config = ServerTlsConfig::new().identity(Identity::from_pem(&files.cert_pem, &files.key_pem));
    match &files.client_ca_pem {
        Some(ca) => config.client_ca_root(Certificate::from_pem(ca)),
        None => config,
    }
}

/// A server builder with every bound of `limits` set. The request timeout
/// covers a handler until it returns its response: a unary call whose request
/// never finishes arriving is cut, a watch stream (already answered) is not.
fn bounded_server(limits: &ServerLimits) -> Server {
    Server::builder()
        .max_concurrent_streams(Some(limits::GRPC_CONCURRENT_STREAMS_MAX))
        .concurrency_limit_per_connection(limits.requests_per_connection_max)
        .timeout(limits.request_timeout)
        .http2_keepalive_interval(Some(limits.http2_keepalive_interval))
        .http2_keepalive_timeout(Some(limits.http2_keepalive_timeout))
}

/// Serves `ledger` over gRPC on `listener`, and its HTTP side on `web` if
/// given, until `shutdown` completes; then both drain in-flight requests and
/// this returns. If either server fails, the other is stopped with it.
pub async fn serve(
    listener: TcpListener,
    web: Option<TcpListener>,
    ledger: Ledger,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let web_side = {
        let (ledger, tls, limits) = (ledger.clone(), options.tls.clone(), options.limits);
        let witnessing = options.witnessing.clone();
        let vc = options.vc.clone();
        let stopped = until_stopped(stopped.clone());
        async move {
            let Some(listener) = web else { return Ok(()) };
            let issuer = match vc {
                Some(vc) => {
                    let address = listener
                        .local_addr()
                        .map_err(|e| Error::Internal(format!("the HTTP listener has no address: {e}")))?;
                    Some(Arc::new(vc.issuer(address, tls.is_some())))
                }
                None => None,
            };
            let state = super::web::WebState::new(ledger)
                .with_vc(issuer)
                .witnessed_by(witnessing);
            let router = super::web::router(state, &limits);
            super::web::serve(listener, router, tls.as_ref(), &limits, stopped).await
        }
    };
    let grpc_side = serve_grpc(listener, ledger, options, until_stopped(stopped));
    let both = async { tokio::try_join!(grpc_side, web_side).map(|_| ()) };
    tokio::pin!(both);
    tokio::select! {
        finished = &mut both => finished,
        () = shutdown => {
            let _ = stop.send(true);
            both.await
        }
    }
}

/// Reflection over our services and health (and reflection itself).
fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// The gRPC side of [`serve`].
async fn serve_grpc(
    listener: TcpListener,
    ledger: Ledger,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<TransparencyLogServer<TransparencyLogService>>()
        .await;
    health.set_serving::<BoardServer<BoardService>>().await;
    health.set_serving::<RegistryServer<RegistryService>>().await;
    health.set_serving::<ReciprocityServer<ReciprocityService>>().await;
    health.set_serving::<FederationServer<FederationService>>().await;
    health.set_serving::<AdminServer<AdminService>>().await;
    // Reflection in both versions: older clients (grpcurl builds, Python's
    // grpcio-reflection) only speak v1alpha.
    let reflection = reflection_builder()
        .build_v1()
        .map_err(|e| Error::Internal(format!("cannot build the reflection service: {e}")))?;
    let reflection_v1alpha = reflection_builder()
        .build_v1alpha()
        .map_err(|e| Error::Internal(format!("cannot build the reflection service (v1alpha): {e}")))?;
    let metered = RpcMetricsLayer::new(ledger.metrics(), FILE_DESCRIPTOR_SET);
    let log = TransparencyLogServer::new(
        TransparencyLogService::with_mirrors(ledger.clone(), options.mirrors).witnessed_by(options.witnessing.clone()),
    )
    .max_decoding_message_size(limits::GRPC_REQUEST_BYTES_MAX)
    .max_encoding_message_size(limits::GRPC_RESPONSE_BYTES_MAX);
    let board = BoardServer::new(BoardService::new(ledger.clone(), options.tokens.clone()))
        .max_decoding_message_size(limits::GRPC_REQUEST_BYTES_MAX)
        .max_encoding_message_size(limits::GRPC_RESPONSE_BYTES_MAX);
    let registry = RegistryServer::new(
        RegistryService::new(ledger.clone(), options.tokens.clone()).witnessed_by(options.witnessing.clone()),
    )
    .max_decoding_message_size(limits::GRPC_REQUEST_BYTES_MAX)
    .max_encoding_message_size(limits::GRPC_RESPONSE_BYTES_MAX);
    let federation = options
        .federation
        .unwrap_or_else(|| Arc::new(Federation::empty(ledger.state())));
    let reciprocity = ReciprocityServer::new(ReciprocityService::new(
        ledger.clone(),
        options.tokens.clone(),
        federation.clone(),
    ))
    .max_decoding_message_size(limits::GRPC_REQUEST_BYTES_MAX)
    .max_encoding_message_size(limits::GRPC_RESPONSE_BYTES_MAX);
    let admin = AdminServer::new(AdminService::new(
        options.tokens.clone(),
        ledger.clone(),
        federation.clone(),
    ))
    .max_decoding_message_size(limits::GRPC_REQUEST_BYTES_MAX)
    .max_encoding_message_size(limits::GRPC_RESPONSE_BYTES_MAX);
    let federation = FederationServer::new(FederationService::new(ledger, federation, options.tokens))
        .max_decoding_message_size(limits::GRPC_REQUEST_BYTES_MAX)
        .max_encoding_message_size(limits::GRPC_RESPONSE_BYTES_MAX);
    let mut builder = bounded_server(&options.limits);
    if let Some(files) = &options.tls {
        builder = builder
            .tls_config(tls_config(files))
            .map_err(|e| Error::InvalidArgument(format!("the TLS certificate or key is not usable: {e}")))?;
    }
    builder
        .layer(metered)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(log)
        .add_service(board)
        .add_service(registry)
        .add_service(reciprocity)
        .add_service(federation)
        .add_service(admin)
        .serve_with_incoming_shutdown(LimitedIncoming::new(listener, &options.limits), shutdown)
        .await
        .map_err(|e| Error::Internal(format!("the gRPC server failed: {e}")))
}
