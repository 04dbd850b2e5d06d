//! The board's node over real gRPC: authenticated board operations with
//! provable receipts, employer checks, the board's view, and a table of bad
//! requests that must each get their DESIGN.md §5 code and change nothing.

mod common;

use common::board::*;
use common::{rfc9162, TestNode, ADMIN_TOKEN, CLERK_TOKEN};
use pb::command::Body;
use peerreg::error::Error;
use peerreg::log::note::Checkpoint;
use peerreg::pb;
use peerreg::service::client::NodeClient;

async fn client(node: &TestNode, token: Option<&str>) -> NodeClient {
    NodeClient::connect(&node.endpoint, token.map(str::to_string))
        .await
        .expect("connect")
}

/// Records a certified MS peer through the Board service.
async fn certify(board: &NodeClient, peer: &str, number: &str) {
    let mut bodies = vec![enrol(peer, "Ada Lovelace")];
    bodies.extend(qualification(peer));
    bodies.push(issue(peer, number, "2024-03-01", "2026-02-28"));
    for (i, body) in bodies.into_iter().enumerate() {
        board.record(format!("{peer}-{i}"), body).await.expect("recorded");
    }
}

#[tokio::test]
async fn receipts_are_provable_and_retries_return_the_same_receipt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let board = client(&node, Some(ADMIN_TOKEN)).await;
    let receipt = board
        .record("evt-enrol-1".into(), enrol("MS-P-1", "Ada"))
        .await
        .expect("enrol");
    let checkpoint = receipt.checkpoint.clone().expect("a checkpoint");
    let verifier = node.ledger.verifier();
    let signed = Checkpoint::open(&checkpoint.note, verifier).expect("the receipt's checkpoint is signed");
    assert_eq!(signed.size, checkpoint.size);
    assert!(signed.size > receipt.index);
    let event = peerreg::log::entry::verify_entry(receipt.index, &receipt.entry, verifier, "MS").expect("signed entry");
    assert!(
        event.event_id.len() == 64 && event.event_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "the log names the event by a keyed hash, never by the client's id: {:?}",
        event.event_id
    );
    assert!(!event.event_id.contains("evt-enrol-1"));
    assert!(
        matches!(event.body, Some(pb::event::Body::Record(_))),
        "an enrolment is a sealed record in the log: {:?}",
        event.body
    );
    assert!(
        !receipt.entry.windows(b"Ada".len()).any(|w| w == b"Ada")
            && !receipt.entry.windows(b"MS-P-1".len()).any(|w| w == b"MS-P-1"),
        "neither the name nor the peer id is in the log"
    );
    let proof: Vec<rfc9162::Hash> = receipt
        .inclusion_proof
        .iter()
        .map(|h| h.as_slice().try_into().expect("32 bytes"))
        .collect();
    assert!(rfc9162::inclusion_ok(
        receipt.index,
        signed.size,
        rfc9162::leaf(&receipt.entry),
        &proof,
        &signed.root
    ));

    let retry = board
        .record("evt-enrol-1".into(), enrol("MS-P-1", "Ada"))
        .await
        .expect("retry");
    assert_eq!(
        (retry.index, retry.duplicate, retry.entry),
        (receipt.index, true, receipt.entry)
    );
    node.stop().await;
}

