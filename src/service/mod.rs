//! The only module that knows tonic: gRPC servers, clients, and the one mapping
//! from the library's [`Error`](crate::error::Error) to `tonic::Status`.
//!
//! Handler shape everywhere: convert the request in, call the library, convert
//! the answer out. Nothing else.

mod admin;
mod admission;
mod alerts;
pub mod board;
pub mod client;
mod convert;
pub(crate) mod export;
pub mod http_get;
mod incoming;
pub mod reciprocity;
pub mod registry;
mod requests;
mod rpc_metrics;
pub(crate) mod search;
pub mod server;
pub mod sources;
pub mod status;
mod tls;
pub mod transparency;
mod watch;
pub mod web;
pub mod witness_client;

/// Generated gRPC client and server stubs. Their messages are `crate::pb`.
#[allow(clippy::all, missing_docs)]
pub mod rpc {
    include!(concat!(env!("OUT_DIR"), "/services/peerreg.v1.rs"));
}

/// The encoded descriptor set of our protos, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/peerreg_descriptor.bin"));

pub use admin::AdminService;
pub use board::BoardService;
pub use reciprocity::{FederationService, ReciprocityService};
pub use registry::RegistryService;
pub use transparency::TransparencyLogService;
