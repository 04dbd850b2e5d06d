//! Scenario: `peerreg import` of a legacy registry (people, credentials,
//! renewals; `bulk_events` rows) through the whole import path — reading
//! and checking the CSV, planning, a dry run then the recording of every
//! batch, provenance records — beside the same commands sent as raw
//! `Board.RecordBatch` calls, each into a fresh node, in one run.

use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};

use super::{open_ledger, serve_ledger, Report, Row, Scale, TempDir, TOKEN};
use crate::error::{Error, Result};
use crate::import::plan::{self, Run};
use crate::import::read::{self, ReadFile};
use crate::service::client::NodeClient;

/// Rows per synthetic person: enrolment, credential, three renewals.
const ROWS_PER_PERSON: usize = 5;
/// Raw `RecordBatch` calls in flight (as the import's own driver keeps).
const IN_FLIGHT: usize = 4;

pub async fn run(scale: Scale, report: &mut Report) -> Result<()> {
    let people = (scale.bulk_events / ROWS_PER_PERSON).max(1);
    let rows = people * ROWS_PER_PERSON;
    let today = chrono::Utc::now().date_naive();
    let run = Run {
        source_system: "bench legacy".into(),
        imported_on: today,
        today,
    };
    let csv = synthetic(people);
    let imported = through_import(&csv, &run, rows).await?;
    let raw = raw_batches(&csv, &run).await?;
    let rate = |d: Duration| rows as f64 / d.as_secs_f64().max(1e-9);
    report.add(Row {
        scenario: format!("import: {rows} CSV rows through `peerreg import` (dry run + record per batch)"),
        figure: rate(imported),
        unit: "rows/s",
        baseline_name: "the same commands as raw RecordBatch".into(),
        baseline: rate(raw),
        detail: format!(
            "{:.2} s import (reading, checks, plan, dry run, record, {people} provenance records), {:.2} s raw",
            imported.as_secs_f64(),
            raw.as_secs_f64()
        ),
        targets: Vec::new(),
    });
    Ok(())
}

fn years_after(date: NaiveDate, years: i32) -> NaiveDate {
    // 29 February has no anniversary in a common year: the 28th.
    date.with_year(date.year() + years)
        .or_else(|| NaiveDate::from_ymd_opt(date.year() + years, 2, 28))
        .unwrap_or(date)
}

/// The synthetic files: people, credentials and renewals, as CSV text.
fn synthetic(people: usize) -> [(&'static str, String); 3] {
    let mut persons = String::from("peer_id,legal_name,eligibility_attested,ethics_code_signed,source_id\n");
    let mut credentials = String::from("credential_number,peer_id,credential_type,issued_on,expires_on,source_id\n");
    let mut renewals = String::from("credential_number,renewed_on,new_expires_on\n");
    let first = NaiveDate::from_ymd_opt(2014, 1, 1).unwrap_or_default();
    for i in 0..people {
        let peer = format!("MS-P-{i:07}");
        let number = format!("MS-PSS-{i:07}");
        let issued = first + chrono::Duration::days((i % 1500) as i64);
        persons.push_str(&format!("{peer},Legacy Person {i},yes,yes,L{i}\n"));
        credentials.push_str(&format!(
            "{number},{peer},peer_support_specialist,{issued},{},\n",
            years_after(issued, 2)
        ));
        for k in 1..=3 {
            let expiry = years_after(issued, 2 * k);
            renewals.push_str(&format!(
                "{number},{},{}\n",
                expiry - chrono::Duration::days(10),
                years_after(issued, 2 * (k + 1))
            ));
        }
    }
    [
        ("people.csv", persons),
        ("credentials.csv", credentials),
        ("renewals.csv", renewals),
    ]
}

fn read_all(csv: &[(&str, String)]) -> Result<Vec<ReadFile>> {
    csv.iter()
        .map(|(name, text)| read::read(name, text.as_bytes()).map_err(|e| Error::Internal(e.to_string())))
        .collect()
}

/// The whole import path into a fresh node; every row must be recorded.
async fn through_import(csv: &[(&str, String)], run: &Run, rows: usize) -> Result<Duration> {
    let dir = TempDir::new("import")?;
    let ledger = open_ledger(dir.path())?;
    let endpoint = serve_ledger(&ledger).await?;
    let client = NodeClient::connect(&endpoint, Some(TOKEN.into())).await?;
    let started = Instant::now();
    let files = read_all(csv)?;
    let report = crate::cli::import::send(&client, &files, run, false, false).await?;
    let elapsed = started.elapsed();
    ledger.shutdown().await;
    if !report.clean() || report.counts().accepted != rows {
        return Err(Error::Internal(format!(
            "the benchmark import did not record every row:\n{}",
            report.summary(5)
        )));
    }
    Ok(elapsed)
}

/// The same commands (without provenance) as raw `RecordBatch` calls of up
/// to 1,000, [`IN_FLIGHT`] at a time, into a fresh node.
async fn raw_batches(csv: &[(&str, String)], run: &Run) -> Result<Duration> {
    let plan = plan::plan(&read_all(csv)?, run);
    let mut batches: Vec<Vec<crate::pb::BatchCommand>> = vec![Vec::new()];
    for person in &plan.people {
        let full = batches
            .last()
            .is_some_and(|b| b.len() + person.commands.len() > crate::limits::BATCH_COMMANDS_MAX);
        if full {
            batches.push(Vec::new());
        }
        if let Some(batch) = batches.last_mut() {
            batch.extend(person.commands.iter().map(plan::Planned::command));
        }
    }
    let dir = TempDir::new("import-raw")?;
    let ledger = open_ledger(dir.path())?;
    let endpoint = serve_ledger(&ledger).await?;
    let client = NodeClient::connect(&endpoint, Some(TOKEN.into())).await?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut batches = batches.into_iter();
    loop {
        while tasks.len() < IN_FLIGHT {
            let Some(batch) = batches.next() else { break };
            let client = client.clone();
            tasks.spawn(async move { client.record_batch(batch).await });
        }
        let Some(joined) = tasks.join_next().await else { break };
        let answer = joined.map_err(|e| Error::Internal(format!("a raw batch failed: {e}")))??;
        if let Some(refused) = answer.results.iter().find(|r| !r.error_code.is_empty()) {
            return Err(Error::Internal(format!(
                "a raw batch command was refused: {}",
                refused.error
            )));
        }
    }
    let elapsed = started.elapsed();
    ledger.shutdown().await;
    Ok(elapsed)
}
