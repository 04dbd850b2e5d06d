//! The log side: after each commit this node asks its witnesses (the trusted
//! states that witness it) to cosign its newest checkpoint, keeps the
//! cosignatures, and serves the checkpoint with them.
//!
//! - **Bounded.** One round at a time, on the newest checkpoint only (a
//!   `watch` channel: commits made during a round are covered by the next);
//!   every request is bounded by [`limits::WITNESS_REQUEST_TIMEOUT`], and each
//!   witness is asked at most twice per round (the second time with the proof
//!   from the size its `409` named).
//! - **Quorum.** A checkpoint with valid cosignatures from `quorum` witnesses
//!   is *witnessed*; the newest such is kept and served apart from the newest
//!   checkpoint, which may not be witnessed yet.
//! - **No rollback.** Before the first signature after a start the node is
//!   held (appends `UNAVAILABLE`) until `quorum` witnesses have cosigned its
//!   current checkpoint. A witness that holds a larger size, or another root,
//!   proves this store is behind what the log already published: the node
//!   refuses to sign (`DATA_LOSS`, naming the witness and both sizes) until an
//!   operator restores a newer store or repairs it from a mirror.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::request::AddCheckpoint;
use crate::error::{Error, Result};
use crate::ledger::{Ledger, Published};
use crate::limits;
use crate::log::cosignature::{with_cosignatures, CosignatureVerifier, WitnessPolicy};
use crate::log::merkle::TreeSize;

/// A witness this node asks to cosign its checkpoints.
#[derive(Clone, Debug)]
pub struct WitnessPeer {
    /// Its state code, for messages.
    pub state: String,
    /// The base URL of its HTTP side (`add-checkpoint` is under it).
    pub url: String,
    pub verifier: CosignatureVerifier,
    /// PEM of the CA for an `https://` URL that is not publicly signed.
    pub ca_pem: Option<Vec<u8>>,
}

/// A witness's answer to `add-checkpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// 200: its cosignature lines.
    Cosigned(String),
    /// 409 with `text/x.tlog.size`: the size it last cosigned for this log.
    Conflict(u64),
    /// Any other status, with its body (shortened).
    Refused { status: u16, message: String },
}

pub type ClientFuture<'a> = Pin<Box<dyn Future<Output = Result<Reply>> + Send + 'a>>;

/// Sends `add-checkpoint` requests (implemented over HTTP by `service`).
pub trait WitnessClient: Send + Sync {
    fn add_checkpoint<'a>(&'a self, peer: &'a WitnessPeer, body: Vec<u8>) -> ClientFuture<'a>;
}

/// What one witness did with one checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// Its valid cosignature line.
    Cosigned(String),
    /// It holds a larger size than the checkpoint: this store is behind.
    Ahead(u64),
    /// It cosigned another history (409 fork, or 422 on our own proof).
    Disagrees(String),
    /// Unreachable, refused, or an answer that did not verify.
    Failed(String),
}

#[derive(Default)]
struct Collected {
    /// Cosignature lines on the newest checkpoint a round finished.
    latest: Option<(Published, Vec<String>)>,
    /// The newest checkpoint with a quorum, with its cosignatures.
    witnessed: Option<(Published, Vec<String>)>,
}

/// This node's cosignature collector.
pub struct Collector {
    ledger: Ledger,
    peers: Vec<WitnessPeer>,
    quorum: usize,
    client: Arc<dyn WitnessClient>,
    collected: RwLock<Collected>,
    /// The size each witness last cosigned for this log, as far as we know.
    known: Mutex<Vec<Option<u64>>>,
    /// How long the last round took to reach the quorum, from its commit.
    last_latency: Mutex<Option<Duration>>,
}

impl Collector {
    pub fn new(ledger: Ledger, peers: Vec<WitnessPeer>, quorum: usize, client: Arc<dyn WitnessClient>) -> Collector {
        let known = Mutex::new(vec![None; peers.len()]);
        Collector {
            ledger,
            peers,
            quorum,
            client,
            collected: RwLock::default(),
            known,
            last_latency: Mutex::new(None),
        }
    }

    /// The witnesses and the quorum, as readers of this log check them.
    pub fn policy(&self) -> WitnessPolicy {
        WitnessPolicy {
            witnesses: self.peers.iter().map(|p| p.verifier.clone()).collect(),
            quorum: self.quorum,
        }
    }

