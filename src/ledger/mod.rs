//! A state's log at work. Tessera's three steps of an append, in one writer:
//! *sequencing* (an index is assigned), *integration* (the tree commits to it)
//! and *publishing* (a new signed checkpoint), done in group commits by a single
//! committer thread so concurrent appends share one flush, one fdatasync and one
//! checkpoint signature. An append returns only when all three are durable.
//!
//! Reads are verified before they are served: an entry must hash to its stored
//! leaf hash, a proof must verify against the stored roots. A mismatch is
//! `DATA_LOSS`, and the ledger *halts*: it signs nothing more until an operator
//! repairs the store, because signing on top of damaged data could fork what
//! other states already hold. An I/O error (a full disk) is not damage: appends
//! are refused with `RESOURCE_EXHAUSTED` or `UNAVAILABLE` while it lasts and
//! resume by themselves once the disk takes writes again (see `committer`).

mod committer;
mod dry_run;
mod follow;
mod private;
pub use dry_run::Judged;
pub use follow::StagedTree;
pub(crate) use private::{person_id, references, MissingRecords};
mod open;
pub mod replay;
mod rotate;
pub use rotate::{rotated_key_path, KeyRotation};

#[doc(hidden)]
pub use replay::wire::{read_in_place, InPlace};
pub use replay::{replay_log, Checks, ReplayStats};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{mpsc, oneshot, watch};

use crate::clock::Clock;
use crate::domain::history::ProfileHistory;
use crate::error::{Error, Result};
use crate::limits;
use crate::log::keys::LogKeys;
use crate::log::merkle::{self, Hash, HashReader, LeafIndex, NodeId, TreeSize};
use crate::log::note::{Checkpoint, NoteSigner, NoteVerifier, RequestSigner};
use crate::log::tiles::{Tile, TILE_WIDTH};
use crate::metrics::Metrics;
use crate::pb;
use crate::projection::Registry;
use crate::store::{files, IndexBatch, Store, StoreError};
use crate::vault::{vault_path, Vault};

/// How a ledger is opened.
pub struct LedgerOptions {
    /// Holds `log/` (sled) and `checkpoint` (the last published checkpoint).
    pub data_dir: PathBuf,
    /// The state code every event names, e.g. "MS".
    pub state: String,
    /// The log's signing key; its name is the checkpoint origin.
    pub signer: NoteSigner,
    /// Accept a non-empty store with no published checkpoint file beside it
    /// (an operator's explicit decision after restoring a store by hand).
    pub accept_unpublished_store: bool,
    /// What this state demands, version by version; commands are checked
    /// against the version in force on their date.
    pub profile: ProfileHistory,
    /// Decides "today" for validation and `recorded_at` for events.
    pub clock: Arc<dyn Clock>,
}

/// The latest signed checkpoint, as published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub note: Arc<[u8]>,
    pub checkpoint: Checkpoint,
}

/// What an acknowledged append hands back: a receipt the caller can later prove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    /// A signed checkpoint whose tree contains `index`.
    pub published: Published,
    /// True when this `event_id` had already been appended with this content.
    pub duplicate: bool,
    /// The entry and its inclusion proof in `published`'s tree, built by
    /// the writer from memory (`None` for a duplicate: read from the store).
    pub proven: Option<Arc<Proven>>,
}

/// An appended entry with its inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proven {
    pub entry: Vec<u8>,
    pub inclusion_proof: Vec<Hash>,
}

struct AppendRequest {
    /// The client's idempotency key; the log holds only its keyed hash.
    event_id: String,
    body: pb::command::Body,
    reply: oneshot::Sender<Result<Receipt>>,
    /// The new key, for the operator's key rotation only (see `rotate`); a
    /// `SigningKeyRotated` body without it is refused like any board command.
    rotate_to: Option<Box<NoteSigner>>,
}

/// Why an append cannot be taken once the committer is gone.
fn writer_stopped() -> Error {
    Error::Unavailable("the log writer has stopped; the node is shutting down".into())
}

