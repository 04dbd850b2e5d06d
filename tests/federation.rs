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
        issued.index, 13,
        "enrolment, two courses, exam, experience (0-4), the toolkit's 8 evidence records (5-12), then the issue"
    );
    // The holder consents to disclose their record to Tennessee and Virginia.
    let ms_board = demo.board("MS").await.expect("MS client");
    for state in ["TN", "VA"] {
        common::record_consent(&ms_board, demo::MS_PEER, state).await;
    }

    // 2. Tennessee accepts a Mississippi credential in good standing: no
    // training re-test; only its own orientation remains.
    let first = demo::evaluate(&demo, "TN", None).await.expect("evaluate");
    assert_eq!(outcome(&first), pb::TransferOutcome::Conditional, "{first:?}");
    assert!(first.denials.is_empty());
    assert_eq!(first.policy, "accept_credential_in_good_standing");
    assert_eq!(first.application_date, demo::days_ago(0));
    assert_eq!(gap_names(&first), ["tn_orientation"], "{:#?}", first.gaps);
    let orientation = &first.gaps[0];
    assert_eq!(
        (
            orientation.requirement_id.as_str(),
            orientation.required_amount,
            orientation.found_amount,
            orientation.unit.as_str()
        ),
        ("tn_orientation", 1, 0, "courses")
    );
    assert_eq!(first.holder_name, demo::HOLDER);
    // The reviewer sees the verified origin record the decision rests on.
    let origin = first.origin_record.as_ref().expect("the verified origin record");
    let courses: Vec<&str> = origin.trainings.iter().map(|t| t.course_id.as_str()).collect();
    assert_eq!(courses, ["MS-CORE", "MS-WELLNESS"]);
    assert_eq!(origin.exams.iter().map(|e| e.score_percent).collect::<Vec<_>>(), [86]);
    assert_eq!(origin.credentials.len(), 1);
    assert_eq!(origin.credentials[0].credential_number, MS_CREDENTIAL);
    assert!(origin.credentials[0].discipline.is_empty());
    assert!(origin.consents.is_empty() && origin.disclosures.is_empty());
    assert_eq!(first.origin_status, pb::CredentialStatus::Active as i32);
    assert!(
        !first.origin_checkpoint.is_empty(),
        "a conditional decision names its verified checkpoint"
    );
    let recorded = first.receipt.as_ref().expect("the decision is recorded");
    let tn = &demo.node("TN").expect("TN runs").ledger;
    assert_eq!(tn.published().checkpoint.size, recorded.index + 1);

    // 3. The orientation recorded in Tennessee. A grant still standing on the
    // conditional evaluation is refused, and changes nothing.
    demo::close_gaps(&demo).await.expect("close gaps");
    let size_before = tn.published().checkpoint.size;
    let refused = demo::grant_in_tn(&demo, &first).await.expect_err("refused");
    assert_eq!(refused.code_name(), "FAILED_PRECONDITION", "{refused}");
    assert!(refused.to_string().contains("CONDITIONAL"), "{refused}");
    assert_eq!(tn.published().checkpoint.size, size_before, "nothing appended");

    // 4. Approved once re-evaluated with Tennessee's own record counted: no
    // extra training was asked for.
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

    // 9. Every disclosure is in the holder's record at Mississippi's board.
    let record = ms_board
        .peer_record(demo::MS_PEER.into())
        .await
        .expect("the holder's record");
    let to: Vec<&str> = record.disclosures.iter().map(|d| d.receiving_state.as_str()).collect();
    assert_eq!(to, ["TN", "TN", "VA"], "{:#?}", record.disclosures);
    assert!(record.disclosures.iter().all(|d| d.credential_number == MS_CREDENTIAL));

    demo.stop().await;
}

