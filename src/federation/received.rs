//! What a receiving state keeps of the evidence it was given (DESIGN.md §8):
//! the openings and bodies of the holder's records, in this node's own vault
//! under the same rules as its own records (sealed per person, erased by
//! destroying keys), and erased again when the origin's public log expunges
//! them.
//!
//! A holder's received records are one vault person,
//! `received:<origin state>:<origin peer id>` (one holder, however many of
//! their credentials were evaluated). Its `K_subject` slot holds a *mark*, a
//! key derived from this node's secret, the origin and the person: only a
//! person this module created carries it, so an origin whose notice names an
//! entry committing to one of this node's *own* records (a commitment copied
//! from this node's public log) cannot make it erase anything of its own.
//!
//! The origin's expungement notices are found by scanning this node's
//! verified copy of the origin's log in order; how far the scan got is kept
//! in `<data>/received/<STATE>` (a state code, checked, never a name from
//! the wire), so a restart resumes where it stopped.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::domain::commitment::{keyed_hash, Bytes32, RecordKind};
use crate::domain::states::parse_state;
use crate::error::{Error, Result};
use crate::evidence::VerifiedEvidence;
use crate::ledger::{references, Ledger};
use crate::limits;
use crate::log::entry::decode_entry;
use crate::pb;
use crate::store::files;
use crate::vault::{PersonRef, PersonSecrets, Vault, VaultBatch};

/// The vault's name for a holder's records received from `origin_state`.
pub fn received_person(origin_state: &str, origin_peer_id: &str) -> String {
    format!("received:{origin_state}:{origin_peer_id}")
}

/// The mark a received person's `K_subject` slot holds.
fn mark(vault: &Vault, origin_state: &str, person: &PersonRef) -> Bytes32 {
    let key = vault.node_key("peerreg/v1/received");
    keyed_hash(&key, origin_state, &person.0)
}

/// Whether `person` is a holder received from `origin_state` (and not erased).
fn is_received(vault: &Vault, origin_state: &str, person: &PersonRef) -> Result<bool> {
    let Some(secrets) = vault.person(person)? else {
        return Ok(false);
    };
    let expected = mark(vault, origin_state, person);
    Ok(bool::from(subtle::ConstantTimeEq::ct_eq(
        &secrets.k_subject[..],
        &expected[..],
    )))
}

/// Keeps the openings of a verified bundle from `origin_state` in `vault`,
/// then erases any of them that notices of `copy` past the bundle's
/// checkpoint already expunge (the follower may have scanned past them while
/// the evaluation ran).
pub fn keep(vault: &Vault, copy: &Ledger, origin_state: &str, verified: &VerifiedEvidence) -> Result<()> {
    let person = vault.person_ref(&received_person(origin_state, &verified.holder.peer_id));
    let mut batch = VaultBatch::default();
    if vault.person(&person)?.is_none() {
        let secrets = PersonSecrets {
            k_subject: mark(vault, origin_state, &person),
            ..PersonSecrets::random()?
        };
        batch.new_people.push((person, secrets));
    } else if !is_received(vault, origin_state, &person)? {
        return Err(Error::Internal(
            "a received holder's name in the private store belongs to another record".into(),
        ));
    }
    for opened in &verified.openings {
        let commitment = opened.commitment();
        if vault.person_of(&commitment)?.is_none() {
            batch.records.push((person, commitment, opened.clone()));
        }
    }
    vault.commit(&batch)?;
    let size = copy.published().checkpoint.size;
    erase_noticed(vault, copy, origin_state, verified.checkpoint.size, size)?;
    Ok(())
}

/// Erases the received records that the expungement notices among entries
/// `[from, to)` of `copy` cover: the whole holder when their enrolment is
/// covered, else each covered record. Erasing again is harmless.
fn erase_noticed(vault: &Vault, copy: &Ledger, origin_state: &str, from: u64, to: u64) -> Result<()> {
    let mut start = from;
    while start < to {
        let page = copy.entries(start, to)?;
        for (offset, entry) in page.iter().enumerate() {
            let index = start + offset as u64;
            if let Some(pb::event::Body::RecordsExpunged(notice)) = body(index, entry)? {
                erase_covered(vault, copy, origin_state, &notice.indices)?;
            }
        }
        start += page.len().max(1) as u64;
    }
    Ok(())
}

