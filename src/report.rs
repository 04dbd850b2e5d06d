//! The words and files of employer checks, shared by the command line and the
//! node's web pages so both say the same thing the same way: credential types
//! and statuses as words, a check as JSON, and a roster — read from CSV, its
//! answer written as a CSV or JSON report. Pure: bytes in, text out.

use std::io::Read;

use crate::error::{Error, Result};
use crate::pb;

/// A credential type as a word of the CSV exports, e.g. "peer_support_specialist".
pub fn type_name(value: i32) -> String {
    pb::CredentialType::try_from(value)
        .map(|t| t.as_str_name().trim_start_matches("CREDENTIAL_TYPE_").to_lowercase())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// A status as a word of the CSV exports, e.g. "suspended".
pub fn status_code_name(value: i32) -> String {
    pb::CredentialStatus::try_from(value)
        .map(|s| s.as_str_name().trim_start_matches("CREDENTIAL_STATUS_").to_lowercase())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// A status in words for people, e.g. "ACTIVE (on probation)".
pub fn status_name(status: i32) -> &'static str {
    match pb::CredentialStatus::try_from(status) {
        Ok(pb::CredentialStatus::NotYetValid) => "NOT YET VALID",
        Ok(pb::CredentialStatus::Active) => "ACTIVE",
        Ok(pb::CredentialStatus::Probation) => "ACTIVE (on probation)",
        Ok(pb::CredentialStatus::Restricted) => "ACTIVE (restricted)",
        Ok(pb::CredentialStatus::Expired) => "EXPIRED",
        Ok(pb::CredentialStatus::Suspended) => "SUSPENDED",
        Ok(pb::CredentialStatus::Surrendered) => "SURRENDERED",
        Ok(pb::CredentialStatus::Revoked) => "REVOKED",
        Ok(pb::CredentialStatus::Unspecified) | Err(_) => "UNKNOWN",
    }
}

/// One public disciplinary action as text, with how it had ended by the
/// answer's date (or that it was still in force); also a roster report's cell.
pub fn describe_discipline(action: &pb::PublicDiscipline) -> String {
    let kind = pb::DisciplineKind::try_from(action.kind)
        .map(|k| k.as_str_name())
        .unwrap_or("UNKNOWN");
    let until = if action.ends_on.is_empty() {
        String::new()
    } else {
        format!(" until {}", action.ends_on)
    };
    let ended = match (action.ended_on.as_str(), action.ended_by_reinstatement) {
        ("", _) => String::new(),
        (on, true) => format!(" (ended by reinstatement on {on})"),
        (on, false) => format!(" (ended on {on})"),
    };
    format!(
        "{kind} from {}{until}{ended}: {}",
        action.effective_on, action.public_summary
    )
}

/// One public disciplinary action as JSON, its kind by its wire name.
pub fn discipline_json(d: &pb::PublicDiscipline) -> serde_json::Value {
    serde_json::json!({
        "kind": pb::DisciplineKind::try_from(d.kind).map(|k| k.as_str_name()).unwrap_or("UNKNOWN"),
        "effective_on": d.effective_on,
        "ends_on": d.ends_on,
        "public_summary": d.public_summary,
        "ended_on": d.ended_on,
        "ended_by_reinstatement": d.ended_by_reinstatement,
    })
}

/// JSON for `--json`: the fields an employer may see, with readable enums.
pub fn check_json(check: &pb::CredentialCheck) -> serde_json::Value {
    let discipline: Vec<serde_json::Value> = check.discipline.iter().map(discipline_json).collect();
    serde_json::json!({
        "state": check.state,
        "credential_number": check.credential_number,
        "legal_name": check.legal_name,
        "credential_type": pb::CredentialType::try_from(check.credential_type).map(|t| t.as_str_name()).unwrap_or("UNKNOWN"),
        "status": pb::CredentialStatus::try_from(check.status).map(|s| s.as_str_name()).unwrap_or("UNKNOWN"),
        "as_of": check.as_of,
        "issued_on": check.issued_on,
        "expires_on": check.expires_on,
        "discipline": discipline,
        "log_size": check.log_size,
        "reciprocity_origin_state": check.reciprocity_origin_state,
        "reciprocity_origin_credential_number": check.reciprocity_origin_credential_number,
        "imported_source_system": check.imported_source_system,
        "imported_on": check.imported_on,
    })
}

/// The columns a roster's header line may name, in their order.
pub const ROSTER_COLUMNS: &str = "credential_number,legal_name,date_of_service";

/// Reads a roster: `number[,name[,date]]` lines, a first line naming columns
/// (its first cell mentions "credential") skipped. `source` names the roster in
/// messages. A line whose fields are wrong (an empty number, a malformed date)
/// is kept, to be answered with its own error; a file that is not UTF-8 CSV,
/// holds no line to check or more than `most_lines` is refused as a whole
/// (counted while reading, so a huge file is never held line by line).
pub fn read_roster(source: &str, input: impl Read, most_lines: usize) -> Result<Vec<pb::RosterItem>> {
    let invalid = |e: String| Error::InvalidArgument(format!("{source}: {e}"));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let mut items = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| invalid(csv_problem(&e)))?;
        let number = record.get(0).unwrap_or_default();
        if line == 0 && number.to_ascii_lowercase().contains("credential") {
            continue;
        }
        if items.len() == most_lines {
            return Err(Error::ResourceExhausted(format!(
                "{source} has more than {most_lines} lines; at most {most_lines} are checked at once, split the roster"
            )));
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
    if items.is_empty() {
        return Err(invalid(format!(
            "no line to check: one credential number per line, after an optional header line {ROSTER_COLUMNS}"
        )));
    }
    Ok(items)
}

/// A CSV reading error in words, with its line (text that is not UTF-8 is
/// named as such: a spreadsheet saved in another encoding is the usual cause).
fn csv_problem(error: &csv::Error) -> String {
    let line = error
        .position()
        .map(|p| format!("line {}: ", p.line()))
        .unwrap_or_default();
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            format!("{line}the file is not UTF-8 text; save the roster as \"CSV UTF-8\" and upload it again")
        }
        _ => format!("{line}{error}"),
    }
}

