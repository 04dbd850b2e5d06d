//! The `peerreg` command: parses flags, sets up logging, and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use std::sync::Arc;

use peerreg::cli;
use peerreg::clock::SystemClock;
use peerreg::config::{self, ConfigFile, NodeConfig, TlsPaths};
use peerreg::federation::trust::TrustList;
use peerreg::federation::{Federation, FederationOptions};
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::log::note::NoteVerifier;
use peerreg::mirror::MirrorSpec;
use peerreg::service::client::LogClient;
use peerreg::service::server::{ServeOptions, TlsFiles};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "peerreg",
    version,
    about = "A verifiable registry of peer support certifications"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a state's registry node.
    Serve(ServeArgs),
    /// Generate a log signing key and print its verifier key string.
    Keygen {
        /// The key name: the log's checkpoint origin, e.g. peerreg.local/ms.
        #[arg(long)]
        origin: String,
        /// Where to write the private key (mode 0600); never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Board operations (token from PEERREG_TOKEN).
    Board(cli::BoardArgs),
    /// Employer check: is a credential valid now, or on a date of service?
    Check(cli::CheckArgs),
    /// A board's full view of one peer's record (token from PEERREG_TOKEN).
    Record {
        #[command(flatten)]
        connection: cli::Connection,
        #[arg(long)]
        peer_id: String,
    },
    /// Workforce statistics: credentials by type and status.
    Stats {
        #[command(flatten)]
        connection: cli::Connection,
        /// YYYY-MM-DD [default: today].
        #[arg(long, default_value = "")]
        as_of: String,
    },
    /// Rebuild a damaged or lost store from a node serving the same log (stop the node first).
    Repair {
        /// The damaged node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// A node (mirror, archive) serving the same log.
        #[arg(long)]
        from: String,
        /// The state code the log's events carry, e.g. MS.
        #[arg(long)]
        state: String,
        /// The log's signing key [default: <data dir>/log.key]; only its public half is used.
        #[arg(long)]
        key: Option<PathBuf>,
        /// The log's origin [default: peerreg.local/<state>].
        #[arg(long)]
        origin: Option<String>,
    },
    /// Watch credentials: their status now, then every change as it happens.
    Watch {
        #[command(flatten)]
        connection: cli::Connection,
        /// A credential number to watch (repeatable).
        #[arg(long = "credential", required = true)]
        credentials: Vec<String>,
        /// Resume after a disconnect: the last log index seen + 1.
        #[arg(long, default_value_t = 0)]
        from_index: u64,
    },
    /// Save a credential's portable proof (JSON) to verify offline later.
    ExportProof {
        #[command(flatten)]
        connection: cli::Connection,
        #[arg(long)]
        credential: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a saved credential proof offline (or, with --fresh, against the node now).
    VerifyProof {
        file: PathBuf,
        /// The date to report the status for [default: today].
        #[arg(long)]
        as_of: Option<String>,
        /// The state's verifier key you trust [default: the one inside the file].
        #[arg(long)]
        verifier_key: Option<String>,
        /// Also ask the node for the current history (consistency-checked).
        #[arg(long, requires = "verifier_key")]
        fresh: bool,
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        endpoint: String,
    },
    /// The states this node trusts (its trust list) and what it verified of their logs.
    #[command(subcommand)]
    Trust(cli::federation::TrustCommand),
    /// Transfers from other states: evaluate one, or check an origin credential's status.
    #[command(subcommand)]
    Transfer(cli::federation::TransferCommand),
    /// Start MS, TN and VA nodes in-process and walk through a transfer between states.
    Demo,
    /// Benchmarks against this machine's own limits (run with --release).
    Bench {
        /// Sizes: `full` (what BENCHMARKS.md reports) or `tiny` (checks the harness runs).
        #[arg(long, default_value = "full", value_parser = ["full", "tiny"])]
        scale: String,
        /// Only the scenarios whose name contains this (commands, checks, replay, growth, storage).
        #[arg(long)]
        only: Option<String>,
    },
    /// Audit a node's log against its pinned verifier key.
    Audit {
        /// The node's gRPC endpoint, e.g. http://127.0.0.1:50051.
        #[arg(long)]
        endpoint: String,
        /// The verifier key string you trust for this log (never the node's word).
        #[arg(long)]
        verifier_key: String,
        /// Audit a log this node mirrors (its origin) instead of the node's own.
        #[arg(long)]
        origin: Option<String>,
        /// Remembers the last verified checkpoint of each log between runs.
        #[arg(long, default_value = "peerreg-audit.json")]
        state_file: PathBuf,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// The state this node's board certifies for, e.g. MS (or `state` in --config).
    #[arg(long)]
    state: Option<String>,
    /// A TOML configuration file; flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// TLS certificate (PEM); with --tls-key, the node serves TLS only.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA (PEM) that client certificates must chain to: mutual TLS.
    #[arg(long, requires = "tls_cert")]
    client_ca: Option<PathBuf>,
    /// Data directory [default: ./data/<state>].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Checkpoint origin [default: peerreg.local/<state>].
    #[arg(long)]
    origin: Option<String>,
    /// Signing key file [default: <data dir>/log.key, created on first start].
    #[arg(long)]
    key: Option<PathBuf>,
    /// Accept a store with no published checkpoint file beside it (after a deliberate restore).
    #[arg(long)]
    accept_store_as_is: bool,
    /// Follow and serve another log read-only: ORIGIN=ENDPOINT:VERIFIER_KEY (repeatable).
    #[arg(long, value_parser = parse_mirror)]
    mirror: Vec<MirrorSpec>,
    /// Requirement profile (TOML) [default: the shipped example for the state].
    #[arg(long)]
    profile: Option<PathBuf>,
}

fn parse_mirror(text: &str) -> Result<MirrorSpec, String> {
    text.parse().map_err(|e: peerreg::error::Error| e.to_string())
}

fn node_config(args: ServeArgs) -> anyhow::Result<NodeConfig> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let mut config = file.into_config(args.state.as_deref())?;
    if let Some(data_dir) = args.data_dir {
        config.key_file = data_dir.join("log.key");
        config.data_dir = data_dir;
    }
    if let Some(origin) = args.origin {
        config.origin = origin;
    }
    if let Some(key) = args.key {
        config.key_file = key;
    }
    config.listen = args.listen.unwrap_or(config.listen);
    config.accept_store_as_is |= args.accept_store_as_is;
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(TlsPaths {
            cert,
            key,
            client_ca: args.client_ca,
        });
    }
    if let Some(path) = args.profile {
        config.profile = config::load_profile(&path, &config.state)?;
    }
    Ok(config)
}

