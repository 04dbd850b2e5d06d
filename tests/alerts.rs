//! When an origin credential is disciplined, the receiving board knows: two
//! real nodes on loopback (Mississippi the origin, Tennessee the receiving
//! state that granted by reciprocity), Tennessee's follower raising alerts
//! for its board, kept across a restart without duplicates.

mod common;

use std::path::Path;
use std::time::Duration;

use peerreg::auth::{hash_token, TokenEntry};
use peerreg::config::NodeConfig;
use peerreg::demo::{self, bodies, Demo, MS_CREDENTIAL, TN_CREDENTIAL, TN_PEER};
use peerreg::federation::trust::TrustList;
use peerreg::federation::FederationOptions;
use peerreg::node::Node;
use peerreg::pb;
use peerreg::service::client::NodeClient;
use tokio::net::TcpListener;

/// How long a wait for the follower may take before the test gives up
/// (a bound on waiting, not an assertion on speed).
const PATIENCE: Duration = Duration::from_secs(60);

/// Tokens of the restarted Tennessee node: every right, alerts in view only,
/// and a clerk without either alert right.
const ADMIN: &str = "alerts-admin-secret";
const VIEWER: &str = "alerts-viewer-secret";
const CLERK: &str = "alerts-clerk-secret";

fn open_only(all: bool) -> pb::ListAlertsRequest {
    pb::ListAlertsRequest {
        include_acknowledged: all,
        after_id: 0,
        limit: 0,
    }
}

