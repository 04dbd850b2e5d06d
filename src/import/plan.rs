//! From read files to what will be sent: the rows checked against each other
//! (duplicates, unknown people and credentials, future dates, events before
//! an issue), grouped per person in recording order, with idempotent event
//! ids, and cut into person-aligned batches.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::read::ReadFile;
use super::report::{Outcome, ReportLine};
use super::rows::ParsedRow;
use crate::limits::{BATCH_COMMANDS_MAX, IMPORT_ROWS_PER_PERSON_MAX};
use crate::pb;
use pb::batch_command::Body;

/// Hex digits of SHA-256 kept in an import event id (160 bits).
const EVENT_ID_HEX: usize = 40;

/// What the run is: the source system's name, the import's date, and today
/// (no row may be dated after it).
#[derive(Clone, Debug)]
pub struct Run {
    pub source_system: String,
    pub imported_on: NaiveDate,
    pub today: NaiveDate,
}

/// One command to send, with the row it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub file: String,
    pub line: u64,
    pub record_kind: &'static str,
    pub source_id: String,
    pub event_id: String,
    pub body: Body,
}

impl Planned {
    pub fn command(&self) -> pb::BatchCommand {
        pb::BatchCommand {
            event_id: self.event_id.clone(),
            body: Some(self.body.clone()),
        }
    }

    pub fn imported_row(&self) -> pb::ImportedRow {
        pb::ImportedRow {
            file: self.file.clone(),
            line: u32::try_from(self.line).unwrap_or(u32::MAX),
            kind: self.record_kind.to_string(),
            source_record_id: self.source_id.clone(),
            event_id: self.event_id.clone(),
        }
    }
}

/// A person's commands, in the order they are recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    pub peer_id: String,
    pub commands: Vec<Planned>,
}

/// What will be sent, and every row refused or withheld before sending.
#[derive(Debug, Default)]
pub struct Plan {
    pub people: Vec<Person>,
    pub report: Vec<ReportLine>,
    /// People not sent because a row of theirs was refused.
    pub people_refused: BTreeSet<String>,
    /// Data rows read in all.
    pub rows: usize,
}

/// `"import-"` and the first hex digits of SHA-256 over the source system,
/// the kind and the row's canonical data, each length-prefixed: the same row
/// in a re-exported, reordered file gets the same id (never its file or line).
pub fn event_id(source_system: &str, kind: &str, canonical: &[String]) -> String {
    let mut hash = Sha256::new();
    for part in [source_system, kind]
        .into_iter()
        .chain(canonical.iter().map(String::as_str))
    {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    format!("import-{}", &hex::encode(hash.finalize())[..EVENT_ID_HEX])
}

/// A person's provenance record for the rows recorded for them in this run;
/// its id is derived from those rows' event ids.
pub fn provenance(peer_id: &str, rows: &[&Planned], run: &Run) -> pb::BatchCommand {
    let ids: Vec<String> = rows.iter().map(|r| r.event_id.clone()).collect();
    let event_id = event_id(&run.source_system, "provenance", &ids);
    pb::BatchCommand {
        event_id,
        body: Some(Body::ImportProvenance(pb::ImportProvenance {
            peer_id: peer_id.to_string(),
            source_system: run.source_system.clone(),
            imported_on: run.imported_on.to_string(),
            rows: rows.iter().map(|r| r.imported_row()).collect(),
        })),
    }
}

/// Person-aligned batches: each range of people fits one `RecordBatch`
/// with a provenance record per person.
pub fn batches(people: &[Person]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, person) in people.iter().enumerate() {
        let needed = person.commands.len() + 1;
        if size + needed > BATCH_COMMANDS_MAX && i > start {
            ranges.push(start..i);
            (start, size) = (i, 0);
        }
        size += needed;
    }
    if start < people.len() {
        ranges.push(start..people.len());
    }
    ranges
}

/// A row with its file, as the plan handles it.
struct Row<'a> {
    file: &'a str,
    row: &'a ParsedRow,
}

impl Row<'_> {
    fn at(&self) -> String {
        format!("{} line {}", self.file, self.row.line)
    }
}

