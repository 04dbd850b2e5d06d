//! Portable proofs: verify offline, fail on any changed byte, and a fresh
//! check notices a revocation after the proof was saved. Plus minimal
//! disclosure, field by field.

mod common;

use chrono::NaiveDate;
use common::board::{discipline, enrol, issue, training};
use common::{TestNode, ADMIN_TOKEN};
use peerreg::domain::status::Status;
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::pb;
use peerreg::proof::{self, ProofFile};
use peerreg::service::client::{LogClient, NodeClient};

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

async fn node_with_credential(dir: &std::path::Path) -> TestNode {
    let profile = common::permissive_profile(false);
    let ledger = Ledger::open(LedgerOptions {
        profile: profile.into(),
        ..common::options(dir)
    })
    .expect("open");
    let node = TestNode::serve(ledger, dir).await;
    let board = NodeClient::connect(&node.endpoint, Some(ADMIN_TOKEN.into()))
        .await
        .expect("connect");
    let bodies = vec![
        enrol("P-1", "Ada Lovelace"),
        training(
            "P-1",
            "SECRET-COURSE",
            8,
            "2024-01-10",
            &[("ethical_responsibility", 8)],
        ),
        issue("P-1", "MS-1", "2024-03-01", "2026-02-28"),
        enrol("P-2", "Somebody Else"),
        issue("P-2", "MS-2", "2024-03-01", "2026-02-28"),
        discipline("MS-1", pb::DisciplineKind::Probation, "2024-06-01", "2024-09-01"),
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        board.record(format!("setup-{i}"), body).await.expect("setup");
    }
    node
}

async fn exported(node: &TestNode) -> ProofFile {
    let employer = NodeClient::connect(&node.endpoint, None).await.expect("connect");
    ProofFile::from_pb(employer.export_proof("MS-1".into()).await.expect("export"))
}

#[tokio::test]
async fn an_exported_proof_verifies_offline_and_any_changed_byte_breaks_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node_with_credential(dir.path()).await;
    let file = exported(&node).await;
    let key = node.ledger.verifier().clone();
    node.stop().await; // offline from here on

    let json = file.to_json().expect("json");
    let parsed = ProofFile::from_json(&json).expect("parse");
    let verified = proof::verify(&parsed, Some(&key)).expect("verifies offline");
    assert_eq!(verified.status_on(day("2024-07-01")), Status::Probation);
    assert_eq!(verified.status_on(day("2024-10-01")), Status::Active);
    assert_eq!(verified.status_on(day("2026-03-01")), Status::Expired);
    assert!(!verified.self_asserted_key);
    assert_eq!(
        parsed.entries.len(),
        2,
        "the issue and the probation; nothing about the holder's training"
    );
    assert!(!json.contains("SECRET-COURSE") && !json.contains("Somebody Else"));
    assert_eq!(
        verified.holder_name.as_deref(),
        Some("Ada Lovelace"),
        "the holder, bound by the issue's commitment"
    );
    assert_eq!(
        opened_kinds(&parsed),
        vec![HOLDER, DISCIPLINE_SUMMARY],
        "the holder and the probation's summary, nothing else"
    );

    let bytes = json.as_bytes();
    for position in 0..bytes.len() {
        let mut changed = bytes.to_vec();
        changed[position] ^= 0x01;
        let accepted = std::str::from_utf8(&changed)
            .ok()
            .and_then(|text| ProofFile::from_json(text).ok())
            .map(|file| proof::verify(&file, Some(&key)).is_ok())
            .unwrap_or(false);
        assert!(
            !accepted,
            "changing byte {position} ({:?}) went unnoticed",
            bytes[position] as char
        );
    }
    let other = common::signer("peerreg.local/tn").verifier().clone();
    assert!(
        proof::verify(&parsed, Some(&other)).is_err(),
        "a proof is checked against the pinned key"
    );
    let mut missing_issue = parsed.clone();
    missing_issue.entries.remove(0);
    assert!(proof::verify(&missing_issue, Some(&key)).is_err());
}

