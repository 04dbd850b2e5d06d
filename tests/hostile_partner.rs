//! A hostile partner state (or a man in the middle of plaintext federation)
//! cannot delete, block or exhaust a node: key names cannot reach outside
//! `mirrors/`, only proofs raise alarms (and the recorded proof re-checks
//! offline), and a huge backlog is caught up in bounded chunks and rounds
//! that never make an evaluation wait.
//!
//! The partner is an in-process `LogSource` wrapping a real origin ledger,
//! so each attack (stale, unprovable, slow, forked, huge) is one small wrapper.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{append_enrolments, copy_tree, enrolment, open_ledger, signer};
use peerreg::error::Error;
use peerreg::federation::trust::{TrustEntry, TrustList};
use peerreg::federation::{Federation, FederationOptions, FollowState};
use peerreg::ledger::Ledger;
use peerreg::log::merkle::{Hash, LeafIndex, TreeSize};
use peerreg::log::note::{key_id, NoteVerifier};
use peerreg::mirror::{self, FollowLimits, MirrorSpec, Round, RoundError};
use peerreg::source::{Connector, EvidenceSource, LogIdentity, LogSource, NodeAddress, SourceFuture};

// ------------------------------------------------------------ heap counting

/// Counts live heap bytes and their peak, to show a catch-up's memory is one
/// chunk, not the backlog.
#[global_allocator]
static HEAP: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

// ------------------------------------------------------------ partners

const MS_ORIGIN: &str = "peerreg.local/ms";

/// What the partner does to the genuine log it serves.
#[derive(Clone)]
enum Attack {
    /// Serves the genuine log.
    Faithful,
    /// Serves this (genuinely signed, older) checkpoint note.
    StaleCheckpoint(Vec<u8>),
    /// Answers every consistency proof with garbage.
    BadProofs,
    /// Answers nothing for this long.
    Slow(Duration),
    /// Serves another log's checkpoint (signed by the same key) as its own.
    Checkpoint(Vec<u8>),
}

/// A partner in this process: the genuine `log`, with `attack` applied.
#[derive(Clone)]
struct Partner {
    log: Ledger,
    attack: Attack,
}

impl Partner {
    async fn delay(&self) {
        if let Attack::Slow(pause) = &self.attack {
            tokio::time::sleep(*pause).await;
        }
    }
}

impl LogSource for Partner {
    fn identity(&self) -> SourceFuture<'_, LogIdentity> {
        self.log.identity()
    }

    fn checkpoint_note(&self) -> SourceFuture<'_, Vec<u8>> {
        Box::pin(async move {
            self.delay().await;
            match &self.attack {
                Attack::StaleCheckpoint(note) | Attack::Checkpoint(note) => Ok(note.clone()),
                _ => LogSource::checkpoint_note(&self.log).await,
            }
        })
    }

    fn entries(&self, start: u64, end: u64) -> SourceFuture<'_, Vec<Vec<u8>>> {
        LogSource::entries(&self.log, start, end)
    }

    fn inclusion_proof(&self, index: LeafIndex, tree_size: TreeSize) -> SourceFuture<'_, Vec<Hash>> {
        LogSource::inclusion_proof(&self.log, index, tree_size)
    }

    fn consistency_proof(&self, from_size: TreeSize, to_size: TreeSize) -> SourceFuture<'_, Vec<Hash>> {
        Box::pin(async move {
            match &self.attack {
                Attack::BadProofs => Ok(vec![[7u8; 32]; 3]),
                _ => LogSource::consistency_proof(&self.log, from_size, to_size).await,
            }
        })
    }
}

impl EvidenceSource for Partner {
    fn evidence(&self, _: peerreg::pb::GetEvidenceRequest) -> SourceFuture<'_, peerreg::pb::EvidenceBundle> {
        Box::pin(async { Err(Error::Unavailable("this partner serves no evidence".into())) })
    }
}

/// Reaches `partner` for every trusted state.
struct To(Partner);

impl Connector for To {
    fn log(&self, _: &NodeAddress) -> SourceFuture<'_, Box<dyn LogSource>> {
        let partner = self.0.clone();
        Box::pin(async move { Ok(Box::new(partner) as Box<dyn LogSource>) })
    }

    fn node(&self, _: &NodeAddress) -> SourceFuture<'_, Box<dyn EvidenceSource>> {
        let partner = self.0.clone();
        Box::pin(async move { Ok(Box::new(partner) as Box<dyn EvidenceSource>) })
    }
}

