//! Privacy by construction (DESIGN.md §8), tried as a stranger, an auditor and
//! a board would: the public log and every public answer hold only the public
//! register; a board expunges a person or one record and nothing of it stays
//! readable under the data directory; a record entered in error is voided and
//! entered anew; and the new board operations refuse bad input, changing nothing.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::board::*;
use common::{TestNode, ADMIN_TOKEN, CLERK_TOKEN};
use pb::command::Body;
use peerreg::log::entry::verify_entry;
use peerreg::pb;
use peerreg::service::client::{LogClient, NodeClient};
use sha2::{Digest, Sha256};

const APPLICANT: &str = "MS-P-APPLICANT";
const APPLICANT_NAME: &str = "Bartholomew Oyelaran-Quince";
const HOLDER: &str = "MS-P-HOLDER";
const HOLDER_NAME: &str = "Marisol Fitzgerald-Quenby";
const NUMBER: &str = "MS-CPS-7731";
const COURSE_TITLE: &str = "Zephyrine Recovery Dialogues";
const PROVIDER: &str = "Quillfeather Peer Institute";
const EXAM_ID: &str = "QX-EXAM-4417";
const CE_PROVIDER: &str = "Harbourlight Crisis Institute";
/// How many evidence records the holder's toolkit evidence adds.
const TOOLKIT_EVIDENCE: usize = 8;
/// What the board saw for the holder's education (a private evidence record).
const EVIDENCE_DETAIL: &str = "Wrenfield Hollow Academy diploma";

/// Strings only the board may ever see (the holder's name is public register
/// data, shown to employers who ask for the credential).
const PRIVATE: [&str; 6] = [
    APPLICANT_NAME,
    COURSE_TITLE,
    PROVIDER,
    EXAM_ID,
    CE_PROVIDER,
    EVIDENCE_DETAIL,
];

async fn board(node: &TestNode, token: Option<&str>) -> NodeClient {
    NodeClient::connect(&node.endpoint, token.map(str::to_string))
        .await
        .expect("connect")
}

/// MS's domains, 32 hours in all, in one distinctively named course.
fn distinctive_training(peer: &str) -> Body {
    let domains = [
        ("ethical_responsibility", 8),
        ("shares_lived_experience", 6),
        ("engages_peers", 4),
        ("supports_recovery_planning", 4),
        ("helps_manage_crises", 4),
        ("links_to_resources", 2),
    ];
    Body::TrainingCompleted(pb::TrainingCompleted {
        peer_id: peer.into(),
        course_id: "ZRD-101".into(),
        course_title: COURSE_TITLE.into(),
        provider: PROVIDER.into(),
        minutes: 32 * 60,
        completed_on: "2024-02-01".into(),
        domains: domains
            .iter()
            .map(|(domain, hours)| pb::DomainMinutes {
                domain: (*domain).into(),
                minutes: hours * 60,
            })
            .collect(),
    })
}

fn distinctive_exam(peer: &str, score: u32, on: &str) -> Body {
    Body::ExamRecorded(pb::ExamRecorded {
        peer_id: peer.into(),
        exam_id: EXAM_ID.into(),
        score_percent: score,
        pass_mark_percent: 75,
        taken_on: on.into(),
    })
}

