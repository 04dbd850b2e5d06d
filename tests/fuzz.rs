//! Fuzzing of every parser that reads bytes someone else chose: public event
//! bodies (prost and `unseal`, the one way a logged body is read), board
//! commands (prost and `Fact::from_body`), log entries (`verify_entry`) and replay's
//! in-place wire reader, signed notes and checkpoints, verifier and signer key
//! strings, credential proof files, evidence bundles, requirement profiles,
//! node config files, registry snapshots and trust lists.
//!
//! Each parser gets arbitrary bytes and *structure-aware* inputs: valid
//! encodings taken from a real log (entries, notes, a proof file, an evidence
//! bundle, a snapshot, …) with bytes flipped, set, inserted, removed,
//! duplicated or cut off, and event bodies built from arbitrary field values.
//! Two properties hold for every input:
//! - the parser returns (`Ok` or `Err`): it never panics;
//! - its peak heap use is at most `K × input length + C` bytes, measured with a
//!   counting global allocator around the parse (the bound of each parser is
//!   in `TARGETS`; the tests run one at a time so nothing else allocates).
//!
//! The in-place wire reader is also checked against prost: whatever it reads,
//! prost decodes to the same fields.
//!
//! Short form (`cargo test --test fuzz`): `SHORT_CASES` cases per parser.
//! Long form: `PEERREG_SLOW_TESTS=1` runs `SLOW_CASES` (1,000,000) per parser
//! (`PEERREG_FUZZ_CASES=N` overrides either). The parsers are reached through
//! the wrappers in `parse`, so a parser that moves is re-pointed there.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use peak_alloc::PeakAlloc;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use prost::Message;

use peerreg::clock::SystemClock;
use peerreg::demo::bodies;
use peerreg::domain::profile::RequirementProfile;
use peerreg::domain::sealed::NoOpenings;
use peerreg::evidence::BundleOpenings;
use peerreg::federation::trust::{TrustEntry, TrustList};
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::log::note::{NoteSigner, NoteVerifier};
use peerreg::pb;
use peerreg::proof::ProofFile;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// The heap is one counter for the whole process: one parser at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Every test holds this for its whole run: the heap peak is measured
/// process-wide, so nothing else (building the corpus, a seed VC, another
/// target) may allocate while a target is measured.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

const SHORT_CASES: u32 = 1_000;
const SLOW_CASES: u32 = 1_000_000;

/// A long run says how far it got every this many cases (shrinking included).
const PROGRESS_EVERY: u32 = 50_000;

/// Longest arbitrary input; mutated valid encodings may grow past it a little.
const ARBITRARY_BYTES_MAX: usize = 4_096;

fn cases() -> u32 {
    if let Some(cases) = std::env::var("PEERREG_FUZZ_CASES").ok().and_then(|v| v.parse().ok()) {
        return cases;
    }
    if std::env::var("PEERREG_SLOW_TESTS").is_ok_and(|v| v == "1") {
        SLOW_CASES
    } else {
        SHORT_CASES
    }
}

/// The wrappers through which each parser is reached (re-point here if one moves).
mod parse {
    use super::*;

    /// A logged body, read as a mirror reads it (nothing opens) and as the
    /// board reads it (the corpus's openings open what they can).
    pub fn event_body(bytes: &[u8], openings: &BundleOpenings) {
        if let Ok(event) = pb::Event::decode(bytes) {
            let _ = peerreg::projection::logged_fact(event.body.clone(), &NoOpenings);
            let _ = peerreg::projection::logged_fact(event.body, openings);
        }
    }

    pub fn command_body(bytes: &[u8]) {
        if let Ok(command) = pb::Command::decode(bytes) {
            if let Some(body) = &command.body {
                let _ = peerreg::domain::fact::Fact::from_body(body);
            }
        }
    }

    pub fn log_entry(bytes: &[u8], verifier: &NoteVerifier) {
        let _ = peerreg::log::entry::decode_entry(3, bytes);
        let _ = peerreg::log::entry::verify_entry(3, bytes, verifier, "MS");
    }