/// State shared by readers and the committer.
struct Shared {
    store: Store,
    state: String,
    /// The pinned (first) key: the log's identity; its name is the origin.
    verifier: NoteVerifier,
    /// The log's keys as of the published tree (see `log::keys`).
    keys: RwLock<LogKeys>,
    data_dir: PathBuf,
    /// The latest published checkpoint; watchers wake on each new one.
    published: watch::Sender<Published>,
    /// Why this node stopped signing, if it did.
    halted: RwLock<Option<String>>,
    /// Why signing waits for now (witnesses not yet asked whether this store
    /// is behind what they cosigned); appends are refused UNAVAILABLE meanwhile.
    held: RwLock<Option<String>>,
    /// The committer's queue; taken (closed) by `shutdown`, or dropped with the
    /// last handle, either of which ends the committer thread.
    appends: Mutex<Option<mpsc::Sender<AppendRequest>>>,
    committer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The registry as of the latest published checkpoint: the read view. The
    /// committer works on its own copy and replaces this after each commit.
    registry: RwLock<Registry>,
    profile: ProfileHistory,
    clock: Arc<dyn Clock>,
    /// Set by `shutdown`: background work (the sweep) stops at its next chunk.
    stopping: AtomicBool,
    /// Entries `[0, verified_below)` were verified by the sweep since open
    /// (`u64::MAX` once it finished: later entries were written by this process).
    verified_below: AtomicU64,
    /// Background threads holding the store (sweep, snapshots), joined at shutdown
    /// so the store is closed when `shutdown` returns.
    background: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// A follower's (mirror's) published and staged trees; `None` for a log
    /// this node signs.
    follower: Mutex<Option<follow::FollowerTrees>>,
    /// Group commits made since open (for batch-size figures and metrics).
    commits: AtomicU64,
    /// The node's private store; `None` for a follower (a mirror holds no
    /// openings of its origin's records).
    vault: Mutex<Option<Vault>>,
    /// The log key in force, able to sign only requests to other states
    /// (replaced at a key rotation); `None` for a follower.
    request_signer: Mutex<Option<RequestSigner>>,
    /// The size of the newest registry snapshot written (see `committer::save_snapshot`).
    snapshot_size: Mutex<u64>,
    /// Held by the committer across each group commit, and by a backup while
    /// it copies: a backup sees the stores between two commits, never inside one.
    commit_gate: Mutex<()>,
    /// This node's metric families (one registry per ledger, so several
    /// nodes in one process count apart); the committer and halts record here.
    metrics: Arc<Metrics>,
    /// Entries past a key rotation during which checkpoints carry the
    /// previous key's signature too (see `rotate`).
    key_transition_entries: AtomicU64,
}

/// A handle on one state's log. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    shared: Arc<Shared>,
}

/// A copy of the last published checkpoint outside the store (the store's
/// own is its commit point, `log/checkpoint`). Written off the commit path,
/// at most [`PUBLISHED_COPY_INTERVAL`] behind and at shutdown: it survives
/// the loss of the store, so open refuses a store that lost entries and
/// repair a source that holds fewer (DESIGN.md §1.5).
pub fn checkpoint_path(data_dir: &Path) -> PathBuf {
    data_dir.join("checkpoint")
}

/// How far the copy at [`checkpoint_path`] may lag the store's checkpoint.
pub const PUBLISHED_COPY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// What the index learns of entry `index`: its event id, its record
/// references, and whether it rotates the key (`rotates`, as the caller
/// found it). The one derivation for followers, repairs and an index
/// caught up at open.
pub(crate) fn index_event(terms: &mut IndexBatch, index: u64, event: &pb::Event, rotates: bool) {
    if rotates {
        terms.key_rotations.push(index);
    }
    for reference in references(event.body.as_ref()) {
        terms.tags.push((reference.tag, index));
    }
    terms.event_ids.push((event.event_id.clone(), index));
}

/// Where the registry snapshot is kept (a cache: rebuilt from the log if bad).
pub fn snapshot_path(data_dir: &Path) -> PathBuf {
    data_dir.join("projection.snapshot")
}

/// Where the log's store is: its tiles, checkpoint and index.
pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("log")
}

/// Opens the node's private store. A log with entries but no private store
/// beside it lost its private records: refused, since replaying it would
/// silently drop every person's record (DESIGN.md §8: the private store is
/// backed up on its own and cannot be rebuilt from a mirror).
fn open_vault(data_dir: &Path, size: u64) -> Result<Vault> {
    let path = vault_path(data_dir);
    if size > 0 && !Vault::exists(&path) {
        return Err(Error::DataLoss(format!(
            "the log in {} has {size} entries but its private store {} is missing: restore the private store \
             from its backup (it cannot be rebuilt from a mirror)",
            data_dir.display(),
            path.display()
        )));
    }
    Ok(Vault::open(&path)?)
}

