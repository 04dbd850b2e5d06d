//! One import row's cells parsed into the command it states, with what the
//! planning needs to check it against the other rows (who, which credential,
//! which date) and the canonical data its event id is derived from.

use chrono::NaiveDate;

use super::format::Kind;
use crate::domain::fact::{self, SUMMARY_BYTES_MAX, TEXT_BYTES_MAX};
use crate::domain::vocabulary::{hours_to_minutes, is_ce_topic, is_competency_domain};
use crate::pb;
use pb::batch_command::Body;

/// Why a row is refused, and which column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub column: String,
    pub reason: String,
}

impl RowError {
    pub fn new(column: &str, reason: impl Into<String>) -> RowError {
        RowError {
            column: column.to_string(),
            reason: reason.into(),
        }
    }
}

/// A row parsed: the command it states and its place among the others.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedRow {
    /// 1-based line in its file (the header is line 1).
    pub line: u64,
    pub kind: Kind,
    /// The provenance name of what the row records ("discipline",
    /// "reinstatement", "person", ...).
    pub record_kind: &'static str,
    pub source_id: String,
    /// The person the row is about (absent for a credential's later life,
    /// which names the credential).
    pub peer_id: Option<String>,
    pub credential_number: Option<String>,
    /// The row's own date: must not be in the future; orders a credential's
    /// later life; for a credential, its issue.
    pub date: Option<NaiveDate>,
    /// A credential's expiry (checked against its issue).
    pub expires_on: Option<NaiveDate>,
    pub body: Body,
    /// The row's data fields, normalised: its event id is derived from them.
    pub canonical: Vec<String>,
}

/// The cells of one row by column name.
struct Cells<'a>(&'a [(&'a str, &'a str)]);

type Parsed<T> = Result<T, RowError>;

impl Cells<'_> {
    fn get(&self, column: &str) -> &str {
        self.0.iter().find(|(c, _)| *c == column).map_or("", |(_, v)| v)
    }

    fn checked(&self, column: &str, check: impl FnOnce(&str) -> crate::error::Result<String>) -> Parsed<String> {
        check(self.get(column)).map_err(|e| RowError::new(column, e.to_string()))
    }

    fn id(&self, column: &str) -> Parsed<String> {
        self.checked(column, |v| fact::identifier(column, v))
    }

    fn text(&self, column: &str, max: usize) -> Parsed<String> {
        self.checked(column, |v| fact::text(column, v, max))
    }

    fn date(&self, column: &str) -> Parsed<NaiveDate> {
        date(column, self.get(column))
    }

    fn optional_date(&self, column: &str) -> Parsed<Option<NaiveDate>> {
        match self.get(column) {
            "" => Ok(None),
            text => date(column, text).map(Some),
        }
    }

    fn flag(&self, column: &str) -> Parsed<bool> {
        match self.get(column).to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "1" => Ok(true),
            "no" | "n" | "false" | "0" | "" => Ok(false),
            other => Err(RowError::new(column, format!("{other:?} is not yes or no"))),
        }
    }

    fn minutes(&self, column: &str) -> Parsed<u32> {
        minutes(column, self.get(column))
    }

    fn percent(&self, column: &str) -> Parsed<u32> {
        match self.get(column).parse::<u32>() {
            Ok(value) if value <= 100 => Ok(value),
            _ => Err(RowError::new(
                column,
                format!("{:?} is not a whole percentage from 0 to 100", self.get(column)),
            )),
        }
    }
}

/// A date written YYYY-MM-DD, and only that: M/D/YYYY and D/M/YYYY cannot be
/// told apart, so a spreadsheet's local format is refused with the fix.
fn date(column: &str, text: &str) -> Parsed<NaiveDate> {
    if text.is_empty() {
        return Err(RowError::new(column, "a date (YYYY-MM-DD) is required"));
    }
    fact::date(column, text).map_err(|_| {
        let hint = if text.contains('/') {
            "; the spreadsheet wrote its local date format: format the column as yyyy-mm-dd and save again"
        } else {
            ""
        };
        RowError::new(column, format!("{text:?} is not a real date written YYYY-MM-DD{hint}"))
    })
}

