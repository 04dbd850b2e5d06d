//! Prometheus metrics at `/metrics`, in the OpenMetrics text format.

use axum::Router;

use super::WebState;

pub fn routes() -> Router<WebState> {
    Router::new()
}
