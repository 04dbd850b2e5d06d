//! The roster and workforce pages of a real node (gRPC and HTTP on loopback
//! ports, a sled store in a temp dir), against what the node answers over
//! gRPC for the same questions: each roster row is the `CheckRoster` result,
//! the downloaded report is the CLI's CSV of it, whole-file problems are
//! refused with the gRPC status read as HTTP (and the node still answers),
//! the workforce counts are `GetStatistics`' and the monthly changes equal a
//! model computed here from what was recorded.

mod common;

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate};
use common::board::{discipline, enrol, issue, renew};
use pb::command::Body;
use peerreg::auth::{hash_token, TokenEntry};
use peerreg::config::NodeConfig;
use peerreg::node::Node;
use peerreg::pb;
use peerreg::report;
use peerreg::service::client::NodeClient;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use tokio::net::TcpListener;

const ADMIN: &str = "web-roster-admin";

/// One recorded credential, as the test's model of the workforce sees it.
struct Recorded {
    number: &'static str,
    name: &'static str,
    issued: NaiveDate,
    expires: NaiveDate,
    /// (renewed on, new expiry)
    renewals: Vec<(NaiveDate, NaiveDate)>,
}

async fn start(dir: &std::path::Path) -> Node {
    let mut config = NodeConfig::for_state("MS").expect("MS");
    config.http = Some("127.0.0.1:0".parse().expect("an address"));
    config.data_dir = dir.join("ms");
    config.key_file = dir.join("ms").join("log.key");
    config.profile = common::permissive_profile(true).into();
    config.tokens = vec![TokenEntry {
        name: "admin".into(),
        sha256: hash_token(ADMIN),
        operations: vec!["*".into()],
    }];
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    peerreg::node::start(config, listener).await.expect("the node starts")
}

fn text(day: NaiveDate) -> String {
    day.to_string()
}

/// Records a small workforce relative to `today` through the Board service:
/// active, lapsed, renewed on time and late, suspended, on probation, and one
/// family peer credential.
async fn record_workforce(board: &NodeClient, today: NaiveDate) -> Vec<Recorded> {
    let d = |days: i64| today + Duration::days(days);
    let recorded = vec![
        ("MS-W-1", "Ada Lovelace", d(-400), d(300), vec![]),
        ("MS-W-2", "Grace Hopper", d(-700), d(-200), vec![]),
        ("MS-W-3", "Alan Turing", d(-100), d(600), vec![]),
        ("MS-W-4", "Katherine Johnson", d(-500), d(-30), vec![(d(-60), d(600))]),
        ("MS-W-5", "Edsger Dijkstra", d(-720), d(-10), vec![]),
        ("MS-W-6", "Mary Jackson", d(-20), d(700), vec![]),
        ("MS-W-7", "Dorothy Vaughan", d(-300), d(400), vec![]),
        ("MS-W-8", "John Nash", d(-600), d(-100), vec![(d(-50), d(600))]),
    ];
    let mut bodies: Vec<Body> = Vec::new();
    for (n, (number, name, issued, expires, renewals)) in recorded.iter().enumerate() {
        let peer = format!("P-{n}");
        bodies.push(enrol(&peer, name));
        let mut granted = issue(&peer, number, &text(*issued), &text(*expires));
        if let Body::CredentialIssued(grant) = &mut granted {
            if *number == "MS-W-6" {
                grant.credential_type = pb::CredentialType::FamilyPeer as i32;
            }
        }
        bodies.push(granted);
        for (on, until) in renewals {
            bodies.push(renew(number, &text(*on), &text(*until)));
        }
    }
    bodies.push(discipline("MS-W-3", pb::DisciplineKind::Suspension, &text(d(-10)), ""));
    bodies.push(discipline(
        "MS-W-7",
        pb::DisciplineKind::Probation,
        &text(d(-5)),
        &text(d(100)),
    ));
    for (n, body) in bodies.into_iter().enumerate() {
        board
            .record(format!("web-roster-{n}"), body.clone())
            .await
            .unwrap_or_else(|e| panic!("{body:?} was refused: {e}"));
    }
    recorded
        .into_iter()
        .map(|(number, name, issued, expires, renewals)| Recorded {
            number,
            name,
            issued,
            expires,
            renewals,
        })
        .collect()
}

