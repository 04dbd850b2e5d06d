//! The HTTP client that asks a partner's witness to cosign (`POST
//! <url>/add-checkpoint`): one connection per request (a request per commit
//! per witness, a few a second at most), HTTP/1.1, TLS with the partner's CA
//! for `https://`. The answer is read up to [`ANSWER_BYTES_MAX`]; the
//! request as a whole is bounded by the collector's timeout.

use std::sync::Arc;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use crate::error::{Error, Result};
use crate::witness::collect::ClientFuture;
use crate::witness::request::parse_size_body;
use crate::witness::{Reply, WitnessClient, WitnessPeer};

/// The longest answer read: cosignature lines, or a refusal's sentence.
const ANSWER_BYTES_MAX: usize = 64 * 1024;

/// Asks witnesses over HTTP(S).
#[derive(Clone, Copy, Debug, Default)]
pub struct HttpWitnessClient;

impl WitnessClient for HttpWitnessClient {
    fn add_checkpoint<'a>(&'a self, peer: &'a WitnessPeer, body: Vec<u8>) -> ClientFuture<'a> {
        Box::pin(post(peer, body))
    }
}

async fn post(peer: &WitnessPeer, body: Vec<u8>) -> Result<Reply> {
    let unreachable =
        |e: &dyn std::fmt::Display| Error::Unavailable(format!("witness {} ({}): {e}", peer.state, peer.url));
    let uri: Uri = format!("{}/add-checkpoint", peer.url.trim_end_matches('/'))
        .parse()
        .map_err(|e| Error::InvalidArgument(format!("witness URL {}: {e}", peer.url)))?;
    let host = uri.host().unwrap_or_default().to_string();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let request = Request::post(uri.path())
        .header(HOST, uri.authority().map(|a| a.as_str()).unwrap_or(&host))
        .header(CONTENT_TYPE, "text/plain")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| unreachable(&e))?;
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| unreachable(&e))?;
    let response = if https {
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(peer)?));
        let name = ServerName::try_from(host.clone()).map_err(|e| unreachable(&e))?;
        let tls = connector.connect(name, tcp).await.map_err(|e| unreachable(&e))?;
        send(tls, request).await
    } else {
        send(tcp, request).await
    }
    .map_err(|e| unreachable(&e))?;
    let (parts, body) = response.into_parts();
    let bytes = Limited::new(body, ANSWER_BYTES_MAX)
        .collect()
        .await
        .map_err(|e| unreachable(&e))?
        .to_bytes();
    let is_size = parts
        .headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"text/x.tlog.size");
    Ok(match parts.status.as_u16() {
        200 => Reply::Cosigned(String::from_utf8_lossy(&bytes).into_owned()),
        409 if is_size => match parse_size_body(&bytes) {
            Some(size) => Reply::Conflict(size),
            None => Reply::Refused {
                status: 502,
                message: "the witness's 409 did not carry a tree size".into(),
            },
        },
        status => Reply::Refused {
            status,
            message: crate::limits::quote(String::from_utf8_lossy(&bytes).trim()),
        },
    })
}

async fn send<S>(
    stream: S,
    request: Request<Full<Bytes>>,
) -> std::result::Result<hyper::Response<hyper::body::Incoming>, hyper::Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender.send_request(request).await
}

/// Trusts only the partner's CA (from its trust entry) for `https://`.
fn client_config(peer: &WitnessPeer) -> Result<rustls::ClientConfig> {
    let Some(ca) = &peer.ca_pem else {
        return Err(Error::FailedPrecondition(format!(
            "witness {} is https:// but its trust entry names no CA (ca_cert)",
            peer.state
        )));
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca) {
        let cert = cert.map_err(|e| Error::InvalidArgument(format!("the CA of {}: {e}", peer.state)))?;
        roots
            .add(cert)
            .map_err(|e| Error::InvalidArgument(format!("the CA of {}: {e}", peer.state)))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
