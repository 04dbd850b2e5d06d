//! Evidence for a transfer: every log entry about a credential's holder and
//! their credentials, each with an inclusion proof against one signed
//! checkpoint (built by the origin), and its verification (by the receiver).
//!
//! Verification never trusts the bundle: the checkpoint must be signed by the
//! origin's pinned key, every entry by the same key and included in that tree,
//! every entry about this holder and nobody else. Each failure becomes a reason
//! a person can read ("entry 17 is not signed by MS's pinned key"), because an
//! unverifiable bundle is a *denial*, not a crash. Completeness (nothing left
//! out) cannot be seen from the bundle alone; the receiver checks it against
//! its own verified copy of the origin's log with [`missing`].

use std::collections::BTreeSet;

use prost::Message;

use crate::domain::fact::{quote, Fact};
use crate::domain::records::{Credential, Peer};
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::limits;
use crate::log::entry::{verify_entry, EntryError};
use crate::log::merkle::{leaf_hash, verify_inclusion, Hash, LeafIndex, TreeSize};
use crate::log::note::{Checkpoint, NoteVerifier};
use crate::pb;
use crate::projection::Registry;

/// Indices of every event about `peer_id` and the credentials they hold or
/// held, in log order: what a receiving state needs, and nothing about others.
pub fn holder_indices(registry: &Registry, peer_id: &str) -> Vec<u64> {
    let Some(peer) = registry.peer(peer_id) else {
        return Vec::new();
    };
    let credentials = peer.credentials.iter().filter_map(|n| registry.credential(n));
    let mut indices: BTreeSet<u64> = peer.events.iter().copied().collect();
    indices.extend(credentials.flat_map(|c| c.events.iter().copied()));
    indices.into_iter().collect()
}

/// Bytes a repeated message field adds beyond the message itself (its tag and
/// length prefix), counted generously.
const FRAMING_BYTES: usize = 8;

/// Each entry at `indices` below `size` with its inclusion proof in the tree
/// of `size`. An answer that could not be sent is never built: more than
/// `EVIDENCE_ENTRIES_MAX` entries is refused before any is read, and the
/// entries are refused (`RESOURCE_EXHAUSTED`) as soon as their encoded size
/// passes `ANSWER_BYTES_MAX`, which sits below the response limit.
pub fn proven_entries(ledger: &Ledger, indices: &[u64], size: u64) -> Result<Vec<pb::ProvenEntry>> {
    let wanted = indices.iter().filter(|&&i| i < size).count();
    if wanted > limits::EVIDENCE_ENTRIES_MAX {
        return Err(Error::ResourceExhausted(format!(
            "the answer would hold {wanted} entries; at most {} are served in one answer",
            limits::EVIDENCE_ENTRIES_MAX
        )));
    }
    let mut entries = Vec::with_capacity(wanted);
    let mut bytes = 0;
    for &index in indices.iter().filter(|&&i| i < size) {
        let entry = ledger
            .entries(index, index + 1)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::DataLoss(format!("entry {index} is missing from the store")))?;
        let inclusion_proof = ledger
            .inclusion_proof(LeafIndex(index), TreeSize(size))?
            .into_iter()
            .map(|h| h.to_vec())
            .collect();
        let proven = pb::ProvenEntry {
            index,
            entry,
            inclusion_proof,
        };
        bytes += proven.encoded_len() + FRAMING_BYTES;
        if bytes > limits::ANSWER_BYTES_MAX {
            return Err(Error::ResourceExhausted(format!(
                "these {wanted} entries with their proofs pass {} bytes (the most one answer carries) at entry {}",
                limits::ANSWER_BYTES_MAX,
                entries.len() + 1
            )));
        }
        entries.push(proven);
    }
    Ok(entries)
}

/// The origin's side: the evidence bundle for `credential_number` at the
/// latest published checkpoint.
pub fn bundle(ledger: &Ledger, credential_number: &str) -> Result<pb::EvidenceBundle> {
    let published = ledger.published();
    let registry = ledger.registry();
    let credential = registry
        .credential(credential_number)
        .ok_or_else(|| Error::NotFound(format!("no credential {} in this registry", quote(credential_number))))?;
    let size = published.checkpoint.size;
    let indices = holder_indices(&registry, &credential.peer_id);
    let entries = proven_entries(ledger, &indices, size).map_err(|e| match e {
        Error::ResourceExhausted(why) => {
            Error::ResourceExhausted(format!("the evidence for {}: {why}", quote(credential_number)))
        }
        other => other,
    })?;
    Ok(pb::EvidenceBundle {
        state: ledger.state().to_string(),
        credential_number: credential_number.to_string(),
        peer_id: credential.peer_id.clone(),
        checkpoint: published.note.to_vec(),
        entries,
    })
}

/// A bundle whose every entry verified: the holder's and the credential's
/// record replayed from it.
#[derive(Clone, Debug)]
pub struct VerifiedEvidence {
    pub checkpoint: Checkpoint,
    pub note: Vec<u8>,
    pub indices: Vec<u64>,
    pub holder: Peer,
    pub credential: Credential,
}

/// Why one entry of a bundle cannot be used, in words.
fn entry_problem(state: &str, error: EntryError) -> String {
    match error {
        EntryError::Undecodable { index } => format!("entry {index} is not a valid log entry"),
        EntryError::ForeignKey { index, found, .. } => {
            format!("entry {index} is signed by key {found}, not by {state}'s pinned key (forged)")
        }
        EntryError::BadSignature { index } => {
            format!("entry {index}'s signature does not verify (altered after signing)")
        }
        EntryError::WrongPlace { index, claimed, state } => {
            format!("entry {index} claims to be entry {claimed} of state {}", quote(&state))
        }
    }
}