fn check_event_id(event_id: &str) -> Result<()> {
    if event_id.is_empty() || event_id.len() > limits::EVENT_ID_BYTES_MAX {
        return Err(Error::InvalidArgument(format!(
            "event_id must be 1 to {} bytes (a client-chosen idempotency key, e.g. a UUID)",
            limits::EVENT_ID_BYTES_MAX
        )));
    }
    if event_id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::InvalidArgument(
            "event_id must not contain spaces or control characters".into(),
        ));
    }
    Ok(())
}

impl Ledger {
    /// Opens the log in `options.data_dir`, verifying it against the published
    /// checkpoint (see `open.rs` for what is checked now and what lazily), and
    /// starts the committer and the background integrity sweep.
    pub fn open(options: LedgerOptions) -> Result<Ledger> {
        let params = open::OpenParams {
            data_dir: &options.data_dir,
            state: &options.state,
            verifier: options.signer.verifier(),
            signer: Some(&options.signer),
            accept_unpublished_store: options.accept_unpublished_store,
        };
        let opened = open::open_verified(&params)?;
        let vault = open_vault(&options.data_dir, opened.published.checkpoint.size)?;
        let (registry, notices) = replay::rebuild(
            &opened.store,
            &options.data_dir,
            opened.published.checkpoint.size,
            &vault,
            Some(private::snapshot_key(&vault)),
        )?;
        private::redo_erasures(&opened.store, &vault, &notices)?;
        let (appends, requests) = mpsc::channel(limits::APPEND_QUEUE_MAX);
        let signers = rotate::signers(options.signer, &opened.keys, &options.data_dir)?;
        let request_signer = signers.current.request_signer();
        let settings = Settings {
            data_dir: options.data_dir.clone(),
            state: options.state.clone(),
            profile: options.profile,
            clock: options.clock,
        };
        let shared = Shared::new(
            opened.store,
            opened.published,
            registry.clone(),
            settings,
            opened.keys.clone(),
            Some(appends),
        );
        *lock(&shared.vault) = Some(vault.clone());
        *lock(&shared.request_signer) = Some(request_signer);
        let writer = committer::Writer {
            signer: signers.current,
            retired: signers.previous,
            chain: opened.keys,
            frontier: opened.frontier,
            registry,
            keys: private::NodeKeys::new(&vault),
            vault,
            people: private::People::default(),
            unpublished: None,
        };
        let committer = committer::spawn(Arc::downgrade(&shared), writer, requests)?;
        committer::spawn_published_copy(&shared);
        *lock(&shared.committer) = Some(committer);
        open::spawn_sweep(&shared, opened.sweep_below);
        Ok(Ledger { shared })
    }

    /// Appends one event and returns once it is durable and published. A retry
    /// with the same `event_id` and body returns the original receipt.
    pub async fn append(&self, event_id: String, body: pb::command::Body) -> Result<Receipt> {
        check_event_id(&event_id)?;
        let appends = self.writer()?;
        let (reply, answer) = oneshot::channel();
        let request = AppendRequest {
            event_id,
            body,
            reply,
            rotate_to: None,
        };
        appends.send(request).await.map_err(|_| writer_stopped())?;
        answer.await.map_err(|_| writer_stopped())?
    }

    /// The committer's queue, or why this ledger cannot append.
    fn writer(&self) -> Result<mpsc::Sender<AppendRequest>> {
        if self.is_follower() {
            return Err(Error::FailedPrecondition(format!(
                "this is a read-only mirror of {}; a mirror never signs for its origin",
                self.verifier().name()
            )));
        }
        lock(&self.shared.appends).clone().ok_or_else(writer_stopped)
    }

    /// Appends several events in this order (an import), queued together so
    /// that they share group commits; each succeeds or fails on its own, as if
    /// appended one after another.
    pub async fn append_many(&self, items: Vec<(String, pb::command::Body)>) -> Result<Vec<Result<Receipt>>> {
        let appends = self.writer()?;
        let mut pending = Vec::with_capacity(items.len());
        for (event_id, body) in items {
            if let Err(e) = check_event_id(&event_id) {
                pending.push(Err(e));
                continue;
            }
            let (reply, answer) = oneshot::channel();
            appends
                .send(AppendRequest {
                    event_id,
                    body,
                    reply,
                    rotate_to: None,
                })
                .await
                .map_err(|_| writer_stopped())?;
            pending.push(Ok(answer));
        }
        let mut results = Vec::with_capacity(pending.len());
        for item in pending {
            results.push(match item {
                Ok(answer) => answer.await.map_err(|_| writer_stopped()).and_then(|r| r),
                Err(e) => Err(e),
            });
        }
        Ok(results)
    }

