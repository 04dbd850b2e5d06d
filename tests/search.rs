//! The board finds people and lists credentials (issue 15, item 2) over a
//! real node: name search ignoring case and accents, exact number and peer id,
//! paging that covers every match once, the renewal list around its
//! boundaries, who may ask, bad input, and expunged people gone.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{options, permissive_profile, record, TestNode, ADMIN_TOKEN, CLERK_TOKEN};
use peerreg::error::Error;
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::pb;
use peerreg::pb::command::Body;
use peerreg::service::client::NodeClient;

const TODAY: &str = "2026-06-01";

fn enrol(peer_id: &str, name: &str) -> Body {
    Body::PeerEnrolled(pb::PeerEnrolled {
        peer_id: peer_id.into(),
        legal_name: name.into(),
        eligibility_attested: true,
        ethics_code_signed: true,
    })
}

fn issue(peer_id: &str, number: &str, kind: pb::CredentialType, expires_on: &str) -> Body {
    Body::CredentialIssued(pb::CredentialIssued {
        imported: None,
        peer_id: peer_id.into(),
        credential_number: number.into(),
        credential_type: kind as i32,
        issued_on: "2025-06-01".into(),
        expires_on: expires_on.into(),
        reciprocity: None,
    })
}

/// MS's board on `TODAY`, issuing without prerequisites.
async fn node(dir: &std::path::Path) -> TestNode {
    let date = chrono::NaiveDate::parse_from_str(TODAY, "%Y-%m-%d").expect("a date");
    let ledger = Ledger::open(LedgerOptions {
        clock: Arc::new(peerreg::clock::ManualClock::at(date)),
        profile: permissive_profile(false).into(),
        ..options(dir)
    })
    .expect("open");
    TestNode::serve(ledger, dir).await
}

async fn board(node: &TestNode, token: Option<&str>) -> NodeClient {
    NodeClient::connect(&node.endpoint, token.map(str::to_string))
        .await
        .expect("connect")
}

fn search(query: &str) -> pb::SearchPeopleRequest {
    pb::SearchPeopleRequest {
        query: query.into(),
        ..Default::default()
    }
}

async fn found(board: &NodeClient, query: &str) -> Vec<String> {
    let answer = board.search_people(search(query)).await.expect("search");
    answer.people.into_iter().map(|p| p.peer_id).collect()
}

#[tokio::test]
async fn names_are_found_by_any_word_prefix_ignoring_case_and_accents_and_by_number_and_peer_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    record(
        &node.ledger,
        vec![
            enrol("MS-P-1", "José Álvarez"),
            enrol("MS-P-2", "Joseph Smith"),
            enrol("MS-P-3", "Ana Lopez"),
            issue(
                "MS-P-3",
                "MS-C-77",
                pb::CredentialType::PeerSupportSpecialist,
                "2027-06-01",
            ),
        ],
    )
    .await;
    let board = board(&node, Some(ADMIN_TOKEN)).await;
    assert_eq!(found(&board, "jose").await, ["MS-P-1", "MS-P-2"]);
    assert_eq!(found(&board, "ALV").await, ["MS-P-1"]);
    assert_eq!(found(&board, "álvarez").await, ["MS-P-1"]);
    assert_eq!(found(&board, "José Á").await, ["MS-P-1"]);
    assert_eq!(found(&board, "smith jo").await, ["MS-P-2"]);
    assert!(found(&board, "lvarez").await.is_empty(), "a prefix, not a substring");
    assert_eq!(found(&board, "MS-C-77").await, ["MS-P-3"]);
    assert_eq!(found(&board, "MS-P-2").await, ["MS-P-2"]);
    let answer = board.search_people(search("MS-C-77")).await.expect("search");
    let person = &answer.people[0];
    assert_eq!(person.legal_name, "Ana Lopez");
    assert_eq!(person.credentials[0].credential_number, "MS-C-77");
    assert_eq!(person.credentials[0].status, pb::CredentialStatus::Active as i32);
    assert_eq!(person.credentials[0].expires_on, "2027-06-01");
    node.stop().await;
}

#[tokio::test]
async fn paging_covers_every_match_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    let mut bodies = Vec::new();
    let mut expected = BTreeSet::new();
    for i in 0..23 {
        // Some names match the query by two words: each is listed once.
        let name = if i % 3 == 0 {
            format!("Mara Marín {i}")
        } else {
            format!("Mariela Ortiz {i}")
        };
        bodies.push(enrol(&format!("MS-P-{i:02}"), &name));
        expected.insert(format!("MS-P-{i:02}"));
    }
    bodies.push(enrol("MS-P-X", "Other Person"));
    record(&node.ledger, bodies).await;
    let board = board(&node, Some(ADMIN_TOKEN)).await;
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let answer = board
            .search_people(pb::SearchPeopleRequest {
                query: "MAR".into(),
                page_token: token,
                page_size: Some(4),
            })
            .await
            .expect("a page");
        assert!(answer.people.len() <= 4);
        seen.extend(answer.people.into_iter().map(|p| p.peer_id));
        pages += 1;
        token = answer.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a match listed twice: {seen:?}");
    assert_eq!(unique, expected);
    assert!(pages >= 6, "{pages} pages of at most 4 for 23 people");
    node.stop().await;
}

