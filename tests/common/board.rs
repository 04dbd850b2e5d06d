//! Event bodies a board records, built tersely for tests (shared with the demo).

pub use peerreg::demo::bodies::*;