/// An applicant who is never certified, and a holder who failed the exam once,
/// passed it, was certified and took a continuing-education course. Returns
/// the indices of the holder's failed exam and CE record.
async fn record_people(board: &NodeClient) -> (u64, u64) {
    let mut bodies = vec![
        enrol(APPLICANT, APPLICANT_NAME),
        distinctive_exam(APPLICANT, 52, "2024-01-20"),
        enrol(HOLDER, HOLDER_NAME),
        distinctive_training(HOLDER),
        distinctive_exam(HOLDER, 41, "2024-02-10"),
        distinctive_exam(HOLDER, 88, "2024-02-20"),
        experience(HOLDER, pb::ExperienceKind::Volunteer, 260, "2023-01-01", "2024-01-31"),
    ];
    // Mississippi's toolkit evidence, the education record with a distinctive detail.
    for mut body in toolkit_evidence(HOLDER) {
        if let Body::RequirementEvidence(e) = &mut body {
            if e.requirement == "education" {
                e.detail = EVIDENCE_DETAIL.into();
            }
        }
        bodies.push(body);
    }
    bodies.push(issue(HOLDER, NUMBER, "2024-03-01", "2026-02-28"));
    bodies.push(Body::ContinuingEducationCompleted(pb::ContinuingEducationCompleted {
        peer_id: HOLDER.into(),
        topic: "ethics".into(),
        minutes: 6 * 60,
        provider: CE_PROVIDER.into(),
        completed_on: "2025-01-10".into(),
    }));
    let mut indices = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let receipt = board.record(format!("people-{i}"), body).await.expect("recorded");
        indices.push(receipt.index);
    }
    let ce = indices.last().copied().expect("the CE record");
    (indices[4], ce)
}

/// Each needle that occurs in `haystack` in clear or as its unsalted SHA-256
/// (raw or hex): what a stranger could find by guessing.
fn found_in(haystack: &[u8], needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for needle in needles {
        let digest = Sha256::digest(needle.as_bytes());
        let forms: [(&str, Vec<u8>); 3] = [
            ("in clear", needle.as_bytes().to_vec()),
            ("as raw SHA-256", digest.to_vec()),
            ("as hex SHA-256", hex::encode(digest).into_bytes()),
        ];
        for (how, form) in forms {
            if haystack.windows(form.len()).any(|w| w == form.as_slice()) {
                found.push(format!("{needle:?} {how}"));
            }
        }
    }
    found
}

/// The whole log as a stranger reads it over gRPC, every entry checked
/// against the verifier key and decoded.
async fn stranger_reads_log(node: &TestNode) -> (Vec<u8>, Vec<pb::Event>) {
    let log = LogClient::connect(&node.endpoint).await.expect("connect");
    let size = node.ledger.published().checkpoint.size;
    let mut bytes = log.checkpoint_note().await.expect("checkpoint");
    let mut events = Vec::new();
    let mut next = 0;
    while next < size {
        let page = log.entries(next, size).await.expect("entries");
        assert!(!page.is_empty(), "the log served no entries from {next}");
        for entry in page {
            let event = verify_entry(next, &entry, node.ledger.verifier(), "MS").expect("a signed entry");
            bytes.extend_from_slice(&entry);
            events.push(event);
            next += 1;
        }
    }
    (bytes, events)
}

/// Every public answer about the register, as bytes: checks, a roster, the
/// exported proof, statistics, the profile, the federation status, the
/// opening of a watch stream, and the errors a stranger gets.
async fn stranger_reads_answers(node: &TestNode) -> Vec<u8> {
    use prost::Message;
    let stranger = board(node, None).await;
    let mut bytes = Vec::new();
    for (number, as_of) in [(NUMBER, ""), (NUMBER, "2024-06-01"), ("MS-NOPE", "")] {
        let request = pb::CheckCredentialRequest {
            credential_number: number.into(),
            legal_name: String::new(),
            as_of: as_of.into(),
        };
        match stranger.check(request).await {
            Ok(check) => bytes.extend(check.encode_to_vec()),
            Err(e) => bytes.extend(e.to_string().into_bytes()),
        }
    }
    let roster = vec![pb::RosterItem {
        credential_number: NUMBER.into(),
        ..Default::default()
    }];
    bytes.extend(stranger.check_roster(roster).await.expect("roster").encode_to_vec());
    bytes.extend(
        stranger
            .export_proof(NUMBER.into())
            .await
            .expect("proof")
            .encode_to_vec(),
    );
    bytes.extend(
        stranger
            .statistics(String::new())
            .await
            .expect("statistics")
            .encode_to_vec(),
    );
    bytes.extend(stranger.profile().await.expect("profile").encode_to_vec());
    for answer in [
        stranger.peer_record(HOLDER.into()).await.map(|r| r.encode_to_vec()),
        stranger.federation_status().await.map(|r| r.encode_to_vec()),
    ] {
        bytes.extend(answer.unwrap_or_else(|e| e.to_string().into_bytes()));
    }
    let changes = Arc::new(Mutex::new(Vec::new()));
    let seen = changes.clone();
    let watching = stranger.watch(vec![NUMBER.into()], 0, move |change| {
        seen.lock().expect("lock").push(change.encode_to_vec());
    });
    let _ = tokio::time::timeout(Duration::from_millis(500), watching).await;
    let changes = changes.lock().expect("lock");
    assert!(!changes.is_empty(), "the watch stream reported the credential");
    bytes.extend(changes.concat());
    bytes
}

