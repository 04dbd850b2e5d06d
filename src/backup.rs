//! Backups of a running node and their restore, without the network: what a
//! backup holds, how the node stages one, how a copy is checked against its
//! manifest, and how a restore installs it. `Admin.Backup` streams a staged
//! backup; `peerreg backup` writes it; `peerreg restore` checks it, asks the
//! trusted states what they have seen of this log (`cli::backup`) and installs.
//!
//! A backup directory holds `log/` (the log's tiles, its checkpoint and its
//! index, copied) and `private/` (a sled database, exported), both with the
//! committer paused between group commits so they agree, `trust.toml`, `tokens.toml`,
//! `alerts.json` and `received/` when the node has them, `log.key` (and the
//! VC issuer's `issuer.key`, when the node has one) only when asked, and `manifest.json` (log size, root hash, the signed checkpoint and
//! every file's size and SHA-256). The registry snapshot is left out: it is a
//! cache, rebuilt from the log at the first start. The requirement profile is
//! configuration kept outside the data directory, so it is not copied.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::federation::alerts::ALERTS_FILE;
use crate::federation::trust::trust_path;
use crate::ledger::{self, Ledger};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::log::keys::LogKeys;
use crate::log::note::{Checkpoint, NoteVerifier};
use crate::store::files;
use crate::vault::vault_path;

/// The manifest's file name inside a backup.
pub const MANIFEST: &str = "manifest.json";
/// The largest piece of a file a backup stream carries: with the stream's
/// queue of [`QUEUE_CHUNKS`], the memory a backup in flight holds.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Chunks read ahead of the client.
pub const QUEUE_CHUNKS: usize = 4;
/// The most files a backup may list (sled keeps few; `received/` one per state).
pub const FILES_MAX: usize = 10_000;
/// Where a restore records the reason a rollback was accepted.
pub const ROLLBACK_FILE: &str = "restored-rollback.txt";
/// The signing key's name inside a backup (and a data directory).
pub const KEY_FILE: &str = "log.key";
/// The board's VC issuer key (`crate::vc`), backed up with the log key: VCs
/// already issued name it, and their status lists must stay signed by it.
pub const ISSUER_KEY_FILE: &str = "issuer.key";

/// This node's witness key (`crate::witness`): partners pin it, so a
/// restored node should keep cosigning under it.
pub const WITNESS_KEY_FILE: &str = "witness.key";
const FORMAT: u32 = 1;

/// One file of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSum {
    /// Relative, "/"-separated.
    pub path: String,
    pub bytes: u64,
    /// Hex SHA-256 of the contents.
    pub sha256: String,
}

/// What a backup holds and how to check it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub state: String,
    /// The log's verifier key: the checkpoint is checked with it.
    pub verifier_key: String,
    pub log_size: u64,
    /// Hex of the tree's root hash at `log_size`.
    pub root_hash: String,
    /// The signed checkpoint note the copy holds.
    pub checkpoint: String,
    pub created_unix: i64,
    pub include_keys: bool,
    pub files: Vec<FileSum>,
    /// The log's key rotation entries below `log_size` (index, standard
    /// base64 of the entry): the chain from `verifier_key` to the key that
    /// signed `checkpoint`, each entry signed by the key before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_rotations: Vec<(u64, String)>,
}

impl Manifest {
    /// The log's keys: the manifest's verifier key, then each key its
    /// rotation entries introduce (each checked against the key before it).
    pub fn keys(&self) -> Result<LogKeys> {
        let verifier = NoteVerifier::parse(&self.verifier_key)
            .map_err(|e| Error::DataLoss(format!("the manifest's verifier key is not one: {e}")))?;
        let mut entries = Vec::with_capacity(self.key_rotations.len());
        for (index, text) in self.key_rotations.iter().take(crate::log::keys::ROTATIONS_MAX + 1) {
            let entry = BASE64
                .decode(text)
                .map_err(|_| Error::DataLoss(format!("the manifest's key rotation entry {index} is not base64")))?;
            entries.push((*index, entry));
        }
        LogKeys::from_rotations(verifier, &entries)
            .map_err(|e| Error::DataLoss(format!("the manifest's key rotations do not verify: {e}")))
    }

