//! The node's private store (DESIGN.md §8), as bytes: what the public log only
//! commits to. It knows rows and key slots, not cryptography; `crate::vault`
//! seals and opens what is kept here.
//!
//! Two parts, in `<data_dir>/private/`, apart from the log so that a log
//! repaired from a mirror keeps an intact private store and an operator backs
//! it up on its own:
//! - `db/`: a sled database, as durable as the log's (see [`SledDb`]):
//!   - `p` ‖ person ref → key slot number (u64 BE)
//!   - `c` ‖ commitment → person ref ‖ sealed record
//!   - `o` ‖ person ref ‖ commitment → empty (a person's records, for erasure)
//!   - `f` ‖ hashed event id → keyed fingerprint of the command
//!   - `v`, `w`: credentials' status-list indexes (see [`PrivateStore::status_index`])
//! - `keys`: fixed-size key slots, `data_key ‖ k_subject ‖ check`. Keys live
//!   outside sled because sled keeps deleted values in old segments: only an
//!   overwrite in place really erases. An all-zero slot is erased. Slot 0 holds
//!   the node's own secret and node-level `K_subject`.
//!
//! A commit writes new slots first, then the rows, then zeroes the slots it
//! retired, each step durable before the next; a slot no person row points at
//! is zeroed at open. So a crash leaves at worst an orphan slot, never a key
//! that outlives its rows across a restart.

use std::collections::{BTreeSet, HashSet};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::sled_db::SledDb;
use super::{fault, files, StoreError};
use crate::domain::commitment::Bytes32;
use crate::error::Error;

const PERSON_PREFIX: u8 = b'p';
const RECORD_PREFIX: u8 = b'c';
const OWNER_PREFIX: u8 = b'o';
const FINGERPRINT_PREFIX: u8 = b'f';

/// Bytes of one key slot: data key, `K_subject`, check.
pub const SLOT_LEN: usize = 72;
const CHECK_LEN: usize = 8;
const SLOT_LABEL: &[u8] = b"peerreg/v1/slot";
/// The slot of the node's own secret.
const NODE_SLOT: u64 = 0;

/// What one key slot holds: a person's secrets (in slot 0, the node's).
/// Zeroized on drop so a key leaves memory with its last copy.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PersonSecrets {
    /// The key a person's records are sealed under; replaced when one of their
    /// records is erased.
    pub data_key: Bytes32,
    /// The key of the person's record tags (DESIGN.md §8); never changes.
    pub k_subject: Bytes32,
}

impl PersonSecrets {
    /// Fresh secrets from the operating system's random source.
    pub fn random() -> Result<PersonSecrets, Error> {
        random_secrets().map_err(|e| Error::Internal(format!("the random source failed: {e}")))
    }

    fn slot_bytes(&self, slot: u64) -> Zeroizing<[u8; SLOT_LEN]> {
        let mut bytes = Zeroizing::new([0u8; SLOT_LEN]);
        bytes[..32].copy_from_slice(&self.data_key);
        bytes[32..64].copy_from_slice(&self.k_subject);
        bytes[64..].copy_from_slice(&slot_check(slot, &self.data_key, &self.k_subject));
        bytes
    }
}

fn random_secrets() -> Result<PersonSecrets, getrandom::Error> {
    let mut secrets = PersonSecrets {
        data_key: [0; 32],
        k_subject: [0; 32],
    };
    getrandom::getrandom(&mut secrets.data_key)?;
    getrandom::getrandom(&mut secrets.k_subject)?;
    Ok(secrets)
}

/// Binds a slot's content to its position, so a slot copied elsewhere, torn or
/// flipped reads as damaged rather than as someone's key.
fn slot_check(slot: u64, data_key: &Bytes32, k_subject: &Bytes32) -> [u8; CHECK_LEN] {
    let digest = Sha256::new()
        .chain_update(SLOT_LABEL)
        .chain_update(slot.to_be_bytes())
        .chain_update(data_key)
        .chain_update(k_subject)
        .finalize();
    let mut check = [0; CHECK_LEN];
    check.copy_from_slice(&digest[..CHECK_LEN]);
    check
}

