//! Federation and reciprocity over real nodes: three states (MS, TN, VA) on
//! loopback ports, each with a real sled store, trusting each other.

mod common;

use peerreg::demo::{self, Demo, MS_CREDENTIAL, TN_CREDENTIAL, TN_PEER};
use peerreg::pb;

fn outcome(decision: &pb::TransferDecision) -> pb::TransferOutcome {
    pb::TransferOutcome::try_from(decision.outcome).expect("a known outcome")
}

fn gap_names(decision: &pb::TransferDecision) -> Vec<&str> {
    decision.gaps.iter().map(|g| g.requirement.as_str()).collect()
}

/// The story `peerreg demo` tells, with its assertions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_specialist_transfers_from_mississippi_to_tennessee() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(dir.path()).await.expect("three nodes start");

    // 1. Mississippi certifies.
    let issued = demo::certify_in_ms(&demo).await.expect("certify in ms");
    assert_eq!(
        issued.index, 5,
        "enrolment, two courses, exam, experience (0-4), then the issue"
    );

    // 2. Tennessee: conditional, with exactly the gaps of its profile.
    let first = demo::evaluate(&demo, "TN", None).await.expect("evaluate");
    assert_eq!(outcome(&first), pb::TransferOutcome::Conditional, "{first:?}");
    assert!(first.denials.is_empty());
    assert_eq!(
        gap_names(&first),
        [
            "training hours",
            "supports_recovery_planning training",
            "tn_orientation"
        ],
        "{:#?}",
        first.gaps
    );
    let planning = &first.gaps[1];
    assert_eq!((planning.required.as_str(), planning.found.as_str()), ("6 h", "4 h"));
    assert!(planning.remedy.contains("2 h"), "{}", planning.remedy);
    assert_eq!(first.holder_name, demo::HOLDER);
    assert_eq!(first.origin_status, pb::CredentialStatus::Active as i32);
    assert!(
        !first.origin_checkpoint.is_empty(),
        "a conditional decision names its verified checkpoint"
    );
    let recorded = first.receipt.as_ref().expect("the decision is recorded");
    let tn = &demo.node("TN").expect("TN runs").ledger;
    assert_eq!(tn.published().checkpoint.size, recorded.index + 1);

    // 3. Gaps closed in both states. A grant still standing on the
    // conditional evaluation is refused, and changes nothing.
    demo::close_gaps(&demo).await.expect("close gaps");
    let size_before = tn.published().checkpoint.size;
    let refused = demo::grant_in_tn(&demo, &first).await.expect_err("refused");
    assert_eq!(refused.code_name(), "FAILED_PRECONDITION", "{refused}");
    assert!(refused.to_string().contains("CONDITIONAL"), "{refused}");
    assert_eq!(tn.published().checkpoint.size, size_before, "nothing appended");

    // 4. Approved once re-evaluated with Tennessee's own record counted.
    let approved = demo::evaluate(&demo, "TN", Some(TN_PEER)).await.expect("evaluate");
    assert_eq!(outcome(&approved), pb::TransferOutcome::Approved, "{approved:#?}");
    assert!(approved.gaps.is_empty() && approved.denials.is_empty());

    // 5. Granted, with the basis recorded.
    let size_before = tn.published().checkpoint.size;
    let granted = demo::grant_in_tn(&demo, &approved).await.expect("grant in tn");
    assert_eq!(granted.index, size_before);
    let credential = tn.registry().credential(TN_CREDENTIAL).cloned().expect("granted");
    let basis = credential.reciprocity.expect("a reciprocity basis");
    assert_eq!(
        (basis.origin_state.as_str(), basis.origin_credential_number.as_str()),
        ("MS", MS_CREDENTIAL)
    );
    assert_eq!(basis.origin_checkpoint, approved.origin_checkpoint);

    // 6. The employer sees an active credential, with minimal disclosure.
    let check = demo::employer_check(&demo).await.expect("employer check");
    assert_eq!(check.status, pb::CredentialStatus::Active as i32);
    assert_eq!(check.legal_name, demo::HOLDER);

    // 7. Mississippi suspends; Tennessee's follower sees it.
    let size = demo::suspend_in_ms(&demo).await.expect("suspend in ms");
    demo::wait_followed(&demo, "TN", "MS", size)
        .await
        .expect("wait followed");
    let seen = demo::origin_status(&demo, "TN").await.expect("origin status");
    assert_eq!(seen.status, pb::CredentialStatus::Suspended as i32);
    assert!(seen.verified_size >= size);

    // 8. Any later evaluation is denied for standing.
    let virginia = demo::evaluate(&demo, "VA", None).await.expect("evaluate");
    assert_eq!(outcome(&virginia), pb::TransferOutcome::Denied);
    assert!(
        virginia.denials.iter().any(|d| d.contains("suspended")),
        "{:?}",
        virginia.denials
    );

    demo.stop().await;
}
