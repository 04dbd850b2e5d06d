//! Granting by reciprocity stands on the board's latest recorded evaluation of
//! the origin credential; evaluations are events with checked form.

mod common;

use common::board::{enrol, training};
use common::{options_for, record};
use pb::command::Body;
use peerreg::ledger::Ledger;
use peerreg::pb;

const CHECKPOINT: &[u8] = b"peerreg.local/ms\n7\nAAAA\n\n\xe2\x80\x94 peerreg.local/ms sig\n";

fn evaluation(outcome: pb::TransferOutcome) -> pb::TransferEvaluated {
    let mut evaluation = pb::TransferEvaluated {
        origin_state: "MS".into(),
        origin_credential_number: "MS-1".into(),
        origin_checkpoint: CHECKPOINT.to_vec(),
        outcome: outcome as i32,
        evaluated_on: "2026-01-05".into(),
        holder_name: "Alex Rivera".into(),
        ..Default::default()
    };
    match outcome {
        pb::TransferOutcome::Denied => evaluation.denials = vec!["the MS credential MS-1 is suspended".into()],
        pb::TransferOutcome::Conditional => {
            evaluation.gaps = vec![pb::RequirementGap {
                requirement: "ethical_responsibility training".into(),
                required: "6 h".into(),
                found: "0 h".into(),
                remedy: "6 h more training in ethical_responsibility".into(),
                ..Default::default()
            }]
        }
        _ => {}
    }
    evaluation
}

fn grant(peer: &str, checkpoint: &[u8]) -> Body {
    Body::CredentialIssued(pb::CredentialIssued {
        imported: None,
        peer_id: peer.into(),
        credential_number: "TN-1".into(),
        credential_type: pb::CredentialType::PeerSupportSpecialist as i32,
        issued_on: "2026-01-06".into(),
        expires_on: "2028-01-06".into(),
        reciprocity: Some(pb::ReciprocityBasis {
            origin_state: "MS".into(),
            origin_credential_number: "MS-1".into(),
            origin_checkpoint: checkpoint.to_vec(),
        }),
    })
}

/// Tennessee's log with two enrolled peers.
async fn tennessee(dir: &std::path::Path) -> Ledger {
    let ledger = Ledger::open(options_for(dir, "TN")).expect("TN opens");
    record(
        &ledger,
        vec![enrol("TN-P-1", "Alex Rivera"), enrol("TN-P-2", "Sam Lee")],
    )
    .await;
    ledger
}

/// Appending `body` is refused with `code` and a message containing `fragment`; the log is unchanged.
async fn refused(ledger: &Ledger, body: Body, code: &str, fragment: &str) {
    let size = ledger.published().checkpoint.size;
    let event_id = format!(
        "refused-{size}-{}",
        fragment.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    let error = ledger.append(event_id, body).await.expect_err("refused");
    assert_eq!(error.code_name(), code, "{error}");
    assert!(error.to_string().contains(fragment), "{fragment:?} not in {error}");
    assert_eq!(ledger.published().checkpoint.size, size, "nothing appended");
}

#[tokio::test]
async fn a_grant_needs_an_approved_evaluation_of_that_checkpoint_and_peer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tn = tennessee(dir.path()).await;
    refused(
        &tn,
        grant("TN-P-1", CHECKPOINT),
        "FAILED_PRECONDITION",
        "no transfer evaluation",
    )
    .await;

    record(
        &tn,
        vec![Body::TransferEvaluated(evaluation(pb::TransferOutcome::Denied))],
    )
    .await;
    refused(
        &tn,
        grant("TN-P-1", CHECKPOINT),
        "FAILED_PRECONDITION",
        "is DENIED: the MS credential MS-1 is suspended",
    )
    .await;

    record(
        &tn,
        vec![Body::TransferEvaluated(evaluation(pb::TransferOutcome::Conditional))],
    )
    .await;
    refused(
        &tn,
        grant("TN-P-1", CHECKPOINT),
        "FAILED_PRECONDITION",
        "is CONDITIONAL: ethical_responsibility training",
    )
    .await;

    let mut for_peer_two = evaluation(pb::TransferOutcome::Approved);
    for_peer_two.local_peer_id = "TN-P-2".into();
    record(&tn, vec![Body::TransferEvaluated(for_peer_two)]).await;
    refused(
        &tn,
        grant("TN-P-1", CHECKPOINT),
        "FAILED_PRECONDITION",
        "was for peer TN-P-2",
    )
    .await;

    record(
        &tn,
        vec![Body::TransferEvaluated(evaluation(pb::TransferOutcome::Approved))],
    )
    .await;
    refused(
        &tn,
        grant("TN-P-1", b"another checkpoint"),
        "FAILED_PRECONDITION",
        "not the checkpoint",
    )
    .await;

    let granted = record(&tn, vec![grant("TN-P-1", CHECKPOINT)]).await;
    let credential = tn.registry().credential("TN-1").cloned().expect("granted");
    assert_eq!(credential.events, granted);
    assert_eq!(
        credential.reciprocity.map(|b| b.origin_checkpoint),
        Some(CHECKPOINT.to_vec())
    );

    // The latest evaluation is what counts, and it survives a restart (replayed from the log).
    let latest = tn.registry().evaluation("MS", "MS-1").cloned().expect("recorded");
    assert_eq!(latest.outcome, peerreg::domain::fact::TransferOutcome::Approved);
    tn.shutdown().await;
    let reopened = Ledger::open(options_for(dir.path(), "TN")).expect("TN reopens");
    assert_eq!(reopened.registry().evaluation("MS", "MS-1"), Some(&latest));
    reopened.shutdown().await;
}