    pub fn state(&self) -> &str {
        &self.shared.state
    }

    /// This log's key for signing requests to other states; `None` for a mirror.
    pub fn request_signer(&self) -> Option<RequestSigner> {
        lock(&self.shared.request_signer).clone()
    }

    /// Checks the private store against the published log (what the
    /// background sweep does after the log): every committed record held
    /// unless expunged, every record openable. `DATA_LOSS` names what is
    /// wrong; `None` for a follower.
    pub fn check_private_store(&self) -> Result<Option<crate::vault::VaultCheck>> {
        open::check_private_store(&self.shared)
    }

    /// The node's private store; `None` for a mirror.
    pub fn vault(&self) -> Option<Vault> {
        lock(&self.shared.vault).clone()
    }

    /// The index of the entry carrying record reference `tag`, if the log
    /// holds one (a person's records, found with their key).
    pub fn tag_index(&self, tag: &[u8; 32]) -> Result<Option<u64>> {
        let index = self.shared.store.tag_index(tag).map_err(|e| self.shared.damaged(e))?;
        Ok(index.filter(|&i| i < self.published().checkpoint.size))
    }

    /// The log's first key (its identity, the key partners pin). After a
    /// rotation the log signs with a later key: see [`Ledger::keys`].
    pub fn verifier(&self) -> &NoteVerifier {
        &self.shared.verifier
    }