/// Hours (a decimal, e.g. 1.5) as whole minutes, 1 minute to 100,000.
fn minutes(column: &str, text: &str) -> Parsed<u32> {
    let refused = || RowError::new(column, format!("{text:?} is not a number of hours above 0 (e.g. 1.5)"));
    let hours: f64 = text.parse().map_err(|_| refused())?;
    if !hours.is_finite() || hours <= 0.0 || hours > f64::from(fact::MINUTES_MAX) / 60.0 {
        return Err(refused());
    }
    match hours_to_minutes(hours) {
        0 => Err(refused()),
        minutes => Ok(minutes),
    }
}

fn choice(column: &str, text: &str, known: &[(&str, i32)]) -> Parsed<i32> {
    let lower = text.to_ascii_lowercase();
    known
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
            RowError::new(column, format!("{text:?} is not one of: {}", names.join(", ")))
        })
}

/// The credential types a `credential_type` cell may name.
pub const CREDENTIAL_TYPES: [(&str, i32); 5] = [
    (
        "peer_support_specialist",
        pb::CredentialType::PeerSupportSpecialist as i32,
    ),
    (
        "peer_recovery_specialist",
        pb::CredentialType::PeerRecoverySpecialist as i32,
    ),
    ("family_peer", pb::CredentialType::FamilyPeer as i32),
    ("youth_peer", pb::CredentialType::YouthPeer as i32),
    ("peer_supervisor", pb::CredentialType::PeerSupervisor as i32),
];

/// The actions a status-history `action` cell may name (0: reinstatement).
pub const ACTIONS: [(&str, i32); 8] = [
    ("reprimand", pb::DisciplineKind::Reprimand as i32),
    ("probation", pb::DisciplineKind::Probation as i32),
    ("restriction", pb::DisciplineKind::Restriction as i32),
    ("suspension", pb::DisciplineKind::Suspension as i32),
    ("revocation", pb::DisciplineKind::Revocation as i32),
    ("surrender", pb::DisciplineKind::VoluntarySurrender as i32),
    ("voluntary_surrender", pb::DisciplineKind::VoluntarySurrender as i32),
    ("reinstatement", 0),
];

const EXPERIENCE_KINDS: [(&str, i32); 3] = [
    ("paid", pb::ExperienceKind::Paid as i32),
    ("volunteer", pb::ExperienceKind::Volunteer as i32),
    ("supervised", pb::ExperienceKind::Supervised as i32),
];

fn row(kind: Kind, record_kind: &'static str, body: Body, canonical: Vec<String>) -> ParsedRow {
    ParsedRow {
        line: 0,
        kind,
        record_kind,
        source_id: String::new(),
        peer_id: None,
        credential_number: None,
        date: None,
        expires_on: None,
        body,
        canonical,
    }
}

/// Parses one row of `kind` from its `(column, trimmed cell)` pairs.
pub fn parse_row(kind: Kind, cells: &[(&str, &str)]) -> Parsed<ParsedRow> {
    let c = Cells(cells);
    let mut parsed = match kind {
        Kind::Person => person(&c)?,
        Kind::NameChange => name_change(&c)?,
        Kind::Training => training(&c)?,
        Kind::Experience => experience(&c)?,
        Kind::Exam => exam(&c)?,
        Kind::Ce => ce(&c)?,
        Kind::Credential => credential(&c)?,
        Kind::Renewal => renewal(&c)?,
        Kind::Status => status(&c)?,
    };
    if parsed.source_id.is_empty() {
        parsed.source_id = c.get("source_id").to_string();
    }
    Ok(parsed)
}

fn with_peer(mut parsed: ParsedRow, peer_id: String, date: Option<NaiveDate>) -> ParsedRow {
    parsed.peer_id = Some(peer_id);
    parsed.date = date;
    parsed
}

