//! Verify a proof file: an uploaded `peerreg-credential-proof` checked by
//! `proof::verify` pinned to this node's key (`GET`/`POST /verify-proof`, and
//! `POST /api/verify-proof[?fresh=1]` with the file as the body). With
//! "fresh", `proof::fresh` also checks it against this node's current log
//! (a new proof whose checkpoint must consistently extend the file's), as
//! `peerreg proof verify --fresh` does over gRPC.
//!
//! Statuses: a file that is not a proof file (not JSON, not the format) is
//! 400; a proof file that does not verify (another state's key, a changed
//! byte, a history that was rewritten) is 422 with the reason; too large a
//! file is 413. Any other refusal has the status of its library error.

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Deserialize;

use super::super::{convert, registry};
use super::page::layout;
use super::{http_status, public_message, WebState};
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::limits;
use crate::log::merkle::{Hash, LeafIndex, TreeSize};
use crate::pb;
use crate::proof::{self, ProofFile, VerifiedProof};
use crate::source::{LogIdentity, LogSource, ProofSource, SourceFuture};

const TITLE: &str = "Verify a proof file";

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/verify-proof", get(proof_form_page).post(upload))
        .route("/api/verify-proof", axum::routing::post(verify_json))
}

/// A verified proof and what the page says about it.
struct Verified {
    file: ProofFile,
    proof: VerifiedProof,
    fresh: bool,
    today: NaiveDate,
}

/// The status for a refused proof: 422 when the file is a proof file that
/// does not verify (the library's `DataLoss` from `proof::verify`), else the
/// library error's own status.
fn refused_status(error: &Error) -> StatusCode {
    match error {
        Error::DataLoss(_) => StatusCode::UNPROCESSABLE_ENTITY,
        other => http_status(other),
    }
}

/// Verifies `bytes` as a proof file on the blocking pool: pinned to this
/// node's key, and with `fresh` against this node's current log.
async fn verify_upload(state: &WebState, bytes: Bytes, fresh: bool) -> Result<Verified> {
    let node = OwnNode(state.ledger.clone());
    state
        .blocking
        .run(move || {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| Error::InvalidArgument("not a credential proof file: it is not UTF-8 text".into()))?;
            let file = ProofFile::from_json(text)?;
            let verifier = node.0.verifier().clone();
            let proof = if fresh {
                tokio::runtime::Handle::current().block_on(proof::fresh(&file, &verifier, &node, &node))?
            } else {
                proof::verify(&file, Some(&verifier))?
            };
            Ok(Verified {
                file,
                proof,
                fresh,
                today: node.0.today(),
            })
        })
        .await
}

/// This node as the source a fresh check asks: its own proofs and its own
/// log, read in process. A fault of its own store is this node's error
/// (`Internal`, 500), never mistaken for an upload that does not verify.
struct OwnNode(Ledger);

fn own_fault(error: Error) -> Error {
    match error {
        Error::DataLoss(detail) => Error::Internal(format!("this node's own log: {detail}")),
        other => other,
    }
}

impl ProofSource for OwnNode {
    fn credential_proof(&self, credential_number: String) -> SourceFuture<'_, pb::CredentialProof> {
        let proof = registry::credential_proof(&self.0, credential_number).map_err(own_fault);
        Box::pin(std::future::ready(proof))
    }
}

impl LogSource for OwnNode {
    fn identity(&self) -> SourceFuture<'_, LogIdentity> {
        Box::pin(async move { LogSource::identity(&self.0).await.map_err(own_fault) })
    }

    fn checkpoint_note(&self) -> SourceFuture<'_, Vec<u8>> {
        Box::pin(async move { LogSource::checkpoint_note(&self.0).await.map_err(own_fault) })
    }

    fn entries(&self, start: u64, end: u64) -> SourceFuture<'_, Vec<Vec<u8>>> {
        Box::pin(async move { LogSource::entries(&self.0, start, end).await.map_err(own_fault) })
    }

    fn inclusion_proof(&self, index: LeafIndex, tree_size: TreeSize) -> SourceFuture<'_, Vec<Hash>> {
        Box::pin(async move {
            LogSource::inclusion_proof(&self.0, index, tree_size)
                .await
                .map_err(own_fault)
        })
    }

    fn consistency_proof(&self, from_size: TreeSize, to_size: TreeSize) -> SourceFuture<'_, Vec<Hash>> {
        Box::pin(async move {
            LogSource::consistency_proof(&self.0, from_size, to_size)
                .await
                .map_err(own_fault)
        })
    }
}

async fn proof_form_page(State(state): State<WebState>) -> Response {
    layout(&state, "/verify-proof", TITLE, proof_form(false)).into_response()
}

/// The form's post: the file in field `proof`, the checkbox `fresh`.
async fn upload(
    State(state): State<WebState>,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Response {
    let form = match multipart {
        Ok(multipart) => read_form(multipart).await,
        Err(_) => Err(not_a_form()),
    };
    let (answer, fresh) = match form {
        Ok((bytes, fresh)) => (verify_upload(&state, bytes, fresh).await, fresh),
        Err(error) => (Err(error), false),
    };
    let (status, outcome) = match &answer {
        Ok(verified) => (StatusCode::OK, valid(verified)),
        Err(error) => (refused_status(error), invalid(error)),
    };
    let body = html! { (proof_form(fresh)) (outcome) };
    (status, layout(&state, "/verify-proof", TITLE, body)).into_response()
}

/// The uploaded file's bytes (bounded by the body limit) and whether "fresh" was ticked.
async fn read_form(mut multipart: Multipart) -> Result<(Bytes, bool)> {
    let mut file = None;
    let mut fresh = false;
    while let Some(field) = multipart.next_field().await.map_err(upload_error)? {
        match field.name() {
            Some("proof") => file = Some(field.bytes().await.map_err(upload_error)?),
            Some("fresh") => fresh = true,
            _ => {}
        }
    }
    let file = file.ok_or_else(|| Error::InvalidArgument("choose a proof file to upload".into()))?;
    Ok((file, fresh))
}

fn too_large() -> Error {
    Error::ResourceExhausted(format!(
        "the upload is larger than {} bytes, more than any proof file this page reads",
        limits::HTTP_BODY_BYTES_MAX
    ))
}

fn upload_error(error: axum::extract::multipart::MultipartError) -> Error {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        not_a_form()
    }
}