/// How long a stopping node waits for open streams before closing them.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mirror_specs = args.mirror.clone();
    let config = node_config(args)?;
    let signer = config::load_or_create_signer(&config.key_file, &config.origin)?;
    let verifier_key = signer.verifier().to_key_string();
    let ledger = Ledger::open(LedgerOptions {
        data_dir: config.data_dir.clone(),
        state: config.state.clone(),
        signer,
        accept_unpublished_store: config.accept_store_as_is,
        profile: config.profile.clone(),
        clock: Arc::new(SystemClock),
    })
    .with_context(|| format!("cannot open the log in {}", config.data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let (tokens, new_admin_token) = config::load_or_create_tokens(&config)?;
    let tls = config.tls.as_ref().map(read_tls).transpose()?;
    let size = ledger.published().checkpoint.size;
    let address = listener.local_addr().context("the listener has no address")?;
    tracing::info!(state = %config.state, origin = %config.origin, %address, entries = size, %verifier_key, "serving");
    println!(
        "peerreg: {} log {} ({size} entries) on http://{address}",
        config.state, config.origin
    );
    println!("verifier key: {verifier_key}");
    if let Some(secret) = new_admin_token {
        println!(
            "admin token (shown once; only its hash is stored in {}): {secret}",
            config.data_dir.join("tokens.toml").display()
        );
    }
    let mut mirrors = Vec::new();
    for spec in &mirror_specs {
        let source = LogClient::connect(&spec.endpoint)
            .await
            .with_context(|| format!("cannot reach the origin of {}", spec.origin))?;
        let mirror = peerreg::mirror::open(&config.data_dir, spec, &source)
            .await
            .with_context(|| format!("cannot start the mirror of {}", spec.origin))?;
        println!(
            "mirroring {} ({} entries) from {}",
            spec.origin,
            mirror.published().checkpoint.size,
            spec.endpoint
        );
        peerreg::mirror::spawn_follower(mirror.clone(), source, Default::default());
        mirrors.push(mirror);
    }
    let trust = TrustList::load(&config.data_dir)?;
    let federation = Arc::new(Federation::open(
        &config.data_dir,
        &config.state,
        &trust,
        FederationOptions::default(),
        Arc::new(peerreg::service::sources::GrpcConnector),
    )?);
    for partner in federation.partners() {
        println!("trusting {} at {}", partner.state(), partner.entry.endpoint);
    }
    federation.spawn_followers();
    let options = ServeOptions {
        tokens: Arc::new(tokens),
        tls,
        mirrors,
        federation: Some(federation.clone()),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = peerreg::service::server::serve(listener, ledger.clone(), options, async {
        let _ = stopped.await;
    });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        () = shutdown_signal() => {
            let _ = stop.send(());
            // Unary calls finish quickly; open watch streams would hold a graceful
            // shutdown forever, so they get a grace period and are then cut.
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
                Ok(result) => result?,
                Err(_) => tracing::warn!("open streams did not end within {SHUTDOWN_GRACE:?}; closing them"),
            }
        }
    }
    federation.shutdown().await;
    ledger.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

fn read_tls(paths: &TlsPaths) -> anyhow::Result<TlsFiles> {
    let read = |path: &std::path::Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    Ok(TlsFiles {
        cert_pem: read(&paths.cert)?,
        key_pem: read(&paths.key)?,
        client_ca_pem: paths.client_ca.as_deref().map(read).transpose()?,
    })
}

async fn repair(
    data_dir: &std::path::Path,
    from: &str,
    state: &str,
    key: Option<PathBuf>,
    origin: Option<String>,
) -> anyhow::Result<()> {
    let state = config::parse_state(state)?;
    let origin = origin.unwrap_or_else(|| config::default_origin(&state));
    let key = key.unwrap_or_else(|| data_dir.join("log.key"));
    if !key.exists() {
        bail!(
            "{} does not exist: pass --key with this log's signing key",
            key.display()
        );
    }
    let signer = config::load_or_create_signer(&key, &origin)?;
    // A mirror-mode node serves the log under its origin; a node serving its own log ignores this.
    let source = LogClient::connect(from).await?.for_origin(&origin)?;
    let report = peerreg::repair::repair(data_dir, signer.verifier(), &state, &source).await?;
    let moved = report
        .damaged_store
        .map(|p| format!("; the damaged store was kept at {}", p.display()))
        .unwrap_or_default();
    println!(
        "repaired {}: {} entries verified against the log's own signed checkpoint (root {}){moved}",
        data_dir.display(),
        report.entries,
        hex::encode(report.checkpoint.root)
    );
    Ok(())
}

async fn export_proof(connection: cli::Connection, credential: String, out: &std::path::Path) -> anyhow::Result<()> {
    let client = connection
        .client(false)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code_name()))?;
    let proof = client
        .export_proof(credential)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code_name()))?;
    let file = peerreg::proof::ProofFile::from_pb(proof);
    std::fs::write(out, file.to_json()?).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "saved a proof of {} ({} entries) to {}",
        file.credential_number,
        file.entries.len(),
        out.display()
    );
    Ok(())
}

