//! A node started as a library call (`peerreg::node`) holds its bounds against
//! a hostile client and refuses unsafe starts: connections past the cap wait
//! while the open ones are served, a request that never finishes arriving is
//! cut, a watch outlives the request timeout, clients accept every answer the
//! node may send, plaintext on a public address needs the operator's say-so,
//! a token never goes to a remote host in clear, and a log whose key is
//! missing is refused rather than given a new key.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{open_ledger, serve_options, TestNode};
use peerreg::config::NodeConfig;
use peerreg::error::Error;
use peerreg::limits::{self, ServerLimits};
use peerreg::pb;
use peerreg::service::client::{self, check_token_transport, LogClient, NodeClient};
use tokio::net::TcpListener;
use tokio::time::timeout;
use tokio_stream::StreamExt;

/// Long enough for any loopback call on a loaded 2-core machine.
const SERVED_WITHIN: Duration = Duration::from_secs(10);

async fn node_with(dir: &Path, limits: ServerLimits) -> TestNode {
    let ledger = open_ledger(dir).expect("the test log opens");
    let mut options = serve_options();
    options.limits = limits;
    TestNode::serve_with(ledger, dir, options).await
}

/// A connected client that has been answered once (so its connection is open).
async fn served_client(endpoint: &str) -> LogClient {
    let client = LogClient::connect(endpoint).await.expect("connect");
    timeout(SERVED_WITHIN, client.identity())
        .await
        .expect("answered in time")
        .expect("answered");
    client
}

/// Whether a fresh connection is answered within `wait`.
async fn answered_within(endpoint: &str, wait: Duration) -> bool {
    let attempt = async {
        let client = LogClient::connect(endpoint).await?;
        client.identity().await
    };
    matches!(timeout(wait, attempt).await, Ok(Ok(_)))
}

#[tokio::test]
async fn connections_past_the_cap_wait_while_the_open_ones_are_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = ServerLimits {
        connections_max: 2,
        ..ServerLimits::default()
    };
    let node = node_with(dir.path(), limits).await;
    let first = served_client(&node.endpoint).await;
    let second = served_client(&node.endpoint).await;
    assert!(
        !answered_within(&node.endpoint, Duration::from_millis(1500)).await,
        "a third connection is not served while two are open"
    );
    for client in [&first, &second] {
        let identity = timeout(SERVED_WITHIN, client.identity()).await.expect("in time");
        assert!(identity.is_ok(), "the open connections keep being served");
    }
    drop(first);
    assert!(
        answered_within(&node.endpoint, SERVED_WITHIN).await,
        "once a connection closes, a waiting one is served"
    );
    drop(second);
    node.stop().await;
}

#[tokio::test]
async fn a_request_that_never_finishes_arriving_is_cut_by_the_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = ServerLimits {
        request_timeout: Duration::from_millis(300),
        ..ServerLimits::default()
    };
    let node = node_with(dir.path(), limits).await;
    let channel = client::connect(&node.endpoint).await.expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    // Headers, then a request body that never comes: a slow-loris client.
    let never = tokio_stream::pending::<pb::GetLogInfoRequest>();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/peerreg.v1.TransparencyLog/GetLogInfo");
    let codec = tonic_prost::ProstCodec::<pb::GetLogInfoRequest, pb::LogInfo>::default();
    let started = Instant::now();
    let answer = timeout(
        SERVED_WITHIN,
        grpc.client_streaming(tonic::Request::new(never), path, codec),
    )
    .await
    .expect("the node cuts the request rather than waiting for it forever");
    let status = answer.expect_err("no answer to a request that never arrived");
    assert_eq!(status.code(), tonic::Code::Cancelled, "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    node.stop().await;
}

#[tokio::test]
async fn a_watch_outlives_the_request_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = ServerLimits {
        request_timeout: Duration::from_millis(200),
        ..ServerLimits::default()
    };
    let node = node_with(dir.path(), limits).await;
    let channel = client::connect(&node.endpoint).await.expect("connect");
    let mut log = peerreg::service::rpc::transparency_log_client::TransparencyLogClient::new(channel);
    let mut watch = log
        .watch_entries(pb::WatchEntriesRequest { from_index: 0 })
        .await
        .expect("the watch opens")
        .into_inner();
    tokio::time::sleep(Duration::from_millis(800)).await;
    common::append_enrolments(&node.ledger, "late", 1).await;
    let entry = timeout(SERVED_WITHIN, watch.next())
        .await
        .expect("the entry arrives")
        .expect("the stream is still open")
        .expect("not cut by the request timeout");
    assert_eq!(entry.index, 0);
    drop(watch);
    node.stop().await;
}

