//! The certification domain: what a state board's events mean. Pure: no IO.
//!
//! - [`vocabulary`]: competency domains and CE topics events may name.
//! - [`profile`]: requirement profiles (what a state demands), from TOML.
//! - [`history`]: a profile's versions over time, and the one in force on a date.
//! - [`commitment`]: tags and commitments, how private records appear in the log.
//! - [`fact`]: event bodies parsed and checked for form.
//! - [`records`]: a peer's and a credential's replayed record.
//! - [`status`]: a credential's status on any date, and its precedence.
//! - [`requirements`]: the gaps between a record and a profile.
//! - [`sealed`]: a command sealed into its public body and private record, and read back.
//! - [`rules`]: which facts may be appended now.
//! - [`reciprocity`]: whether a peer certified elsewhere may transfer here.
//! - [`states`]: the jurisdiction codes a node may serve or trust.
//!
//! Imports nothing of the crate but `error` (its error type), `limits` and `pb`
//! (the bodies it parses).

pub mod commitment;
pub mod fact;
pub mod history;
pub mod profile;
pub mod reciprocity;
pub mod records;
pub mod requirements;
pub mod rules;
pub mod sealed;
pub mod states;
pub mod status;
pub mod vocabulary;
