//! The replay against incremental application, the wire reader against
//! prost, and verification against forgeries.

use super::wire::{entry_fields, event_parts};
use super::*;
use crate::bench::baselines::{batch_verify_log, decode_log};
use crate::demo::bodies;
use crate::domain::commitment::{Bytes32, Opening};
use crate::domain::sealed::{seal_unchecked, NoOpenings, Subject};
use crate::log::entry::{decode_entry, sign_event};
use crate::log::note::NoteSigner;
use crate::store::CommitBatch;
use pb::command::Body;

/// Openings held by the test, as a board's private store would hold them.
#[derive(Default)]
struct Held(std::collections::HashMap<Bytes32, Opening>);

impl Openings for Held {
    fn open(&self, commitment: &Bytes32) -> Result<Option<Opening>> {
        Ok(self.0.get(commitment).cloned())
    }
}

/// Seals `commands` as one person's records (no checks: some are malformed),
/// keeping the openings in `held`; a command that cannot be sealed gives no body.
fn sealed(commands: &[Body], held: &mut Held) -> Vec<Option<pb::event::Body>> {
    let k_subject = [5u8; 32];
    let mut seq = 0;
    let mut bodies = Vec::new();
    for (i, command) in commands.iter().enumerate() {
        let subject = Subject {
            k_subject: &k_subject,
            next_seq: &mut seq,
        };
        let opening = [i as u8; 32];
        bodies.push(match seal_unchecked(command, subject, opening) {
            Ok(sealed) => {
                if let Some(opened) = sealed.private {
                    held.0.insert(opened.commitment(), opened);
                }
                Some(sealed.public)
            }
            Err(_) => None,
        });
    }
    bodies
}

fn signer() -> NoteSigner {
    NoteSigner::from_seed("peerreg.local/ms", [1; 32]).unwrap_or_else(|e| panic!("{e}"))
}

fn kinds() -> Vec<Body> {
    let mut all = vec![
        bodies::enrol("MS-P-1", "Ada Lovelace"),
        bodies::training("MS-P-1", "CORE", 40, "2024-01-31", &[("engages_peers", 10)]),
        bodies::experience("MS-P-1", pb::ExperienceKind::Volunteer, 100, "2023-02-28", "2024-02-29"),
        bodies::exam("MS-P-1", 90, "2024-03-01"),
        bodies::issue("MS-P-1", "MS-1", "2024-03-02", "2026-03-02"),
        bodies::ce("MS-P-1", "ethics", 6, "2025-01-01"),
        bodies::renew("MS-1", "2026-01-01", "2028-03-02"),
        bodies::discipline("MS-1", pb::DisciplineKind::Suspension, "2026-02-01", "2026-05-01"),
        bodies::reinstate("MS-1", "2026-03-01"),
        Body::NameChanged(pb::NameChanged {
            peer_id: "MS-P-1".into(),
            new_legal_name: "Ada King".into(),
        }),
    ];
    all.extend(bodies::qualification("MS-P-2"));
    all
}

/// Bodies whose dates or enums `from_body` reads differently or refuses.
fn odd() -> Vec<Body> {
    vec![
        bodies::training("MS-P-1", "CORE", 40, "2024-1-31", &[]),
        bodies::training("MS-P-1", "CORE", 40, "2023-02-29", &[]),
        bodies::training("MS-P-1", "CORE", 40, "+2024-01-31", &[]),
        bodies::exam("MS-P-1", 90, "2024-03-0x"),
        bodies::experience(
            "MS-P-1",
            pb::ExperienceKind::Unspecified,
            100,
            "2023-02-28",
            "2024-02-29",
        ),
        bodies::issue("MS-P-1", "MS-1", "2024-13-02", "2026-03-02"),
        Body::CredentialIssued(pb::CredentialIssued {
            credential_type: 99,
            ..match bodies::issue("MS-P-1", "MS-1", "2024-03-02", "2026-03-02") {
                Body::CredentialIssued(issue) => issue,
                _ => pb::CredentialIssued::default(),
            }
        }),
        bodies::renew("MS-1", "2026-01-01", "20280302"),
        bodies::ce("MS-P-1", "ethics", 6, "0000-01-01"),
    ]
}

