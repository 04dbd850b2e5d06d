//! Scenario: employer checks. A node seeded with credentials answers single and
//! roster checks from `check_clients` clients, beside a trivial unary RPC
//! (GetLogInfo: no IO, no registry) served by the same server in the same run.

use super::load::{closed_loop, Figures};
use super::{open_ledger, serve_ledger, Report, Row, Scale, Target, TempDir};
use crate::demo::bodies;
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::pb;
use crate::service::client::{LogClient, NodeClient};

/// Items in one roster call.
const ROSTER_ITEMS: usize = 100;
/// Concurrent appenders while seeding.
const SEED_WRITERS: usize = 256;
/// The date every check asks about (inside every seeded credential's term).
const AS_OF: &str = "2025-06-01";

fn peer_id(i: usize) -> String {
    format!("MS-P-{i:08}")
}

fn legal_name(i: usize) -> String {
    format!("Checked Peer {i}")
}

fn credential_number(i: usize) -> String {
    format!("MS-{i:06}")
}

/// Enrols and certifies `count` peers from [`SEED_WRITERS`] tasks (each peer's
/// enrolment before its issue; group commit batches across tasks).
pub(super) async fn seed_credentials(ledger: &Ledger, count: usize) -> Result<()> {
    let mut tasks = Vec::new();
    for worker in 0..SEED_WRITERS {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            for i in (worker..count).step_by(SEED_WRITERS) {
                let peer = peer_id(i);
                ledger
                    .append(format!("seed-e-{i}"), bodies::enrol(&peer, &legal_name(i)))
                    .await?;
                let issue = bodies::issue(&peer, &credential_number(i), "2024-03-01", "2026-02-28");
                ledger.append(format!("seed-c-{i}"), issue).await?;
            }
            Ok::<(), Error>(())
        }));
    }
    for task in tasks {
        task.await
            .map_err(|e| Error::Internal(format!("a seeding task failed: {e}")))??;
    }
    Ok(())
}

/// How many credentials the check scenarios seed at `scale` (10,000 at full).
pub(super) fn seeded_count(scale: &Scale) -> usize {
    (scale.bulk_events / 10).max(ROSTER_ITEMS)
}

/// A well-spread pseudo-random credential for call `i` of `task` (splitmix64).
fn pick(task: usize, i: usize, count: usize) -> usize {
    let mut z = ((task as u64) << 32 | i as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z % count.max(1) as u64) as usize
}

pub async fn run(scale: Scale, report: &mut Report) -> Result<()> {
    let full = scale.name == "full";
    let clients = scale.check_clients;
    let credentials = seeded_count(&scale);
    let dir = TempDir::new("checks")?;
    let ledger = open_ledger(dir.path())?;
    seed_credentials(&ledger, credentials).await?;
    let endpoint = serve_ledger(&ledger).await?;

    let trivial = trivial_rpc(&endpoint, clients, scale.seconds).await?;
    let single = single_checks(&endpoint, clients, scale.seconds, credentials).await?;
    let roster = roster_checks(&endpoint, clients, scale.seconds, credentials).await?;
    ledger.shutdown().await;

    let trivial_text = format!("trivial {}", trivial.latency_text());
    report.add(Row {
        scenario: format!("checks: single, {clients} clients"),
        figure: single.per_second,
        unit: "checks/s",
        baseline_name: "trivial RPC (GetLogInfo) calls/s".into(),
        baseline: trivial.per_second,
        detail: format!("{}; {trivial_text}; {credentials} credentials", single.latency_text()),
        targets: if full {
            vec![Target::AtLeast(20_000.0), Target::RatioAtLeast(0.6)]
        } else {
            Vec::new()
        },
    });
    report.add(Row {
        scenario: format!("checks: single p99, {clients} clients"),
        figure: single.p99_ms,
        unit: "ms",
        baseline_name: "ms trivial RPC p99".into(),
        baseline: trivial.p99_ms,
        detail: format!("p50 {:.2} ms (trivial {:.2} ms)", single.p50_ms, trivial.p50_ms),
        targets: if full { vec![Target::AtMost(5.0)] } else { Vec::new() },
    });
    report.add(Row {
        scenario: format!("checks: roster ({ROSTER_ITEMS} per call), {clients} clients"),
        figure: roster.per_second * ROSTER_ITEMS as f64,
        unit: "items/s",
        baseline_name: "trivial RPC calls/s".into(),
        baseline: trivial.per_second,
        detail: format!(
            "{ROSTER_ITEMS} items per call, {:.0} calls/s, per call {}",
            roster.per_second,
            roster.latency_text()
        ),
        targets: Vec::new(),
    });
    Ok(())
}

/// The baseline: one unary GetLogInfo per call (no IO), a connection per client.
async fn trivial_rpc(endpoint: &str, clients: usize, seconds: f64) -> Result<Figures> {
    closed_loop(
        clients,
        seconds,
        |_| LogClient::connect(endpoint),
        |log: &LogClient, _, _| {
            let log = log.clone();
            async move { log.identity().await.map(|_| ()) }
        },
    )
    .await
}

/// One CheckCredential per call for a random known credential (with the
/// holder's name, as an employer asks), a connection per client, no token.
pub(super) async fn single_checks(endpoint: &str, clients: usize, seconds: f64, credentials: usize) -> Result<Figures> {
    closed_loop(
        clients,
        seconds,
        |_| NodeClient::connect(endpoint, None),
        move |client: &NodeClient, task, i| {
            let client = client.clone();
            async move {
                let k = pick(task, i, credentials);
                let request = pb::CheckCredentialRequest {
                    credential_number: credential_number(k),
                    legal_name: legal_name(k),
                    as_of: AS_OF.into(),
                };
                let answer = client.check(request).await?;
                if answer.credential_number != credential_number(k) {
                    return Err(Error::Internal(format!(
                        "asked for {}, the node answered for {}",
                        credential_number(k),
                        answer.credential_number
                    )));
                }
                Ok(())
            }
        },
    )
    .await
}

/// One CheckRoster of [`ROSTER_ITEMS`] random known credentials per call.
async fn roster_checks(endpoint: &str, clients: usize, seconds: f64, credentials: usize) -> Result<Figures> {
    closed_loop(
        clients,
        seconds,
        |_| NodeClient::connect(endpoint, None),
        move |client: &NodeClient, task, i| {
            let client = client.clone();
            async move {
                let items: Vec<pb::RosterItem> = (0..ROSTER_ITEMS)
                    .map(|j| {
                        let k = pick(task, i * ROSTER_ITEMS + j, credentials);
                        pb::RosterItem {
                            credential_number: credential_number(k),
                            legal_name: legal_name(k),
                            dates_of_service: vec![AS_OF.into()],
                        }
                    })
                    .collect();
                let answer = client.check_roster(items).await?;
                let answered = answer.results.iter().filter(|r| r.check.is_some()).count();
                if answered != ROSTER_ITEMS {
                    return Err(Error::Internal(format!(
                        "a roster of {ROSTER_ITEMS} known credentials got {answered} checks back"
                    )));
                }
                Ok(())
            }
        },
    )
    .await
}
