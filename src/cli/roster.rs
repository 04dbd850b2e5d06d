//! `peerreg check --roster roster.csv`: many credentials at once, in calls of a
//! bounded size, with a progress bar on large rosters and a CSV or JSON report.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use super::{check_json, describe_discipline, status_name, Connection};
use crate::error::{Error, Result};
use crate::pb;

/// Roster lines sent per call: well under the node's per-call bound.
const LINES_PER_CALL: usize = 1000;

/// Rosters at least this long get a progress bar.
const PROGRESS_FROM_LINES: usize = 2000;

/// Reads `number[,name[,date]]` lines; a first line naming columns is skipped.
fn read_roster(path: &Path) -> Result<Vec<pb::RosterItem>> {
    let invalid = |e: String| Error::InvalidArgument(format!("roster {}: {e}", path.display()));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| invalid(e.to_string()))?;
    let mut items = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| invalid(e.to_string()))?;
        let number = record.get(0).unwrap_or_default();
        if line == 0 && number.to_ascii_lowercase().contains("credential") {
            continue;
        }
        if number.is_empty() {
            return Err(invalid(format!("line {}: the credential number is empty", line + 1)));
        }
        let date = record.get(2).unwrap_or_default();
        items.push(pb::RosterItem {
            credential_number: number.to_string(),
            legal_name: record.get(1).unwrap_or_default().to_string(),
            dates_of_service: if date.is_empty() {
                Vec::new()
            } else {
                vec![date.to_string()]
            },
        });
    }
    Ok(items)
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

fn csv_report(results: &[pb::RosterResult]) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "credential_number",
        "legal_name",
        "date_of_service",
        "status",
        "credential_type",
        "expires_on",
        "discipline",
        "error",
    ];
    let failed = |e: csv::Error| Error::Internal(format!("writing the report: {e}"));
    writer.write_record(header).map_err(failed)?;
    for result in results {
        let row = match &result.check {
            Some(check) => {
                let kind = pb::CredentialType::try_from(check.credential_type)
                    .map(|t| t.as_str_name())
                    .unwrap_or("UNKNOWN");
                let discipline: Vec<String> = check.discipline.iter().map(describe_discipline).collect();
                [
                    check.credential_number.clone(),
                    check.legal_name.clone(),
                    check.as_of.clone(),
                    status_name(check.status).to_string(),
                    kind.to_string(),
                    check.expires_on.clone(),
                    discipline.join(" | "),
                    String::new(),
                ]
            }
            None => [
                result.credential_number.clone(),
                String::new(),
                result.date_of_service.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                format!("{}: {}", result.error_code, result.error),
            ],
        };
        writer.write_record(&row).map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::Internal(format!("writing the report: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn json_report(results: &[pb::RosterResult]) -> String {
    let rows: Vec<serde_json::Value> = results
        .iter()
        .map(|r| match &r.check {
            Some(check) => check_json(check),
            None => serde_json::json!({
                "credential_number": r.credential_number,
                "date_of_service": r.date_of_service,
                "error_code": r.error_code,
                "error": r.error,
            }),
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
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
        json_report(&results)
    } else {
        csv_report(&results)?
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
