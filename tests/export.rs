//! The register as CSV (issue 15, item 2) over a real node: the public export
//! holds exactly the employer check's public facts (DESIGN.md §8) and nothing
//! private, without a token; the board's export needs `view_records`; paging
//! covers every credential once while writers append; voided records never
//! show; statuses are the day's.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{options, permissive_profile, record, TestNode, ADMIN_TOKEN, CLERK_TOKEN};
use peerreg::cli::export::{write_board, write_public, BOARD_COLUMNS, PUBLIC_COLUMNS};
use peerreg::demo::bodies;
use peerreg::error::Error;
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::pb;
use peerreg::pb::command::Body;
use peerreg::service::client::NodeClient;

const TODAY: &str = "2026-06-01";
/// A private record's content: it must never reach the public export.
const COURSE_TITLE: &str = "Confidential Trauma Course 7731";

/// MS's board on `TODAY`, issuing without prerequisites.
async fn node(dir: &std::path::Path) -> TestNode {
    let date = chrono::NaiveDate::parse_from_str(TODAY, "%Y-%m-%d").expect("a date");
    let ledger = Ledger::open(LedgerOptions {
        clock: Arc::new(peerreg::clock::ManualClock::at(date)),
        profile: permissive_profile(true).into(),
        ..options(dir)
    })
    .expect("open");
    TestNode::serve(ledger, dir).await
}

async fn client(node: &TestNode, token: Option<&str>) -> NodeClient {
    NodeClient::connect(&node.endpoint, token.map(str::to_string))
        .await
        .expect("connect")
}

fn discipline(number: &str, kind: pb::DisciplineKind, on: &str, ends: &str, summary: &str) -> Body {
    Body::DisciplinaryAction(pb::DisciplinaryAction {
        credential_number: number.into(),
        kind: kind as i32,
        effective_on: on.into(),
        ends_on: ends.into(),
        public_summary: summary.into(),
    })
}

fn void(index: u64, reason: pb::VoidReason) -> Body {
    Body::Void(pb::VoidCommand {
        index,
        reason: reason as i32,
    })
}

/// A small register: an active credential renewed once (its holder with a
/// training record), a suspended one (with an ended probation before), an
/// expired one, one issued to the wrong person and voided, one whose
/// reprimand was voided, and one with two actions in force.
async fn register(node: &TestNode) {
    use pb::DisciplineKind as K;
    let mut training = bodies::training("MS-P-1", "TRAUMA-1", 12, "2025-01-10", &[]);
    if let Body::TrainingCompleted(t) = &mut training {
        t.course_title = COURSE_TITLE.into();
    }
    record(
        &node.ledger,
        vec![
            bodies::enrol("MS-P-1", "José Álvarez"),
            training,
            bodies::issue("MS-P-1", "MS-C-1", "2025-06-01", "2027-06-01"),
            bodies::renew("MS-C-1", "2026-05-01", "2029-06-01"),
            bodies::enrol("MS-P-2", "Ana Lopez"),
            bodies::issue("MS-P-2", "MS-C-2", "2025-06-01", "2027-06-01"),
            discipline("MS-C-2", K::Probation, "2025-08-01", "2025-12-31", "Probation served"),
            discipline("MS-C-2", K::Suspension, "2026-05-01", "", "Suspended pending a hearing"),
            bodies::enrol("MS-P-3", "Bea Clark"),
            bodies::issue("MS-P-3", "MS-C-3", "2024-03-01", "2026-03-01"),
            bodies::enrol("MS-P-4", "Carl Dunn"),
        ],
    )
    .await;
    let wrong = record(
        &node.ledger,
        vec![bodies::issue("MS-P-4", "MS-C-4", "2025-06-01", "2027-06-01")],
    )
    .await;
    let reprimand = record(
        &node.ledger,
        vec![
            bodies::issue("MS-P-1", "MS-C-5", "2025-06-01", "2027-06-01"),
            discipline("MS-C-5", K::Reprimand, "2026-01-05", "", "Reprimand entered in error"),
        ],
    )
    .await;
    record(
        &node.ledger,
        vec![
            void(wrong[0], pb::VoidReason::WrongPerson),
            void(reprimand[1], pb::VoidReason::EnteredInError),
            bodies::issue("MS-P-3", "MS-C-6", "2025-06-01", "2027-06-01"),
            discipline(
                "MS-C-6",
                K::Probation,
                "2026-02-01",
                "2026-12-31",
                "Probation, supervised practice",
            ),
            discipline("MS-C-6", K::Restriction, "2026-02-01", "", "No work with minors"),
        ],
    )
    .await;
}