    /// The checkpoint, checked with the manifest's keys and against its size and root.
    pub fn checked_checkpoint(&self) -> Result<Checkpoint> {
        let checkpoint = self
            .keys()?
            .open_checkpoint(self.checkpoint.as_bytes())
            .map_err(|e| Error::DataLoss(format!("the manifest's checkpoint does not verify: {e}")))?;
        if checkpoint.size != self.log_size || hex::encode(checkpoint.root) != self.root_hash {
            return Err(Error::DataLoss(
                "the manifest's checkpoint does not match its log size and root".into(),
            ));
        }
        Ok(checkpoint)
    }

    /// The origin of the backed-up log (the verifier key's name).
    pub fn origin(&self) -> Result<String> {
        NoteVerifier::parse(&self.verifier_key)
            .map(|v| v.name().to_string())
            .map_err(|e| Error::DataLoss(format!("the manifest's verifier key is not one: {e}")))
    }
}

/// A backup staged on the node, removed when dropped.
pub struct Staged {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), "cannot remove a staged backup: {e}");
        }
    }
}

/// Where a node stages a backup (inside its data directory, so on its disk).
fn staging_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("backup.staging")
}

/// Stages a consistent backup of `ledger`'s node in `<data>/backup.staging`
/// (one at a time; a leftover from an interrupted one is removed first):
/// the stores exported with the committer paused, then the small files
/// beside them, then the manifest. Blocking; needs as much free disk as the
/// stores take.
pub fn stage(ledger: &Ledger, tokens_file: Option<&Path>, include_keys: bool) -> Result<Staged> {
    let data_dir = ledger.data_dir().to_path_buf();
    let dir = staging_dir(&data_dir);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| Error::Internal(format!("removing {}: {e}", dir.display())))?;
    }
    files::create_dir_durable(&dir)?;
    files::restrict_to_owner(&dir)?;
    let mut staged = Staged {
        dir: dir.clone(),
        manifest: Manifest {
            format: FORMAT,
            state: ledger.state().to_string(),
            verifier_key: ledger.verifier().to_key_string(),
            log_size: 0,
            root_hash: String::new(),
            checkpoint: String::new(),
            created_unix: crate::mirror::unix_now(),
            include_keys,
            files: Vec::new(),
            key_rotations: Vec::new(),
        },
    };
    let published = ledger.export_to(&dir)?;
    let mut small = vec![
        (trust_path(&data_dir), "trust.toml".to_string()),
        (data_dir.join(ALERTS_FILE), ALERTS_FILE.to_string()),
    ];
    if let Some(tokens) = tokens_file {
        small.push((tokens.to_path_buf(), "tokens.toml".to_string()));
    }
    if include_keys {
        let key = data_dir.join(KEY_FILE);
        if !key.exists() {
            return Err(Error::FailedPrecondition(format!(
                "--include-keys: the signing key is not in the data directory ({KEY_FILE}); copy it from where \
                 the node's --key points"
            )));
        }
        small.push((key, KEY_FILE.to_string()));
        for rotation in ledger.keys().rotations() {
            let rotated = crate::ledger::rotated_key_path(&data_dir, &rotation.key);
            let name = rotated
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            small.push((rotated, name));
        }
        small.push((data_dir.join(ISSUER_KEY_FILE), ISSUER_KEY_FILE.to_string()));
        small.push((data_dir.join(WITNESS_KEY_FILE), WITNESS_KEY_FILE.to_string()));
    }
    small.extend(received_files(&data_dir)?);
    for (from, name) in small {
        copy_if_present(&from, &dir.join(&name))?;
    }
    staged.manifest.log_size = published.checkpoint.size;
    staged.manifest.root_hash = hex::encode(published.checkpoint.root);
    staged.manifest.checkpoint = String::from_utf8_lossy(&published.note).into_owned();
    staged.manifest.key_rotations = ledger
        .keys()
        .truncated(published.checkpoint.size)
        .rotation_entries()
        .into_iter()
        .map(|(index, entry)| (index, BASE64.encode(entry)))
        .collect();
    staged.manifest.files = sums(&dir)?;
    let text = serde_json::to_vec_pretty(&staged.manifest)
        .map_err(|e| Error::Internal(format!("encoding the manifest: {e}")))?;
    files::write_atomic(&dir.join(MANIFEST), &text, files::Mode::Readable)?;
    Ok(staged)
}

