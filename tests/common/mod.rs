//! Shared helpers for integration tests: real sled stores in temp directories,
//! real gRPC servers on 127.0.0.1:0.
#![allow(dead_code)]

pub mod board;
pub mod rfc9162;
pub mod tamper;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use peerreg::clock::SystemClock;
use peerreg::domain::profile::RequirementProfile;

use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::log::note::NoteSigner;
use peerreg::pb;
use peerreg::service::client::LogClient;
use tokio::net::TcpListener;

/// A fixed key per test log, so two logs can share a prefix byte for byte.
pub fn signer(origin: &str) -> NoteSigner {
    NoteSigner::from_seed(origin, [42; 32]).expect("a valid test key")
}

/// Options for Mississippi's test log: the shipped MS example profile and the
/// system clock.
pub fn options(dir: &Path) -> LedgerOptions {
    options_for(dir, "MS")
}

/// Options for `state`'s test log (key `peerreg.local/<state>`, its shipped
/// example profile, the system clock).
pub fn options_for(dir: &Path, state: &str) -> LedgerOptions {
    LedgerOptions {
        data_dir: dir.to_path_buf(),
        state: state.into(),
        signer: signer(&format!("peerreg.local/{}", state.to_lowercase())),
        accept_unpublished_store: false,
        profile: RequirementProfile::example_for(state)
            .expect("a shipped example profile")
            .into(),
        clock: Arc::new(SystemClock),
    }
}

/// A federation trusting each `(state, endpoint)` with its test key, following fast.
pub fn federation(
    dir: &Path,
    own_state: &str,
    trusted: &[(&str, &str)],
) -> peerreg::error::Result<Arc<peerreg::federation::Federation>> {
    use peerreg::federation::trust::{TrustEntry, TrustList};
    use peerreg::federation::{Federation, FederationOptions};
    let entries = trusted
        .iter()
        .map(|(state, endpoint)| TrustEntry {
            state: state.to_string(),
            endpoint: endpoint.to_string(),
            key: signer(&format!("peerreg.local/{}", state.to_lowercase()))
                .verifier()
                .to_key_string(),
            ca_cert: None,
            witness: None,
        })
        .collect();
    let options = FederationOptions {
        follow_interval: std::time::Duration::from_millis(100),
        backoff_max: std::time::Duration::from_millis(500),
        ..FederationOptions::default()
    };
    let federation = Federation::open(
        dir,
        own_state,
        &TrustList::from_entries(entries)?,
        options,
        Arc::new(peerreg::service::sources::GrpcConnector),
    )?;
    Ok(Arc::new(federation))
}

pub fn open_ledger(dir: &Path) -> peerreg::error::Result<Ledger> {
    Ledger::open(options(dir))
}

/// A small, valid event body that names a person (a distinctive marker).
pub fn enrolment(name: &str) -> pb::command::Body {
    pb::command::Body::PeerEnrolled(pb::PeerEnrolled {
        peer_id: format!("MS-P-{name}"),
        legal_name: name.to_string(),
        eligibility_attested: true,
        ethics_code_signed: true,
    })
}

/// The test node's token secrets: an admin with every right, a clerk who
/// may only record training.
pub const ADMIN_TOKEN: &str = "admin-secret-for-tests";
pub const CLERK_TOKEN: &str = "clerk-secret-for-tests";

pub fn serve_options() -> peerreg::service::server::ServeOptions {
    use peerreg::auth::{hash_token, TokenEntry, Tokens};
    let entry = |name: &str, secret: &str, ops: &[&str]| TokenEntry {
        name: name.into(),
        sha256: hash_token(secret),
        operations: ops.iter().map(|s| s.to_string()).collect(),
    };
    let tokens = Tokens::new(&[
        entry("admin", ADMIN_TOKEN, &["*"]),
        entry("clerk", CLERK_TOKEN, &["record_training"]),
    ])
    .expect("test tokens");
    peerreg::service::server::ServeOptions {
        tokens: Arc::new(tokens),
        tls: None,
        mirrors: Vec::new(),
        federation: None,
        limits: Default::default(),
        witnessing: None,
        vc: None,
    }
}

/// A node serving a real ledger over real gRPC on a loopback port, started
/// the way every node starts (`peerreg::node`).
pub struct TestNode {
    pub ledger: Ledger,
    pub endpoint: String,
    pub dir: PathBuf,
    node: peerreg::node::Node,
}

impl TestNode {
    pub async fn start(dir: &Path) -> TestNode {
        let ledger = open_ledger(dir).expect("the test log opens");
        TestNode::serve(ledger, dir).await
    }

    pub async fn serve(ledger: Ledger, dir: &Path) -> TestNode {
        TestNode::serve_with(ledger, dir, serve_options()).await
    }

    /// Serves `ledger` with `options` (e.g. with a federation) on a loopback port.
    pub async fn serve_with(ledger: Ledger, dir: &Path, options: peerreg::service::server::ServeOptions) -> TestNode {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let node = peerreg::node::serve(listener, ledger.clone(), options).expect("the test node serves");
        TestNode {
            ledger,
            endpoint: node.endpoint(),
            dir: dir.to_path_buf(),
            node,
        }
    }