/// The evidence holds every event about the holder and their credential, each
/// proven against one checkpoint, and nothing about anyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_is_complete_for_the_holder_and_discloses_nobody_else() {
    use common::board::{enrol, training};
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(dir.path()).await.expect("three nodes start");
    demo::certify_in_ms(&demo).await.expect("certified");
    let ms = demo.board("MS").await.expect("MS client");
    common::record_consent(&ms, demo::MS_PEER, "TN").await;
    ms.record("other-enrol".into(), enrol("MS-P-0002", "Someone Else"))
        .await
        .expect("another person");
    ms.record(
        "other-course".into(),
        training("MS-P-0002", "MS-CORE", 32, "2026-01-05", &[]),
    )
    .await
    .expect("their course");
    ms.record(
        "holder-course".into(),
        training(demo::MS_PEER, "EXTRA", 2, "2026-01-06", &[]),
    )
    .await
    .expect("the holder's course");

    let tn = &demo.node("TN").expect("TN runs").ledger;
    let ms_ledger = &demo.node("MS").expect("MS runs").ledger;
    let bundle = demo
        .public("MS")
        .await
        .expect("public")
        .evidence(common::evidence_request(tn, "MS", MS_CREDENTIAL))
        .await
        .expect("evidence");
    let indices: Vec<u64> = bundle.entries.iter().map(|e| e.index).collect();
    assert_eq!(
        indices,
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 18],
        "the holder's events only (records 0-12, the issue at 13, the consent at 14, the course at 17, this disclosure at 18), in log order"
    );
    assert_eq!(bundle.peer_id, demo::MS_PEER);
    let verifier = peerreg::log::note::NoteVerifier::parse(&demo.node("MS").expect("MS").verifier_key).expect("key");
    let verified =
        peerreg::evidence::verify(&bundle, &verifier, "MS", MS_CREDENTIAL).expect("a genuine bundle verifies");
    assert_eq!(
        verified.checkpoint.size, 19,
        "the disclosure is inside the bundle's tree"
    );
    assert_eq!(verified.holder.trainings.len(), 3);

    // Bad input to the public federation RPCs: clear codes, nothing changes.
    let public = demo.public("TN").await.expect("public");
    let unsigned = pb::GetEvidenceRequest {
        signature: Vec::new(),
        ..common::evidence_request(ms_ledger, "TN", "NO-SUCH")
    };
    let cases = [
        (
            public
                .evidence(common::evidence_request(ms_ledger, "TN", ""))
                .await
                .map(|_| ()),
            "INVALID_ARGUMENT",
        ),
        (
            public
                .evidence(common::evidence_request(ms_ledger, "TN", "NO-SUCH"))
                .await
                .map(|_| ()),
            "PERMISSION_DENIED",
        ),
        (public.evidence(unsigned).await.map(|_| ()), "UNAUTHENTICATED"),
        (
            public
                .origin_status("M S".into(), MS_CREDENTIAL.into())
                .await
                .map(|_| ()),
            "INVALID_ARGUMENT",
        ),
        (
            public
                .origin_status("WY".into(), MS_CREDENTIAL.into())
                .await
                .map(|_| ()),
            "FAILED_PRECONDITION",
        ),
        (
            public
                .evaluate_transfer(pb::EvaluateTransferRequest {
                    origin_state: "MS".into(),
                    credential_number: MS_CREDENTIAL.into(),
                    local_peer_id: String::new(),
                    application_date: String::new(),
                })
                .await
                .map(|_| ()),
            "UNAUTHENTICATED",
        ),
    ];
    for (answer, code) in cases {
        let error = answer.expect_err("refused");
        assert_eq!(error.code_name(), code, "{error}");
    }
    assert_eq!(tn.published().checkpoint.size, 0, "TN recorded nothing");
    demo.stop().await;
}