/// The public bodies a log may hold: nothing else ever reaches it.
fn is_public_kind(body: &pb::event::Body) -> bool {
    use pb::event::Body as E;
    matches!(
        body,
        E::Record(_)
            | E::CredentialGranted(_)
            | E::CredentialRenewed(_)
            | E::DisciplineImposed(_)
            | E::ReinstatementGranted(_)
            | E::RecordsExpunged(_)
            | E::RecordVoided(_)
            | E::SigningKeyRotated(_)
    )
}

#[tokio::test]
async fn a_stranger_reads_the_whole_log_and_every_public_answer_and_learns_only_the_register() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let admin = board(&node, Some(ADMIN_TOKEN)).await;
    record_people(&admin).await;

    let (log_bytes, events) = stranger_reads_log(&node).await;
    assert_eq!(
        events.len(),
        9 + TOOLKIT_EVIDENCE,
        "9 records and the toolkit's evidence"
    );
    let leaks = found_in(&log_bytes, &PRIVATE);
    assert!(leaks.is_empty(), "the public log holds {leaks:?}");
    let names = found_in(&log_bytes, &[HOLDER_NAME, HOLDER, APPLICANT, "people-0"]);
    assert!(names.is_empty(), "the log names people or client ids: {names:?}");
    for event in &events {
        let body = event.body.as_ref().expect("a body");
        assert!(
            is_public_kind(body),
            "entry {} holds a private kind: {body:?}",
            event.index
        );
        assert!(
            event.event_id.len() == 64 && event.event_id.chars().all(|c| c.is_ascii_hexdigit()),
            "entry {}'s event id is not a keyed hash: {}",
            event.index,
            event.event_id
        );
    }
    // Nobody can count a person's exam attempts: all six private records of
    // the holder look alike (a reference and a commitment, no kind in clear).
    let refs = events
        .iter()
        .filter(|e| matches!(e.body, Some(pb::event::Body::Record(_))))
        .count();
    assert_eq!(
        refs,
        8 + TOOLKIT_EVIDENCE,
        "every private record is an opaque reference"
    );

    let answers = stranger_reads_answers(&node).await;
    let leaks = found_in(&answers, &PRIVATE);
    assert!(leaks.is_empty(), "public answers hold {leaks:?}");
    assert!(
        found_in(&answers, &[HOLDER_NAME]).len() == 1,
        "the register shows the holder's name in clear, as a licence lookup does"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let private = peerreg::vault::vault_path(dir.path());
        let mode = std::fs::metadata(&private)
            .expect("the private store")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o700,
            "only the node's user may enter {}",
            private.display()
        );
    }

    let audit_state = dir.path().join("stranger-audit.json");
    let log = LogClient::connect(&node.endpoint).await.expect("connect");
    let report = peerreg::audit::audit(&log, node.ledger.verifier(), &audit_state)
        .await
        .expect("a third party with only the verifier key audits the whole log");
    assert_eq!(report.entries_verified, 9 + TOOLKIT_EVIDENCE as u64);
    node.stop().await;
}

/// Every file under `dir` (recursively) that holds one of `needles` in clear.
fn files_holding(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for item in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = item.path();
        if path.is_dir() {
            hits.extend(files_holding(&path, needles));
        } else if let Ok(bytes) = std::fs::read(&path) {
            for needle in needles {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    hits.push(format!("{} holds {needle:?}", path.display()));
                }
            }
        }
    }
    hits
}

