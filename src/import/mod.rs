//! `peerreg import`'s pure part (no network, no storage): the CSV formats a
//! board's existing registry is exported in, reading and checking them, and
//! planning the commands into person-aligned batches with idempotent event
//! ids; the report. The driver that sends the batches is `cli::import`.
//!
//! Files: [`format`] (kinds and their columns), [`read`] (size, encoding,
//! header, rows), [`rows`] (one row into its command), [`plan`] (rows
//! against each other; per person; batches), [`report`].

pub mod format;
pub mod plan;
pub mod read;
pub mod report;
pub mod rows;