    /// Replay's in-place reader, which must agree with prost on what it reads.
    pub fn replay_wire(bytes: &[u8]) {
        let Some((entry, event)) = peerreg::ledger::read_in_place(bytes) else {
            return;
        };
        let decoded = pb::LogEntry::decode(bytes);
        assert_eq!(
            decoded.as_ref().ok(),
            Some(&entry),
            "prost disagrees on an entry it read"
        );
        let Some((state, index, body)) = event else {
            return;
        };
        let decoded = pb::Event::decode(entry.event.as_slice());
        let decoded = decoded.as_ref().map(|e| (e.state.as_str(), e.index, e.body.as_ref()));
        assert_eq!(
            decoded.ok(),
            Some((state.as_str(), index, body.as_ref())),
            "prost disagrees on an event it read"
        );
    }

    pub fn signed_note(bytes: &[u8], verifier: &NoteVerifier) {
        let _ = verifier.open(bytes);
        let _ = peerreg::log::note::Checkpoint::open(bytes, verifier);
        let _ = peerreg::log::note::Checkpoint::parse_body(&String::from_utf8_lossy(bytes));
    }

    pub fn key_string(bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let _ = NoteVerifier::parse(&text);
        let _ = NoteSigner::parse(&text);
    }

    pub fn proof_json(bytes: &[u8], verifier: &NoteVerifier) {
        if let Ok(file) = ProofFile::from_json(&String::from_utf8_lossy(bytes)) {
            let _ = peerreg::proof::verify(&file, Some(verifier));
            let _ = peerreg::proof::verify(&file, None);
        }
    }

    pub fn evidence_bundle(bytes: &[u8], verifier: &NoteVerifier) {
        if let Ok(bundle) = pb::EvidenceBundle::decode(bytes) {
            let _ = peerreg::evidence::verify(&bundle, verifier, "MS", "MS-1");
        }
    }

    pub fn profile_toml(bytes: &[u8]) {
        let _ = RequirementProfile::from_toml(&String::from_utf8_lossy(bytes), "fuzz.toml");
    }

    /// The loaders read files: `bytes` is written to `file` first.
    pub fn config_toml(bytes: &[u8], file: &Path) {
        std::fs::write(file, bytes).expect("write the config file");
        let _ = peerreg::config::ConfigFile::load(file);
    }

    pub fn snapshot(bytes: &[u8]) {
        let _ = peerreg::projection::snapshot::decode(bytes);
    }

    pub fn trust_toml(bytes: &[u8], data_dir: &Path) {
        std::fs::write(peerreg::federation::trust::trust_path(data_dir), bytes).expect("write the trust list");
        let _ = TrustList::load(data_dir);
    }
}

/// Valid encodings of every input kind, taken from a real log.
struct Corpus {
    verifier: NoteVerifier,
    entries: Vec<Vec<u8>>,
    events: Vec<Vec<u8>>,
    commands: Vec<Vec<u8>>,
    /// The openings of the corpus log's records (the board's view).
    openings: Vec<pb::RecordOpening>,
    notes: Vec<Vec<u8>>,
    keys: Vec<Vec<u8>>,
    proofs: Vec<Vec<u8>>,
    bundles: Vec<Vec<u8>>,
    profiles: Vec<Vec<u8>>,
    configs: Vec<Vec<u8>>,
    snapshots: Vec<Vec<u8>>,
    trust_lists: Vec<Vec<u8>>,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(build_corpus)
}

const SNAPSHOT_PEERS: usize = 60;

fn signer() -> NoteSigner {
    NoteSigner::from_seed("peerreg.local/ms", [42; 32]).expect("a test key")
}

