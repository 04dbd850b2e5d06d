//! A node's settings. `peerreg serve --state MS` works with no configuration at
//! all: everything below has an embedded default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::{generate_token, hash_token, StoredToken, TokenEntry, TokenFile, Tokens};
use crate::clock::SystemClock;
use crate::domain::history::ProfileHistory;
use crate::domain::profile::{ProfileError, RequirementProfile};
use crate::error::{Error, Result};
use crate::federation::FederationOptions;
use crate::limits::ServerLimits;
use crate::log::cosignature::Cosigner;
use crate::log::note::NoteSigner;
use crate::mirror::MirrorSpec;
use crate::store::files;

/// The state codes live in `domain` (which reads them in event bodies); they
/// are re-exported here, where a node's settings are checked.
pub use crate::domain::states::{parse_state, STATE_CODES};

/// Default listen address: loopback only, until an operator decides otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Default address of the web page and `/metrics`: loopback, like gRPC.
pub const DEFAULT_HTTP: &str = "127.0.0.1:8080";

/// How many witnesses must cosign by default: two other states, as the issue
/// of a three-state federation asks; fewer if fewer witness this node.
pub const DEFAULT_WITNESS_QUORUM: usize = 2;

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
    /// Where the HTTP side (pages, JSON, `/metrics`) listens; `None`: not served.
    pub http: Option<SocketAddr>,
    /// Checkpoint origin and key name.
    pub origin: String,
    /// The signing key file; created with mode 0600 on first start if missing.
    pub key_file: PathBuf,
    /// Accept a store that has no published checkpoint file beside it.
    pub accept_store_as_is: bool,
    /// What this state demands. Default: the shipped example for the state, or
    /// the SAMHSA-model-standards-style example relabelled for it.
    pub profile: ProfileHistory,
    /// Write tokens from the configuration file (hashes only). When empty, the
    /// node uses `<data_dir>/tokens.toml`, creating a first admin token there.
    pub tokens: Vec<TokenEntry>,
    /// TLS certificate, key and (for mutual TLS) client CA, as PEM files.
    pub tls: Option<TlsPaths>,
    /// Serve plaintext on a non-loopback address anyway. Off by default: tokens
    /// and answers would cross the network in clear ([`NodeConfig::check_transport`]).
    pub insecure_plaintext: bool,
    /// Other states' logs this node follows and serves read-only.
    pub mirrors: Vec<MirrorSpec>,
    /// How often trusted states' logs are polled, and the back-off while one is down.
    pub federation: FederationOptions,
    /// Connections, requests in flight, request time, keepalive.
    pub limits: ServerLimits,
    /// How many of the trusted states that witness this node must cosign a
    /// checkpoint (and confirm, at start, that the store is current) before
    /// it counts as witnessed. `None`: 2, or all of them if fewer name a
    /// witness (see [`NodeConfig::witness_quorum`]). When set, followers
    /// also take a trusted state's checkpoint only once that many of the
    /// witnesses this node knows (its own and the other trusted states')
    /// cosigned it.
    pub witness_quorum: Option<usize>,
    /// After a log key rotation, checkpoints carry the previous key's
    /// signature too until the log has grown this many entries past the
    /// rotation entry (default `limits::KEY_TRANSITION_ENTRIES`).
    pub key_transition_entries: u64,
    /// The HTTP side's URL as reached from outside (e.g. behind a proxy), put
    /// into every VC to name its status lists; `None`: the HTTP side's own address.
    pub public_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

/// A node's configuration file (TOML). Every field is optional and overrides
/// the embedded default; command-line flags override the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub state: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    /// The HTTP side's address, or `"off"`.
    pub http: Option<String>,
    pub origin: Option<String>,
    pub key_file: Option<PathBuf>,
    pub profile: Option<PathBuf>,
    #[serde(default)]
    pub accept_store_as_is: bool,
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
    pub tls: Option<TlsPaths>,
    /// See [`NodeConfig::insecure_plaintext`].
    #[serde(default)]
    pub insecure_plaintext: bool,
    /// See [`NodeConfig::witness_quorum`].
    pub witness_quorum: Option<usize>,
    /// See [`NodeConfig::key_transition_entries`].
    pub key_transition_entries: Option<u64>,
    /// See [`NodeConfig::public_url`].
    pub public_url: Option<String>,
}

