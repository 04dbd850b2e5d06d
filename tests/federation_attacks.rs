//! Federation under attack: a receiving state (TN) evaluates a transfer from an
//! origin (MS) whose node is a fake that serves doctored evidence, is down, or
//! forks its log. Every node is real (sled in a temp dir, gRPC on a loopback
//! port); only the fake origin's `Reciprocity` lies, and it lies with evidence
//! built by the library from the genuine MS log.
//!
//! What must hold: doctored evidence is never APPROVED; it is a recorded DENIED
//! naming what is wrong. An unreachable, untrusted or equivocating origin, or a
//! malformed request, is an error and records nothing.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use common::board::{ce, discipline, enrol, exam, issue, qualification, training};
use common::{options_for, serve_options, TestNode, ADMIN_TOKEN, CLERK_TOKEN};
use peerreg::clock::{Clock, SystemClock};
use peerreg::demo::days_ago;
use peerreg::domain::fact::TransferOutcome;
use peerreg::federation::Federation;
use peerreg::ledger::Ledger;
use peerreg::log::entry::{decode_entry, sign_event};
use peerreg::log::note::NoteSigner;
use peerreg::mirror::{self, EquivocationRecord, MirrorSpec};
use peerreg::pb;
use peerreg::service::client::NodeClient;
use peerreg::service::rpc::reciprocity_server::{Reciprocity, ReciprocityServer};
use peerreg::service::rpc::transparency_log_server::TransparencyLogServer;
use peerreg::service::server::ServeOptions;
use peerreg::service::TransparencyLogService;
use prost::Message;
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

const HOLDER: &str = "MS-P-HOLDER";
const HOLDER_NAME: &str = "Jordan Reyes";
const CREDENTIAL: &str = "MS-1";
const OTHER: &str = "MS-P-OTHER";
const OTHER_CREDENTIAL: &str = "MS-2";
const MS_ORIGIN: &str = "peerreg.local/ms";
/// The longest any poll loop waits.
const WAIT_MAX: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------- MS's log

/// Where the setup's events landed in MS's log.
#[derive(Clone, Debug)]
struct MsLog {
    enrolled: u64,
    /// A failed exam attempt of the holder (a private record, before the pass).
    failed_exam: u64,
    issued: u64,
    suspended: u64,
    other_issued: u64,
    /// The log's size after the setup.
    size: u64,
    /// The genuine bundle for MS-1 as it stood just before the suspension.
    before_suspension: pb::EvidenceBundle,
}

fn today() -> NaiveDate {
    SystemClock.today()
}

/// The issue date: 300 days ago, so that the expiry below stays within the
/// profile's 2-year validity.
fn issued_on() -> String {
    days_ago(300)
}

/// An expiry comfortably after today (the credential is valid today).
fn expiry() -> String {
    today()
        .checked_add_days(Days::new(400))
        .expect("a date in range")
        .to_string()
}

/// A certified holder of MS-1 (a failed exam attempt, then qualified in 2024,
/// issued 300 days ago) who consents to disclose their record to
/// `consent_to`, then suspended 30 days ago with no reinstatement (within
/// TN's 2-year look-back); and, interleaved, someone else with their own
/// credential.
async fn certify_and_suspend(ms: &Ledger, consent_to: &str) -> MsLog {
    let enrolled = common::record(ms, vec![enrol(HOLDER, HOLDER_NAME)]).await[0];
    let failed_exam = common::record(ms, vec![exam(HOLDER, 60, "2024-01-15")]).await[0];
    common::record(ms, qualification(HOLDER)).await;
    common::record(ms, vec![enrol(OTHER, "Sam Other")]).await;
    common::record(ms, qualification(OTHER)).await;
    let issued = common::record(ms, vec![issue(HOLDER, CREDENTIAL, &issued_on(), &expiry())]).await[0];
    let other_issued = common::record(ms, vec![issue(OTHER, OTHER_CREDENTIAL, &issued_on(), &expiry())]).await[0];
    common::record(ms, vec![common::consent(HOLDER, consent_to)]).await;
    let before_suspension = peerreg::evidence::bundle(ms, CREDENTIAL, consent_to)
        .expect("a genuine bundle")
        .bundle;
    let suspension = discipline(CREDENTIAL, pb::DisciplineKind::Suspension, &days_ago(30), "");
    let suspended = common::record(ms, vec![suspension]).await[0];
    let size = ms.published().checkpoint.size;
    assert_eq!(size, suspended + 1, "the suspension is MS's latest entry");
    let registry = ms.registry();
    let credential = registry.credential(CREDENTIAL).expect("MS-1 issued");
    assert_eq!(
        credential.status_on(today()).as_str(),
        "suspended",
        "the genuine MS-1 is suspended today"
    );
    MsLog {
        enrolled,
        failed_exam,
        issued,
        suspended,
        other_issued,
        size,
        before_suspension,
    }
}

// ---------------------------------------------------------------- the fake origin

/// How the fake origin doctors the genuine bundle.
#[derive(Clone, Debug)]
enum Attack {
    /// The genuine bundle, untouched.
    Faithful,
    /// Entry `index` re-signed with another key (another key id).
    Forge(u64),
    /// One byte of entry `index`'s signed event changed, the signature kept.
    Tamper(u64),
    /// Entry `index` without its inclusion proof.
    DropProof(u64),
    /// Entry `index` left out.
    Omit(u64),
    /// The record committed in entry `index` opened with its body changed
    /// (a failed exam made a pass), its opening kept.
    ForgeOpening(u64),
    /// Someone else's entry `index` slipped in (with its genuine proof).
    AddSomeoneElse(u64),
    /// An older genuine bundle (signed, complete at its own checkpoint) replayed.
    Replay(Box<pb::EvidenceBundle>),
}

/// A key with MS's name that is not MS's pinned key.
fn forger() -> NoteSigner {
    NoteSigner::from_seed(MS_ORIGIN, [7; 32]).expect("a valid key")
}

