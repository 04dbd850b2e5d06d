//! Snapshots of the registry, so a node restarts without replaying everything.
//!
//! Format: the magic line, the 32-byte root of the log at the snapshot's size
//! (so a snapshot of another log, or of a fork, is never applied), the
//! registry encoded with postcard, and a SHA-256 of all that. A snapshot that
//! fails any check is ignored and the registry is rebuilt from the log.

use sha2::{Digest, Sha256};

use super::Registry;
use crate::error::{Error, Result};
use crate::log::merkle::Hash;

const MAGIC: &[u8] = b"peerreg projection snapshot v2\n";

/// Encodes `registry`, taken at the log whose root at `registry.size` is `root`.
pub fn encode(registry: &Registry, root: &Hash) -> Result<Vec<u8>> {
    let body = postcard::to_stdvec(registry).map_err(|e| Error::Internal(format!("encoding a snapshot: {e}")))?;
    let mut bytes = Vec::with_capacity(MAGIC.len() + 32 + body.len() + 32);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(root);
    bytes.extend_from_slice(&body);
    let checksum: Hash = Sha256::digest(&bytes).into();
    bytes.extend_from_slice(&checksum);
    Ok(bytes)
}

/// Decodes a snapshot into the registry and the log root it was taken at.
pub fn decode(bytes: &[u8]) -> std::result::Result<(Registry, Hash), String> {
    let Some(rest) = bytes.strip_prefix(MAGIC) else {
        return Err("not a peerreg snapshot (or an unknown version)".into());
    };
    if rest.len() < 64 {
        return Err("truncated".into());
    }
    let (content, checksum) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(content).as_slice() != checksum {
        return Err("checksum mismatch".into());
    }
    let (root, body) = rest[..rest.len() - 32].split_at(32);
    let registry = postcard::from_bytes(body).map_err(|e| format!("undecodable: {e}"))?;
    let root = Hash::try_from(root).map_err(|_| "malformed root".to_string())?;
    Ok((registry, root))
}