/// The commitment of the private record, or of the credential's holder, at
/// `index`.
fn commitment_at(events: &[pb::Event], index: u64) -> Option<[u8; 32]> {
    let reference = match &events[index as usize].body {
        Some(pb::event::Body::Record(committed)) => committed.record.as_ref(),
        Some(pb::event::Body::CredentialGranted(granted)) => granted.holder.as_ref(),
        _ => None,
    };
    reference.and_then(|r| r.commitment.as_slice().try_into().ok())
}

fn expunge_person(peer: &str) -> Body {
    Body::Expunge(pb::ExpungeCommand {
        target: Some(pb::expunge_command::Target::PeerId(peer.into())),
        reason: pb::ExpungementReason::CourtOrder as i32,
    })
}

fn expunge_record(index: u64) -> Body {
    Body::Expunge(pb::ExpungeCommand {
        target: Some(pb::expunge_command::Target::Index(index)),
        reason: pb::ExpungementReason::PersonRequest as i32,
    })
}

fn void(index: u64) -> Body {
    Body::Void(pb::VoidCommand {
        index,
        reason: pb::VoidReason::EnteredInError as i32,
    })
}

fn check(number: &str) -> pb::CheckCredentialRequest {
    pb::CheckCredentialRequest {
        credential_number: number.into(),
        legal_name: String::new(),
        as_of: String::new(),
    }
}

#[tokio::test]
async fn an_expunged_person_is_gone_from_every_file_after_a_restart_and_the_log_still_audits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let admin = board(&node, Some(ADMIN_TOKEN)).await;
    record_people(&admin).await;
    // Before: the board's own store holds the person's record (encrypted).
    let before = admin.peer_record(HOLDER.into()).await.expect("the board's view");
    assert_eq!(before.legal_name, HOLDER_NAME);
    assert_eq!(before.trainings[0].course_title, COURSE_TITLE);

    let notice = admin
        .record("expunge-holder".into(), expunge_person(HOLDER))
        .await
        .expect("expunged");
    let events = stranger_reads_log(&node).await.1;
    let expunged = match &events[notice.index as usize].body {
        Some(pb::event::Body::RecordsExpunged(e)) => e.indices.clone(),
        other => panic!("the expungement left no public notice: {other:?}"),
    };
    let commitments: Vec<[u8; 32]> = expunged.iter().filter_map(|&i| commitment_at(&events, i)).collect();
    assert_eq!(
        commitments.len(),
        7 + TOOLKIT_EVIDENCE,
        "the notice names the person's six records, their evidence and their credential: {expunged:?}"
    );
    let gone = admin.peer_record(HOLDER.into()).await.expect_err("the person is gone");
    assert_eq!(gone.code_name(), "NOT_FOUND", "{gone}");
    let stranger = board(&node, None).await;
    let unknown = stranger.check(check(NUMBER)).await.expect_err("off the register");
    assert_eq!(unknown.code_name(), "NOT_FOUND", "{unknown}");
    let applicant = admin.peer_record(APPLICANT.into()).await.expect("others stay");
    assert_eq!(applicant.legal_name, APPLICANT_NAME);
    node.stop().await;

    let node = TestNode::start(dir.path()).await;
    let admin = board(&node, Some(ADMIN_TOKEN)).await;
    let gone = admin.peer_record(HOLDER.into()).await.expect_err("still gone");
    assert_eq!(gone.code_name(), "NOT_FOUND", "{gone}");
    let vault = node.ledger.vault().expect("the board's private store");
    for commitment in &commitments {
        let opened = vault.record(commitment).expect("a readable store");
        assert!(opened.is_none(), "an expunged record still opens after a restart");
    }
    let hits = files_holding(dir.path(), &[HOLDER_NAME, COURSE_TITLE, CE_PROVIDER, EXAM_ID]);
    assert!(hits.is_empty(), "after expungement and a restart: {hits:?}");
    let log = LogClient::connect(&node.endpoint).await.expect("connect");
    let audit_state = dir.path().join("audit.json");
    let report = peerreg::audit::audit(&log, node.ledger.verifier(), &audit_state)
        .await
        .expect("the log audits clean after the expungement");
    assert_eq!(report.size, notice.index + 1);
    node.stop().await;
}

