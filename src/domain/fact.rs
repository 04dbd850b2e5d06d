//! Typed, validated views of event bodies. An event body is parsed into a
//! [`Fact`] once: every field checked for form (dates real, hours positive,
//! vocabulary known, text bounded). Whether the fact is *allowed* given the
//! registry is `rules`' business; how it changes the registry is `projection`'s.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::vocabulary;
use crate::error::{Error, Result};
use crate::pb;

/// Longest legal name, title, provider or identifier we record.
pub const TEXT_BYTES_MAX: usize = 200;
/// Longest identifier (peer id, credential number, course id).
pub const IDENTIFIER_BYTES_MAX: usize = 64;
/// Longest public discipline summary.
pub const SUMMARY_BYTES_MAX: usize = 2000;
/// Most minutes one training, experience record or CE course may claim (~1,666 h).
pub const MINUTES_MAX: u32 = 100_000;
pub use crate::limits::{quote, QUOTE_CHARS_MAX};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CredentialType {
    PeerSupportSpecialist,
    PeerRecoverySpecialist,
    FamilyPeer,
    YouthPeer,
    PeerSupervisor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DisciplineKind {
    Reprimand,
    Probation,
    Restriction,
    Suspension,
    Revocation,
    VoluntarySurrender,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExperienceKind {
    Paid,
    Volunteer,
    Supervised,
}

/// What a board saw for one requirement a profile names (a diploma, a
/// reference form, proof of residency...): the requirement's vocabulary id
/// and the date the evidence is for. Only that it was seen is kept, never
/// health history (DESIGN.md §8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub index: u64,
    /// An id of `vocabulary::EVIDENCE_REQUIREMENTS`.
    pub requirement: String,
    pub recorded_on: NaiveDate,
    pub detail: String,
    /// Who attests it; empty when nobody in particular.
    pub attested_by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Training {
    pub index: u64,
    pub course_id: String,
    pub course_title: String,
    pub provider: String,
    pub minutes: u32,
    pub completed_on: NaiveDate,
    pub domains: Vec<(String, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Experience {
    pub index: u64,
    pub kind: ExperienceKind,
    pub minutes: u32,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exam {
    pub index: u64,
    pub exam_id: String,
    pub score_percent: u32,
    pub pass_mark_percent: u32,
    pub taken_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinuingEducation {
    pub index: u64,
    pub topic: String,
    pub minutes: u32,
    pub provider: String,
    pub completed_on: NaiveDate,
}

/// A credential certified by the board's earlier system and brought in as it
/// stood (`CredentialIssued.imported`): public, no personal data. Its initial
/// requirements were judged by that system and are not judged again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedBasis {
    /// The board's name for the source system, 1 to 128 characters.
    pub source_system: String,
    /// The credential's id in that system; empty when it had none.
    pub source_record_id: String,
    /// The import's date: renewals dated on or before it may be imported as
    /// history; the credential's later life is judged normally.
    pub imported_on: NaiveDate,
}

/// Longest source system name or source record id of an import, in characters.
pub const IMPORT_TEXT_CHARS_MAX: usize = 128;
/// Most rows one import provenance record lists (one batch's worth).
pub const PROVENANCE_ROWS_MAX: usize = 1_000;
/// Longest file name an import provenance row names, in bytes.
pub const PROVENANCE_FILE_BYTES_MAX: usize = 255;
/// The row kinds `peerreg import` reads (see `ImportedRow.kind`).
pub const IMPORTED_ROW_KINDS: [&str; 10] = [
    "person",
    "credential",
    "renewal",
    "discipline",
    "reinstatement",
    "training",
    "exam",
    "experience",
    "ce",
    "name_change",
];

/// One source row an import recorded for a person: which file and line, of
/// what kind, under which client event id. Private (the board's record only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedRow {
    pub file: String,
    pub line: u32,
    pub kind: String,
    pub source_record_id: String,
    pub event_id: String,
}

/// Where a person's imported records came from (private record kind 15).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub index: u64,
    pub source_system: String,
    pub imported_on: NaiveDate,
    pub rows: Vec<ImportedRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReciprocityBasis {
    pub origin_state: String,
    pub origin_credential_number: String,
    pub origin_checkpoint: Vec<u8>,
}

/// Consent to disclose a person's record to another state until a date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub index: u64,
    pub receiving_state: String,
    pub until: NaiveDate,
}

/// A reviewer's waiver of one named gap of a transfer (reviewer discretion,
/// recorded with its reason), kept in the receiving board's record of the peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverRecord {
    pub index: u64,
    pub origin_state: String,
    pub origin_credential_number: String,
    /// The gap's requirement id, e.g. "exam" or "tn_orientation".
    pub requirement_id: String,
    pub reason: String,
    pub waived_by: String,
    pub recorded_on: NaiveDate,
}

/// A disclosure of a person's record to another state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    pub index: u64,
    pub receiving_state: String,
    pub credential_number: String,
    pub disclosed_on: NaiveDate,
    pub checkpoint_size: u64,
}

/// Why records were expunged (public, in the notice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpungementReason {
    CourtOrder,
    Statute,
    PersonRequest,
    RetentionEnded,
}