/// What a slot's bytes say.
enum Slot {
    Erased,
    Damaged,
    Holds(PersonSecrets),
}

fn decode_slot(slot: u64, bytes: &[u8; SLOT_LEN]) -> Slot {
    if bytes.iter().all(|b| *b == 0) {
        return Slot::Erased;
    }
    let mut secrets = PersonSecrets {
        data_key: [0; 32],
        k_subject: [0; 32],
    };
    secrets.data_key.copy_from_slice(&bytes[..32]);
    secrets.k_subject.copy_from_slice(&bytes[32..64]);
    let check = slot_check(slot, &secrets.data_key, &secrets.k_subject);
    if subtle::ConstantTimeEq::ct_eq(&check[..], &bytes[64..]).into() {
        Slot::Holds(secrets)
    } else {
        Slot::Damaged
    }
}

/// The `keys` file: slot `n` at offset `n * SLOT_LEN`, written in place.
struct KeySlots {
    path: PathBuf,
    file: File,
}

impl KeySlots {
    fn open(path: &Path) -> Result<KeySlots, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io(path, "opening", e))?;
        Ok(KeySlots {
            path: path.to_path_buf(),
            file,
        })
    }

    /// How many slots the file holds, a torn last one included.
    fn count(&self) -> Result<u64, StoreError> {
        let len = self
            .file
            .metadata()
            .map_err(|e| StoreError::io(&self.path, "inspecting", e))?
            .len();
        Ok(len.div_ceil(SLOT_LEN as u64))
    }

    /// Slot `n`'s bytes; past the end of the file reads as zeros.
    fn read(&self, slot: u64) -> Result<Zeroizing<[u8; SLOT_LEN]>, StoreError> {
        let mut bytes = Zeroizing::new([0u8; SLOT_LEN]);
        let mut filled = 0;
        while filled < SLOT_LEN {
            let offset = slot * SLOT_LEN as u64 + filled as u64;
            match self.file.read_at(&mut bytes[filled..], offset) {
                Ok(0) => break,
                Ok(read) => filled += read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(StoreError::io(&self.path, "reading a key slot", e)),
            }
        }
        Ok(bytes)
    }

    fn slot(&self, slot: u64) -> Result<Slot, StoreError> {
        let bytes = self.read(slot)?;
        Ok(decode_slot(slot, &bytes))
    }

    fn write(&self, slot: u64, bytes: &[u8; SLOT_LEN]) -> Result<(), StoreError> {
        self.file
            .write_all_at(bytes, slot * SLOT_LEN as u64)
            .map_err(|e| StoreError::io(&self.path, "writing a key slot", e))
    }

    fn zero(&self, slot: u64) -> Result<(), StoreError> {
        self.write(slot, &[0; SLOT_LEN])
    }

    /// Makes written slots durable (an erasure is only done once this returns).
    fn sync(&self) -> Result<(), StoreError> {
        fault::check(&self.path).map_err(|e| StoreError::io(&self.path, "fdatasync", e))?;
        self.file
            .sync_data()
            .map_err(|e| StoreError::io(&self.path, "fdatasync", e))
    }
}

/// Which slots a commit may hand out.
struct Allocation {
    count: u64,
    free: BTreeSet<u64>,
}

impl Allocation {
    fn take(&mut self) -> u64 {
        self.free.pop_first().unwrap_or_else(|| {
            self.count += 1;
            self.count - 1
        })
    }
}

/// A stored record, as sealed, with the secrets of the person it belongs to.
pub struct SealedRecord {
    pub commitment: Bytes32,
    pub person: Bytes32,
    pub secrets: PersonSecrets,
    pub sealed: Vec<u8>,
}

/// Everything one commit changes, applied in the crash-safe order above.
#[derive(Default)]
pub struct PrivateBatch {
    /// People who get a fresh slot holding these secrets; a person who had a
    /// slot has the old one zeroed once the rows point at the new one.
    pub slots: Vec<(Bytes32, PersonSecrets)>,
    /// Record rows written: commitment, person, sealed bytes.
    pub records: Vec<(Bytes32, Bytes32, Vec<u8>)>,
    /// Hashed event id → keyed fingerprint.
    pub fingerprints: Vec<(Bytes32, Bytes32)>,
    /// Record rows removed (applied before `records`).
    pub remove_records: Vec<Bytes32>,
    /// People removed with all their record rows; their slot is zeroed.
    pub remove_people: Vec<Bytes32>,
}