#[tokio::test]
async fn one_expunged_record_stops_counting_and_its_opening_is_destroyed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let admin = board(&node, Some(ADMIN_TOKEN)).await;
    let (failed_exam, _) = record_people(&admin).await;
    let before = admin.peer_record(HOLDER.into()).await.expect("record");
    assert_eq!(before.exams.len(), 2);

    let notice = admin
        .record("expunge-exam".into(), expunge_record(failed_exam))
        .await
        .expect("expunged");
    let after = admin.peer_record(HOLDER.into()).await.expect("record");
    assert_eq!(after.exams.len(), 1, "the failed attempt no longer counts");
    assert_eq!(after.exams[0].score_percent, 88);
    assert_eq!(after.legal_name, HOLDER_NAME, "the rest of the record stays");
    let events = stranger_reads_log(&node).await.1;
    match &events[notice.index as usize].body {
        Some(pb::event::Body::RecordsExpunged(e)) => assert_eq!(e.indices, vec![failed_exam]),
        other => panic!("no public notice: {other:?}"),
    }
    // The committed record can no longer be opened by anyone, the board included.
    let vault = node.ledger.vault().expect("the board's private store");
    let commitment = commitment_at(&events, failed_exam).expect("the exam is a record reference");
    assert!(vault.record(&commitment).expect("readable store").is_none());
    let kept = commitment_at(&events, failed_exam + 1).expect("the passed exam");
    assert!(
        vault.record(&kept).expect("readable store").is_some(),
        "other records still open"
    );
    let again = admin
        .record("expunge-exam-again".into(), expunge_record(failed_exam))
        .await
        .expect_err("already expunged");
    assert_eq!(again.code_name(), "NOT_FOUND", "{again}");
    let stranger = board(&node, None).await;
    let status = stranger.check(check(NUMBER)).await.expect("the credential stands");
    assert_eq!(status.legal_name, HOLDER_NAME);
    node.stop().await;
}

#[tokio::test]
async fn a_record_entered_in_error_is_voided_and_entered_anew_and_the_voiding_stays_visible() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let admin = board(&node, Some(ADMIN_TOKEN)).await;
    let (_, ce) = record_people(&admin).await;

    let voiding = admin.record("void-ce".into(), void(ce)).await.expect("voided");
    let corrected = ce_body(HOLDER, 3);
    let reentered = admin.record("ce-again".into(), corrected).await.expect("re-entered");
    let record = admin.peer_record(HOLDER.into()).await.expect("record");
    assert_eq!(record.continuing_education.len(), 1, "only the corrected record counts");
    assert_eq!(record.continuing_education[0].minutes, 3 * 60);
    assert_eq!(record.voided.len(), 1);
    assert_eq!(
        (record.voided[0].index, record.voided[0].voided_by),
        (ce, voiding.index)
    );
    assert!(record.event_indices.contains(&reentered.index));
    let events = stranger_reads_log(&node).await.1;
    match &events[voiding.index as usize].body {
        Some(pb::event::Body::RecordVoided(v)) => assert_eq!(v.index, ce, "the public sees what was voided"),
        other => panic!("no public voiding: {other:?}"),
    }
    let twice = admin
        .record("void-ce-2".into(), void(ce))
        .await
        .expect_err("voided once");
    assert_eq!(twice.code_name(), "NOT_FOUND", "{twice}");
    let enrolment = record.event_indices[0];
    let refused = admin
        .record("void-enrolment".into(), void(enrolment))
        .await
        .expect_err("an enrolment is not voided");
    assert_eq!(refused.code_name(), "FAILED_PRECONDITION", "{refused}");
    node.stop().await;
}

