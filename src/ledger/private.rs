//! The writer's side of DESIGN.md §8: whose private record a command makes,
//! that person's `K_subject` and next record number, what an expungement
//! covers, and the keyed hashes that keep client idempotency keys out of the
//! log. The sealing itself is `domain::sealed`; the encryption is the vault's.

use std::collections::HashMap;

use prost::Message;

use crate::domain::commitment::{self, keyed_hash, Bytes32};
use crate::domain::fact::{ExpungeTarget, Fact, Issue};
use crate::domain::sealed::{self, Reference};
use crate::error::{Error, Result};
use crate::log::entry::decode_entry;
use crate::pb;
use crate::projection::Registry;
use crate::store::Store;
use crate::vault::{PersonRef, PersonSecrets, Vault, VaultBatch};

/// The person id under which a board's records about no enrolled peer (a
/// transfer evaluation without a local peer id) are sealed. Peer ids are
/// prefixed (see [`person_id`]), so no peer can collide with it.
const BOARD_RECORDS: &str = "board";

/// Most people whose key the writer keeps in memory; past it the cache is
/// emptied and refilled from the vault as people come up again.
const PEOPLE_CACHED_MAX: usize = 200_000;

/// The vault's name for a peer.
pub(crate) fn person_id(peer_id: &str) -> String {
    format!("peer:{peer_id}")
}

/// Keys derived from the node's secret, for values it must recognise but never publish.
pub(crate) struct NodeKeys {
    event_id: Bytes32,
    fingerprint: Bytes32,
    /// Encrypts the registry snapshot (it holds people's records).
    pub(crate) snapshot: Bytes32,
}

impl NodeKeys {
    pub(crate) fn new(vault: &Vault) -> NodeKeys {
        NodeKeys {
            event_id: vault.node_key("peerreg/v1/event-id"),
            fingerprint: vault.node_key("peerreg/v1/command-fingerprint"),
            snapshot: snapshot_key(vault),
        }
    }

    /// What the log holds of a client's idempotency key: 64 hex of a keyed hash.
    pub(crate) fn event_id(&self, client_event_id: &str) -> String {
        hex::encode(keyed_hash(
            &self.event_id,
            "peerreg/v1/event-id",
            client_event_id.as_bytes(),
        ))
    }

    /// A keyed fingerprint of a command, to tell a retry from a reused key.
    pub(crate) fn fingerprint(&self, command: &pb::command::Body) -> Bytes32 {
        let encoded = pb::Command {
            body: Some(command.clone()),
        }
        .encode_to_vec();
        keyed_hash(&self.fingerprint, "peerreg/v1/command", &encoded)
    }
}

/// The key a board's registry snapshot is encrypted under.
pub(crate) fn snapshot_key(vault: &Vault) -> Bytes32 {
    vault.node_key("peerreg/v1/snapshot")
}

struct Person {
    k_subject: Bytes32,
    next_seq: u32,
}

/// The people the writer has sealed records for, with their next record number.
#[derive(Default)]
pub(crate) struct People {
    known: HashMap<PersonRef, Person>,
}

/// Who a fact's private part belongs to, if it has one.
fn owner(registry: &Registry, fact: &Fact) -> Result<Option<String>> {
    if let Some(peer_id) = fact.peer_record_of() {
        return Ok(Some(person_id(peer_id)));
    }
    Ok(match fact {
        Fact::Enrolled { .. }
        | Fact::NameChanged { .. }
        | Fact::TrainingCompleted { .. }
        | Fact::ExperienceRecorded { .. }
        | Fact::ExamRecorded { .. }
        | Fact::ContinuingEducationCompleted { .. }
        | Fact::ConsentRecorded { .. }
        | Fact::DisclosureRecorded { .. }
        | Fact::WaiverRecorded { .. } => None,
        Fact::EvidenceRecorded { .. } | Fact::ImportProvenance { .. } => None,
        Fact::CredentialIssued(issue) => Some(person_id(&issue.peer_id)),
        Fact::DisciplinaryAction { credential_number, .. } | Fact::CredentialReinstated { credential_number, .. } => {
            let credential = registry
                .credential(credential_number)
                .ok_or_else(|| Error::NotFound(format!("no credential {credential_number:?} in this registry")))?;
            Some(person_id(&credential.peer_id))
        }
        Fact::TransferEvaluated(evaluation) => Some(match &evaluation.local_peer_id {
            Some(peer_id) => person_id(peer_id),
            None => BOARD_RECORDS.to_string(),
        }),
        Fact::CredentialRenewed { .. }
        | Fact::SigningKeyRotated { .. }
        | Fact::Sealed
        | Fact::Expunge { .. }
        | Fact::Expunged { .. }
        | Fact::Voided { .. } => None,
    })
}

