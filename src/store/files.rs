//! Small files beside the database, written so a crash leaves either the old or
//! the new content, never a torn mix: temp file, fsync, rename, fsync directory.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::StoreError;

/// How many fresh temp names `write_atomic` tries before giving up. Each name
/// holds 64 random bits, so a second try only happens when someone planted a
/// file at exactly that name.
const TEMP_NAME_ATTEMPTS: usize = 8;

/// Who may read a file written by [`write_atomic`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The process's default permissions (checkpoints, trust list, evidence).
    Readable,
    /// Only the node's user (mode 0600 on Unix).
    Private,
}

/// Creates `dir` (and parents) and makes every new directory entry durable:
/// the parent of each directory created here is fsynced, top down.
pub fn create_dir_durable(dir: &Path) -> Result<(), StoreError> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|ancestor| !ancestor.as_os_str().is_empty() && !ancestor.is_dir())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, "creating the directory", e))?;
    for created in missing.iter().rev() {
        sync_dir(parent_dir(created))?;
    }
    Ok(())
}

/// Makes `dir` readable only by its owner (the node's user): the private
/// store is ciphertext, but its layout and sizes are nobody else's business.
pub fn restrict_to_owner(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| StoreError::io(dir, "restricting the directory to its owner", e))?;
    }
    Ok(())
}

/// The directory holding `path` (`.` for a bare relative name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, "syncing the directory", e))
}

/// Replaces `path` atomically and durably with `contents`. The temp file gets a
/// fresh random name and is created exclusively (`O_CREAT|O_EXCL`), so nothing
/// planted beside `path` (a symlink, a file) is ever opened, followed or
/// truncated, and two writers never share a temp file. `Mode::Private` files
/// (signing keys, token hashes) are created 0600 before any byte is written.
pub fn write_atomic(path: &Path, contents: &[u8], mode: Mode) -> Result<(), StoreError> {
    let dir = parent_dir(path);
    let (temp, mut file) = create_temp(path, mode == Mode::Private)?;
    let written = file
        .write_all(contents)
        .map_err(|e| StoreError::io(&temp, "writing", e))
        .and_then(|()| file.sync_all().map_err(|e| StoreError::io(&temp, "syncing", e)))
        .and_then(|()| fs::rename(&temp, path).map_err(|e| StoreError::io(path, "renaming into place", e)));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    sync_dir(dir)
}

/// A new, empty temp file beside `path`, under a name nobody else holds.
fn create_temp(path: &Path, private: bool) -> Result<(PathBuf, File), StoreError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut last_error = None;
    for _ in 0..TEMP_NAME_ATTEMPTS {
        let mut suffix = [0u8; 8];
        getrandom::getrandom(&mut suffix)
            .map_err(|e| StoreError::io(path, "choosing a temp name", std::io::Error::other(e.to_string())))?;
        let temp = parent_dir(path).join(format!(".{file_name}.{}.tmp", hex::encode(suffix)));
        match options.open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => last_error = Some((temp, e)),
            Err(e) => return Err(StoreError::io(&temp, "creating", e)),
        }
    }
    let (temp, e) = last_error.unwrap_or_else(|| (path.to_path_buf(), ErrorKind::AlreadyExists.into()));
    Err(StoreError::io(&temp, "creating", e))
}

/// Reads a whole file; a missing file is `None`.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, "reading", e)),
    }
}

/// Removes the directory `target`, which must be a plain name directly inside
/// `parent` (not `.` or `..`, not a symlink). Every removal of a directory
/// whose name was derived from outside input goes through here, so a name
/// that slipped past validation still cannot reach outside `parent`.
pub fn remove_dir_within(parent: &Path, target: &Path) -> Result<(), StoreError> {
    let plain_name = matches!(target.components().next_back(), Some(std::path::Component::Normal(_)));
    assert!(
        plain_name && target.parent() == Some(parent),
        "refusing to remove {} outside {}",
        target.display(),
        parent.display()
    );
    let metadata = fs::symlink_metadata(target).map_err(|e| StoreError::io(target, "inspecting", e))?;
    if !metadata.is_dir() {
        return Err(StoreError::io(
            target,
            "removing",
            std::io::Error::new(ErrorKind::InvalidInput, "not a directory (a symlink is never followed)"),
        ));
    }
    fs::remove_dir_all(target).map_err(|e| StoreError::io(target, "removing", e))?;
    sync_dir(parent)
}

/// Whether `name` is one of [`write_atomic`]'s temp files: `.<name>.<16 hex>.tmp`.
fn is_temp_name(name: &str) -> bool {
    let Some(middle) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    middle
        .rsplit_once('.')
        .is_some_and(|(_, suffix)| suffix.len() == 16 && suffix.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Removes the temp files a crash left in `dir` between creating and renaming
/// them (their content was never published: the rename is the commit point).
/// Only regular files with exactly `write_atomic`'s temp names are touched.
pub fn remove_stale_temps(dir: &Path) -> Result<usize, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io(dir, "listing", e)),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let stale =
            entry.file_name().to_str().is_some_and(is_temp_name) && entry.file_type().is_ok_and(|kind| kind.is_file());
        if stale {
            fs::remove_file(entry.path())
                .map_err(|e| StoreError::io(&entry.path(), "removing a stale temp file", e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Copies the file `from` to the new file `to` (never an existing one) and
/// syncs it; `Mode::Private` copies are created 0600.
pub fn copy_durably(from: &Path, to: &Path, mode: Mode) -> Result<(), StoreError> {
    let mut source = File::open(from).map_err(|e| StoreError::io(from, "opening", e))?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if mode == Mode::Private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut target = options.open(to).map_err(|e| StoreError::io(to, "creating", e))?;
    std::io::copy(&mut source, &mut target).map_err(|e| StoreError::io(to, "copying into", e))?;
    target.sync_all().map_err(|e| StoreError::io(to, "syncing", e))
}

/// Copies the directory tree `from` into the new directory `to`, every file
/// and directory synced. Symlinks and other special files are not followed:
/// a tree holding one is refused.
pub fn copy_tree_durably(from: &Path, to: &Path) -> Result<(), StoreError> {
    create_dir_durable(to)?;
    let listing = fs::read_dir(from).map_err(|e| StoreError::io(from, "listing", e))?;
    for item in listing {
        let item = item.map_err(|e| StoreError::io(from, "listing", e))?;
        let kind = item
            .file_type()
            .map_err(|e| StoreError::io(&item.path(), "inspecting", e))?;
        let target = to.join(item.file_name());
        if kind.is_dir() {
            copy_tree_durably(&item.path(), &target)?;
        } else if kind.is_file() {
            copy_durably(&item.path(), &target, Mode::Readable)?;
        } else {
            let refused = std::io::Error::new(ErrorKind::InvalidInput, "not a regular file or directory");
            return Err(StoreError::io(&item.path(), "copying", refused));
        }
    }
    sync_dir(to)
}