impl ConfigFile {
    /// Reads and parses a configuration file; errors name the file and field.
    pub fn load(path: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::InvalidArgument(format!("config file {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::InvalidArgument(format!("config file {}: {e}", path.display())))
    }

    /// Applies the file over the embedded defaults for its (or `state`'s) state.
    pub fn into_config(self, state: Option<&str>) -> Result<NodeConfig> {
        let Some(state) = state.or(self.state.as_deref()) else {
            return Err(Error::InvalidArgument(
                "no state: pass --state or set `state` in the config file".into(),
            ));
        };
        let mut config = NodeConfig::for_state(state)?;
        if let Some(data_dir) = self.data_dir {
            config.key_file = data_dir.join("log.key");
            config.data_dir = data_dir;
        }
        if let Some(path) = &self.profile {
            config.profile = load_profile(path, &config.state)?;
        }
        config.listen = self.listen.unwrap_or(config.listen);
        if let Some(http) = &self.http {
            config.http = parse_http(http)?;
        }
        config.origin = self.origin.unwrap_or(config.origin);
        config.key_file = self.key_file.unwrap_or(config.key_file);
        config.accept_store_as_is = self.accept_store_as_is;
        Tokens::new(&self.tokens)?;
        config.tokens = self.tokens;
        config.tls = self.tls;
        config.insecure_plaintext = self.insecure_plaintext;
        config.witness_quorum = self.witness_quorum;
        config.key_transition_entries = self.key_transition_entries.unwrap_or(config.key_transition_entries);
        config.public_url = self.public_url.as_deref().map(parse_public_url).transpose()?;
        Ok(config)
    }
}

/// An HTTP address setting: an address, or `off` for no HTTP side.
pub fn parse_http(text: &str) -> Result<Option<SocketAddr>> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.trim().parse().map(Some).map_err(|e| {
        Error::InvalidArgument(format!(
            "http = {text:?} is neither an address such as 127.0.0.1:8080 nor \"off\": {e}"
        ))
    })
}

/// A public URL setting: `http://` or `https://`, a host, perhaps a path; no
/// query or fragment. Returned without a trailing `/`.
pub fn parse_public_url(text: &str) -> Result<String> {
    let refused = |why: &str| Error::InvalidArgument(format!("public URL {text:?} {why}"));
    let text = text.trim();
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| refused("must start with http:// or https://"))?;
    if rest.split('/').next().unwrap_or_default().is_empty() {
        return Err(refused("names no host"));
    }
    if text.len() > 256
        || text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "?#\"\\<>".contains(c))
    {
        return Err(refused(
            "must be at most 256 characters, with no spaces, query or fragment",
        ));
    }
    Ok(text.trim_end_matches('/').to_string())
}

/// Reads, parses and validates one profile file; messages name the path.
/// (Here rather than in `domain`, which reads no files.)
pub fn read_profile(path: &Path) -> std::result::Result<ProfileHistory, ProfileError> {
    let source_name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ProfileError::Unreadable {
        source_name: source_name.clone(),
        message: format!("cannot read the file: {e}"),
    })?;
    ProfileHistory::from_toml(&text, &source_name)
}

/// Loads a requirement profile, which must be for `state`.
pub fn load_profile(path: &Path, state: &str) -> Result<ProfileHistory> {
    let profile = read_profile(path).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    if profile.state() != state {
        return Err(Error::InvalidArgument(format!(
            "profile {} is for {}, but this node serves {state}",
            path.display(),
            profile.state()
        )));
    }
    Ok(profile)
}

