//! Files and I/O errors: temp files that nothing planted can redirect, new
//! directories made durable, and a full or failing disk that pauses appends
//! with its own status (never `DATA_LOSS`) until it is fixed, without a restart.

mod common;

use std::fs;

use common::{enrolment, open_ledger};
use peerreg::error::Error;
use peerreg::ledger::{checkpoint_path, store_path, Ledger};
use peerreg::limits;
use peerreg::store::{fault, files};

/// Linux's numbers for "No space left on device" and "Input/output error".
const ENOSPC: i32 = 28;
const EIO: i32 = 5;

#[cfg(unix)]
#[test]
fn a_symlink_planted_at_a_temp_name_is_not_followed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outside = tempfile::tempdir().expect("temp dir");
    let target = outside.path().join("precious");
    fs::write(&target, b"precious").expect("write the target");
    // The temp name the node used to reuse for every write of `checkpoint`.
    let planted = dir.path().join(".checkpoint.tmp");
    std::os::unix::fs::symlink(&target, &planted).expect("plant a symlink");

    let path = dir.path().join("checkpoint");
    files::write_atomic(&path, b"new contents", files::Mode::Readable).expect("write");

    assert_eq!(fs::read(&target).expect("read the target"), b"precious");
    assert_eq!(fs::read(&path).expect("read the file"), b"new contents");
    assert!(fs::symlink_metadata(&path).expect("metadata").is_file());
    let names: Vec<String> = fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "no temp file is left behind: {names:?}");
}

#[test]
fn every_missing_parent_directory_is_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("a").join("b").join("c");
    files::create_dir_durable(&nested).expect("create");
    assert!(nested.is_dir());
    files::create_dir_durable(&nested).expect("an existing directory is fine");
}

fn published_size(ledger: &Ledger) -> u64 {
    ledger.published().checkpoint.size
}

async fn append(ledger: &Ledger, name: &str) -> peerreg::error::Result<peerreg::ledger::Receipt> {
    ledger.append(format!("evt-{name}"), enrolment(name)).await
}

/// Waits out the committer's retry interval, so the next append retries.
async fn let_the_committer_retry() {
    tokio::time::sleep(limits::IO_RETRY_INTERVAL + std::time::Duration::from_millis(50)).await;
}

#[tokio::test]
async fn a_full_disk_pauses_appends_and_they_resume_once_it_is_fixed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open_ledger(dir.path()).expect("open");
    for name in ["a", "b", "c"] {
        append(&ledger, name).await.expect("append");
    }
    let before = ledger.published();
    let entries_before = ledger.entries(0, 100).expect("entries");

    fault::fail_syncs_under(&store_path(dir.path()), ENOSPC);
    let refused = append(&ledger, "d").await;
    let Err(Error::ResourceExhausted(message)) = &refused else {
        panic!("a full disk must answer RESOURCE_EXHAUSTED, got {refused:?}");
    };
    assert!(message.contains("No space left on device"), "{message}");
    let_the_committer_retry().await;
    let again = append(&ledger, "e").await;
    assert!(matches!(again, Err(Error::ResourceExhausted(_))), "{again:?}");
    assert_eq!(
        ledger.published(),
        before,
        "nothing is published while the disk is full"
    );
    assert_eq!(ledger.entries(0, 100).expect("entries"), entries_before);
    assert_eq!(ledger.halted(), None, "a full disk is not corruption");

    fault::clear(&store_path(dir.path()));
    let_the_committer_retry().await;
    let retried = append(&ledger, "d").await.expect("appends resume");
    assert_eq!(
        (retried.index, retried.duplicate),
        (3, true),
        "the kept append is written once"
    );
    let next = append(&ledger, "f").await.expect("append");
    assert_eq!(next.index, 4, "'e' was refused before it was sequenced");
    assert_eq!(published_size(&ledger), 5);
    ledger.shutdown().await;

    let reopened = open_ledger(dir.path()).expect("the log opens and verifies");
    assert_eq!(published_size(&reopened), 5);
    reopened.shutdown().await;
}

#[tokio::test]
async fn a_failing_disk_answers_unavailable_not_data_loss() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open_ledger(dir.path()).expect("open");
    append(&ledger, "a").await.expect("append");

    fault::fail_syncs_under(dir.path(), EIO);
    let refused = append(&ledger, "b").await;
    assert!(
        matches!(&refused, Err(Error::Unavailable(m)) if m.contains("os error 5")),
        "{refused:?}"
    );
    fault::clear(dir.path());
    let_the_committer_retry().await;
    assert_eq!(append(&ledger, "c").await.expect("append").index, 2);
    ledger.shutdown().await;
}

/// A real fault in the tiles: the next entry bundle cannot be created while
/// a directory sits at its name. Nothing is acknowledged; appends wait.
#[tokio::test]
async fn an_unwritable_tile_file_pauses_appends_until_it_is_fixed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open_ledger(dir.path()).expect("open");
    let first_bundle: Vec<_> = (0..256)
        .map(|i| (format!("evt-fill-{i}"), enrolment(&format!("fill-{i}"))))
        .collect();
    for receipt in ledger.append_many(first_bundle).await.expect("appends") {
        receipt.expect("append");
    }
    assert_eq!(published_size(&ledger), 256);
    let next_bundle = store_path(dir.path()).join("tile/entries/001");
    fs::create_dir_all(next_bundle.join("blocker")).expect("a non-empty directory");

    let refused = append(&ledger, "b").await;
    assert!(matches!(refused, Err(Error::Unavailable(_))), "{refused:?}");
    assert_eq!(published_size(&ledger), 256);
    assert_eq!(ledger.halted(), None);

    fs::remove_dir_all(&next_bundle).expect("the operator removes the directory");
    let_the_committer_retry().await;
    assert_eq!(append(&ledger, "c").await.expect("append").index, 257);
    assert_eq!(published_size(&ledger), 258);
    ledger.shutdown().await;
    let reopened = open_ledger(dir.path()).expect("the log opens and verifies");
    assert_eq!(published_size(&reopened), 258);
    let published = checkpoint_path(dir.path());
    assert!(published.is_file(), "the copy outside the store is written at shutdown");
    reopened.shutdown().await;
}

#[tokio::test]
async fn temp_files_left_by_a_crash_are_removed_at_open_and_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = common::open_ledger(dir.path()).expect("open");
    append(&ledger, "kept").await.expect("append");
    let published = ledger.published();
    ledger.shutdown().await;
    let stale = dir.path().join(".checkpoint.0123456789abcdef.tmp");
    std::fs::write(&stale, b"a torn write").expect("plant a stale temp file");
    let lookalikes = [
        ".checkpoint.tmp",
        ".checkpoint.0123456789abcdeg.tmp",
        "notes.0123456789abcdef.tmp",
    ];
    for name in lookalikes {
        std::fs::write(dir.path().join(name), b"not ours").expect("plant a lookalike");
    }
    let reopened = common::open_ledger(dir.path()).expect("reopen");
    assert!(!stale.exists(), "the stale temp file is removed");
    for name in lookalikes {
        assert!(dir.path().join(name).exists(), "{name} is not a temp file of ours");
    }
    assert_eq!(reopened.published(), published);
    reopened.shutdown().await;
}
