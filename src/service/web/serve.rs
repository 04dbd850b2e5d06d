//! The HTTP listener's accept loop: the gRPC side's connection bounds
//! ([`LimitedIncoming`]), TLS with the same certificate, key and client CA,
//! HTTP/1.1 and HTTP/2 (hyper's auto builder), and a graceful stop.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use tokio_stream::StreamExt;

use super::super::incoming::{LimitedIncoming, LimitedStream};
use super::super::tls::TlsFiles;
use crate::error::{Error, Result};
use crate::limits::{self, ServerLimits};

/// Serves `router` on `listener` until `shutdown` completes, then lets open
/// requests finish for at most [`limits::SHUTDOWN_GRACE`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<&TlsFiles>,
    server: &ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let acceptor = tls.map(tls_acceptor).transpose()?;
    let mut incoming = LimitedIncoming::new(listener, server);
    let builder = http_builder(server);
    let graceful = GracefulShutdown::new();
    let service = TowerToHyperService::new(router);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            next = incoming.next() => match next {
                Some(Ok(stream)) => stream,
                Some(Err(e)) => {
                    tracing::warn!("the web listener could not accept a connection: {e}");
                    continue;
                }
                None => break,
            },
        };
        let (builder, service, acceptor, watcher) =
            (builder.clone(), service.clone(), acceptor.clone(), graceful.watcher());
        tokio::spawn(async move {
            let result = match acceptor {
                None => {
                    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(connection.into_owned()).await
                }
                Some(acceptor) => match handshake(&acceptor, stream).await {
                    Some(tls) => {
                        let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                        watcher.watch(connection.into_owned()).await
                    }
                    None => Ok(()),
                },
            };
            if let Err(e) = result {
                tracing::debug!("a web connection ended with an error: {e}");
            }
        });
    }
    if tokio::time::timeout(limits::SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open web connections did not end within {:?}", limits::SHUTDOWN_GRACE);
    }
    Ok(())
}

/// HTTP/1.1 and HTTP/2 with the gRPC side's keepalive, and a bound on the
/// time a client may take to send its request head.
fn http_builder(server: &ServerLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(server.request_timeout)
        .max_buf_size(limits::HTTP_HEAD_BYTES_MAX);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits::GRPC_CONCURRENT_STREAMS_MAX)
        .keep_alive_interval(server.http2_keepalive_interval)
        .keep_alive_timeout(server.http2_keepalive_timeout);
    builder
}

/// The TLS handshake, bounded by [`limits::TLS_HANDSHAKE_TIMEOUT`]; a failed
/// one closes the connection.
async fn handshake(
    acceptor: &TlsAcceptor,
    stream: LimitedStream,
) -> Option<tokio_rustls::server::TlsStream<LimitedStream>> {
    match tokio::time::timeout(limits::TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!("a web TLS handshake failed: {e}");
            None
        }
        Err(_) => None,
    }
}

/// rustls with the node's certificate and key; with a client CA, clients must
/// present a certificate chaining to it (as on the gRPC side).
fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad =
        |what: &str, e: &dyn std::fmt::Display| Error::InvalidArgument(format!("the TLS {what} is not usable: {e}"));
    let certs = CertificateDer::pem_slice_iter(&files.cert_pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad("certificate", &e))?;
    let key = PrivateKeyDer::from_pem_slice(&files.key_pem).map_err(|e| bad("key", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("configuration", &e))?;
    let builder = match &files.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca) {
                roots
                    .add(cert.map_err(|e| bad("client CA", &e))?)
                    .map_err(|e| bad("client CA", &e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| bad("client CA", &e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| bad("certificate or key", &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
