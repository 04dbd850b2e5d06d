//! Scenario: the board's finding aids and the public export at
//! `bulk_events` credentials (100,000 at full scale). Each query is timed
//! over gRPC (one client, one call at a time: latency, not throughput) beside
//! the very same query answered in process from the projection in the same
//! run; the exports' rows/s beside writing the same rows as CSV with no node
//! in between.

use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};

use super::load::Figures;
use super::{fill, open_ledger, serve_stoppable, Report, Row, Scale, Target, TempDir, TOKEN};
use crate::clock::{Clock, SystemClock};
use crate::demo::bodies;
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::pb;
use crate::projection::Registry;
use crate::service::client::NodeClient;
use crate::service::export::{public_page, PublicExport};
use crate::service::search::{list_credentials, search_people, CredentialList, PeopleQuery};

/// Where the issues' numbering starts in `fill` (enrolments start at 0).
const ISSUES_FROM: usize = 1_000_000_000;
/// Concurrent appenders while seeding.
const SEED_WRITERS: usize = 256;
/// Syllables of the synthetic family names (16 × 16 = 256 names, each held by
/// about 1 in 256 people) and of the given names.
const SYLLABLES: [&str; 16] = [
    "al", "bo", "ca", "de", "el", "fa", "gi", "ha", "il", "jo", "ka", "lu", "ma", "ne", "or", "pa",
];
const GIVEN: [&str; 8] = ["Ana", "Ben", "Cruz", "Dana", "Eli", "Flor", "Gus", "Hana"];

fn peer_id(i: usize) -> String {
    format!("MS-P-{i:08}")
}

fn family(i: usize) -> String {
    let k = i.wrapping_mul(7919) % 256;
    let name = format!("{}{}n", SYLLABLES[k / 16], SYLLABLES[k % 16]);
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(super) fn legal_name(i: usize) -> String {
    format!("{} {}", GIVEN[i % GIVEN.len()], family(i))
}

pub(super) fn number(i: usize) -> String {
    format!("MS-{i:07}")
}

fn today() -> NaiveDate {
    SystemClock.today()
}

fn days_from_today(days: i64) -> String {
    let date = if days >= 0 {
        today().checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        today().checked_sub_days(Days::new(days.unsigned_abs()))
    };
    date.unwrap_or(NaiveDate::MIN).format("%Y-%m-%d").to_string()
}

fn enrolment(i: usize) -> pb::command::Body {
    bodies::enrol(&peer_id(i), &legal_name(i))
}

/// Issued 400 to 1,100 days ago; expiring from 180 days ago to about 3 years
/// ahead, spread evenly (so about 1 in 36 expires within the next 30 days).
/// `i` counts from [`ISSUES_FROM`] (so that `fill`'s event ids stay apart
/// from the enrolments').
fn issue(i: usize) -> pb::command::Body {
    let i = i.saturating_sub(ISSUES_FROM);
    let issued = days_from_today(-400 - (i % 700) as i64);
    let expires = days_from_today(-180 + (i.wrapping_mul(7919) % 1096) as i64);
    bodies::issue(&peer_id(i), &number(i), &issued, &expires)
}

/// Enrols `count` people and issues each a credential (`number(i)`, held by
/// `legal_name(i)`); returns the time it took. Shared with the web scenario.
pub(super) async fn seed(ledger: &Ledger, count: usize) -> Result<Duration> {
    let seeding = Instant::now();
    fill(ledger, 0, count, SEED_WRITERS, enrolment).await?;
    fill(ledger, ISSUES_FROM, count, SEED_WRITERS, issue).await?;
    Ok(seeding.elapsed())
}

/// Times `calls` sequential calls of `call(i)`.
pub(super) async fn timed<F, Fut>(calls: usize, mut call: F) -> Result<Figures>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut latencies = Vec::with_capacity(calls);
    let started = Instant::now();
    for i in 0..calls {
        let at = Instant::now();
        call(i).await?;
        latencies.push(at.elapsed());
    }
    Ok(Figures::from_latencies(latencies, started.elapsed()))
}