pub struct PrivateStore {
    dir: PathBuf,
    db: SledDb,
    keys: KeySlots,
    node: PersonSecrets,
    /// Serialises commits and reopening; which slots are free.
    writer: Mutex<Allocation>,
    /// Reads hold it shared across the rows and slot they read; a commit that
    /// replaces or removes rows holds it exclusively, so no read pairs a row of
    /// one generation with a key of another.
    rows: RwLock<()>,
}

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut key = vec![prefix];
    for part in parts {
        key.extend_from_slice(part);
    }
    key
}

fn bytes32(raw: &[u8]) -> Option<Bytes32> {
    raw.try_into().ok()
}

impl PrivateStore {
    /// Opens (or creates) the private store in `dir`. A new store gets a random
    /// node secret in slot 0; slots no person row points at are zeroed.
    pub fn open(dir: &Path) -> Result<PrivateStore, StoreError> {
        files::create_dir_durable(dir)?;
        files::restrict_to_owner(dir)?;
        let db = SledDb::open(&dir.join("db"))?;
        let keys_path = dir.join("keys");
        if !keys_path.exists() {
            create_keys(&db, &keys_path)?;
        }
        let keys = KeySlots::open(&keys_path)?;
        let node = match keys.slot(NODE_SLOT)? {
            Slot::Holds(secrets) => secrets,
            Slot::Erased | Slot::Damaged => {
                return Err(corrupt_in(
                    dir,
                    "key slot 0 (the node secret) is erased or damaged".into(),
                ))
            }
        };
        let store = PrivateStore {
            dir: dir.to_path_buf(),
            db,
            keys,
            node,
            writer: Mutex::new(Allocation {
                count: 1,
                free: BTreeSet::new(),
            }),
            rows: RwLock::new(()),
        };
        let allocation = store.scan_slots()?;
        *store.writer() = allocation;
        Ok(store)
    }