async fn public_pages(client: &NodeClient, page_size: u32) -> Vec<pb::PublicRegisterEntry> {
    let mut entries = Vec::new();
    let mut page_token = String::new();
    loop {
        let answer = client
            .export_public_register(pb::ExportPublicRegisterRequest {
                page_token,
                page_size: Some(page_size),
            })
            .await
            .expect("a page");
        assert_eq!(answer.as_of, TODAY);
        assert!(answer.credentials.len() <= page_size as usize);
        entries.extend(answer.credentials);
        page_token = answer.next_page_token;
        if page_token.is_empty() {
            return entries;
        }
    }
}

#[tokio::test]
async fn the_public_register_shows_each_credential_as_a_check_does_and_nothing_voided() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    register(&node).await;
    let public = client(&node, None).await;
    let entries = public_pages(&public, 2).await;
    let by_number: BTreeMap<_, _> = entries.iter().map(|e| (e.credential_number.as_str(), e)).collect();
    assert_eq!(
        by_number.keys().copied().collect::<Vec<_>>(),
        ["MS-C-1", "MS-C-2", "MS-C-3", "MS-C-5", "MS-C-6"],
        "every credential once, the voided issue not at all"
    );
    let status = |n: &str| pb::CredentialStatus::try_from(by_number[n].status).expect("a status");
    assert_eq!(status("MS-C-1"), pb::CredentialStatus::Active);
    assert_eq!(by_number["MS-C-1"].expires_on, "2029-06-01", "the renewed expiry");
    assert_eq!(by_number["MS-C-1"].legal_name, "José Álvarez");
    assert_eq!(status("MS-C-2"), pb::CredentialStatus::Suspended);
    assert_eq!(status("MS-C-3"), pb::CredentialStatus::Expired);
    assert_eq!(status("MS-C-5"), pb::CredentialStatus::Active);
    assert!(
        by_number["MS-C-5"].discipline.is_empty(),
        "a voided reprimand is not discipline"
    );
    let suspension = &by_number["MS-C-2"].discipline;
    assert_eq!(
        suspension.len(),
        1,
        "the ended probation is not in force: {suspension:?}"
    );
    assert_eq!(suspension[0].kind, pb::DisciplineKind::Suspension as i32);
    assert_eq!(suspension[0].effective_on, "2026-05-01");
    assert_eq!(suspension[0].public_summary, "Suspended pending a hearing");
    assert_eq!(by_number["MS-C-6"].discipline.len(), 2);
    // Each row is what an employer check answers today, field for field.
    for entry in &entries {
        let check = public
            .check(pb::CheckCredentialRequest {
                credential_number: entry.credential_number.clone(),
                ..Default::default()
            })
            .await
            .expect("a check");
        assert_eq!(
            (
                &check.legal_name,
                check.credential_type,
                check.status,
                &check.issued_on,
                &check.expires_on
            ),
            (
                &entry.legal_name,
                entry.credential_type,
                entry.status,
                &entry.issued_on,
                &entry.expires_on
            )
        );
        let in_force: Vec<_> = check.discipline.into_iter().filter(|d| d.ended_on.is_empty()).collect();
        assert_eq!(in_force, entry.discipline);
    }
    node.stop().await;
}

/// Runs the binary against `node` (with `token` as PEERREG_TOKEN, or none):
/// stdout and stderr, or stderr on failure.
fn peerreg(node: &TestNode, token: Option<&str>, args: &[&str]) -> Result<(String, String), String> {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_peerreg"));
    command
        .args(args)
        .args(["--node", &node.endpoint])
        .env_remove("PEERREG_TOKEN");
    if let Some(token) = token {
        command.env("PEERREG_TOKEN", token);
    }
    let output = command.output().expect("run peerreg");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8");
    if output.status.success() {
        Ok((text(output.stdout), text(output.stderr)))
    } else {
        Err(text(output.stderr))
    }
}