/// A roster's answer as the CSV report: one row per line and date of service.
pub fn roster_csv(results: &[pb::RosterResult]) -> Result<String> {
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

/// One roster result as JSON: the check (as [`check_json`]) or the error, with
/// the line's position (from 0) in the roster.
pub fn roster_result_json(result: &pb::RosterResult) -> serde_json::Value {
    let mut row = match &result.check {
        Some(check) => check_json(check),
        None => serde_json::json!({
            "credential_number": result.credential_number,
            "date_of_service": result.date_of_service,
            "error_code": result.error_code,
            "error": result.error,
        }),
    };
    row["position"] = result.position.into();
    row
}

/// A roster's answer as the JSON report: an array of [`roster_result_json`].
pub fn roster_json(results: &[pb::RosterResult]) -> String {
    serde_json::Value::Array(results.iter().map(roster_result_json).collect()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &[u8], most: usize) -> Result<Vec<pb::RosterItem>> {
        read_roster("the roster", text, most)
    }

    #[test]
    fn a_roster_is_read_with_or_without_its_header_and_bad_lines_are_kept() {
        let items = read(
            b"credential_number,legal_name,date_of_service\nMS-1, Ada ,2025-06-01\n,Bob,\nMS-3\n",
            3,
        )
        .expect("a roster");
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].legal_name, "Ada");
        assert_eq!(items[0].dates_of_service, ["2025-06-01"]);
        assert_eq!(
            items[1].credential_number, "",
            "an empty number is the line's own error later"
        );
        assert!(items[2].dates_of_service.is_empty());
        assert_eq!(read(b"MS-1\n", 1).expect("no header").len(), 1);
    }

    #[test]
    fn a_roster_that_is_empty_too_long_or_not_utf8_is_refused_whole() {
        assert!(matches!(read(b"credential_number\n", 5), Err(Error::InvalidArgument(m)) if m.contains("no line")));
        assert!(matches!(read(b"", 5), Err(Error::InvalidArgument(_))));
        assert!(matches!(read(b"A\nB\nC\n", 2), Err(Error::ResourceExhausted(m)) if m.contains("more than 2")));
        let latin1 = b"MS-1,Jos\xe9 Garc\xeda\n";
        assert!(
            matches!(read(latin1, 5), Err(Error::InvalidArgument(m)) if m.contains("line 1") && m.contains("not UTF-8")),
        );
    }
}
