//! Domain records to protobuf messages (the outward direction; inbound bodies
//! are parsed by `domain::fact`).

use chrono::NaiveDate;

use crate::domain::fact::{
    ContinuingEducation, CredentialType, DisciplineKind, Exam, Experience, ExperienceKind, Training,
};
use crate::domain::profile::RequirementProfile;
use crate::domain::records::{Credential, Peer};
use crate::domain::status::{DatedDiscipline, Status};
use crate::pb;

pub fn date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn status(status: Status) -> pb::CredentialStatus {
    match status {
        Status::NotYetValid => pb::CredentialStatus::NotYetValid,
        Status::Active => pb::CredentialStatus::Active,
        Status::Probation => pb::CredentialStatus::Probation,
        Status::Restricted => pb::CredentialStatus::Restricted,
        Status::Expired => pb::CredentialStatus::Expired,
        Status::Suspended => pb::CredentialStatus::Suspended,
        Status::Surrendered => pb::CredentialStatus::Surrendered,
        Status::Revoked => pb::CredentialStatus::Revoked,
    }
}

pub fn credential_type(kind: CredentialType) -> pb::CredentialType {
    match kind {
        CredentialType::PeerSupportSpecialist => pb::CredentialType::PeerSupportSpecialist,
        CredentialType::PeerRecoverySpecialist => pb::CredentialType::PeerRecoverySpecialist,
        CredentialType::FamilyPeer => pb::CredentialType::FamilyPeer,
        CredentialType::YouthPeer => pb::CredentialType::YouthPeer,
        CredentialType::PeerSupervisor => pb::CredentialType::PeerSupervisor,
    }
}

pub(super) fn discipline_kind(kind: DisciplineKind) -> pb::DisciplineKind {
    match kind {
        DisciplineKind::Reprimand => pb::DisciplineKind::Reprimand,
        DisciplineKind::Probation => pb::DisciplineKind::Probation,
        DisciplineKind::Restriction => pb::DisciplineKind::Restriction,
        DisciplineKind::Suspension => pb::DisciplineKind::Suspension,
        DisciplineKind::Revocation => pb::DisciplineKind::Revocation,
        DisciplineKind::VoluntarySurrender => pb::DisciplineKind::VoluntarySurrender,
    }
}

fn experience_kind(kind: ExperienceKind) -> pb::ExperienceKind {
    match kind {
        ExperienceKind::Paid => pb::ExperienceKind::Paid,
        ExperienceKind::Volunteer => pb::ExperienceKind::Volunteer,
        ExperienceKind::Supervised => pb::ExperienceKind::Supervised,
    }
}

/// The public discipline record of a credential as it stood on `as_of`
/// (`Credential::discipline_on`: nothing later, each action with its end).
pub fn public_discipline(credential: &Credential, as_of: NaiveDate) -> Vec<pb::PublicDiscipline> {
    credential.discipline_on(as_of).iter().map(discipline).collect()
}

fn discipline(dated: &DatedDiscipline) -> pb::PublicDiscipline {
    let d = &dated.discipline;
    pb::PublicDiscipline {
        kind: discipline_kind(d.kind) as i32,
        effective_on: date(d.effective_on),
        ends_on: d.ends_on.map(date).unwrap_or_default(),
        public_summary: d.public_summary.clone(),
        ended_on: dated.ended.map(|end| date(end.on())).unwrap_or_default(),
        ended_by_reinstatement: dated.ended.is_some_and(|end| end.by_reinstatement()),
    }
}

fn training(peer_id: &str, t: &Training) -> pb::TrainingCompleted {
    pb::TrainingCompleted {
        peer_id: peer_id.to_string(),
        course_id: t.course_id.clone(),
        course_title: t.course_title.clone(),
        provider: t.provider.clone(),
        minutes: t.minutes,
        completed_on: date(t.completed_on),
        domains: t
            .domains
            .iter()
            .map(|(d, m)| pb::DomainMinutes {
                domain: d.clone(),
                minutes: *m,
            })
            .collect(),
    }
}

