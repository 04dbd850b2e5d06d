//! Portable credential proofs: a self-contained file an employer or auditor can
//! verify offline, with no network, years later.
//!
//! File format `peerreg-credential-proof/v2` (JSON):
//! ```json
//! { "format": "peerreg-credential-proof/v2", "state": "MS",
//!   "credential_number": "MS-CPSS-0001",
//!   "verifier_key": "peerreg.local/ms+1a2b3c4d+AQ…",
//!   "checkpoint": "<the signed checkpoint note>",
//!   "entries": [ { "index": 7, "entry": "<base64 LogEntry>",
//!                  "inclusion_proof": ["<base64 hash>", …] } ],
//!   "openings": [ { "opening": "<base64>", "tag": "<base64>", "kind": 7,
//!                   "body": "<base64 Holder>" } ],
//!   "key_rotations": [ { "index": 3, "entry": "…", "inclusion_proof": [ … ] } ] }
//! ```
//! `key_rotations` is present only when the log rotated its key before the
//! checkpoint: the rotation entries, each proven into the checkpoint's tree,
//! from which a verifier holding the log's first (pinned) key learns the key
//! that signed the checkpoint and the later entries (`log::keys`). A proof
//! exported before a rotation has none and keeps verifying with the old key.
//! The openings open the public-register parts of the entries: the holder
//! commitment of the issue (whose credential it is: peer id and name at
//! issue) and discipline and reinstatement summaries. Each opening must open
//! the commitment of an entry in the file, or the whole proof fails (an
//! opening for nothing would be a part of the file nothing checks).
//! Verification: the checkpoint must be signed by the pinned key (the file's own
//! key is used only when none is pinned, and the result says so); every entry
//! must be signed by that key and proven into the checkpoint's tree; the entries
//! must be the credential's own events, starting with its issue. Then the events
//! are replayed and the status is computed for any date.
//!
//! What an offline proof cannot show: that nothing happened *after* its
//! checkpoint, or that no event was left out. A **fresh** check asks the node
//! for a new proof, requires its checkpoint to be a consistent extension of the
//! file's, and reports the status from that.

use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::HashSet;

use base64::Engine;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::commitment::Bytes32;
use crate::domain::fact::Fact;
use crate::domain::records::Credential;
use crate::domain::sealed::unseal;
use crate::domain::status::{action_name, DatedDiscipline, DisciplineEnd};
use crate::error::{Error, Result};
use crate::evidence::{parse_opening, BundleOpenings};
use crate::ledger::references;
use crate::log::keys::{open_with_rotations, LogKeys, ProvenRotation};
use crate::log::merkle::TreeSize;
use crate::log::merkle::{leaf_hash, verify_inclusion, Hash};
use crate::log::note::{Checkpoint, NoteVerifier};
use crate::pb;
use crate::projection::Registry;
use crate::source::{LogSource, ProofSource};

pub const FORMAT: &str = "peerreg-credential-proof/v2";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofFile {
    pub format: String,
    pub state: String,
    pub credential_number: String,
    pub verifier_key: String,
    pub checkpoint: String,
    pub entries: Vec<ProofEntry>,
    #[serde(default)]
    pub openings: Vec<ProofOpening>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_rotations: Vec<ProofEntry>,
}

/// An opening, as the file carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofOpening {
    pub opening: String,
    pub tag: String,
    pub kind: u32,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofEntry {
    pub index: u64,
    pub entry: String,
    pub inclusion_proof: Vec<String>,
}

/// What a verified proof establishes.
#[derive(Clone, Debug)]
pub struct VerifiedProof {
    pub credential: Credential,
    /// The holder's name at issue, bound by the issue's holder commitment
    /// (`None` when the file opens no holder).
    pub holder_name: Option<String>,
    pub checkpoint: Checkpoint,
    /// True when no key was pinned and the file's own key was trusted.
    pub self_asserted_key: bool,
}

impl VerifiedProof {
    pub fn status_on(&self, date: NaiveDate) -> crate::domain::status::Status {
        self.credential.status_on(date)
    }

    /// The public discipline record as it stood on `date`, by the same rule
    /// as a node's answer for that date (`Credential::discipline_on`).
    pub fn discipline_on(&self, date: NaiveDate) -> Vec<DatedDiscipline> {
        self.credential.discipline_on(date)
    }
}

fn proof_entry(e: pb::ProvenEntry) -> ProofEntry {
    ProofEntry {
        index: e.index,
        entry: BASE64.encode(e.entry),
        inclusion_proof: e.inclusion_proof.iter().map(|h| BASE64.encode(h)).collect(),
    }
}

impl ProofFile {
    pub fn from_pb(proof: pb::CredentialProof) -> ProofFile {
        ProofFile {
            key_rotations: proof.key_rotations.into_iter().map(proof_entry).collect(),
            format: FORMAT.into(),
            state: proof.state,
            credential_number: proof.credential_number,
            verifier_key: proof.verifier_key,
            checkpoint: String::from_utf8_lossy(&proof.checkpoint).into_owned(),
            entries: proof.entries.into_iter().map(proof_entry).collect(),
            openings: proof
                .openings
                .into_iter()
                .map(|o| ProofOpening {
                    opening: BASE64.encode(o.opening),
                    tag: BASE64.encode(o.tag),
                    kind: o.kind,
                    body: BASE64.encode(o.body),
                })
                .collect(),
        }
    }

