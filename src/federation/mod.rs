//! Federation: the other states this node trusts, a verified copy of each of
//! their logs, and transfer evaluations based on them (DESIGN.md §2).
//!
//! For each trusted state the node keeps a mirror (`mirror.rs`): the last
//! checkpoint it verified and every entry up to it, each checked against the
//! pinned key. A newer checkpoint is accepted only with a consistency proof.
//! Only a *proven* equivocation (`mirror::EquivocationProof`, recorded in
//! `equivocation.json` in the mirror's directory) blocks decisions based on
//! that state's log until an operator acknowledges it (`peerreg trust ack`);
//! anything unproven (stale, unprovable, slow) makes the follower *suspect*:
//! shown, counted, retried with back-off, never a block. Followers catch up in
//! bounded rounds and never hold up the node: an evaluation that needs a newer
//! copy than a running catch-up has reached answers `UNAVAILABLE` ("catching
//! up: N of M") instead of waiting, and a peer that is down makes the calls
//! that need it `UNAVAILABLE`, never a false approval.
//!
//! The full copy is what makes evidence *complete*: a bundle that omits a
//! discipline event verifies entry by entry, but the receiver's own copy of
//! the origin's log knows every event about the holder.

pub mod alerts;
mod evaluate;
pub mod received;
pub mod trust;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

pub use evaluate::{evaluate_transfer, TransferRequest, TransferResult};
use trust::{TrustEntry, TrustList};

use crate::domain::status::Status;
use crate::error::{Error, Result};
use crate::ledger::{Ledger, Published};
use crate::log::cosignature::{CosignatureVerifier, WitnessPolicy};
use crate::metrics::{FollowerRole, FollowerState, FollowerView, Metrics};
use crate::mirror::{self, unix_now, EquivocationRecord, FollowLimits, MirrorSpec, Round, RoundError};
use crate::source::{Connector, EvidenceSource, NodeAddress};
use crate::store::files;
use crate::witness::read::WitnessedSource;

/// How often followers poll, the longest back-off, and the bounds of a round.
#[derive(Clone, Copy, Debug)]
pub struct FederationOptions {
    pub follow_interval: Duration,
    pub backoff_max: Duration,
    pub limits: FollowLimits,
    /// How long an evaluation may spend bringing a copy up to its evidence.
    pub evaluation_catch_up: Duration,
}

impl Default for FederationOptions {
    fn default() -> FederationOptions {
        FederationOptions {
            follow_interval: mirror::FOLLOW_INTERVAL,
            backoff_max: mirror::FOLLOW_BACKOFF_MAX,
            limits: FollowLimits::default(),
            evaluation_catch_up: crate::limits::EVALUATION_CATCH_UP,
        }
    }
}

/// Where following a trusted log stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FollowState {
    /// No round has finished since start.
    #[default]
    NotYetFollowed,
    /// The copy holds the latest checkpoint the origin showed.
    Following,
    /// A backlog is being verified in bounded rounds.
    CatchingUp { verified: u64, target: u64 },
    /// The last round failed without proof of anything (see `last_error`).
    Suspect,
    /// A proven equivocation is recorded and not acknowledged.
    Blocked,
}

#[derive(Clone, Debug, Default)]
struct Health {
    state: FollowState,
    last_followed_unix: i64,
    last_error: String,
    /// Rounds that ended suspect since start.
    suspect_rounds: u64,
    /// The largest size the origin has shown (for the entries behind).
    shown: u64,
}

/// What this node knows of one trusted state (`Federation.GetFederationStatus`).
#[derive(Clone, Debug)]
pub struct PartnerStatus {
    pub state: String,
    pub origin: String,
    pub endpoint: String,
    pub verifier_key: String,
    /// The last checkpoint of that state's log this node verified.
    pub verified: Option<Published>,
    pub follow: FollowState,
    pub last_followed_unix: i64,
    pub last_error: String,
    pub suspect_rounds: u64,
    pub equivocation: Option<EquivocationRecord>,
}

/// An origin credential's status, as this node's verified copy shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginStatus {
    pub origin_state: String,
    pub credential_number: String,
    pub status: Status,
    pub expires_on: chrono::NaiveDate,
    pub verified_size: u64,
}

