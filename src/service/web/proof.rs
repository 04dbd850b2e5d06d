//! Verify a proof file: an uploaded `peerreg-credential-proof` checked by `proof::verify`, and a credential's proof to download.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::page;
use super::WebState;

pub fn routes() -> Router<WebState> {
    Router::new().route("/verify-proof", get(pending))
}

async fn pending(State(state): State<WebState>) -> Response {
    page::pending(&state, "/verify-proof", "Verify a proof file")
}