    /// The openings the file carries. Each must be well-formed, given once,
    /// and open one of `referenced` (the commitments of the proof's entries):
    /// an opening that opens nothing in the proof is a changed file, never
    /// something to skip, or a changed byte in it would go unnoticed.
    fn openings(&self, referenced: &HashSet<Bytes32>) -> Result<BundleOpenings> {
        let decode = |text: &str| BASE64.decode(text).map_err(|_| bad("an opening is not base64"));
        let mut wire = Vec::with_capacity(self.openings.len());
        let mut opened = HashSet::with_capacity(self.openings.len());
        for o in &self.openings {
            let record = pb::RecordOpening {
                opening: decode(&o.opening)?,
                tag: decode(&o.tag)?,
                kind: o.kind,
                body: decode(&o.body)?,
            };
            let commitment = parse_opening(&record)
                .ok_or_else(|| bad("an opening is malformed (its sizes or its kind)"))?
                .commitment();
            if !referenced.contains(&commitment) {
                return Err(bad("an opening opens no commitment of the proof's entries"));
            }
            if !opened.insert(commitment) {
                return Err(bad("an opening is given twice"));
            }
            wire.push(record);
        }
        Ok(BundleOpenings::new(&wire))
    }

    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Internal(format!("encoding the proof: {e}")))
    }

    /// Reads a file's text. The reason a text is refused is bounded: serde's
    /// own message can quote a whole field of the input (a web upload may be
    /// megabytes), so it is quoted with `fact::quote` after saying where.
    pub fn from_json(text: &str) -> Result<ProofFile> {
        serde_json::from_str(text).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => "its JSON does not have a proof file's fields",
                _ => "it is not well-formed JSON",
            };
            Error::InvalidArgument(format!(
                "not a credential proof file: {what} (line {}, column {}: {})",
                e.line(),
                e.column(),
                crate::domain::fact::quote(&e.to_string())
            ))
        })
    }
}

fn bad(why: impl std::fmt::Display) -> Error {
    Error::DataLoss(format!("the proof does not verify: {why}"))
}

fn decode_hash(text: &str) -> Result<Hash> {
    let bytes = BASE64.decode(text).map_err(|_| bad("a proof hash is not base64"))?;
    Hash::try_from(bytes.as_slice()).map_err(|_| bad("a proof hash is not 32 bytes"))
}

/// Verifies `file` offline (see the module docs). `pinned` is the verifier key
/// you trust for the state; without it the file's own key is used. Every
/// field of the file is checked: a file naming another key than the pinned
/// one, or carrying an opening for nothing in it, is refused.
pub fn verify(file: &ProofFile, pinned: Option<&NoteVerifier>) -> Result<VerifiedProof> {
    if file.format != FORMAT {
        return Err(Error::InvalidArgument(format!(
            "unknown proof format {} (this peerreg reads {FORMAT})",
            crate::domain::fact::quote(&file.format)
        )));
    }
    let own = NoteVerifier::parse(&file.verifier_key).map_err(bad)?;
    if pinned.is_some_and(|pinned| *pinned != own) {
        return Err(bad("the file names another verifier key than the pinned one"));
    }
    let verifier = pinned.unwrap_or(&own);
    let (checkpoint, keys) = open_checkpoint(file, verifier)?;
    let bodies = proven_bodies(file, &keys, &checkpoint)?;
    let referenced: HashSet<Bytes32> = bodies
        .iter()
        .flat_map(|(_, body)| references(Some(body)))
        .map(|reference| reference.commitment)
        .collect();
    let openings = file.openings(&referenced)?;
    let mut registry = Registry::default();
    let mut holder_name = None;
    for (index, body) in bodies {
        let fact = unseal(body, &openings).map_err(bad)?;
        if let Fact::CredentialIssued(issue) = &fact {
            holder_name = (!issue.holder_name.is_empty()).then(|| issue.holder_name.clone());
        }
        let about = match &fact {
            Fact::CredentialIssued(issue) => issue.credential_number.as_str(),
            Fact::CredentialRenewed { .. } | Fact::DisciplinaryAction { .. } | Fact::CredentialReinstated { .. } => {
                fact.subject()
            }
            _ => return Err(bad(format!("entry {index} is not about a credential"))),
        };
        if about != file.credential_number {
            return Err(bad(format!("entry {index} is about another credential")));
        }
        registry.apply(index, &fact);
    }
    let credential = registry
        .credential(&file.credential_number)
        .cloned()
        .ok_or_else(|| bad("the credential's issue is not in the proof"))?;
    Ok(VerifiedProof {
        credential,
        holder_name,
        checkpoint,
        self_asserted_key: pinned.is_none(),
    })
}

