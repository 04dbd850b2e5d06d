//! Durable append throughput: group commit against one append per flush, in
//! the same run on the same disk. Run: `cargo bench --bench log_append`
//! (PEERREG_BENCH_EVENTS sets the size; CI runs it tiny so it cannot rot).

use std::time::Instant;

use peerreg::clock::SystemClock;
use peerreg::domain::profile::RequirementProfile;
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::log::note::NoteSigner;
use peerreg::pb;

fn body(i: usize) -> pb::event::Body {
    pb::event::Body::PeerEnrolled(pb::PeerEnrolled {
        peer_id: format!("MS-P-{i:07}"),
        legal_name: format!("Bench Person {i}"),
        eligibility_attested: true,
        ethics_code_signed: true,
    })
}

fn open(dir: &std::path::Path) -> Ledger {
    let signer = NoteSigner::from_seed("peerreg.local/ms", [1; 32]).expect("key");
    let options = LedgerOptions {
        data_dir: dir.to_path_buf(),
        state: "MS".into(),
        signer,
        accept_unpublished_store: false,
        profile: RequirementProfile::example_for("MS").expect("the MS example profile"),
        clock: std::sync::Arc::new(SystemClock),
    };
    Ledger::open(options).expect("open a bench ledger")
}

/// Appends `events` from `clients` concurrent tasks; returns (events/s, mean batch).
async fn run(events: usize, clients: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open(dir.path());
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                for i in (client..events).step_by(clients) {
                    ledger.append(format!("bench-{i}"), body(i)).await.expect("append");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client task");
    }
    let rate = events as f64 / started.elapsed().as_secs_f64();
    let batch = events as f64 / ledger.commit_count().max(1) as f64;
    ledger.shutdown().await;
    let reopened = Instant::now();
    let ledger = open(dir.path());
    println!(
        "  reopen of {events} events: {:.1} ms",
        reopened.elapsed().as_secs_f64() * 1e3
    );
    ledger.shutdown().await;
    (rate, batch)
}

#[tokio::main]
async fn main() {
    let events: usize = std::env::var("PEERREG_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let (baseline, _) = run(events.min(2_000), 1).await;
    println!("one append per flush (1 client):   {baseline:>9.0} events/s  (baseline)");
    for clients in [16, 64, 256] {
        let (rate, batch) = run(events, clients).await;
        println!(
            "group commit ({clients:>3} clients):      {rate:>9.0} events/s  mean batch {batch:>6.1}  ratio {:>5.1}x",
            rate / baseline
        );
    }
}
