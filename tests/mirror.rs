//! Mirror mode: a node follows another state's log, verifies everything,
//! serves it read-only with proofs that verify against the origin's key, never
//! signs for it, and detects an origin that forks.

mod common;

use std::sync::Arc;

use common::{append_enrolments, copy_tree, rfc9162, TestNode};
use peerreg::audit::audit;
use peerreg::clock::SystemClock;
use peerreg::domain::profile::RequirementProfile;
use peerreg::error::Error;
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::log::note::Checkpoint;
use peerreg::mirror::{self, FollowLimits, MirrorSpec, Round, RoundError};
use peerreg::pb;
use peerreg::service::client::LogClient;
use peerreg::service::server::serve;

/// Mississippi's log with a profile that issues and renews without
/// prerequisites (this file is about what a mirror computes, not about
/// qualifications).
fn permissive_and_renewing(dir: &std::path::Path) -> Ledger {
    let profile = common::permissive_profile(true);
    Ledger::open(LedgerOptions {
        profile: profile.into(),
        ..common::options(dir)
    })
    .expect("open")
}

fn day(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

fn void(index: u64) -> pb::command::Body {
    pb::command::Body::Void(pb::VoidCommand {
        index,
        reason: pb::VoidReason::EnteredInError.into(),
    })
}

/// A board's year: renewals (one voided), discipline of every kind (one
/// voided), a reinstatement, and a person expunged. A mirror, which holds no
/// private record, computes every credential's status as the origin does on
/// every date, from the public events alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_computes_every_status_the_origin_computes_from_public_events_alone() {
    use common::board::{discipline, enrol, issue, reinstate, renew};
    use pb::DisciplineKind::{Probation, Revocation, Suspension};
    let origin_dir = tempfile::tempdir().expect("temp dir");
    let tn_dir = tempfile::tempdir().expect("temp dir");
    let ledger = permissive_and_renewing(origin_dir.path());
    let mut bodies = Vec::new();
    for (peer, number) in (1..=7).map(|i| (format!("P-{i}"), format!("MS-{i}"))) {
        bodies.push(enrol(&peer, &format!("Holder {peer}")));
        bodies.push(issue(&peer, &number, "2024-01-15", "2025-01-15"));
    }
    let at = common::record(&ledger, bodies).await;
    assert_eq!(at.len(), 14);
    let indices = common::record(
        &ledger,
        vec![
            renew("MS-1", "2024-12-01", "2026-12-01"),
            renew("MS-2", "2024-12-01", "2026-12-01"),
            discipline("MS-3", Suspension, "2024-06-01", "2024-09-01"),
            discipline("MS-3", Revocation, "2024-12-01", ""),
            discipline("MS-4", Suspension, "2024-05-01", ""),
            reinstate("MS-4", "2024-10-01"),
            discipline("MS-5", Suspension, "2024-03-01", ""),
            discipline("MS-6", Probation, "2024-04-01", "2024-12-31"),
        ],
    )
    .await;
    let (voided_renewal, voided_suspension) = (indices[1], indices[6]);
    common::record(
        &ledger,
        vec![
            void(voided_renewal),
            void(voided_suspension),
            pb::command::Body::Expunge(pb::ExpungeCommand {
                target: Some(pb::expunge_command::Target::PeerId("P-7".into())),
                reason: pb::ExpungementReason::CourtOrder.into(),
            }),
        ],
    )
    .await;
    let origin = TestNode::serve(ledger, origin_dir.path()).await;
    let mirror = caught_up(tn_dir.path(), &origin).await;
    let (copy, own) = (mirror.registry(), origin.ledger.registry());
    assert_eq!(copy.size, own.size);
    assert!(copy.peers.is_empty(), "nothing private reached the mirror");
    assert!(
        own.credential("MS-7").is_none(),
        "an expunged person's credential is gone"
    );
    assert_eq!(
        copy.credentials.keys().collect::<Vec<_>>(),
        own.credentials.keys().collect::<Vec<_>>(),
        "the same credentials, the expunged person's in neither"
    );
    let mut date = day("2023-12-01");
    let mut compared = 0;
    while date <= day("2027-06-01") {
        for (number, credential) in &own.credentials {
            let mirrored = copy.credential(number).expect("the mirror holds it");
            assert_eq!(
                (mirrored.status_on(date), mirrored.expires_on_as_of(date)),
                (credential.status_on(date), credential.expires_on_as_of(date)),
                "{number} on {date}"
            );
            compared += 1;
        }
        date += chrono::Duration::days(7);
    }
    assert!(compared > 6 * 180);
    // The cases this is about, as the origin computes them.
    let on = |number: &str, date: &str| own.credential(number).expect("held").status_on(day(date));
    use peerreg::domain::status::Status;
    assert_eq!(on("MS-1", "2025-06-01"), Status::Active, "renewed");
    assert_eq!(on("MS-2", "2025-06-01"), Status::Expired, "its renewal was voided");
    assert_eq!(on("MS-3", "2024-07-01"), Status::Suspended);
    assert_eq!(on("MS-3", "2024-12-15"), Status::Revoked);
    assert_eq!(on("MS-4", "2024-07-01"), Status::Suspended);
    assert_eq!(on("MS-4", "2024-11-01"), Status::Active, "reinstated");
    assert_eq!(on("MS-5", "2024-07-01"), Status::Active, "its suspension was voided");
    assert_eq!(on("MS-6", "2024-07-01"), Status::Probation);
    // Restarted, the mirror replays its copy to the same registry.
    mirror.shutdown().await;
    let reopened = mirror::open(tn_dir.path(), &spec(&origin), &origin.client().await)
        .await
        .expect("reopen the mirror");
    assert_eq!(reopened.registry(), copy);
    origin.stop().await;
}

