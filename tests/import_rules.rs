//! Imported records on a running node: a credential the board certified in
//! its earlier system comes in with an `imported` basis and is not judged
//! against today's initial requirements; its renewals up to the import date
//! come in as history, later life is judged normally; only a token with
//! `import_records` may record any of it; a dry run judges a batch exactly
//! as a real run would and records nothing; the board's view shows where
//! each record came from, and the public log never does.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::board::{discipline, enrol, issue, renew};
use common::TestNode;
use pb::command::Body;
use peerreg::pb;
use peerreg::service::client::NodeClient;
use peerreg::service::rpc::board_client::BoardClient;

const TODAY: &str = "2025-06-01";
const IMPORTED_ON: &str = "2025-01-10";
const SOURCE: &str = "MS Legacy Access DB";
const IMPORTER: &str = "importer-secret-for-tests";
const ISSUER: &str = "issuer-secret-for-tests";
const FILE: &str = "credentials-2015.csv";

/// A node at `TODAY` with three tokens: an admin (every right), an importer
/// (`import_records` and the dated rights an import also uses) and an issuer
/// (every ordinary right an import would need, but not `import_records`).
async fn node(dir: &Path) -> TestNode {
    use peerreg::auth::{hash_token, TokenEntry, Tokens};
    let (ledger, _clock) = common::open_ledger_at(dir, TODAY);
    let entry = |name: &str, secret: &str, ops: &[&str]| TokenEntry {
        name: name.into(),
        sha256: hash_token(secret),
        operations: ops.iter().map(|s| s.to_string()).collect(),
    };
    let tokens = Tokens::new(&[
        entry("admin", common::ADMIN_TOKEN, &["*"]),
        entry(
            "importer",
            IMPORTER,
            &[
                "enroll_peer",
                "import_records",
                "renew_credential",
                "record_discipline",
                "reinstate_credential",
            ],
        ),
        entry(
            "issuer",
            ISSUER,
            &[
                "enroll_peer",
                "issue_credential",
                "renew_credential",
                "record_discipline",
            ],
        ),
    ])
    .expect("test tokens");
    let options = peerreg::service::server::ServeOptions {
        tokens: Arc::new(tokens),
        ..common::serve_options()
    };
    TestNode::serve_with(ledger, dir, options).await
}

async fn client(node: &TestNode, token: &str) -> NodeClient {
    NodeClient::connect(&node.endpoint, Some(token.into()))
        .await
        .expect("connect")
}

fn basis() -> pb::ImportedBasis {
    pb::ImportedBasis {
        source_system: SOURCE.into(),
        source_record_id: "LEG-77".into(),
        imported_on: IMPORTED_ON.into(),
    }
}

/// An issue as the source system recorded it: no training, no exam here.
fn imported_issue(peer: &str, number: &str, on: &str, expires: &str) -> Body {
    match issue(peer, number, on, expires) {
        Body::CredentialIssued(e) => Body::CredentialIssued(pb::CredentialIssued {
            imported: Some(basis()),
            ..e
        }),
        _ => unreachable!(),
    }
}

fn imported_renewal(number: &str, on: &str, expires: &str) -> Body {
    match renew(number, on, expires) {
        Body::CredentialRenewed(e) => Body::CredentialRenewed(pb::CredentialRenewed { imported: true, ..e }),
        _ => unreachable!(),
    }
}

fn provenance(peer: &str, files: &[&str]) -> Body {
    Body::ImportProvenance(pb::ImportProvenance {
        peer_id: peer.into(),
        source_system: SOURCE.into(),
        imported_on: IMPORTED_ON.into(),
        rows: files
            .iter()
            .enumerate()
            .map(|(i, file)| pb::ImportedRow {
                file: file.to_string(),
                line: 40 + i as u32,
                kind: "credential".into(),
                source_record_id: format!("LEG-{i}"),
                event_id: format!("import-{peer}-{i}"),
            })
            .collect(),
    })
}