fn spec(origin: &Ledger) -> MirrorSpec {
    MirrorSpec {
        origin: MS_ORIGIN.into(),
        endpoint: "http://127.0.0.1:1".into(),
        verifier: origin.verifier().clone(),
    }
}

/// Appends `count` enrolments in batches (fast: one group commit per batch).
async fn grow(log: &Ledger, prefix: &str, count: usize) {
    const BATCH: usize = 1000;
    for start in (0..count).step_by(BATCH) {
        let items = (start..count.min(start + BATCH))
            .map(|i| (format!("evt-{prefix}-{i}"), enrolment(&format!("{prefix}-{i}"))))
            .collect();
        for receipt in log.append_many(items).await.expect("append a batch") {
            receipt.expect("append");
        }
    }
}

/// Follows until current; any error is returned.
async fn follow(mirror: &Ledger, source: &dyn LogSource, limits: FollowLimits) -> Result<u64, RoundError> {
    let mut rounds = 0;
    loop {
        rounds += 1;
        if let Round::Current { .. } = mirror::follow_round(mirror, source, limits).await? {
            return Ok(rounds);
        }
    }
}

/// Follows until current, retrying suspect rounds as a node's follower does
/// (a loaded machine can miss a short deadline); returns the rounds it took.
async fn follow_retrying(mirror: &Ledger, source: &dyn LogSource, limits: FollowLimits) -> u64 {
    const SUSPECT_ROUNDS_MAX: u32 = 100;
    let (mut rounds, mut suspect) = (0, 0);
    loop {
        rounds += 1;
        match mirror::follow_round(mirror, source, limits).await {
            Ok(Round::Current { .. }) => return rounds,
            Ok(Round::CatchingUp { .. }) => {}
            Err(RoundError::Suspect(e)) if suspect < SUSPECT_ROUNDS_MAX => {
                suspect += 1;
                eprintln!("suspect round {suspect}: {e}");
            }
            Err(e) => panic!("the mirror cannot catch up: {e:?}"),
        }
    }
}

fn is_suspect(result: &Result<u64, RoundError>, says: &str) -> bool {
    matches!(result, Err(RoundError::Suspect(e)) if e.to_string().contains(says))
}

// ------------------------------------------------------------ finding 1

#[tokio::test]
async fn a_partner_key_named_dot_dot_cannot_reach_the_nodes_own_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let own = open_ledger(dir.path()).expect("MS opens");
    append_enrolments(&own, "own", 3).await;
    let own_checkpoint = own.published();
    own.shutdown().await;

    // A trusted state whose verifier key is named "..": the key is refused
    // where it enters (trust list, federation), so nothing is ever removed.
    let public = signer("peerreg.local/tn").verifier().to_key_string();
    let material = public.splitn(3, '+').nth(2).expect("key material");
    let bytes = base64_decode(material);
    let verifying = ed25519_dalek::VerifyingKey::from_bytes(&bytes[1..].try_into().expect("32 bytes")).expect("key");
    for name in ["..", ".", "peerreg.local/.."] {
        let hostile = format!("{name}+{}+{material}", hex::encode(key_id(name, &verifying)));
        assert!(NoteVerifier::parse(&hostile).is_err(), "{name:?} must not parse");
        let entry = TrustEntry {
            state: "TN".into(),
            endpoint: "http://127.0.0.1:1".into(),
            key: hostile,
            ca_cert: None,
            witness: None,
        };
        assert!(matches!(entry.clone().validated(), Err(Error::InvalidArgument(_))));
        let list = TrustList { entries: vec![entry] };
        let refused = Federation::open(
            dir.path(),
            "MS",
            &list,
            FederationOptions::default(),
            Arc::new(To(Partner {
                log: open_ledger(&dir.path().join("unused")).expect("a log"),
                attack: Attack::Faithful,
            })),
        );
        assert!(refused.is_err(), "a federation trusting {name:?} must not open");
    }
    let reopened = open_ledger(dir.path()).expect("the node's own log is intact");
    assert_eq!(reopened.published(), own_checkpoint);
    reopened.shutdown().await;
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}

