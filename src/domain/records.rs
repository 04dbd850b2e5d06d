//! What the registry knows about a peer and a credential: the replayed record.
//! Nothing here is stored as truth; it is rebuilt from the log.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::fact::{
    Consent, ContinuingEducation, CredentialType, Discipline, Disclosure, Evaluation, Evidence, Exam, Experience,
    ImportedBasis, Provenance, ReciprocityBasis, Reinstatement, Renewal, Training, VoidReason, WaiverRecord,
};

/// The records a registry holds, as `rules` reads them. Implemented by
/// `projection::Registry`; a trait so that `domain` needs nothing above it.
pub trait Records {
    fn peer(&self, peer_id: &str) -> Option<&Peer>;
    fn credential(&self, number: &str) -> Option<&Credential>;
    /// The latest evaluation of another state's credential, if any.
    fn evaluation(&self, origin_state: &str, number: &str) -> Option<&Evaluation>;
    /// What the entry at `index` is a record of, while it still counts.
    fn record_at(&self, index: u64) -> Option<RecordAt>;
}

/// What a log entry is a record of (for voiding and expunging it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordAt {
    /// The enrolment of a peer.
    Enrolment(String),
    /// Another private record of a peer.
    PeerRecord(String),
    /// The issue of a credential (removing it removes the credential).
    Issue(String),
    /// A later event of a credential.
    CredentialEvent(String),
    /// A transfer evaluation.
    Evaluation,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    pub peer_id: String,
    pub legal_name: String,
    pub eligibility_attested: bool,
    pub ethics_code_signed: bool,
    pub trainings: Vec<Training>,
    pub experience: Vec<Experience>,
    pub exams: Vec<Exam>,
    pub continuing_education: Vec<ContinuingEducation>,
    /// Numbers of the credentials this peer holds or held.
    pub credentials: Vec<String>,
    /// Log indices of every event about this peer (not their credentials').
    pub events: Vec<u64>,
    /// What §8 added to a peer's record: kept apart so that the snapshot
    /// encodes it as one serde value.
    pub extras: PeerExtras,
}

/// Names, consents, disclosures and voided entries of a peer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerExtras {
    /// Every legal name with the entry that set it, the enrolment's first;
    /// `Peer::legal_name` is the last (kept for voiding a name change).
    pub names: Vec<(u64, String)>,
    pub consents: Vec<Consent>,
    pub disclosures: Vec<Disclosure>,
    /// Entries voided as entered in error: (entry, reason, the voiding entry).
    pub voided: Vec<(u64, VoidReason, u64)>,
    /// Single records expunged from the record: (entry, the notice).
    pub expunged: Vec<(u64, u64)>,
    /// Gaps of transfers this board waived for the peer.
    pub waivers: Vec<WaiverRecord>,
    /// Evidence for the initial requirements a profile names (education,
    /// references, residency...).
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Where this person's imported records came from (file, line, kind).
    #[serde(default)]
    pub provenance: Vec<Provenance>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub number: String,
    pub peer_id: String,
    pub credential_type: CredentialType,
    pub issued_on: NaiveDate,
    /// The expiry set at issue; renewals extend it (see `expires_on_as_of`).
    pub initial_expires_on: NaiveDate,
    pub reciprocity: Option<ReciprocityBasis>,
    /// Set when the credential was imported from the board's earlier system.
    pub imported: Option<ImportedBasis>,
    pub renewals: Vec<Renewal>,
    pub discipline: Vec<Discipline>,
    pub reinstatements: Vec<Reinstatement>,
    /// Log indices of every event about this credential, its issue first.
    pub events: Vec<u64>,
}

impl Peer {
    /// The consent in force for `state` on `date`, if any.
    pub fn consent_for(&self, state: &str, date: NaiveDate) -> Option<&Consent> {
        self.extras
            .consents
            .iter()
            .rev()
            .find(|c| c.receiving_state == state && c.until >= date)
    }

    /// Minutes of training completed on or before `date`, in total.
    pub fn training_minutes(&self, date: NaiveDate) -> u64 {
        self.trainings
            .iter()
            .filter(|t| t.completed_on <= date)
            .map(|t| u64::from(t.minutes))
            .sum()
    }

    /// Minutes of training in `domain` completed on or before `date`.
    pub fn domain_minutes(&self, domain: &str, date: NaiveDate) -> u64 {
        let trainings = self.trainings.iter().filter(|t| t.completed_on <= date);
        trainings
            .flat_map(|t| &t.domains)
            .filter(|(d, _)| d == domain)
            .map(|(_, m)| u64::from(*m))
            .sum()
    }

    /// The best exam result taken on or before `date`, as (score, its pass mark).
    pub fn best_exam(&self, date: NaiveDate) -> Option<&Exam> {
        self.exams
            .iter()
            .filter(|e| e.taken_on <= date)
            .max_by_key(|e| e.score_percent)
    }

    /// Minutes of CE on `topic` (or all topics) completed in `(after, until]`.
    pub fn ce_minutes(&self, topic: Option<&str>, after: NaiveDate, until: NaiveDate) -> u64 {
        let in_window = self
            .continuing_education
            .iter()
            .filter(|c| c.completed_on > after && c.completed_on <= until);
        in_window
            .filter(|c| topic.is_none_or(|t| c.topic == t))
            .map(|c| u64::from(c.minutes))
            .sum()
    }
}