fn body(index: u64, entry: &[u8]) -> Result<Option<pb::event::Body>> {
    let (_, event) = decode_entry(index, entry).map_err(|e| Error::DataLoss(e.to_string()))?;
    Ok(event.body)
}

/// Erases what one notice covers of the records received from `origin_state`.
fn erase_covered(vault: &Vault, copy: &Ledger, origin_state: &str, indices: &[u64]) -> Result<()> {
    let size = copy.published().checkpoint.size;
    let mut batch = VaultBatch::default();
    for &index in indices.iter().filter(|&&i| i < size) {
        let Some(entry) = copy.entries(index, index + 1)?.into_iter().next() else {
            continue;
        };
        for reference in references(body(index, &entry)?.as_ref()) {
            let Some(person) = vault.person_of(&reference.commitment)? else {
                continue;
            };
            if !is_received(vault, origin_state, &person)? {
                continue;
            }
            let enrolment = vault
                .record(&reference.commitment)?
                .is_some_and(|opened| opened.kind == RecordKind::Enrolment);
            if enrolment && !batch.erase_people.contains(&person) {
                batch.erase_people.push(person);
            }
            batch.erase_records.push(reference.commitment);
        }
    }
    if batch.erase_people.is_empty() && batch.erase_records.is_empty() {
        return Ok(());
    }
    tracing::info!(
        origin = %origin_state,
        people = batch.erase_people.len(),
        records = batch.erase_records.len(),
        "erased received records the origin expunged"
    );
    vault.commit(&batch)?;
    Ok(())
}

/// Keeps this node's received records in step with one origin's notices: the
/// follower calls [`Received::sweep`] after each round.
pub struct Received {
    vault: Vault,
    origin_state: String,
    cursor: PathBuf,
}

/// How often a long scan saves how far it got.
const SAVE_EVERY_ENTRIES: u64 = limits::FOLLOW_CHUNK_ENTRIES;

impl Received {
    /// The records `own` received from `origin_state`, with the scan's cursor
    /// under `own`'s data directory. `None` for a node without a private store.
    pub fn new(own: &Ledger, origin_state: &str) -> Result<Option<Received>> {
        let Some(vault) = own.vault() else {
            return Ok(None);
        };
        Ok(Some(Received {
            vault,
            cursor: cursor_path(own.data_dir(), origin_state)?,
            origin_state: origin_state.to_string(),
        }))
    }

    /// Scans `copy` from the saved cursor for expungement notices and erases
    /// what they cover, for at most `FOLLOW_ROUND_DEADLINE` (the next call goes
    /// on). Blocking: call it off the async threads.
    pub fn sweep(&self, copy: &Ledger) -> Result<()> {
        let deadline = Instant::now() + limits::FOLLOW_ROUND_DEADLINE;
        let size = copy.published().checkpoint.size;
        let mut cursor = self.load()?;
        let mut saved = cursor;
        while cursor < size && Instant::now() < deadline {
            let end = size.min(cursor + limits::ENTRIES_PAGE_MAX);
            erase_noticed(&self.vault, copy, &self.origin_state, cursor, end)?;
            cursor = end;
            if cursor - saved >= SAVE_EVERY_ENTRIES {
                self.save(cursor)?;
                saved = cursor;
            }
        }
        if cursor != saved {
            self.save(cursor)?;
        }
        Ok(())
    }

    fn load(&self) -> Result<u64> {
        let Some(bytes) = files::read_optional(&self.cursor)? else {
            return Ok(0);
        };
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .ok_or_else(|| {
                Error::DataLoss(format!(
                    "{} does not hold an entry number; remove it to scan {}'s log again from the start",
                    self.cursor.display(),
                    self.origin_state
                ))
            })
    }

    fn save(&self, cursor: u64) -> Result<()> {
        if let Some(dir) = self.cursor.parent() {
            files::create_dir_durable(dir)?;
        }
        files::write_atomic(&self.cursor, format!("{cursor}\n").as_bytes(), files::Mode::Private)?;
        Ok(())
    }
}

/// `<data>/received/<STATE>`: the state code is checked to be one, so the
/// name is a plain two-letter file inside `received/`.
fn cursor_path(data_dir: &Path, origin_state: &str) -> Result<PathBuf> {
    let state = parse_state(origin_state)?;
    if state != origin_state || !state.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::InvalidArgument(format!(
            "{} is not a state code",
            limits::quote(origin_state)
        )));
    }
    Ok(data_dir.join("received").join(state))
}