    pub async fn client(&self) -> LogClient {
        LogClient::connect(&self.endpoint)
            .await
            .expect("connect to the test node")
    }

    /// Stops the server and the writer (and the federation it was given); the
    /// store is closed afterwards.
    pub async fn stop(self) {
        self.node.stop().await.expect("server ran cleanly");
    }
}

/// Appends `count` enrolments named `<prefix>-<i>`, one after another.
pub async fn append_enrolments(ledger: &Ledger, prefix: &str, count: usize) {
    for i in 0..count {
        let name = format!("{prefix}-{i}");
        ledger
            .append(format!("evt-{name}"), enrolment(&name))
            .await
            .expect("append");
    }
}

/// Opens MS's test log with a manual clock at `today`.
pub fn open_ledger_at(dir: &Path, today: &str) -> (Ledger, peerreg::clock::ManualClock) {
    let date = chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").expect("a date");
    let clock = peerreg::clock::ManualClock::at(date);
    let ledger = Ledger::open(LedgerOptions {
        clock: Arc::new(clock.clone()),
        ..options(dir)
    })
    .expect("open");
    (ledger, clock)
}

static NEXT_EVENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Appends bodies in order with fresh event ids; panics on any refusal.
pub async fn record(ledger: &Ledger, bodies: Vec<pb::command::Body>) -> Vec<u64> {
    let mut indices = Vec::new();
    for body in bodies {
        let event_id = format!("rec-{}", NEXT_EVENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let receipt = ledger.append(event_id, body.clone()).await;
        indices.push(receipt.unwrap_or_else(|e| panic!("{body:?} was refused: {e}")).index);
    }
    indices
}

/// Copies a file or a directory tree (a data directory, while its node is stopped).
pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_file() {
        std::fs::copy(from, to).expect("copy file");
        return;
    }
    std::fs::create_dir_all(to).expect("mkdir");
    for item in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(item.file_name());
        if item.path().is_dir() {
            copy_tree(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), target).expect("copy");
        }
    }
}

/// Opens (creating) the mirror of `spec` in `data_dir` and follows `source`
/// until the mirror holds its latest checkpoint.
pub async fn caught_up_mirror(
    data_dir: &Path,
    spec: &peerreg::mirror::MirrorSpec,
    source: &dyn peerreg::source::LogSource,
) -> Ledger {
    use peerreg::mirror::{follow_round, FollowLimits, Round};
    let mirror = peerreg::mirror::open(data_dir, spec, source)
        .await
        .expect("open the mirror");
    loop {
        match follow_round(&mirror, source, FollowLimits::default()).await {
            Ok(Round::Current { .. }) => return mirror,
            Ok(Round::CatchingUp { .. }) => continue,
            Err(e) => panic!("the mirror cannot catch up: {e:?}"),
        }
    }
}

/// MS's example profile asking nothing before an initial credential and,
/// when `renewals_free`, nothing before a renewal (for tests about dates,
/// requests and answers, not qualifications).
pub fn permissive_profile(renewals_free: bool) -> RequirementProfile {
    let mut profile = RequirementProfile::example_for("MS").expect("profile");
    profile.initial.training_hours_total = 0.0;
    profile.initial.training_hours_by_domain.clear();
    profile.initial.exam_required = false;
    profile.initial.experience_hours = 0.0;
    profile.initial.evidence_required.clear();
    profile.initial.references_required = 0;
    if renewals_free {
        profile.renewal.ce_hours = 0.0;
        profile.renewal.ce_hours_by_topic.clear();
    }
    profile
}

/// MS's log with a profile that issues without prerequisites (for tests about
/// requests and answers, not qualifications).
pub fn permissive(dir: &Path) -> Ledger {
    Ledger::open(LedgerOptions {
        profile: permissive_profile(false).into(),
        ..options(dir)
    })
    .expect("open")
}

/// The holder `peer_id`'s consent to disclose their record to `receiving_state`
/// for a year from today (what a board records before another state may ask
/// it for evidence).
pub fn consent(peer_id: &str, receiving_state: &str) -> pb::command::Body {
    use peerreg::clock::Clock;
    let until = SystemClock
        .today()
        .checked_add_days(chrono::Days::new(365))
        .expect("a date in range");
    pb::command::Body::ConsentRecorded(pb::ConsentRecorded {
        peer_id: peer_id.to_string(),
        receiving_state: receiving_state.to_string(),
        until: until.to_string(),
    })
}

