//! `peerreg search` and `peerreg list`: the board's finding aids, printed
//! plainly, or the list as CSV (board only: it holds legal names; the CSV is
//! the board export's, `cli::export`, filtered).

use clap::Args;

use super::export::each_page;
use super::{credential_type, status_name, type_name, Connection};
use crate::error::{Error, Result};
use crate::pb;
use crate::service::client::NodeClient;

/// Pages of a search printed at most (a query matching more should be narrowed).
const SEARCH_PAGES_MAX: usize = 10;

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// A name (each word a prefix of a word of the legal name; case and
    /// accents ignored), a credential number or a peer id.
    pub query: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// Only this status: active, probation, restricted, expired, suspended,
    /// surrendered, revoked or not_yet_valid.
    #[arg(long)]
    pub status: Option<String>,
    /// Only this type (e.g. peer_support_specialist).
    #[arg(long = "type")]
    pub credential_type: Option<String>,
    /// Only credentials whose expiry falls within this many days (1 to 366):
    /// the renewal reminders.
    #[arg(long)]
    pub expiring_within: Option<u32>,
    /// YYYY-MM-DD [default: today].
    #[arg(long, default_value = "")]
    pub as_of: String,
    /// Write CSV (with a header row) instead of text.
    #[arg(long)]
    pub csv: bool,
}

/// Prints every person the query finds, with their credentials.
pub async fn search(args: SearchArgs) -> Result<String> {
    let client = args.connection.client(true).await?;
    let mut lines = Vec::new();
    let mut page_token = String::new();
    for _ in 0..SEARCH_PAGES_MAX {
        let request = pb::SearchPeopleRequest {
            query: args.query.clone(),
            page_token,
            page_size: None,
        };
        let answer = client.search_people(request).await?;
        lines.extend(answer.people.iter().map(describe_person));
        page_token = answer.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    if !page_token.is_empty() {
        lines.push("(more matches: narrow the query)".to_string());
    }
    if lines.is_empty() {
        lines.push(format!("nobody matches {:?}", args.query));
    }
    Ok(lines.join("\n"))
}

fn describe_person(person: &pb::PersonMatch) -> String {
    let mut text = format!("{}  {}", person.peer_id, person.legal_name);
    for credential in &person.credentials {
        text.push_str(&format!(
            "\n    {} {} {} (expires {})",
            credential.credential_number,
            type_name(credential.credential_type),
            status_name(credential.status),
            credential.expires_on
        ));
    }
    text
}

fn status(value: &str) -> Result<i32> {
    let name = format!("CREDENTIAL_STATUS_{}", value.to_uppercase());
    match pb::CredentialStatus::from_str_name(&name) {
        Some(status) if status != pb::CredentialStatus::Unspecified => Ok(status as i32),
        _ => Err(Error::InvalidArgument(format!(
            "--status {value:?} is not one of: active, probation, restricted, expired, suspended, surrendered, revoked, not_yet_valid"
        ))),
    }
}

/// Prints the board's credential list, every page of it.
pub async fn list(args: ListArgs) -> Result<String> {
    let request = pb::ListCredentialsRequest {
        status: args.status.as_deref().map(status).transpose()?.unwrap_or_default(),
        credential_type: args
            .credential_type
            .as_deref()
            .map(credential_type)
            .transpose()?
            .unwrap_or_default(),
        expiring_within_days: args.expiring_within,
        as_of: args.as_of.clone(),
        page_token: String::new(),
        page_size: Some(100),
    };
    let client = args.connection.client(true).await?;
    if args.csv {
        // The board export's CSV, filtered (without a trailing newline: the
        // caller prints one).
        let mut bytes = Vec::new();
        super::export::write_board(&client, request, &mut bytes).await?;
        let text = String::from_utf8(bytes).map_err(|e| Error::Internal(format!("writing CSV: {e}")))?;
        return Ok(text.trim_end().to_string());
    }
    let listings = fetch_all(&client, request).await?;
    let mut lines: Vec<String> = listings
        .iter()
        .map(|c| {
            format!(
                "{}  {}  {}  {}  {}  expires {}",
                c.credential_number,
                c.peer_id,
                c.legal_name,
                type_name(c.credential_type),
                status_name(c.status),
                c.expires_on
            )
        })
        .collect();
    lines.push(format!("{} credentials", listings.len()));
    Ok(lines.join("\n"))
}

async fn fetch_all(client: &NodeClient, request: pb::ListCredentialsRequest) -> Result<Vec<pb::CredentialListing>> {
    let mut listings = Vec::new();
    each_page(client, request, |page| {
        listings.extend(page.credentials.iter().cloned());
        Ok(())
    })
    .await?;
    Ok(listings)
}
