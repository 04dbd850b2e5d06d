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
    ContinuingEducation, CredentialType, Discipline, Evaluation, Exam, Experience, Fact, Issue, Reinstatement, Renewal,
    Training,
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
            self.size = self.size.max(index + 1);
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
        assert!(index >= self.size, "event {index} applied after event {}", self.size);
        self.size = index + 1;
        match fact {
            Fact::Enrolled {
                peer_id,
                legal_name,
                eligibility_attested,
                ethics_code_signed,
            } => {
                let peer = Peer {
                    peer_id: peer_id.clone(),
                    legal_name: legal_name.clone(),
                    eligibility_attested: *eligibility_attested,
                    ethics_code_signed: *ethics_code_signed,
                    trainings: Vec::new(),
                    experience: Vec::new(),
                    exams: Vec::new(),
                    continuing_education: Vec::new(),
                    credentials: Vec::new(),
                    events: vec![index],
                };
                self.peers.insert(peer_id.clone(), peer);
            }
            Fact::NameChanged {
                peer_id,
                new_legal_name,
            } => self.update_peer(peer_id, index, |p| p.legal_name = new_legal_name.clone()),
            Fact::TrainingCompleted { peer_id, training } => {
                let record = Training {
                    index,
                    ..training.clone()
                };
                self.update_peer(peer_id, index, |p| p.trainings.push(record))
            }
            Fact::ExperienceRecorded { peer_id, experience } => {
                let record = Experience {
                    index,
                    ..experience.clone()
                };
                self.update_peer(peer_id, index, |p| p.experience.push(record))
            }
            Fact::ExamRecorded { peer_id, exam } => {
                let record = Exam { index, ..exam.clone() };
                self.update_peer(peer_id, index, |p| p.exams.push(record))
            }
            Fact::ContinuingEducationCompleted { peer_id, course } => {
                let record = ContinuingEducation {
                    index,
                    ..course.clone()
                };
                self.update_peer(peer_id, index, |p| p.continuing_education.push(record))
            }
            Fact::CredentialIssued(issue) => self.issue(index, issue),
            Fact::CredentialRenewed {
                credential_number,
                renewal,
            } => {
                let record = Renewal {
                    index,
                    ..renewal.clone()
                };
                self.update_credential(credential_number, index, |c| c.renewals.push(record))
            }
            Fact::DisciplinaryAction {
                credential_number,
                discipline,
            } => {
                let record = Discipline {
                    index,
                    ..discipline.clone()
                };
                self.update_credential(credential_number, index, |c| c.discipline.push(record))
            }
            Fact::CredentialReinstated {
                credential_number,
                reinstatement,
            } => {
                let record = Reinstatement {
                    index,
                    ..reinstatement.clone()
                };
                self.update_credential(credential_number, index, |c| c.reinstatements.push(record))
            }
            Fact::SigningKeyRotated { .. } => {}
            Fact::TransferEvaluated(evaluation) => {
                let key = (
                    evaluation.origin_state.clone(),
                    evaluation.origin_credential_number.clone(),
                );
                let record = Evaluation {
                    index,
                    ..evaluation.clone()
                };
                self.evaluations.insert(key, record);
            }
        }
    }

    fn update_peer(&mut self, peer_id: &str, index: u64, change: impl FnOnce(&mut Peer)) {
        if let Some(peer) = self.peers.get_mut(peer_id) {
            change(peer);
            peer.events.push(index);
        }
    }

    fn update_credential(&mut self, number: &str, index: u64, change: impl FnOnce(&mut Credential)) {
        if let Some(credential) = self.credentials.get_mut(number) {
            change(credential);
            credential.events.push(index);
        }
    }

    fn issue(&mut self, index: u64, issue: &Issue) {
        // The holder is known in the board's own log (rules::check insists); a
        // credential proof carries the credential's events only.
        if let Some(peer) = self.peers.get_mut(&issue.peer_id) {
            peer.credentials.push(issue.credential_number.clone());
        }
        let credential = Credential {
            number: issue.credential_number.clone(),
            peer_id: issue.peer_id.clone(),
            credential_type: issue.credential_type,
            issued_on: issue.issued_on,
            initial_expires_on: issue.expires_on,
            reciprocity: issue.reciprocity.clone(),
            renewals: Vec::new(),
            discipline: Vec::new(),
            reinstatements: Vec::new(),
            events: vec![index],
        };
        self.credentials.insert(issue.credential_number.clone(), credential);
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

#[cfg(test)]
mod tests;
