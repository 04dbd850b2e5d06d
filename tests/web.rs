//! The web page's verify, proof and log parts against a real node
//! (`node::start` with its HTTP side on a loopback port, a real sled store in
//! a temp dir), credentials recorded over gRPC; the pages and their JSON agree
//! with the gRPC answers, refuse bad input with the right status and without
//! echoing it, and verify proof files as the library does.

mod common;

use chrono::{Days, NaiveDate};
use common::board::{discipline, enrol, issue};
use common::ADMIN_TOKEN;
use pb::DisciplineKind as K;
use peerreg::clock::{Clock, SystemClock};
use peerreg::config::{NodeConfig, TlsPaths};
use peerreg::error::Error;
use peerreg::log::note::{Checkpoint, NoteVerifier};
use peerreg::pb;
use peerreg::proof::ProofFile;
use peerreg::service::client::NodeClient;
use reqwest::StatusCode;

/// A node with its web side, and the dates its records were made around.
struct Site {
    node: peerreg::node::Node,
    web: String,
    board: NodeClient,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn days_ago(days: u64) -> String {
    let today = SystemClock.today();
    today.checked_sub_days(Days::new(days)).expect("a date").to_string()
}

fn years_after(date: &str, years: u32) -> String {
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
    let later = date
        .checked_add_months(chrono::Months::new(12 * years))
        .expect("a date");
    later.pred_opt().expect("a date").to_string()
}

fn config(dir: &std::path::Path) -> NodeConfig {
    common::ms_web_config(dir)
}

async fn start_node(config: NodeConfig) -> peerreg::node::Node {
    let listener = tokio::net::TcpListener::bind(config.listen).await.expect("bind");
    peerreg::node::start(config, listener).await.expect("the node starts")
}

/// MS-1 (Ada Lovelace): issued 400 days ago, suspended 100 days ago (so
/// active on a date of service 200 days ago). MS-2 (Grace Hopper): issued 30
/// days ago, in good standing.
async fn site() -> Site {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = start_node(config(dir.path())).await;
    let web = node.web_endpoint().expect("the web side is served");
    let board = NodeClient::connect(&node.endpoint(), Some(ADMIN_TOKEN.into()))
        .await
        .expect("connect");
    let first = days_ago(400);
    let second = days_ago(30);
    let bodies = vec![
        enrol("P-1", "Ada Lovelace"),
        issue("P-1", "MS-1", &first, &years_after(&first, 2)),
        discipline("MS-1", K::Suspension, &days_ago(100), ""),
        enrol("P-2", "Grace Hopper"),
        issue("P-2", "MS-2", &second, &years_after(&second, 2)),
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        board.record(format!("web-{i}"), body).await.expect("recorded");
    }
    Site {
        node,
        web,
        board,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Site {
    async fn get(&self, path_and_query: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path_and_query}", self.web))
            .send()
            .await
            .expect("the web side answers");
        let status = response.status();
        (status, response.text().await.expect("a body"))
    }

    async fn verify(&self, number: &str, name: &str, date: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}/?{}", self.web, form(number, name, date)))
            .send()
            .await
            .expect("the web side answers");
        let status = response.status();
        (status, response.text().await.expect("a body"))
    }

    async fn verify_json(&self, number: &str, name: &str, date: &str) -> (StatusCode, serde_json::Value) {
        let response = self
            .http
            .get(format!("{}/api/verify?{}", self.web, form(number, name, date)))
            .send()
            .await
            .expect("the web side answers");
        let status = response.status();
        (status, response.json().await.expect("JSON"))
    }

    async fn proof_download(&self, number: &str) -> String {
        let response = self
            .http
            .get(format!("{}/credential/{number}/proof", self.web))
            .send()
            .await
            .expect("the web side answers");
        assert_eq!(response.status(), StatusCode::OK);
        let disposition = response.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .expect("text")
            .to_string();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        response.text().await.expect("a body")
    }

    async fn upload(&self, file: &str, fresh: bool) -> (StatusCode, String) {
        let part = reqwest::multipart::Part::bytes(file.as_bytes().to_vec())
            .file_name("proof.json")
            .mime_str("application/json")
            .expect("mime");
        let mut form = reqwest::multipart::Form::new().part("proof", part);
        if fresh {
            form = form.text("fresh", "on");
        }
        let response = self
            .http
            .post(format!("{}/verify-proof", self.web))
            .multipart(form)
            .send()
            .await
            .expect("the web side answers");
        let status = response.status();
        (status, response.text().await.expect("a body"))
    }

    async fn upload_json(&self, file: impl Into<reqwest::Body>, fresh: bool) -> (StatusCode, serde_json::Value) {
        let query = if fresh { "?fresh=1" } else { "" };
        let response = self
            .http
            .post(format!("{}/api/verify-proof{query}", self.web))
            .body(file)
            .send()
            .await
            .expect("the web side answers");
        let status = response.status();
        (status, response.json().await.expect("JSON"))
    }
}

/// The verify form's query: every byte but letters and digits percent-encoded.
fn form(number: &str, name: &str, date: &str) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!("number={}&name={}&date={}", encode(number), encode(name), encode(date))
}

