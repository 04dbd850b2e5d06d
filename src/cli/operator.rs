//! An operator's commands on a log: generate its key, audit it, repair a
//! damaged store from another node, and benchmark this machine.

use std::path::PathBuf;

use clap::Args;

use crate::config;
use crate::error::{Error, Result};
use crate::log::note::NoteVerifier;
use crate::service::client::LogClient;

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// The key name: the log's checkpoint origin, e.g. peerreg.local/ms.
    #[arg(long)]
    pub origin: String,
    /// Where to write the private key (mode 0600); never overwritten.
    #[arg(long)]
    pub out: PathBuf,
}

/// Writes a new signing key; returns its verifier key string.
pub fn keygen(args: KeygenArgs) -> Result<String> {
    let signer = config::create_signer(&args.out, &args.origin)?;
    Ok(signer.verifier().to_key_string())
}

#[derive(Args, Debug)]
pub struct RepairArgs {
    /// The damaged node's data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// A node (mirror, archive) serving the same log.
    #[arg(long)]
    pub from: String,
    /// The state code the log's events carry, e.g. MS.
    #[arg(long)]
    pub state: String,
    /// The log's signing key [default: <data dir>/log.key]; only its public half is used.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// The log's origin [default: peerreg.local/<state>].
    #[arg(long)]
    pub origin: Option<String>,
}

/// Rebuilds a damaged store from a node serving the same log.
pub async fn repair(args: RepairArgs) -> Result<String> {
    let state = config::parse_state(&args.state)?;
    let origin = args.origin.unwrap_or_else(|| config::default_origin(&state));
    let key = args.key.unwrap_or_else(|| args.data_dir.join("log.key"));
    if !key.exists() {
        return Err(Error::FailedPrecondition(format!(
            "{} does not exist: pass --key with this log's signing key",
            key.display()
        )));
    }
    let signer = config::load_signer(&key, &origin)?;
    // A mirror-mode node serves the log under its origin; a node serving its own log ignores this.
    let source = LogClient::connect(&args.from).await?.for_origin(&origin)?;
    let report = crate::repair::repair(&args.data_dir, signer.verifier(), &state, &source).await?;
    let moved = report
        .damaged_store
        .map(|p| format!("; the damaged store was kept at {}", p.display()))
        .unwrap_or_default();
    Ok(format!(
        "repaired {}: {} entries verified against the log's own signed checkpoint (root {}){moved}",
        args.data_dir.display(),
        report.entries,
        hex::encode(report.checkpoint.root)
    ))
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// The node's gRPC endpoint, e.g. http://127.0.0.1:50051.
    #[arg(long, required_unless_present = "tiles", conflicts_with = "tiles")]
    pub endpoint: Option<String>,
    /// Audit through the log's C2SP tiles alone (`<URL>/checkpoint`, `<URL>/tile/...`): the node's HTTP
    /// side, or any cache or copy of it, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub tiles: Option<String>,
    /// PEM of the CA for an https:// --tiles URL that is not publicly signed.
    #[arg(long, requires = "tiles")]
    pub ca_cert: Option<PathBuf>,
    /// The verifier key string you trust for this log (never the node's word).
    #[arg(long)]
    pub verifier_key: String,
    /// Audit a log this node mirrors (its origin) instead of the node's own.
    #[arg(long)]
    pub origin: Option<String>,
    /// Remembers the last verified checkpoint of each log between runs.
    #[arg(long, default_value = "peerreg-audit.json")]
    pub state_file: PathBuf,
    #[command(flatten)]
    pub witness: super::WitnessArgs,
}

/// Audits a node's log against a pinned verifier key.
pub async fn audit(args: AuditArgs) -> Result<String> {
    let verifier =
        NoteVerifier::parse(&args.verifier_key).map_err(|e| Error::InvalidArgument(format!("--verifier-key: {e}")))?;
    let policy = args.witness.policy()?;
    let report = match (&args.tiles, &args.endpoint) {
        (Some(url), _) => {
            let ca_pem = args
                .ca_cert
                .as_ref()
                .map(|p| {
                    std::fs::read(p).map_err(|e| Error::InvalidArgument(format!("--ca-cert {}: {e}", p.display())))
                })
                .transpose()?;
            let tiles = crate::service::http_get::HttpTiles::new(url, ca_pem);
            crate::audit::audit_tiles(&tiles, &verifier, &policy, &args.state_file).await?
        }
        (None, endpoint) => {
            let mut client = LogClient::connect(endpoint.as_deref().unwrap_or_default()).await?;
            if let Some(origin) = &args.origin {
                client = client.for_origin(origin)?;
            }
            crate::audit::audit_witnessed(&client, &verifier, &policy, &args.state_file).await?
        }
    };
    let since = report
        .previous_size
        .map(|p| format!(", consistent with the {p} entries verified before"))
        .unwrap_or_default();
    Ok(format!(
        "audit OK: {} has {} entries{since}; {} signatures verified, root {} recomputed, {} inclusion proofs checked",
        report.origin,
        report.size,
        report.entries_verified,
        hex::encode(report.root),
        report.inclusion_proofs_checked
    ))
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Sizes: `full` (what BENCHMARKS.md reports) or `tiny` (checks the harness runs).
    #[arg(long, default_value = "full", value_parser = ["full", "tiny"])]
    pub scale: String,
    /// Only the scenarios whose name contains this (commands, checks, mixed, replay, growth, storage, import, register, web, witness, tiles).
    #[arg(long)]
    pub only: Option<String>,
}

/// Runs the benchmarks; returns the report table.
pub async fn bench(args: BenchArgs) -> Result<String> {
    let scale = if args.scale == "tiny" {
        crate::bench::Scale::tiny()
    } else {
        crate::bench::Scale::full()
    };
    let report = crate::bench::run(&scale, args.only.as_deref()).await?;
    Ok(format!("\n{}", report.table()))
}
