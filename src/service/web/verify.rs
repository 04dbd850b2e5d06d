//! Verify a credential: the employer check as a page (`GET /`), as JSON
//! (`GET /api/verify`), and the credential's portable proof as a file
//! (`GET /credential/{number}/proof`).
//!
//! The form's fields become a `pb::CheckCredentialRequest` answered by
//! `registry::check_request`, exactly as the `CheckCredential` RPC is: every
//! bound, message and status is the gRPC one. The page shows only what
//! DESIGN.md §8 lets anyone see (the public register): holder name, number,
//! type, status on the date, dates, discipline on that date, the basis of a
//! reciprocal or imported credential, and the log size the answer rests on.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup};
use serde::Deserialize;

use super::super::registry;
use super::page::{self, discipline_words, layout, status_words, type_words};
use super::{http_status, public_message, WebState};
use crate::domain::fact::{self, IDENTIFIER_BYTES_MAX, TEXT_BYTES_MAX};
use crate::error::{Error, Result};
use crate::pb;
use crate::proof::ProofFile;
use crate::report::{self, check_json};

const TITLE: &str = "Verify a credential";

/// Bytes of a date written `YYYY-MM-DD` (a longer text is not put back in the form).
const DATE_BYTES: usize = 10;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(verify_page))
        .route("/api/verify", get(verify_json))
        .route("/credential/{number}/proof", get(proof_file))
}

/// The form's fields as sent; `number` absent means "show the empty form".
#[derive(Debug, Default, Deserialize)]
struct VerifyForm {
    number: Option<String>,
    name: Option<String>,
    date: Option<String>,
}

impl VerifyForm {
    fn request(&self) -> pb::CheckCredentialRequest {
        pb::CheckCredentialRequest {
            credential_number: self.number.clone().unwrap_or_default(),
            legal_name: self.name.clone().unwrap_or_default(),
            as_of: self.date.clone().unwrap_or_default(),
        }
    }
}

/// A query string that cannot be read as the form's fields (malformed
/// percent-encoding, a field given twice).
fn unreadable_query() -> Error {
    Error::InvalidArgument("the address's query could not be read; use number=, name= and date= once each".into())
}

async fn verify_page(State(state): State<WebState>, query: Result<Query<VerifyForm>, QueryRejection>) -> Response {
    let Ok(Query(form)) = query else {
        let body = html! { (verify_form(&VerifyForm::default())) (error_alert(&unreadable_query())) };
        return (StatusCode::BAD_REQUEST, layout(&state, "/", TITLE, body)).into_response();
    };
    if form.number.is_none() {
        return layout(&state, "/", TITLE, verify_form(&form)).into_response();
    }
    match registry::check_request(&state.ledger, form.request()) {
        Ok(check) => {
            let body = html! { (verify_form(&form)) (result(&check)) (witnessed_words(&state, check.log_size)) };
            layout(&state, "/", TITLE, body).into_response()
        }
        Err(error) => {
            let body = html! { (verify_form(&form)) (error_alert(&error)) };
            (http_status(&error), layout(&state, "/", TITLE, body)).into_response()
        }
    }
}

async fn verify_json(State(state): State<WebState>, query: Result<Query<VerifyForm>, QueryRejection>) -> Response {
    let Ok(Query(form)) = query else {
        return page::json_error(&unreadable_query());
    };
    match registry::check_request(&state.ledger, form.request()) {
        Ok(check) => Json(check_json(&check)).into_response(),
        Err(error) => page::json_error(&error),
    }
}

