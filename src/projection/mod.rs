//! The registry as a projection of the log: replaying events in order builds
//! it, and the same `apply` keeps it current as events are appended, so a
//! rebuild from scratch equals the incrementally maintained view. Pure: no IO.
//!
//! Maps are persistent (`imbl`): cloning the registry is O(1) and shares
//! structure, so the writer can publish a fresh read view after every group
//! commit and roll back cheaply if a commit fails.

pub mod snapshot;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use imbl::OrdMap;
use serde::{Deserialize, Serialize};

use crate::domain::fact::{
    ContinuingEducation, CredentialType, Discipline, Evaluation, Exam, Experience, ExperienceKind, Fact, Issue,
    Reinstatement, Renewal, Training,
};
use crate::domain::records::{Credential, Peer};
use crate::domain::status::Status;
use crate::error::Result;
use crate::pb;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// Events applied so far: the log index the next event will have.
    pub size: u64,
    pub peers: OrdMap<String, Peer>,
    pub credentials: OrdMap<String, Credential>,
    /// The latest transfer evaluation of each other state's credential, by
    /// (origin state, origin credential number).
    pub evaluations: OrdMap<(String, String), Evaluation>,
}

/// Counts of credentials by type and status on one date.
pub type Statistics = BTreeMap<(CredentialType, Status), u64>;

impl Registry {
    pub fn peer(&self, peer_id: &str) -> Option<&Peer> {
        self.peers.get(peer_id)
    }

    pub fn credential(&self, number: &str) -> Option<&Credential> {
        self.credentials.get(number)
    }

    /// The latest evaluation of another state's credential, if any.
    pub fn evaluation(&self, origin_state: &str, number: &str) -> Option<&Evaluation> {
        self.evaluations.get(&(origin_state.to_string(), number.to_string()))
    }

    /// Parses an event's body and applies it at `index`.
    pub fn apply_event(&mut self, index: u64, event: &pb::Event) -> Result<()> {
        let Some(body) = &event.body else {
            self.skip(index);
            return Ok(());
        };
        let fact = Fact::from_body(body)?;
        self.apply(index, &fact);
        Ok(())
    }

    /// Applies one fact recorded at `index`. Facts about unknown peers or
    /// credentials change nothing (`rules::check` refuses them before append),
    /// except an issue, which records the credential even when its holder is
    /// not in view (a credential proof holds no enrolment).
    pub fn apply(&mut self, index: u64, fact: &Fact) {
        self.apply_owned(index, fact.clone());
    }

    /// Counts an event at `index` that changes nothing (one without a body).
    pub fn skip(&mut self, index: u64) {
        self.size = self.size.max(index + 1);
    }

    /// [`Registry::apply`], taking the fact by value so its text moves into the
    /// records instead of being copied (a replay's way).
    pub fn apply_owned(&mut self, index: u64, fact: Fact) {
        assert!(index >= self.size, "event {index} applied after event {}", self.size);
        self.size = index + 1;
        apply_to(self, index, fact);
    }

    /// Workforce statistics: credentials by type and status on `date`.
    pub fn statistics(&self, date: NaiveDate) -> Statistics {
        let mut counts = Statistics::new();
        for credential in self.credentials.values() {
            *counts
                .entry((credential.credential_type, credential.status_on(date)))
                .or_default() += 1;
        }
        counts
    }
}

/// Where facts land (the registry's maps), as [`apply_to`] sees them.
trait Tables {
    fn peer_mut(&mut self, peer_id: &str) -> Option<&mut Peer>;
    fn insert_peer(&mut self, peer: Peer);
    fn credential_mut(&mut self, number: &str) -> Option<&mut Credential>;
    fn insert_credential(&mut self, credential: Credential);
    fn insert_evaluation(&mut self, key: (String, String), evaluation: Evaluation);
}

impl Tables for Registry {
    fn peer_mut(&mut self, peer_id: &str) -> Option<&mut Peer> {
        self.peers.get_mut(peer_id)
    }

    fn insert_peer(&mut self, peer: Peer) {
        self.peers.insert(peer.peer_id.clone(), peer);
    }

    fn credential_mut(&mut self, number: &str) -> Option<&mut Credential> {
        self.credentials.get_mut(number)
    }

    fn insert_credential(&mut self, credential: Credential) {
        self.credentials.insert(credential.number.clone(), credential);
    }

    fn insert_evaluation(&mut self, key: (String, String), evaluation: Evaluation) {
        self.evaluations.insert(key, evaluation);
    }
}