impl People {
    /// The sealing state of `id` (a copy: nothing changes until [`People::advance`]):
    /// from memory, else the vault (the next record number found by probing
    /// the log's tag index), else a new person's secrets when `may_create`
    /// (an enrolment, or the board's own records).
    fn get(&mut self, vault: &Vault, store: &Store, id: &str, may_create: bool) -> Result<Found> {
        let person = vault.person_ref(id);
        if let Some(known) = self.known.get(&person) {
            return Ok(Found {
                person,
                k_subject: known.k_subject,
                next_seq: known.next_seq,
                created: None,
            });
        }
        match vault.person(&person)? {
            Some(secrets) => Ok(Found {
                person,
                next_seq: next_seq(store, &secrets.k_subject)?,
                k_subject: secrets.k_subject,
                created: None,
            }),
            None if may_create => {
                let secrets = PersonSecrets::random()?;
                Ok(Found {
                    person,
                    k_subject: secrets.k_subject,
                    next_seq: 0,
                    created: Some(secrets),
                })
            }
            None => Err(Error::DataLoss(format!(
                "the private store holds no key for a person this log has records of ({}); restore the private store from its backup",
                crate::limits::quote(id)
            ))),
        }
    }

    /// Keeps what sealing one record changed: the person's next record number.
    /// Never evicts: within a batch the cache is the only place that knows
    /// the numbers (and new people) the batch has used (see [`People::trim`]).
    pub(crate) fn advance(&mut self, person: PersonRef, k_subject: Bytes32, next_seq: u32) {
        self.known.insert(person, Person { k_subject, next_seq });
    }

    /// Bounds the cache between batches, once the store and the vault hold
    /// everything it knows: anyone evicted is found again by probing.
    pub(crate) fn trim(&mut self) {
        if self.known.len() > PEOPLE_CACHED_MAX {
            self.known.clear();
        }
    }

    /// Forgets an erased person (their key is destroyed with this batch).
    pub(crate) fn forget(&mut self, person: &PersonRef) {
        self.known.remove(person);
    }
}

/// A person's sealing state as found, before anything is sealed.
struct Found {
    person: PersonRef,
    k_subject: Bytes32,
    next_seq: u32,
    /// The secrets of a person created now (to store with the batch).
    created: Option<PersonSecrets>,
}

/// The first record number of a person not yet in the log.
fn next_seq(store: &Store, k_subject: &Bytes32) -> Result<u32> {
    for seq in 0..u32::MAX {
        if store.tag_index(&commitment::tag(k_subject, seq))?.is_none() {
            return Ok(seq);
        }
    }
    Err(Error::ResourceExhausted("a person has 2^32 records".into()))
}

/// A checked command sealed: the fact as the log will state it, the public
/// body, and what the writer keeps once the entry is in the batch.
pub(crate) struct Prepared {
    pub fact: Fact,
    pub sealed: sealed::Sealed,
    /// The person the private record belongs to, their `K_subject`, their
    /// next record number after this one, and their secrets if created now.
    pub owner: Option<(PersonRef, Bytes32, u32, Option<PersonSecrets>)>,
    /// Erasures the command makes (an expungement).
    pub erasures: VaultBatch,
}

/// Everything the writer consults to seal one command.
pub(crate) struct Context<'a> {
    pub vault: &'a Vault,
    pub store: &'a Store,
    pub registry: &'a Registry,
}