fn person(c: &Cells) -> Parsed<ParsedRow> {
    let peer_id = c.id("peer_id")?;
    let body = pb::PeerEnrolled {
        peer_id: peer_id.clone(),
        legal_name: c.text("legal_name", TEXT_BYTES_MAX)?,
        eligibility_attested: c.flag("eligibility_attested")?,
        ethics_code_signed: c.flag("ethics_code_signed")?,
    };
    let canonical = vec![
        peer_id.clone(),
        body.legal_name.clone(),
        body.eligibility_attested.to_string(),
        body.ethics_code_signed.to_string(),
    ];
    let parsed = row(Kind::Person, "person", Body::PeerEnrolled(body), canonical);
    Ok(with_peer(parsed, peer_id, None))
}

fn name_change(c: &Cells) -> Parsed<ParsedRow> {
    let peer_id = c.id("peer_id")?;
    let new_legal_name = c.text("new_legal_name", TEXT_BYTES_MAX)?;
    let changed_on = c.date("changed_on")?;
    let canonical = vec![peer_id.clone(), new_legal_name.clone(), changed_on.to_string()];
    let body = Body::NameChanged(pb::NameChanged {
        peer_id: peer_id.clone(),
        new_legal_name,
    });
    Ok(with_peer(
        row(Kind::NameChange, "name_change", body, canonical),
        peer_id,
        Some(changed_on),
    ))
}

/// `domain=hours;domain=hours` (empty: none).
fn domains(text: &str) -> Parsed<Vec<pb::DomainMinutes>> {
    text.split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (domain, hours) = part
                .split_once('=')
                .ok_or_else(|| RowError::new("domains", format!("{part:?} is not domain=hours")))?;
            let domain = domain.trim().to_ascii_lowercase();
            if !is_competency_domain(&domain) {
                return Err(RowError::new(
                    "domains",
                    format!("{domain:?} is not a competency domain of the vocabulary"),
                ));
            }
            Ok(pb::DomainMinutes {
                minutes: minutes("domains", hours.trim())?,
                domain,
            })
        })
        .collect()
}

fn training(c: &Cells) -> Parsed<ParsedRow> {
    let peer_id = c.id("peer_id")?;
    let body = pb::TrainingCompleted {
        peer_id: peer_id.clone(),
        course_id: c.id("course_id")?,
        course_title: c.text("course_title", TEXT_BYTES_MAX)?,
        provider: c.text("provider", TEXT_BYTES_MAX)?,
        minutes: c.minutes("hours")?,
        completed_on: c.date("completed_on")?.to_string(),
        domains: domains(c.get("domains"))?,
    };
    let mut canonical = vec![
        peer_id.clone(),
        body.course_id.clone(),
        body.course_title.clone(),
        body.provider.clone(),
        body.minutes.to_string(),
        body.completed_on.clone(),
    ];
    canonical.extend(body.domains.iter().map(|d| format!("{}={}", d.domain, d.minutes)));
    let date = c.date("completed_on").ok();
    Ok(with_peer(
        row(Kind::Training, "training", Body::TrainingCompleted(body), canonical),
        peer_id,
        date,
    ))
}

fn experience(c: &Cells) -> Parsed<ParsedRow> {
    let peer_id = c.id("peer_id")?;
    let start = c.date("period_start")?;
    let end = c.date("period_end")?;
    if end < start {
        return Err(RowError::new(
            "period_end",
            format!("{end} is before period_start {start}"),
        ));
    }
    let body = pb::ExperienceRecorded {
        peer_id: peer_id.clone(),
        kind: choice("experience_kind", c.get("experience_kind"), &EXPERIENCE_KINDS)?,
        minutes: c.minutes("hours")?,
        period_start: start.to_string(),
        period_end: end.to_string(),
    };
    let canonical = vec![
        peer_id.clone(),
        body.kind.to_string(),
        body.minutes.to_string(),
        body.period_start.clone(),
        body.period_end.clone(),
    ];
    Ok(with_peer(
        row(
            Kind::Experience,
            "experience",
            Body::ExperienceRecorded(body),
            canonical,
        ),
        peer_id,
        Some(end),
    ))
}