/// Why a record was voided (public, in the notice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VoidReason {
    EnteredInError,
    Duplicate,
    WrongPerson,
}

/// What an expungement command names: a whole person or one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpungeTarget {
    Person(String),
    Record(u64),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// Empty when the holder commitment was not opened (a mirror's view).
    pub peer_id: String,
    pub credential_number: String,
    pub credential_type: CredentialType,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub reciprocity: Option<ReciprocityBasis>,
    /// Set when the credential was imported from the board's earlier system.
    #[serde(default)]
    pub imported: Option<ImportedBasis>,
    /// The holder's legal name at issue, as the holder commitment binds it
    /// (empty when it was not opened, and in a command: the writer fills it).
    #[serde(default)]
    pub holder_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Renewal {
    pub index: u64,
    pub renewed_on: NaiveDate,
    pub new_expires_on: NaiveDate,
    /// A renewal the source system granted, imported as history (its CE is
    /// not judged again).
    #[serde(default)]
    pub imported: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discipline {
    pub index: u64,
    pub kind: DisciplineKind,
    pub effective_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub public_summary: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reinstatement {
    pub index: u64,
    pub effective_on: NaiveDate,
    pub public_summary: String,
}

/// One validated event body. Records carry `index: 0` until applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    Enrolled {
        peer_id: String,
        legal_name: String,
        eligibility_attested: bool,
        ethics_code_signed: bool,
    },
    NameChanged {
        peer_id: String,
        new_legal_name: String,
    },
    TrainingCompleted {
        peer_id: String,
        training: Training,
    },
    ExperienceRecorded {
        peer_id: String,
        experience: Experience,
    },
    ExamRecorded {
        peer_id: String,
        exam: Exam,
    },
    CredentialIssued(Issue),
    ContinuingEducationCompleted {
        peer_id: String,
        course: ContinuingEducation,
    },
    CredentialRenewed {
        credential_number: String,
        renewal: Renewal,
    },
    DisciplinaryAction {
        credential_number: String,
        discipline: Discipline,
    },
    CredentialReinstated {
        credential_number: String,
        reinstatement: Reinstatement,
    },
    SigningKeyRotated {
        new_verifier_key: String,
    },
    TransferEvaluated(Evaluation),
    ConsentRecorded {
        peer_id: String,
        consent: Consent,
    },
    DisclosureRecorded {
        peer_id: String,
        disclosure: Disclosure,
    },
    WaiverRecorded {
        peer_id: String,
        waiver: WaiverRecord,
    },
    /// Evidence for one initial-certification requirement (a private record).
    EvidenceRecorded {
        peer_id: String,
        evidence: Evidence,
    },
    /// Where a person's imported records came from (a private record).
    ImportProvenance {
        peer_id: String,
        provenance: Provenance,
    },
    /// A private record this reader cannot open (a mirror's view, or an
    /// opening destroyed by expungement): it changes nothing.
    Sealed,
    /// The command to expunge; the log records [`Fact::Expunged`] instead.
    Expunge {
        target: ExpungeTarget,
        reason: ExpungementReason,
    },
    /// The public notice: these entries no longer count anywhere.
    Expunged {
        indices: Vec<u64>,
        reason: ExpungementReason,
    },
    /// The entry at `index` was entered in error.
    Voided {
        index: u64,
        reason: VoidReason,
    },
}

/// What a receiving board decided about a transfer from another state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferOutcome {
    Approved,
    Conditional,
    Denied,
}

impl TransferOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferOutcome::Approved => "APPROVED",
            TransferOutcome::Conditional => "CONDITIONAL",
            TransferOutcome::Denied => "DENIED",
        }
    }
}

impl From<TransferOutcome> for pb::TransferOutcome {
    fn from(outcome: TransferOutcome) -> pb::TransferOutcome {
        match outcome {
            TransferOutcome::Approved => pb::TransferOutcome::Approved,
            TransferOutcome::Conditional => pb::TransferOutcome::Conditional,
            TransferOutcome::Denied => pb::TransferOutcome::Denied,
        }
    }
}

/// Most reasons or gaps one transfer evaluation may list.
pub const FINDINGS_MAX: usize = 64;

/// A recorded transfer evaluation (see `TransferEvaluated` in events.proto).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub index: u64,
    pub origin_state: String,
    pub origin_credential_number: String,
    /// The origin checkpoint note the evidence was verified against (empty if none).
    pub origin_checkpoint: Vec<u8>,
    pub outcome: TransferOutcome,
    pub denials: Vec<String>,
    pub gaps: Vec<Gap>,
    pub evaluated_on: NaiveDate,
    pub local_peer_id: Option<String>,
    pub holder_name: String,
}

fn invalid(field: &str, reason: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{field} {reason}"))
}

