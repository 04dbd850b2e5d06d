//! `peerreg import`: a board's existing registry in from CSV files, through
//! the binary (the shipped examples, bad input) and through the library call
//! (5,000 synthetic people: dry run, real run, resumption, and employer
//! checks on every imported credential against the source rows).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate};
use common::{TestNode, ADMIN_TOKEN};
use peerreg::cli::import::{read_files, send, today};
use peerreg::import::plan::Run;
use peerreg::pb;
use peerreg::service::client::NodeClient;

const PEERREG: &str = env!("CARGO_BIN_EXE_peerreg");

fn size(node: &TestNode) -> u64 {
    node.ledger.published().checkpoint.size
}

struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

async fn import_cli(node: &TestNode, flags: &[&str], files: &[PathBuf]) -> Output {
    let output = tokio::process::Command::new(PEERREG)
        .arg("import")
        .args(["--endpoint", &node.endpoint, "--source-system", "MS legacy 2015"])
        .args(flags)
        .args(files)
        .env("PEERREG_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run peerreg import");
    Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/import");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/import")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
}

fn data_rows(files: &[PathBuf]) -> usize {
    files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .expect("read")
                .lines()
                .skip(1)
                .filter(|l| !l.is_empty())
                .count()
        })
        .sum()
}

async fn board(node: &TestNode) -> NodeClient {
    NodeClient::connect(&node.endpoint, Some(ADMIN_TOKEN.into()))
        .await
        .expect("connect")
}

async fn status_on(client: &NodeClient, number: &str, on: &str) -> pb::CredentialStatus {
    let check = client
        .check(pb::CheckCredentialRequest {
            credential_number: number.into(),
            legal_name: String::new(),
            as_of: on.into(),
        })
        .await
        .unwrap_or_else(|e| panic!("check {number} on {on}: {e}"));
    pb::CredentialStatus::try_from(check.status).expect("a status")
}

