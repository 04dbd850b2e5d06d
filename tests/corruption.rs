//! Corruption sweep: a damaged store is refused or served identical to what was
//! published — never a panic as the only message, never fewer entries than
//! published, never a new checkpoint that forks the published one. The log's
//! files are its tiles (entry bundles and hash tiles), its two-slot checkpoint
//! and its sled index: a damaged tile is found at open (the tail, the tree's
//! right edge) or on read (entries against their leaf hashes, proofs against
//! the signed roots). The private
//! store (`private/`) is damaged the same way: refused at open, reported by its
//! sweep (`Ledger::check_private_store`), or intact — never a record silently lost.
//!
//! Short form in CI; `PEERREG_SLOW_TESTS=1` runs many more positions.

mod common;

use common::copy_tree;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{append_enrolments, open_ledger};
use peerreg::error::Error;
use peerreg::ledger::{Ledger, Published};
use peerreg::log::merkle::verify_consistency;
use peerreg::projection::Registry;
use peerreg::vault::VaultCheck;

#[derive(Clone, Debug)]
enum Damage {
    FlipByte(u64),
    Truncate,
    Delete,
    ZeroPage(u64),
}

#[derive(Debug, Default)]
struct Outcomes {
    refused_at_open: usize,
    refused_on_read: usize,
    /// Damage to the private store that its sweep found.
    reported_by_sweep: usize,
    served_identical: usize,
}

struct Pristine {
    dir: tempfile::TempDir,
    published: Published,
    entries: Vec<Vec<u8>>,
    registry: Registry,
    vault: VaultCheck,
}