    /// The log's keys as of the published tree: the pinned key and each key
    /// introduced by a rotation entry.
    pub fn keys(&self) -> LogKeys {
        self.shared.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn data_dir(&self) -> &Path {
        &self.shared.data_dir
    }

    /// The latest published checkpoint.
    pub fn published(&self) -> Published {
        self.shared.published.borrow().clone()
    }

    /// Wakes whenever a new checkpoint is published.
    pub fn subscribe(&self) -> watch::Receiver<Published> {
        self.shared.published.subscribe()
    }

    /// The registry as of the latest published checkpoint (an O(1) copy).
    pub fn registry(&self) -> Registry {
        self.shared.registry.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn profile(&self) -> &ProfileHistory {
        &self.shared.profile
    }

    /// Today, by the node's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.shared.clock.today()
    }

    /// Group commits made since this ledger was opened.
    pub fn commit_count(&self) -> u64 {
        self.shared.commits.load(Ordering::Relaxed)
    }

    /// This node's metric families, served at `/metrics`.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }

    /// Why the node stopped signing, if it did.
    pub fn halted(&self) -> Option<String> {
        self.shared.halt_reason()
    }

    /// Holds signing until [`Ledger::release_signing`]: appends are refused
    /// `UNAVAILABLE` with `reason` meanwhile (a node asking its witnesses,
    /// after a start, whether its store is behind what they cosigned).
    pub fn hold_signing(&self, reason: String) {
        *self.shared.held.write().unwrap_or_else(|p| p.into_inner()) = Some(reason);
    }

    pub fn release_signing(&self) {
        *self.shared.held.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Stops signing for good (`DATA_LOSS`), as a failed store check does:
    /// for a store proven behind what witnesses cosigned. Answers the error.
    pub fn refuse_signing(&self, reason: String) -> Error {
        self.shared.halt(reason)
    }

    /// Verified entries `[start, end)`, at most one page; `end` is clamped to the
    /// tree size. `start` past the tree is `OUT_OF_RANGE`.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let size = self.published().checkpoint.size;
        if start >= end {
            return Err(Error::InvalidArgument(format!(
                "start ({start}) must be less than end ({end})"
            )));
        }
        if start >= size {
            return Err(Error::OutOfRange(format!(
                "start {start} is past the tree of size {size}"
            )));
        }
        let end = end.min(size).min(start + limits::ENTRIES_PAGE_MAX);
        self.shared.verified_entries(start, end)
    }

    /// A C2SP tile of the published tree, as bytes: a hash tile's stored node
    /// hashes, or an entry bundle of verified entries. `NOT_FOUND` for a tile
    /// the published tree does not (yet) hold in full.
    pub fn tile(&self, tile: &Tile) -> Result<Vec<u8>> {
        let size = self.published().checkpoint.size;
        if !tile.within(size) {
            return Err(Error::NotFound(format!(
                "{} is not in the tree of size {size} (yet)",
                tile.path()
            )));
        }
        let (start, end) = (tile.index * TILE_WIDTH, tile.index * TILE_WIDTH + tile.width);
        let shared = &self.shared;
        // Hash tiles are checked by whoever reads them against the signed
        // root; a bundle is served as stored once the sweep verified it.
        if tile.level.is_some() || end <= shared.verified_below.load(Ordering::Relaxed) {
            return shared
                .store
                .tile(tile.level, tile.index, tile.width)
                .map_err(|e| shared.damaged(e));
        }
        let mut entries = Vec::with_capacity(tile.width as usize);
        while (entries.len() as u64) < tile.width {
            let at = start + entries.len() as u64;
            entries.extend(self.entries(at, end)?);
        }
        crate::log::tiles::encode_bundle(&entries)
            .ok_or_else(|| Error::Internal("an entry is longer than a bundle can hold".into()))
    }

    /// An RFC 6962 inclusion proof, checked against the stored tree before it
    /// is served.
    pub fn inclusion_proof(&self, index: LeafIndex, tree_size: TreeSize) -> Result<Vec<Hash>> {
        let (LeafIndex(index), TreeSize(tree_size)) = (index, tree_size);
        self.check_tree_size("tree_size", tree_size)?;
        if index >= tree_size {
            return Err(Error::InvalidArgument(format!(
                "index {index} must be less than tree_size {tree_size}"
            )));
        }
        let shared = &self.shared;
        let proof = merkle::resolve_plan(
            &merkle::inclusion_plan(LeafIndex(index), TreeSize(tree_size)),
            &shared.store,
        )
        .map_err(|e| shared.damaged(e))?;
        let leaf = shared
            .store
            .read_hashes(&[NodeId::leaf(index)])
            .map_err(|e| shared.damaged(e))?;
        let root = shared.root_at(tree_size)?;
        if !merkle::verify_inclusion(&leaf[0], index, tree_size, &proof, &root) {
            return Err(shared.halt(format!(
                "the stored tree gives a bad inclusion proof for {index}@{tree_size}"
            )));
        }
        Ok(proof)
    }

    /// An RFC 6962 consistency proof, checked before it is served.
    pub fn consistency_proof(&self, from_size: TreeSize, to_size: TreeSize) -> Result<Vec<Hash>> {
        let (TreeSize(from_size), TreeSize(to_size)) = (from_size, to_size);
        if from_size == 0 {
            return Err(Error::InvalidArgument(
                "from_size must be at least 1: every tree extends the empty tree, there is nothing to prove".into(),
            ));
        }
        if from_size > to_size {
            return Err(Error::InvalidArgument(format!(
                "from_size {from_size} is larger than to_size {to_size}"
            )));
        }
        self.check_tree_size("to_size", to_size)?;
        let shared = &self.shared;
        let proof = merkle::resolve_plan(
            &merkle::consistency_plan(TreeSize(from_size), TreeSize(to_size)),
            &shared.store,
        )
        .map_err(|e| shared.damaged(e))?;
        let (old_root, new_root) = (shared.root_at(from_size)?, shared.root_at(to_size)?);
        if !merkle::verify_consistency(from_size, to_size, &proof, &old_root, &new_root) {
            return Err(shared.halt(format!(
                "the stored tree gives a bad consistency proof {from_size}->{to_size}"
            )));
        }
        Ok(proof)
    }

    fn check_tree_size(&self, name: &str, tree_size: u64) -> Result<()> {
        let size = self.published().checkpoint.size;
        if tree_size == 0 {
            return Err(Error::InvalidArgument(format!("{name} must be at least 1")));
        }
        if tree_size > size {
            return Err(Error::OutOfRange(format!(
                "{name} {tree_size} is past the current tree size {size}"
            )));
        }
        Ok(())
    }

    /// Copies this log's data into `target` (a new directory): `log/` (the
    /// store, exported), `private/` (the private store, exported with its key
    /// file) and `checkpoint`, with the committer paused between group commits
    /// so the three agree. Appends wait meanwhile (they queue, bounded by the
    /// append queue). Answers the checkpoint the copy holds. Blocking.
    pub fn export_to(&self, target: &Path) -> Result<Published> {
        let _between_commits = lock(&self.shared.commit_gate);
        files::create_dir_durable(target)?;
        let published = self.published();
        self.shared.store.export_to(&store_path(target))?;
        if let Some(vault) = self.vault() {
            vault.export_to(&vault_path(target))?;
        }
        files::write_atomic(&checkpoint_path(target), &published.note, files::Mode::Readable)?;
        Ok(published)
    }

    /// Stops accepting appends and waits for the committer to finish the appends
    /// already queued. The store closes when the last handle is dropped.
    pub async fn shutdown(self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        drop(lock(&self.shared.appends).take());
        let mut threads: Vec<_> = lock(&self.shared.committer).take().into_iter().collect();
        // The committer may start a snapshot thread as it stops: join it first.
        let shared = self.shared.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads.drain(..) {
                let _ = thread.join();
            }
            let background: Vec<_> = lock(&shared.background).drain(..).collect();
            for thread in background {
                let _ = thread.join();
            }
        })
        .await;
    }
}