#[tokio::test]
async fn a_fresh_check_reports_a_revocation_made_after_the_proof_was_saved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node_with_credential(dir.path()).await;
    let saved = exported(&node).await;
    let key = node.ledger.verifier().clone();
    let board = NodeClient::connect(&node.endpoint, Some(ADMIN_TOKEN.into()))
        .await
        .expect("connect");
    board
        .record(
            "revoke".into(),
            discipline("MS-1", pb::DisciplineKind::Revocation, "2025-01-01", ""),
        )
        .await
        .expect("revoke");

    let offline = proof::verify(&saved, Some(&key)).expect("still a valid (old) proof");
    assert_eq!(
        offline.status_on(day("2025-06-01")),
        Status::Active,
        "offline cannot know about later events"
    );
    let node_client = NodeClient::connect(&node.endpoint, None).await.expect("connect");
    let log = LogClient::connect(&node.endpoint).await.expect("connect");
    let fresh = proof::fresh(&saved, &key, &node_client, &log)
        .await
        .expect("fresh check");
    assert_eq!(fresh.status_on(day("2025-06-01")), Status::Revoked);
    assert!(fresh.checkpoint.size > offline.checkpoint.size);
    node.stop().await;
}

#[tokio::test]
async fn employer_answers_carry_only_what_is_public() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node_with_credential(dir.path()).await;
    let employer = NodeClient::connect(&node.endpoint, None).await.expect("connect");
    let request = pb::CheckCredentialRequest {
        credential_number: "MS-1".into(),
        ..Default::default()
    };
    let check = employer.check(request).await.expect("check");
    // Exhaustive: a new field in the employer answer fails to compile here
    // until someone decides it is public.
    let pb::CredentialCheck {
        state,
        credential_number,
        legal_name,
        credential_type,
        status,
        as_of,
        issued_on,
        expires_on,
        discipline,
        log_size,
        reciprocity_origin_state,
        reciprocity_origin_credential_number,
        imported_source_system,
        imported_on,
    } = check;
    // Public (DESIGN.md §8): the basis of a reciprocity grant or an import is
    // in the public CredentialGranted event; this credential was issued here.
    assert!(reciprocity_origin_state.is_empty() && reciprocity_origin_credential_number.is_empty());
    assert!(imported_source_system.is_empty() && imported_on.is_empty());
    assert_eq!(
        (state.as_str(), credential_number.as_str(), legal_name.as_str()),
        ("MS", "MS-1", "Ada Lovelace")
    );
    assert_eq!(credential_type, pb::CredentialType::PeerSupportSpecialist as i32);
    assert!(status > 0 && !as_of.is_empty() && !issued_on.is_empty() && !expires_on.is_empty() && log_size > 0);
    for action in discipline {
        let pb::PublicDiscipline {
            kind,
            effective_on,
            ends_on,
            public_summary,
            ended_on,
            ended_by_reinstatement,
        } = action;
        assert!(kind > 0 && !effective_on.is_empty() && !public_summary.is_empty());
        // Dates and a flag only: when it ended and whether a reinstatement did it.
        let _ = (ends_on, ended_on, ended_by_reinstatement);
    }
    let file = exported(&node).await;
    for proven in &file.entries {
        let entry = base64_decode(&proven.entry);
        let (_, event) = peerreg::log::entry::decode_entry(proven.index, &entry).expect("entry");
        let body = event.body.expect("a body");
        assert!(
            matches!(
                body,
                pb::event::Body::CredentialGranted(_)
                    | pb::event::Body::CredentialRenewed(_)
                    | pb::event::Body::DisciplineImposed(_)
                    | pb::event::Body::ReinstatementGranted(_)
            ),
            "a proof carries only the credential's own events: {body:?}"
        );
    }
    node.stop().await;
}

/// The record kinds of a holder commitment and of a discipline summary.
const HOLDER: u32 = 7;
const DISCIPLINE_SUMMARY: u32 = 8;

fn opened_kinds(file: &ProofFile) -> Vec<u32> {
    let mut kinds: Vec<u32> = file.openings.iter().map(|o| o.kind).collect();
    kinds.sort_unstable();
    kinds
}

