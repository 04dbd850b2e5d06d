//! `peerreg backup` (a running node's consistent copy, streamed by
//! `Admin.Backup`, written and checked here) and `peerreg restore` (a checked
//! copy installed into a new data directory, refused when it would roll the
//! log back behind what a trusted state has already verified).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::Connection;
use crate::backup::{self, Manifest, Seen};
use crate::error::{Error, Result};
use crate::federation::trust::{TrustEntry, TrustList};
use crate::service::client::{ClientTls, NodeClient};

/// How long a restore waits for each trusted state's answer.
pub const PARTNER_ASK_TIMEOUT: Duration = Duration::from_secs(10);

/// Flags of a command that talks to a running node given by `--node`.
#[derive(Args, Debug, Clone)]
pub struct NodeFlags {
    /// The running node's gRPC endpoint, e.g. https://registry.ms.example:50051.
    #[arg(long)]
    pub node: String,
    /// Admin token (better from the environment than the command line).
    #[arg(long, env = "PEERREG_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA (PEM) that signed the node's TLS certificate; use with an https:// endpoint.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// This client's certificate (PEM), for nodes that require mutual TLS.
    #[arg(long, requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    #[arg(long, requires = "client_cert")]
    pub client_key: Option<PathBuf>,
}

impl NodeFlags {
    pub fn connection(&self) -> Connection {
        Connection {
            endpoint: self.node.clone(),
            token: self.token.clone(),
            ca_cert: self.ca_cert.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
        }
    }
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub node: NodeFlags,
    /// A new (or empty) directory to write the backup into.
    #[arg(long)]
    pub to: PathBuf,
    /// Include the log's signing key (the directory is then created mode 0700).
    #[arg(long)]
    pub include_keys: bool,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup directory (`peerreg backup --to`).
    #[arg(long)]
    pub from: PathBuf,
    /// The new data directory (absent, empty, or holding only the last `checkpoint` and `log.key`).
    #[arg(long = "data", alias = "data-dir")]
    pub data_dir: PathBuf,
    /// Restore even though a trusted state (or the target's checkpoint) has seen a longer log; the
    /// reason is written to `<data>/restored-rollback.txt`.
    #[arg(long, value_name = "REASON")]
    pub accept_rollback: Option<String>,
}

/// Takes a backup of a running node into `--to`, then checks it against its manifest.
pub async fn backup(args: BackupArgs) -> Result<String> {
    prepare_target(&args.to, args.include_keys)?;
    let client = args.node.connection().client(true).await?;
    let mut stream = client.backup(args.include_keys).await?;
    let mut writer = ChunkWriter::new(&args.to);
    while let Some(chunk) = stream
        .message()
        .await
        .map_err(|s| crate::service::status::from_status(&s))?
    {
        writer.write(chunk)?;
    }
    writer.finish()?;
    let manifest = backup::verify(&args.to)?;
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    Ok(format!(
        "backup of {} ({} entries, root {}) in {}: {} files, {bytes} bytes, checked against its manifest{}",
        manifest.state,
        manifest.log_size,
        manifest.root_hash,
        args.to.display(),
        manifest.files.len(),
        if manifest.include_keys {
            "; it holds the signing key: keep it offline"
        } else {
            ""
        }
    ))
}

/// The backup directory: new or empty; 0700 when it will hold the key.
fn prepare_target(dir: &Path, include_keys: bool) -> Result<()> {
    if let Ok(mut read) = std::fs::read_dir(dir) {
        if read.next().is_some() {
            return Err(Error::FailedPrecondition(format!(
                "{} is not empty: a backup goes into a new directory",
                dir.display()
            )));
        }
    }
    crate::store::files::create_dir_durable(dir)?;
    if include_keys {
        crate::store::files::restrict_to_owner(dir)?;
    }
    Ok(())
}

/// Writes a backup stream's chunks, checking their order and paths.
struct ChunkWriter {
    root: PathBuf,
    current: Option<(String, std::fs::File, u64)>,
    done: Vec<String>,
}

impl ChunkWriter {
    fn new(root: &Path) -> ChunkWriter {
        ChunkWriter {
            root: root.to_path_buf(),
            current: None,
            done: Vec::new(),
        }
    }