/// Records `consent(peer_id, receiving_state)` through `board`
/// (`Board.RecordConsent`, over gRPC).
pub async fn record_consent(
    board: &peerreg::service::client::NodeClient,
    peer_id: &str,
    receiving_state: &str,
) -> pb::Receipt {
    let event_id = format!(
        "consent-{receiving_state}-{}",
        NEXT_EVENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    board
        .record(event_id, consent(peer_id, receiving_state))
        .await
        .unwrap_or_else(|e| panic!("the consent of {peer_id} for {receiving_state} was refused: {e}"))
}

/// A request for evidence about `credential_number`, signed now by `asking`'s
/// log key, to `origin_state`.
pub fn evidence_request(asking: &Ledger, origin_state: &str, credential_number: &str) -> pb::GetEvidenceRequest {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    peerreg::evidence::signed_request(asking, origin_state, credential_number, now).expect("a board signs")
}

/// A `peerreg serve` process started through the binary (trust_live, backup_restore).
pub struct BinaryNode {
    pub child: tokio::process::Child,
    pub endpoint: String,
    pub verifier_key: String,
    /// The first admin token, printed at a first start.
    pub admin: Option<String>,
}

/// Starts `peerreg serve --state STATE` on `data_dir` on a free port and reads its banner.
pub async fn start_binary_node(state: &str, data_dir: &Path) -> BinaryNode {
    use tokio::io::AsyncBufReadExt;
    let first = !data_dir.join("tokens.toml").exists();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_peerreg"))
        .args([
            "serve",
            "--state",
            state,
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start peerreg serve");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let banner = lines.next_line().await.expect("read").expect("banner");
    let endpoint = banner.split_whitespace().last().expect("address").to_string();
    let key_line = lines.next_line().await.expect("read").expect("key line");
    let verifier_key = key_line.trim_start_matches("verifier key: ").to_string();
    let mut admin = None;
    if first {
        let line = lines.next_line().await.expect("read").expect("token line");
        assert!(line.starts_with("admin token"), "{line}");
        admin = line.split_whitespace().last().map(String::from);
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    BinaryNode {
        child,
        endpoint,
        verifier_key,
        admin,
    }
}

/// Runs `peerreg <args>` with `token` in PEERREG_TOKEN; (success, stdout, stderr).
pub async fn peerreg_cli(args: &[&str], token: &str) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_peerreg"))
        .args(args)
        .env("PEERREG_TOKEN", token)
        .output()
        .await
        .expect("run peerreg");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// Enrols `peer_id` on the node at `endpoint` through the binary (one log entry).
pub async fn enroll_through_cli(endpoint: &str, token: &str, peer_id: &str) -> (bool, String, String) {
    peerreg_cli(
        &[
            "board",
            "--endpoint",
            endpoint,
            "enroll",
            "--peer-id",
            peer_id,
            "--name",
            "Test Person",
            "--attested",
        ],
        token,
    )
    .await
}

/// What `peerreg trust status` says the node at `endpoint` verified of `state`'s
/// log (`None`: it does not list the state).
pub async fn verified_by(endpoint: &str, state: &str) -> Option<u64> {
    let (ok, out, err) = peerreg_cli(&["trust", "status", "--endpoint", endpoint], "").await;
    assert!(ok, "{err}");
    let line = out.lines().find(|l| l.starts_with(&format!("{state} (")))?;
    let after = line.split("verified ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

/// Waits until the node at `endpoint` has verified at least `size` entries of
/// `state`'s log (polls; gives up after a generous bound so a broken follower fails the test).
pub async fn wait_verified(endpoint: &str, state: &str, size: u64) -> u64 {
    for _ in 0..600 {
        if let Some(verified) = verified_by(endpoint, state).await.filter(|v| *v >= size) {
            return verified;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{endpoint} never verified {size} entries of {state}'s log");
}

/// The size of the log at `endpoint`, from an audit against `verifier_key`.
pub async fn audited_size(endpoint: &str, verifier_key: &str, state_file: &Path) -> u64 {
    let state_file = state_file.to_str().expect("utf-8 path");
    let (ok, out, err) = peerreg_cli(
        &[
            "audit",
            "--endpoint",
            endpoint,
            "--verifier-key",
            verifier_key,
            "--state-file",
            state_file,
        ],
        "",
    )
    .await;
    assert!(ok, "audit failed: {out}\n{err}");
    let after = out.split(" has ").nth(1).expect("audit line names the size");
    after
        .split_whitespace()
        .next()
        .expect("size")
        .parse()
        .expect("a number")
}

/// Mississippi's node configuration for a test in `dir`: both listeners on
/// free loopback ports, a permissive profile (renewals need nothing), and
/// the admin token.
pub fn ms_web_config(dir: &Path) -> peerreg::config::NodeConfig {
    let mut config = peerreg::config::NodeConfig::for_state("MS").expect("MS config");
    config.data_dir = dir.to_path_buf();
    config.key_file = dir.join("log.key");
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.http = Some("127.0.0.1:0".parse().expect("address"));
    config.profile = permissive_profile(true).into();
    config.tokens = vec![peerreg::auth::TokenEntry {
        name: "admin".into(),
        sha256: peerreg::auth::hash_token(ADMIN_TOKEN),
        operations: vec!["*".into()],
    }];
    config
}
