//! The vault: a node's private records (DESIGN.md §8), sealed per person on top
//! of the bytes-only [`PrivateStore`].
//!
//! Each record (its opening, tag, kind and body) is sealed with
//! XChaCha20-Poly1305 under its person's data key, with a random 24-byte nonce
//! (random nonces are safe at this size) and AAD `"peerreg/v1/record" ‖
//! commitment ‖ person ref`, so a sealed record moved to another commitment or
//! person no longer opens. Erasing a person or a record destroys keys: the
//! person's slot, or (for one record) the old data key after the person's
//! other records are sealed again under a fresh one. Ciphertext left in sled's
//! old segments is then unreadable by anyone.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::domain::commitment::keyed_hash;
pub use crate::domain::commitment::{Bytes32, Opening, RecordKind};
pub use crate::store::private::PersonSecrets;
use crate::store::private::{PrivateBatch, PrivateStore, SealedRecord};
use crate::store::StoreError;

const PERSON_LABEL: &str = "peerreg/v1/person";
const RECORD_AAD_LABEL: &[u8] = b"peerreg/v1/record";
const NONCE_LEN: usize = 24;
/// Opening, tag and kind before the body in a sealed record's plaintext.
const HEADER_LEN: usize = 32 + 32 + 2;
/// Records opened per step of [`Vault::verify_all`].
const VERIFY_PAGE: usize = 256;

/// A person, named inside the vault without naming them:
/// `keyed_hash(node secret, "peerreg/v1/person", id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonRef(pub Bytes32);

/// Everything one group commit changes in the vault.
#[derive(Default)]
pub struct VaultBatch {
    /// Each gets a fresh slot. A person already stored with the same secrets is
    /// left as is (a retried commit); with other secrets, refused.
    pub new_people: Vec<(PersonRef, PersonSecrets)>,
    /// Person, commitment, opened record. The person must be new in this batch
    /// or stored (and not erased in it); the opening must open the commitment.
    pub records: Vec<(PersonRef, Bytes32, Opening)>,
    /// Hashed event id → keyed fingerprint of the command.
    pub fingerprints: Vec<(Bytes32, Bytes32)>,
    /// Delete the person row and all their record rows; zero their slot.
    pub erase_people: Vec<PersonRef>,
    /// Delete these record rows, then re-key their person: every remaining
    /// record of that person re-encrypted under a fresh data key in a new slot
    /// (same k_subject), the old slot zeroed.
    pub erase_records: Vec<Bytes32>,
}

/// What [`Vault::verify_all`] checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VaultCheck {
    pub people: u64,
    pub records: u64,
}

/// The node's private store with its crypto. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

struct Inner {
    store: PrivateStore,
    /// A commit reads the people and records it re-keys before writing: one at
    /// a time, so nothing changes in between.
    commit: Mutex<()>,
}

/// Where a node keeps its vault: beside the log, not inside it.
pub fn vault_path(data_dir: &Path) -> PathBuf {
    data_dir.join("private")
}

impl Vault {
    /// Opens (or creates) the vault in `dir`; key slots no person row points
    /// at (left by a crash mid-commit) are zeroed.
    pub fn open(dir: &Path) -> Result<Vault, StoreError> {
        Ok(Vault {
            inner: Arc::new(Inner {
                store: PrivateStore::open(dir)?,
                commit: Mutex::new(()),
            }),
        })
    }

    /// Whether `dir` holds a private store at all (for repair).
    pub fn exists(dir: &Path) -> bool {
        PrivateStore::exists(dir)
    }

    fn store(&self) -> &PrivateStore {
        &self.inner.store
    }

    /// `id` is a peer id or e.g. `"received:MS:MS-0001"`.
    pub fn person_ref(&self, id: &str) -> PersonRef {
        PersonRef(keyed_hash(&self.store().node().data_key, PERSON_LABEL, id.as_bytes()))
    }

    /// A key derived from the node secret for `label` (snapshot key, event-id
    /// key, ...): stable across restarts, unknown outside this node.
    pub fn node_key(&self, label: &str) -> Bytes32 {
        keyed_hash(&self.store().node().data_key, label, b"")
    }

