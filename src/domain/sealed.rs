//! The two sides of an event (DESIGN.md §8): what a board commands, and what
//! the public log holds of it. [`seal`] turns a checked command into a public
//! body and the private records it commits to; [`unseal`] reads a public body
//! back into a [`Fact`], opening the commitments the reader can open (the
//! board's private store, a consented bundle) and leaving the rest sealed (a
//! mirror). Both directions live here so that what is published and what is
//! read back can never drift apart. Pure: the caller supplies the secrets and
//! the randomness.

use prost::Message;

use super::commitment::{self, Bytes32, Opening, RecordKind};
use super::fact::{self, ExpungementReason, Fact, Issue, VoidReason};
use crate::error::{Error, Result};
use crate::pb;

/// What opens commitments for a reader.
pub trait Openings {
    /// The opening of `commitment`, or `None` when this reader holds none
    /// (never given, or destroyed). An error is damage in the reader's store.
    fn open(&self, commitment: &Bytes32) -> Result<Option<Opening>>;
}

/// A reader with no openings: a mirror, an auditor. Every private record
/// stays sealed; every credential's status still computes.
pub struct NoOpenings;

impl Openings for NoOpenings {
    fn open(&self, _: &Bytes32) -> Result<Option<Opening>> {
        Ok(None)
    }
}

/// A person's record-sealing state: their `K_subject` and the number of their
/// next record. Supplied by the writer, which keeps the counter.
pub struct Subject<'a> {
    pub k_subject: &'a Bytes32,
    pub next_seq: &'a mut u32,
}

impl Subject<'_> {
    /// Commits `body` as this person's next record of `kind`.
    fn commit(&mut self, kind: RecordKind, body: Vec<u8>, opening: Bytes32) -> (pb::RecordRef, Opening) {
        let tag = commitment::tag(self.k_subject, *self.next_seq);
        *self.next_seq += 1;
        let opened = Opening {
            opening,
            tag,
            kind,
            body,
        };
        let reference = pb::RecordRef {
            tag: tag.to_vec(),
            commitment: opened.commitment().to_vec(),
        };
        (reference, opened)
    }
}

/// A command sealed for the log: the public body, and the private record (if
/// any) the board keeps off-log.
pub struct Sealed {
    pub public: pb::event::Body,
    pub private: Option<Opening>,
}

/// The private record kind and body of a command that is wholly private.
fn private_body(command: &pb::command::Body) -> Option<(RecordKind, Vec<u8>)> {
    use pb::command::Body;
    Some(match command {
        Body::PeerEnrolled(e) => (RecordKind::Enrolment, e.encode_to_vec()),
        Body::NameChanged(e) => (RecordKind::NameChange, e.encode_to_vec()),
        Body::TrainingCompleted(e) => (RecordKind::Training, e.encode_to_vec()),
        Body::ExperienceRecorded(e) => (RecordKind::Experience, e.encode_to_vec()),
        Body::ExamRecorded(e) => (RecordKind::Exam, e.encode_to_vec()),
        Body::ContinuingEducationCompleted(e) => (RecordKind::ContinuingEducation, e.encode_to_vec()),
        Body::TransferEvaluated(e) => (RecordKind::TransferEvaluation, e.encode_to_vec()),
        Body::ConsentRecorded(e) => (RecordKind::Consent, e.encode_to_vec()),
        Body::DisclosureRecorded(e) => (RecordKind::Disclosure, e.encode_to_vec()),
        Body::WaiverRecorded(e) => (RecordKind::Waiver, e.encode_to_vec()),
        Body::ImportProvenance(e) => (RecordKind::ImportProvenance, e.encode_to_vec()),
        Body::RequirementEvidence(e) => (RecordKind::RequirementEvidence, e.encode_to_vec()),
        Body::CredentialIssued(_)
        | Body::CredentialRenewed(_)
        | Body::DisciplinaryAction(_)
        | Body::CredentialReinstated(_)
        | Body::SigningKeyRotated(_)
        | Body::Expunge(_)
        | Body::Void(_) => return None,
    })
}

