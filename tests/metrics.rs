//! Prometheus metrics on a real node's HTTP side (`GET /metrics`), and the
//! sample Grafana dashboard in `examples/grafana/` checked against them.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

use chrono::Days;
use common::board::{enrol, issue};
use peerreg::clock::{Clock, SystemClock};
use peerreg::config::NodeConfig;
use peerreg::demo::{self, Demo};
use peerreg::error::Error;
use peerreg::node::{self, Node};
use peerreg::pb;
use peerreg::service::client::NodeClient;
use tokio::net::TcpListener;

const DASHBOARD: &str = "examples/grafana/peerreg-dashboard.json";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// MS's node with its HTTP side on a free port, issuing without prerequisites.
async fn start_node(dir: &Path) -> Node {
    let mut config = NodeConfig::for_state("MS").expect("MS");
    config.http = Some("127.0.0.1:0".parse().expect("an address"));
    config.data_dir = dir.to_path_buf();
    config.key_file = dir.join("log.key");
    config.profile = common::permissive_profile(false).into();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    node::start(config, listener).await.expect("the node starts")
}

/// The node's `/metrics` text (checking the content type on the way).
async fn scrape(web: &str) -> String {
    let response = reqwest::get(format!("{web}/metrics")).await.expect("GET /metrics");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    assert_eq!(content_type.as_deref(), Some(OPENMETRICS));
    let text = response.text().await.expect("a body");
    assert!(text.ends_with("# EOF\n"), "an OpenMetrics exposition ends with # EOF");
    text
}

/// Every sample of an exposition: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// The value of one series (`None` when it is not exposed).
fn value(text: &str, series: &str) -> Option<f64> {
    samples(text).get(series).copied()
}

/// Series names a family exposes, from its `# TYPE` line: a counter's
/// `_total`, a histogram's `_bucket`/`_sum`/`_count`, a gauge's own name.
fn exposed_names(text: &str) -> HashSet<String> {
    let mut names = HashSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let Some((family, kind)) = rest.split_once(' ') else {
            continue;
        };
        match kind {
            "counter" => {
                names.insert(format!("{family}_total"));
            }
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{family}{suffix}"));
                }
            }
            _ => {
                names.insert(family.to_string());
            }
        }
    }
    names
}

