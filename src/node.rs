//! A node as a library call: one state's log served over gRPC, with the other
//! states' logs it mirrors and the states it trusts. The binary, the demo and
//! the tests start nodes one way ([`run`], or [`start`] then [`Node::stop`]), as
//! mini-redis's `server::run`: the caller binds the listener (tests bind
//! `127.0.0.1:0` and read the address back) and says when to stop.
//!
//! Refused at start, before anything is written: plaintext on a non-loopback
//! address without `insecure_plaintext`, and a log whose signing key is missing
//! (a new key would fork the log; the old one must be restored).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::clock::SystemClock;
use crate::config::{self, NodeConfig, TlsPaths};
use crate::error::{Error, Result};
use crate::federation::trust::TrustList;
use crate::federation::Federation;
use crate::ledger::{self, Ledger, LedgerOptions};
use crate::limits;
use crate::log::cosignature::CosignatureVerifier;
use crate::log::note::NoteSigner;
use crate::mirror;
use crate::service::client::LogClient;
use crate::service::server::{self, ServeOptions, TlsFiles};
use crate::service::sources::GrpcConnector;
use crate::service::witness_client::HttpWitnessClient;
use crate::witness::{witness_dir, Collector, Witness, WitnessPeer, Witnessing};

/// What a node reports when it starts, for its operator.
#[derive(Clone, Debug)]
pub struct Startup {
    /// Entries in the node's own log.
    pub entries: u64,
    /// The key partners and auditors pin for this log.
    pub verifier_key: String,
    /// The first admin token, when this start created it: shown once, only
    /// its hash is stored.
    pub new_admin_token: Option<String>,
    /// Each mirrored log as it was when following began.
    pub mirrors: Vec<MirrorStart>,
    /// Each trusted state and where its node is.
    pub partners: Vec<PartnerStart>,
}

/// A mirrored log at start.
#[derive(Clone, Debug)]
pub struct MirrorStart {
    pub origin: String,
    /// Entries already verified and held locally.
    pub entries: u64,
    pub endpoint: String,
}

/// A trusted state at start.
#[derive(Clone, Debug)]
pub struct PartnerStart {
    pub state: String,
    pub endpoint: String,
}

/// A running node. Stop it with [`Node::stop`] (or let [`Node::run_until`] do
/// it) so that its stores are closed cleanly.
pub struct Node {
    /// Where the node listens (the port the OS chose, for `:0`).
    address: SocketAddr,
    /// Where the HTTP side listens, if the node serves one.
    web_address: Option<SocketAddr>,
    /// Whether clients must speak TLS (`https://`).
    tls: bool,
    ledger: Ledger,
    /// The trusted states' followers, stopped with the node.
    federation: Option<Arc<Federation>>,
    /// The witness and cosignature collector, stopped with the node.
    witnessing: Option<Arc<Witnessing>>,
    startup: Startup,
    /// Tells the server to stop accepting and drain.
    stop: oneshot::Sender<()>,
    server: JoinHandle<Result<()>>,
}