#[tokio::test]
async fn the_examples_import_dry_run_first_then_for_real_then_a_rerun_finds_everything_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(dir.path()).await;
    let files = examples();
    let rows = data_rows(&files);
    let people = 15;
    let before = size(&node);

    let report_dir = dir.path().join("report");
    let dry = import_cli(
        &node,
        &["--dry-run", "--report", report_dir.to_str().expect("utf-8")],
        &files,
    )
    .await;
    assert!(dry.success, "{}\n{}", dry.stdout, dry.stderr);
    assert!(dry.stdout.contains("Dry run: nothing was recorded."), "{}", dry.stdout);
    assert!(
        dry.stdout.contains(&format!("rows would be recorded: {rows}\n")),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains("rows refused: 0\n"), "{}", dry.stdout);
    assert_eq!(size(&node), before, "a dry run records nothing");
    let report = std::fs::read_to_string(report_dir.join("report.csv")).expect("report.csv");
    assert_eq!(report.lines().count(), rows + 1, "one line per row and the header");
    assert!(report.starts_with("file,line,column,outcome,reason\n"));
    assert!(report.contains("credentials.csv,2,,accepted,"), "{report}");
    let summary = std::fs::read_to_string(report_dir.join("summary.txt")).expect("summary.txt");
    assert!(
        summary.contains(&format!("people would be recorded: {people}")),
        "{summary}"
    );

    let real = import_cli(&node, &[], &files).await;
    assert!(real.success, "{}\n{}", real.stdout, real.stderr);
    assert!(
        real.stdout.contains(&format!("rows recorded: {rows}\n")),
        "{}",
        real.stdout
    );
    let recorded = size(&node);
    assert_eq!(
        recorded,
        before + (rows + people) as u64,
        "every row and one provenance record per person"
    );

    let again = import_cli(&node, &[], &files).await;
    assert!(again.success, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains(&format!("rows already recorded: {rows}\n")),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains("rows recorded: 0\n"), "{}", again.stdout);
    assert_eq!(size(&node), recorded, "a re-run records nothing new");

    // The board record says what was imported, from which file and line.
    let record = tokio::process::Command::new(PEERREG)
        .args(["record", "--endpoint", &node.endpoint, "--peer-id", "MS-P-1003"])
        .env("PEERREG_TOKEN", ADMIN_TOKEN)
        .output()
        .await
        .expect("peerreg record");
    let record = String::from_utf8_lossy(&record.stdout);
    assert!(record.contains("imported from MS legacy 2015 on "), "{record}");
    assert!(
        record.contains("person from people.csv line 4 (source id LEG-5002)"),
        "{record}"
    );
    assert!(
        record.contains("credential from credentials.csv line 4 (source id CERT-7002)"),
        "{record}"
    );
    assert!(
        !record.contains("examples/import"),
        "no directories in the records: {record}"
    );

    // The history the source rows tell, as an employer sees it.
    let client = board(&node).await;
    use pb::CredentialStatus as S;
    let expected = [
        ("MS-PSS-2018-102", "2022-03-10", S::Active),
        ("MS-PSS-2018-102", "2022-04-01", S::Expired),
        ("MS-PSS-2018-102", "2022-06-24", S::Active),
        ("MS-PSS-2020-104", "2022-05-01", S::Active),
        ("MS-PSS-2020-104", "2022-06-01", S::Suspended),
        ("MS-PSS-2020-104", "2022-08-15", S::Active),
        ("MS-PSS-2016-106", "2022-07-11", S::Expired),
        ("MS-PSS-2016-106", "2023-03-01", S::Revoked),
        ("MS-PSS-2018-108", "2021-06-01", S::Probation),
        ("MS-PSS-2021-111", "2024-02-01", S::Surrendered),
        ("MS-PSS-2016-100", "2015-12-31", S::NotYetValid),
    ];
    for (number, on, status) in expected {
        assert_eq!(status_on(&client, number, on).await, status, "{number} on {on}");
    }

    // The board's full list names the basis of every imported credential.
    let list = tokio::process::Command::new(PEERREG)
        .args(["export", "board", "--endpoint", &node.endpoint])
        .env("PEERREG_TOKEN", ADMIN_TOKEN)
        .output()
        .await
        .expect("peerreg export board");
    let list = String::from_utf8_lossy(&list.stdout);
    let row = list
        .lines()
        .find(|line| line.starts_with("MS-PSS-2018-102,"))
        .unwrap_or_else(|| panic!("MS-PSS-2018-102 in the board list: {list}"));
    assert!(row.contains(",imported,"), "{row}");
    node.stop().await;
}

/// A bad input case: its files and what the error must say.
struct Case {
    name: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    says: &'static [&'static str],
}

const PEOPLE: &str = "peer_id,legal_name,eligibility_attested,ethics_code_signed,source_id\n\
                      MS-P-1,Ann Lee,yes,yes,L1\nMS-P-2,Bo Chan,yes,yes,L2\n";
const CREDENTIALS: &str = "credential_number,peer_id,credential_type,issued_on,expires_on,source_id\n";