fn date_in(days: i64) -> String {
    let today = SystemClock.today();
    let moved = if days >= 0 {
        today.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        today.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    moved.expect("a date in range").to_string()
}

/// Polls `/metrics` until `series` has `expected` (streams open and close
/// asynchronously); fails after a generous bound.
async fn wait_for(web: &str, series: &str, expected: f64) -> String {
    for _ in 0..200 {
        let text = scrape(web).await;
        if value(&text, series) == Some(expected) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{series} never became {expected}:\n{}", scrape(web).await);
}

#[tokio::test]
async fn a_node_exposes_its_appends_commits_calls_and_streams() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start_node(dir.path()).await;
    let web = node.web_endpoint().expect("the node serves its web side");

    let before = scrape(&web).await;
    assert_eq!(value(&before, "peerreg_appends_total"), Some(0.0));
    assert_eq!(value(&before, "peerreg_log_size"), Some(0.0));
    assert_eq!(value(&before, "peerreg_signing_halted"), Some(0.0));

    let appended = common::record(
        node.ledger(),
        vec![
            enrol("MS-P-1", "Ada Lovelace"),
            issue("MS-P-1", "MS-1", &date_in(-30), &date_in(300)),
            enrol("MS-P-2", "Grace Hopper"),
        ],
    )
    .await;
    let employer = NodeClient::connect(&node.endpoint(), None).await.expect("connect");
    let ask = |number: &str| pb::CheckCredentialRequest {
        credential_number: number.into(),
        ..Default::default()
    };
    employer.check(ask("MS-1")).await.expect("MS-1 is found");
    let unknown = employer.check(ask("MS-404")).await;
    assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");

    let watcher = employer.clone();
    let watching = tokio::spawn(async move { watcher.watch(vec!["MS-1".into()], 0, |_| {}).await });
    let text = wait_for(&web, r#"peerreg_open_streams{kind="credential_watch"}"#, 1.0).await;

    let size = node.ledger().published().checkpoint.size;
    assert_eq!(size, appended.len() as u64);
    assert_eq!(value(&text, "peerreg_appends_total"), Some(appended.len() as f64));
    assert_eq!(value(&text, "peerreg_log_size"), Some(size as f64));
    let commits = value(&text, "peerreg_commits_total").expect("commits");
    assert!((1.0..=appended.len() as f64).contains(&commits), "{commits} commits");
    assert_eq!(value(&text, "peerreg_commit_batch_entries_count"), Some(commits));
    assert_eq!(
        value(&text, "peerreg_commit_batch_entries_sum"),
        Some(appended.len() as f64)
    );
    assert_eq!(value(&text, "peerreg_commit_latency_seconds_count"), Some(commits));
    assert_eq!(
        value(&text, r#"peerreg_durable_flush_latency_seconds_count{store="log"}"#),
        Some(commits)
    );
    let check = |code: &str| {
        format!(r#"peerreg_rpc_requests_total{{service="peerreg.v1.Registry",method="CheckCredential",code="{code}"}}"#)
    };
    assert_eq!(value(&text, &check("OK")), Some(1.0), "{text}");
    assert_eq!(value(&text, &check("NOT_FOUND")), Some(1.0));
    assert_eq!(
        value(
            &text,
            r#"peerreg_rpc_latency_seconds_count{service="peerreg.v1.Registry",method="CheckCredential"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&text, r#"peerreg_web_requests_total{route="/metrics",status="200"}"#).map(|n| n >= 1.0),
        Some(true)
    );

    watching.abort();
    let _ = watching.await;
    wait_for(&web, r#"peerreg_open_streams{kind="credential_watch"}"#, 0.0).await;
    node.stop().await.expect("stops");
}

#[tokio::test]
async fn a_path_the_node_does_not_serve_is_counted_without_its_own_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start_node(dir.path()).await;
    let web = node.web_endpoint().expect("web side");
    let missing = reqwest::get(format!("{web}/no/such/page")).await.expect("GET");
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
    let text = scrape(&web).await;
    assert_eq!(
        value(&text, r#"peerreg_web_requests_total{route="unmatched",status="404"}"#),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("/no/such/page"), "a raw path never becomes a label");
    node.stop().await.expect("stops");
}

#[tokio::test]
async fn a_follower_exposes_its_partners_verified_size_and_lag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = Demo::start(dir.path()).await.expect("three nodes start");
    demo::certify_in_ms(&demo).await.expect("MS certifies");
    let ms_size = demo.node("MS").expect("MS").ledger.published().checkpoint.size;
    demo::wait_followed(&demo, "TN", "MS", ms_size)
        .await
        .expect("TN follows MS");
    let tn_web = demo.node("TN").expect("TN").web.clone().expect("TN's web side");
    let verified = r#"peerreg_follower_verified_size{partner="MS",role="trusted"}"#;
    let text = wait_for(&tn_web, verified, ms_size as f64).await;
    assert_eq!(
        value(&text, r#"peerreg_follower_entries_behind{partner="MS",role="trusted"}"#),
        Some(0.0)
    );
    assert_eq!(
        value(
            &text,
            r#"peerreg_follower_state{partner="MS",role="trusted",state="following"}"#
        ),
        Some(1.0)
    );
    for state in ["suspect", "equivocation", "catching_up", "not_yet_followed"] {
        let series = format!(r#"peerreg_follower_state{{partner="MS",role="trusted",state="{state}"}}"#);
        assert_eq!(value(&text, &series), Some(0.0), "{series}");
    }
    assert!(
        value(&text, r#"peerreg_follower_verified_size{partner="VA",role="trusted"}"#).is_some(),
        "every trusted state has its gauges"
    );
    // MS's own log is not followed by MS.
    let ms_web = demo.node("MS").expect("MS").web.clone().expect("MS's web side");
    assert!(!scrape(&ms_web).await.contains(r#"partner="MS""#));
    demo.stop().await;
}

/// Panel types the dashboard may use.
const PANEL_TYPES: &[&str] = &["timeseries", "stat", "gauge", "bargauge", "table", "text", "row"];

/// Every `peerreg_*` name in a PromQL expression.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("peerreg_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

/// The dashboard's structure as Grafana's schema requires it.
fn check_dashboard(dashboard: &serde_json::Value) -> Vec<String> {
    for key in ["title", "panels", "schemaVersion", "uid"] {
        assert!(dashboard.get(key).is_some(), "the dashboard has no {key}");
    }
    assert!(dashboard["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(dashboard["uid"]
        .as_str()
        .is_some_and(|u| !u.is_empty() && u.len() <= 40));
    let schema = dashboard["schemaVersion"].as_u64().expect("schemaVersion is a number");
    assert!((36..=41).contains(&schema), "schemaVersion {schema}");
    let inputs = dashboard["__inputs"].as_array().expect("__inputs");
    assert!(inputs
        .iter()
        .any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus"));
    let variables = dashboard["templating"]["list"].as_array().expect("templating.list");
    assert!(
        variables.iter().any(|v| v["name"] == "instance"),
        "an instance variable"
    );

    let panels = dashboard["panels"].as_array().expect("panels is a list");
    assert!(!panels.is_empty());
    let mut ids = HashSet::new();
    let mut exprs = Vec::new();
    for panel in panels {
        let id = panel["id"].as_u64().expect("a panel id");
        assert!(ids.insert(id), "panel id {id} is used twice");
        let kind = panel["type"].as_str().expect("a panel type");
        assert!(PANEL_TYPES.contains(&kind), "panel {id}: type {kind}");
        assert!(
            panel["title"].as_str().is_some_and(|t| !t.is_empty()),
            "panel {id}: a title"
        );
        let grid = &panel["gridPos"];
        let [x, y, w, h] =
            ["x", "y", "w", "h"].map(|k| grid[k].as_u64().unwrap_or_else(|| panic!("panel {id}: gridPos.{k}")));
        assert!(
            w >= 1 && h >= 1 && x + w <= 24,
            "panel {id}: gridPos {x},{y} {w}x{h} outside 24 columns"
        );
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "panel {id}: datasource");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "panel {id}: no targets");
        for target in targets {
            let expr = target["expr"].as_str().expect("a target expr");
            assert!(!expr.trim().is_empty(), "panel {id}: an empty expr");
            assert!(target["refId"].as_str().is_some(), "panel {id}: a refId");
            exprs.push(expr.to_string());
        }
    }
    for variable in variables {
        if let Some(query) = variable["definition"].as_str() {
            exprs.push(query.to_string());
        }
    }
    exprs
}

#[test]
fn the_dashboard_checker_catches_a_broken_panel() {
    let text = std::fs::read_to_string(DASHBOARD).expect("the dashboard file");
    let good: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    check_dashboard(&good);
    let breakages: [(&str, fn(&mut serde_json::Value)); 4] = [
        ("duplicate id", |d| d["panels"][1]["id"] = d["panels"][0]["id"].clone()),
        ("too wide", |d| d["panels"][0]["gridPos"]["w"] = 30.into()),
        ("unknown type", |d| d["panels"][0]["type"] = "piechart-3d".into()),
        ("no expr", |d| {
            d["panels"][0]["targets"][0]["expr"] = serde_json::Value::Null
        }),
    ];
    for (what, breakage) in breakages {
        let mut broken = good.clone();
        breakage(&mut broken);
        let caught = std::panic::catch_unwind(|| check_dashboard(&broken));
        assert!(caught.is_err(), "a dashboard with {what} passed the check");
    }
}

#[tokio::test]
async fn the_dashboard_is_well_formed_and_queries_only_metrics_a_node_exposes() {
    let text = std::fs::read_to_string(DASHBOARD).expect("the dashboard file");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let exprs = check_dashboard(&dashboard);

    // A node with partners, traffic and commits, so every family has members.
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = Demo::start(dir.path()).await.expect("three nodes start");
    demo::certify_in_ms(&demo).await.expect("MS certifies");
    let ms_web = demo.node("MS").expect("MS").web.clone().expect("MS's web side");
    let _ = scrape(&ms_web).await;
    let exposed = exposed_names(&scrape(&ms_web).await);
    demo.stop().await;

    let mut used = BTreeSet::new();
    for expr in &exprs {
        used.extend(metric_names(expr));
    }
    assert!(used.len() >= 15, "the dashboard shows the node's families: {used:?}");
    let missing: Vec<_> = used.iter().filter(|name| !exposed.contains(*name)).collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries series a node does not expose: {missing:?}"
    );
}