/// The node's write tokens. With none configured, `<data_dir>/tokens.toml` is
/// used (and rewritten by the `Admin` service); on first start it is created
/// with one admin token, whose secret is returned (to be shown once) and
/// stored only as a hash.
pub fn load_or_create_tokens(config: &NodeConfig) -> Result<(Tokens, Option<String>)> {
    if !config.tokens.is_empty() {
        return Ok((Tokens::new(&config.tokens)?, None));
    }
    let path = token_file(&config.data_dir);
    let invalid = |e: String| Error::InvalidArgument(format!("token file {}: {e}", path.display()));
    let clock = std::sync::Arc::new(SystemClock);
    if let Some(bytes) = files::read_optional(&path)? {
        let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8".into()))?;
        let file: TokenFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        return Ok((Tokens::stored(file.tokens, path, clock)?, None));
    }
    let secret = generate_token()?;
    let entry = StoredToken {
        name: "admin".into(),
        sha256: hash_token(&secret),
        operations: vec!["*".into()],
        created_at: None,
        expires_at: None,
    };
    let file = TokenFile { tokens: vec![entry] };
    files::create_dir_durable(&config.data_dir)?;
    files::write_atomic(&path, &file.encode()?, files::Mode::Private)?;
    Ok((Tokens::stored(file.tokens, path, clock)?, Some(secret)))
}

/// Where a node keeps its tokens when its configuration names none.
pub fn token_file(data_dir: &Path) -> PathBuf {
    data_dir.join("tokens.toml")
}

impl NodeConfig {
    /// The embedded defaults for `state`.
    pub fn for_state(state: &str) -> Result<NodeConfig> {
        let state = parse_state(state)?;
        let data_dir = PathBuf::from("data").join(state.to_ascii_lowercase());
        let listen = DEFAULT_LISTEN
            .parse()
            .map_err(|e| Error::Internal(format!("default listen address: {e}")))?;
        let http = parse_http(DEFAULT_HTTP)?;
        Ok(NodeConfig {
            http,
            origin: default_origin(&state),
            key_file: data_dir.join("log.key"),
            data_dir,
            listen,
            profile: RequirementProfile::example_for(&state)
                .unwrap_or_else(|| RequirementProfile::default_for(&state))
                .into(),
            state,
            accept_store_as_is: false,
            tokens: Vec::new(),
            tls: None,
            insecure_plaintext: false,
            mirrors: Vec::new(),
            federation: FederationOptions::default(),
            limits: ServerLimits::default(),
            witness_quorum: None,
            key_transition_entries: crate::limits::KEY_TRANSITION_ENTRIES,
            public_url: None,
        })
    }

    /// The quorum for `witnesses` witnesses: as configured, or 2 (all of them
    /// if fewer). A quorum larger than the witnesses could never be met.
    pub fn witness_quorum(&self, witnesses: usize) -> Result<usize> {
        let quorum = self.witness_quorum.unwrap_or(witnesses.min(DEFAULT_WITNESS_QUORUM));
        if quorum > witnesses {
            return Err(Error::InvalidArgument(format!(
                "witness_quorum is {quorum}, but only {witnesses} trusted states name a witness \
                 (peerreg trust add ... --witness-url URL --witness-key KEY)"
            )));
        }
        Ok(quorum)
    }

    /// This node's witness key file (created on first start).
    pub fn witness_key_file(&self) -> PathBuf {
        self.data_dir.join("witness.key")
    }

    /// Refuses to serve plaintext on `address` unless it is loopback, TLS is
    /// configured, or the operator said `insecure_plaintext` (then warns, on
    /// every start). A bearer token sent to such a node would travel in clear.
    pub fn check_transport(&self, address: SocketAddr) -> Result<()> {
        if self.tls.is_some() || address.ip().is_loopback() {
            return Ok(());
        }
        if !self.insecure_plaintext {
            return Err(Error::FailedPrecondition(format!(
                "refusing to serve plaintext on {address}, which is not a loopback address: \
                 configure TLS (--tls-cert and --tls-key), listen on 127.0.0.1, \
                 or pass --insecure-plaintext if a proxy in front of this node terminates TLS"
            )));
        }
        tracing::warn!(
            %address,
            "serving PLAINTEXT on a non-loopback address (--insecure-plaintext): tokens and answers cross the network in clear"
        );
        Ok(())
    }
}