    /// `published`'s note with the cosignatures collected for exactly it
    /// (none yet, right after a commit).
    pub fn checkpoint_note(&self, published: &Published) -> Vec<u8> {
        let collected = self.collected.read().unwrap_or_else(|p| p.into_inner());
        match &collected.latest {
            Some((latest, lines)) if latest.checkpoint == published.checkpoint => {
                with_cosignatures(&published.note, lines)
            }
            _ => published.note.to_vec(),
        }
    }

    /// The newest checkpoint cosigned by the quorum, with its cosignatures.
    pub fn witnessed(&self) -> Option<(Published, Vec<u8>)> {
        let collected = self.collected.read().unwrap_or_else(|p| p.into_inner());
        collected
            .witnessed
            .as_ref()
            .map(|(published, lines)| (published.clone(), with_cosignatures(&published.note, lines)))
    }

    /// How long the newest witnessed round took from the start of its round.
    pub fn last_latency(&self) -> Option<Duration> {
        *self.last_latency.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn has_witnesses(&self) -> bool {
        !self.peers.is_empty()
    }

    /// Holds signing until [`Collector::run`] has heard from the quorum.
    pub fn hold(&self) {
        self.ledger.hold_signing(format!(
            "it is asking its witnesses whether this store is behind what they cosigned ({} of {} must answer)",
            self.quorum,
            self.peers.len()
        ));
    }

    /// Runs until stopped: first the rollback check (signing is held until
    /// it passes), then a round after each commit.
    pub async fn run(self: Arc<Self>) {
        if self.confirm_current().await.is_err() {
            return;
        }
        let mut changes = self.ledger.subscribe();
        let mut pause = None;
        loop {
            // A new checkpoint, or (after a round short of the quorum) the
            // same one again once the back-off has passed: a witness that
            // could not check it yet (its copy had not learned a new key,
            // it was restarting) gets asked again without a new commit.
            let retry = async {
                match pause {
                    Some(pause) => tokio::time::sleep(pause).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = retry => {}
            }
            let published = changes.borrow_and_update().clone();
            pause = match self.round(&published).await {
                true => None,
                false => Some(pause.map_or(Duration::from_millis(200), |p: Duration| {
                    (p * 2).min(limits::WITNESS_RETRY_MAX)
                })),
            };
        }
    }

    /// Holds signing until `quorum` witnesses cosigned the current
    /// checkpoint, retrying with back-off while too few answer; refuses
    /// signing for good on proof that the store is behind.
    async fn confirm_current(&self) -> Result<()> {
        let mut pause = Duration::from_millis(200);
        loop {
            let published = self.ledger.published();
            let outcomes = self.ask_all(&published).await;
            if let Some(error) = self.behind(&published, &outcomes) {
                return Err(error);
            }
            if self.keep(&published, &outcomes, Instant::now()) >= self.quorum {
                self.ledger.release_signing();
                tracing::info!(
                    size = published.checkpoint.size,
                    "witnesses confirmed this store is current"
                );
                return Ok(());
            }
            tracing::warn!(
                size = published.checkpoint.size,
                "too few witnesses answered; signing waits and asks again in {pause:?}"
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(limits::WITNESS_RETRY_MAX);
        }
    }

    /// A round on one checkpoint: ask every witness, keep what verifies.
    /// Answers whether the quorum cosigned it (or nothing more can be done).
    async fn round(&self, published: &Published) -> bool {
        let started = Instant::now();
        let outcomes = self.ask_all(published).await;
        if let Some(error) = self.behind(published, &outcomes) {
            tracing::error!("{error}");
            return true;
        }
        self.keep(published, &outcomes, started) >= self.quorum
    }

    /// The DATA_LOSS refusal if any witness proves this store is behind.
    fn behind(&self, published: &Published, outcomes: &[Outcome]) -> Option<Error> {
        let size = published.checkpoint.size;
        let (peer, why) = self
            .peers
            .iter()
            .zip(outcomes)
            .find_map(|(peer, outcome)| match outcome {
                Outcome::Ahead(held) => Some((
                    peer,
                    format!("last cosigned size {held} for this log, but this store holds only {size} entries"),
                )),
                Outcome::Disagrees(message) => Some((
                    peer,
                    format!("cosigned a different history than this store's at size {size} ({message})"),
                )),
                _ => None,
            })?;
        Some(self.ledger.refuse_signing(format!(
            "witness {} ({}) {why}: this store is behind what the log published (restored from an old backup?); \
             restore a newer store or repair it from a mirror (peerreg repair) — signing now would fork the log",
            peer.state, peer.url
        )))
    }

    /// Keeps the cosignatures gathered on `published`; answers how many.
    fn keep(&self, published: &Published, outcomes: &[Outcome], started: Instant) -> usize {
        let lines: Vec<String> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Cosigned(line) => Some(line.clone()),
                _ => None,
            })
            .collect();
        let count = lines.len();
        let mut collected = self.collected.write().unwrap_or_else(|p| p.into_inner());
        let newer = |held: &Option<(Published, Vec<String>)>| {
            held.as_ref()
                .is_none_or(|(p, _)| p.checkpoint.size <= published.checkpoint.size)
        };
        if count >= self.quorum && count > 0 && newer(&collected.witnessed) {
            collected.witnessed = Some((published.clone(), lines.clone()));
            let took = started.elapsed();
            *self.last_latency.lock().unwrap_or_else(|p| p.into_inner()) = Some(took);
            self.ledger.metrics().witnessed(published.checkpoint.size, took);
        }
        if newer(&collected.latest) {
            collected.latest = Some((published.clone(), lines));
        }
        count
    }

    async fn ask_all(&self, published: &Published) -> Vec<Outcome> {
        let asks = self
            .peers
            .iter()
            .enumerate()
            .map(|(i, peer)| self.ask(i, peer, published));
        let outcomes = futures_util::future::join_all(asks).await;
        let metrics = self.ledger.metrics();
        for (peer, outcome) in self.peers.iter().zip(&outcomes) {
            let name = match outcome {
                Outcome::Cosigned(_) => "cosigned",
                Outcome::Ahead(_) => "ahead",
                Outcome::Disagrees(_) => "disagrees",
                Outcome::Failed(why) => {
                    tracing::debug!(witness = %peer.state, "no cosignature: {why}");
                    "failed"
                }
            };
            metrics.witness_answer(&peer.state, name);
        }
        outcomes
    }

    /// One witness, at most two requests: the second with the proof from the
    /// size its `409` named.
    async fn ask(&self, i: usize, peer: &WitnessPeer, published: &Published) -> Outcome {
        let size = published.checkpoint.size;
        let mut old = self.known.lock().unwrap_or_else(|p| p.into_inner())[i]
            .unwrap_or(0)
            .min(size);
        for _ in 0..2 {
            let body = match self.request(old, published) {
                Ok(body) => body,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            let reply =
                tokio::time::timeout(limits::WITNESS_REQUEST_TIMEOUT, self.client.add_checkpoint(peer, body)).await;
            match reply {
                Err(_) => return Outcome::Failed(format!("no answer in {:?}", limits::WITNESS_REQUEST_TIMEOUT)),
                Ok(Err(e)) => return Outcome::Failed(e.to_string()),
                Ok(Ok(Reply::Conflict(held))) if held > size => return Outcome::Ahead(held),
                Ok(Ok(Reply::Conflict(held))) => old = held,
                Ok(Ok(Reply::Refused {
                    status: 409 | 422,
                    message,
                })) => return Outcome::Disagrees(message),
                Ok(Ok(Reply::Refused { status, message })) => return Outcome::Failed(format!("{status}: {message}")),
                Ok(Ok(Reply::Cosigned(lines))) => return self.accept(i, peer, published, &lines),
            }
        }
        Outcome::Failed("the witness kept naming another size".into())
    }

    fn request(&self, old: u64, published: &Published) -> Result<Vec<u8>> {
        let size = published.checkpoint.size;
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            self.ledger.consistency_proof(TreeSize(old), TreeSize(size))?
        };
        Ok(AddCheckpoint {
            old_size: old,
            proof,
            note: published.note.to_vec(),
        }
        .encode())
    }

    /// Keeps the witness's line that verifies with its pinned key.
    fn accept(&self, i: usize, peer: &WitnessPeer, published: &Published, lines: &str) -> Outcome {
        let body = published.checkpoint.body();
        let Some(line) = lines.lines().find(|line| peer.verifier.verify(&body, line).is_ok()) else {
            return Outcome::Failed(format!("no cosignature by {} verified", peer.verifier.name()));
        };
        self.known.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(published.checkpoint.size);
        Outcome::Cosigned(line.to_string())
    }
}
