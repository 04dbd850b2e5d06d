//! The trust list: which other states this node federates with, where their
//! nodes are, and the verifier key pinned for each. Kept in
//! `<data>/trust.toml`, managed with `peerreg trust add/list/remove`: offline
//! on a stopped node's directory, or through `Admin.AddTrust/RemoveTrust` on a
//! running one (`Federation::add_trust`), both with [`TrustList::add`]'s rules. A key is pinned here once, out of band (a board's published key),
//! and never learned from the network.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::states::parse_state;
use crate::error::{Error, Result};
use crate::limits;
use crate::log::cosignature::CosignatureVerifier;
use crate::log::note::NoteVerifier;
use crate::store::files;

/// One trusted state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustEntry {
    /// The state code, e.g. "MS".
    pub state: String,
    /// Its node's gRPC endpoint, e.g. "https://registry.ms.example:50051".
    pub endpoint: String,
    /// Its log's verifier key string (`origin+keyid+base64`), pinned.
    pub key: String,
    /// PEM file of the CA that signed its node's TLS certificate, if not a public one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// Its node's witness, if this node asks it to cosign this node's checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<TrustedWitness>,
}

/// A trusted state's witness: where its `add-checkpoint` is and its pinned
/// cosigning key (both from its board, out of band, like the log key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedWitness {
    /// The base URL of its node's HTTP side, e.g. "https://registry.ms.example:8080".
    pub url: String,
    /// Its witness verifier key string (`name+keyid+base64(0x04 ‖ key)`).
    pub key: String,
}

impl TrustEntry {
    /// Checks the state code, endpoint and key; normalises the state code.
    pub fn validated(mut self) -> Result<TrustEntry> {
        self.state = parse_state(&self.state)?;
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return Err(Error::InvalidArgument(format!(
                "the endpoint for {} must start with http:// or https://, got {:?}",
                self.state, self.endpoint
            )));
        }
        self.verifier()?;
        self.witness_verifier()?;
        Ok(self)
    }

    /// The pinned witness key, if this state witnesses this node.
    pub fn witness_verifier(&self) -> Result<Option<CosignatureVerifier>> {
        let Some(witness) = &self.witness else {
            return Ok(None);
        };
        if !(witness.url.starts_with("http://") || witness.url.starts_with("https://")) {
            return Err(Error::InvalidArgument(format!(
                "the witness URL for {} must start with http:// or https://, got {}",
                self.state,
                crate::limits::quote(&witness.url)
            )));
        }
        CosignatureVerifier::parse(&witness.key).map(Some).map_err(|e| {
            Error::InvalidArgument(format!(
                "the witness key pinned for {} is not a witness key: {e}",
                self.state
            ))
        })
    }

    /// The origin of the pinned key ("" if it is not a key: `validated` refuses those).
    pub fn origin(&self) -> String {
        self.verifier().map(|v| v.name().to_string()).unwrap_or_default()
    }

    pub fn verifier(&self) -> Result<NoteVerifier> {
        NoteVerifier::parse(&self.key).map_err(|e| {
            Error::InvalidArgument(format!("the key pinned for {} is not a verifier key: {e}", self.state))
        })
    }
}

/// What `TrustList::add` does with an existing entry for the same state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Refuse with ALREADY_EXISTS (an operator must say `--replace`).
    Refuse,
    Replace,
}

/// The whole list, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustList {
    #[serde(default, rename = "trust")]
    pub entries: Vec<TrustEntry>,
}

/// Where a node keeps its trust list.
pub fn trust_path(data_dir: &Path) -> PathBuf {
    data_dir.join("trust.toml")
}

impl TrustList {
    /// Reads `<data>/trust.toml`; an absent file is an empty list.
    pub fn load(data_dir: &Path) -> Result<TrustList> {
        let path = trust_path(data_dir);
        let Some(bytes) = files::read_optional(&path)? else {
            return Ok(TrustList::default());
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::InvalidArgument(format!("{} is not UTF-8 text", path.display())))?;
        let list: TrustList = toml::from_str(&text)
            .map_err(|e| Error::InvalidArgument(format!("{}: {}", path.display(), e.to_string().trim_end())))?;
        let entries = list
            .entries
            .into_iter()
            .map(TrustEntry::validated)
            .collect::<Result<Vec<_>>>()
            .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
        TrustList::from_entries(entries)
    }

    /// A list from entries: at most one per state, bounded in length.
    pub fn from_entries(entries: Vec<TrustEntry>) -> Result<TrustList> {
        if entries.len() > limits::TRUSTED_STATES_MAX {
            return Err(Error::ResourceExhausted(format!(
                "{} trusted states; at most {} are supported",
                entries.len(),
                limits::TRUSTED_STATES_MAX
            )));
        }
        for (i, entry) in entries.iter().enumerate() {
            if entries[..i].iter().any(|e| e.state == entry.state) {
                return Err(Error::InvalidArgument(format!("{} is listed twice", entry.state)));
            }
        }
        Ok(TrustList { entries })
    }

    /// Writes the list to `<data>/trust.toml` (atomically).
    pub fn save(&self, data_dir: &Path) -> Result<()> {
        let text = toml::to_string(self).map_err(|e| Error::Internal(format!("encoding the trust list: {e}")))?;
        let header = "# States this node federates with: endpoint and pinned verifier key.\n\
                      # Managed with `peerreg trust add/list/remove` (with --node on a running node).\n\n";
        files::create_dir_durable(data_dir)?;
        files::write_atomic(
            &trust_path(data_dir),
            format!("{header}{text}").as_bytes(),
            files::Mode::Readable,
        )?;
        Ok(())
    }

