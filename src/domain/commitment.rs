//! Commitments and record references (DESIGN.md §8): how a private record
//! appears in the public log without being readable or linkable there.
//!
//! - `tag = HMAC-SHA256(K_subject, "peerreg/v1/tag" ‖ u32 seq)`: the record's
//!   reference. Only a holder of the person's `K_subject` can compute the next
//!   tag, so only they can find a person's records (and prove none is missing:
//!   tag `n` absent at size N).
//! - `commitment = HMAC-SHA256(SHA-256("peerreg/v1/commitment"), opening ‖ tag
//!   ‖ u16 kind ‖ body)`: binds the record's kind and exact encoded body to its
//!   tag, hidden by a fresh 32-byte random `opening`. Without the opening the
//!   commitment says nothing, not even the kind (nobody counts exam attempts);
//!   destroying the opening erases the record while the log still verifies.
//!
//! Integers are big-endian, as in the other formats the log follows (C2SP).
//! Pure: the caller supplies randomness.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A 32-byte value: a tag, a commitment, an opening or a secret.
pub type Bytes32 = [u8; 32];

const TAG_LABEL: &[u8] = b"peerreg/v1/tag";
const COMMITMENT_LABEL: &[u8] = b"peerreg/v1/commitment";

/// What a private record is. Inside the commitment, so never visible in the
/// log; the numbers are part of the contract (a receiving state checks them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum RecordKind {
    /// `PeerEnrolled`: legal name, attestations.
    Enrolment = 1,
    NameChange = 2,
    Training = 3,
    Experience = 4,
    Exam = 5,
    ContinuingEducation = 6,
    /// `Holder`: who holds a credential (its `holder_commitment`).
    Holder = 7,
    /// `RecordSummary`: the staff-written summary of a disciplinary action.
    DisciplineSummary = 8,
    /// `RecordSummary`: the summary of a reinstatement.
    ReinstatementSummary = 9,
    /// `TransferEvaluated`: a transfer evaluation and its gaps.
    TransferEvaluation = 10,
    /// `ConsentRecorded`: consent to disclose to a named state until a date.
    Consent = 11,
    /// `DisclosureRecorded`: the record was disclosed to a state.
    Disclosure = 12,
    /// `WaiverRecorded`: a reviewer waived one gap of a transfer, with a reason.
    Waiver = 13,
    /// `RequirementEvidence`: evidence for one initial-certification requirement.
    RequirementEvidence = 14,
    /// `ImportProvenance`: which source file and line a person's imported records came from.
    ImportProvenance = 15,
}

impl RecordKind {
    pub const ALL: [RecordKind; 15] = [
        RecordKind::Enrolment,
        RecordKind::NameChange,
        RecordKind::Training,
        RecordKind::Experience,
        RecordKind::Exam,
        RecordKind::ContinuingEducation,
        RecordKind::Holder,
        RecordKind::DisciplineSummary,
        RecordKind::ReinstatementSummary,
        RecordKind::TransferEvaluation,
        RecordKind::Consent,
        RecordKind::Disclosure,
        RecordKind::Waiver,
        RecordKind::RequirementEvidence,
        RecordKind::ImportProvenance,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// The reference of a person's record number `seq`.
pub fn tag(k_subject: &Bytes32, seq: u32) -> Bytes32 {
    let mut mac = keyed(k_subject);
    mac.update(TAG_LABEL);
    mac.update(&seq.to_be_bytes());
    mac.finalize().into_bytes().into()
}

/// The commitment to a record of `kind` with encoded `body`, under `tag`.
pub fn commitment(opening: &Bytes32, tag: &Bytes32, kind: RecordKind, body: &[u8]) -> Bytes32 {
    let key: Bytes32 = Sha256::digest(COMMITMENT_LABEL).into();
    let mut mac = keyed(&key);
    mac.update(opening);
    mac.update(tag);
    mac.update(&kind.code().to_be_bytes());
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// A keyed hash for values the node must recognise but never publish (client
/// idempotency keys, person references): HMAC-SHA256(key, label ‖ 0x0a ‖ value).
pub fn keyed_hash(key: &Bytes32, label: &str, value: &[u8]) -> Bytes32 {
    let mut mac = keyed(key);
    mac.update(label.as_bytes());
    mac.update(b"\n");
    mac.update(value);
    mac.finalize().into_bytes().into()
}

fn keyed(key: &Bytes32) -> Hmac<Sha256> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; a 32-byte key cannot be refused.
        Err(_) => unreachable!("HMAC-SHA256 accepts 32-byte keys"),
    }
}

/// An opened record: what a commitment hides, enough to check it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    pub opening: Bytes32,
    pub tag: Bytes32,
    pub kind: RecordKind,
    /// The exact encoded private body (never re-encoded: the commitment is
    /// over these bytes).
    pub body: Vec<u8>,
}

impl Opening {
    /// The commitment this opening opens.
    pub fn commitment(&self) -> Bytes32 {
        commitment(&self.opening, &self.tag, self.kind, &self.body)
    }

    /// Whether this opening opens `committed` (constant time).
    pub fn opens(&self, committed: &Bytes32) -> bool {
        use subtle::ConstantTimeEq;
        self.commitment().ct_eq(committed).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_hex(text: &str) -> Bytes32 {
        let bytes = hex::decode(text).unwrap_or_default();
        bytes.try_into().unwrap_or([0; 32])
    }

    /// Computed independently with Python's `hmac` and `hashlib` from the
    /// construction in DESIGN.md §8.
    #[test]
    fn tags_and_commitments_match_an_independent_implementation() {
        let k_subject: Bytes32 = std::array::from_fn(|i| i as u8);
        let tag0 = tag(&k_subject, 0);
        assert_eq!(
            tag0,
            from_hex("f62352366d9b47e0cdc32721758b7ac0a1be7b7261668fe1a57c22eb57b966c0")
        );
        assert_eq!(
            tag(&k_subject, 7),
            from_hex("569c238b246c3ec9b04e255040ce1c22f6684e9a0b24e3dbcbe0a9a7b4b63cf1")
        );
        let body = b"\x0a\x0bMS-P-000123";
        assert_eq!(
            commitment(&[0xAB; 32], &tag0, RecordKind::Training, body),
            from_hex("2cbf56714f50b64986ddb79737a5c6e61bf9c0a9ec55a918971969322aa80841")
        );
    }

    #[test]
    fn a_changed_body_kind_tag_or_opening_no_longer_opens_the_commitment() {
        let opened = Opening {
            opening: [1; 32],
            tag: [2; 32],
            kind: RecordKind::Exam,
            body: b"score 71".to_vec(),
        };
        let committed = opened.commitment();
        assert!(opened.opens(&committed));
        let changes = [
            Opening {
                body: b"score 91".to_vec(),
                ..opened.clone()
            },
            Opening {
                kind: RecordKind::Training,
                ..opened.clone()
            },
            Opening {
                tag: [3; 32],
                ..opened.clone()
            },
            Opening {
                opening: [4; 32],
                ..opened.clone()
            },
        ];
        for changed in changes {
            assert!(!changed.opens(&committed), "{changed:?}");
        }
    }

    #[test]
    fn every_kind_code_reads_back() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(RecordKind::from_code(15), Some(RecordKind::ImportProvenance));
        assert_eq!(RecordKind::from_code(16), None);
        assert_eq!(RecordKind::from_code(0), None);
        assert_eq!(RecordKind::from_code(u16::MAX), None);
    }
}
