//! Scenario: durable board commands. At each client count, enrolments over gRPC
//! beside the in-process limit measured in the same run (the same `Ledger::append`
//! from the same number of tasks: sign + hash + sled insert + the durable flush,
//! group-committed the same way, no gRPC); then group commit against one append
//! per flush (in process); then a bulk import, over gRPC and in process.

use std::time::{Duration, Instant};

use super::load::{closed_loop, Figures};
use super::{enrolment, fill, open_ledger, serve_ledger, Report, Row, Scale, Target, TempDir, TOKEN};
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::pb;
use crate::service::client::NodeClient;

/// Concurrent appenders (and in-flight requests) in the bulk import.
const BULK_IN_FLIGHT: usize = 256;
/// Commands per `RecordBatch` call in the bulk import (the RPC's limit).
const BATCH: usize = crate::limits::BATCH_COMMANDS_MAX;
/// `RecordBatch` calls in flight at once.
const BATCHES_IN_FLIGHT: usize = 4;
/// Peer numbers of different tasks never meet (no task appends this many).
const TASK_STRIDE: usize = 100_000_000;

/// One timed run of appends, and how the committer batched them.
struct Run {
    figures: Figures,
    /// Events per durable commit during the run.
    mean_batch: f64,
}

impl Run {
    fn new(figures: Figures, ledger: &Ledger, commits_before: u64) -> Run {
        let commits = ledger.commit_count().saturating_sub(commits_before).max(1);
        Run {
            figures,
            mean_batch: figures.calls as f64 / commits as f64,
        }
    }
}

pub async fn run(scale: Scale, report: &mut Report) -> Result<()> {
    let full = scale.name == "full";
    let largest = scale.clients.iter().copied().max().unwrap_or(1);
    let mut local_runs = Vec::new();
    for &clients in &scale.clients {
        let local = in_process(clients, scale.seconds).await?;
        let remote = over_grpc(clients, scale.seconds).await?;
        let targets = if full && clients == largest {
            vec![Target::AtLeast(15_000.0), Target::RatioAtLeast(0.8)]
        } else {
            Vec::new()
        };
        report.add(Row {
            scenario: format!("commands: gRPC enrol, {clients} clients"),
            figure: remote.figures.per_second,
            unit: "cmd/s",
            baseline_name: "in-process appends, same clients".into(),
            baseline: local.figures.per_second,
            detail: format!(
                "gRPC {}, mean batch {:.1}; in-process p50 {:.2} ms, mean batch {:.1}",
                remote.figures.latency_text(),
                remote.mean_batch,
                local.figures.p50_ms,
                local.mean_batch
            ),
            targets,
        });
        local_runs.push((clients, local));
    }
    group_commit_row(&local_runs, report);
    bulk(scale.bulk_events, report).await
}

/// Group commit at the most clients against the fewest (one append per flush
/// at one client): the in-process limit and what batching buys.
fn group_commit_row(runs: &[(usize, Run)], report: &mut Report) {
    let (Some((most, top)), Some((fewest, bottom))) = (
        runs.iter().max_by_key(|(clients, _)| *clients),
        runs.iter().min_by_key(|(clients, _)| *clients),
    ) else {
        return;
    };
    if most == fewest {
        return;
    }
    report.add(Row {
        scenario: format!("commands: in-process group commit, {most} clients"),
        figure: top.figures.per_second,
        unit: "events/s",
        baseline_name: format!("in-process, {fewest} client(s)"),
        baseline: bottom.figures.per_second,
        detail: format!(
            "{}, mean batch {:.1} (vs {:.1}, p50 {:.2} ms)",
            top.figures.latency_text(),
            top.mean_batch,
            bottom.mean_batch,
            bottom.figures.p50_ms
        ),
        // Issue 18: in-process durable appends at 64 clients.
        targets: if *most == 64 {
            vec![Target::AtLeast(25_000.0)]
        } else {
            Vec::new()
        },
    });
}

/// The in-process limit: `clients` tasks appending enrolments to a fresh ledger.
async fn in_process(clients: usize, seconds: f64) -> Result<Run> {
    let dir = TempDir::new("commands-local")?;
    let ledger = open_ledger(dir.path())?;
    let before = ledger.commit_count();
    let figures = closed_loop(
        clients,
        seconds,
        |_| {
            let ledger = ledger.clone();
            async move { Ok(ledger) }
        },
        |ledger: &Ledger, task, i| {
            let ledger = ledger.clone();
            async move {
                ledger
                    .append(format!("local-{task}-{i}"), enrolment(task * TASK_STRIDE + i))
                    .await
                    .map(|_| ())
            }
        },
    )
    .await?;
    let run = Run::new(figures, &ledger, before);
    ledger.shutdown().await;
    Ok(run)
}