fn roster_form(bytes: Vec<u8>) -> Form {
    let part = Part::bytes(bytes)
        .file_name("roster.csv")
        .mime_str("text/csv")
        .expect("a mime type");
    Form::new().part("roster", part)
}

/// What HTML escaping makes of `text` (maud escapes these).
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The rows of `table#roster-results`, in order.
fn result_rows(page: &str) -> Vec<&str> {
    let table = page
        .split("<table id=\"roster-results\">")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .expect("a results table");
    let body = table.split("<tbody>").nth(1).expect("a table body");
    body.split("<tr ").skip(1).collect()
}

/// The text of the report the download link carries (a percent-encoded `data:` URL).
fn download(page: &str) -> String {
    let link = page.split("id=\"roster-download\"").nth(1).expect("a download link");
    assert!(link.contains("download=\"roster-report.csv\""), "{link}");
    let href = link
        .split("href=\"")
        .nth(1)
        .and_then(|h| h.split('"').next())
        .expect("an href");
    let encoded = href
        .strip_prefix("data:text/csv;charset=utf-8,")
        .expect("a CSV data URL");
    let mut bytes = Vec::new();
    let mut rest = encoded.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'%' {
            let hex = std::str::from_utf8(&tail[..2]).expect("hex");
            bytes.push(u8::from_str_radix(hex, 16).expect("a hex byte"));
            rest = &tail[2..];
        } else {
            bytes.push(first);
            rest = tail;
        }
    }
    String::from_utf8(bytes).expect("UTF-8")
}

fn item(number: &str, name: &str, date: &str) -> pb::RosterItem {
    pb::RosterItem {
        credential_number: number.into(),
        legal_name: name.into(),
        dates_of_service: if date.is_empty() { vec![] } else { vec![date.into()] },
    }
}

