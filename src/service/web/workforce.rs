//! The workforce: credentials by type and status, and their change per month, as a chart, a table and JSON.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::page;
use super::WebState;

pub fn routes() -> Router<WebState> {
    Router::new().route("/workforce", get(pending))
}

async fn pending(State(state): State<WebState>) -> Response {
    page::pending(&state, "/workforce", "The workforce")
}
