//! The log (`GET /log`, `GET /api/log`): its origin, size, the current signed
//! checkpoint, the verifier key, and how anyone audits it with `peerreg audit`.
//!
//! The page shows the key the node signs with; an auditor should pin the key
//! the board publishes elsewhere (its website, a letter), not this page's
//! word, which is why the command asks for it explicitly.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::html;

use super::page::layout;
use super::WebState;
use crate::config::DEFAULT_LISTEN;

const TITLE: &str = "The log";

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/log", get(log_page))
        .route("/api/log", get(log_json))
}

/// What both answers show, read once from the published checkpoint.
struct LogView {
    origin: String,
    state: String,
    size: u64,
    root: String,
    checkpoint: String,
    verifier_key: String,
    /// The key that signs now, if a rotation introduced it (trusted only
    /// through the rotation entries, listed by index).
    current_key: String,
    rotations: Vec<u64>,
    witnessing: Option<WitnessView>,
}

/// Who vouches for this log, and for what.
struct WitnessView {
    /// This node's own witness key (it cosigns the logs it trusts).
    own_key: String,
    /// The witnesses this log asks, and how many must cosign.
    witness_keys: Vec<String>,
    quorum: usize,
    /// The newest checkpoint the quorum cosigned, with the cosignatures.
    witnessed: Option<(u64, String)>,
}

impl WitnessView {
    fn of(state: &WebState) -> Option<WitnessView> {
        let witnessing = state.witnessing.as_ref()?;
        let policy = witnessing.collector.policy();
        Some(WitnessView {
            own_key: witnessing.witness.verifier_key(),
            witness_keys: policy.witnesses.iter().map(|w| w.to_key_string()).collect(),
            quorum: policy.quorum,
            witnessed: witnessing
                .collector
                .witnessed()
                .map(|(published, note)| (published.checkpoint.size, String::from_utf8_lossy(&note).into_owned())),
        })
    }

    fn audit_flags(&self) -> String {
        let keys: String = self.witness_keys.iter().map(|k| format!(" --witness '{k}'")).collect();
        format!("{keys} --witness-quorum {}", self.quorum)
    }
}

impl LogView {
    fn of(state: &WebState) -> LogView {
        let published = state.ledger.published();
        LogView {
            origin: published.checkpoint.origin.clone(),
            state: state.ledger.state().to_string(),
            size: published.checkpoint.size,
            root: hex::encode(published.checkpoint.root),
            checkpoint: String::from_utf8_lossy(&published.note).into_owned(),
            verifier_key: state.ledger.verifier().to_key_string(),
            current_key: state.ledger.keys().current().to_key_string(),
            rotations: state.ledger.keys().rotations().iter().map(|r| r.index).collect(),
            witnessing: WitnessView::of(state),
        }
    }

    /// The audit command, with `ENDPOINT` standing for the node's gRPC address
    /// (this page cannot know under which name clients reach it).
    fn audit_command(&self) -> String {
        let witnesses = self
            .witnessing
            .as_ref()
            .filter(|w| w.quorum > 0)
            .map(WitnessView::audit_flags)
            .unwrap_or_default();
        format!(
            "peerreg audit --endpoint ENDPOINT --verifier-key '{}'{witnesses}",
            self.verifier_key
        )
    }
}

async fn log_page(State(state): State<WebState>) -> Response {
    let log = LogView::of(&state);
    let body = html! {
        p {
            "Every answer on these pages comes from " (log.state) "'s append-only log. Each entry is signed, "
            "the entries form a Merkle tree, and the node signs a checkpoint of the tree's size and root. "
            "Anyone can copy the log and check that it only ever grows: nothing recorded can be changed or "
            "removed unseen."
        }
        div.table-wrap {
            table {
                tr { th scope="row" { "Origin" } td { code #log-origin { (log.origin) } } }
                tr { th scope="row" { "Entries (size)" } td #log-size { (log.size) } }
                tr { th scope="row" { "Root hash (hex)" } td { code #log-root { (log.root) } } }
            }
        }
        h2 { "The current signed checkpoint" }
        pre #checkpoint { (log.checkpoint) }
        h2 { "The verifier key" }
        p { code #verifier-key { (log.verifier_key) } }
        @if !log.rotations.is_empty() {
            p {
                "The board has rotated its key: entries " (log.rotations.iter().map(u64::to_string).collect::<Vec<_>>().join(", "))
                " each name the next key and are signed by the one before, so a reader who pinned the key above "
                "follows them to the key that signs now: " code #current-key { (log.current_key) }
            }
        }
        p.hint {
            "Pin the key the board publishes (on its website or in writing) rather than this page's copy: "
            "a node that lies would lie here too."
        }
        @if let Some(w) = &log.witnessing {
            h2 { "Witnesses" }
            @if w.witness_keys.is_empty() {
                p #witnessed { "No other state witnesses this log yet." }
            } @else {
                p {
                    "Other states' nodes cosign this log's checkpoints after checking that each extends the last "
                    "one they saw, so the log cannot show different histories to different readers. A checkpoint "
                    "counts as witnessed when " (w.quorum) " of these " (w.witness_keys.len()) " witnesses cosigned it:"
                }
                ul { @for key in &w.witness_keys { li { code { (key) } } } }
                @match &w.witnessed {
                    Some((size, note)) => {
                        p #witnessed { "Newest witnessed checkpoint: size " (size) "." }
                        pre #witnessed-checkpoint { (note) }
                    }
                    None => p #witnessed { "Not yet witnessed: no checkpoint carries the quorum yet." },
                }
            }
            p { "This node's own witness key (it cosigns the logs of the states it trusts): " code #witness-key { (w.own_key) } }
        }
        h2 { "Audit it yourself" }
        pre #audit-command { (log.audit_command()) }
        p {
            code { "ENDPOINT" } " is this node's gRPC address, not this web page's: the board publishes it "
            "(for example " code { "https://registry.example.gov:50051" } "); on the node's own machine it is "
            code { "http://" (DEFAULT_LISTEN) } " unless the node was started with " code { "--listen" } ". "
            "The audit fetches every entry, checks every signature, recomputes the root, and remembers what it "
            "verified (" code { "--state-file" } ", " code { "peerreg-audit.json" } " by default), so the next run "
            "also proves the log only grew since."
        }
    };
    layout(&state, "/log", TITLE, body).into_response()
}

async fn log_json(State(state): State<WebState>) -> Response {
    let log = LogView::of(&state);
    Json(serde_json::json!({
        "origin": log.origin,
        "state": log.state,
        "size": log.size,
        "root_hash": log.root,
        "checkpoint": log.checkpoint,
        "verifier_key": log.verifier_key,
        "current_verifier_key": log.current_key,
        "key_rotations": log.rotations,
        "audit_command": log.audit_command(),
        "witness_key": log.witnessing.as_ref().map(|w| w.own_key.clone()),
        "witnesses": log.witnessing.as_ref().map(|w| w.witness_keys.clone()).unwrap_or_default(),
        "witness_quorum": log.witnessing.as_ref().map_or(0, |w| w.quorum),
        "witnessed_size": log.witnessing.as_ref().and_then(|w| w.witnessed.as_ref().map(|(size, _)| *size)),
        "witnessed_checkpoint": log.witnessing.as_ref().and_then(|w| w.witnessed.as_ref().map(|(_, note)| note.clone())),
    }))
    .into_response()
}
