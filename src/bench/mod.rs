//! The benchmark harness (`peerreg bench`, `cargo bench --bench harness`):
//! real nodes on loopback with real sled stores in temporary directories. Every
//! figure is printed beside a baseline measured in the same run, and their
//! ratio: this machine is shared and noisy, so absolute times drift and only
//! same-run ratios compare. A test runs the whole harness at [`Scale::tiny`] so
//! it cannot rot; the figures in BENCHMARKS.md come from [`Scale::full`].
//!
//! Library code (not `benches/`) so that the binary and the test share it.

pub mod baselines;
mod checks;
mod commands;
mod growth;
mod import;
pub mod load;
mod mixed;
mod register;
mod replay;
mod scenarios;
mod storage;
mod tiles;
mod web;
mod witness;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{hash_token, TokenEntry, Tokens};
use crate::clock::SystemClock;
use crate::domain::profile::RequirementProfile;
use crate::error::{Error, Result};
use crate::ledger::{Ledger, LedgerOptions};
use crate::log::note::NoteSigner;
use crate::pb;
use crate::service::server::{serve, ServeOptions};

/// The token every benchmark node accepts (all rights).
pub const TOKEN: &str = "bench-token";

/// How big a run is.
#[derive(Clone, Debug)]
pub struct Scale {
    pub name: &'static str,
    /// How long each timed load scenario runs.
    pub seconds: f64,
    /// Concurrent clients for board commands.
    pub clients: Vec<usize>,
    /// Clients for employer checks (and their baseline).
    pub check_clients: usize,
    /// Events in the bulk import.
    pub bulk_events: usize,
    /// Events in the replay log.
    pub replay_events: usize,
    /// Log sizes for the growth scenario.
    pub growth_sizes: Vec<usize>,
}

impl Scale {
    /// The sizes the issue asks for.
    pub fn full() -> Scale {
        Scale {
            name: "full",
            seconds: 3.0,
            clients: vec![1, 16, 64],
            check_clients: 64,
            bulk_events: 100_000,
            replay_events: 1_000_000,
            growth_sizes: vec![1_000, 100_000, 1_000_000],
        }
    }

    /// Small enough for a debug build in CI: checks the harness runs, not speed.
    pub fn tiny() -> Scale {
        Scale {
            name: "tiny",
            seconds: 0.2,
            clients: vec![1, 4],
            check_clients: 4,
            bulk_events: 300,
            replay_events: 600,
            growth_sizes: vec![100, 400],
        }
    }
}

/// How a figure compares with its target.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// The figure must be at least this (e.g. events/s).
    AtLeast(f64),
    /// The figure must be at most this (e.g. ms, bytes).
    AtMost(f64),
    /// The ratio to the baseline must be at least this.
    RatioAtLeast(f64),
    /// The ratio to the baseline must be at most this.
    RatioAtMost(f64),
}

/// One line of the report.
#[derive(Clone, Debug)]
pub struct Row {
    pub scenario: String,
    pub figure: f64,
    pub unit: &'static str,
    pub baseline_name: String,
    pub baseline: f64,
    /// Latencies or other context, printed as is.
    pub detail: String,
    pub targets: Vec<Target>,
}

impl Row {
    pub fn ratio(&self) -> f64 {
        if self.baseline == 0.0 {
            0.0
        } else {
            self.figure / self.baseline
        }
    }

    /// Whether every target is met (true when there is none).
    pub fn met(&self) -> bool {
        self.targets.iter().all(|t| match *t {
            Target::AtLeast(x) => self.figure >= x,
            Target::AtMost(x) => self.figure <= x,
            Target::RatioAtLeast(x) => self.ratio() >= x,
            Target::RatioAtMost(x) => self.ratio() <= x,
        })
    }

    fn targets_text(&self) -> String {
        let texts: Vec<String> = self
            .targets
            .iter()
            .map(|t| match t {
                Target::AtLeast(x) => format!("≥ {}", number(*x)),
                Target::AtMost(x) => format!("≤ {}", number(*x)),
                Target::RatioAtLeast(x) => format!("ratio ≥ {x}"),
                Target::RatioAtMost(x) => format!("ratio ≤ {x}"),
            })
            .collect();
        if texts.is_empty() {
            "—".into()
        } else {
            texts.join(", ")
        }
    }
}

/// A number at a readable precision.
pub fn number(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// Every row of one run, printed as a Markdown table.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
}

impl Report {
    /// Adds a row and prints it at once (a long run shows progress).
    pub fn add(&mut self, row: Row) {
        println!("{}", Report::line(&row));
        self.rows.push(row);
    }

    pub fn header() -> String {
        "| scenario | figure | baseline (same run) | ratio | detail | target | met |\n|---|---:|---:|---:|---|---|---|"
            .into()
    }

    fn line(row: &Row) -> String {
        let met = match (row.targets.is_empty(), row.met()) {
            (true, _) => "",
            (false, true) => "yes",
            (false, false) => "**no**",
        };
        format!(
            "| {} | {} {} | {} {} | {:.2} | {} | {} | {met} |",
            row.scenario,
            number(row.figure),
            row.unit,
            number(row.baseline),
            row.baseline_name,
            row.ratio(),
            row.detail,
            row.targets_text()
        )
    }

