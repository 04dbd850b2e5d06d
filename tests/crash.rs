//! Crash safety under load: the real `peerreg` binary is started as a separate
//! process, driven by many concurrent authenticated board commands, SIGKILLed
//! at a random moment, and restarted, round after round. After every restart:
//! every acknowledged command is in the log at the index its receipt named (the
//! very entry its receipt carried, with no name in clear), the
//! log passes `peerreg audit` (with an audit state file kept across rounds, so
//! each round is also proven consistent with the previous one), and commands
//! whose outcome the crash hid are retried with the same event id and body,
//! which either appends them or returns their original receipt. At the end, the
//! projection the node kept equals a replay of the log from scratch.
//!
//! Short form (CI): 3 rounds. Long form: `PEERREG_SLOW_TESTS=1` runs 50 rounds;
//! `PEERREG_CRASH_ROUNDS=<n>` sets the number of rounds, and
//! `PEERREG_CRASH_SEED=<n>` replays the kill moments of an earlier run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use peerreg::auth::hash_token;
use peerreg::clock::SystemClock;
use peerreg::domain::profile::RequirementProfile;
use peerreg::ledger::{snapshot_path, Ledger, LedgerOptions};
use peerreg::log::entry::verify_entry;
use peerreg::log::note::{Checkpoint, NoteVerifier};
use peerreg::pb;
use peerreg::projection::Registry;
use peerreg::service::client::LogClient;
use peerreg::service::rpc::board_client::BoardClient;
use peerreg::service::rpc::registry_client::RegistryClient;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;
use tonic::transport::{Channel, Endpoint};

const PEERREG: &str = env!("CARGO_BIN_EXE_peerreg");
const SECRET: &str = "crash-test-loader-secret";
const ORIGIN: &str = "peerreg.local/ms";
/// Concurrent clients, each with its own connection.
const TASKS: u64 = 16;
/// Requests one client sends per round at most (so a round is a few thousand).
const PER_TASK_MAX: u64 = 200;
/// The kill comes this many milliseconds after the load starts (inclusive range).
const KILL_AFTER_MS: (u64, u64) = (50, 400);
/// Enrolments appended after the last restart, so the node has something to
/// snapshot when it stops gracefully.
const FINAL_APPENDS: u64 = 32;
const SHORT_ROUNDS: u64 = 3;
const LONG_ROUNDS: u64 = 50;
/// Bound on any single wait: a start, an RPC, an exit.
const WAIT: Duration = Duration::from_secs(30);
/// Bound on one `peerreg audit` run (it reads the whole log).
const AUDIT_WAIT: Duration = Duration::from_secs(180);

/// A tiny xorshift64: the kill moments, reproducible from a printed seed.
struct Xorshift(u64);

