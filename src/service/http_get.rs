//! One bounded HTTP GET (HTTP/1.1, hyper's client connection), for the
//! commands that read a node's HTTP side: `peerreg export-vc` (a credential's
//! VC) and `peerreg verify-vc --status` (the status list a VC names).
//! `https://` needs the CA that signed the server's certificate (`--ca-cert`,
//! as for gRPC): there is no system trust store here.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::domain::fact::quote;
use crate::error::{Error, Result};

/// The longest a GET may take, connection included.
const GET_TIMEOUT: Duration = Duration::from_secs(30);

/// The body of `GET url` if it answers 200 within `most_bytes`; a 404 is
/// `NOT_FOUND`, any other answer or failure `UNAVAILABLE` (with the server's
/// message when it sent one).
pub async fn get(url: &str, ca_pem: Option<&[u8]>, most_bytes: usize) -> Result<Vec<u8>> {
    tokio::time::timeout(GET_TIMEOUT, get_unbounded(url, ca_pem, most_bytes))
        .await
        .map_err(|_| Error::Unavailable(format!("GET {}: no answer within {GET_TIMEOUT:?}", quote(url))))?
}

async fn get_unbounded(url: &str, ca_pem: Option<&[u8]>, most_bytes: usize) -> Result<Vec<u8>> {
    let uri: Uri = url
        .parse()
        .map_err(|e| Error::InvalidArgument(format!("{} is not a URL: {e}", quote(url))))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(Error::InvalidArgument(format!(
            "{} is not an http:// or https:// URL",
            quote(url)
        )));
    };
    let https = match scheme {
        "http" => false,
        "https" => true,
        _ => {
            return Err(Error::InvalidArgument(format!(
                "{} is not an http:// or https:// URL",
                quote(url)
            )))
        }
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let unavailable = |e: &dyn std::fmt::Display| Error::Unavailable(format!("GET {}: {e}", quote(url)));
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| unavailable(&e))?;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
    let request = Request::get(path)
        .header(header::HOST, authority.as_str())
        .header(header::ACCEPT, "application/vc, application/json")
        .body(Body::empty())
        .map_err(|e| unavailable(&e))?;
    let (status, body) = if https {
        let Some(ca_pem) = ca_pem else {
            return Err(Error::InvalidArgument(format!(
                "{} is https: pass --ca-cert with the CA that signed its certificate",
                quote(url)
            )));
        };
        let tls = tls_connect(stream, &host, ca_pem).await.map_err(|e| unavailable(&e))?;
        send(tls, request, most_bytes).await
    } else {
        send(stream, request, most_bytes).await
    }
    .map_err(|e| unavailable(&e))?;
    match status {
        StatusCode::OK => Ok(body),
        StatusCode::NOT_FOUND => Err(Error::NotFound(format!("GET {}: {}", quote(url), answer_text(&body)))),
        other => Err(unavailable(&format!("answered {other}: {}", answer_text(&body)))),
    }
}

/// A short, printable prefix of an error answer.
fn answer_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).to_string();
    quote(&text)
}

async fn send<S>(
    stream: S,
    request: Request<Body>,
    most_bytes: usize,
) -> std::result::Result<(StatusCode, Vec<u8>), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = axum::body::to_bytes(Body::new(response.into_body()), most_bytes)
        .await
        .map_err(|e| format!("the answer is not readable or larger than {most_bytes} bytes: {e}"))?;
    Ok((status, body.to_vec()))
}

async fn tls_connect(
    stream: tokio::net::TcpStream,
    host: &str,
    ca_pem: &[u8],
) -> std::result::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots
            .add(cert.map_err(|e| format!("the CA certificate: {e}"))?)
            .map_err(|e| format!("the CA certificate: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|e| e.to_string())
}

/// A log's C2SP tiles under `base`, read over HTTP(S) (`peerreg audit --tiles`).
pub struct HttpTiles {
    base: String,
    ca_pem: Option<Vec<u8>>,
}

impl HttpTiles {
    pub fn new(base: &str, ca_pem: Option<Vec<u8>>) -> HttpTiles {
        HttpTiles {
            base: base.trim_end_matches('/').to_string(),
            ca_pem,
        }
    }
}

/// The largest tile read: a full entry bundle of the largest entries.
const TILE_BYTES_MAX: usize = 256 * (crate::limits::ENTRY_BYTES_MAX + 2);

impl crate::audit::TileReader for HttpTiles {
    fn get(&self, path: &str) -> crate::source::SourceFuture<'_, Vec<u8>> {
        let url = format!("{}/{path}", self.base);
        Box::pin(async move { get(&url, self.ca_pem.as_deref(), TILE_BYTES_MAX).await })
    }
}
