//! A tower layer on the gRPC server counting every call by service, method
//! and status code, and timing it, into the node's [`Metrics`].
//!
//! Approximations, for a layer that does not hold the response body: the
//! code is read from the response *headers*. tonic answers an error of a
//! unary call (and a stream refused before its first message) as
//! "trailers-only", with `grpc-status` in the headers, so those are exact;
//! a response without `grpc-status` in its headers is counted `OK`, so a
//! stream that fails after it started is counted `OK`. The latency is the
//! time to the response headers: for a unary call, its whole handling; for
//! a stream, the time to open it.
//!
//! Labels are bounded: a path that is not one of the node's methods (from
//! the served descriptor set, health and reflection) is counted as
//! `unknown`/`unknown`, so a client cannot create label sets at will.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use prost::Message;
use tonic::codegen::http;

use crate::metrics::{Metrics, RpcLabels};

/// Services served besides ours, with their methods.
const OTHER_METHODS: &[&str] = &[
    "grpc.health.v1.Health/Check",
    "grpc.health.v1.Health/Watch",
    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// Counts and times every gRPC call (see the module docs).
#[derive(Clone)]
pub struct RpcMetricsLayer {
    metrics: Arc<Metrics>,
    known: Arc<HashSet<String>>,
}

impl RpcMetricsLayer {
    /// A layer recording into `metrics`, knowing the methods of `descriptors`
    /// (an encoded `FileDescriptorSet`) besides health and reflection.
    pub fn new(metrics: Arc<Metrics>, descriptors: &[u8]) -> RpcMetricsLayer {
        let mut known: HashSet<String> = OTHER_METHODS.iter().map(|m| m.to_string()).collect();
        match prost_types::FileDescriptorSet::decode(descriptors) {
            Ok(set) => {
                for file in set.file {
                    let package = file.package.unwrap_or_default();
                    for service in file.service {
                        let name = format!("{package}.{}", service.name.unwrap_or_default());
                        for method in service.method {
                            known.insert(format!("{name}/{}", method.name.unwrap_or_default()));
                        }
                    }
                }
            }
            Err(e) => tracing::error!("the descriptor set does not decode; gRPC methods are counted as unknown: {e}"),
        }
        RpcMetricsLayer {
            metrics,
            known: Arc::new(known),
        }
    }

    /// The (service, method) labels of a request path `/pkg.Service/Method`.
    fn labels(&self, path: &str) -> (String, String) {
        let name = path.strip_prefix('/').unwrap_or(path);
        match name.split_once('/') {
            Some((service, method)) if self.known.contains(name) => (service.to_string(), method.to_string()),
            _ => ("unknown".into(), "unknown".into()),
        }
    }
}

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetricsService<S>;

    fn layer(&self, inner: S) -> RpcMetricsService<S> {
        RpcMetricsService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`RpcMetricsLayer`] wraps around the gRPC routes.
#[derive(Clone)]
pub struct RpcMetricsService<S> {
    inner: S,
    layer: RpcMetricsLayer,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for RpcMetricsService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    R: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (service, method) = self.layer.labels(request.uri().path());
        let metrics = self.layer.metrics.clone();
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let result = answer.await;
            let code = match &result {
                Ok(response) => code_name(response.headers().get("grpc-status").map(|v| v.as_bytes())),
                Err(_) => "UNKNOWN",
            };
            let labels = RpcLabels {
                service,
                method,
                code: code.to_string(),
            };
            metrics.rpc(labels, started.elapsed());
            result
        })
    }
}

/// The canonical name of a `grpc-status` header value; none is `OK`.
fn code_name(status: Option<&[u8]>) -> &'static str {
    let Some(status) = status else { return "OK" };
    match tonic::Code::from_bytes(status) {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_served_methods_get_their_own_labels() {
        let layer = RpcMetricsLayer::new(Arc::new(Metrics::new()), crate::service::FILE_DESCRIPTOR_SET);
        assert_eq!(
            layer.labels("/peerreg.v1.Registry/CheckCredential"),
            ("peerreg.v1.Registry".into(), "CheckCredential".into())
        );
        assert_eq!(
            layer.labels("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health".into(), "Check".into())
        );
        for path in ["/peerreg.v1.Registry/Invented", "/x", "", "/a/b/c"] {
            assert_eq!(layer.labels(path), ("unknown".into(), "unknown".into()), "{path}");
        }
    }

    #[test]
    fn codes_have_their_canonical_names() {
        assert_eq!(code_name(None), "OK");
        assert_eq!(code_name(Some(b"5")), "NOT_FOUND");
        assert_eq!(code_name(Some(b"15")), "DATA_LOSS");
        assert_eq!(code_name(Some(b"junk")), "UNKNOWN");
    }
}
