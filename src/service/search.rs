//! The board's finding aids (`SearchPeople`, `ListCredentials`): checked
//! requests, opaque page tokens, and answers read from the projection with a
//! bounded amount of work per call.

use chrono::{Days, NaiveDate};

use super::convert;
use crate::domain::fact::TEXT_BYTES_MAX;
use crate::domain::records::Credential;
use crate::domain::status::Status;
use crate::error::{Error, Result};
use crate::pb;
use crate::projection::names::{folded_words, NameCursor};
use crate::projection::Registry;

/// Answers per page when the client does not say.
pub const PAGE_SIZE_DEFAULT: u32 = 50;
/// The most answers one page holds.
pub const PAGE_SIZE_MAX: u32 = 100;
/// The most index entries or credentials one call reads, whatever it finds:
/// a page may come back short, with a token to go on.
pub const SCAN_MAX: usize = 10_000;
/// The longest renewal window a list takes.
pub const EXPIRING_WITHIN_DAYS_MAX: u32 = 366;
/// The most words a name query holds.
const QUERY_WORDS_MAX: usize = 8;

fn page_size(asked: Option<u32>) -> Result<usize> {
    match asked.unwrap_or(PAGE_SIZE_DEFAULT) {
        size @ 1..=PAGE_SIZE_MAX => Ok(size as usize),
        size => Err(Error::InvalidArgument(format!(
            "page_size must be 1 to {PAGE_SIZE_MAX}, not {size}"
        ))),
    }
}

pub(super) fn bad_token() -> Error {
    Error::InvalidArgument("page_token is not one this query gave".to_string())
}

/// A token is the hex of its parts joined by a NUL (which no part holds).
pub(super) fn encode_token(parts: &[&str]) -> String {
    hex::encode(parts.join("\0"))
}

pub(super) fn decode_token(token: &str, parts: usize) -> Result<Vec<String>> {
    let bytes = hex::decode(token).map_err(|_| bad_token())?;
    let text = String::from_utf8(bytes).map_err(|_| bad_token())?;
    let split: Vec<String> = text.split('\0').map(str::to_string).collect();
    if split.len() != parts {
        return Err(bad_token());
    }
    Ok(split)
}

/// A checked `SearchPeople` request.
pub struct PeopleQuery {
    /// The query as given (trimmed), for exact number and peer id matches.
    exact: String,
    words: Vec<String>,
    cursor: Option<NameCursor>,
    page_size: usize,
}

impl TryFrom<pb::SearchPeopleRequest> for PeopleQuery {
    type Error = Error;

    fn try_from(request: pb::SearchPeopleRequest) -> Result<PeopleQuery> {
        let pb::SearchPeopleRequest {
            query,
            page_token,
            page_size: size,
        } = request;
        let exact = crate::domain::fact::text("query", query.trim(), TEXT_BYTES_MAX)?;
        let words = folded_words(&exact);
        if words.len() > QUERY_WORDS_MAX {
            return Err(Error::InvalidArgument(format!(
                "query has more than {QUERY_WORDS_MAX} words"
            )));
        }
        let cursor = if page_token.is_empty() {
            None
        } else {
            let mut parts = decode_token(&page_token, 2)?;
            let peer_id = parts.pop().unwrap_or_default();
            let word = parts.pop().unwrap_or_default();
            if !words.first().is_some_and(|first| word.starts_with(first.as_str())) {
                return Err(bad_token());
            }
            Some((word, peer_id))
        };
        Ok(PeopleQuery {
            exact,
            words,
            cursor,
            page_size: page_size(size)?,
        })
    }
}

/// Peers the query names exactly: by peer id, or as holder of a credential number.
fn exact_matches(registry: &Registry, query: &str) -> Vec<String> {
    let mut found = Vec::new();
    if registry.peer(query).is_some() {
        found.push(query.to_string());
    }
    if let Some(holder) = registry.credential(query).map(|c| c.peer_id.clone()) {
        if !found.contains(&holder) && registry.peer(&holder).is_some() {
            found.push(holder);
        }
    }
    found
}

/// One page of people: exact matches first (on the first page only), then
/// name matches in the order of the name index.
pub fn search_people(registry: &Registry, query: &PeopleQuery, today: NaiveDate) -> pb::SearchPeopleResponse {
    let exact = exact_matches(registry, &query.exact);
    let mut peer_ids = if query.cursor.is_none() {
        exact.clone()
    } else {
        Vec::new()
    };
    let room = query.page_size.saturating_sub(peer_ids.len()).max(1);
    let page = registry
        .names
        .search(&query.words, query.cursor.as_ref(), room, SCAN_MAX, |id| {
            registry.peer(id).map(|p| p.legal_name.as_str())
        });
    peer_ids.extend(page.peer_ids.into_iter().filter(|id| !exact.contains(id)));
    let people = peer_ids.iter().filter_map(|id| person(registry, id, today)).collect();
    pb::SearchPeopleResponse {
        people,
        next_page_token: page.next.map(|(w, p)| encode_token(&[&w, &p])).unwrap_or_default(),
        log_size: registry.size,
    }
}

fn person(registry: &Registry, peer_id: &str, today: NaiveDate) -> Option<pb::PersonMatch> {
    let peer = registry.peer(peer_id)?;
    let credentials = peer
        .credentials
        .iter()
        .filter_map(|n| registry.credential(n))
        .map(|c| pb::CredentialBrief {
            credential_number: c.number.clone(),
            credential_type: convert::credential_type(c.credential_type) as i32,
            status: convert::status(c.status_on(today)) as i32,
            expires_on: convert::date(c.expires_on_as_of(today)),
        })
        .collect();
    Some(pb::PersonMatch {
        peer_id: peer.peer_id.clone(),
        legal_name: peer.legal_name.clone(),
        credentials,
    })
}

