//! Event bodies a board records, built tersely for tests (shared with the demo).

#[allow(unused_imports)]
pub use peerreg::demo::bodies::*;
