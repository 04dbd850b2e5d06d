//! The node's part: the board's issuer key, credentials' status-list indexes,
//! and the status lists kept current from the log.
//!
//! - **Key.** `<data>/issuer.key` (mode 0600), an Ed25519 key apart from the
//!   log key (a VC signature must never be mistakable for a log signature, and
//!   either key can be replaced without the other); it holds the private
//!   multikey (`z3u2…`) on one line, is created at a node's first start and
//!   never logged. The issuer is its `did:key` (`did:key:z6Mk…`), the proofs'
//!   verification method `did:key:z6Mk…#z6Mk…`; the node serves both at
//!   `GET /vc/issuer` so employers can pin it.
//! - **Indexes.** A credential gets its index when its first VC is issued: a
//!   uniformly random free position of a list of
//!   `limits::VC_STATUS_LIST_ENTRIES` (131,072, the spec's minimum), kept in
//!   the private store (`Vault::assign_status_index`), so positions say
//!   nothing of order or count. One index serves both lists.
//! - **Lists.** `revocation` (revoked, surrendered, or no longer on the
//!   register: an expunged credential) and `suspension` (suspended on today's
//!   date), computed from the registry for today and signed; recomputed when
//!   the log grows, when an index is assigned, and at least every
//!   `limits::VC_STATUS_LIST_REFRESH` (an hour); each is valid for
//!   `limits::VC_STATUS_LIST_VALID_HOURS` (24) from its signing, so an old
//!   list cannot be replayed for long.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde_json::Value;

use super::bitstring::Bitstring;
use super::credential::{self, IssuerRef, Purpose, StatusEntry};
use super::multibase;
use super::proof::{self, ProofOptions, ASSERTION_METHOD};
use crate::domain::status::Status;
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::pb;
use crate::store::files;

use crate::limits::{
    VC_INDEX_TRIES as INDEX_TRIES, VC_STATUS_LIST_ENTRIES as LIST_ENTRIES, VC_STATUS_LIST_REFRESH as LIST_REFRESH,
};

/// Random indexes are a u32 modulo the length: uniform only for a power of two.
const _: () = assert!(LIST_ENTRIES.is_power_of_two() && LIST_ENTRIES <= 1 << 31);

/// A list's `validFrom` is this much before its signing, so a verifier whose
/// clock is a little behind the node's does not find a fresh list "not yet valid".
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// How long a signed list is valid (from its signing to `validUntil`).
const LIST_VALIDITY: chrono::Duration = chrono::Duration::hours(crate::limits::VC_STATUS_LIST_VALID_HOURS);

/// Where a node keeps its issuer key.
pub fn issuer_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("issuer.key")
}

/// The board's VC issuer key.
pub struct IssuerKey {
    key: SigningKey,
}