/// Seals a checked command. `fact` is the command's parsed form (for an
/// expungement, already resolved to [`Fact::Expunged`]); `subject` is the
/// person the private part belongs to, required when there is one.
pub fn seal(
    command: &pb::command::Body,
    fact: &Fact,
    subject: Option<Subject<'_>>,
    opening: Bytes32,
) -> Result<Sealed> {
    use pb::command::Body;
    let needs_subject = || Error::Internal("a private record was sealed without its person's key".into());
    if let Some((kind, body)) = private_body(command) {
        let (record, opened) = subject.ok_or_else(needs_subject)?.commit(kind, body, opening);
        return Ok(Sealed {
            public: pb::event::Body::Record(pb::RecordCommitted { record: Some(record) }),
            private: Some(opened),
        });
    }
    let committed = |kind: RecordKind, body: Vec<u8>| -> Result<(pb::RecordRef, Opening)> {
        let mut subject = subject.ok_or_else(needs_subject)?;
        Ok(subject.commit(kind, body, opening))
    };
    let (public, private) = match (command, fact) {
        (Body::CredentialIssued(e), _) => {
            let holder = pb::Holder {
                peer_id: e.peer_id.clone(),
                legal_name: holder_name(fact),
            };
            let (reference, opened) = committed(RecordKind::Holder, holder.encode_to_vec())?;
            let public = pb::CredentialGranted {
                imported: e.imported.clone(),
                credential_number: e.credential_number.clone(),
                credential_type: e.credential_type,
                issued_on: e.issued_on.clone(),
                expires_on: e.expires_on.clone(),
                reciprocity: e.reciprocity.clone(),
                holder: Some(reference),
            };
            (pb::event::Body::CredentialGranted(public), Some(opened))
        }
        (Body::DisciplinaryAction(e), _) => {
            let summary = summary_body(&e.credential_number, &e.public_summary);
            let (reference, opened) = committed(RecordKind::DisciplineSummary, summary)?;
            let public = pb::DisciplineImposed {
                credential_number: e.credential_number.clone(),
                kind: e.kind,
                effective_on: e.effective_on.clone(),
                ends_on: e.ends_on.clone(),
                summary: Some(reference),
            };
            (pb::event::Body::DisciplineImposed(public), Some(opened))
        }
        (Body::CredentialReinstated(e), _) => {
            let summary = summary_body(&e.credential_number, &e.public_summary);
            let (reference, opened) = committed(RecordKind::ReinstatementSummary, summary)?;
            let public = pb::ReinstatementGranted {
                credential_number: e.credential_number.clone(),
                effective_on: e.effective_on.clone(),
                summary: Some(reference),
            };
            (pb::event::Body::ReinstatementGranted(public), Some(opened))
        }
        (Body::CredentialRenewed(e), _) => (pb::event::Body::CredentialRenewed(e.clone()), None),
        (Body::SigningKeyRotated(e), _) => (pb::event::Body::SigningKeyRotated(e.clone()), None),
        (Body::Void(e), _) => (
            pb::event::Body::RecordVoided(pb::RecordVoided {
                index: e.index,
                reason: e.reason,
            }),
            None,
        ),
        (Body::Expunge(_), Fact::Expunged { indices, reason }) => (expunged_body(indices, *reason), None),
        _ => {
            return Err(Error::Internal(
                "a command was sealed with a fact of another kind".into(),
            ))
        }
    };
    Ok(Sealed { public, private })
}

/// Seals a command without checking it (tests, fuzzing and benchmarks build
/// logs with bodies this node would refuse): an issue's holder name is
/// empty, and an expungement cannot be sealed this way.
#[doc(hidden)]
pub fn seal_unchecked(command: &pb::command::Body, subject: Subject<'_>, opening: Bytes32) -> Result<Sealed> {
    let fact = match command {
        pb::command::Body::Expunge(_) => {
            return Err(Error::InvalidArgument(
                "an expungement needs the registry to seal".into(),
            ))
        }
        pb::command::Body::CredentialIssued(_) => Fact::CredentialIssued(Issue {
            peer_id: String::new(),
            credential_number: String::new(),
            credential_type: fact::CredentialType::PeerSupportSpecialist,
            issued_on: chrono::NaiveDate::MIN,
            expires_on: chrono::NaiveDate::MIN,
            reciprocity: None,
            imported: None,
            holder_name: String::new(),
        }),
        _ => Fact::Sealed,
    };
    seal(command, &fact, Some(subject), opening)
}

