//! Answers about a date of service are about that date: one credential's
//! whole life (issue, probation, suspension, reinstatement, renewal, expiry)
//! checked on many dates through CheckCredential, CheckRoster and an exported
//! proof verified offline, which agree with each other and with the expected
//! status and discipline (with its end) on every date. Plus: a credential
//! granted by reciprocity says on what.

mod common;

use chrono::NaiveDate;
use common::board::{discipline, enrol, issue, reinstate, renew};
use common::{record, TestNode};
use pb::command::Body;
use peerreg::clock::ManualClock;
use peerreg::domain::fact::DisciplineKind;
use peerreg::domain::status::DatedDiscipline;
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::pb;
use peerreg::proof::{self, ProofFile};
use peerreg::service::client::NodeClient;

use pb::CredentialStatus as S;
use pb::DisciplineKind as K;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// One action as an answer shows it: kind, effective date, the date it had
/// ended by the answer's date ("" while in force) and whether a reinstatement ended it.
type Shown = (i32, String, String, bool);

fn shown(kind: K, from: &str, ended_on: &str, by_reinstatement: bool) -> Shown {
    (kind as i32, from.into(), ended_on.into(), by_reinstatement)
}

fn from_check(check: &pb::CredentialCheck) -> (i32, String, Vec<Shown>) {
    let actions = check
        .discipline
        .iter()
        .map(|d| {
            (
                d.kind,
                d.effective_on.clone(),
                d.ended_on.clone(),
                d.ended_by_reinstatement,
            )
        })
        .collect();
    (check.status, check.expires_on.clone(), actions)
}

fn wire_kind(kind: DisciplineKind) -> K {
    match kind {
        DisciplineKind::Reprimand => K::Reprimand,
        DisciplineKind::Probation => K::Probation,
        DisciplineKind::Restriction => K::Restriction,
        DisciplineKind::Suspension => K::Suspension,
        DisciplineKind::Revocation => K::Revocation,
        DisciplineKind::VoluntarySurrender => K::VoluntarySurrender,
    }
}

fn from_proof(verified: &proof::VerifiedProof, date: NaiveDate) -> (i32, String, Vec<Shown>) {
    let action = |d: &DatedDiscipline| {
        (
            wire_kind(d.discipline.kind) as i32,
            d.discipline.effective_on.to_string(),
            d.ended.map(|end| end.on().to_string()).unwrap_or_default(),
            d.ended.is_some_and(|end| end.by_reinstatement()),
        )
    };
    let status = peerreg::service::registry::status_code(verified.status_on(date)) as i32;
    let expires = verified.credential.expires_on_as_of(date).to_string();
    (
        status,
        expires,
        verified.discipline_on(date).iter().map(action).collect(),
    )
}

/// Mississippi with no initial or renewal requirements (this is about dates),
/// its clock after everything below.
fn mississippi(dir: &std::path::Path) -> Ledger {
    let profile = common::permissive_profile(true);
    Ledger::open(LedgerOptions {
        profile: profile.into(),
        clock: std::sync::Arc::new(ManualClock::at(day("2028-01-01"))),
        ..common::options(dir)
    })
    .expect("open")
}