/// Completes `fact` from the registry (the holder's name of an issue, the
/// entries an expungement covers) and seals it. Changes nothing: the caller
/// keeps the result with [`People::advance`] and the batch once the entry is
/// signed and accepted.
pub(crate) fn prepare(
    context: &Context<'_>,
    people: &mut People,
    command: &pb::command::Body,
    fact: Fact,
) -> Result<Prepared> {
    let mut erasures = VaultBatch::default();
    let fact = complete(context, &mut erasures, fact)?;
    let opening = random32()?;
    let Some(id) = owner(context.registry, &fact)? else {
        let sealed = sealed::seal(command, &fact, None, opening)?;
        return Ok(Prepared {
            fact,
            sealed,
            owner: None,
            erasures,
        });
    };
    let may_create = matches!(fact, Fact::Enrolled { .. }) || id == BOARD_RECORDS;
    let found = people.get(context.vault, context.store, &id, may_create)?;
    let mut next_seq = found.next_seq;
    let subject = sealed::Subject {
        k_subject: &found.k_subject,
        next_seq: &mut next_seq,
    };
    let sealed = sealed::seal(command, &fact, Some(subject), opening)?;
    Ok(Prepared {
        fact,
        sealed,
        owner: Some((found.person, found.k_subject, next_seq, found.created)),
        erasures,
    })
}

fn random32() -> Result<Bytes32> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| Error::Internal(format!("the operating system gave no randomness: {e}")))?;
    Ok(bytes)
}

/// The fact as the log states it: an issue names its holder; an expungement
/// command becomes the notice of the entries it covers, and its erasures go
/// into `batch`.
fn complete(context: &Context<'_>, batch: &mut VaultBatch, fact: Fact) -> Result<Fact> {
    match fact {
        Fact::CredentialIssued(issue) => {
            let holder_name = context
                .registry
                .peer(&issue.peer_id)
                .map(|peer| peer.legal_name.clone())
                .unwrap_or_default();
            Ok(Fact::CredentialIssued(Issue { holder_name, ..issue }))
        }
        Fact::Expunge { target, reason } => {
            let indices = match target {
                ExpungeTarget::Person(peer_id) => {
                    batch.erase_people.push(context.vault.person_ref(&person_id(&peer_id)));
                    person_entries(context.registry, &peer_id)
                }
                ExpungeTarget::Record(index) => {
                    batch.erase_records.extend(commitments_at(context.store, index)?);
                    vec![index]
                }
            };
            if indices.len() > sealed::EXPUNGED_INDICES_MAX {
                return Err(Error::ResourceExhausted(format!(
                    "this person's record has {} entries; one notice names at most {}: expunge their records one by one first",
                    indices.len(),
                    sealed::EXPUNGED_INDICES_MAX
                )));
            }
            Ok(Fact::Expunged { indices, reason })
        }
        other => Ok(other),
    }
}

/// Every entry of a peer's record: their private records, their credentials'
/// entries and evaluations made for them, in log order.
fn person_entries(registry: &Registry, peer_id: &str) -> Vec<u64> {
    let mut indices = Vec::new();
    if let Some(peer) = registry.peer(peer_id) {
        indices.extend(&peer.events);
        for number in &peer.credentials {
            if let Some(credential) = registry.credential(number) {
                indices.extend(&credential.events);
            }
        }
    }
    let evaluations = registry.evaluations.values();
    indices.extend(
        evaluations
            .filter(|e| e.local_peer_id.as_deref() == Some(peer_id))
            .map(|e| e.index),
    );
    indices.sort_unstable();
    indices.dedup();
    indices
}

/// The commitments the entry at `index` carries (none for a public-only entry).
fn commitments_at(store: &Store, index: u64) -> Result<Vec<Bytes32>> {
    let entry = store
        .entry(index)?
        .ok_or_else(|| Error::NotFound(format!("entry {index} is not in this log")))?;
    let (_, event) = decode_entry(index, &entry).map_err(|e| Error::DataLoss(e.to_string()))?;
    Ok(references(event.body.as_ref())
        .into_iter()
        .map(|reference| reference.commitment)
        .collect())
}

/// The record references a public body carries.
pub(crate) fn references(body: Option<&pb::event::Body>) -> Vec<Reference> {
    use pb::event::Body;
    let reference = match body {
        Some(Body::Record(e)) => e.record.clone(),
        Some(Body::CredentialGranted(e)) => e.holder.clone(),
        Some(Body::DisciplineImposed(e)) => e.summary.clone(),
        Some(Body::ReinstatementGranted(e)) => e.summary.clone(),
        _ => None,
    };
    reference
        .and_then(|r| sealed::record_ref(Some(r)).ok())
        .into_iter()
        .collect()
}