    /// A consistent copy of the private store in `target` (new): its database
    /// exported and its key file copied, while this store's writer is held so
    /// no commit changes either meanwhile.
    pub fn export_to(&self, target: &Path) -> Result<(), StoreError> {
        let _no_commits = self.writer();
        self.keys.sync()?;
        files::create_dir_durable(target)?;
        files::restrict_to_owner(target)?;
        self.db.export_to(&target.join("db"))?;
        let keys = target.join("keys");
        std::fs::copy(&self.keys.path, &keys).map_err(|e| StoreError::io(&keys, "copying", e))?;
        File::open(&keys)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(&keys, "fsync", e))?;
        files::sync_dir(target)
    }

    /// Whether `dir` holds a private store at all (its key file or database).
    pub fn exists(dir: &Path) -> bool {
        dir.join("keys").exists() || dir.join("db").exists()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Slot 0: the node's secret and node-level `K_subject`.
    pub fn node(&self) -> &PersonSecrets {
        &self.node
    }

    /// Damage in the private store, named as such.
    pub fn corrupt(&self, detail: String) -> StoreError {
        corrupt_in(&self.dir, detail)
    }

    /// Reopens sled after an I/O error and recounts the slots, zeroing those
    /// a failed commit left without rows.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let mut allocation = self.writer();
        self.db.reopen()?;
        *allocation = self.scan_slots()?;
        Ok(())
    }

    /// A person's secrets; `None` if no row names them (unknown or erased).
    pub fn person(&self, person: &Bytes32) -> Result<Option<PersonSecrets>, StoreError> {
        let _rows = self.read_rows();
        match self.person_slot(person)? {
            None => Ok(None),
            Some(slot) => self.secrets_in(person, slot).map(Some),
        }
    }

    /// The sealed record committed to by `commitment`, with its person's
    /// secrets; `None` if absent or its person was erased.
    pub fn record(&self, commitment: &Bytes32) -> Result<Option<SealedRecord>, StoreError> {
        let _rows = self.read_rows();
        let Some(value) = self.get("reading a record", key(RECORD_PREFIX, &[commitment]))? else {
            return Ok(None);
        };
        self.sealed_record(commitment, &value)
    }

    pub fn person_of(&self, commitment: &Bytes32) -> Result<Option<Bytes32>, StoreError> {
        let value = self.get("reading a record", key(RECORD_PREFIX, &[commitment]))?;
        value.map(|v| self.record_person(commitment, &v)).transpose()
    }

    /// The commitments of a person's stored records, in byte order.
    pub fn records_of(&self, person: &Bytes32) -> Result<Vec<Bytes32>, StoreError> {
        let prefix = key(OWNER_PREFIX, &[person]);
        let keys = self.db.guarded("listing a person's records", |db| {
            db.scan_prefix(&prefix).keys().collect::<sled::Result<Vec<_>>>()
        })?;
        keys.iter()
            .map(|k| bytes32(&k[prefix.len()..]).ok_or_else(|| self.corrupt("a record index row is malformed".into())))
            .collect()
    }

    /// A person's records as sealed (to seal them again under a new key).
    pub fn sealed_records_of(&self, person: &Bytes32) -> Result<Vec<SealedRecord>, StoreError> {
        let _rows = self.read_rows();
        let mut records = Vec::new();
        for commitment in self.records_of(person)? {
            let Some(value) = self.get("reading a record", key(RECORD_PREFIX, &[&commitment]))? else {
                return Err(self.corrupt(format!("record {} is indexed but missing", hex::encode(commitment))));
            };
            if let Some(record) = self.sealed_record(&commitment, &value)? {
                records.push(record);
            }
        }
        Ok(records)
    }

    pub fn fingerprint(&self, hashed_event_id: &Bytes32) -> Result<Option<Bytes32>, StoreError> {
        let value = self.get("reading a fingerprint", key(FINGERPRINT_PREFIX, &[hashed_event_id]))?;
        value
            .map(|v| bytes32(&v).ok_or_else(|| self.corrupt("a fingerprint row is malformed".into())))
            .transpose()
    }

    /// Checks every person row: its slot holds a valid key, no other person's.
    /// Returns how many people there are; the first failure names the row.
    pub fn verify_people(&self) -> Result<u64, StoreError> {
        let _rows = self.read_rows();
        let mut seen = HashSet::new();
        for (person, slot) in self.person_slots()? {
            if slot == NODE_SLOT || !seen.insert(slot) {
                return Err(self.corrupt(format!("person row {} shares key slot {slot}", hex::encode(person))));
            }
            self.secrets_in(&person, slot)?;
        }
        Ok(seen.len() as u64)
    }

    /// Up to `limit` records after `after` (from the first if `None`), in
    /// commitment order; a record whose person has no row is damage here.
    pub fn records_page(&self, after: Option<&Bytes32>, limit: usize) -> Result<Vec<SealedRecord>, StoreError> {
        let _rows = self.read_rows();
        let start = key(RECORD_PREFIX, &[after.map(|a| &a[..]).unwrap_or(&[])]);
        let rows = self.db.guarded("scanning records", |db| {
            db.range(start.clone()..)
                .filter(|row| !matches!(row, Ok((k, _)) if k.as_ref() == start.as_slice()))
                .take_while(|row| !matches!(row, Ok((k, _)) if k.first() != Some(&RECORD_PREFIX)))
                .take(limit)
                .collect::<sled::Result<Vec<_>>>()
        })?;
        let mut page = Vec::with_capacity(rows.len());
        for (k, value) in rows {
            let commitment = bytes32(&k[1..]).ok_or_else(|| self.corrupt("a record row's key is malformed".into()))?;
            match self.sealed_record(&commitment, &value)? {
                Some(record) => page.push(record),
                None => {
                    return Err(self.corrupt(format!(
                        "record row {} names a person with no row",
                        hex::encode(commitment)
                    )))
                }
            }
        }
        Ok(page)
    }

    /// Applies `batch`: new slots written and synced, then the rows (atomic,
    /// durable), then the retired slots zeroed and synced. On an error nothing
    /// is zeroed; [`PrivateStore::reopen`] recounts the slots.
    pub fn commit(&self, batch: &PrivateBatch) -> Result<(), StoreError> {
        let mut allocation = self.writer();
        let mut placed = Vec::with_capacity(batch.slots.len());
        for (person, secrets) in &batch.slots {
            let slot = allocation.take();
            self.keys.write(slot, &secrets.slot_bytes(slot))?;
            placed.push((*person, slot));
        }
        if !placed.is_empty() {
            self.keys.sync()?;
        }
        let (writes, retired, replaces) = self.writes(batch, &placed)?;
        // Additions alone cannot mislead a reader: only replacing or removing
        // rows shuts readers out, and only while rows and slots change.
        let exclusive = replaces.then(|| self.rows.write().unwrap_or_else(|p| p.into_inner()));
        self.db.apply(writes)?;
        for slot in &retired {
            self.keys.zero(*slot)?;
        }
        drop(exclusive);
        if !retired.is_empty() {
            self.keys.sync()?;
            allocation.free.extend(retired);
        }
        Ok(())
    }

    /// The sled writes of `batch`, the slots it retires, and whether it
    /// replaces or removes rows a reader could be reading.
    fn writes(
        &self,
        batch: &PrivateBatch,
        placed: &[(Bytes32, u64)],
    ) -> Result<(sled::Batch, Vec<u64>, bool), StoreError> {
        let mut writes = sled::Batch::default();
        let mut retired = Vec::new();
        for person in &batch.remove_people {
            retired.extend(self.person_slot(person)?);
            writes.remove(key(PERSON_PREFIX, &[person]));
            for commitment in self.records_of(person)? {
                writes.remove(key(RECORD_PREFIX, &[&commitment]));
                writes.remove(key(OWNER_PREFIX, &[person, &commitment]));
            }
        }
        for commitment in &batch.remove_records {
            if let Some(person) = self.person_of(commitment)? {
                writes.remove(key(RECORD_PREFIX, &[commitment]));
                writes.remove(key(OWNER_PREFIX, &[&person, commitment]));
            }
        }
        for (person, slot) in placed {
            retired.extend(self.person_slot(person)?);
            writes.insert(key(PERSON_PREFIX, &[person]), &slot.to_be_bytes());
        }
        for (commitment, person, sealed) in &batch.records {
            writes.insert(key(RECORD_PREFIX, &[commitment]), [&person[..], sealed].concat());
            writes.insert(key(OWNER_PREFIX, &[person, commitment]), &[]);
        }
        for (hashed_event_id, fingerprint) in &batch.fingerprints {
            writes.insert(key(FINGERPRINT_PREFIX, &[hashed_event_id]), fingerprint);
        }
        let replaces = !(retired.is_empty() && batch.remove_records.is_empty() && batch.remove_people.is_empty());
        Ok((writes, retired, replaces))
    }

    /// Which slots are in use and free, zeroing (durably) every slot past 0
    /// that no person row points at: what a crash mid-commit left behind.
    fn scan_slots(&self) -> Result<Allocation, StoreError> {
        let used: HashSet<u64> = self.person_slots()?.into_iter().map(|(_, slot)| slot).collect();
        let count = self.keys.count()?.max(1);
        let mut free = BTreeSet::new();
        let mut zeroed = 0;
        for slot in (NODE_SLOT + 1)..count {
            if used.contains(&slot) {
                continue;
            }
            if !matches!(self.keys.slot(slot)?, Slot::Erased) {
                self.keys.zero(slot)?;
                zeroed += 1;
            }
            free.insert(slot);
        }
        if zeroed > 0 {
            self.keys.sync()?;
            tracing::info!(dir = %self.dir.display(), zeroed, "zeroed key slots no person row points at");
        }
        Ok(Allocation { count, free })
    }

    fn person_slots(&self) -> Result<Vec<(Bytes32, u64)>, StoreError> {
        let rows = self.db.guarded("scanning people", |db| {
            db.scan_prefix([PERSON_PREFIX]).collect::<sled::Result<Vec<_>>>()
        })?;
        rows.iter()
            .map(|(k, v)| {
                let person = bytes32(&k[1..]).ok_or_else(|| self.corrupt("a person row's key is malformed".into()))?;
                Ok((person, self.slot_number(&person, v)?))
            })
            .collect()
    }

    fn person_slot(&self, person: &Bytes32) -> Result<Option<u64>, StoreError> {
        let value = self.get("reading a person", key(PERSON_PREFIX, &[person]))?;
        value.map(|v| self.slot_number(person, &v)).transpose()
    }

    fn slot_number(&self, person: &Bytes32, value: &[u8]) -> Result<u64, StoreError> {
        <[u8; 8]>::try_from(value)
            .map(u64::from_be_bytes)
            .map_err(|_| self.corrupt(format!("person row {} is malformed", hex::encode(person))))
    }

    /// The secrets in the slot a person row points at: it must hold a key.
    fn secrets_in(&self, person: &Bytes32, slot: u64) -> Result<PersonSecrets, StoreError> {
        if slot == NODE_SLOT {
            return Err(self.corrupt(format!("person row {} points at the node's slot", hex::encode(person))));
        }
        match self.keys.slot(slot)? {
            Slot::Holds(secrets) => Ok(secrets),
            Slot::Erased => Err(self.corrupt(format!("person row {}: key slot {slot} is erased", hex::encode(person)))),
            Slot::Damaged => Err(self.corrupt(format!(
                "person row {}: key slot {slot} fails its check",
                hex::encode(person)
            ))),
        }
    }

    fn record_person(&self, commitment: &Bytes32, value: &[u8]) -> Result<Bytes32, StoreError> {
        value
            .get(..32)
            .and_then(bytes32)
            .ok_or_else(|| self.corrupt(format!("record row {} is malformed", hex::encode(commitment))))
    }

    fn sealed_record(&self, commitment: &Bytes32, value: &[u8]) -> Result<Option<SealedRecord>, StoreError> {
        let person = self.record_person(commitment, value)?;
        let Some(slot) = self.person_slot(&person)? else {
            return Ok(None);
        };
        Ok(Some(SealedRecord {
            commitment: *commitment,
            person,
            secrets: self.secrets_in(&person, slot)?,
            sealed: value[32..].to_vec(),
        }))
    }

    fn get(&self, what: &'static str, key: Vec<u8>) -> Result<Option<sled::IVec>, StoreError> {
        self.db.guarded(what, |db| db.get(key))
    }

    fn writer(&self) -> MutexGuard<'_, Allocation> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_rows(&self) -> RwLockReadGuard<'_, ()> {
        self.rows.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Test hook: replaces a record row's stored bytes as damage would.
    #[cfg(test)]
    pub(crate) fn damage_record(&self, commitment: &Bytes32, value: &[u8]) -> Result<(), StoreError> {
        let mut writes = sled::Batch::default();
        writes.insert(key(RECORD_PREFIX, &[commitment]), value);
        self.db.apply(writes)
    }

    /// Test hook: a record row's stored bytes.
    #[cfg(test)]
    pub(crate) fn raw_record(&self, commitment: &Bytes32) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .get("reading a record", key(RECORD_PREFIX, &[commitment]))?
            .map(|v| v.to_vec()))
    }
}