/// The holder's legal name, which a credential command does not carry: the
/// writer puts it into the fact from the registry before sealing.
fn holder_name(fact: &Fact) -> String {
    match fact {
        Fact::CredentialIssued(issue) => issue.holder_name.clone(),
        _ => String::new(),
    }
}

fn summary_body(credential_number: &str, summary: &str) -> Vec<u8> {
    pb::RecordSummary {
        credential_number: credential_number.to_string(),
        summary: summary.to_string(),
    }
    .encode_to_vec()
}

fn expunged_body(indices: &[u64], reason: ExpungementReason) -> pb::event::Body {
    pb::event::Body::RecordsExpunged(pb::RecordsExpunged {
        indices: indices.to_vec(),
        reason: pb::ExpungementReason::from(reason).into(),
    })
}

/// Most entries one expungement notice may name (a person's whole record).
pub const EXPUNGED_INDICES_MAX: usize = 4096;

/// Reads a public body into the fact it states, opening what `openings` can.
/// A commitment whose opening does not open it is `DATA_LOSS` (the reader's
/// store or bundle holds something else than what was committed).
pub fn unseal(body: pb::event::Body, openings: &dyn Openings) -> Result<Fact> {
    use pb::event::Body;
    match body {
        Body::Record(e) => {
            let reference = record_ref(e.record)?;
            match open(&reference, openings)? {
                Some(opened) => private_fact(&opened),
                None => Ok(Fact::Sealed),
            }
        }
        Body::CredentialGranted(e) => granted(e, openings),
        Body::CredentialRenewed(e) => Fact::try_from(pb::command::Body::CredentialRenewed(e)),
        Body::DisciplineImposed(e) => {
            let summary = summary_text(e.summary, RecordKind::DisciplineSummary, openings)?;
            Fact::try_from(pb::command::Body::DisciplinaryAction(pb::DisciplinaryAction {
                credential_number: e.credential_number,
                kind: e.kind,
                effective_on: e.effective_on,
                ends_on: e.ends_on,
                public_summary: summary,
            }))
        }
        Body::ReinstatementGranted(e) => {
            let summary = summary_text(e.summary, RecordKind::ReinstatementSummary, openings)?;
            Fact::try_from(pb::command::Body::CredentialReinstated(pb::CredentialReinstated {
                credential_number: e.credential_number,
                effective_on: e.effective_on,
                public_summary: summary,
            }))
        }
        Body::SigningKeyRotated(e) => Fact::try_from(pb::command::Body::SigningKeyRotated(e)),
        Body::RecordsExpunged(e) => {
            if e.indices.is_empty() || e.indices.len() > EXPUNGED_INDICES_MAX {
                return Err(Error::InvalidArgument(format!(
                    "an expungement notice names 1 to {EXPUNGED_INDICES_MAX} entries, this one {}",
                    e.indices.len()
                )));
            }
            Ok(Fact::Expunged {
                indices: e.indices,
                reason: fact::expungement_reason(e.reason)?,
            })
        }
        Body::RecordVoided(e) => Ok(Fact::Voided {
            index: e.index,
            reason: fact::void_reason(e.reason)?,
        }),
    }
}

/// A record reference as read from the log: two 32-byte values.
pub struct Reference {
    pub tag: Bytes32,
    pub commitment: Bytes32,
}

/// Checks the form of a reference: both parts exactly 32 bytes.
pub fn record_ref(reference: Option<pb::RecordRef>) -> Result<Reference> {
    let reference = reference.ok_or_else(|| Error::InvalidArgument("a record reference is missing".into()))?;
    let bytes32 = |field: &str, value: Vec<u8>| -> Result<Bytes32> {
        value
            .try_into()
            .map_err(|v: Vec<u8>| Error::InvalidArgument(format!("{field} must be 32 bytes, got {}", v.len())))
    };
    Ok(Reference {
        tag: bytes32("tag", reference.tag)?,
        commitment: bytes32("commitment", reference.commitment)?,
    })
}