/// A calendar date written `YYYY-MM-DD`.
pub fn date(field: &str, text: &str) -> Result<NaiveDate> {
    if let Some(date) = plain_date(text) {
        return Ok(date);
    }
    let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    match parsed.filter(|d| d.format("%Y-%m-%d").to_string() == text) {
        Some(date) => Ok(date),
        None => Err(invalid(
            field,
            format!("must be a real date written YYYY-MM-DD, got {}", quote(text)),
        )),
    }
}

/// A date written exactly `YYYY-MM-DD` with a four-digit year, the form every
/// body uses, read without chrono's parser and the round trip through a
/// formatted string (a replay reads millions). What this refuses goes to
/// [`date`]'s general path, which accepts nothing else of this shape.
fn plain_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |value, &digit| {
            digit.is_ascii_digit().then(|| value * 10 + u32::from(digit - b'0'))
        })
    };
    let year = i32::try_from(number(&bytes[0..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&bytes[5..7])?, number(&bytes[8..10])?)
}

fn optional_date(field: &str, text: &str) -> Result<Option<NaiveDate>> {
    if text.is_empty() {
        Ok(None)
    } else {
        date(field, text).map(Some)
    }
}

/// Required, bounded text without control characters. An owned `value` is
/// moved into the result, a borrowed one copied.
pub fn text(field: &str, value: impl AsRef<str> + Into<String>, max: usize) -> Result<String> {
    let checked = value.as_ref();
    if checked.trim().is_empty() {
        return Err(invalid(field, "is required"));
    }
    if checked.len() > max {
        return Err(invalid(
            field,
            format!("is {} bytes; at most {max} are accepted", checked.len()),
        ));
    }
    if checked.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(value.into())
}

/// An identifier: bounded, no spaces or control characters.
pub fn identifier(field: &str, value: impl AsRef<str> + Into<String>) -> Result<String> {
    let value = text(field, value, IDENTIFIER_BYTES_MAX)?;
    if value.chars().any(char::is_whitespace) {
        return Err(invalid(
            field,
            format!("must not contain spaces, got {}", quote(&value)),
        ));
    }
    Ok(value)
}

fn minutes(field: &str, value: u32) -> Result<u32> {
    if value == 0 || value > MINUTES_MAX {
        return Err(invalid(
            field,
            format!("must be 1 to {MINUTES_MAX} minutes, got {value}"),
        ));
    }
    Ok(value)
}

fn percent(field: &str, value: u32) -> Result<u32> {
    if value > 100 {
        return Err(invalid(field, format!("is a percentage (0-100), got {value}")));
    }
    Ok(value)
}

fn credential_type(value: i32) -> Result<CredentialType> {
    match pb::CredentialType::try_from(value) {
        Ok(pb::CredentialType::PeerSupportSpecialist) => Ok(CredentialType::PeerSupportSpecialist),
        Ok(pb::CredentialType::PeerRecoverySpecialist) => Ok(CredentialType::PeerRecoverySpecialist),
        Ok(pb::CredentialType::FamilyPeer) => Ok(CredentialType::FamilyPeer),
        Ok(pb::CredentialType::YouthPeer) => Ok(CredentialType::YouthPeer),
        Ok(pb::CredentialType::PeerSupervisor) => Ok(CredentialType::PeerSupervisor),
        Ok(pb::CredentialType::Unspecified) | Err(_) => Err(invalid(
            "credential_type",
            format!("must be one of the defined credential types, got {value}"),
        )),
    }
}

fn discipline_kind(value: i32) -> Result<DisciplineKind> {
    match pb::DisciplineKind::try_from(value) {
        Ok(pb::DisciplineKind::Reprimand) => Ok(DisciplineKind::Reprimand),
        Ok(pb::DisciplineKind::Probation) => Ok(DisciplineKind::Probation),
        Ok(pb::DisciplineKind::Restriction) => Ok(DisciplineKind::Restriction),
        Ok(pb::DisciplineKind::Suspension) => Ok(DisciplineKind::Suspension),
        Ok(pb::DisciplineKind::Revocation) => Ok(DisciplineKind::Revocation),
        Ok(pb::DisciplineKind::VoluntarySurrender) => Ok(DisciplineKind::VoluntarySurrender),
        Ok(pb::DisciplineKind::Unspecified) | Err(_) => Err(invalid(
            "kind",
            format!("must be one of the defined discipline kinds, got {value}"),
        )),
    }
}

fn experience_kind(value: i32) -> Result<ExperienceKind> {
    match pb::ExperienceKind::try_from(value) {
        Ok(pb::ExperienceKind::Paid) => Ok(ExperienceKind::Paid),
        Ok(pb::ExperienceKind::Volunteer) => Ok(ExperienceKind::Volunteer),
        Ok(pb::ExperienceKind::Supervised) => Ok(ExperienceKind::Supervised),
        Ok(pb::ExperienceKind::Unspecified) | Err(_) => Err(invalid(
            "kind",
            format!("must be paid, volunteer or supervised, got {value}"),
        )),
    }
}