#[tokio::test]
async fn employers_check_status_now_and_on_a_date_and_see_only_what_is_public() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let board = client(&node, Some(ADMIN_TOKEN)).await;
    certify(&board, "MS-P-2", "MS-2002").await;
    let suspension = discipline("MS-2002", pb::DisciplineKind::Suspension, "2025-01-01", "2025-03-01");
    board.record("susp".into(), suspension).await.expect("suspend");

    let employer = client(&node, None).await;
    let check = |as_of: &str, name: &str| pb::CheckCredentialRequest {
        credential_number: "MS-2002".into(),
        legal_name: name.into(),
        as_of: as_of.into(),
    };
    let during = employer
        .check(check("2025-02-01", "ada lovelace"))
        .await
        .expect("check");
    assert_eq!(during.status, pb::CredentialStatus::Suspended as i32);
    assert_eq!(during.discipline.len(), 1);
    assert_eq!(during.discipline[0].public_summary, "Suspension ordered by the board");
    let after = employer.check(check("2025-06-01", "")).await.expect("check");
    assert_eq!(after.status, pb::CredentialStatus::Active as i32);
    assert_eq!(
        (after.issued_on.as_str(), after.expires_on.as_str()),
        ("2024-03-01", "2026-02-28")
    );
    let today = employer.check(check("", "")).await.expect("check today");
    assert_eq!(
        today.status,
        pb::CredentialStatus::Expired as i32,
        "expired 2026-02-28, today is later"
    );

    let wrong_name = employer.check(check("", "Somebody Else")).await;
    assert!(matches!(wrong_name, Err(Error::NotFound(_))), "{wrong_name:?}");
    let unknown = employer.check(pb::CheckCredentialRequest {
        credential_number: "MS-404".into(),
        ..check("", "")
    });
    assert!(matches!(unknown.await, Err(Error::NotFound(_))));
    let bad_date = employer.check(check("2025-13-01", "")).await;
    assert!(
        matches!(bad_date, Err(Error::InvalidArgument(ref m)) if m.contains("as_of")),
        "{bad_date:?}"
    );

    // Minimal disclosure: nothing of the training record or attestations.
    let encoded = format!("{during:?}");
    for private in ["MS-CORE", "Course", "82", "attested", "ethics_code", "MS-P-2"] {
        assert!(
            !encoded.contains(private),
            "an employer check must not carry {private:?}: {encoded}"
        );
    }
    node.stop().await;
}

#[tokio::test]
async fn the_full_record_is_for_boards_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    certify(&client(&node, Some(ADMIN_TOKEN)).await, "MS-P-3", "MS-3003").await;
    let record = client(&node, Some(ADMIN_TOKEN))
        .await
        .peer_record("MS-P-3".into())
        .await
        .expect("record");
    assert_eq!(record.trainings.len(), 1);
    assert_eq!(record.credentials[0].credential_number, "MS-3003");
    assert!(record.eligibility_attested);
    let anonymous = client(&node, None).await.peer_record("MS-P-3".into()).await;
    assert!(matches!(anonymous, Err(Error::Unauthenticated(_))), "{anonymous:?}");
    let clerk = client(&node, Some(CLERK_TOKEN))
        .await
        .peer_record("MS-P-3".into())
        .await;
    assert!(matches!(clerk, Err(Error::PermissionDenied(_))), "{clerk:?}");
    let stats = client(&node, None)
        .await
        .statistics("2025-01-01".into())
        .await
        .expect("statistics");
    assert_eq!((stats.peers, stats.rows.len(), stats.rows[0].count), (1, 1, 1));
    let profile = client(&node, None).await.profile().await.expect("profile");
    assert!(profile.toml.contains("training_hours_total"));
    node.stop().await;
}

/// One row of the bad-input table: who calls, what they send, what must come back.
struct Case {
    what: &'static str,
    token: Option<&'static str>,
    event_id: &'static str,
    body: Body,
    expect: fn(&Error) -> bool,
}

fn consent(peer: &str, state: &str, until: &str) -> Body {
    Body::ConsentRecorded(pb::ConsentRecorded {
        peer_id: peer.into(),
        receiving_state: state.into(),
        until: until.into(),
    })
}

fn void(index: u64) -> Body {
    Body::Void(pb::VoidCommand {
        index,
        reason: pb::VoidReason::EnteredInError.into(),
    })
}

fn expunge(target: pb::expunge_command::Target) -> Body {
    Body::Expunge(pb::ExpungeCommand {
        target: Some(target),
        reason: pb::ExpungementReason::CourtOrder.into(),
    })
}