fn corrupt_in(dir: &Path, detail: String) -> StoreError {
    StoreError::Corrupt {
        dir: dir.to_path_buf(),
        detail: format!("private store: {detail}"),
    }
}

/// Creates the key file with a fresh node secret in slot 0, atomically (so it
/// is absent or whole). A database with rows but no key file is damage: a new
/// node secret would silently orphan every person in it.
fn create_keys(db: &SledDb, path: &Path) -> Result<(), StoreError> {
    if db.guarded("inspecting the store", |db| db.first())?.is_some() {
        return Err(StoreError::Corrupt {
            dir: db.dir().to_path_buf(),
            detail: format!("private store: the key file {} is missing", path.display()),
        });
    }
    let node = random_secrets()
        .map_err(|e| StoreError::io(path, "choosing the node secret", std::io::Error::other(e.to_string())))?;
    files::write_atomic(path, &node.slot_bytes(NODE_SLOT)[..], files::Mode::Private)
}

/// `v` ‖ credential number → its status-list index (u32 BE), and `w` ‖ index
/// → credential number: the random positions of credentials in the board's
/// Bitstring Status Lists (`crate::vc`). Kept here, not in the log: they are
/// the board's own bookkeeping, must survive a repair of the log from a
/// mirror (a lost index would point an issued credential at another's bit),
/// and go into every backup with the private store.
const STATUS_INDEX_PREFIX: u8 = b'v';
const STATUS_OWNER_PREFIX: u8 = b'w';