/// Starts a node from its configuration on `listener`, runs it until
/// `shutdown` completes, then stops it (open streams get
/// [`limits::SHUTDOWN_GRACE`], then are cut) and closes its stores.
pub async fn run(config: NodeConfig, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<()> {
    start(config, listener).await?.run_until(shutdown).await
}

/// Starts a node from its configuration on `listener`: its own log, its
/// tokens, TLS, mirrors and trusted states. Returns once it is serving.
pub async fn start(config: NodeConfig, listener: TcpListener) -> Result<Node> {
    let web = bind_web(&config).await?;
    start_on(config, Listeners { grpc: listener, web }).await
}

/// As [`start`], on listeners the caller bound (both sides' addresses known
/// before the node starts, as partners that witness each other need).
pub async fn start_on(config: NodeConfig, listeners: Listeners) -> Result<Node> {
    let Listeners { grpc: listener, web } = listeners;
    let address = local_address(&listener)?;
    config.check_transport(address)?;
    if let Some(web) = &web {
        config.check_transport(local_address(web)?)?;
    }
    let signer = signer(&config)?;
    let tls = config.tls.as_ref().map(read_tls).transpose()?;
    let ledger = Ledger::open(LedgerOptions {
        data_dir: config.data_dir.clone(),
        state: config.state.clone(),
        signer,
        accept_unpublished_store: config.accept_store_as_is,
        profile: config.profile.clone(),
        clock: Arc::new(SystemClock),
    })
    .inspect_err(|e| tracing::error!(data_dir = %config.data_dir.display(), "cannot open the log: {e}"))?;
    ledger.set_key_transition_entries(config.key_transition_entries);
    match start_around(&config, ledger.clone(), Listeners { grpc: listener, web }, tls).await {
        Ok(node) => Ok(node),
        Err(error) => {
            ledger.shutdown().await;
            Err(error)
        }
    }
}

/// The rest of [`start`], once the log is open (closed again if this fails).
async fn start_around(
    config: &NodeConfig,
    ledger: Ledger,
    listeners: Listeners,
    tls: Option<TlsFiles>,
) -> Result<Node> {
    let (tokens, new_admin_token) = config::load_or_create_tokens(config)?;
    let trust = TrustList::load(&config.data_dir)?;
    let federation = Arc::new(Federation::open(
        &config.data_dir,
        &config.state,
        &trust,
        config.federation,
        Arc::new(GrpcConnector),
    )?);
    // Followers start last: nothing is left running if a mirror fails to open.
    let (mirrors, mirror_starts) = open_mirrors(config, &ledger).await?;
    federation.spawn_followers(&ledger)?;
    let witnessing = start_witnessing(config, &ledger, &federation, &trust)?;
    let options = ServeOptions {
        tokens: Arc::new(tokens),
        tls,
        mirrors,
        federation: Some(federation),
        limits: config.limits,
        witnessing: Some(witnessing),
        vc: Some(crate::vc::issuer::Issuing {
            key: Arc::new(issuer_key(config, &ledger)?),
            public_url: config.public_url.clone(),
        }),
    };
    let mut node = serve_on(listeners, ledger, options)?;
    node.startup.new_admin_token = new_admin_token;
    node.startup.mirrors = mirror_starts;
    tracing::info!(
        state = %config.state,
        origin = %config.origin,
        address = %node.address,
        entries = node.startup.entries,
        verifier_key = %node.startup.verifier_key,
        "serving"
    );
    Ok(node)
}

/// Serves an already open `ledger` on `listener` (tests and benchmarks that
/// build the ledger and options themselves). [`Node::stop`] closes `ledger`
/// and the federation in `options`.
pub fn serve(listener: TcpListener, ledger: Ledger, options: ServeOptions) -> Result<Node> {
    serve_on(
        Listeners {
            grpc: listener,
            web: None,
        },
        ledger,
        options,
    )
}

/// The listeners a node serves on: gRPC, and the HTTP side if it has one.
pub struct Listeners {
    pub grpc: TcpListener,
    pub web: Option<TcpListener>,
}

/// As [`serve`], with the HTTP side on `listeners.web` when there is one.
pub fn serve_on(listeners: Listeners, ledger: Ledger, options: ServeOptions) -> Result<Node> {
    let Listeners { grpc: listener, web } = listeners;
    let address = local_address(&listener)?;
    let web_address = web.as_ref().map(local_address).transpose()?;
    let tls = options.tls.is_some();
    let federation = options.federation.clone();
    let witnessing = options.witnessing.clone();
    let startup = Startup {
        entries: ledger.published().checkpoint.size,
        verifier_key: ledger.verifier().to_key_string(),
        new_admin_token: None,
        mirrors: Vec::new(),
        partners: federation.iter().flat_map(|f| partner_starts(f)).collect(),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = ledger.clone();
    let server = tokio::spawn(server::serve(listener, web, serving, options, async {
        let _ = stopped.await;
    }));
    Ok(Node {
        address,
        web_address,
        tls,
        ledger,
        federation,
        witnessing,
        startup,
        stop,
        server,
    })
}

impl Node {
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The URL clients connect to: `http://` or, with TLS, `https://`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    /// The web page's base URL (`http://` or, with TLS, `https://`), if served.
    pub fn web_endpoint(&self) -> Option<String> {
        let scheme = if self.tls { "https" } else { "http" };
        self.web_address.map(|address| format!("{scheme}://{address}"))
    }

    /// The node's own log.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The trusted states (none for a node served without a federation).
    pub fn federation(&self) -> Option<&Arc<Federation>> {
        self.federation.as_ref()
    }

    /// The node's witness and cosignature collector, if it runs them.
    pub fn witnessing(&self) -> Option<&Arc<Witnessing>> {
        self.witnessing.as_ref()
    }

    pub fn startup(&self) -> &Startup {
        &self.startup
    }

    /// Serves until `shutdown` completes (or the server fails), then stops.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> Result<()> {
        tokio::select! {
            finished = &mut self.server => {
                close(self.ledger, self.federation).await;
                joined(finished)
            }
            () = shutdown => self.stop().await,
        }
    }

    /// Stops accepting, lets in-flight calls finish (open streams get
    /// [`limits::SHUTDOWN_GRACE`], then are cut), then closes the stores.
    pub async fn stop(self) -> Result<()> {
        let Node {
            stop,
            mut server,
            ledger,
            federation,
            witnessing,
            ..
        } = self;
        if let Some(witnessing) = witnessing {
            witnessing.stop();
        }
        let _ = stop.send(());
        let result = match tokio::time::timeout(limits::SHUTDOWN_GRACE, &mut server).await {
            Ok(finished) => joined(finished),
            Err(_) => {
                tracing::warn!(
                    "open streams did not end within {:?}; closing them",
                    limits::SHUTDOWN_GRACE
                );
                server.abort();
                let _ = server.await;
                Ok(())
            }
        };
        close(ledger, federation).await;
        tracing::info!("stopped");
        result
    }
}

fn joined(finished: std::result::Result<Result<()>, tokio::task::JoinError>) -> Result<()> {
    finished.map_err(|e| Error::Internal(format!("the server task failed: {e}")))?
}

async fn close(ledger: Ledger, federation: Option<Arc<Federation>>) {
    if let Some(federation) = federation {
        federation.shutdown().await;
    }
    ledger.shutdown().await;
}

/// The node's witness (cosigning the logs it trusts) and its collector
/// (asking the trusted states that witness it). With witnesses, signing is
/// held from here until they confirm the store is current.
fn start_witnessing(
    config: &NodeConfig,
    ledger: &Ledger,
    federation: &Arc<Federation>,
    trust: &TrustList,
) -> Result<Arc<Witnessing>> {
    let name = format!("{}/witness", config.origin);
    let cosigner = config::load_or_create_cosigner(&config.witness_key_file(), &name)?;
    if let Some(quorum) = config.witness_quorum {
        let own = CosignatureVerifier::parse(&cosigner.verifier_key())
            .map_err(|e| Error::Internal(format!("this node's witness key: {e}")))?;
        federation.require_witnesses(&own, quorum)?;
    }
    let witness = Witness::open(witness_dir(&config.data_dir), cosigner, federation.clone())?;
    let peers = witness_peers(trust)?;
    let quorum = config.witness_quorum(peers.len())?;
    let collector = Collector::new(ledger.clone(), peers, quorum, Arc::new(HttpWitnessClient));
    Ok(Witnessing::start(witness, collector))
}

/// The trusted states that name a witness, as the collector asks them.
fn witness_peers(trust: &TrustList) -> Result<Vec<WitnessPeer>> {
    let mut peers = Vec::new();
    for entry in &trust.entries {
        let (Some(witness), Some(verifier)) = (&entry.witness, entry.witness_verifier()?) else {
            continue;
        };
        let ca_pem = entry
            .ca_cert
            .as_ref()
            .map(|path| {
                std::fs::read(path).map_err(|e| {
                    Error::InvalidArgument(format!(
                        "cannot read the CA for {} ({}): {e}",
                        entry.state,
                        path.display()
                    ))
                })
            })
            .transpose()?;
        peers.push(WitnessPeer {
            state: entry.state.clone(),
            url: witness.url.clone(),
            verifier,
            ca_pem,
        });
    }
    Ok(peers)
}

/// Binds the HTTP side's address when the configuration asks for one (under
/// the same loopback-or-TLS rule as gRPC).
async fn bind_web(config: &NodeConfig) -> Result<Option<TcpListener>> {
    let Some(address) = config.http else {
        return Ok(None);
    };
    config.check_transport(address)?;
    let listener = TcpListener::bind(address).await.map_err(|e| {
        Error::Unavailable(format!(
            "cannot listen for the web page on {address}: {e} (choose another with --http, or --no-http)"
        ))
    })?;
    Ok(Some(listener))
}

fn local_address(listener: &TcpListener) -> Result<SocketAddr> {
    listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("the listener has no address: {e}")))
}