fn experience(peer_id: &str, e: &Experience) -> pb::ExperienceRecorded {
    pb::ExperienceRecorded {
        peer_id: peer_id.to_string(),
        kind: experience_kind(e.kind) as i32,
        minutes: e.minutes,
        period_start: date(e.period_start),
        period_end: date(e.period_end),
    }
}

fn exam(peer_id: &str, e: &Exam) -> pb::ExamRecorded {
    pb::ExamRecorded {
        peer_id: peer_id.to_string(),
        exam_id: e.exam_id.clone(),
        score_percent: e.score_percent,
        pass_mark_percent: e.pass_mark_percent,
        taken_on: date(e.taken_on),
    }
}

fn continuing_education(peer_id: &str, c: &ContinuingEducation) -> pb::ContinuingEducationCompleted {
    pb::ContinuingEducationCompleted {
        peer_id: peer_id.to_string(),
        topic: c.topic.clone(),
        minutes: c.minutes,
        provider: c.provider.clone(),
        completed_on: date(c.completed_on),
    }
}

fn credential_summary(credential: &Credential, today: NaiveDate) -> pb::CredentialSummary {
    pb::CredentialSummary {
        credential_number: credential.number.clone(),
        credential_type: credential_type(credential.credential_type) as i32,
        status_today: status(credential.status_on(today)) as i32,
        issued_on: date(credential.issued_on),
        expires_on: date(credential.expires_on_as_of(today)),
        discipline: public_discipline(credential, today),
        event_indices: credential.events.clone(),
        imported: credential.imported.as_ref().map(imported_basis),
    }
}

/// An imported basis on the wire (public: it is in the CredentialGranted event).
pub fn imported_basis(basis: &crate::domain::fact::ImportedBasis) -> pb::ImportedBasis {
    pb::ImportedBasis {
        source_system: basis.source_system.clone(),
        source_record_id: basis.source_record_id.clone(),
        imported_on: date(basis.imported_on),
    }
}

/// A person's import provenance for their board record (never the log's).
fn provenance(peer_id: &str, p: &crate::domain::fact::Provenance) -> pb::ImportProvenance {
    pb::ImportProvenance {
        peer_id: peer_id.to_string(),
        source_system: p.source_system.clone(),
        imported_on: date(p.imported_on),
        rows: p
            .rows
            .iter()
            .map(|row| pb::ImportedRow {
                file: row.file.clone(),
                line: row.line,
                kind: row.kind.clone(),
                source_record_id: row.source_record_id.clone(),
                event_id: row.event_id.clone(),
            })
            .collect(),
    }
}

/// A board's full view of a peer.
pub fn peer_record(peer: &Peer, credentials: &[&Credential], today: NaiveDate) -> pb::PeerRecord {
    let id = peer.peer_id.as_str();
    pb::PeerRecord {
        peer_id: peer.peer_id.clone(),
        legal_name: peer.legal_name.clone(),
        eligibility_attested: peer.eligibility_attested,
        ethics_code_signed: peer.ethics_code_signed,
        trainings: peer.trainings.iter().map(|t| training(id, t)).collect(),
        experience: peer.experience.iter().map(|e| experience(id, e)).collect(),
        exams: peer.exams.iter().map(|e| exam(id, e)).collect(),
        continuing_education: peer
            .continuing_education
            .iter()
            .map(|c| continuing_education(id, c))
            .collect(),
        credentials: credentials.iter().map(|c| credential_summary(c, today)).collect(),
        event_indices: peer.events.clone(),
        consents: peer
            .extras
            .consents
            .iter()
            .map(|c| pb::Consent {
                index: c.index,
                receiving_state: c.receiving_state.clone(),
                until: date(c.until),
            })
            .collect(),
        disclosures: peer
            .extras
            .disclosures
            .iter()
            .map(|d| pb::Disclosure {
                index: d.index,
                receiving_state: d.receiving_state.clone(),
                credential_number: d.credential_number.clone(),
                disclosed_on: date(d.disclosed_on),
                checkpoint_size: d.checkpoint_size,
            })
            .collect(),
        voided: peer
            .extras
            .voided
            .iter()
            .map(|&(index, reason, voided_by)| pb::VoidedRecord {
                index,
                reason: pb::VoidReason::from(reason).into(),
                voided_by,
            })
            .collect(),
        waivers: peer.extras.waivers.iter().map(|w| waiver(id, w)).collect(),
        evidence: peer.extras.evidence.iter().map(|e| evidence(id, e)).collect(),
        imports: peer.extras.provenance.iter().map(|p| provenance(id, p)).collect(),
    }
}