#[tokio::test]
async fn checks_rosters_and_proofs_agree_on_every_date_of_service() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::serve(mississippi(dir.path()), dir.path()).await;
    record(
        &node.ledger,
        vec![
            enrol("P-1", "Ada Lovelace"),
            issue("P-1", "MS-1", "2024-03-01", "2026-02-28"),
            discipline("MS-1", K::Probation, "2024-06-01", "2024-09-01"),
            discipline("MS-1", K::Suspension, "2025-01-10", ""),
            reinstate("MS-1", "2025-03-01"),
            renew("MS-1", "2026-01-15", "2027-02-28"),
        ],
    )
    .await;

    let probation = |ended: &str| shown(K::Probation, "2024-06-01", ended, false);
    let suspension = |ended: &str| shown(K::Suspension, "2025-01-10", ended, !ended.is_empty());
    let over = || vec![probation("2024-09-01"), suspension("2025-03-01")];
    // (date, status, expiry in force, discipline shown)
    let table: Vec<(&str, S, &str, Vec<Shown>)> = vec![
        ("2024-02-29", S::NotYetValid, "2026-02-28", vec![]),
        ("2024-03-01", S::Active, "2026-02-28", vec![]),
        ("2024-05-31", S::Active, "2026-02-28", vec![]),
        ("2024-06-01", S::Probation, "2026-02-28", vec![probation("")]),
        ("2024-08-31", S::Probation, "2026-02-28", vec![probation("")]),
        ("2024-09-01", S::Active, "2026-02-28", vec![probation("2024-09-01")]),
        ("2025-01-09", S::Active, "2026-02-28", vec![probation("2024-09-01")]),
        (
            "2025-01-10",
            S::Suspended,
            "2026-02-28",
            vec![probation("2024-09-01"), suspension("")],
        ),
        (
            "2025-02-28",
            S::Suspended,
            "2026-02-28",
            vec![probation("2024-09-01"), suspension("")],
        ),
        ("2025-03-01", S::Active, "2026-02-28", over()),
        ("2026-01-14", S::Active, "2026-02-28", over()),
        ("2026-01-15", S::Active, "2027-02-28", over()),
        ("2026-03-01", S::Active, "2027-02-28", over()),
        ("2027-02-28", S::Active, "2027-02-28", over()),
        ("2027-03-01", S::Expired, "2027-02-28", over()),
        ("2027-12-31", S::Expired, "2027-02-28", over()),
    ];

    let employer = NodeClient::connect(&node.endpoint, None).await.expect("connect");
    let roster = employer
        .check_roster(vec![pb::RosterItem {
            credential_number: "MS-1".into(),
            legal_name: "Ada Lovelace".into(),
            dates_of_service: table.iter().map(|row| row.0.to_string()).collect(),
        }])
        .await
        .expect("roster");
    assert_eq!(roster.results.len(), table.len());
    let mut checks = Vec::with_capacity(table.len());
    for (date, ..) in &table {
        let request = pb::CheckCredentialRequest {
            credential_number: "MS-1".into(),
            legal_name: "Ada Lovelace".into(),
            as_of: date.to_string(),
        };
        checks.push(employer.check(request).await.expect("check"));
    }
    let file = ProofFile::from_pb(employer.export_proof("MS-1".into()).await.expect("export"));
    let key = node.ledger.verifier().clone();
    node.stop().await; // the proof is verified offline
    let verified = proof::verify(&file, Some(&key)).expect("verifies offline");

    let answers = roster.results.iter().zip(&checks);
    for ((date, status, expires, discipline), (line, check)) in table.into_iter().zip(answers) {
        let expected = (status as i32, expires.to_string(), discipline);
        assert_eq!(check.as_of, date);
        assert_eq!(from_check(check), expected, "CheckCredential on {date}");
        assert_eq!(line.date_of_service, date);
        let roster_check = line
            .check
            .as_ref()
            .unwrap_or_else(|| panic!("roster on {date}: {line:?}"));
        assert_eq!(from_check(roster_check), expected, "CheckRoster on {date}");
        assert_eq!(from_proof(&verified, day(date)), expected, "the proof as of {date}");
    }

    // The proof's text says the same as the check's text, end included.
    let text = proof::describe(&file, &verified, day("2025-04-01"));
    assert!(
        text.contains("suspension from 2025-01-10 (ended by reinstatement on 2025-03-01)")
            && text.contains("probation from 2024-06-01 until 2024-09-01 (ended on 2024-09-01)"),
        "{text}"
    );
    let before = proof::describe(&file, &verified, day("2024-05-31"));
    assert!(!before.contains("discipline"), "nothing after the date: {before}");
}

#[tokio::test]
async fn a_credential_granted_by_reciprocity_names_its_basis() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tn = Ledger::open(common::options_for(dir.path(), "TN")).expect("TN opens");
    let checkpoint = b"peerreg.local/ms\n7\nAAAA\n\n\xe2\x80\x94 peerreg.local/ms sig\n".to_vec();
    let evaluation = pb::TransferEvaluated {
        origin_state: "MS".into(),
        origin_credential_number: "MS-1".into(),
        origin_checkpoint: checkpoint.clone(),
        outcome: pb::TransferOutcome::Approved as i32,
        evaluated_on: "2026-01-05".into(),
        holder_name: "Alex Rivera".into(),
        ..Default::default()
    };
    let grant = Body::CredentialIssued(pb::CredentialIssued {
        imported: None,
        peer_id: "TN-P-1".into(),
        credential_number: "TN-1".into(),
        credential_type: pb::CredentialType::PeerSupportSpecialist as i32,
        issued_on: "2026-01-06".into(),
        expires_on: "2028-01-06".into(),
        reciprocity: Some(pb::ReciprocityBasis {
            origin_state: "MS".into(),
            origin_credential_number: "MS-1".into(),
            origin_checkpoint: checkpoint,
        }),
    });
    record(
        &tn,
        vec![
            enrol("TN-P-1", "Alex Rivera"),
            Body::TransferEvaluated(evaluation),
            grant,
        ],
    )
    .await;
    let node = TestNode::serve(tn, dir.path()).await;
    let employer = NodeClient::connect(&node.endpoint, None).await.expect("connect");
    let ask = |number: &str| pb::CheckCredentialRequest {
        credential_number: number.into(),
        as_of: "2026-06-01".into(),
        ..Default::default()
    };
    let granted = employer.check(ask("TN-1")).await.expect("check");
    assert_eq!(
        (
            granted.reciprocity_origin_state.as_str(),
            granted.reciprocity_origin_credential_number.as_str()
        ),
        ("MS", "MS-1")
    );
    let text = peerreg::cli::describe_check(&granted);
    assert!(text.contains("granted by reciprocity on MS credential MS-1"), "{text}");
    // A credential issued here says nothing of reciprocity (tests/proof.rs
    // checks its fields are empty).
    let mut own = granted.clone();
    own.reciprocity_origin_state.clear();
    own.reciprocity_origin_credential_number.clear();
    assert!(!peerreg::cli::describe_check(&own).contains("reciprocity"));
    let roster = employer
        .check_roster(vec![pb::RosterItem {
            credential_number: "TN-1".into(),
            legal_name: String::new(),
            dates_of_service: vec!["2026-06-01".into()],
        }])
        .await
        .expect("roster");
    let line = roster.results[0].check.as_ref().expect("a check");
    assert_eq!(line.reciprocity_origin_credential_number, "MS-1");
    node.stop().await;
}