/// Where a log lives and the rules it is read with.
struct Settings {
    data_dir: PathBuf,
    state: String,
    profile: ProfileHistory,
    clock: Arc<dyn Clock>,
}

impl Shared {
    /// The state shared by readers and the writer (committer or follower).
    fn new(
        store: Store,
        published: Published,
        registry: Registry,
        settings: Settings,
        keys: LogKeys,
        appends: Option<mpsc::Sender<AppendRequest>>,
    ) -> Arc<Shared> {
        let metrics = Arc::new(Metrics::new());
        metrics.set_log_size(published.checkpoint.size);
        Arc::new(Shared {
            store,
            state: settings.state,
            verifier: keys.pinned().clone(),
            keys: RwLock::new(keys),
            data_dir: settings.data_dir,
            published: watch::channel(published).0,
            halted: RwLock::new(None),
            held: RwLock::new(None),
            appends: Mutex::new(appends),
            committer: Mutex::new(None),
            registry: RwLock::new(registry),
            profile: settings.profile,
            clock: settings.clock,
            commits: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            verified_below: AtomicU64::new(0),
            background: Mutex::new(Vec::new()),
            follower: Mutex::new(None),
            vault: Mutex::new(None),
            request_signer: Mutex::new(None),
            snapshot_size: Mutex::new(0),
            commit_gate: Mutex::new(()),
            metrics,
            key_transition_entries: AtomicU64::new(limits::KEY_TRANSITION_ENTRIES),
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Runs `work` on a named thread that `shutdown` will join.
    fn spawn_background(self: &Arc<Self>, name: &str, work: impl FnOnce() + Send + 'static) {
        match std::thread::Builder::new().name(name.into()).spawn(work) {
            Ok(handle) => lock(&self.background).push(handle),
            Err(e) => tracing::warn!("cannot start the {name} thread: {e}"),
        }
    }

    fn halt_reason(&self) -> Option<String> {
        self.halted.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops all signing, loudly, and returns the `DATA_LOSS` error to report.
    fn halt(&self, reason: String) -> Error {
        tracing::error!(data_dir = %self.data_dir.display(), %reason, "stored log failed verification; no more checkpoints will be signed until an operator repairs the store");
        let mut halted = self.halted.write().unwrap_or_else(|p| p.into_inner());
        if halted.is_none() {
            self.metrics.halted();
        }
        halted.get_or_insert(reason.clone());
        Error::DataLoss(format!(
            "{reason} (data directory {}); the node has stopped signing",
            self.data_dir.display()
        ))
    }

    /// A store error met while serving: corruption halts the node.
    fn damaged(&self, error: StoreError) -> Error {
        match error {
            StoreError::Corrupt { .. } | StoreError::Panicked { .. } => self.halt(error.to_string()),
            other => Error::from(other),
        }
    }

    fn root_at(&self, size: u64) -> Result<Hash> {
        merkle::root_at(size, &self.store).map_err(|e| self.damaged(e))
    }

    /// Entries `[start, end)`, each checked against its stored leaf hash.
    fn verified_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let entries = self.store.entries(start, end).map_err(|e| self.damaged(e))?;
        let leaves: Vec<NodeId> = (start..end).map(NodeId::leaf).collect();
        let hashes = self.store.read_hashes(&leaves).map_err(|e| self.damaged(e))?;
        for ((index, entry), stored) in (start..).zip(&entries).zip(&hashes) {
            if merkle::leaf_hash(entry) != *stored {
                return Err(self.halt(format!("entry {index} does not match its leaf hash")));
            }
        }
        Ok(entries)
    }
}