/// Bodies this node would never sign, but an origin might have.
fn malformed() -> Vec<Body> {
    vec![
        bodies::enrol("MS P 1", "Ada Lovelace"),
        bodies::enrol("", "Nobody"),
        bodies::enrol("MS-P-9", "Ada\u{7}"),
        Body::NameChanged(pb::NameChanged {
            peer_id: "MS-P-1".into(),
            new_legal_name: "x".repeat(201),
        }),
        bodies::training("MS-P-1", "CORE", 40, "2024-01-31", &[("not_a_domain", 10)]),
        bodies::training("MS-P-1", "CORE", 0, "2024-01-31", &[]),
        bodies::ce("MS-P-1", "not a topic", 6, "2025-01-01"),
        bodies::exam("MS-P-1", 101, "2024-03-01"),
        bodies::issue("MS-P-1", "MS-1", "2026-03-02", "2024-03-02"),
    ]
}

/// An entry with no body (the parser is never asked).
fn bodiless(index: u64) -> Vec<u8> {
    let event = pb::Event {
        state: "MS".into(),
        index,
        event_id: format!("e-{index}"),
        ..Default::default()
    };
    sign_event(&event, &signer()).encode_to_vec()
}

#[test]
fn replay_and_incremental_apply_agree_on_every_body_even_malformed_ones() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&dir.path().join("log")).unwrap_or_else(|e| panic!("{e}"));
    let commands: Vec<Body> = kinds().into_iter().chain(odd()).chain(malformed()).collect();
    let mut held = Held::default();
    let all: Vec<pb::event::Body> = sealed(&commands, &mut held).into_iter().flatten().collect();
    // Enough entries for several chunks, so reader threads take part.
    let size = 3 * CHUNK + 7;
    let mut incremental = Registry::default();
    let mut refused = 0;
    let mut batch = CommitBatch::default();
    for index in 0..size {
        let bytes = match all.get(index as usize % (all.len() + 1)) {
            Some(body) => entry(index, body.clone()),
            None => bodiless(index),
        };
        let (_, event) = decode_entry(index, &bytes).unwrap_or_else(|e| panic!("{e}"));
        refused += u64::from(incremental.apply_event(index, &event, &held).is_err());
        batch.entries.push((index, bytes));
    }
    store.commit(&batch).unwrap_or_else(|e| panic!("{e}"));
    assert!(refused >= size / (all.len() as u64 + 1) * malformed().len() as u64);
    let replayed = replay(&store, Registry::default(), size, &held).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(replayed, incremental);
    assert!(replayed.peer("MS-P-1").is_some(), "the private records were opened");
    assert!(replayed.peer("MS P 1").is_none() && replayed.peer("").is_none());
    // A mirror, without openings, sees the same credentials and no people.
    let mirror = replay(&store, Registry::default(), size, &NoOpenings).unwrap_or_else(|e| panic!("{e}"));
    assert!(mirror.peers.is_empty());
    let statuses = |r: &Registry| -> Vec<_> {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap_or_default();
        r.credentials
            .values()
            .map(|c| (c.number.clone(), c.status_on(day)))
            .collect()
    };
    assert_eq!(statuses(&mirror), statuses(&replayed));
}

fn entry(index: u64, body: pb::event::Body) -> Vec<u8> {
    let event = pb::Event {
        state: "MS".into(),
        index,
        event_id: format!("e-{index}"),
        recorded_at: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 5,
        }),
        body: Some(body),
    };
    sign_event(&event, &signer()).encode_to_vec()
}