/// A small log with a credential holder, a disciplined credential and an
/// unrelated peer; every seed is read from it.
fn build_corpus() -> Corpus {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut profile = RequirementProfile::example_for("MS").expect("profile");
    profile.initial.training_hours_total = 0.0;
    profile.initial.training_hours_by_domain.clear();
    profile.initial.exam_required = false;
    profile.initial.experience_hours = 0.0;
    profile.initial.evidence_required.clear();
    profile.initial.references_required = 0;
    let ledger = Ledger::open(LedgerOptions {
        data_dir: dir.path().to_path_buf(),
        state: "MS".into(),
        signer: signer(),
        accept_unpublished_store: false,
        profile: profile.into(),
        clock: Arc::new(SystemClock),
    })
    .expect("open the corpus log");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let log = [
        bodies::enrol("P-1", "Ada Lovelace"),
        bodies::training("P-1", "CORE", 8, "2024-01-10", &[("ethical_responsibility", 8)]),
        bodies::issue("P-1", "MS-1", "2024-03-01", "2026-02-28"),
        bodies::enrol("P-2", "Somebody Else"),
        bodies::ce("P-1", "ethics", 3, "2024-05-01"),
        bodies::discipline("MS-1", pb::DisciplineKind::Probation, "2024-06-01", "2024-09-01"),
        bodies::reinstate("MS-1", "2024-08-01"),
        pb::command::Body::ConsentRecorded(pb::ConsentRecorded {
            peer_id: "P-1".into(),
            receiving_state: "TN".into(),
            until: "2099-12-31".into(),
        }),
    ];
    let commands = log
        .iter()
        .map(|body| {
            pb::Command {
                body: Some(body.clone()),
            }
            .encode_to_vec()
        })
        .collect();
    // Enough peers for a snapshot section of some size (a few KiB), so a
    // damaged count or length meets many records' worth of bytes.
    let crowd = (0..SNAPSHOT_PEERS).map(|i| bodies::enrol(&format!("P-CROWD-{i}"), &format!("Peer Number {i}")));
    let mut notes = Vec::new();
    for (i, body) in log.into_iter().chain(crowd).enumerate() {
        let receipt = runtime
            .block_on(ledger.append(format!("seed-{i}"), body))
            .expect("a seed event is accepted");
        if i < 10 {
            notes.push(receipt.published.note.to_vec());
        }
    }
    let published = ledger.published();
    let size = published.checkpoint.size;
    notes.push(published.note.to_vec());
    let entries = ledger.entries(0, 10).expect("entries");
    let events = entries
        .iter()
        .map(|bytes| pb::LogEntry::decode(bytes.as_slice()).expect("an entry").event)
        .collect();
    let registry = ledger.registry();
    let credential = registry.credential("MS-1").expect("the credential");
    let proven = peerreg::evidence::proven_entries(&ledger, &credential.events, size).expect("proven entries");
    let proof = pb::CredentialProof {
        format_version: 2,
        state: "MS".into(),
        credential_number: "MS-1".into(),
        verifier_key: ledger.verifier().to_key_string(),
        checkpoint: published.note.to_vec(),
        openings: peerreg::evidence::register_openings(&ledger, &proven).expect("the proof's openings"),
        entries: proven,
        key_rotations: Vec::new(),
    };
    let proof = ProofFile::from_pb(proof).to_json().expect("proof json");
    let bundle = peerreg::evidence::bundle(&ledger, "MS-1", "TN")
        .expect("a bundle")
        .bundle;
    let openings = bundle.openings.clone();
    let bundle = bundle.encode_to_vec();
    let snapshot = peerreg::projection::snapshot::encode(&registry, &published.checkpoint.root).expect("snapshot");
    let verifier = ledger.verifier().clone();
    let keys = vec![
        verifier.to_key_string().into_bytes(),
        signer().to_key_string().into_bytes(),
        c2sp_example_key().into_bytes(),
    ];
    let trust_list = trust_list_text(&verifier);
    notes.push(c2sp_example_note());
    runtime.block_on(ledger.shutdown());
    Corpus {
        verifier,
        entries,
        events,
        commands,
        openings,
        notes,
        keys,
        proofs: vec![proof.into_bytes()],
        bundles: vec![bundle],
        profiles: RequirementProfile::shipped_examples()
            .into_iter()
            .map(|(_, text)| text.as_bytes().to_vec())
            .collect(),
        configs: vec![CONFIG.as_bytes().to_vec()],
        snapshots: vec![snapshot],
        trust_lists: vec![trust_list],
    }
}

