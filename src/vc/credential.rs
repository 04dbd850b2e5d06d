//! The documents: a board's credential as a VC 2.0 document, its status list
//! credentials, and their offline checks (what `peerreg verify-vc` runs).
//!
//! The credential's subject is exactly the employer check's public answer
//! (`report::check_json`: holder name, number, type, status on the export
//! date, dates, the discipline in force, a reciprocity or import basis, the
//! log size it rests on), so a VC can say no more than DESIGN.md §8 lets
//! anyone see. Only the VC 2.0 base context is used: its `@vocab` gives the
//! board's own terms an issuer-dependent meaning, and `eddsa-jcs-2022`
//! signs the JSON itself, so no other context is fetched or needed.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::bitstring::Bitstring;
use super::proof::{self, ASSERTION_METHOD};
use crate::domain::fact::quote;
use crate::error::{Error, Result};
use crate::pb;

pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The VC type of a board's credential (an issuer-dependent term).
pub const CREDENTIAL_TYPE: &str = "PeerSupportCertificationCredential";
pub const STATUS_LIST_TYPE: &str = "BitstringStatusListCredential";
pub const STATUS_ENTRY_TYPE: &str = "BitstringStatusListEntry";

/// The two status purposes a board publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Revoked, surrendered, or no longer on the register (expunged): final.
    Revocation,
    /// Suspended on the list's date: reversible.
    Suspension,
}

impl Purpose {
    pub const ALL: [Purpose; 2] = [Purpose::Revocation, Purpose::Suspension];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Revocation => "revocation",
            Purpose::Suspension => "suspension",
        }
    }

    pub fn parse(text: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// One `credentialStatus` entry: a bit of a published list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEntry {
    pub purpose: Purpose,
    pub index: u32,
    /// The status list credential's URL.
    pub list_url: String,
}

/// A board as the issuer of its documents.
pub struct IssuerRef<'a> {
    /// The issuer key's `did:key`.
    pub did: &'a str,
    /// e.g. "MS peer support certification board".
    pub name: &'a str,
}

/// An XML Schema dateTime in UTC, to the second.
pub fn date_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The unsigned VC of an employer check, with its status entries.
pub fn credential_document(check: &pb::CredentialCheck, issuer: &IssuerRef, entries: &[StatusEntry]) -> Value {
    let status: Vec<Value> = entries
        .iter()
        .map(|entry| {
            json!({
                "id": format!("{}#{}", entry.list_url, entry.index),
                "type": STATUS_ENTRY_TYPE,
                "statusPurpose": entry.purpose.as_str(),
                "statusListIndex": entry.index.to_string(),
                "statusListCredential": entry.list_url,
            })
        })
        .collect();
    let mut document = json!({
        "@context": [VC_CONTEXT],
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "name": format!("{} peer support credential {}", check.state, check.credential_number),
        "issuer": { "id": issuer.did, "name": issuer.name },
        "validFrom": format!("{}T00:00:00Z", check.issued_on),
        "credentialSubject": crate::report::check_json(check),
        "credentialStatus": status,
    });
    if !check.expires_on.is_empty() {
        document["validUntil"] = format!("{}T23:59:59Z", check.expires_on).into();
    }
    document
}

/// The unsigned status list credential of `purpose` at `url`.
pub fn status_list_document(
    purpose: Purpose,
    url: &str,
    issuer: &IssuerRef,
    bits: &Bitstring,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
) -> Result<Value> {
    Ok(json!({
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", STATUS_LIST_TYPE],
        "issuer": { "id": issuer.did, "name": issuer.name },
        "validFrom": date_time(valid_from),
        "validUntil": date_time(valid_until),
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose.as_str(),
            "encodedList": bits.encode()?,
        },
    }))
}

/// What an offline check of a credential VC found.
#[derive(Clone, Debug)]
pub struct CheckedCredential {
    /// The issuer's `did:key`, which the proof's key is bound to.
    pub issuer: String,
    pub issuer_name: Option<String>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub subject: Value,
    pub status_entries: Vec<StatusEntry>,
}

fn has_type(document: &Value, wanted: &str) -> bool {
    match &document["type"] {
        Value::String(t) => t == wanted,
        Value::Array(types) => types.iter().any(|t| t.as_str() == Some(wanted)),
        _ => false,
    }
}

/// The issuer's id (a string, or an object's `id`) and name.
fn issuer_of(document: &Value) -> Result<(String, Option<String>)> {
    match &document["issuer"] {
        Value::String(id) => Ok((id.clone(), None)),
        Value::Object(issuer) => match issuer.get("id").and_then(Value::as_str) {
            Some(id) => Ok((
                id.to_string(),
                issuer.get("name").and_then(Value::as_str).map(str::to_string),
            )),
            None => Err(Error::InvalidArgument("the issuer has no id".into())),
        },
        _ => Err(Error::InvalidArgument("the document names no issuer".into())),
    }
}

fn time_field(document: &Value, field: &str) -> Result<Option<DateTime<Utc>>> {
    match &document[field] {
        Value::Null => Ok(None),
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| Error::InvalidArgument(format!("{field} {} is not a dateTime", quote(text)))),
        _ => Err(Error::InvalidArgument(format!("{field} is not a dateTime"))),
    }
}