fn decode_proof(hashes: &[Vec<u8>]) -> Option<Vec<Hash>> {
    hashes.iter().map(|h| Hash::try_from(h.as_slice()).ok()).collect()
}

/// Checks one proven entry against the checkpoint; its fact if it holds.
fn verify_one(
    proven: &pb::ProvenEntry,
    checkpoint: &Checkpoint,
    verifier: &NoteVerifier,
    state: &str,
) -> Result<Fact, String> {
    let index = proven.index;
    if index >= checkpoint.size {
        return Err(format!(
            "entry {index} lies outside the signed tree of size {}",
            checkpoint.size
        ));
    }
    if proven.inclusion_proof.is_empty() && checkpoint.size > 1 {
        return Err(format!("entry {index} comes without an inclusion proof"));
    }
    let event = verify_entry(index, &proven.entry, verifier, state).map_err(|e| entry_problem(state, e))?;
    let proof = decode_proof(&proven.inclusion_proof)
        .ok_or_else(|| format!("entry {index}'s inclusion proof holds a hash that is not 32 bytes"))?;
    if !verify_inclusion(
        &leaf_hash(&proven.entry),
        index,
        checkpoint.size,
        &proof,
        &checkpoint.root,
    ) {
        return Err(format!(
            "entry {index} is not in the signed tree: its inclusion proof fails"
        ));
    }
    let body = event
        .body
        .as_ref()
        .ok_or_else(|| format!("entry {index} records no event"))?;
    Fact::from_body(body).map_err(|e| format!("entry {index} is not a valid event: {e}"))
}

/// Is `fact` about the holder or one of the holder's credentials?
fn about_holder(fact: &Fact, peer_id: &str, credentials: &BTreeSet<String>) -> bool {
    match fact {
        Fact::CredentialIssued(issue) => issue.peer_id == peer_id,
        Fact::CredentialRenewed { .. } | Fact::DisciplinaryAction { .. } | Fact::CredentialReinstated { .. } => {
            credentials.contains(fact.subject())
        }
        Fact::TransferEvaluated(_) | Fact::SigningKeyRotated { .. } => false,
        _ => fact.subject() == peer_id,
    }
}

/// The receiver's side: verifies `bundle` as `state`'s evidence for
/// `credential_number` against the pinned `verifier`. `Err` lists every reason
/// the bundle cannot be relied on.
pub fn verify(
    bundle: &pb::EvidenceBundle,
    verifier: &NoteVerifier,
    state: &str,
    credential_number: &str,
) -> Result<VerifiedEvidence, Vec<String>> {
    if bundle.state != state || bundle.credential_number != credential_number {
        return Err(vec![format!(
            "the evidence is for {} credential {}, not {state} credential {}",
            quote(&bundle.state),
            quote(&bundle.credential_number),
            quote(credential_number)
        )]);
    }
    let checkpoint = Checkpoint::open(&bundle.checkpoint, verifier).map_err(|e| {
        vec![format!(
            "the evidence's checkpoint is not signed by {state}'s pinned key: {e}"
        )]
    })?;
    let mut problems = Vec::new();
    let mut facts = Vec::with_capacity(bundle.entries.len());
    let mut previous = None;
    for proven in &bundle.entries {
        if previous.is_some_and(|p| proven.index <= p) {
            problems.push(format!("entry {} is out of log order", proven.index));
            continue;
        }
        previous = Some(proven.index);
        match verify_one(proven, &checkpoint, verifier, state) {
            Ok(fact) => facts.push((proven.index, fact)),
            Err(problem) => problems.push(problem),
        }
    }
    let holder_id = bundle.peer_id.as_str();
    let credentials: BTreeSet<String> = facts
        .iter()
        .filter_map(|(_, fact)| match fact {
            Fact::CredentialIssued(issue) if issue.peer_id == holder_id => Some(issue.credential_number.clone()),
            _ => None,
        })
        .collect();
    let mut registry = Registry::default();
    for (index, fact) in &facts {
        if !about_holder(fact, holder_id, &credentials) {
            problems.push(format!("entry {index} is not about this holder or their credentials"));
            continue;
        }
        registry.apply(*index, fact);
    }
    let holder = registry.peer(holder_id).cloned();
    let credential = registry.credential(credential_number).cloned();
    match (holder, credential) {
        (Some(holder), Some(credential)) if problems.is_empty() && credential.peer_id == holder_id => {
            Ok(VerifiedEvidence {
                checkpoint,
                note: bundle.checkpoint.clone(),
                indices: bundle.entries.iter().map(|e| e.index).collect(),
                holder,
                credential,
            })
        }
        (holder, credential) => {
            if holder.is_none() {
                problems.push(format!(
                    "the evidence lacks the enrolment of holder {}",
                    quote(holder_id)
                ));
            }
            if credential.is_none_or(|c| c.peer_id != holder_id) {
                problems.push(format!(
                    "the evidence lacks the issue of {} to {}",
                    quote(credential_number),
                    quote(holder_id)
                ));
            }
            Err(problems)
        }
    }
}

/// Entries the origin's log holds about the holder (`expected`, from the
/// receiver's verified copy, which may be ahead of the bundle) that the bundle
/// left out. Entries past the bundle's checkpoint count too: evidence that was
/// complete once but predates a later suspension must not decide today.
pub fn missing(expected: &[u64], verified: &VerifiedEvidence) -> Vec<u64> {
    let held: BTreeSet<u64> = verified.indices.iter().copied().collect();
    expected.iter().copied().filter(|i| !held.contains(i)).collect()
}
