//! The log: origin, size, the signed checkpoint, the verifier key, and how to audit it.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::page;
use super::WebState;

pub fn routes() -> Router<WebState> {
    Router::new().route("/log", get(pending))
}

async fn pending(State(state): State<WebState>) -> Response {
    page::pending(&state, "/log", "The log")
}
