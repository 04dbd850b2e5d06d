//! `peerreg backup` of a running node while a writer appends, and `peerreg
//! restore`: the restored node starts and its log audits at the manifest's
//! size; a damaged backup is refused; an old backup is refused while a
//! partner has verified a longer log, unless the rollback is accepted.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use common::{audited_size, enroll_through_cli, peerreg_cli, start_binary_node, wait_verified};
use peerreg::backup::{self, Manifest};

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

async fn take_backup(endpoint: &str, token: &str, to: &Path, keys: bool) -> (bool, String, String) {
    let mut args = vec!["backup", "--node", endpoint, "--to", text(to)];
    if keys {
        args.push("--include-keys");
    }
    peerreg_cli(&args, token).await
}

async fn restore(from: &Path, data: &Path, rollback: Option<&str>) -> (bool, String, String) {
    let mut args = vec!["restore", "--from", text(from), "--data", text(data)];
    if let Some(reason) = rollback {
        args.extend(["--accept-rollback", reason]);
    }
    peerreg_cli(&args, "").await
}

fn manifest(dir: &Path) -> Manifest {
    serde_json::from_slice(&std::fs::read(dir.join(backup::MANIFEST)).expect("manifest")).expect("json")
}

#[tokio::test]
async fn a_backup_taken_while_writing_restores_into_a_node_whose_log_audits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("ms");
    let ms = start_binary_node("MS", &data).await;
    let admin = ms.admin.clone().expect("first admin token");
    for i in 0..3 {
        assert!(enroll_through_cli(&ms.endpoint, &admin, &format!("MS-P-{i}")).await.0);
    }

    // A writer appends throughout the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, written, endpoint, admin) = (stop.clone(), written.clone(), ms.endpoint.clone(), admin.clone());
        tokio::spawn(async move {
            let mut i = 100;
            while !stop.load(Ordering::Relaxed) {
                let enrolled = enroll_through_cli(&endpoint, &admin, &format!("MS-P-{i}")).await;
                assert!(enrolled.0, "{enrolled:?}");
                written.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        })
    };
    while written.load(Ordering::Relaxed) < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let copy = dir.path().join("backup");
    let taken = take_backup(&ms.endpoint, &admin, &copy, true).await;
    let during = written.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.await.expect("writer");
    assert!(taken.0, "{taken:?}");
    assert!(taken.1.contains("checked against its manifest"), "{}", taken.1);
    let sums = manifest(&copy);
    assert!(
        sums.log_size >= 5,
        "the copy holds the entries before it: {}",
        sums.log_size
    );
    assert!(sums.include_keys && copy.join("log.key").exists());
    assert!(
        !data.join("backup.staging").exists(),
        "the node removed its staged copy"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&copy).expect("dir").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "a backup holding the key is the owner's alone");
    for file in [
        "log/checkpoint",
        "log/tile/entries/000",
        "log/index/db",
        "private/keys",
        "tokens.toml",
    ] {
        assert!(sums.files.iter().any(|f| f.path == file), "{file} is in the backup");
    }
    assert!(during >= 2, "the writer ran during the backup");

    // Refused: a data directory that holds a node's data.
    let over = restore(&copy, &data, None).await;
    assert!(
        !over.0 && over.2.contains("FAILED_PRECONDITION") && over.2.contains("not empty"),
        "{over:?}"
    );

    // Restored into a new directory: the node starts there, its log audits at the manifest's size.
    let restored = dir.path().join("restored");
    let done = restore(&copy, &restored, None).await;
    assert!(done.0, "{done:?}");
    assert!(
        done.1.contains(&format!("restored {} entries", sums.log_size)),
        "{}",
        done.1
    );
    drop(ms);
    let again = start_binary_node("MS", &restored).await;
    assert!(again.admin.is_none(), "the tokens came with the backup");
    let audit_state = dir.path().join("audit.json");
    assert_eq!(
        audited_size(&again.endpoint, &sums.verifier_key, &audit_state).await,
        sums.log_size
    );
    assert!(
        enroll_through_cli(&again.endpoint, &admin, "MS-P-AFTER").await.0,
        "the restored node signs on with the old token"
    );

    // A damaged file in a backup: refused, nothing written.
    let damaged = dir.path().join("damaged");
    std::fs::create_dir(&damaged).expect("dir");
    for f in &sums.files {
        let to = damaged.join(&f.path);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("dirs");
        std::fs::copy(copy.join(&f.path), &to).expect("copy");
    }
    std::fs::copy(copy.join(backup::MANIFEST), damaged.join(backup::MANIFEST)).expect("copy");
    let mut db = std::fs::read(damaged.join("log/tile/entries/000")).expect("a bundle");
    let middle = db.len() / 2;
    db[middle] ^= 0x55;
    std::fs::write(damaged.join("log/tile/entries/000"), db).expect("write");
    let target = dir.path().join("from-damaged");
    let refused = restore(&damaged, &target, None).await;
    assert!(!refused.0, "{refused:?}");
    assert!(
        refused.2.contains("DATA_LOSS") && refused.2.contains("log/tile/entries/000"),
        "{}",
        refused.2
    );
    assert!(!target.exists(), "nothing was written");
}