/// Loads the signing key for `origin` from `path`; a missing file is an error
/// naming it.
pub fn load_signer(path: &Path, origin: &str) -> Result<NoteSigner> {
    let invalid = |e: String| Error::InvalidArgument(format!("key file {}: {e}", path.display()));
    let Some(bytes) = files::read_optional(path)? else {
        return Err(Error::FailedPrecondition(format!(
            "the signing key {} does not exist",
            path.display()
        )));
    };
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

/// Generates a signing key for `origin` and writes it to `path` (0600);
/// refuses to overwrite an existing key.
pub fn create_signer(path: &Path, origin: &str) -> Result<NoteSigner> {
    if path.exists() {
        return Err(Error::AlreadyExists(format!(
            "{} already exists; refusing to overwrite a signing key",
            path.display()
        )));
    }
    let signer = NoteSigner::generate(origin)
        .map_err(|e| Error::InvalidArgument(format!("key file {}: {e}", path.display())))?;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        files::create_dir_durable(dir)?;
    }
    files::write_atomic(
        path,
        format!("{}\n", signer.to_key_string()).as_bytes(),
        files::Mode::Private,
    )?;
    tracing::info!(key_file = %path.display(), verifier_key = %signer.verifier().to_key_string(), "generated a new log signing key");
    Ok(signer)
}

