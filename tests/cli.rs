//! The `peerreg` binary as an operator runs it.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const PEERREG: &str = env!("CARGO_BIN_EXE_peerreg");

type Lines = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// Starts `peerreg serve --state <state>` on a free loopback port; returns the
/// process and its stdout lines (banner first).
fn start_serve(state: &str, data_dir: &std::path::Path) -> (tokio::process::Child, Lines) {
    let mut node = Command::new(PEERREG)
        .args(["serve", "--state", state, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start peerreg serve");
    let lines = BufReader::new(node.stdout.take().expect("stdout")).lines();
    (node, lines)
}

#[tokio::test]
async fn serve_with_defaults_generates_a_private_key_audits_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("ms");
    let (mut node, mut lines) = start_serve("ms", &data_dir);
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

    // An employer's open watch stream must not hold the shutdown forever.
    let watcher = Command::new(PEERREG)
        .args(["watch", "--endpoint", &endpoint, "--credential", "MS-NONE"])
        .output();
    let refused = watcher.await.expect("watch");
    assert!(!refused.status.success(), "an unknown credential cannot be watched");
    let channel = peerreg::service::client::connect(&endpoint).await.expect("connect");
    let mut log = peerreg::service::rpc::transparency_log_client::TransparencyLogClient::new(channel);
    let open_stream = log
        .watch_entries(peerreg::pb::WatchEntriesRequest { from_index: 0 })
        .await
        .expect("a stream");
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
    drop(open_stream);

    // The same data directory and key serve the same log again.
    let (mut again, mut lines) = start_serve("MS", &data_dir);
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

/// Runs `peerreg <args>` with `PEERREG_TOKEN` set; returns (success, stdout, stderr).
async fn peerreg(args: &[&str], token: &str) -> (bool, String, String) {
    let output = Command::new(PEERREG)
        .args(args)
        .env("PEERREG_TOKEN", token)
        .output()
        .await
        .expect("run peerreg");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

#[tokio::test]
async fn the_readme_walk_through_certifies_checks_and_audits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut node, mut lines) = start_serve("MS", &dir.path().join("ms"));
    let banner = lines.next_line().await.expect("read").expect("banner");
    let endpoint = banner.split_whitespace().last().expect("address").to_string();
    let key = lines
        .next_line()
        .await
        .expect("read")
        .expect("key line")
        .replace("verifier key: ", "");
    let token_line = lines
        .next_line()
        .await
        .expect("read")
        .expect("the first admin token is printed once");
    let token = token_line.split_whitespace().last().expect("a token").to_string();
    assert!(token.starts_with("peerreg_"), "{token_line}");

    let e = endpoint.as_str();
    let mut steps: Vec<Vec<&str>> = vec![
        vec![
            "board",
            "--endpoint",
            e,
            "enroll",
            "--peer-id",
            "MS-P-1",
            "--name",
            "Ada Lovelace",
            "--attested",
            "--ethics-signed",
        ],
        vec![
            "board",
            "--endpoint",
            e,
            "training",
            "--peer-id",
            "MS-P-1",
            "--course-id",
            "MS-CORE",
            "--title",
            "Core training",
            "--provider",
            "DMH",
            "--hours",
            "32",
            "--completed-on",
            "2024-02-01",
            "--domain",
            "ethical_responsibility=8",
            "--domain",
            "shares_lived_experience=6",
            "--domain",
            "engages_peers=4",
            "--domain",
            "supports_recovery_planning=4",
            "--domain",
            "helps_manage_crises=4",
            "--domain",
            "links_to_resources=2",
        ],
        vec![
            "board",
            "--endpoint",
            e,
            "exam",
            "--peer-id",
            "MS-P-1",
            "--exam-id",
            "MS-EXAM",
            "--score",
            "88",
            "--pass-mark",
            "75",
            "--taken-on",
            "2024-02-15",
        ],
        vec![
            "board",
            "--endpoint",
            e,
            "experience",
            "--peer-id",
            "MS-P-1",
            "--kind",
            "volunteer",
            "--hours",
            "260",
            "--from",
            "2023-01-01",
            "--to",
            "2024-01-31",
        ],
        vec![
            "board",
            "--endpoint",
            e,
            "issue",
            "--peer-id",
            "MS-P-1",
            "--number",
            "MS-CPSS-0001",
            "--issued-on",
            "2024-03-01",
            "--expires-on",
            "2026-02-28",
        ],
    ];
    // Mississippi's toolkit evidence, recorded before the issue (the last step).
    let evidence = [
        ("education", "2024-01-10", "GED certificate seen"),
        ("reading_writing", "2024-01-10", "writing sample reviewed"),
        ("residency", "2024-01-10", "Mississippi address verified"),
        ("reference", "2024-01-20", "reference form 1 of 2"),
        ("reference", "2024-01-22", "reference form 2 of 2"),
        ("pre_training", "2024-01-25", "online pre-training completed"),
        ("employment", "2024-01-29", "employed by a DMH-certified provider"),
        ("application", "2024-01-31", "certification application received"),
    ];
    let issue_step = steps.pop().expect("the issue step");
    for (requirement, on, detail) in evidence {
        steps.push(vec![
            "board",
            "--endpoint",
            e,
            "evidence",
            "--peer-id",
            "MS-P-1",
            "--requirement",
            requirement,
            "--on",
            on,
            "--detail",
            detail,
        ]);
    }
    steps.push(issue_step);
    let mut event_ids = Vec::new();
    for step in &steps {
        let (ok, out, err) = peerreg(step, &token).await;
        assert!(ok && out.contains("recorded as entry"), "{step:?}: {out}{err}");
        let id = out.split("(event id ").nth(1).and_then(|rest| rest.split(')').next());
        event_ids.push(id.expect("the receipt names its event id").to_string());
    }
    // The public log holds none of it in clear: no name, peer id, course,
    // provider or exam, and not the client's event ids (DESIGN.md §8).
    let log = peerreg::service::client::LogClient::connect(e).await.expect("connect");
    let total = steps.len();
    let entries = log.entries(0, total as u64).await.expect("entries");
    assert_eq!(entries.len(), total, "one page holds every entry");
    let entries = entries.concat();
    let mut private = vec![
        "Ada Lovelace",
        "MS-P-1",
        "Core training",
        "DMH",
        "MS-EXAM",
        "GED certificate seen",
        "Mississippi address verified",
    ];
    private.extend(event_ids.iter().map(String::as_str));
    for needle in private {
        let found = entries.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!found, "the public log holds {needle:?}");
    }
    assert!(
        entries.windows(12).any(|w| w == b"MS-CPSS-0001"),
        "the credential number is a public fact"
    );
    let (ok, out, _) = peerreg(
        &[
            "check",
            "--endpoint",
            e,
            "--credential",
            "MS-CPSS-0001",
            "--as-of",
            "2025-06-01",
        ],
        "",
    )
    .await;
    assert!(ok && out.contains("Ada Lovelace: ACTIVE on 2025-06-01"), "{out}");
    let (ok, out, _) = peerreg(
        &["check", "--endpoint", e, "--credential", "MS-CPSS-0001", "--json"],
        "",
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert!(
        ok && json["credential_number"] == "MS-CPSS-0001" && json["status"].is_string(),
        "{out}"
    );
    let roster = dir.path().join("roster.csv");
    let report = dir.path().join("report.csv");
    std::fs::write(
        &roster,
        "credential_number,name,date_of_service\nMS-CPSS-0001,Ada Lovelace,2025-06-01\nMS-NOPE,,\n",
    )
    .expect("write a roster");
    let (r, o) = (
        roster.to_string_lossy().into_owned(),
        report.to_string_lossy().into_owned(),
    );
    let (ok, out, err) = peerreg(&["check", "--endpoint", e, "--roster", &r, "--out", &o], "").await;
    assert!(ok && out.contains("checked 2 roster lines: 1 active"), "{out}{err}");
    let written = std::fs::read_to_string(&report).expect("the report");
    assert!(
        written.contains("MS-CPSS-0001,Ada Lovelace,2025-06-01,ACTIVE"),
        "{written}"
    );
    assert!(
        written.contains("MS-NOPE") && written.contains("NOT_FOUND"),
        "{written}"
    );

    let (ok, _, err) = peerreg(
        &[
            "board",
            "--endpoint",
            e,
            "renew",
            "--number",
            "MS-CPSS-0001",
            "--renewed-on",
            "2026-01-10",
            "--expires-on",
            "2028-02-28",
        ],
        &token,
    )
    .await;
    assert!(
        !ok && err.contains("FAILED_PRECONDITION") && err.contains("continuing education"),
        "{err}"
    );
    let (ok, _, err) = peerreg(
        &[
            "board",
            "--endpoint",
            e,
            "enroll",
            "--peer-id",
            "MS-P-2",
            "--name",
            "Eve",
        ],
        "wrong",
    )
    .await;
    assert!(!ok && err.contains("UNAUTHENTICATED"), "{err}");

    let audit = Command::new(PEERREG)
        .args(["audit", "--endpoint", e, "--verifier-key", &key, "--state-file"])
        .arg(dir.path().join("audit.json"))
        .output()
        .await
        .expect("audit");
    let audited = format!("audit OK: peerreg.local/ms has {total} entries");
    assert!(String::from_utf8_lossy(&audit.stdout).contains(&audited));
    node.kill().await.expect("kill");
}

#[tokio::test]
async fn serve_mirror_follows_another_node_and_audit_origin_reads_through_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut ms, mut ms_lines) = start_serve("MS", &dir.path().join("ms"));
    let ms_endpoint = ms_lines.next_line().await.expect("read").expect("banner");
    let ms_endpoint = ms_endpoint.split_whitespace().last().expect("address").to_string();
    let ms_key = ms_lines
        .next_line()
        .await
        .expect("read")
        .expect("key")
        .replace("verifier key: ", "");

    let mirror = format!("peerreg.local/ms={ms_endpoint}:{ms_key}");
    let mut tn = Command::new(PEERREG)
        .args([
            "serve",
            "--state",
            "TN",
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--mirror",
            &mirror,
            "--data-dir",
        ])
        .arg(dir.path().join("tn"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the TN node with a mirror");
    let mut tn_lines = BufReader::new(tn.stdout.take().expect("stdout")).lines();
    let mut mirrored = String::new();
    let mut tn_endpoint = String::new();
    while let Some(line) = tn_lines.next_line().await.expect("read") {
        if line.starts_with("peerreg: TN") {
            tn_endpoint = line.split_whitespace().last().expect("address").to_string();
        }
        if line.starts_with("mirroring") {
            mirrored = line;
        }
        if !tn_endpoint.is_empty() && !mirrored.is_empty() {
            break;
        }
    }
    assert!(
        mirrored.starts_with("mirroring peerreg.local/ms (0 entries)"),
        "{mirrored}"
    );
    // A new mirror starts empty and catches up in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let audit = Command::new(PEERREG)
            .args([
                "audit",
                "--endpoint",
                &tn_endpoint,
                "--origin",
                "peerreg.local/ms",
                "--verifier-key",
                &ms_key,
            ])
            .arg("--state-file")
            .arg(dir.path().join("audit.json"))
            .output()
            .await
            .expect("audit through the mirror");
        let out = String::from_utf8_lossy(&audit.stdout);
        if audit.status.success() && out.contains("audit OK: peerreg.local/ms") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{out}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    tn.kill().await.expect("kill TN");
    ms.kill().await.expect("kill MS");
}

/// A fresh node with its endpoint, verifier key and first admin token, as an
/// operator reads them from its first lines.
async fn start_with_token(state: &str, data_dir: &std::path::Path) -> (tokio::process::Child, String, String, String) {
    let (node, mut lines) = start_serve(state, data_dir);
    let banner = lines.next_line().await.expect("read").expect("banner");
    let endpoint = banner.split_whitespace().last().expect("address").to_string();
    let key = lines
        .next_line()
        .await
        .expect("read")
        .expect("key line")
        .replace("verifier key: ", "");
    let token_line = lines.next_line().await.expect("read").expect("token line");
    let token = token_line.split_whitespace().last().expect("a token").to_string();
    (node, endpoint, key, token)
}

/// The log's size, as an auditor holding only the verifier key sees it.
async fn audited_size(endpoint: &str, key: &str, state_file: &std::path::Path) -> u64 {
    let audit = Command::new(PEERREG)
        .args(["audit", "--endpoint", endpoint, "--verifier-key", key, "--state-file"])
        .arg(state_file)
        .output()
        .await
        .expect("audit");
    let out = String::from_utf8_lossy(&audit.stdout).into_owned();
    assert!(
        audit.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let (_, rest) = out.split_once(" has ").expect("audit OK: <origin> has N entries");
    rest.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a size")
}

/// `peerreg board --endpoint <endpoint> <args>`.
fn board<'a>(endpoint: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    [&["board", "--endpoint", endpoint][..], args].concat()
}

/// The index a board command's receipt names ("recorded as entry N ...").
fn entry_index(out: &str) -> u64 {
    out.strip_prefix("recorded as entry ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no receipt in {out:?}"))
}