    pub fn table(&self) -> String {
        let lines: Vec<String> = self.rows.iter().map(Report::line).collect();
        format!("{}\n{}", Report::header(), lines.join("\n"))
    }
}

/// A directory removed when dropped (the library has no `tempfile`).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Result<TempDir> {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
        let path = std::env::temp_dir().join(format!("peerreg-bench-{label}-{}", hex::encode(bytes)));
        std::fs::create_dir_all(&path)
            .map_err(|e| Error::Internal(format!("cannot create {}: {e}", path.display())))?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Mississippi's example profile with nothing required before an issue, so
/// that benchmarks can issue credentials without building careers first.
pub fn permissive_profile() -> RequirementProfile {
    let mut profile = RequirementProfile::example_for("MS").unwrap_or_else(|| RequirementProfile::default_for("MS"));
    profile.initial.training_hours_total = 0.0;
    profile.initial.training_hours_by_domain.clear();
    profile.initial.exam_required = false;
    profile.initial.experience_hours = 0.0;
    profile.initial.supervised_hours = 0.0;
    profile.initial.evidence_required.clear();
    profile.initial.references_required = 0;
    // The scenarios renew for longer than the example's 2 years.
    profile.initial.credential_valid_years = 10;
    profile
}

/// Opens Mississippi's benchmark log in `dir` (fixed key, permissive profile).
pub fn open_ledger(dir: &Path) -> Result<Ledger> {
    let signer = NoteSigner::from_seed("peerreg.local/ms", [1; 32])
        .map_err(|e| Error::Internal(format!("the bench key: {e}")))?;
    Ledger::open(LedgerOptions {
        data_dir: dir.to_path_buf(),
        state: "MS".into(),
        signer,
        accept_unpublished_store: false,
        profile: permissive_profile().into(),
        clock: Arc::new(SystemClock),
    })
}

/// A node serving a benchmark ledger until stopped.
pub struct Serving {
    pub endpoint: String,
    /// The same ledger's HTTP side (pages, JSON, /metrics).
    pub web_endpoint: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Serving {
    /// Stops the server and waits for it, so that its ledger handle is dropped.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Serves `ledger` on a loopback port with [`TOKEN`] until [`Serving::stop`].
pub async fn serve_stoppable(ledger: &Ledger) -> Result<Serving> {
    let entry = TokenEntry {
        name: "bench".into(),
        sha256: hash_token(TOKEN),
        operations: vec!["*".into()],
    };
    let options = ServeOptions {
        tokens: Arc::new(Tokens::new(&[entry])?),
        tls: None,
        mirrors: Vec::new(),
        federation: None,
        limits: Default::default(),
        witnessing: None,
        vc: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::Unavailable(format!("cannot bind a loopback port: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("no local address: {e}")))?;
    let web = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::Unavailable(format!("cannot bind a loopback port: {e}")))?;
    let web_address = web
        .local_addr()
        .map_err(|e| Error::Internal(format!("no local address: {e}")))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, Some(web), ledger.clone(), options, async {
        let _ = stopped.await;
    }));
    Ok(Serving {
        endpoint: format!("http://{address}"),
        web_endpoint: format!("http://{web_address}"),
        stop,
        task,
    })
}

/// Serves `ledger` on a loopback port with [`TOKEN`] for the rest of the
/// process; returns the endpoint.
pub async fn serve_ledger(ledger: &Ledger) -> Result<String> {
    let serving = serve_stoppable(ledger).await?;
    let endpoint = serving.endpoint.clone();
    // Never stopped: the server runs until the benchmark process ends.
    std::mem::forget(serving.stop);
    Ok(endpoint)
}

/// An enrolment of peer number `i` (the smallest realistic event).
pub fn enrolment(i: usize) -> pb::command::Body {
    crate::demo::bodies::enrol(&format!("MS-P-{i:08}"), &format!("Peer Number {i}"))
}

/// Appends `count` events made by `body(i)` for `i` in `start..start + count`
/// from `writers` concurrent tasks (group commit does the batching).
pub async fn fill(
    ledger: &Ledger,
    start: usize,
    count: usize,
    writers: usize,
    body: fn(usize) -> pb::command::Body,
) -> Result<()> {
    let mut tasks = Vec::new();
    for worker in 0..writers.max(1) {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            for i in (start + worker..start + count).step_by(writers.max(1)) {
                ledger.append(format!("fill-{i}"), body(i)).await?;
            }
            Ok::<(), Error>(())
        }));
    }
    for task in tasks {
        task.await
            .map_err(|e| Error::Internal(format!("a filler task failed: {e}")))??;
    }
    Ok(())
}

/// Milliseconds of a duration.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs every scenario (or those whose name contains `only`) at `scale`.
pub async fn run(scale: &Scale, only: Option<&str>) -> Result<Report> {
    let mut report = Report::default();
    println!("peerreg benchmarks, scale {}\n{}", scale.name, Report::header());
    for (name, scenario) in scenarios::ALL {
        if only.is_some_and(|o| !name.contains(o)) {
            continue;
        }
        scenario(scale.clone(), &mut report).await?;
    }
    Ok(report)
}