impl IssuerKey {
    /// Reads `path`, or creates it (0600) with a fresh key if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<IssuerKey> {
        if let Some(bytes) = files::read_optional(path)? {
            let text = zeroize::Zeroizing::new(
                String::from_utf8(bytes)
                    .map_err(|_| Error::InvalidArgument(format!("issuer key {}: not UTF-8", path.display())))?,
            );
            let key = multibase::parse_private_multikey(text.trim())
                .map_err(|e| Error::InvalidArgument(format!("issuer key {}: {e}", path.display())))?;
            return Ok(IssuerKey { key });
        }
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::getrandom(&mut seed[..]).map_err(|e| Error::Internal(format!("the random source failed: {e}")))?;
        let issuer = IssuerKey::from_seed(*seed);
        let line = zeroize::Zeroizing::new(format!("{}\n", multibase::private_multikey(&issuer.key)));
        files::write_atomic(path, line.as_bytes(), files::Mode::Private)?;
        tracing::info!(issuer = %issuer.did(), "created the board's VC issuer key");
        Ok(issuer)
    }

    pub fn from_seed(seed: [u8; 32]) -> IssuerKey {
        IssuerKey {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// `did:key:z6Mk…`
    pub fn did(&self) -> String {
        multibase::did_key(&self.key.verifying_key())
    }

    /// `did:key:z6Mk…#z6Mk…`
    pub fn verification_method(&self) -> String {
        multibase::verification_method(&self.key.verifying_key())
    }

    pub fn public_multikey(&self) -> String {
        multibase::public_multikey(&self.key.verifying_key())
    }

    /// `document` with this key's `eddsa-jcs-2022` proof, made at `created`.
    pub fn sign(&self, document: &Value, created: DateTime<Utc>) -> Result<Value> {
        let method = self.verification_method();
        let created = credential::date_time(created);
        let options = ProofOptions {
            verification_method: &method,
            created: &created,
            proof_purpose: ASSERTION_METHOD,
        };
        proof::add_proof(document, &self.key, &options)
    }
}

/// What a node needs to issue VCs on its HTTP side.
#[derive(Clone)]
pub struct Issuing {
    pub key: Arc<IssuerKey>,
    /// The URL the node's HTTP side is reached at from outside (`--public-url`,
    /// e.g. `https://registry.board.example`): it goes into every VC, naming
    /// the status lists. Without it, the HTTP side's own address.
    pub public_url: Option<String>,
}

impl Issuing {
    /// The issuer of an HTTP side listening on `address` (with TLS or not).
    pub fn issuer(&self, address: std::net::SocketAddr, tls: bool) -> Issuer {
        let own = format!("{}://{address}", if tls { "https" } else { "http" });
        Issuer::new(self.key.clone(), self.public_url.as_deref().unwrap_or(&own))
    }
}

/// A node's issuer at work: its key, the URL its lists are published under,
/// and the signed lists of the moment.
pub struct Issuer {
    key: Arc<IssuerKey>,
    /// e.g. `https://registry.board.example` (no trailing `/`).
    base_url: String,
    lists: Mutex<Option<Arc<Lists>>>,
}

/// Both signed status lists, and what they were computed from.
pub struct Lists {
    log_size: u64,
    made: Instant,
    pub revocation: String,
    pub suspension: String,
}

impl Lists {
    pub fn of(&self, purpose: Purpose) -> &str {
        match purpose {
            Purpose::Revocation => &self.revocation,
            Purpose::Suspension => &self.suspension,
        }
    }
}

impl Issuer {
    pub fn new(key: Arc<IssuerKey>, base_url: &str) -> Issuer {
        Issuer {
            key,
            base_url: base_url.trim_end_matches('/').to_string(),
            lists: Mutex::new(None),
        }
    }

    pub fn key(&self) -> &IssuerKey {
        &self.key
    }

    /// The URL of the status list of `purpose`.
    pub fn list_url(&self, purpose: Purpose) -> String {
        format!("{}/status-list/{}", self.base_url, purpose.as_str())
    }

    fn name(state: &str) -> String {
        format!("{state} peer support certification board")
    }

    /// The signed VC of `check` (an employer check of the node's own log, made
    /// today), assigning the credential's status-list index if it has none.
    /// Blocking (a durable write the first time).
    pub fn credential(&self, ledger: &Ledger, check: &pb::CredentialCheck) -> Result<Value> {
        let index = self.index_of(ledger, &check.credential_number)?;
        let entries: Vec<StatusEntry> = Purpose::ALL
            .into_iter()
            .map(|purpose| StatusEntry {
                purpose,
                index,
                list_url: self.list_url(purpose),
            })
            .collect();
        let (did, name) = (self.key.did(), Issuer::name(&check.state));
        let issuer = IssuerRef { did: &did, name: &name };
        self.key
            .sign(&credential::credential_document(check, &issuer, &entries), Utc::now())
    }

    fn vault(ledger: &Ledger) -> Result<crate::vault::Vault> {
        ledger.vault().ok_or_else(|| {
            Error::FailedPrecondition("this log has no private store: only its board's node issues credentials".into())
        })
    }

    fn index_of(&self, ledger: &Ledger, number: &str) -> Result<u32> {
        let vault = Issuer::vault(ledger)?;
        let candidates = random_indexes()?;
        match vault.assign_status_index(number, &mut candidates.into_iter())? {
            Some((index, new)) => {
                if new {
                    *self.lists.lock().unwrap_or_else(|p| p.into_inner()) = None;
                }
                Ok(index)
            }
            None => Err(Error::ResourceExhausted(format!(
                "no free status list position found in {INDEX_TRIES} tries: the list of {LIST_ENTRIES} is nearly full"
            ))),
        }
    }

    /// Both lists as signed now, recomputed if the log grew, an index was
    /// assigned, or `limits::VC_STATUS_LIST_REFRESH` passed since they were made. Blocking.
    pub fn lists(&self, ledger: &Ledger) -> Result<Arc<Lists>> {
        let mut cached = self.lists.lock().unwrap_or_else(|p| p.into_inner());
        let size = ledger.published().checkpoint.size;
        if let Some(lists) = cached.as_ref() {
            if lists.log_size == size && lists.made.elapsed() < LIST_REFRESH {
                return Ok(lists.clone());
            }
        }
        let lists = Arc::new(self.make_lists(ledger, size)?);
        *cached = Some(lists.clone());
        Ok(lists)
    }

    fn make_lists(&self, ledger: &Ledger, log_size: u64) -> Result<Lists> {
        let (mut revoked, mut suspended) = (Bitstring::new(LIST_ENTRIES)?, Bitstring::new(LIST_ENTRIES)?);
        let registry = ledger.registry();
        let today = ledger.today();
        for (number, index) in Issuer::vault(ledger)?.status_indexes(LIST_ENTRIES)? {
            let index = index as usize;
            match registry.credential(&number).map(|c| c.status_on(today)) {
                None | Some(Status::Revoked | Status::Surrendered) => revoked.set(index)?,
                Some(Status::Suspended) => suspended.set(index)?,
                Some(_) => {}
            }
        }
        let now = Utc::now();
        let (did, name) = (self.key.did(), Issuer::name(ledger.state()));
        let issuer = IssuerRef { did: &did, name: &name };
        let signed = |purpose: Purpose, bits: &Bitstring| -> Result<String> {
            let document = credential::status_list_document(
                purpose,
                &self.list_url(purpose),
                &issuer,
                bits,
                now - CLOCK_SKEW,
                now + LIST_VALIDITY,
            )?;
            let secured = self.key.sign(&document, now)?;
            serde_json::to_string_pretty(&secured).map_err(|e| Error::Internal(format!("encoding a status list: {e}")))
        };
        Ok(Lists {
            log_size,
            made: Instant::now(),
            revocation: signed(Purpose::Revocation, &revoked)?,
            suspension: signed(Purpose::Suspension, &suspended)?,
        })
    }
}

/// `limits::VC_INDEX_TRIES` uniformly random positions of a list (2^32 is a multiple
/// of the list's length, so the remainder is uniform).
fn random_indexes() -> Result<Vec<u32>> {
    let mut bytes = vec![0u8; 4 * INDEX_TRIES];
    getrandom::getrandom(&mut bytes).map_err(|e| Error::Internal(format!("the random source failed: {e}")))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) % LIST_ENTRIES as u32)
        .collect())
}