async fn verify_proof(
    path: &std::path::Path,
    as_of: Option<String>,
    verifier_key: Option<String>,
    fresh_from: Option<String>,
) -> anyhow::Result<()> {
    use peerreg::proof;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file = proof::ProofFile::from_json(&text)?;
    let pinned = verifier_key
        .as_deref()
        .map(NoteVerifier::parse)
        .transpose()
        .context("--verifier-key")?;
    let date = match as_of {
        Some(text) => peerreg::domain::fact::date("--as-of", &text)?,
        None => peerreg::clock::Clock::today(&SystemClock),
    };
    let verified = match (fresh_from, &pinned) {
        (Some(endpoint), Some(key)) => {
            let node = peerreg::service::client::NodeClient::connect(&endpoint, None).await?;
            let log = LogClient::connect(&endpoint).await?;
            proof::fresh(&file, key, &node, &log).await?
        }
        _ => proof::verify(&file, pinned.as_ref())?,
    };
    println!("{}", proof::describe(&file, &verified, date));
    Ok(())
}

fn keygen(origin: &str, out: &std::path::Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} already exists; refusing to overwrite a signing key", out.display());
    }
    let signer = config::load_or_create_signer(out, origin)?;
    println!("{}", signer.verifier().to_key_string());
    Ok(())
}

