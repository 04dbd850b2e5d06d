//! The TLS material a node serves with, shared by the gRPC side (tonic's
//! rustls) and the HTTP side (tokio-rustls): one certificate, one key, one
//! client CA for both listeners.

/// PEM material for TLS; with `client_ca_pem`, clients must present a
/// certificate signed by that CA (mutual TLS).
#[derive(Clone, Debug, Default)]
pub struct TlsFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub client_ca_pem: Option<Vec<u8>>,
}