/// Checks the rows against each other and plans the commands.
pub fn plan(files: &[ReadFile], run: &Run) -> Plan {
    let mut plan = Plan::default();
    let (rows, unreadable) = readable(files, &mut plan);
    let mut refused: HashMap<usize, (String, String)> = HashMap::new();
    let people = first_of_each(
        &rows,
        |r| {
            (r.row.kind == super::format::Kind::Person)
                .then(|| r.row.peer_id.clone())
                .flatten()
        },
        "peer_id",
        &mut refused,
    );
    let credentials = first_of_each(
        &rows,
        |r| {
            (r.row.kind == super::format::Kind::Credential)
                .then(|| r.row.credential_number.clone())
                .flatten()
        },
        "credential_number",
        &mut refused,
    );
    // Whose each row is: its person, or its credential's holder (also when
    // the credential's own row could not be read).
    let owner = |r: &Row| -> Option<String> {
        r.row.peer_id.clone().or_else(|| {
            let number = r.row.credential_number.as_ref()?;
            let holder = credentials.get(number).and_then(|&i| rows[i].row.peer_id.clone());
            holder.or_else(|| unreadable.credentials.get(number).cloned())
        })
    };
    for (i, r) in rows.iter().enumerate() {
        if refused.contains_key(&i) {
            continue;
        }
        if let Some(error) = check_row(r, &rows, &people, &credentials, &unreadable, run) {
            refused.insert(i, error);
        } else if owner(r).is_none() {
            let reason = "the row belongs to no person of the people rows".to_string();
            refused.insert(i, (String::new(), reason));
        }
    }
    let mut withheld: BTreeMap<String, String> = unreadable.people.clone();
    for (number, at) in &unreadable.of_credentials {
        if let Some(holder) = credentials.get(number).and_then(|&i| rows[i].row.peer_id.clone()) {
            withheld.entry(holder).or_insert_with(|| at.clone());
        }
    }
    for (&i, (column, reason)) in &refused {
        if let Some(peer) = owner(&rows[i]) {
            withheld.entry(peer).or_insert_with(|| rows[i].at());
        }
        plan.report.push(ReportLine::new(
            rows[i].file,
            rows[i].row.line,
            column,
            Outcome::Refused,
            reason,
        ));
    }
    let mut by_person: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if refused.contains_key(&i) {
            continue;
        }
        if let Some(peer) = owner(r) {
            by_person.entry(peer).or_default().push(r);
        }
    }
    for (peer, mut own) in by_person {
        if own.len() > IMPORT_ROWS_PER_PERSON_MAX && !withheld.contains_key(&peer) {
            let at = own[0].at();
            for r in &own {
                let reason = format!(
                    "{peer} has {} rows; at most {IMPORT_ROWS_PER_PERSON_MAX} per person can be imported",
                    own.len()
                );
                plan.report
                    .push(ReportLine::new(r.file, r.row.line, "", Outcome::Refused, &reason));
            }
            withheld.insert(peer.clone(), at);
            plan.people_refused.insert(peer);
            continue;
        }
        if let Some(at) = withheld.get(&peer) {
            for r in &own {
                let reason = format!("not recorded: another row of {peer} was refused ({at})");
                plan.report
                    .push(ReportLine::new(r.file, r.row.line, "", Outcome::Withheld, &reason));
            }
            plan.people_refused.insert(peer);
            continue;
        }
        own.sort_by_key(|r| order(r, &rows, &credentials));
        let commands = own.iter().map(|r| planned(r, run)).collect();
        plan.people.push(Person {
            peer_id: peer,
            commands,
        });
    }
    plan.people_refused.extend(withheld.into_keys());
    plan.report.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    plan
}

/// What the unreadable rows name: their people (with where the row is) and
/// the holders of their credentials, so that those people are withheld and
/// their other rows are not refused as orphans.
#[derive(Default)]
struct Unreadable {
    people: BTreeMap<String, String>,
    credentials: HashMap<String, String>,
    /// Rows that name only a credential: (number, where the row is).
    of_credentials: Vec<(String, String)>,
}

/// The rows that could be read; the others reported as refused.
fn readable<'a>(files: &'a [ReadFile], plan: &mut Plan) -> (Vec<Row<'a>>, Unreadable) {
    let mut rows = Vec::new();
    let mut unreadable = Unreadable::default();
    for file in files {
        for result in &file.rows {
            plan.rows += 1;
            let refused = match result {
                Ok(row) => {
                    rows.push(Row { file: &file.name, row });
                    continue;
                }
                Err(refused) => refused,
            };
            let error = &refused.error;
            plan.report.push(ReportLine::new(
                &file.name,
                refused.line,
                &error.column,
                Outcome::Refused,
                &error.reason,
            ));
            let at = format!("{} line {}", file.name, refused.line);
            if refused.peer_id.is_empty() {
                if !refused.credential_number.is_empty() {
                    unreadable.of_credentials.push((refused.credential_number.clone(), at));
                }
                continue;
            }
            unreadable.people.entry(refused.peer_id.clone()).or_insert(at);
            if !refused.credential_number.is_empty() {
                unreadable
                    .credentials
                    .insert(refused.credential_number.clone(), refused.peer_id.clone());
            }
        }
    }
    (rows, unreadable)
}