/// `received/<STATE>` cursors, as (source, name in the backup).
fn received_files(data_dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let dir = data_dir.join("received");
    let Ok(read) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_file() && !name.contains(".tmp") {
            found.push((entry.path(), format!("received/{name}")));
        }
    }
    Ok(found)
}

/// The private key files, kept to the owner (0600) wherever they are
/// copied: `log.key` and the keys rotations introduced (`log-<key ID>.key`),
/// the VC issuer key and the witness key.
fn is_key_file(name: &str) -> bool {
    name == KEY_FILE
        || name == ISSUER_KEY_FILE
        || name == WITNESS_KEY_FILE
        || (name.starts_with("log-") && name.ends_with(".key") && !name.contains('/'))
}

fn copy_if_present(from: &Path, to: &Path) -> Result<()> {
    let Some(bytes) = files::read_optional(from)? else {
        return Ok(());
    };
    if let Some(parent) = to.parent() {
        files::create_dir_durable(parent)?;
    }
    let mode = if to.file_name().is_some_and(|name| is_key_file(&name.to_string_lossy())) {
        files::Mode::Private
    } else {
        files::Mode::Readable
    };
    files::write_atomic(to, &bytes, mode)?;
    Ok(())
}

/// Every file under `dir` (but the manifest), with its size and SHA-256, in path order.
pub fn sums(dir: &Path) -> Result<Vec<FileSum>> {
    let mut paths = Vec::new();
    walk(dir, dir, &mut paths)?;
    paths.sort();
    paths.retain(|p| p != MANIFEST);
    paths.into_iter().map(|path| sum(dir, &path)).collect()
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) -> Result<()> {
    let read = std::fs::read_dir(dir).map_err(|e| Error::Internal(format!("reading {}: {e}", dir.display())))?;
    for entry in read {
        let entry = entry.map_err(|e| Error::Internal(format!("reading {}: {e}", dir.display())))?;
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, found)?;
        } else {
            let relative = path
                .strip_prefix(root)
                .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
            found.push(relative.to_string_lossy().replace('\\', "/"));
            if found.len() > FILES_MAX {
                return Err(Error::ResourceExhausted(format!(
                    "more than {FILES_MAX} files in a backup"
                )));
            }
        }
    }
    Ok(())
}

