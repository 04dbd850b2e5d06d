//! Federation: the other states this node trusts, a verified copy of each of
//! their logs, and transfer evaluations based on them (DESIGN.md §2).
//!
//! For each trusted state the node keeps a mirror (`mirror.rs`): the last
//! checkpoint it verified and every entry up to it, each checked against the
//! pinned key. A newer checkpoint is accepted only with a consistency proof;
//! anything else is an equivocation, recorded durably with both signed
//! checkpoints (`equivocation.json` in the mirror's directory), and from then on
//! no decision is based on that state's log until an operator acknowledges it
//! (`peerreg trust ack`). Followers poll each trusted log, back off while a
//! peer is down, and never hold up the node: a peer that is down makes the
//! calls that need it `UNAVAILABLE`, never a false approval.
//!
//! The full copy is what makes evidence *complete*: a bundle that omits a
//! discipline event verifies entry by entry, but the receiver's own copy of
//! the origin's log knows every event about the holder.

mod evaluate;
pub mod trust;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub use evaluate::{evaluate_transfer, TransferRequest, TransferResult};
use trust::{TrustEntry, TrustList};

use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::mirror::{self, unix_now, MirrorSpec};
use crate::pb;
use crate::service::client::{connect_with, ClientTls, LogClient, NodeClient};

/// How often followers poll, and the longest back-off while a peer is down.
#[derive(Clone, Copy, Debug)]
pub struct FederationOptions {
    pub follow_interval: Duration,
    pub backoff_max: Duration,
}