/// Polls `board`'s open alerts until there are `count` of them.
async fn wait_open_alerts(board: &NodeClient, count: usize) -> pb::ListAlertsResponse {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let page = board.list_alerts(open_only(false)).await.expect("alerts listed");
        if page.alerts.len() >= count {
            return page;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {count} open alert(s) within {PATIENCE:?}: {page:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until `node`'s copy of `origin`'s log holds `size` entries.
async fn wait_followed(node: &NodeClient, origin: &str, size: u64) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let status = node.federation_status().await.expect("status");
        let verified = status
            .states
            .iter()
            .find(|s| s.state == origin)
            .map_or(0, |s| s.verified_size);
        if verified >= size {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{origin} not followed to {size}: {status:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The demo's MS and TN, through an approved evaluation and a grant by reciprocity.
async fn granted_by_reciprocity(demo: &Demo) {
    demo::certify_in_ms(demo).await.expect("certified in MS");
    let ms_board = demo.board("MS").await.expect("MS board");
    common::record_consent(&ms_board, demo::MS_PEER, "TN").await;
    demo::evaluate(demo, "TN", None).await.expect("evaluated");
    demo::close_gaps(demo).await.expect("gaps closed");
    let approved = demo::evaluate(demo, "TN", Some(TN_PEER)).await.expect("evaluated");
    assert_eq!(approved.outcome, pb::TransferOutcome::Approved as i32, "{approved:#?}");
    demo::grant_in_tn(demo, &approved).await.expect("granted in TN");
}

fn code<T: std::fmt::Debug>(answer: peerreg::error::Result<T>) -> &'static str {
    answer.expect_err("refused").code_name()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_in_mississippi_alerts_tennessees_board_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(dir.path()).await.expect("nodes start");
    granted_by_reciprocity(&demo).await;
    let tn_board = demo.board("TN").await.expect("TN board");
    let tn_public = demo.public("TN").await.expect("TN public");

    // Nothing to report while the origin credential is in good standing.
    let ms_size = demo.node("MS").expect("MS").ledger.published().checkpoint.size;
    demo::wait_followed(&demo, "TN", "MS", ms_size).await.expect("followed");
    assert!(tn_board
        .list_alerts(open_only(true))
        .await
        .expect("listed")
        .alerts
        .is_empty());

    // A watcher of TN's alerts.
    let (seen, mut watched) = tokio::sync::mpsc::unbounded_channel();
    let watcher = {
        let board = tn_board.clone();
        tokio::spawn(async move { board.watch_alerts(0, |alert| drop(seen.send(alert))).await })
    };

    // MS suspends; TN's board is alerted, its own credential untouched.
    let size = demo::suspend_in_ms(&demo).await.expect("suspended in MS");
    let page = wait_open_alerts(&tn_board, 1).await;
    assert_eq!(page.alerts.len(), 1, "{page:#?}");
    assert_eq!(page.open_alerts, 1);
    let alert = page.alerts[0].clone();
    assert_eq!(
        (
            alert.origin_state.as_str(),
            alert.origin_credential_number.as_str(),
            alert.credential_number.as_str()
        ),
        ("MS", MS_CREDENTIAL, TN_CREDENTIAL)
    );
    assert_eq!(alert.kind, pb::AlertKind::Discipline as i32);
    assert_eq!(alert.discipline_kind, pb::DisciplineKind::Suspension as i32);
    assert_eq!(alert.effective_on, demo::days_ago(0));
    assert_eq!(alert.ends_on, "", "an open-ended suspension");
    assert_eq!(alert.origin_index, size - 1, "the suspension's entry in MS's log");
    assert!(alert.raised_at_unix > 0 && alert.acknowledged_at_unix == 0);
    let status = tn_public.federation_status().await.expect("status");
    assert_eq!(status.open_alerts, 1);
    let streamed = tokio::time::timeout(PATIENCE, watched.recv())
        .await
        .expect("the watcher hears within bounds");
    assert_eq!(streamed, Some(alert.clone()));
    let check = demo::employer_check(&demo).await.expect("employer check");
    assert_eq!(
        check.status,
        pb::CredentialStatus::Active as i32,
        "TN's credential is the board's to change"
    );
    assert_eq!(
        (
            check.reciprocity_origin_state.as_str(),
            check.reciprocity_origin_credential_number.as_str()
        ),
        ("MS", MS_CREDENTIAL),
        "the employer sees where to look further"
    );

    // Bad input: clear codes, nothing acknowledged.
    assert_eq!(code(tn_board.acknowledge_alert(999, "x".into()).await), "NOT_FOUND");
    assert_eq!(
        code(tn_board.acknowledge_alert(alert.alert_id, " ".into()).await),
        "INVALID_ARGUMENT"
    );
    assert_eq!(code(tn_public.list_alerts(open_only(false)).await), "UNAUTHENTICATED");
    assert_eq!(
        code(tn_public.acknowledge_alert(alert.alert_id, "x".into()).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(code(tn_public.watch_alerts(0, |_| ()).await), "UNAUTHENTICATED");
    let page_too_long = pb::ListAlertsRequest {
        limit: 101,
        ..open_only(false)
    };
    assert_eq!(code(tn_board.list_alerts(page_too_long).await), "INVALID_ARGUMENT");
    assert_eq!(wait_open_alerts(&tn_board, 1).await.alerts.len(), 1, "still open");

    // Acknowledged with a note: off the open list, kept in the full list, never in the log.
    let tn_size = demo.node("TN").expect("TN").ledger.published().checkpoint.size;
    let note = "Discussed with MS; TN records its own suspension";
    let closed = tn_board
        .acknowledge_alert(alert.alert_id, note.into())
        .await
        .expect("acknowledged");
    assert_eq!(
        (closed.note.as_str(), closed.acknowledged_by.as_str()),
        (note, "demo-board")
    );
    assert!(tn_board
        .list_alerts(open_only(false))
        .await
        .expect("listed")
        .alerts
        .is_empty());
    let all = tn_board.list_alerts(open_only(true)).await.expect("listed");
    assert_eq!(all.alerts, std::slice::from_ref(&closed));
    assert_eq!(all.open_alerts, 0);
    assert_eq!(tn_public.federation_status().await.expect("status").open_alerts, 0);
    assert_eq!(
        code(tn_board.acknowledge_alert(alert.alert_id, "again".into()).await),
        "FAILED_PRECONDITION"
    );
    assert_eq!(
        demo.node("TN").expect("TN").ledger.published().checkpoint.size,
        tn_size,
        "alerts and notes stay off TN's log"
    );
    watcher.abort();
    let _ = watcher.await;
    demo.stop().await;

    // Restarted (MS on a new port), TN reads MS's log again: no duplicate,
    // and a later revocation raises exactly one new alert.
    let ms = restart(&dir.path().join("MS"), "MS").await;
    let mut trust = TrustList::load(&dir.path().join("TN")).expect("TN's trust list");
    for entry in trust.entries.iter_mut().filter(|e| e.state == "MS") {
        entry.endpoint = ms.endpoint();
    }
    trust.save(&dir.path().join("TN")).expect("saved");
    let tn = restart(&dir.path().join("TN"), "TN").await;
    let tn_endpoint = tn.endpoint();
    let board = |token: &str| NodeClient::connect(&tn_endpoint, Some(token.to_string()));
    let (admin, viewer, clerk) = (
        board(ADMIN).await.expect("admin"),
        board(VIEWER).await.expect("viewer"),
        board(CLERK).await.expect("clerk"),
    );
    let ms_client = NodeClient::connect(&ms.endpoint(), Some(ADMIN.into()))
        .await
        .expect("MS");
    let revoked = ms_client
        .record(
            "ms-revoke".into(),
            bodies::discipline(MS_CREDENTIAL, pb::DisciplineKind::Revocation, &demo::days_ago(0), ""),
        )
        .await
        .expect("revoked in MS");
    wait_followed(&admin, "MS", revoked.index + 1).await;
    let open = wait_open_alerts(&viewer, 1).await;
    assert_eq!(open.alerts.len(), 1, "{open:#?}");
    assert_eq!(open.alerts[0].discipline_kind, pb::DisciplineKind::Revocation as i32);
    assert_eq!(open.alerts[0].origin_index, revoked.index);
    let all = viewer.list_alerts(open_only(true)).await.expect("listed");
    assert_eq!(all.alerts.len(), 2, "the suspension is not raised again: {all:#?}");
    assert_eq!(all.alerts[0], closed, "kept across the restart, note and all");

    // Rights: a token without them is refused; a wrong secret is unknown.
    assert_eq!(code(clerk.list_alerts(open_only(false)).await), "PERMISSION_DENIED");
    assert_eq!(code(clerk.watch_alerts(0, |_| ()).await), "PERMISSION_DENIED");
    assert_eq!(
        code(viewer.acknowledge_alert(open.alerts[0].alert_id, "x".into()).await),
        "PERMISSION_DENIED"
    );
    let stranger = board("not-a-token").await.expect("connects");
    assert_eq!(code(stranger.list_alerts(open_only(false)).await), "UNAUTHENTICATED");
    assert_eq!(
        viewer.list_alerts(open_only(false)).await.expect("listed").alerts.len(),
        1,
        "still open"
    );

    // `peerreg alerts` prints them plainly.
    let printed = peerreg_alerts(&tn_endpoint, VIEWER, &["--all"]).await;
    assert!(
        printed.contains(&format!("MS {MS_CREDENTIAL} suspension effective")),
        "{printed}"
    );
    assert!(printed.contains(&format!("credential {TN_CREDENTIAL}")), "{printed}");
    assert!(printed.contains(&format!("by demo-board: {note}")), "{printed}");
    assert!(
        printed.contains("revocation") && printed.ends_with("1 open alert(s)\n"),
        "{printed}"
    );
    let id = open.alerts[0].alert_id.to_string();
    let acked = peerreg_alerts(&tn_endpoint, ADMIN, &["--ack", &id, "--note", "TN revokes too"]).await;
    assert!(
        acked.starts_with("acknowledged\n") && acked.contains("by admin: TN revokes too"),
        "{acked}"
    );
    assert_eq!(
        tn.federation()
            .expect("federation")
            .alerts()
            .expect("alerts")
            .open_count(),
        0
    );

    tn.stop().await.expect("TN stops");
    ms.stop().await.expect("MS stops");
}

/// Starts `state`'s node again on `dir` (its key, log, trust list and alerts)
/// with this test's tokens, on a new loopback port.
async fn restart(dir: &Path, state: &str) -> Node {
    let entry = |name: &str, secret: &str, ops: &[&str]| TokenEntry {
        name: name.into(),
        sha256: hash_token(secret),
        operations: ops.iter().map(|s| s.to_string()).collect(),
    };
    let mut config = NodeConfig::for_state(state).expect("a config");
    config.http = None;
    config.data_dir = dir.to_path_buf();
    config.key_file = dir.join("log.key");
    config.tokens = vec![
        entry("admin", ADMIN, &["*"]),
        entry("viewer", VIEWER, &["view_alerts"]),
        entry("clerk", CLERK, &["record_training"]),
    ];
    config.federation = FederationOptions {
        follow_interval: Duration::from_millis(100),
        backoff_max: Duration::from_millis(500),
        ..FederationOptions::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    peerreg::node::start(config, listener).await.expect("the node restarts")
}

/// Runs `peerreg alerts` against `endpoint` with `token`; its standard output
/// (it must succeed).
async fn peerreg_alerts(endpoint: &str, token: &str, args: &[&str]) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_peerreg"))
        .args(["alerts", "--endpoint", endpoint])
        .args(args)
        .env("PEERREG_TOKEN", token)
        .output()
        .await
        .expect("peerreg runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