#[test]
fn mirror_directories_never_collide_and_never_leave_mirrors() {
    let data = Path::new("/data/ms");
    let a = mirror::mirror_dir(data, "a/b");
    let b = mirror::mirror_dir(data, "a_b");
    assert_ne!(a, b, "a/b and a_b must not share a directory");
    for origin in ["..", ".", "a/../../b", "/etc", "x\\..\\y", "peerreg.local/ms", "é/ü"] {
        let dir = mirror::mirror_dir(data, origin);
        assert_eq!(dir.parent(), Some(mirror::mirrors_root(data).as_path()), "{origin:?}");
        let name = dir.file_name().and_then(|n| n.to_str()).expect("a plain name");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{name}"
        );
    }
}

proptest::proptest! {
    #[test]
    fn any_origin_names_one_plain_directory_inside_mirrors(origin in ".{0,80}", other in ".{0,80}") {
        let data = Path::new("data");
        let dir = mirror::mirror_dir(data, &origin);
        let root = mirror::mirrors_root(data);
        proptest::prop_assert_eq!(dir.parent(), Some(root.as_path()));
        let plain = matches!(dir.components().next_back(), Some(std::path::Component::Normal(_)));
        proptest::prop_assert!(plain);
        if origin != other {
            proptest::prop_assert_ne!(dir, mirror::mirror_dir(data, &other));
        }
    }
}

// ------------------------------------------------------------ finding 4

/// MS's log with 10 entries, and a mirror of it caught up.
async fn origin_and_mirror(dir: &Path) -> (Ledger, Ledger) {
    let origin = open_ledger(&dir.join("ms")).expect("MS opens");
    append_enrolments(&origin, "shared", 10).await;
    let mirror = common::caught_up_mirror(&dir.join("tn"), &spec(&origin), &origin).await;
    (origin, mirror)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_checkpoint_or_a_bad_proof_is_suspect_never_an_alarm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (origin, mirror) = origin_and_mirror(dir.path()).await;
    let old_note = origin.published().note.to_vec();
    append_enrolments(&origin, "later", 5).await;
    follow(&mirror, &origin, FollowLimits::default())
        .await
        .expect("current");
    let held = mirror.published();

    let stale = Partner {
        log: origin.clone(),
        attack: Attack::StaleCheckpoint(old_note),
    };
    let result = follow(&mirror, &stale, FollowLimits::default()).await;
    assert!(is_suspect(&result, "stale"), "{result:?}");

    append_enrolments(&origin, "newer", 5).await;
    let unprovable = Partner {
        log: origin.clone(),
        attack: Attack::BadProofs,
    };
    let result = follow(&mirror, &unprovable, FollowLimits::default()).await;
    assert!(is_suspect(&result, "consistency"), "{result:?}");

    assert_eq!(mirror.published(), held, "nothing unproven was stored");
    assert!(
        mirror::recorded_equivocation(mirror.data_dir())
            .expect("readable")
            .is_none(),
        "no alarm without a proof"
    );
    // The genuine origin is followed again at once.
    follow(&mirror, &origin, FollowLimits::default())
        .await
        .expect("follows again");
    assert_eq!(mirror.published(), origin.published());
    origin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_partner_ends_the_round_at_its_deadline_as_suspect() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (origin, mirror) = origin_and_mirror(dir.path()).await;
    let slow = Partner {
        log: origin.clone(),
        attack: Attack::Slow(Duration::from_secs(30)),
    };
    let limits = FollowLimits {
        round_deadline: Duration::from_millis(300),
        ..FollowLimits::default()
    };
    let started = std::time::Instant::now();
    let result = mirror::follow_round(&mirror, &slow, limits).await;
    assert!(
        matches!(&result, Err(RoundError::Suspect(e)) if e.to_string().contains("deadline")),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the round ended at its deadline"
    );
    assert!(mirror::recorded_equivocation(mirror.data_dir())
        .expect("readable")
        .is_none());
    origin.shutdown().await;
}