fn exam(c: &Cells) -> Parsed<ParsedRow> {
    let peer_id = c.id("peer_id")?;
    let taken_on = c.date("taken_on")?;
    let body = pb::ExamRecorded {
        peer_id: peer_id.clone(),
        exam_id: c.id("exam_id")?,
        score_percent: c.percent("score_percent")?,
        pass_mark_percent: c.percent("pass_mark_percent")?,
        taken_on: taken_on.to_string(),
    };
    let canonical = vec![
        peer_id.clone(),
        body.exam_id.clone(),
        body.score_percent.to_string(),
        body.pass_mark_percent.to_string(),
        body.taken_on.clone(),
    ];
    Ok(with_peer(
        row(Kind::Exam, "exam", Body::ExamRecorded(body), canonical),
        peer_id,
        Some(taken_on),
    ))
}

fn ce(c: &Cells) -> Parsed<ParsedRow> {
    let peer_id = c.id("peer_id")?;
    let topic = c.get("topic").to_ascii_lowercase();
    if !is_ce_topic(&topic) {
        return Err(RowError::new(
            "topic",
            format!("{topic:?} is not a continuing-education topic of the vocabulary"),
        ));
    }
    let completed_on = c.date("completed_on")?;
    let body = pb::ContinuingEducationCompleted {
        peer_id: peer_id.clone(),
        topic,
        minutes: c.minutes("hours")?,
        provider: c.text("provider", TEXT_BYTES_MAX)?,
        completed_on: completed_on.to_string(),
    };
    let canonical = vec![
        peer_id.clone(),
        body.topic.clone(),
        body.minutes.to_string(),
        body.provider.clone(),
        body.completed_on.clone(),
    ];
    Ok(with_peer(
        row(Kind::Ce, "ce", Body::ContinuingEducationCompleted(body), canonical),
        peer_id,
        Some(completed_on),
    ))
}

fn credential(c: &Cells) -> Parsed<ParsedRow> {
    let number = c.id("credential_number")?;
    let peer_id = c.id("peer_id")?;
    let credential_type = choice("credential_type", c.get("credential_type"), &CREDENTIAL_TYPES)?;
    let issued_on = c.date("issued_on")?;
    let expires_on = c.date("expires_on")?;
    if expires_on <= issued_on {
        return Err(RowError::new(
            "expires_on",
            format!("{expires_on} is not after issued_on {issued_on}"),
        ));
    }
    let source_id = match c.get("source_id") {
        "" => number.clone(),
        id => id.to_string(),
    };
    // The basis's import date is set by the plan (it is the run's, not the row's).
    let body = pb::CredentialIssued {
        peer_id: peer_id.clone(),
        credential_number: number.clone(),
        credential_type,
        issued_on: issued_on.to_string(),
        expires_on: expires_on.to_string(),
        reciprocity: None,
        imported: Some(pb::ImportedBasis {
            source_system: String::new(),
            source_record_id: source_id.clone(),
            imported_on: String::new(),
        }),
    };
    let canonical = vec![
        number.clone(),
        peer_id.clone(),
        credential_type.to_string(),
        issued_on.to_string(),
        expires_on.to_string(),
        source_id.clone(),
    ];
    let mut parsed = with_peer(
        row(Kind::Credential, "credential", Body::CredentialIssued(body), canonical),
        peer_id,
        Some(issued_on),
    );
    parsed.credential_number = Some(number);
    parsed.expires_on = Some(expires_on);
    parsed.source_id = source_id;
    Ok(parsed)
}