/// The same appends as board commands from `clients` gRPC clients (one
/// connection each) to a node on loopback.
async fn over_grpc(clients: usize, seconds: f64) -> Result<Run> {
    let dir = TempDir::new("commands-grpc")?;
    let ledger = open_ledger(dir.path())?;
    let endpoint = serve_ledger(&ledger).await?;
    let before = ledger.commit_count();
    let figures = enrol_over_grpc(&endpoint, clients, seconds, 0).await?;
    let run = Run::new(figures, &ledger, before);
    ledger.shutdown().await;
    Ok(run)
}

/// Enrolments as board commands from `clients` gRPC clients (one connection
/// each, with [`TOKEN`]) to `endpoint` for `seconds`; peer numbers start at
/// `first_peer` so that they can stay clear of peers already in the log.
pub(super) async fn enrol_over_grpc(
    endpoint: &str,
    clients: usize,
    seconds: f64,
    first_peer: usize,
) -> Result<Figures> {
    closed_loop(
        clients,
        seconds,
        |_| NodeClient::connect(endpoint, Some(TOKEN.into())),
        move |client: &NodeClient, task, i| {
            let client = client.clone();
            async move {
                client
                    .record(
                        format!("grpc-{task}-{i}"),
                        enrolment(first_peer + task * TASK_STRIDE + i),
                    )
                    .await
                    .map(|_| ())
            }
        },
    )
    .await
}

/// A bulk import of `events` enrolments over gRPC, beside the same import in
/// process, both with [`BULK_IN_FLIGHT`] appends in flight.
async fn bulk(events: usize, report: &mut Report) -> Result<()> {
    let local = {
        let dir = TempDir::new("bulk-local")?;
        let ledger = open_ledger(dir.path())?;
        let started = Instant::now();
        fill(&ledger, 0, events, BULK_IN_FLIGHT, enrolment).await?;
        let elapsed = started.elapsed();
        ledger.shutdown().await;
        elapsed
    };
    let remote = {
        let dir = TempDir::new("bulk-grpc")?;
        let ledger = open_ledger(dir.path())?;
        let endpoint = serve_ledger(&ledger).await?;
        let elapsed = import_over_grpc(&endpoint, events, BATCHES_IN_FLIGHT).await?;
        let size = ledger.published().checkpoint.size;
        ledger.shutdown().await;
        if size < events as u64 {
            return Err(Error::Internal(format!(
                "the bulk import left {size} entries in the log, expected at least {events}"
            )));
        }
        elapsed
    };
    let rate = |d: Duration| events as f64 / d.as_secs_f64().max(1e-9);
    report.add(Row {
        scenario: format!("commands: bulk import of {events} events over gRPC (RecordBatch)"),
        figure: rate(remote),
        unit: "events/s",
        baseline_name: format!("in-process import, {BULK_IN_FLIGHT} appenders"),
        baseline: rate(local),
        detail: format!(
            "{:.2} s over gRPC ({BATCH} commands per call, {BATCHES_IN_FLIGHT} calls in flight), {:.2} s in process",
            remote.as_secs_f64(),
            local.as_secs_f64()
        ),
        targets: Vec::new(),
    });
    Ok(())
}

/// Imports `events` enrolments through `endpoint` as `Board.RecordBatch`
/// calls of [`BATCH`] commands, `in_flight` calls at a time over as many
/// connections; returns the time taken (connecting excluded). Every command
/// must be recorded.
async fn import_over_grpc(endpoint: &str, events: usize, in_flight: usize) -> Result<Duration> {
    let in_flight = in_flight.max(1);
    let mut clients = Vec::with_capacity(in_flight);
    for _ in 0..in_flight {
        clients.push(NodeClient::connect(endpoint, Some(TOKEN.into())).await?);
    }
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(in_flight);
    for (worker, client) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let starts = (worker * BATCH..events).step_by(in_flight * BATCH);
            for start in starts {
                let commands = (start..(start + BATCH).min(events)).map(batch_enrolment).collect();
                let answer = client.record_batch(commands).await?;
                if let Some(refused) = answer.results.iter().find(|r| !r.error_code.is_empty()) {
                    return Err(Error::Internal(format!(
                        "an import command was refused: {}",
                        refused.error
                    )));
                }
            }
            Ok::<(), Error>(())
        }));
    }
    for task in tasks {
        task.await
            .map_err(|e| Error::Internal(format!("a bulk import task failed: {e}")))??;
    }
    Ok(started.elapsed())
}

/// Enrolment `i` as a batch command.
fn batch_enrolment(i: usize) -> pb::BatchCommand {
    let body = match enrolment(i) {
        pb::command::Body::PeerEnrolled(e) => Some(pb::batch_command::Body::PeerEnrolled(e)),
        _ => None,
    };
    pb::BatchCommand {
        event_id: format!("bulk-{i}"),
        body,
    }
}
