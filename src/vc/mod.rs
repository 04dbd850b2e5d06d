//! W3C Verifiable Credentials 2.0 for a board's credentials: a credential as a
//! VC with an `eddsa-jcs-2022` Data Integrity proof by the board's issuer key,
//! and Bitstring Status List v1.0 credentials (revocation and suspension) kept
//! current from the log, so a wallet holds the credential and an employer
//! checks it offline, and its status against the board's current list.
//!
//! Pure parts (no IO): [`multibase`] (base58btc and base64url multibase,
//! Ed25519 multikeys, `did:key`), [`proof`] (JCS canonical JSON, RFC 8785, and
//! the `eddsa-jcs-2022` proof), [`bitstring`] (the status list's bits and
//! `encodedList`), [`credential`] (the documents and their offline checks).
//! Node part: [`issuer`] (the issuer key file, status-list indexes in the
//! private store, the signed lists). Served by `service::web` (`GET
//! /credential/<number>/vc`, `/status-list/<purpose>`, `/vc/issuer`); `peerreg
//! export-vc` and `verify-vc` are in `cli::vc`. Known answers (the W3C
//! vc-di-eddsa vectors and the status list spec's example) are in `tests.rs`.

pub mod bitstring;
pub mod credential;
pub mod issuer;
pub mod multibase;
pub mod proof;

#[cfg(test)]
mod tests;

pub use credential::Purpose;
pub use issuer::{issuer_key_path, Issuer, IssuerKey};
