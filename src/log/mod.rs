//! The verifiable log's pure parts: Merkle math, signed notes and checkpoints,
//! entry signing. No IO, no transport: the `ledger` puts them to work.

pub mod cosignature;
pub mod entry;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod tiles;

/// One section of `tests/data/wave2-known-answers.json` (the specs' own
/// examples), for the known-answer tests of this module.
#[cfg(test)]
pub(crate) fn known_answers(section: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/wave2-known-answers.json"
    ))
    .expect("the known answers");
    let all: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    all[section].clone()
}
