//! What a node tells Prometheus: the families `/metrics` exposes, in the
//! OpenMetrics text format, all named `peerreg_*`.
//!
//! Each node owns one [`Metrics`] with its own registry (no global state:
//! tests run several nodes in one process, and each must count only its
//! own work). The ledger creates it at open and hands it out with
//! `Ledger::metrics`; the committer, the follower of each trusted state or
//! mirror, the gRPC and web layers and the stream slots record into it.
//!
//! Label values are bounded: services, methods and web routes are the
//! node's own (an unknown path is labelled `unknown`), codes and outcomes
//! are fixed sets, partners are the trust list and the configured mirrors.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// Buckets for latencies, in seconds: 0.25 ms to about 8 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Buckets for entries per group commit: 1 to 1,024 (`COMMIT_BATCH_MAX`).
fn batch_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 11))
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// One gRPC call's labels: `/peerreg.v1.Registry/CheckCredential` answered `NOT_FOUND`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub service: String,
    pub method: String,
    pub code: String,
}

/// A gRPC method, for its latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub service: String,
    pub method: String,
}

/// Which durable write a flush belongs to: the public log or the private store.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    store: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

/// A followed log: a trusted state (`role="trusted"`, partner = its state
/// code) or a mirror (`role="mirror"`, partner = its origin).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartnerLabels {
    partner: String,
    role: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartnerStateLabels {
    partner: String,
    role: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WitnessLabels {
    witness: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebLabels {
    route: String,
    status: String,
}

/// Where following another log stands, as the `state` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowerState {
    NotYetFollowed,
    Following,
    CatchingUp,
    /// The last round failed without proof of anything.
    Suspect,
    /// A proven equivocation is recorded.
    Equivocation,
}

impl FollowerState {
    const ALL: [FollowerState; 5] = [
        FollowerState::NotYetFollowed,
        FollowerState::Following,
        FollowerState::CatchingUp,
        FollowerState::Suspect,
        FollowerState::Equivocation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FollowerState::NotYetFollowed => "not_yet_followed",
            FollowerState::Following => "following",
            FollowerState::CatchingUp => "catching_up",
            FollowerState::Suspect => "suspect",
            FollowerState::Equivocation => "equivocation",
        }
    }
}

/// What a follower knows after a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerView {
    /// Entries of the followed log verified and held here.
    pub verified: u64,
    /// The largest size the origin has shown (at least `verified`).
    pub target: u64,
    pub state: FollowerState,
}

/// Whose log a follower copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowerRole {
    /// A trusted state (federation).
    Trusted,
    /// A configured mirror.
    Mirror,
}

impl FollowerRole {
    fn as_str(self) -> &'static str {
        match self {
            FollowerRole::Trusted => "trusted",
            FollowerRole::Mirror => "mirror",
        }
    }
}