/// One trusted state: its pinned key, its node, and this node's verified copy of its log.
pub struct Partner {
    pub entry: TrustEntry,
    spec: MirrorSpec,
    address: NodeAddress,
    /// Where the copy lives (inside `<data>/mirrors/`).
    data_dir: std::path::PathBuf,
    dir: std::path::PathBuf,
    connector: Arc<dyn Connector>,
    /// The copy, once created. Readers clone the handle; only a round changes it.
    opened: RwLock<Option<Ledger>>,
    /// One round at a time (the follower and evaluations share it).
    syncing: tokio::sync::Mutex<()>,
    health: Mutex<Health>,
    options: FederationOptions,
    /// The node's metrics, once a follower runs (see `report`).
    metrics: OnceLock<Arc<Metrics>>,
    /// Whose cosignatures this state's checkpoints need before the follower
    /// takes them (quorum 0: none; see [`Federation::require_witnesses`]).
    witnesses: RwLock<WitnessPolicy>,
}

impl Partner {
    fn open(
        data_dir: &Path,
        entry: TrustEntry,
        connector: Arc<dyn Connector>,
        options: FederationOptions,
    ) -> Result<Partner> {
        let verifier = entry.verifier()?;
        let spec = MirrorSpec {
            origin: verifier.name().to_string(),
            endpoint: entry.endpoint.clone(),
            verifier,
        };
        let dir = mirror::mirror_dir(data_dir, &spec.origin);
        let ca_pem = match &entry.ca_cert {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                Error::InvalidArgument(format!(
                    "cannot read the CA for {} ({}): {e}",
                    entry.state,
                    path.display()
                ))
            })?),
            None => None,
        };
        let opened = mirror::open_seeded(&dir, &spec)?;
        if let Some(ledger) = &opened {
            check_state(&entry, ledger)?;
        }
        Ok(Partner {
            address: NodeAddress {
                endpoint: entry.endpoint.clone(),
                ca_pem,
            },
            entry,
            spec,
            data_dir: data_dir.to_path_buf(),
            dir,
            connector,
            opened: RwLock::new(opened),
            syncing: tokio::sync::Mutex::new(()),
            health: Mutex::new(Health::default()),
            options,
            metrics: OnceLock::new(),
            witnesses: RwLock::default(),
        })
    }

    pub fn state(&self) -> &str {
        &self.entry.state
    }

    pub fn verifier(&self) -> &crate::log::note::NoteVerifier {
        &self.spec.verifier
    }

    /// The verified copy of this state's log, if it has been created.
    pub fn mirror(&self) -> Option<Ledger> {
        self.opened.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// This state's node, to ask for evidence.
    pub async fn node(&self) -> Result<Box<dyn EvidenceSource>> {
        self.connector.node(&self.address).await
    }

    /// Refuses while an equivocation by this state is recorded and not acknowledged.
    pub fn ensure_not_blocked(&self) -> Result<()> {
        match mirror::recorded_equivocation(&self.dir)? {
            None => Ok(()),
            Some(record) => Err(Error::FailedPrecondition(format!(
                "{}'s log equivocated ({}); the evidence is in {}. No decision is based on it until an operator \
                 runs `peerreg trust ack {}`",
                self.entry.state,
                record.detail,
                mirror::equivocation_path(&self.dir).display(),
                self.entry.state
            ))),
        }
    }

    /// One bounded round of following (creating the copy on first use).
    pub async fn sync(&self) -> Result<Round> {
        let _one_at_a_time = self.syncing.lock().await;
        self.round_locked(self.options.limits).await
    }

    /// Brings the copy up to at least `size` for an evaluation, within a short
    /// deadline (waiting for a running round only within it): if the backlog
    /// is too long for it, `UNAVAILABLE` says how far the catch-up got. A copy that
    /// holds the origin's latest checkpoint is returned even if smaller: the
    /// origin has never shown `size`.
    pub async fn catch_up_to(&self, size: u64) -> Result<Ledger> {
        if let Some(copy) = self.mirror().filter(|m| m.published().checkpoint.size >= size) {
            return Ok(copy);
        }
        let deadline = tokio::time::Instant::now() + self.options.evaluation_catch_up;
        let Ok(_one_at_a_time) = tokio::time::timeout_at(deadline, self.syncing.lock()).await else {
            return Err(self.catching_up_error(size));
        };
        if let Some(copy) = self.mirror().filter(|m| m.published().checkpoint.size >= size) {
            return Ok(copy);
        }
        let limits = FollowLimits {
            round_deadline: deadline.saturating_duration_since(tokio::time::Instant::now()),
            ..self.options.limits
        };
        match (self.round_locked(limits).await?, self.mirror()) {
            (Round::Current { .. }, Some(copy)) => Ok(copy),
            _ => Err(self.catching_up_error(size)),
        }
    }

    fn catching_up_error(&self, size: u64) -> Error {
        let verified = self.mirror().map_or(0, |m| m.staged_size());
        let target = match self.health().state {
            FollowState::CatchingUp { target, .. } => target.max(size),
            _ => size,
        };
        Error::Unavailable(format!(
            "this node is still verifying {}'s log (catching up: {verified} of {target} entries); try again shortly",
            self.state()
        ))
    }

    async fn round_locked(&self, limits: FollowLimits) -> Result<Round> {
        self.ensure_not_blocked()?;
        let result = self.round(limits).await;
        self.record_health(&result);
        result.map_err(Error::from)
    }

    async fn round(&self, limits: FollowLimits) -> Result<Round, RoundError> {
        let source = self.connector.log(&self.address).await.map_err(RoundError::Suspect)?;
        let ledger = match self.mirror() {
            Some(ledger) => ledger,
            None => {
                let ledger = mirror::open(&self.data_dir, &self.spec, source.as_ref())
                    .await
                    .map_err(RoundError::Suspect)?;
                check_state(&self.entry, &ledger).map_err(RoundError::Suspect)?;
                *self.opened.write().unwrap_or_else(|p| p.into_inner()) = Some(ledger.clone());
                ledger
            }
        };
        let policy = self.witnesses.read().unwrap_or_else(|p| p.into_inner()).clone();
        if policy.quorum == 0 {
            return mirror::follow_round(&ledger, source.as_ref(), limits).await;
        }
        let witnessed = WitnessedSource {
            inner: source.as_ref(),
            policy,
        };
        mirror::follow_round(&ledger, &witnessed, limits).await
    }

    fn record_health(&self, result: &Result<Round, RoundError>) {
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(Round::Current { .. }) => {
                health.state = FollowState::Following;
                health.last_followed_unix = unix_now();
                health.last_error.clear();
                health.shown = self.mirror().map_or(0, |m| m.published().checkpoint.size);
            }
            Ok(Round::CatchingUp { verified, target }) => {
                health.state = FollowState::CatchingUp {
                    verified: *verified,
                    target: *target,
                };
                health.last_followed_unix = unix_now();
                health.shown = health.shown.max(*target);
            }
            Err(RoundError::Equivocation(e)) => {
                health.state = FollowState::Blocked;
                health.last_error = format!("{}: {e}", e.code_name());
            }
            Err(RoundError::Suspect(e)) => {
                health.state = FollowState::Suspect;
                health.suspect_rounds += 1;
                health.last_error = format!("{}: {e}", e.code_name());
                tracing::warn!(state = %self.entry.state, rounds = health.suspect_rounds, "suspect follow round: {e}");
            }
        }
        self.report(&health);
    }

    /// Reports where following stands to the node's metrics (once a follower
    /// runs): the verified size, the entries behind what the origin has
    /// shown, and the state.
    fn report(&self, health: &Health) {
        let Some(metrics) = self.metrics.get() else { return };
        let verified = self.mirror().map_or(0, |m| m.published().checkpoint.size);
        let state = match health.state {
            FollowState::NotYetFollowed => FollowerState::NotYetFollowed,
            FollowState::Following => FollowerState::Following,
            FollowState::CatchingUp { .. } => FollowerState::CatchingUp,
            FollowState::Suspect => FollowerState::Suspect,
            FollowState::Blocked => FollowerState::Equivocation,
        };
        let view = FollowerView {
            verified,
            target: health.shown.max(verified),
            state,
        };
        metrics.follower(FollowerRole::Trusted, self.state(), view);
    }

    fn health(&self) -> Health {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records a proven equivocation found while checking evidence.
    fn record_equivocation(&self, ledger: &Ledger, detail: String, proof: mirror::EquivocationProof) -> Error {
        let error = mirror::equivocation(ledger, detail, proof);
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        health.state = FollowState::Blocked;
        self.report(&health);
        error
    }

    fn status(&self) -> Result<PartnerStatus> {
        let health = self.health();
        let equivocation = mirror::recorded_equivocation(&self.dir)?;
        Ok(PartnerStatus {
            state: self.entry.state.clone(),
            origin: self.spec.origin.clone(),
            endpoint: self.entry.endpoint.clone(),
            verifier_key: self.entry.key.clone(),
            verified: self.mirror().map(|m| m.published()).filter(|p| p.checkpoint.size > 0),
            follow: if equivocation.is_some() {
                FollowState::Blocked
            } else {
                health.state
            },
            last_followed_unix: health.last_followed_unix,
            last_error: health.last_error,
            suspect_rounds: health.suspect_rounds,
            equivocation,
        })
    }

    /// Follows the origin until aborted: at once while catching up, at the
    /// interval when current, with back-off while suspect or blocked. After
    /// each round, the records received from this state that its notices
    /// expunge are erased, and the board is alerted to what the copy shows
    /// of the origin credentials this node's decisions stand on.
    async fn follow(self: Arc<Partner>, received: Option<Arc<received::Received>>, watch: Option<Watch>) {
        let options = self.options;
        let mut wait = options.follow_interval;
        loop {
            tokio::time::sleep(wait).await;
            let round = self.sync().await;
            if let (Some(received), Some(copy)) = (&received, self.mirror()) {
                let received = received.clone();
                let swept = tokio::task::spawn_blocking(move || received.sweep(&copy)).await;
                if let Ok(Err(e)) = swept {
                    tracing::error!(state = %self.entry.state, "erasing records the origin expunged: {e}");
                }
            }
            if let (Some(watch), Some(copy)) = (&watch, self.mirror()) {
                self.raise_alerts(watch, copy).await;
            }
            wait = match round {
                Ok(Round::Current { added }) => {
                    if added > 0 {
                        tracing::info!(state = %self.entry.state, added, "followed a trusted state's log");
                    }
                    options.follow_interval
                }
                Ok(Round::CatchingUp { .. }) => Duration::ZERO,
                Err(_) => (wait * 2).clamp(options.follow_interval, options.backoff_max),
            };
        }
    }
}