    /// The `K_subject` of records not about an enrolled person.
    pub fn node_k_subject(&self) -> Bytes32 {
        self.store().node().k_subject
    }

    /// A person's secrets; `None` if unknown or erased.
    pub fn person(&self, person: &PersonRef) -> Result<Option<PersonSecrets>, StoreError> {
        self.store().person(&person.0)
    }

    /// The opened record committed to by `commitment`, checked: it decrypts
    /// under its person's current key and opens `commitment` (else
    /// `StoreError::Corrupt`). `None`: absent, or its person/record erased.
    pub fn record(&self, commitment: &Bytes32) -> Result<Option<Opening>, StoreError> {
        match self.store().record(commitment)? {
            Some(sealed) => self.unseal(&sealed).map(Some),
            None => Ok(None),
        }
    }

    pub fn person_of(&self, commitment: &Bytes32) -> Result<Option<PersonRef>, StoreError> {
        Ok(self.store().person_of(commitment)?.map(PersonRef))
    }

    /// The commitments of a person's records, in no particular order.
    pub fn records_of(&self, person: &PersonRef) -> Result<Vec<Bytes32>, StoreError> {
        self.store().records_of(&person.0)
    }

    pub fn fingerprint(&self, hashed_event_id: &Bytes32) -> Result<Option<Bytes32>, StoreError> {
        self.store().fingerprint(hashed_event_id)
    }

    /// One durable step for a group commit. Order: new slots written +
    /// fdatasync; then the sled batch (+flush+fdatasync); then erased slots
    /// zeroed + fdatasync. A crash between steps leaves only orphan slots
    /// (zeroed at next open) or deleted rows whose slot is zeroed at next open
    /// — never a key whose rows are gone still readable after open.
    pub fn commit(&self, batch: &VaultBatch) -> Result<(), StoreError> {
        let _one = self.inner.commit.lock().unwrap_or_else(|p| p.into_inner());
        self.check_batch(batch)?;
        let mut writes = PrivateBatch {
            fingerprints: batch.fingerprints.clone(),
            remove_records: batch.erase_records.clone(),
            remove_people: batch.erase_people.iter().map(|p| p.0).collect(),
            ..PrivateBatch::default()
        };
        let mut keys: HashMap<PersonRef, PersonSecrets> = HashMap::new();
        for (person, secrets) in &batch.new_people {
            if self.person(person)?.is_none() {
                writes.slots.push((person.0, secrets.clone()));
            }
            keys.insert(*person, secrets.clone());
        }
        self.rekey(batch, &mut writes, &mut keys)?;
        for (person, commitment, opening) in &batch.records {
            let secrets = match keys.get(person) {
                Some(secrets) => secrets.clone(),
                None => {
                    let stored = self
                        .person(person)?
                        .ok_or_else(|| self.refused("a record names an unknown person"))?;
                    keys.insert(*person, stored.clone());
                    stored
                }
            };
            let sealed = self.seal(&secrets, person, commitment, opening)?;
            writes.records.push((*commitment, person.0, sealed));
        }
        self.store().commit(&writes)
    }

    /// Adds to `writes` a fresh slot for each person one of whose records is
    /// erased (and who is not erased whole), with their remaining records
    /// sealed again under it; `keys` learns the new secrets.
    fn rekey(
        &self,
        batch: &VaultBatch,
        writes: &mut PrivateBatch,
        keys: &mut HashMap<PersonRef, PersonSecrets>,
    ) -> Result<(), StoreError> {
        let erased_people: HashSet<&PersonRef> = batch.erase_people.iter().collect();
        let erased_records: HashSet<&Bytes32> = batch.erase_records.iter().collect();
        let mut rekeyed = HashSet::new();
        for commitment in &batch.erase_records {
            let Some(person) = self.person_of(commitment)? else {
                continue;
            };
            if erased_people.contains(&person) || !rekeyed.insert(person) {
                continue;
            }
            let Some(old) = self.person(&person)? else {
                continue;
            };
            let fresh = PersonSecrets {
                data_key: PersonSecrets::random()
                    .map_err(|e| StoreError::io(self.store().dir(), "re-keying", std::io::Error::other(e.to_string())))?
                    .data_key,
                k_subject: old.k_subject,
            };
            for record in self.store().sealed_records_of(&person.0)? {
                if !erased_records.contains(&record.commitment) {
                    let opening = self.unseal(&record)?;
                    let sealed = self.seal(&fresh, &person, &record.commitment, &opening)?;
                    writes.records.push((record.commitment, person.0, sealed));
                }
            }
            writes.slots.push((person.0, fresh.clone()));
            keys.insert(person, fresh);
        }
        Ok(())
    }

