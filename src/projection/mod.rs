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
use crate::domain::records::{Credential, Peer, Records};
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

    /// Parses an event's body and applies it at `index`, as [`Registry::apply_logged`].
    pub fn apply_event(&mut self, index: u64, event: &pb::Event) -> Result<()> {
        self.apply_logged(index, logged_fact(event.body.clone()))
    }

    /// Applies what [`logged_fact`] made of entry `index`. An entry whose signed
    /// body the parser refuses changes nothing but is counted, and the error
    /// says why (an origin may sign what this node would not: it is the
    /// origin's record, not this node's to correct).
    pub fn apply_logged(&mut self, index: u64, fact: Result<Option<Fact>>) -> Result<()> {
        match fact {
            Ok(Some(fact)) => self.apply_owned(index, fact),
            Ok(None) => self.skip(index),
            Err(refused) => {
                self.skip(index);
                return Err(refused);
            }
        }
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

impl Records for Registry {
    fn peer(&self, peer_id: &str) -> Option<&Peer> {
        Registry::peer(self, peer_id)
    }

    fn credential(&self, number: &str) -> Option<&Credential> {
        Registry::credential(self, number)
    }

    fn evaluation(&self, origin_state: &str, number: &str) -> Option<&Evaluation> {
        Registry::evaluation(self, origin_state, number)
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

/// What an entry of a log records: the fact its body states, nothing for an
/// entry without a body, or why [`Fact`]'s parser refuses its body. Every path
/// that reads a signed body reads it here (a mirror's ingest through
/// [`Registry::apply_event`], every replay), so an entry changes a registry the
/// same way whichever path applied it.
pub fn logged_fact(body: Option<pb::event::Body>) -> Result<Option<Fact>> {
    body.map(Fact::try_from).transpose()
}

#[cfg(test)]
mod tests;
