//! `Board.RecordBatch`: an import in one call, recorded in order, each command
//! authorised and checked on its own.

mod common;

use common::board::{enrol, issue, training};
use common::{TestNode, ADMIN_TOKEN, CLERK_TOKEN};
use peerreg::pb;
use peerreg::service::client::NodeClient;

fn command(event_id: &str, body: pb::command::Body) -> pb::BatchCommand {
    use pb::batch_command::Body as B;
    use pb::command::Body;
    let body = match body {
        Body::PeerEnrolled(e) => B::PeerEnrolled(e),
        Body::TrainingCompleted(e) => B::TrainingCompleted(e),
        Body::CredentialIssued(e) => B::CredentialIssued(e),
        Body::ExamRecorded(e) => B::ExamRecorded(e),
        Body::ExperienceRecorded(e) => B::ExperienceRecorded(e),
        Body::RequirementEvidence(e) => B::RequirementEvidence(e),
        other => panic!("not used here: {other:?}"),
    };
    pb::BatchCommand {
        event_id: event_id.into(),
        body: Some(body),
    }
}

/// A peer's whole path to a credential, as one batch.
fn career(peer: &str, number: &str) -> Vec<pb::BatchCommand> {
    let mut bodies = vec![enrol(peer, "Batch Person")];
    bodies.extend(common::board::qualification(peer));
    bodies.push(issue(peer, number, "2024-03-01", "2026-02-28"));
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| command(&format!("{peer}-{i}"), body))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_recorded_in_order_with_per_command_results() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let admin = NodeClient::connect(&node.endpoint, Some(ADMIN_TOKEN.into()))
        .await
        .expect("connect");

    let mut commands = career("MS-B-1", "MS-B-CRED-1");
    // The career: enrolment, the toolkit's evidence, training, exam, experience, issue.
    let recorded = commands.len();
    // Refused on their own, without stopping the others:
    commands.push(command(
        "dup-number",
        issue("MS-B-1", "MS-B-CRED-1", "2024-03-01", "2026-02-28"),
    ));
    commands.push(command(
        "unknown-peer",
        training("MS-NOBODY", "X", 1, "2024-01-01", &[]),
    ));
    commands.push(command("bad id", enrol("MS-B-2", "Second Person")));
    commands.push(command("second", enrol("MS-B-2", "Second Person")));
    let answer = admin.record_batch(commands.clone()).await.expect("the batch is taken");
    let codes: Vec<&str> = answer.results.iter().map(|r| r.error_code.as_str()).collect();
    let mut expected = vec![""; recorded];
    expected.extend(["FAILED_PRECONDITION", "NOT_FOUND", "INVALID_ARGUMENT", ""]);
    assert_eq!(codes, expected);
    let indices: Vec<u64> = answer
        .results
        .iter()
        .filter(|r| r.error_code.is_empty())
        .map(|r| r.index)
        .collect();
    let dense: Vec<u64> = (0..=recorded as u64).collect();
    assert_eq!(indices, dense, "recorded in the order sent, densely");
    assert!(
        answer.results[recorded].error.contains("already in use"),
        "{:?}",
        answer.results[recorded]
    );
    let checkpoint = answer.checkpoint.expect("a checkpoint");
    let size = recorded as u64 + 1;
    assert_eq!(checkpoint.size, size, "the checkpoint covers every recorded command");
    assert!(node.ledger.registry().credential("MS-B-CRED-1").is_some());

    // The same batch again: every recorded command is a duplicate at its index.
    let again = admin.record_batch(commands).await.expect("the retry is taken");
    let retried: Vec<(u64, bool)> = again
        .results
        .iter()
        .filter(|r| r.error_code.is_empty())
        .map(|r| (r.index, r.duplicate))
        .collect();
    let all_duplicates: Vec<(u64, bool)> = dense.iter().map(|i| (*i, true)).collect();
    assert_eq!(retried, all_duplicates);
    assert_eq!(node.ledger.published().checkpoint.size, size, "nothing appended twice");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_batches_are_refused_whole_or_per_command_and_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let size = || node.ledger.published().checkpoint.size;
    let connect = |token: Option<&str>| NodeClient::connect(&node.endpoint, token.map(str::to_string));

    let anonymous = connect(None).await.expect("connect");
    let error = anonymous
        .record_batch(career("MS-B-9", "C-9"))
        .await
        .expect_err("refused");
    assert_eq!(error.code_name(), "UNAUTHENTICATED", "{error}");
    let admin = connect(Some(ADMIN_TOKEN)).await.expect("connect");
    let error = admin.record_batch(Vec::new()).await.expect_err("refused");
    assert_eq!(error.code_name(), "INVALID_ARGUMENT", "{error}");
    let too_many: Vec<_> = (0..1001)
        .map(|i| command(&format!("e{i}"), enrol(&format!("P{i}"), "N")))
        .collect();
    let error = admin.record_batch(too_many).await.expect_err("refused");
    assert_eq!(error.code_name(), "RESOURCE_EXHAUSTED", "{error}");
    assert!(error.to_string().contains("at most 1000"), "{error}");
    assert_eq!(size(), 0, "nothing recorded");

    // A clerk may record training only: an enrolment in the batch is refused on its own.
    admin
        .record_batch(vec![command("p", enrol("MS-B-3", "Third"))])
        .await
        .expect("enrolled");
    let clerk = connect(Some(CLERK_TOKEN)).await.expect("connect");
    let answer = clerk
        .record_batch(vec![
            command("clerk-enrol", enrol("MS-B-4", "Fourth")),
            command("clerk-course", training("MS-B-3", "C", 2, "2024-01-01", &[])),
        ])
        .await
        .expect("the batch is taken");
    let codes: Vec<&str> = answer.results.iter().map(|r| r.error_code.as_str()).collect();
    assert_eq!(codes, ["PERMISSION_DENIED", ""]);
    assert_eq!(size(), 2);
    node.stop().await;
}