    /// Refuses what the store must not do: duplicates, a person both added and
    /// erased, a record of a person erased or replaced, an opening that does not
    /// open its commitment, a record stored under another person.
    fn check_batch(&self, batch: &VaultBatch) -> Result<(), StoreError> {
        let erased: HashSet<&PersonRef> = batch.erase_people.iter().collect();
        let mut new = HashSet::new();
        for (person, secrets) in &batch.new_people {
            if !new.insert(person) || erased.contains(person) {
                return Err(self.refused("a new person is listed twice or also erased"));
            }
            if let Some(stored) = self.person(person)? {
                let same = subtle::ConstantTimeEq::ct_eq(&stored.data_key[..], &secrets.data_key[..])
                    & subtle::ConstantTimeEq::ct_eq(&stored.k_subject[..], &secrets.k_subject[..]);
                if !bool::from(same) {
                    return Err(self.refused("a new person is already stored with other secrets"));
                }
            }
        }
        let erased_records: HashSet<&Bytes32> = batch.erase_records.iter().collect();
        let mut added = HashSet::new();
        for (person, commitment, opening) in &batch.records {
            if erased.contains(person) || erased_records.contains(commitment) || !added.insert(commitment) {
                return Err(self.refused("a record is listed twice, or also erased, or its person is erased"));
            }
            if !opening.opens(commitment) {
                return Err(self.refused("a record's opening does not open its commitment"));
            }
            if self.person_of(commitment)?.is_some_and(|stored| stored != *person) {
                return Err(self.refused("a record is already stored under another person"));
            }
        }
        Ok(())
    }

    /// Corruption sweep: every person row's slot holds a valid key; every
    /// record row decrypts under its person's key and opens its commitment.
    /// The first failure is `StoreError::Corrupt` naming the row.
    pub fn verify_all(&self) -> Result<VaultCheck, StoreError> {
        let people = self.store().verify_people()?;
        let mut records = 0;
        let mut after = None;
        loop {
            let page = self.store().records_page(after.as_ref(), VERIFY_PAGE)?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.commitment);
            for record in &page {
                self.unseal(record)?;
            }
            records += page.len() as u64;
        }
        Ok(VaultCheck { people, records })
    }

    /// As `Store::reopen`, after an I/O error; also zeroes the slots a failed
    /// commit left without rows.
    /// A consistent copy of the private store in a new directory (backups).
    pub fn export_to(&self, target: &Path) -> Result<(), StoreError> {
        self.store().export_to(target)
    }

    pub fn reopen(&self) -> Result<(), StoreError> {
        let _one = self.inner.commit.lock().unwrap_or_else(|p| p.into_inner());
        self.store().reopen()
    }

    fn seal(
        &self,
        secrets: &PersonSecrets,
        person: &PersonRef,
        commitment: &Bytes32,
        opening: &Opening,
    ) -> Result<Vec<u8>, StoreError> {
        let mut plain = Zeroizing::new(Vec::with_capacity(HEADER_LEN + opening.body.len()));
        plain.extend_from_slice(&opening.opening);
        plain.extend_from_slice(&opening.tag);
        plain.extend_from_slice(&opening.kind.code().to_be_bytes());
        plain.extend_from_slice(&opening.body);
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).map_err(|e| {
            StoreError::io(
                self.store().dir(),
                "choosing a nonce",
                std::io::Error::other(e.to_string()),
            )
        })?;
        let aad = record_aad(commitment, person);
        let cipher = XChaCha20Poly1305::new((&secrets.data_key).into());
        let payload = Payload { msg: &plain, aad: &aad };
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| self.refused("a record too large to seal"))?;
        Ok([&nonce[..], &sealed].concat())
    }

    /// Opens a sealed record and checks it opens its commitment.
    fn unseal(&self, record: &SealedRecord) -> Result<Opening, StoreError> {
        let name = hex::encode(record.commitment);
        let damaged = |what: &str| self.store().corrupt(format!("record row {name}: {what}"));
        if record.sealed.len() < NONCE_LEN {
            return Err(damaged("too short"));
        }
        let (nonce, sealed) = record.sealed.split_at(NONCE_LEN);
        let aad = record_aad(&record.commitment, &PersonRef(record.person));
        let cipher = XChaCha20Poly1305::new((&record.secrets.data_key).into());
        let plain = Zeroizing::new(
            cipher
                .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: &aad })
                .map_err(|_| damaged("does not decrypt under its person's key"))?,
        );
        let opening = decode_opening(&plain).ok_or_else(|| damaged("its plaintext is malformed"))?;
        if !opening.opens(&record.commitment) {
            return Err(damaged("does not open its commitment"));
        }
        Ok(opening)
    }

    fn refused(&self, detail: &str) -> StoreError {
        StoreError::Refused {
            dir: self.store().dir().to_path_buf(),
            detail: detail.to_string(),
        }
    }

    /// Test hook into the store underneath.
    #[cfg(test)]
    fn private_store(&self) -> &PrivateStore {
        self.store()
    }
}

