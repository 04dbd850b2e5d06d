//! This node's witness over HTTP (C2SP `tlog-witness`): `POST
//! /add-checkpoint`, answered with the witness's cosignature line or the
//! spec's status codes (400 malformed, 403 not signed by the pinned key, 404
//! a log this node does not witness, 409 with `text/x.tlog.size` for another
//! old size, 409 for a fork, 422 for a bad consistency proof). The check and
//! the durable write run on the bounded blocking pool.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use super::WebState;
use crate::error::Error;
use crate::witness::Refusal;

/// The route, with its body bounded to a request's largest size (a note and
/// a full proof), below the side's general 2 MiB.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::limits::WITNESS_REQUEST_BYTES_MAX,
        ))
}

async fn add_checkpoint(State(state): State<WebState>, body: Bytes) -> Response {
    let Some(witnessing) = state.witnessing.clone() else {
        return refused(&Refusal::Store(Error::NotFound("this node runs no witness".into())));
    };
    let answer = state
        .blocking
        .run(move || Ok(witnessing.witness.add_checkpoint(&body)))
        .await;
    match answer {
        Ok(Ok(lines)) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], lines).into_response(),
        Ok(Err(refusal)) => refused(&refusal),
        Err(error) => refused(&Refusal::Store(error)),
    }
}

/// The one mapping of a refusal to the spec's status and body.
fn refused(refusal: &Refusal) -> Response {
    let status = match refusal {
        Refusal::Malformed(_) => StatusCode::BAD_REQUEST,
        Refusal::UnknownLog(_) => StatusCode::NOT_FOUND,
        Refusal::BadSignature { .. } => StatusCode::FORBIDDEN,
        Refusal::SizeConflict { held } => {
            return (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, "text/x.tlog.size")],
                format!("{held}\n"),
            )
                .into_response();
        }
        Refusal::Fork { .. } => StatusCode::CONFLICT,
        Refusal::BadProof { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::Store(error) => super::http_status(error),
    };
    if status.is_server_error() {
        tracing::error!("add-checkpoint: {refusal}");
    }
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{refusal}\n"),
    )
        .into_response()
}