fn not_a_form() -> Error {
    Error::InvalidArgument("the upload is not a readable form (multipart/form-data with a file field 'proof')".into())
}

#[derive(Debug, Default, Deserialize)]
struct FreshQuery {
    fresh: Option<String>,
}

/// `fresh=1` (or `true`, `on`) asks for a fresh check; `0`, `false`, `off` or
/// nothing for an offline one.
fn fresh_flag(query: std::result::Result<Query<FreshQuery>, QueryRejection>) -> Result<bool> {
    let Ok(Query(query)) = query else {
        return Err(Error::InvalidArgument(
            "the address's query could not be read; use fresh=1 or fresh=0".into(),
        ));
    };
    match query.fresh.as_deref() {
        None | Some("" | "0" | "false" | "off") => Ok(false),
        Some("1" | "true" | "on") => Ok(true),
        Some(_) => Err(Error::InvalidArgument("fresh must be 1 or 0".into())),
    }
}

/// `POST /api/verify-proof[?fresh=1]`, the file as the body.
async fn verify_json(
    State(state): State<WebState>,
    query: std::result::Result<Query<FreshQuery>, QueryRejection>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let answer = match (fresh_flag(query), body) {
        (Err(error), _) => Err(error),
        (_, Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
        (_, Err(_)) => Err(Error::InvalidArgument("the request body could not be read".into())),
        (Ok(fresh), Ok(bytes)) => verify_upload(&state, bytes, fresh).await,
    };
    match answer {
        Ok(verified) => Json(valid_json(&verified)).into_response(),
        Err(error) => {
            let body = serde_json::json!({
                "outcome": "invalid",
                "error": { "code": error.code_name(), "message": public_message(&error) },
            });
            (refused_status(&error), Json(body)).into_response()
        }
    }
}

fn valid_json(v: &Verified) -> serde_json::Value {
    let discipline: Vec<serde_json::Value> = convert::public_discipline(&v.proof.credential, v.today)
        .iter()
        .map(crate::report::discipline_json)
        .collect();
    serde_json::json!({
        "outcome": "valid",
        "fresh": v.fresh,
        "state": v.file.state,
        "credential_number": v.file.credential_number,
        "holder_name": v.proof.holder_name,
        "status": convert::status(v.proof.status_on(v.today)).as_str_name(),
        "as_of": v.today.to_string(),
        "issued_on": v.proof.credential.issued_on.to_string(),
        "expires_on": v.proof.credential.expires_on_as_of(v.today).to_string(),
        "discipline": discipline,
        "checkpoint_size": v.proof.checkpoint.size,
        "explanation": proof::describe(&v.file, &v.proof, v.today),
    })
}

fn proof_form(fresh: bool) -> Markup {
    html! {
        p {
            "A proof file (" code { "peerreg-credential-proof" } ", saved from a credential's answer on the "
            a href="/" { "verify page" } " or with " code { "peerreg proof export" } ") shows a credential's "
            "whole public record, signed by the board's key and proven into its signed log. It is checked here "
            "against this node's key."
        }
        form #proof-form method="post" action="/verify-proof" enctype="multipart/form-data" {
            label for="proof-file" { "Proof file " span.hint { "A .json file, at most 2 MiB." } }
            input #proof-file type="file" name="proof" accept=".json,application/json" required;
            label for="fresh" {
                @if fresh { input #fresh type="checkbox" name="fresh" value="on" checked; }
                @else { input #fresh type="checkbox" name="fresh" value="on"; }
                " Also check against the current log "
                span.hint {
                    "Without this, the check is offline: it cannot show what was recorded after the file was saved "
                    "(a later suspension, say)."
                }
            }
            button #proof-submit type="submit" { "Verify the proof" }
        }
    }
}

fn valid(v: &Verified) -> Markup {
    let text = proof::describe(&v.file, &v.proof, v.today);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let discipline: Vec<&str> = lines.map(str::trim).collect();
    html! {
        section #result data-outcome="valid" aria-labelledby="outcome-words" {
            h2 #outcome-words { span.status.status-ok { "Valid proof" } }
            p #explanation { (first) }
            @if !discipline.is_empty() {
                ul #proof-discipline { @for line in &discipline { li { (line) } } }
            }
            @if v.fresh {
                p #freshness {
                    "Checked against this node's current log: its signed checkpoint of size "
                    (v.proof.checkpoint.size) " consistently extends the file's, so the status above includes "
                    "everything recorded since the file was saved."
                }
            } @else {
                p #freshness {
                    "An offline check: the file is genuine, but it cannot show anything recorded after its "
                    "checkpoint. Tick \"Also check against the current log\" for today's record."
                }
            }
        }
    }
}

fn invalid(error: &Error) -> Markup {
    html! {
        section #result data-outcome="invalid" aria-labelledby="outcome-words" {
            h2 #outcome-words { span.status.status-bad { "Not a valid proof" } }
            p.error #error role="alert" { (public_message(error)) }
            p.hint {
                "A proof verifies only if every byte is as the board signed it, with this node's key. "
                "A file from another state's registry is verified on that state's page."
            }
        }
    }
}
