//! The verifiable log end to end: real sled stores, real gRPC on loopback, and
//! an independent RFC 9162 implementation checking what the node serves.

mod common;

use std::collections::HashSet;

use common::{append_enrolments, enrolment, open_ledger, rfc9162, TestNode};
use peerreg::error::Error;
use peerreg::log::note::Checkpoint;
use peerreg::service::client::LogClient;
use tokio_stream::StreamExt;

/// Every entry of the tree at `size`, fetched page by page over gRPC.
async fn fetch_all(client: &LogClient, size: u64) -> Vec<Vec<u8>> {
    let mut entries = Vec::new();
    while (entries.len() as u64) < size {
        let page = client
            .entries(entries.len() as u64, size)
            .await
            .expect("a page of entries");
        assert!(!page.is_empty(), "a page below the tree size is never empty");
        entries.extend(page);
    }
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn everything_served_during_appends_verifies_independently() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let client = node.client().await;
    let verifier = node.ledger.verifier().clone();

    let writer = node.ledger.clone();
    let appends = tokio::spawn(async move {
        let tasks: Vec<_> = (0..8)
            .map(|t| {
                let writer = writer.clone();
                tokio::spawn(async move { append_enrolments(&writer, &format!("w{t}"), 40).await })
            })
            .collect();
        for task in tasks {
            task.await.expect("append task");
        }
    });
    // Read checkpoints while the writers run; every one must verify and grow.
    let mut seen: Vec<Checkpoint> = Vec::new();
    while !appends.is_finished() || seen.last().map(|c| c.size) != Some(320) {
        let note = client.checkpoint_note().await.expect("checkpoint");
        let checkpoint = Checkpoint::open(&note, &verifier).expect("the checkpoint verifies with the node's key");
        if seen.last().map(|c| c.size) != Some(checkpoint.size) {
            seen.push(checkpoint);
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    appends.await.expect("appends finish");
    let last = seen.last().cloned().expect("at least one checkpoint");
    assert_eq!(last.size, 320);
    assert!(seen.len() >= 2, "checkpoints were observed as the log grew");

    let entries = fetch_all(&client, last.size).await;
    let leaves: Vec<rfc9162::Hash> = entries.iter().map(|e| rfc9162::leaf(e)).collect();
    assert_eq!(rfc9162::root(&leaves), last.root, "independently recomputed root");
    for (index, entry) in entries.iter().enumerate() {
        peerreg::log::entry::verify_entry(index as u64, entry, &verifier, "MS").expect("every entry is signed");
    }
    for index in 0..last.size {
        let proof = client.inclusion_proof(index, last.size).await.expect("inclusion proof");
        assert!(
            rfc9162::inclusion_ok(index, last.size, leaves[index as usize], &proof, &last.root),
            "{index}"
        );
    }
    // A sample of the checkpoints seen on the way: their roots, some inclusion
    // proofs, and consistency with every later sampled checkpoint.
    let step = (seen.len() / 8).max(1);
    let sample: Vec<&Checkpoint> = seen.iter().step_by(step).chain([&last]).collect();
    for (position, checkpoint) in sample.iter().enumerate() {
        assert_eq!(rfc9162::root(&leaves[..checkpoint.size as usize]), checkpoint.root);
        for index in (0..checkpoint.size).step_by(11) {
            let proof = client
                .inclusion_proof(index, checkpoint.size)
                .await
                .expect("inclusion proof");
            let ok = rfc9162::inclusion_ok(index, checkpoint.size, leaves[index as usize], &proof, &checkpoint.root);
            assert!(ok, "inclusion {index}@{}", checkpoint.size);
        }
        for later in sample[position..]
            .iter()
            .filter(|c| checkpoint.size > 0 && c.size >= checkpoint.size)
        {
            let proof = client
                .consistency_proof(checkpoint.size, later.size)
                .await
                .expect("consistency proof");
            let ok = rfc9162::consistency_ok(checkpoint.size, later.size, &proof, &checkpoint.root, &later.root);
            assert!(ok, "consistency {}->{}", checkpoint.size, later.size);
        }
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_are_dense_unique_and_durable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open_ledger(dir.path()).expect("open");
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                let mut receipts = Vec::new();
                for i in 0..20 {
                    let name = format!("c{t}-{i}");
                    let receipt = ledger
                        .append(format!("evt-{name}"), enrolment(&name))
                        .await
                        .expect("append");
                    assert!(
                        receipt.published.checkpoint.size > receipt.index,
                        "the receipt's checkpoint covers it"
                    );
                    receipts.push((format!("evt-{name}"), name, receipt.index));
                }
                receipts
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("task"));
    }
    let indices: HashSet<u64> = all.iter().map(|(_, _, index)| *index).collect();
    assert_eq!(indices.len(), 1280, "indices are unique");
    assert_eq!(indices, (0..1280).collect(), "indices are dense");
    ledger.shutdown().await;

    let reopened = open_ledger(dir.path()).expect("reopen");
    assert_eq!(
        reopened.published().checkpoint.size,
        1280,
        "nothing acknowledged was lost"
    );
    let registry = reopened.registry();
    for (event_id, name, index) in all.iter().step_by(13) {
        let peer = registry
            .peer(&format!("MS-P-{name}"))
            .unwrap_or_else(|| panic!("{event_id}: its private record survived"));
        assert_eq!(
            (peer.legal_name.as_str(), peer.events.as_slice()),
            (name.as_str(), &[*index][..])
        );
        let again = reopened.append(event_id.clone(), enrolment(name)).await.expect("retry");
        assert_eq!(
            (again.index, again.duplicate),
            (*index, true),
            "{event_id} kept its index"
        );
    }
    assert_eq!(reopened.published().checkpoint.size, 1280, "retries append nothing");
    reopened.shutdown().await;
}

#[tokio::test]
async fn an_event_id_reused_with_other_content_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open_ledger(dir.path()).expect("open");
    let first = ledger.append("evt-1".into(), enrolment("Ada")).await.expect("append");
    let retry = ledger
        .append("evt-1".into(), enrolment("Ada"))
        .await
        .expect("identical retry");
    assert_eq!((retry.index, retry.duplicate), (first.index, true));
    let reused = ledger.append("evt-1".into(), enrolment("Grace")).await;
    assert!(
        matches!(reused, Err(Error::AlreadyExists(ref m)) if m.contains("evt-1")),
        "{reused:?}"
    );
    for bad in ["", "has space", &"x".repeat(200)] {
        let refused = ledger.append(bad.to_string(), enrolment("Ada")).await;
        assert!(
            matches!(refused, Err(Error::InvalidArgument(_))),
            "{bad:?}: {refused:?}"
        );
    }
    let huge = ledger.append("evt-huge".into(), enrolment(&"n".repeat(20_000))).await;
    assert!(
        matches!(huge, Err(Error::InvalidArgument(ref m)) if m.contains("bytes")),
        "{huge:?}"
    );
    assert_eq!(ledger.published().checkpoint.size, 1, "no refusal appended anything");
    ledger.shutdown().await;
}

#[tokio::test]
async fn watch_replays_then_follows_new_appends() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    append_enrolments(&node.ledger, "before", 5).await;
    let channel = peerreg::service::client::connect(&node.endpoint)
        .await
        .expect("connect");
    let mut watcher = peerreg::service::rpc::transparency_log_client::TransparencyLogClient::new(channel);
    let mut stream = watcher
        .watch_entries(peerreg::pb::WatchEntriesRequest { from_index: 2 })
        .await
        .expect("watch")
        .into_inner();
    append_enrolments(&node.ledger, "after", 5).await;
    let expected = fetch_all(&node.client().await, 10).await;
    for index in 2..10u64 {
        let item = stream.next().await.expect("an item").expect("not an error");
        assert_eq!(item.index, index);
        assert_eq!(item.entry, expected[index as usize]);
    }
    drop(stream);
    node.stop().await;
}
