//! The registry as a projection of the log: replaying events in order builds
//! it, and the same `apply` keeps it current as events are appended, so a
//! rebuild from scratch equals the incrementally maintained view. Pure: no IO.
//!
//! Maps are persistent (`imbl`): cloning the registry is O(1) and shares
//! structure, so the writer can publish a fresh read view after every group
//! commit and roll back cheaply if a commit fails.

pub mod monthly;
pub mod names;
pub mod overlay;
pub mod snapshot;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use imbl::OrdMap;
use serde::{Deserialize, Serialize};

use crate::domain::fact::{
    Consent, ContinuingEducation, CredentialType, Discipline, Disclosure, Evaluation, Evidence, Exam, Experience, Fact,
    Issue, Provenance, Reinstatement, Renewal, Training, VoidReason, WaiverRecord,
};
use crate::domain::records::{Credential, Peer, PeerExtras, RecordAt, Records};
use crate::domain::sealed::{self, Openings};
use crate::domain::status::Status;
use crate::error::Result;
use crate::pb;
use names::NameIndex;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// Events applied so far: the log index the next event will have.
    pub size: u64,
    pub peers: OrdMap<String, Peer>,
    pub credentials: OrdMap<String, Credential>,
    /// The latest transfer evaluation of each other state's credential, by
    /// (origin state, origin credential number).
    pub evaluations: OrdMap<(String, String), Evaluation>,
    /// The words of every peer's legal name, for the board's name search.
    #[serde(default)]
    pub names: NameIndex,
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
    pub fn apply_event(&mut self, index: u64, event: &pb::Event, openings: &dyn Openings) -> Result<()> {
        self.apply_logged(index, logged_fact(event.body.clone(), openings))
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
        match fact {
            Fact::Expunged { indices, .. } => {
                for expunged in indices.into_iter().filter(|&i| i < index) {
                    let holder = self.disregard(expunged);
                    if let Some(peer) = holder.and_then(|id| self.peers.get_mut(&id)) {
                        peer.extras.expunged.push((expunged, index));
                    }
                }
            }
            Fact::Voided { index: voided, reason } if voided < index => self.void(voided, reason, index),
            fact => apply_to(self, index, fact),
        }
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

    /// Found by scanning: voiding and expunging are rare, and an index of
    /// every entry's owner would cost memory on every node for them.
    fn record_at(&self, index: u64) -> Option<RecordAt> {
        if let Some(peer) = self.peers.values().find(|p| p.events.contains(&index)) {
            return Some(if peer.events.first() == Some(&index) {
                RecordAt::Enrolment(peer.peer_id.clone())
            } else {
                RecordAt::PeerRecord(peer.peer_id.clone())
            });
        }
        if let Some(credential) = self.credentials.values().find(|c| c.events.contains(&index)) {
            return Some(if credential.events.first() == Some(&index) {
                RecordAt::Issue(credential.number.clone())
            } else {
                RecordAt::CredentialEvent(credential.number.clone())
            });
        }
        self.evaluations
            .values()
            .any(|e| e.index == index)
            .then_some(RecordAt::Evaluation)
    }
}

impl Registry {
    /// Makes the entry at `index` count nowhere (voided or expunged). Returns
    /// the peer whose record held it, if any (the holder, for a credential's).
    fn disregard(&mut self, index: u64) -> Option<String> {
        match self.record_at(index)? {
            RecordAt::Enrolment(peer_id) => {
                if let Some(peer) = self.peers.remove(&peer_id) {
                    self.names.remove(&peer_id, &peer.legal_name);
                }
                None
            }
            RecordAt::PeerRecord(peer_id) => {
                let peer = self.peers.get_mut(&peer_id)?;
                let old_name = peer.legal_name.clone();
                forget_peer_record(peer, index);
                let new_name = peer.legal_name.clone();
                self.names.remove(&peer_id, &old_name);
                self.names.insert(&peer_id, &new_name);
                Some(peer_id)
            }
            RecordAt::Issue(number) => {
                let credential = self.credentials.remove(&number)?;
                let holder = self.peers.get_mut(&credential.peer_id)?;
                holder.credentials.retain(|n| *n != number);
                Some(credential.peer_id)
            }
            RecordAt::CredentialEvent(number) => {
                let credential = self.credentials.get_mut(&number)?;
                credential.events.retain(|&i| i != index);
                credential.renewals.retain(|r| r.index != index);
                credential.discipline.retain(|d| d.index != index);
                credential.reinstatements.retain(|r| r.index != index);
                Some(credential.peer_id.clone())
            }
            RecordAt::Evaluation => {
                let key = self
                    .evaluations
                    .iter()
                    .find(|(_, e)| e.index == index)
                    .map(|(k, _)| k.clone())?;
                self.evaluations.remove(&key);
                None
            }
        }
    }