/// Tennessee's own node, serving `mirrors` beside its own log.
async fn tennessee(dir: &std::path::Path, mirrors: Vec<Ledger>) -> String {
    let ledger = Ledger::open(LedgerOptions {
        data_dir: dir.to_path_buf(),
        state: "TN".into(),
        signer: common::signer("peerreg.local/tn"),
        accept_unpublished_store: false,
        profile: RequirementProfile::example_for("TN").expect("TN example").into(),
        clock: Arc::new(SystemClock),
    })
    .expect("open TN");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let mut options = common::serve_options();
    options.mirrors = mirrors;
    tokio::spawn(serve(listener, None, ledger, options, std::future::pending()));
    endpoint
}

/// Opens (creating) the mirror of `origin` in `dir` and catches it up.
async fn caught_up(dir: &std::path::Path, origin: &TestNode) -> Ledger {
    let source = origin.client().await;
    let mirror = mirror::open(dir, &spec(origin), &source)
        .await
        .expect("open the mirror");
    follow(&mirror, &source).await.expect("catch up");
    mirror
}

/// Rounds of following until the mirror is current (or one fails).
async fn follow(mirror: &Ledger, source: &LogClient) -> Result<(), RoundError> {
    loop {
        if let Round::Current { .. } = mirror::follow_round(mirror, source, FollowLimits::default()).await? {
            return Ok(());
        }
    }
}