/// What a follower alerts the board about: this node's own log (its grants
/// and evaluations) and where alerts are kept.
#[derive(Clone)]
struct Watch {
    own: Ledger,
    alerts: Arc<alerts::Alerts>,
}

impl Partner {
    /// Raises the alerts the copy calls for (see `alerts`); failures are
    /// logged and retried after the next round.
    async fn raise_alerts(&self, watch: &Watch, copy: Ledger) {
        let watch = watch.clone();
        let state = self.entry.state.clone();
        let raised = tokio::task::spawn_blocking(move || {
            let own = watch.own.registry();
            // The copy's keys: the pinned key and those its verified entries introduced.
            let keys = copy.keys();
            let found = alerts::candidates(&own, &state, &keys, &copy.registry(), watch.own.today());
            watch.alerts.raise(found, unix_now())
        })
        .await;
        match raised {
            Ok(Ok(raised)) => {
                for alert in raised {
                    tracing::warn!(state = %self.entry.state, id = alert.id, "alert raised for the board");
                }
            }
            Ok(Err(e)) => tracing::error!(state = %self.entry.state, "raising alerts: {e}"),
            Err(e) => tracing::error!(state = %self.entry.state, "raising alerts: {e}"),
        }
    }
}

/// The node behind a trusted endpoint must be the state it is trusted as.
fn check_state(entry: &TrustEntry, mirror: &Ledger) -> Result<()> {
    if mirror.state() != entry.state {
        return Err(Error::FailedPrecondition(format!(
            "the log at {} is state {}'s, but it is trusted as {}'s",
            entry.endpoint,
            mirror.state(),
            entry.state
        )));
    }
    Ok(())
}