    /// Records that `index` was voided by entry `by`, where its peer can see it.
    fn void(&mut self, index: u64, reason: VoidReason, by: u64) {
        if let Some(peer_id) = self.disregard(index) {
            if let Some(peer) = self.peers.get_mut(&peer_id) {
                peer.extras.voided.push((index, reason, by));
            }
        }
    }
}

/// Removes entry `index` from every list of a peer's record.
fn forget_peer_record(peer: &mut Peer, index: u64) {
    peer.events.retain(|&i| i != index);
    peer.trainings.retain(|r| r.index != index);
    peer.experience.retain(|r| r.index != index);
    peer.exams.retain(|r| r.index != index);
    peer.continuing_education.retain(|r| r.index != index);
    let extras = &mut peer.extras;
    extras.consents.retain(|r| r.index != index);
    extras.disclosures.retain(|r| r.index != index);
    extras.waivers.retain(|r| r.index != index);
    extras.evidence.retain(|r| r.index != index);
    extras.provenance.retain(|r| r.index != index);
    extras.names.retain(|(i, _)| *i != index);
    if let Some((_, name)) = extras.names.last() {
        peer.legal_name = name.clone();
    }
}

/// Where facts land (the registry's maps), as [`apply_to`] sees them.
trait Tables {
    fn peer_mut(&mut self, peer_id: &str) -> Option<&mut Peer>;
    fn insert_peer(&mut self, peer: Peer);
    /// Keeps the name index in step before a peer's legal name changes.
    fn rename(&mut self, peer_id: &str, new_name: &str);
    fn credential_mut(&mut self, number: &str) -> Option<&mut Credential>;
    fn insert_credential(&mut self, credential: Credential);
    fn insert_evaluation(&mut self, key: (String, String), evaluation: Evaluation);
}

impl Tables for Registry {
    fn peer_mut(&mut self, peer_id: &str) -> Option<&mut Peer> {
        self.peers.get_mut(peer_id)
    }

    fn insert_peer(&mut self, peer: Peer) {
        if let Some(old) = self.peers.get(&peer.peer_id) {
            self.names.remove(&old.peer_id, &old.legal_name);
        }
        self.names.insert(&peer.peer_id, &peer.legal_name);
        self.peers.insert(peer.peer_id.clone(), peer);
    }

    fn rename(&mut self, peer_id: &str, new_name: &str) {
        if let Some(peer) = self.peers.get(peer_id) {
            self.names.remove(peer_id, &peer.legal_name);
            self.names.insert(peer_id, new_name);
        }
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
            extras: PeerExtras {
                names: vec![(index, legal_name.clone())],
                ..PeerExtras::default()
            },
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
        } => {
            tables.rename(&peer_id, &new_legal_name);
            update_peer(tables, &peer_id, index, |p| {
                p.extras.names.push((index, new_legal_name.clone()));
                p.legal_name = new_legal_name;
            })
        }
        Fact::ConsentRecorded { peer_id, consent } => {
            let record = Consent { index, ..consent };
            update_peer(tables, &peer_id, index, |p| p.extras.consents.push(record))
        }
        Fact::DisclosureRecorded { peer_id, disclosure } => {
            let record = Disclosure { index, ..disclosure };
            update_peer(tables, &peer_id, index, |p| p.extras.disclosures.push(record))
        }
        Fact::WaiverRecorded { peer_id, waiver } => {
            let record = WaiverRecord { index, ..waiver };
            update_peer(tables, &peer_id, index, |p| p.extras.waivers.push(record))
        }
        Fact::EvidenceRecorded { peer_id, evidence } => {
            let record = Evidence { index, ..evidence };
            update_peer(tables, &peer_id, index, |p| p.extras.evidence.push(record))
        }
        Fact::ImportProvenance { peer_id, provenance } => {
            let record = Provenance { index, ..provenance };
            update_peer(tables, &peer_id, index, |p| p.extras.provenance.push(record))
        }
        // Sealed records change nothing; notices are applied by the registry
        // itself (`apply_owned`); an expungement command never reaches the log.
        Fact::Sealed | Fact::Expunge { .. } | Fact::Expunged { .. } | Fact::Voided { .. } => {}
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
        imported: issue.imported,
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
pub fn logged_fact(body: Option<pb::event::Body>, openings: &dyn Openings) -> Result<Option<Fact>> {
    body.map(|body| sealed::unseal(body, openings)).transpose()
}

#[cfg(test)]
mod tests;