fn ce_body(peer: &str, hours: u32) -> Body {
    Body::ContinuingEducationCompleted(pb::ContinuingEducationCompleted {
        peer_id: peer.into(),
        topic: "ethics".into(),
        minutes: hours * 60,
        provider: PROVIDER.into(),
        completed_on: "2025-01-10".into(),
    })
}

fn consent(peer: &str, state: &str, until: &str) -> Body {
    Body::ConsentRecorded(pb::ConsentRecorded {
        peer_id: peer.into(),
        receiving_state: state.into(),
        until: until.into(),
    })
}

#[tokio::test]
async fn consent_expunge_and_void_refuse_bad_requests_and_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let admin = board(&node, Some(ADMIN_TOKEN)).await;
    let (_, ce) = record_people(&admin).await;
    let clerk = board(&node, Some(CLERK_TOKEN)).await;
    let stranger = board(&node, None).await;
    let size = node.ledger.published().checkpoint.size;
    let next_year = (chrono::Utc::now().date_naive() + chrono::Days::new(365)).to_string();
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();

    let cases: Vec<(&NodeClient, Body, &str)> = vec![
        (&stranger, consent(HOLDER, "TN", &next_year), "UNAUTHENTICATED"),
        (&clerk, consent(HOLDER, "TN", &next_year), "PERMISSION_DENIED"),
        (&clerk, expunge_person(HOLDER), "PERMISSION_DENIED"),
        (&stranger, void(ce), "UNAUTHENTICATED"),
        (&clerk, void(ce), "PERMISSION_DENIED"),
        (&admin, consent(HOLDER, "TN", "2027-02-30"), "INVALID_ARGUMENT"),
        (&admin, consent(HOLDER, "Tennessee", &next_year), "INVALID_ARGUMENT"),
        (&admin, consent(HOLDER, "TN", &yesterday), "INVALID_ARGUMENT"),
        (&admin, consent(HOLDER, "MS", &next_year), "FAILED_PRECONDITION"),
        (&admin, consent("MS-P-NOBODY", "TN", &next_year), "NOT_FOUND"),
        (
            &admin,
            consent(&"P".repeat(100_000), "TN", &next_year),
            "INVALID_ARGUMENT",
        ),
        (&admin, expunge_person("MS-P-NOBODY"), "NOT_FOUND"),
        (&admin, expunge_record(size + 100), "NOT_FOUND"),
        (&admin, expunge_record(0), "FAILED_PRECONDITION"),
        (
            &admin,
            Body::Expunge(pb::ExpungeCommand {
                target: None,
                reason: pb::ExpungementReason::CourtOrder as i32,
            }),
            "INVALID_ARGUMENT",
        ),
        (
            &admin,
            Body::Expunge(pb::ExpungeCommand {
                target: Some(pb::expunge_command::Target::PeerId(HOLDER.into())),
                reason: 0,
            }),
            "INVALID_ARGUMENT",
        ),
        (&admin, void(size + 100), "NOT_FOUND"),
        (
            &admin,
            Body::Void(pb::VoidCommand { index: ce, reason: 99 }),
            "INVALID_ARGUMENT",
        ),
    ];
    for (i, (client, body, code)) in cases.into_iter().enumerate() {
        let refused = client
            .record(format!("bad-{i}"), body.clone())
            .await
            .expect_err(&format!("case {i} ({body:?}) is refused"));
        assert_eq!(refused.code_name(), code, "case {i}: {refused}");
        assert!(refused.to_string().len() > 20, "case {i} says why: {refused}");
        assert_eq!(
            node.ledger.published().checkpoint.size,
            size,
            "case {i} changed the log"
        );
    }
    let record = admin.peer_record(HOLDER.into()).await.expect("the record is intact");
    assert!(record.consents.is_empty() && record.voided.is_empty());
    assert_eq!(record.legal_name, HOLDER_NAME);
    node.stop().await;
}
