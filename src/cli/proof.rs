//! Portable credential proofs: save one from a node, verify one offline (or,
//! with `--fresh`, against the node's current history).

use std::path::PathBuf;

use clap::Args;

use super::Connection;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::log::note::NoteVerifier;
use crate::proof::{self, ProofFile};
use crate::service::client::{LogClient, NodeClient};

#[derive(Args, Debug)]
pub struct ExportProofArgs {
    #[command(flatten)]
    pub connection: Connection,
    #[arg(long)]
    pub credential: String,
    #[arg(long)]
    pub out: PathBuf,
}

/// Saves a credential's proof (JSON) to a file.
pub async fn export_proof(args: ExportProofArgs) -> Result<String> {
    let client = args.connection.client(false).await?;
    let file = ProofFile::from_pb(client.export_proof(args.credential).await?);
    std::fs::write(&args.out, file.to_json()?)
        .map_err(|e| Error::Unavailable(format!("writing {}: {e}", args.out.display())))?;
    Ok(format!(
        "saved a proof of {} ({} entries) to {}",
        file.credential_number,
        file.entries.len(),
        args.out.display()
    ))
}

#[derive(Args, Debug)]
pub struct VerifyProofArgs {
    pub file: PathBuf,
    /// The date to report the status for [default: today].
    #[arg(long)]
    pub as_of: Option<String>,
    /// The state's verifier key you trust [default: the one inside the file].
    #[arg(long)]
    pub verifier_key: Option<String>,
    /// Also ask the node for the current history (consistency-checked).
    #[arg(long, requires = "verifier_key")]
    pub fresh: bool,
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub endpoint: String,
    #[command(flatten)]
    pub witness: super::WitnessArgs,
}

/// Verifies a saved proof; returns what it proves.
pub async fn verify_proof(args: VerifyProofArgs) -> Result<String> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| Error::InvalidArgument(format!("reading {}: {e}", args.file.display())))?;
    let file = ProofFile::from_json(&text)?;
    let pinned = args
        .verifier_key
        .as_deref()
        .map(NoteVerifier::parse)
        .transpose()
        .map_err(|e| Error::InvalidArgument(format!("--verifier-key: {e}")))?;
    let policy = args.witness.policy()?;
    let date = match &args.as_of {
        Some(text) => crate::domain::fact::date("--as-of", text)?,
        None => SystemClock.today(),
    };
    let verified = match (&pinned, args.fresh) {
        (Some(key), true) => {
            let node = NodeClient::connect(&args.endpoint, None).await?;
            let log = LogClient::connect(&args.endpoint).await?;
            proof::fresh(&file, key, &node, &log).await?
        }
        _ => proof::verify(&file, pinned.as_ref())?,
    };
    policy.check(file.checkpoint.as_bytes()).map_err(|e| {
        Error::FailedPrecondition(format!(
            "the proof's checkpoint is {e}; export the proof again once the log is witnessed"
        ))
    })?;
    Ok(proof::describe(&file, &verified, date))
}