/// A checked `ListCredentials` request.
pub struct CredentialList {
    status: Option<pb::CredentialStatus>,
    credential_type: Option<pb::CredentialType>,
    expiring_within_days: Option<u32>,
    pub as_of: Option<NaiveDate>,
    after: Option<String>,
    page_size: usize,
}

impl TryFrom<pb::ListCredentialsRequest> for CredentialList {
    type Error = Error;

    fn try_from(request: pb::ListCredentialsRequest) -> Result<CredentialList> {
        let pb::ListCredentialsRequest {
            status,
            credential_type,
            expiring_within_days,
            as_of,
            page_token,
            page_size: size,
        } = request;
        let status = pb::CredentialStatus::try_from(status)
            .map_err(|_| Error::InvalidArgument(format!("status {status} is not a credential status")))?;
        let credential_type = pb::CredentialType::try_from(credential_type)
            .map_err(|_| Error::InvalidArgument(format!("credential_type {credential_type} is not a type")))?;
        if let Some(days) = expiring_within_days.filter(|d| !(1..=EXPIRING_WITHIN_DAYS_MAX).contains(d)) {
            return Err(Error::InvalidArgument(format!(
                "expiring_within_days must be 1 to {EXPIRING_WITHIN_DAYS_MAX}, not {days}"
            )));
        }
        let after = if page_token.is_empty() {
            None
        } else {
            decode_token(&page_token, 1)?.pop()
        };
        Ok(CredentialList {
            status: (status != pb::CredentialStatus::Unspecified).then_some(status),
            credential_type: (credential_type != pb::CredentialType::Unspecified).then_some(credential_type),
            expiring_within_days,
            as_of: super::requests::optional_date("as_of", &as_of)?,
            after,
            page_size: page_size(size)?,
        })
    }
}

impl CredentialList {
    fn wanted(&self, credential: &Credential, as_of: NaiveDate) -> bool {
        let status = credential.status_on(as_of);
        let expiring = |days: u32| {
            let expires = credential.expires_on_as_of(as_of);
            let last = as_of
                .checked_add_days(Days::new(u64::from(days)))
                .unwrap_or(NaiveDate::MAX);
            (as_of..=last).contains(&expires) && !matches!(status, Status::Revoked | Status::Surrendered)
        };
        self.status.is_none_or(|s| convert::status(status) == s)
            && self
                .credential_type
                .is_none_or(|t| convert::credential_type(credential.credential_type) == t)
            && self.expiring_within_days.is_none_or(expiring)
    }
}

/// One page of credentials in number order, reading at most `SCAN_MAX`.
pub fn list_credentials(registry: &Registry, list: &CredentialList, as_of: NaiveDate) -> pb::ListCredentialsResponse {
    use std::ops::Bound;
    let start = match &list.after {
        Some(after) => Bound::Excluded(after.clone()),
        None => Bound::Unbounded,
    };
    let mut credentials = Vec::new();
    let mut next_page_token = String::new();
    let mut range = registry.credentials.range((start, Bound::Unbounded)).peekable();
    let mut read = 0;
    while let Some((number, credential)) = range.next() {
        read += 1;
        if list.wanted(credential, as_of) {
            credentials.push(listing(registry, credential, as_of));
        }
        if (credentials.len() == list.page_size || read == SCAN_MAX) && range.peek().is_some() {
            next_page_token = encode_token(&[number]);
            break;
        }
    }
    pb::ListCredentialsResponse {
        credentials,
        next_page_token,
        as_of: convert::date(as_of),
        log_size: registry.size,
    }
}

/// The actions of `credential` in force on `as_of`, as an employer check shows them.
pub(super) fn discipline_in_force(credential: &Credential, as_of: NaiveDate) -> Vec<pb::PublicDiscipline> {
    let mut actions = convert::public_discipline(credential, as_of);
    actions.retain(|action| action.ended_on.is_empty());
    actions
}

/// What the board sees of one credential in a list (and in its full export).
fn listing(registry: &Registry, credential: &Credential, as_of: NaiveDate) -> pb::CredentialListing {
    let legal_name = registry
        .peer(&credential.peer_id)
        .map(|p| p.legal_name.clone())
        .unwrap_or_default();
    let renewals: Vec<_> = credential.renewals.iter().filter(|r| r.renewed_on <= as_of).collect();
    let basis = credential.reciprocity.as_ref();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    pb::CredentialListing {
        basis: match (basis, &credential.imported) {
            (Some(_), _) => "reciprocity",
            (None, Some(_)) => "imported",
            (None, None) => "initial",
        }
        .to_string(),
        reciprocity_origin_state: basis.map(|b| b.origin_state.clone()).unwrap_or_default(),
        reciprocity_origin_credential_number: basis.map(|b| b.origin_credential_number.clone()).unwrap_or_default(),
        renewals: count(renewals.len()),
        last_renewed_on: renewals
            .iter()
            .map(|r| r.renewed_on)
            .max()
            .map(convert::date)
            .unwrap_or_default(),
        discipline_actions: count(credential.discipline_on(as_of).len()),
        discipline_in_force: discipline_in_force(credential, as_of),
        reinstatements: count(
            credential
                .reinstatements
                .iter()
                .filter(|r| r.effective_on <= as_of)
                .count(),
        ),
        credential_number: credential.number.clone(),
        peer_id: credential.peer_id.clone(),
        legal_name,
        credential_type: convert::credential_type(credential.credential_type) as i32,
        status: convert::status(credential.status_on(as_of)) as i32,
        issued_on: convert::date(credential.issued_on),
        expires_on: convert::date(credential.expires_on_as_of(as_of)),
    }
}
