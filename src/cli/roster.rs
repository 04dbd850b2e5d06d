//! `peerreg check --roster roster.csv`: many credentials at once, in calls of a
//! bounded size, with a progress bar on large rosters and a CSV or JSON report.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use super::Connection;
use crate::error::{Error, Result};
use crate::pb;
use crate::report;

/// Roster lines sent per call: well under the node's per-call bound.
const LINES_PER_CALL: usize = 1000;

/// Rosters at least this long get a progress bar.
const PROGRESS_FROM_LINES: usize = 2000;

/// Reads the roster file at `path` with the reader the node's roster page
/// uses; its length is bounded by the calls it is split into, not here.
fn read_roster(path: &Path) -> Result<Vec<pb::RosterItem>> {
    let file =
        std::fs::File::open(path).map_err(|e| Error::InvalidArgument(format!("roster {}: {e}", path.display())))?;
    report::read_roster(&format!("roster {}", path.display()), file, usize::MAX)
}

fn progress(lines: usize) -> ProgressBar {
    if lines < PROGRESS_FROM_LINES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(lines as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} checked ({per_sec})") {
        bar.set_style(style);
    }
    bar
}

/// Checks every line of the roster at `path`; writes the report to `out` (and
/// returns a summary) or returns the report itself.
pub async fn check_roster(connection: &Connection, path: &Path, out: Option<&Path>, json: bool) -> Result<String> {
    let items = read_roster(path)?;
    let client = connection.client(false).await?;
    let bar = progress(items.len());
    let mut results = Vec::with_capacity(items.len());
    for chunk in items.chunks(LINES_PER_CALL) {
        let offset = results.len() as u32;
        let answer = client.check_roster(chunk.to_vec()).await?;
        results.extend(answer.results.into_iter().map(|mut r| {
            r.position += offset;
            r
        }));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let report = if json {
        report::roster_json(&results)
    } else {
        report::roster_csv(&results)?
    };
    let Some(out) = out else { return Ok(report) };
    std::fs::write(out, report).map_err(|e| Error::InvalidArgument(format!("{}: {e}", out.display())))?;
    let failed = results.iter().filter(|r| r.check.is_none()).count();
    let active = results
        .iter()
        .filter(|r| {
            r.check
                .as_ref()
                .is_some_and(|c| c.status == pb::CredentialStatus::Active as i32)
        })
        .count();
    Ok(format!(
        "checked {} roster lines: {active} active, {} other statuses, {failed} not found or invalid; report in {}",
        results.len(),
        results.len() - active - failed,
        out.display()
    ))
}
