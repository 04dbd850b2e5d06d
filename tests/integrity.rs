//! A damaged, tampered or rewritten log is refused or reported, never served as
//! good; bad requests get the DESIGN.md §5 code and change nothing.

mod common;

use common::copy_tree;

use std::path::Path;

use common::tamper::serve_tampering;
use common::{append_enrolments, open_ledger, rfc9162, TestNode};
use peerreg::error::Error;
use peerreg::ledger::Ledger;
use peerreg::pb;
use peerreg::service::rpc::transparency_log_client::TransparencyLogClient;
use tonic::Code;

/// Flips one byte inside every occurrence of `needle` in every file under `dir`.
fn flip_everywhere(dir: &Path, needle: &[u8]) -> usize {
    let mut flipped = 0;
    for item in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = item.path();
        if path.is_dir() {
            flipped += flip_everywhere(&path, needle);
            continue;
        }
        let mut bytes = std::fs::read(&path).expect("read file");
        let mut at = 0;
        let mut changed = false;
        while let Some(offset) = bytes[at..].windows(needle.len()).position(|w| w == needle) {
            let position = at + offset + needle.len() / 2;
            bytes[position] ^= 0x01;
            at = position + 1;
            flipped += 1;
            changed = true;
        }
        if changed {
            std::fs::write(&path, &bytes).expect("write file");
        }
    }
    flipped
}

async fn log_of(count: usize, dir: &Path) -> Vec<Vec<u8>> {
    let ledger = open_ledger(dir).expect("open");
    append_enrolments(&ledger, "person", count).await;
    let entries = ledger.entries(0, count as u64).expect("entries");
    ledger.shutdown().await;
    entries
}

fn refusal(opened: peerreg::error::Result<Ledger>) -> String {
    match opened {
        Ok(_) => panic!("a damaged store was opened"),
        Err(Error::DataLoss(message)) => message,
        Err(other) => panic!("a damaged store must be DATA_LOSS, got {other:?}"),
    }
}

#[tokio::test]
async fn a_flipped_byte_in_a_stored_entry_refuses_to_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let entries = log_of(60, dir.path()).await;
    // The log holds no name to look for: entry 37 is found by its signature.
    let entry = <pb::LogEntry as prost::Message>::decode(entries[37].as_slice()).expect("an entry");
    assert!(
        flip_everywhere(&dir.path().join("log"), &entry.signature) > 0,
        "the entry is in the sled files"
    );
    let message = refusal(open_ledger(dir.path()));
    assert!(
        message.contains(&dir.path().join("log").display().to_string()),
        "names the directory: {message}"
    );
}

#[tokio::test]
async fn a_flipped_byte_in_a_stored_tree_hash_refuses_to_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let entries = log_of(60, dir.path()).await;
    let leaf = rfc9162::leaf(&entries[21]);
    assert!(
        flip_everywhere(&dir.path().join("log"), &leaf) > 0,
        "the leaf hash is in the sled files"
    );
    refusal(open_ledger(dir.path()));
}

#[tokio::test]
async fn a_store_without_its_published_checkpoint_is_refused_unless_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    log_of(5, dir.path()).await;
    std::fs::remove_file(dir.path().join("checkpoint")).expect("remove the published checkpoint");
    let message = refusal(open_ledger(dir.path()));
    assert!(message.contains("--accept-store-as-is"), "{message}");
    let accepted = Ledger::open(peerreg::ledger::LedgerOptions {
        accept_unpublished_store: true,
        ..common::options(dir.path())
    })
    .expect("an operator may accept the store");
    assert_eq!(accepted.published().checkpoint.size, 5);
    accepted.shutdown().await;
}