/// The verifier key of the C2SP signed-note example, from the known answers.
fn c2sp_example_key() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc6962-and-signed-note.json");
    let text = std::fs::read_to_string(path).expect("known answers");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let example = &json["signed_note_example"];
    example["verifier_key"].as_str().expect("a key").to_string()
}

/// The note of the C2SP signed-note example.
fn c2sp_example_note() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc6962-and-signed-note.json");
    let text = std::fs::read_to_string(path).expect("known answers");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    json["signed_note_example"]["note"]
        .as_str()
        .expect("a note")
        .as_bytes()
        .to_vec()
}

fn trust_list_text(verifier: &NoteVerifier) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let entries = ["MS", "TN"]
        .iter()
        .map(|state| TrustEntry {
            state: state.to_string(),
            endpoint: format!("https://registry.{}.example:50051", state.to_lowercase()),
            key: verifier.to_key_string(),
            ca_cert: Some(PathBuf::from("ca.pem")),
            witness: None,
        })
        .collect();
    TrustList::from_entries(entries)
        .expect("a list")
        .save(dir.path())
        .expect("save");
    std::fs::read(peerreg::federation::trust::trust_path(dir.path())).expect("read the list")
}

const CONFIG: &str = r#"state = "MS"
data_dir = "/var/lib/peerreg"
listen = "127.0.0.1:50051"
origin = "peerreg.example/ms"
key_file = "/var/lib/peerreg/log.key"
profile = "profiles/ms.toml"
accept_store_as_is = false

[[tokens]]
name = "admin"
sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
operations = ["*"]

[tls]
cert = "cert.pem"
key = "key.pem"
client_ca = "ca.pem"
"#;

/// One change to a valid encoding; positions wrap around its length.
#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Remove { at: usize, len: usize },
    Duplicate { at: usize, len: usize },
    Truncate { at: usize },
}

impl Mutation {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let place = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
        match self {
            Mutation::Flip { at, bit } if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] ^= 1 << (bit % 8);
            }
            Mutation::Set { at, byte } if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] = *byte;
            }
            Mutation::Insert { at, bytes: inserted } => {
                let at = place(*at, bytes.len());
                bytes.splice(at..at, inserted.iter().copied());
            }
            Mutation::Remove { at, len } => {
                let at = place(*at, bytes.len());
                let end = (at + len).min(bytes.len());
                bytes.drain(at..end);
            }
            Mutation::Duplicate { at, len } => {
                let at = place(*at, bytes.len());
                let end = (at + len).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Mutation::Truncate { at } => {
                let at = place(*at, bytes.len());
                bytes.truncate(at);
            }
            _ => {}
        }
    }
}

/// Bytes that matter to these formats: varint continuation and overlong
/// lengths, protobuf tags, note and TOML punctuation.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        Just(0x00),
        Just(0x7f),
        Just(0x80),
        Just(0xff),
        Just(b'\n'),
        Just(b' '),
        Just(b'+'),
        Just(b'='),
        Just(b'"'),
        Just(b'['),
        Just(0xe2),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), interesting_byte()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (any::<usize>(), prop::collection::vec(interesting_byte(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Remove { at, len }),
        (any::<usize>(), 1..256usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

/// A valid encoding from `seeds` with one to four mutations.
fn mutated(seeds: &[Vec<u8>]) -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds.to_vec();
    (0..seeds.len(), prop::collection::vec(mutation(), 1..5)).prop_map(move |(i, mutations)| {
        let mut bytes = seeds[i].clone();
        for mutation in &mutations {
            mutation.apply(&mut bytes);
        }
        bytes
    })
}

/// Arbitrary bytes, valid encodings as they are, or mutated ones (most cases).
fn inputs(seeds: &[Vec<u8>]) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..ARBITRARY_BYTES_MAX),
        1 => prop::sample::select(seeds.to_vec()),
        7 => mutated(seeds),
    ]
    .boxed()
}

/// Text fields as a hostile client would send them: anything, or near misses.
fn field_text() -> BoxedStrategy<String> {
    prop_oneof![
        ".{0,40}",
        "[A-Z]{2}-[0-9A-Z-]{0,12}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "[a-z_]{0,30}",
        Just(String::new()),
        ".{200,400}",
    ]
    .boxed()
}