fn expiring(days: u32) -> pb::ListCredentialsRequest {
    pb::ListCredentialsRequest {
        expiring_within_days: Some(days),
        ..Default::default()
    }
}

async fn numbers(board: &NodeClient, request: pb::ListCredentialsRequest) -> Vec<String> {
    let answer = board.list_credentials(request).await.expect("a list");
    assert!(answer.next_page_token.is_empty());
    answer.credentials.into_iter().map(|c| c.credential_number).collect()
}

#[tokio::test]
async fn the_renewal_list_holds_what_expires_within_the_window_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    let pss = pb::CredentialType::PeerSupportSpecialist;
    let family = pb::CredentialType::FamilyPeer;
    record(
        &node.ledger,
        vec![
            enrol("MS-P-1", "Ana Uno"),
            issue("MS-P-1", "MS-C-1", pss, "2026-05-31"),
            issue("MS-P-1", "MS-C-2", pss, "2026-06-01"),
            issue("MS-P-1", "MS-C-3", family, "2026-07-01"),
            issue("MS-P-1", "MS-C-4", pss, "2026-07-02"),
            issue("MS-P-1", "MS-C-5", pss, "2027-06-01"),
        ],
    )
    .await;
    let board = board(&node, Some(ADMIN_TOKEN)).await;
    assert_eq!(numbers(&board, expiring(30)).await, ["MS-C-2", "MS-C-3"]);
    assert_eq!(numbers(&board, expiring(31)).await, ["MS-C-2", "MS-C-3", "MS-C-4"]);
    assert_eq!(numbers(&board, expiring(1)).await, ["MS-C-2"]);
    let later = pb::ListCredentialsRequest {
        as_of: "2026-06-02".into(),
        ..expiring(30)
    };
    assert_eq!(numbers(&board, later).await, ["MS-C-3", "MS-C-4"]);
    let family_only = pb::ListCredentialsRequest {
        credential_type: family as i32,
        ..expiring(366)
    };
    assert_eq!(numbers(&board, family_only).await, ["MS-C-3"]);
    let expired = pb::ListCredentialsRequest {
        status: pb::CredentialStatus::Expired as i32,
        ..Default::default()
    };
    assert_eq!(numbers(&board, expired).await, ["MS-C-1"]);
    let all = board
        .list_credentials(pb::ListCredentialsRequest {
            page_size: Some(2),
            ..Default::default()
        })
        .await
        .expect("a page");
    assert_eq!(all.credentials.len(), 2);
    let rest = board
        .list_credentials(pb::ListCredentialsRequest {
            page_token: all.next_page_token,
            page_size: Some(100),
            ..Default::default()
        })
        .await
        .expect("the rest");
    let rest: Vec<_> = rest.credentials.iter().map(|c| c.credential_number.as_str()).collect();
    assert_eq!(rest, ["MS-C-3", "MS-C-4", "MS-C-5"]);
    node.stop().await;
}

#[tokio::test]
async fn strangers_and_clerks_are_refused_and_bad_input_is_invalid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    record(&node.ledger, vec![enrol("MS-P-1", "José Álvarez")]).await;
    let size = node.ledger.registry().size;
    let stranger = board(&node, None).await;
    let clerk = board(&node, Some(CLERK_TOKEN)).await;
    let admin = board(&node, Some(ADMIN_TOKEN)).await;
    let refused = stranger.search_people(search("jose")).await;
    assert!(matches!(refused, Err(Error::Unauthenticated(_))), "{refused:?}");
    let refused = stranger.list_credentials(expiring(30)).await;
    assert!(matches!(refused, Err(Error::Unauthenticated(_))), "{refused:?}");
    let refused = clerk.search_people(search("jose")).await;
    assert!(matches!(refused, Err(Error::PermissionDenied(_))), "{refused:?}");
    let refused = clerk.list_credentials(expiring(30)).await;
    assert!(matches!(refused, Err(Error::PermissionDenied(_))), "{refused:?}");

    let bad_searches = [
        pb::SearchPeopleRequest {
            page_size: Some(0),
            ..search("jose")
        },
        pb::SearchPeopleRequest {
            page_size: Some(101),
            ..search("jose")
        },
        search("   "),
        pb::SearchPeopleRequest {
            page_token: "not hex".into(),
            ..search("jose")
        },
    ];
    for request in bad_searches {
        let answer = admin.search_people(request.clone()).await;
        assert!(
            matches!(answer, Err(Error::InvalidArgument(_))),
            "{request:?}: {answer:?}"
        );
    }
    let bad_lists = [
        expiring(0),
        expiring(367),
        pb::ListCredentialsRequest {
            status: 99,
            ..Default::default()
        },
        pb::ListCredentialsRequest {
            credential_type: 99,
            ..Default::default()
        },
        pb::ListCredentialsRequest {
            page_size: Some(0),
            ..Default::default()
        },
        pb::ListCredentialsRequest {
            as_of: "June".into(),
            ..Default::default()
        },
    ];
    for request in bad_lists {
        let answer = admin.list_credentials(request.clone()).await;
        assert!(
            matches!(answer, Err(Error::InvalidArgument(_))),
            "{request:?}: {answer:?}"
        );
    }
    assert_eq!(node.ledger.registry().size, size, "the log is unchanged");
    node.stop().await;
}

