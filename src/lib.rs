//! # peerreg
//!
//! A state certification board's registry as a verifiable, append-only,
//! Ed25519-signed event log (a transparency log), served over gRPC.
//!
//! # Layout
//! - [`log`]: the pure parts of the log: RFC 6962 Merkle math, C2SP signed-note
//!   checkpoints and keys, a log's chain of keys learned from its own rotation
//!   entries (`log::keys`), C2SP witness cosignatures and quorum checks, C2SP
//!   tiles (paths and formats), entry signing.
//! - [`domain`]: the certification domain, pure: event bodies parsed into facts
//!   (the one parser of bodies), profiles and their dated versions, status and
//!   dated discipline, rules, reciprocity policies.
//! - [`projection`]: the registry, rebuilt from the log by applying facts in
//!   order (with the board's name index for search); its snapshot encoding.
//! - [`store`]: the only module that knows the log's files and sled: the log as
//!   C2SP tlog-tiles files, its checkpoint in two checksummed slots, sled for
//!   the indexes; durable group commits; the one-time layout conversion.
//! - [`vault`]: the node's private store (DESIGN.md §8): openings, bodies and
//!   person keys, sealed per person, erasable.
//! - [`ledger`]: a state's log at work: sequencing, integration and publishing of
//!   appends in group commits, verification on open, replay, verified reads and
//!   proofs; a follower (mirror) ledger.
//! - [`service`]: the only module that knows tonic (and axum): gRPC servers,
//!   clients, status mapping, and the HTTP side (`service::web`: the pages, their
//!   JSON and `/metrics`, answering through the gRPC handlers' own functions).
//! - [`node`]: a whole node as a library call (`node::run`, `node::start`):
//!   key, ledger, tokens, TLS, mirrors, trusted states, serving, stopping.
//! - [`cli`]: every command's body; the binary only parses flags.
//! - [`source`]: the small traits through which mirror, repair, audit, proofs
//!   and federation read other nodes (implemented by `service`'s clients and by
//!   an in-process `Ledger`); [`keychain`]: a live log's key chain, its rotation
//!   entries fetched with inclusion proofs when a checkpoint needs a later key.
//! - [`mirror`], [`federation`], [`evidence`], [`repair`]: copies of other
//!   states' logs (bounded catch-up, proven-only alarms), transfers between
//!   states (`federation::received`: what a receiving state keeps of the
//!   evidence, erased on the origin's expungement; `federation::alerts`: the
//!   board's alerts when an origin credential it relies on changes),
//!   rebuilding a lost store.
//! - [`witness`]: states vouching for each other (C2SP tlog-witness): this
//!   node cosigning the logs it trusts, collecting its partners'
//!   cosignatures after each commit, refusing to sign a store its witnesses
//!   prove is behind.
//! - [`import`]: `peerreg import`'s pure part: a board's existing registry
//!   from CSV files, checked and planned into person-aligned batches.
//! - [`proof`]: portable credential proofs and their offline check.
//! - [`vc`]: W3C Verifiable Credentials 2.0 (`eddsa-jcs-2022` proofs by the
//!   board's issuer key, Bitstring Status Lists kept current from the log).
//! - [`audit`]: an independent auditor of any node's log.
//! - [`report`]: the words and files of employer checks (statuses, a check as
//!   JSON, a roster read from CSV and its reports), shared by CLI and web pages.
//! - [`auth`]: bearer tokens, stored hashed, changeable on a running node.
//! - [`backup`]: a running node's consistent backup, its manifest, and restore.
//! - [`bench`]: the benchmark harness; [`demo`]: the three-state walk-through.
//! - [`config`]: a node's settings and their embedded defaults.
//! - [`clock`]: "today", injected.
//! - [`limits`]: every bound, in one place.
//! - [`metrics`]: the node's Prometheus families, one registry per node.
//! - [`error`]: the library's error, one class per gRPC status code.
//!
//! Layers, each importing only those below it: `limits`, `error`, `clock`, `metrics` ·
//! `log`, `domain`, `auth`, `report` · `import`, `store`, `projection` · `vault` · `ledger` · `source`, `keychain`,
//! `evidence` · `mirror`, `repair`, `audit`, `proof`, `vc` · `witness` · `federation` · `backup`, `config`
//! · `service` · `node` · `cli` · `demo`, `bench`, and the binary.
//! - [`pb`]: the protobuf wire types (messages only; no transport).

pub mod audit;
pub mod auth;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod evidence;
pub mod federation;
pub mod import;
pub mod keychain;
pub mod ledger;
pub mod limits;
pub mod log;
pub mod metrics;
pub mod mirror;
pub mod node;
pub mod projection;
pub mod proof;
pub mod repair;
pub mod report;
pub mod service;
pub mod source;
pub mod store;
pub mod vault;
pub mod vc;
pub mod witness;

/// Protobuf wire types generated from `proto/peerreg/v1`. Messages only: the
/// gRPC service stubs live in `service`, the only module that knows tonic.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/messages/peerreg.v1.rs"));
}