/// Times `calls` sequential runs of `work(i)` in process.
fn timed_local(calls: usize, mut work: impl FnMut(usize) -> Result<()>) -> Result<Figures> {
    let mut latencies = Vec::with_capacity(calls);
    let started = Instant::now();
    for i in 0..calls {
        let at = Instant::now();
        work(i)?;
        latencies.push(at.elapsed());
    }
    Ok(Figures::from_latencies(latencies, started.elapsed()))
}

fn name_query(i: usize) -> pb::SearchPeopleRequest {
    // The first three letters of a family name: about 1 in 256 people match.
    let prefix: String = family(i.wrapping_mul(31)).chars().take(3).collect();
    pb::SearchPeopleRequest {
        query: prefix.to_lowercase(),
        page_token: String::new(),
        page_size: None,
    }
}

fn number_query(i: usize, count: usize) -> pb::SearchPeopleRequest {
    pb::SearchPeopleRequest {
        query: number(i.wrapping_mul(7919) % count.max(1)),
        page_token: String::new(),
        page_size: None,
    }
}

fn expiring_list() -> pb::ListCredentialsRequest {
    pb::ListCredentialsRequest {
        expiring_within_days: Some(30),
        page_size: Some(100),
        ..Default::default()
    }
}

fn no_answer(what: &str) -> Error {
    Error::Internal(format!("{what} found nothing in the benchmark register"))
}

/// One query's row: over gRPC against in process.
fn query_row(what: &str, count: usize, grpc: Figures, local: Figures, full: bool) -> Row {
    Row {
        scenario: format!("register: {what} at {count} credentials"),
        figure: grpc.p50_ms,
        unit: "ms p50",
        baseline_name: "ms p50 of the same query in process".into(),
        baseline: local.p50_ms,
        detail: format!(
            "over gRPC p99 {:.2} ms; in process p99 {:.3} ms; {} calls one at a time",
            grpc.p99_ms, local.p99_ms, grpc.calls
        ),
        targets: if full { vec![Target::AtMost(5.0)] } else { Vec::new() },
    }
}

pub async fn run(scale: Scale, report: &mut Report) -> Result<()> {
    let full = scale.name == "full";
    let count = scale.bulk_events;
    let calls = if full { 500 } else { 20 };
    let dir = TempDir::new("register")?;
    let ledger = open_ledger(dir.path())?;
    let seeded = seed(&ledger, count).await?;
    let serving = serve_stoppable(&ledger).await?;
    let client = NodeClient::connect(&serving.endpoint, Some(TOKEN.into())).await?;
    let registry = ledger.registry();
    let today = ledger.today();
    if registry.credentials.len() != count {
        return Err(Error::Internal(format!(
            "seeded {} credentials, expected {count}",
            registry.credentials.len()
        )));
    }

    let grpc = timed(calls, |i| {
        let client = client.clone();
        async move {
            let answer = client.search_people(name_query(i)).await?;
            answer
                .people
                .first()
                .map(|_| ())
                .ok_or_else(|| no_answer("a name search"))
        }
    })
    .await?;
    let local = timed_local(calls, |i| {
        let query = PeopleQuery::try_from(name_query(i))?;
        let answer = search_people(&registry, &query, today);
        answer
            .people
            .first()
            .map(|_| ())
            .ok_or_else(|| no_answer("a name search"))
    })?;
    report.add(query_row(
        "search by name prefix (3 letters, first page of 50)",
        count,
        grpc,
        local,
        full,
    ));

    let grpc = timed(calls, |i| {
        let client = client.clone();
        async move {
            let answer = client.search_people(number_query(i, count)).await?;
            answer
                .people
                .first()
                .map(|_| ())
                .ok_or_else(|| no_answer("a number search"))
        }
    })
    .await?;
    let local = timed_local(calls, |i| {
        let query = PeopleQuery::try_from(number_query(i, count))?;
        let answer = search_people(&registry, &query, today);
        answer
            .people
            .first()
            .map(|_| ())
            .ok_or_else(|| no_answer("a number search"))
    })?;
    report.add(query_row("search by credential number", count, grpc, local, full));

    let grpc = timed(calls, |_| {
        let client = client.clone();
        async move {
            let answer = client.list_credentials(expiring_list()).await?;
            answer
                .credentials
                .first()
                .map(|_| ())
                .ok_or_else(|| no_answer("the renewal list"))
        }
    })
    .await?;
    let local = timed_local(calls, |_| {
        let list = CredentialList::try_from(expiring_list())?;
        let answer = list_credentials(&registry, &list, today);
        answer
            .credentials
            .first()
            .map(|_| ())
            .ok_or_else(|| no_answer("the renewal list"))
    })?;
    report.add(query_row(
        "list expiring within 30 days (one page of 100)",
        count,
        grpc,
        local,
        full,
    ));

    export_rows(&client, &registry, today, count, seeded, full, report).await?;
    serving.stop().await;
    ledger.shutdown().await;
    Ok(())
}