fn record_aad(commitment: &Bytes32, person: &PersonRef) -> Vec<u8> {
    [RECORD_AAD_LABEL, &commitment[..], &person.0[..]].concat()
}

fn decode_opening(plain: &[u8]) -> Option<Opening> {
    let header = plain.get(..HEADER_LEN)?;
    Some(Opening {
        opening: header[..32].try_into().ok()?,
        tag: header[32..64].try_into().ok()?,
        kind: RecordKind::from_code(u16::from_be_bytes(header[64..66].try_into().ok()?))?,
        body: plain[HEADER_LEN..].to_vec(),
    })
}

#[cfg(test)]
mod tests;

/// Encrypts `plain` under `key` (XChaCha20-Poly1305, random nonce, `label` as
/// associated data) for files beside the private store that hold private data
/// in clear otherwise: the registry snapshot.
pub fn encrypt_file(key: &Bytes32, label: &str, plain: &[u8]) -> crate::error::Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| crate::error::Error::Internal(format!("the operating system gave no randomness: {e}")))?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let payload = Payload {
        msg: plain,
        aad: label.as_bytes(),
    };
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), payload)
        .map_err(|_| crate::error::Error::Internal("a file too large to encrypt".into()))?;
    Ok([&nonce[..], &sealed].concat())
}

/// Decrypts what [`encrypt_file`] wrote; `None` if it was written under
/// another key or label, or damaged.
pub fn decrypt_file(key: &Bytes32, label: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, sealed) = sealed.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.into());
    let payload = Payload {
        msg: sealed,
        aad: label.as_bytes(),
    };
    cipher.decrypt(XNonce::from_slice(nonce), payload).ok()
}

/// The board's own log replays through its private store: every commitment it
/// holds an opening of is opened (DESIGN.md §8).
impl crate::domain::sealed::Openings for Vault {
    fn open(&self, commitment: &Bytes32) -> crate::error::Result<Option<Opening>> {
        Ok(self.record(commitment)?)
    }
}

/// Status-list indexes of credentials (`crate::vc`): kept in the private
/// store, so they survive a log repair and travel with its backups.
impl Vault {
    pub fn status_index(&self, number: &str) -> Result<Option<u32>, StoreError> {
        self.store().status_index(number)
    }

    /// See [`PrivateStore::assign_status_index`].
    pub fn assign_status_index(
        &self,
        number: &str,
        candidates: &mut dyn Iterator<Item = u32>,
    ) -> Result<Option<(u32, bool)>, StoreError> {
        self.store().assign_status_index(number, candidates)
    }

    pub fn status_indexes(&self, most: usize) -> Result<Vec<(String, u32)>, StoreError> {
        self.store().status_indexes(most)
    }
}