    /// Adds the entry for its state; an existing one is replaced or refused.
    /// A key whose origin another state already pins is refused (ALREADY_EXISTS):
    /// one log cannot be two states', and `--replace` only changes the same state.
    /// The one rule for the offline command and the running node alike.
    pub fn add(&mut self, entry: TrustEntry, existing: Existing) -> Result<()> {
        let entry = entry.validated()?;
        let origin = entry.verifier()?.name().to_string();
        for other in self.entries.iter().filter(|e| e.state != entry.state) {
            if other.verifier()?.name() == origin {
                return Err(Error::AlreadyExists(format!(
                    "the log {origin} is already pinned for {}; one log cannot be trusted as two states",
                    other.state
                )));
            }
        }
        let replace = existing == Existing::Replace;
        match self.entries.iter_mut().find(|e| e.state == entry.state) {
            Some(existing) if replace => *existing = entry,
            Some(existing) => {
                return Err(Error::AlreadyExists(format!(
                    "{} is already trusted (endpoint {}); pass --replace to change it",
                    existing.state, existing.endpoint
                )))
            }
            None => self.entries.push(entry),
        }
        let entries = std::mem::take(&mut self.entries);
        *self = TrustList::from_entries(entries)?;
        Ok(())
    }

    /// Removes the entry for `state`; NOT_FOUND if there is none.
    pub fn remove(&mut self, state: &str) -> Result<TrustEntry> {
        let state = parse_state(state)?;
        let position = self
            .entries
            .iter()
            .position(|e| e.state == state)
            .ok_or_else(|| Error::NotFound(format!("{state} is not in the trust list")))?;
        Ok(self.entries.remove(position))
    }

    pub fn get(&self, state: &str) -> Option<&TrustEntry> {
        self.entries.iter().find(|e| e.state == state)
    }
}

/// Moves a removed state's verified copy aside (`<dir>.removed-<unix time>`),
/// so that trusting it again starts a fresh copy; what was verified stays on
/// disk. Answers where it went (`None`: there was no copy).
pub fn set_aside(data_dir: &Path, removed: &TrustEntry) -> Result<Option<PathBuf>> {
    let dir = crate::mirror::mirror_dir(data_dir, removed.verifier()?.name());
    if !dir.exists() {
        return Ok(None);
    }
    let aside = dir.with_extension(format!("removed-{}", crate::mirror::unix_now()));
    std::fs::rename(&dir, &aside).map_err(|e| Error::Internal(format!("cannot move {} aside: {e}", dir.display())))?;
    Ok(Some(aside))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::note::NoteSigner;

    fn entry(state: &str) -> TrustEntry {
        let key = NoteSigner::from_seed(&format!("peerreg.local/{state}"), [7; 32])
            .map(|s| s.verifier().to_key_string())
            .unwrap_or_default();
        TrustEntry {
            state: state.to_lowercase(),
            endpoint: "http://127.0.0.1:1".into(),
            key,
            ca_cert: None,
            witness: None,
        }
    }

    #[test]
    fn add_list_remove_round_trip_through_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut list = TrustList::load(dir.path()).expect("works");
        assert!(list.entries.is_empty(), "no file is an empty list");
        list.add(entry("MS"), Existing::Refuse).expect("works");
        list.add(entry("VA"), Existing::Refuse).expect("works");
        list.save(dir.path()).expect("works");
        let loaded = TrustList::load(dir.path()).expect("works");
        assert_eq!(loaded, list);
        assert_eq!(
            loaded.get("MS").map(|e| e.state.as_str()),
            Some("MS"),
            "codes are normalised"
        );
        let mut loaded = loaded;
        assert_eq!(loaded.remove("ms").expect("works").state, "MS");
        assert!(matches!(loaded.remove("MS"), Err(Error::NotFound(_))));
    }

    #[test]
    fn a_second_entry_for_a_state_needs_replace() {
        let mut list = TrustList::default();
        list.add(entry("MS"), Existing::Refuse).expect("works");
        assert!(matches!(
            list.add(entry("MS"), Existing::Refuse),
            Err(Error::AlreadyExists(_))
        ));
        let mut moved = entry("MS");
        moved.endpoint = "http://127.0.0.1:2".into();
        list.add(moved, Existing::Replace).expect("works");
        assert_eq!(list.entries.len(), 1);
        assert_eq!(list.entries[0].endpoint, "http://127.0.0.1:2");
    }

    #[test]
    fn bad_entries_are_refused_naming_the_problem() {
        let mut list = TrustList::default();
        let mut no_scheme = entry("MS");
        no_scheme.endpoint = "127.0.0.1:1".into();
        let error = list.add(no_scheme, Existing::Refuse).expect_err("refused").to_string();
        assert!(error.contains("http://"), "{error}");
        let mut bad_key = entry("MS");
        bad_key.key = "not a key".into();
        let error = list.add(bad_key, Existing::Refuse).expect_err("refused").to_string();
        assert!(error.contains("not a verifier key"), "{error}");
        assert!(list.entries.is_empty(), "nothing was added");
    }

    #[test]
    fn a_log_pinned_for_one_state_is_refused_for_another() {
        let mut list = TrustList::default();
        list.add(entry("MS"), Existing::Refuse).expect("works");
        let mut same_log = entry("VA");
        same_log.key = entry("MS").key;
        let error = list.add(same_log, Existing::Replace).expect_err("refused");
        assert!(matches!(error, Error::AlreadyExists(_)), "{error}");
        assert_eq!(list.entries.len(), 1, "nothing was added");
    }
}