impl PrivateStore {
    /// The status-list index of credential `number`, if one was assigned.
    pub fn status_index(&self, number: &str) -> Result<Option<u32>, StoreError> {
        let value = self.get("reading a status index", key(STATUS_INDEX_PREFIX, &[number.as_bytes()]))?;
        value.map(|v| self.status_index_value(&v)).transpose()
    }

    fn status_index_value(&self, value: &[u8]) -> Result<u32, StoreError> {
        <[u8; 4]>::try_from(value)
            .map(u32::from_be_bytes)
            .map_err(|_| self.corrupt("a status index row is malformed".into()))
    }

    /// The index of credential `number`, assigning the first free one that
    /// `candidates` proposes when it has none (durably, both rows in one
    /// batch, under the writer lock so two callers cannot take one index).
    /// Returns the index and whether it is new; `None` if every candidate was taken.
    pub fn assign_status_index(
        &self,
        number: &str,
        candidates: &mut dyn Iterator<Item = u32>,
    ) -> Result<Option<(u32, bool)>, StoreError> {
        let _writer = self.writer();
        if let Some(index) = self.status_index(number)? {
            return Ok(Some((index, false)));
        }
        for index in candidates {
            let owner = key(STATUS_OWNER_PREFIX, &[&index.to_be_bytes()]);
            if self.get("reading a status index", owner.clone())?.is_some() {
                continue;
            }
            let mut writes = sled::Batch::default();
            writes.insert(key(STATUS_INDEX_PREFIX, &[number.as_bytes()]), &index.to_be_bytes());
            writes.insert(owner, number.as_bytes());
            self.db.apply(writes)?;
            return Ok(Some((index, true)));
        }
        Ok(None)
    }

