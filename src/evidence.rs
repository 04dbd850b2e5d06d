//! Evidence for a transfer: every log entry about a credential's holder and
//! their credentials, each with an inclusion proof against one signed
//! checkpoint, the openings of the holder's committed records and the
//! holder's key (built by the origin, only within the holder's consent), and
//! its verification (by the receiver): every commitment opened by what the
//! bundle carries, every tagged record the holder's.
//!
//! Verification never trusts the bundle: the checkpoint must be signed by the
//! origin's pinned key, every entry by the same key and included in that tree,
//! every entry about this holder and nobody else. Each failure becomes a reason
//! a person can read ("entry 17 is not signed by MS's pinned key"), because an
//! unverifiable bundle is a *denial*, not a crash. Completeness (nothing left
//! out) cannot be seen from the bundle alone; the receiver checks it against
//! its own verified copy of the origin's log with [`missing`].

use std::collections::{BTreeSet, HashMap};

use prost::Message;

use crate::domain::commitment::{self, Bytes32, Opening, RecordKind};
use crate::domain::fact::{quote, Fact};
use crate::domain::records::{Credential, Peer};
use crate::domain::sealed::{unseal, Openings};
use crate::error::{Error, Result};
use crate::ledger::{person_id, references, Ledger};
use crate::limits;
use crate::log::entry::{decode_entry, EntryError};
use crate::log::keys::{open_with_rotations, KeyError, LogKeys, ProvenRotation};
use crate::log::merkle::{leaf_hash, verify_inclusion, Hash, LeafIndex, TreeSize};
use crate::log::note::{Checkpoint, NoteVerifier, REQUEST_CONTEXT};
use crate::pb;
use crate::projection::Registry;
use crate::vault::Vault;

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
/// The log's key rotation entries below `size`, each with its inclusion
/// proof in the tree of that size: what lets a holder of the log's first key
/// learn the key that signed a checkpoint of that size (see `log::keys`).
pub fn proven_key_rotations(ledger: &Ledger, size: u64) -> Result<Vec<pb::ProvenEntry>> {
    let indices: Vec<u64> = ledger.keys().rotations().iter().map(|r| r.index).collect();
    proven_entries(ledger, &indices, size)
}

/// Opens a checkpoint `note` that comes with proven key rotation entries,
/// with the chain that starts at `pinned`: the checkpoint and the chain.
pub fn open_with_proven_rotations(
    pinned: &NoteVerifier,
    note: &[u8],
    rotations: &[pb::ProvenEntry],
) -> std::result::Result<(Checkpoint, LogKeys), String> {
    let mut decoded = Vec::with_capacity(rotations.len());
    for proven in rotations.iter().take(crate::log::keys::ROTATIONS_MAX + 1) {
        let proof = decode_proof(&proven.inclusion_proof)
            .ok_or_else(|| format!("key rotation entry {}'s inclusion proof is malformed", proven.index))?;
        decoded.push((proven.index, proven.entry.as_slice(), proof));
    }
    let borrowed: Vec<ProvenRotation<'_>> = decoded
        .iter()
        .map(|(index, entry, proof)| (*index, *entry, proof.as_slice()))
        .collect();
    open_with_rotations(&LogKeys::new(pinned.clone()), note, &borrowed).map_err(|e| e.to_string())
}

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

/// How far a signed evidence request's time may be from the origin's clock.
pub const REQUEST_FRESHNESS_SECONDS: i64 = 300;

/// The bytes a receiving state signs to ask `origin_state` for evidence.
pub fn request_message(origin_state: &str, receiving_state: &str, credential_number: &str, signed_at: i64) -> Vec<u8> {
    format!("{REQUEST_CONTEXT}{origin_state}\n{receiving_state}\n{credential_number}\n{signed_at}\n").into_bytes()
}

/// A request for evidence, signed with `own`'s log key (the key `origin_state`
/// pins for this state in its trust list).
pub fn signed_request(
    own: &Ledger,
    origin_state: &str,
    credential_number: &str,
    now: i64,
) -> Result<pb::GetEvidenceRequest> {
    let signer = own
        .request_signer()
        .ok_or_else(|| Error::FailedPrecondition("a mirror cannot ask for evidence".into()))?;
    let message = request_message(origin_state, own.state(), credential_number, now);
    Ok(pb::GetEvidenceRequest {
        credential_number: credential_number.to_string(),
        receiving_state: own.state().to_string(),
        signed_at: now,
        signature: signer.sign(&message).to_vec(),
    })
}