fn cases() -> Vec<Case> {
    let mut latin1 = PEOPLE.as_bytes().to_vec();
    latin1.extend_from_slice(b"MS-P-3,Jos\xe9 Ruiz,yes,yes,L3\n");
    vec![
        Case {
            name: "another encoding",
            files: vec![("people.csv", latin1)],
            says: &["people.csv line 4: byte offset", "UTF-8"],
        },
        Case {
            name: "a missing column",
            files: vec![
                ("people.csv", PEOPLE.into()),
                (
                    "credentials.csv",
                    "credential_number,peer_id,credential_type,issued_on,source_id\nC-1,MS-P-1,family_peer,2020-01-01,\n"
                        .into(),
                ),
            ],
            says: &["credentials.csv line 1:", "missing column(s): expires_on"],
        },
        Case {
            name: "a malformed date",
            files: vec![
                ("people.csv", PEOPLE.into()),
                (
                    "credentials.csv",
                    format!("{CREDENTIALS}C-1,MS-P-1,family_peer,3/14/2019,2021-03-14,\nC-2,MS-P-2,family_peer,2019-03-14,2021-13-14,\n").into(),
                ),
            ],
            says: &["credentials.csv line 2 column issued_on", "credentials.csv line 3 column expires_on", "yyyy-mm-dd"],
        },
        Case {
            name: "a duplicate number",
            files: vec![
                ("people.csv", PEOPLE.into()),
                (
                    "credentials.csv",
                    format!("{CREDENTIALS}C-1,MS-P-1,family_peer,2019-03-14,2021-03-14,\nC-1,MS-P-2,youth_peer,2020-03-14,2022-03-14,\n").into(),
                ),
            ],
            says: &["credentials.csv line 2 column credential_number: credential_number C-1 appears twice: also at credentials.csv line 3"],
        },
        Case {
            name: "an unknown kind",
            files: vec![(
                "all.csv",
                "kind,peer_id,legal_name,eligibility_attested,ethics_code_signed,source_id\n\
                 person,MS-P-1,Ann Lee,yes,yes,\nlicence,MS-P-1,,,,\n"
                    .into(),
            )],
            says: &["all.csv line 3 column kind: \"licence\" is not a kind"],
        },
    ]
}

#[tokio::test]
async fn bad_input_gets_an_error_naming_file_and_line_and_records_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(dir.path()).await;
    let before = size(&node);
    for (i, case) in cases().into_iter().enumerate() {
        let input = dir.path().join(format!("case-{i}"));
        std::fs::create_dir_all(&input).expect("dir");
        let files: Vec<PathBuf> = case
            .files
            .iter()
            .map(|(name, bytes)| {
                let path = input.join(name);
                std::fs::write(&path, bytes).expect("write");
                path
            })
            .collect();
        for flags in [&["--dry-run"][..], &[]] {
            let out = import_cli(&node, flags, &files).await;
            assert!(!out.success, "{}: {}", case.name, out.stdout);
            let text = format!("{}{}", out.stdout, out.stderr);
            for expected in case.says {
                assert!(text.contains(expected), "{}: {expected:?} not in\n{text}", case.name);
            }
            assert_eq!(size(&node), before, "{}: nothing recorded", case.name);
        }
    }
    // A 2 GB file is refused from its size, before a byte is read.
    let big = dir.path().join("big.csv");
    std::fs::File::create(&big)
        .expect("create")
        .set_len(2 * 1024 * 1024 * 1024)
        .expect("a sparse file");
    let out = import_cli(&node, &[], &[dir.path().join("case-1/people.csv"), big]).await;
    assert!(!out.success);
    assert!(
        out.stderr
            .contains("big.csv: 2147483648 bytes is larger than an import file may be"),
        "{}",
        out.stderr
    );
    assert_eq!(size(&node), before);
    node.stop().await;
}

/// A deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn days(&mut self, from: i64, to: i64) -> Duration {
        Duration::days(from + self.below((to - from + 1) as u64) as i64)
    }
}

fn years_after(date: NaiveDate, years: i32) -> NaiveDate {
    date.with_year(date.year() + years)
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(date.year() + years, 2, 28).expect("a date"))
}

/// What the source rows say about one credential.
#[derive(Default)]
struct Source {
    issued_on: Option<NaiveDate>,
    expires_on: Option<NaiveDate>,
    renewals: Vec<(NaiveDate, NaiveDate)>,
    /// (action, effective_on, ends_on)
    actions: Vec<(&'static str, NaiveDate, Option<NaiveDate>)>,
}

impl Source {
    fn expiry_on(&self, day: NaiveDate) -> NaiveDate {
        let initial = self.expires_on.expect("issued");
        self.renewals
            .iter()
            .filter(|(on, _)| *on <= day)
            .map(|(_, until)| *until)
            .fold(initial, NaiveDate::max)
    }