    fn write(&mut self, chunk: crate::pb::BackupChunk) -> Result<()> {
        let bad = |why: &str| Error::DataLoss(format!("the node's backup stream is malformed: {why}"));
        if self.current.as_ref().is_none_or(|(path, _, _)| *path != chunk.path) {
            if self.current.is_some() {
                return Err(bad("a file ended without its last chunk"));
            }
            if self.done.contains(&chunk.path) || self.done.len() >= backup::FILES_MAX {
                return Err(bad("a file sent twice, or too many files"));
            }
            let relative = backup::relative_path(&chunk.path)?;
            let target = self.root.join(relative);
            if let Some(parent) = target.parent() {
                crate::store::files::create_dir_durable(parent)?;
            }
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)
                .map_err(|e| Error::Internal(format!("creating {}: {e}", target.display())))?;
            self.current = Some((chunk.path.clone(), file, 0));
        }
        let Some((path, file, written)) = self.current.as_mut() else {
            return Err(bad("no file"));
        };
        if chunk.offset != *written || chunk.data.len() > backup::CHUNK_BYTES {
            return Err(bad("a chunk out of order or too large"));
        }
        file.write_all(&chunk.data)
            .map_err(|e| Error::Internal(format!("writing {path}: {e}")))?;
        *written += chunk.data.len() as u64;
        if chunk.last {
            file.sync_all()
                .map_err(|e| Error::Internal(format!("syncing {path}: {e}")))?;
            self.done.push(path.clone());
            self.current = None;
        }
        Ok(())
    }

    fn finish(&self) -> Result<()> {
        if self.current.is_some() || !self.done.iter().any(|p| p == backup::MANIFEST) {
            return Err(Error::Unavailable(
                "the backup stream ended early: the copy is incomplete; take it again".into(),
            ));
        }
        Ok(())
    }
}

/// Restores a backup into a new data directory after checking it and asking
/// the trusted states how much of this log they have verified.
pub async fn restore(args: RestoreArgs) -> Result<String> {
    let manifest = backup::verify(&args.from)?;
    let held = backup::check_target(&args.data_dir, &manifest)?;
    let trust = TrustList::load(&args.from)?;
    let (mut seen, unreachable) = ask_partners(&manifest, &trust).await?;
    if let Some(size) = held {
        seen.push(Seen {
            by: format!("the checkpoint already in {}", args.data_dir.display()),
            size,
        });
    }
    let newer = backup::rollbacks(&manifest, &seen);
    let mut report = Vec::new();
    for s in &seen {
        report.push(format!("{} has seen {} entries", s.by, s.size));
    }
    for (state, why) in &unreachable {
        report.push(format!("{state} could not be asked (not blocking): {why}"));
    }
    let rollback = match (&args.accept_rollback, newer.is_empty()) {
        (_, true) => None,
        (None, false) => return Err(backup::rollback_error(&manifest, &newer)),
        (Some(reason), false) => {
            tracing::warn!(
                entries = manifest.log_size,
                newer = ?newer.iter().map(|s| format!("{}={}", s.by, s.size)).collect::<Vec<_>>(),
                reason = %reason,
                "restoring a backup older than what others have seen (rollback accepted)"
            );
            Some(reason.as_str())
        }
    };
    backup::install(&args.from, &args.data_dir, &manifest, rollback)?;
    tracing::info!(entries = manifest.log_size, data_dir = %args.data_dir.display(), "backup restored");
    let mut text = format!(
        "restored {} entries of {} into {}",
        manifest.log_size,
        manifest.state,
        args.data_dir.display()
    );
    for line in report {
        text.push_str(&format!("\n  {line}"));
    }
    if rollback.is_some() {
        text.push_str(&format!(
            "\n  ROLLBACK accepted; the reason is in {}",
            args.data_dir.join(backup::ROLLBACK_FILE).display()
        ));
    }
    if !manifest.include_keys && !args.data_dir.join(backup::KEY_FILE).exists() {
        text.push_str("\n  the backup holds no signing key: put log.key in place (or pass --key) before starting");
    }
    Ok(text)
}

/// Each trusted state's verified size of this log (`GetFederationStatus`,
/// public), and the states that could not be asked with why.
async fn ask_partners(manifest: &Manifest, trust: &TrustList) -> Result<(Vec<Seen>, Vec<(String, String)>)> {
    let origin = manifest.origin()?;
    let mut seen = Vec::new();
    let mut unreachable = Vec::new();
    for entry in &trust.entries {
        match tokio::time::timeout(PARTNER_ASK_TIMEOUT, verified_size(entry, &origin)).await {
            Ok(Ok(size)) => seen.push(Seen {
                by: format!("{} ({})", entry.state, entry.endpoint),
                size,
            }),
            Ok(Err(e)) => unreachable.push((entry.state.clone(), e.to_string())),
            Err(_) => unreachable.push((entry.state.clone(), format!("no answer within {PARTNER_ASK_TIMEOUT:?}"))),
        }
    }
    Ok((seen, unreachable))
}

/// What `entry`'s node has verified of the log `origin` (0: it does not follow it).
async fn verified_size(entry: &TrustEntry, origin: &str) -> Result<u64> {
    let client = match &entry.ca_cert {
        None => NodeClient::connect(&entry.endpoint, None).await?,
        Some(ca) => {
            let ca_pem = std::fs::read(ca).map_err(|e| Error::InvalidArgument(format!("{}: {e}", ca.display())))?;
            let tls = ClientTls {
                ca_pem,
                identity: None,
                domain: None,
            };
            NodeClient::connect_tls(&entry.endpoint, None, &tls).await?
        }
    };
    let status = client.federation_status().await?;
    Ok(status
        .states
        .iter()
        .filter(|s| s.origin == origin)
        .map(|s| s.verified_size)
        .max()
        .unwrap_or(0))
}
