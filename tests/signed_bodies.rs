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
use peerreg::pb::event::Body;
use prost::Message;

/// A well-formed reference: 32-byte tag and commitment.
fn reference(seed: u8) -> pb::RecordRef {
    pb::RecordRef {
        tag: vec![seed; 32],
        commitment: vec![seed ^ 0xff; 32],
    }
}

/// A public issue of credential `number` whose holder stays sealed.
fn granted(number: &str) -> Body {
    Body::CredentialGranted(pb::CredentialGranted {
        imported: None,
        credential_number: number.into(),
        credential_type: pb::CredentialType::PeerSupportSpecialist.into(),
        issued_on: "2024-01-10".into(),
        expires_on: "2026-01-10".into(),
        reciprocity: None,
        holder: Some(reference(7)),
    })
}

/// Public bodies the parser refuses, each of another kind of fault.
fn malformed() -> Vec<Body> {
    let spaced = granted("MS C spaced");
    let bad_date = Body::DisciplineImposed(pb::DisciplineImposed {
        credential_number: "MS-C-valid".into(),
        kind: pb::DisciplineKind::Suspension.into(),
        effective_on: "2024-02-30".into(),
        ends_on: String::new(),
        summary: Some(reference(8)),
    });
    let short_tag = Body::Record(pb::RecordCommitted {
        record: Some(pb::RecordRef {
            tag: vec![1; 31],
            commitment: vec![2; 32],
        }),
    });
    let empty_notice = Body::RecordsExpunged(pb::RecordsExpunged {
        indices: Vec::new(),
        reason: pb::ExpungementReason::CourtOrder.into(),
    });
    vec![spaced, bad_date, short_tag, empty_notice]
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
/// store and checkpoint, without its registry snapshot and its private store
/// (a mirror keeps neither).
async fn follower_of_copy(origin: &Path, dir: &Path) -> Ledger {
    common::copy_tree(origin, dir);
    let _ = std::fs::remove_file(peerreg::ledger::snapshot_path(dir));
    let _ = std::fs::remove_file(dir.join("log.key"));
    let _ = std::fs::remove_dir_all(dir.join("private"));
    let verifier = common::signer("peerreg.local/ms").verifier().clone();
    Ledger::open_follower(dir.to_path_buf(), "MS".into(), verifier).expect("the follower opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_restarted_after_ingesting_a_malformed_signed_body_keeps_its_registry() {
    let origin_dir = tempfile::tempdir().expect("temp dir");
    let mirror_dir = tempfile::tempdir().expect("temp dir");
    let origin = common::permissive(origin_dir.path());
    common::record(
        &origin,
        vec![
            common::board::enrol("MS-P-valid", "valid"),
            common::board::issue("MS-P-valid", "MS-C-valid", "2024-01-10", "2026-01-10"),
        ],
    )
    .await;
    origin.shutdown().await;

    let mirror = follower_of_copy(origin_dir.path(), mirror_dir.path()).await;
    let signer = common::signer("peerreg.local/ms");
    let mut bodies = malformed();
    bodies.push(granted("MS-C-after"));
    let (entries, note) = signed_extension(&mirror, &signer, bodies);
    mirror.stage(&entries).expect("signed entries that extend the tree");
    mirror.publish_staged(note).expect("the signed checkpoint covers them");
    let ingested = mirror.registry();
    assert_eq!(ingested.size, 7);
    assert!(
        ingested.credential("MS C spaced").is_none(),
        "a refused body changes nothing"
    );
    assert!(
        ingested.credential("MS-C-after").is_some(),
        "the entries after it are applied"
    );
    assert_eq!(
        ingested.credential("MS-C-valid").map(|c| c.discipline.len()),
        Some(0),
        "a discipline with an impossible date is not applied"
    );
    assert!(ingested.peers.is_empty(), "a mirror reads no private record");
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