/// Every trusted state, and the followers keeping their copies current. The
/// set changes while the node runs ([`Federation::add_trust`],
/// [`Federation::remove_trust`]); readers take a handle on a partner and keep
/// it for their call.
pub struct Federation {
    own_state: String,
    partners: RwLock<BTreeMap<String, Arc<Partner>>>,
    followers: Mutex<BTreeMap<String, tokio::task::JoinHandle<()>>>,
    /// The board's alerts (`None` for a node that trusts no other state).
    alerts: Option<Arc<alerts::Alerts>>,
    /// What a trust change needs: `None` for [`Federation::empty`].
    changes: Option<Changes>,
    /// The node's own log, once followers run (they keep its received records).
    own: Mutex<Option<Ledger>>,
}

/// Where the trust list lives and how new partners are opened.
struct Changes {
    data_dir: std::path::PathBuf,
    options: FederationOptions,
    connector: Arc<dyn Connector>,
    /// One trust change at a time (file and followers change together).
    one_at_a_time: tokio::sync::Mutex<()>,
}

/// What removing a trusted state did.
#[derive(Clone, Debug)]
pub struct Removed {
    pub entry: TrustEntry,
    /// Where the verified copy of its log now is (moved aside, kept on disk).
    pub kept_at: Option<std::path::PathBuf>,
    /// False when a call still held the copy after the bounded wait (it
    /// closes when that call ends).
    pub stopped_cleanly: bool,
}