#[tokio::test]
async fn an_uploaded_roster_is_answered_as_check_roster_and_reported_as_the_cli_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path()).await;
    let web = node.web_endpoint().expect("an HTTP side");
    let board = NodeClient::connect(&node.endpoint(), Some(ADMIN.into()))
        .await
        .expect("connect");
    let today = node.ledger().today();
    record_workforce(&board, today).await;
    let employer = NodeClient::connect(&node.endpoint(), None).await.expect("connect");
    let http = reqwest::Client::new();

    let form_page = http.get(format!("{web}/roster")).send().await.expect("GET /roster");
    assert_eq!(form_page.status(), StatusCode::OK);
    let form_page = form_page.text().await.expect("a page");
    for part in [
        "id=\"roster-form\"",
        "id=\"roster-file\"",
        "for=\"roster-file\"",
        "id=\"roster-submit\"",
        "id=\"roster-progress\"",
        "XMLHttpRequest",
    ] {
        assert!(form_page.contains(part), "{part} missing from the form page");
    }

    let past = text(today - Duration::days(300));
    let lapsed_then = text(today - Duration::days(70));
    let lines = [
        ("MS-W-1", "Ada Lovelace", ""),
        ("MS-W-2", "", past.as_str()),
        ("MS-W-2", "", ""),
        ("MS-W-3", "alan turing", ""),
        ("MS-W-4", "", ""),
        ("MS-W-5", "", ""),
        ("MS-W-6", "Mary Jackson", ""),
        ("MS-W-7", "", ""),
        ("MS-W-8", "", lapsed_then.as_str()),
        ("MS-NOPE", "", ""),
        ("MS-W-1", "Somebody Else", ""),
        ("MS-W-1", "", "2025-02-30"),
        ("", "Nobody", ""),
    ];
    let mut csv = String::from("credential_number,legal_name,date_of_service\n");
    for (number, name, date) in lines {
        csv.push_str(&format!("{number},{name},{date}\n"));
    }
    let items: Vec<pb::RosterItem> = lines.iter().map(|(n, m, d)| item(n, m, d)).collect();
    let expected = employer.check_roster(items).await.expect("CheckRoster");
    assert_eq!(expected.results.len(), lines.len());
    let statuses: BTreeSet<i32> = expected
        .results
        .iter()
        .filter_map(|r| r.check.as_ref().map(|c| c.status))
        .collect();
    assert!(statuses.len() >= 4, "the roster covers several statuses: {statuses:?}");

    let answer = http
        .post(format!("{web}/roster"))
        .multipart(roster_form(csv.clone().into_bytes()))
        .send()
        .await
        .expect("POST /roster");
    assert_eq!(answer.status(), StatusCode::OK);
    let page = answer.text().await.expect("a page");
    assert!(page.contains("id=\"roster-summary\""), "a summary");
    let rows = result_rows(&page);
    assert_eq!(rows.len(), expected.results.len(), "one row per line and date");
    for (row, result) in rows.iter().zip(&expected.results) {
        assert!(row.contains(&format!("<td>{}</td>", result.position + 1)), "{row}");
        match &result.check {
            Some(check) => {
                let word = report::status_code_name(check.status);
                assert!(row.starts_with(&format!("data-status=\"{word}\"")), "{row}");
                for cell in [
                    check.credential_number.as_str(),
                    check.as_of.as_str(),
                    check.legal_name.as_str(),
                    check.expires_on.as_str(),
                    peerreg::service::web::page::status_words(check.status).0,
                ] {
                    assert!(row.contains(&escaped(cell)), "{cell} missing from {row}");
                }
                for action in check.discipline.iter().filter(|a| a.ended_on.is_empty()) {
                    assert!(
                        row.contains(&escaped(&peerreg::service::web::page::discipline_words(action))),
                        "{row}"
                    );
                }
            }
            None => {
                assert!(row.starts_with("data-status=\"error\""), "{row}");
                assert!(
                    row.contains(&escaped(&result.error)),
                    "{} missing from {row}",
                    result.error
                );
            }
        }
    }
    let summary = page.split("id=\"roster-summary\"").nth(1).expect("a summary");
    let summary = summary.split("</div>").next().expect("its end");
    let errors = expected.results.iter().filter(|r| r.check.is_none()).count();
    assert_eq!(errors, 4, "unknown number, wrong name, bad date, empty number");
    assert!(
        summary.contains("Not checked (no such credential with that holder): 2"),
        "{summary}"
    );
    assert!(summary.contains("Not checked (a malformed line): 2"), "{summary}");

    let cli_report = report::roster_csv(&expected.results).expect("the CLI's report");
    assert_eq!(download(&page), cli_report, "the download is the CLI's CSV report");
    let api_csv = http
        .post(format!("{web}/api/roster.csv"))
        .body(csv.clone())
        .send()
        .await
        .expect("POST /api/roster.csv");
    assert_eq!(api_csv.status(), StatusCode::OK);
    assert_eq!(api_csv.text().await.expect("CSV"), cli_report);
    let api_json: serde_json::Value = http
        .post(format!("{web}/api/roster"))
        .multipart(roster_form(csv.clone().into_bytes()))
        .send()
        .await
        .expect("POST /api/roster")
        .json()
        .await
        .expect("JSON");
    assert_eq!(api_json["log_size"], expected.log_size);
    let json_rows = api_json["results"].as_array().expect("results");
    let expected_rows: Vec<serde_json::Value> = expected.results.iter().map(report::roster_result_json).collect();
    assert_eq!(json_rows, &expected_rows);

    // A 100-line roster, for the page weight in the closing note.
    let hundred: String = (0..100).map(|n| format!("MS-W-{}\n", n % 8 + 1)).collect();
    let weight = http
        .post(format!("{web}/roster"))
        .multipart(roster_form(hundred.into_bytes()))
        .send()
        .await
        .expect("POST /roster")
        .bytes()
        .await
        .expect("a page");
    eprintln!(
        "page bytes: /roster {}, 100-line answer {}",
        form_page.len(),
        weight.len()
    );

    node.stop().await.expect("stops");
}