fn entry_at(bundle: &mut pb::EvidenceBundle, index: u64) -> &mut pb::ProvenEntry {
    bundle
        .entries
        .iter_mut()
        .find(|e| e.index == index)
        .unwrap_or_else(|| panic!("the genuine bundle holds entry {index}"))
}

/// Applies `attack` to a genuine bundle built from `ms`.
fn doctor(bundle: &mut pb::EvidenceBundle, attack: &Attack, ms: &Ledger) {
    match attack {
        Attack::Faithful => {}
        Attack::Replay(old) => *bundle = (**old).clone(),
        Attack::Forge(index) => {
            let index = *index;
            let proven = entry_at(bundle, index);
            let (genuine, event) = decode_entry(index, &proven.entry).expect("a genuine entry decodes");
            let forged = sign_event(&event, &forger());
            assert_eq!(forged.event, genuine.event, "the same event bytes");
            assert_ne!(forged.key_id, genuine.key_id, "another key id");
            proven.entry = forged.encode_to_vec();
        }
        Attack::Tamper(index) => {
            let index = *index;
            let proven = entry_at(bundle, index);
            let mut entry = pb::LogEntry::decode(proven.entry.as_slice()).expect("a genuine entry decodes");
            // Inside a string field (the public effective date), so it still
            // decodes: the suspension moved back a thousand years.
            let needle = days_ago(30).into_bytes();
            let at = entry
                .event
                .windows(needle.len())
                .position(|w| *w == needle[..])
                .expect("the effective date is in the signed event");
            entry.event[at] = b'1';
            let event = pb::Event::decode(entry.event.as_slice()).expect("the altered event still decodes");
            let effective_on = match event.body {
                Some(pb::event::Body::DisciplineImposed(action)) => action.effective_on,
                other => panic!("entry {index} is not the suspension: {other:?}"),
            };
            assert!(effective_on.starts_with('1'), "{effective_on}");
            proven.entry = entry.encode_to_vec();
        }
        Attack::ForgeOpening(index) => {
            let index = *index;
            let proven = entry_at(bundle, index);
            let (_, event) = decode_entry(index, &proven.entry).expect("a genuine entry decodes");
            let tag = match event.body {
                Some(pb::event::Body::Record(record)) => record.record.expect("a record reference").tag,
                other => panic!("entry {index} is not a committed record: {other:?}"),
            };
            let opening = bundle
                .openings
                .iter_mut()
                .find(|o| o.tag == tag)
                .expect("the genuine bundle opens the record");
            let mut exam = pb::ExamRecorded::decode(opening.body.as_slice()).expect("the exam record decodes");
            assert!(exam.score_percent < exam.pass_mark_percent, "a failed attempt");
            exam.score_percent = 95;
            opening.body = exam.encode_to_vec();
        }
        Attack::DropProof(index) => {
            let index = *index;
            let proven = entry_at(bundle, index);
            assert!(!proven.inclusion_proof.is_empty());
            proven.inclusion_proof.clear();
        }
        Attack::Omit(index) => {
            let index = *index;
            let before = bundle.entries.len();
            bundle.entries.retain(|e| e.index != index);
            assert_eq!(bundle.entries.len(), before - 1, "entry {index} was in the bundle");
        }
        Attack::AddSomeoneElse(index) => {
            let index = *index;
            assert!(bundle.entries.iter().all(|e| e.index != index), "not the holder's own");
            let size = ms.published().checkpoint.size;
            let foreign = peerreg::evidence::proven_entries(ms, &[index], size).expect("a proven entry");
            bundle.entries.extend(foreign);
            bundle.entries.sort_by_key(|e| e.index);
        }
    }
}

/// The fake's `Reciprocity`: the genuine bundle from the real MS log, doctored.
struct LyingReciprocity {
    ms: Ledger,
    attack: Attack,
}

#[tonic::async_trait]
impl Reciprocity for LyingReciprocity {
    async fn get_evidence(
        &self,
        request: Request<pb::GetEvidenceRequest>,
    ) -> Result<Response<pb::EvidenceBundle>, Status> {
        let number = request.into_inner().credential_number;
        let mut bundle = peerreg::evidence::bundle(&self.ms, &number, "TN")
            .map_err(|e| Status::not_found(e.to_string()))?
            .bundle;
        doctor(&mut bundle, &self.attack, &self.ms);
        Ok(Response::new(bundle))
    }

    async fn evaluate_transfer(
        &self,
        _: Request<pb::EvaluateTransferRequest>,
    ) -> Result<Response<pb::TransferDecision>, Status> {
        Err(Status::unimplemented("the fake origin evaluates nothing"))
    }
}

/// A fake MS node: `TransparencyLog` over a frozen verified copy of MS's log,
/// and a lying `Reciprocity`.
struct FakeOrigin {
    endpoint: String,
    frozen: Ledger,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl FakeOrigin {
    /// Seeds a verified copy of `genuine`'s log in `dir` (never followed
    /// afterwards) and serves it with `attack` applied to `ms`'s bundles.
    async fn start(dir: &Path, genuine: &TestNode, attack: Attack) -> FakeOrigin {
        let spec = MirrorSpec {
            origin: MS_ORIGIN.into(),
            endpoint: genuine.endpoint.clone(),
            verifier: genuine.ledger.verifier().clone(),
        };
        let frozen = common::caught_up_mirror(dir, &spec, &genuine.client().await).await;
        assert_eq!(frozen.published().checkpoint, genuine.ledger.published().checkpoint);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let log = TransparencyLogServer::new(TransparencyLogService::new(frozen.clone()));
        let reciprocity = ReciprocityServer::new(LyingReciprocity {
            ms: genuine.ledger.clone(),
            attack,
        });
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(log)
                .add_service(reciprocity)
                .serve_with_incoming_shutdown(tokio_stream::wrappers::TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                }),
        );
        FakeOrigin {
            endpoint,
            frozen,
            stop,
            server,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.server
            .await
            .expect("fake server task")
            .expect("fake server ran cleanly");
        self.frozen.shutdown().await;
    }
}

