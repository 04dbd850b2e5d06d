//! Employers watching their staff's credentials: every change in order with
//! its index, expiry reported by the clock, and resuming misses nothing and
//! repeats nothing.

mod common;

use std::time::Duration;

use chrono::NaiveDate;
use common::board::{discipline, enrol, issue, reinstate, renew};
use common::TestNode;
use peerreg::clock::ManualClock;
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::pb;
use peerreg::pb::CredentialStatus as S;
use peerreg::service::rpc::registry_client::RegistryClient;
use tonic::Streaming;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

fn open(dir: &std::path::Path, clock: ManualClock) -> Ledger {
    let profile = common::permissive_profile(true);
    Ledger::open(LedgerOptions {
        profile: profile.into(),
        clock: std::sync::Arc::new(clock),
        ..common::options(dir)
    })
    .expect("open")
}

async fn watch(node: &TestNode, numbers: &[&str], from_index: u64) -> Streaming<pb::CredentialChange> {
    let channel = peerreg::service::client::connect(&node.endpoint)
        .await
        .expect("connect");
    let request = pb::WatchCredentialsRequest {
        credential_numbers: numbers.iter().map(|n| n.to_string()).collect(),
        from_index,
    };
    RegistryClient::new(channel)
        .watch_credentials(request)
        .await
        .expect("watch")
        .into_inner()
}

async fn next(stream: &mut Streaming<pb::CredentialChange>) -> pb::CredentialChange {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .unwrap_or_else(|_| panic!("no change within 10 s"))
        .expect("not an error")
        .expect("the stream is open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_sees_every_change_and_expiry_and_resumes_without_gaps_or_repeats() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::at(day("2025-01-20"));
    let node = TestNode::serve(open(dir.path(), clock.clone()), dir.path()).await;
    let setup = vec![
        enrol("P-1", "Ada"),
        issue("P-1", "MS-1", "2024-03-01", "2025-06-30"),
        enrol("P-2", "Grace"),
        issue("P-2", "MS-2", "2024-03-01", "2025-03-31"),
    ];
    common::record(&node.ledger, setup).await;

    let mut stream = watch(&node, &["MS-1", "MS-2"], 4).await;
    for _ in 0..2 {
        let first = next(&mut stream).await;
        assert!(
            first.initial && first.status == S::Active as i32 && first.reason == "current status",
            "{first:?}"
        );
    }
    let story = vec![
        (
            discipline("MS-1", pb::DisciplineKind::Suspension, "2025-01-02", ""),
            S::Suspended,
            "suspension",
        ),
        (reinstate("MS-1", "2025-01-10"), S::Active, "reinstated"),
        (renew("MS-1", "2025-01-15", "2027-06-30"), S::Active, "renewed"),
        (
            discipline("MS-1", pb::DisciplineKind::Revocation, "2025-01-18", ""),
            S::Revoked,
            "revocation",
        ),
    ];
    let mut last_index = 0;
    for (body, status, reason) in story {
        let index = common::record(&node.ledger, vec![body]).await[0];
        let change = next(&mut stream).await;
        assert_eq!(
            (change.index, change.status, change.reason.as_str()),
            (index, status as i32, reason)
        );
        assert!(!change.initial && change.index > last_index);
        last_index = change.index;
    }

    // No event: MS-2 lapses when the clock passes its expiry date.
    clock.set(day("2025-04-01"));
    let lapse = next(&mut stream).await;
    assert_eq!(
        (lapse.credential_number.as_str(), lapse.status, lapse.reason.as_str()),
        ("MS-2", S::Expired as i32, "expired")
    );

    // Disconnect; one change happens while away; resume after the last index seen.
    drop(stream);
    clock.set(day("2025-04-03"));
    let missed = common::record(&node.ledger, vec![renew("MS-2", "2025-04-02", "2027-03-31")]).await[0];
    let mut resumed = watch(&node, &["MS-1", "MS-2"], last_index + 1).await;
    let initial: Vec<pb::CredentialChange> = vec![next(&mut resumed).await, next(&mut resumed).await];
    assert!(initial.iter().all(|c| c.initial));
    let replayed = next(&mut resumed).await;
    assert_eq!(
        (
            replayed.credential_number.as_str(),
            replayed.index,
            replayed.reason.as_str()
        ),
        ("MS-2", missed, "renewed")
    );
    assert_eq!(replayed.status, S::Active as i32);
    let quiet = tokio::time::timeout(Duration::from_millis(2500), resumed.message()).await;
    assert!(quiet.is_err(), "nothing is repeated: {quiet:?}");
    drop(resumed);
    node.stop().await;
}

#[tokio::test]
async fn watching_unknown_or_too_many_credentials_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::serve(open(dir.path(), ManualClock::at(day("2025-01-01"))), dir.path()).await;
    let channel = peerreg::service::client::connect(&node.endpoint)
        .await
        .expect("connect");
    let mut client = RegistryClient::new(channel);
    let unknown = pb::WatchCredentialsRequest {
        credential_numbers: vec!["MS-404".into()],
        from_index: 0,
    };
    assert_eq!(
        client.watch_credentials(unknown).await.err().map(|s| s.code()),
        Some(tonic::Code::NotFound)
    );
    let none = pb::WatchCredentialsRequest {
        credential_numbers: vec![],
        from_index: 0,
    };
    assert_eq!(
        client.watch_credentials(none).await.err().map(|s| s.code()),
        Some(tonic::Code::InvalidArgument)
    );
    let many = pb::WatchCredentialsRequest {
        credential_numbers: vec!["x".into(); 1001],
        from_index: 0,
    };
    assert_eq!(
        client.watch_credentials(many).await.err().map(|s| s.code()),
        Some(tonic::Code::InvalidArgument)
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_by_the_clock_says_what_the_date_did() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::at(day("2025-01-20"));
    let node = TestNode::serve(open(dir.path(), clock.clone()), dir.path()).await;
    let setup = vec![
        enrol("P-1", "Ada"),
        issue("P-1", "MS-1", "2024-03-01", "2025-06-30"),
        discipline("MS-1", pb::DisciplineKind::Probation, "2025-01-15", "2025-02-01"),
    ];
    common::record(&node.ledger, setup).await;
    let mut stream = watch(&node, &["MS-1"], 3).await;
    let first = next(&mut stream).await;
    assert_eq!(
        (first.status, first.reason.as_str()),
        (S::Probation as i32, "current status")
    );

    // A suspension recorded ahead of its date changes nothing yet.
    let later = discipline("MS-1", pb::DisciplineKind::Suspension, "2025-03-01", "2025-04-01");
    let index = common::record(&node.ledger, vec![later]).await[0];
    let recorded = next(&mut stream).await;
    assert_eq!(
        (recorded.index, recorded.status, recorded.reason.as_str()),
        (index, S::Probation as i32, "suspension")
    );

    // Each date in turn; none but the last is an expiry.
    let steps = [
        ("2025-02-01", S::Active, "probation ended"),
        ("2025-03-01", S::Suspended, "suspension took effect"),
        ("2025-04-01", S::Active, "suspension ended"),
        ("2025-07-01", S::Expired, "expired"),
    ];
    for (date, status, reason) in steps {
        clock.set(day(date));
        let change = next(&mut stream).await;
        assert_eq!(
            (
                change.status,
                change.reason.as_str(),
                change.as_of.as_str(),
                change.initial
            ),
            (status as i32, reason, date, false),
            "on {date}"
        );
    }
    drop(stream);
    node.stop().await;
}