#[tokio::test]
async fn a_roster_refused_whole_gets_an_error_page_and_the_node_still_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path()).await;
    let web = node.web_endpoint().expect("an HTTP side");
    let board = NodeClient::connect(&node.endpoint(), Some(ADMIN.into()))
        .await
        .expect("connect");
    record_workforce(&board, node.ledger().today()).await;
    let size = node.ledger().registry().size;
    let http = reqwest::Client::new();

    let too_long: String = "MS-W-1\n".repeat(peerreg::limits::ROSTER_ITEMS_MAX + 1);
    let refused = http
        .post(format!("{web}/roster"))
        .multipart(roster_form(too_long.clone().into_bytes()))
        .send()
        .await
        .expect("POST /roster");
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let page = refused.text().await.expect("a page");
    assert!(
        page.contains("id=\"error\"") && page.contains("split the roster"),
        "{page}"
    );
    assert!(page.contains("id=\"roster-form\""), "the form is offered again");
    let refused: serde_json::Value = http
        .post(format!("{web}/api/roster"))
        .body(too_long)
        .send()
        .await
        .expect("POST /api/roster")
        .json()
        .await
        .expect("JSON");
    assert_eq!(refused["error"]["code"], "RESOURCE_EXHAUSTED");

    let latin1 = b"credential_number,legal_name\nMS-W-1,Jos\xe9 Garc\xeda\n".to_vec();
    let refused = http
        .post(format!("{web}/roster"))
        .multipart(roster_form(latin1))
        .send()
        .await
        .expect("POST /roster");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.expect("a page");
    assert!(page.contains("id=\"error\"") && page.contains("not UTF-8"), "{page}");

    for (what, form) in [
        ("no file", Form::new().text("other", "x")),
        ("an empty file", roster_form(Vec::new())),
        (
            "only a header",
            roster_form(b"credential_number,legal_name,date_of_service\n".to_vec()),
        ),
    ] {
        let refused = http
            .post(format!("{web}/roster"))
            .multipart(form)
            .send()
            .await
            .expect("POST /roster");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{what}");
        assert!(refused.text().await.expect("a page").contains("id=\"error\""), "{what}");
    }
    let oversized_field = format!("{},,\n", "7".repeat(65));
    let refused = http
        .post(format!("{web}/api/roster"))
        .body(oversized_field)
        .send()
        .await
        .expect("POST /api/roster");
    assert_eq!(
        refused.status(),
        StatusCode::BAD_REQUEST,
        "a field past its bound refuses the file"
    );

    let again = http.get(format!("{web}/roster")).send().await.expect("GET /roster");
    assert_eq!(again.status(), StatusCode::OK);
    let employer = NodeClient::connect(&node.endpoint(), None).await.expect("connect");
    let check = employer
        .check(pb::CheckCredentialRequest {
            credential_number: "MS-W-1".into(),
            legal_name: String::new(),
            as_of: String::new(),
        })
        .await
        .expect("the node still answers");
    assert_eq!(check.status, pb::CredentialStatus::Active as i32);
    assert_eq!(node.ledger().registry().size, size, "refused uploads change nothing");
    node.stop().await.expect("stops");
}

/// The model of `projection::monthly`'s definition, day by day: the month's
/// (issued, renewed, lapsed) for each of the 24 months ending with today's.
fn model_months(recorded: &[Recorded], today: NaiveDate) -> Vec<(String, u64, u64, u64)> {
    let first_of = |day: NaiveDate| day.with_day(1).expect("a first day");
    let last = first_of(today);
    let first = last.checked_sub_months(chrono::Months::new(23)).expect("a month");
    let month_of = |day: NaiveDate| day.format("%Y-%m").to_string();
    let mut months: Vec<(String, u64, u64, u64)> = (0..24)
        .map(|n| {
            (
                month_of(first.checked_add_months(chrono::Months::new(n)).expect("a month")),
                0,
                0,
                0,
            )
        })
        .collect();
    let mut count = |day: NaiveDate, which: usize| {
        if day < first || day > today {
            return;
        }
        let slot = months
            .iter_mut()
            .find(|m| m.0 == month_of(day))
            .expect("a month in the window");
        match which {
            0 => slot.1 += 1,
            1 => slot.2 += 1,
            _ => slot.3 += 1,
        }
    };
    for credential in recorded {
        count(credential.issued, 0);
        for (on, _) in &credential.renewals {
            count(*on, 1);
        }
        let expiry_on = |day: NaiveDate| {
            let renewed = credential
                .renewals
                .iter()
                .filter(|(on, _)| *on <= day)
                .map(|(_, until)| *until);
            renewed.fold(credential.expires, NaiveDate::max)
        };
        let mut day = credential.issued;
        while day <= today {
            let yesterday = day - Duration::days(1);
            if day > expiry_on(day) && yesterday <= expiry_on(yesterday) {
                count(day, 2);
            }
            day += Duration::days(1);
        }
    }
    months
}