async fn audit(
    endpoint: &str,
    verifier_key: &str,
    origin: Option<&str>,
    state_file: &std::path::Path,
) -> anyhow::Result<()> {
    let verifier = NoteVerifier::parse(verifier_key).context("--verifier-key")?;
    let mut client = LogClient::connect(endpoint).await?;
    if let Some(origin) = origin {
        client = client.for_origin(origin)?;
    }
    let report = peerreg::audit::audit(&client, &verifier, state_file).await?;
    let since = report
        .previous_size
        .map(|p| format!(", consistent with the {p} entries verified before"))
        .unwrap_or_default();
    println!(
        "audit OK: {} has {} entries{since}; {} signatures verified, root {} recomputed, {} inclusion proofs checked",
        report.origin,
        report.size,
        report.entries_verified,
        hex::encode(report.root),
        report.inclusion_proofs_checked
    );
    Ok(())
}

async fn bench(scale: &str, only: Option<&str>) -> anyhow::Result<()> {
    let scale = if scale == "tiny" {
        peerreg::bench::Scale::tiny()
    } else {
        peerreg::bench::Scale::full()
    };
    let report = peerreg::bench::run(&scale, only)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code_name()))?;
    println!("\n{}", report.table());
    Ok(())
}

/// Prints a client command's answer; errors carry their status code.
fn print(result: peerreg::error::Result<String>) -> anyhow::Result<()> {
    match result {
        Ok(text) => {
            println!("{text}");
            Ok(())
        }
        Err(error) => Err(anyhow::anyhow!("{}: {error}", error.code_name())),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Keygen { origin, out } => keygen(&origin, &out),
        Command::Repair {
            data_dir,
            from,
            state,
            key,
            origin,
        } => repair(&data_dir, &from, &state, key, origin)
            .await
            .map_err(|e| e.context("REPAIR FAILED")),
        Command::ExportProof {
            connection,
            credential,
            out,
        } => export_proof(connection, credential, &out).await,
        Command::VerifyProof {
            file,
            as_of,
            verifier_key,
            fresh,
            endpoint,
        } => verify_proof(&file, as_of, verifier_key, fresh.then_some(endpoint))
            .await
            .map_err(|e| e.context("PROOF REJECTED")),
        Command::Watch {
            connection,
            credentials,
            from_index,
        } => print(cli::watch(connection, credentials, from_index).await),
        Command::Board(args) => print(cli::board(args).await),
        Command::Trust(command) => print(cli::federation::trust(command).await),
        Command::Transfer(command) => print(cli::federation::transfer(command).await),
        Command::Demo => peerreg::demo::run()
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", e.code_name())),
        Command::Bench { scale, only } => bench(&scale, only.as_deref()).await,
        Command::Check(args) => print(cli::check(args).await),
        Command::Record { connection, peer_id } => print(cli::record(connection, peer_id).await),
        Command::Stats { connection, as_of } => print(cli::statistics(connection, as_of).await),
        Command::Audit {
            endpoint,
            verifier_key,
            origin,
            state_file,
        } => audit(&endpoint, &verifier_key, origin.as_deref(), &state_file)
            .await
            .map_err(|e| e.context("AUDIT FAILED")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
