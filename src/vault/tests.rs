use std::fmt::Display;
use std::os::unix::fs::FileExt;

use super::*;
use crate::store::fault;
use crate::store::private::SLOT_LEN;

fn ok<T, E: Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

fn temp() -> tempfile::TempDir {
    ok(tempfile::tempdir())
}

/// A record with a distinctive body, and its commitment.
fn record(seed: u8, body: &str) -> (Bytes32, Opening) {
    let opened = Opening {
        opening: [seed; 32],
        tag: [seed ^ 0x55; 32],
        kind: RecordKind::Exam,
        body: body.as_bytes().to_vec(),
    };
    (opened.commitment(), opened)
}

fn secrets() -> PersonSecrets {
    ok(PersonSecrets::random())
}

/// Every file under `dir` (sled's old segments and blobs included) whose raw
/// bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for item in ok(std::fs::read_dir(&next)) {
            let path = ok(item).path();
            if path.is_dir() {
                pending.push(path);
            } else if ok(std::fs::read(&path)).windows(needle.len()).any(|w| w == needle) {
                found.push(path);
            }
        }
    }
    found
}

/// Person `id` with these records, committed in one batch.
fn enrol(vault: &Vault, id: &str, records: &[(Bytes32, Opening)]) -> (PersonRef, PersonSecrets) {
    let person = vault.person_ref(id);
    let keys = secrets();
    let batch = VaultBatch {
        new_people: vec![(person, keys.clone())],
        records: records.iter().map(|(c, o)| (person, *c, o.clone())).collect(),
        ..VaultBatch::default()
    };
    ok(vault.commit(&batch));
    (person, keys)
}

#[test]
fn records_round_trip_across_a_reopen() {
    let dir = temp();
    let path = vault_path(dir.path());
    let (c1, r1) = record(1, "exam score 71");
    let (c2, r2) = record(2, "exam score 93");
    let (node_key, person) = {
        let vault = ok(Vault::open(&path));
        let (person, _) = enrol(&vault, "MS-P-1", &[(c1, r1.clone()), (c2, r2.clone())]);
        let fingerprints = VaultBatch {
            fingerprints: vec![([7; 32], [8; 32])],
            ..VaultBatch::default()
        };
        ok(vault.commit(&fingerprints));
        (vault.node_key("snapshot"), person)
    };
    assert!(Vault::exists(&path));
    let vault = ok(Vault::open(&path));
    assert_eq!(vault.person_ref("MS-P-1"), person, "the node secret survives a reopen");
    assert_ne!(vault.person_ref("MS-P-2"), person);
    assert_eq!(vault.node_key("snapshot"), node_key);
    assert_eq!(ok(vault.record(&c1)), Some(r1));
    assert_eq!(ok(vault.record(&c2)), Some(r2));
    assert_eq!(ok(vault.record(&[9; 32])), None, "a commitment never stored");
    assert_eq!(ok(vault.person_of(&c1)), Some(person));
    let mut mine = ok(vault.records_of(&person));
    mine.sort();
    let mut expected = vec![c1, c2];
    expected.sort();
    assert_eq!(mine, expected);
    assert_eq!(ok(vault.fingerprint(&[7; 32])), Some([8; 32]));
    assert_eq!(ok(vault.fingerprint(&[6; 32])), None);
    assert_eq!(ok(vault.verify_all()), VaultCheck { people: 1, records: 2 });
    let first = ok(vault.private_store().records_page(None, 1));
    let rest = ok(vault
        .private_store()
        .records_page(first.last().map(|r| &r.commitment), 5));
    let paged: Vec<Bytes32> = first.iter().chain(&rest).map(|r| r.commitment).collect();
    assert_eq!(paged, expected, "pages continue after the last one, in order");
    assert!(!Vault::exists(&dir.path().join("elsewhere")));
}