// ---------------------------------------------------------------- MS and TN

/// Serves MS's log in `dir`, trusting TN and VA (so it can authenticate their
/// evidence requests; it follows neither).
async fn serve_ms(ledger: Ledger, dir: &Path) -> TestNode {
    let trusted = [("TN", "http://127.0.0.1:1"), ("VA", "http://127.0.0.1:1")];
    let federation = common::federation(dir, "MS", &trusted).expect("MS's federation opens");
    let options = ServeOptions {
        federation: Some(federation),
        ..serve_options()
    };
    TestNode::serve_with(ledger, dir, options).await
}

/// Serves TN's log in `dir` with a federation trusting MS at `ms_endpoint`.
async fn start_tn(dir: &Path, ms_endpoint: &str, follow: bool) -> (TestNode, Arc<Federation>) {
    let ledger = Ledger::open(options_for(dir, "TN")).expect("TN's log opens");
    let federation = common::federation(dir, "TN", &[("MS", ms_endpoint)]).expect("TN's federation opens");
    if follow {
        federation.spawn_followers(&ledger).expect("TN's followers start");
    }
    let options = ServeOptions {
        federation: Some(federation.clone()),
        ..serve_options()
    };
    (TestNode::serve_with(ledger, dir, options).await, federation)
}

async fn stop_tn(tn: TestNode, federation: Arc<Federation>) {
    tn.stop().await;
    federation.shutdown().await;
}

fn request(origin: &str, number: &str) -> pb::EvaluateTransferRequest {
    pb::EvaluateTransferRequest {
        origin_state: origin.into(),
        credential_number: number.into(),
        local_peer_id: String::new(),
        application_date: String::new(),
    }
}

async fn evaluate_as(
    tn: &TestNode,
    token: Option<&str>,
    origin: &str,
    number: &str,
) -> peerreg::error::Result<pb::TransferDecision> {
    NodeClient::connect(&tn.endpoint, token.map(str::to_string))
        .await
        .expect("connect to TN")
        .evaluate_transfer(request(origin, number))
        .await
}

async fn evaluate(tn: &TestNode) -> peerreg::error::Result<pb::TransferDecision> {
    evaluate_as(tn, Some(ADMIN_TOKEN), "MS", CREDENTIAL).await
}

fn size(ledger: &Ledger) -> u64 {
    ledger.published().checkpoint.size
}

fn outcome(decision: &pb::TransferDecision) -> pb::TransferOutcome {
    pb::TransferOutcome::try_from(decision.outcome).expect("a known outcome")
}

/// DENIED with a reason containing every fragment, recorded as TN's next entry.
fn assert_denied_and_recorded(tn: &Ledger, size_before: u64, decision: &pb::TransferDecision, fragments: &[&str]) {
    assert_eq!(outcome(decision), pb::TransferOutcome::Denied, "{decision:#?}");
    assert!(
        decision.denials.iter().any(|d| fragments.iter().all(|f| d.contains(f))),
        "no denial mentions all of {fragments:?}: {:#?}",
        decision.denials
    );
    let receipt = decision.receipt.as_ref().expect("the decision is recorded");
    assert_eq!(receipt.index, size_before, "recorded as TN's next entry");
    assert_eq!(size(tn), size_before + 1, "TN's log grew by exactly the decision");
    let registry = tn.registry();
    let recorded = registry
        .evaluation("MS", CREDENTIAL)
        .expect("the evaluation is in TN's registry");
    assert_eq!(recorded.index, receipt.index);
    assert_eq!(recorded.outcome, TransferOutcome::Denied);
    assert_eq!(
        recorded.denials, decision.denials,
        "the recorded reasons are the ones answered"
    );
}

fn mentions_suspension(decision: &pb::TransferDecision) -> bool {
    decision.denials.iter().any(|d| d.contains("suspended"))
}

// ---------------------------------------------------------------- the scenario

/// A genuine MS node, a fake MS origin in front of a frozen copy of its log,
/// and TN trusting the fake as MS.
struct Scenario {
    ms: TestNode,
    fake: FakeOrigin,
    tn: TestNode,
    federation: Arc<Federation>,
    log: MsLog,
    _dirs: [TempDir; 3],
}

impl Scenario {
    async fn start(attack: impl FnOnce(&MsLog) -> Attack) -> Scenario {
        let dirs = [tempdir(), tempdir(), tempdir()];
        let [ms_dir, fake_dir, tn_dir] = &dirs;
        let ms_ledger = Ledger::open(options_for(ms_dir.path(), "MS")).expect("MS's log opens");
        let log = certify_and_suspend(&ms_ledger, "TN").await;
        let ms = serve_ms(ms_ledger, ms_dir.path()).await;
        let fake = FakeOrigin::start(fake_dir.path(), &ms, attack(&log)).await;
        let (tn, federation) = start_tn(tn_dir.path(), &fake.endpoint, true).await;
        Scenario {
            ms,
            fake,
            tn,
            federation,
            log,
            _dirs: dirs,
        }
    }

    async fn stop(self) {
        stop_tn(self.tn, self.federation).await;
        self.fake.stop().await;
        self.ms.stop().await;
    }
}

fn tempdir() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

