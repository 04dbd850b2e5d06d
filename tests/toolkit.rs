//! Mississippi's toolkit as the example profile states it, through a real node:
//! an applicant who follows it is certified; one missing any single item is
//! refused FAILED_PRECONDITION with that item named, and the log is unchanged.
//! Then profile versions (the rules in force on an issue's or a renewal's date)
//! and the credential's validity, through a real ledger.

mod common;

use std::sync::Arc;

use chrono::NaiveDate;
use common::board::*;
use common::{record, TestNode, ADMIN_TOKEN};
use peerreg::clock::ManualClock;
use peerreg::domain::history::{ProfileHistory, ProfileVersion};
use peerreg::domain::profile::RequirementProfile;
use peerreg::error::Error;
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::pb;
use peerreg::service::client::NodeClient;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

/// The toolkit applicant's records, with those `drop` names left out.
fn applicant(peer: &str, drop: &str) -> Vec<pb::command::Body> {
    let mut bodies = vec![enrol(peer, "Fannie Lou")];
    let mut references = 0;
    for body in qualification(peer) {
        if let pb::command::Body::RequirementEvidence(e) = &body {
            if e.requirement == "reference" {
                references += 1;
                if drop == "one reference" && references == 2 {
                    continue;
                }
            }
            if e.requirement == drop {
                continue;
            }
        }
        bodies.push(body);
    }
    bodies
}

/// Each item of the toolkit left out alone, and the words the refusal must contain.
const MISSING: [(&str, &str); 8] = [
    ("education", "education"),
    ("reading_writing", "reading_writing"),
    ("one reference", "reference: 2 reference forms required, 1 found"),
    ("residency", "residency"),
    ("employment", "employment"),
    ("pre_training", "pre_training"),
    ("application", "application"),
    ("nothing", ""),
];

#[tokio::test]
async fn a_toolkit_applicant_is_certified_and_one_missing_any_item_is_refused_with_it_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let board = NodeClient::connect(&node.endpoint, Some(ADMIN_TOKEN.to_string()))
        .await
        .expect("connect");
    for (i, (missing, named)) in MISSING.into_iter().enumerate() {
        let peer = format!("MS-T-{i}");
        for (j, body) in applicant(&peer, missing).into_iter().enumerate() {
            board.record(format!("{peer}-{j}"), body).await.expect("recorded");
        }
        let before = node.ledger.published().checkpoint.size;
        let number = format!("MS-T-{i}00");
        let issued = board
            .record(
                format!("{peer}-issue"),
                issue(&peer, &number, "2024-03-01", "2026-02-28"),
            )
            .await;
        match (missing, issued) {
            ("nothing", Ok(_)) => {
                let record = board.peer_record(peer.clone()).await.expect("the board's view");
                let mut listed: Vec<&str> = record.evidence.iter().map(|e| e.requirement.as_str()).collect();
                listed.dedup();
                for item in ["education", "reference", "residency", "employment", "pre_training"] {
                    assert!(listed.contains(&item), "the board's view lists {item}: {listed:?}");
                }
            }
            ("nothing", Err(e)) => panic!("the toolkit applicant was refused: {e}"),
            (_, Err(Error::FailedPrecondition(message))) => {
                assert!(message.contains(named), "without {missing}: {message}");
                assert!(
                    message.starts_with("initial certification requirements not met"),
                    "{message}"
                );
                assert_eq!(
                    node.ledger.published().checkpoint.size,
                    before,
                    "a refusal appends nothing"
                );
            }
            (_, other) => panic!("without {missing}: expected FAILED_PRECONDITION, got {other:?}"),
        }
    }
    node.stop().await;
}

#[tokio::test]
async fn evidence_with_an_unknown_requirement_or_a_future_date_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let board = NodeClient::connect(&node.endpoint, Some(ADMIN_TOKEN.to_string()))
        .await
        .expect("connect");
    board
        .record("e-0".into(), enrol("MS-E", "Ida B"))
        .await
        .expect("enrolled");
    let cases = [
        (evidence("MS-E", "horoscope", "2024-01-01", "seen"), "invalid"),
        (evidence("MS-E", "residency", "2999-01-01", "seen"), "invalid"),
        (evidence("MS-E", "residency", "2024-01-01", " "), "invalid"),
        (evidence("MS-NOBODY", "residency", "2024-01-01", "seen"), "not found"),
    ];
    for (i, (body, code)) in cases.into_iter().enumerate() {
        let before = node.ledger.published().checkpoint.size;
        let answer = board.record(format!("e-bad-{i}"), body).await;
        let matched = match code {
            "invalid" => matches!(answer, Err(Error::InvalidArgument(_))),
            _ => matches!(answer, Err(Error::NotFound(_))),
        };
        assert!(matched, "case {i}: {answer:?}");
        assert_eq!(node.ledger.published().checkpoint.size, before);
    }
    let recorded = board
        .record(
            "e-ok".into(),
            evidence("MS-E", "residency", "2024-01-01", "address verified"),
        )
        .await;
    assert!(recorded.is_ok(), "{recorded:?}");
    let peer = node.ledger.registry().peer("MS-E").cloned().expect("the peer");
    assert_eq!(peer.extras.evidence.len(), 1);
    node.stop().await;
}

