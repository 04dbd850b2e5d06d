//! A node's settings. `peerreg serve --state MS` works with no configuration at
//! all: everything below has an embedded default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::domain::profile::RequirementProfile;
use crate::error::{Error, Result};
use crate::log::note::NoteSigner;
use crate::store::files;

/// US jurisdictions with certification boards: 50 states, DC and territories.
pub const STATE_CODES: [&str; 56] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME",
    "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA",
    "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC", "AS", "GU", "MP", "PR", "VI",
];

/// Default listen address: loopback only, until an operator decides otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Checks and normalises a state code (`ms` → `MS`).
pub fn parse_state(code: &str) -> Result<String> {
    let upper = code.trim().to_ascii_uppercase();
    if STATE_CODES.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(Error::InvalidArgument(format!(
            "{code:?} is not a US state, DC or territory code (e.g. MS, TN, DC, PR)"
        )))
    }
}

/// The default checkpoint origin of a local node: `peerreg.local/<state>`.
pub fn default_origin(state: &str) -> String {
    format!("peerreg.local/{}", state.to_ascii_lowercase())
}

/// Everything `serve` needs.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub state: String,
    /// Holds the log, the published checkpoint and (by default) the key.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Checkpoint origin and key name.
    pub origin: String,
    /// The signing key file; created with mode 0600 on first start if missing.
    pub key_file: PathBuf,
    /// Accept a store that has no published checkpoint file beside it.
    pub accept_store_as_is: bool,
    /// What this state demands. Default: the shipped example for the state, or
    /// the SAMHSA-model-standards-style example relabelled for it.
    pub profile: RequirementProfile,
}

impl NodeConfig {
    /// The embedded defaults for `state`.
    pub fn for_state(state: &str) -> Result<NodeConfig> {
        let state = parse_state(state)?;
        let data_dir = PathBuf::from("data").join(state.to_ascii_lowercase());
        let listen = DEFAULT_LISTEN
            .parse()
            .map_err(|e| Error::Internal(format!("default listen address: {e}")))?;
        Ok(NodeConfig {
            origin: default_origin(&state),
            key_file: data_dir.join("log.key"),
            data_dir,
            listen,
            profile: RequirementProfile::example_for(&state).unwrap_or_else(|| RequirementProfile::default_for(&state)),
            state,
            accept_store_as_is: false,
        })
    }
}

/// Loads the signing key for `origin` from `path`, creating it (0600) if absent.
pub fn load_or_create_signer(path: &Path, origin: &str) -> Result<NoteSigner> {
    let invalid = |e: String| Error::InvalidArgument(format!("key file {}: {e}", path.display()));
    match files::read_optional(path)? {
        Some(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8".into()))?;
            let signer = NoteSigner::parse(&text).map_err(|e| invalid(e.to_string()))?;
            if signer.verifier().name() != origin {
                return Err(invalid(format!(
                    "the key is for origin {:?}, but this node's origin is {origin:?}",
                    signer.verifier().name()
                )));
            }
            Ok(signer)
        }
        None => {
            let signer = NoteSigner::generate(origin).map_err(|e| invalid(e.to_string()))?;
            if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                files::create_dir_durable(dir)?;
            }
            files::write_atomic(path, format!("{}\n", signer.to_key_string()).as_bytes(), true)?;
            tracing::info!(key_file = %path.display(), verifier_key = %signer.verifier().to_key_string(), "generated a new log signing key");
            Ok(signer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_codes_are_checked_and_normalised() {
        assert_eq!(parse_state("ms").ok(), Some("MS".to_string()));
        assert_eq!(parse_state("PR").ok(), Some("PR".to_string()));
        assert!(parse_state("XX").is_err());
        assert!(parse_state("").is_err());
    }

    #[test]
    fn a_generated_key_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("sub/log.key");
        let created = load_or_create_signer(&path, "peerreg.local/ms").unwrap_or_else(|e| panic!("{e}"));
        let loaded = load_or_create_signer(&path, "peerreg.local/ms").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(created.verifier(), loaded.verifier());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        assert!(
            load_or_create_signer(&path, "peerreg.local/tn").is_err(),
            "a key for another origin"
        );
    }
}