#[tokio::test]
async fn an_opening_for_nothing_in_the_proof_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node_with_credential(dir.path()).await;
    let file = exported(&node).await;
    let employer = NodeClient::connect(&node.endpoint, None).await.expect("connect");
    let other = ProofFile::from_pb(employer.export_proof("MS-2".into()).await.expect("export"));
    let key = node.ledger.verifier().clone();
    node.stop().await;
    assert!(proof::verify(&file, Some(&key)).is_ok());

    let mut foreign = file.clone();
    foreign.openings.push(other.openings[0].clone());
    assert!(
        proof::verify(&foreign, Some(&key)).is_err(),
        "another credential's holder opening is refused"
    );
    let mut twice = file.clone();
    twice.openings.push(file.openings[0].clone());
    assert!(
        proof::verify(&twice, Some(&key)).is_err(),
        "an opening given twice is refused"
    );
    let mut dropped = file.clone();
    dropped.openings.clear();
    let sealed = proof::verify(&dropped, Some(&key)).expect("a proof without openings still proves the status");
    assert_eq!(sealed.holder_name, None, "but it names no holder");
    let mut other_key = file.clone();
    other_key.verifier_key = common::signer("peerreg.local/tn").verifier().to_key_string();
    assert!(
        proof::verify(&other_key, Some(&key)).is_err(),
        "a file naming another key than the pinned one is refused"
    );
}

#[tokio::test]
async fn no_proof_opens_what_was_expunged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node_with_credential(dir.path()).await;
    let board = NodeClient::connect(&node.endpoint, Some(ADMIN_TOKEN.into()))
        .await
        .expect("connect");
    let employer = NodeClient::connect(&node.endpoint, None).await.expect("connect");
    let before = ProofFile::from_pb(employer.export_proof("MS-1".into()).await.expect("export"));
    assert_eq!(opened_kinds(&before), vec![HOLDER, DISCIPLINE_SUMMARY]);

    // One record: the probation's summary is no longer opened, nor counted.
    let probation = before.entries[1].index;
    board
        .record(
            "expunge-probation".into(),
            pb::command::Body::Expunge(pb::ExpungeCommand {
                target: Some(pb::expunge_command::Target::Index(probation)),
                reason: pb::ExpungementReason::CourtOrder.into(),
            }),
        )
        .await
        .expect("expunge the probation");
    let after_record = ProofFile::from_pb(employer.export_proof("MS-1".into()).await.expect("export"));
    assert_eq!(opened_kinds(&after_record), vec![HOLDER]);
    assert!(after_record.entries.iter().all(|e| e.index != probation));
    let key = node.ledger.verifier().clone();
    let verified = proof::verify(&after_record, Some(&key)).expect("verifies");
    assert_eq!(verified.status_on(day("2024-07-01")), Status::Active);

    // The person: no proof of their credential, and none opens their holder.
    board
        .record(
            "expunge-ada".into(),
            pb::command::Body::Expunge(pb::ExpungeCommand {
                target: Some(pb::expunge_command::Target::PeerId("P-1".into())),
                reason: pb::ExpungementReason::PersonRequest.into(),
            }),
        )
        .await
        .expect("expunge the person");
    match employer.export_proof("MS-1".into()).await {
        Err(peerreg::error::Error::NotFound(_)) => {}
        Err(other) => panic!("an expunged credential's proof fails with {other}, not NOT_FOUND"),
        Ok(proof) => {
            let file = ProofFile::from_pb(proof);
            assert!(
                !opened_kinds(&file).contains(&HOLDER),
                "a proof opens the holder of an expunged person"
            );
            panic!("an expunged credential still has a proof: {file:?}");
        }
    }
    let unrelated = ProofFile::from_pb(employer.export_proof("MS-2".into()).await.expect("export"));
    assert_eq!(
        proof::verify(&unrelated, Some(&key))
            .expect("verifies")
            .holder_name
            .as_deref(),
        Some("Somebody Else")
    );
    node.stop().await;
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}
