//! Scenario: employer checks while boards write. One node seeded like the
//! checks scenario answers single checks from `check_clients` clients, first
//! alone (the same-run baseline), then while the most writers of the commands
//! scenario commit enrolments over gRPC at the same time: commits must not
//! starve the checks that employers wait on.

use super::checks::{seed_credentials, seeded_count, single_checks};
use super::commands::enrol_over_grpc;
use super::{open_ledger, serve_ledger, Report, Row, Scale, Target, TempDir};
use crate::error::Result;

pub async fn run(scale: Scale, report: &mut Report) -> Result<()> {
    let full = scale.name == "full";
    let checkers = scale.check_clients;
    let writers = scale.clients.iter().copied().max().unwrap_or(1);
    let credentials = seeded_count(&scale);
    let dir = TempDir::new("mixed")?;
    let ledger = open_ledger(dir.path())?;
    seed_credentials(&ledger, credentials).await?;
    let endpoint = serve_ledger(&ledger).await?;

    let alone = single_checks(&endpoint, checkers, scale.seconds, credentials).await?;
    let commits_before = ledger.commit_count();
    // Writers' peer numbers start past the seeded peers', so no enrolment collides.
    let (mixed, written) = tokio::join!(
        single_checks(&endpoint, checkers, scale.seconds, credentials),
        enrol_over_grpc(&endpoint, writers, scale.seconds, credentials),
    );
    let (mixed, written) = (mixed?, written?);
    let commits = ledger.commit_count().saturating_sub(commits_before).max(1);
    ledger.shutdown().await;

    report.add(Row {
        scenario: format!("mixed: employer check p99 while {writers} writers commit over gRPC"),
        figure: mixed.p99_ms,
        unit: "ms",
        baseline_name: "check p99 with no writers, same run".into(),
        baseline: alone.p99_ms,
        detail: format!(
            "checks {:.0}/s with writers, {:.0}/s without; writers {:.0} cmd/s ({}, mean batch {:.1}); \
             check p50 {:.2} ms with writers, {:.2} ms without; {checkers} checkers, {credentials} credentials",
            mixed.per_second,
            alone.per_second,
            written.per_second,
            written.latency_text(),
            written.calls as f64 / commits as f64,
            mixed.p50_ms,
            alone.p50_ms
        ),
        targets: if full { vec![Target::AtMost(5.0)] } else { Vec::new() },
    });
    Ok(())
}
