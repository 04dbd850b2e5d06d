//! Log key rotation over real nodes: a board introduces a new log key with an
//! entry signed by the current one; partners, a mirror, an auditor with a
//! remembered checkpoint and a proof exported before the rotation all keep
//! verifying with the key they pinned. A key that appears any other way (a
//! key file swapped on a stopped node) is refused, as suspect, never as an
//! equivocation.

mod common;

use std::path::Path;

use peerreg::demo::{self, Demo, MS_CREDENTIAL};
use peerreg::ledger::{rotated_key_path, Ledger, LedgerOptions};
use peerreg::log::keys::LogKeys;
use peerreg::log::note::{Checkpoint, NoteSigner, NoteVerifier};
use peerreg::mirror::{self, FollowLimits, MirrorSpec, Round, RoundError};
use peerreg::pb;
use peerreg::service::client::LogClient;

fn key(text: &str) -> NoteVerifier {
    NoteVerifier::parse(text).expect("a verifier key")
}

/// Follows `source` until the mirror holds its latest checkpoint.
async fn follow_to_current(mirror: &Ledger, source: &LogClient) {
    for _ in 0..100 {
        match mirror::follow_round(mirror, source, FollowLimits::default()).await {
            Ok(Round::Current { .. }) => return,
            Ok(Round::CatchingUp { .. }) => continue,
            Err(e) => panic!("the mirror cannot follow: {e:?}"),
        }
    }
    panic!("the mirror never caught up");
}

