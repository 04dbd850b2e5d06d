//! Roster checks: an employer or auditor checks many credentials at once, each
//! on its dates of service; failures are per item.

mod common;

use chrono::NaiveDate;
use common::board::{discipline, enrol, issue};
use common::TestNode;
use peerreg::ledger::Ledger;
use peerreg::pb;
use peerreg::service::client::NodeClient;

/// 1,000 credentials: some suspended, some on probation, some revoked.
async fn registry_of_1000(ledger: &Ledger) {
    let tasks: Vec<_> = (0..20)
        .map(|t| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                for i in (t..1000).step_by(20) {
                    let (peer, number) = (format!("P-{i}"), format!("MS-{i:05}"));
                    ledger
                        .append(format!("e-{i}"), enrol(&peer, &format!("Person {i}")))
                        .await
                        .expect("enrol");
                    let issued = ledger.append(format!("i-{i}"), issue(&peer, &number, "2024-03-01", "2026-02-28"));
                    issued.await.expect("issue");
                    let kind = match i % 7 {
                        1 => Some((pb::DisciplineKind::Suspension, "2025-01-01", "2025-04-01")),
                        2 => Some((pb::DisciplineKind::Probation, "2024-09-01", "")),
                        3 => Some((pb::DisciplineKind::Revocation, "2025-06-01", "")),
                        _ => None,
                    };
                    if let Some((kind, on, ends)) = kind {
                        ledger
                            .append(format!("d-{i}"), discipline(&number, kind, on, ends))
                            .await
                            .expect("discipline");
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_roster_item_matches_the_projection_on_its_dates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = common::permissive(dir.path());
    registry_of_1000(&ledger).await;
    let node = TestNode::serve(ledger, dir.path()).await;
    let dates = [
        "2024-01-15",
        "2024-06-01",
        "2025-02-01",
        "2025-05-01",
        "2025-07-01",
        "2026-03-01",
    ];
    let mut items: Vec<pb::RosterItem> = (0..1000)
        .map(|i| pb::RosterItem {
            credential_number: format!("MS-{i:05}"),
            legal_name: if i % 10 == 0 {
                format!("person {i}")
            } else {
                String::new()
            },
            dates_of_service: vec![dates[i % 6].to_string(), dates[(i + 3) % 6].to_string()],
        })
        .collect();
    items.push(pb::RosterItem {
        credential_number: "MS-99999".into(),
        ..Default::default()
    });
    items.push(pb::RosterItem {
        credential_number: "MS-00001".into(),
        legal_name: "Someone Else".into(),
        ..Default::default()
    });
    items.push(pb::RosterItem {
        credential_number: "MS-00002".into(),
        legal_name: String::new(),
        dates_of_service: vec!["2025-02-30".into()],
    });
    let employer = NodeClient::connect(&node.endpoint, None).await.expect("connect");
    let answer = employer.check_roster(items.clone()).await.expect("roster");
    assert_eq!(answer.results.len(), 2003, "one result per item and date");

    let registry = node.ledger.registry();
    for result in &answer.results[..2000] {
        let check = result.check.as_ref().unwrap_or_else(|| panic!("{result:?} failed"));
        let date = NaiveDate::parse_from_str(&result.date_of_service, "%Y-%m-%d").expect("date");
        let credential = registry.credential(&result.credential_number).expect("exists");
        let expected = peerreg::service::registry::status_code(credential.status_on(date));
        assert_eq!(
            check.status, expected as i32,
            "{} on {}",
            result.credential_number, result.date_of_service
        );
        assert_eq!(check.as_of, result.date_of_service);
    }
    let statuses: std::collections::HashSet<i32> = answer
        .results
        .iter()
        .filter_map(|r| r.check.as_ref().map(|c| c.status))
        .collect();
    assert!(statuses.len() >= 5, "the roster covers many statuses: {statuses:?}");
    let errors: Vec<(&str, &str)> = answer.results[2000..]
        .iter()
        .map(|r| (r.credential_number.as_str(), r.error_code.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            ("MS-99999", "NOT_FOUND"),
            ("MS-00001", "NOT_FOUND"),
            ("MS-00002", "INVALID_ARGUMENT")
        ]
    );

    let too_many = vec![
        pb::RosterItem {
            credential_number: "MS-00001".into(),
            ..Default::default()
        };
        10_001
    ];
    let refused = employer.check_roster(too_many).await;
    assert!(
        matches!(refused, Err(peerreg::error::Error::ResourceExhausted(_))),
        "{refused:?}"
    );
    node.stop().await;
}
