//! A sled database made durable and panic-safe: the machinery both the log's
//! [`Store`](super::Store) and the [`private`](super::private) store stand on.
//!
//! sled 0.34's `flush` only issues `sync_file_range`, so [`SledDb::apply`] also
//! `fdatasync`s the `db` file and any new blob files. sled hides corruption (it
//! panics or silently loses keys), so every call into sled runs under
//! `catch_unwind` ([`SledDb::guarded`]) and a panic becomes
//! [`StoreError::Panicked`] naming the directory and what was being done.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use super::{fault, files, StoreError};

pub(super) struct SledDb {
    /// `Some` while open. `drop` and `reopen` take it out to close sled under
    /// `catch_unwind` (sled flushes on drop, and can panic there on a damaged
    /// store); `None` only after a failed `reopen`. Every call holds the read
    /// lock, so `reopen` closes sled only when no call is inside it.
    db: RwLock<Option<sled::Db>>,
    dir: PathBuf,
    /// sled's single data file, `fdatasync`ed after every flush.
    db_file: File,
    /// Blob files already synced; sled writes large pages to `blobs/` unsynced.
    synced_blobs: Mutex<HashSet<OsString>>,
}

fn panic_detail(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".to_string())
}

impl SledDb {
    /// Opens (or creates) the sled database in `dir`. A panic inside sled is
    /// turned into an error that names `dir`.
    pub(super) fn open(dir: &Path) -> Result<SledDb, StoreError> {
        files::create_dir_durable(dir)?;
        let db = open_sled(dir)?;
        let db_path = dir.join("db");
        let db_file = File::open(&db_path).map_err(|e| StoreError::io(&db_path, "opening", e))?;
        files::sync_dir(dir)?;
        let store = SledDb {
            db: RwLock::new(Some(db)),
            dir: dir.to_path_buf(),
            db_file,
            synced_blobs: Mutex::new(HashSet::new()),
        };
        store.sync_blobs(true)?;
        Ok(store)
    }

    /// Closes sled and opens it again from what is on disk. After an I/O error
    /// sled refuses every write until it is reopened; whatever it had taken in
    /// memory but not made durable is gone afterwards, so the caller writes it
    /// again. Waits for calls in progress; calls made meanwhile wait for it.
    pub(super) fn reopen(&self) -> Result<(), StoreError> {
        let mut db = self.db.write().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = db.take() {
            close(&self.dir, old);
        }
        *db = Some(open_sled(&self.dir)?);
        drop(db);
        self.sync_blobs(true)
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs a sled call, turning a panic or an error into a `StoreError`: an
    /// I/O error stays `Io`, anything else sled reports is corruption.
    pub(super) fn guarded<T>(
        &self,
        what: &'static str,
        call: impl FnOnce(&sled::Db) -> sled::Result<T>,
    ) -> Result<T, StoreError> {
        let db = self.db.read().unwrap_or_else(|p| p.into_inner());
        let Some(db) = db.as_ref() else {
            let closed = std::io::Error::other("sled is closed after a failed reopen");
            return Err(StoreError::io(&self.dir, what, closed));
        };
        match catch_unwind(AssertUnwindSafe(|| call(db))) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(sled::Error::Io(source))) => Err(StoreError::io(&self.dir, what, source)),
            Ok(Err(e)) => Err(self.corrupt(format!("{what}: {e}"))),
            Err(payload) => Err(StoreError::Panicked {
                dir: self.dir.clone(),
                what: what.into(),
                detail: panic_detail(payload),
            }),
        }
    }

    pub(super) fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            dir: self.dir.clone(),
            detail,
        }
    }

    /// Applies `writes` atomically, then makes them durable: acknowledged means
    /// on stable storage (DESIGN.md §1.5).
    pub(super) fn apply(&self, writes: sled::Batch) -> Result<(), StoreError> {
        self.guarded("writing a batch", |db| db.apply_batch(writes))?;
        self.sync()
    }

    /// sled's flush, then the fdatasync sled does not do.
    pub(super) fn sync(&self) -> Result<(), StoreError> {
        fault::check(&self.dir).map_err(|e| StoreError::io(&self.dir.join("db"), "fdatasync", e))?;
        self.guarded("flushing", |db| db.flush())?;
        self.db_file
            .sync_data()
            .map_err(|e| StoreError::io(&self.dir.join("db"), "fdatasync", e))?;
        self.sync_blobs(false)
    }

    /// Syncs blob files sled wrote since the last call (all of them on open).
    fn sync_blobs(&self, all: bool) -> Result<(), StoreError> {
        let blobs = self.dir.join("blobs");
        let Ok(listing) = std::fs::read_dir(&blobs) else {
            return Ok(());
        };
        let mut synced = self
            .synced_blobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut any_new = false;
        for item in listing.flatten() {
            let name = item.file_name();
            if all || !synced.contains(&name) {
                let path = item.path();
                File::open(&path)
                    .and_then(|f| f.sync_data())
                    .map_err(|e| StoreError::io(&path, "fdatasync", e))?;
                synced.insert(name);
                any_new = true;
            }
        }
        if any_new {
            files::sync_dir(&blobs)?;
        }
        Ok(())
    }
}

