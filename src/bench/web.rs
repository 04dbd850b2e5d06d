//! Scenario: the web page's single check at `bulk_events` credentials
//! (100,000 at full scale, the register scenario's population). The JSON
//! answer (`GET /api/verify`) and the HTML page (`GET /?number=`) are timed
//! over HTTP/1.1 keep-alive, one call at a time, beside the gRPC
//! `CheckCredential` of the same credentials in the same run; then the page
//! and the RPC again under `check_clients` concurrent clients.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, Request, StatusCode};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::load::{closed_loop, Figures};
use super::register::{legal_name, number, seed, timed};
use super::{open_ledger, serve_stoppable, Report, Row, Scale, Target, TempDir};
use crate::error::{Error, Result};
use crate::pb;
use crate::service::client::NodeClient;

/// The bound on a page's p99 for a single check.
const PAGE_P99_MS: f64 = 50.0;
/// Bytes of an answer the client reads (a page is a few kB).
const ANSWER_BYTES_MAX: usize = 1024 * 1024;

/// One HTTP/1.1 keep-alive connection (hyper's client connection), one
/// request at a time.
pub(super) struct Http {
    sender: tokio::sync::Mutex<SendRequest<Body>>,
    host: String,
}

impl Http {
    pub(super) async fn connect(base: &str) -> Result<Arc<Http>> {
        let host = base.trim_start_matches("http://").to_string();
        let unavailable = |e: &dyn std::fmt::Display| Error::Unavailable(format!("the web side at {host}: {e}"));
        let stream = tokio::net::TcpStream::connect(&host)
            .await
            .map_err(|e| unavailable(&e))?;
        stream.set_nodelay(true).map_err(|e| unavailable(&e))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unavailable(&e))?;
        tokio::spawn(connection);
        Ok(Arc::new(Http {
            sender: tokio::sync::Mutex::new(sender),
            host,
        }))
    }

    /// `GET path`; the body, or an error unless the answer is 200.
    pub(super) async fn get(&self, path: String) -> Result<Bytes> {
        let failed = |e: &dyn std::fmt::Display| Error::Unavailable(format!("GET {path}: {e}"));
        let mut sender = self.sender.lock().await;
        sender.ready().await.map_err(|e| failed(&e))?;
        let request = Request::get(&path)
            .header(header::HOST, &self.host)
            .body(Body::empty())
            .map_err(|e| failed(&e))?;
        let response = sender.send_request(request).await.map_err(|e| failed(&e))?;
        let status = response.status();
        let body = axum::body::to_bytes(Body::new(response.into_body()), ANSWER_BYTES_MAX)
            .await
            .map_err(|e| failed(&e))?;
        if status != StatusCode::OK {
            return Err(failed(&format!("answered {status}")));
        }
        Ok(body)
    }
}

/// The query of the check for credential `i` (names are letters and one space).
fn query(i: usize) -> String {
    format!("number={}&name={}", number(i), legal_name(i).replace(' ', "+"))
}

/// A well-spread credential for call `i` of `task` among `count`.
fn pick(task: usize, i: usize, count: usize) -> usize {
    (task.wrapping_mul(1_000_003) + i.wrapping_mul(7919)) % count.max(1)
}

fn answered(body: &Bytes, expected: &str, i: usize) -> Result<()> {
    if body.windows(expected.len()).any(|w| w == expected.as_bytes()) {
        Ok(())
    } else {
        Err(Error::Internal(format!(
            "the answer for {} lacks {expected:?}",
            number(i)
        )))
    }
}

async fn grpc_check(client: &NodeClient, i: usize) -> Result<()> {
    let answer = client
        .check(pb::CheckCredentialRequest {
            credential_number: number(i),
            legal_name: legal_name(i),
            as_of: String::new(),
        })
        .await?;
    if answer.credential_number != number(i) {
        return Err(Error::Internal(format!(
            "asked for {}, answered {}",
            number(i),
            answer.credential_number
        )));
    }
    Ok(())
}

async fn json_check(http: &Http, i: usize) -> Result<()> {
    let body = http.get(format!("/api/verify?{}", query(i))).await?;
    answered(&body, &format!("\"credential_number\":\"{}\"", number(i)), i)
}

async fn page_check(http: &Http, i: usize) -> Result<()> {
    let body = http.get(format!("/?{}", query(i))).await?;
    answered(&body, "data-status=", i)
}

fn latency_row(what: &str, count: usize, http: Figures, grpc: Figures, full: bool) -> Row {
    Row {
        scenario: format!("web: {what} at {count} credentials"),
        figure: http.p99_ms,
        unit: "ms p99",
        baseline_name: "ms p99 gRPC CheckCredential".into(),
        baseline: grpc.p99_ms,
        detail: format!(
            "p50 {:.2} ms (gRPC {:.2} ms, ratio {:.2}); {} calls",
            http.p50_ms,
            grpc.p50_ms,
            http.p50_ms / grpc.p50_ms.max(1e-9),
            http.calls
        ),
        targets: if full {
            vec![Target::AtMost(PAGE_P99_MS)]
        } else {
            Vec::new()
        },
    }
}

pub async fn run(scale: Scale, report: &mut Report) -> Result<()> {
    let full = scale.name == "full";
    let count = scale.bulk_events;
    let calls = if full { 2_000 } else { 20 };
    let dir = TempDir::new("web")?;
    let ledger = open_ledger(dir.path())?;
    let seeded = seed(&ledger, count).await?;
    let serving = serve_stoppable(&ledger).await?;
    let client = NodeClient::connect(&serving.endpoint, None).await?;
    let http = Http::connect(&serving.web_endpoint).await?;
    tracing::info!("seeded {count} credentials in {:.1} s", seeded.as_secs_f64());

    let pick_one = |i: usize| pick(0, i, count);
    let grpc = timed(calls, |i| grpc_check(&client, pick_one(i))).await?;
    let json = timed(calls, |i| json_check(&http, pick_one(i))).await?;
    let page = timed(calls, |i| page_check(&http, pick_one(i))).await?;
    report.add(latency_row(
        "a single check as JSON (GET /api/verify), one client",
        count,
        json,
        grpc,
        full,
    ));
    report.add(latency_row(
        "a single check as the page (GET /?number=), one client",
        count,
        page,
        grpc,
        full,
    ));

    let clients = scale.check_clients;
    let endpoint = serving.endpoint.clone();
    let grpc = closed_loop(
        clients,
        scale.seconds,
        |_| NodeClient::connect(&endpoint, None),
        move |client: &NodeClient, task, i| {
            let client = client.clone();
            async move { grpc_check(&client, pick(task, i, count)).await }
        },
    )
    .await?;
    let web_endpoint = serving.web_endpoint.clone();
    let page = closed_loop(
        clients,
        scale.seconds,
        |_| Http::connect(&web_endpoint),
        move |http: &Arc<Http>, task, i| {
            let http = http.clone();
            async move { page_check(&http, pick(task, i, count)).await }
        },
    )
    .await?;
    let mut row = latency_row(
        &format!("the page under {clients} concurrent clients"),
        count,
        page,
        grpc,
        full,
    );
    row.targets = Vec::new();
    row.detail = format!(
        "{}; {:.0} pages/s beside {:.0} gRPC checks/s (gRPC p50 {:.2} ms)",
        page.latency_text(),
        page.per_second,
        grpc.per_second,
        grpc.p50_ms
    );
    report.add(row);
    serving.stop().await;
    ledger.shutdown().await;
    Ok(())
}