/// Mississippi's example in two versions: pass mark 70 and 1-year validity
/// until 30 June 2024; pass mark 80 and 2-year validity (and 30 CE hours)
/// from 1 July 2024.
fn two_versions() -> ProfileHistory {
    let mut old = RequirementProfile::example_for("MS").expect("the MS example");
    old.initial.exam_pass_mark_percent = 70;
    old.initial.credential_valid_years = 1;
    let mut new = old.clone();
    new.initial.exam_pass_mark_percent = 80;
    new.initial.credential_valid_years = 2;
    new.renewal.ce_hours = 30.0;
    let versions = vec![
        ProfileVersion {
            effective_from: None,
            profile: old,
        },
        ProfileVersion {
            effective_from: Some(day("2024-07-01")),
            profile: new,
        },
    ];
    ProfileHistory::new(versions, "two versions").expect("a valid history")
}

fn open(dir: &std::path::Path, profile: ProfileHistory) -> Ledger {
    Ledger::open(LedgerOptions {
        profile,
        clock: Arc::new(ManualClock::at(day("2030-01-01"))),
        ..common::options(dir)
    })
    .expect("open")
}

/// A toolkit applicant with an exam score of 75 (the qualification's 82 replaced).
async fn scored_75(ledger: &Ledger, peer: &str) {
    let mut bodies = applicant(peer, "nothing");
    for body in bodies.iter_mut() {
        if let pb::command::Body::ExamRecorded(exam) = body {
            exam.score_percent = 75;
        }
    }
    record(ledger, bodies).await;
}

#[tokio::test]
async fn an_issue_is_judged_by_the_profile_version_in_force_on_its_date() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open(dir.path(), two_versions());
    scored_75(&ledger, "MS-V").await;
    // Each row: issue date, expiry, allowed (and what a refusal names).
    let table = [
        ("2024-07-01", "2026-07-01", Some("certification exam")), // 75 < 80 from July
        ("2024-06-30", "2025-07-01", Some("credential validity")), // 1 year until June
        ("2024-06-30", "2025-06-30", None),                       // 75 >= 70, within 1 year
    ];
    for (i, (on, expires, refusal)) in table.into_iter().enumerate() {
        let number = format!("MS-V-{i}");
        let answer = ledger
            .append(format!("v-{i}"), issue("MS-V", &number, on, expires))
            .await;
        match (refusal, answer) {
            (None, Ok(_)) => {}
            (Some(named), Err(Error::FailedPrecondition(m))) => assert!(m.contains(named), "{on}: {m}"),
            (_, other) => panic!("{on} -> {expires}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_renewal_is_judged_by_the_version_in_force_on_its_date_and_bounded_by_its_validity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open(dir.path(), two_versions());
    scored_75(&ledger, "MS-R").await;
    record(
        &ledger,
        vec![
            issue("MS-R", "MS-R-1", "2024-03-01", "2025-03-01"),
            ce("MS-R", "ethics", 6, "2024-05-01"),
            ce("MS-R", "trauma_informed_care", 14, "2024-05-02"),
        ],
    )
    .await;
    // 20 CE hours: enough before July (20 required), not after (30 required).
    // Renewed early, a period runs from the current expiry (2025-03-01).
    let table = [
        ("2024-07-15", "2027-03-01", Some("continuing education")),
        ("2024-07-15", "2027-03-02", Some("credential validity")), // 2 years from July
        ("2024-06-15", "2026-03-02", Some("credential validity")), // 1 year until June
        ("2024-06-15", "2026-03-01", None),
    ];
    for (i, (on, expires, refusal)) in table.into_iter().enumerate() {
        let answer = ledger.append(format!("r-{i}"), renew("MS-R-1", on, expires)).await;
        match (refusal, answer) {
            (None, Ok(_)) => {}
            (Some(named), Err(Error::FailedPrecondition(m))) => assert!(m.contains(named), "{on}: {m}"),
            (_, other) => panic!("{on} -> {expires}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn no_version_in_force_refuses_the_issue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = RequirementProfile::example_for("MS").expect("the MS example");
    let dated = ProfileVersion {
        effective_from: Some(day("2024-04-01")),
        profile,
    };
    let ledger = open(dir.path(), ProfileHistory::new(vec![dated], "dated").expect("valid"));
    scored_75(&ledger, "MS-N").await;
    let early = ledger
        .append("n-0".into(), issue("MS-N", "MS-N-1", "2024-03-01", "2026-02-28"))
        .await;
    assert!(
        matches!(&early, Err(Error::FailedPrecondition(m)) if m.contains("no version")),
        "{early:?}"
    );
    let later = ledger
        .append("n-1".into(), issue("MS-N", "MS-N-1", "2024-04-01", "2026-04-01"))
        .await;
    assert!(later.is_ok(), "{later:?}");
}