impl Default for FederationOptions {
    fn default() -> FederationOptions {
        FederationOptions {
            follow_interval: mirror::FOLLOW_INTERVAL,
            backoff_max: mirror::FOLLOW_BACKOFF_MAX,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Health {
    last_followed_unix: i64,
    last_error: String,
}

/// One trusted state: its pinned key, its node, and this node's verified copy of its log.
pub struct Partner {
    pub entry: TrustEntry,
    spec: MirrorSpec,
    dir: PathBuf,
    tls: Option<ClientTls>,
    /// The mirror, once seeded. Readers clone the handle; only `sync` changes it.
    opened: RwLock<Option<Ledger>>,
    /// One sync at a time (the follower and evaluations share it).
    syncing: tokio::sync::Mutex<()>,
    health: Mutex<Health>,
}

impl Partner {
    fn open(data_dir: &Path, entry: TrustEntry) -> Result<Partner> {
        let verifier = entry.verifier()?;
        let spec = MirrorSpec {
            origin: verifier.name().to_string(),
            endpoint: entry.endpoint.clone(),
            verifier,
        };
        let dir = mirror::mirror_dir(data_dir, &spec.origin);
        let tls = match &entry.ca_cert {
            Some(path) => Some(ClientTls {
                ca_pem: std::fs::read(path).map_err(|e| {
                    Error::InvalidArgument(format!(
                        "cannot read the CA for {} ({}): {e}",
                        entry.state,
                        path.display()
                    ))
                })?,
                identity: None,
                domain: None,
            }),
            None => None,
        };
        let opened = mirror::open_seeded(&dir, &spec)?;
        if let Some(ledger) = &opened {
            check_state(&entry, ledger)?;
        }
        Ok(Partner {
            entry,
            spec,
            dir,
            tls,
            opened: RwLock::new(opened),
            syncing: tokio::sync::Mutex::new(()),
            health: Mutex::new(Health::default()),
        })
    }

    pub fn state(&self) -> &str {
        &self.entry.state
    }

    pub fn verifier(&self) -> &crate::log::note::NoteVerifier {
        &self.spec.verifier
    }

    /// The verified copy of this state's log, if it has been seeded.
    pub fn mirror(&self) -> Option<Ledger> {
        self.opened.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A client of this state's node (Reciprocity and Registry calls).
    pub async fn node(&self) -> Result<NodeClient> {
        let channel = connect_with(&self.entry.endpoint, self.tls.as_ref()).await?;
        Ok(NodeClient::from_channel(channel, None))
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

    /// Brings the mirror up to the origin's latest checkpoint (seeding it on
    /// first use). Returns the mirror and the entries added.
    pub async fn sync(&self) -> Result<(Ledger, u64)> {
        let _one_at_a_time = self.syncing.lock().await;
        self.ensure_not_blocked()?;
        let result = self.sync_locked().await;
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(_) => {
                *health = Health {
                    last_followed_unix: unix_now(),
                    last_error: String::new(),
                }
            }
            Err(e) => health.last_error = format!("{}: {e}", e.code_name()),
        }
        result
    }

    async fn sync_locked(&self) -> Result<(Ledger, u64)> {
        let log = LogClient::new(connect_with(&self.entry.endpoint, self.tls.as_ref()).await?);
        let ledger = match self.mirror() {
            Some(ledger) => ledger,
            None => {
                mirror::seed(&self.dir, &self.spec, &log).await?;
                let ledger = mirror::open_seeded(&self.dir, &self.spec)?.ok_or_else(|| {
                    Error::Internal(format!("the mirror of {} did not open after seeding", self.state()))
                })?;
                check_state(&self.entry, &ledger)?;
                *self.opened.write().unwrap_or_else(|p| p.into_inner()) = Some(ledger.clone());
                return Ok((ledger, 0));
            }
        };
        let added = mirror::sync_once(&ledger, &self.spec.origin, &log).await?;
        Ok((ledger, added))
    }

    /// Records that this state signed `offered`, which contradicts the copy held.
    fn record_equivocation(&self, ledger: &Ledger, offered: &[u8], detail: String) -> Error {
        mirror::equivocation(ledger, &self.spec.origin, offered, detail)
    }

    fn status(&self) -> Result<pb::TrustedState> {
        let health = self.health.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let published = self.mirror().map(|m| m.published());
        let equivocation = mirror::recorded_equivocation(&self.dir)?.map(|r| pb::Equivocation {
            detail: r.detail,
            held_checkpoint: r.held_checkpoint.into_bytes(),
            offered_checkpoint: r.offered_checkpoint.into_bytes(),
            recorded_unix: r.recorded_unix,
        });
        Ok(pb::TrustedState {
            state: self.entry.state.clone(),
            origin: self.spec.origin.clone(),
            endpoint: self.entry.endpoint.clone(),
            verifier_key: self.entry.key.clone(),
            verified_size: published.as_ref().map_or(0, |p| p.checkpoint.size),
            verified_checkpoint: published.map(|p| p.note.to_vec()).unwrap_or_default(),
            last_followed_unix: health.last_followed_unix,
            last_error: health.last_error,
            equivocation,
        })
    }

    /// Polls the origin until aborted; backs off while it is down or blocked.
    async fn follow(self: Arc<Partner>, options: FederationOptions) {
        let mut wait = options.follow_interval;
        loop {
            tokio::time::sleep(wait).await;
            match self.sync().await {
                Ok((_, added)) => {
                    wait = options.follow_interval;
                    if added > 0 {
                        tracing::info!(state = %self.entry.state, added, "followed a trusted state's log");
                    }
                }
                Err(Error::FailedPrecondition(_)) => wait = options.follow_interval,
                Err(e) => {
                    wait = (wait * 2).min(options.backoff_max);
                    tracing::warn!(state = %self.entry.state, "cannot follow ({e}); retrying in {wait:?}");
                }
            }
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

/// Every trusted state, and the followers keeping their copies current.
pub struct Federation {
    own_state: String,
    partners: BTreeMap<String, Arc<Partner>>,
    options: FederationOptions,
    followers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Federation {
    /// Opens the copies already held for `list` (no network); seeding happens on first follow.
    pub fn open(data_dir: &Path, own_state: &str, list: &TrustList, options: FederationOptions) -> Result<Federation> {
        let mut partners = BTreeMap::new();
        for entry in &list.entries {
            if entry.state == own_state {
                return Err(Error::InvalidArgument(format!(
                    "the trust list names this node's own state {own_state}"
                )));
            }
            let partner = Partner::open(data_dir, entry.clone())?;
            partners.insert(entry.state.clone(), Arc::new(partner));
        }
        Ok(Federation {
            own_state: own_state.to_string(),
            partners,
            options,
            followers: Mutex::new(Vec::new()),
        })
    }

    /// A federation with nobody in it (a node that trusts no other state).
    pub fn empty(own_state: &str) -> Federation {
        Federation {
            own_state: own_state.to_string(),
            partners: BTreeMap::new(),
            options: FederationOptions::default(),
            followers: Mutex::new(Vec::new()),
        }
    }

    /// Starts one follower per trusted state (call once, inside a tokio runtime).
    pub fn spawn_followers(&self) {
        let mut followers = self.followers.lock().unwrap_or_else(|p| p.into_inner());
        for partner in self.partners.values() {
            followers.push(tokio::spawn(partner.clone().follow(self.options)));
        }
    }

    /// The trusted state `state`, or why there is none.
    pub fn partner(&self, state: &str) -> Result<&Arc<Partner>> {
        self.partners.get(state).ok_or_else(|| {
            Error::FailedPrecondition(format!(
                "{state} is not in this node's trust list, so its evidence cannot be verified; add it with \
                 `peerreg trust add --state {state} --endpoint ... --key ...`"
            ))
        })
    }

    pub fn own_state(&self) -> &str {
        &self.own_state
    }

    pub fn partners(&self) -> impl Iterator<Item = &Arc<Partner>> {
        self.partners.values()
    }

    pub fn status(&self) -> Result<pb::FederationStatus> {
        let states = self.partners.values().map(|p| p.status()).collect::<Result<_>>()?;
        Ok(pb::FederationStatus { states })
    }

    /// A credential's status in `state` from the verified copy (no network).
    pub fn origin_status(&self, state: &str, number: &str, today: chrono::NaiveDate) -> Result<pb::OriginStatus> {
        let partner = self.partner(state)?;
        let mirror = partner.mirror().ok_or_else(|| {
            Error::Unavailable(format!(
                "this node has not yet verified any of {state}'s log; try again shortly"
            ))
        })?;
        let registry = mirror.registry();
        let credential = registry
            .credential(number)
            .ok_or_else(|| Error::NotFound(format!("no credential {number:?} in {state}'s verified log")))?;
        Ok(pb::OriginStatus {
            origin_state: state.to_string(),
            credential_number: number.to_string(),
            status: crate::service::registry::status_code(credential.status_on(today)).into(),
            expires_on: credential.expires_on_as_of(today).to_string(),
            verified_size: registry.size,
        })
    }

    /// Stops the followers and closes the copies.
    pub async fn shutdown(&self) {
        let followers: Vec<_> = self
            .followers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        for follower in followers {
            follower.abort();
            let _ = follower.await;
        }
        for partner in self.partners.values() {
            let _one_at_a_time = partner.syncing.lock().await;
            let taken = partner.opened.write().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(ledger) = taken {
                ledger.shutdown().await;
            }
        }
    }
}
