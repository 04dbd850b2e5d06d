//! The frame every page shares (the state's name and the log origin in the
//! header, the navigation, one stylesheet inline so a page is one request),
//! and the two ways an error is answered: as a page a person reads, or as
//! JSON a program reads. Messages are the library's own, never a stack trace,
//! and never an echo of unbounded input (the library quotes what it names
//! with `fact::quote`, which bounds it).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::{http_status, public_message, WebState};
use crate::error::Error;
use crate::pb;

/// The pages, in the navigation's order: (path, label).
pub const NAVIGATION: [(&str, &str); 5] = [
    ("/", "Verify a credential"),
    ("/roster", "Check a roster"),
    ("/verify-proof", "Verify a proof file"),
    ("/workforce", "The workforce"),
    ("/log", "The log"),
];

/// Colours are chosen for a contrast of at least 4.5:1 against their
/// background (WCAG AA), status colours included.
const STYLE: &str = r#"
:root{--ink:#1b1b1b;--paper:#ffffff;--muted:#4a4a4a;--line:#c9c9c9;--link:#0b4f9c;
--ok:#14532d;--ok-bg:#dcfce7;--warn:#713f12;--warn-bg:#fef3c7;--bad:#7f1d1d;--bad-bg:#fee2e2}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--paper)}
header,main,footer{max-width:60rem;margin:0 auto;padding:0.75rem 1rem}
header{border-bottom:1px solid var(--line)}
header p{margin:0.2rem 0}
.site{font-weight:700;font-size:1.1rem}
nav ul{list-style:none;padding:0;margin:0.4rem 0 0;display:flex;flex-wrap:wrap;gap:0.25rem 1rem}
a{color:var(--link)}
nav a[aria-current=page]{font-weight:700;color:var(--ink)}
h1{font-size:1.6rem;margin:0.5rem 0 1rem}
h2{font-size:1.25rem}
label{display:block;font-weight:600;margin-top:0.75rem}
.hint{display:block;font-weight:400;color:var(--muted);font-size:0.9rem}
input,select,button{font:inherit;padding:0.45rem 0.6rem;border:1px solid #767676;border-radius:4px;max-width:100%}
input[type=text],input[type=search]{width:22rem}
button{display:block;background:var(--link);color:#fff;border-color:var(--link);margin-top:1rem;cursor:pointer}
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:0.95rem}
th,td{border:1px solid var(--line);padding:0.3rem 0.5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}
.table-wrap{overflow-x:auto}
.status{display:inline-block;padding:0.15rem 0.6rem;border-radius:4px;font-weight:700}
.status-ok{color:var(--ok);background:var(--ok-bg)}
.status-warn{color:var(--warn);background:var(--warn-bg)}
.status-bad{color:var(--bad);background:var(--bad-bg)}
.error{color:var(--bad);background:var(--bad-bg);padding:0.6rem 0.8rem;border-radius:4px}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:0.9rem}
pre{background:#f6f6f6;border:1px solid var(--line);padding:0.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
footer{color:var(--muted);font-size:0.9rem;border-top:1px solid var(--line);margin-top:2rem}
@media (max-width:40rem){input[type=text],input[type=search]{width:100%}}
"#;

/// A whole page: the header names the state and the log origin, `title` is the
/// one `h1`, `path` marks the current navigation link.
pub fn layout(state: &WebState, path: &str, title: &str, body: Markup) -> Markup {
    let code = state.ledger.state();
    let origin = state.ledger.verifier().name().to_string();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No icon to fetch: a browser's request for /favicon.ico would
                // otherwise be a 404 in its console.
                link rel="icon" href="data:,";
                title { (title) " — " (state_name(code)) " peer support registry" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    p.site { span #state { (state_name(code)) } " (" (code) ") peer support credential registry" }
                    p { "Log origin " code #origin { (origin) } }
                    nav aria-label="Pages" {
                        ul {
                            @for (href, label) in NAVIGATION {
                                li {
                                    @if href == path { a href=(href) aria-current="page" { (label) } }
                                    @else { a href=(href) { (label) } }
                                }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
                footer {
                    p { "Answers come from " (code) "'s signed, append-only log; anyone can audit it ("
                        a href="/log" { "how" } ")." }
                }
            }
        }
    }
}

/// A refused request as a page: the HTTP status for the error and its message
/// in an alert a screen reader announces.
pub fn error_page(state: &WebState, path: &str, title: &str, error: &Error) -> Response {
    let body = html! { p.error #error role="alert" { (public_message(error)) } };
    (http_status(error), layout(state, path, title, body)).into_response()
}

/// A refused request as JSON: `{"error": {"code": "NOT_FOUND", "message": ...}}`.
pub fn json_error(error: &Error) -> Response {
    let body = serde_json::json!({
        "error": { "code": error.code_name(), "message": public_message(error) }
    });
    (http_status(error), Json(body)).into_response()
}

/// Any path no route serves.
pub async fn not_found(State(state): State<WebState>) -> Response {
    let error = Error::NotFound("there is no such page here; the pages are listed above".into());
    error_page(&state, "", "Page not found", &error)
}

/// The name of a US state, DC or territory from its postal code (the code
/// itself if unknown), for headings people read.
pub fn state_name(code: &str) -> &str {
    STATE_NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, name)| name)
}

const STATE_NAMES: [(&str, &str); 56] = [
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("PR", "Puerto Rico"),
    ("GU", "Guam"),
    ("VI", "U.S. Virgin Islands"),
    ("AS", "American Samoa"),
    ("MP", "Northern Mariana Islands"),
];

/// The status in words and its colour class: green for active, amber for
/// active with conditions or not yet valid, red when the holder may not practise.
pub fn status_words(status: i32) -> (&'static str, &'static str) {
    use pb::CredentialStatus as S;
    let Ok(status) = S::try_from(status) else {
        return ("Unknown", "status-bad");
    };
    match status {
        S::Active => ("Active", "status-ok"),
        S::Probation => ("Active, on probation", "status-warn"),
        S::Restricted => ("Active, with restrictions", "status-warn"),
        S::NotYetValid => ("Not yet valid", "status-warn"),
        S::Expired => ("Expired", "status-bad"),
        S::Suspended => ("Suspended", "status-bad"),
        S::Surrendered => ("Surrendered", "status-bad"),
        S::Revoked => ("Revoked", "status-bad"),
        S::Unspecified => ("Unknown", "status-bad"),
    }
}

/// The status in words in its colour, as tables show it.
pub fn status_badge(status: i32) -> Markup {
    let (words, class) = status_words(status);
    html! { span class={ "status " (class) } { (words) } }
}

/// An enum's wire name as words: "CREDENTIAL_TYPE_FAMILY_PEER" → "Family peer".
fn words(name: &str, prefix: &str) -> String {
    let lower = name.trim_start_matches(prefix).replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub fn type_words(value: i32) -> String {
    pb::CredentialType::try_from(value)
        .map(|t| words(t.as_str_name(), "CREDENTIAL_TYPE_"))
        .unwrap_or_else(|_| "Unknown".into())
}

/// One action as it stood on the answer's date, with how it had ended.
pub fn discipline_words(action: &pb::PublicDiscipline) -> String {
    let kind = pb::DisciplineKind::try_from(action.kind)
        .map(|k| words(k.as_str_name(), "DISCIPLINE_KIND_"))
        .unwrap_or_else(|_| "Unknown action".into());
    let until = if action.ends_on.is_empty() {
        String::new()
    } else {
        format!(" until {}", action.ends_on)
    };
    let state = match (action.ended_on.as_str(), action.ended_by_reinstatement) {
        ("", _) => " (in force)".to_string(),
        (on, true) => format!(" (ended by reinstatement on {on})"),
        (on, false) => format!(" (ended on {on})"),
    };
    let summary = if action.public_summary.is_empty() {
        String::new()
    } else {
        format!(": {}", action.public_summary)
    };
    format!("{kind} from {}{until}{state}{summary}", action.effective_on)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_types_read_as_words() {
        use pb::CredentialStatus as S;
        assert_eq!(status_words(S::Suspended as i32), ("Suspended", "status-bad"));
        assert_eq!(
            status_words(S::Probation as i32),
            ("Active, on probation", "status-warn")
        );
        assert_eq!(status_words(S::Active as i32), ("Active", "status-ok"));
        assert_eq!(status_words(99), ("Unknown", "status-bad"));
        assert_eq!(
            type_words(pb::CredentialType::PeerSupportSpecialist as i32),
            "Peer support specialist"
        );
    }

    #[test]
    fn every_state_code_is_two_capitals_and_unique() {
        let mut codes: Vec<&str> = STATE_NAMES.iter().map(|(c, _)| *c).collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase())));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), STATE_NAMES.len());
        assert_eq!(state_name("MS"), "Mississippi");
        assert_eq!(state_name("ZZ"), "ZZ");
    }
}