    fn in_force(&self, action: &str, day: NaiveDate) -> bool {
        let reinstated = |from: NaiveDate| {
            self.actions
                .iter()
                .any(|(a, on, _)| *a == "reinstatement" && *on >= from && *on <= day)
        };
        self.actions.iter().any(|(a, on, ends)| {
            *a == action
                && *on <= day
                && (matches!(action, "revocation" | "surrender")
                    || (ends.is_none_or(|end| day < end) && !reinstated(*on)))
        })
    }

    /// The status the source rows give on `day`, by the rule boards use:
    /// revoked, surrendered, suspended, expired, probation, active.
    fn status_on(&self, day: NaiveDate) -> pb::CredentialStatus {
        use pb::CredentialStatus as S;
        if day < self.issued_on.expect("issued") {
            return S::NotYetValid;
        }
        for (action, status) in [
            ("revocation", S::Revoked),
            ("surrender", S::Surrendered),
            ("suspension", S::Suspended),
        ] {
            if self.in_force(action, day) {
                return status;
            }
        }
        if day > self.expiry_on(day) {
            return S::Expired;
        }
        if self.in_force("probation", day) {
            return S::Probation;
        }
        S::Active
    }

    /// The dates worth checking: before issue, each segment's start and end
    /// and the day after, during and after each action.
    fn sample_dates(&self, last: NaiveDate) -> Vec<NaiveDate> {
        let issued = self.issued_on.expect("issued");
        let expires = self.expires_on.expect("issued");
        let mut dates = vec![issued - Duration::days(1), issued, expires, expires + Duration::days(1)];
        for (on, until) in &self.renewals {
            dates.extend([*on - Duration::days(1), *on, *until, *until + Duration::days(1)]);
        }
        for (_, on, ends) in &self.actions {
            dates.extend([*on - Duration::days(1), *on, *on + Duration::days(10)]);
            if let Some(end) = ends {
                dates.extend([*end - Duration::days(1), *end]);
            }
        }
        dates.retain(|d| *d <= last);
        dates.sort();
        dates.dedup();
        dates
    }
}

/// The synthetic registry: CSV text per file, each credential's source
/// history, and the rows of the people deliberately given a bad row.
struct Synthetic {
    people: String,
    credentials: String,
    renewals: String,
    status: String,
    sources: BTreeMap<String, Source>,
    bad_people: usize,
    bad_rows_withheld: usize,
    rows: usize,
}

fn synthetic(count: usize, seed: u64, last: NaiveDate) -> Synthetic {
    let mut rng = Rng(seed);
    let mut s = Synthetic {
        people: "peer_id,legal_name,eligibility_attested,ethics_code_signed,source_id\n".into(),
        credentials: "credential_number,peer_id,credential_type,issued_on,expires_on,source_id\n".into(),
        renewals: "credential_number,renewed_on,new_expires_on\n".into(),
        status: "credential_number,action,effective_on,ends_on,public_summary\n".into(),
        sources: BTreeMap::new(),
        bad_people: 0,
        bad_rows_withheld: 0,
        rows: 0,
    };
    let start = NaiveDate::from_ymd_opt(2012, 1, 1).expect("date");
    for i in 0..count {
        let peer = format!("MS-P-{i:05}");
        s.people
            .push_str(&format!("{peer},Person {i} Synthetic,yes,yes,LEG-{i}\n"));
        let mut rows = 1;
        let bad = i % 250 == 7;
        let credentials = if rng.below(10) == 0 { 2 } else { 1 };
        for c in 0..credentials {
            let number = format!("MS-PSS-{i:05}-{c}");
            let issued = start + rng.days(0, 4500);
            let expires = years_after(issued, 2);
            s.credentials.push_str(&format!(
                "{number},{peer},peer_support_specialist,{issued},{expires},\n"
            ));
            rows += 1;
            let mut source = Source {
                issued_on: Some(issued),
                expires_on: Some(expires),
                ..Source::default()
            };
            let mut current = expires;
            loop {
                let (renewed, until) = match rng.below(10) {
                    0 => break, // a gap: never renewed again
                    1 => {
                        let late = current + rng.days(10, 200);
                        (late, years_after(late, 2))
                    }
                    _ => (current - rng.days(1, 60), years_after(current, 2)),
                };
                if renewed > last {
                    break;
                }
                source.renewals.push((renewed, until));
                current = until;
            }
            if rng.below(12) == 0 {
                let span = (current.min(last) - issued).num_days().max(40);
                let on = issued + rng.days(1, span - 30);
                match rng.below(3) {
                    0 => {
                        source.actions.push(("suspension", on, None));
                        let back = on + rng.days(20, 120);
                        if back <= last {
                            source.actions.push(("reinstatement", back, None));
                        }
                    }
                    1 => source.actions.push(("probation", on, Some(on + Duration::days(365)))),
                    _ => {
                        source.actions.push(("revocation", on, None));
                        source.renewals.retain(|(renewed, _)| *renewed < on);
                    }
                }
            }
            for (renewed, until) in &source.renewals {
                s.renewals.push_str(&format!("{number},{renewed},{until}\n"));
            }
            for (action, on, ends) in &source.actions {
                let ends = ends.map(|d| d.to_string()).unwrap_or_default();
                s.status
                    .push_str(&format!("{number},{action},{on},{ends},Board order {i}\n"));
            }
            rows += source.renewals.len() + source.actions.len();
            if bad && c == 0 {
                // A renewal dated before the issue: this person is refused whole.
                s.renewals.push_str(&format!(
                    "{number},{},{}\n",
                    issued - Duration::days(5),
                    years_after(issued, 1)
                ));
                rows += 1;
            } else if !bad {
                s.sources.insert(number, source);
            }
        }
        if bad {
            s.bad_people += 1;
            s.bad_rows_withheld += rows - 1;
        }
        s.rows += rows;
    }
    s
}

/// The rows of a read file that belong to the first `count` synthetic people
/// (what an interrupted run had recorded).
fn first_people(file: &peerreg::import::read::ReadFile, count: usize) -> peerreg::import::read::ReadFile {
    let index = |row: &peerreg::import::rows::ParsedRow| {
        let id = row
            .peer_id
            .clone()
            .or_else(|| row.credential_number.clone())
            .unwrap_or_default();
        let digits: String = id.chars().skip_while(|c| !c.is_ascii_digit()).take(5).collect();
        digits.parse::<usize>().unwrap_or(usize::MAX)
    };
    peerreg::import::read::ReadFile {
        name: file.name.clone(),
        rows: file
            .rows
            .iter()
            .filter(|r| r.as_ref().map_or(true, |row| index(row) < count))
            .cloned()
            .collect(),
    }
}

#[tokio::test]
async fn five_thousand_people_dry_run_exact_then_recorded_then_resumed_and_checks_agree_with_the_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(dir.path()).await;
    let today = today();
    let last = today - Duration::days(30);
    let data = synthetic(5_000, 0x5EED_1515, last);
    let input = dir.path().join("legacy");
    std::fs::create_dir_all(&input).expect("dir");
    let mut paths = Vec::new();
    for (name, text) in [
        ("people.csv", &data.people),
        ("credentials.csv", &data.credentials),
        ("renewals.csv", &data.renewals),
        ("status.csv", &data.status),
    ] {
        let path = input.join(name);
        std::fs::write(&path, text).expect("write");
        paths.push(path);
    }
    let files = read_files(&paths).expect("the files read");
    let run = Run {
        source_system: "MS CARS 2012".into(),
        imported_on: today,
        today,
    };
    let client = board(&node).await;
    let before = size(&node);