impl Xorshift {
    fn seeded(seed: u64) -> Xorshift {
        Xorshift(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform enough in `[low, high]`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

fn event_id(n: u64) -> String {
    format!("crash-evt-{n}")
}

fn peer_id(n: u64) -> String {
    format!("MS-P-CRASH-{n}")
}

fn legal_name(n: u64) -> String {
    format!("Crash Tester {n}")
}

/// Command `n`: always the same event id and body, so a retry is a true retry.
fn enrolment(n: u64) -> pb::EnrollPeerRequest {
    pb::EnrollPeerRequest {
        event_id: event_id(n),
        event: Some(pb::PeerEnrolled {
            peer_id: peer_id(n),
            legal_name: legal_name(n),
            eligibility_attested: true,
            ethics_code_signed: true,
        }),
    }
}

fn authorized<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {SECRET}").parse().expect("a valid header value");
    request.metadata_mut().insert("authorization", value);
    request
}

async fn channel(endpoint: &str) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(endpoint.to_string())
        .expect("a valid endpoint URL")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

/// A command the node acknowledged: the index its receipt named and the
/// signed entry the receipt carried (the log holds only a keyed hash of the
/// client's event id, so the entry is how a client finds its command again).
#[derive(Clone, Debug)]
struct Ack {
    n: u64,
    index: u64,
    entry: Vec<u8>,
}

impl Ack {
    fn of(n: u64, receipt: pb::Receipt) -> Ack {
        Ack {
            n,
            index: receipt.index,
            entry: receipt.entry,
        }
    }
}

/// The node as a separate process.
struct Node {
    child: Child,
    endpoint: String,
    verifier_key: String,
    /// The banner lines announced this many entries.
    size_at_start: u64,
    /// Kept open so the node never writes to a closed pipe.
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl Node {
    async fn start(config: &Path) -> Node {
        let mut child = Command::new(PEERREG)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start peerreg serve");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let banner = timeout(WAIT, lines.next_line())
            .await
            .expect("the node prints its banner in time")
            .expect("read the banner")
            .expect("a banner line (the node exited before serving: does it refuse to restart?)");
        let announced = banner
            .strip_prefix("peerreg: MS log peerreg.local/ms (")
            .and_then(|rest| rest.split_once(" entries) on "))
            .unwrap_or_else(|| panic!("unexpected banner {banner:?}"));
        let size_at_start = announced.0.parse().expect("an entry count");
        let endpoint = announced.1.to_string();
        assert!(endpoint.starts_with("http://127.0.0.1:"), "{banner}");
        let key_line = timeout(WAIT, lines.next_line())
            .await
            .expect("the node prints its key in time")
            .expect("read the key line")
            .expect("a key line");
        let verifier_key = key_line
            .strip_prefix("verifier key: ")
            .unwrap_or_else(|| panic!("unexpected key line {key_line:?}"))
            .to_string();
        Node {
            child,
            endpoint,
            verifier_key,
            size_at_start,
            _stdout: lines,
        }
    }

    /// SIGKILL, then wait for the process to be gone.
    async fn kill(&mut self) {
        self.child.start_kill().expect("send SIGKILL");
        let status = timeout(WAIT, self.child.wait())
            .await
            .expect("the node dies after SIGKILL")
            .expect("wait for the node");
        assert!(!status.success(), "a killed node does not exit 0: {status:?}");
    }

    /// SIGTERM, as an operator stops a node; it must exit 0.
    async fn terminate(mut self) {
        let pid = self.child.id().expect("the node is running").to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("send SIGTERM");
        assert!(sent.success());
        let status = timeout(WAIT, self.child.wait())
            .await
            .expect("the node stops after SIGTERM")
            .expect("wait for the node");
        assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    }
}

/// Shared by the load tasks of every round.
#[derive(Default)]
struct Load {
    /// The next command number; every number below it was sent at least once.
    next: AtomicU64,
    acked: Mutex<Vec<Ack>>,
    /// Commands sent whose outcome is unknown (the node died before answering).
    pending: Mutex<Vec<u64>>,
    /// Set just before the node is killed: failures after it are expected.
    killing: AtomicBool,
    /// Failures while the node was meant to be healthy.
    unexpected: Mutex<Vec<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Load {
    fn killing(&self) -> bool {
        self.killing.load(Ordering::SeqCst)
    }

    fn failed(&self, n: Option<u64>, why: String) {
        if let Some(n) = n {
            lock(&self.pending).push(n);
        }
        if !self.killing() {
            lock(&self.unexpected).push(why);
        }
    }
}

/// One client: enrols fresh peers one after another until the node is killed.
async fn load_task(endpoint: String, load: Arc<Load>) {
    let channel = match channel(&endpoint).await {
        Ok(channel) => channel,
        Err(e) => return load.failed(None, format!("connecting to {endpoint}: {e:?}")),
    };
    let mut board = BoardClient::new(channel);
    for _ in 0..PER_TASK_MAX {
        if load.killing() {
            return;
        }
        let n = load.next.fetch_add(1, Ordering::SeqCst);
        match timeout(WAIT, board.enroll_peer(authorized(enrolment(n)))).await {
            Ok(Ok(receipt)) => {
                let receipt = receipt.into_inner();
                if receipt.duplicate {
                    lock(&load.unexpected).push(format!("fresh command {n} was answered as a duplicate"));
                }
                lock(&load.acked).push(Ack::of(n, receipt));
            }
            Ok(Err(status)) => return load.failed(Some(n), format!("command {n}: {status:?}")),
            Err(_) => return load.failed(Some(n), format!("command {n}: no answer in {WAIT:?}")),
        }
    }
}

/// One entry of the log as served: its exact bytes and the event they sign.
struct Logged {
    bytes: Vec<u8>,
    event: pb::Event,
}

/// The log as the node serves it, each entry checked against the pinned key.
async fn read_log(endpoint: &str, verifier: &NoteVerifier) -> Vec<Logged> {
    let client = LogClient::connect(endpoint).await.expect("connect to the log");
    let note = client.checkpoint_note().await.expect("the checkpoint");
    let size = Checkpoint::open(&note, verifier)
        .expect("the checkpoint verifies with the pinned key")
        .size;
    let mut events = Vec::with_capacity(size as usize);
    while (events.len() as u64) < size {
        let start = events.len() as u64;
        let page = timeout(WAIT, client.entries(start, size))
            .await
            .expect("a page in time")
            .expect("a page of entries");
        assert!(!page.is_empty(), "a page below the tree size is never empty");
        for (index, bytes) in (start..).zip(page) {
            let event = verify_entry(index, &bytes, verifier, "MS")
                .unwrap_or_else(|e| panic!("entry {index} does not verify: {e}"));
            events.push(Logged { bytes, event });
        }
    }
    events
}

async fn log_size(endpoint: &str, verifier: &NoteVerifier) -> u64 {
    let client = LogClient::connect(endpoint).await.expect("connect to the log");
    let note = client.checkpoint_note().await.expect("the checkpoint");
    Checkpoint::open(&note, verifier).expect("the checkpoint verifies").size
}

/// Checks every entry names a distinct event (by the keyed hash the log
/// holds, 64 hex digits), holds no enrolment in clear, and every acknowledged
/// command is at its acknowledged index with the very entry its receipt
/// carried; returns the log's event ids → index.
fn check_log(events: &[Logged], acked: &[Ack]) -> HashMap<String, u64> {
    let mut by_id = HashMap::with_capacity(events.len());
    for Logged { bytes, event } in events {
        assert!(
            event.event_id.len() == 64 && event.event_id.bytes().all(|b| b.is_ascii_hexdigit()),
            "entry {} names its event by {:?}, not by a keyed hash",
            event.index,
            event.event_id
        );
        assert!(
            matches!(event.body, Some(pb::event::Body::Record(_))),
            "entry {} holds an enrolment in another form than a sealed record: {:?}",
            event.index,
            event.body
        );
        assert!(
            !bytes.windows(b"Crash Tester".len()).any(|w| w == b"Crash Tester"),
            "entry {} holds a legal name",
            event.index
        );
        if let Some(first) = by_id.insert(event.event_id.clone(), event.index) {
            panic!(
                "event id {:?} is in the log twice: entries {first} and {}",
                event.event_id, event.index
            );
        }
    }
    let mut missing = Vec::new();
    for ack in acked {
        match events.get(ack.index as usize) {
            None => missing.push(format!("{} (acknowledged at index {})", event_id(ack.n), ack.index)),
            Some(logged) if logged.bytes != ack.entry => missing.push(format!(
                "{} acknowledged at index {} but that entry is another one",
                event_id(ack.n),
                ack.index
            )),
            Some(_) => {}
        }
    }
    assert!(
        missing.is_empty(),
        "{} acknowledged commands are not in the log as acknowledged (log size {}): {:?}",
        missing.len(),
        events.len(),
        &missing[..missing.len().min(20)]
    );
    by_id
}

/// The keyed event id an entry (from a receipt) carries.
fn logged_event_id(entry: &[u8]) -> String {
    use prost::Message;
    let entry = pb::LogEntry::decode(entry).expect("a receipt's entry decodes");
    pb::Event::decode(entry.event.as_slice())
        .expect("a receipt's event decodes")
        .event_id
}

/// Runs the real auditor; it must pass. Returns its report line.
async fn audit(node: &Node, state_file: &Path) -> String {
    let run = Command::new(PEERREG)
        .args([
            "audit",
            "--endpoint",
            &node.endpoint,
            "--verifier-key",
            &node.verifier_key,
        ])
        .arg("--state-file")
        .arg(state_file)
        .kill_on_drop(true)
        .output();
    let out = timeout(AUDIT_WAIT, run)
        .await
        .expect("the audit finishes in time")
        .expect("run peerreg audit");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "peerreg audit failed ({:?}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("audit OK: peerreg.local/ms has "), "{stdout}");
    stdout
}

/// Sends command `n` again, with its same id and body; it must succeed.
async fn resend(board: &mut BoardClient<Channel>, n: u64) -> pb::Receipt {
    timeout(WAIT, board.enroll_peer(authorized(enrolment(n))))
        .await
        .unwrap_or_else(|_| panic!("retry of command {n}: no answer in {WAIT:?}"))
        .unwrap_or_else(|status| panic!("retry of command {n} after restart was refused: {status:?}"))
        .into_inner()
}

/// Retries the commands whose outcome the crash hid. One already in the log
/// must come back as a duplicate with its index and entry; one not in it is
/// appended past the log the restarted node served. Returns (retried, already
/// in the log).
async fn retry_pending(
    node: &Node,
    load: &Load,
    log: &[Logged],
    in_log: &HashMap<String, u64>,
    rng: &mut Xorshift,
) -> (usize, usize) {
    let mut board = BoardClient::new(channel(&node.endpoint).await.expect("connect for retries"));
    let pending: Vec<u64> = std::mem::take(&mut *lock(&load.pending));
    let mut were_in_log = 0;
    for &n in &pending {
        let receipt = resend(&mut board, n).await;
        let logged_id = logged_event_id(&receipt.entry);
        match in_log.get(&logged_id) {
            Some(&index) => {
                were_in_log += 1;
                assert!(
                    receipt.duplicate,
                    "command {n} was already at {index}, but its retry was not a duplicate"
                );
                assert_eq!(receipt.index, index, "the retry of command {n} names another index");
                assert!(
                    log[index as usize].bytes == receipt.entry,
                    "the retry of command {n} returns another entry than the log holds"
                );
            }
            None => {
                assert!(
                    !receipt.duplicate,
                    "command {n} was not in the log, yet its retry is a duplicate"
                );
                assert!(
                    receipt.index >= log.len() as u64,
                    "command {n} was appended again at {} inside the log it was not in",
                    receipt.index
                );
            }
        }
        lock(&load.acked).push(Ack::of(n, receipt));
    }
    // Acknowledged commands retried (a client that never saw its receipt) get
    // their original receipts back.
    let acked: Vec<Ack> = lock(&load.acked).clone();
    if !acked.is_empty() {
        for _ in 0..3 {
            let ack = &acked[(rng.next() % acked.len() as u64) as usize];
            let receipt = resend(&mut board, ack.n).await;
            assert!(
                receipt.duplicate,
                "a retry of acknowledged command {} appended again",
                ack.n
            );
            assert_eq!(
                receipt.index, ack.index,
                "a retry of command {} names another index",
                ack.n
            );
            assert!(
                receipt.entry == ack.entry,
                "a retry of command {} returns another entry",
                ack.n
            );
        }
    }
    (pending.len(), were_in_log)
}

/// Full check of a freshly (re)started node: log, audit, retries, and that the
/// log holds exactly the commands sent so far.
async fn check_node(node: &Node, load: &Load, state_file: &Path, rng: &mut Xorshift) -> (u64, usize, usize, String) {
    let verifier = NoteVerifier::parse(&node.verifier_key).expect("the printed verifier key parses");
    let events = read_log(&node.endpoint, &verifier).await;
    assert_eq!(
        events.len() as u64,
        node.size_at_start,
        "the banner's size is the served size"
    );
    let acked: Vec<Ack> = lock(&load.acked).clone();
    let in_log = check_log(&events, &acked);
    let report = audit(node, state_file).await;
    let (retried, were_in_log) = retry_pending(node, load, &events, &in_log, rng).await;
    let sent = load.next.load(Ordering::SeqCst);
    assert_eq!(
        log_size(&node.endpoint, &verifier).await,
        sent,
        "after retries, the log holds each command sent exactly once"
    );
    (events.len() as u64, retried, were_in_log, report)
}

fn write_config(dir: &Path) -> (PathBuf, PathBuf) {
    let data_dir = dir.join("ms");
    let quoted = |s: &str| toml::Value::String(s.to_string()).to_string();
    let config = format!(
        "state = \"MS\"\ndata_dir = {}\nlisten = \"127.0.0.1:0\"\nhttp = \"127.0.0.1:0\"\n\n[[tokens]]\nname = \"loader\"\nsha256 = {}\noperations = [\"*\"]\n",
        quoted(data_dir.to_str().expect("a UTF-8 temp path")),
        quoted(&hash_token(SECRET)),
    );
    let path = dir.join("node.toml");
    std::fs::write(&path, config).expect("write the config file");
    (path, data_dir)
}

fn open_in_process(data_dir: &Path) -> Ledger {
    let signer = peerreg::config::load_signer(&data_dir.join("log.key"), ORIGIN).expect("the node's key");
    Ledger::open(LedgerOptions {
        data_dir: data_dir.to_path_buf(),
        state: "MS".into(),
        signer,
        accept_unpublished_store: false,
        profile: RequirementProfile::example_for("MS")
            .expect("the MS example profile")
            .into(),
        clock: Arc::new(SystemClock),
    })
    .expect("the node's data directory opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_commands_survive_sigkill_under_load() {
    let slow = std::env::var("PEERREG_SLOW_TESTS").is_ok_and(|v| v == "1");
    let rounds = env_u64("PEERREG_CRASH_ROUNDS").unwrap_or(if slow { LONG_ROUNDS } else { SHORT_ROUNDS });
    let seed = env_u64("PEERREG_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    println!("crash test: {rounds} rounds, PEERREG_CRASH_SEED={seed}");
    let mut rng = Xorshift::seeded(seed);
    let started = Instant::now();

    let dir = tempfile::tempdir().expect("temp dir");
    let (config, data_dir) = write_config(dir.path());
    let state_file = dir.path().join("audit.json");
    let load = Arc::new(Load::default());

    let mut node = Node::start(&config).await;
    assert_eq!(node.size_at_start, 0, "a fresh node");
    let verifier_key = node.verifier_key.clone();

    for round in 1..=rounds {
        let before = lock(&load.acked).len();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| tokio::spawn(load_task(node.endpoint.clone(), load.clone())))
            .collect();
        let kill_after = rng.between(KILL_AFTER_MS.0, KILL_AFTER_MS.1);
        tokio::time::sleep(Duration::from_millis(kill_after)).await;
        load.killing.store(true, Ordering::SeqCst);
        node.kill().await;
        for task in tasks {
            timeout(WAIT, task)
                .await
                .expect("a load task ends once the node is dead")
                .expect("a load task panicked");
        }
        let unexpected: Vec<String> = std::mem::take(&mut *lock(&load.unexpected));
        assert!(
            unexpected.is_empty(),
            "round {round}: commands failed while the node was healthy: {unexpected:?}"
        );
        load.killing.store(false, Ordering::SeqCst);
        let acknowledged = lock(&load.acked).len() - before;
        let in_flight = lock(&load.pending).len();

        drop(node);
        node = Node::start(&config).await;
        assert_eq!(node.verifier_key, verifier_key, "the restarted node has the same key");
        let (size, retried, were_in_log, report) = check_node(&node, &load, &state_file, &mut rng).await;
        assert_eq!(retried, in_flight);
        println!(
            "round {round}/{rounds}: killed after {kill_after} ms; {acknowledged} acknowledged; log size {size} after \
             restart; {retried} retried ({were_in_log} were already in the log); {report}"
        );
    }

    // A few more commands after the last restart (so the graceful stop writes a
    // projection snapshot), then a last full check and a graceful stop.
    let mut board = BoardClient::new(channel(&node.endpoint).await.expect("connect"));
    for _ in 0..FINAL_APPENDS {
        let n = load.next.fetch_add(1, Ordering::SeqCst);
        let receipt = resend(&mut board, n).await;
        assert!(!receipt.duplicate);
        lock(&load.acked).push(Ack::of(n, receipt));
    }
    let verifier = NoteVerifier::parse(&verifier_key).expect("the verifier key parses");
    let events = read_log(&node.endpoint, &verifier).await;
    let acked: Vec<Ack> = lock(&load.acked).clone();
    let sent = load.next.load(Ordering::SeqCst);
    assert_eq!(
        acked.len() as u64,
        sent,
        "every command sent was acknowledged in the end"
    );
    assert_eq!(events.len() as u64, sent, "the log holds each command exactly once");
    check_log(&events, &acked);
    audit(&node, &state_file).await;
    let mut registry_client = RegistryClient::new(channel(&node.endpoint).await.expect("connect"));
    let statistics = timeout(
        WAIT,
        registry_client.get_statistics(pb::GetStatisticsRequest { as_of: String::new() }),
    )
    .await
    .expect("statistics in time")
    .expect("statistics")
    .into_inner();
    assert_eq!(
        statistics.peers, sent,
        "the node's projection counts every enrolled peer"
    );
    assert_eq!(statistics.log_size, sent);
    drop(board);
    drop(registry_client);
    node.terminate().await;

    // The projection the node kept (its snapshot, written as it stopped) equals
    // a replay of the whole log from scratch.
    let snapshot = snapshot_path(&data_dir);
    assert!(
        snapshot.exists(),
        "the node wrote a projection snapshot when it stopped"
    );
    let ledger = open_in_process(&data_dir);
    let kept: Registry = ledger.registry();
    ledger.shutdown().await;
    std::fs::remove_file(&snapshot).expect("delete the snapshot");
    let ledger = open_in_process(&data_dir);
    let replayed: Registry = ledger.registry();
    ledger.shutdown().await;
    assert_eq!(replayed.size, sent);
    assert_eq!(kept.size, sent);
    assert!(
        kept == replayed,
        "the node's projection differs from a replay from scratch"
    );
    // The bodies themselves are in the board's private view: each acknowledged
    // enrolment, with its name, at the index its receipt named.
    for ack in &acked {
        let peer = replayed
            .peer(&peer_id(ack.n))
            .unwrap_or_else(|| panic!("acknowledged peer {} is not enrolled", peer_id(ack.n)));
        assert_eq!(peer.legal_name, legal_name(ack.n));
        assert_eq!(peer.events, vec![ack.index]);
    }
    assert_eq!(replayed.peers.len() as u64, sent);
    println!(
        "crash test: {rounds} rounds, {sent} commands acknowledged, all in the log, audited and replayed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
