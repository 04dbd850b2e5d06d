//! `peerreg export-vc` (a credential as a W3C VC, from a running node's HTTP
//! side: `GET <web>/credential/<number>/vc`) and `peerreg verify-vc` (offline:
//! the `eddsa-jcs-2022` proof, the issuer bound to its key, the validity
//! window; with `--status`, each status list the VC names, fetched and
//! checked, and the credential's bit in it). See `crate::vc`.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::service::http_get;
use crate::vc::credential::{self, CheckedCredential, Purpose};

use crate::limits::VC_DOCUMENT_BYTES_MAX as DOCUMENT_BYTES_MAX;

#[derive(Args, Debug)]
pub struct ExportVcArgs {
    /// The credential number.
    #[arg(long)]
    pub credential: String,
    /// Where to save the VC (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// The node's HTTP side.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub web: String,
    /// CA (PEM) that signed the HTTP side's certificate; for an https:// address.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VerifyVcArgs {
    /// A VC saved by `peerreg export-vc` (or any eddsa-jcs-2022 VC with a did:key issuer).
    pub file: PathBuf,
    /// Also fetch the status lists the VC names and check its bits (revoked, suspended).
    #[arg(long)]
    pub status: bool,
    /// The issuer you trust (`did:key:z6Mk…`, from the board's `GET /vc/issuer`)
    /// [default: accept the issuer the VC names, and print it].
    #[arg(long)]
    pub issuer: Option<String>,
    /// CA (PEM) for https:// status list addresses.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
}

fn read_ca(path: Option<&Path>) -> Result<Option<Vec<u8>>> {
    path.map(|p| std::fs::read(p).map_err(|e| Error::InvalidArgument(format!("{}: {e}", p.display()))))
        .transpose()
}

fn parse_document(what: &str, bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| Error::InvalidArgument(format!("{what} is not JSON: {e}")))
}

/// The VC of `number` from the node whose HTTP side is at `web`, checked
/// before it is returned (pretty JSON).
pub async fn fetch_vc(web: &str, number: &str, ca_pem: Option<&[u8]>) -> Result<String> {
    let url = format!(
        "{}/credential/{}/vc",
        web.trim_end_matches('/'),
        crate::service::web::path_segment(number)
    );
    let document = parse_document(
        "the node's answer",
        &http_get::get(&url, ca_pem, DOCUMENT_BYTES_MAX).await?,
    )?;
    credential::check_credential(&document)?;
    serde_json::to_string_pretty(&document).map_err(|e| Error::Internal(format!("encoding the VC: {e}")))
}

/// Saves a credential's VC to a file.
pub async fn export_vc(args: ExportVcArgs) -> Result<String> {
    let ca = read_ca(args.ca_cert.as_deref())?;
    let json = fetch_vc(&args.web, &args.credential, ca.as_deref()).await?;
    std::fs::write(&args.out, format!("{json}\n"))
        .map_err(|e| Error::Unavailable(format!("writing {}: {e}", args.out.display())))?;
    Ok(format!(
        "saved the verifiable credential {} to {}",
        args.credential,
        args.out.display()
    ))
}

/// Verifies a saved VC; returns what it shows. Refused (an error) when the
/// proof fails, the issuer is not the pinned one, the VC is outside its
/// validity window, or (`--status`) a list cannot be checked or says revoked
/// or suspended.
pub async fn verify_vc(args: VerifyVcArgs) -> Result<String> {
    let bytes =
        std::fs::read(&args.file).map_err(|e| Error::InvalidArgument(format!("{}: {e}", args.file.display())))?;
    if bytes.len() > DOCUMENT_BYTES_MAX {
        return Err(Error::ResourceExhausted(format!(
            "{} is larger than {DOCUMENT_BYTES_MAX} bytes",
            args.file.display()
        )));
    }
    let document = parse_document(&args.file.display().to_string(), &bytes)?;
    let checked = credential::check_credential(&document)?;
    if let Some(pinned) = args.issuer.as_deref().filter(|pinned| *pinned != checked.issuer) {
        return Err(Error::FailedPrecondition(format!(
            "the VC is issued by {}, not by the issuer you pinned ({pinned})",
            checked.issuer
        )));
    }
    let now = chrono::Utc::now();
    if let Some(problem) = checked.window_problem(now) {
        return Err(Error::FailedPrecondition(problem));
    }
    let mut lines = describe(&checked, args.issuer.is_some());
    if !args.status {
        lines.push("status lists: not checked (pass --status to fetch them)".into());
        return Ok(lines.join("\n"));
    }
    let ca = read_ca(args.ca_cert.as_deref())?;
    if checked.status_entries.is_empty() {
        return Err(Error::FailedPrecondition("the VC names no status list to check".into()));
    }
    for entry in &checked.status_entries {
        let list = http_get::get(&entry.list_url, ca.as_deref(), DOCUMENT_BYTES_MAX).await?;
        let list = parse_document("the status list", &list)?;
        let set = credential::status_bit(&list, entry, &checked.issuer, now)?;
        if set {
            let word = match entry.purpose {
                Purpose::Revocation => "REVOKED",
                Purpose::Suspension => "SUSPENDED",
            };
            return Err(Error::FailedPrecondition(format!(
                "{}\nthe credential is {word}: its bit {} is set in the board's current {} list ({})",
                lines.join("\n"),
                entry.index,
                entry.purpose.as_str(),
                entry.list_url
            )));
        }
        lines.push(format!(
            "{}: not set (bit {} of {}, list verified)",
            entry.purpose.as_str(),
            entry.index,
            entry.list_url
        ));
    }
    lines.push("VALID: the proof verifies and the current status lists show neither revocation nor suspension".into());
    Ok(lines.join("\n"))
}

/// What a verified VC says, for a person.
fn describe(checked: &CheckedCredential, pinned: bool) -> Vec<String> {
    let subject = &checked.subject;
    let field = |name: &str| subject[name].as_str().unwrap_or("?").to_string();
    let issuer_note = if pinned {
        "the issuer you pinned"
    } else {
        "not pinned: compare with the board's GET /vc/issuer, or pass --issuer"
    };
    vec![
        format!(
            "proof verified: eddsa-jcs-2022 by {} ({})",
            checked.issuer,
            checked.issuer_name.as_deref().unwrap_or("unnamed issuer")
        ),
        format!("issuer: {issuer_note}"),
        format!(
            "credential {} ({}), holder {}",
            field("credential_number"),
            field("credential_type"),
            field("legal_name")
        ),
        format!(
            "status {} as of {} (issued {}, expires {})",
            field("status"),
            field("as_of"),
            field("issued_on"),
            field("expires_on")
        ),
    ]
}