/// The one parser of event bodies: what an append checks before it signs, what
/// a mirror's ingest and every replay read a signed body with. The body's text
/// is moved into the fact, not copied.
impl TryFrom<pb::command::Body> for Fact {
    type Error = Error;

    fn try_from(body: pb::command::Body) -> Result<Fact> {
        use pb::command::Body;
        match body {
            Body::PeerEnrolled(e) => Ok(Fact::Enrolled {
                peer_id: identifier("peer_id", e.peer_id)?,
                legal_name: text("legal_name", e.legal_name, TEXT_BYTES_MAX)?,
                eligibility_attested: e.eligibility_attested,
                ethics_code_signed: e.ethics_code_signed,
            }),
            Body::NameChanged(e) => Ok(Fact::NameChanged {
                peer_id: identifier("peer_id", e.peer_id)?,
                new_legal_name: text("new_legal_name", e.new_legal_name, TEXT_BYTES_MAX)?,
            }),
            Body::TrainingCompleted(e) => training(e),
            Body::ExperienceRecorded(e) => experience(e),
            Body::ExamRecorded(e) => exam(e),
            Body::CredentialIssued(e) => issue(e, true).map(Fact::CredentialIssued),
            Body::ContinuingEducationCompleted(e) => continuing_education(e),
            Body::CredentialRenewed(e) => renewal(e),
            Body::DisciplinaryAction(e) => discipline(e),
            Body::CredentialReinstated(e) => Ok(Fact::CredentialReinstated {
                credential_number: identifier("credential_number", e.credential_number)?,
                reinstatement: Reinstatement {
                    index: 0,
                    effective_on: date("effective_on", &e.effective_on)?,
                    public_summary: text("public_summary", e.public_summary, SUMMARY_BYTES_MAX)?,
                },
            }),
            Body::SigningKeyRotated(e) => Ok(Fact::SigningKeyRotated {
                new_verifier_key: text("new_verifier_key", e.new_verifier_key, 512)?,
            }),
            Body::TransferEvaluated(e) => evaluation(e).map(Fact::TransferEvaluated),
            Body::ImportProvenance(e) => provenance(e),
            Body::ConsentRecorded(e) => Ok(Fact::ConsentRecorded {
                peer_id: identifier("peer_id", e.peer_id)?,
                consent: Consent {
                    index: 0,
                    receiving_state: super::states::parse_state(&e.receiving_state)?,
                    until: date("until", &e.until)?,
                },
            }),
            Body::DisclosureRecorded(e) => Ok(Fact::DisclosureRecorded {
                peer_id: identifier("peer_id", e.peer_id)?,
                disclosure: Disclosure {
                    index: 0,
                    receiving_state: super::states::parse_state(&e.receiving_state)?,
                    credential_number: identifier("credential_number", e.credential_number)?,
                    disclosed_on: date("disclosed_on", &e.disclosed_on)?,
                    checkpoint_size: e.checkpoint_size,
                },
            }),
            Body::WaiverRecorded(e) => Ok(Fact::WaiverRecorded {
                peer_id: identifier("peer_id", e.peer_id)?,
                waiver: WaiverRecord {
                    index: 0,
                    origin_state: super::states::parse_state(&e.origin_state)?,
                    origin_credential_number: identifier("origin_credential_number", e.origin_credential_number)?,
                    requirement_id: identifier("requirement_id", e.requirement_id)?,
                    reason: text("reason", e.reason, SUMMARY_BYTES_MAX)?,
                    waived_by: text("waived_by", e.waived_by, TEXT_BYTES_MAX)?,
                    recorded_on: date("recorded_on", &e.recorded_on)?,
                },
            }),
            Body::RequirementEvidence(e) => evidence(e),
            Body::Expunge(e) => expunge(e),
            Body::Void(e) => Ok(Fact::Voided {
                index: e.index,
                reason: void_reason(e.reason)?,
            }),
        }
    }
}

fn evidence(e: pb::RequirementEvidence) -> Result<Fact> {
    if !vocabulary::is_evidence_requirement(&e.requirement) {
        let known: Vec<&str> = vocabulary::EVIDENCE_REQUIREMENTS.iter().map(|(id, _)| *id).collect();
        return Err(invalid(
            "requirement",
            format!(
                "{} is not a known requirement; known ids: {}",
                quote(&e.requirement),
                known.join(", ")
            ),
        ));
    }
    let attested_by = match e.attested_by.is_empty() {
        true => String::new(),
        false => text("attested_by", e.attested_by, TEXT_BYTES_MAX)?,
    };
    Ok(Fact::EvidenceRecorded {
        peer_id: identifier("peer_id", e.peer_id)?,
        evidence: Evidence {
            index: 0,
            requirement: e.requirement,
            recorded_on: date("recorded_on", &e.recorded_on)?,
            detail: text("detail", e.detail, TEXT_BYTES_MAX)?,
            attested_by,
        },
    })
}

