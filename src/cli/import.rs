//! `peerreg import`: a board's existing registry in from CSV files. The
//! files are read and checked first (a file-level problem stops everything
//! before anything is sent); then, batch by batch, every person's commands
//! are judged by the node in a dry run, and — unless this is a dry run —
//! the people with no refused row are recorded. So the real run records
//! exactly what the dry run accepted, and no one is half-imported.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Connection;
use crate::error::{Error, Result};
use crate::import::plan::{self, Person, Planned, Run};
use crate::import::read::{self, ReadFile};
use crate::import::report::{Outcome, Report, ReportLine};
use crate::limits::IMPORT_FILES_MAX;
use crate::pb;
use crate::service::client::NodeClient;

/// Refusals listed in the printed summary (the report has them all).
const SUMMARY_REFUSALS_LISTED: usize = 20;

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// The board's name for the system the rows come from, e.g. "TN CARS
    /// 2019": part of every event id and of every imported credential's basis.
    #[arg(long)]
    pub source_system: String,
    /// Judge every row against the node and write the report; record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write `report.csv` (file,line,column,outcome,reason) and `summary.txt` here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The import's date recorded with every imported credential (YYYY-MM-DD)
    /// [default: today]. A run resumed on a later day passes the first run's date.
    #[arg(long)]
    pub imported_on: Option<String>,
    /// The CSV files (one per kind, or files with a leading `kind` column).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// What a run printed and whether every row went in.
#[derive(Debug)]
pub struct Finished {
    pub text: String,
    pub report: Report,
}

/// Runs `peerreg import`.
pub async fn import(args: ImportArgs) -> Result<Finished> {
    let today = chrono::Utc::now().date_naive();
    let imported_on = match &args.imported_on {
        Some(text) => crate::domain::fact::date("--imported-on", text)?,
        None => today,
    };
    let run = Run {
        source_system: crate::domain::fact::text("--source-system", args.source_system.clone(), 200)?,
        imported_on,
        today,
    };
    let files = read_files(&args.files)?;
    let client = args.connection.client(true).await?;
    let report = send(&client, &files, &run, args.dry_run, std::io::stderr().is_terminal()).await?;
    let mut text = report.summary(SUMMARY_REFUSALS_LISTED);
    if let Some(dir) = &args.report {
        write_report(dir, &report)?;
        text.push_str(&format!("report: {}\n", dir.display()));
    }
    Ok(Finished {
        text: text.trim_end().to_string(),
        report,
    })
}

/// Reads every file, refusing the whole import on the first file-level
/// problem (size, encoding, header, malformed CSV).
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<ReadFile>> {
    if paths.len() > IMPORT_FILES_MAX {
        return Err(Error::InvalidArgument(format!(
            "{} files given; at most {IMPORT_FILES_MAX} per import",
            paths.len()
        )));
    }
    let mut files: Vec<ReadFile> = Vec::with_capacity(paths.len());
    for path in paths {
        let name = bare_name(path)?;
        if files.iter().any(|f| f.name == name) {
            return Err(Error::InvalidArgument(format!(
                "two files are named {name}: the records name files without their directories, so rename one"
            )));
        }
        let unreadable = |e: std::io::Error| Error::InvalidArgument(format!("{}: {e}", path.display()));
        let size = std::fs::metadata(path).map_err(unreadable)?.len();
        read::check_size(&name, size).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let bytes = std::fs::read(path).map_err(unreadable)?;
        files.push(read::read(&name, &bytes).map_err(|e| Error::InvalidArgument(e.to_string()))?);
    }
    Ok(files)
}

/// The file's own name, without directories (what the records hold).
fn bare_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::InvalidArgument(format!("{} is not a file", path.display())))
}

/// Batches in flight at once: people in different batches never depend on
/// each other (a person's commands are all in one batch, and numbers and ids
/// are checked unique across the files), so batches may be judged and
/// recorded in any order.
const BATCHES_IN_FLIGHT: usize = 4;