/// The origin's check of who asks: a state it trusts (`pinned` gives the key
/// it pins for a state), whose signature verifies over this origin's name for
/// itself, fresh within [`REQUEST_FRESHNESS_SECONDS`]. Anything else is
/// `UNAUTHENTICATED`, before anything about a person is looked up.
pub fn authenticate(
    request: &pb::GetEvidenceRequest,
    origin_state: &str,
    pinned: impl Fn(&str) -> Option<NoteVerifier>,
    now: i64,
) -> Result<String> {
    let refuse = |why: String| {
        Error::Unauthenticated(format!(
            "evidence is disclosed only to a trusted state that signs its request: {why}"
        ))
    };
    let state = crate::domain::states::parse_state(&request.receiving_state)
        .map_err(|_| refuse("receiving_state must be the asking state's code".into()))?;
    let verifier = pinned(&state).ok_or_else(|| refuse(format!("{origin_state} does not trust {state}")))?;
    if (now - request.signed_at).abs() > REQUEST_FRESHNESS_SECONDS {
        return Err(refuse(format!(
            "the request was signed at {} but it is now {now} (unix seconds); requests are valid for {REQUEST_FRESHNESS_SECONDS} s: check the asking node's clock",
            request.signed_at
        )));
    }
    let message = request_message(origin_state, &state, &request.credential_number, request.signed_at);
    if !verifier.verify_bytes(&message, &request.signature) {
        return Err(refuse(format!(
            "the signature does not verify with the key pinned for {state}"
        )));
    }
    Ok(state)
}

