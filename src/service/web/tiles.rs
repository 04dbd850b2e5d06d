//! The log as C2SP `tlog-tiles`, read-only, on the HTTP side: `GET
//! /checkpoint` (the newest checkpoint with the cosignatures gathered for
//! it) and `GET /tile/...` (hash tiles and entry bundles, full or partial).
//! Every tile path names fixed bytes (a partial tile's path carries its
//! width), so tiles are served `immutable`: any HTTP cache, CDN or object
//! store copy can serve them, and clients verify them against a signed
//! checkpoint, never trusting the server. Only paths in the one spelling
//! `log::tiles` writes are answered (404 otherwise), so nothing from the
//! request becomes a file name or a second cache key.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{http_status, WebState};
use crate::log::tiles::Tile;

/// A year: as long as caches are asked to keep anything.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
}

async fn checkpoint(State(state): State<WebState>) -> Response {
    let published = state.ledger.published();
    let note = match &state.witnessing {
        Some(witnessing) => witnessing.checkpoint_note(&published),
        None => published.note.to_vec(),
    };
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        note,
    )
        .into_response()
}

async fn tile(State(state): State<WebState>, Path(path): Path<String>) -> Response {
    let Some(tile) = Tile::parse_path(&format!("tile/{path}")) else {
        return (StatusCode::NOT_FOUND, "not a tile path (C2SP tlog-tiles)\n").into_response();
    };
    let ledger = state.ledger.clone();
    match state.blocking.run(move || ledger.tile(&tile)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, IMMUTABLE),
            ],
            bytes,
        )
            .into_response(),
        Err(error) => (http_status(&error), format!("{error}\n")).into_response(),
    }
}