#[tokio::test]
async fn a_reciprocity_basis_or_evaluation_naming_this_state_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tn = tennessee(dir.path()).await;
    let mut own = evaluation(pb::TransferOutcome::Approved);
    own.origin_state = "TN".into();
    refused(
        &tn,
        Body::TransferEvaluated(own),
        "FAILED_PRECONDITION",
        "another state",
    )
    .await;
    let Body::CredentialIssued(mut issue) = grant("TN-P-1", CHECKPOINT) else {
        unreachable!("grant builds an issue")
    };
    if let Some(basis) = issue.reciprocity.as_mut() {
        basis.origin_state = "TN".into();
    }
    refused(
        &tn,
        Body::CredentialIssued(issue),
        "FAILED_PRECONDITION",
        "another state",
    )
    .await;
    tn.shutdown().await;
}

#[tokio::test]
async fn a_malformed_evaluation_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tn = tennessee(dir.path()).await;
    type Change = fn(&mut pb::TransferEvaluated);
    let cases: [(&str, Change, &str, &str); 8] = [
        ("no outcome", |e| e.outcome = 0, "INVALID_ARGUMENT", "outcome must be"),
        (
            "approved with a denial",
            |e| e.denials = vec!["x".into()],
            "INVALID_ARGUMENT",
            "does not agree",
        ),
        (
            "conditional without gaps",
            |e| e.outcome = pb::TransferOutcome::Conditional as i32,
            "INVALID_ARGUMENT",
            "does not agree",
        ),
        (
            "approved without a checkpoint",
            |e| e.origin_checkpoint.clear(),
            "INVALID_ARGUMENT",
            "origin_checkpoint",
        ),
        (
            "65 denials",
            |e| {
                e.outcome = pb::TransferOutcome::Denied as i32;
                e.denials = vec!["x".into(); 65];
            },
            "INVALID_ARGUMENT",
            "at most 64",
        ),
        (
            "a bad date",
            |e| e.evaluated_on = "2026-02-30".into(),
            "INVALID_ARGUMENT",
            "evaluated_on",
        ),
        (
            "a future date",
            |e| e.evaluated_on = "2999-01-01".into(),
            "INVALID_ARGUMENT",
            "in the future",
        ),
        (
            "an unknown local peer",
            |e| e.local_peer_id = "TN-P-9".into(),
            "NOT_FOUND",
            "TN-P-9",
        ),
    ];
    for (name, change, code, fragment) in cases {
        let mut body = evaluation(pb::TransferOutcome::Approved);
        change(&mut body);
        eprintln!("case: {name}");
        refused(&tn, Body::TransferEvaluated(body), code, fragment).await;
    }
    // A training record for a peer still works: the node is unharmed.
    record(&tn, vec![training("TN-P-1", "TN-ORIENT", 3, "2026-01-02", &[])]).await;
    tn.shutdown().await;
}

fn grant_on(peer: &str, issued_on: &str) -> Body {
    let Body::CredentialIssued(mut issue) = grant(peer, CHECKPOINT) else {
        unreachable!("grant() builds an issue")
    };
    issue.issued_on = issued_on.into();
    Body::CredentialIssued(issue)
}

/// TN's example profile keeps an approval good for 180 days after its
/// application date (2026-01-05 + 180 days = 2026-07-04).
#[tokio::test]
async fn an_approval_older_than_evaluation_valid_days_supports_no_grant() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tn = tennessee(dir.path()).await;
    assert_eq!(tn.profile().latest().reciprocity.evaluation_valid_days, 180);
    record(
        &tn,
        vec![Body::TransferEvaluated(evaluation(pb::TransferOutcome::Approved))],
    )
    .await;
    refused(
        &tn,
        grant_on("TN-P-1", "2026-07-05"),
        "FAILED_PRECONDITION",
        "is of 2026-01-05, more than 180 days before this grant (2026-07-05): evaluate the transfer again",
    )
    .await;
    let granted = record(&tn, vec![grant_on("TN-P-1", "2026-07-04")]).await;
    assert_eq!(granted.len(), 1);
}