fn expunge(e: pb::ExpungeCommand) -> Result<Fact> {
    use pb::expunge_command::Target;
    let target = match e.target {
        Some(Target::PeerId(peer_id)) => ExpungeTarget::Person(identifier("peer_id", peer_id)?),
        Some(Target::Index(index)) => ExpungeTarget::Record(index),
        None => return Err(invalid("target", "is required: a peer id or a log index")),
    };
    Ok(Fact::Expunge {
        target,
        reason: expungement_reason(e.reason)?,
    })
}

pub fn expungement_reason(value: i32) -> Result<ExpungementReason> {
    match pb::ExpungementReason::try_from(value) {
        Ok(pb::ExpungementReason::CourtOrder) => Ok(ExpungementReason::CourtOrder),
        Ok(pb::ExpungementReason::Statute) => Ok(ExpungementReason::Statute),
        Ok(pb::ExpungementReason::PersonRequest) => Ok(ExpungementReason::PersonRequest),
        Ok(pb::ExpungementReason::RetentionEnded) => Ok(ExpungementReason::RetentionEnded),
        Ok(pb::ExpungementReason::Unspecified) | Err(_) => Err(invalid(
            "reason",
            format!("must be court order, statute, person request or retention ended, got {value}"),
        )),
    }
}

pub fn void_reason(value: i32) -> Result<VoidReason> {
    match pb::VoidReason::try_from(value) {
        Ok(pb::VoidReason::EnteredInError) => Ok(VoidReason::EnteredInError),
        Ok(pb::VoidReason::Duplicate) => Ok(VoidReason::Duplicate),
        Ok(pb::VoidReason::WrongPerson) => Ok(VoidReason::WrongPerson),
        Ok(pb::VoidReason::Unspecified) | Err(_) => Err(invalid(
            "reason",
            format!("must be entered in error, duplicate or wrong person, got {value}"),
        )),
    }
}

impl From<ExpungementReason> for pb::ExpungementReason {
    fn from(reason: ExpungementReason) -> pb::ExpungementReason {
        match reason {
            ExpungementReason::CourtOrder => pb::ExpungementReason::CourtOrder,
            ExpungementReason::Statute => pb::ExpungementReason::Statute,
            ExpungementReason::PersonRequest => pb::ExpungementReason::PersonRequest,
            ExpungementReason::RetentionEnded => pb::ExpungementReason::RetentionEnded,
        }
    }
}

impl From<VoidReason> for pb::VoidReason {
    fn from(reason: VoidReason) -> pb::VoidReason {
        match reason {
            VoidReason::EnteredInError => pb::VoidReason::EnteredInError,
            VoidReason::Duplicate => pb::VoidReason::Duplicate,
            VoidReason::WrongPerson => pb::VoidReason::WrongPerson,
        }
    }
}

impl Fact {
    /// Parses and checks the form of one event body (a copy of it: see the
    /// [`TryFrom`] implementation, which takes the body).
    pub fn from_body(body: &pb::command::Body) -> Result<Fact> {
        Fact::try_from(body.clone())
    }

    /// The peer whose private record this fact is, if it is one.
    pub fn peer_record_of(&self) -> Option<&str> {
        match self {
            Fact::Enrolled { peer_id, .. }
            | Fact::NameChanged { peer_id, .. }
            | Fact::TrainingCompleted { peer_id, .. }
            | Fact::ExperienceRecorded { peer_id, .. }
            | Fact::ExamRecorded { peer_id, .. }
            | Fact::ContinuingEducationCompleted { peer_id, .. }
            | Fact::ConsentRecorded { peer_id, .. }
            | Fact::DisclosureRecorded { peer_id, .. }
            | Fact::WaiverRecorded { peer_id, .. } => Some(peer_id),
            Fact::EvidenceRecorded { peer_id, .. } | Fact::ImportProvenance { peer_id, .. } => Some(peer_id),
            _ => None,
        }
    }

    /// The peer or credential this fact is about, for indexing and messages.
    pub fn subject(&self) -> &str {
        if let Some(peer_id) = self.peer_record_of() {
            return peer_id;
        }
        match self {
            Fact::Enrolled { .. }
            | Fact::NameChanged { .. }
            | Fact::TrainingCompleted { .. }
            | Fact::ExperienceRecorded { .. }
            | Fact::ExamRecorded { .. }
            | Fact::ContinuingEducationCompleted { .. }
            | Fact::ConsentRecorded { .. }
            | Fact::DisclosureRecorded { .. }
            | Fact::WaiverRecorded { .. } => "",
            Fact::EvidenceRecorded { .. } | Fact::ImportProvenance { .. } => "",
            Fact::CredentialIssued(issue) => &issue.credential_number,
            Fact::CredentialRenewed { credential_number, .. }
            | Fact::DisciplinaryAction { credential_number, .. }
            | Fact::CredentialReinstated { credential_number, .. } => credential_number,
            Fact::SigningKeyRotated { new_verifier_key } => new_verifier_key,
            Fact::TransferEvaluated(evaluation) => &evaluation.origin_credential_number,
            Fact::Expunge {
                target: ExpungeTarget::Person(peer_id),
                ..
            } => peer_id,
            Fact::Sealed | Fact::Expunge { .. } | Fact::Expunged { .. } | Fact::Voided { .. } => "",
        }
    }
}