/// The index of the first row with each key; later rows with the same key are
/// refused, and so is the first (which of them is right is the board's call).
fn first_of_each(
    rows: &[Row],
    key: impl Fn(&Row) -> Option<String>,
    column: &str,
    refused: &mut HashMap<usize, (String, String)>,
) -> HashMap<String, usize> {
    let mut first: HashMap<String, usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let Some(k) = key(r) else { continue };
        match first.get(&k) {
            None => {
                first.insert(k, i);
            }
            Some(&j) => {
                let reason = |other: &Row| format!("{column} {k} appears twice: also at {}", other.at());
                refused.insert(i, (column.to_string(), reason(&rows[j])));
                refused.insert(j, (column.to_string(), reason(r)));
            }
        }
    }
    first
}

/// Why a parsed row is refused against the others, if it is.
fn check_row(
    r: &Row,
    rows: &[Row],
    people: &HashMap<String, usize>,
    credentials: &HashMap<String, usize>,
    unreadable: &Unreadable,
    run: &Run,
) -> Option<(String, String)> {
    use super::format::Kind;
    if let Some(date) = r.row.date.filter(|&d| d > run.today) {
        return Some((
            date_column(r.row.kind).into(),
            format!("{date} is in the future (today is {})", run.today),
        ));
    }
    if let Some(peer) = &r.row.peer_id {
        let known = people.contains_key(peer) || unreadable.people.contains_key(peer);
        if r.row.kind != Kind::Person && !known {
            return Some(("peer_id".into(), format!("no person {peer} in the people rows")));
        }
    }
    if matches!(r.row.kind, Kind::Renewal | Kind::Status) {
        let number = r.row.credential_number.as_deref().unwrap_or_default();
        let Some(&i) = credentials.get(number) else {
            if unreadable.credentials.contains_key(number) {
                return None; // withheld with its holder
            }
            return Some((
                "credential_number".into(),
                format!("no credential {number} in the credentials rows"),
            ));
        };
        let issued_on = rows[i].row.date;
        if let (Some(date), Some(issued_on)) = (r.row.date, issued_on) {
            if date < issued_on {
                return Some((
                    date_column(r.row.kind).into(),
                    format!(
                        "{date} is before credential {number} was issued ({issued_on}, {})",
                        rows[i].at()
                    ),
                ));
            }
        }
    }
    None
}

fn date_column(kind: super::format::Kind) -> &'static str {
    use super::format::Kind;
    match kind {
        Kind::Person => "",
        Kind::NameChange => "changed_on",
        Kind::Training | Kind::Ce => "completed_on",
        Kind::Experience => "period_end",
        Kind::Exam => "taken_on",
        Kind::Credential => "issued_on",
        Kind::Renewal => "renewed_on",
        Kind::Status => "effective_on",
    }
}

/// Recording order within a person: enrolment, name changes, training,
/// experience, exams, CE, credentials; then each credential's later life in
/// date order (renewals before discipline before reinstatements on one day).
fn order(r: &Row, rows: &[Row], credentials: &HashMap<String, usize>) -> (u8, String, Option<NaiveDate>, u8, u64) {
    use super::format::Kind;
    let stage = match r.row.kind {
        Kind::Renewal | Kind::Status => Kind::Credential as u8 + 1,
        kind => kind as u8,
    };
    let credential = match r.row.kind {
        Kind::Renewal | Kind::Status => {
            let number = r.row.credential_number.clone().unwrap_or_default();
            let issued = credentials.get(&number).and_then(|&i| rows[i].row.date);
            format!("{}:{number}", issued.map(|d| d.to_string()).unwrap_or_default())
        }
        _ => String::new(),
    };
    let tie = match r.row.record_kind {
        "renewal" => 0,
        "discipline" => 1,
        _ => 2,
    };
    (stage, credential, r.row.date, tie, r.row.line)
}

