//! Tokens changed on a running node through the `peerreg token` commands:
//! an added token works at once, a revoked one fails on its next call, and
//! the changes survive a restart.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const PEERREG: &str = env!("CARGO_BIN_EXE_peerreg");

/// Starts `peerreg serve --state MS` on `data_dir`; returns the process, its
/// endpoint and, on a `first` start, the admin token it printed.
async fn start(data_dir: &std::path::Path, first: bool) -> (Child, String, Option<String>) {
    let mut node = Command::new(PEERREG)
        .args(["serve", "--state", "MS", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start peerreg serve");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();
    let banner = lines.next_line().await.expect("read").expect("banner");
    let endpoint = banner.split_whitespace().last().expect("address").to_string();
    let _key = lines.next_line().await.expect("read").expect("key line");
    let mut token = None;
    if first {
        let line = lines.next_line().await.expect("read").expect("token line");
        assert!(line.starts_with("admin token"), "{line}");
        token = line.split_whitespace().last().map(String::from);
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (node, endpoint, token)
}

/// Runs `peerreg <args>` against `endpoint` as `token`; returns (success,
/// stdout, stderr). `board` takes `--endpoint` before its subcommand.
async fn run(args: &[&str], endpoint: &str, token: &str) -> (bool, String, String) {
    let mut args = args.to_vec();
    let at = if args[0] == "board" { 1 } else { args.len() };
    args.splice(at..at, ["--endpoint", endpoint]);
    let output = Command::new(PEERREG)
        .args(&args)
        .env("PEERREG_TOKEN", token)
        .env_remove("PEERREG_NEW_TOKEN_SECRET")
        .output()
        .await
        .expect("run peerreg");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// The secret `peerreg token add` printed.
fn secret(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap_or_else(|| panic!("no secret in {out:?}"))
        .to_string()
}

fn training(course: &str) -> Vec<String> {
    [
        "board",
        "training",
        "--peer-id",
        "MS-P-1",
        "--course-id",
        course,
        "--title",
        "Core training",
        "--provider",
        "DMH",
        "--hours",
        "30",
        "--completed-on",
        "2024-02-01",
    ]
    .map(String::from)
    .to_vec()
}

async fn record_training(course: &str, endpoint: &str, token: &str) -> (bool, String, String) {
    let args = training(course);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args, endpoint, token).await
}

#[tokio::test]
async fn tokens_are_added_used_listed_and_revoked_on_a_running_node_and_kept_across_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("ms");
    let (mut node, e, admin) = start(&data, true).await;
    let admin = admin.expect("a first admin token");
    let enrolled = run(
        &[
            "board",
            "enroll",
            "--peer-id",
            "MS-P-1",
            "--name",
            "Ada Lovelace",
            "--attested",
        ],
        &e,
        &admin,
    )
    .await;
    assert!(enrolled.0, "{enrolled:?}");

    // Added: works at once, for what it may do and nothing else.
    let added = run(&["token", "add", "clerk", "--rights", "record_training"], &e, &admin).await;
    assert!(added.0, "{added:?}");
    let clerk = secret(&added.1);
    let used = record_training("MS-CORE", &e, &clerk).await;
    assert!(used.0, "the new token works at once: {used:?}");
    let denied = run(&["token", "list"], &e, &clerk).await;
    assert!(!denied.0 && denied.2.contains("PERMISSION_DENIED"), "{denied:?}");
    let denied = run(&["token", "add", "x", "--rights", "*"], &e, &clerk).await;
    assert!(!denied.0 && denied.2.contains("PERMISSION_DENIED"), "{denied:?}");

    // Listed without secrets or hashes.
    let listed = run(&["token", "list"], &e, &admin).await;
    assert!(listed.0, "{listed:?}");
    assert!(listed.1.contains("clerk  rights: record_training") && listed.1.contains("admin  rights: *"));
    let stored = std::fs::read_to_string(data.join("tokens.toml")).expect("token file");
    let hash = peerreg::auth::hash_token(&clerk);
    assert!(stored.contains(&hash) && !stored.contains(&clerk), "kept hashed only");
    for shown in [&clerk, &hash, &admin, &peerreg::auth::hash_token(&admin)] {
        assert!(!listed.1.contains(shown.as_str()), "list shows no secret or hash");
    }

    // Refused: an expiry already past, a weak chosen secret, a bad name, unknown rights.
    let past = run(
        &[
            "token",
            "add",
            "old",
            "--rights",
            "view_records",
            "--expires",
            "2020-01-01",
        ],
        &e,
        &admin,
    )
    .await;
    assert!(
        !past.0 && past.2.contains("INVALID_ARGUMENT") && past.2.contains("not in the future"),
        "{past:?}"
    );
    for weak in [
        "password",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "abababababababababababababababab12",
    ] {
        let refused = run(
            &["token", "add", "weak", "--rights", "view_records", "--secret", weak],
            &e,
            &admin,
        )
        .await;
        assert!(
            !refused.0 && refused.2.contains("INVALID_ARGUMENT") && refused.2.contains("too weak"),
            "{weak}: {refused:?}"
        );
    }
    let bad_name = run(&["token", "add", "a b", "--rights", "view_records"], &e, &admin).await;
    assert!(!bad_name.0 && bad_name.2.contains("INVALID_ARGUMENT"), "{bad_name:?}");
    let bad_right = run(&["token", "add", "fly", "--rights", "fly"], &e, &admin).await;
    assert!(
        !bad_right.0 && bad_right.2.contains("INVALID_ARGUMENT"),
        "{bad_right:?}"
    );
    let duplicate = run(&["token", "add", "clerk", "--rights", "view_records"], &e, &admin).await;
    assert!(!duplicate.0 && duplicate.2.contains("ALREADY_EXISTS"), "{duplicate:?}");
    let after = run(&["token", "list"], &e, &admin).await;
    assert_eq!(after.1, listed.1, "refused adds change nothing");

    // A strong chosen secret, with an expiry in the future, is accepted and works.
    let chosen = "Zq4vN8rT2wX6yB1cD5eF9gH3jK7mP0sU";
    let strong = run(
        &[
            "token",
            "add",
            "reader",
            "--rights",
            "record_training",
            "--expires",
            "2999-12-31",
            "--secret",
            chosen,
        ],
        &e,
        &admin,
    )
    .await;
    assert!(strong.0 && secret(&strong.1) == chosen, "{strong:?}");
    assert!(record_training("MS-CORE-2", &e, chosen).await.0);
    let listed = run(&["token", "list"], &e, &admin).await;
    assert!(listed.1.contains("expires: 3000-01-01 00:00:00Z"), "{listed:?}");

    // Revoked: its very next call fails.
    let revoked = run(&["token", "revoke", "clerk"], &e, &admin).await;
    assert!(revoked.0, "{revoked:?}");
    let refused = record_training("MS-CORE-3", &e, &clerk).await;
    assert!(!refused.0 && refused.2.contains("UNAUTHENTICATED"), "{refused:?}");
    let unknown = run(&["token", "revoke", "nobody"], &e, &admin).await;
    assert!(!unknown.0 && unknown.2.contains("NOT_FOUND"), "{unknown:?}");
    let last_admin = run(&["token", "revoke", "admin"], &e, &admin).await;
    assert!(
        !last_admin.0 && last_admin.2.contains("FAILED_PRECONDITION"),
        "{last_admin:?}"
    );

    // Restart: the added token still works, the revoked one still fails.
    node.kill().await.expect("stop the node");
    let _ = node.wait().await;
    let (mut node, e, _) = start(&data, false).await;
    assert!(record_training("MS-CORE-4", &e, chosen).await.0, "added token kept");
    let refused = record_training("MS-CORE-5", &e, &clerk).await;
    assert!(
        !refused.0 && refused.2.contains("UNAUTHENTICATED"),
        "revocation kept: {refused:?}"
    );
    let listed = run(&["token", "list"], &e, &admin).await;
    assert!(
        listed.1.contains("reader") && !listed.1.contains("clerk") && listed.1.contains("2 token(s)"),
        "{listed:?}"
    );
    node.kill().await.expect("stop the node");
}