/// 32 bytes mostly, or a near miss (a tag or commitment of the wrong size).
fn field_bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 32..=32),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
    .boxed()
}

fn field_ref() -> BoxedStrategy<Option<pb::RecordRef>> {
    prop_oneof![
        8 => (field_bytes(), field_bytes()).prop_map(|(tag, commitment)| Some(pb::RecordRef { tag, commitment })),
        1 => Just(None),
    ]
    .boxed()
}

/// Public bodies built from arbitrary field values, encoded as an `Event`.
fn public_event_from_fields() -> impl Strategy<Value = Vec<u8>> {
    use pb::event::Body;
    let body = prop_oneof![
        field_ref()
            .prop_map(|record| Body::Record(pb::RecordCommitted { record }))
            .boxed(),
        (field_text(), any::<i32>(), field_text(), field_text(), field_ref())
            .prop_map(
                |(n, kind, on, ex, holder)| Body::CredentialGranted(pb::CredentialGranted {
                    imported: None,
                    credential_number: n,
                    credential_type: kind,
                    issued_on: on,
                    expires_on: ex,
                    reciprocity: None,
                    holder,
                })
            )
            .boxed(),
        (field_text(), any::<i32>(), field_text(), field_text(), field_ref())
            .prop_map(
                |(n, kind, on, ends, summary)| Body::DisciplineImposed(pb::DisciplineImposed {
                    credential_number: n,
                    kind,
                    effective_on: on,
                    ends_on: ends,
                    summary,
                })
            )
            .boxed(),
        (field_text(), field_text(), field_ref())
            .prop_map(|(n, on, summary)| Body::ReinstatementGranted(pb::ReinstatementGranted {
                credential_number: n,
                effective_on: on,
                summary,
            }))
            .boxed(),
        (prop::collection::vec(any::<u64>(), 0..64), any::<i32>())
            .prop_map(|(indices, reason)| Body::RecordsExpunged(pb::RecordsExpunged { indices, reason }))
            .boxed(),
        (any::<u64>(), any::<i32>())
            .prop_map(|(index, reason)| Body::RecordVoided(pb::RecordVoided { index, reason }))
            .boxed(),
    ];
    body.prop_map(|body| {
        pb::Event {
            state: "MS".into(),
            body: Some(body),
            ..Default::default()
        }
        .encode_to_vec()
    })
}

/// Board commands built from arbitrary field values, encoded as a `Command`.
fn command_from_fields() -> impl Strategy<Value = Vec<u8>> {
    let body = prop_oneof![
        (field_text(), field_text())
            .prop_map(|(a, b)| bodies::enrol(&a, &b))
            .boxed(),
        (
            field_text(),
            field_text(),
            0u32..100_000,
            field_text(),
            field_text(),
            0u32..100_000
        )
            .prop_map(|(p, c, h, on, d, dh)| bodies::training(&p, &c, h, &on, &[(d.as_str(), dh)]))
            .boxed(),
        (field_text(), field_text(), field_text(), field_text())
            .prop_map(|(p, n, on, ex)| bodies::issue(&p, &n, &on, &ex))
            .boxed(),
        (field_text(), field_text(), 0u32..100_000, field_text())
            .prop_map(|(p, t, h, on)| bodies::ce(&p, &t, h, &on))
            .boxed(),
        (field_text(), field_text(), field_text())
            .prop_map(|(n, on, ex)| bodies::renew(&n, &on, &ex))
            .boxed(),
        (field_text(), any::<i32>(), field_text(), field_text())
            .prop_map(|(n, kind, on, ends)| {
                let mut body = bodies::discipline(&n, pb::DisciplineKind::Suspension, &on, &ends);
                if let pb::command::Body::DisciplinaryAction(action) = &mut body {
                    action.kind = kind;
                }
                body
            })
            .boxed(),
        (field_text(), field_text())
            .prop_map(|(n, on)| bodies::reinstate(&n, &on))
            .boxed(),
        (field_text(), 0u32..100_000, field_text())
            .prop_map(|(p, score, on)| bodies::exam(&p, score, &on))
            .boxed(),
        (field_text(), 0u32..100_000, field_text(), field_text())
            .prop_map(|(p, h, from, to)| bodies::experience(&p, pb::ExperienceKind::Volunteer, h, &from, &to))
            .boxed(),
    ];
    body.prop_map(|body| pb::Command { body: Some(body) }.encode_to_vec())
}