/// The opening of `reference`, checked to open it under its own tag.
fn open(reference: &Reference, openings: &dyn Openings) -> Result<Option<Opening>> {
    let Some(opened) = openings.open(&reference.commitment)? else {
        return Ok(None);
    };
    if opened.tag != reference.tag || !opened.opens(&reference.commitment) {
        return Err(Error::DataLoss(
            "an opening does not open the commitment it was kept for: the private record was changed".into(),
        ));
    }
    Ok(Some(opened))
}

fn decode<M: Message + Default>(opened: &Opening) -> Result<M> {
    M::decode(opened.body.as_slice()).map_err(|e| {
        Error::DataLoss(format!(
            "a committed private record of kind {:?} does not decode: {e}",
            opened.kind
        ))
    })
}

/// The fact an opened private record states.
pub fn private_fact(opened: &Opening) -> Result<Fact> {
    use pb::command::Body;
    let command = match opened.kind {
        RecordKind::Enrolment => Body::PeerEnrolled(decode(opened)?),
        RecordKind::NameChange => Body::NameChanged(decode(opened)?),
        RecordKind::Training => Body::TrainingCompleted(decode(opened)?),
        RecordKind::Experience => Body::ExperienceRecorded(decode(opened)?),
        RecordKind::Exam => Body::ExamRecorded(decode(opened)?),
        RecordKind::ContinuingEducation => Body::ContinuingEducationCompleted(decode(opened)?),
        RecordKind::TransferEvaluation => Body::TransferEvaluated(decode(opened)?),
        RecordKind::Consent => Body::ConsentRecorded(decode(opened)?),
        RecordKind::Disclosure => Body::DisclosureRecorded(decode(opened)?),
        RecordKind::Waiver => Body::WaiverRecorded(decode(opened)?),
        RecordKind::RequirementEvidence => Body::RequirementEvidence(decode(opened)?),
        RecordKind::ImportProvenance => Body::ImportProvenance(decode(opened)?),
        RecordKind::Holder | RecordKind::DisciplineSummary | RecordKind::ReinstatementSummary => {
            return Err(Error::InvalidArgument(format!(
                "a record of kind {:?} belongs inside a credential event, not alone",
                opened.kind
            )))
        }
    };
    Fact::try_from(command)
}

fn granted(e: pb::CredentialGranted, openings: &dyn Openings) -> Result<Fact> {
    let reference = record_ref(e.holder)?;
    let holder: pb::Holder = match open(&reference, openings)? {
        Some(opened) if opened.kind == RecordKind::Holder => decode(&opened)?,
        Some(_) => {
            return Err(Error::InvalidArgument(
                "a holder commitment opens to another kind of record".into(),
            ))
        }
        None => pb::Holder::default(),
    };
    let holder_known = !holder.peer_id.is_empty();
    let command = pb::CredentialIssued {
        peer_id: holder.peer_id,
        credential_number: e.credential_number,
        credential_type: e.credential_type,
        issued_on: e.issued_on,
        expires_on: e.expires_on,
        reciprocity: e.reciprocity,
        imported: e.imported,
    };
    let issue = fact::issue(command, holder_known)?;
    let holder_name = if holder.legal_name.is_empty() {
        String::new()
    } else {
        fact::text("holder name", holder.legal_name, fact::TEXT_BYTES_MAX)?
    };
    Ok(Fact::CredentialIssued(Issue { holder_name, ..issue }))
}

fn summary_text(reference: Option<pb::RecordRef>, kind: RecordKind, openings: &dyn Openings) -> Result<String> {
    let reference = record_ref(reference)?;
    match open(&reference, openings)? {
        Some(opened) if opened.kind == kind => Ok(decode::<pb::RecordSummary>(&opened)?.summary),
        Some(_) => Err(Error::InvalidArgument(
            "a summary commitment opens to another kind of record".into(),
        )),
        // The parser requires a summary; a sealed one reads as this placeholder.
        None => Ok(SEALED_SUMMARY.into()),
    }
}

/// What a reader without the opening sees of a discipline or reinstatement summary.
pub const SEALED_SUMMARY: &str = "(summary held by the issuing board)";

/// The kind of void reason, for messages.
pub fn void_reason_text(reason: VoidReason) -> &'static str {
    match reason {
        VoidReason::EnteredInError => "entered in error",
        VoidReason::Duplicate => "duplicate",
        VoidReason::WrongPerson => "wrong person",
    }
}
