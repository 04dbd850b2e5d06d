//! The node over gRPC on loopback, client and server sharing this machine:
//! durable board commands at 1, 16 and 64 concurrent clients, employer checks at
//! 64, each beside a trivial RPC (GetLogInfo: no IO) on the same server in the
//! same run. Run: `cargo bench --bench grpc` (PEERREG_BENCH_SECONDS per scenario,
//! default 3).

use std::sync::Arc;
use std::time::{Duration, Instant};

use peerreg::auth::{hash_token, TokenEntry, Tokens};
use peerreg::clock::SystemClock;
use peerreg::domain::profile::RequirementProfile;
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::log::note::NoteSigner;
use peerreg::pb;
use peerreg::service::client::{LogClient, NodeClient};
use peerreg::service::server::{serve, ServeOptions};

const TOKEN: &str = "bench-token";

/// Counts live heap bytes, so memory per watch stream can be measured exactly.
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

fn permissive_profile() -> RequirementProfile {
    let mut profile = RequirementProfile::example_for("MS").expect("MS example");
    profile.initial.training_hours_total = 0.0;
    profile.initial.training_hours_by_domain.clear();
    profile.initial.exam_required = false;
    profile.initial.experience_hours = 0.0;
    profile
}

async fn start(dir: &std::path::Path) -> (Ledger, String) {
    let signer = NoteSigner::from_seed("peerreg.local/ms", [1; 32]).expect("key");
    let ledger = Ledger::open(LedgerOptions {
        data_dir: dir.to_path_buf(),
        state: "MS".into(),
        signer,
        accept_unpublished_store: false,
        profile: permissive_profile(),
        clock: Arc::new(SystemClock),
    })
    .expect("open");
    let entry = TokenEntry {
        name: "bench".into(),
        sha256: hash_token(TOKEN),
        operations: vec!["*".into()],
    };
    let options = ServeOptions {
        tokens: Arc::new(Tokens::new(&[entry]).expect("tokens")),
        tls: None,
        mirrors: Vec::new(),
        federation: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(serve(listener, ledger.clone(), options, std::future::pending()));
    (ledger, endpoint)
}

struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn figures(mut latencies: Vec<Duration>, elapsed: Duration) -> Figures {
    latencies.sort();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1e3);
    Figures {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: ms(at(0.5)),
        p99_ms: ms(at(0.99)),
    }
}

/// Runs `call(client, task, i)` from `clients` tasks for `seconds`.
async fn load<F, Fut>(endpoint: &str, clients: usize, seconds: f64, call: F) -> Figures
where
    F: Fn(NodeClient, LogClient, usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..clients {
        let node = NodeClient::connect(endpoint, Some(TOKEN.into()))
            .await
            .expect("connect");
        let log = LogClient::connect(endpoint).await.expect("connect");
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline && i < 1_000_000 {
                let begun = Instant::now();
                call(node.clone(), log.clone(), task, i).await;
                latencies.push(begun.elapsed());
                i += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("client task"));
    }
    figures(all, started.elapsed())
}

fn enrol(peer: String) -> pb::event::Body {
    pb::event::Body::PeerEnrolled(pb::PeerEnrolled {
        peer_id: peer.clone(),
        legal_name: format!("Bench {peer}"),
        eligibility_attested: true,
        ethics_code_signed: true,
    })
}

async fn seed_credentials(ledger: &Ledger, count: usize) {
    for i in 0..count {
        let peer = format!("S-{i}");
        ledger
            .append(format!("seed-e-{i}"), enrol(peer.clone()))
            .await
            .expect("enrol");
        let issue = pb::event::Body::CredentialIssued(pb::CredentialIssued {
            peer_id: peer,
            credential_number: format!("MS-{i:06}"),
            credential_type: pb::CredentialType::PeerSupportSpecialist as i32,
            issued_on: "2024-03-01".into(),
            expires_on: "2026-02-28".into(),
            reciprocity: None,
        });
        ledger.append(format!("seed-c-{i}"), issue).await.expect("issue");
    }
}

/// Roster checks of 10,000 items in one call, and memory per open watch stream.
async fn employers_at_scale(endpoint: &str) {
    let client = NodeClient::connect(endpoint, None).await.expect("connect");
    let items: Vec<pb::RosterItem> = (0..10_000)
        .map(|i| pb::RosterItem {
            credential_number: format!("MS-{:06}", i % 1000),
            legal_name: String::new(),
            dates_of_service: vec!["2025-06-01".into()],
        })
        .collect();
    let started = Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        let answer = client.check_roster(items.clone()).await.expect("roster");
        assert_eq!(answer.results.len(), 10_000);
    }
    let per_second = (rounds * 10_000) as f64 / started.elapsed().as_secs_f64();
    println!("roster check, 10,000 items per call: {per_second:>8.0} items/s");

    let streams = 200;
    let before = ALLOCATOR.allocated();
    let mut watchers = Vec::new();
    for i in 0..streams {
        let client = client.clone();
        let numbers = vec![format!("MS-{:06}", i % 1000), format!("MS-{:06}", (i + 1) % 1000)];
        watchers.push(tokio::spawn(async move { client.watch(numbers, 0, |_| {}).await }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = ALLOCATOR.allocated();
    println!(
        "watch streams: {streams} open (2 credentials each): heap +{} KiB in all, ≈{:.1} KiB per stream (server and client side together)",
        after.saturating_sub(before) / 1024,
        after.saturating_sub(before) as f64 / 1024.0 / streams as f64
    );
    for watcher in watchers {
        watcher.abort();
    }
}

#[tokio::main]
async fn main() {
    let seconds: f64 = std::env::var("PEERREG_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let dir = tempfile::tempdir().expect("temp dir");
    let (ledger, endpoint) = start(dir.path()).await;
    seed_credentials(&ledger, 1000).await;

    let trivial = load(&endpoint, 64, seconds, |_, log, _, _| async move {
        log.identity().await.expect("GetLogInfo");
    })
    .await;
    println!(
        "trivial RPC (GetLogInfo), 64 clients: {:>8.0}/s  p50 {:.2} ms  p99 {:.2} ms  (baseline)",
        trivial.per_second, trivial.p50_ms, trivial.p99_ms
    );

    for clients in [1, 16, 64] {
        let board = load(&endpoint, clients, seconds, move |node, _, task, i| async move {
            let peer = format!("B{clients}-{task}-{i}");
            node.record(format!("e-{peer}"), enrol(peer))
                .await
                .expect("board command");
        })
        .await;
        println!(
            "board command (enrol, durable), {clients:>2} clients: {:>8.0}/s  p50 {:.2} ms  p99 {:.2} ms  ratio to trivial {:.3}",
            board.per_second,
            board.p50_ms,
            board.p99_ms,
            board.per_second / trivial.per_second
        );
    }

    employers_at_scale(&endpoint).await;

    let checks = load(&endpoint, 64, seconds, |node, _, task, i| async move {
        let request = pb::CheckCredentialRequest {
            credential_number: format!("MS-{:06}", (task * 7919 + i) % 1000),
            legal_name: String::new(),
            as_of: "2025-06-01".into(),
        };
        node.check(request).await.expect("employer check");
    })
    .await;
    println!(
        "employer check, 64 clients: {:>8.0}/s  p50 {:.2} ms  p99 {:.2} ms  ratio to trivial {:.3}",
        checks.per_second,
        checks.p50_ms,
        checks.p99_ms,
        checks.per_second / trivial.per_second
    );
}