/// Loads this node's witness key from `path`, creating it (0600) on first
/// use. Unlike the log key, a new witness key forks nothing: partners pin it
/// anew, and it only vouches for checkpoints from then on.
pub fn load_or_create_cosigner(path: &Path, name: &str) -> Result<Cosigner> {
    let invalid = |e: String| Error::InvalidArgument(format!("witness key file {}: {e}", path.display()));
    if let Some(bytes) = files::read_optional(path)? {
        let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8".into()))?;
        return Cosigner::parse(&text).map_err(|e| invalid(e.to_string()));
    }
    let cosigner = Cosigner::generate(name).map_err(|e| invalid(e.to_string()))?;
    files::write_atomic(
        path,
        format!("{}\n", cosigner.to_key_string()).as_bytes(),
        files::Mode::Private,
    )?;
    tracing::info!(key_file = %path.display(), witness_key = %cosigner.verifier_key(), "generated a witness key");
    Ok(cosigner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NodeConfig> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        file.into_config(None)
    }

    #[test]
    fn the_web_page_is_on_loopback_by_default_and_can_be_moved_or_turned_off() {
        let default = parse("state = \"ms\"\n").expect("defaults");
        assert_eq!(default.http, Some("127.0.0.1:8080".parse().expect("an address")));
        let moved = parse("state = \"ms\"\nhttp = \"127.0.0.1:9090\"\n").expect("moved");
        assert_eq!(moved.http.map(|a| a.port()), Some(9090));
        let off = parse("state = \"ms\"\nhttp = \"OFF\"\n").expect("off");
        assert_eq!(off.http, None);
        let bad = parse("state = \"ms\"\nhttp = \"localhost\"\n").expect_err("not an address");
        assert!(
            matches!(&bad, Error::InvalidArgument(m) if m.contains("\"off\"")),
            "{bad}"
        );
    }

    #[test]
    fn a_config_file_overrides_defaults_and_bad_ones_name_the_field() {
        let config = parse("state = \"tn\"\nlisten = \"127.0.0.1:6000\"\norigin = \"peerreg.tn.example/tn\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((config.state.as_str(), config.listen.port()), ("TN", 6000));
        assert_eq!(config.origin, "peerreg.tn.example/tn");
        assert_eq!(
            config.data_dir,
            PathBuf::from("data/tn"),
            "untouched fields keep their defaults"
        );
        let insecure = parse("state = \"MS\"\ninsecure_plaintext = true\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            insecure.insecure_plaintext && !config.insecure_plaintext,
            "off unless said"
        );
        let unknown = parse("state = \"MS\"\nlisten_on = \"x\"\n");
        assert!(matches!(unknown, Err(Error::InvalidArgument(m)) if m.contains("listen_on")));
        let bad_token = parse("state = \"MS\"\n[[tokens]]\nname = \"a\"\nsha256 = \"zz\"\noperations = [\"*\"]\n");
        assert!(matches!(bad_token, Err(Error::InvalidArgument(m)) if m.contains("tokens[0].sha256")));
        assert!(matches!(parse("listen = \"127.0.0.1:1\"\n"), Err(Error::InvalidArgument(m)) if m.contains("state")));
        let profile = concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/mississippi.example.toml");
        let wrong_state = parse(&format!("state = \"TN\"\nprofile = \"{profile}\"\n"));
        assert!(matches!(wrong_state, Err(Error::InvalidArgument(m)) if m.contains("is for MS")));
    }

    #[test]
    fn the_first_admin_token_is_created_once_and_stored_hashed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut config = NodeConfig::for_state("MS").unwrap_or_else(|e| panic!("{e}"));
        config.data_dir = dir.path().to_path_buf();
        let (tokens, secret) = load_or_create_tokens(&config).unwrap_or_else(|e| panic!("{e}"));
        let secret = secret.unwrap_or_else(|| panic!("a first token is generated"));
        assert!(tokens
            .authorize(Some(&secret), crate::auth::Operation::RecordDiscipline)
            .is_ok());
        let stored = std::fs::read_to_string(dir.path().join("tokens.toml")).unwrap_or_default();
        assert!(
            !stored.contains(&secret) && stored.contains(&hash_token(&secret)),
            "only the hash is kept"
        );
        let (again, none) = load_or_create_tokens(&config).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            none.is_none()
                && again
                    .authorize(Some(&secret), crate::auth::Operation::EnrollPeer)
                    .is_ok()
        );
    }

    #[test]
    fn an_unreadable_profile_file_is_reported_with_its_path() {
        let missing = Path::new("/nonexistent/peerreg/ms.toml");
        let refused = read_profile(missing);
        assert!(
            matches!(&refused, Err(ProfileError::Unreadable { source_name, .. }) if source_name == "/nonexistent/peerreg/ms.toml"),
            "{refused:?}"
        );
    }

    #[test]
    fn a_generated_key_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("sub/log.key");
        let created = create_signer(&path, "peerreg.local/ms").unwrap_or_else(|e| panic!("{e}"));
        let loaded = load_signer(&path, "peerreg.local/ms").unwrap_or_else(|e| panic!("{e}"));
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
            load_signer(&path, "peerreg.local/tn").is_err(),
            "a key for another origin"
        );
        assert!(
            matches!(create_signer(&path, "peerreg.local/ms"), Err(Error::AlreadyExists(m)) if m.contains("refusing to overwrite")),
            "an existing key is never overwritten"
        );
        assert_eq!(
            load_signer(&path, "peerreg.local/ms")
                .map(|s| s.verifier().clone())
                .ok(),
            Some(created.verifier().clone())
        );
    }

    #[test]
    fn plaintext_on_a_public_address_needs_the_operator_to_say_so() {
        let mut config = NodeConfig::for_state("MS").unwrap_or_else(|e| panic!("{e}"));
        let public: SocketAddr = "0.0.0.0:50051".parse().unwrap_or_else(|e| panic!("{e}"));
        let loopback: SocketAddr = "[::1]:50051".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(config.check_transport(loopback).is_ok());
        let refused = config.check_transport(public);
        assert!(
            matches!(&refused, Err(Error::FailedPrecondition(m)) if m.contains("--insecure-plaintext") && m.contains("0.0.0.0")),
            "{refused:?}"
        );
        config.insecure_plaintext = true;
        assert!(config.check_transport(public).is_ok());
        config.insecure_plaintext = false;
        config.tls = Some(TlsPaths {
            cert: "cert.pem".into(),
            key: "key.pem".into(),
            client_ca: None,
        });
        assert!(config.check_transport(public).is_ok(), "TLS needs no flag");
    }

    #[test]
    fn a_public_url_is_http_or_https_with_a_host_and_no_query() {
        let url = parse_public_url(" https://registry.example/ms/ ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url, "https://registry.example/ms");
        let config = parse("state = \"MS\"\npublic_url = \"http://127.0.0.1:8080\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.public_url.as_deref(), Some("http://127.0.0.1:8080"));
        for bad in [
            "ftp://x",
            "https://",
            "https:///path",
            "https://x/?a=1",
            "https://x/#f",
            "https://a b",
            "x",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}