/// How `fact`, recorded at `index`, changes the tables (the size is the caller's).
fn apply_to<T: Tables>(tables: &mut T, index: u64, fact: Fact) {
    match fact {
        Fact::Enrolled {
            peer_id,
            legal_name,
            eligibility_attested,
            ethics_code_signed,
        } => tables.insert_peer(Peer {
            peer_id,
            legal_name,
            eligibility_attested,
            ethics_code_signed,
            trainings: Vec::new(),
            experience: Vec::new(),
            exams: Vec::new(),
            continuing_education: Vec::new(),
            credentials: Vec::new(),
            events: first_event(index, 8),
        }),
        Fact::NameChanged {
            peer_id,
            new_legal_name,
        } => update_peer(tables, &peer_id, index, |p| p.legal_name = new_legal_name),
        Fact::TrainingCompleted { peer_id, training } => {
            let record = Training { index, ..training };
            update_peer(tables, &peer_id, index, |p| p.trainings.push(record))
        }
        Fact::ExperienceRecorded { peer_id, experience } => {
            let record = Experience { index, ..experience };
            update_peer(tables, &peer_id, index, |p| p.experience.push(record))
        }
        Fact::ExamRecorded { peer_id, exam } => {
            let record = Exam { index, ..exam };
            update_peer(tables, &peer_id, index, |p| p.exams.push(record))
        }
        Fact::ContinuingEducationCompleted { peer_id, course } => {
            let record = ContinuingEducation { index, ..course };
            update_peer(tables, &peer_id, index, |p| p.continuing_education.push(record))
        }
        Fact::CredentialIssued(issue) => issue_to(tables, index, issue),
        Fact::CredentialRenewed {
            credential_number,
            renewal,
        } => {
            let record = Renewal { index, ..renewal };
            update_credential(tables, &credential_number, index, |c| c.renewals.push(record))
        }
        Fact::DisciplinaryAction {
            credential_number,
            discipline,
        } => {
            let record = Discipline { index, ..discipline };
            update_credential(tables, &credential_number, index, |c| c.discipline.push(record))
        }
        Fact::CredentialReinstated {
            credential_number,
            reinstatement,
        } => {
            let record = Reinstatement { index, ..reinstatement };
            update_credential(tables, &credential_number, index, |c| c.reinstatements.push(record))
        }
        Fact::SigningKeyRotated { .. } => {}
        Fact::TransferEvaluated(evaluation) => {
            let key = (
                evaluation.origin_state.clone(),
                evaluation.origin_credential_number.clone(),
            );
            tables.insert_evaluation(key, Evaluation { index, ..evaluation });
        }
    }
}

/// A record's list of events, room made for the few a record usually gets.
fn first_event(index: u64, room: usize) -> Vec<u64> {
    let mut events = Vec::with_capacity(room);
    events.push(index);
    events
}

fn update_peer<T: Tables>(tables: &mut T, peer_id: &str, index: u64, change: impl FnOnce(&mut Peer)) {
    if let Some(peer) = tables.peer_mut(peer_id) {
        change(peer);
        peer.events.push(index);
    }
}

fn update_credential<T: Tables>(tables: &mut T, number: &str, index: u64, change: impl FnOnce(&mut Credential)) {
    if let Some(credential) = tables.credential_mut(number) {
        change(credential);
        credential.events.push(index);
    }
}

fn issue_to<T: Tables>(tables: &mut T, index: u64, issue: Issue) {
    // The holder is known in the board's own log (rules::check insists); a
    // credential proof carries the credential's events only.
    if let Some(peer) = tables.peer_mut(&issue.peer_id) {
        peer.credentials.push(issue.credential_number.clone());
    }
    tables.insert_credential(Credential {
        number: issue.credential_number,
        peer_id: issue.peer_id,
        credential_type: issue.credential_type,
        issued_on: issue.issued_on,
        initial_expires_on: issue.expires_on,
        reciprocity: issue.reciprocity,
        renewals: Vec::new(),
        discipline: Vec::new(),
        reinstatements: Vec::new(),
        events: first_event(index, 4),
    });
}

