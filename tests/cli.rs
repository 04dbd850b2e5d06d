//! The `peerreg` binary as an operator runs it.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const PEERREG: &str = env!("CARGO_BIN_EXE_peerreg");

#[tokio::test]
async fn serve_with_defaults_generates_a_private_key_audits_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("ms");
    let mut node = Command::new(PEERREG)
        .args(["serve", "--state", "ms", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start peerreg serve");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();
    let banner = lines.next_line().await.expect("read").expect("a banner line");
    let endpoint = banner.split_whitespace().last().expect("an address").to_string();
    assert!(banner.contains("MS log peerreg.local/ms (0 entries)"), "{banner}");
    let key_line = lines.next_line().await.expect("read").expect("a key line");
    let verifier_key = key_line
        .strip_prefix("verifier key: ")
        .expect("the verifier key is printed")
        .to_string();
    assert!(verifier_key.starts_with("peerreg.local/ms+"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data_dir.join("log.key"))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the signing key is private");
    }

    let audit = Command::new(PEERREG)
        .args([
            "audit",
            "--endpoint",
            &endpoint,
            "--verifier-key",
            &verifier_key,
            "--state-file",
        ])
        .arg(dir.path().join("audit.json"))
        .output()
        .await
        .expect("run audit");
    assert!(audit.status.success(), "{}", String::from_utf8_lossy(&audit.stderr));
    assert!(String::from_utf8_lossy(&audit.stdout).contains("audit OK: peerreg.local/ms has 0 entries"));

    let pid = node.id().expect("running").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("send SIGTERM");
    assert!(killed.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), node.wait())
        .await
        .expect("stops")
        .expect("exit");
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");

    // The same data directory and key serve the same log again.
    let mut again = Command::new(PEERREG)
        .args(["serve", "--state", "MS", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("restart");
    let mut lines = BufReader::new(again.stdout.take().expect("stdout")).lines();
    lines.next_line().await.expect("read").expect("banner");
    let key_again = lines.next_line().await.expect("read").expect("key line");
    assert_eq!(key_again, key_line, "the key generated at first start is reused");
    again.kill().await.expect("kill");
}

#[tokio::test]
async fn keygen_writes_a_key_once_and_bad_flags_fail_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("tn.key");
    let made = Command::new(PEERREG)
        .args(["keygen", "--origin", "peerreg.local/tn", "--out"])
        .arg(&key)
        .output();
    let made = made.await.expect("keygen");
    assert!(made.status.success());
    assert!(String::from_utf8_lossy(&made.stdout).starts_with("peerreg.local/tn+"));
    let again = Command::new(PEERREG)
        .args(["keygen", "--origin", "peerreg.local/tn", "--out"])
        .arg(&key)
        .output();
    let again = again.await.expect("keygen again");
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));

    let bad_state = Command::new(PEERREG)
        .args(["serve", "--state", "ZZ"])
        .output()
        .await
        .expect("serve");
    assert!(!bad_state.status.success());
    assert!(String::from_utf8_lossy(&bad_state.stderr).contains("not a US state"));
}