fn sum(dir: &Path, path: &str) -> Result<FileSum> {
    let full = dir.join(relative_path(path)?);
    let mut file =
        std::fs::File::open(&full).map_err(|e| Error::DataLoss(format!("{path} is missing from the backup: {e}")))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|e| Error::DataLoss(format!("reading {path} in the backup: {e}")))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        bytes += read as u64;
    }
    Ok(FileSum {
        path: path.to_string(),
        bytes,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// A backup path as a relative path that stays inside its directory: no
/// root, no `..`, no empty or `.` parts, bounded length.
pub fn relative_path(path: &str) -> Result<PathBuf> {
    let refused = || Error::InvalidArgument(format!("{} is not a path inside a backup", crate::limits::quote(path)));
    if path.is_empty() || path.len() > 512 || path.contains('\\') || path.contains('\0') {
        return Err(refused());
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(refused());
    }
    let relative = PathBuf::from(path);
    if !relative.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(refused());
    }
    Ok(relative)
}

/// Reads a backup's manifest and checks every file it lists (size and
/// SHA-256) and its checkpoint: DATA_LOSS naming the first file that differs.
pub fn verify(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let bytes = files::read_optional(&path)?
        .ok_or_else(|| Error::DataLoss(format!("{} has no {MANIFEST}: not a complete backup", dir.display())))?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| Error::DataLoss(format!("{MANIFEST} in {} is damaged: {e}", dir.display())))?;
    if manifest.format != FORMAT {
        return Err(Error::FailedPrecondition(format!(
            "the backup's format {} is not {FORMAT}, the one this version reads",
            manifest.format
        )));
    }
    manifest.checked_checkpoint()?;
    if manifest.files.len() > FILES_MAX {
        return Err(Error::DataLoss(format!("{MANIFEST} lists more than {FILES_MAX} files")));
    }
    for listed in &manifest.files {
        let found = sum(dir, &listed.path)?;
        if &found != listed {
            return Err(Error::DataLoss(format!(
                "{} in the backup is damaged: {} bytes with SHA-256 {}, the manifest says {} bytes with {}",
                listed.path, found.bytes, found.sha256, listed.bytes, listed.sha256
            )));
        }
    }
    let held = files::read_optional(&dir.join("checkpoint"))?.unwrap_or_default();
    if held != manifest.checkpoint.as_bytes() {
        return Err(Error::DataLoss(
            "the backup's checkpoint file is not the manifest's".into(),
        ));
    }
    Ok(manifest)
}

/// What may already be in a data directory a backup is restored into: the
/// last checkpoint an operator kept (compared, to refuse a rollback) and the
/// signing key (restored separately from a backup without keys).
const RESTORE_MAY_FIND: [&str; 3] = ["checkpoint", KEY_FILE, ISSUER_KEY_FILE];

/// Checks that `data_dir` may receive a restore and answers the size of the
/// checkpoint it already holds, if any. FAILED_PRECONDITION for anything
/// else in it (a restore never overwrites a node's data).
pub fn check_target(data_dir: &Path, manifest: &Manifest) -> Result<Option<u64>> {
    let Ok(read) = std::fs::read_dir(data_dir) else {
        return Ok(None);
    };
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !RESTORE_MAY_FIND.contains(&name.as_str()) {
            return Err(Error::FailedPrecondition(format!(
                "{} is not empty (it holds {name}): a restore never overwrites a node's data; restore into a new \
                 directory",
                data_dir.display()
            )));
        }
    }
    for name in [KEY_FILE, ISSUER_KEY_FILE] {
        let backed_up_key = manifest.files.iter().any(|f| f.path == name);
        if data_dir.join(name).exists() && backed_up_key {
            return Err(Error::FailedPrecondition(format!(
                "{} already holds {name} and the backup holds one too: remove one",
                data_dir.display()
            )));
        }
    }
    let Some(note) = files::read_optional(&data_dir.join("checkpoint"))? else {
        return Ok(None);
    };
    let held = manifest.keys()?.open_checkpoint(&note).map_err(|e| {
        Error::FailedPrecondition(format!(
            "the checkpoint in {} is not this log's ({e}); restore into a new directory",
            data_dir.display()
        ))
    })?;
    Ok(Some(held.size))
}

/// One place that has seen this log: a trusted state, or the target's own checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub by: String,
    pub size: u64,
}

/// The places that have seen a longer log than the backup holds.
pub fn rollbacks(manifest: &Manifest, seen: &[Seen]) -> Vec<Seen> {
    seen.iter().filter(|s| s.size > manifest.log_size).cloned().collect()
}

/// The refusal for a rollback, naming each place and both sizes.
pub fn rollback_error(manifest: &Manifest, newer: &[Seen]) -> Error {
    let named: Vec<String> = newer
        .iter()
        .map(|s| format!("{} has seen {} entries", s.by, s.size))
        .collect();
    Error::FailedPrecondition(format!(
        "the backup's log has {} entries but {}: restoring it would fork the log (every partner would record \
         equivocation once it signs again). Restore a newer backup, or pass --accept-rollback REASON",
        manifest.log_size,
        named.join(", ")
    ))
}

