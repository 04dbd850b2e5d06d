//! W3C Verifiable Credentials from a real node (`node::start` with its HTTP
//! side on a loopback port, a real sled store in a temp dir): `peerreg
//! export-vc` saves a credential's VC, `verify-vc` checks it offline and
//! refuses a changed field, and `--status` follows the board's log through
//! suspension, reinstatement and revocation; unknown credentials are 404; the
//! status lists are at least 131,072 entries long and indexes are random and
//! kept across a restart.

mod common;

use chrono::Days;
use common::board::{discipline, enrol, issue, reinstate};
use common::ADMIN_TOKEN;
use pb::DisciplineKind as K;
use peerreg::cli::vc::{export_vc, fetch_vc, verify_vc, ExportVcArgs, VerifyVcArgs};
use peerreg::clock::{Clock, SystemClock};
use peerreg::config::NodeConfig;
use peerreg::error::Error;
use peerreg::pb;
use peerreg::service::client::NodeClient;
use peerreg::vc::bitstring::{Bitstring, MIN_ENTRIES};
use reqwest::StatusCode;
use serde_json::Value;

fn days_ago(days: u64) -> String {
    let today = SystemClock.today();
    today.checked_sub_days(Days::new(days)).expect("a date").to_string()
}

fn in_years(years: u64) -> String {
    let today = SystemClock.today();
    today
        .checked_add_days(Days::new(365 * years))
        .expect("a date")
        .to_string()
}

fn config(dir: &std::path::Path) -> NodeConfig {
    common::ms_web_config(dir)
}

/// A node with its web side, a board client, and a scratch directory.
struct Site {
    node: peerreg::node::Node,
    web: String,
    board: NodeClient,
    http: reqwest::Client,
    dir: tempfile::TempDir,
    files: tempfile::TempDir,
    events: usize,
}

impl Site {
    async fn start() -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let (node, web, board) = Site::serve(dir.path()).await;
        let mut site = Site {
            node,
            web,
            board,
            http: reqwest::Client::new(),
            dir,
            files: tempfile::tempdir().expect("temp dir"),
            events: 0,
        };
        site.record(enrol("P-1", "Ada Lovelace")).await;
        site.record(issue("P-1", "MS-1", &days_ago(30), &in_years(1))).await;
        site
    }

    async fn serve(dir: &std::path::Path) -> (peerreg::node::Node, String, NodeClient) {
        let config = config(dir);
        let listener = tokio::net::TcpListener::bind(config.listen).await.expect("bind");
        let node = peerreg::node::start(config, listener).await.expect("the node starts");
        let web = node.web_endpoint().expect("the web side is served");
        let board = NodeClient::connect(&node.endpoint(), Some(ADMIN_TOKEN.into()))
            .await
            .expect("connect");
        (node, web, board)
    }

    async fn restart(self) -> Site {
        let Site {
            node,
            http,
            dir,
            files,
            events,
            ..
        } = self;
        node.stop().await.expect("the node stops");
        let (node, web, board) = Site::serve(dir.path()).await;
        Site {
            node,
            web,
            board,
            http,
            dir,
            files,
            events,
        }
    }

    async fn record(&mut self, body: pb::command::Body) {
        self.events += 1;
        self.board
            .record(format!("vc-{}", self.events), body)
            .await
            .expect("recorded");
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.web))
            .send()
            .await
            .expect("the web side answers");
        (response.status(), response.text().await.expect("a body"))
    }

    fn file(&self, name: &str) -> std::path::PathBuf {
        self.files.path().join(name)
    }

    async fn export(&self, number: &str, name: &str) -> peerreg::error::Result<String> {
        export_vc(ExportVcArgs {
            credential: number.into(),
            out: self.file(name),
            web: self.web.clone(),
            ca_cert: None,
        })
        .await
    }

    async fn verify(&self, name: &str, status: bool, issuer: Option<&str>) -> peerreg::error::Result<String> {
        verify_vc(VerifyVcArgs {
            file: self.file(name),
            status,
            issuer: issuer.map(str::to_string),
            ca_cert: None,
        })
        .await
    }

    async fn issuer_did(&self) -> String {
        let (status, body) = self.get("/vc/issuer").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let issuer: Value = serde_json::from_str(&body).expect("JSON");
        issuer["id"].as_str().expect("an id").to_string()
    }

    async fn index_of(&self, number: &str) -> u32 {
        let vc: Value = serde_json::from_str(&fetch_vc(&self.web, number, None).await.expect("a VC")).expect("JSON");
        let status = vc["credentialStatus"].as_array().expect("entries");
        assert_eq!(status.len(), 2, "a revocation and a suspension entry");
        let index = status[0]["statusListIndex"].as_str().expect("an index");
        assert_eq!(
            status[1]["statusListIndex"].as_str(),
            Some(index),
            "one index for both lists"
        );
        index.parse().expect("a number")
    }
}