#[tokio::test]
async fn an_expunged_person_is_no_longer_found_and_a_new_name_replaces_the_old() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    record(
        &node.ledger,
        vec![
            enrol("MS-P-1", "José Álvarez"),
            enrol("MS-P-2", "Jo Brown"),
            Body::NameChanged(pb::NameChanged {
                peer_id: "MS-P-2".into(),
                new_legal_name: "Jo Green".into(),
            }),
        ],
    )
    .await;
    let board = board(&node, Some(ADMIN_TOKEN)).await;
    assert_eq!(found(&board, "jos").await, ["MS-P-1"]);
    assert!(
        found(&board, "brown").await.is_empty(),
        "the old name is out of the index"
    );
    assert_eq!(found(&board, "green").await, ["MS-P-2"]);
    record(
        &node.ledger,
        vec![Body::Expunge(pb::ExpungeCommand {
            target: Some(pb::expunge_command::Target::PeerId("MS-P-1".into())),
            reason: pb::ExpungementReason::CourtOrder as i32,
        })],
    )
    .await;
    assert!(found(&board, "jos").await.is_empty());
    assert!(found(&board, "alvarez").await.is_empty());
    assert!(found(&board, "MS-P-1").await.is_empty());
    node.stop().await;
}

/// Runs the binary against `node` as the board; its output, or its error.
fn peerreg(node: &TestNode, args: &[&str]) -> Result<String, String> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_peerreg"))
        .args(args)
        .args(["--endpoint", &node.endpoint])
        .env("PEERREG_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("run peerreg");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8");
    if output.status.success() {
        Ok(text(output.stdout))
    } else {
        Err(text(output.stderr))
    }
}

// Several threads: the binary runs blocking while this runtime serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_searches_and_writes_the_renewal_list_as_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = node(dir.path()).await;
    let pss = pb::CredentialType::PeerSupportSpecialist;
    record(
        &node.ledger,
        vec![
            enrol("MS-P-1", "José Álvarez"),
            issue("MS-P-1", "MS-C-1", pss, "2026-06-20"),
            enrol("MS-P-2", "Ana Lopez"),
            issue("MS-P-2", "MS-C-2", pss, "2027-05-20"),
        ],
    )
    .await;
    let found = peerreg(&node, &["search", "jose"]).expect("search");
    assert!(found.contains("MS-P-1  José Álvarez"), "{found}");
    assert!(found.contains("MS-C-1"), "{found}");
    assert!(!found.contains("Ana"), "{found}");
    let csv = peerreg(&node, &["list", "--expiring-within", "30", "--csv"]).expect("list");
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "credential_number,peer_id,legal_name,credential_type,status,issued_on,expires_on,basis,origin_state,\
             origin_credential_number,renewals,last_renewed_on,discipline_actions,discipline_in_force,reinstatements",
            "MS-C-1,MS-P-1,José Álvarez,peer_support_specialist,active,2025-06-01,2026-06-20,initial,,,0,,0,,0",
        ]
    );
    let text = peerreg(&node, &["list", "--status", "active"]).expect("list");
    assert!(text.contains("MS-C-2") && text.ends_with("2 credentials\n"), "{text}");
    let refused = peerreg(&node, &["list", "--status", "sleeping"]).expect_err("refused");
    assert!(refused.contains("INVALID_ARGUMENT"), "{refused}");
    let refused = peerreg(&node, &["list", "--expiring-within", "400"]).expect_err("refused");
    assert!(refused.contains("INVALID_ARGUMENT"), "{refused}");
    node.stop().await;
}
