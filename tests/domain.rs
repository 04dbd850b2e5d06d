//! A state's whole certification lifecycle through the library, against a real
//! store: validated commands, refusals that change nothing, status on any date,
//! and restarts with and without a snapshot.

mod common;

use chrono::NaiveDate;
use common::board::*;
use common::{open_ledger_at, record};
use peerreg::domain::status::Status;
use peerreg::error::Error;
use peerreg::ledger::{snapshot_path, Ledger};
use peerreg::pb::{DisciplineKind, ExperienceKind};

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

fn status(ledger: &Ledger, number: &str, on: &str) -> Status {
    ledger
        .registry()
        .credential(number)
        .expect("the credential exists")
        .status_on(day(on))
}

/// A peer certified on 2024-03-01 (expires 2026-02-28), credential MS-1001.
async fn certified(ledger: &Ledger, peer: &str, number: &str) {
    let mut bodies = vec![enrol(peer, "Ada Lovelace")];
    bodies.extend(qualification(peer));
    bodies.push(issue(peer, number, "2024-03-01", "2026-02-28"));
    record(ledger, bodies).await;
}

#[tokio::test]
async fn a_whole_lifecycle_has_the_right_status_on_every_date() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ledger, _clock) = open_ledger_at(dir.path(), "2030-01-01");
    certified(&ledger, "MS-P-1", "MS-1001").await;
    record(
        &ledger,
        vec![
            ce("MS-P-1", "ethics", 6, "2025-06-01"),
            ce("MS-P-1", "trauma_informed_care", 14, "2025-07-01"),
            renew("MS-1001", "2026-01-15", "2028-02-28"),
            discipline("MS-1001", DisciplineKind::Probation, "2026-06-01", "2027-06-01"),
            reinstate("MS-1001", "2026-09-01"),
            discipline("MS-1001", DisciplineKind::Suspension, "2027-01-10", ""),
            reinstate("MS-1001", "2027-03-01"),
            discipline("MS-1001", DisciplineKind::Restriction, "2027-04-01", "2027-05-01"),
            discipline("MS-1001", DisciplineKind::Revocation, "2027-08-01", ""),
        ],
    )
    .await;
    // Each row: a date, and the status the credential had that day.
    let table = [
        ("2024-02-29", Status::NotYetValid), // the day before issue
        ("2024-03-01", Status::Active),      // issue day
        ("2026-02-28", Status::Active),      // last day of the first period (renewed in time anyway)
        ("2026-03-01", Status::Active),      // renewal extended it
        ("2026-06-01", Status::Probation),   // probation from its effective date
        ("2026-08-31", Status::Probation),
        ("2026-09-01", Status::Active), // reinstated
        ("2027-01-09", Status::Active),
        ("2027-01-10", Status::Suspended), // open-ended suspension
        ("2027-02-28", Status::Suspended),
        ("2027-03-01", Status::Active),     // reinstated
        ("2027-04-01", Status::Restricted), // restriction for a month
        ("2027-05-01", Status::Active),     // restriction ended on its own
        ("2027-07-31", Status::Active),
        ("2027-08-01", Status::Revoked), // revocation is final
        ("2029-01-01", Status::Revoked), // even past expiry: revoked outranks expired
    ];
    for (date, expected) in table {
        assert_eq!(status(&ledger, "MS-1001", date), expected, "status on {date}");
    }
    let credential = ledger.registry().credential("MS-1001").cloned().expect("credential");
    assert_eq!(
        credential.events.len(),
        8,
        "issue, renewal, 4 disciplinary actions, 2 reinstatements"
    );
    assert_eq!(credential.discipline.len(), 4);
    ledger.shutdown().await;
}

#[tokio::test]
async fn a_credential_not_renewed_lapses_and_a_late_renewal_revives_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ledger, _clock) = open_ledger_at(dir.path(), "2030-01-01");
    certified(&ledger, "MS-P-2", "MS-2002").await;
    record(
        &ledger,
        vec![
            ce("MS-P-2", "ethics", 20, "2026-01-05"),
            renew("MS-2002", "2026-04-10", "2028-04-10"),
        ],
    )
    .await;
    assert_eq!(status(&ledger, "MS-2002", "2026-02-28"), Status::Active);
    assert_eq!(
        status(&ledger, "MS-2002", "2026-03-01"),
        Status::Expired,
        "lapsed the day after expiry"
    );
    assert_eq!(status(&ledger, "MS-2002", "2026-04-09"), Status::Expired);
    assert_eq!(status(&ledger, "MS-2002", "2026-04-10"), Status::Active, "renewed late");
    assert_eq!(status(&ledger, "MS-2002", "2028-05-01"), Status::Expired);
    ledger.shutdown().await;
}

