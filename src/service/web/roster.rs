//! Check a roster: an uploaded CSV answered by the same roster parser and answerer as `CheckRoster`.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::page;
use super::WebState;

pub fn routes() -> Router<WebState> {
    Router::new().route("/roster", get(pending))
}

async fn pending(State(state): State<WebState>) -> Response {
    page::pending(&state, "/roster", "Check a roster")
}