/// The full public export over gRPC (`peerreg export public`'s own code,
/// into a sink) against writing the same rows as CSV from memory; then the
/// board's export (`peerreg export board`'s code) against the same.
async fn export_rows(
    client: &NodeClient,
    registry: &Registry,
    today: NaiveDate,
    count: usize,
    seeded: Duration,
    full: bool,
    report: &mut Report,
) -> Result<()> {
    let started = Instant::now();
    let written = crate::cli::export::write_public(client, std::io::sink()).await?;
    let over_grpc = started.elapsed();
    if written.credentials != count {
        return Err(Error::Internal(format!(
            "the export wrote {} credentials, expected {count}",
            written.credentials
        )));
    }
    let started = Instant::now();
    let entries = all_entries(registry, today)?;
    let pages_in_process = started.elapsed();
    let started = Instant::now();
    let mut writer = csv::Writer::from_writer(std::io::sink());
    for entry in &entries {
        crate::cli::export::write_public_entry(&mut writer, entry)?;
    }
    writer
        .flush()
        .map_err(|e| Error::Internal(format!("writing CSV: {e}")))?;
    let raw_csv = started.elapsed();
    let rate = |d: Duration| count as f64 / d.as_secs_f64().max(1e-9);
    report.add(Row {
        scenario: format!("register: full public export of {count} credentials over gRPC"),
        figure: rate(over_grpc),
        unit: "rows/s",
        baseline_name: "rows/s raw CSV writing of the same rows".into(),
        baseline: rate(raw_csv),
        detail: format!(
            "{:.2} s over gRPC (pages of 1000); the pages built in process {:.0} rows/s; seeding {:.1} s",
            over_grpc.as_secs_f64(),
            rate(pages_in_process),
            seeded.as_secs_f64()
        ),
        targets: if full {
            vec![Target::AtLeast(20_000.0)]
        } else {
            Vec::new()
        },
    });
    let started = Instant::now();
    let all = pb::ListCredentialsRequest::default();
    let written = crate::cli::export::write_board(client, all, std::io::sink()).await?;
    let board = started.elapsed();
    if written.credentials != count {
        return Err(Error::Internal(format!(
            "the board export wrote {} credentials, expected {count}",
            written.credentials
        )));
    }
    report.add(Row {
        scenario: format!("register: full board export of {count} credentials over gRPC"),
        figure: rate(board),
        unit: "rows/s",
        baseline_name: "rows/s raw CSV writing of the public rows".into(),
        baseline: rate(raw_csv),
        detail: format!("{:.2} s over gRPC (ListCredentials, pages of 100)", board.as_secs_f64()),
        targets: if full {
            vec![Target::AtLeast(20_000.0)]
        } else {
            Vec::new()
        },
    });
    Ok(())
}

/// Every public register entry, page by page in process.
fn all_entries(registry: &Registry, today: NaiveDate) -> Result<Vec<pb::PublicRegisterEntry>> {
    let mut entries = Vec::new();
    let mut page_token = String::new();
    loop {
        let export = PublicExport::try_from(pb::ExportPublicRegisterRequest {
            page_token,
            page_size: Some(1_000),
        })?;
        let page = public_page(registry, &export, today);
        entries.extend(page.credentials);
        if page.next_page_token.is_empty() {
            return Ok(entries);
        }
        page_token = page.next_page_token;
    }
}
