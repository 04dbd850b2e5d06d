//! Check a roster: an uploaded CSV answered by the same reader as
//! `peerreg check --roster` (`report::read_roster`), the same parser and bounds
//! as `CheckRoster` (`requests::Roster`) and the same answerer
//! (`registry::answer_roster`, on the bounded blocking pool), so a line's
//! answer here is the gRPC one. The report is the CLI's CSV report.
//!
//! Whole-file problems (no file, not UTF-8, no line, more lines than
//! `ROSTER_ITEMS_MAX`, a field past its length bound) refuse the upload with
//! the gRPC status read as HTTP; a line that cannot be checked (an unknown
//! number, a malformed date) is a row of the answer with its error.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use maud::{html, Markup, PreEscaped};

use super::page::{self, layout};
use super::{http_status, public_message, WebState};
use crate::error::{Error, Result};
use crate::limits;
use crate::pb;
use crate::report;
use crate::service::registry::answer_roster;
use crate::service::requests::Roster;

const PATH: &str = "/roster";
const TITLE: &str = "Check a roster";
/// The multipart field the file comes in.
const FIELD: &str = "roster";

pub fn routes() -> Router<WebState> {
    Router::new()
        .route(PATH, get(form_page).post(upload_page))
        .route("/api/roster", post(api_json))
        .route("/api/roster.csv", post(api_csv))
}

/// A roster's answer and the day lines without a date of service were checked for.
struct Answer {
    response: pb::CheckRosterResponse,
    today: NaiveDate,
}

/// Reads, checks and answers a roster CSV off the async threads.
async fn answer(state: &WebState, csv: Bytes) -> Result<Answer> {
    let ledger = state.ledger.clone();
    state
        .blocking
        .run(move || {
            let items = report::read_roster("the roster", &csv[..], limits::ROSTER_ITEMS_MAX)?;
            let roster = Roster::try_from(pb::CheckRosterRequest { items })?;
            let today = ledger.today();
            let response = answer_roster(&ledger.registry(), ledger.state(), &roster, today)?;
            Ok(Answer { response, today })
        })
        .await
}

async fn form_page(State(state): State<WebState>) -> Response {
    layout(&state, PATH, TITLE, form()).into_response()
}

async fn upload_page(
    State(state): State<WebState>,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Response {
    let answered = match multipart {
        Ok(multipart) => match roster_field(multipart).await {
            Ok(csv) => answer(&state, csv).await,
            Err(refused) => Err(refused),
        },
        Err(rejection) => Err(Error::InvalidArgument(format!(
            "the roster must be uploaded as a form with a file ({})",
            rejection.body_text()
        ))),
    };
    match answered {
        Ok(answer) => layout(&state, PATH, TITLE, html! { (form()) (results(&answer)) }).into_response(),
        Err(refused) => {
            let body = html! { (form()) p.error #error role="alert" { (public_message(&refused)) } };
            (http_status(&refused), layout(&state, PATH, TITLE, body)).into_response()
        }
    }
}

/// The uploaded file: the `roster` field of the form.
async fn roster_field(mut multipart: Multipart) -> Result<Bytes> {
    while let Some(field) = multipart.next_field().await.map_err(upload_error)? {
        if field.name() == Some(FIELD) {
            let bytes = field.bytes().await.map_err(upload_error)?;
            if bytes.is_empty() {
                break;
            }
            return Ok(bytes);
        }
    }
    Err(Error::InvalidArgument(format!(
        "no roster file was uploaded: choose a CSV file (columns {})",
        report::ROSTER_COLUMNS
    )))
}

fn upload_error(error: MultipartError) -> Error {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    Error::InvalidArgument(format!("the upload could not be read: {}", error.body_text()))
}

fn too_large() -> Error {
    Error::ResourceExhausted(format!(
        "the upload passes {} bytes; split the roster",
        limits::HTTP_BODY_BYTES_MAX
    ))
}

/// The CSV of an API call: the body itself, or the `roster` field of a form.
async fn api_body(state: &WebState, request: Request) -> Result<Bytes> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_form {
        let multipart = Multipart::from_request(request, state)
            .await
            .map_err(|r| Error::InvalidArgument(r.body_text()))?;
        return roster_field(multipart).await;
    }
    Bytes::from_request(request, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            Error::InvalidArgument(r.body_text())
        }
    })
}

async fn api_answer(state: &WebState, request: Request) -> Result<Answer> {
    let csv = api_body(state, request).await?;
    answer(state, csv).await
}

