//! A scratch layer over a registry: what a batch *would* change, kept apart
//! from the registry itself, for judging a batch without recording it (a
//! dry run). Reads fall through to the registry; the first write to a peer,
//! credential or evaluation copies just that record into the layer, and
//! facts land there through the same `apply_to` the registry uses, so the
//! layer answers `rules` exactly as the registry would after the same facts.
//!
//! Cost: O(records the batch names), never O(registry): nothing else is
//! copied (the registry's name index is not kept: rules never read it).

use std::collections::HashMap;

use super::{apply_to, Registry, Tables};
use crate::domain::fact::{Evaluation, Fact};
use crate::domain::records::{Credential, Peer, RecordAt, Records};

/// A registry seen through the facts applied on top of it.
pub struct Overlay<'a> {
    base: &'a Registry,
    /// The index the next applied fact would have.
    size: u64,
    peers: HashMap<String, Peer>,
    credentials: HashMap<String, Credential>,
    evaluations: HashMap<(String, String), Evaluation>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a Registry) -> Overlay<'a> {
        Overlay {
            base,
            size: base.size,
            peers: HashMap::new(),
            credentials: HashMap::new(),
            evaluations: HashMap::new(),
        }
    }

    /// Applies `fact` as if appended next. Notices (void, expungement) are
    /// not batch commands and change nothing here.
    pub fn apply(&mut self, fact: Fact) {
        let index = self.size;
        self.size += 1;
        apply_to(self, index, fact);
    }

    /// How many records the layer holds (its memory, for tests of the bound).
    pub fn copied(&self) -> usize {
        self.peers.len() + self.credentials.len() + self.evaluations.len()
    }
}

impl Records for Overlay<'_> {
    fn peer(&self, peer_id: &str) -> Option<&Peer> {
        self.peers.get(peer_id).or_else(|| self.base.peer(peer_id))
    }

    fn credential(&self, number: &str) -> Option<&Credential> {
        self.credentials.get(number).or_else(|| self.base.credential(number))
    }

    fn evaluation(&self, origin_state: &str, number: &str) -> Option<&Evaluation> {
        let key = (origin_state.to_string(), number.to_string());
        self.evaluations
            .get(&key)
            .or_else(|| self.base.evaluation(origin_state, number))
    }

    /// The registry's answer: voiding and expunging are not batch commands,
    /// so the layer's own records are never their targets.
    fn record_at(&self, index: u64) -> Option<RecordAt> {
        self.base.record_at(index)
    }
}

impl Tables for Overlay<'_> {
    fn peer_mut(&mut self, peer_id: &str) -> Option<&mut Peer> {
        if !self.peers.contains_key(peer_id) {
            let copied = self.base.peer(peer_id)?.clone();
            self.peers.insert(peer_id.to_string(), copied);
        }
        self.peers.get_mut(peer_id)
    }

    fn insert_peer(&mut self, peer: Peer) {
        self.peers.insert(peer.peer_id.clone(), peer);
    }

    fn rename(&mut self, _: &str, _: &str) {}

    fn credential_mut(&mut self, number: &str) -> Option<&mut Credential> {
        if !self.credentials.contains_key(number) {
            let copied = self.base.credential(number)?.clone();
            self.credentials.insert(number.to_string(), copied);
        }
        self.credentials.get_mut(number)
    }

    fn insert_credential(&mut self, credential: Credential) {
        self.credentials.insert(credential.number.clone(), credential);
    }

    fn insert_evaluation(&mut self, key: (String, String), evaluation: Evaluation) {
        self.evaluations.insert(key, evaluation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;

    fn enrolment(peer_id: &str) -> Fact {
        Fact::try_from(pb::command::Body::PeerEnrolled(pb::PeerEnrolled {
            peer_id: peer_id.into(),
            legal_name: format!("Person {peer_id}"),
            eligibility_attested: true,
            ethics_code_signed: true,
        }))
        .expect("well formed")
    }

    #[test]
    fn the_layer_copies_only_what_the_batch_changes_and_leaves_the_registry_alone() {
        let mut registry = Registry::default();
        for i in 0..1_000u64 {
            registry.apply(i, &enrolment(&format!("P{i}")));
        }
        let before = registry.clone();
        let mut overlay = Overlay::new(&registry);
        overlay.apply(enrolment("NEW"));
        let name = Fact::try_from(pb::command::Body::NameChanged(pb::NameChanged {
            peer_id: "P7".into(),
            new_legal_name: "Renamed".into(),
        }))
        .expect("well formed");
        overlay.apply(name);
        assert_eq!(overlay.copied(), 2, "one new peer, one copied peer");
        assert_eq!(overlay.peer("NEW").map(|p| p.events.clone()), Some(vec![1_000]));
        assert_eq!(overlay.peer("P7").map(|p| p.legal_name.as_str()), Some("Renamed"));
        assert_eq!(overlay.peer("P8").map(|p| p.legal_name.as_str()), Some("Person P8"));
        assert_eq!(registry, before);
    }
}