fn training(e: pb::TrainingCompleted) -> Result<Fact> {
    let total = minutes("minutes", e.minutes)?;
    let mut domains = Vec::with_capacity(e.domains.len());
    for d in e.domains {
        if !vocabulary::is_competency_domain(&d.domain) {
            return Err(invalid(
                "domains",
                format!("names unknown competency domain {}", quote(&d.domain)),
            ));
        }
        let minutes = minutes("domains.minutes", d.minutes)?;
        domains.push((d.domain, minutes));
    }
    let by_domain: u64 = domains.iter().map(|(_, m)| u64::from(*m)).sum();
    if by_domain > u64::from(total) {
        return Err(invalid(
            "domains",
            format!("add up to {by_domain} minutes, more than the course's {total}"),
        ));
    }
    Ok(Fact::TrainingCompleted {
        peer_id: identifier("peer_id", e.peer_id)?,
        training: Training {
            index: 0,
            course_id: identifier("course_id", e.course_id)?,
            course_title: text("course_title", e.course_title, TEXT_BYTES_MAX)?,
            provider: text("provider", e.provider, TEXT_BYTES_MAX)?,
            minutes: total,
            completed_on: date("completed_on", &e.completed_on)?,
            domains,
        },
    })
}

fn experience(e: pb::ExperienceRecorded) -> Result<Fact> {
    let period_start = date("period_start", &e.period_start)?;
    let period_end = date("period_end", &e.period_end)?;
    if period_end < period_start {
        return Err(invalid(
            "period_end",
            format!("({period_end}) is before period_start ({period_start})"),
        ));
    }
    Ok(Fact::ExperienceRecorded {
        peer_id: identifier("peer_id", e.peer_id)?,
        experience: Experience {
            index: 0,
            kind: experience_kind(e.kind)?,
            minutes: minutes("minutes", e.minutes)?,
            period_start,
            period_end,
        },
    })
}

fn exam(e: pb::ExamRecorded) -> Result<Fact> {
    let pass_mark_percent = percent("pass_mark_percent", e.pass_mark_percent)?;
    if pass_mark_percent == 0 {
        return Err(invalid("pass_mark_percent", "must be 1 to 100"));
    }
    Ok(Fact::ExamRecorded {
        peer_id: identifier("peer_id", e.peer_id)?,
        exam: Exam {
            index: 0,
            exam_id: identifier("exam_id", e.exam_id)?,
            score_percent: percent("score_percent", e.score_percent)?,
            pass_mark_percent,
            taken_on: date("taken_on", &e.taken_on)?,
        },
    })
}

fn transfer_outcome(value: i32) -> Result<TransferOutcome> {
    match pb::TransferOutcome::try_from(value) {
        Ok(pb::TransferOutcome::Approved) => Ok(TransferOutcome::Approved),
        Ok(pb::TransferOutcome::Conditional) => Ok(TransferOutcome::Conditional),
        Ok(pb::TransferOutcome::Denied) => Ok(TransferOutcome::Denied),
        Ok(pb::TransferOutcome::Unspecified) | Err(_) => Err(invalid(
            "outcome",
            format!("must be approved, conditional or denied, got {value}"),
        )),
    }
}

fn findings<T, U>(field: &str, items: Vec<T>, check: impl Fn(T) -> Result<U>) -> Result<Vec<U>> {
    if items.len() > FINDINGS_MAX {
        return Err(invalid(
            field,
            format!("lists {} items; at most {FINDINGS_MAX} are accepted", items.len()),
        ));
    }
    items.into_iter().map(check).collect()
}

fn gap(g: pb::RequirementGap) -> Result<Gap> {
    Ok(Gap {
        requirement: text("gaps.requirement", g.requirement, TEXT_BYTES_MAX)?,
        required: text("gaps.required", g.required, TEXT_BYTES_MAX)?,
        found: text("gaps.found", g.found, TEXT_BYTES_MAX)?,
        remedy: text("gaps.remedy", g.remedy, SUMMARY_BYTES_MAX)?,
    })
}

