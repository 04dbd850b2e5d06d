//! Event bodies a board records, built tersely (the demo and tests use them).

use crate::pb;
use pb::command::Body;

pub fn enrol(peer: &str, name: &str) -> Body {
    Body::PeerEnrolled(pb::PeerEnrolled {
        peer_id: peer.into(),
        legal_name: name.into(),
        eligibility_attested: true,
        ethics_code_signed: true,
    })
}

/// A course of `hours`, spread over `domains` (hours each).
pub fn training(peer: &str, course: &str, hours: u32, on: &str, domains: &[(&str, u32)]) -> Body {
    Body::TrainingCompleted(pb::TrainingCompleted {
        peer_id: peer.into(),
        course_id: course.into(),
        course_title: format!("Course {course}"),
        provider: "State peer academy".into(),
        minutes: hours * 60,
        completed_on: on.into(),
        domains: domains
            .iter()
            .map(|(d, h)| pb::DomainMinutes {
                domain: (*d).into(),
                minutes: h * 60,
            })
            .collect(),
    })
}

pub fn experience(peer: &str, kind: pb::ExperienceKind, hours: u32, from: &str, to: &str) -> Body {
    Body::ExperienceRecorded(pb::ExperienceRecorded {
        peer_id: peer.into(),
        kind: kind as i32,
        minutes: hours * 60,
        period_start: from.into(),
        period_end: to.into(),
    })
}

pub fn exam(peer: &str, score: u32, on: &str) -> Body {
    Body::ExamRecorded(pb::ExamRecorded {
        peer_id: peer.into(),
        exam_id: "MS-CPSS-EXAM".into(),
        score_percent: score,
        pass_mark_percent: 75,
        taken_on: on.into(),
    })
}

pub fn issue(peer: &str, number: &str, on: &str, expires: &str) -> Body {
    Body::CredentialIssued(pb::CredentialIssued {
        imported: None,
        peer_id: peer.into(),
        credential_number: number.into(),
        credential_type: pb::CredentialType::PeerSupportSpecialist as i32,
        issued_on: on.into(),
        expires_on: expires.into(),
        reciprocity: None,
    })
}

pub fn ce(peer: &str, topic: &str, hours: u32, on: &str) -> Body {
    Body::ContinuingEducationCompleted(pb::ContinuingEducationCompleted {
        peer_id: peer.into(),
        topic: topic.into(),
        minutes: hours * 60,
        provider: "CE provider".into(),
        completed_on: on.into(),
    })
}

pub fn renew(number: &str, on: &str, expires: &str) -> Body {
    Body::CredentialRenewed(pb::CredentialRenewed {
        imported: false,
        credential_number: number.into(),
        renewed_on: on.into(),
        new_expires_on: expires.into(),
    })
}

pub fn discipline(number: &str, kind: pb::DisciplineKind, on: &str, ends: &str) -> Body {
    Body::DisciplinaryAction(pb::DisciplinaryAction {
        credential_number: number.into(),
        kind: kind as i32,
        effective_on: on.into(),
        ends_on: ends.into(),
        public_summary: format!("{kind:?} ordered by the board"),
    })
}

pub fn reinstate(number: &str, on: &str) -> Body {
    Body::CredentialReinstated(pb::CredentialReinstated {
        credential_number: number.into(),
        effective_on: on.into(),
        public_summary: "Reinstated by the board".into(),
    })
}

/// Evidence for one initial requirement (`vocabulary::EVIDENCE_REQUIREMENTS`).
pub fn evidence(peer: &str, requirement: &str, on: &str, detail: &str) -> Body {
    Body::RequirementEvidence(pb::RequirementEvidence {
        peer_id: peer.into(),
        requirement: requirement.into(),
        recorded_on: on.into(),
        detail: detail.into(),
        attested_by: String::new(),
    })
}

/// The toolkit's evidence with every item dated `on` (before the classroom
/// training, which the pre-training must precede) and the application dated
/// `applied_on` (after the experience it counts, on or before the issue).
pub fn toolkit_evidence_on(peer: &str, on: &str, applied_on: &str) -> Vec<Body> {
    let mut bodies: Vec<Body> = toolkit_evidence(peer)
        .into_iter()
        .filter(|body| !matches!(body, Body::RequirementEvidence(e) if e.requirement == "application"))
        .collect();
    for body in bodies.iter_mut() {
        if let Body::RequirementEvidence(e) = body {
            e.recorded_on = on.into();
        }
    }
    bodies.push(evidence(
        peer,
        "application",
        applied_on,
        "certification application received",
    ));
    bodies
}

/// The evidence Mississippi's toolkit asks for, all dated January 2024: before
/// the classroom training (the pre-training must be), and an application on
/// 31 January that the experience below precedes.
pub fn toolkit_evidence(peer: &str) -> Vec<Body> {
    vec![
        evidence(peer, "education", "2024-01-10", "high school diploma seen"),
        evidence(peer, "reading_writing", "2024-01-10", "writing sample reviewed"),
        evidence(peer, "residency", "2024-01-10", "Mississippi address verified"),
        evidence(peer, "reference", "2024-01-20", "reference form 1 of 2"),
        evidence(peer, "reference", "2024-01-22", "reference form 2 of 2"),
        evidence(peer, "pre_training", "2024-01-25", "online pre-training completed"),
        evidence(peer, "employment", "2024-01-29", "employed by a DMH-certified provider"),
        evidence(peer, "application", "2024-01-31", "certification application received"),
    ]
}

/// Everything Mississippi's example profile asks before an initial credential
/// (32 training hours, a passed exam, 250 experience hours gained before
/// applying, and the toolkit's evidence), completed by 15 February 2024.
pub fn qualification(peer: &str) -> Vec<Body> {
    let mut bodies = toolkit_evidence(peer);
    bodies.extend([
        training(
            peer,
            "MS-CORE",
            32,
            "2024-02-01",
            &[
                ("ethical_responsibility", 8),
                ("shares_lived_experience", 6),
                ("engages_peers", 4),
                ("supports_recovery_planning", 4),
                ("helps_manage_crises", 4),
                ("links_to_resources", 2),
            ],
        ),
        exam(peer, 82, "2024-02-15"),
        experience(peer, pb::ExperienceKind::Volunteer, 260, "2023-01-01", "2024-01-31"),
    ]);
    bodies
}