/// Plans the files and sends them, batch by batch; returns the report.
pub async fn send(client: &NodeClient, files: &[ReadFile], run: &Run, dry_run: bool, progress: bool) -> Result<Report> {
    let plan = plan::plan(files, run);
    let mut report = Report {
        dry_run,
        source_system: run.source_system.clone(),
        imported_on: run.imported_on.to_string(),
        lines: plan.report,
        people_refused: plan.people_refused,
        ..Report::default()
    };
    let ranges = plan::batches(&plan.people);
    let people = Arc::new(plan.people);
    let total: usize = people.iter().map(|p| p.commands.len()).sum();
    let bar = progress_bar(total as u64, progress);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut ranges = ranges.into_iter();
    loop {
        while tasks.len() < BATCHES_IN_FLIGHT {
            let Some(range) = ranges.next() else { break };
            let (client, people, run) = (client.clone(), people.clone(), run.clone());
            tasks.spawn(async move { batch(&client, &people[range], &run, dry_run).await });
        }
        let Some(joined) = tasks.join_next().await else { break };
        let part = joined.map_err(|e| Error::Internal(format!("an import batch failed: {e}")))??;
        bar.inc(part.lines.len() as u64);
        report.lines.extend(part.lines);
        report.people_refused.extend(part.people_refused);
        report.people_accepted += part.people_accepted;
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed().max(Duration::from_millis(1));
    if total > 0 {
        report.rate = Some(total as f64 / elapsed.as_secs_f64());
    }
    Ok(report)
}

/// One batch: judged in a dry run, then (unless a dry run) recorded for the
/// people accepted. Returns the batch's part of the report.
async fn batch(client: &NodeClient, people: &[Person], run: &Run, dry_run: bool) -> Result<Report> {
    let mut part = Report::default();
    let accepted = judge(client, people, run, &mut part).await?;
    if !dry_run {
        record(client, &accepted, run, &mut part).await?;
    }
    Ok(part)
}

fn progress_bar(total: u64, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}  {msg}") {
        bar.set_style(style);
    }
    bar
}

/// A person the dry run accepted, with the rows that are new.
struct Accepted<'a> {
    person: &'a Person,
    new: Vec<&'a Planned>,
}

/// One batch's dry run: every person's commands and provenance judged; a
/// person with any refusal is withheld whole. Returns those accepted.
async fn judge<'a>(
    client: &NodeClient,
    people: &'a [Person],
    run: &Run,
    report: &mut Report,
) -> Result<Vec<Accepted<'a>>> {
    let mut commands = Vec::new();
    for person in people {
        commands.extend(person.commands.iter().map(Planned::command));
        let rows: Vec<&Planned> = person.commands.iter().collect();
        commands.push(plan::provenance(&person.peer_id, &rows, run));
    }
    let results = client.dry_run_batch(commands).await?.results;
    let mut results = results.into_iter();
    let mut accepted = Vec::new();
    for person in people {
        let own: Vec<pb::BatchResult> = results.by_ref().take(person.commands.len() + 1).collect();
        if own.len() != person.commands.len() + 1 {
            return Err(Error::Internal("the node answered a batch with too few results".into()));
        }
        if let Some(person) = judged(person, &own, report) {
            accepted.push(person);
        }
    }
    Ok(accepted)
}