/// A transfer evaluation: its outcome must agree with its findings (denied ⇔
/// reasons given; conditional ⇔ gaps and no reasons; approved ⇔ neither), and
/// anything but a denial names the checkpoint its evidence was verified against.
fn evaluation(e: pb::TransferEvaluated) -> Result<Evaluation> {
    let outcome = transfer_outcome(e.outcome)?;
    let denials = findings("denials", e.denials, |d| text("denials", d, SUMMARY_BYTES_MAX))?;
    let gaps = findings("gaps", e.gaps, gap)?;
    let consistent = match outcome {
        TransferOutcome::Denied => !denials.is_empty(),
        TransferOutcome::Conditional => denials.is_empty() && !gaps.is_empty(),
        TransferOutcome::Approved => denials.is_empty() && gaps.is_empty(),
    };
    if !consistent {
        return Err(invalid(
            "outcome",
            format!(
                "{} does not agree with {} denials and {} gaps",
                outcome.as_str(),
                denials.len(),
                gaps.len()
            ),
        ));
    }
    if outcome != TransferOutcome::Denied && e.origin_checkpoint.is_empty() {
        return Err(invalid(
            "origin_checkpoint",
            "is required unless the transfer is denied",
        ));
    }
    if e.origin_checkpoint.len() > SUMMARY_BYTES_MAX {
        return Err(invalid("origin_checkpoint", "is too long for a checkpoint note"));
    }
    let local_peer_id = if e.local_peer_id.is_empty() {
        None
    } else {
        Some(identifier("local_peer_id", e.local_peer_id)?)
    };
    let holder_name = if e.holder_name.is_empty() {
        String::new()
    } else {
        text("holder_name", e.holder_name, TEXT_BYTES_MAX)?
    };
    Ok(Evaluation {
        index: 0,
        origin_state: super::states::parse_state(&e.origin_state)?,
        origin_credential_number: identifier("origin_credential_number", e.origin_credential_number)?,
        origin_checkpoint: e.origin_checkpoint,
        outcome,
        denials,
        gaps,
        evaluated_on: date("evaluated_on", &e.evaluated_on)?,
        local_peer_id,
        holder_name,
    })
}

/// A credential's issue. `holder_known` is false when reading a public entry
/// whose holder commitment this reader cannot open: the peer id is then empty.
pub fn issue(e: pb::CredentialIssued, holder_known: bool) -> Result<Issue> {
    let issued_on = date("issued_on", &e.issued_on)?;
    let expires_on = date("expires_on", &e.expires_on)?;
    if expires_on <= issued_on {
        return Err(invalid(
            "expires_on",
            format!("({expires_on}) must be after issued_on ({issued_on})"),
        ));
    }
    let reciprocity = match e.reciprocity {
        None => None,
        Some(basis) => Some(ReciprocityBasis {
            origin_state: super::states::parse_state(&basis.origin_state)?,
            origin_credential_number: identifier(
                "reciprocity.origin_credential_number",
                basis.origin_credential_number,
            )?,
            origin_checkpoint: if basis.origin_checkpoint.is_empty() {
                return Err(invalid(
                    "reciprocity.origin_checkpoint",
                    "is required: the origin checkpoint the evidence was verified against",
                ));
            } else {
                basis.origin_checkpoint
            },
        }),
    };
    let imported = e.imported.map(imported_basis).transpose()?;
    if reciprocity.is_some() && imported.is_some() {
        return Err(invalid(
            "imported",
            "cannot go with reciprocity: a credential is granted by reciprocity or imported, not both",
        ));
    }
    if let Some(basis) = imported.as_ref().filter(|b| b.imported_on < issued_on) {
        return Err(invalid(
            "imported.imported_on",
            format!("({}) is before issued_on ({issued_on})", basis.imported_on),
        ));
    }
    Ok(Issue {
        peer_id: if holder_known {
            identifier("peer_id", e.peer_id)?
        } else {
            String::new()
        },
        credential_number: identifier("credential_number", e.credential_number)?,
        credential_type: credential_type(e.credential_type)?,
        issued_on,
        expires_on,
        reciprocity,
        imported,
        holder_name: String::new(),
    })
}

/// Bounded text counted in characters (an import's names come from other
/// systems, in any script).
fn import_text(field: &str, value: String) -> Result<String> {
    let value = text(field, value, IMPORT_TEXT_CHARS_MAX * 4)?;
    let chars = value.chars().count();
    if chars > IMPORT_TEXT_CHARS_MAX {
        return Err(invalid(
            field,
            format!("is {chars} characters; at most {IMPORT_TEXT_CHARS_MAX} are accepted"),
        ));
    }
    Ok(value)
}

/// Optional [`import_text`]: empty stays empty.
fn optional_import_text(field: &str, value: String) -> Result<String> {
    if value.is_empty() {
        Ok(value)
    } else {
        import_text(field, value)
    }
}

fn imported_basis(basis: pb::ImportedBasis) -> Result<ImportedBasis> {
    Ok(ImportedBasis {
        source_system: import_text("imported.source_system", basis.source_system)?,
        source_record_id: optional_import_text("imported.source_record_id", basis.source_record_id)?,
        imported_on: date("imported.imported_on", &basis.imported_on)?,
    })
}