/// The file's checkpoint, opened with the chain of keys that starts at
/// `verifier` and continues through the file's proven rotation entries.
fn open_checkpoint(file: &ProofFile, verifier: &NoteVerifier) -> Result<(Checkpoint, LogKeys)> {
    let mut rotations = Vec::with_capacity(file.key_rotations.len());
    for proven in file.key_rotations.iter().take(crate::log::keys::ROTATIONS_MAX + 1) {
        let entry = BASE64
            .decode(&proven.entry)
            .map_err(|_| bad("a key rotation entry is not base64"))?;
        let proof: Vec<Hash> = proven
            .inclusion_proof
            .iter()
            .map(|h| decode_hash(h))
            .collect::<Result<_>>()?;
        rotations.push((proven.index, entry, proof));
    }
    let borrowed: Vec<ProvenRotation<'_>> = rotations
        .iter()
        .map(|(index, entry, proof)| (*index, entry.as_slice(), proof.as_slice()))
        .collect();
    open_with_rotations(&LogKeys::new(verifier.clone()), file.checkpoint.as_bytes(), &borrowed).map_err(bad)
}

/// The file's entries, in log order, each proven into `checkpoint`'s tree and
/// signed by the key in force at its index: their indices and public bodies.
fn proven_bodies(file: &ProofFile, keys: &LogKeys, checkpoint: &Checkpoint) -> Result<Vec<(u64, pb::event::Body)>> {
    let mut bodies = Vec::with_capacity(file.entries.len());
    let mut previous: Option<u64> = None;
    for proven in &file.entries {
        if previous.is_some_and(|p| proven.index <= p) {
            return Err(bad("entries are not in log order"));
        }
        previous = Some(proven.index);
        let entry = BASE64
            .decode(&proven.entry)
            .map_err(|_| bad("an entry is not base64"))?;
        let proof: Vec<Hash> = proven
            .inclusion_proof
            .iter()
            .map(|h| decode_hash(h))
            .collect::<Result<_>>()?;
        if !verify_inclusion(
            &leaf_hash(&entry),
            proven.index,
            checkpoint.size,
            &proof,
            &checkpoint.root,
        ) {
            return Err(bad(format!("entry {} is not in the signed tree", proven.index)));
        }
        let event = keys.check_entry(proven.index, &entry, &file.state).map_err(bad)?;
        let body = event.body.ok_or_else(|| bad("an entry has no event"))?;
        bodies.push((proven.index, body));
    }
    Ok(bodies)
}

/// A fresh check: a new proof from the node, whose checkpoint must be a
/// consistent extension of the file's, so a later revocation is not missed.
pub async fn fresh(
    file: &ProofFile,
    verifier: &NoteVerifier,
    node: &dyn ProofSource,
    log: &dyn LogSource,
) -> Result<VerifiedProof> {
    let old = verify(file, Some(verifier))?;
    let new_file = ProofFile::from_pb(node.credential_proof(file.credential_number.clone()).await?);
    let new = verify(&new_file, Some(verifier))?;
    let (from, to) = (&old.checkpoint, &new.checkpoint);
    if to.size < from.size {
        return Err(bad(format!(
            "the node's log ({} entries) is smaller than the proof's ({})",
            to.size, from.size
        )));
    }
    if from.size > 0 {
        let proof = log.consistency_proof(TreeSize(from.size), TreeSize(to.size)).await?;
        if !crate::log::merkle::verify_consistency(from.size, to.size, &proof, &from.root, &to.root) {
            return Err(bad(
                "the node's current log is not an extension of the proof's: history was rewritten",
            ));
        }
    }
    Ok(new)
}

/// One public disciplinary action as shown on a date, for a person to read.
fn describe_discipline(dated: &DatedDiscipline) -> String {
    let d = &dated.discipline;
    let until = d.ends_on.map(|end| format!(" until {end}")).unwrap_or_default();
    let ended = match dated.ended {
        None => String::new(),
        Some(DisciplineEnd::EndDate(on)) => format!(" (ended on {on})"),
        Some(DisciplineEnd::Reinstated(on)) => format!(" (ended by reinstatement on {on})"),
    };
    format!(
        "\n  discipline: {} from {}{until}{ended}: {}",
        action_name(d.kind),
        d.effective_on,
        d.public_summary
    )
}

/// What the proof shows on `date`, for a person to read: one line, then one
/// line per disciplinary action as it stood on `date`.
pub fn describe(file: &ProofFile, verified: &VerifiedProof, date: NaiveDate) -> String {
    let key = if verified.self_asserted_key {
        "the key inside the file (pin one with --verifier-key)"
    } else {
        "the pinned verifier key"
    };
    let holder = match &verified.holder_name {
        Some(name) => format!(" held by {name} (bound by the holder commitment)"),
        None => " (the file does not open its holder)".to_string(),
    };
    let discipline: String = verified.discipline_on(date).iter().map(describe_discipline).collect();
    format!(
        "VALID PROOF: {} credential {}{holder}: {} on {date} (issued {}, expires {}); {} signed entries proven in the checkpoint of size {}, checked with {key}{discipline}",
        file.state,
        file.credential_number,
        verified.status_on(date).as_str().to_uppercase(),
        verified.credential.issued_on,
        verified.credential.expires_on_as_of(date),
        file.entries.len(),
        verified.checkpoint.size
    )
}