#[tokio::test]
async fn an_exported_vc_verifies_offline_and_refuses_any_changed_field() {
    let site = Site::start().await;
    site.export("MS-1", "ms-1.json").await.expect("exported");
    let text = std::fs::read_to_string(site.file("ms-1.json")).expect("saved");
    let vc: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(vc["proof"]["cryptosuite"], "eddsa-jcs-2022");
    assert_eq!(vc["credentialSubject"]["legal_name"], "Ada Lovelace");
    assert_eq!(vc["credentialSubject"]["credential_number"], "MS-1");
    for private in ["peer_id", "commitment", "training", "attest", "opening"] {
        assert!(!text.contains(private), "the VC holds no {private}");
    }

    let did = site.issuer_did().await;
    assert_eq!(vc["issuer"]["id"], did.as_str());
    let shown = site.verify("ms-1.json", false, Some(&did)).await.expect("verifies");
    assert!(
        shown.contains("proof verified") && shown.contains("Ada Lovelace"),
        "{shown}"
    );
    let stranger = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
    assert!(matches!(
        site.verify("ms-1.json", false, Some(stranger)).await,
        Err(Error::FailedPrecondition(_))
    ));

    for (field, value) in [
        ("legal_name", "Eve Mallory"),
        ("status", "CREDENTIAL_STATUS_ACTIVE_AND_MORE"),
        ("expires_on", "2099-01-01"),
    ] {
        let mut changed = vc.clone();
        changed["credentialSubject"][field] = value.into();
        std::fs::write(site.file("changed.json"), changed.to_string()).expect("written");
        let refused = site.verify("changed.json", false, None).await;
        assert!(matches!(refused, Err(Error::DataLoss(_))), "{field}: {refused:?}");
    }

    let valid = site.verify("ms-1.json", true, Some(&did)).await.expect("valid");
    assert!(valid.contains("VALID"), "{valid}");
    site.node.stop().await.expect("stops");
}

#[tokio::test]
async fn status_follows_suspension_reinstatement_and_revocation() {
    let mut site = Site::start().await;
    site.export("MS-1", "ms-1.json").await.expect("exported");
    site.verify("ms-1.json", true, None).await.expect("valid at first");

    site.record(discipline("MS-1", K::Suspension, &days_ago(2), "")).await;
    let suspended = site.verify("ms-1.json", true, None).await;
    match suspended {
        Err(Error::FailedPrecondition(message)) => assert!(message.contains("SUSPENDED"), "{message}"),
        other => panic!("a suspended credential: {other:?}"),
    }
    // tokio's process: the node serves on this test's runtime meanwhile.
    let binary = tokio::process::Command::new(env!("CARGO_BIN_EXE_peerreg"))
        .args(["verify-vc", "--status"])
        .arg(site.file("ms-1.json"))
        .output()
        .await
        .expect("the binary runs");
    assert!(!binary.status.success());
    let stderr = String::from_utf8_lossy(&binary.stderr);
    assert!(stderr.contains("SUSPENDED"), "{stderr}");

    site.record(reinstate("MS-1", &days_ago(1))).await;
    let reinstated = site.verify("ms-1.json", true, None).await.expect("valid again");
    assert!(reinstated.contains("suspension: not set"), "{reinstated}");

    site.record(discipline("MS-1", K::Revocation, &SystemClock.today().to_string(), ""))
        .await;
    match site.verify("ms-1.json", true, None).await {
        Err(Error::FailedPrecondition(message)) => assert!(message.contains("REVOKED"), "{message}"),
        other => panic!("a revoked credential: {other:?}"),
    }
    site.node.stop().await.expect("stops");
}