/// An import provenance record: at most [`PROVENANCE_ROWS_MAX`] rows, each
/// naming a bare file name (never a path: the board's directories are not
/// its record), a 1-based line, a known row kind and the event id used.
fn provenance(e: pb::ImportProvenance) -> Result<Fact> {
    if e.rows.is_empty() || e.rows.len() > PROVENANCE_ROWS_MAX {
        return Err(invalid(
            "rows",
            format!("lists {} rows; 1 to {PROVENANCE_ROWS_MAX} are accepted", e.rows.len()),
        ));
    }
    let rows = e.rows.into_iter().map(imported_row).collect::<Result<Vec<_>>>()?;
    Ok(Fact::ImportProvenance {
        peer_id: identifier("peer_id", e.peer_id)?,
        provenance: Provenance {
            index: 0,
            source_system: import_text("source_system", e.source_system)?,
            imported_on: date("imported_on", &e.imported_on)?,
            rows,
        },
    })
}

fn imported_row(row: pb::ImportedRow) -> Result<ImportedRow> {
    let file = text("rows.file", row.file, PROVENANCE_FILE_BYTES_MAX)?;
    let bare = !file.contains(['/', '\\', '\0']) && file != "." && file != "..";
    if !bare {
        return Err(invalid(
            "rows.file",
            format!("must be a bare file name (no directories), got {}", quote(&file)),
        ));
    }
    if row.line == 0 {
        return Err(invalid("rows.line", "is 1-based: 0 is not a line"));
    }
    if !IMPORTED_ROW_KINDS.contains(&row.kind.as_str()) {
        return Err(invalid(
            "rows.kind",
            format!("{} is not one of {}", quote(&row.kind), IMPORTED_ROW_KINDS.join(", ")),
        ));
    }
    let event_id = text("rows.event_id", row.event_id, crate::limits::EVENT_ID_BYTES_MAX)?;
    Ok(ImportedRow {
        file,
        line: row.line,
        kind: row.kind,
        source_record_id: optional_import_text("rows.source_record_id", row.source_record_id)?,
        event_id,
    })
}

fn continuing_education(e: pb::ContinuingEducationCompleted) -> Result<Fact> {
    if !vocabulary::is_ce_topic(&e.topic) {
        return Err(invalid(
            "topic",
            format!("{} is not a known continuing-education topic", quote(&e.topic)),
        ));
    }
    Ok(Fact::ContinuingEducationCompleted {
        peer_id: identifier("peer_id", e.peer_id)?,
        course: ContinuingEducation {
            index: 0,
            topic: e.topic,
            minutes: minutes("minutes", e.minutes)?,
            provider: text("provider", e.provider, TEXT_BYTES_MAX)?,
            completed_on: date("completed_on", &e.completed_on)?,
        },
    })
}

fn renewal(e: pb::CredentialRenewed) -> Result<Fact> {
    Ok(Fact::CredentialRenewed {
        credential_number: identifier("credential_number", e.credential_number)?,
        renewal: Renewal {
            index: 0,
            renewed_on: date("renewed_on", &e.renewed_on)?,
            new_expires_on: date("new_expires_on", &e.new_expires_on)?,
            imported: e.imported,
        },
    })
}

fn discipline(e: pb::DisciplinaryAction) -> Result<Fact> {
    let effective_on = date("effective_on", &e.effective_on)?;
    let ends_on = optional_date("ends_on", &e.ends_on)?;
    if ends_on.is_some_and(|end| end <= effective_on) {
        return Err(invalid(
            "ends_on",
            format!("must be after effective_on ({effective_on})"),
        ));
    }
    let kind = discipline_kind(e.kind)?;
    let permanent = matches!(kind, DisciplineKind::Revocation | DisciplineKind::VoluntarySurrender);
    if permanent && ends_on.is_some() {
        return Err(invalid(
            "ends_on",
            "must be empty: a revocation or voluntary surrender is permanent",
        ));
    }
    Ok(Fact::DisciplinaryAction {
        credential_number: identifier("credential_number", e.credential_number)?,
        discipline: Discipline {
            index: 0,
            kind,
            effective_on,
            ends_on,
            public_summary: text("public_summary", e.public_summary, SUMMARY_BYTES_MAX)?,
        },
    })
}

/// One unmet requirement.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Gap {
    pub requirement: String,
    pub required: String,
    pub found: String,
    pub remedy: String,
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} required, {} found — {}",
            self.requirement, self.required, self.found, self.remedy
        )
    }
}

impl From<&Gap> for crate::pb::RequirementGap {
    fn from(gap: &Gap) -> crate::pb::RequirementGap {
        crate::pb::RequirementGap {
            requirement: gap.requirement.clone(),
            required: gap.required.clone(),
            found: gap.found.clone(),
            remedy: gap.remedy.clone(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_is_short_whatever_the_input() {
        assert_eq!(quote("MS-0001"), "\"MS-0001\"");
        let huge = "é".repeat(1_000_000);
        let quoted = quote(&huge);
        assert!(quoted.starts_with(&format!("\"{}\"…", "é".repeat(QUOTE_CHARS_MAX))));
        assert!(quoted.ends_with("(2000000 bytes)"), "{quoted}");
        let escapes = "\u{0}".repeat(1000);
        assert!(quote(&escapes).len() < 40 * 6 + 40, "{}", quote(&escapes));
    }
}