async fn pristine(entries: usize) -> Pristine {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open_ledger(dir.path()).expect("open");
    let writers: Vec<_> = (0..64)
        .map(|w| {
            let ledger = ledger.clone();
            tokio::spawn(async move { append_enrolments(&ledger, &format!("w{w}"), entries / 64).await })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    let published = ledger.published();
    let size = published.checkpoint.size;
    let mut all = Vec::new();
    while (all.len() as u64) < size {
        all.extend(ledger.entries(all.len() as u64, size).expect("entries"));
    }
    let registry = ledger.registry();
    let vault = ledger
        .check_private_store()
        .expect("the pristine private store verifies")
        .expect("a board keeps a private store");
    assert_eq!(vault.records as usize, all.len(), "one private record per enrolment");
    ledger.shutdown().await;
    Pristine {
        dir,
        published,
        entries: all,
        registry,
        vault,
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for item in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = item.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn apply(file: &Path, damage: &Damage) {
    let mut bytes = std::fs::read(file).expect("read");
    match damage {
        Damage::FlipByte(at) => {
            if let Some(byte) = bytes.get_mut(*at as usize) {
                *byte ^= 0x5a;
            }
        }
        Damage::Truncate => bytes.truncate(bytes.len() / 2),
        Damage::Delete => {
            std::fs::remove_file(file).expect("delete");
            return;
        }
        Damage::ZeroPage(at) => {
            let start = (*at as usize / 4096) * 4096;
            let end = (start + 4096).min(bytes.len());
            if start < end {
                bytes[start..end].fill(0);
            }
        }
    }
    std::fs::write(file, bytes).expect("write damaged file");
}

/// Tiles the short form leaves out (160 of them hold 20,480 entries): it
/// damages the first, a middle and the newest bundle and hash tile, and the
/// level-1 tile; `PEERREG_SLOW_TESTS=1` damages every one.
fn is_unsampled_tile(file: &Path) -> bool {
    let text = file.to_string_lossy();
    let Some((_, tile)) = text.split_once("log/tile/") else {
        return false;
    };
    ![
        "entries/000",
        "entries/040",
        "entries/079",
        "0/000",
        "0/040",
        "0/079",
        "1/000",
    ]
    .contains(&tile)
}

/// Damages to try on one file: flips spread over it, plus truncate, delete, a zeroed page.
fn damages(len: u64, flips: u64, seed: u64) -> Vec<Damage> {
    let mut list: Vec<Damage> = (0..flips)
        .map(|i| Damage::FlipByte((i * len + seed) / flips.max(1) % len.max(1)))
        .collect();
    list.extend([
        Damage::Truncate,
        Damage::Delete,
        Damage::ZeroPage((seed * 4096) % len.max(1)),
    ]);
    list
}

/// Opens the damaged copy and classifies what the node does with it.
/// `private`: the damage is in the private store, which the sweep checks.
async fn trial(pristine: &Pristine, dir: &Path, private: bool, outcomes: &mut Outcomes, what: &str) {
    let owned = dir.to_path_buf();
    let opened = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || open_ledger(&owned)),
    )
    .await
    .unwrap_or_else(|_| panic!("{what}: opening hung"))
    .unwrap_or_else(|e| panic!("{what}: opening panicked past the store's guard: {e}"));
    let ledger = match opened {
        Err(error) => {
            assert!(!error.to_string().is_empty(), "{what}: a refusal must say why");
            outcomes.refused_at_open += 1;
            return;
        }
        Ok(ledger) => ledger,
    };
    let published = ledger.published();
    assert!(
        published.checkpoint.size >= pristine.published.checkpoint.size,
        "{what}: serves {} entries, {} were published",
        published.checkpoint.size,
        pristine.published.checkpoint.size
    );
    assert_eq!(published, pristine.published, "{what}: a different checkpoint");
    let size = published.checkpoint.size;
    let mut served = Vec::new();
    while (served.len() as u64) < size {
        match ledger.entries(served.len() as u64, size) {
            Ok(page) => served.extend(page),
            Err(Error::DataLoss(_)) => {
                assert!(
                    ledger.halted().is_some(),
                    "{what}: damage found on read must halt signing"
                );
                outcomes.refused_on_read += 1;
                check_no_fork(&ledger, pristine, what).await;
                ledger.shutdown().await;
                return;
            }
            Err(other) => panic!("{what}: reading failed with {other:?}"),
        }
    }
    assert!(
        served == pristine.entries,
        "{what}: served entries differ from the published log"
    );
    assert!(ledger.registry() == pristine.registry, "{what}: the registry differs");
    if private {
        match ledger.check_private_store() {
            Err(error) => {
                assert!(
                    matches!(error, Error::DataLoss(_)),
                    "{what}: damage is DATA_LOSS, got {error:?}"
                );
                assert!(!error.to_string().is_empty(), "{what}: a report must say why");
                outcomes.reported_by_sweep += 1;
                ledger.shutdown().await;
                return;
            }
            Ok(check) => assert_eq!(
                check,
                Some(pristine.vault),
                "{what}: private records were lost unnoticed"
            ),
        }
    }
    check_no_fork(&ledger, pristine, what).await;
    outcomes.served_identical += 1;
    ledger.shutdown().await;
}

/// An append is either refused or yields a checkpoint consistent with the published one.
async fn check_no_fork(ledger: &Ledger, pristine: &Pristine, what: &str) {
    let appended = ledger
        .append("after-damage".into(), common::enrolment("after-damage"))
        .await;
    if appended.is_err() {
        return;
    }
    let new = ledger.published().checkpoint;
    let old = &pristine.published.checkpoint;
    let proof = match ledger.consistency_proof(
        peerreg::log::merkle::TreeSize(old.size),
        peerreg::log::merkle::TreeSize(new.size),
    ) {
        Ok(proof) => proof,
        // A damaged tree hash met while proving: refused, signing halted.
        Err(Error::DataLoss(_)) if ledger.halted().is_some() => return,
        Err(other) => panic!("{what}: no consistency proof: {other:?}"),
    };
    assert!(
        verify_consistency(old.size, new.size, &proof, &old.root, &new.root),
        "{what}: signed a fork"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_damaged_store_is_refused_or_served_identical() {
    let slow = std::env::var("PEERREG_SLOW_TESTS").is_ok_and(|v| v == "1");
    let (entries, flips_per_file) = if slow { (20_480, 60) } else { (20_480, 6) };
    let pristine = pristine(entries).await;
    let mut outcomes = Outcomes::default();
    let files: Vec<PathBuf> = files_under(pristine.dir.path())
        .into_iter()
        .filter(|file| slow || !is_unsampled_tile(file))
        .collect();
    for target in [
        "log/index/db",
        "log/checkpoint",
        "log/tile/entries/000",
        "log/tile/0/079",
        "log/tile/1/000",
    ] {
        assert!(
            files.iter().any(|f| f.ends_with(target)),
            "{target} is among the targets"
        );
    }
    assert!(
        files.iter().any(|f| f.ends_with("private/keys")) && files.iter().any(|f| f.ends_with("private/db/db")),
        "the private store's key slots and rows are among the targets: {files:?}"
    );
    let scratch = tempfile::tempdir().expect("scratch dir");
    let mut trials = 0;
    for (number, file) in files.iter().enumerate() {
        let relative = file.strip_prefix(pristine.dir.path()).expect("inside").to_path_buf();
        let len = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        for damage in damages(len, flips_per_file, number as u64 * 7919) {
            let copy = scratch.path().join(format!("trial-{trials}"));
            copy_tree(pristine.dir.path(), &copy);
            apply(&copy.join(&relative), &damage);
            let what = format!("{} {damage:?}", relative.display());
            let private = relative.starts_with("private");
            trial(&pristine, &copy, private, &mut outcomes, &what).await;
            std::fs::remove_dir_all(&copy).expect("clean up");
            trials += 1;
        }
    }
    println!(
        "{trials} damaged stores of {} entries: {} refused at open, {} refused on read (signing halted), {} private \
         stores reported by the sweep, {} served identical, 0 panics, 0 forks",
        pristine.published.checkpoint.size,
        outcomes.refused_at_open,
        outcomes.refused_on_read,
        outcomes.reported_by_sweep,
        outcomes.served_identical
    );
    assert_eq!(
        trials,
        outcomes.refused_at_open + outcomes.refused_on_read + outcomes.reported_by_sweep + outcomes.served_identical
    );
}

/// A changed byte in one person's key slot: the node refuses to open, or its
/// private store's sweep names the damage (and halts signing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_key_slot_in_the_private_store_is_refused_or_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open_ledger(dir.path()).expect("open");
    append_enrolments(&ledger, "slot", 8).await;
    ledger.shutdown().await;
    let keys = dir.path().join("private").join("keys");
    let mut bytes = std::fs::read(&keys).expect("the key slots");
    let slot = 3 * peerreg::store::private::SLOT_LEN;
    assert!(bytes.len() > slot + 40, "slot 3 holds a person's keys");
    bytes[slot + 40] ^= 0x01;
    std::fs::write(&keys, bytes).expect("damage slot 3");

    match open_ledger(dir.path()) {
        Err(error) => assert!(!error.to_string().is_empty()),
        Ok(ledger) => {
            let error = ledger
                .check_private_store()
                .expect_err("the sweep finds the damaged slot");
            assert!(
                matches!(error, Error::DataLoss(_)),
                "damage, not another failure: {error:?}"
            );
            ledger.shutdown().await;
        }
    }
}