/// The store's checkpoint file: a newest slot that is not whole (a crash
/// tearing it mid-write, or damage) with an entry stored past the older slot
/// is refused, since the newest checkpoint may have been published. An
/// operator who knows it was not continues from the older one.
#[tokio::test]
async fn a_torn_newest_checkpoint_slot_is_refused_unless_the_operator_accepts_the_older_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    log_of(5, dir.path()).await;
    let slots = peerreg::ledger::store_path(dir.path()).join("checkpoint");
    let mut bytes = std::fs::read(&slots).expect("the slots");
    let slot = peerreg::store::slots::SLOT_BYTES;
    let newest = (0..2)
        .find(|i| String::from_utf8_lossy(&bytes[i * slot..(i + 1) * slot]).contains("\n5\n"))
        .expect("a slot holds the checkpoint of size 5");
    bytes[newest * slot + 40] ^= 0x20;
    std::fs::write(&slots, &bytes).expect("tear the newest slot");

    let message = refusal(open_ledger(dir.path()));
    assert!(
        message.contains("--accept-store-as-is") && message.contains("size 4"),
        "{message}"
    );
    let accepting = || {
        Ledger::open(peerreg::ledger::LedgerOptions {
            accept_unpublished_store: true,
            ..common::options(dir.path())
        })
    };
    // The copy outside the store shows size 5 was published: never forked.
    assert!(refusal(accepting()).contains("were published"));
    std::fs::remove_file(dir.path().join("checkpoint")).expect("the operator removes the copy");
    let accepted = accepting().expect("continues from the older checkpoint");
    assert_eq!(accepted.published().checkpoint.size, 4);
    let next = accepted
        .append("evt-after".into(), common::enrolment("after"))
        .await
        .expect("appends continue");
    assert_eq!(next.index, 4);
    accepted.shutdown().await;
    assert_eq!(open_ledger(dir.path()).expect("reopens").published().checkpoint.size, 5);
}

#[tokio::test]
async fn a_store_that_lost_entries_behind_a_published_checkpoint_is_refused() {
    let small = tempfile::tempdir().expect("temp dir");
    let large = tempfile::tempdir().expect("temp dir");
    log_of(3, small.path()).await;
    log_of(9, large.path()).await;
    // The store rolled back to an older state, but 9 entries were published.
    std::fs::copy(large.path().join("checkpoint"), small.path().join("checkpoint")).expect("copy");
    let message = refusal(open_ledger(small.path()));
    assert!(
        message.contains('3') && message.contains('9'),
        "names both sizes: {message}"
    );
}

#[tokio::test]
async fn a_different_key_cannot_open_the_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    log_of(2, dir.path()).await;
    let other_key = peerreg::log::note::NoteSigner::from_seed("peerreg.local/ms", [7; 32]).expect("key");
    let opened = Ledger::open(peerreg::ledger::LedgerOptions {
        signer: other_key,
        ..common::options(dir.path())
    });
    assert!(refusal(opened).contains("right key"));
}