    /// Every assigned (credential number, index), in number order; at most
    /// `most` (the callers' list size bounds how many can exist).
    pub fn status_indexes(&self, most: usize) -> Result<Vec<(String, u32)>, StoreError> {
        let rows = self.db.guarded("listing status indexes", |db| {
            db.scan_prefix([STATUS_INDEX_PREFIX])
                .take(most)
                .collect::<sled::Result<Vec<_>>>()
        })?;
        rows.iter()
            .map(|(k, v)| {
                let number = String::from_utf8(k[1..].to_vec())
                    .map_err(|_| self.corrupt("a status index row's key is not UTF-8".into()))?;
                Ok((number, self.status_index_value(v)?))
            })
            .collect()
    }
}

#[cfg(test)]
mod status_index_tests {
    use super::*;

    #[test]
    fn an_index_is_assigned_once_never_shared_and_kept_across_a_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = PrivateStore::open(dir.path()).expect("opens");
        let first = store
            .assign_status_index("MS-1", &mut [7, 9].into_iter())
            .expect("writes");
        assert_eq!(first, Some((7, true)));
        let again = store.assign_status_index("MS-1", &mut [9].into_iter()).expect("reads");
        assert_eq!(again, Some((7, false)), "a credential keeps its index");
        let second = store
            .assign_status_index("MS-2", &mut [7, 7, 9].into_iter())
            .expect("writes");
        assert_eq!(second, Some((9, true)), "a taken index is skipped");
        let full = store
            .assign_status_index("MS-3", &mut [7, 9].into_iter())
            .expect("reads");
        assert_eq!(full, None);
        drop(store);
        let store = PrivateStore::open(dir.path()).expect("reopens");
        assert_eq!(store.status_index("MS-2").expect("reads"), Some(9));
        assert_eq!(store.status_index("MS-3").expect("reads"), None);
        let all = store.status_indexes(10).expect("lists");
        assert_eq!(all, vec![("MS-1".to_string(), 7), ("MS-2".to_string(), 9)]);
        assert_eq!(store.status_indexes(1).expect("lists").len(), 1, "bounded");
    }
}