/// A Federation service whose status answer is `bytes` long.
struct HugeStatus {
    bytes: usize,
}

#[tonic::async_trait]
impl peerreg::service::rpc::federation_server::Federation for HugeStatus {
    async fn get_federation_status(
        &self,
        _: tonic::Request<pb::GetFederationStatusRequest>,
    ) -> Result<tonic::Response<pb::FederationStatus>, tonic::Status> {
        let state = pb::TrustedState {
            state: "MS".into(),
            last_error: "x".repeat(self.bytes),
            ..Default::default()
        };
        Ok(tonic::Response::new(pb::FederationStatus {
            states: vec![state],
            ..Default::default()
        }))
    }

    async fn get_origin_status(
        &self,
        _: tonic::Request<pb::GetOriginStatusRequest>,
    ) -> Result<tonic::Response<pb::OriginStatus>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in this test"))
    }

    async fn list_alerts(
        &self,
        _: tonic::Request<pb::ListAlertsRequest>,
    ) -> Result<tonic::Response<pb::ListAlertsResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in this test"))
    }

    type WatchAlertsStream =
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::Alert, tonic::Status>> + Send>>;

    async fn watch_alerts(
        &self,
        _: tonic::Request<pb::WatchAlertsRequest>,
    ) -> Result<tonic::Response<Self::WatchAlertsStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in this test"))
    }

    async fn acknowledge_alert(
        &self,
        _: tonic::Request<pb::AcknowledgeAlertRequest>,
    ) -> Result<tonic::Response<pb::Alert>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in this test"))
    }
}

#[tokio::test]
async fn clients_accept_every_answer_a_node_may_send() {
    use peerreg::service::rpc::federation_server::FederationServer;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    // Past tonic's default of 4 MiB, within what a node sends.
    let big = 6 * 1024 * 1024;
    assert!(big < limits::GRPC_RESPONSE_BYTES_MAX);
    let service =
        FederationServer::new(HugeStatus { bytes: big }).max_encoding_message_size(limits::GRPC_RESPONSE_BYTES_MAX);
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let client = NodeClient::connect(&endpoint, None).await.expect("connect");
    let status = client.federation_status().await.expect("a 6 MiB answer is accepted");
    assert_eq!(status.states.first().map(|s| s.last_error.len()), Some(big));
    server.abort();
}

#[tokio::test]
async fn a_token_never_goes_to_a_remote_host_over_plaintext() {
    // TEST-NET-1: nothing answers there; a refusal must come before any connection.
    let remote = "http://192.0.2.10:50051";
    let started = Instant::now();
    let refused = NodeClient::connect(remote, Some("a-board-token".into())).await;
    match refused {
        Err(Error::InvalidArgument(message)) => {
            assert!(
                message.contains("https://") && message.contains("loopback"),
                "{message}"
            );
            assert!(message.contains("192.0.2.10"), "{message}");
        }
        Err(other) => panic!("refused for the wrong reason: {other}"),
        Ok(_) => panic!("a token was about to be sent in clear to a remote host"),
    }
    assert!(started.elapsed() < Duration::from_secs(1), "refused without connecting");
    for allowed in [
        "http://127.0.0.1:50051",
        "http://localhost:50051",
        "http://[::1]:50051",
        "https://registry.ms.example:443",
    ] {
        assert!(check_token_transport(allowed).is_ok(), "{allowed}");
    }
    for refused in [
        "http://registry.ms.example:50051",
        "http://10.0.0.7:50051",
        "http://[2001:db8::1]:1",
    ] {
        assert!(check_token_transport(refused).is_err(), "{refused}");
    }
}

fn config_in(dir: &Path) -> NodeConfig {
    let mut config = NodeConfig::for_state("MS").expect("MS");
    config.http = Some("127.0.0.1:0".parse().expect("an address"));
    config.data_dir = dir.to_path_buf();
    config.key_file = dir.join("log.key");
    config
}