/// Adds one command's vault writes to its batch's.
pub(crate) fn merge(into: &mut VaultBatch, from: VaultBatch) {
    let VaultBatch {
        new_people,
        records,
        fingerprints,
        erase_people,
        erase_records,
    } = from;
    into.new_people.extend(new_people);
    into.records.extend(records);
    into.fingerprints.extend(fingerprints);
    into.erase_people.extend(erase_people);
    into.erase_records.extend(erase_records);
}

/// Whether a vault batch writes nothing.
pub(crate) fn is_empty(batch: &VaultBatch) -> bool {
    batch.new_people.is_empty()
        && batch.records.is_empty()
        && batch.fingerprints.is_empty()
        && batch.erase_people.is_empty()
        && batch.erase_records.is_empty()
}

/// Makes sure the erasures of the expungement notices at `notices` (entries
/// replayed at open, past the snapshot) are done: the committer erases keys
/// only after the log holds the notice, so a crash between the two leaves
/// keys that the notice says are gone. Erasing again is harmless.
pub(crate) fn redo_erasures(store: &Store, vault: &Vault, notices: &[Vec<u64>]) -> Result<()> {
    let mut batch = VaultBatch::default();
    for indices in notices {
        let mut commitments = Vec::new();
        for &index in indices {
            commitments.extend(commitments_at(store, index)?);
        }
        let mut enrolled = None;
        for commitment in &commitments {
            if let Some(opened) = vault.record(commitment)? {
                if opened.kind == commitment::RecordKind::Enrolment {
                    enrolled = vault.person_of(commitment)?;
                }
            }
        }
        match enrolled {
            Some(person) => batch.erase_people.push(person),
            None => {
                for commitment in commitments {
                    if vault.record(&commitment)?.is_some() {
                        batch.erase_records.push(commitment);
                    }
                }
            }
        }
    }
    if !is_empty(&batch) {
        tracing::warn!(
            people = batch.erase_people.len(),
            records = batch.erase_records.len(),
            "finishing expungements a stop interrupted"
        );
        vault.commit(&batch)?;
    }
    Ok(())
}

/// Entries read per step when the log is checked against the private store.
const CENSUS_CHUNK: u64 = 1024;

/// The entries whose committed records the private store does not hold,
/// found in log order. An expungement notice forgives the entries it names:
/// their records were destroyed on purpose, and only after the notice was in
/// the log, so a record found missing has its notice in the log by the time
/// the rest of the log is read.
#[derive(Default)]
pub(crate) struct MissingRecords(std::collections::BTreeSet<u64>);

impl MissingRecords {
    /// Reads entries `[start, end)` of `store` against `vault`.
    pub(crate) fn scan(&mut self, store: &Store, vault: &Vault, start: u64, end: u64) -> Result<()> {
        let mut chunk_start = start;
        while chunk_start < end {
            let chunk_end = end.min(chunk_start + CENSUS_CHUNK);
            for (index, entry) in (chunk_start..).zip(store.entries(chunk_start, chunk_end)?) {
                let (_, event) = decode_entry(index, &entry).map_err(|e| Error::DataLoss(e.to_string()))?;
                self.note(index, event.body.as_ref(), vault)?;
            }
            chunk_start = chunk_end;
        }
        Ok(())
    }

    fn note(&mut self, index: u64, body: Option<&pb::event::Body>, vault: &Vault) -> Result<()> {
        if let Some(pb::event::Body::RecordsExpunged(notice)) = body {
            for expunged in &notice.indices {
                self.0.remove(expunged);
            }
        }
        for reference in references(body) {
            if vault.person_of(&reference.commitment)?.is_none() {
                self.0.insert(index);
            }
        }
        Ok(())
    }

    /// How many entries lack their record.
    pub(crate) fn count(&self) -> usize {
        self.0.len()
    }

    /// The first few of them, for a message.
    pub(crate) fn first(&self) -> Vec<u64> {
        self.0.iter().take(5).copied().collect()
    }
}