#[test]
fn an_erased_person_leaves_no_key_or_body_in_any_file() {
    let dir = temp();
    let path = vault_path(dir.path());
    let body = "ALICE-LEGAL-NAME-Zyxwvut";
    let (c1, r1) = record(1, body);
    let (c2, r2) = record(2, "ALICE-EXAM-Qponmlk");
    let (c3, r3) = record(3, "BOB-EXAM");
    let (alice, data_key, k_subject) = {
        let vault = ok(Vault::open(&path));
        let (alice, keys) = enrol(&vault, "alice", &[(c1, r1), (c2, r2)]);
        enrol(&vault, "bob", &[(c3, r3.clone())]);
        assert!(files_containing(&path, body.as_bytes()).is_empty(), "bodies are sealed");
        assert!(
            !files_containing(&path, &keys.data_key).is_empty(),
            "the key is on disk"
        );
        let erase = VaultBatch {
            erase_people: vec![alice],
            ..VaultBatch::default()
        };
        ok(vault.commit(&erase));
        assert!(
            files_containing(&path, &keys.k_subject).is_empty(),
            "zeroed by the commit itself"
        );
        (alice, keys.data_key, keys.k_subject)
    };
    let vault = ok(Vault::open(&path));
    assert_eq!(ok(vault.record(&c1)), None);
    assert_eq!(ok(vault.record(&c2)), None);
    assert!(ok(vault.person(&alice)).is_none());
    assert!(ok(vault.records_of(&alice)).is_empty());
    assert_eq!(ok(vault.record(&c3)), Some(r3), "another person is untouched");
    assert_eq!(ok(vault.verify_all()), VaultCheck { people: 1, records: 1 });
    for secret in [&data_key[..], &k_subject[..], body.as_bytes(), b"ALICE-EXAM"] {
        assert_eq!(files_containing(&path, secret), Vec::<PathBuf>::new());
    }
}

#[test]
fn an_erased_record_rekeys_its_person_and_the_others_still_open() {
    let dir = temp();
    let path = vault_path(dir.path());
    let (c1, r1) = record(1, "training one");
    let (c2, r2) = record(2, "DISCIPLINE-SUMMARY-Hgfedcb");
    let (c3, r3) = record(3, "training three");
    let (c4, r4) = record(4, "added while re-keying");
    let (person, old) = {
        let vault = ok(Vault::open(&path));
        let (person, old) = enrol(&vault, "carol", &[(c1, r1.clone()), (c2, r2), (c3, r3.clone())]);
        let erase = VaultBatch {
            erase_records: vec![c2, [9; 32]],
            records: vec![(person, c4, r4.clone())],
            ..VaultBatch::default()
        };
        ok(vault.commit(&erase));
        assert!(
            files_containing(&path, &old.data_key).is_empty(),
            "zeroed by the commit itself"
        );
        (person, old)
    };
    let vault = ok(Vault::open(&path));
    assert_eq!(ok(vault.record(&c2)), None);
    assert_eq!(ok(vault.record(&c1)), Some(r1));
    assert_eq!(ok(vault.record(&c3)), Some(r3));
    assert_eq!(ok(vault.record(&c4)), Some(r4));
    let now = ok(vault.person(&person)).unwrap_or_else(|| panic!("the person is still there"));
    assert_ne!(now.data_key, old.data_key);
    assert_eq!(now.k_subject, old.k_subject, "the tags stay findable");
    assert_eq!(files_containing(&path, &old.data_key), Vec::<PathBuf>::new());
    assert_eq!(ok(vault.verify_all()), VaultCheck { people: 1, records: 3 });
    let two_at_once = VaultBatch {
        erase_records: vec![c1, c3],
        ..VaultBatch::default()
    };
    ok(vault.commit(&two_at_once));
    assert_eq!((ok(vault.record(&c1)), ok(vault.record(&c3))), (None, None));
    assert_eq!(ok(vault.records_of(&person)), vec![c4]);
    assert_eq!(ok(vault.verify_all()), VaultCheck { people: 1, records: 1 });
    assert!(files_containing(&path, &now.data_key).is_empty());
}

#[test]
fn a_flipped_byte_in_a_record_is_reported_as_damage_naming_it() {
    let dir = temp();
    let vault = ok(Vault::open(&vault_path(dir.path())));
    let (c1, r1) = record(1, "one");
    let (c2, r2) = record(2, "two");
    enrol(&vault, "dave", &[(c1, r1), (c2, r2)]);
    let store = vault.private_store();
    let mut raw = ok(store.raw_record(&c2)).unwrap_or_else(|| panic!("stored"));
    if let Some(last) = raw.last_mut() {
        *last ^= 1;
    }
    ok(store.damage_record(&c2, &raw));
    for result in [vault.verify_all().map(|_| ()), vault.record(&c2).map(|_| ())] {
        match result {
            Err(StoreError::Corrupt { detail, .. }) => assert!(detail.contains(&hex::encode(c2)), "{detail}"),
            other => panic!("expected damage, got {other:?}"),
        }
    }
}