/// The credential's proof, as `peerreg proof export` saves it, as a download.
async fn proof_file(State(state): State<WebState>, Path(number): Path<String>) -> Response {
    match proof_json(&state, number).await {
        Ok((number, json)) => {
            let disposition = format!(
                "attachment; filename=\"peerreg-proof-{}.json\"",
                file_name_part(&number)
            );
            (
                [
                    (header::CONTENT_TYPE, "application/json".to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                json,
            )
                .into_response()
        }
        Err(error) => page::error_page(&state, "/", "Credential proof", &error),
    }
}

async fn proof_json(state: &WebState, number: String) -> Result<(String, String)> {
    let number = fact::identifier("credential_number", number)?;
    let (ledger, witnessing) = (state.ledger.clone(), state.witnessing.clone());
    let proof = state
        .blocking
        .run(move || registry::credential_proof_witnessed(&ledger, witnessing.as_deref(), number))
        .await?;
    let file = ProofFile::from_pb(proof);
    let json = file.to_json()?;
    Ok((file.credential_number, json))
}

/// A credential number as part of a file name: letters, digits, `.`, `-`
/// and `_` kept, anything else (quotes, slashes) replaced.
fn file_name_part(number: &str) -> String {
    number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `text` for a URL path segment: unreserved characters kept, every other byte
/// percent-encoded (a credential number may hold `/`, `?` or `#`).
pub fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A field's value to put back in the form, if it is within the field's bound:
/// a hostile or mistaken long input is never echoed.
fn bounded(value: &Option<String>, max: usize) -> &str {
    value.as_deref().filter(|v| v.len() <= max).unwrap_or("")
}

fn verify_form(form: &VerifyForm) -> Markup {
    html! {
        form #verify-form method="get" action="/" {
            label for="number" { "Credential number" }
            input #number type="text" name="number" required autocomplete="off" spellcheck="false"
                value=(bounded(&form.number, IDENTIFIER_BYTES_MAX));
            label for="name" {
                "Holder's name "
                span.hint { "Optional. If given, it must match the holder's legal name (case does not matter)." }
            }
            input #name type="text" name="name" autocomplete="off" value=(bounded(&form.name, TEXT_BYTES_MAX));
            label for="date" {
                "Date of service "
                span.hint { "Optional, written YYYY-MM-DD. The answer is the credential as it stood on that date; today if empty." }
            }
            input #date type="text" name="date" inputmode="numeric" placeholder="YYYY-MM-DD" autocomplete="off"
                value=(bounded(&form.date, DATE_BYTES));
            button #verify-submit type="submit" { "Verify" }
        }
    }
}

/// Whether the other states vouch for the log this answer came from: its
/// newest checkpoint cosigned by the witness quorum, or "not yet witnessed".
fn witnessed_words(state: &WebState, answered_at: u64) -> Markup {
    let Some(witnessing) = state.witnessing.as_ref() else {
        return html! {};
    };
    let policy = witnessing.collector.policy();
    if policy.witnesses.is_empty() {
        return html! {};
    }
    match witnessing.collector.witnessed() {
        Some((published, _)) => html! {
            p #witnessed {
                "Witnessed: " (policy.quorum) " of the " (policy.witnesses.len()) " other states that witness this log "
                "cosigned its checkpoint at size " (published.checkpoint.size)
                @if published.checkpoint.size < answered_at { " (newer entries are not yet witnessed)" }
                "."
            }
        },
        None => html! { p #witnessed { "Not yet witnessed: no other state has cosigned this log's checkpoint yet." } },
    }
}

fn error_alert(error: &Error) -> Markup {
    html! { p.error #error role="alert" { (public_message(error)) } }
}

fn result(check: &pb::CredentialCheck) -> Markup {
    let (words, class) = status_words(check.status);
    html! {
        section #result data-status=(report::status_code_name(check.status)) aria-labelledby="result-heading" {
            h2 #result-heading { "Credential " (check.credential_number) }
            p {
                "On " span #as-of { (check.as_of) } " this credential was: "
                strong #status-words class={ "status " (class) } { (words) }
            }
            div.table-wrap {
                table {
                    tr { th scope="row" { "Holder" } td #holder { (check.legal_name) } }
                    tr { th scope="row" { "Credential number" } td #credential-number { (check.credential_number) } }
                    tr { th scope="row" { "Type" } td #credential-type { (type_words(check.credential_type)) } }
                    tr { th scope="row" { "Issued" } td #issued-on { (check.issued_on) } }
                    tr { th scope="row" { "Expires" } td #expires-on { (check.expires_on) } }
                    @if !check.reciprocity_origin_state.is_empty() {
                        tr { th scope="row" { "Granted by reciprocity" } td #reciprocity {
                            "on " (check.reciprocity_origin_state) " credential " (check.reciprocity_origin_credential_number)
                        } }
                    }
                    @if !check.imported_source_system.is_empty() {
                        tr { th scope="row" { "Imported" } td #imported {
                            "from " (check.imported_source_system) " on " (check.imported_on)
                            " (its history before then is as that system recorded it)"
                        } }
                    }
                }
            }
            @if !check.discipline.is_empty() {
                h3 { "Discipline as it stood on " (check.as_of) }
                ul #discipline {
                    @for action in &check.discipline { li { (discipline_words(action)) } }
                }
            }
            p #log-size { "verified against the signed log at size " (check.log_size) }
            p {
                a #proof-link href={ "/credential/" (path_segment(&check.credential_number)) "/proof" } {
                    "Download the proof file"
                }
                " — anyone can check it offline, years from now ("
                a href="/verify-proof" { "verify a proof file" } ")."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_safe_in_a_path_and_a_file_name() {
        assert_eq!(path_segment("MS-1/a b?#%"), "MS-1%2Fa%20b%3F%23%25");
        assert_eq!(path_segment("MS-CPSS-0001"), "MS-CPSS-0001");
        assert_eq!(file_name_part("MS-1\"/x"), "MS-1__x");
    }

    #[test]
    fn a_long_field_is_not_put_back_in_the_form() {
        let form = VerifyForm {
            number: Some("N".repeat(10_000)),
            name: Some("Ada".into()),
            date: Some("2025-01-011".into()),
        };
        let html = verify_form(&form).into_string();
        assert!(!html.contains(&"N".repeat(IDENTIFIER_BYTES_MAX + 1)));
        assert!(html.contains("value=\"Ada\"") && !html.contains("2025-01-011"));
    }
}
