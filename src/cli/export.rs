//! `peerreg export public` and `peerreg export board`: the register as RFC 4180
//! CSV with a header row, written page by page as the node answers (never the
//! whole register in memory), to standard output or atomically to a file.
//!
//! The public export holds exactly what an employer check shows (DESIGN.md
//! §8) and needs no token; the board's holds what the board sees of each
//! credential and needs `view_records`. `peerreg list --csv` is the board
//! export filtered.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::{status_code_name, type_name, Connection};
use crate::error::{Error, Result};
use crate::pb;
use crate::service::client::NodeClient;

/// Pages of the public register fetched at most: ten million credentials at
/// the node's largest page.
const PUBLIC_PAGES_MAX: usize = 10_000;
/// Rows asked for per page of the public register (the node's largest page).
const PUBLIC_PAGE_SIZE: u32 = 1_000;

/// The public register's columns. A credential with several disciplinary
/// actions in force has one row per action (its other columns repeated); one
/// without has one row with the discipline columns empty.
pub const PUBLIC_COLUMNS: [&str; 10] = [
    "credential_number",
    "legal_name",
    "credential_type",
    "status",
    "issued_on",
    "expires_on",
    "discipline_kind",
    "discipline_effective_on",
    "discipline_ends_on",
    "discipline_summary",
];

/// The board export's columns, one row per credential.
pub const BOARD_COLUMNS: [&str; 15] = [
    "credential_number",
    "peer_id",
    "legal_name",
    "credential_type",
    "status",
    "issued_on",
    "expires_on",
    "basis",
    "origin_state",
    "origin_credential_number",
    "renewals",
    "last_renewed_on",
    "discipline_actions",
    "discipline_in_force",
    "reinstatements",
];

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// The public register as CSV: per credential what an employer check shows (no token needed).
    Public(ExportArgs),
    /// The board's full credential list as CSV (token from PEERREG_TOKEN, with view_records).
    Board(ExportArgs),
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// Write the CSV to this file (replaced only once the export is complete)
    /// instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub credentials: usize,
    pub rows: usize,
    /// The date statuses are for (the node's, at the first page).
    pub as_of: String,
}

/// Runs an export; the summary goes to standard error when the CSV goes to
/// standard output, so that nothing but CSV is in the CSV.
pub async fn export(command: ExportCommand) -> Result<()> {
    let (args, public) = match command {
        ExportCommand::Public(args) => (args, true),
        ExportCommand::Board(args) => (args, false),
    };
    let client = args.connection.client(!public).await?;
    let what = if public { "public register" } else { "board's list" };
    let written = match &args.out {
        Some(path) => {
            write_file(path, |out| async move {
                if public {
                    write_public(&client, out).await
                } else {
                    write_board(&client, pb::ListCredentialsRequest::default(), out).await
                }
            })
            .await?
        }
        None => {
            let out = std::io::BufWriter::new(std::io::stdout());
            if public {
                write_public(&client, out).await?
            } else {
                write_board(&client, pb::ListCredentialsRequest::default(), out).await?
            }
        }
    };
    let summary = format!(
        "{} credentials ({} rows) of the {what} as of {}",
        written.credentials, written.rows, written.as_of
    );
    match &args.out {
        Some(path) => println!("wrote {summary} to {}", path.display()),
        None => eprintln!("{summary}"),
    }
    Ok(())
}

/// Writes to `<path>.partial`, then renames it onto `path` once `write`
/// succeeded and the data is on disk; on failure the partial file is removed
/// and `path` is left as it was.
async fn write_file<F, Fut>(path: &Path, write: F) -> Result<Written>
where
    F: FnOnce(std::io::BufWriter<std::fs::File>) -> Fut,
    Fut: std::future::Future<Output = Result<Written>>,
{
    let io = |e: std::io::Error| Error::InvalidArgument(format!("{}: {e}", path.display()));
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial).map_err(io)?;
    let result = async {
        let written = write(std::io::BufWriter::new(file.try_clone().map_err(io)?)).await?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&partial, path).map_err(io)?;
        Ok(written)
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn csv_failed(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("writing CSV: {e}"))
}