#[tokio::test]
async fn an_old_backup_is_refused_while_a_partner_has_seen_more_unless_the_rollback_is_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ms = start_binary_node("MS", &dir.path().join("ms")).await;
    let tn = start_binary_node("TN", &dir.path().join("tn")).await;
    let (admin, tn_admin) = (ms.admin.clone().expect("token"), tn.admin.clone().expect("token"));
    let trust = |node: &str, state: &str, endpoint: &str, key: &str| {
        let args: Vec<String> = [
            "trust",
            "add",
            "--node",
            node,
            "--state",
            state,
            "--endpoint",
            endpoint,
            "--key",
            key,
        ]
        .map(String::from)
        .to_vec();
        args
    };
    let ms_trusts_tn = trust(&ms.endpoint, "TN", &tn.endpoint, &tn.verifier_key);
    let tn_trusts_ms = trust(&tn.endpoint, "MS", &ms.endpoint, &ms.verifier_key);
    for (args, token) in [(ms_trusts_tn, &admin), (tn_trusts_ms, &tn_admin)] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let added = peerreg_cli(&args, token).await;
        assert!(added.0, "{added:?}");
    }
    for i in 0..2 {
        assert!(enroll_through_cli(&ms.endpoint, &admin, &format!("MS-P-{i}")).await.0);
    }
    let old = dir.path().join("old");
    let taken = take_backup(&ms.endpoint, &admin, &old, false).await;
    assert!(taken.0, "{taken:?}");
    let old_size = manifest(&old).log_size;
    assert!(!old.join("log.key").exists(), "no key without --include-keys");
    for i in 2..5 {
        assert!(enroll_through_cli(&ms.endpoint, &admin, &format!("MS-P-{i}")).await.0);
    }
    let seen = wait_verified(&tn.endpoint, "MS", old_size + 3).await;

    let target = dir.path().join("restored");
    let refused = restore(&old, &target, None).await;
    assert!(!refused.0, "{refused:?}");
    for named in [
        "FAILED_PRECONDITION",
        "TN",
        &format!("{old_size} entries"),
        &format!("{seen} entries"),
    ] {
        assert!(refused.2.contains(named), "names {named}: {}", refused.2);
    }
    assert!(!target.exists(), "nothing was written");

    let accepted = restore(&old, &target, Some("the disk failed; the newer entries are lost")).await;
    assert!(accepted.0, "{accepted:?}");
    assert!(accepted.1.contains("ROLLBACK accepted"), "{}", accepted.1);
    let why = std::fs::read_to_string(target.join(backup::ROLLBACK_FILE)).expect("reason kept");
    assert!(why.contains("the disk failed"), "{why}");
    assert!(accepted.1.contains("holds no signing key"), "{}", accepted.1);
}