#[tokio::test]
async fn an_unknown_credential_or_list_is_not_found() {
    let site = Site::start().await;
    let (status, body) = site.get("/credential/MS-404/vc").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("NOT_FOUND"), "{body}");
    assert!(matches!(
        site.export("MS-404", "none.json").await,
        Err(Error::NotFound(_))
    ));
    assert!(!site.file("none.json").exists());
    let (status, _) = site.get("/status-list/probation").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = site.get(&format!("/credential/{}/vc", "N".repeat(10_000))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    site.node.stop().await.expect("stops");
}

#[tokio::test]
async fn lists_are_long_and_indexes_random_distinct_and_kept() {
    let mut site = Site::start().await;
    let count = 24;
    for i in 2..=count {
        site.record(enrol(&format!("P-{i}"), &format!("Peer Number{i}"))).await;
        site.record(issue(
            &format!("P-{i}"),
            &format!("MS-{i}"),
            &days_ago(10),
            &in_years(1),
        ))
        .await;
    }
    let mut indexes = Vec::new();
    for i in 1..=count {
        indexes.push(site.index_of(&format!("MS-{i}")).await);
    }
    let mut sorted = indexes.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), indexes.len(), "distinct: {indexes:?}");
    assert_ne!(sorted, indexes, "not in the order of assignment: {indexes:?}");
    assert!(
        sorted[count - 1] - sorted[0] > count as u32 * 100,
        "spread: {indexes:?}"
    );

    for purpose in ["revocation", "suspension"] {
        let (status, body) = site.get(&format!("/status-list/{purpose}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let list: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(list["credentialSubject"]["statusPurpose"], purpose);
        let bits =
            Bitstring::decode(list["credentialSubject"]["encodedList"].as_str().expect("a list")).expect("decodes");
        assert!(bits.len() >= MIN_ENTRIES, "{}", bits.len());
        assert_eq!(bits.len(), 131_072);
    }

    let site = site.restart().await;
    assert_eq!(site.index_of("MS-1").await, indexes[0], "kept across a restart");
    assert_eq!(site.index_of(&format!("MS-{count}")).await, indexes[count - 1]);
    site.node.stop().await.expect("stops");
}

#[tokio::test]
async fn the_issuer_key_is_kept_across_restarts_and_its_loss_refused() {
    let site = Site::start().await;
    let did = site.issuer_did().await;
    let key_file = site.dir.path().join("issuer.key");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_file).expect("created").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    site.index_of("MS-1").await;
    let site = site.restart().await;
    assert_eq!(site.issuer_did().await, did, "the same issuer after a restart");

    let Site { node, dir, .. } = site;
    node.stop().await.expect("stops");
    std::fs::remove_file(&key_file).expect("removed");
    let config = config(dir.path());
    let listener = tokio::net::TcpListener::bind(config.listen).await.expect("bind");
    match peerreg::node::start(config, listener).await {
        Err(Error::FailedPrecondition(message)) => assert!(message.contains("issuer key"), "{message}"),
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a board that issued VCs must not get a new issuer key"),
    }
    assert!(!key_file.exists(), "no new key was made");
}