/// The fact an entry of a log records, from its decoded body. For replaying a
/// log this node has verified: every body in it passed [`Fact::from_body`]
/// before it was signed, so this does not check the form of the text again,
/// and moves the strings instead of copying them. Anything out of the common
/// shape (a date not written `YYYY-MM-DD`, an unknown enum value, the rare
/// event kinds) goes through [`Fact::from_body`] itself, so for every body that
/// passes it the result is the same fact.
pub fn logged_fact(body: pb::event::Body) -> Result<Fact> {
    use pb::event::Body;
    match body {
        Body::PeerEnrolled(e) => Ok(Fact::Enrolled {
            peer_id: e.peer_id,
            legal_name: e.legal_name,
            eligibility_attested: e.eligibility_attested,
            ethics_code_signed: e.ethics_code_signed,
        }),
        Body::NameChanged(e) => Ok(Fact::NameChanged {
            peer_id: e.peer_id,
            new_legal_name: e.new_legal_name,
        }),
        Body::TrainingCompleted(e) => match logged_date(&e.completed_on) {
            Some(completed_on) => Ok(Fact::TrainingCompleted {
                peer_id: e.peer_id,
                training: Training {
                    index: 0,
                    course_id: e.course_id,
                    course_title: e.course_title,
                    provider: e.provider,
                    minutes: e.minutes,
                    completed_on,
                    domains: e.domains.into_iter().map(|d| (d.domain, d.minutes)).collect(),
                },
            }),
            None => Fact::from_body(&Body::TrainingCompleted(e)),
        },
        Body::ExperienceRecorded(e) => {
            let kind = match pb::ExperienceKind::try_from(e.kind) {
                Ok(pb::ExperienceKind::Paid) => Some(ExperienceKind::Paid),
                Ok(pb::ExperienceKind::Volunteer) => Some(ExperienceKind::Volunteer),
                Ok(pb::ExperienceKind::Supervised) => Some(ExperienceKind::Supervised),
                Ok(pb::ExperienceKind::Unspecified) | Err(_) => None,
            };
            match (kind, logged_date(&e.period_start), logged_date(&e.period_end)) {
                (Some(kind), Some(period_start), Some(period_end)) => Ok(Fact::ExperienceRecorded {
                    peer_id: e.peer_id,
                    experience: Experience {
                        index: 0,
                        kind,
                        minutes: e.minutes,
                        period_start,
                        period_end,
                    },
                }),
                _ => Fact::from_body(&Body::ExperienceRecorded(e)),
            }
        }
        Body::ExamRecorded(e) => match logged_date(&e.taken_on) {
            Some(taken_on) => Ok(Fact::ExamRecorded {
                peer_id: e.peer_id,
                exam: Exam {
                    index: 0,
                    exam_id: e.exam_id,
                    score_percent: e.score_percent,
                    pass_mark_percent: e.pass_mark_percent,
                    taken_on,
                },
            }),
            None => Fact::from_body(&Body::ExamRecorded(e)),
        },
        Body::CredentialIssued(e) => {
            let credential_type = match pb::CredentialType::try_from(e.credential_type) {
                Ok(pb::CredentialType::PeerSupportSpecialist) => Some(CredentialType::PeerSupportSpecialist),
                Ok(pb::CredentialType::PeerRecoverySpecialist) => Some(CredentialType::PeerRecoverySpecialist),
                Ok(pb::CredentialType::FamilyPeer) => Some(CredentialType::FamilyPeer),
                Ok(pb::CredentialType::YouthPeer) => Some(CredentialType::YouthPeer),
                Ok(pb::CredentialType::PeerSupervisor) => Some(CredentialType::PeerSupervisor),
                Ok(pb::CredentialType::Unspecified) | Err(_) => None,
            };
            let dates = (logged_date(&e.issued_on), logged_date(&e.expires_on));
            match (credential_type, dates, &e.reciprocity) {
                // A reciprocity basis names a state, which `from_body` normalises.
                (Some(credential_type), (Some(issued_on), Some(expires_on)), None) => {
                    Ok(Fact::CredentialIssued(Issue {
                        peer_id: e.peer_id,
                        credential_number: e.credential_number,
                        credential_type,
                        issued_on,
                        expires_on,
                        reciprocity: None,
                    }))
                }
                _ => Fact::from_body(&Body::CredentialIssued(e)),
            }
        }
        Body::ContinuingEducationCompleted(e) => match logged_date(&e.completed_on) {
            Some(completed_on) => Ok(Fact::ContinuingEducationCompleted {
                peer_id: e.peer_id,
                course: ContinuingEducation {
                    index: 0,
                    topic: e.topic,
                    minutes: e.minutes,
                    provider: e.provider,
                    completed_on,
                },
            }),
            None => Fact::from_body(&Body::ContinuingEducationCompleted(e)),
        },
        Body::CredentialRenewed(e) => match (logged_date(&e.renewed_on), logged_date(&e.new_expires_on)) {
            (Some(renewed_on), Some(new_expires_on)) => Ok(Fact::CredentialRenewed {
                credential_number: e.credential_number,
                renewal: Renewal {
                    index: 0,
                    renewed_on,
                    new_expires_on,
                },
            }),
            _ => Fact::from_body(&Body::CredentialRenewed(e)),
        },
        other => Fact::from_body(&other),
    }
}

/// A date written exactly `YYYY-MM-DD`, as [`crate::domain::fact::date`] reads
/// it (that form is the only one it accepts for years 0 to 9999), without its
/// parser and its round trip through a formatted string.
fn logged_date(text: &str) -> Option<NaiveDate> {
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

#[cfg(test)]
mod tests;