/// The text inside the element with `id` (up to its first child tag), unescaped.
fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{html}"));
    let open = at + html[at..].find('>').expect("tag end") + 1;
    let close = open + html[open..].find('<').expect("next tag");
    html[open..close]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn assert_refused(status: StatusCode, expected: StatusCode, page: &str) {
    assert_eq!(status, expected, "{page}");
    assert!(
        page.contains(r#"id="error""#) && page.contains(r#"role="alert""#),
        "{page}"
    );
    assert!(!page.contains(r#"id="result""#), "no answer beside a refusal: {page}");
}

#[tokio::test]
async fn the_verify_page_answers_an_employer_and_refuses_clearly() {
    let site = site().await;
    let (status, html) = site.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="verify-form""#) && !html.contains(r#"id="result""#));

    let (status, valid) = site.verify("MS-2", "grace hopper", "").await;
    assert_eq!(status, StatusCode::OK, "{valid}");
    assert!(valid.contains(r#"data-status="active""#), "{valid}");
    assert_eq!(text_of(&valid, "status-words"), "Active");
    assert!(valid.contains("status-ok"));
    assert_eq!(text_of(&valid, "holder"), "Grace Hopper");
    assert_eq!(text_of(&valid, "credential-number"), "MS-2");
    assert_eq!(text_of(&valid, "as-of"), SystemClock.today().to_string());
    assert_eq!(text_of(&valid, "issued-on"), days_ago(30));
    let size = site.node.ledger().published().checkpoint.size;
    assert_eq!(
        text_of(&valid, "log-size"),
        format!("verified against the signed log at size {size}")
    );
    assert!(valid.contains(r#"href="/credential/MS-2/proof""#), "{valid}");
    assert!(!valid.contains(r#"id="discipline""#), "no discipline, no list");

    let (status, suspended) = site.verify("MS-1", "", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(suspended.contains(r#"data-status="suspended""#), "{suspended}");
    assert_eq!(text_of(&suspended, "status-words"), "Suspended");
    assert!(suspended.contains("status-bad"));
    let listed = &suspended[suspended.find(r#"id="discipline""#).expect("discipline listed")..];
    assert!(
        listed.contains(&format!("Suspension from {} (in force)", days_ago(100))),
        "{listed}"
    );

    // A date of service: the answer as it stood then.
    let (status, then) = site.verify("MS-1", "Ada Lovelace", &days_ago(200)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(then.contains(r#"data-status="active""#), "{then}");
    assert_eq!(text_of(&then, "as-of"), days_ago(200));
    assert!(
        !then.contains(r#"id="discipline""#),
        "the suspension came later: {then}"
    );

    let (status, unknown) = site.verify("MS-404", "", "").await;
    assert_refused(status, StatusCode::NOT_FOUND, &unknown);
    assert!(
        text_of(&unknown, "error").contains("no credential \"MS-404\""),
        "{unknown}"
    );

    // A name that does not match says no more than an unknown number.
    let (status, wrong) = site.verify("MS-1", "Someone Else", "").await;
    assert_refused(status, StatusCode::NOT_FOUND, &wrong);
    assert!(!wrong.contains("Ada") && !wrong.contains("suspended"), "{wrong}");

    let (status, bad_date) = site.verify("MS-1", "", "2025-13-01").await;
    assert_refused(status, StatusCode::BAD_REQUEST, &bad_date);
    assert!(text_of(&bad_date, "error").contains("YYYY-MM-DD"), "{bad_date}");

    let (status, empty) = site.verify("", "", "").await;
    assert_refused(status, StatusCode::BAD_REQUEST, &empty);

    let long = "N".repeat(10_000);
    let (status, huge) = site.verify(&long, "", "").await;
    assert_refused(status, StatusCode::BAD_REQUEST, &huge);
    assert!(!huge.contains(&"N".repeat(100)), "the long input is not echoed");
    assert!(huge.len() < 20_000, "{} bytes", huge.len());
    site.node.stop().await.expect("stops");
}

#[tokio::test]
async fn the_json_answers_are_the_grpc_answers() {
    let site = site().await;
    let employer = NodeClient::connect(&site.node.endpoint(), None).await.expect("connect");
    for (number, name, date) in [
        ("MS-1", "", ""),
        ("MS-1", "ADA LOVELACE ", &days_ago(200) as &str),
        ("MS-2", "Grace Hopper", ""),
    ] {
        let request = pb::CheckCredentialRequest {
            credential_number: number.into(),
            legal_name: name.into(),
            as_of: date.into(),
        };
        let grpc = employer.check(request).await.expect("the gRPC check");
        let (status, json) = site.verify_json(number, name, date).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json, peerreg::cli::check_json(&grpc), "{number} {date}");
        let status_name = pb::CredentialStatus::try_from(grpc.status)
            .expect("status")
            .as_str_name();
        assert_eq!(json["status"], status_name);
        assert_eq!(json["legal_name"], grpc.legal_name);
        assert_eq!(json["as_of"], grpc.as_of);
        assert_eq!(json["expires_on"], grpc.expires_on);
        assert_eq!(json["log_size"], grpc.log_size);
        assert_eq!(json["discipline"].as_array().map(Vec::len), Some(grpc.discipline.len()));
    }
    // Refusals carry the gRPC code and message.
    for (number, name, date) in [
        ("MS-404", "", ""),
        ("MS-1", "Someone Else", ""),
        ("MS-1", "", "2025-02-30"),
        ("", "", ""),
    ] {
        let request = pb::CheckCredentialRequest {
            credential_number: number.into(),
            legal_name: name.into(),
            as_of: date.into(),
        };
        let refused = employer.check(request).await.expect_err("refused over gRPC");
        let (status, json) = site.verify_json(number, name, date).await;
        assert_eq!(json["error"]["code"], refused.code_name(), "{json}");
        assert_eq!(json["error"]["message"], refused.to_string(), "{json}");
        let expected = match refused {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        assert_eq!(status, expected);
    }
    site.node.stop().await.expect("stops");
}

#[tokio::test]
async fn a_downloaded_proof_verifies_on_the_page_and_a_changed_one_does_not() {
    let site = site().await;
    let downloaded = site.proof_download("MS-1").await;
    let exported = ProofFile::from_pb(site.board.export_proof("MS-1".into()).await.expect("export"));
    assert_eq!(
        downloaded,
        exported.to_json().expect("JSON"),
        "the file peerreg proof export saves"
    );

    let (status, page) = site.upload(&downloaded, false).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"data-outcome="valid""#), "{page}");
    assert!(text_of(&page, "explanation").contains("SUSPENDED"), "{page}");
    let (status, page) = site.upload(&downloaded, true).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(text_of(&page, "freshness").contains("current log"), "{page}");
    let (status, json) = site.upload_json(downloaded.clone(), true).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(
        (
            json["outcome"].as_str(),
            json["status"].as_str(),
            json["holder_name"].as_str()
        ),
        (Some("valid"), Some("CREDENTIAL_STATUS_SUSPENDED"), Some("Ada Lovelace"))
    );

    // One character of an entry changed: the signature or the tree says so.
    let mut tampered = exported.clone();
    let entry = &mut tampered.entries[0].entry;
    let flipped = if entry.starts_with('A') { "B" } else { "A" };
    entry.replace_range(0..1, flipped);
    let tampered = tampered.to_json().expect("JSON");
    let (status, page) = site.upload(&tampered, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains(r#"data-outcome="invalid""#), "{page}");
    assert!(text_of(&page, "error").contains("does not verify"), "{page}");
    let (status, json) = site.upload_json(tampered, false).await;
    assert_eq!(
        (status, json["outcome"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid"))
    );

    // A proof naming another state's key is not this node's to vouch for.
    let mut foreign = exported.clone();
    foreign.verifier_key = common::signer("peerreg.local/tn").verifier().to_key_string();
    let (status, page) = site.upload(&foreign.to_json().expect("JSON"), false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(text_of(&page, "error").contains("another verifier key"), "{page}");

    // Not a proof file at all; its text is not echoed back.
    let junk = format!("{{\"format\": \"{}\"", "x".repeat(5_000));
    let (status, page) = site.upload(&junk, false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains(r#"data-outcome="invalid""#) && !page.contains(&"x".repeat(100)));
    site.node.stop().await.expect("stops");
}

#[tokio::test]
async fn a_fresh_check_sees_what_happened_after_the_file_was_saved() {
    let site = site().await;
    let saved = site.proof_download("MS-2").await;
    site.board
        .record("later".into(), discipline("MS-2", K::Suspension, &days_ago(1), ""))
        .await
        .expect("recorded");
    let (_, offline) = site.upload_json(saved.clone(), false).await;
    assert_eq!(offline["status"], "CREDENTIAL_STATUS_ACTIVE", "{offline}");
    let (status, fresh) = site.upload_json(saved, true).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(fresh["status"], "CREDENTIAL_STATUS_SUSPENDED", "{fresh}");
    assert!(fresh["checkpoint_size"].as_u64() > offline["checkpoint_size"].as_u64());
    site.node.stop().await.expect("stops");
}

#[tokio::test]
async fn an_oversized_upload_is_refused_and_the_node_still_answers() {
    let site = site().await;
    let huge = vec![b' '; peerreg::limits::HTTP_BODY_BYTES_MAX + 1];
    let (status, json) = site.upload_json(huge.clone(), false).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["error"]["code"], "RESOURCE_EXHAUSTED");
    let (status, page) = site.upload(&String::from_utf8(huge).expect("spaces"), false).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.contains(r#"id="error""#), "{page}");
    let (status, page) = site.verify("MS-2", "", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"data-status="active""#));
    site.node.stop().await.expect("stops");
}

#[tokio::test]
async fn the_log_page_shows_the_signed_checkpoint_and_how_to_audit() {
    let site = site().await;
    let (status, page) = site.get("/log").await;
    assert_eq!(status, StatusCode::OK);
    let published = site.node.ledger().published();
    assert_eq!(text_of(&page, "log-size"), published.checkpoint.size.to_string());
    let key = text_of(&page, "verifier-key");
    assert_eq!(key, site.node.ledger().verifier().to_key_string());
    let verifier = NoteVerifier::parse(&key).expect("a key");
    let note = text_of(&page, "checkpoint");
    let checkpoint = Checkpoint::open(note.as_bytes(), &verifier).expect("the checkpoint verifies with the key");
    assert_eq!(checkpoint.size, published.checkpoint.size);
    let command = text_of(&page, "audit-command");
    assert!(
        command.starts_with("peerreg audit --endpoint ENDPOINT --verifier-key '"),
        "{command}"
    );
    assert!(command.contains(&key));

    let json: serde_json::Value = site
        .http
        .get(format!("{}/api/log", site.web))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(json["size"], published.checkpoint.size);
    let note = json["checkpoint"].as_str().expect("text");
    Checkpoint::open(note.as_bytes(), &verifier).expect("the JSON's checkpoint verifies");
    site.node.stop().await.expect("stops");
}

/// A certificate for "localhost" from a fresh CA: (CA PEM, cert PEM, key PEM).
fn certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(vec!["peerreg test CA".to_string()]).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).expect("self-signed").pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("sign");
    (ca_pem, cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn with_tls_the_page_is_served_over_https() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::{self, pki_types::CertificateDer, pki_types::ServerName};
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca_pem, cert_pem, key_pem) = certificates();
    std::fs::write(dir.path().join("cert.pem"), cert_pem).expect("write");
    std::fs::write(dir.path().join("key.pem"), key_pem).expect("write");
    let data = dir.path().join("data");
    let mut config = config(&data);
    config.tls = Some(TlsPaths {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
        client_ca: None,
    });
    let node = start_node(config).await;
    let web = node.web_endpoint().expect("served");
    assert!(web.starts_with("https://"), "{web}");

    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("PEM"))
        .expect("root");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    let address = web.trim_start_matches("https://");
    let tcp = tokio::net::TcpStream::connect(address).await.expect("connect");
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("the TLS handshake succeeds");
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer).await.ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#"id="verify-form""#), "{answer}");

    // Plain HTTP on the TLS port gets no page.
    let plain = reqwest::get(format!("http://{address}/")).await;
    assert!(plain.map(|r| r.status() != StatusCode::OK).unwrap_or(true));
    node.stop().await.expect("stops");
}