fn command(event_id: &str, body: Body) -> pb::BatchCommand {
    use pb::batch_command::Body as B;
    let body = match body {
        Body::PeerEnrolled(e) => B::PeerEnrolled(e),
        Body::CredentialIssued(e) => B::CredentialIssued(e),
        Body::CredentialRenewed(e) => B::CredentialRenewed(e),
        Body::DisciplinaryAction(e) => B::DisciplinaryAction(e),
        Body::CredentialReinstated(e) => B::CredentialReinstated(e),
        Body::ImportProvenance(e) => B::ImportProvenance(e),
        other => panic!("not used here: {other:?}"),
    };
    pb::BatchCommand {
        event_id: event_id.into(),
        body: Some(body),
    }
}

/// Sends a batch through the raw Board client, with `dry_run` as given.
async fn batch(
    node: &TestNode,
    token: &str,
    commands: Vec<pb::BatchCommand>,
    dry_run: bool,
) -> pb::RecordBatchResponse {
    let mut board = BoardClient::new(
        peerreg::service::client::connect(&node.endpoint)
            .await
            .expect("a channel"),
    );
    let mut request = tonic::Request::new(pb::RecordBatchRequest { commands, dry_run });
    let value = format!("Bearer {token}").parse().expect("header value");
    request.metadata_mut().insert("authorization", value);
    board
        .record_batch(request)
        .await
        .expect("the batch is taken")
        .into_inner()
}

fn outcomes(answer: &pb::RecordBatchResponse) -> Vec<(String, bool)> {
    answer
        .results
        .iter()
        .map(|r| (r.error_code.clone(), r.duplicate))
        .collect()
}

fn size(node: &TestNode) -> u64 {
    node.ledger.published().checkpoint.size
}

fn key_slots_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("private").join("keys"))
        .map(|m| m.len())
        .unwrap_or(0)
}

async fn check(node: &TestNode, number: &str, as_of: &str) -> pb::CredentialCheck {
    let public = NodeClient::connect(&node.endpoint, None).await.expect("connect");
    public
        .check(pb::CheckCredentialRequest {
            credential_number: number.into(),
            legal_name: String::new(),
            as_of: as_of.into(),
        })
        .await
        .unwrap_or_else(|e| panic!("check {number} on {as_of}: {e}"))
}