fn spec(origin: &TestNode) -> MirrorSpec {
    let key = origin.ledger.verifier().to_key_string();
    format!("peerreg.local/ms={}:{key}", origin.endpoint)
        .parse()
        .expect("a mirror spec")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mirror_follows_under_appends_and_serves_proofs_that_verify_against_the_origin_key() {
    let origin_dir = tempfile::tempdir().expect("temp dir");
    let tn_dir = tempfile::tempdir().expect("temp dir");
    let origin = TestNode::start(origin_dir.path()).await;
    append_enrolments(&origin.ledger, "early", 50).await;
    let spec = spec(&origin);
    assert_eq!(spec.endpoint, origin.endpoint);
    let mirror = caught_up(tn_dir.path(), &origin).await;
    assert_eq!(
        mirror.published(),
        origin.ledger.published(),
        "seeded to the origin's checkpoint"
    );

    let writer = origin.ledger.clone();
    let appends = tokio::spawn(async move { append_enrolments(&writer, "live", 150).await });
    let source = origin.client().await;
    while !appends.is_finished() {
        follow(&mirror, &source).await.expect("follow");
    }
    appends.await.expect("appends");
    follow(&mirror, &source).await.expect("catch up");
    assert_eq!(mirror.published(), origin.ledger.published());
    let (copy, own) = (mirror.registry(), origin.ledger.registry());
    assert_eq!(copy.size, own.size, "the mirror replays every entry");
    assert_eq!(own.peers.len(), 200);
    assert!(
        copy.peers.is_empty(),
        "a mirror reads no private record: {:?}",
        copy.peers.keys().next()
    );
    assert!(
        !tn_dir.path().join("private").exists(),
        "a mirror keeps no private store"
    );

    let refused = mirror.append("x".into(), common::enrolment("x")).await;
    assert!(matches!(refused, Err(Error::FailedPrecondition(m)) if m.contains("never signs")));

    let tn = tennessee(tn_dir.path(), vec![mirror.clone()]).await;
    let via_mirror = LogClient::connect(&tn)
        .await
        .expect("connect")
        .for_origin("peerreg.local/ms")
        .expect("origin");
    let ms_key = origin.ledger.verifier().clone();
    let report = audit(&via_mirror, &ms_key, &tn_dir.path().join("audit.json"))
        .await
        .expect("audit via the mirror");
    assert_eq!(report.size, 200);
    let note = via_mirror.checkpoint_note().await.expect("checkpoint");
    let checkpoint = Checkpoint::open(&note, &ms_key).expect("signed by MS, served by TN");
    let entries = via_mirror.entries(0, 200).await.expect("entries");
    for index in [0u64, 77, entries.len() as u64 - 1] {
        let proof = via_mirror.inclusion_proof(index, checkpoint.size).await.expect("proof");
        let leaf = rfc9162::leaf(&entries[index as usize]);
        assert!(rfc9162::inclusion_ok(
            index,
            checkpoint.size,
            leaf,
            &proof,
            &checkpoint.root
        ));
    }
    let own = LogClient::connect(&tn)
        .await
        .expect("connect")
        .identity()
        .await
        .expect("TN's own log");
    assert_eq!(own.state, "TN", "without the metadata, the node's own log answers");
    let unknown = LogClient::connect(&tn)
        .await
        .expect("connect")
        .for_origin("peerreg.local/zz")
        .expect("origin");
    assert!(matches!(unknown.checkpoint_note().await, Err(Error::NotFound(_))));

    // The background follower picks up new appends by itself.
    let follower = mirror::spawn_follower(mirror.clone(), origin.client().await, FollowLimits::default());
    append_enrolments(&origin.ledger, "later", 5).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while mirror.published() != origin.ledger.published() {
        assert!(std::time::Instant::now() < deadline, "the follower did not catch up");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    follower.abort();
    origin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_forks_is_caught_and_the_evidence_kept() {
    let origin_dir = tempfile::tempdir().expect("temp dir");
    let fork_dir = tempfile::tempdir().expect("temp dir");
    let tn_dir = tempfile::tempdir().expect("temp dir");
    let origin = TestNode::start(origin_dir.path()).await;
    append_enrolments(&origin.ledger, "shared", 10).await;
    origin.stop().await;
    copy_tree(origin_dir.path(), fork_dir.path());
    let origin = TestNode::start(origin_dir.path()).await;
    append_enrolments(&origin.ledger, "honest", 10).await;
    let mirror = caught_up(tn_dir.path(), &origin).await;
    let held = mirror.published();

    // Same key, same first 10 entries, then another history: first at the same
    // size (another root), then longer (no consistency proof can exist).
    let fork = TestNode::start(fork_dir.path()).await;
    append_enrolments(&fork.ledger, "rewritten", 10).await;
    assert_eq!(fork.ledger.published().checkpoint.size, held.checkpoint.size);
    let fork_at_same_size = fork.ledger.published().note.to_vec();
    let same_size = follow(&mirror, &fork.client().await).await;
    assert!(
        matches!(&same_size, Err(RoundError::Equivocation(Error::FailedPrecondition(m))) if m.contains("EQUIVOCATION")),
        "{same_size:?}"
    );
    // Longer, with no consistency proof: a man in the middle could cause that
    // much, so it is suspect, never a second alarm.
    append_enrolments(&fork.ledger, "more", 5).await;
    let longer = follow(&mirror, &fork.client().await).await;
    assert!(
        matches!(&longer, Err(RoundError::Suspect(e)) if e.to_string().contains("consistency")),
        "{longer:?}"
    );
    assert_eq!(mirror.published(), held, "nothing from the fork was stored");
    let record = mirror::recorded_equivocation(mirror.data_dir())
        .expect("readable evidence")
        .expect("evidence recorded");
    let offered = String::from_utf8_lossy(&fork_at_same_size).into_owned();
    assert_eq!(
        record.checkpoints().1,
        offered,
        "the fork's signed checkpoint is kept as evidence"
    );
    assert!(mirror::verify_equivocation(&record.proof, &origin.ledger.verifier().clone()).is_ok());

    // Restarted, the mirror still holds only the verified log.
    mirror.shutdown().await;
    let reopened = mirror::open(tn_dir.path(), &spec(&origin), &origin.client().await)
        .await
        .expect("reopen");
    assert_eq!(reopened.published(), held);
    origin.stop().await;
    fork.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_store_is_repaired_from_another_states_mirror() {
    let origin_dir = tempfile::tempdir().expect("temp dir");
    let tn_dir = tempfile::tempdir().expect("temp dir");
    let origin = TestNode::start(origin_dir.path()).await;
    append_enrolments(&origin.ledger, "kept", 40).await;
    let ms_key = origin.ledger.verifier().clone();
    let audit_state = origin_dir.path().join("audit.json");
    audit(&origin.client().await, &ms_key, &audit_state)
        .await
        .expect("audit before");
    let mirror = caught_up(tn_dir.path(), &origin).await;
    let tn = tennessee(tn_dir.path(), vec![mirror]).await;
    origin.stop().await;

    std::fs::remove_dir_all(peerreg::ledger::store_path(origin_dir.path())).expect("lose the store");
    let source = LogClient::connect(&tn)
        .await
        .expect("connect")
        .for_origin("peerreg.local/ms")
        .expect("origin");
    let report = peerreg::repair::repair(origin_dir.path(), &ms_key, "MS", &source)
        .await
        .expect("repair");
    assert_eq!(report.entries, 40);
    let origin = TestNode::start(origin_dir.path()).await;
    let after = audit(&origin.client().await, &ms_key, &audit_state)
        .await
        .expect("audit after");
    assert_eq!((after.size, after.previous_size), (40, Some(40)));
    origin.stop().await;
}