/// Runs the real `peerreg audit` binary; returns (success, stdout + stderr).
async fn run_audit(endpoint: &str, verifier_key: &str, state_file: &Path) -> (bool, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_peerreg"))
        .args([
            "audit",
            "--endpoint",
            endpoint,
            "--verifier-key",
            verifier_key,
            "--state-file",
        ])
        .arg(state_file)
        .output()
        .await
        .expect("run peerreg audit");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_passes_on_an_honest_node_and_fails_on_a_tampering_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    append_enrolments(&node.ledger, "audited", 300).await;
    let key = node.ledger.verifier().to_key_string();
    let state_file = dir.path().join("audit.json");

    let (ok, text) = run_audit(&node.endpoint, &key, &state_file).await;
    assert!(
        ok && text.contains("audit OK") && text.contains("300 entries"),
        "{text}"
    );
    append_enrolments(&node.ledger, "later", 20).await;
    let (ok, text) = run_audit(&node.endpoint, &key, &state_file).await;
    assert!(
        ok && text.contains("consistent with the 300 entries verified before"),
        "{text}"
    );

    let fake = serve_tampering(node.ledger.clone(), 123).await;
    let (ok, text) = run_audit(&fake, &key, &dir.path().join("fresh.json")).await;
    assert!(
        !ok && text.contains("AUDIT FAILED") && text.contains("entry 123"),
        "{text}"
    );

    let wrong_key = common::signer("peerreg.local/tn").verifier().to_key_string();
    let (ok, text) = run_audit(&node.endpoint, &wrong_key, &dir.path().join("other.json")).await;
    assert!(!ok && text.contains("pinned key"), "{text}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_reports_a_log_rewritten_after_a_shared_prefix() {
    let original = tempfile::tempdir().expect("temp dir");
    let fork = tempfile::tempdir().expect("temp dir");
    log_of(5, original.path()).await;
    for name in ["log", "checkpoint", "private"] {
        copy_tree(&original.path().join(name), &fork.path().join(name));
    }
    let honest = TestNode::start(original.path()).await;
    append_enrolments(&honest.ledger, "honest", 5).await;
    let key = honest.ledger.verifier().to_key_string();
    let state_file = original.path().join("audit.json");
    let (ok, text) = run_audit(&honest.endpoint, &key, &state_file).await;
    assert!(ok, "{text}");

    // Same key, same first 5 entries, then different history, first at the
    // same size and then longer.
    let forked = TestNode::start(fork.path()).await;
    append_enrolments(&forked.ledger, "rewritten", 5).await;
    let (ok, text) = run_audit(&forked.endpoint, &key, &state_file).await;
    assert!(!ok && text.contains("LOG REWRITTEN"), "same size, other root: {text}");
    append_enrolments(&forked.ledger, "more", 3).await;
    let (ok, text) = run_audit(&forked.endpoint, &key, &state_file).await;
    assert!(
        !ok && text.contains("LOG REWRITTEN") && text.contains("not an extension"),
        "{text}"
    );
    // The honest log still audits against what was remembered.
    let (ok, text) = run_audit(&honest.endpoint, &key, &state_file).await;
    assert!(ok, "{text}");
    honest.stop().await;
    forked.stop().await;
}

#[tokio::test]
async fn bad_requests_get_the_right_code_and_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    append_enrolments(&node.ledger, "x", 10).await;
    let channel = peerreg::service::client::connect(&node.endpoint)
        .await
        .expect("connect");
    let mut client = TransparencyLogClient::new(channel);
    let before = node.ledger.published();

    let entries = |start, end| pb::GetEntriesRequest { start, end };
    for (request, code) in [
        (entries(5, 5), Code::InvalidArgument),
        (entries(6, 2), Code::InvalidArgument),
        (entries(10, 11), Code::OutOfRange),
        (entries(u64::MAX - 1, u64::MAX), Code::OutOfRange),
    ] {
        let status = client.get_entries(request).await.expect_err("refused");
        assert_eq!(status.code(), code, "{request:?}: {}", status.message());
        assert!(!status.message().is_empty());
    }
    let huge = client
        .get_entries(entries(0, u64::MAX))
        .await
        .expect("a huge range is one bounded page");
    assert_eq!(huge.into_inner().entries.len(), 10);

    let inclusion = |index, tree_size| pb::GetInclusionProofRequest { index, tree_size };
    for (request, code) in [
        (inclusion(0, 0), Code::InvalidArgument),
        (inclusion(3, 3), Code::InvalidArgument),
        (inclusion(0, 11), Code::OutOfRange),
        (inclusion(u64::MAX, u64::MAX), Code::OutOfRange),
    ] {
        let status = client.get_inclusion_proof(request).await.expect_err("refused");
        assert_eq!(status.code(), code, "{request:?}: {}", status.message());
    }
    let consistency = |from_size, to_size| pb::GetConsistencyProofRequest { from_size, to_size };
    for (request, code) in [
        (consistency(0, 5), Code::InvalidArgument),
        (consistency(6, 5), Code::InvalidArgument),
        (consistency(5, 11), Code::OutOfRange),
        (consistency(0, 0), Code::InvalidArgument),
    ] {
        let status = client.get_consistency_proof(request).await.expect_err("refused");
        assert_eq!(status.code(), code, "{request:?}: {}", status.message());
    }
    let watch = client.watch_entries(pb::WatchEntriesRequest { from_index: 11 }).await;
    assert_eq!(watch.err().map(|s| s.code()), Some(Code::OutOfRange));

    // Still serving, and nothing changed.
    let checkpoint = client
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .expect("still serving")
        .into_inner();
    assert_eq!(checkpoint.note, before.note.to_vec());
    assert_eq!(node.ledger.published(), before);
    node.stop().await;
}