/// The node's signing key. Created only for a new log: a log whose key file is
/// missing is refused (a new key would sign a second history under the same
/// origin, which every partner would record as equivocation).
pub fn signer(config: &NodeConfig) -> Result<NoteSigner> {
    if config.key_file.exists() {
        return config::load_signer(&config.key_file, &config.origin);
    }
    let store = ledger::store_path(&config.data_dir);
    let checkpoint = ledger::checkpoint_path(&config.data_dir);
    if store.exists() || checkpoint.exists() {
        return Err(Error::FailedPrecondition(format!(
            "the signing key {} is missing, but {} holds a log: restore the key from its backup \
             (a new key cannot continue this log), or pass --key with its path",
            config.key_file.display(),
            config.data_dir.display()
        )));
    }
    config::create_signer(&config.key_file, &config.origin)
}

/// The board's VC issuer key, created at the first start. Once VCs were
/// issued (the private store holds status-list indexes) a missing key is
/// refused, as a missing log key is: a new one would leave every issued VC
/// naming status lists its verifiers can no longer trust.
fn issuer_key(config: &NodeConfig, ledger: &Ledger) -> Result<crate::vc::IssuerKey> {
    let path = crate::vc::issuer_key_path(&config.data_dir);
    let issued = match ledger.vault() {
        Some(vault) => !vault.status_indexes(1)?.is_empty(),
        None => false,
    };
    if issued && !path.exists() {
        return Err(Error::FailedPrecondition(format!(
            "the VC issuer key {} is missing, but this board has issued verifiable credentials: restore it \
             from its backup (peerreg backup --include-keys holds it)",
            path.display()
        )));
    }
    crate::vc::IssuerKey::load_or_create(&path)
}