/// The same transfer under Tennessee's `full_comparison`: conditional on
/// training as well; a reviewer's recorded waivers close those gaps (shown as
/// waived, by whom and why), and the application date is bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_full_comparison_the_demo_transfer_is_conditional_until_trained_or_waived() {
    use peerreg::domain::profile::ReciprocityPolicy;
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start_with_policy(dir.path(), Some(ReciprocityPolicy::FullComparison))
        .await
        .expect("three nodes start");
    demo::certify_in_ms(&demo).await.expect("certify in ms");
    let ms_board = demo.board("MS").await.expect("MS client");
    common::record_consent(&ms_board, demo::MS_PEER, "TN").await;

    let first = demo::evaluate(&demo, "TN", None).await.expect("evaluate");
    assert_eq!(outcome(&first), pb::TransferOutcome::Conditional, "{first:?}");
    assert_eq!(first.policy, "full_comparison");
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
    assert_eq!(
        (
            planning.requirement_id.as_str(),
            planning.domain.as_str(),
            planning.required_amount,
            planning.found_amount,
            planning.unit.as_str()
        ),
        (
            "training_hours.supports_recovery_planning",
            "supports_recovery_planning",
            360,
            240,
            "minutes"
        )
    );

    // The orientation in Tennessee; the training gaps waived by a reviewer.
    demo::close_gaps(&demo).await.expect("orientation");
    let reason = "the MS core course covers recovery planning in its practicum";
    for id in ["training_hours", "training_hours.supports_recovery_planning"] {
        demo::waive(&demo, id, reason).await.expect("waiver recorded");
    }
    let waived = demo::evaluate(&demo, "TN", Some(TN_PEER)).await.expect("evaluate");
    assert_eq!(outcome(&waived), pb::TransferOutcome::Approved, "{waived:#?}");
    assert!(waived.gaps.is_empty());
    let ids: Vec<&str> = waived.waived.iter().map(|g| g.requirement_id.as_str()).collect();
    assert_eq!(ids, ["training_hours", "training_hours.supports_recovery_planning"]);
    for gap in &waived.waived {
        let waiver = gap.waiver.as_ref().expect("who waived it and why");
        assert_eq!(
            (waiver.waived_by.as_str(), waiver.reason.as_str()),
            ("TN reviewer", reason)
        );
    }
    // The waiver is a private record: TN's log holds only its commitment.
    let tn = &demo.node("TN").expect("TN runs").ledger;
    let entries = tn.entries(0, tn.published().checkpoint.size).expect("entries");
    assert!(
        entries
            .iter()
            .all(|e| !e.windows(reason.len()).any(|w| w == reason.as_bytes())),
        "a waiver's reason never reaches the log"
    );

    // A waiver with bad input is refused with its code and changes nothing.
    let board = demo.board("TN").await.expect("TN client");
    let record = board
        .peer_record(TN_PEER.into())
        .await
        .expect("TN's record of the peer");
    let listed: Vec<(&str, &str)> = record
        .waivers
        .iter()
        .map(|w| (w.requirement_id.as_str(), w.reason.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("training_hours", reason),
            ("training_hours.supports_recovery_planning", reason)
        ],
        "the board's view lists the waivers"
    );
    let good = pb::WaiverRecorded {
        peer_id: TN_PEER.into(),
        origin_state: "MS".into(),
        origin_credential_number: MS_CREDENTIAL.into(),
        requirement_id: "exam".into(),
        reason: "a reason".into(),
        waived_by: "TN reviewer".into(),
        recorded_on: demo::days_ago(0),
    };
    type Edit = fn(&mut pb::WaiverRecorded);
    let bad: [(&str, Edit, &str); 5] = [
        ("unknown peer", |w| w.peer_id = "TN-P-404".into(), "NOT_FOUND"),
        ("own state", |w| w.origin_state = "TN".into(), "FAILED_PRECONDITION"),
        ("no reason", |w| w.reason = "  ".into(), "INVALID_ARGUMENT"),
        ("no reviewer", |w| w.waived_by.clear(), "INVALID_ARGUMENT"),
        (
            "future date",
            |w| w.recorded_on = "2999-01-01".into(),
            "INVALID_ARGUMENT",
        ),
    ];
    for (what, edit, code) in bad {
        let mut waiver = good.clone();
        edit(&mut waiver);
        let size = tn.published().checkpoint.size;
        let error = board
            .record(
                format!("bad-waiver-{}", what.replace(' ', "-")),
                pb::command::Body::WaiverRecorded(waiver),
            )
            .await
            .expect_err(what);
        assert_eq!(error.code_name(), code, "{what}: {error}");
        assert_eq!(tn.published().checkpoint.size, size, "{what}: nothing appended");
    }

    // Without the waivers' peer, the same training gaps are open again.
    let without = demo::evaluate(&demo, "TN", None).await.expect("evaluate");
    assert_eq!(outcome(&without), pb::TransferOutcome::Conditional);

    // The application date: default today; never in the future, nor older
    // than the profile's evaluation_valid_days.
    for (date, fragment) in [
        (demo::days_ago(0), None),
        (demo::days_ago(30), None),
        (demo::days_ago(181), Some("more than 180 days ago")),
        ("2999-01-01".to_string(), Some("in the future")),
    ] {
        let request = pb::EvaluateTransferRequest {
            origin_state: "MS".into(),
            credential_number: MS_CREDENTIAL.into(),
            local_peer_id: TN_PEER.into(),
            application_date: date.clone(),
        };
        let size = tn.published().checkpoint.size;
        match (board.evaluate_transfer(request).await, fragment) {
            (Ok(decision), None) => assert_eq!(decision.application_date, date),
            (Err(error), Some(fragment)) => {
                assert_eq!(error.code_name(), "INVALID_ARGUMENT", "{error}");
                assert!(error.to_string().contains(fragment), "{error}");
                assert_eq!(tn.published().checkpoint.size, size, "nothing recorded");
            }
            (answer, _) => panic!("{date}: unexpected {answer:?}"),
        }
    }
    demo.stop().await;
}

/// GetProfile answers with the TOML and the same profile structured, hours
/// as whole numbers, the reciprocity policies included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_is_answered_structured_as_well_as_toml() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(dir.path()).await.expect("three nodes start");
    let profile = demo
        .public("TN")
        .await
        .expect("client")
        .profile()
        .await
        .expect("profile");
    assert_eq!(profile.state, "TN");
    assert!(profile.toml.contains("accept_credential_in_good_standing"));
    let initial = profile.initial.expect("initial");
    assert_eq!((initial.training_hours_total, initial.exam_pass_mark_percent), (60, 75));
    let domains: Vec<(&str, u32)> = initial
        .training_hours_by_domain
        .iter()
        .map(|h| (h.key.as_str(), h.hours))
        .collect();
    assert!(domains.contains(&("ethical_responsibility", 6)), "{domains:?}");
    let renewal = profile.renewal.expect("renewal");
    assert_eq!((renewal.period_years, renewal.ce_hours), (2, 24));
    let reciprocity = profile.reciprocity.expect("reciprocity");
    assert_eq!(reciprocity.policy, "full_comparison");
    assert_eq!(
        reciprocity
            .policies
            .iter()
            .map(|p| (p.state.as_str(), p.policy.as_str()))
            .collect::<Vec<_>>(),
        ["KY", "MS", "NC", "VA"].map(|state| (state, "accept_credential_in_good_standing"))
    );
    assert_eq!(
        (reciprocity.hours_tolerance_percent, reciprocity.evaluation_valid_days),
        (10, 180)
    );
    assert_eq!(reciprocity.extra[0].course_id, "TN-ORIENT");
    demo.stop().await;
}