fn waiver(peer_id: &str, w: &crate::domain::fact::WaiverRecord) -> pb::WaiverRecorded {
    pb::WaiverRecorded {
        peer_id: peer_id.to_string(),
        origin_state: w.origin_state.clone(),
        origin_credential_number: w.origin_credential_number.clone(),
        requirement_id: w.requirement_id.clone(),
        reason: w.reason.clone(),
        waived_by: w.waived_by.clone(),
        recorded_on: date(w.recorded_on),
    }
}

fn evidence(peer_id: &str, e: &crate::domain::fact::Evidence) -> pb::RequirementEvidence {
    pb::RequirementEvidence {
        peer_id: peer_id.to_string(),
        requirement: e.requirement.clone(),
        recorded_on: date(e.recorded_on),
        detail: e.detail.clone(),
        attested_by: e.attested_by.clone(),
    }
}

/// A published checkpoint on the wire.
pub fn checkpoint(published: &crate::ledger::Published) -> pb::Checkpoint {
    pb::Checkpoint {
        note: published.note.to_vec(),
        size: published.checkpoint.size,
        root_hash: published.checkpoint.root.to_vec(),
    }
}

/// Whole hours, as profiles write them (a fractional value is rounded).
fn whole_hours(hours: f64) -> u32 {
    hours.round().clamp(0.0, f64::from(u32::MAX)) as u32
}

fn hours_for(map: &std::collections::BTreeMap<String, f64>) -> Vec<pb::HoursFor> {
    let pairs = map.iter();
    pairs
        .map(|(key, hours)| pb::HoursFor {
            key: key.clone(),
            hours: whole_hours(*hours),
        })
        .collect()
}

/// A requirement profile on the wire: structured, with its TOML text.
pub fn profile(profile: &RequirementProfile, toml: String) -> pb::Profile {
    let (initial, renewal, reciprocity) = (&profile.initial, &profile.renewal, &profile.reciprocity);
    pb::Profile {
        state: profile.state.clone(),
        toml,
        name: profile.name.clone(),
        example: profile.example,
        initial: Some(pb::ProfileInitial {
            training_hours_total: whole_hours(initial.training_hours_total),
            training_hours_by_domain: hours_for(&initial.training_hours_by_domain),
            exam_required: initial.exam_required,
            exam_pass_mark_percent: initial.exam_pass_mark_percent,
            experience_hours: whole_hours(initial.experience_hours),
            supervised_hours: whole_hours(initial.supervised_hours),
            experience_lookback_years: initial.experience_lookback_years,
            eligibility_attestation_required: initial.eligibility_attestation_required,
            ethics_code_required: initial.ethics_code_required,
            credential_valid_years: initial.credential_valid_years,
        }),
        renewal: Some(pb::ProfileRenewal {
            period_years: renewal.period_years,
            ce_hours: whole_hours(renewal.ce_hours),
            ce_hours_by_topic: hours_for(&renewal.ce_hours_by_topic),
        }),
        reciprocity: Some(pb::ProfileReciprocity {
            partners: reciprocity.partners.clone(),
            discipline_lookback_years: reciprocity.discipline_lookback_years,
            accept_origin_exam: reciprocity.accept_origin_exam,
            extra: reciprocity
                .extra
                .iter()
                .map(|e| pb::ProfileExtraRequirement {
                    id: e.id.clone(),
                    description: e.description.clone(),
                    course_id: e.course_id.clone(),
                })
                .collect(),
            policy: reciprocity.policy.as_str().to_string(),
            policies: reciprocity
                .policies
                .iter()
                .map(|(state, policy)| pb::PartnerPolicy {
                    state: state.clone(),
                    policy: policy.as_str().to_string(),
                })
                .collect(),
            hours_tolerance_percent: reciprocity.hours_tolerance_percent,
            evaluation_valid_days: reciprocity.evaluation_valid_days,
        }),
    }
}