fn renewal(c: &Cells) -> Parsed<ParsedRow> {
    let number = c.id("credential_number")?;
    let renewed_on = c.date("renewed_on")?;
    let new_expires_on = c.date("new_expires_on")?;
    if new_expires_on <= renewed_on {
        return Err(RowError::new(
            "new_expires_on",
            format!("{new_expires_on} is not after renewed_on {renewed_on}"),
        ));
    }
    let canonical = vec![number.clone(), renewed_on.to_string(), new_expires_on.to_string()];
    let body = Body::CredentialRenewed(pb::CredentialRenewed {
        credential_number: number.clone(),
        renewed_on: renewed_on.to_string(),
        new_expires_on: new_expires_on.to_string(),
        imported: true,
    });
    let mut parsed = row(Kind::Renewal, "renewal", body, canonical);
    parsed.credential_number = Some(number);
    parsed.date = Some(renewed_on);
    Ok(parsed)
}

fn status(c: &Cells) -> Parsed<ParsedRow> {
    let number = c.id("credential_number")?;
    let action = choice("action", c.get("action"), &ACTIONS)?;
    let effective_on = c.date("effective_on")?;
    let ends_on = c.optional_date("ends_on")?;
    let summary = c.text("public_summary", SUMMARY_BYTES_MAX)?;
    let canonical = vec![
        number.clone(),
        action.to_string(),
        effective_on.to_string(),
        ends_on.map(|d| d.to_string()).unwrap_or_default(),
        summary.clone(),
    ];
    let (record_kind, body) = if action == 0 {
        if ends_on.is_some() {
            return Err(RowError::new(
                "ends_on",
                "a reinstatement has no end date: leave it empty",
            ));
        }
        let body = Body::CredentialReinstated(pb::CredentialReinstated {
            credential_number: number.clone(),
            effective_on: effective_on.to_string(),
            public_summary: summary,
        });
        ("reinstatement", body)
    } else {
        if let Some(end) = ends_on.filter(|&end| end < effective_on) {
            return Err(RowError::new(
                "ends_on",
                format!("{end} is before effective_on {effective_on}"),
            ));
        }
        let body = Body::DisciplinaryAction(pb::DisciplinaryAction {
            credential_number: number.clone(),
            kind: action,
            effective_on: effective_on.to_string(),
            ends_on: ends_on.map(|d| d.to_string()).unwrap_or_default(),
            public_summary: summary,
        });
        ("discipline", body)
    };
    let mut parsed = row(Kind::Status, record_kind, body, canonical);
    parsed.credential_number = Some(number);
    parsed.date = Some(effective_on);
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_date_format_is_refused_with_the_fix() {
        let error = date("issued_on", "3/14/2019").expect_err("refused");
        assert_eq!(error.column, "issued_on");
        assert!(error.reason.contains("yyyy-mm-dd"), "{}", error.reason);
        assert!(date("issued_on", "2019-02-30").is_err());
        assert_eq!(date("x", "2019-03-14").ok(), NaiveDate::from_ymd_opt(2019, 3, 14));
    }

    #[test]
    fn hours_become_minutes_and_nonsense_is_refused() {
        assert_eq!(minutes("hours", "1.5"), Ok(90));
        for bad in ["0", "-2", "abc", "NaN", "1e9", ""] {
            assert!(minutes("hours", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_status_row_is_discipline_or_reinstatement() {
        let cells = [
            ("credential_number", "C-1"),
            ("action", "Suspension"),
            ("effective_on", "2020-01-01"),
            ("ends_on", ""),
            ("public_summary", "Suspended pending review"),
        ];
        let parsed = parse_row(Kind::Status, &cells).expect("parsed");
        assert_eq!(parsed.record_kind, "discipline");
        let cells = [
            ("credential_number", "C-1"),
            ("action", "reinstatement"),
            ("effective_on", "2020-03-01"),
            ("ends_on", ""),
            ("public_summary", "Reinstated"),
        ];
        assert_eq!(
            parse_row(Kind::Status, &cells).expect("parsed").record_kind,
            "reinstatement"
        );
        let cells = [("action", "caution"), ("credential_number", "C-1")];
        let error = parse_row(Kind::Status, &cells).expect_err("unknown action");
        assert_eq!(error.column, "action");
    }
}
