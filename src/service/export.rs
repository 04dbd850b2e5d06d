//! The public register export (`ExportPublicRegister`): every credential as an
//! employer check shows it (DESIGN.md §8: holder name as the board prints it,
//! number, type, status, dates, discipline in force with its public summary),
//! page by page in number order. Public like `CheckCredential`; bounded per
//! call in rows and bytes, so an export of any size is many small answers.

use chrono::NaiveDate;
use prost::Message;

use super::convert;
use super::search::{bad_token, decode_token, discipline_in_force, encode_token, SCAN_MAX};
use crate::domain::records::Credential;
use crate::error::{Error, Result};
use crate::pb;
use crate::projection::Registry;

/// Rows per page when the client does not say.
pub const PAGE_SIZE_DEFAULT: u32 = 500;
/// The most rows one page holds.
pub const PAGE_SIZE_MAX: u32 = 1_000;
/// A page stops growing past this many bytes (discipline summaries can make
/// rows large); it always holds at least one row.
pub const PAGE_BYTES_MAX: usize = 1024 * 1024;

/// A checked `ExportPublicRegister` request: the date of the whole export
/// (from the first page's token onwards) and where this page starts.
pub struct PublicExport {
    pub as_of: Option<NaiveDate>,
    after: Option<String>,
    page_size: usize,
}

impl TryFrom<pb::ExportPublicRegisterRequest> for PublicExport {
    type Error = Error;

    fn try_from(request: pb::ExportPublicRegisterRequest) -> Result<PublicExport> {
        let pb::ExportPublicRegisterRequest { page_token, page_size } = request;
        let size = match page_size.unwrap_or(PAGE_SIZE_DEFAULT) {
            size @ 1..=PAGE_SIZE_MAX => size as usize,
            size => {
                return Err(Error::InvalidArgument(format!(
                    "page_size must be 1 to {PAGE_SIZE_MAX}, not {size}"
                )))
            }
        };
        let (as_of, after) = if page_token.is_empty() {
            (None, None)
        } else {
            let mut parts = decode_token(&page_token, 2)?;
            let after = parts.pop().unwrap_or_default();
            let date = parts.pop().unwrap_or_default();
            let as_of = NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| bad_token())?;
            (Some(as_of), Some(after))
        };
        Ok(PublicExport {
            as_of,
            after,
            page_size: size,
        })
    }
}

/// One credential as the public register shows it on `as_of`.
fn entry(registry: &Registry, credential: &Credential, as_of: NaiveDate) -> pb::PublicRegisterEntry {
    pb::PublicRegisterEntry {
        credential_number: credential.number.clone(),
        legal_name: registry
            .peer(&credential.peer_id)
            .map(|p| p.legal_name.clone())
            .unwrap_or_default(),
        credential_type: convert::credential_type(credential.credential_type) as i32,
        status: convert::status(credential.status_on(as_of)) as i32,
        issued_on: convert::date(credential.issued_on),
        expires_on: convert::date(credential.expires_on_as_of(as_of)),
        discipline: discipline_in_force(credential, as_of),
    }
}

/// One page of the public register in number order, after the request's
/// cursor, of at most `page_size` rows and about `PAGE_BYTES_MAX` bytes,
/// reading at most `SCAN_MAX` credentials.
/// A credential whose holder the registry no longer knows (an expunged
/// person) is not listed, as a check would not find it.
pub fn public_page(registry: &Registry, export: &PublicExport, as_of: NaiveDate) -> pb::ExportPublicRegisterResponse {
    use std::ops::Bound;
    let start = match &export.after {
        Some(after) => Bound::Excluded(after.clone()),
        None => Bound::Unbounded,
    };
    let mut credentials = Vec::new();
    let mut bytes = 0;
    let mut next_page_token = String::new();
    let mut range = registry.credentials.range((start, Bound::Unbounded)).peekable();
    let mut read = 0;
    while let Some((number, credential)) = range.next() {
        read += 1;
        if registry.peer(&credential.peer_id).is_some() {
            let row = entry(registry, credential, as_of);
            bytes += row.encoded_len();
            credentials.push(row);
        }
        let full = credentials.len() == export.page_size || bytes >= PAGE_BYTES_MAX || read == SCAN_MAX;
        if full && range.peek().is_some() {
            next_page_token = encode_token(&[&convert::date(as_of), number]);
            break;
        }
    }
    pb::ExportPublicRegisterResponse {
        credentials,
        next_page_token,
        as_of: convert::date(as_of),
        log_size: registry.size,
    }
}