fn read_tls(paths: &TlsPaths) -> Result<TlsFiles> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| Error::InvalidArgument(format!("reading {}: {e}", path.display())))
    };
    Ok(TlsFiles {
        cert_pem: read(&paths.cert)?,
        key_pem: read(&paths.key)?,
        client_ca_pem: paths.client_ca.as_deref().map(read).transpose()?,
    })
}

/// Opens (creating if new) each mirrored log, then starts following them all;
/// a new mirror starts empty and catches up in bounded rounds. Followers
/// report to `own`'s metrics.
async fn open_mirrors(config: &NodeConfig, own: &Ledger) -> Result<(Vec<Ledger>, Vec<MirrorStart>)> {
    let mut opened = Vec::new();
    let mut starts = Vec::new();
    for spec in &config.mirrors {
        let source = LogClient::connect(&spec.endpoint)
            .await
            .inspect_err(|e| tracing::error!(origin = %spec.origin, "cannot reach the mirror's origin: {e}"))?;
        let mirror = mirror::open(&config.data_dir, spec, &source)
            .await
            .inspect_err(|e| tracing::error!(origin = %spec.origin, "cannot start the mirror: {e}"))?;
        starts.push(MirrorStart {
            origin: spec.origin.clone(),
            entries: mirror.published().checkpoint.size,
            endpoint: spec.endpoint.clone(),
        });
        opened.push((mirror, source));
    }
    let mut mirrors = Vec::new();
    for (mirror, source) in opened {
        mirror::spawn_counted_follower(mirror.clone(), source, config.federation.limits, Some(own.metrics()));
        mirrors.push(mirror);
    }
    Ok((mirrors, starts))
}

fn partner_starts(federation: &Federation) -> Vec<PartnerStart> {
    federation
        .partners()
        .into_iter()
        .map(|partner| PartnerStart {
            state: partner.state().to_string(),
            endpoint: partner.entry.endpoint.clone(),
        })
        .collect()
}