impl Federation {
    /// Opens the copies already held for `list` (no network); copies are
    /// created and filled by the followers, through `connector`.
    pub fn open(
        data_dir: &Path,
        own_state: &str,
        list: &TrustList,
        options: FederationOptions,
        connector: Arc<dyn Connector>,
    ) -> Result<Federation> {
        let mut partners = BTreeMap::new();
        for entry in &list.entries {
            check_not_own(own_state, entry)?;
            let partner = Partner::open(data_dir, entry.clone(), connector.clone(), options)?;
            partners.insert(entry.state.clone(), Arc::new(partner));
        }
        Ok(Federation {
            own_state: own_state.to_string(),
            partners: RwLock::new(partners),
            followers: Mutex::new(BTreeMap::new()),
            alerts: Some(Arc::new(alerts::Alerts::open(data_dir)?)),
            changes: Some(Changes {
                data_dir: data_dir.to_path_buf(),
                options,
                connector,
                one_at_a_time: tokio::sync::Mutex::new(()),
            }),
            own: Mutex::new(None),
        })
    }

    /// A federation with nobody in it (a node that trusts no other state).
    pub fn empty(own_state: &str) -> Federation {
        Federation {
            own_state: own_state.to_string(),
            partners: RwLock::new(BTreeMap::new()),
            followers: Mutex::new(BTreeMap::new()),
            alerts: None,
            changes: None,
            own: Mutex::new(None),
        }
    }

    /// Starts one follower per trusted state (call once, inside a tokio
    /// runtime); each also keeps `own`'s records received from its state in
    /// step with that state's expungements.
    pub fn spawn_followers(&self, own: &Ledger) -> Result<()> {
        *self.own.lock().unwrap_or_else(|p| p.into_inner()) = Some(own.clone());
        for partner in self.partners() {
            self.spawn_follower(own, partner)?;
        }
        Ok(())
    }

    fn spawn_follower(&self, own: &Ledger, partner: Arc<Partner>) -> Result<()> {
        let received = received::Received::new(own, partner.state())?.map(Arc::new);
        let watch = self.alerts.clone().map(|alerts| Watch {
            own: own.clone(),
            alerts,
        });
        let state = partner.state().to_string();
        let _ = partner.metrics.set(own.metrics());
        partner.report(&partner.health());
        let handle = tokio::spawn(partner.follow(received, watch));
        let mut followers = self.followers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = followers.insert(state, handle) {
            old.abort();
        }
        Ok(())
    }

    fn changes(&self) -> Result<&Changes> {
        self.changes.as_ref().ok_or_else(|| {
            Error::FailedPrecondition("this node was started without a trust list; it cannot change one".into())
        })
    }

    /// The trust list as the node's file holds it.
    pub fn trust_list(&self) -> Result<TrustList> {
        TrustList::load(&self.changes()?.data_dir)
    }

