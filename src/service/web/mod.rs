//! The node's HTTP side: the pages employers, auditors and the public use (verify
//! a credential, check a roster, verify a proof file, the workforce, the log),
//! their JSON equivalents under `/api/`, and Prometheus metrics at `/metrics`.
//!
//! It lives beside the gRPC servers because it answers from the very same
//! functions (`registry::check`, the roster parser and answerer, statistics,
//! credential proofs, `proof::verify`): there is no second implementation of
//! any rule. Pages are rendered on the server (maud, escaped by construction),
//! with a little progressive JavaScript at most and no front-end build step.
//!
//! Bounds, the same as the gRPC side's ([`ServerLimits`]): open connections and
//! connections per address (the same [`LimitedIncoming`]), request bodies at
//! [`limits::HTTP_BODY_BYTES_MAX`], time to a response at `request_timeout`
//! (then 408), requests in flight per node at
//! [`limits::HTTP_REQUESTS_IN_FLIGHT_MAX`] (then 503), and CPU-heavy answers
//! (rosters, proofs, statistics) on the same bounded blocking pool.

pub mod page;

mod log;
mod metrics;
mod proof;
mod roster;
mod serve;
mod tiles;
mod vc;
mod verify;
mod witness;
mod workforce;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::Router;

use super::admission::Blocking;
use crate::error::Error;
use crate::ledger::Ledger;
use crate::limits::{self, ServerLimits};
use crate::metrics::Metrics;
use crate::witness::Witnessing;

pub use serve::serve;
/// A credential number as a URL path segment (also for `peerreg export-vc`).
pub use verify::path_segment;

/// What every handler reads: the node's own log and the bounded pool that
/// runs heavy answers off the async threads.
#[derive(Clone)]
pub struct WebState {
    pub ledger: Ledger,
    pub blocking: Arc<Blocking>,
    /// The node's metric families (the ledger's), served at `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The workforce page's last answer (one entry; see `workforce`).
    pub workforce: Arc<workforce::Cache>,
    /// The node's witness and cosignature collector, if it runs them.
    pub witnessing: Option<Arc<Witnessing>>,
    /// The board's VC issuer, when this node issues verifiable credentials.
    pub vc: Option<Arc<crate::vc::Issuer>>,
}

impl WebState {
    pub fn new(ledger: Ledger) -> WebState {
        WebState {
            metrics: ledger.metrics(),
            ledger,
            blocking: Arc::new(Blocking::new(limits::BLOCKING_HANDLERS_MAX)),
            workforce: Arc::default(),
            witnessing: None,
            vc: None,
        }
    }

    pub fn witnessed_by(mut self, witnessing: Option<Arc<Witnessing>>) -> WebState {
        self.witnessing = witnessing;
        self
    }

    /// This state, issuing VCs with `issuer` (`service::web::vc`).
    pub fn with_vc(mut self, issuer: Option<Arc<crate::vc::Issuer>>) -> WebState {
        self.vc = issuer;
        self
    }
}

/// Every route of the HTTP side, bounded as the module doc says.
pub fn router(state: WebState, server: &ServerLimits) -> Router {
    use axum::extract::DefaultBodyLimit;
    use tower_http::timeout::TimeoutLayer;
    Router::new()
        .merge(verify::routes())
        .merge(proof::routes())
        .merge(log::routes())
        .merge(roster::routes())
        .merge(workforce::routes())
        .merge(metrics::routes())
        .merge(witness::routes())
        .merge(tiles::routes())
        .merge(vc::routes())
        // There is no icon; browsers ask anyway (even for a page written by
        // script), and a 404 would be an error in their console.
        .route("/favicon.ico", axum::routing::get(|| async { StatusCode::NO_CONTENT }))
        .fallback(page::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::count_request,
        ))
        .layer(DefaultBodyLimit::max(limits::HTTP_BODY_BYTES_MAX))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            server.request_timeout,
        ))
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
                .load_shed()
                .concurrency_limit(limits::HTTP_REQUESTS_IN_FLIGHT_MAX),
        )
        .with_state(state)
}

/// Answered when [`limits::HTTP_REQUESTS_IN_FLIGHT_MAX`] requests are already
/// being answered: the client should retry shortly.
async fn overloaded(_: tower::BoxError) -> (StatusCode, &'static str) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the node is answering as many web requests as it allows; try again shortly",
    )
}

/// The HTTP status for a library error: the one mapping, as `status::to_status`
/// is for gRPC (DESIGN.md §5 read as HTTP).
pub fn http_status(error: &Error) -> StatusCode {
    match error {
        Error::InvalidArgument(_) | Error::OutOfRange(_) => StatusCode::BAD_REQUEST,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::AlreadyExists(_) | Error::FailedPrecondition(_) => StatusCode::CONFLICT,
        Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
        Error::ResourceExhausted(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::DataLoss(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The message a person may read for `error`: internal details stay in the
/// node's log (as on the gRPC side).
pub fn public_message(error: &Error) -> String {
    match error {
        Error::Internal(detail) => {
            tracing::error!("internal error answering a web request: {detail}");
            "the node could not answer (an internal error, logged by the node); try again later".into()
        }
        other => other.to_string(),
    }
}
