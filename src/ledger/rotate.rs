//! Rotating the log's signing key (the operator's path only).
//!
//! A rotation creates a new key, writes it to its own key file beside the
//! first one (`<data>/log-<8 hex key ID>.key`, mode 0600, never overwritten),
//! then appends one `SigningKeyRotated` entry naming the new verifier key,
//! signed by the key in force. Entries after it are signed by the new key;
//! checkpoints that hold it are signed by the new key and, for
//! `key_transition_entries` entries past it, by the previous key too (two
//! signature lines of one note), so readers that have not read the rotation
//! entry yet keep opening them. The chain is found again at open from the
//! store (which lists the rotation entries) and the key files; a key file
//! that is missing is refused, as the first key's is.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use tokio::sync::oneshot;

use super::{writer_stopped, AppendRequest, Ledger, Receipt};
use crate::error::{Error, Result};
use crate::log::keys::LogKeys;
use crate::log::note::{NoteSigner, NoteVerifier};
use crate::pb;
use crate::store::files;

/// What a rotation hands back.
#[derive(Clone, Debug)]
pub struct KeyRotation {
    pub receipt: Receipt,
    /// The new verifier key string.
    pub new_verifier_key: String,
    /// The previous verifier key string (the one that signed the entry).
    pub previous_verifier_key: String,
    pub key_file: PathBuf,
}

/// Where a key introduced by a rotation is kept.
pub fn rotated_key_path(data_dir: &Path, verifier: &NoteVerifier) -> PathBuf {
    data_dir.join(format!("log-{}.key", hex::encode(verifier.key_id())))
}

/// The writer's keys at open: the key in force and, when there is one, the
/// key before it (for the transition period's second signature).
pub(super) struct Signers {
    pub current: NoteSigner,
    pub previous: Option<NoteSigner>,
}

/// Finds the signing keys of `keys`' newest two keys: `first` (the key file
/// the node was started with) or a rotated key file in `data_dir`.
pub(super) fn signers(first: NoteSigner, keys: &LogKeys, data_dir: &Path) -> Result<Signers> {
    if first.verifier() != keys.pinned() {
        return Err(Error::Internal(
            "the ledger was opened with another key than its pinned one".into(),
        ));
    }
    let Some(previous) = keys.previous() else {
        return Ok(Signers {
            current: first,
            previous: None,
        });
    };
    let current = load(data_dir, keys.current())?;
    let previous = if previous == first.verifier() {
        first
    } else {
        load(data_dir, previous)?
    };
    Ok(Signers {
        current,
        previous: Some(previous),
    })
}

/// Loads the rotated key `verifier` names from its key file.
fn load(data_dir: &Path, verifier: &NoteVerifier) -> Result<NoteSigner> {
    let path = rotated_key_path(data_dir, verifier);
    let Some(bytes) = files::read_optional(&path)? else {
        return Err(Error::FailedPrecondition(format!(
            "the log's signing key {} (introduced by a key rotation) is missing: restore {} from its backup",
            verifier.to_key_string(),
            path.display()
        )));
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::InvalidArgument(format!("key file {}: not UTF-8", path.display())))?;
    let signer =
        NoteSigner::parse(&text).map_err(|e| Error::InvalidArgument(format!("key file {}: {e}", path.display())))?;
    if signer.verifier() != verifier {
        return Err(Error::FailedPrecondition(format!(
            "key file {} holds another key than the one the log introduced ({})",
            path.display(),
            verifier.to_key_string()
        )));
    }
    Ok(signer)
}

impl Ledger {
    /// Sets how many entries past a rotation checkpoints carry the previous
    /// key's signature too (from the node's configuration).
    pub fn set_key_transition_entries(&self, entries: u64) {
        self.shared.key_transition_entries.store(entries, Ordering::Relaxed);
    }

    /// Entries past a rotation during which checkpoints carry both signatures.
    pub fn key_transition_entries(&self) -> u64 {
        self.shared.key_transition_entries.load(Ordering::Relaxed)
    }

    /// Rotates the log's signing key: creates the new key file, appends the
    /// rotation entry signed by the key in force, and returns once it is
    /// durable and published. The operator's path only; `FAILED_PRECONDITION`
    /// on a mirror.
    pub async fn rotate_key(&self) -> Result<KeyRotation> {
        let appends = self.writer()?;
        let previous_verifier_key = self.keys().current().to_key_string();
        let new = NoteSigner::generate(self.verifier().name())
            .map_err(|e| Error::Internal(format!("cannot create a new log key: {e}")))?;
        let key_file = rotated_key_path(self.data_dir(), new.verifier());
        if key_file.exists() {
            return Err(Error::AlreadyExists(format!(
                "{} already exists; refusing to overwrite a signing key",
                key_file.display()
            )));
        }
        files::write_atomic(
            &key_file,
            format!("{}\n", new.to_key_string()).as_bytes(),
            files::Mode::Private,
        )?;
        let new_verifier_key = new.verifier().to_key_string();
        tracing::info!(key_file = %key_file.display(), verifier_key = %new_verifier_key, "created a new log signing key; appending its rotation entry");
        let body = pb::command::Body::SigningKeyRotated(pb::SigningKeyRotated {
            new_verifier_key: new_verifier_key.clone(),
        });
        let (reply, answer) = oneshot::channel();
        let request = AppendRequest {
            event_id: format!("log-key-rotation-{}", hex::encode(new.verifier().key_id())),
            body,
            reply,
            rotate_to: Some(Box::new(new)),
        };
        appends.send(request).await.map_err(|_| writer_stopped())?;
        let receipt = answer.await.map_err(|_| writer_stopped())??;
        Ok(KeyRotation {
            receipt,
            new_verifier_key,
            previous_verifier_key,
            key_file,
        })
    }
}