    /// Trusts a state on the running node: the entry is checked by the same
    /// rules as `peerreg trust add` ([`TrustList::add`]), the file saved
    /// atomically, then the state's follower started (a replaced entry's
    /// follower is stopped first). Nothing changes if any check fails.
    pub async fn add_trust(&self, entry: TrustEntry, existing: trust::Existing) -> Result<TrustEntry> {
        let changes = self.changes()?;
        let _one_at_a_time = changes.one_at_a_time.lock().await;
        let mut list = TrustList::load(&changes.data_dir)?;
        list.add(entry.clone(), existing)?;
        let state = crate::domain::states::parse_state(&entry.state)?;
        let added = list
            .get(&state)
            .cloned()
            .ok_or_else(|| Error::Internal(format!("{state} missing from the trust list just added to")))?;
        check_not_own(&self.own_state, &added)?;
        let own = self.own.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if own.as_ref().is_some_and(|own| own.verifier().name() == added.origin()) {
            return Err(Error::InvalidArgument(format!(
                "the key given for {} is this node's own log's",
                added.state
            )));
        }
        let replaced = self
            .partners
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&state)
            .cloned();
        if let Some(old) = &replaced {
            self.stop_partner(old).await;
        }
        let opened = Partner::open(
            &changes.data_dir,
            added.clone(),
            changes.connector.clone(),
            changes.options,
        )
        .and_then(|partner| list.save(&changes.data_dir).map(|()| Arc::new(partner)));
        let partner = match opened {
            Ok(partner) => partner,
            Err(error) => {
                // Nothing changed: the replaced entry's follower runs again.
                if let (Some(own), Some(old)) = (&own, replaced) {
                    self.spawn_follower(own, old)?;
                }
                return Err(error);
            }
        };
        self.partners
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(state, partner.clone());
        if let Some(own) = own {
            self.spawn_follower(&own, partner)?;
        }
        Ok(added)
    }

    /// Stops trusting a state on the running node: its follower stopped
    /// (waiting at most [`crate::limits::SHUTDOWN_GRACE`] for a round or an
    /// evaluation using the copy), the file saved, the copy moved aside and
    /// kept on disk ([`trust::set_aside`], as `peerreg trust remove` does).
    pub async fn remove_trust(&self, state: &str) -> Result<Removed> {
        let changes = self.changes()?;
        let _one_at_a_time = changes.one_at_a_time.lock().await;
        let mut list = TrustList::load(&changes.data_dir)?;
        let entry = list.remove(state)?;
        list.save(&changes.data_dir)?;
        let partner = self
            .partners
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&entry.state);
        let stopped_cleanly = match partner {
            Some(partner) => self.stop_partner(&partner).await,
            None => true,
        };
        let kept_at = trust::set_aside(&changes.data_dir, &entry)?;
        Ok(Removed {
            entry,
            kept_at,
            stopped_cleanly,
        })
    }

    /// Stops a partner's follower and closes its copy, waiting a bounded time.
    async fn stop_partner(&self, partner: &Partner) -> bool {
        let follower = self
            .followers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(partner.state());
        let grace = crate::limits::SHUTDOWN_GRACE;
        if let Some(follower) = follower {
            follower.abort();
            let _ = tokio::time::timeout(grace, follower).await;
        }
        if let Some(metrics) = partner.metrics.get() {
            metrics.forget_follower(FollowerRole::Trusted, partner.state());
        }
        let Ok(_one_at_a_time) = tokio::time::timeout(grace, partner.syncing.lock()).await else {
            tracing::warn!(state = %partner.state(), "a call still uses the copy; it closes when that call ends");
            return false;
        };
        let taken = partner.opened.write().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(ledger) = taken {
            ledger.shutdown().await;
        }
        true
    }

    /// The trusted state `state`, or why there is none.
    pub fn partner(&self, state: &str) -> Result<Arc<Partner>> {
        self.partners
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(state)
            .cloned()
            .ok_or_else(|| {
                Error::FailedPrecondition(format!(
                    "{state} is not in this node's trust list, so its evidence cannot be verified; add it with \
                     `peerreg trust add --state {state} --endpoint ... --key ...`"
                ))
            })
    }

    /// Followers take a trusted state's checkpoint only once `quorum` of
    /// these witnesses cosigned it: this node's own (`own_witness`) and the
    /// other trusted states' pinned witnesses, never the state's own witness.
    pub fn require_witnesses(&self, own_witness: &CosignatureVerifier, quorum: usize) -> Result<()> {
        let partners = self.partners();
        for partner in &partners {
            let mut witnesses = vec![own_witness.clone()];
            for other in partners.iter().filter(|o| o.entry.state != partner.entry.state) {
                witnesses.extend(other.entry.witness_verifier()?);
            }
            let quorum = quorum.min(witnesses.len());
            *partner.witnesses.write().unwrap_or_else(|p| p.into_inner()) = WitnessPolicy { witnesses, quorum };
        }
        Ok(())
    }

    pub fn own_state(&self) -> &str {
        &self.own_state
    }

    /// The trusted states now (a copy: the set may change meanwhile).
    pub fn partners(&self) -> Vec<Arc<Partner>> {
        self.partners
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The board's alerts (`None` when this node trusts no other state).
    pub fn alerts(&self) -> Option<&Arc<alerts::Alerts>> {
        self.alerts.as_ref()
    }

    pub fn status(&self) -> Result<Vec<PartnerStatus>> {
        self.partners().iter().map(|p| p.status()).collect()
    }

    /// A credential's status in `state` from the verified copy (no network).
    pub fn origin_status(&self, state: &str, number: &str, today: chrono::NaiveDate) -> Result<OriginStatus> {
        let partner = self.partner(state)?;
        let mirror = partner
            .mirror()
            .filter(|m| m.published().checkpoint.size > 0)
            .ok_or_else(|| partner.catching_up_error(1))?;
        let registry = mirror.registry();
        let credential = registry
            .credential(number)
            .ok_or_else(|| Error::NotFound(format!("no credential {number:?} in {state}'s verified log")))?;
        Ok(OriginStatus {
            origin_state: state.to_string(),
            credential_number: number.to_string(),
            status: credential.status_on(today),
            expires_on: credential.expires_on_as_of(today),
            verified_size: registry.size,
        })
    }

    /// Stops the followers and closes the copies.
    pub async fn shutdown(&self) {
        let followers: Vec<_> = std::mem::take(&mut *self.followers.lock().unwrap_or_else(|p| p.into_inner()))
            .into_values()
            .collect();
        for follower in followers {
            follower.abort();
            let _ = follower.await;
        }
        for partner in self.partners() {
            let _one_at_a_time = partner.syncing.lock().await;
            let taken = partner.opened.write().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(ledger) = taken {
                ledger.shutdown().await;
            }
        }
        self.own.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// The witness cosigns the logs of the trusted states, with their pinned keys;
/// a fork shown to it blocks decisions on that state as a follower's proof does.
impl crate::witness::WitnessedLogs for Federation {
    fn keys(&self, origin: &str) -> Option<crate::log::keys::LogKeys> {
        let partner = self.partners().into_iter().find(|p| p.spec.origin == origin)?;
        Some(match partner.mirror() {
            Some(copy) => copy.keys(),
            None => crate::log::keys::LogKeys::new(partner.spec.verifier.clone()),
        })
    }

    fn fork_proven(&self, origin: &str, record: &EquivocationRecord) {
        let Some(partner) = self.partners().into_iter().find(|p| p.spec.origin == origin) else {
            return;
        };
        partner.block_on_proof(record);
    }
}

impl Partner {
    /// Records `record` (already proven) where the follower keeps its own
    /// evidence, unless one is already recorded, and blocks decisions.
    fn block_on_proof(&self, record: &EquivocationRecord) {
        let path = mirror::equivocation_path(&self.dir);
        let held = files::create_dir_durable(&self.dir)
            .map_err(Error::from)
            .and_then(|()| mirror::read_equivocation(&path));
        match held {
            Ok(Some(_)) => {}
            Ok(None) => record.write(&path),
            Err(e) => tracing::error!(state = %self.entry.state, "cannot record the fork evidence: {e}"),
        }
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        health.state = FollowState::Blocked;
        health.last_error = format!("equivocation: {}", record.detail);
        self.report(&health);
    }
}

/// A node does not trust its own state as a partner.
fn check_not_own(own_state: &str, entry: &TrustEntry) -> Result<()> {
    if entry.state == own_state {
        return Err(Error::InvalidArgument(format!(
            "the trust list names this node's own state {own_state}"
        )));
    }
    Ok(())
}