#[test]
fn a_damaged_or_zeroed_key_slot_is_reported_naming_the_person() {
    for damage in [[0u8; SLOT_LEN].to_vec(), vec![0xFF]] {
        let dir = temp();
        let path = vault_path(dir.path());
        let (c1, r1) = record(1, "one");
        let person = {
            let vault = ok(Vault::open(&path));
            enrol(&vault, "erin", &[(c1, r1)]).0
        };
        let keys = ok(std::fs::OpenOptions::new().write(true).open(path.join("keys")));
        // Slot 1 is the first person's; its check is its last 8 bytes.
        ok(keys.write_all_at(&damage, (2 * SLOT_LEN - damage.len()) as u64));
        drop(keys);
        let vault = ok(Vault::open(&path));
        match vault.verify_all() {
            Err(StoreError::Corrupt { detail, .. }) => {
                assert!(
                    detail.contains(&hex::encode(person.0)) && detail.contains("slot 1"),
                    "{detail}"
                )
            }
            other => panic!("expected damage, got {other:?}"),
        }
        assert!(matches!(vault.person(&person), Err(StoreError::Corrupt { .. })));
    }
}

#[test]
fn a_failing_sync_fails_the_commit_and_a_retry_after_reopen_lands() {
    let dir = temp();
    let path = vault_path(dir.path());
    let vault = ok(Vault::open(&path));
    let (c1, r1) = record(1, "one");
    let person = vault.person_ref("frank");
    let batch = VaultBatch {
        new_people: vec![(person, secrets())],
        records: vec![(person, c1, r1.clone())],
        ..VaultBatch::default()
    };
    fault::fail_syncs_under(dir.path(), 28);
    let failed = vault.commit(&batch);
    fault::clear(dir.path());
    match failed {
        Err(StoreError::Io { source, .. }) => assert_eq!(source.raw_os_error(), Some(28)),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    ok(vault.reopen());
    assert_eq!(ok(vault.record(&c1)), None);
    let keys = ok(std::fs::read(path.join("keys")));
    assert!(
        keys[SLOT_LEN..].iter().all(|b| *b == 0),
        "the failed commit's slot is zeroed"
    );
    ok(vault.commit(&batch));
    drop(vault);
    let vault = ok(Vault::open(&path));
    assert_eq!(ok(vault.record(&c1)), Some(r1));
}

#[test]
fn a_failing_sled_sync_fails_the_commit() {
    let dir = temp();
    let path = vault_path(dir.path());
    let vault = ok(Vault::open(&path));
    let fingerprints = VaultBatch {
        fingerprints: vec![([1; 32], [2; 32])],
        ..VaultBatch::default()
    };
    // Only the database fails: no key slot is written by this batch.
    fault::fail_syncs_under(&path.join("db"), 28);
    let failed = vault.commit(&fingerprints);
    fault::clear(&path.join("db"));
    assert!(matches!(failed, Err(StoreError::Io { .. })), "{failed:?}");
}

#[test]
fn orphan_slots_are_zeroed_at_open() {
    let dir = temp();
    let path = vault_path(dir.path());
    let (c1, r1) = record(1, "one");
    {
        let vault = ok(Vault::open(&path));
        enrol(&vault, "gina", &[(c1, r1.clone())]);
    }
    // What a crash after writing slots but before their rows leaves: slot 3
    // (past a never-used slot 2) and a torn slot 4.
    let keys = ok(std::fs::OpenOptions::new().write(true).open(path.join("keys")));
    ok(keys.write_all_at(&[0xAB; SLOT_LEN], 3 * SLOT_LEN as u64));
    ok(keys.write_all_at(&[0xCD; 10], 4 * SLOT_LEN as u64));
    drop(keys);
    let vault = ok(Vault::open(&path));
    let bytes = ok(std::fs::read(path.join("keys")));
    assert_eq!(bytes.len(), 5 * SLOT_LEN);
    assert!(bytes[2 * SLOT_LEN..].iter().all(|b| *b == 0), "orphans zeroed");
    assert!(
        bytes[SLOT_LEN..2 * SLOT_LEN].iter().any(|b| *b != 0),
        "the person's slot kept"
    );
    assert_eq!(ok(vault.record(&c1)), Some(r1));
    // A freed slot is handed out again.
    enrol(&vault, "hank", &[]);
    assert_eq!(ok(std::fs::read(path.join("keys"))).len(), 5 * SLOT_LEN);
}

#[test]
fn impossible_writes_are_refused() {
    let dir = temp();
    let vault = ok(Vault::open(&vault_path(dir.path())));
    let (c1, r1) = record(1, "one");
    let stranger = vault.person_ref("nobody");
    let unknown = VaultBatch {
        records: vec![(stranger, c1, r1.clone())],
        ..VaultBatch::default()
    };
    assert!(matches!(vault.commit(&unknown), Err(StoreError::Refused { .. })));
    let (person, keys) = enrol(&vault, "ivan", &[]);
    let wrong = VaultBatch {
        records: vec![(person, [5; 32], r1.clone())],
        ..VaultBatch::default()
    };
    assert!(matches!(vault.commit(&wrong), Err(StoreError::Refused { .. })));
    let other_keys = VaultBatch {
        new_people: vec![(person, secrets())],
        ..VaultBatch::default()
    };
    assert!(matches!(vault.commit(&other_keys), Err(StoreError::Refused { .. })));
    let retried = VaultBatch {
        new_people: vec![(person, keys)],
        records: vec![(person, c1, r1.clone())],
        ..VaultBatch::default()
    };
    ok(vault.commit(&retried));
    assert_eq!(ok(vault.record(&c1)), Some(r1));
    assert_eq!(ok(vault.verify_all()), VaultCheck { people: 1, records: 1 });
}

#[test]
fn readers_never_see_a_record_and_a_key_of_different_generations() {
    let dir = temp();
    let vault = ok(Vault::open(&vault_path(dir.path())));
    let (c1, r1) = record(1, "kept");
    let (person, _) = enrol(&vault, "judy", &[(c1, r1.clone())]);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (vault, done) = (vault.clone(), done.clone());
        // Reads for as long as the commits below run, so every re-key races one.
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                assert_eq!(ok(vault.record(&c1)).as_ref(), Some(&r1));
            }
        })
    };
    for seed in 2..90u8 {
        let (c, r) = record(seed, "erased soon");
        let add = VaultBatch {
            records: vec![(person, c, r)],
            ..VaultBatch::default()
        };
        ok(vault.commit(&add));
        let erase = VaultBatch {
            erase_records: vec![c],
            ..VaultBatch::default()
        };
        ok(vault.commit(&erase));
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().is_ok(), "the reader saw damage");
}

