//! TLS and mutual TLS on loopback, with certificates made for the test.

mod common;

use std::sync::Arc;

use common::{board::enrol, open_ledger, ADMIN_TOKEN};
use peerreg::error::Error;
use peerreg::service::client::{ClientTls, NodeClient};
use peerreg::service::server::{serve, ServeOptions, TlsFiles};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

struct Pki {
    ca_pem: String,
    server: (String, String),
    client: (String, String),
    stranger: (String, String),
}

fn leaf(name: &str, issuer: &Issuer<'_, KeyPair>) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec![name.to_string()]).expect("params");
    let cert = params.signed_by(&key, issuer).expect("sign");
    (cert.pem(), key.serialize_pem())
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec![name.to_string()]).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("self-signed");
    (cert.pem(), Issuer::new(params, key))
}

fn pki() -> Pki {
    let (ca_pem, issuer) = ca("peerreg test CA");
    let (_, other) = ca("someone else's CA");
    Pki {
        ca_pem,
        server: leaf("localhost", &issuer),
        client: leaf("board-client", &issuer),
        stranger: leaf("stranger", &other),
    }
}

async fn start(dir: &std::path::Path, tls: TlsFiles) -> String {
    let ledger = open_ledger(dir).expect("open");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let mut options = common::serve_options();
    options.tls = Some(tls);
    let options = ServeOptions {
        tokens: Arc::clone(&options.tokens),
        tls: options.tls,
        mirrors: Vec::new(),
        federation: None,
        limits: Default::default(),
        witnessing: None,
        vc: None,
    };
    tokio::spawn(serve(listener, None, ledger, options, std::future::pending()));
    format!("https://localhost:{port}")
}

fn client_tls(pki: &Pki, identity: Option<&(String, String)>) -> ClientTls {
    ClientTls {
        ca_pem: pki.ca_pem.clone().into_bytes(),
        identity: identity.map(|(c, k)| (c.clone().into_bytes(), k.clone().into_bytes())),
        domain: Some("localhost".into()),
    }
}

#[tokio::test]
async fn mutual_tls_admits_only_clients_with_a_certificate_from_the_boards_ca() {
    let pki = pki();
    let dir = tempfile::tempdir().expect("temp dir");
    let files = TlsFiles {
        cert_pem: pki.server.0.clone().into_bytes(),
        key_pem: pki.server.1.clone().into_bytes(),
        client_ca_pem: Some(pki.ca_pem.clone().into_bytes()),
    };
    let endpoint = start(dir.path(), files).await;
    let token = Some(ADMIN_TOKEN.to_string());

    let board = NodeClient::connect_tls(&endpoint, token.clone(), &client_tls(&pki, Some(&pki.client)))
        .await
        .expect("a client with a certificate from the CA connects");
    let receipt = board
        .record("tls-1".into(), enrol("MS-P-1", "Ada"))
        .await
        .expect("append over mTLS");
    assert_eq!(receipt.index, 0);

    let stranger = async {
        let client = NodeClient::connect_tls(&endpoint, token.clone(), &client_tls(&pki, Some(&pki.stranger))).await?;
        client.record("tls-2".into(), enrol("MS-P-2", "Eve")).await
    };
    assert!(
        matches!(stranger.await, Err(Error::Unavailable(_) | Error::Internal(_))),
        "a foreign certificate is refused"
    );
    let anonymous = async {
        let client = NodeClient::connect_tls(&endpoint, token.clone(), &client_tls(&pki, None)).await?;
        client.record("tls-3".into(), enrol("MS-P-3", "Eve")).await
    };
    assert!(anonymous.await.is_err(), "no client certificate, no service");
    let plaintext = async {
        let client = NodeClient::connect(&endpoint.replace("https", "http"), token.clone()).await?;
        client.record("tls-4".into(), enrol("MS-P-4", "Eve")).await
    };
    assert!(plaintext.await.is_err(), "plaintext is not served on a TLS port");
}

#[tokio::test]
async fn server_only_tls_serves_any_client_that_trusts_the_node() {
    let pki = pki();
    let dir = tempfile::tempdir().expect("temp dir");
    let files = TlsFiles {
        cert_pem: pki.server.0.clone().into_bytes(),
        key_pem: pki.server.1.clone().into_bytes(),
        client_ca_pem: None,
    };
    let endpoint = start(dir.path(), files).await;
    let employer = NodeClient::connect_tls(&endpoint, None, &client_tls(&pki, None))
        .await
        .expect("connect");
    let stats = employer.statistics(String::new()).await.expect("statistics over TLS");
    assert_eq!(stats.state, "MS");
}