/// Copies one file (streaming, so memory stays bounded) and syncs it.
/// Copies a verified backup into `data_dir` (created; `private/` and the key
/// kept to the owner), then writes the rollback reason if one was accepted.
pub fn install(from: &Path, data_dir: &Path, manifest: &Manifest, rollback: Option<&str>) -> Result<()> {
    files::create_dir_durable(data_dir)?;
    for listed in &manifest.files {
        let relative = relative_path(&listed.path)?;
        let target = data_dir.join(&relative);
        if let Some(parent) = target.parent() {
            files::create_dir_durable(parent)?;
        }
        let mode = if is_key_file(&listed.path) {
            files::Mode::Private
        } else {
            files::Mode::Readable
        };
        files::copy_durably(&from.join(&relative), &target, mode)?;
    }
    let installed = crate::store::slots::read_note(&ledger::store_path(data_dir).join("checkpoint"))?;
    if installed.as_deref() != Some(manifest.checkpoint.as_bytes()) {
        return Err(Error::DataLoss(
            "the restored store's checkpoint is not the one the backup's manifest names".into(),
        ));
    }
    files::write_atomic(
        &ledger::checkpoint_path(data_dir),
        manifest.checkpoint.as_bytes(),
        files::Mode::Readable,
    )?;
    let private = vault_path(data_dir);
    if private.exists() {
        files::restrict_to_owner(&private)?;
    }
    if let Some(reason) = rollback {
        let text = format!(
            "restored at unix time {} from a backup of {} entries, accepted as a rollback: {reason}\n",
            crate::mirror::unix_now(),
            manifest.log_size
        );
        files::write_atomic(&data_dir.join(ROLLBACK_FILE), text.as_bytes(), files::Mode::Readable)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_backup_are_refused() {
        for bad in ["", "/etc/passwd", "../x", "log/../../x", "./x", "a\\b", "a//b/."] {
            assert!(relative_path(bad).is_err(), "{bad:?} is refused");
        }
        assert_eq!(relative_path("log/db").expect("fine"), PathBuf::from("log/db"));
    }

    fn manifest(size: u64) -> Manifest {
        Manifest {
            format: FORMAT,
            state: "MS".into(),
            verifier_key: String::new(),
            log_size: size,
            root_hash: String::new(),
            checkpoint: String::new(),
            created_unix: 0,
            include_keys: false,
            key_rotations: Vec::new(),
            files: Vec::new(),
        }
    }

    #[test]
    fn only_a_longer_log_seen_elsewhere_is_a_rollback() {
        let seen = [
            Seen {
                by: "TN".into(),
                size: 7,
            },
            Seen {
                by: "VA".into(),
                size: 5,
            },
            Seen {
                by: "GA".into(),
                size: 0,
            },
        ];
        let newer = rollbacks(&manifest(5), &seen);
        assert_eq!(newer, vec![seen[0].clone()]);
        let error = rollback_error(&manifest(5), &newer).to_string();
        assert!(
            error.contains("5 entries") && error.contains("TN has seen 7 entries"),
            "{error}"
        );
        assert!(rollbacks(&manifest(7), &seen).is_empty());
    }

    #[test]
    fn a_target_holding_data_is_refused_and_an_absent_one_is_fine() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(check_target(&dir.path().join("new"), &manifest(1)).expect("fine"), None);
        std::fs::create_dir(dir.path().join("log")).expect("dir");
        let error = check_target(dir.path(), &manifest(1)).expect_err("refused");
        assert!(matches!(error, Error::FailedPrecondition(_)), "{error}");
    }

    #[test]
    fn a_directory_without_a_manifest_is_not_a_backup() {
        let dir = tempfile::tempdir().expect("temp dir");
        let error = verify(dir.path()).expect_err("refused");
        assert!(matches!(error, Error::DataLoss(_)), "{error}");
    }
}