#[test]
fn a_crash_before_an_erased_slot_is_zeroed_still_erases_it_at_the_next_open() {
    let dir = temp();
    let path = vault_path(dir.path());
    let (c1, r1) = record(1, "one");
    let slot = SLOT_LEN as u64..2 * SLOT_LEN as u64;
    let (person, keys, old_slot) = {
        let vault = ok(Vault::open(&path));
        let (person, keys) = enrol(&vault, "kim", &[(c1, r1)]);
        let old_slot = ok(std::fs::read(path.join("keys")))[slot.start as usize..slot.end as usize].to_vec();
        let erase = VaultBatch {
            erase_people: vec![person],
            ..VaultBatch::default()
        };
        ok(vault.commit(&erase));
        (person, keys, old_slot)
    };
    // The rows are gone but the slot's zeroing never reached the disk.
    let file = ok(std::fs::OpenOptions::new().write(true).open(path.join("keys")));
    ok(file.write_all_at(&old_slot, slot.start));
    drop(file);
    assert!(!files_containing(&path, &keys.k_subject).is_empty());
    let vault = ok(Vault::open(&path));
    assert!(files_containing(&path, &keys.k_subject).is_empty());
    assert!(ok(vault.person(&person)).is_none());
    assert_eq!(ok(vault.record(&c1)), None);
}