/// MS's log and a fork of it under the same key (`shared` common entries, then
/// `honest` and `rewritten` ones), and a mirror caught up with the honest log.
async fn forked(dir: &Path, shared: usize, honest: usize, rewritten: usize) -> (Ledger, Ledger, Ledger) {
    let origin = open_ledger(&dir.join("ms")).expect("MS opens");
    append_enrolments(&origin, "shared", shared).await;
    origin.shutdown().await;
    copy_tree(&dir.join("ms"), &dir.join("fork"));
    let origin = open_ledger(&dir.join("ms")).expect("MS reopens");
    append_enrolments(&origin, "honest", honest).await;
    let fork = open_ledger(&dir.join("fork")).expect("the fork opens");
    append_enrolments(&fork, "rewritten", rewritten).await;
    let mirror = common::caught_up_mirror(&dir.join("tn"), &spec(&origin), &origin).await;
    (origin, fork, mirror)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smaller_signed_checkpoint_off_the_log_is_a_proven_equivocation_that_rechecks_offline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (origin, fork, mirror) = forked(dir.path(), 6, 10, 3).await;

    // The fork's checkpoint is smaller than the held tree and signed by the
    // same key, but its root is not the held tree's prefix: a proof.
    let forked_note = fork.published().note.to_vec();
    let forked = Partner {
        log: origin.clone(),
        attack: Attack::Checkpoint(forked_note.clone()),
    };
    let result = follow(&mirror, &forked, FollowLimits::default()).await;
    assert!(matches!(&result, Err(RoundError::Equivocation(_))), "{result:?}");
    let evidence = mirror::equivocation_path(mirror.data_dir());
    let record = mirror::read_equivocation(&evidence)
        .expect("readable")
        .expect("recorded");
    assert_eq!(record.checkpoints().1.as_bytes(), &forked_note[..]);
    assert_eq!(record.verifier_key, origin.verifier().to_key_string());

    // Re-checked offline, with the pinned key alone, through the CLI command.
    let verify = |key: Option<String>| {
        peerreg::cli::federation::trust(peerreg::cli::federation::TrustCommand::VerifyEvidence {
            file: evidence.clone(),
            key,
        })
    };
    let proven = verify(Some(origin.verifier().to_key_string()))
        .await
        .expect("the proof checks");
    assert!(proven.contains("PROVEN") && proven.contains("not a prefix"), "{proven}");
    let other_key = signer("peerreg.local/ms2").verifier().to_key_string();
    assert!(verify(Some(other_key)).await.is_err(), "another key proves nothing");
    let tampered = std::fs::read_to_string(&evidence)
        .expect("evidence")
        .replace("\"prefix_root\": \"", "\"prefix_root\": \"A");
    std::fs::write(&evidence, tampered).expect("tamper");
    assert!(verify(None).await.is_err(), "a tampered proof is refused");
    origin.shutdown().await;
    fork.shutdown().await;
}

// ------------------------------------------------------------ finding 3

fn backlog_entries() -> usize {
    if std::env::var_os("PEERREG_SLOW_TESTS").is_some() {
        1_000_000
    } else {
        20_000
    }
}

/// A backlog is caught up in rounds of bounded chunks; the heap above what
/// the caught-up copy keeps is one chunk's worth, not the backlog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_backlog_is_caught_up_in_bounded_chunks_and_rounds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let origin = open_ledger(&dir.path().join("ms")).expect("MS opens");
    let count = backlog_entries();
    grow(&origin, "backlog", count).await;
    let limits = FollowLimits {
        chunk_entries: 256,
        round_deadline: Duration::from_millis(500),
    };
    let mirror = mirror::open(&dir.path().join("tn"), &spec(&origin), &origin)
        .await
        .expect("mirror opens");
    // Settle what the node holds anyway, then measure the catch-up's peak.
    let before = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let rounds = follow_retrying(&mirror, &origin, limits).await;
    let (after, peak) = (HEAP.current_usage(), HEAP.peak_usage());
    assert_eq!(mirror.published(), origin.published());
    let (copy, genuine) = (mirror.registry(), origin.registry());
    assert_eq!(copy.size, genuine.size, "the copy replays every entry");
    assert_eq!(
        copy.credentials, genuine.credentials,
        "the copy replays the same public register"
    );
    assert_eq!(genuine.peers.len(), count, "the origin's board knows every enrolment");
    assert!(
        copy.peers.is_empty(),
        "a copy opens no private record: it knows nobody's enrolment"
    );
    let entry_bytes = origin.entries(0, 1).expect("an entry")[0].len();
    let backlog_bytes = count * entry_bytes;
    let transient = peak.saturating_sub(after.max(before));
    eprintln!(
        "catch-up of {count} entries ({backlog_bytes} bytes): {rounds} rounds, heap before {before} B, \
         after {after} B, peak {peak} B, transient above the kept copy {transient} B"
    );
    assert!(rounds > 1, "the deadline split the catch-up into rounds");
    const TRANSIENT_BYTES_MAX: usize = 16 * 1024 * 1024;
    assert!(
        transient < TRANSIENT_BYTES_MAX,
        "a catch-up buffered {transient} bytes beyond the copy (bound {TRANSIENT_BYTES_MAX})"
    );
    mirror.shutdown().await;
    origin.shutdown().await;
}