/// Appends `body` expecting a refusal; checks the log did not change.
async fn refused(ledger: &Ledger, body: peerreg::pb::command::Body) -> Error {
    let before = ledger.published();
    let registry = ledger.registry();
    let event_id = format!("refused-{}", before.checkpoint.size);
    let error = ledger
        .append(event_id, body.clone())
        .await
        .expect_err("must be refused");
    assert_eq!(ledger.published(), before, "a refusal appends nothing: {body:?}");
    assert_eq!(ledger.registry(), registry, "a refusal changes no projection");
    error
}

#[tokio::test]
async fn every_illegal_transition_is_refused_with_its_reason_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ledger, _clock) = open_ledger_at(dir.path(), "2026-11-23");
    record(&ledger, vec![enrol("MS-P-3", "Grace Hopper")]).await;

    let no_peer = refused(&ledger, issue("MS-P-404", "MS-3000", "2024-03-01", "2026-02-28")).await;
    assert!(
        matches!(&no_peer, Error::NotFound(m) if m.contains("MS-P-404")),
        "{no_peer:?}"
    );

    let unqualified = refused(&ledger, issue("MS-P-3", "MS-3001", "2024-03-01", "2026-02-28")).await;
    let Error::FailedPrecondition(message) = &unqualified else {
        panic!("{unqualified:?}")
    };
    for gap in [
        "training hours: 32 h required, 0 h found",
        "certification exam",
        "experience hours",
    ] {
        assert!(message.contains(gap), "the refusal lists {gap:?}: {message}");
    }

    record(&ledger, qualification("MS-P-3")).await;
    record(&ledger, vec![issue("MS-P-3", "MS-3001", "2024-03-01", "2026-02-28")]).await;
    record(&ledger, vec![enrol("MS-P-4", "Alan Turing")]).await;
    record(&ledger, qualification("MS-P-4")).await;
    let duplicate = refused(&ledger, issue("MS-P-4", "MS-3001", "2024-03-01", "2026-02-28")).await;
    assert!(
        matches!(&duplicate, Error::FailedPrecondition(m) if m.contains("already in use")),
        "{duplicate:?}"
    );

    let twice = refused(&ledger, enrol("MS-P-3", "Grace Hopper")).await;
    assert!(matches!(twice, Error::AlreadyExists(_)));

    let no_ce = refused(&ledger, renew("MS-3001", "2026-01-15", "2028-02-28")).await;
    let Error::FailedPrecondition(message) = &no_ce else {
        panic!("{no_ce:?}")
    };
    assert!(
        message.contains("ethics continuing education: 6 h required, 0 h found — 6 h more"),
        "{message}"
    );

    let not_suspended = refused(&ledger, reinstate("MS-3001", "2025-01-01")).await;
    assert!(
        matches!(&not_suspended, Error::FailedPrecondition(m) if m.contains("is active")),
        "{not_suspended:?}"
    );

    let future = refused(&ledger, ce("MS-P-3", "ethics", 6, "2027-01-01")).await;
    assert!(
        matches!(&future, Error::InvalidArgument(m) if m.contains("in the future")),
        "{future:?}"
    );
    let backwards = refused(&ledger, issue("MS-P-4", "MS-3002", "2024-03-01", "2024-02-01")).await;
    assert!(
        matches!(&backwards, Error::InvalidArgument(m) if m.contains("after issued_on")),
        "{backwards:?}"
    );
    let not_a_date = refused(&ledger, exam("MS-P-4", 90, "2024-02-30")).await;
    assert!(
        matches!(&not_a_date, Error::InvalidArgument(m) if m.contains("real date")),
        "{not_a_date:?}"
    );
    let unknown_domain = refused(&ledger, training("MS-P-4", "X", 2, "2024-01-01", &[("telepathy", 2)])).await;
    assert!(matches!(unknown_domain, Error::InvalidArgument(_)));
    let before_issue = refused(
        &ledger,
        discipline("MS-3001", DisciplineKind::Probation, "2024-01-01", ""),
    )
    .await;
    assert!(matches!(before_issue, Error::FailedPrecondition(_)));

    record(
        &ledger,
        vec![discipline("MS-3001", DisciplineKind::Revocation, "2025-05-01", "")],
    )
    .await;
    record(&ledger, vec![ce("MS-P-3", "ethics", 20, "2025-12-01")]).await;
    let revoked = refused(&ledger, renew("MS-3001", "2026-01-15", "2028-02-28")).await;
    assert!(
        matches!(&revoked, Error::FailedPrecondition(m) if m.contains("revoked")),
        "{revoked:?}"
    );
    let after_revocation = refused(&ledger, reinstate("MS-3001", "2025-06-01")).await;
    assert!(matches!(after_revocation, Error::FailedPrecondition(_)));
    ledger.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_issues_of_one_credential_number_cannot_both_succeed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ledger, _clock) = open_ledger_at(dir.path(), "2026-11-23");
    for peer in ["MS-P-5", "MS-P-6"] {
        record(&ledger, vec![enrol(peer, "Racer")]).await;
        record(&ledger, qualification(peer)).await;
    }
    for round in 0..20 {
        let number = format!("MS-R-{round}");
        let races: Vec<_> = ["MS-P-5", "MS-P-6"]
            .into_iter()
            .map(|peer| {
                let (ledger, number) = (ledger.clone(), number.clone());
                tokio::spawn(async move {
                    ledger
                        .append(
                            format!("{number}-{peer}"),
                            issue(peer, &number, "2024-03-01", "2026-02-28"),
                        )
                        .await
                })
            })
            .collect();
        let mut wins = 0;
        for race in races {
            match race.await.expect("task") {
                Ok(_) => wins += 1,
                Err(Error::FailedPrecondition(_)) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(wins, 1, "exactly one issue of {number} succeeds");
    }
    ledger.shutdown().await;
}

#[tokio::test]
async fn restarts_with_fresh_missing_stale_or_damaged_snapshots_agree() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ledger, _clock) = open_ledger_at(dir.path(), "2026-11-23");
    certified(&ledger, "MS-P-7", "MS-7007").await;
    ledger.shutdown().await;
    let stale = std::fs::read(snapshot_path(dir.path())).expect("a snapshot is written at shutdown");

    let (ledger, _clock) = open_ledger_at(dir.path(), "2026-11-23");
    record(
        &ledger,
        vec![discipline("MS-7007", DisciplineKind::Suspension, "2025-01-01", "")],
    )
    .await;
    certified(&ledger, "MS-P-8", "MS-8008").await;
    let incremental = ledger.registry();
    ledger.shutdown().await;

    let reopen = || {
        let (ledger, _clock) = open_ledger_at(dir.path(), "2026-11-23");
        let registry = ledger.registry();
        (ledger, registry)
    };
    let (ledger, with_snapshot) = reopen();
    assert_eq!(with_snapshot, incremental, "restart from the shutdown snapshot");
    ledger.shutdown().await;

    std::fs::remove_file(snapshot_path(dir.path())).expect("remove");
    let (ledger, from_scratch) = reopen();
    assert_eq!(
        from_scratch, incremental,
        "replay from scratch equals the incremental projection"
    );
    ledger.shutdown().await;

    std::fs::write(snapshot_path(dir.path()), &stale).expect("restore the stale snapshot");
    let (ledger, from_stale) = reopen();
    assert_eq!(from_stale, incremental, "a snapshot older than the log is caught up");
    ledger.shutdown().await;

    let mut damaged = stale.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    std::fs::write(snapshot_path(dir.path()), &damaged).expect("write a damaged snapshot");
    let (ledger, from_damaged) = reopen();
    assert_eq!(from_damaged, incremental, "a damaged snapshot is ignored");
    assert_eq!(
        from_damaged
            .credential("MS-7007")
            .map(|c| c.status_on(day("2025-02-01"))),
        Some(Status::Suspended)
    );
    ledger.shutdown().await;
}

#[tokio::test]
async fn workforce_statistics_count_credentials_by_type_and_status() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ledger, _clock) = open_ledger_at(dir.path(), "2026-11-23");
    certified(&ledger, "MS-P-9", "MS-9001").await;
    certified(&ledger, "MS-P-10", "MS-9002").await;
    record(
        &ledger,
        vec![discipline("MS-9002", DisciplineKind::Suspension, "2025-01-01", "")],
    )
    .await;
    let stats = ledger.registry().statistics(day("2025-06-01"));
    use peerreg::domain::fact::CredentialType::PeerSupportSpecialist;
    assert_eq!(stats.get(&(PeerSupportSpecialist, Status::Active)), Some(&1));
    assert_eq!(stats.get(&(PeerSupportSpecialist, Status::Suspended)), Some(&1));
    let later = ledger.registry().statistics(day("2026-06-01"));
    assert_eq!(later.get(&(PeerSupportSpecialist, Status::Expired)), Some(&1));
    ledger.shutdown().await;
    let _ = ExperienceKind::Paid;
}