/// Records the disclosure in the holder's record, then builds the bundle for
/// an authenticated state within the holder's consent: no disclosure goes
/// unrecorded, and the record of this disclosure is itself inside the bundle's
/// tree (a receiver that checks completeness against its copy of the log
/// would otherwise find it missing). A bundle that then fails to build leaves
/// a recorded disclosure behind: the record errs on the side of the holder.
pub async fn disclose(ledger: &Ledger, credential_number: &str, receiving_state: &str) -> Result<pb::EvidenceBundle> {
    let peer_id = consented_holder(ledger, credential_number, receiving_state)?;
    let record = pb::DisclosureRecorded {
        peer_id,
        receiving_state: receiving_state.to_string(),
        credential_number: credential_number.to_string(),
        disclosed_on: ledger.today().to_string(),
        checkpoint_size: ledger.published().checkpoint.size,
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let event_id = format!("disclosure/{receiving_state}/{credential_number}/{nanos}");
    ledger
        .append(event_id, pb::command::Body::DisclosureRecorded(record))
        .await?;
    let ledger = ledger.clone();
    let (number, state) = (credential_number.to_string(), receiving_state.to_string());
    let built = tokio::task::spawn_blocking(move || bundle(&ledger, &number, &state))
        .await
        .map_err(|e| Error::Internal(format!("building evidence stopped: {e}")))??;
    Ok(built.bundle)
}

/// The holder of `credential_number` if they consent, today, to disclosing
/// their record to `receiving_state`; `PERMISSION_DENIED` otherwise. An
/// unknown number and a missing consent read alike: a trusted state learns
/// nothing about a person who did not consent.
fn consented_holder(ledger: &Ledger, credential_number: &str, receiving_state: &str) -> Result<String> {
    let registry = ledger.registry();
    let not_consented = || {
        Error::PermissionDenied(format!(
            "{} holds no consent of the holder of {} to disclose their record to {}, or it has expired: \
             the person asks {}'s board to record one",
            ledger.state(),
            quote(credential_number),
            quote(receiving_state),
            ledger.state()
        ))
    };
    let credential = registry.credential(credential_number).ok_or_else(not_consented)?;
    let holder = registry.peer(&credential.peer_id).ok_or_else(not_consented)?;
    holder
        .consent_for(receiving_state, ledger.today())
        .ok_or_else(not_consented)?;
    Ok(holder.peer_id.clone())
}

/// Every entry a bundle about `peer_id` carries: their record, their
/// credentials' entries, and the entries voided or expunged from their record
/// with the notices that did it (the receiver finds those records by tag in
/// its copy and must see why they no longer count).
fn bundle_indices(registry: &Registry, peer_id: &str) -> Vec<u64> {
    let mut indices: BTreeSet<u64> = holder_indices(registry, peer_id).into_iter().collect();
    if let Some(peer) = registry.peer(peer_id) {
        for &(index, _, by) in &peer.extras.voided {
            indices.extend([index, by]);
        }
        for &(index, notice) in &peer.extras.expunged {
            indices.extend([index, notice]);
        }
    }
    indices.into_iter().collect()
}

/// The origin's side: the evidence bundle for `credential_number`, for
/// `receiving_state`, at the latest published checkpoint. Refused
/// (`PERMISSION_DENIED`) unless the holder's consent to disclose to that
/// state is recorded and runs to today. The caller records the disclosure.
pub fn bundle(ledger: &Ledger, credential_number: &str, receiving_state: &str) -> Result<Disclosed> {
    let published = ledger.published();
    let peer_id = consented_holder(ledger, credential_number, receiving_state)?;
    let registry = ledger.registry();
    let holder = registry
        .peer(&peer_id)
        .ok_or_else(|| Error::Internal("the consenting holder left the register".into()))?;
    let vault = ledger
        .vault()
        .ok_or_else(|| Error::FailedPrecondition("this node keeps no private store: it is a mirror".into()))?;
    let secrets = vault
        .person(&vault.person_ref(&person_id(&holder.peer_id)))?
        .ok_or_else(|| Error::DataLoss("the private store holds no key for this holder".into()))?;
    let size = published.checkpoint.size;
    let indices = bundle_indices(&registry, &holder.peer_id);
    let entries = proven_entries(ledger, &indices, size).map_err(|e| match e {
        Error::ResourceExhausted(why) => {
            Error::ResourceExhausted(format!("the evidence for {}: {why}", quote(credential_number)))
        }
        other => other,
    })?;
    let openings = openings_of(&vault, &entries)?;
    let bundle = pb::EvidenceBundle {
        state: ledger.state().to_string(),
        credential_number: credential_number.to_string(),
        peer_id: holder.peer_id.clone(),
        checkpoint: published.note.to_vec(),
        entries,
        openings,
        k_subject: secrets.k_subject.to_vec(),
        key_rotations: proven_key_rotations(ledger, size)?,
    };
    // The entries were bounded as they were read; the openings (a long
    // summary each) are counted with them here, before anything is sent.
    let bytes = bundle.encoded_len();
    if bytes > limits::ANSWER_BYTES_MAX {
        return Err(Error::ResourceExhausted(format!(
            "the evidence for {} would be {bytes} bytes with its openings; at most {} bytes are served in one answer",
            quote(credential_number),
            limits::ANSWER_BYTES_MAX
        )));
    }
    Ok(Disclosed {
        bundle,
        peer_id: holder.peer_id.clone(),
        size,
    })
}

/// A bundle built for a state, and whose record it discloses.
pub struct Disclosed {
    pub bundle: pb::EvidenceBundle,
    pub peer_id: String,
    pub size: u64,
}

/// The openings the vault holds of the records among `entries`.
fn openings_of(vault: &Vault, entries: &[pb::ProvenEntry]) -> Result<Vec<pb::RecordOpening>> {
    let mut openings = Vec::new();
    for proven in entries {
        let (_, event) = decode_entry(proven.index, &proven.entry).map_err(|e| Error::DataLoss(e.to_string()))?;
        for reference in references(event.body.as_ref()) {
            if let Some(opened) = vault.record(&reference.commitment)? {
                openings.push(record_opening(&opened));
            }
        }
    }
    Ok(openings)
}

/// The openings of the public-register parts of `entries` (a credential's):
/// its holder commitment and discipline and reinstatement summaries, never a
/// private record.
pub fn register_openings(ledger: &Ledger, entries: &[pb::ProvenEntry]) -> Result<Vec<pb::RecordOpening>> {
    let Some(vault) = ledger.vault() else {
        return Ok(Vec::new());
    };
    let openings = openings_of(&vault, entries)?;
    let public = [
        RecordKind::Holder,
        RecordKind::DisciplineSummary,
        RecordKind::ReinstatementSummary,
    ];
    Ok(openings
        .into_iter()
        .filter(|o| {
            u16::try_from(o.kind)
                .ok()
                .and_then(RecordKind::from_code)
                .is_some_and(|k| public.contains(&k))
        })
        .collect())
}

/// The wire form of an opening.
pub fn record_opening(opened: &Opening) -> pb::RecordOpening {
    pb::RecordOpening {
        opening: opened.opening.to_vec(),
        tag: opened.tag.to_vec(),
        kind: u32::from(opened.kind.code()),
        body: opened.body.clone(),
    }
}

/// An opening read from the wire, if well-formed.
pub fn parse_opening(wire: &pb::RecordOpening) -> Option<Opening> {
    Some(Opening {
        opening: wire.opening.as_slice().try_into().ok()?,
        tag: wire.tag.as_slice().try_into().ok()?,
        kind: RecordKind::from_code(u16::try_from(wire.kind).ok()?)?,
        body: wire.body.clone(),
    })
}

/// Openings received in a bundle, by the commitment each opens.
pub struct BundleOpenings(HashMap<Bytes32, Opening>);

impl BundleOpenings {
    pub fn new(wire: &[pb::RecordOpening]) -> BundleOpenings {
        let parsed = wire.iter().filter_map(parse_opening);
        BundleOpenings(parsed.map(|opened| (opened.commitment(), opened)).collect())
    }

    /// Whether some opening carries `tag` (but opens another commitment).
    fn has_tag(&self, tag: &Bytes32) -> bool {
        self.0.values().any(|opened| opened.tag == *tag)
    }

    pub fn all(&self) -> impl Iterator<Item = &Opening> {
        self.0.values()
    }
}

impl Openings for BundleOpenings {
    fn open(&self, commitment: &Bytes32) -> Result<Option<Opening>> {
        Ok(self.0.get(commitment).cloned())
    }
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
    /// The holder's key: finds their records in a verified copy.
    pub k_subject: Bytes32,
    /// The openings the bundle carried (kept by the receiver, under §8's rules).
    pub openings: Vec<Opening>,
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

/// Checks one proven entry against the checkpoint; its public body if it holds.
fn verify_one(
    proven: &pb::ProvenEntry,
    checkpoint: &Checkpoint,
    keys: &LogKeys,
    state: &str,
) -> Result<pb::event::Body, String> {
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
    let event = match keys.check_entry(index, &proven.entry, state) {
        Ok(event) => event,
        Err(KeyError::Entry(e)) => return Err(entry_problem(state, e)),
        Err(e) => return Err(e.to_string()),
    };
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
    event.body.ok_or_else(|| format!("entry {index} records no event"))
}

/// A holder's records as found by their tags (see [`holder_tags`]).
#[derive(Clone, Debug, Default)]
pub struct HolderTags {
    /// Each tag found, with where it was found (an entry index).
    pub found: HashMap<Bytes32, u64>,
    /// The probe reached `HOLDER_TAGS_MAX` before the record ended: more
    /// records may follow, so completeness cannot be proven.
    pub truncated: bool,
}

impl HolderTags {
    /// Why a record cut short by the bound cannot be relied on, if it was.
    pub fn truncation(&self) -> Option<String> {
        self.truncated.then(|| {
            format!(
                "the holder's record runs past {} records, the most this node checks for completeness",
                limits::HOLDER_TAGS_MAX
            )
        })
    }
}

/// The one way a holder's records are found, by the bundle's verifier and
/// against the receiver's copy alike: `find` looks up `tag(k_subject, seq)`
/// for seq = 0, 1, 2, …; the record ends after `HOLDER_TAG_GAP_MAX`
/// consecutive absent tags (a number consumed by a refused command leaves a
/// gap, which is tolerated) and the probe stops at `HOLDER_TAGS_MAX` numbers.
pub fn holder_tags(k_subject: &Bytes32, mut find: impl FnMut(&Bytes32) -> Result<Option<u64>>) -> Result<HolderTags> {
    let mut tags = HolderTags::default();
    let mut absent = 0;
    for seq in 0..limits::HOLDER_TAGS_MAX {
        let tag = commitment::tag(k_subject, seq);
        match find(&tag)? {
            Some(index) => {
                tags.found.insert(tag, index);
                absent = 0;
            }
            None if absent + 1 >= limits::HOLDER_TAG_GAP_MAX => return Ok(tags),
            None => absent += 1,
        }
    }
    tags.truncated = true;
    Ok(tags)
}

/// The entries a bundle's notices void or expunge.
fn noticed(bodies: &[(u64, pb::event::Body)]) -> BTreeSet<u64> {
    let mut covered = BTreeSet::new();
    for (_, body) in bodies {
        match body {
            pb::event::Body::RecordsExpunged(e) => covered.extend(&e.indices),
            pb::event::Body::RecordVoided(e) => {
                covered.insert(e.index);
            }
            _ => {}
        }
    }
    covered
}

/// Checks that each entry is the holder's and opened (unless a notice in the
/// bundle expunged it), and reads it; problems are collected in words.
fn read_entries(
    bodies: Vec<(u64, pb::event::Body)>,
    openings: &BundleOpenings,
    k_subject: &Bytes32,
    problems: &mut Vec<String>,
) -> Vec<(u64, Fact)> {
    let covered = noticed(&bodies);
    let carried: HashMap<Bytes32, u64> = bodies
        .iter()
        .flat_map(|(index, body)| references(Some(body)).into_iter().map(|r| (r.tag, *index)))
        .collect();
    let tags = holder_tags(k_subject, |tag| Ok(carried.get(tag).copied())).unwrap_or_default();
    problems.extend(tags.truncation());
    let mut facts = Vec::with_capacity(bodies.len());
    for (index, body) in bodies {
        for reference in references(Some(&body)) {
            if !tags.found.contains_key(&reference.tag) {
                problems.push(format!(
                    "entry {index} is not about this holder (its record reference is not theirs)"
                ));
            } else if openings.open(&reference.commitment).ok().flatten().is_none() && !covered.contains(&index) {
                problems.push(if openings.has_tag(&reference.tag) {
                    format!("entry {index}: the record given does not open its commitment (it was altered after it was committed)")
                } else {
                    format!("entry {index}: the bundle does not open its record")
                });
            }
        }
        match unseal(body, openings) {
            Ok(fact) => facts.push((index, fact)),
            Err(e) => problems.push(format!("entry {index} is not a valid event: {e}")),
        }
    }
    facts
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
    let (checkpoint, keys) =
        open_with_proven_rotations(verifier, &bundle.checkpoint, &bundle.key_rotations).map_err(|e| {
            vec![format!(
                "the evidence's checkpoint is not signed by {state}'s pinned key or a key it introduced: {e}"
            )]
        })?;
    let k_subject: Bytes32 = bundle
        .k_subject
        .as_slice()
        .try_into()
        .map_err(|_| vec!["the evidence carries no holder key, so it cannot be proven complete".to_string()])?;
    let mut problems = Vec::new();
    let mut bodies = Vec::with_capacity(bundle.entries.len());
    let mut previous = None;
    for proven in &bundle.entries {
        if previous.is_some_and(|p| proven.index <= p) {
            problems.push(format!("entry {} is out of log order", proven.index));
            continue;
        }
        previous = Some(proven.index);
        match verify_one(proven, &checkpoint, &keys, state) {
            Ok(body) => bodies.push((proven.index, body)),
            Err(problem) => problems.push(problem),
        }
    }
    let openings = BundleOpenings::new(&bundle.openings);
    let facts = read_entries(bodies, &openings, &k_subject, &mut problems);
    let mut registry = Registry::default();
    for (index, fact) in facts {
        registry.apply_owned(index, fact);
    }
    let holder_id = bundle.peer_id.as_str();
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
                k_subject,
                openings: openings.all().cloned().collect(),
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

/// What a verified copy of the origin's log holds about the holder: every
/// entry carrying one of their tags (found with their key by [`holder_tags`])
/// and every entry of their credentials as the copy's registry has them.
/// `Err` with a reason when the holder's record is too long to be proven
/// complete within `HOLDER_TAGS_MAX`.
pub fn expected_indices(copy: &Ledger, verified: &VerifiedEvidence) -> Result<Result<Vec<u64>, String>> {
    let tags = holder_tags(&verified.k_subject, |tag| copy.tag_index(tag))?;
    if let Some(reason) = tags.truncation() {
        return Ok(Err(reason));
    }
    let mut expected: BTreeSet<u64> = tags.found.into_values().collect();
    let registry = copy.registry();
    for number in &verified.holder.credentials {
        if let Some(credential) = registry.credential(number) {
            expected.extend(&credential.events);
        }
    }
    Ok(Ok(expected.into_iter().collect()))
}

/// Entries the origin's log holds about the holder (`expected`, from the
/// receiver's verified copy, which may be ahead of the bundle) that the bundle
/// left out. Entries past the bundle's checkpoint count too: evidence that was
/// complete once but predates a later suspension must not decide today.
pub fn missing(expected: &[u64], verified: &VerifiedEvidence) -> Vec<u64> {
    let held: BTreeSet<u64> = verified.indices.iter().copied().collect();
    expected.iter().copied().filter(|i| !held.contains(i)).collect()
}