#[test]
fn entries_read_in_place_agree_with_prost() {
    let mut held = Held::default();
    for (index, body) in (0..).zip(sealed(&kinds(), &mut held).into_iter().flatten()) {
        let bytes = entry(index, body);
        let (logged, event) = decode_entry(index, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let fields = entry_fields(&bytes).unwrap_or_else(|| panic!("entry {index} not read in place"));
        assert_eq!(
            (fields.event, fields.signature, fields.key_id),
            (&logged.event[..], &logged.signature[..], &logged.key_id[..])
        );
        let parts = event_parts(fields.event).unwrap_or_else(|| panic!("event {index} not read in place"));
        assert_eq!(
            (&parts.state[..], parts.index, &parts.body),
            (event.state.as_bytes(), event.index, &event.body)
        );
    }
    // What prost would merge, skip or refuse is left to prost.
    let public = sealed(
        &[bodies::enrol("MS-P-1", "Ada"), bodies::enrol("MS-P-2", "Bea")],
        &mut held,
    );
    let event = pb::Event {
        state: "MS".into(),
        body: public[0].clone(),
        ..Default::default()
    }
    .encode_to_vec();
    let mut twice = event.clone();
    twice.extend_from_slice(
        &pb::Event {
            body: public[1].clone(),
            ..Default::default()
        }
        .encode_to_vec(),
    );
    assert!(event_parts(&event).is_some());
    assert!(event_parts(&twice).is_none(), "a second body is prost's to merge");
    let mut unknown = event.clone();
    unknown.extend_from_slice(&[0xf8, 0x01, 0x01]);
    assert!(event_parts(&unknown).is_none());
    let mut bad_text = pb::Event {
        state: "MS".into(),
        ..Default::default()
    }
    .encode_to_vec();
    bad_text[2] = 0xff;
    assert!(event_parts(&bad_text).is_none());
    assert!(pb::Event::decode(&bad_text[..]).is_err());
    assert!(entry_fields(&[0x0a, 0x05, 1]).is_none(), "truncated");
    assert!(entry_fields(&[0x08, 0x01]).is_none(), "a varint field is prost's");
}

/// Peer `i`'s enrolment, or (for odd `i`) a change of the name of a peer
/// the first 1300 events enrolled.
fn enrolment_or_rename(i: usize) -> Body {
    match i % 2 {
        0 => crate::bench::enrolment(i),
        _ => Body::NameChanged(pb::NameChanged {
            peer_id: format!("MS-P-{:08}", i % 1300),
            new_legal_name: format!("Renamed {i}"),
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_equal_the_kept_registry_and_verification_catches_a_forgery() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ledger = crate::bench::open_ledger(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    // Enrolments first, then renames of them: more than two chunks in all.
    crate::bench::fill(&ledger, 0, 1300, 16, crate::bench::enrolment)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    crate::bench::fill(&ledger, 1300, 1300, 16, enrolment_or_rename)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let kept = ledger.registry();
    let verifier = ledger.verifier().clone();
    ledger.shutdown().await;
    let vault = crate::vault::Vault::open(&crate::vault::vault_path(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kept.size, 2600);

    for verify in [false, true] {
        let (registry, stats) = replay_log(
            dir.path(),
            &verifier,
            "MS",
            if verify { Checks::Signatures } else { Checks::None },
            &vault,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(registry, kept, "verify: {verify}");
        assert_eq!(stats.events, 2600);
    }
    assert_eq!(decode_log(dir.path()).map(|s| s.events).ok(), Some(2600));
    assert_eq!(
        batch_verify_log(dir.path(), &verifier).map(|s| s.events).ok(),
        Some(2600)
    );
    let wrong_state = replay_log(dir.path(), &verifier, "TN", Checks::Signatures, &vault).map(|_| ());
    assert!(matches!(wrong_state, Err(Error::DataLoss(_))), "{wrong_state:?}");

    // Entry 1500 replaced by one signed with another key: the plain replay
    // applies it, the verifying one refuses it.
    {
        let store = Store::open(&store_path(dir.path())).unwrap_or_else(|e| panic!("{e}"));
        let other = NoteSigner::from_seed("peerreg.local/ms", [2; 32]).unwrap_or_else(|e| panic!("{e}"));
        let mut forged = pb::Event::decode(
            &pb::LogEntry::decode(&store.entry(1500).ok().flatten().unwrap_or_default()[..])
                .unwrap_or_default()
                .event[..],
        )
        .unwrap_or_default();
        forged.body = Some(pb::event::Body::CredentialRenewed(pb::CredentialRenewed {
            imported: false,
            credential_number: "MS-FORGED".into(),
            renewed_on: "2026-01-01".into(),
            new_expires_on: "2030-01-01".into(),
        }));
        let mut entry = sign_event(&forged, &other);
        entry.key_id = verifier.key_id().to_vec();
        drop(store);
        // Written over the stored bundle, as an attacker with the disk would.
        let bundle = store_path(dir.path()).join("tile/entries/005");
        let bytes = std::fs::read(&bundle).unwrap_or_else(|e| panic!("{e}"));
        let mut entries: Vec<Vec<u8>> = crate::log::tiles::decode_bundle(&bytes)
            .unwrap_or_default()
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        entries[1500 - 5 * 256] = entry.encode_to_vec();
        let forged_bundle = crate::log::tiles::encode_bundle(&entries).unwrap_or_default();
        std::fs::write(&bundle, forged_bundle).unwrap_or_else(|e| panic!("{e}"));
    }
    let (plain, _) = replay_log(dir.path(), &verifier, "MS", Checks::None, &vault).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        plain.size, 2600,
        "the forged entry was applied (it changes nothing: no such credential)"
    );
    match replay_log(dir.path(), &verifier, "MS", Checks::Signatures, &vault) {
        Err(Error::DataLoss(why)) => assert!(why.contains("entry 1500"), "{why}"),
        other => panic!("a forged entry went unnoticed: {:?}", other.map(|(_, s)| s)),
    }
    assert!(batch_verify_log(dir.path(), &verifier).is_err());
}
