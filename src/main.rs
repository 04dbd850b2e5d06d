//! The `peerreg` command: parses flags, sets up logging, and calls one library
//! function per command (`peerreg::cli`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use peerreg::cli;

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
    Serve(cli::serve::ServeArgs),
    /// Generate a log signing key and print its verifier key string.
    Keygen(cli::operator::KeygenArgs),
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
    Repair(cli::operator::RepairArgs),
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
    ExportProof(cli::proof::ExportProofArgs),
    /// Verify a saved credential proof offline (or, with --fresh, against the node now).
    VerifyProof(cli::proof::VerifyProofArgs),
    /// The states this node trusts (its trust list) and what it verified of their logs.
    #[command(subcommand)]
    Trust(cli::federation::TrustCommand),
    /// Transfers from other states: evaluate one, or check an origin credential's status.
    #[command(subcommand)]
    Transfer(cli::federation::TransferCommand),
    /// Alerts about origin credentials this node's grants stand on: list, --watch, or --ack ID --note TEXT.
    Alerts(cli::alerts::AlertsArgs),
    /// Start MS, TN and VA nodes in-process and walk through a transfer between states (--stay keeps them serving).
    Demo(peerreg::demo::DemoArgs),
    /// Benchmarks against this machine's own limits (run with --release).
    Bench(cli::operator::BenchArgs),
    /// Audit a node's log against its pinned verifier key.
    Audit(cli::operator::AuditArgs),
    /// A running node's tokens: add, list, revoke (admin token from PEERREG_TOKEN).
    #[command(subcommand)]
    Token(cli::tokens::TokenCommand),
    /// Find people by name, credential number or peer id (token from PEERREG_TOKEN).
    Search(cli::search::SearchArgs),
    /// List credentials by status, type or coming expiry; --csv for a file (token from PEERREG_TOKEN).
    List(cli::search::ListArgs),
    /// Bring a board's existing registry in from CSV files (--dry-run first; token from PEERREG_TOKEN).
    Import(cli::import::ImportArgs),
    /// The register as CSV: `export public` (no token) or `export board` (token from PEERREG_TOKEN).
    #[command(subcommand)]
    Export(cli::export::ExportCommand),
    /// A consistent backup of a running node's data into a new directory (admin token with admin_backup).
    Backup(cli::backup::BackupArgs),
    /// Restore a backup into a new data directory; refused if trusted states have seen a longer log.
    Restore(cli::backup::RestoreArgs),
    /// The running node's log signing key: `key rotate` (admin token with admin_keys).
    #[command(subcommand)]
    Key(cli::keys::KeyCommand),
    /// The log's store on disk: `store convert` moves a store of the earlier
    /// single-database layout to tiles, once, with the node stopped.
    #[command(subcommand)]
    Store(cli::keys::StoreCommand),
    /// Save a credential as a W3C Verifiable Credential (from the node's HTTP side).
    ExportVc(cli::vc::ExportVcArgs),
    /// Verify a saved W3C Verifiable Credential offline (--status: against the board's current status lists).
    VerifyVc(cli::vc::VerifyVcArgs),
}

/// The error to report: its status code first, and what failed (if given) before that.
fn failed(error: peerreg::error::Error, what: Option<&str>) -> anyhow::Error {
    let error = anyhow::anyhow!("{}: {error}", error.code_name());
    match what {
        Some(what) => error.context(what.to_string()),
        None => error,
    }
}

/// Prints a command's answer.
fn print(result: peerreg::error::Result<String>, what: Option<&str>) -> anyhow::Result<()> {
    println!("{}", result.map_err(|e| failed(e, what))?);
    Ok(())
}

/// A command that prints as it goes (a node, the demo).
fn done(result: peerreg::error::Result<()>) -> anyhow::Result<()> {
    result.map_err(|e| failed(e, None))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => done(cli::serve::serve(args).await),
        Command::Keygen(args) => print(cli::operator::keygen(args), None),
        Command::Repair(args) => print(cli::operator::repair(args).await, Some("REPAIR FAILED")),
        Command::ExportProof(args) => print(cli::proof::export_proof(args).await, None),
        Command::VerifyProof(args) => print(cli::proof::verify_proof(args).await, Some("PROOF REJECTED")),
        Command::Watch {
            connection,
            credentials,
            from_index,
        } => print(cli::watch(connection, credentials, from_index).await, None),
        Command::Board(args) => print(cli::board(args).await, None),
        Command::Trust(command) => print(cli::federation::trust(command).await, None),
        Command::Transfer(command) => print(cli::federation::transfer(command).await, None),
        Command::Alerts(args) => print(cli::alerts::alerts(args).await, None),
        Command::Demo(args) => done(peerreg::demo::run(args).await),
        Command::Bench(args) => print(cli::operator::bench(args).await, None),
        Command::Check(args) => print(cli::check(args).await, None),
        Command::Record { connection, peer_id } => print(cli::record(connection, peer_id).await, None),
        Command::Stats { connection, as_of } => print(cli::statistics(connection, as_of).await, None),
        Command::Audit(args) => print(cli::operator::audit(args).await, Some("AUDIT FAILED")),
        Command::Token(command) => print(cli::tokens::token(command).await, None),
        Command::Search(args) => print(cli::search::search(args).await, None),
        Command::List(args) => print(cli::search::list(args).await, None),
        Command::Backup(args) => print(cli::backup::backup(args).await, Some("BACKUP FAILED")),
        Command::Restore(args) => print(cli::backup::restore(args).await, Some("RESTORE REFUSED")),
        Command::Export(command) => done(cli::export::export(command).await),
        Command::Import(args) => imported(cli::import::import(args).await),
        Command::Key(command) => print(cli::keys::key(command).await, Some("KEY ROTATION FAILED")),
        Command::Store(command) => print(cli::keys::store(command), Some("CONVERSION FAILED")),
        Command::ExportVc(args) => print(cli::vc::export_vc(args).await, None),
        Command::VerifyVc(args) => print(cli::vc::verify_vc(args).await, Some("VC REJECTED")),
    }
}

/// Prints an import's summary; fails (a non-zero exit) when any row was refused.
fn imported(result: peerreg::error::Result<cli::import::Finished>) -> anyhow::Result<()> {
    let finished = result.map_err(|e| {
        failed(
            e,
            Some("IMPORT STOPPED (what was recorded before stays recorded; the same command resumes)"),
        )
    })?;
    println!("{}", finished.text);
    if finished.report.clean() {
        Ok(())
    } else {
        anyhow::bail!("some rows were refused: nothing of the people concerned was recorded (see the report)")
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