/// A parser under test, its inputs and its heap bound `per_byte × len + fixed`.
struct Target {
    name: &'static str,
    per_byte: usize,
    fixed: usize,
}

/// Runs `parse` on every input and checks it returns within its heap bound.
fn fuzz(target: Target, inputs: BoxedStrategy<Vec<u8>>, parse: impl Fn(&[u8])) {
    let cases = cases();
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_048,
        ..ProptestConfig::default()
    };
    let started = std::time::Instant::now();
    let largest = Cell::new(0usize);
    let per_byte = Cell::new(0f64);
    let mut runner = TestRunner::new(config);
    let done = Cell::new(0u32);
    let result = runner.run(&inputs, |input| {
        done.set(done.get() + 1);
        if done.get() % PROGRESS_EVERY == 0 {
            println!(
                "fuzz {}: {} cases so far, {:.0} s",
                target.name,
                done.get(),
                started.elapsed().as_secs_f64()
            );
        }
        let before = HEAP.current_usage();
        HEAP.reset_peak_usage();
        parse(&input);
        let peak = HEAP.peak_usage().saturating_sub(before);
        let bound = target.per_byte * input.len() + target.fixed;
        largest.set(largest.get().max(peak));
        if input.len() >= 256 {
            per_byte.set(per_byte.get().max(peak as f64 / input.len() as f64));
        }
        prop_assert!(
            peak <= bound,
            "{}: {peak} bytes of heap for a {}-byte input (bound {bound})",
            target.name,
            input.len()
        );
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{}: {failure}", target.name);
    }
    println!(
        "fuzz {}: {cases} cases, no panic, heap within {} × len + {} B (largest peak {} B; \
         most per input byte, inputs of 256 B or more: {:.1}), {:.1} s",
        target.name,
        target.per_byte,
        target.fixed,
        largest.get(),
        per_byte.get(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn event_bodies() {
    let _serial = serial();
    let corpus = corpus();
    let openings = BundleOpenings::new(&corpus.openings);
    let inputs = prop_oneof![inputs(&corpus.events), public_event_from_fields()].boxed();
    let target = Target {
        name: "public event body (prost + unseal)",
        per_byte: 64,
        fixed: 64 * 1024,
    };
    fuzz(target, inputs, |bytes| parse::event_body(bytes, &openings));
}

#[test]
fn command_bodies() {
    let _serial = serial();
    let corpus = corpus();
    let inputs = prop_oneof![inputs(&corpus.commands), command_from_fields()].boxed();
    let target = Target {
        name: "command body (prost + Fact::from_body)",
        per_byte: 64,
        fixed: 64 * 1024,
    };
    fuzz(target, inputs, parse::command_body);
}

#[test]
fn log_entries() {
    let _serial = serial();
    let corpus = corpus();
    let target = Target {
        name: "log entry (decode_entry, verify_entry)",
        per_byte: 64,
        fixed: 64 * 1024,
    };
    fuzz(target, inputs(&corpus.entries), |bytes| {
        parse::log_entry(bytes, &corpus.verifier)
    });
}

#[test]
fn replay_wire_reader() {
    let _serial = serial();
    let corpus = corpus();
    let seeds: Vec<Vec<u8>> = corpus.entries.iter().chain(&corpus.events).cloned().collect();
    let target = Target {
        name: "replay in-place wire reader (checked against prost)",
        per_byte: 64,
        fixed: 64 * 1024,
    };
    fuzz(target, inputs(&seeds), parse::replay_wire);
}

#[test]
fn signed_notes_and_checkpoints() {
    let _serial = serial();
    let corpus = corpus();
    let target = Target {
        name: "signed note / checkpoint",
        per_byte: 16,
        fixed: 16 * 1024,
    };
    fuzz(target, inputs(&corpus.notes), |bytes| {
        parse::signed_note(bytes, &corpus.verifier)
    });
}

#[test]
fn verifier_and_signer_key_strings() {
    let _serial = serial();
    let corpus = corpus();
    let target = Target {
        name: "verifier / signer key string",
        per_byte: 16,
        fixed: 16 * 1024,
    };
    fuzz(target, inputs(&corpus.keys), parse::key_string);
}

#[test]
fn credential_proof_files() {
    let _serial = serial();
    let corpus = corpus();
    let target = Target {
        name: "credential proof JSON (parse + verify)",
        per_byte: 64,
        fixed: 64 * 1024,
    };
    fuzz(target, inputs(&corpus.proofs), |bytes| {
        parse::proof_json(bytes, &corpus.verifier)
    });
}

#[test]
fn evidence_bundles() {
    let _serial = serial();
    let corpus = corpus();
    let target = Target {
        name: "evidence bundle (prost + evidence::verify)",
        per_byte: 64,
        fixed: 64 * 1024,
    };
    fuzz(target, inputs(&corpus.bundles), |bytes| {
        parse::evidence_bundle(bytes, &corpus.verifier)
    });
}

#[test]
fn requirement_profiles() {
    let _serial = serial();
    let corpus = corpus();
    let target = Target {
        name: "requirement profile TOML",
        per_byte: 64,
        fixed: 64 * 1024,
    };
    fuzz(target, inputs(&corpus.profiles), parse::profile_toml);
}

/// A directory for the loaders' files, in memory where the system has one
/// (a million writes to disk would take most of the long form's time).
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn config_files() {
    let _serial = serial();
    let corpus = corpus();
    let dir = scratch_dir();
    let file = dir.path().join("peerreg.toml");
    let target = Target {
        name: "node config TOML (ConfigFile::load)",
        per_byte: 64,
        fixed: 64 * 1024,
    };
    fuzz(target, inputs(&corpus.configs), |bytes| {
        parse::config_toml(bytes, &file)
    });
}

/// A snapshot's sections: kind, record count, bytes. Each section (and the
/// header) carries a SHA-256, so byte mutations alone never reach the record
/// decoders; `snapshot_from` writes mutated sections back with valid sums.
type Sections = Vec<(u8, u64, Vec<u8>)>;

const SNAPSHOT_MAGIC: &[u8] = b"peerreg projection snapshot v6\n";

fn snapshot_sections(bytes: &[u8]) -> Sections {
    let le = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let mut at = SNAPSHOT_MAGIC.len() + 32 + 8;
    let count = le(at) as usize;
    at += 8;
    let mut table = Vec::new();
    for _ in 0..count {
        table.push((bytes[at], le(at + 1) as usize, le(at + 9)));
        at += 1 + 8 + 8 + 32;
    }
    at += 32;
    let mut sections = Vec::new();
    for (kind, length, records) in table {
        sections.push((kind, records, bytes[at..at + length].to_vec()));
        at += length;
    }
    sections
}

/// A snapshot of `sections` after the magic and `root_and_size`, with valid sums.
fn snapshot_from(root_and_size: &[u8], sections: &Sections) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut bytes = SNAPSHOT_MAGIC.to_vec();
    bytes.extend_from_slice(root_and_size);
    bytes.extend_from_slice(&(sections.len() as u64).to_le_bytes());
    for (kind, records, section) in sections {
        bytes.push(*kind);
        bytes.extend_from_slice(&(section.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&records.to_le_bytes());
        bytes.extend_from_slice(&Sha256::digest(section));
    }
    let checksum = Sha256::digest(&bytes);
    bytes.extend_from_slice(&checksum);
    for (_, _, section) in sections {
        bytes.extend_from_slice(section);
    }
    bytes
}

/// Snapshots whose sections were mutated (bytes and record counts) and then
/// given valid checksums, so the record decoders see them.
fn resummed_snapshots(seed: &[u8]) -> BoxedStrategy<Vec<u8>> {
    let sections = snapshot_sections(seed);
    let root_and_size = seed[SNAPSHOT_MAGIC.len()..SNAPSHOT_MAGIC.len() + 40].to_vec();
    assert_eq!(
        snapshot_from(&root_and_size, &sections),
        seed,
        "the harness reads snapshots as they are written"
    );
    let count = sections.len();
    (
        0..count,
        prop::collection::vec(mutation(), 0..5),
        prop_oneof![Just(0i64), -2i64..3, any::<u32>().prop_map(i64::from)],
    )
        .prop_map(move |(which, mutations, count_change)| {
            let mut sections = sections.clone();
            let (_, records, bytes) = &mut sections[which];
            for mutation in &mutations {
                mutation.apply(bytes);
            }
            *records = records.saturating_add_signed(count_change);
            snapshot_from(&root_and_size, &sections)
        })
        .boxed()
}

#[test]
fn registry_snapshots() {
    let _serial = serial();
    let corpus = corpus();
    let inputs = prop_oneof![
        1 => inputs(&corpus.snapshots),
        3 => resummed_snapshots(&corpus.snapshots[0]),
    ]
    .boxed();
    let target = Target {
        name: "registry snapshot",
        per_byte: 32,
        fixed: 16 * 1024,
    };
    fuzz(target, inputs, parse::snapshot);
}

#[test]
fn trust_lists() {
    let _serial = serial();
    let corpus = corpus();
    let dir = scratch_dir();
    let target = Target {
        name: "trust list TOML (TrustList::load)",
        per_byte: 64,
        fixed: 64 * 1024,
    };
    fuzz(target, inputs(&corpus.trust_lists), |bytes| {
        parse::trust_toml(bytes, dir.path())
    });
}

/// W3C VCs and status list credentials, as `peerreg verify-vc` reads them
/// (parse, proof and issuer check, the status bit): seeds are a signed VC
/// and a signed status list. The bound allows one inflated list (at most
/// `ENCODED_LIST_BYTES_MAX`, read into a growing buffer).
#[test]
fn verifiable_credentials() {
    let _serial = serial();
    use peerreg::vc::bitstring::{Bitstring, ENCODED_LIST_BYTES_MAX, MIN_ENTRIES};
    use peerreg::vc::credential::{self, IssuerRef, Purpose, StatusEntry};
    let key = peerreg::vc::IssuerKey::from_seed([5; 32]);
    let did = key.did();
    let issuer = IssuerRef {
        did: &did,
        name: "MS board",
    };
    let url = "http://127.0.0.1:8080/status-list/revocation";
    let entry = StatusEntry {
        purpose: Purpose::Revocation,
        index: 7,
        list_url: url.into(),
    };
    let now = chrono::Utc::now();
    let check = pb::CredentialCheck {
        state: "MS".into(),
        credential_number: "MS-1".into(),
        issued_on: "2025-01-01".into(),
        expires_on: "2027-01-01".into(),
        ..Default::default()
    };
    let vc = credential::credential_document(&check, &issuer, std::slice::from_ref(&entry));
    let vc = key.sign(&vc, now).expect("signs");
    let bits = Bitstring::new(MIN_ENTRIES).expect("a list");
    let until = now + chrono::Duration::hours(1);
    let list = credential::status_list_document(Purpose::Revocation, url, &issuer, &bits, now, until).expect("a list");
    let list = key.sign(&list, now).expect("signs");
    let seeds = vec![
        serde_json::to_vec(&vc).expect("JSON"),
        serde_json::to_vec(&list).expect("JSON"),
    ];
    let target = Target {
        name: "W3C VC and status list JSON (parse + verify + status bit)",
        per_byte: 64,
        fixed: 3 * ENCODED_LIST_BYTES_MAX,
    };
    fuzz(target, inputs(&seeds), |bytes| {
        if let Ok(document) = serde_json::from_slice::<serde_json::Value>(bytes) {
            let _ = credential::check_credential(&document);
            let _ = credential::status_bit(&document, &entry, &did, now);
        }
    });
}