    let dry = send(&client, &files, &run, true, false).await.expect("dry run");
    let counts = dry.counts();
    let good_rows = data.rows - data.bad_rows_withheld - data.bad_people;
    assert_eq!(counts.refused, data.bad_people, "one refused row per bad person");
    assert_eq!(counts.withheld, data.bad_rows_withheld);
    assert_eq!(counts.accepted, good_rows);
    assert_eq!(counts.already_recorded, 0);
    assert_eq!(dry.people_refused.len(), data.bad_people);
    assert_eq!(dry.people_accepted, 5_000 - data.bad_people);
    assert_eq!(size(&node), before, "a dry run records nothing");

    // An interrupted run: only the first 2,000 people's rows got in.
    let partial_files: Vec<_> = files.iter().map(|f| first_people(f, 2_000)).collect();
    let partial = send(&client, &partial_files, &run, false, false)
        .await
        .expect("partial import");
    let partial = partial.counts();
    assert!(partial.accepted > 0 && partial.already_recorded == 0, "{partial:?}");
    let real = send(&client, &files, &run, false, false).await.expect("import");
    let resumed = real.counts();
    assert_eq!(
        resumed.already_recorded, partial.accepted,
        "the interrupted run's rows are found again"
    );
    assert_eq!(
        (
            resumed.accepted + resumed.already_recorded,
            resumed.refused,
            resumed.withheld
        ),
        (counts.accepted, counts.refused, counts.withheld),
        "the real runs record exactly what the dry run accepted"
    );
    let people = (5_000 - data.bad_people) as u64;
    let recorded = size(&node);
    assert_eq!(recorded, before + good_rows as u64 + people);