/// How long an open waits for the lock of a store closed a moment ago in this
/// process (sled's last background work on it may still hold a handle).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens sled in `dir`, waiting up to [`LOCK_WAIT`] for its file lock; a
/// panic inside sled becomes an error naming `dir`.
fn open_sled(dir: &Path) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    loop {
        match try_open_sled(dir) {
            Err(StoreError::Io { source, .. })
                if source.to_string().starts_with("could not acquire lock") && started.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn try_open_sled(dir: &Path) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new().path(dir).flush_every_ms(None);
    match catch_unwind(AssertUnwindSafe(|| config.open())) {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(sled::Error::Io(source))) => Err(StoreError::io(dir, "opening the store", source)),
        Ok(Err(e)) => Err(StoreError::Open {
            dir: dir.to_path_buf(),
            detail: e.to_string(),
        }),
        Err(payload) => Err(StoreError::Panicked {
            dir: dir.to_path_buf(),
            what: "opening".into(),
            detail: panic_detail(payload),
        }),
    }
}

/// Closes sled, which flushes and can panic on a damaged store.
/// Copies every tree of `db` into a new sled database in `target` (which must
/// not exist yet), through sled's export/import, streaming (memory stays
/// bounded by sled's pages, not the store's size). Consistent when nothing
/// writes meanwhile: the caller holds the store's writer. The copy is
/// flushed, synced and closed before this returns.
fn export_into(dir: &Path, db: &sled::Db, target: &Path) -> Result<(), StoreError> {
    if target.exists() {
        let exists = std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the target exists");
        return Err(StoreError::io(target, "exporting", exists));
    }
    files::create_dir_durable(target)?;
    let copy = try_open_sled(target)?;
    let imported = catch_unwind(AssertUnwindSafe(|| {
        copy.import(db.export());
        copy.flush()
    }));
    close(target, copy);
    match imported {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Err(StoreError::io(
                target,
                "exporting",
                std::io::Error::other(e.to_string()),
            ))
        }
        Err(payload) => {
            return Err(StoreError::Panicked {
                dir: dir.to_path_buf(),
                what: "exporting".into(),
                detail: panic_detail(payload),
            })
        }
    }
    let db_path = target.join("db");
    File::open(&db_path)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(&db_path, "fsync", e))?;
    files::sync_dir(target)
}

impl SledDb {
    /// See [`export_into`]; waits for a `reopen` in progress.
    pub(super) fn export_to(&self, target: &Path) -> Result<(), StoreError> {
        let db = self.db.read().unwrap_or_else(|p| p.into_inner());
        let Some(db) = db.as_ref() else {
            let closed = std::io::Error::other("sled is closed after a failed reopen");
            return Err(StoreError::io(&self.dir, "exporting", closed));
        };
        export_into(&self.dir, db, target)
    }
}

/// Whether a process holds the sled database in `dir` open: sled locks its
/// `db` file exclusively (flock) while open, so a lock we can take means none.
pub(super) fn in_use(dir: &Path) -> Result<bool, StoreError> {
    use fs2::FileExt;
    let db_path = dir.join("db");
    let file = match File::open(&db_path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(StoreError::io(&db_path, "opening", e)),
    };
    match file.try_lock_exclusive() {
        Ok(()) => {
            let _ = FileExt::unlock(&file);
            Ok(false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(true),
        Err(e) if e.raw_os_error() == fs2::lock_contended_error().raw_os_error() => Ok(true),
        Err(e) => Err(StoreError::io(&db_path, "locking", e)),
    }
}

fn close(dir: &Path, db: sled::Db) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(db))) {
        let detail = panic_detail(payload);
        tracing::error!(dir = %dir.display(), %detail, "sled panicked while closing the store");
    }
}

impl Drop for SledDb {
    fn drop(&mut self) {
        let db = self.db.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(db) = db.take() {
            close(&self.dir, db);
        }
    }
}