#[tokio::test]
async fn plaintext_on_a_public_address_is_refused_unless_the_operator_insists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("ms");
    let public = TcpListener::bind("0.0.0.0:0").await.expect("bind all interfaces");
    let refused = peerreg::node::start(config_in(&data_dir), public).await;
    match refused {
        Err(Error::FailedPrecondition(message)) => {
            assert!(message.contains("--insecure-plaintext"), "{message}")
        }
        Err(other) => panic!("refused for the wrong reason: {other}"),
        Ok(_) => panic!("served plaintext on 0.0.0.0 without being told to"),
    }
    assert!(!data_dir.exists(), "nothing was created for a refused start");
    let mut config = config_in(&data_dir);
    config.insecure_plaintext = true;
    let public = TcpListener::bind("0.0.0.0:0").await.expect("bind all interfaces");
    let node = peerreg::node::start(config, public)
        .await
        .expect("served when the operator insists");
    node.stop().await.expect("stops cleanly");
}

/// Every file under `dir` with its bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for item in std::fs::read_dir(&next).expect("read dir").flatten() {
            let path = item.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(dir).expect("inside").display().to_string();
                files.insert(name, std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

#[tokio::test]
async fn a_log_whose_key_is_missing_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("ms");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let node = peerreg::node::start(config_in(&data_dir), listener)
        .await
        .expect("a new node starts");
    common::append_enrolments(node.ledger(), "kept", 3).await;
    node.stop().await.expect("stops cleanly");
    let key = data_dir.join("log.key");
    std::fs::remove_file(&key).expect("lose the key");
    let before = contents(&data_dir);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let refused = peerreg::node::start(config_in(&data_dir), listener).await;
    match refused {
        Err(Error::FailedPrecondition(message)) => {
            assert!(
                message.contains(&key.display().to_string()),
                "names the file: {message}"
            )
        }
        Err(other) => panic!("refused for the wrong reason: {other}"),
        Ok(_) => panic!("the log was given a new key"),
    }
    assert!(!key.exists(), "no new key was written");
    assert!(before == contents(&data_dir), "the store is untouched");
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = ServerLimits {
        connections_per_address_max: 2,
        ..ServerLimits::default()
    };
    let node = node_with(dir.path(), limits).await;
    let first = served_client(&node.endpoint).await;
    let second = served_client(&node.endpoint).await;
    let started = Instant::now();
    assert!(
        !answered_within(&node.endpoint, SERVED_WITHIN).await,
        "a third connection from the same address is closed"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "closed at once, not held");
    for client in [&first, &second] {
        let identity = timeout(SERVED_WITHIN, client.identity()).await.expect("in time");
        assert!(identity.is_ok(), "its open connections keep being served");
    }
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        answered_within(&node.endpoint, SERVED_WITHIN).await,
        "once one closes, the address may connect again"
    );
    drop(second);
    node.stop().await;
}

/// Runs the `peerreg` binary; it must exit (not serve) within a few seconds.
async fn peerreg_exits(args: &[&str], token: Option<&str>) -> (bool, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_peerreg"));
    command.args(args).kill_on_drop(true).env_remove("PEERREG_TOKEN");
    if let Some(token) = token {
        command.env("PEERREG_TOKEN", token);
    }
    let output = timeout(Duration::from_secs(30), command.output())
        .await
        .unwrap_or_else(|_| panic!("peerreg {args:?} kept running: it should have refused"))
        .expect("run peerreg");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_binary_refuses_public_plaintext_a_lost_key_and_a_token_in_clear() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("ms");
    let data = data_dir.to_str().expect("a UTF-8 temp path");
    let public = ["serve", "--state", "MS", "--listen", "0.0.0.0:0", "--data-dir", data];
    let (ok, err) = peerreg_exits(&public, None).await;
    assert!(!ok && err.contains("--insecure-plaintext"), "{err}");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let node = peerreg::node::start(config_in(&data_dir), listener)
        .await
        .expect("a new node starts");
    node.stop().await.expect("stops cleanly");
    let key = data_dir.join("log.key");
    std::fs::remove_file(&key).expect("lose the key");
    let loopback = ["serve", "--state", "MS", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data-dir", data];
    let (ok, err) = peerreg_exits(&loopback, None).await;
    assert!(
        !ok && err.contains(&key.display().to_string()) && err.contains("missing"),
        "{err}"
    );
    assert!(!key.exists(), "no new key was written");
    let remote = ["record", "--endpoint", "http://192.0.2.10:50051", "--peer-id", "MS-P-1"];
    let (ok, err) = peerreg_exits(&remote, Some("a-board-token")).await;
    assert!(!ok && err.contains("refusing to send a token"), "{err}");
}
