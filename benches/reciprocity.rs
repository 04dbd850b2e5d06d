//! Time to evaluate a transfer (fetch the evidence over gRPC + verify every
//! signature and proof + check it against the verified copy + decide + record)
//! for a credential with 50 events, in an origin log of 1,000 and of 100,000
//! entries, measured in the same run (the ratio is the figure to read).
//! Run: `cargo bench --bench reciprocity` (PEERREG_BENCH_SIZES, default "1000,100000").

use std::time::{Duration, Instant};

use pb::command::Body;
use peerreg::demo::bodies::{ce, enrol, exam, experience, issue, renew, training};
use peerreg::demo::Demo;
use peerreg::ledger::Ledger;
use peerreg::pb;

const HOLDER: &str = "MS-P-HOLDER";
const CREDENTIAL: &str = "MS-BENCH-1";
/// Warm evaluations per size.
const ROUNDS: usize = 20;
/// Appenders filling the log concurrently (group commit).
const FILLERS: usize = 256;

/// The holder's 51 events: enrolment, 30 courses, an exam, 2 experience
/// records, the issue, 15 CE courses, a renewal and a consent for TN.
fn holder_history() -> Vec<Body> {
    let domains = [
        "ethical_responsibility",
        "shares_lived_experience",
        "engages_peers",
        "supports_recovery_planning",
        "helps_manage_crises",
        "links_to_resources",
    ];
    let mut events = vec![enrol(HOLDER, "Bench Holder")];
    for i in 0..30 {
        let on = format!("2024-0{}-{:02}", 1 + i / 10, 1 + i % 10 * 2);
        let domain = domains[i % domains.len()];
        events.push(training(HOLDER, &format!("C-{i}"), 2, &on, &[(domain, 2)]));
    }
    events.push(exam(HOLDER, 88, "2024-04-10"));
    events.push(experience(
        HOLDER,
        pb::ExperienceKind::Paid,
        200,
        "2023-01-01",
        "2023-12-31",
    ));
    events.push(experience(
        HOLDER,
        pb::ExperienceKind::Supervised,
        100,
        "2024-01-01",
        "2024-04-30",
    ));
    events.push(issue(HOLDER, CREDENTIAL, "2024-06-01", "2026-06-01"));
    for i in 0..15 {
        let topic = if i % 3 == 0 { "ethics" } else { "trauma_informed_care" };
        let on = format!("{}-{:02}-15", 2024 + (i + 7) / 12, (i + 7) % 12 + 1);
        events.push(ce(HOLDER, topic, 2, &on));
    }
    events.push(renew(CREDENTIAL, "2026-05-01", "2028-06-01"));
    // The holder consents to TN seeing their record (DESIGN.md §8); each
    // evaluation then also records a disclosure in MS's log.
    events.push(Body::ConsentRecorded(pb::ConsentRecorded {
        peer_id: HOLDER.into(),
        receiving_state: "TN".into(),
        until: "2099-12-31".into(),
    }));
    events
}

/// Appends `count` enrolments of other people, concurrently.
async fn fill(ledger: &Ledger, start: usize, count: usize) {
    let mut tasks = Vec::new();
    for worker in 0..FILLERS {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            for i in (worker..count).step_by(FILLERS) {
                let peer = format!("MS-P-{:08}", start + i);
                ledger
                    .append(format!("fill-{peer}"), enrol(&peer, "Someone Else"))
                    .await
                    .expect("filler");
            }
        }));
    }
    for task in tasks {
        task.await.expect("filler task");
    }
}

/// Builds MS's log to `size` entries with the holder's 51 events spread through it.
async fn build_origin(ledger: &Ledger, size: usize) {
    let history = holder_history();
    let filler = size.saturating_sub(history.len());
    let chunk = filler / history.len();
    for (i, body) in history.into_iter().enumerate() {
        fill(ledger, i * chunk, chunk).await;
        ledger.append(format!("holder-{i}"), body).await.expect("holder event");
    }
    let done = chunk * 51;
    fill(ledger, done, filler - done).await;
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn measure(size: usize) -> (Duration, Duration, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(dir.path()).await.expect("start MS, TN, VA");
    let ms = &demo.node("MS").expect("MS").ledger;
    let started = Instant::now();
    build_origin(ms, size).await;
    let built = ms.published().checkpoint.size;
    println!(
        "size {size}: MS log built to {built} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let tn = demo.board("TN").await.expect("TN client");
    let request = pb::EvaluateTransferRequest {
        origin_state: "MS".into(),
        credential_number: CREDENTIAL.into(),
        local_peer_id: String::new(),
        application_date: String::new(),
    };
    // TN's follower may already be copying MS's log; wait until it holds all of it.
    peerreg::demo::wait_followed(&demo, "TN", "MS", built)
        .await
        .expect("TN follows MS");
    let started = Instant::now();
    let first = tn.evaluate_transfer(request.clone()).await.expect("first evaluation");
    let first_time = started.elapsed();
    assert!(first.receipt.is_some(), "the decision is recorded");
    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let decision = tn.evaluate_transfer(request.clone()).await.expect("evaluation");
        times.push(started.elapsed());
        assert_eq!(
            decision.outcome, first.outcome,
            "the same evidence gives the same decision"
        );
    }
    times.sort();
    demo.stop().await;
    (first_time, percentile(&times, 0.5), percentile(&times, 0.9))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("PEERREG_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,100000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("PEERREG_BENCH_SIZES: comma-separated sizes"))
        .collect();
    let mut results = Vec::new();
    for &size in &sizes {
        let (first, p50, p90) = measure(size).await;
        println!(
            "size {size}: evaluate a 50-event credential: first {:.1} ms, then p50 {:.1} ms, p90 {:.1} ms ({ROUNDS} rounds)",
            ms(first),
            ms(p50),
            ms(p90)
        );
        results.push((size, p50));
    }
    if let (Some((small, small_p50)), Some((large, large_p50))) = (results.first(), results.last()) {
        println!(
            "growth: p50 at {large} entries / p50 at {small} entries = {:.2}",
            large_p50.as_secs_f64() / small_p50.as_secs_f64()
        );
    }
}
