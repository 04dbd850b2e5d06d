//! A hostile anonymous client (or a stolen connection without a token) cannot
//! make a node do unbounded work, echo what it sent back at it, hold every
//! stream, or learn anything from the Board before authenticating.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::board::{discipline, enrol, issue};
use common::TestNode;
use peerreg::error::Error;
use peerreg::ledger::Ledger;
use peerreg::pb;
use peerreg::service::client::NodeClient;
use peerreg::service::rpc::board_client::BoardClient;
use peerreg::service::rpc::reciprocity_client::ReciprocityClient;
use peerreg::service::rpc::registry_client::RegistryClient;
use peerreg::service::rpc::transparency_log_client::TransparencyLogClient;
use prost::Message;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

/// A channel whose connection leaves from `source` (any 127.0.0.0/8 address
/// reaches the loopback listener on Linux), so one test can be two clients.
async fn channel_from(endpoint: &str, source: &str) -> Channel {
    let source: IpAddr = source.parse().expect("an address");
    Endpoint::from_shared(endpoint.to_string())
        .expect("endpoint")
        .local_address(Some(source))
        .connect()
        .await
        .expect("connect")
}

async fn one_credential(ledger: &Ledger) {
    common::record(
        ledger,
        vec![
            enrol("P-1", "Ada Holder"),
            issue("P-1", "MS-00001", "2024-03-01", "2026-02-28"),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_with_a_huge_credential_number_is_refused_at_once_without_an_echo() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = common::permissive(dir.path());
    one_credential(&ledger).await;
    let node = TestNode::serve(ledger, dir.path()).await;
    let size_before = node.ledger.published().checkpoint.size;
    let anonymous = NodeClient::connect(&node.endpoint, None).await.expect("connect");

    let huge = "Q".repeat(1024 * 1024);
    let item = pb::RosterItem {
        credential_number: huge.clone(),
        legal_name: String::new(),
        dates_of_service: vec!["2025-01-01".to_string(); 366],
    };
    let started = Instant::now();
    let refused = anonymous.check_roster(vec![item]).await;
    let elapsed = started.elapsed();

    let Err(Error::InvalidArgument(message)) = &refused else {
        panic!("expected INVALID_ARGUMENT, got {:?}", refused.map(|r| r.results.len()));
    };
    assert!(
        message.contains("items[0].credential_number") && message.contains("64"),
        "the refusal names the field and its limit: {message}"
    );
    assert!(message.len() < 300, "the refusal is short: {} bytes", message.len());
    assert!(
        !message.contains(&"Q".repeat(64)),
        "the refusal does not echo the input"
    );
    assert!(elapsed < Duration::from_secs(2), "refused quickly: {elapsed:?}");
    assert_eq!(
        node.ledger.published().checkpoint.size,
        size_before,
        "nothing was logged"
    );

    let check = anonymous
        .check(pb::CheckCredentialRequest {
            credential_number: "MS-00001".into(),
            ..Default::default()
        })
        .await
        .expect("the node still answers");
    assert_eq!(check.legal_name, "Ada Holder");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_lines_follow_the_check_credential_rules_and_their_errors_are_short() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = common::permissive(dir.path());
    one_credential(&ledger).await;
    let node = TestNode::serve(ledger, dir.path()).await;
    let anonymous = NodeClient::connect(&node.endpoint, None).await.expect("connect");

    // Within every length bound, but not a credential number or not a date.
    let spaced = format!("MS {}", "7".repeat(61));
    let control = format!("MS-\u{7}{}", "8".repeat(60));
    let bad_lines = [
        (spaced.as_str(), "2025-01-01"),
        (control.as_str(), "2025-01-01"),
        ("", "2025-01-01"),
        ("MS-00001", "2025-02-30"),
    ];
    for (number, date) in &bad_lines {
        let single = anonymous
            .check(pb::CheckCredentialRequest {
                credential_number: number.to_string(),
                legal_name: String::new(),
                as_of: date.to_string(),
            })
            .await;
        assert!(
            matches!(single, Err(Error::InvalidArgument(_))),
            "CheckCredential refuses {number:?} on {date}: {single:?}"
        );
    }
    let items: Vec<pb::RosterItem> = bad_lines
        .iter()
        .map(|(number, date)| pb::RosterItem {
            credential_number: number.to_string(),
            legal_name: "N".repeat(200),
            dates_of_service: vec![date.to_string()],
        })
        .collect();
    let answer = anonymous.check_roster(items).await.expect("a roster answer");
    assert_eq!(answer.results.len(), bad_lines.len());
    for (result, (number, _)) in answer.results.iter().zip(&bad_lines) {
        assert_eq!(result.error_code, "INVALID_ARGUMENT", "{number:?}: {result:?}");
        assert!(result.error.len() <= 160, "a short error: {:?}", result.error);
        if number.len() > 40 {
            assert!(!result.error.contains(number), "no full echo: {:?}", result.error);
        }
    }

    let long_name = pb::RosterItem {
        credential_number: "MS-00001".into(),
        legal_name: "N".repeat(201),
        dates_of_service: Vec::new(),
    };
    let refused = anonymous.check_roster(vec![long_name]).await;
    assert!(
        matches!(&refused, Err(Error::InvalidArgument(m)) if m.contains("items[0].legal_name") && m.contains("200")),
        "{refused:?}"
    );
    node.stop().await;
}

/// Calls one Board RPC with an empty request and `token` (if any).
async fn board_call(board: &mut BoardClient<Channel>, rpc: &str, token: Option<&str>) -> Code {
    fn request<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = token {
            let value = format!("Bearer {token}").parse().expect("header value");
            request.metadata_mut().insert("authorization", value);
        }
        request
    }
    let empty_command = pb::RecordBatchRequest {
        commands: vec![pb::BatchCommand::default()],
        dry_run: false,
    };
    let answer = match rpc {
        "EnrollPeer" => board.enroll_peer(request(Default::default(), token)).await.map(|_| ()),
        "ChangeName" => board.change_name(request(Default::default(), token)).await.map(|_| ()),
        "RecordTraining" => board
            .record_training(request(Default::default(), token))
            .await
            .map(|_| ()),
        "RecordExperience" => board
            .record_experience(request(Default::default(), token))
            .await
            .map(|_| ()),
        "RecordExam" => board.record_exam(request(Default::default(), token)).await.map(|_| ()),
        "IssueCredential" => board
            .issue_credential(request(Default::default(), token))
            .await
            .map(|_| ()),
        "RecordContinuingEducation" => board
            .record_continuing_education(request(Default::default(), token))
            .await
            .map(|_| ()),
        "RenewCredential" => board
            .renew_credential(request(Default::default(), token))
            .await
            .map(|_| ()),
        "RecordDiscipline" => board
            .record_discipline(request(Default::default(), token))
            .await
            .map(|_| ()),
        "ReinstateCredential" => board
            .reinstate_credential(request(Default::default(), token))
            .await
            .map(|_| ()),
        "RecordBatch(empty)" => board.record_batch(request(Default::default(), token)).await.map(|_| ()),
        "RecordBatch(no body)" => board.record_batch(request(empty_command, token)).await.map(|_| ()),
        other => panic!("no RPC {other}"),
    };
    answer.err().map_or(Code::Ok, |status| status.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_board_rpc_refuses_a_missing_or_wrong_token_before_reading_the_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = TestNode::start(dir.path()).await;
    let size_before = node.ledger.published().checkpoint.size;
    let mut board = BoardClient::new(channel_from(&node.endpoint, "127.0.0.1").await);
    let rpcs = [
        "EnrollPeer",
        "ChangeName",
        "RecordTraining",
        "RecordExperience",
        "RecordExam",
        "IssueCredential",
        "RecordContinuingEducation",
        "RenewCredential",
        "RecordDiscipline",
        "ReinstateCredential",
        "RecordBatch(empty)",
        "RecordBatch(no body)",
    ];
    let mut wrong = Vec::new();
    for rpc in rpcs {
        for token in [None, Some("not-a-token"), Some("")] {
            let code = board_call(&mut board, rpc, token).await;
            if code != Code::Unauthenticated {
                wrong.push(format!("{rpc} with token {token:?}: {code:?}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "every Board RPC answers UNAUTHENTICATED first:\n{}",
        wrong.join("\n")
    );

    // The same for the authenticated RPCs of the other services.
    let mut registry = RegistryClient::new(channel_from(&node.endpoint, "127.0.0.1").await);
    let peer = registry.get_peer_record(pb::GetPeerRecordRequest::default()).await;
    assert_eq!(peer.err().map(|s| s.code()), Some(Code::Unauthenticated));
    let mut reciprocity = ReciprocityClient::new(channel_from(&node.endpoint, "127.0.0.1").await);
    let transfer = reciprocity
        .evaluate_transfer(pb::EvaluateTransferRequest::default())
        .await;
    assert_eq!(transfer.err().map(|s| s.code()), Some(Code::Unauthenticated));
    assert_eq!(
        node.ledger.published().checkpoint.size,
        size_before,
        "nothing was logged"
    );
    node.stop().await;
}

/// Opens a `WatchEntries` stream; the stream (kept open) or the refusal.
async fn watch_entries(channel: &Channel) -> Result<tonic::Streaming<pb::WatchEntriesResponse>, Code> {
    let mut log = TransparencyLogClient::new(channel.clone());
    log.watch_entries(pb::WatchEntriesRequest { from_index: 0 })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| s.code())
}

/// Opens a `WatchCredentials` stream on MS-00001.
async fn watch_credentials(channel: &Channel) -> Result<tonic::Streaming<pb::CredentialChange>, Code> {
    let mut registry = RegistryClient::new(channel.clone());
    let request = pb::WatchCredentialsRequest {
        credential_numbers: vec!["MS-00001".into()],
        from_index: 0,
    };
    registry
        .watch_credentials(request)
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| s.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_every_watch_stream() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = common::permissive(dir.path());
    one_credential(&ledger).await;
    let node = TestNode::serve(ledger, dir.path()).await;
    let cap = peerreg::limits::WATCH_STREAMS_PER_ADDRESS_MAX;
    let greedy = channel_from(&node.endpoint, "127.0.0.1").await;
    let other = channel_from(&node.endpoint, "127.0.0.2").await;

    let mut held = Vec::new();
    for _ in 0..cap {
        held.push(watch_entries(&greedy).await.expect("a stream within the cap"));
    }
    assert_eq!(watch_entries(&greedy).await.err(), Some(Code::ResourceExhausted));
    let _other_entries = watch_entries(&other).await.expect("another address is unaffected");

    let mut held_changes = Vec::new();
    for _ in 0..cap {
        held_changes.push(watch_credentials(&greedy).await.expect("a stream within the cap"));
    }
    assert_eq!(watch_credentials(&greedy).await.err(), Some(Code::ResourceExhausted));
    let _other_changes = watch_credentials(&other).await.expect("another address is unaffected");

    // A closed stream gives its slot back.
    held.pop();
    let deadline = Instant::now() + Duration::from_secs(5);
    let reopened = loop {
        match watch_entries(&greedy).await {
            Ok(stream) => break stream,
            Err(code) if Instant::now() < deadline => {
                assert_eq!(code, Code::ResourceExhausted);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(code) => panic!("the slot was not given back: {code:?}"),
        }
    };
    // Streams still open would hold the server's graceful shutdown.
    drop((
        reopened,
        held,
        held_changes,
        _other_entries,
        _other_changes,
        greedy,
        other,
    ));
    node.stop().await;
}

/// One credential with `reprimands` disciplinary entries, each with a public
/// summary of the longest accepted length: a record whose proven entries are
/// larger than any answer a node may send.
async fn heavily_disciplined(ledger: &Ledger, reprimands: usize) {
    one_credential(ledger).await;
    let summary = "S".repeat(peerreg::domain::fact::SUMMARY_BYTES_MAX);
    let bodies: Vec<(String, pb::command::Body)> = (0..reprimands)
        .map(|i| {
            let mut body = discipline("MS-00001", pb::DisciplineKind::Reprimand, "2025-01-01", "");
            if let pb::command::Body::DisciplinaryAction(action) = &mut body {
                action.public_summary = summary.clone();
            }
            (format!("reprimand-{i}"), body)
        })
        .collect();
    for chunk in bodies.chunks(500) {
        for appended in ledger.append_many(chunk.to_vec()).await.expect("append") {
            appended.expect("a reprimand is recorded");
        }
    }
}

/// Tennessee's signed request for `credential_number`'s evidence from
/// Mississippi, signed now with TN's test log key.
fn tn_request(credential_number: &str) -> pb::GetEvidenceRequest {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let message = peerreg::evidence::request_message("MS", "TN", credential_number, now);
    let signature = common::signer("peerreg.local/tn").request_signer().sign(&message);
    pb::GetEvidenceRequest {
        credential_number: credential_number.into(),
        receiving_state: "TN".into(),
        signed_at: now,
        signature: signature.to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_and_proofs_larger_than_an_answer_may_be_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = common::permissive(dir.path());
    // ~2.6 KiB per proven entry with its summary's opening: past the answer
    // bound, below the 4,096-entry cap and below the response limit (so only
    // the node's own bound can refuse it).
    let reprimands = peerreg::limits::ANSWER_BYTES_MAX / 2300;
    assert!(reprimands < peerreg::limits::EVIDENCE_ENTRIES_MAX);
    assert!(reprimands * 2700 < peerreg::limits::GRPC_RESPONSE_BYTES_MAX);
    heavily_disciplined(&ledger, reprimands).await;
    common::record(
        &ledger,
        vec![pb::command::Body::ConsentRecorded(pb::ConsentRecorded {
            peer_id: "P-1".into(),
            receiving_state: "TN".into(),
            until: "2099-12-31".into(),
        })],
    )
    .await;
    // TN is trusted (its key pinned); it is never reached.
    let federation =
        common::federation(dir.path(), "MS", &[("TN", "http://127.0.0.1:9")]).expect("the federation opens");
    let options = peerreg::service::server::ServeOptions {
        federation: Some(federation.clone()),
        ..common::serve_options()
    };
    let node = TestNode::serve_with(ledger, dir.path(), options).await;
    let channel = channel_from(&node.endpoint, "127.0.0.1").await;
    let limit = peerreg::limits::GRPC_RESPONSE_BYTES_MAX;

    let mut reciprocity = ReciprocityClient::new(channel.clone()).max_decoding_message_size(limit);
    let evidence = reciprocity.get_evidence(tn_request("MS-00001")).await;
    let status = match evidence {
        Ok(bundle) => panic!("a bundle of {} bytes was sent", bundle.get_ref().encoded_len()),
        Err(status) => status,
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("bytes"), "{}", status.message());

    let mut registry = RegistryClient::new(channel).max_decoding_message_size(limit);
    let proof = registry
        .export_credential_proof(pb::ExportCredentialProofRequest {
            credential_number: "MS-00001".into(),
        })
        .await;
    let status = match proof {
        Ok(proof) => panic!("a proof of {} bytes was sent", proof.get_ref().encoded_len()),
        Err(status) => status,
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    node.stop().await;
    federation.shutdown().await;
}
