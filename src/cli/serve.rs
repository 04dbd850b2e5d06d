//! `peerreg serve`: a node from flags over a configuration file over the
//! embedded defaults, started through [`crate::node`] and stopped on Ctrl-C or
//! SIGTERM.

use std::path::PathBuf;

use clap::Args;
use tokio::net::TcpListener;

use crate::config::{self, ConfigFile, NodeConfig, TlsPaths};
use crate::error::{Error, Result};
use crate::mirror::MirrorSpec;
use crate::node::{self, Node};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The state this node's board certifies for, e.g. MS (or `state` in --config).
    #[arg(long)]
    pub state: Option<String>,
    /// A TOML configuration file; flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// TLS certificate (PEM); with --tls-key, the node serves TLS only.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA (PEM) that client certificates must chain to: mutual TLS.
    #[arg(long, requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// Data directory [default: ./data/<state>].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:50051]. Any other than loopback
    /// needs TLS, or --insecure-plaintext.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Address of the web page, its JSON and /metrics [default: 127.0.0.1:8080];
    /// the same TLS and loopback rule as --listen.
    #[arg(long, conflicts_with = "no_http")]
    pub http: Option<std::net::SocketAddr>,
    /// Serve no HTTP side (gRPC only).
    #[arg(long)]
    pub no_http: bool,
    /// How many witnesses must cosign a checkpoint: this node's own (from the trusted states that name
    /// a witness; default 2, or all if fewer) and, when given here or in the configuration, the
    /// trusted states' checkpoints before this node's followers take them.
    #[arg(long)]
    pub witness_quorum: Option<usize>,
    /// Serve plaintext on a non-loopback address (e.g. behind a proxy that
    /// terminates TLS). Tokens then cross that network in clear; warned at every start.
    #[arg(long)]
    pub insecure_plaintext: bool,
    /// Checkpoint origin [default: peerreg.local/<state>].
    #[arg(long)]
    pub origin: Option<String>,
    /// Signing key file [default: <data dir>/log.key, created with a new log;
    /// a log whose key is missing is refused].
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Accept a store with no published checkpoint file beside it (after a deliberate restore).
    #[arg(long)]
    pub accept_store_as_is: bool,
    /// Follow and serve another log read-only: ORIGIN=ENDPOINT:VERIFIER_KEY (repeatable).
    #[arg(long, value_parser = parse_mirror)]
    pub mirror: Vec<MirrorSpec>,
    /// Requirement profile (TOML) [default: the shipped example for the state].
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// The HTTP side's URL as reached from outside, e.g. https://registry.board.example
    /// (VCs name their status lists under it) [default: the --http address].
    #[arg(long)]
    pub public_url: Option<String>,
}

fn parse_mirror(text: &str) -> std::result::Result<MirrorSpec, String> {
    text.parse().map_err(|e: Error| e.to_string())
}

/// The node's configuration: flags over the file over the defaults.
pub fn node_config(args: ServeArgs) -> Result<NodeConfig> {
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
    if args.no_http {
        config.http = None;
    } else if let Some(http) = args.http {
        config.http = Some(http);
    }
    config.witness_quorum = args.witness_quorum.or(config.witness_quorum);
    config.accept_store_as_is |= args.accept_store_as_is;
    config.insecure_plaintext |= args.insecure_plaintext;
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
    config.mirrors = args.mirror;
    if let Some(url) = args.public_url {
        config.public_url = Some(config::parse_public_url(&url)?);
    }
    Ok(config)
}

/// Runs a node until Ctrl-C or SIGTERM, printing what an operator needs first.
pub async fn serve(args: ServeArgs) -> Result<()> {
    let config = node_config(args)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Unavailable(format!("cannot listen on {}: {e}", config.listen)))?;
    let tokens_file = crate::config::token_file(&config.data_dir);
    let title = format!("{} log {}", config.state, config.origin);
    let node = node::start(config, listener).await?;
    print_banner(&banner(&node, &title, &tokens_file));
    node.run_until(shutdown_signal()).await
}

/// Prints the banner in one write. A closed stdout (a supervisor or script
/// that read the lines it wanted and closed the pipe) must not stop the node,
/// as `println!` would by panicking.
fn print_banner(banner: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out
        .write_all(format!("{banner}\n").as_bytes())
        .and_then(|()| out.flush())
    {
        tracing::warn!("cannot print the start banner to stdout: {e}");
    }
}

/// The lines printed at start; the first ends with the endpoint (scripts read it).
fn banner(node: &Node, title: &str, tokens_file: &std::path::Path) -> String {
    let startup = node.startup();
    let mut lines = vec![
        format!("peerreg: {title} ({} entries) on {}", startup.entries, node.endpoint()),
        format!("verifier key: {}", startup.verifier_key),
    ];
    if let Some(secret) = &startup.new_admin_token {
        lines.push(format!(
            "admin token (shown once; only its hash is stored in {}): {secret}",
            tokens_file.display()
        ));
    }
    for mirror in &startup.mirrors {
        lines.push(format!(
            "mirroring {} ({} entries) from {}",
            mirror.origin, mirror.entries, mirror.endpoint
        ));
    }
    for partner in &startup.partners {
        lines.push(format!("trusting {} at {}", partner.state, partner.endpoint));
    }
    if let Some(page) = node.web_endpoint() {
        lines.push(format!("web page and /metrics: {page}/"));
    }
    lines.join("\n")
}

/// Ctrl-C, or SIGTERM where there is one.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = match signal(SignalKind::terminate()) {
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