fn code(result: peerreg::error::Result<pb::Receipt>) -> &'static str {
    match result {
        Ok(_) => "OK",
        Err(e) => e.code_name(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_credential_needs_no_requirements_but_needs_the_import_right() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node(dir.path()).await;
    let importer = client(&node, IMPORTER).await;
    let issuer = client(&node, ISSUER).await;
    importer
        .record("e-1".into(), enrol("MS-I-1", "Imported Person"))
        .await
        .expect("enrolled");

    // Issued in 2015 by the old system, with no training or exam here.
    let plain = issuer
        .record(
            "e-plain".into(),
            issue("MS-I-1", "MS-I-CRED-0", "2015-03-01", "2017-03-01"),
        )
        .await;
    assert_eq!(code(plain), "FAILED_PRECONDITION", "without the basis it is judged");

    let before = size(&node);
    let denied = issuer
        .record(
            "e-denied".into(),
            imported_issue("MS-I-1", "MS-I-CRED-1", "2015-03-01", "2017-03-01"),
        )
        .await;
    match denied {
        Err(e) => {
            assert_eq!(e.code_name(), "PERMISSION_DENIED");
            assert!(e.to_string().contains("import_records"), "{e}");
        }
        Ok(receipt) => panic!("an issue_credential token imported: {receipt:?}"),
    }
    let as_batch = batch(
        &node,
        ISSUER,
        vec![command(
            "e-denied-batch",
            imported_issue("MS-I-1", "MS-I-CRED-1", "2015-03-01", "2017-03-01"),
        )],
        false,
    )
    .await;
    assert_eq!(as_batch.results[0].error_code, "PERMISSION_DENIED");
    assert!(as_batch.results[0].error.contains("import_records"));
    assert_eq!(size(&node), before, "nothing recorded for a refused import");

    let receipt = importer
        .record(
            "e-imported".into(),
            imported_issue("MS-I-1", "MS-I-CRED-1", "2015-03-01", "2017-03-01"),
        )
        .await
        .expect("an imported credential is accepted as the source system judged it");
    assert!(!receipt.duplicate);
    let checked = check(&node, "MS-I-CRED-1", "2016-01-01").await;
    assert_eq!(checked.status, pb::CredentialStatus::Active as i32);
    assert_eq!(
        (checked.imported_source_system.as_str(), checked.imported_on.as_str()),
        (SOURCE, IMPORTED_ON)
    );
    // The number is still unique and the holder must be enrolled.
    let again = importer
        .record(
            "e-again".into(),
            imported_issue("MS-I-1", "MS-I-CRED-1", "2016-03-01", "2018-03-01"),
        )
        .await;
    assert_eq!(code(again), "FAILED_PRECONDITION");
    let stranger = importer
        .record(
            "e-stranger".into(),
            imported_issue("MS-NOBODY", "MS-I-CRED-9", "2016-03-01", "2018-03-01"),
        )
        .await;
    assert_eq!(code(stranger), "NOT_FOUND");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewals_before_the_import_are_history_and_later_ones_are_judged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node(dir.path()).await;
    let importer = client(&node, IMPORTER).await;
    let admin = client(&node, common::ADMIN_TOKEN).await;
    let number = "MS-I-CRED-2";
    let history = [
        enrol("MS-I-2", "Renewed Person"),
        imported_issue("MS-I-2", number, "2015-03-01", "2017-03-01"),
        imported_renewal(number, "2017-02-15", "2019-03-01"),
        discipline(number, pb::DisciplineKind::Suspension, "2020-01-10", "2020-03-01"),
        imported_renewal(number, "2019-02-20", "2021-03-01"),
        // Lapsed from 2021-03-01, renewed late.
        imported_renewal(number, "2021-05-01", "2023-05-01"),
        imported_renewal(number, "2023-04-20", "2025-05-01"),
    ];
    for (i, body) in history.into_iter().enumerate() {
        importer
            .record(format!("h-{i}"), body)
            .await
            .unwrap_or_else(|e| panic!("history item {i} refused: {e}"));
    }
    let before = size(&node);
    let after_import = importer
        .record("h-late".into(), imported_renewal(number, "2025-02-01", "2027-05-01"))
        .await;
    assert_eq!(code(after_import), "FAILED_PRECONDITION");
    // A normal renewal after the import is judged: no CE recorded, refused.
    let judged = admin
        .record("h-judged".into(), renew(number, "2025-04-25", "2027-05-01"))
        .await;
    match judged {
        Err(e) => {
            assert_eq!(e.code_name(), "FAILED_PRECONDITION");
            assert!(e.to_string().contains("renewal requirements"), "{e}");
        }
        Ok(receipt) => panic!("a renewal without CE was recorded: {receipt:?}"),
    }
    assert_eq!(size(&node), before, "nothing after the import date was recorded");

    // The employer check answers as the source data says on every date.
    let expect = [
        ("2016-06-01", pb::CredentialStatus::Active, "2017-03-01"),
        ("2020-02-01", pb::CredentialStatus::Suspended, "2021-03-01"),
        ("2020-03-02", pb::CredentialStatus::Active, "2021-03-01"),
        ("2021-04-01", pb::CredentialStatus::Expired, "2021-03-01"),
        ("2022-01-01", pb::CredentialStatus::Active, "2023-05-01"),
        ("2025-05-31", pb::CredentialStatus::Expired, "2025-05-01"),
    ];
    for (on, status, expires) in expect {
        let checked = check(&node, number, on).await;
        assert_eq!(
            (checked.status, checked.expires_on.as_str()),
            (status as i32, expires),
            "on {on}"
        );
        assert_eq!(checked.imported_source_system, SOURCE);
        assert_eq!(checked.imported_on, IMPORTED_ON);
    }
    let roster = NodeClient::connect(&node.endpoint, None)
        .await
        .expect("connect")
        .check_roster(vec![pb::RosterItem {
            credential_number: number.into(),
            legal_name: String::new(),
            dates_of_service: vec!["2020-02-01".into(), "2021-04-01".into()],
        }])
        .await
        .expect("roster");
    let statuses: Vec<(i32, &str)> = roster
        .results
        .iter()
        .map(|r| {
            let check = r.check.as_ref().expect("a check");
            (check.status, check.imported_on.as_str())
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (pb::CredentialStatus::Suspended as i32, IMPORTED_ON),
            (pb::CredentialStatus::Expired as i32, IMPORTED_ON)
        ]
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_imports_are_invalid_and_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node(dir.path()).await;
    let importer = client(&node, IMPORTER).await;
    importer
        .record("e-1".into(), enrol("MS-I-4", "Malformed Person"))
        .await
        .expect("enrolled");
    let before = size(&node);

    let mut future = imported_issue("MS-I-4", "MS-I-CRED-4", "2015-03-01", "2017-03-01");
    if let Body::CredentialIssued(e) = &mut future {
        e.imported = Some(pb::ImportedBasis {
            imported_on: "2025-07-01".into(),
            ..basis()
        });
    }
    let mut both = imported_issue("MS-I-4", "MS-I-CRED-5", "2015-03-01", "2017-03-01");
    if let Body::CredentialIssued(e) = &mut both {
        e.reciprocity = Some(pb::ReciprocityBasis {
            origin_state: "TN".into(),
            origin_credential_number: "TN-1".into(),
            origin_checkpoint: b"a checkpoint".to_vec(),
        });
    }
    assert_eq!(code(importer.record("future".into(), future).await), "INVALID_ARGUMENT");
    assert_eq!(code(importer.record("both".into(), both).await), "INVALID_ARGUMENT");

    let bad_files = [
        "../people.csv",
        "exports/people.csv",
        "C:\\exports\\people.csv",
        "..",
        ".",
        "a\0b",
    ];
    let commands: Vec<pb::BatchCommand> = bad_files
        .iter()
        .enumerate()
        .map(|(i, file)| command(&format!("prov-{i}"), provenance("MS-I-4", &["people.csv", file])))
        .collect();
    let answer = batch(&node, IMPORTER, commands, false).await;
    for (result, file) in answer.results.iter().zip(bad_files) {
        assert_eq!(result.error_code, "INVALID_ARGUMENT", "{file:?}: {result:?}");
    }
    let too_many: Vec<&str> = vec!["people.csv"; 1_001];
    let answer = batch(
        &node,
        IMPORTER,
        vec![command("prov-many", provenance("MS-I-4", &too_many))],
        false,
    )
    .await;
    assert_eq!(answer.results[0].error_code, "INVALID_ARGUMENT");
    assert_eq!(size(&node), before, "the log is unchanged");
    node.stop().await;
}

/// One new person's imported history, with two commands a real run refuses
/// (a normal renewal after the import without CE, a provenance row naming a
/// directory) so that the dry run has something to foresee.
fn imported_person(peer: &str, number: &str) -> Vec<pb::BatchCommand> {
    let bodies = [
        enrol(peer, "Dry Run Person"),
        imported_issue(peer, number, "2015-03-01", "2017-03-01"),
        imported_renewal(number, "2017-02-15", "2027-03-01"),
        discipline(number, pb::DisciplineKind::Suspension, "2020-01-10", "2020-03-01"),
        renew(number, "2025-05-01", "2029-03-01"),
        provenance(peer, &["people.csv", "dir/people.csv"]),
        provenance(peer, &["people.csv", FILE, "renewals.csv"]),
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| command(&format!("{peer}-{i}"), body))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_reports_what_the_real_run_records_and_records_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node(dir.path()).await;
    let admin = client(&node, common::ADMIN_TOKEN).await;
    admin
        .record("already".into(), enrol("MS-I-0", "Earlier Person"))
        .await
        .expect("enrolled");
    let commands = imported_person("MS-I-5", "MS-I-CRED-5");
    let (log_before, keys_before) = (size(&node), key_slots_len(dir.path()));

    let dry = batch(&node, IMPORTER, commands.clone(), true).await;
    let expected: Vec<(String, bool)> = ["", "", "", "", "FAILED_PRECONDITION", "INVALID_ARGUMENT", ""]
        .iter()
        .map(|c| (c.to_string(), false))
        .collect();
    assert_eq!(outcomes(&dry), expected);
    assert!(dry.results.iter().all(|r| r.index == 0), "{:?}", dry.results);
    assert_eq!(size(&node), log_before, "a dry run appends nothing");
    assert_eq!(
        key_slots_len(dir.path()),
        keys_before,
        "a dry run creates no person key"
    );
    let peer = admin.peer_record("MS-I-5".into()).await;
    assert!(matches!(peer, Err(e) if e.code_name() == "NOT_FOUND"));
    // The event ids were not taken: a second dry run judges the same.
    assert_eq!(
        outcomes(&batch(&node, IMPORTER, commands.clone(), true).await),
        expected
    );

    // A reused event id with another body is refused in a dry run as in a real one.
    let reused = batch(
        &node,
        IMPORTER,
        vec![command("already", enrol("MS-I-6", "Other"))],
        true,
    )
    .await;
    assert_eq!(reused.results[0].error_code, "ALREADY_EXISTS");
    // Rights are checked as in a real run.
    let denied = batch(&node, ISSUER, commands.clone(), true).await;
    assert_eq!(denied.results[1].error_code, "PERMISSION_DENIED");

    let real = batch(&node, IMPORTER, commands.clone(), false).await;
    assert_eq!(
        outcomes(&real),
        expected,
        "the real run records exactly what the dry run accepted"
    );
    assert_eq!(size(&node), log_before + 5);
    let recorded: Vec<u64> = real
        .results
        .iter()
        .filter(|r| r.error_code.is_empty())
        .map(|r| r.index)
        .collect();

    // Afterwards both report the recorded entries as duplicates.
    for dry_run in [true, false] {
        let again = batch(&node, IMPORTER, commands.clone(), dry_run).await;
        let accepted: Vec<&pb::BatchResult> = again.results.iter().filter(|r| r.error_code.is_empty()).collect();
        assert!(
            accepted.iter().all(|r| r.duplicate),
            "dry_run {dry_run}: {:?}",
            again.results
        );
        assert_eq!(accepted.iter().map(|r| r.index).collect::<Vec<_>>(), recorded);
    }
    assert_eq!(size(&node), log_before + 5);

    // The board's view: the basis and where each record came from.
    let record = admin.peer_record("MS-I-5".into()).await.expect("the board's view");
    let imported = record.credentials[0].imported.as_ref().expect("the basis");
    assert_eq!(
        (imported.source_system.as_str(), imported.imported_on.as_str()),
        (SOURCE, IMPORTED_ON)
    );
    let rows: Vec<(&str, u32, &str, &str)> = record
        .imports
        .iter()
        .flat_map(|p| &p.rows)
        .map(|r| (r.file.as_str(), r.line, r.kind.as_str(), r.source_record_id.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("people.csv", 40, "credential", "LEG-0"),
            (FILE, 41, "credential", "LEG-1"),
            ("renewals.csv", 42, "credential", "LEG-2")
        ]
    );

    // The public log holds the basis (public) but no file name or line.
    let entries = node.client().await.entries(0, size(&node)).await.expect("entries");
    let mut granted = 0;
    for (index, bytes) in entries.iter().enumerate() {
        let (_, event) = peerreg::log::entry::decode_entry(index as u64, bytes).expect("an entry");
        for secret in [FILE, "renewals.csv", "people.csv", "Dry Run Person"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "entry {index} holds {secret:?}"
            );
        }
        match event.body {
            Some(pb::event::Body::CredentialGranted(e)) => {
                assert_eq!(e.imported, Some(basis()));
                granted += 1;
            }
            Some(pb::event::Body::Record(_))
            | Some(pb::event::Body::CredentialRenewed(_))
            | Some(pb::event::Body::DisciplineImposed(_)) => {}
            other => panic!("entry {index} is unexpected: {other:?}"),
        }
    }
    assert_eq!(granted, 1);
    node.stop().await;
}