/// Reports one person's dry-run results; the person if they may be recorded.
fn judged<'a>(person: &'a Person, results: &[pb::BatchResult], report: &mut Report) -> Option<Accepted<'a>> {
    let refused = |r: &pb::BatchResult| !r.error_code.is_empty();
    let provenance = &results[person.commands.len()];
    let first_refusal = person.commands.iter().zip(results).find(|(_, r)| refused(r));
    let blame = match (first_refusal, refused(provenance)) {
        (Some((command, _)), _) => Some(format!("{} line {}", command.file, command.line)),
        (None, true) => Some("its import provenance record".to_string()),
        (None, false) => None,
    };
    // A refused provenance record is reported on the person's first row.
    let provenance_refusal = refused(provenance).then(|| {
        format!(
            "the import provenance record of {} was refused: {}: {}",
            person.peer_id, provenance.error_code, provenance.error
        )
    });
    let mut new = Vec::new();
    for (i, (command, result)) in person.commands.iter().zip(results).enumerate() {
        let (outcome, reason) = match (&blame, refused(result), result.duplicate) {
            (_, true, _) => (Outcome::Refused, format!("{}: {}", result.error_code, result.error)),
            (_, false, _) if i == 0 && provenance_refusal.is_some() => {
                (Outcome::Refused, provenance_refusal.clone().unwrap_or_default())
            }
            (_, false, true) => (Outcome::AlreadyRecorded, String::new()),
            (Some(at), false, false) => (
                Outcome::Withheld,
                format!("not recorded: another row of {} was refused ({at})", person.peer_id),
            ),
            (None, false, false) => {
                new.push(command);
                (Outcome::Accepted, String::new())
            }
        };
        report.lines.push(line(command, outcome, reason));
    }
    if blame.is_some() {
        report.people_refused.insert(person.peer_id.clone());
        return None;
    }
    if !new.is_empty() {
        report.people_accepted += 1;
    }
    Some(Accepted { person, new })
}

fn line(command: &Planned, outcome: Outcome, reason: String) -> ReportLine {
    ReportLine {
        file: command.file.clone(),
        line: command.line,
        column: String::new(),
        outcome,
        reason,
    }
}

/// Records the new rows of the people the dry run accepted, each with a
/// provenance record of exactly those rows. A refusal now (the registry
/// changed since the dry run) is reported on its row.
async fn record(client: &NodeClient, accepted: &[Accepted<'_>], run: &Run, report: &mut Report) -> Result<()> {
    let mut commands = Vec::new();
    let mut sent: Vec<Option<&Planned>> = Vec::new();
    for person in accepted.iter().filter(|a| !a.new.is_empty()) {
        commands.extend(person.new.iter().map(|p| p.command()));
        sent.extend(person.new.iter().map(|&p| Some(p)));
        commands.push(plan::provenance(&person.person.peer_id, &person.new, run));
        sent.push(None);
    }
    if commands.is_empty() {
        return Ok(());
    }
    let results = client.record_batch(commands).await?.results;
    for (command, result) in sent.iter().zip(&results) {
        if result.error_code.is_empty() {
            continue;
        }
        let reason = format!(
            "refused when recorded, after the dry run accepted it: {}: {}",
            result.error_code, result.error
        );
        match command {
            Some(command) => {
                if let Some(line) = report
                    .lines
                    .iter_mut()
                    .find(|l| l.file == command.file && l.line == command.line)
                {
                    line.outcome = Outcome::Refused;
                    line.reason = reason;
                }
            }
            None => tracing::warn!(%reason, "an import provenance record was refused"),
        }
    }
    Ok(())
}

/// Writes `report.csv` and `summary.txt` into `dir` (created if missing).
pub fn write_report(dir: &Path, report: &Report) -> Result<()> {
    let failed = |e: std::io::Error| Error::InvalidArgument(format!("--report {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(failed)?;
    std::fs::write(dir.join("report.csv"), report.csv()).map_err(failed)?;
    std::fs::write(dir.join("summary.txt"), report.summary(usize::MAX)).map_err(failed)?;
    Ok(())
}

/// A board record's import provenance: per run, the rows recorded and
/// where they came from (`peerreg record`).
pub fn describe_imports(record: &pb::PeerRecord) -> Vec<String> {
    let mut lines = Vec::new();
    for run in &record.imports {
        lines.push(format!(
            "  imported from {} on {}: {} rows",
            run.source_system,
            run.imported_on,
            run.rows.len()
        ));
        lines.extend(run.rows.iter().map(|row| {
            let source = if row.source_record_id.is_empty() {
                String::new()
            } else {
                format!(" (source id {})", row.source_record_id)
            };
            format!("    {} from {} line {}{source}", row.kind, row.file, row.line)
        }));
    }
    lines
}

/// Today's date, for callers that build a [`Run`] themselves (tests, benchmarks).
pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}
