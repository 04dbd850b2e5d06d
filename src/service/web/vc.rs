//! W3C Verifiable Credentials on the HTTP side (`crate::vc`):
//! `GET /credential/{number}/vc` (the credential as a VC, signed now by the
//! board's issuer key), `GET /status-list/{revocation|suspension}` (the
//! Bitstring Status List credentials the VCs name, current with the log), and
//! `GET /vc/issuer` (the issuer's `did:key` and verification method, for
//! employers to pin).
//!
//! A VC's subject is the employer check's answer (`registry::check_request`
//! with the number alone, for today): the same public facts, bounds and
//! messages as `/api/verify`. Errors are JSON, as on `/api/`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::super::registry;
use super::{page, WebState};
use crate::domain::fact;
use crate::error::{Error, Result};
use crate::pb;
use crate::vc::{Issuer, Purpose};

/// The VC 2.0 media type of a credential secured with an embedded proof.
const VC_MEDIA_TYPE: &str = "application/vc";
/// How long a client may cache a status list: short, since it changes with the log.
const LIST_CACHE_CONTROL: &str = "public, max-age=60";

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/credential/{number}/vc", get(credential_vc))
        .route("/status-list/{purpose}", get(status_list))
        .route("/vc/issuer", get(issuer_json))
}

fn issuer(state: &WebState) -> Result<Arc<Issuer>> {
    state
        .vc
        .clone()
        .ok_or_else(|| Error::NotFound("this node issues no verifiable credentials".into()))
}

async fn credential_vc(State(state): State<WebState>, Path(number): Path<String>) -> Response {
    match credential_json(&state, number).await {
        Ok(json) => ([(header::CONTENT_TYPE, VC_MEDIA_TYPE)], json).into_response(),
        Err(error) => page::json_error(&error),
    }
}

async fn credential_json(state: &WebState, number: String) -> Result<String> {
    let issuer = issuer(state)?;
    let number = fact::identifier("credential_number", number)?;
    let ledger = state.ledger.clone();
    state
        .blocking
        .run(move || {
            let request = pb::CheckCredentialRequest {
                credential_number: number,
                ..Default::default()
            };
            let check = registry::check_request(&ledger, request)?;
            let vc = issuer.credential(&ledger, &check)?;
            serde_json::to_string_pretty(&vc).map_err(|e| Error::Internal(format!("encoding a VC: {e}")))
        })
        .await
}

async fn status_list(State(state): State<WebState>, Path(purpose): Path<String>) -> Response {
    match list_json(&state, &purpose).await {
        Ok(json) => (
            [
                (header::CONTENT_TYPE, VC_MEDIA_TYPE),
                (header::CACHE_CONTROL, LIST_CACHE_CONTROL),
            ],
            json,
        )
            .into_response(),
        Err(error) => page::json_error(&error),
    }
}

async fn list_json(state: &WebState, purpose: &str) -> Result<String> {
    let Some(purpose) = Purpose::parse(purpose) else {
        return Err(Error::NotFound(format!(
            "there is no status list {}; there are revocation and suspension",
            fact::quote(purpose)
        )));
    };
    let issuer = issuer(state)?;
    let ledger = state.ledger.clone();
    let lists = state.blocking.run(move || issuer.lists(&ledger)).await?;
    Ok(lists.of(purpose).to_string())
}

async fn issuer_json(State(state): State<WebState>) -> Response {
    let issuer = match issuer(&state) {
        Ok(issuer) => issuer,
        Err(error) => return page::json_error(&error),
    };
    let key = issuer.key();
    Json(serde_json::json!({
        "id": key.did(),
        "verificationMethod": key.verification_method(),
        "publicKeyMultibase": key.public_multikey(),
        "cryptosuite": crate::vc::proof::CRYPTOSUITE,
        "statusLists": {
            "revocation": issuer.list_url(Purpose::Revocation),
            "suspension": issuer.list_url(Purpose::Suspension),
        },
    }))
    .into_response()
}