#[tokio::test]
async fn the_workforce_counts_are_get_statistics_and_the_monthly_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path()).await;
    let web = node.web_endpoint().expect("an HTTP side");
    let board = NodeClient::connect(&node.endpoint(), Some(ADMIN.into()))
        .await
        .expect("connect");
    let today = node.ledger().today();
    let recorded = record_workforce(&board, today).await;
    assert!(recorded
        .iter()
        .any(|r| r.name == "Ada Lovelace" && r.number == "MS-W-1"));
    let http = reqwest::Client::new();

    let statistics = board.statistics(String::new()).await.expect("GetStatistics");
    let json: serde_json::Value = http
        .get(format!("{web}/api/workforce"))
        .send()
        .await
        .expect("GET /api/workforce")
        .json()
        .await
        .expect("JSON");
    assert_eq!(json["log_size"], statistics.log_size);
    assert_eq!(json["peers"], statistics.peers);
    assert_eq!(json["as_of"], statistics.as_of);
    let from_grpc: BTreeSet<(String, String, u64)> = statistics
        .rows
        .iter()
        .map(|r| {
            (
                report::type_name(r.credential_type),
                report::status_code_name(r.status),
                r.count,
            )
        })
        .collect();
    let from_web: BTreeSet<(String, String, u64)> = json["by_type_and_status"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["credential_type"].as_str().expect("a type").to_string(),
                r["status"].as_str().expect("a status").to_string(),
                r["count"].as_u64().expect("a count"),
            )
        })
        .collect();
    assert_eq!(from_web, from_grpc);
    assert!(from_grpc.len() >= 5, "several types and statuses: {from_grpc:?}");

    let model = model_months(&recorded, today);
    let (issued, renewed, lapsed) = model.iter().fold((0, 0, 0), |t, m| (t.0 + m.1, t.1 + m.2, t.2 + m.3));
    assert!(
        issued > 0 && renewed > 0 && lapsed > 0,
        "the model has every kind of change"
    );
    let from_web: Vec<(String, u64, u64, u64)> = json["monthly"]
        .as_array()
        .expect("months")
        .iter()
        .map(|m| {
            (
                m["month"].as_str().expect("a month").to_string(),
                m["issued"].as_u64().expect("issued"),
                m["renewed"].as_u64().expect("renewed"),
                m["lapsed"].as_u64().expect("lapsed"),
            )
        })
        .collect();
    assert_eq!(from_web, model);

    let page = http
        .get(format!("{web}/workforce"))
        .send()
        .await
        .expect("GET /workforce");
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("a page");
    for part in [
        "<svg id=\"workforce-chart\" role=\"img\"",
        "<title id=\"workforce-chart-title\">",
        "<desc id=\"workforce-chart-desc\">",
        "<table id=\"workforce-table\">",
        "<table id=\"workforce-monthly\">",
    ] {
        assert!(page.contains(part), "{part} missing from the workforce page");
    }
    let monthly = page
        .split("<table id=\"workforce-monthly\">")
        .nth(1)
        .expect("the table");
    for (month, issued, renewed, lapsed) in &model {
        let row = format!("<th scope=\"row\">{month}</th><td>{issued}</td><td>{renewed}</td><td>{lapsed}</td>");
        assert!(monthly.contains(&row), "{row} missing");
    }

    // A new record changes the answer (the cache is keyed by the log's size).
    board
        .record("web-roster-late".into(), enrol("P-late", "Late Comer"))
        .await
        .expect("recorded");
    let json: serde_json::Value = http
        .get(format!("{web}/api/workforce"))
        .send()
        .await
        .expect("GET /api/workforce")
        .json()
        .await
        .expect("JSON");
    assert_eq!(json["peers"], statistics.peers + 1);
    eprintln!("page bytes: /workforce {}", page.len());
    node.stop().await.expect("stops");
}
