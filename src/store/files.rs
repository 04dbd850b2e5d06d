//! Small files beside the database, written so a crash leaves either the old or
//! the new content, never a torn mix: temp file, fsync, rename, fsync directory.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::Path;

use super::StoreError;

/// Creates `dir` (and parents) and makes the new directory entry durable.
pub fn create_dir_durable(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, "creating the directory", e))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, "syncing the directory", e))
}

/// Replaces `path` atomically and durably with `contents`. `private` files
/// (signing keys) are created with mode 0600 before any byte is written.
pub fn write_atomic(path: &Path, contents: &[u8], private: bool) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{file_name}.tmp"));
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temp).map_err(|e| StoreError::io(&temp, "creating", e))?;
    file.write_all(contents)
        .map_err(|e| StoreError::io(&temp, "writing", e))?;
    file.sync_all().map_err(|e| StoreError::io(&temp, "syncing", e))?;
    fs::rename(&temp, path).map_err(|e| StoreError::io(path, "renaming into place", e))?;
    sync_dir(dir)
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
