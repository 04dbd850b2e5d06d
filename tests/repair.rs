//! Repair from a mirror: a destroyed store is rebuilt only from entries that
//! match the node's own signed checkpoint; a tampering source is refused.

mod common;

use common::copy_tree;

use common::tamper::serve_tampering;
use common::{append_enrolments, open_ledger, TestNode};
use peerreg::audit::audit;
use peerreg::error::Error;
use peerreg::ledger::store_path;
use peerreg::repair::repair;
use peerreg::service::client::LogClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destroyed_store_is_rebuilt_from_a_mirror_and_audits_clean() {
    let node_dir = tempfile::tempdir().expect("temp dir");
    let mirror_dir = tempfile::tempdir().expect("temp dir");
    let audit_state = node_dir.path().join("audit.json");
    let node = TestNode::start(node_dir.path()).await;
    let writers: Vec<_> = (0..10)
        .map(|w| {
            let ledger = node.ledger.clone();
            tokio::spawn(async move { append_enrolments(&ledger, &format!("before-{w}"), 250).await })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    let verifier = node.ledger.verifier().clone();
    audit(&node.client().await, &verifier, &audit_state)
        .await
        .expect("audit before the damage");
    node.stop().await;
    copy_tree(node_dir.path(), mirror_dir.path());
    let mirror = TestNode::start(mirror_dir.path()).await;

    // The disk loses the store entirely: the node must refuse to start...
    std::fs::remove_dir_all(store_path(node_dir.path())).expect("destroy the store");
    assert!(matches!(open_ledger(node_dir.path()), Err(Error::DataLoss(_))));
    // ...and a tampering source must be refused, changing nothing.
    let tampering = serve_tampering(mirror.ledger.clone(), 2345).await;
    let source = LogClient::connect(&tampering).await.expect("connect");
    let refused = repair(node_dir.path(), &verifier, "MS", &source).await;
    assert!(
        matches!(&refused, Err(Error::DataLoss(m)) if m.contains("entry 2345")),
        "{refused:?}"
    );
    assert!(
        !store_path(node_dir.path()).exists(),
        "a failed repair swaps nothing in"
    );

    let report = repair(node_dir.path(), &verifier, "MS", &mirror.client().await)
        .await
        .expect("repair");
    assert_eq!(report.entries, 2500);
    let node = TestNode::start(node_dir.path()).await;
    assert_eq!(node.ledger.published().checkpoint, report.checkpoint);
    let after = audit(&node.client().await, &verifier, &audit_state)
        .await
        .expect("audit after the repair");
    assert_eq!(
        after.previous_size,
        Some(2500),
        "consistent with what the auditor remembered"
    );
    append_enrolments(&node.ledger, "after", 3).await;
    node.stop().await;
    mirror.stop().await;
}

#[tokio::test]
async fn a_source_with_a_shorter_or_foreign_log_is_refused() {
    let node_dir = tempfile::tempdir().expect("temp dir");
    let short_dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(node_dir.path()).await;
    append_enrolments(&node.ledger, "x", 3).await;
    let verifier = node.ledger.verifier().clone();
    node.stop().await;
    copy_tree(node_dir.path(), short_dir.path());
    let node = TestNode::start(node_dir.path()).await;
    append_enrolments(&node.ledger, "y", 3).await;
    node.stop().await;

    let short = TestNode::start(short_dir.path()).await;
    let refused = repair(node_dir.path(), &verifier, "MS", &short.client().await).await;
    assert!(
        matches!(&refused, Err(Error::DataLoss(m)) if m.contains("fewer")),
        "{refused:?}"
    );
    let stranger = common::signer("peerreg.local/tn").verifier().clone();
    let refused = repair(node_dir.path(), &stranger, "MS", &short.client().await).await;
    assert!(matches!(refused, Err(Error::DataLoss(_))), "{refused:?}");
    short.stop().await;
}