async fn cli(args: &[&str], token: &str) -> String {
    let (ok, out, err) = common::peerreg_cli(args, token).await;
    assert!(ok, "peerreg {args:?} failed:\n{out}\n{err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_a_mirror_an_auditor_and_an_old_proof_keep_verifying_across_a_rotation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(dir.path()).await.expect("three nodes start");
    demo::certify_in_ms(&demo).await.expect("certify in MS");
    let ms_board = demo.board("MS").await.expect("MS client");
    for state in ["TN", "VA"] {
        common::record_consent(&ms_board, demo::MS_PEER, state).await;
    }
    let ms = demo.node("MS").expect("MS runs");
    let pinned = key(&ms.verifier_key);
    let before = ms.ledger.published().checkpoint.size;
    demo::wait_followed(&demo, "TN", "MS", before)
        .await
        .expect("TN follows MS");

    // Before the rotation: a proof exported, an audit remembered, a mirror caught up.
    let proof = dir.path().join("proof.json");
    let proof_path = proof.to_str().expect("utf-8");
    cli(
        &[
            "export-proof",
            "--endpoint",
            &ms.endpoint,
            "--credential",
            MS_CREDENTIAL,
            "--out",
            proof_path,
        ],
        "",
    )
    .await;
    let audit_state = dir.path().join("audit.json");
    assert_eq!(
        common::audited_size(&ms.endpoint, &ms.verifier_key, &audit_state).await,
        before
    );
    let source = LogClient::connect(&ms.endpoint).await.expect("connect to MS");
    let spec = MirrorSpec {
        origin: pinned.name().to_string(),
        endpoint: ms.endpoint.clone(),
        verifier: pinned.clone(),
    };
    let mirror_home = dir.path().join("mirror-home");
    let mirror = mirror::open(&mirror_home, &spec, &source)
        .await
        .expect("open the mirror");
    follow_to_current(&mirror, &source).await;

    // The operator rotates (a short transition, so the test sees both phases).
    // (0: only the checkpoint that holds the rotation entry carries both signatures.)
    ms.ledger.set_key_transition_entries(0);
    let out = cli(&["key", "rotate", "--endpoint", &ms.endpoint], &demo.token).await;
    assert!(out.starts_with("ROTATED: entry "), "{out}");
    let keys = ms.ledger.keys();
    let rotation = keys.rotations().first().expect("one rotation").clone();
    assert_eq!(rotation.index, before);
    assert!(out.contains(&rotation.key.to_key_string()), "{out}");
    let new_key = rotation.key.clone();
    assert_eq!(new_key.name(), pinned.name(), "same origin");
    assert_ne!(new_key, pinned);
    let key_file = rotated_key_path(&dir.path().join("MS"), &new_key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("the new key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the new key file is the owner's only");
    }

    // During the transition: both signatures, so the old key alone opens it.
    let transition = ms.ledger.published().note;
    assert!(
        Checkpoint::open(&transition, &pinned).is_ok(),
        "dual-signed during the transition"
    );
    assert!(Checkpoint::open(&transition, &new_key).is_ok());
    demo::wait_followed(&demo, "TN", "MS", before + 1)
        .await
        .expect("TN follows the rotation");

    // After it: the new key alone signs entries and checkpoints.
    let after = demo::suspend_in_ms(&demo).await.expect("suspend in MS");
    assert_eq!(after, before + 2);
    let newest = ms.ledger.published().note;
    assert!(
        Checkpoint::open(&newest, &pinned).is_err(),
        "the old key no longer signs"
    );
    assert_eq!(Checkpoint::open(&newest, &new_key).map(|c| c.size), Ok(after));
    let last = ms.ledger.entries(after - 1, after).expect("read")[0].clone();
    assert!(keys.check_entry(after - 1, &last, "MS").is_ok());
    assert!(LogKeys::new(pinned.clone())
        .check_entry(after - 1, &last, "MS")
        .is_err());

    // A partner that pinned the old key follows through the rotation entry.
    demo::wait_followed(&demo, "TN", "MS", after)
        .await
        .expect("TN follows past the transition");
    let seen = demo::origin_status(&demo, "TN").await.expect("origin status");
    assert_eq!(seen.status, pb::CredentialStatus::Suspended as i32);
    // So does the mirror, which saw no dual-signed checkpoint (it learns the
    // rotation entry from where the node says it is, proven in the tree).
    follow_to_current(&mirror, &source).await;
    assert_eq!(mirror.published().checkpoint.size, after);
    assert_eq!(mirror.keys().current(), &new_key);
    // The auditor with its remembered checkpoint, pinning the old key.
    assert_eq!(
        common::audited_size(&ms.endpoint, &ms.verifier_key, &audit_state).await,
        after
    );
    // The proof from before verifies offline with the old key, and fresh.
    let offline = cli(&["verify-proof", proof_path, "--verifier-key", &ms.verifier_key], "").await;
    assert!(
        offline.starts_with("VALID PROOF") && offline.contains("ACTIVE"),
        "{offline}"
    );
    let fresh = cli(
        &[
            "verify-proof",
            proof_path,
            "--verifier-key",
            &ms.verifier_key,
            "--fresh",
            "--endpoint",
            &ms.endpoint,
        ],
        "",
    )
    .await;
    assert!(
        fresh.starts_with("VALID PROOF") && fresh.contains("SUSPENDED"),
        "{fresh}"
    );
    // A proof exported now carries the rotation entry and verifies with the old key.
    let new_proof = dir.path().join("new-proof.json");
    let new_proof_path = new_proof.to_str().expect("utf-8");
    cli(
        &[
            "export-proof",
            "--endpoint",
            &ms.endpoint,
            "--credential",
            MS_CREDENTIAL,
            "--out",
            new_proof_path,
        ],
        "",
    )
    .await;
    let now = cli(
        &["verify-proof", new_proof_path, "--verifier-key", &ms.verifier_key],
        "",
    )
    .await;
    assert!(now.contains("SUSPENDED"), "{now}");
    // Evidence from MS (its bundle carries the rotation entry) is verified
    // with the pinned key; and a partner that rotated its own key is still
    // answered once MS has followed that partner's rotation entry.
    let tn = demo.node("TN").expect("TN runs");
    let tn_rotation = tn.ledger.rotate_key().await.expect("TN rotates");
    let tn_size = tn_rotation.receipt.index + 1;
    demo::wait_followed(&demo, "MS", "TN", tn_size)
        .await
        .expect("MS follows TN's rotation");
    for state in ["TN", "VA"] {
        let decision = demo::evaluate(&demo, state, None)
            .await
            .expect("evidence verifies across the rotations");
        assert_eq!(decision.outcome, pb::TransferOutcome::Denied as i32, "{decision:?}");
        assert!(
            decision.denials.iter().any(|d| d.contains("suspended")),
            "{:?}",
            decision.denials
        );
    }
    assert!(!mirror::equivocation_path(&mirror::mirror_dir(&mirror_home, pinned.name())).exists());
    mirror.shutdown().await;
    demo.stop().await;
}

/// Appends one enrolment with a fresh event id.
async fn enrol(ledger: &Ledger, name: &str) -> u64 {
    ledger
        .append(format!("evt-{name}"), common::enrolment(name))
        .await
        .expect("append")
        .index
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_after_a_rotation_serves_and_signs_with_the_new_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The test key in its file, as a node started by `peerreg serve` has it.
    let first = common::signer("peerreg.local/ms").to_key_string();
    std::fs::write(dir.path().join("log.key"), format!("{first}\n")).expect("write log.key");
    let node = common::TestNode::start(dir.path()).await;
    common::append_enrolments(&node.ledger, "before", 3).await;
    let pinned = node.ledger.verifier().clone();

    // A board command cannot name a key: refused, the log unchanged.
    let smuggled = pb::command::Body::SigningKeyRotated(pb::SigningKeyRotated {
        new_verifier_key: NoteSigner::from_seed(pinned.name(), [7; 32])
            .expect("a key")
            .verifier()
            .to_key_string(),
    });
    let refused = node
        .ledger
        .append("smuggle".into(), smuggled)
        .await
        .expect_err("refused");
    assert_eq!(refused.code_name(), "FAILED_PRECONDITION", "{refused}");
    assert_eq!(node.ledger.published().checkpoint.size, 3);
    // Nor can a token without admin_keys rotate.
    let (ok, _, err) = common::peerreg_cli(&["key", "rotate", "--endpoint", &node.endpoint], common::CLERK_TOKEN).await;
    assert!(!ok && err.contains("PERMISSION_DENIED"), "{err}");

    let out = cli(&["key", "rotate", "--endpoint", &node.endpoint], common::ADMIN_TOKEN).await;
    assert!(out.contains("ROTATED: entry 3"), "{out}");
    let new_key = node.ledger.keys().current().clone();
    enrol(&node.ledger, "after").await;
    // A mirror that pinned the first key, and a backup with the keys.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let source = node.client().await;
    let spec = MirrorSpec {
        origin: pinned.name().to_string(),
        endpoint: node.endpoint.clone(),
        verifier: pinned.clone(),
    };
    let mirror = mirror::open(&elsewhere.path().join("mirror-home"), &spec, &source)
        .await
        .expect("open the mirror");
    follow_to_current(&mirror, &source).await;
    let backup = elsewhere.path().join("backup");
    let backup = backup.to_str().expect("utf-8");
    cli(
        &["backup", "--node", &node.endpoint, "--to", backup, "--include-keys"],
        common::ADMIN_TOKEN,
    )
    .await;
    node.stop().await;
    let restored = elsewhere.path().join("restored");
    cli(
        &["restore", "--from", backup, "--data", restored.to_str().expect("utf-8")],
        "",
    )
    .await;
    let ledger = common::open_ledger(&restored).expect("the restored node opens with its rotated key");
    assert_eq!(ledger.keys().current(), &new_key);
    assert_eq!(ledger.published().checkpoint.size, 5);
    ledger.shutdown().await;

    // Restarted from its key files and its log alone.
    let ledger = common::open_ledger(dir.path()).expect("reopens after the rotation");
    assert_eq!(ledger.keys().current(), &new_key);
    let node = common::TestNode::serve(ledger, dir.path()).await;
    let index = enrol(&node.ledger, "restarted").await;
    let entry = node.ledger.entries(index, index + 1).expect("read")[0].clone();
    let (decoded, _) = peerreg::log::entry::decode_entry(index, &entry).expect("decodes");
    assert_eq!(decoded.key_id, new_key.key_id().to_vec(), "signed by the new key");
    let client = node.client().await;
    let identity = client.identity().await.expect("log info");
    assert_eq!(
        identity.verifier_key,
        pinned.to_key_string(),
        "the pinned key stays the log's identity"
    );
    assert_eq!(identity.key_rotations, vec![3]);
    let state = dir.path().join("audit.json");
    assert_eq!(
        common::audited_size(&node.endpoint, &pinned.to_key_string(), &state).await,
        6
    );
    follow_to_current(&mirror, &client).await;
    node.stop().await;

    // A lost store repaired from the mirror: the rotation is learned again.
    std::fs::remove_dir_all(peerreg::ledger::store_path(dir.path())).expect("lose the store");
    let report = peerreg::repair::repair(dir.path(), &pinned, "MS", &mirror)
        .await
        .expect("repair");
    assert_eq!(report.entries, 6);
    mirror.shutdown().await;
    let ledger = common::open_ledger(dir.path()).expect("the repaired node opens");
    assert_eq!(ledger.keys().current(), &new_key);
    ledger.shutdown().await;

    // The new key file missing: refused, as a missing first key is.
    std::fs::remove_file(rotated_key_path(dir.path(), &new_key)).expect("remove the new key");
    let missing = common::open_ledger(dir.path()).err().expect("refused without its key");
    assert_eq!(missing.code_name(), "FAILED_PRECONDITION", "{missing}");
    assert!(missing.to_string().contains("is missing"), "{missing}");
}

/// A node of `dir`'s log signing with `signer` (whatever key file it was given).
fn open_with(dir: &Path, signer: NoteSigner) -> peerreg::error::Result<Ledger> {
    Ledger::open(LedgerOptions {
        signer,
        ..common::options(dir)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_swapped_in_without_the_rotation_entry_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let origin_dir = dir.path().join("ms");
    let node = common::TestNode::start(&origin_dir).await;
    common::append_enrolments(&node.ledger, "genuine", 4).await;
    let pinned = node.ledger.verifier().clone();
    let source = node.client().await;
    let spec = MirrorSpec {
        origin: pinned.name().to_string(),
        endpoint: node.endpoint.clone(),
        verifier: pinned.clone(),
    };
    let mirror_home = dir.path().join("mirror-home");
    let mirror = mirror::open(&mirror_home, &spec, &source)
        .await
        .expect("open the mirror");
    follow_to_current(&mirror, &source).await;
    let audit_state = dir.path().join("audit.json");
    assert_eq!(
        common::audited_size(&node.endpoint, &pinned.to_key_string(), &audit_state).await,
        4
    );
    node.stop().await;

    // The key file of the stopped node replaced by another key of the same origin.
    let swapped = NoteSigner::generate(pinned.name()).expect("a key");
    std::fs::write(origin_dir.join("log.key"), format!("{}\n", swapped.to_key_string())).expect("swap the key");
    let refused = open_with(&origin_dir, NoteSigner::parse(&swapped.to_key_string()).expect("key"))
        .err()
        .expect("the node refuses its own log under another key");
    assert_eq!(refused.code_name(), "DATA_LOSS", "{refused}");

    // Whoever holds the swapped key can only start a log of its own under the
    // origin's name: every reader that pinned the first key refuses it.
    let impostor_dir = dir.path().join("impostor");
    let impostor = common::TestNode::serve(open_with(&impostor_dir, swapped).expect("opens"), &impostor_dir).await;
    common::append_enrolments(&impostor.ledger, "forged", 6).await;
    let forged = impostor.client().await;
    match mirror::follow_round(&mirror, &forged, FollowLimits::default()).await {
        Err(RoundError::Suspect(e)) => assert!(e.to_string().contains("key"), "{e}"),
        other => panic!("a checkpoint by an unknown key must be suspect, got {other:?}"),
    }
    assert_eq!(
        mirror.published().checkpoint.size,
        4,
        "the mirror kept what it verified"
    );
    assert!(
        !mirror::equivocation_path(&mirror::mirror_dir(&mirror_home, pinned.name())).exists(),
        "an unknown key proves nothing against the pinned key: no equivocation recorded"
    );
    let (ok, out, err) = common::peerreg_cli(
        &[
            "audit",
            "--endpoint",
            &impostor.endpoint,
            "--verifier-key",
            &pinned.to_key_string(),
            "--state-file",
            audit_state.to_str().expect("utf-8"),
        ],
        "",
    )
    .await;
    assert!(!ok, "the auditor must refuse: {out}");
    assert!(err.contains("DATA_LOSS") && !err.contains("REWRITTEN"), "{err}");
    mirror.shutdown().await;
    impostor.stop().await;
}
