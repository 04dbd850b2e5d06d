//! Verify a credential: the employer check (`registry::check`) as a page and as `/api/verify`.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::page;
use super::WebState;

pub fn routes() -> Router<WebState> {
    Router::new().route("/", get(pending))
}

async fn pending(State(state): State<WebState>) -> Response {
    page::pending(&state, "/", "Verify a credential")
}
