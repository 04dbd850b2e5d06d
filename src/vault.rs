//! TEMPORARY in-memory stand-in for the private store, replaced by the real
//! one (sled + key slots) before this lands.
#![allow(missing_docs, clippy::all)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::domain::commitment::keyed_hash;
pub use crate::domain::commitment::{Bytes32, Opening, RecordKind};
use crate::error::Error;
use crate::store::StoreError;

#[derive(Clone)]
pub struct PersonSecrets {
    pub data_key: Bytes32,
    pub k_subject: Bytes32,
}

impl PersonSecrets {
    pub fn random() -> Result<PersonSecrets, Error> {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        getrandom::getrandom(&mut a).map_err(|e| Error::Internal(e.to_string()))?;
        getrandom::getrandom(&mut b).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(PersonSecrets {
            data_key: a,
            k_subject: b,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonRef(pub Bytes32);

#[derive(Default)]
struct Inner {
    people: HashMap<PersonRef, PersonSecrets>,
    records: HashMap<Bytes32, (PersonRef, Opening)>,
    fingerprints: HashMap<Bytes32, Bytes32>,
}

#[derive(Clone)]
pub struct Vault {
    inner: Arc<Mutex<Inner>>,
    secret: Bytes32,
}

pub fn vault_path(data_dir: &Path) -> PathBuf {
    data_dir.join("private")
}

#[derive(Default)]
pub struct VaultBatch {
    pub new_people: Vec<(PersonRef, PersonSecrets)>,
    pub records: Vec<(PersonRef, Bytes32, Opening)>,
    pub fingerprints: Vec<(Bytes32, Bytes32)>,
    pub erase_people: Vec<PersonRef>,
    pub erase_records: Vec<Bytes32>,
}

pub struct VaultCheck {
    pub people: u64,
    pub records: u64,
}

impl Vault {
    pub fn open(dir: &Path) -> Result<Vault, StoreError> {
        let _ = std::fs::create_dir_all(dir);
        Ok(Vault {
            inner: Arc::default(),
            secret: [7; 32],
        })
    }
    pub fn exists(dir: &Path) -> bool {
        dir.exists()
    }
    pub fn person_ref(&self, id: &str) -> PersonRef {
        PersonRef(keyed_hash(&self.secret, "peerreg/v1/person", id.as_bytes()))
    }
    pub fn node_key(&self, label: &str) -> Bytes32 {
        keyed_hash(&self.secret, label, b"")
    }
    pub fn person(&self, person: &PersonRef) -> Result<Option<PersonSecrets>, StoreError> {
        Ok(self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .people
            .get(person)
            .cloned())
    }
    pub fn record(&self, commitment: &Bytes32) -> Result<Option<Opening>, StoreError> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Ok(inner
            .records
            .get(commitment)
            .filter(|(p, _)| inner.people.contains_key(p))
            .map(|(_, o)| o.clone()))
    }
    pub fn person_of(&self, commitment: &Bytes32) -> Result<Option<PersonRef>, StoreError> {
        Ok(self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .records
            .get(commitment)
            .map(|(p, _)| *p))
    }
    pub fn records_of(&self, person: &PersonRef) -> Result<Vec<Bytes32>, StoreError> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Ok(inner
            .records
            .iter()
            .filter(|(_, (p, _))| p == person)
            .map(|(c, _)| *c)
            .collect())
    }
    pub fn fingerprint(&self, id: &Bytes32) -> Result<Option<Bytes32>, StoreError> {
        Ok(self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fingerprints
            .get(id)
            .copied())
    }
    pub fn commit(&self, batch: &VaultBatch) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for (p, s) in &batch.new_people {
            inner.people.insert(*p, s.clone());
        }
        for (p, c, o) in &batch.records {
            inner.records.insert(*c, (*p, o.clone()));
        }
        for (a, b) in &batch.fingerprints {
            inner.fingerprints.insert(*a, *b);
        }
        for p in &batch.erase_people {
            inner.people.remove(p);
            inner.records.retain(|_, (q, _)| q != p);
        }
        for c in &batch.erase_records {
            inner.records.remove(c);
        }
        Ok(())
    }
    pub fn verify_all(&self) -> Result<VaultCheck, StoreError> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Ok(VaultCheck {
            people: inner.people.len() as u64,
            records: inner.records.len() as u64,
        })
    }
    pub fn reopen(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl crate::domain::sealed::Openings for Vault {
    fn open(&self, commitment: &Bytes32) -> crate::error::Result<Option<Opening>> {
        Ok(self.record(commitment)?)
    }
}