/// While a long catch-up runs, an evaluation does not wait behind it: it
/// answers UNAVAILABLE with how far the catch-up got.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_never_waits_behind_a_long_catch_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let origin = open_ledger(&dir.path().join("ms")).expect("MS opens");
    grow(&origin, "backlog", 5_000).await;
    let size = origin.published().checkpoint.size;
    let options = FederationOptions {
        follow_interval: Duration::from_millis(10),
        limits: FollowLimits {
            chunk_entries: 64,
            round_deadline: Duration::from_secs(3),
        },
        evaluation_catch_up: Duration::from_millis(200),
        ..FederationOptions::default()
    };
    let entry = TrustEntry {
        state: "MS".into(),
        endpoint: "http://127.0.0.1:1".into(),
        key: origin.verifier().to_key_string(),
        ca_cert: None,
        witness: None,
    };
    let tn_dir = dir.path().join("tn");
    let connector = Arc::new(To(Partner {
        log: origin.clone(),
        attack: Attack::Faithful,
    }));
    let federation = Federation::open(&tn_dir, "TN", &TrustList { entries: vec![entry] }, options, connector)
        .expect("federation opens");
    let tn_ledger = Ledger::open(common::options_for(&tn_dir, "TN")).expect("TN's log opens");
    federation.spawn_followers(&tn_ledger).expect("followers start");
    let partner = federation.partner("MS").expect("MS trusted").clone();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let answer = partner.catch_up_to(size).await;
    let waited = started.elapsed();
    match &answer {
        Err(Error::Unavailable(message)) => assert!(
            message.contains("catching up") || message.contains("deadline"),
            "{message}"
        ),
        other => panic!(
            "expected UNAVAILABLE while catching up, got {:?}",
            other.as_ref().map(|_| ())
        ),
    }
    assert!(waited < Duration::from_secs(2), "the evaluation waited {waited:?}");
    let status = federation.status().expect("status");
    assert!(
        matches!(
            status[0].follow,
            FollowState::CatchingUp { .. } | FollowState::NotYetFollowed
        ),
        "{:?}",
        status[0].follow
    );
    // The follower finishes by itself.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while partner.mirror().is_none_or(|m| m.published().checkpoint.size < size) {
        assert!(std::time::Instant::now() < deadline, "the follower did not catch up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(partner.catch_up_to(size).await.is_ok());
    federation.shutdown().await;
    tn_ledger.shutdown().await;
    origin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_signed_entries_at_one_index_are_a_proven_equivocation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (origin, fork, mirror) = forked(dir.path(), 4, 4, 4).await;

    let genuine = origin.entries(5, 6).expect("entry 5").remove(0);
    let forked = fork.entries(5, 6).expect("entry 5").remove(0);
    assert_ne!(genuine, forked, "the fork signed another entry 5");
    assert_eq!(
        mirror::conflicting_entry(&mirror, &[(5, &genuine)]).expect("checked"),
        None
    );
    let proof = mirror::conflicting_entry(&mirror, &[(2, &genuine[..0]), (5, &forked)])
        .expect("checked")
        .expect("a proof");
    let key = origin.verifier().clone();
    let shown = mirror::verify_equivocation(&proof, &key).expect("re-checks offline");
    assert!(shown.contains("index 5"), "{shown}");
    let other = NoteVerifier::parse(&signer("peerreg.local/ms2").verifier().to_key_string()).expect("key");
    assert!(
        mirror::verify_equivocation(&proof, &other).is_err(),
        "another key proves nothing"
    );
    let mirror::EquivocationProof::TwoEntries {
        state, index, first, ..
    } = proof
    else {
        panic!("two entries expected");
    };
    let same = mirror::EquivocationProof::TwoEntries {
        state,
        index,
        second: first.clone(),
        first,
    };
    assert!(
        mirror::verify_equivocation(&same, &key).is_err(),
        "one entry twice proves nothing"
    );
    mirror.shutdown().await;
    origin.shutdown().await;
    fork.shutdown().await;
}
