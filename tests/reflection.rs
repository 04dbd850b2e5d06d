//! Generic gRPC tools find the node's services through server reflection, in
//! both versions: `v1` and the older `v1alpha` (still the only one some
//! `grpcurl` builds and Python's `grpcio-reflection` speak).

mod common;

use std::collections::BTreeSet;

use common::TestNode;
use peerreg::service::client;

/// What every node serves: our six services and health.
const SERVED: &[&str] = &[
    "peerreg.v1.TransparencyLog",
    "peerreg.v1.Board",
    "peerreg.v1.Registry",
    "peerreg.v1.Reciprocity",
    "peerreg.v1.Federation",
    "peerreg.v1.Admin",
    "grpc.health.v1.Health",
];

/// Lists the services through one reflection version (`$version` is `v1`
/// or `v1alpha` of `tonic_reflection::pb`: the same messages, another package).
macro_rules! list_services {
    ($version:ident, $endpoint:expr) => {{
        use tonic_reflection::pb::$version as reflection;
        let channel = client::connect($endpoint).await.expect("connect");
        let mut reflection_client = reflection::server_reflection_client::ServerReflectionClient::new(channel);
        let request = reflection::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(reflection::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        };
        let mut answers = reflection_client
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .expect("the reflection service answers")
            .into_inner();
        let answer = answers.message().await.expect("an answer").expect("one message");
        match answer.message_response {
            Some(reflection::server_reflection_response::MessageResponse::ListServicesResponse(list)) => {
                list.service.into_iter().map(|s| s.name).collect::<BTreeSet<String>>()
            }
            other => panic!("not a list of services: {other:?}"),
        }
    }};
}

fn check(version: &str, listed: &BTreeSet<String>) {
    for service in SERVED {
        assert!(
            listed.contains(*service),
            "{version} does not list {service}: {listed:?}"
        );
    }
}

#[tokio::test]
async fn reflection_v1_lists_every_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(dir.path()).await;
    let listed = list_services!(v1, &node.endpoint);
    check("v1", &listed);
    assert!(listed.contains("grpc.reflection.v1.ServerReflection"), "{listed:?}");
    node.stop().await;
}

#[tokio::test]
async fn reflection_v1alpha_lists_every_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(dir.path()).await;
    let listed = list_services!(v1alpha, &node.endpoint);
    check("v1alpha", &listed);
    assert!(
        listed.contains("grpc.reflection.v1alpha.ServerReflection"),
        "{listed:?}"
    );
    node.stop().await;
}