fn cases() -> Vec<Case> {
    let huge = "x".repeat(1024 * 1024);
    let mut bad_type = issue("MS-P-9", "MS-9", "2024-03-01", "2026-02-28");
    if let Body::CredentialIssued(e) = &mut bad_type {
        e.credential_type = 99;
    }
    let mut bad_kind = discipline("MS-9009", pb::DisciplineKind::Suspension, "2025-01-01", "");
    if let Body::DisciplinaryAction(e) = &mut bad_kind {
        e.kind = 42;
    }
    let invalid = |e: &Error| matches!(e, Error::InvalidArgument(m) if !m.is_empty());
    let unauthenticated = |e: &Error| matches!(e, Error::Unauthenticated(_));
    let denied = |e: &Error| matches!(e, Error::PermissionDenied(m) if m.contains("clerk"));
    let precondition = |e: &Error| matches!(e, Error::FailedPrecondition(m) if !m.is_empty());
    let not_found = |e: &Error| matches!(e, Error::NotFound(_));
    vec![
        Case {
            what: "no token",
            token: None,
            event_id: "a1",
            body: enrol("MS-P-8", "X"),
            expect: unauthenticated,
        },
        Case {
            what: "wrong token",
            token: Some("guess"),
            event_id: "a2",
            body: enrol("MS-P-8", "X"),
            expect: unauthenticated,
        },
        Case {
            what: "clerk enrols",
            token: Some(CLERK_TOKEN),
            event_id: "a3",
            body: enrol("MS-P-8", "X"),
            expect: denied,
        },
        Case {
            what: "clerk disciplines",
            token: Some(CLERK_TOKEN),
            event_id: "a4",
            body: discipline("MS-9009", pb::DisciplineKind::Revocation, "2025-01-01", ""),
            expect: denied,
        },
        Case {
            what: "empty event id",
            token: Some(ADMIN_TOKEN),
            event_id: "",
            body: enrol("MS-P-8", "X"),
            expect: invalid,
        },
        Case {
            what: "missing name",
            token: Some(ADMIN_TOKEN),
            event_id: "b1",
            body: enrol("MS-P-8", ""),
            expect: invalid,
        },
        Case {
            what: "1 MiB name",
            token: Some(ADMIN_TOKEN),
            event_id: "b2",
            body: enrol("MS-P-8", &huge),
            expect: invalid,
        },
        Case {
            what: "unknown credential type",
            token: Some(ADMIN_TOKEN),
            event_id: "b3",
            body: bad_type,
            expect: invalid,
        },
        Case {
            what: "unknown discipline kind",
            token: Some(ADMIN_TOKEN),
            event_id: "b4",
            body: bad_kind,
            expect: invalid,
        },
        Case {
            what: "expiry before issue",
            token: Some(ADMIN_TOKEN),
            event_id: "b5",
            body: issue("MS-P-9", "MS-9", "2024-03-01", "2023-01-01"),
            expect: invalid,
        },
        Case {
            what: "a revocation with an end date",
            token: Some(ADMIN_TOKEN),
            event_id: "b9",
            body: discipline("MS-9009", pb::DisciplineKind::Revocation, "2025-01-01", "2025-02-01"),
            expect: invalid,
        },
        Case {
            what: "period ends before it starts",
            token: Some(ADMIN_TOKEN),
            event_id: "b6",
            body: experience("MS-P-9", pb::ExperienceKind::Paid, 10, "2024-05-01", "2024-01-01"),
            expect: invalid,
        },
        Case {
            what: "zero hours",
            token: Some(ADMIN_TOKEN),
            event_id: "b7",
            body: training("MS-P-9", "C", 0, "2024-01-01", &[]),
            expect: invalid,
        },
        Case {
            what: "score over 100",
            token: Some(ADMIN_TOKEN),
            event_id: "b8",
            body: exam("MS-P-9", 4_000_000_000, "2024-01-01"),
            expect: invalid,
        },
        Case {
            what: "duplicate credential number",
            token: Some(ADMIN_TOKEN),
            event_id: "c1",
            body: issue("MS-P-9", "MS-9009", "2024-03-01", "2026-02-28"),
            expect: precondition,
        },
        Case {
            what: "renew a revoked credential",
            token: Some(ADMIN_TOKEN),
            event_id: "c2",
            body: renew("MS-9009", "2025-12-01", "2027-12-01"),
            expect: precondition,
        },
        Case {
            what: "unknown peer",
            token: Some(ADMIN_TOKEN),
            event_id: "c3",
            body: ce("MS-P-404", "ethics", 2, "2024-01-01"),
            expect: not_found,
        },
        Case {
            what: "a consent to disclose to this very state",
            token: Some(ADMIN_TOKEN),
            event_id: "d1",
            body: consent("MS-P-9", "MS", "2099-01-01"),
            expect: precondition,
        },
        Case {
            what: "a consent to an unknown state",
            token: Some(ADMIN_TOKEN),
            event_id: "d2",
            body: consent("MS-P-9", "ZZ", "2099-01-01"),
            expect: invalid,
        },
        Case {
            what: "a consent that has already run out",
            token: Some(ADMIN_TOKEN),
            event_id: "d3",
            body: consent("MS-P-9", "TN", "2001-01-01"),
            expect: invalid,
        },
        Case {
            what: "a consent of an unknown peer",
            token: Some(ADMIN_TOKEN),
            event_id: "d4",
            body: consent("MS-P-404", "TN", "2099-01-01"),
            expect: not_found,
        },
        Case {
            what: "clerk voids a record",
            token: Some(CLERK_TOKEN),
            event_id: "e1",
            body: void(1),
            expect: denied,
        },
        Case {
            what: "void an enrolment",
            token: Some(ADMIN_TOKEN),
            event_id: "e2",
            body: void(0),
            expect: precondition,
        },
        Case {
            what: "void an entry past the log",
            token: Some(ADMIN_TOKEN),
            event_id: "e3",
            body: void(1_000_000),
            expect: not_found,
        },
        Case {
            what: "void without a reason",
            token: Some(ADMIN_TOKEN),
            event_id: "e4",
            body: Body::Void(pb::VoidCommand { index: 1, reason: 0 }),
            expect: invalid,
        },
        Case {
            what: "clerk expunges a person",
            token: Some(CLERK_TOKEN),
            event_id: "f1",
            body: expunge(pb::expunge_command::Target::PeerId("MS-P-9".into())),
            expect: denied,
        },
        Case {
            what: "expunge an unknown person",
            token: Some(ADMIN_TOKEN),
            event_id: "f2",
            body: expunge(pb::expunge_command::Target::PeerId("MS-P-404".into())),
            expect: not_found,
        },
        Case {
            what: "expunge an enrolment as one record",
            token: Some(ADMIN_TOKEN),
            event_id: "f3",
            body: expunge(pb::expunge_command::Target::Index(0)),
            expect: precondition,
        },
        Case {
            what: "expunge without a target",
            token: Some(ADMIN_TOKEN),
            event_id: "f4",
            body: Body::Expunge(pb::ExpungeCommand {
                target: None,
                reason: pb::ExpungementReason::CourtOrder.into(),
            }),
            expect: invalid,
        },
        Case {
            what: "reused event id with other content",
            token: Some(ADMIN_TOKEN),
            event_id: "MS-P-9-0",
            body: enrol("MS-P-77", "Other"),
            expect: |e| matches!(e, Error::AlreadyExists(_)),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_gets_its_code_changes_nothing_and_the_node_keeps_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let admin = client(&node, Some(ADMIN_TOKEN)).await;
    certify(&admin, "MS-P-9", "MS-9009").await;
    admin
        .record(
            "revoke".into(),
            discipline("MS-9009", pb::DisciplineKind::Revocation, "2025-01-01", ""),
        )
        .await
        .expect("revoke");
    let before = node.ledger.published();
    for case in cases() {
        let caller = client(&node, case.token).await;
        let answer = caller.record(case.event_id.into(), case.body).await;
        match answer {
            Err(error) => assert!((case.expect)(&error), "{}: wrong refusal {error:?}", case.what),
            Ok(receipt) => panic!("{}: was accepted as entry {}", case.what, receipt.index),
        }
        assert_eq!(node.ledger.published(), before, "{}: the log changed", case.what);
    }
    // Still serving reads and writes.
    let check = pb::CheckCredentialRequest {
        credential_number: "MS-9009".into(),
        ..Default::default()
    };
    assert_eq!(
        client(&node, None).await.check(check).await.expect("check").status,
        pb::CredentialStatus::Revoked as i32
    );
    admin
        .record("after".into(), enrol("MS-P-10", "Still Works"))
        .await
        .expect("the node still accepts writes");
    node.stop().await;
}