#[tokio::test]
async fn board_consent_void_and_expunge_through_the_binary_and_bad_input_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut node, endpoint, key, token) = start_with_token("MS", &dir.path().join("ms")).await;
    let audit_state = dir.path().join("audit.json");
    let e = endpoint.as_str();
    let records: [&[&str]; 3] = [
        &["enroll", "--peer-id", "MS-P-1", "--name", "Ada Lovelace", "--attested"],
        &[
            "training",
            "--peer-id",
            "MS-P-1",
            "--course-id",
            "MS-CORE",
            "--title",
            "Core training",
            "--provider",
            "DMH",
            "--hours",
            "30",
            "--completed-on",
            "2024-02-01",
        ],
        &[
            "exam",
            "--peer-id",
            "MS-P-1",
            "--exam-id",
            "MS-EXAM",
            "--score",
            "61",
            "--pass-mark",
            "75",
            "--taken-on",
            "2024-02-15",
        ],
    ];
    let mut indices = Vec::new();
    for args in records {
        let (ok, out, err) = peerreg(&board(e, args), &token).await;
        assert!(ok, "{args:?}: {out}{err}");
        indices.push(entry_index(&out));
    }
    let (training, exam) = (indices[1], indices[2]);

    let until = (chrono::Utc::now().date_naive() + chrono::Days::new(90)).to_string();
    let consent = [
        "consent",
        "--peer-id",
        "MS-P-1",
        "--state",
        "TN",
        "--until",
        until.as_str(),
    ];
    let (ok, out, err) = peerreg(&board(e, &consent), &token).await;
    assert!(ok && out.starts_with("recorded as entry 3"), "{out}{err}");
    let view =
        |token: String| async move { peerreg(&["record", "--endpoint", e, "--peer-id", "MS-P-1"], &token).await };
    let (ok, out, err) = view(token.clone()).await;
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("consent to disclose to TN until {until} [log index 3]"))
            && out.contains("no disclosures"),
        "{out}"
    );

    // Bad input: a clear error with the right code, and the log unchanged.
    let size = audited_size(e, &key, &audit_state).await;
    assert_eq!(size, 4);
    let p1 = ["--peer-id", "MS-P-1"];
    let refused: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            [&["consent"][..], &p1, &["--state", "TN", "--until", "2027-02-30"]].concat(),
            "INVALID_ARGUMENT",
            "2027-02-30",
        ),
        (
            [&["consent"][..], &p1, &["--state", "Tennessee", "--until", &until]].concat(),
            "INVALID_ARGUMENT",
            "Tennessee",
        ),
        (
            [&["consent"][..], &p1, &["--state", "MS", "--until", &until]].concat(),
            "FAILED_PRECONDITION",
            "MS",
        ),
        (
            vec![
                "consent",
                "--peer-id",
                "MS-P-NOBODY",
                "--state",
                "TN",
                "--until",
                &until,
            ],
            "NOT_FOUND",
            "MS-P-NOBODY",
        ),
        (
            vec!["expunge", "--record", "1", "--reason", "because"],
            "INVALID_ARGUMENT",
            "court_order, statute, person_request, retention_ended",
        ),
        (
            [&["expunge"][..], &p1, &["--record", "1", "--reason", "court_order"]].concat(),
            "--record",
            "cannot be used with",
        ),
        (vec!["expunge", "--reason", "court_order"], "--peer-id", "required"),
        (
            vec!["void", "--record", "1", "--reason", "typed the wrong hours"],
            "INVALID_ARGUMENT",
            "entered_in_error, duplicate, wrong_person",
        ),
        (
            vec!["void", "--record", "two", "--reason", "duplicate"],
            "--record",
            "invalid value",
        ),
        (
            vec!["void", "--record", "999", "--reason", "duplicate"],
            "NOT_FOUND",
            "999",
        ),
        (
            vec!["void", "--record", "0", "--reason", "duplicate"],
            "FAILED_PRECONDITION",
            "",
        ),
    ];
    for (args, code, detail) in &refused {
        let (ok, out, err) = peerreg(&board(e, args), &token).await;
        assert!(!ok, "{args:?} was accepted: {out}");
        assert!(err.contains(code) && err.contains(detail), "{args:?}: {err}");
    }
    let (ok, _, err) = peerreg(&board(e, &consent), "wrong").await;
    assert!(!ok && err.contains("UNAUTHENTICATED"), "{err}");
    assert_eq!(audited_size(e, &key, &audit_state).await, size, "nothing was appended");

    // A record entered in error is voided: it no longer counts, the voiding shows.
    let (ok, out, err) = peerreg(
        &board(
            e,
            &[
                "void",
                "--record",
                &training.to_string(),
                "--reason",
                "entered_in_error",
            ],
        ),
        &token,
    )
    .await;
    assert!(ok, "{err}");
    let voided_by = entry_index(&out);
    let (_, out, _) = view(token.clone()).await;
    assert!(
        !out.contains("training MS-CORE"),
        "a voided course does not count: {out}"
    );
    assert!(
        out.contains(&format!(
            "voided: log index {training} (VOID_REASON_ENTERED_IN_ERROR) by log index {voided_by}"
        )),
        "{out}"
    );

    // One record expunged: the failed exam is gone from the board's own view.
    let (ok, _, err) = peerreg(
        &board(
            e,
            &["expunge", "--record", &exam.to_string(), "--reason", "person_request"],
        ),
        &token,
    )
    .await;
    assert!(ok, "{err}");
    let (_, out, _) = view(token.clone()).await;
    assert!(!out.contains("exam MS-EXAM") && out.contains("Ada Lovelace"), "{out}");

    // Evidence for a toolkit requirement, shown in the board's view.
    let evidence = [
        "evidence",
        "--peer-id",
        "MS-P-1",
        "--requirement",
        "residency",
        "--on",
        "2024-01-05",
        "--detail",
        "utility bill seen",
    ];
    let (ok, out, err) = peerreg(&board(e, &evidence), &token).await;
    assert!(ok, "{out}{err}");
    let (_, out, _) = view(token.clone()).await;
    assert!(
        out.contains("evidence: residency on 2024-01-05 (utility bill seen)"),
        "{out}"
    );

    // The whole person expunged: not even the board can read the record now.
    let (ok, _, err) = peerreg(
        &board(e, &["expunge", "--peer-id", "MS-P-1", "--reason", "court_order"]),
        &token,
    )
    .await;
    assert!(ok, "{err}");
    let (ok, _, err) = view(token.clone()).await;
    assert!(!ok && err.contains("NOT_FOUND"), "{err}");
    assert_eq!(
        audited_size(e, &key, &audit_state).await,
        size + 4,
        "the log still audits, with the void, the evidence and two expungement notices"
    );
    node.kill().await.expect("kill");
}
