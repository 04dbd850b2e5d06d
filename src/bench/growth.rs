//! Scenario 4, growth: the same measurements at each log size (1k, 100k, 1M
//! at full scale) on one growing log, each reported as the largest size
//! against the smallest (ideally near 1, except replay-bound restart).

use std::time::Instant;

use super::load::Figures;
use super::{enrolment, fill, ms, open_ledger, serve_stoppable, Report, Row, Scale, Target, TempDir, TOKEN};
use crate::demo::bodies::{enrol, issue};
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::pb;
use crate::service::client::{LogClient, NodeClient};

/// Credentials employers check (issued first, so every size has them).
const CHECKED: usize = 100;
/// Sequential calls per latency measurement.
const SAMPLES: usize = 300;
/// Concurrent appenders for the throughput burst and the fill.
const WRITERS: usize = 64;

/// What one size measured.
#[derive(Clone, Copy, Debug)]
struct AtSize {
    size: usize,
    appends_per_second: f64,
    proof: Figures,
    check: Figures,
    restart_ms: f64,
}

async fn seed_credentials(ledger: &Ledger) -> Result<()> {
    for i in 0..CHECKED {
        let peer = format!("MS-C-{i:05}");
        ledger
            .append(format!("growth-enrol-{i}"), enrol(&peer, "Checked Person"))
            .await?;
        let body = issue(&peer, &format!("MS-G-{i:05}"), "2026-01-05", "2027-12-31");
        ledger.append(format!("growth-issue-{i}"), body).await?;
    }
    Ok(())
}

/// Sequential calls, so latency is the call's own, not queueing.
async fn sequential<F, Fut>(mut call: F) -> Result<Figures>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let begun = Instant::now();
        call(i).await?;
        latencies.push(begun.elapsed());
    }
    Ok(Figures::from_latencies(latencies, started.elapsed()))
}

/// Spreads sample `i` over `0..n` (a fixed stride, so runs compare).
fn spread(i: usize, n: usize) -> u64 {
    (i as u64).wrapping_mul(2_654_435_761) % n.max(1) as u64
}

async fn measure(ledger: Ledger, size: usize, burst: usize) -> Result<(Ledger, AtSize)> {
    let started = Instant::now();
    fill(&ledger, size, burst, WRITERS, enrolment).await?;
    let appends_per_second = burst as f64 / started.elapsed().as_secs_f64();
    let serving = serve_stoppable(&ledger).await?;
    let endpoint = serving.endpoint.clone();
    let log = LogClient::connect(&endpoint).await?;
    let tree = ledger.published().checkpoint.size;
    let proof = sequential(|i| {
        let log = log.clone();
        async move { log.inclusion_proof(spread(i, tree as usize), tree).await.map(|_| ()) }
    })
    .await?;
    let node = NodeClient::connect(&endpoint, Some(TOKEN.into())).await?;
    let check = sequential(|i| {
        let node = node.clone();
        async move {
            let request = pb::CheckCredentialRequest {
                credential_number: format!("MS-G-{:05}", i % CHECKED),
                ..Default::default()
            };
            node.check(request).await.map(|_| ())
        }
    })
    .await?;
    let dir = ledger.data_dir().to_path_buf();
    drop((log, node));
    serving.stop().await;
    ledger.shutdown().await;
    let started = Instant::now();
    let reopened = open_ledger(&dir)?;
    let restart_ms = ms(started.elapsed());
    let at = AtSize {
        size: tree as usize,
        appends_per_second,
        proof,
        check,
        restart_ms,
    };
    println!(
        "growth at {} entries: appends {:.0}/s, proof {}, check {}, restart {:.0} ms",
        at.size,
        at.appends_per_second,
        at.proof.latency_text(),
        at.check.latency_text(),
        at.restart_ms
    );
    Ok((reopened, at))
}

fn row(scenario: &str, unit: &'static str, small: &AtSize, large: &AtSize, pick: fn(&AtSize) -> f64) -> Row {
    Row {
        scenario: format!("growth: {scenario} at {} entries", large.size),
        figure: pick(large),
        unit,
        baseline_name: format!("at {} entries", small.size),
        baseline: pick(small),
        detail: String::new(),
        targets: Vec::new(),
    }
}

pub async fn run(scale: Scale, report: &mut Report) -> Result<()> {
    let dir = TempDir::new("growth")?;
    let mut ledger = open_ledger(dir.path())?;
    seed_credentials(&ledger).await?;
    let burst = (scale.growth_sizes.first().copied().unwrap_or(1000) / 2).max(50);
    let mut measured: Vec<AtSize> = Vec::new();
    for &target in &scale.growth_sizes {
        let size = ledger.published().checkpoint.size as usize;
        let grow = target.saturating_sub(size + burst);
        let started = Instant::now();
        fill(&ledger, size, grow, 256, enrolment).await?;
        if grow > 10_000 {
            println!(
                "grew the log by {grow} events in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        let size = ledger.published().checkpoint.size as usize;
        let (reopened, at) = measure(ledger, size, burst).await?;
        ledger = reopened;
        measured.push(at);
    }
    ledger.shutdown().await;
    let (Some(small), Some(large)) = (measured.first(), measured.last()) else {
        return Err(Error::Internal("no growth sizes to measure".into()));
    };
    let full = scale.name == "full";
    let mut appends = row("append throughput (64 writers)", "ev/s", small, large, |a| {
        a.appends_per_second
    });
    appends.detail = "ideally near 1".into();
    report.add(appends);
    let mut proof = row("inclusion proof p50 over gRPC", "ms", small, large, |a| a.proof.p50_ms);
    proof.detail = format!("p99 {:.2} ms vs {:.2} ms", large.proof.p99_ms, small.proof.p99_ms);
    if full {
        proof.targets = vec![Target::RatioAtMost(2.0)];
    }
    report.add(proof);
    let mut check = row("employer check p50 over gRPC", "ms", small, large, |a| a.check.p50_ms);
    check.detail = format!("p99 {:.2} ms vs {:.2} ms", large.check.p99_ms, small.check.p99_ms);
    if full {
        check.targets = vec![Target::RatioAtMost(2.0)];
    }
    report.add(check);
    let mut restart = row("restart (open, snapshot at shutdown)", "ms", small, large, |a| {
        a.restart_ms
    });
    if full {
        restart.targets = vec![Target::AtMost(1000.0)];
    }
    report.add(restart);
    Ok(())
}