/// The CSV's header and rows.
fn parse(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("a header").iter().map(str::to_string).collect();
    let rows = reader
        .records()
        .map(|r| r.expect("a row").iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

// Several threads: the binary runs blocking while this runtime serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_writes_the_public_csv_without_a_token_and_nothing_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    register(&node).await;
    let out = dir.path().join("register.csv");
    let out_text = out.to_str().expect("a UTF-8 path");
    let (said, _) = peerreg(&node, None, &["export", "public", "--out", out_text]).expect("export");
    assert!(said.contains("5 credentials (6 rows)"), "{said}");
    let written = std::fs::read_to_string(&out).expect("the CSV");
    let (header, rows) = parse(&written);
    assert_eq!(header, PUBLIC_COLUMNS);
    let rows: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    assert_eq!(
        rows,
        [
            vec![
                "MS-C-1",
                "José Álvarez",
                "peer_support_specialist",
                "active",
                "2025-06-01",
                "2029-06-01",
                "",
                "",
                "",
                ""
            ],
            vec![
                "MS-C-2",
                "Ana Lopez",
                "peer_support_specialist",
                "suspended",
                "2025-06-01",
                "2027-06-01",
                "suspension",
                "2026-05-01",
                "",
                "Suspended pending a hearing"
            ],
            vec![
                "MS-C-3",
                "Bea Clark",
                "peer_support_specialist",
                "expired",
                "2024-03-01",
                "2026-03-01",
                "",
                "",
                "",
                ""
            ],
            vec![
                "MS-C-5",
                "José Álvarez",
                "peer_support_specialist",
                "active",
                "2025-06-01",
                "2027-06-01",
                "",
                "",
                "",
                ""
            ],
            vec![
                "MS-C-6",
                "Bea Clark",
                "peer_support_specialist",
                "probation",
                "2025-06-01",
                "2027-06-01",
                "probation",
                "2026-02-01",
                "2026-12-31",
                "Probation, supervised practice"
            ],
            vec![
                "MS-C-6",
                "Bea Clark",
                "peer_support_specialist",
                "probation",
                "2025-06-01",
                "2027-06-01",
                "restriction",
                "2026-02-01",
                "",
                "No work with minors"
            ],
        ]
    );
    for private in ["MS-P-", COURSE_TITLE, "TRAUMA-1", "Carl Dunn", "MS-C-4", "in error"] {
        assert!(!written.contains(private), "{private:?} is in the public export");
    }
    assert!(!dir.path().join("register.csv.partial").exists());
    // To standard output: the same CSV, the summary on standard error only.
    let (stdout, stderr) = peerreg(&node, None, &["export", "public"]).expect("export");
    assert_eq!(stdout, written);
    assert!(
        stderr.contains("5 credentials (6 rows) of the public register as of 2026-06-01"),
        "{stderr}"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_export_holds_what_the_board_sees_and_only_the_board_gets_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    register(&node).await;
    let size = node.ledger.registry().size;

    let stranger = client(&node, None).await;
    let refused = write_board(&stranger, Default::default(), Vec::new()).await;
    assert!(matches!(refused, Err(Error::Unauthenticated(_))), "{refused:?}");
    let clerk = client(&node, Some(CLERK_TOKEN)).await;
    let refused = write_board(&clerk, Default::default(), Vec::new()).await;
    assert!(matches!(refused, Err(Error::PermissionDenied(_))), "{refused:?}");
    let out = dir.path().join("board.csv");
    let out_text = out.to_str().expect("a UTF-8 path");
    let refused = peerreg(&node, None, &["export", "board", "--out", out_text]).expect_err("refused");
    assert!(refused.contains("UNAUTHENTICATED"), "{refused}");
    let refused = peerreg(&node, Some(CLERK_TOKEN), &["export", "board", "--out", out_text]).expect_err("refused");
    assert!(refused.contains("PERMISSION_DENIED"), "{refused}");
    assert!(!out.exists() && !dir.path().join("board.csv.partial").exists());

    let (said, _) = peerreg(&node, Some(ADMIN_TOKEN), &["export", "board", "--out", out_text]).expect("export");
    assert!(said.contains("5 credentials (5 rows) of the board's list"), "{said}");
    let (header, rows) = parse(&std::fs::read_to_string(&out).expect("the CSV"));
    assert_eq!(header, BOARD_COLUMNS);
    let row = |number: &str| -> BTreeMap<String, String> {
        let found = rows.iter().find(|r| r[0] == number).expect("a row");
        header.iter().cloned().zip(found.iter().cloned()).collect()
    };
    assert_eq!(rows.len(), 5, "the voided issue is not listed");
    let one = row("MS-C-1");
    assert_eq!(one["peer_id"], "MS-P-1");
    assert_eq!(one["basis"], "initial");
    assert_eq!(one["renewals"], "1");
    assert_eq!(one["last_renewed_on"], "2026-05-01");
    assert_eq!(one["expires_on"], "2029-06-01");
    let two = row("MS-C-2");
    assert_eq!(two["status"], "suspended");
    assert_eq!(two["discipline_actions"], "2");
    assert_eq!(two["discipline_in_force"], "suspension");
    assert_eq!(
        row("MS-C-5")["discipline_actions"],
        "0",
        "the voided reprimand does not count"
    );
    assert_eq!(row("MS-C-6")["discipline_in_force"], "probation; restriction");

    // The library writes the same CSV the binary wrote.
    let admin = client(&node, Some(ADMIN_TOKEN)).await;
    let mut bytes = Vec::new();
    let written = write_board(&admin, Default::default(), &mut bytes)
        .await
        .expect("export");
    assert_eq!(written.credentials, 5);
    assert_eq!(written.as_of, TODAY);
    assert_eq!(bytes, std::fs::read(&out).expect("the CSV"));
    assert_eq!(node.ledger.registry().size, size, "exports append nothing");
    node.stop().await;
}

#[tokio::test]
async fn bad_export_pages_are_invalid_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    register(&node).await;
    let size = node.ledger.registry().size;
    let public = client(&node, None).await;
    let first = public
        .export_public_register(pb::ExportPublicRegisterRequest {
            page_token: String::new(),
            page_size: Some(1),
        })
        .await
        .expect("a page");
    assert!(!first.next_page_token.is_empty());
    let bad = [
        (String::new(), Some(0)),
        (String::new(), Some(1001)),
        ("not hex".to_string(), None),
        (hex::encode("MS-C-1"), None),
        (hex::encode("June\0MS-C-1"), None),
    ];
    for (page_token, page_size) in bad {
        let request = pb::ExportPublicRegisterRequest { page_token, page_size };
        let answer = public.export_public_register(request.clone()).await;
        assert!(
            matches!(answer, Err(Error::InvalidArgument(_))),
            "{request:?}: {answer:?}"
        );
    }
    let next = public
        .export_public_register(pb::ExportPublicRegisterRequest {
            page_token: first.next_page_token,
            page_size: Some(1000),
        })
        .await
        .expect("the rest");
    assert_eq!(first.credentials.len() + next.credentials.len(), 5);
    assert_eq!(node.ledger.registry().size, size, "the log is unchanged");
    node.stop().await;
}

#[tokio::test]
async fn paging_returns_every_credential_once_while_writers_append() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    let mut bodies = vec![bodies::enrol("MS-P-1", "Many Credentials")];
    let before: Vec<String> = (0..240).map(|i| format!("MS-C-{i:03}")).collect();
    for number in &before {
        bodies.push(bodies::issue("MS-P-1", number, "2025-06-01", "2027-06-01"));
    }
    record(&node.ledger, bodies).await;
    let public = client(&node, None).await;
    let mut pages = 0;
    let mut seen: Vec<String> = Vec::new();
    let (mut behind, mut ahead) = (Vec::new(), Vec::new());
    let mut page_token = String::new();
    loop {
        let answer = public
            .export_public_register(pb::ExportPublicRegisterRequest {
                page_token,
                page_size: Some(7),
            })
            .await
            .expect("a page");
        pages += 1;
        seen.extend(answer.credentials.into_iter().map(|e| e.credential_number));
        page_token = answer.next_page_token;
        if page_token.is_empty() {
            break;
        }
        // Between pages a writer issues one credential numbered behind the
        // cursor and one ahead of it.
        let cursor = seen.last().expect("a full page");
        let last: usize = cursor[5..8].parse().expect("a number");
        let mut issued = vec![(format!("MS-C-{:03}-behind", last - 1), &mut behind)];
        if last + 5 < 240 {
            issued.push((format!("MS-C-{:03}-ahead", last + 5), &mut ahead));
        }
        for (number, list) in issued {
            record(
                &node.ledger,
                vec![bodies::issue("MS-P-1", &number, "2025-06-01", "2027-06-01")],
            )
            .await;
            list.push(number);
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a credential listed twice");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "number order across pages");
    for number in before.iter().chain(&ahead) {
        assert!(seen.contains(number), "{number} missing");
    }
    for number in &behind {
        assert!(!seen.contains(number), "{number} was issued behind the cursor");
    }
    assert!(pages >= 240 / 7 && !ahead.is_empty(), "{pages} pages");
    // A new export holds every credential.
    let all = public_pages(&public, 1000).await;
    assert_eq!(all.len(), 240 + behind.len() + ahead.len());
    node.stop().await;
}

#[tokio::test]
async fn the_library_writes_the_public_csv_page_by_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    register(&node).await;
    let public = client(&node, None).await;
    let mut bytes = Vec::new();
    let written = write_public(&public, &mut bytes).await.expect("export");
    assert_eq!((written.credentials, written.rows), (5, 6));
    assert_eq!(written.as_of, TODAY);
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert!(
        text.ends_with("No work with minors\n"),
        "no summary line inside the CSV: {text}"
    );
    assert_eq!(text.lines().count(), 7);
    node.stop().await;
}