    let again = send(&client, &files, &run, false, false).await.expect("re-run");
    let counts = again.counts();
    assert_eq!((counts.accepted, counts.already_recorded), (0, good_rows));
    assert_eq!(size(&node), recorded, "resuming records nothing twice");

    // Every imported credential, on every date its history covers.
    let mut items = Vec::new();
    let mut expected = Vec::new();
    for (number, source) in &data.sources {
        let dates = source.sample_dates(today);
        expected.extend(
            dates
                .iter()
                .map(|d| (number.clone(), d.to_string(), source.status_on(*d))),
        );
        items.push(pb::RosterItem {
            credential_number: number.clone(),
            legal_name: String::new(),
            dates_of_service: dates.iter().map(|d| d.to_string()).collect(),
        });
    }
    use pb::CredentialStatus as S;
    for status in [
        S::NotYetValid,
        S::Active,
        S::Expired,
        S::Suspended,
        S::Probation,
        S::Revoked,
    ] {
        assert!(
            expected.iter().any(|(_, _, s)| *s == status),
            "the sample covers {status:?}"
        );
    }
    let mut answers = Vec::new();
    let mut chunk: Vec<pb::RosterItem> = Vec::new();
    let mut dates_in_chunk = 0;
    for item in items {
        if dates_in_chunk + item.dates_of_service.len() > peerreg::limits::ROSTER_RESULTS_MAX {
            answers.extend(
                client
                    .check_roster(std::mem::take(&mut chunk))
                    .await
                    .expect("roster")
                    .results,
            );
            dates_in_chunk = 0;
        }
        dates_in_chunk += item.dates_of_service.len();
        chunk.push(item);
    }
    answers.extend(client.check_roster(chunk).await.expect("roster").results);
    assert_eq!(answers.len(), expected.len());
    let mut wrong = Vec::new();
    for (answer, (number, day, status)) in answers.iter().zip(&expected) {
        assert_eq!((&answer.credential_number, &answer.date_of_service), (number, day));
        let check = answer
            .check
            .as_ref()
            .unwrap_or_else(|| panic!("{number} on {day}: {}", answer.error));
        if check.status != *status as i32 {
            wrong.push(format!("{number} on {day}: {:?}, source says {status:?}", check.status));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} checks disagree, e.g. {:?}",
        wrong.len(),
        expected.len(),
        &wrong[..wrong.len().min(5)]
    );
    node.stop().await;
}