// ---------------------------------------------------------------- doctored evidence

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_entry_is_denied_as_not_signed_by_the_pinned_key() {
    let s = Scenario::start(|log| Attack::Forge(log.issued)).await;
    let before = size(&s.tn.ledger);
    let decision = evaluate(&s.tn).await.expect("a decision, not an error");
    let entry = format!("entry {}", s.log.issued);
    assert_denied_and_recorded(&s.tn.ledger, before, &decision, &[&entry, "pinned key", "forged"]);
    assert!(
        !mentions_suspension(&decision),
        "the rules never ran: {:?}",
        decision.denials
    );
    assert!(decision.origin_checkpoint.is_empty(), "nothing was verified");
    assert!(decision.holder_name.is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_entry_is_denied_as_altered_after_signing() {
    let s = Scenario::start(|log| Attack::Tamper(log.suspended)).await;
    let before = size(&s.tn.ledger);
    let decision = evaluate(&s.tn).await.expect("a decision, not an error");
    let entry = format!("entry {}", s.log.suspended);
    assert_denied_and_recorded(&s.tn.ledger, before, &decision, &[&entry, "signature does not verify"]);
    assert!(
        !decision.denials.iter().any(|d| d.contains("not a valid")),
        "the altered entry still decodes: {:?}",
        decision.denials
    );
    assert!(decision.origin_checkpoint.is_empty(), "nothing was verified");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_without_its_inclusion_proof_is_denied() {
    let s = Scenario::start(|log| Attack::DropProof(log.suspended)).await;
    let before = size(&s.tn.ledger);
    let decision = evaluate(&s.tn).await.expect("a decision, not an error");
    let entry = format!("entry {}", s.log.suspended);
    assert_denied_and_recorded(&s.tn.ledger, before, &decision, &[&entry, "without an inclusion proof"]);
    assert_eq!(
        decision.denials.len(),
        1,
        "only that entry fails: {:?}",
        decision.denials
    );
    assert!(decision.origin_checkpoint.is_empty(), "nothing was verified");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_that_omits_the_suspension_is_denied_as_incomplete() {
    let s = Scenario::start(|log| Attack::Omit(log.suspended)).await;
    let before = size(&s.tn.ledger);
    let decision = evaluate(&s.tn).await.expect("a decision, not an error");
    let entry = format!("entry {}", s.log.suspended);
    assert_denied_and_recorded(
        &s.tn.ledger,
        before,
        &decision,
        &["incomplete", &entry, "disciplinary action"],
    );
    // What remains verified entry by entry: the holder and an active credential.
    // Only TN's own copy of MS's log shows what is missing.
    assert_eq!(
        decision.denials.len(),
        1,
        "incompleteness is the only reason: {:?}",
        decision.denials
    );
    assert!(!mentions_suspension(&decision), "{:?}", decision.denials);
    assert_eq!(decision.holder_name, HOLDER_NAME, "the remaining bundle verified");
    assert_eq!(
        decision.origin_status,
        pb::CredentialStatus::Suspended as i32,
        "the status reported is the one TN's verified copy shows, not the doctored bundle's"
    );
    assert!(
        !decision.origin_checkpoint.is_empty(),
        "the bundle's checkpoint verified"
    );
    let copy = s
        .federation
        .partner("MS")
        .expect("MS trusted")
        .mirror()
        .expect("TN's copy seeded");
    assert_eq!(
        size(&copy),
        s.log.size,
        "TN's copy holds the whole log, suspension included"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_entry_in_the_bundle_is_denied() {
    let s = Scenario::start(|log| Attack::AddSomeoneElse(log.other_issued)).await;
    let before = size(&s.tn.ledger);
    let decision = evaluate(&s.tn).await.expect("a decision, not an error");
    let entry = format!("entry {}", s.log.other_issued);
    assert_denied_and_recorded(&s.tn.ledger, before, &decision, &[&entry, "not about this holder"]);
    assert!(
        !mentions_suspension(&decision),
        "the rules never ran: {:?}",
        decision.denials
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_against_a_checkpoint_the_log_never_showed_is_denied() {
    let s = Scenario::start(|_| Attack::Faithful).await;
    let frozen_at = size(&s.fake.frozen);
    assert_eq!(frozen_at, s.log.size);
    // The real log moves on; the fake's TransparencyLog never shows it, but
    // its Reciprocity serves the genuine bundle from the bigger log.
    let more = vec![
        ce(HOLDER, "ethics", 2, &days_ago(3)),
        ce(HOLDER, "suicide_prevention", 2, &days_ago(2)),
        ce(HOLDER, "harm_reduction", 2, &days_ago(1)),
    ];
    common::record(&s.ms.ledger, more).await;
    let grown = size(&s.ms.ledger);
    assert_eq!(grown, frozen_at + 3);
    assert_eq!(size(&s.fake.frozen), frozen_at, "the fake's copy stays frozen");

    let before = size(&s.tn.ledger);
    let decision = evaluate(&s.tn).await.expect("a decision, not an error");
    let offered = format!("size {grown}");
    let held = format!("size {frozen_at}");
    assert_denied_and_recorded(&s.tn.ledger, before, &decision, &["never shown", &offered, &held]);
    assert_eq!(decision.denials.len(), 1, "{:?}", decision.denials);
    assert_eq!(decision.holder_name, HOLDER_NAME, "every entry of the bundle verified");
    let copy = s
        .federation
        .partner("MS")
        .expect("MS trusted")
        .mirror()
        .expect("TN's copy seeded");
    assert_eq!(size(&copy), frozen_at, "TN's copy could only reach what the log showed");
    s.stop().await;
}

/// TN's own record of the holder, closing every gap TN's profile finds in
/// MS's qualification (training, CE, TN's orientation). Returns the peer id.
async fn tn_local_record(tn: &Ledger) -> &'static str {
    const LOCAL: &str = "TN-P-HOLDER";
    let bridge = training(
        LOCAL,
        "TN-BRIDGE",
        28,
        &days_ago(20),
        &[("helps_manage_crises", 2), ("supports_recovery_planning", 2)],
    );
    let bodies = vec![
        enrol(LOCAL, HOLDER_NAME),
        bridge,
        training(LOCAL, "TN-ORIENT", 3, &days_ago(15), &[]),
        ce(LOCAL, "ethics", 6, &days_ago(12)),
        ce(LOCAL, "peer_specific", 18, &days_ago(11)),
    ];
    common::record(tn, bodies).await;
    LOCAL
}

/// A replayed genuine bundle from before the suspension: signed by MS's key,
/// every entry proven, complete at its own (older) checkpoint, consistent with
/// TN's copy of MS's log, which however holds the suspension recorded since.
/// The decision must be DENIED (MS-1 is suspended in the log TN verified), as
/// evidence out of date, naming the suspension recorded since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_bundle_from_before_the_suspension_is_denied() {
    let s = Scenario::start(|log| Attack::Replay(Box::new(log.before_suspension.clone()))).await;
    let stale = &s.log.before_suspension;
    assert!(stale.entries.iter().all(|e| e.index != s.log.suspended));
    assert!(stale.entries.iter().any(|e| e.index == s.log.issued));
    let local = tn_local_record(&s.tn.ledger).await;
    let before = size(&s.tn.ledger);
    let decision = NodeClient::connect(&s.tn.endpoint, Some(ADMIN_TOKEN.into()))
        .await
        .expect("connect to TN")
        .evaluate_transfer(pb::EvaluateTransferRequest {
            local_peer_id: local.into(),
            ..request("MS", CREDENTIAL)
        })
        .await
        .expect("a decision, not an error");
    let copy = s
        .federation
        .partner("MS")
        .expect("MS trusted")
        .mirror()
        .expect("TN's copy seeded");
    assert_eq!(size(&copy), s.log.size, "TN's verified copy holds the suspension");
    assert_ne!(
        outcome(&decision),
        pb::TransferOutcome::Approved,
        "a suspended MS credential is APPROVED on a replayed old bundle: {decision:#?}"
    );
    assert_denied_and_recorded(&s.tn.ledger, before, &decision, &["out of date", "disciplinary action"]);
    assert_ne!(
        decision.origin_status,
        pb::CredentialStatus::Active as i32,
        "TN reports MS-1 active although its verified copy of MS's log shows it suspended"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_faithful_fake_gives_the_genuine_decision_denied_for_the_suspension() {
    let s = Scenario::start(|_| Attack::Faithful).await;
    let before = size(&s.tn.ledger);
    let decision = evaluate(&s.tn).await.expect("a decision, not an error");
    assert_denied_and_recorded(&s.tn.ledger, before, &decision, &[CREDENTIAL, "suspended"]);
    assert_eq!(
        decision.denials.len(),
        1,
        "the suspension is the only denial: {:?}",
        decision.denials
    );
    assert_eq!(decision.holder_name, HOLDER_NAME);
    assert_eq!(decision.origin_status, pb::CredentialStatus::Suspended as i32);
    assert_eq!(
        decision.origin_checkpoint,
        s.ms.ledger.published().note.to_vec(),
        "verified against MS's genuine checkpoint"
    );
    // A second evaluation is recorded too (the log is append-only).
    let again = evaluate(&s.tn).await.expect("a decision");
    assert_denied_and_recorded(&s.tn.ledger, before + 1, &again, &["suspended"]);
    assert_eq!(s.log.enrolled, 0, "the holder's enrolment opens MS's log");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_that_omits_a_failed_exam_attempt_is_denied_as_incomplete() {
    let s = Scenario::start(|log| Attack::Omit(log.failed_exam)).await;
    let before = size(&s.tn.ledger);
    let decision = evaluate(&s.tn).await.expect("a decision, not an error");
    let entry = format!("entry {}", s.log.failed_exam);
    assert_denied_and_recorded(
        &s.tn.ledger,
        before,
        &decision,
        &["incomplete", &entry, "committed record"],
    );
    assert!(
        !decision.denials.iter().any(|d| d.contains("not about this holder")),
        "the records after the omitted one are still the holder's: {:?}",
        decision.denials
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_opening_is_denied_as_altered_after_it_was_committed() {
    let s = Scenario::start(|log| Attack::ForgeOpening(log.failed_exam)).await;
    let before = size(&s.tn.ledger);
    let decision = evaluate(&s.tn).await.expect("a decision, not an error");
    let entry = format!("entry {}", s.log.failed_exam);
    assert_denied_and_recorded(
        &s.tn.ledger,
        before,
        &decision,
        &[&entry, "does not open its commitment"],
    );
    assert!(decision.origin_checkpoint.is_empty(), "nothing was verified");
    s.stop().await;
}

/// The disclosures MS's board shows in the holder's record.
async fn disclosures(ms: &TestNode) -> Vec<pb::Disclosure> {
    NodeClient::connect(&ms.endpoint, Some(ADMIN_TOKEN.into()))
        .await
        .expect("connect to MS")
        .peer_record(HOLDER.into())
        .await
        .expect("the holder's record")
        .disclosures
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Evidence leaves MS only for a state the holder consented to, asked with a
/// request signed by that state's key; every disclosure is in the holder's
/// record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_is_disclosed_only_within_consent_and_every_disclosure_is_on_record() {
    let (ms_dir, tn_dir) = (tempdir(), tempdir());
    let ms_ledger = Ledger::open(options_for(ms_dir.path(), "MS")).expect("MS's log opens");
    let log = certify_and_suspend(&ms_ledger, "VA").await;
    let ms = serve_ms(ms_ledger, ms_dir.path()).await;
    let (tn, federation) = start_tn(tn_dir.path(), &ms.endpoint, true).await;
    let ms_public = NodeClient::connect(&ms.endpoint, None).await.expect("connect to MS");

    // Consent for VA only: TN is refused, nothing is disclosed or recorded.
    let refused = evaluate(&tn).await.expect_err("no consent for TN");
    assert_eq!(refused.code_name(), "PERMISSION_DENIED", "{refused}");
    assert!(refused.to_string().contains("consent"), "{refused}");
    assert_eq!(size(&tn.ledger), 0, "TN recorded nothing");
    assert!(tn.ledger.registry().evaluation("MS", CREDENTIAL).is_none());
    for number in [CREDENTIAL, "MS-404"] {
        let asked = common::evidence_request(&tn.ledger, "MS", number);
        let error = ms_public.evidence(asked).await.expect_err("no consent");
        assert_eq!(error.code_name(), "PERMISSION_DENIED", "{number}: {error}");
    }
    assert_eq!(size(&ms.ledger), log.size, "MS recorded no disclosure");
    assert!(disclosures(&ms).await.is_empty());

    // Requests not signed by a trusted state's key, for this origin, now.
    let genuine = common::evidence_request(&tn.ledger, "MS", CREDENTIAL);
    let mut bad_signature = genuine.clone();
    bad_signature.signature[0] ^= 1;
    let sign = |origin: &str, at: i64| {
        peerreg::evidence::signed_request(&tn.ledger, origin, CREDENTIAL, at).expect("TN signs")
    };
    let cases = [
        (
            "unsigned",
            pb::GetEvidenceRequest {
                signature: Vec::new(),
                ..genuine.clone()
            },
        ),
        ("a signature altered", bad_signature),
        (
            "signed for another credential",
            pb::GetEvidenceRequest {
                credential_number: OTHER_CREDENTIAL.into(),
                ..genuine.clone()
            },
        ),
        (
            "from a state MS does not trust",
            pb::GetEvidenceRequest {
                receiving_state: "GA".into(),
                ..genuine.clone()
            },
        ),
        (
            "not a state",
            pb::GetEvidenceRequest {
                receiving_state: "T N".into(),
                ..genuine.clone()
            },
        ),
        ("signed for another origin", sign("VA", unix_now())),
        ("signed an hour ago", sign("MS", unix_now() - 3600)),
    ];
    for (what, request) in cases {
        let error = ms_public.evidence(request).await.expect_err(what);
        assert_eq!(error.code_name(), "UNAUTHENTICATED", "{what}: {error}");
    }
    assert_eq!(size(&ms.ledger), log.size, "MS recorded no disclosure");
    assert!(disclosures(&ms).await.is_empty());

    // With the holder's consent for TN: disclosed, each time on record.
    let board = NodeClient::connect(&ms.endpoint, Some(ADMIN_TOKEN.into()))
        .await
        .expect("connect to MS");
    common::record_consent(&board, HOLDER, "TN").await;
    let decision = evaluate(&tn).await.expect("a decision");
    assert_denied_and_recorded(&tn.ledger, 0, &decision, &["suspended"]);
    let again = evaluate(&tn).await.expect("a decision");
    assert_denied_and_recorded(&tn.ledger, 1, &again, &["suspended"]);
    let shown = disclosures(&ms).await;
    assert_eq!(shown.len(), 2, "{shown:#?}");
    for disclosure in &shown {
        assert_eq!(
            (
                disclosure.receiving_state.as_str(),
                disclosure.credential_number.as_str()
            ),
            ("TN", CREDENTIAL)
        );
        assert!(disclosure.index < size(&ms.ledger));
    }
    stop_tn(tn, federation).await;
    ms.stop().await;
}

/// Whether any file under `dir` holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).expect("read dir").flatten().map(|e| e.path()));
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(path);
            }
        }
    }
    found
}

/// TN keeps what MS disclosed in its own private store, and erases it once
/// its follower sees MS's notice expunging the person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_received_are_erased_when_the_origin_expunges_the_person() {
    const COURSE: &str = "ZEPHYRINE-BRIDGE";
    let (ms_dir, tn_dir) = (tempdir(), tempdir());
    let ms_ledger = Ledger::open(options_for(ms_dir.path(), "MS")).expect("MS's log opens");
    certify_and_suspend(&ms_ledger, "TN").await;
    common::record(&ms_ledger, vec![training(HOLDER, COURSE, 2, &days_ago(5), &[])]).await;
    let ms = serve_ms(ms_ledger, ms_dir.path()).await;
    let (tn, federation) = start_tn(tn_dir.path(), &ms.endpoint, true).await;
    let decision = evaluate(&tn).await.expect("a decision");
    assert_eq!(outcome(&decision), pb::TransferOutcome::Denied, "{decision:#?}");

    let vault = tn.ledger.vault().expect("TN keeps a private store");
    let person = vault.person_ref(&peerreg::federation::received::received_person("MS", HOLDER));
    let held = vault.records_of(&person).expect("readable");
    let bodies: Vec<Vec<u8>> = held
        .iter()
        .map(|c| vault.record(c).expect("readable").expect("held").body)
        .collect();
    assert!(held.len() >= 6, "the holder's records are kept: {}", held.len());
    assert!(
        bodies
            .iter()
            .any(|b| b.windows(COURSE.len()).any(|w| w == COURSE.as_bytes())),
        "the course is among what TN received"
    );

    let board = NodeClient::connect(&ms.endpoint, Some(ADMIN_TOKEN.into()))
        .await
        .expect("connect to MS");
    let expunge = pb::command::Body::Expunge(pb::ExpungeCommand {
        target: Some(pb::expunge_command::Target::PeerId(HOLDER.into())),
        reason: pb::ExpungementReason::PersonRequest as i32,
    });
    board
        .record("expunge-holder".into(), expunge)
        .await
        .expect("MS expunges");
    wait_verified(&tn, size(&ms.ledger)).await;
    // The sweep erases, then persists its cursor: wait for both.
    let cursor_path = tn_dir.path().join("received").join("MS");
    let swept_to = || {
        let text = std::fs::read_to_string(&cursor_path).unwrap_or_default();
        text.trim().parse::<u64>().ok()
    };
    let deadline = Instant::now() + WAIT_MAX;
    while !vault.records_of(&person).expect("readable").is_empty()
        || swept_to().is_none_or(|at| at < size(&ms.ledger) - 1)
    {
        assert!(Instant::now() < deadline, "TN did not erase what MS expunged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        vault.person(&person).expect("readable").is_none(),
        "the key is destroyed"
    );
    for commitment in &held {
        assert!(vault.record(commitment).expect("readable").is_none());
    }
    let cursor = std::fs::read_to_string(&cursor_path).expect("the cursor is kept");
    assert!(cursor.trim().parse::<u64>().expect("an entry number") >= size(&ms.ledger) - 1);

    stop_tn(tn, federation).await;
    for needle in [HOLDER_NAME, COURSE] {
        let found = files_holding(tn_dir.path(), needle);
        assert!(found.is_empty(), "{needle:?} is in TN's files: {found:?}");
    }
    ms.stop().await;
}

// ---------------------------------------------------------------- errors: nothing recorded

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_is_down_is_unavailable_and_nothing_is_recorded() {
    let tn_dir = tempdir();
    let nowhere = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("local address")
    };
    let (tn, federation) = start_tn(tn_dir.path(), &format!("http://{nowhere}"), true).await;
    let before = size(&tn.ledger);
    let error = evaluate(&tn).await.expect_err("MS cannot be reached");
    assert_eq!(error.code_name(), "UNAVAILABLE", "{error}");
    assert_eq!(size(&tn.ledger), before, "nothing recorded");
    assert!(tn.ledger.registry().evaluation("MS", CREDENTIAL).is_none());
    stop_tn(tn, federation).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_origins_and_malformed_requests_are_refused_and_nothing_is_recorded() {
    let ms_dir = tempdir();
    let tn_dir = tempdir();
    let ms_ledger = Ledger::open(options_for(ms_dir.path(), "MS")).expect("MS's log opens");
    certify_and_suspend(&ms_ledger, "TN").await;
    let ms = serve_ms(ms_ledger, ms_dir.path()).await;
    let (tn, federation) = start_tn(tn_dir.path(), &ms.endpoint, true).await;
    let before = size(&tn.ledger);

    let cases: [(&str, Option<&str>, &str, &str, &str); 7] = [
        (
            "an untrusted origin",
            Some(ADMIN_TOKEN),
            "VA",
            CREDENTIAL,
            "FAILED_PRECONDITION",
        ),
        (
            "an empty credential number",
            Some(ADMIN_TOKEN),
            "MS",
            "",
            "INVALID_ARGUMENT",
        ),
        ("no token", None, "MS", CREDENTIAL, "UNAUTHENTICATED"),
        (
            "a wrong token",
            Some("not-a-token"),
            "MS",
            CREDENTIAL,
            "UNAUTHENTICATED",
        ),
        (
            "a token without the right",
            Some(CLERK_TOKEN),
            "MS",
            CREDENTIAL,
            "PERMISSION_DENIED",
        ),
        (
            "TN's own state",
            Some(ADMIN_TOKEN),
            "TN",
            CREDENTIAL,
            "INVALID_ARGUMENT",
        ),
        // An unknown number reads like a missing consent: MS tells a
        // trusted state nothing about a person who did not consent.
        (
            "a credential MS never issued",
            Some(ADMIN_TOKEN),
            "MS",
            "MS-404",
            "PERMISSION_DENIED",
        ),
    ];
    for (what, token, origin, number, code) in cases {
        let error = evaluate_as(&tn, token, origin, number).await.expect_err(what);
        assert_eq!(error.code_name(), code, "{what}: {error}");
        assert!(!error.to_string().is_empty(), "{what}: a message");
        assert_eq!(size(&tn.ledger), before, "{what}: nothing recorded");
    }
    let untrusted = evaluate_as(&tn, Some(ADMIN_TOKEN), "VA", CREDENTIAL)
        .await
        .expect_err("VA is not trusted");
    assert!(untrusted.to_string().contains("trust list"), "{untrusted}");
    let own = evaluate_as(&tn, Some(ADMIN_TOKEN), "TN", CREDENTIAL)
        .await
        .expect_err("TN is TN");
    assert!(own.to_string().contains("own state"), "{own}");
    assert_eq!(size(&tn.ledger), before);

    // The node still answers, and decides a well-formed request.
    let decision = evaluate(&tn).await.expect("a decision");
    assert_denied_and_recorded(&tn.ledger, before, &decision, &["suspended"]);
    stop_tn(tn, federation).await;
    ms.stop().await;
}

// ---------------------------------------------------------------- equivocation

/// A TCP proxy forwarding each new connection to the current target.
struct Proxy {
    endpoint: String,
    target: Arc<Mutex<SocketAddr>>,
    task: tokio::task::JoinHandle<()>,
}

fn address(endpoint: &str) -> SocketAddr {
    endpoint
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{endpoint} is an http://address:port endpoint"))
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let target = Arc::new(Mutex::new(target));
        let current = target.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let to = *current.lock().unwrap_or_else(|p| p.into_inner());
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Proxy { endpoint, target, task }
    }

    fn point_at(&self, endpoint: &str) {
        *self.target.lock().unwrap_or_else(|p| p.into_inner()) = address(endpoint);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What TN's node says it has verified of MS's log.
async fn ms_as_seen_by(tn: &TestNode) -> pb::TrustedState {
    let status = NodeClient::connect(&tn.endpoint, None)
        .await
        .expect("connect to TN")
        .federation_status()
        .await
        .expect("federation status");
    status
        .states
        .into_iter()
        .find(|s| s.state == "MS")
        .expect("MS is in TN's federation status")
}

/// Waits (bounded) until TN has verified MS's log at exactly `size`.
async fn wait_verified(tn: &TestNode, size: u64) -> pb::TrustedState {
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let seen = ms_as_seen_by(tn).await;
        if seen.verified_size == size {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "TN did not verify MS's log at size {size} within {WAIT_MAX:?}: {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (bounded) until TN reports an equivocation by MS.
async fn wait_equivocation(tn: &TestNode) -> pb::Equivocation {
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let seen = ms_as_seen_by(tn).await;
        if let Some(equivocation) = seen.equivocation {
            return equivocation;
        }
        assert!(
            Instant::now() < deadline,
            "TN did not report MS's equivocation within {WAIT_MAX:?}: {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_equivocation_refused(error: &peerreg::error::Error) {
    assert_eq!(error.code_name(), "FAILED_PRECONDITION", "{error}");
    assert!(error.to_string().contains("equivocated"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_forks_its_log_is_caught_blocks_decisions_across_restarts_until_acknowledged() {
    let (a_dir, b_dir, tn_dir) = (tempdir(), tempdir(), tempdir());
    let a_ledger = Ledger::open(options_for(a_dir.path(), "MS")).expect("MS's log opens");
    let log = certify_and_suspend(&a_ledger, "TN").await;
    let a = serve_ms(a_ledger, a_dir.path()).await;
    let proxy = Proxy::start(address(&a.endpoint)).await;
    let (tn, federation) = start_tn(tn_dir.path(), &proxy.endpoint, true).await;

    // TN follows the genuine MS through the proxy, and decides on it.
    wait_verified(&tn, log.size).await;
    let decision = evaluate(&tn).await.expect("a decision");
    assert_denied_and_recorded(&tn.ledger, 0, &decision, &["suspended"]);
    let recorded = size(&tn.ledger);
    let disclosed = size(&a.ledger);
    assert_eq!(disclosed, log.size + 1, "MS recorded the disclosure");

    // MS forks: the same log, copied while stopped, reopened twice with the
    // same key, each then extended differently by the same number of entries.
    a.stop().await;
    common::copy_tree(a_dir.path(), b_dir.path());
    let a = serve_ms(
        Ledger::open(options_for(a_dir.path(), "MS")).expect("A reopens"),
        a_dir.path(),
    )
    .await;
    let b = serve_ms(
        Ledger::open(options_for(b_dir.path(), "MS")).expect("B opens"),
        b_dir.path(),
    )
    .await;
    common::record(
        &a.ledger,
        vec![
            ce(HOLDER, "ethics", 3, &days_ago(4)),
            ce(HOLDER, "ethics", 3, &days_ago(3)),
        ],
    )
    .await;
    common::record(
        &b.ledger,
        vec![
            ce(HOLDER, "harm_reduction", 9, &days_ago(2)),
            ce(OTHER, "suicide_prevention", 1, &days_ago(1)),
        ],
    )
    .await;
    let forked_size = disclosed + 2;
    let (a_note, b_note) = (a.ledger.published(), b.ledger.published());
    assert_eq!(
        (a_note.checkpoint.size, b_note.checkpoint.size),
        (forked_size, forked_size)
    );
    assert_ne!(
        a_note.checkpoint.root, b_note.checkpoint.root,
        "same size, different root"
    );

    // TN sees A's extension, then B's contradicting tree of the same size.
    proxy.point_at(&a.endpoint);
    wait_verified(&tn, forked_size).await;
    proxy.point_at(&b.endpoint);
    let equivocation = wait_equivocation(&tn).await;
    assert_eq!(
        equivocation.held_checkpoint,
        a_note.note.to_vec(),
        "the checkpoint TN held"
    );
    assert_eq!(
        equivocation.offered_checkpoint,
        b_note.note.to_vec(),
        "the one contradicting it"
    );
    assert!(!equivocation.detail.is_empty());

    let refused = evaluate(&tn).await.expect_err("no decision on an equivocating log");
    assert_equivocation_refused(&refused);
    assert_eq!(size(&tn.ledger), recorded, "nothing recorded");

    // The evidence is on disk: both signed checkpoints.
    let mirror_dir = mirror::mirror_dir(tn_dir.path(), MS_ORIGIN);
    let evidence = mirror::equivocation_path(&mirror_dir);
    assert_eq!(
        evidence.parent().and_then(|p| p.parent()),
        Some(tn_dir.path().join("mirrors").as_path())
    );
    let record: EquivocationRecord =
        serde_json::from_slice(&std::fs::read(&evidence).expect("equivocation.json exists")).expect("readable");
    assert_eq!(record.origin, MS_ORIGIN);
    assert_eq!(record.checkpoints().0.as_bytes(), &a_note.note[..]);
    assert_eq!(record.checkpoints().1.as_bytes(), &b_note.note[..]);
    assert!(mirror::verify_equivocation(&record.proof, a.ledger.verifier()).is_ok());

    // A restart forgets nothing.
    stop_tn(tn, federation).await;
    let (tn, federation) = start_tn(tn_dir.path(), &proxy.endpoint, true).await;
    assert_eq!(size(&tn.ledger), recorded);
    let refused = evaluate(&tn).await.expect_err("still blocked after a restart");
    assert_equivocation_refused(&refused);
    let seen = ms_as_seen_by(&tn).await;
    let still = seen.equivocation.expect("the equivocation is still reported");
    assert_eq!(still.held_checkpoint, a_note.note.to_vec());
    assert_eq!(still.offered_checkpoint, b_note.note.to_vec());
    assert_eq!(seen.verified_size, forked_size, "TN's copy is A's");
    assert_eq!(size(&tn.ledger), recorded, "nothing recorded");

    // An operator acknowledges; with the genuine MS, decisions resume.
    proxy.point_at(&a.endpoint);
    let kept = mirror::acknowledge_equivocation(&mirror_dir)
        .expect("acknowledged")
        .expect("there was an equivocation to acknowledge");
    assert!(
        kept.exists() && !evidence.exists(),
        "the evidence is kept under another name"
    );
    let decision = evaluate(&tn).await.expect("decisions are no longer refused");
    assert_denied_and_recorded(&tn.ledger, recorded, &decision, &["suspended"]);
    assert_eq!(
        decision.origin_checkpoint,
        a.ledger.published().note.to_vec(),
        "verified against A's log (with this disclosure recorded)"
    );
    assert!(ms_as_seen_by(&tn).await.equivocation.is_none());

    stop_tn(tn, federation).await;
    a.stop().await;
    b.stop().await;
}