/// `POST /api/roster`: `{"state", "log_size", "results": [...]}`, each result
/// as `peerreg check --roster --json` writes it.
async fn api_json(State(state): State<WebState>, request: Request) -> Response {
    match api_answer(&state, request).await {
        Ok(Answer { response, .. }) => Json(serde_json::json!({
            "state": state.ledger.state(),
            "log_size": response.log_size,
            "results": response.results.iter().map(report::roster_result_json).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(refused) => page::json_error(&refused),
    }
}

/// `POST /api/roster.csv`: the CSV report, as `peerreg check --roster` writes it.
async fn api_csv(State(state): State<WebState>, request: Request) -> Response {
    let report = match api_answer(&state, request).await {
        Ok(answer) => report::roster_csv(&answer.response.results),
        Err(refused) => Err(refused),
    };
    match report {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"roster-report.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(refused) => page::json_error(&refused),
    }
}

/// Uploads with a progress bar where JavaScript runs (then shows the answer
/// page it gets back); without it, the form posts as any form does.
const UPLOAD_SCRIPT: &str = r#"(function(){
var form=document.getElementById('roster-form'),bar=document.getElementById('roster-progress');
if(!form||!bar||!window.XMLHttpRequest||!window.FormData||!window.DOMParser)return;
form.addEventListener('submit',function(event){
event.preventDefault();
var request=new XMLHttpRequest();
request.open('POST',form.action);
bar.hidden=false;bar.removeAttribute('value');
request.upload.onprogress=function(p){if(p.lengthComputable){bar.max=p.total;bar.value=p.loaded;}};
request.onload=function(){var answer=new DOMParser().parseFromString(request.responseText,'text/html');
document.replaceChild(document.adoptNode(answer.documentElement),document.documentElement);};
request.onerror=function(){form.submit();};
request.send(new FormData(form));});
})();"#;

fn form() -> Markup {
    html! {
        form #roster-form method="post" action=(PATH) enctype="multipart/form-data" {
            label for="roster-file" {
                "Roster file (CSV)"
                span.hint {
                    "One credential per line: credential number, then optionally the holder's legal name and a date of service (YYYY-MM-DD; today if empty). "
                    "A first line naming the columns (" code { (report::ROSTER_COLUMNS) } ") is skipped. "
                    "At most " (limits::ROSTER_ITEMS_MAX) " lines; UTF-8 text."
                }
            }
            input #roster-file type="file" name=(FIELD) accept=".csv,text/csv" required;
            div { button #roster-submit type="submit" { "Check the roster" } }
            progress #roster-progress aria-label="Upload progress" hidden {}
        }
        script { (PreEscaped(UPLOAD_SCRIPT)) }
    }
}

fn results(answer: &Answer) -> Markup {
    let results = &answer.response.results;
    let report = report::roster_csv(results).unwrap_or_default();
    html! {
        section #roster-answer aria-labelledby="roster-answer-heading" {
            h2 #roster-answer-heading { "Results" }
            (summary(answer))
            p { a #roster-download href=(data_url(&report)) download="roster-report.csv" { "Download the report (CSV)" } }
            div.table-wrap {
                table #roster-results {
                    caption { "One row per roster line and date of service, in the roster's order" }
                    thead { tr {
                        th scope="col" { "Line" } th scope="col" { "Credential number" } th scope="col" { "Date of service" }
                        th scope="col" { "Holder" } th scope="col" { "Status" } th scope="col" { "Expires" }
                        th scope="col" { "Discipline in force" }
                    } }
                    tbody { @for result in results { (row(result)) } }
                }
            }
        }
    }
}

fn summary(answer: &Answer) -> Markup {
    let results = &answer.response.results;
    let mut by_status: BTreeMap<i32, usize> = BTreeMap::new();
    let mut by_error: BTreeMap<&str, usize> = BTreeMap::new();
    for result in results {
        match &result.check {
            Some(check) => *by_status.entry(check.status).or_default() += 1,
            None => *by_error.entry(result.error_code.as_str()).or_default() += 1,
        }
    }
    let lines = results.last().map_or(0, |r| r.position as usize + 1);
    html! {
        div #roster-summary {
            p {
                (results.len()) " checks of " (lines) " roster lines, verified against the signed log at size "
                (answer.response.log_size) "; lines without a date of service are checked for " (answer.today) "."
            }
            ul {
                @for (status, count) in &by_status {
                    li { (page::status_badge(*status)) ": " (count) }
                }
                @for (code, count) in &by_error {
                    li { "Not checked (" (error_words(code)) "): " (count) }
                }
            }
        }
    }
}

/// An error code in words for the summary.
fn error_words(code: &str) -> &str {
    match code {
        "NOT_FOUND" => "no such credential with that holder",
        "INVALID_ARGUMENT" => "a malformed line",
        other => other,
    }
}

fn row(result: &pb::RosterResult) -> Markup {
    let line = result.position + 1;
    match &result.check {
        Some(check) => {
            let in_force = check.discipline.iter().filter(|d| d.ended_on.is_empty());
            html! {
                tr data-status=(report::status_code_name(check.status)) {
                    td { (line) } td { (check.credential_number) } td { (check.as_of) } td { (check.legal_name) }
                    td { (page::status_badge(check.status)) }
                    td { (check.expires_on) }
                    td { @for action in in_force { div { (page::discipline_words(action)) } } }
                }
            }
        }
        None => html! {
            tr data-status="error" {
                td { (line) } td { (result.credential_number) } td { (result.date_of_service) } td {}
                td colspan="3" { span.status.status-bad { "Not checked" } " " (result.error) }
            }
        },
    }
}

/// The report as a `data:` URL the download link carries (no second request,
/// nothing kept on the node). Percent-encoded rather than base64: a roster
/// report is mostly letters, digits and commas, which stay as they are.
fn data_url(text: &str) -> String {
    let mut url = String::with_capacity(text.len() + text.len() / 4 + 32);
    url.push_str("data:text/csv;charset=utf-8,");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~,:;/".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_url_keeps_plain_text_and_escapes_the_rest() {
        assert_eq!(
            data_url("a,b c\n\"é\"#%"),
            "data:text/csv;charset=utf-8,a,b%20c%0A%22%C3%A9%22%23%25"
        );
    }
}