/// Checks a secured document's proof and that its key is its issuer's
/// `did:key` (a did:key names its key: the issuer cannot be anyone else).
fn verified_issuer(document: &Value) -> Result<(String, Option<String>)> {
    let verified = proof::verify_proof(document, ASSERTION_METHOD)?;
    let (issuer, name) = issuer_of(document)?;
    if issuer != super::multibase::did_key(&verified.key) {
        return Err(Error::DataLoss(format!(
            "the proof's key is not the issuer's: the document names issuer {}",
            quote(&issuer)
        )));
    }
    Ok((issuer, name))
}

/// Checks a credential VC offline: its proof, its issuer, its type, and
/// reads its validity window and status entries (the window is reported,
/// not judged: see [`CheckedCredential::window_problem`]).
pub fn check_credential(document: &Value) -> Result<CheckedCredential> {
    let (issuer, issuer_name) = verified_issuer(document)?;
    if !has_type(document, "VerifiableCredential") {
        return Err(Error::InvalidArgument(
            "the document is not a VerifiableCredential".into(),
        ));
    }
    Ok(CheckedCredential {
        issuer,
        issuer_name,
        valid_from: time_field(document, "validFrom")?,
        valid_until: time_field(document, "validUntil")?,
        subject: document["credentialSubject"].clone(),
        status_entries: status_entries(&document["credentialStatus"])?,
    })
}

impl CheckedCredential {
    /// Why the credential is outside its validity window at `now`, if it is.
    pub fn window_problem(&self, now: DateTime<Utc>) -> Option<String> {
        window_problem(self.valid_from, self.valid_until, now, "the credential")
    }
}

fn window_problem(
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    what: &str,
) -> Option<String> {
    if let Some(from) = from.filter(|from| now < *from) {
        return Some(format!("{what} is not valid before {}", date_time(from)));
    }
    until
        .filter(|until| now > *until)
        .map(|until| format!("{what} expired at {}", date_time(until)))
}

/// The Bitstring Status List entries of `credentialStatus` (one object or a
/// list); entries of other types are not this module's and are skipped.
fn status_entries(value: &Value) -> Result<Vec<StatusEntry>> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut entries = Vec::new();
    for item in items
        .iter()
        .filter(|item| item["type"].as_str() == Some(STATUS_ENTRY_TYPE))
    {
        let purpose_text = item["statusPurpose"].as_str().unwrap_or_default();
        let Some(purpose) = Purpose::parse(purpose_text) else {
            return Err(Error::InvalidArgument(format!(
                "status purpose {} is not revocation or suspension",
                quote(purpose_text)
            )));
        };
        let index_text = item["statusListIndex"].as_str().unwrap_or_default();
        let index = index_text.parse::<u32>().map_err(|_| {
            Error::InvalidArgument(format!("statusListIndex {} is not a base-10 index", quote(index_text)))
        })?;
        if item.get("statusSize").is_some_and(|size| size.as_u64() != Some(1)) {
            return Err(Error::InvalidArgument(
                "only one-bit status entries are supported".into(),
            ));
        }
        let Some(list_url) = item["statusListCredential"].as_str() else {
            return Err(Error::InvalidArgument(
                "a status entry names no statusListCredential".into(),
            ));
        };
        entries.push(StatusEntry {
            purpose,
            index,
            list_url: list_url.to_string(),
        });
    }
    Ok(entries)
}

/// Reads `entry`'s bit from `list` (a status list credential fetched from
/// `entry.list_url`), checking it first: its proof, that its issuer is
/// `issuer` (the credential's), its type and id, its purpose, its validity
/// window at `now`, and the list's length (at least 131,072 entries).
/// Returns whether the bit is set.
pub fn status_bit(list: &Value, entry: &StatusEntry, issuer: &str, now: DateTime<Utc>) -> Result<bool> {
    let (list_issuer, _) = verified_issuer(list)?;
    if list_issuer != issuer {
        return Err(Error::DataLoss(format!(
            "the status list at {} is issued by {}, not by the credential's issuer",
            quote(&entry.list_url),
            quote(&list_issuer)
        )));
    }
    if !has_type(list, STATUS_LIST_TYPE) {
        return Err(Error::InvalidArgument(format!(
            "the document is not a {STATUS_LIST_TYPE}"
        )));
    }
    if list["id"].as_str().is_some_and(|id| id != entry.list_url) {
        return Err(Error::InvalidArgument(format!(
            "the status list's id is not the URL it was fetched from ({})",
            quote(&entry.list_url)
        )));
    }
    let subject = &list["credentialSubject"];
    let purposes = match &subject["statusPurpose"] {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        other => other.as_str().into_iter().collect::<Vec<_>>(),
    };
    if !purposes.contains(&entry.purpose.as_str()) {
        return Err(Error::InvalidArgument(format!(
            "the status list is not for {}",
            entry.purpose.as_str()
        )));
    }
    let window = window_problem(
        time_field(list, "validFrom")?,
        time_field(list, "validUntil")?,
        now,
        "the status list",
    );
    if let Some(problem) = window {
        return Err(Error::FailedPrecondition(problem));
    }
    let Some(encoded) = subject["encodedList"].as_str() else {
        return Err(Error::InvalidArgument("the status list has no encodedList".into()));
    };
    Bitstring::decode(encoded)?.get(entry.index as usize)
}
