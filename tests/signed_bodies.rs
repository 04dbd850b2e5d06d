//! One parser of signed bodies: an origin may sign a body this node's parser
//! refuses (an older or a hostile origin). A mirror must treat it the same way
//! when it ingests it and when it replays it after a restart, or its registry
//! changes under it.

mod common;

use std::path::Path;

use peerreg::ledger::Ledger;
use peerreg::log::entry::sign_event;
use peerreg::log::merkle::{leaf_hash, Frontier};
use peerreg::log::note::{Checkpoint, NoteSigner};
use peerreg::pb;
use peerreg::pb::command::Body;
use prost::Message;

/// Bodies `Fact::from_body` refuses, each of another kind of fault.
fn malformed() -> Vec<Body> {
    let mut spaced = common::enrolment("spaced");
    if let Body::PeerEnrolled(enrolled) = &mut spaced {
        enrolled.peer_id = "MS P spaced".into();
    }
    let bad_date = Body::ExamRecorded(pb::ExamRecorded {
        peer_id: "MS-P-valid".into(),
        exam_id: "NCPRSS".into(),
        score_percent: 90,
        pass_mark_percent: 70,
        taken_on: "2024-02-30".into(),
    });
    let control = Body::NameChanged(pb::NameChanged {
        peer_id: "MS-P-valid".into(),
        new_legal_name: "a\u{7}bell".into(),
    });
    vec![spaced, bad_date, control]
}

/// Signs `bodies` as the next entries of `mirror`'s origin (the test key) and
/// the checkpoint that covers them, as a hostile or older origin would.
fn signed_extension(mirror: &Ledger, signer: &NoteSigner, bodies: Vec<Body>) -> (Vec<Vec<u8>>, Vec<u8>) {
    let size = mirror.published().checkpoint.size;
    let mut frontier = Frontier::default();
    for entry in mirror.entries(0, size).expect("the mirror's entries") {
        frontier.push(leaf_hash(&entry));
    }
    assert_eq!(frontier.root(), mirror.published().checkpoint.root);
    let mut entries = Vec::new();
    for (index, body) in (size..).zip(bodies) {
        let event = pb::Event {
            state: "MS".into(),
            index,
            event_id: format!("hostile-{index}"),
            recorded_at: None,
            body: Some(body),
        };
        let entry = sign_event(&event, signer).encode_to_vec();
        frontier.push(leaf_hash(&entry));
        entries.push(entry);
    }
    let checkpoint = Checkpoint {
        origin: signer.verifier().name().to_string(),
        size: frontier.size(),
        root: frontier.root(),
    };
    (entries, checkpoint.sign(signer).into_bytes())
}

/// A follower of Mississippi's test log in `dir`: a copy of the origin's
/// store and checkpoint, without its registry snapshot (a mirror keeps none).
async fn follower_of_copy(origin: &Path, dir: &Path) -> Ledger {
    common::copy_tree(origin, dir);
    let _ = std::fs::remove_file(peerreg::ledger::snapshot_path(dir));
    let _ = std::fs::remove_file(dir.join("log.key"));
    let verifier = common::signer("peerreg.local/ms").verifier().clone();
    Ledger::open_follower(dir.to_path_buf(), "MS".into(), verifier).expect("the follower opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_restarted_after_ingesting_a_malformed_signed_body_keeps_its_registry() {
    let origin_dir = tempfile::tempdir().expect("temp dir");
    let mirror_dir = tempfile::tempdir().expect("temp dir");
    let origin = common::open_ledger(origin_dir.path()).expect("open the origin");
    origin
        .append("valid".into(), common::enrolment("valid"))
        .await
        .expect("a valid enrolment");
    origin.shutdown().await;

    let mirror = follower_of_copy(origin_dir.path(), mirror_dir.path()).await;
    let signer = common::signer("peerreg.local/ms");
    let mut bodies = malformed();
    bodies.push(common::enrolment("after"));
    let (entries, note) = signed_extension(&mirror, &signer, bodies);
    mirror.stage(&entries).expect("signed entries that extend the tree");
    mirror.publish_staged(note).expect("the signed checkpoint covers them");
    let ingested = mirror.registry();
    assert_eq!(ingested.size, 5);
    assert!(ingested.peer("MS P spaced").is_none(), "a refused body changes nothing");
    assert!(
        ingested.peer("MS-P-after").is_some(),
        "the entries after it are applied"
    );
    assert_eq!(
        ingested
            .peer("MS-P-valid")
            .map(|p| (p.legal_name.as_str(), p.exams.len())),
        Some(("valid", 0))
    );
    mirror.shutdown().await;

    let verifier = signer.verifier().clone();
    let restarted = Ledger::open_follower(mirror_dir.path().to_path_buf(), "MS".into(), verifier)
        .expect("a mirror holding a malformed signed body still opens");
    assert_eq!(
        restarted.registry(),
        ingested,
        "the replay applies what the ingest applied"
    );
}
