//! Prometheus metrics at `/metrics`, in the OpenMetrics text format, and the
//! count of web requests by route and status.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::WebState;
use crate::metrics::Metrics;

/// The content type Prometheus asks for and the encoder writes.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn routes() -> Router<WebState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<WebState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, OPENMETRICS)], state.metrics.encode())
}

/// Counts each web request by its matched route (a template such as
/// `/credential/{number}/proof`, never the raw path, so labels stay bounded;
/// `unmatched` for the fallback) and its status. It runs inside the router's
/// bounds: a request refused by the in-flight bound (503) or cut by the
/// timeout (408) is not counted here.
pub async fn count_request(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let response = next.run(request).await;
    metrics.web_request(&route, response.status().as_u16());
    response
}