fn kind_name(value: i32) -> String {
    pb::DisciplineKind::try_from(value)
        .map(|k| k.as_str_name().trim_start_matches("DISCIPLINE_KIND_").to_lowercase())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// Writes the public register as CSV to `out`, page by page.
pub async fn write_public(client: &NodeClient, out: impl Write) -> Result<Written> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(PUBLIC_COLUMNS).map_err(csv_failed)?;
    let mut written = Written::default();
    let mut page_token = String::new();
    for _ in 0..PUBLIC_PAGES_MAX {
        let request = pb::ExportPublicRegisterRequest {
            page_token,
            page_size: Some(PUBLIC_PAGE_SIZE),
        };
        let answer = client.export_public_register(request).await?;
        if written.as_of.is_empty() {
            written.as_of = answer.as_of.clone();
        }
        for entry in &answer.credentials {
            written.credentials += 1;
            written.rows += write_public_entry(&mut writer, entry)?;
        }
        page_token = answer.next_page_token;
        if page_token.is_empty() {
            writer.flush().map_err(csv_failed)?;
            return Ok(written);
        }
    }
    Err(Error::ResourceExhausted(format!(
        "the public register passes {PUBLIC_PAGES_MAX} pages"
    )))
}

/// One credential's rows (one per action in force, at least one); returns how many.
pub fn write_public_entry<W: Write>(writer: &mut csv::Writer<W>, entry: &pb::PublicRegisterEntry) -> Result<usize> {
    let kind = type_name(entry.credential_type);
    let status = status_code_name(entry.status);
    let facts = [
        entry.credential_number.as_str(),
        entry.legal_name.as_str(),
        kind.as_str(),
        status.as_str(),
        entry.issued_on.as_str(),
        entry.expires_on.as_str(),
    ];
    let none = pb::PublicDiscipline::default();
    let actions: Vec<&pb::PublicDiscipline> = if entry.discipline.is_empty() {
        vec![&none]
    } else {
        entry.discipline.iter().collect()
    };
    for action in &actions {
        let kind = if action.kind == 0 {
            String::new()
        } else {
            kind_name(action.kind)
        };
        let discipline = [
            kind.as_str(),
            action.effective_on.as_str(),
            action.ends_on.as_str(),
            action.public_summary.as_str(),
        ];
        writer
            .write_record(facts.iter().chain(discipline.iter()))
            .map_err(csv_failed)?;
    }
    Ok(actions.len())
}

/// Writes the board's list (all of it, or as `request` filters it) as CSV
/// to `out`, page by page.
pub async fn write_board(client: &NodeClient, request: pb::ListCredentialsRequest, out: impl Write) -> Result<Written> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(BOARD_COLUMNS).map_err(csv_failed)?;
    let mut written = Written::default();
    let request = pb::ListCredentialsRequest {
        page_size: Some(100),
        ..request
    };
    each_page(client, request, |page| {
        written.as_of.clone_from(&page.as_of);
        for listing in &page.credentials {
            writer.write_record(board_row(listing)).map_err(csv_failed)?;
            written.credentials += 1;
            written.rows += 1;
        }
        Ok(())
    })
    .await?;
    writer.flush().map_err(csv_failed)?;
    Ok(written)
}

fn board_row(c: &pb::CredentialListing) -> [String; 15] {
    let in_force: Vec<String> = c.discipline_in_force.iter().map(|d| kind_name(d.kind)).collect();
    [
        c.credential_number.clone(),
        c.peer_id.clone(),
        c.legal_name.clone(),
        type_name(c.credential_type),
        status_code_name(c.status),
        c.issued_on.clone(),
        c.expires_on.clone(),
        c.basis.clone(),
        c.reciprocity_origin_state.clone(),
        c.reciprocity_origin_credential_number.clone(),
        c.renewals.to_string(),
        c.last_renewed_on.clone(),
        c.discipline_actions.to_string(),
        in_force.join("; "),
        c.reinstatements.to_string(),
    ]
}

/// Pages of a list fetched at most: a million credentials at 100 a page.
const LIST_PAGES_MAX: usize = 10_000;

/// Every page of a list, each handed to `page` as it arrives (at most
/// `LIST_PAGES_MAX`); every page is asked for the date the first one answered
/// for, so a list that crosses midnight stays one day's list.
pub(super) async fn each_page(
    client: &NodeClient,
    mut request: pb::ListCredentialsRequest,
    mut page: impl FnMut(&pb::ListCredentialsResponse) -> Result<()>,
) -> Result<()> {
    for _ in 0..LIST_PAGES_MAX {
        let answer = client.list_credentials(request.clone()).await?;
        page(&answer)?;
        if answer.next_page_token.is_empty() {
            return Ok(());
        }
        request.page_token = answer.next_page_token;
        request.as_of = answer.as_of;
    }
    Err(Error::ResourceExhausted(format!(
        "the list passes {LIST_PAGES_MAX} pages; narrow it"
    )))
}