/// The node's metric families (see the module docs).
pub struct Metrics {
    registry: Registry,
    appends: Counter,
    commits: Counter,
    commit_batch: Histogram,
    commit_latency: Histogram,
    flush_latency: HistogramFamily<StoreLabels>,
    log_size: Gauge,
    rpc_requests: Family<RpcLabels, Counter>,
    rpc_latency: HistogramFamily<MethodLabels>,
    open_streams: Family<KindLabels, Gauge>,
    follower_behind: Family<PartnerLabels, Gauge>,
    follower_verified: Family<PartnerLabels, Gauge>,
    follower_state: Family<PartnerStateLabels, Gauge>,
    evaluations: Family<OutcomeLabels, Counter>,
    disclosures: Counter,
    halts: Counter,
    halted: Gauge,
    web_requests: Family<WebLabels, Counter>,
    witness_answers: Family<WitnessLabels, Counter>,
    witness_round_latency: Histogram,
    witnessed_size: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every family registered, all at zero.
    pub fn new() -> Metrics {
        let metrics = Metrics {
            registry: Registry::default(),
            appends: Counter::default(),
            commits: Counter::default(),
            commit_batch: batch_histogram(),
            commit_latency: latency_histogram(),
            flush_latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            log_size: Gauge::default(),
            rpc_requests: Family::default(),
            rpc_latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            open_streams: Family::default(),
            follower_behind: Family::default(),
            follower_verified: Family::default(),
            follower_state: Family::default(),
            evaluations: Family::default(),
            disclosures: Counter::default(),
            halts: Counter::default(),
            halted: Gauge::default(),
            web_requests: Family::default(),
            witness_answers: Family::default(),
            witness_round_latency: latency_histogram(),
            witnessed_size: Gauge::default(),
        };
        // The three outcomes exist from the start, so a dashboard sees 0, not nothing.
        for outcome in ["APPROVED", "CONDITIONAL", "DENIED"] {
            let _ = metrics.evaluations.get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            });
        }
        metrics.register()
    }

    fn register(mut self) -> Metrics {
        let r = &mut self.registry;
        r.register(
            "peerreg_appends",
            "Entries appended to this node's log (acknowledged and durable)",
            self.appends.clone(),
        );
        r.register(
            "peerreg_commits",
            "Group commits: each makes a batch of appends durable under one signed checkpoint",
            self.commits.clone(),
        );
        r.register(
            "peerreg_commit_batch_entries",
            "Entries per group commit",
            self.commit_batch.clone(),
        );
        r.register_with_unit(
            "peerreg_commit_latency",
            "Time from taking a batch to its checkpoint published: sequencing, signing, durable writes",
            Unit::Seconds,
            self.commit_latency.clone(),
        );
        r.register_with_unit(
            "peerreg_durable_flush_latency",
            "Time of one durable write (flush and fdatasync) of a group commit, by store (log or private)",
            Unit::Seconds,
            self.flush_latency.clone(),
        );
        r.register(
            "peerreg_log_size",
            "Entries in this node's log at its latest published checkpoint",
            self.log_size.clone(),
        );
        r.register(
            "peerreg_rpc_requests",
            "gRPC calls answered, by service, method and status code (an unknown path is 'unknown')",
            self.rpc_requests.clone(),
        );
        r.register_with_unit(
            "peerreg_rpc_latency",
            "Time from a gRPC request to its response headers, by service and method",
            Unit::Seconds,
            self.rpc_latency.clone(),
        );
        r.register(
            "peerreg_open_streams",
            "Long-lived streams open now, by kind (credential, entry and alert watches)",
            self.open_streams.clone(),
        );
        r.register(
            "peerreg_follower_entries_behind",
            "Entries the origin has shown that this node has not verified yet, per followed log",
            self.follower_behind.clone(),
        );
        r.register(
            "peerreg_follower_verified_size",
            "Size of the followed log this node has verified and holds, per followed log",
            self.follower_verified.clone(),
        );
        r.register(
            "peerreg_follower_state",
            "1 for the state each followed log is in (following, catching_up, suspect, equivocation, ...), else 0",
            self.follower_state.clone(),
        );
        r.register(
            "peerreg_evaluations",
            "Transfer evaluations recorded in this node's log, by outcome",
            self.evaluations.clone(),
        );
        r.register(
            "peerreg_disclosures",
            "Disclosures of private records to another state, recorded before the evidence is sent",
            self.disclosures.clone(),
        );
        r.register(
            "peerreg_halts",
            "Times this node stopped signing because stored data failed its check (corruption found)",
            self.halts.clone(),
        );
        r.register(
            "peerreg_signing_halted",
            "1 while this node has stopped signing (an operator must repair the store), else 0",
            self.halted.clone(),
        );
        r.register(
            "peerreg_web_requests",
            "HTTP requests answered by the web side, by matched route and status",
            self.web_requests.clone(),
        );
        r.register(
            "peerreg_witness_answers",
            "Answers of this node's witnesses to its add-checkpoint requests, by witness (state) and outcome \
             (cosigned, failed, ahead, disagrees)",
            self.witness_answers.clone(),
        );
        r.register_with_unit(
            "peerreg_witness_round_latency",
            "Time from a commit's checkpoint to its cosignature by the witness quorum (one round)",
            Unit::Seconds,
            self.witness_round_latency.clone(),
        );
        r.register(
            "peerreg_witnessed_size",
            "Size of this node's newest checkpoint cosigned by its witness quorum",
            self.witnessed_size.clone(),
        );
        self
    }

    /// The OpenMetrics text exposition of every family, ending in `# EOF`.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!("encoding metrics failed: {e}");
        }
        text
    }

    /// A group commit of `entries` new entries became durable and published.
    pub fn committed(&self, entries: u64, took: Duration, log_size: u64) {
        self.appends.inc_by(entries);
        self.commits.inc();
        self.commit_batch.observe(entries as f64);
        self.commit_latency.observe(took.as_secs_f64());
        self.set_log_size(log_size);
    }

    /// One durable write of `store` ("log" or "private") took `took`.
    pub fn flushed(&self, store: &str, took: Duration) {
        self.flush_latency
            .get_or_create(&StoreLabels { store: store.into() })
            .observe(took.as_secs_f64());
    }

    pub fn set_log_size(&self, size: u64) {
        self.log_size.set(i64::try_from(size).unwrap_or(i64::MAX));
    }

    /// A gRPC call answered with `labels.code` after `took`.
    pub fn rpc(&self, labels: RpcLabels, took: Duration) {
        let method = MethodLabels {
            service: labels.service.clone(),
            method: labels.method.clone(),
        };
        self.rpc_requests.get_or_create(&labels).inc();
        self.rpc_latency.get_or_create(&method).observe(took.as_secs_f64());
    }

    /// The gauge of open streams of `kind`, for the stream slots to move.
    pub fn open_streams(&self, kind: &str) -> Gauge {
        self.open_streams
            .get_or_create(&KindLabels { kind: kind.into() })
            .clone()
    }

    /// Where following `partner`'s log stands after a round.
    pub fn follower(&self, role: FollowerRole, partner: &str, view: FollowerView) {
        let labels = PartnerLabels {
            partner: partner.into(),
            role: role.as_str().into(),
        };
        let behind = view.target.saturating_sub(view.verified);
        self.follower_behind
            .get_or_create(&labels)
            .set(i64::try_from(behind).unwrap_or(i64::MAX));
        self.follower_verified
            .get_or_create(&labels)
            .set(i64::try_from(view.verified).unwrap_or(i64::MAX));
        for state in FollowerState::ALL {
            let labels = PartnerStateLabels {
                partner: partner.into(),
                role: role.as_str().into(),
                state: state.as_str().into(),
            };
            self.follower_state
                .get_or_create(&labels)
                .set(i64::from(state == view.state));
        }
    }

    /// Stops reporting a followed log (its trust was removed).
    pub fn forget_follower(&self, role: FollowerRole, partner: &str) {
        let labels = PartnerLabels {
            partner: partner.into(),
            role: role.as_str().into(),
        };
        self.follower_behind.remove(&labels);
        self.follower_verified.remove(&labels);
        for state in FollowerState::ALL {
            self.follower_state.remove(&PartnerStateLabels {
                partner: partner.into(),
                role: role.as_str().into(),
                state: state.as_str().into(),
            });
        }
    }

    /// A transfer evaluation with `outcome` ("approved", ...) was recorded.
    pub fn evaluated(&self, outcome: &str) {
        self.evaluations
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// A disclosure was recorded.
    pub fn disclosed(&self) {
        self.disclosures.inc();
    }

    /// The node stopped signing.
    pub fn halted(&self) {
        self.halts.inc();
        self.halted.set(1);
    }

    /// What witness `witness` did with a checkpoint of this node's.
    pub fn witness_answer(&self, witness: &str, outcome: &str) {
        self.witness_answers
            .get_or_create(&WitnessLabels {
                witness: witness.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// A checkpoint of `size` reached the witness quorum `took` after its round began.
    pub fn witnessed(&self, size: u64, took: Duration) {
        self.witness_round_latency.observe(took.as_secs_f64());
        self.witnessed_size.set(i64::try_from(size).unwrap_or(i64::MAX));
    }

    /// A web request to `route` (the matched route, or "unmatched") answered `status`.
    pub fn web_request(&self, route: &str, status: u16) {
        self.web_requests
            .get_or_create(&WebLabels {
                route: route.into(),
                status: status.to_string(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_exposed_with_help() {
        let metrics = Metrics::new();
        // A family with labels shows once it has a member.
        metrics.flushed("log", Duration::from_millis(1));
        metrics.rpc(
            RpcLabels {
                service: "s".into(),
                method: "m".into(),
                code: "OK".into(),
            },
            Duration::from_millis(1),
        );
        let _ = metrics.open_streams("entry_watch");
        let view = FollowerView {
            verified: 1,
            target: 1,
            state: FollowerState::Following,
        };
        metrics.follower(FollowerRole::Mirror, "origin", view);
        metrics.web_request("/metrics", 200);
        metrics.witness_answer("TX", "cosigned");
        let text = metrics.encode();
        for name in [
            "peerreg_appends",
            "peerreg_commits",
            "peerreg_commit_batch_entries",
            "peerreg_commit_latency_seconds",
            "peerreg_durable_flush_latency_seconds",
            "peerreg_log_size",
            "peerreg_rpc_requests",
            "peerreg_rpc_latency_seconds",
            "peerreg_open_streams",
            "peerreg_follower_entries_behind",
            "peerreg_follower_verified_size",
            "peerreg_follower_state",
            "peerreg_evaluations",
            "peerreg_disclosures",
            "peerreg_halts",
            "peerreg_signing_halted",
            "peerreg_web_requests",
            "peerreg_witness_answers",
            "peerreg_witness_round_latency_seconds",
            "peerreg_witnessed_size",
        ] {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name} missing:\n{text}");
            assert!(text.contains(&format!("# HELP {name} ")), "{name} has no help");
        }
        assert!(text.ends_with("# EOF\n"));
        assert!(text.contains(r#"peerreg_evaluations_total{outcome="DENIED"} 0"#));
    }

    #[test]
    fn a_commit_counts_entries_and_sets_the_size() {
        let metrics = Metrics::new();
        metrics.committed(3, Duration::from_millis(2), 10);
        metrics.committed(2, Duration::from_millis(2), 12);
        let text = metrics.encode();
        assert!(text.contains("peerreg_appends_total 5\n"), "{text}");
        assert!(text.contains("peerreg_commits_total 2\n"));
        assert!(text.contains("peerreg_log_size 12\n"));
        assert!(text.contains("peerreg_commit_batch_entries_count 2\n"));
    }

    #[test]
    fn a_follower_is_in_exactly_one_state() {
        let metrics = Metrics::new();
        let view = FollowerView {
            verified: 4,
            target: 10,
            state: FollowerState::Suspect,
        };
        metrics.follower(FollowerRole::Trusted, "TN", view);
        let text = metrics.encode();
        assert!(text.contains(r#"peerreg_follower_entries_behind{partner="TN",role="trusted"} 6"#));
        assert!(text.contains(r#"peerreg_follower_state{partner="TN",role="trusted",state="suspect"} 1"#));
        assert!(text.contains(r#"peerreg_follower_state{partner="TN",role="trusted",state="following"} 0"#));
        metrics.forget_follower(FollowerRole::Trusted, "TN");
        assert!(!metrics.encode().contains(r#"partner="TN""#));
    }
}