fn planned(r: &Row, run: &Run) -> Planned {
    let mut body = r.row.body.clone();
    if let Body::CredentialIssued(issue) = &mut body {
        if let Some(basis) = &mut issue.imported {
            basis.source_system = run.source_system.clone();
            basis.imported_on = run.imported_on.to_string();
        }
    }
    Planned {
        file: r.file.to_string(),
        line: r.row.line,
        record_kind: r.row.record_kind,
        source_id: r.row.source_id.clone(),
        event_id: event_id(&run.source_system, r.row.record_kind, &r.row.canonical),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::read::read;

    fn run() -> Run {
        Run {
            source_system: "OLD".into(),
            imported_on: NaiveDate::from_ymd_opt(2026, 1, 10).expect("date"),
            today: NaiveDate::from_ymd_opt(2026, 1, 10).expect("date"),
        }
    }

    const PEOPLE: &str = "peer_id,legal_name,eligibility_attested,ethics_code_signed,source_id\n\
                          P-1,Ann Lee,yes,yes,L1\nP-2,Bo Chan,yes,yes,L2\n";

    #[test]
    fn a_person_with_a_refused_row_is_withheld_whole_and_duplicates_name_both_lines() {
        let credentials = "credential_number,peer_id,credential_type,issued_on,expires_on,source_id\n\
                           C-1,P-1,peer_support_specialist,2020-01-01,2022-01-01,\n\
                           C-2,P-2,peer_support_specialist,2020-01-01,2022-01-01,\n\
                           C-2,P-2,family_peer,2021-01-01,2023-01-01,\n";
        let renewals =
            "credential_number,renewed_on,new_expires_on\nC-1,2022-02-01,2024-02-01\nC-1,2019-01-01,2021-01-01\n";
        let files = [
            read("people.csv", PEOPLE.as_bytes()).expect("people"),
            read("credentials.csv", credentials.as_bytes()).expect("credentials"),
            read("renewals.csv", renewals.as_bytes()).expect("renewals"),
        ];
        let plan = plan(&files, &run());
        assert!(plan.people.is_empty(), "{:?}", plan.people);
        assert_eq!(plan.people_refused.len(), 2);
        let dup = plan
            .report
            .iter()
            .find(|l| l.file == "credentials.csv" && l.line == 3)
            .expect("dup reported");
        assert!(dup.reason.contains("credentials.csv line 4"), "{}", dup.reason);
        let early = plan
            .report
            .iter()
            .find(|l| l.file == "renewals.csv" && l.line == 3)
            .expect("early renewal");
        assert_eq!(early.outcome, Outcome::Refused);
        assert!(
            early.reason.contains("before credential C-1 was issued"),
            "{}",
            early.reason
        );
    }

    #[test]
    fn an_unreadable_row_withholds_its_person_without_orphaning_the_rest() {
        let people = "peer_id,legal_name,eligibility_attested,ethics_code_signed,source_id\n\
                      P-1,Ann Lee,maybe,yes,L1\nP-2,Bo Chan,yes,yes,L2\n";
        let credentials = "credential_number,peer_id,credential_type,issued_on,expires_on,source_id\n\
                           C-1,P-1,peer_support_specialist,2020-01-01,2022-01-01,\n\
                           C-2,P-2,peer_support_specialist,2020-01-01,2022-01-01,\n";
        let renewals =
            "credential_number,renewed_on,new_expires_on\nC-2,2021-12-01,2024-13-01\nC-2,2023-12-01,2026-01-01\n";
        let files = [
            read("people.csv", people.as_bytes()).expect("people"),
            read("credentials.csv", credentials.as_bytes()).expect("credentials"),
            read("renewals.csv", renewals.as_bytes()).expect("renewals"),
        ];
        let plan = plan(&files, &run());
        assert!(plan.people.is_empty(), "{:?}", plan.people);
        let outcomes: Vec<(&str, u64, Outcome)> = plan
            .report
            .iter()
            .map(|l| (l.file.as_str(), l.line, l.outcome))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                ("credentials.csv", 2, Outcome::Withheld),
                ("credentials.csv", 3, Outcome::Withheld),
                ("people.csv", 2, Outcome::Refused),
                ("people.csv", 3, Outcome::Withheld),
                ("renewals.csv", 2, Outcome::Refused),
                ("renewals.csv", 3, Outcome::Withheld),
            ]
        );
    }

    #[test]
    fn event_ids_follow_the_data_not_the_file_or_line() {
        let shuffled = "peer_id,legal_name,eligibility_attested,ethics_code_signed,source_id\n\
                        P-2,Bo Chan,yes,yes,L2\nP-1,Ann Lee,yes,yes,L1\n";
        let a = plan(&[read("a.csv", PEOPLE.as_bytes()).expect("a")], &run());
        let b = plan(&[read("b.csv", shuffled.as_bytes()).expect("b")], &run());
        let ids = |p: &Plan| {
            p.people
                .iter()
                .map(|x| x.commands[0].event_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a)[0], ids(&a)[1]);
        assert!(ids(&a)[0].starts_with("import-"));
    }

    #[test]
    fn batches_keep_people_whole_and_under_the_limit() {
        let person = |n: usize| Person {
            peer_id: format!("P-{n}"),
            commands: vec![
                Planned {
                    file: String::new(),
                    line: 0,
                    record_kind: "person",
                    source_id: String::new(),
                    event_id: String::new(),
                    body: Body::NameChanged(pb::NameChanged::default()),
                };
                n
            ],
        };
        let people: Vec<Person> = [600, 300, 99, 1, 999, 5].into_iter().map(person).collect();
        let ranges = batches(&people);
        assert_eq!(ranges, vec![0..2, 2..4, 4..5, 5..6]);
    }
}
