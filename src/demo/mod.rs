//! `peerreg demo`: three state nodes (MS, TN, VA) in this process on loopback
//! ports, each with its shipped example profile and trusting the other two,
//! and the story peerreg exists for. A specialist certified in Mississippi
//! moves to Tennessee. Mississippi's board records the holder's consent to
//! disclose their record to Tennessee until a date; a stranger asking for the
//! evidence is refused (it is no trusted state), and so is Virginia (trusted,
//! but without the holder's consent). Tennessee evaluates the transfer with a
//! request signed by its log key; its example profile accepts a Mississippi
//! credential in good standing (`accept_credential_in_good_standing`), so no
//! training is re-tested and the only condition is Tennessee's own orientation.
//! Tennessee records the orientation, re-evaluates (approved, no extra
//! training) and grants its own credential by reciprocity; an employer checks it; Mississippi's board
//! record of the holder lists each disclosure; Mississippi suspends the
//! original and Tennessee's follower sees it; the holder then consents to
//! Virginia, whose evaluation is denied for standing.
//!
//! The steps are library functions so that the integration tests walk the
//! same story with assertions at each step; [`Demo::start_with_policy`] runs
//! it under another of Tennessee's policies (under `full_comparison` the first
//! evaluation is conditional on training hours too).

pub mod bodies;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use tokio::net::TcpListener;

use crate::auth::{hash_token, TokenEntry};
use crate::clock::{Clock, SystemClock};
use crate::config::NodeConfig;
use crate::domain::profile::ReciprocityPolicy;
use crate::error::{Error, Result};
use crate::federation::trust::{TrustEntry, TrustList};
use crate::federation::{Federation, FederationOptions};
use crate::ledger::Ledger;
use crate::log::note::NoteSigner;
use crate::node::{self, Node};
use crate::pb;
use crate::service::client::NodeClient;

/// The demo's states, each with its shipped example profile.
pub const STATES: [&str; 3] = ["MS", "TN", "VA"];
/// The transferring specialist.
pub const HOLDER: &str = "Alex Rivera";
pub const MS_PEER: &str = "MS-P-0001";
pub const MS_CREDENTIAL: &str = "MS-CPSS-0001";
pub const TN_PEER: &str = "TN-P-0001";
pub const TN_CREDENTIAL: &str = "TN-CPS-0001";
/// How often the demo's followers poll (a real node: every 2 s).
pub const DEMO_FOLLOW_INTERVAL: Duration = Duration::from_millis(200);

/// One running state node.
pub struct DemoNode {
    pub state: String,
    pub endpoint: String,
    pub verifier_key: String,
    /// The node's web page (and `/metrics`), if it serves one.
    pub web: Option<String>,
    pub ledger: Ledger,
    pub federation: Arc<Federation>,
    node: Node,
}

/// Three nodes trusting each other, and the admin token they share.
pub struct Demo {
    pub nodes: Vec<DemoNode>,
    pub token: String,
    pub dir: PathBuf,
}

fn random_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

impl Demo {
    /// Starts MS, TN and VA in `dir` (one sub-directory each) on loopback ports,
    /// each with its shipped example profile.
    pub async fn start(dir: &Path) -> Result<Demo> {
        Demo::start_with_policy(dir, None).await
    }

    /// As [`Demo::start`], with Tennessee's reciprocity policy for Mississippi
    /// set to `tn_policy_for_ms` if given.
    pub async fn start_with_policy(dir: &Path, tn_policy_for_ms: Option<ReciprocityPolicy>) -> Result<Demo> {
        Demo::start_serving(dir, tn_policy_for_ms, None).await
    }

    /// As [`Demo::start_with_policy`], with Mississippi's web side on
    /// `ms_http` when given (the others, and MS otherwise, on a free port).
    pub async fn start_serving(
        dir: &Path,
        tn_policy_for_ms: Option<ReciprocityPolicy>,
        ms_http: Option<SocketAddr>,
    ) -> Result<Demo> {
        let token = random_token()?;
        let mut listeners = Vec::new();
        let mut configs = Vec::new();
        let mut keys = Vec::new();
        for state in STATES {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| Error::Unavailable(format!("cannot bind a loopback port: {e}")))?;
            let address = listener
                .local_addr()
                .map_err(|e| Error::Internal(format!("no local address: {e}")))?;
            let mut config = node_config(&dir.join(state), state, &token)?;
            if let (Some(http), "MS") = (ms_http, state) {
                config.http = Some(http);
            }
            if let (Some(policy), "TN") = (tn_policy_for_ms, state) {
                config.profile.edit_each(|profile| {
                    profile.reciprocity.policies.insert("MS".into(), policy);
                });
            }
            // Each node's key first: the others pin it in their trust lists.
            let signer = node::signer(&config)?;
            keys.push((state, format!("http://{address}"), signer.verifier().to_key_string()));
            configs.push(config);
            listeners.push(listener);
        }
        let mut nodes = Vec::new();
        for ((state, ..), (config, listener)) in keys.iter().zip(configs.into_iter().zip(listeners)) {
            let others = keys
                .iter()
                .filter(|(other, ..)| other != state)
                .map(|(other, endpoint, key)| TrustEntry {
                    state: other.to_string(),
                    endpoint: endpoint.clone(),
                    key: key.clone(),
                    ca_cert: None,
                    witness: None,
                });
            TrustList::from_entries(others.collect())?.save(&config.data_dir)?;
            nodes.push(start_node(config, listener).await?);
        }
        Ok(Demo {
            nodes,
            token,
            dir: dir.to_path_buf(),
        })
    }

    pub fn node(&self, state: &str) -> Result<&DemoNode> {
        self.nodes
            .iter()
            .find(|n| n.state == state)
            .ok_or_else(|| Error::NotFound(format!("the demo runs no {state} node")))
    }

    /// A board client of `state`'s node (with the admin token).
    pub async fn board(&self, state: &str) -> Result<NodeClient> {
        NodeClient::connect(&self.node(state)?.endpoint, Some(self.token.clone())).await
    }

    /// A public client of `state`'s node (an employer, another state).
    pub async fn public(&self, state: &str) -> Result<NodeClient> {
        NodeClient::connect(&self.node(state)?.endpoint, None).await
    }

    /// Stops every node, closing their stores.
    pub async fn stop(self) {
        for node in self.nodes {
            if let Err(e) = node.node.stop().await {
                tracing::warn!(state = %node.state, "the demo node stopped with an error: {e}");
            }
        }
    }
}

/// A demo node's configuration: its own directory, the shipped example
/// profile of its state, the shared board token, fast followers.
fn node_config(dir: &Path, state: &str, token: &str) -> Result<NodeConfig> {
    let mut config = NodeConfig::for_state(state)?;
    config.http = crate::config::parse_http("127.0.0.1:0")?;
    config.data_dir = dir.to_path_buf();
    config.key_file = dir.join("log.key");
    config.tokens = vec![TokenEntry {
        name: "demo-board".into(),
        sha256: hash_token(token),
        operations: vec!["*".into()],
    }];
    config.federation = FederationOptions {
        follow_interval: DEMO_FOLLOW_INTERVAL,
        backoff_max: Duration::from_secs(2),
        ..FederationOptions::default()
    };
    Ok(config)
}

async fn start_node(config: NodeConfig, listener: TcpListener) -> Result<DemoNode> {
    let state = config.state.clone();
    let node = node::start(config, listener).await?;
    let federation = node
        .federation()
        .cloned()
        .ok_or_else(|| Error::Internal(format!("the {state} node runs no federation")))?;
    Ok(DemoNode {
        state,
        endpoint: node.endpoint(),
        web: node.web_endpoint(),
        verifier_key: node.startup().verifier_key.clone(),
        ledger: node.ledger().clone(),
        federation,
        node,
    })
}

/// `days` before today, as the events write dates.
pub fn days_ago(days: u64) -> String {
    let today: NaiveDate = SystemClock.today();
    today.checked_sub_days(Days::new(days)).unwrap_or(today).to_string()
}

fn days_ahead(days: u64) -> String {
    let today: NaiveDate = SystemClock.today();
    today.checked_add_days(Days::new(days)).unwrap_or(today).to_string()
}

fn event_id(step: &str) -> String {
    format!("demo-{step}")
}

/// Step 1: Mississippi certifies the specialist (56 training hours, an exam,
/// 260 volunteer hours), a year ago. Returns the issue's receipt.
pub async fn certify_in_ms(demo: &Demo) -> Result<pb::Receipt> {
    use bodies::*;
    let ms = demo.board("MS").await?;
    let domains = [
        ("ethical_responsibility", 8),
        ("shares_lived_experience", 6),
        ("engages_peers", 6),
        ("supports_recovery_planning", 4),
        ("helps_manage_crises", 6),
        ("links_to_resources", 4),
        ("advocacy", 6),
    ];
    let steps = [
        ("ms-enrol", enrol(MS_PEER, HOLDER)),
        ("ms-core", training(MS_PEER, "MS-CORE", 40, &days_ago(430), &domains)),
        (
            "ms-wellness",
            training(MS_PEER, "MS-WELLNESS", 16, &days_ago(420), &[("provides_support", 8)]),
        ),
        ("ms-exam", exam(MS_PEER, 86, &days_ago(410))),
        (
            "ms-volunteer",
            experience(
                MS_PEER,
                pb::ExperienceKind::Volunteer,
                260,
                &days_ago(800),
                &days_ago(400),
            ),
        ),
    ];
    for (id, body) in steps {
        ms.record(event_id(id), body).await?;
    }
    // Mississippi's toolkit evidence: before the training; applied after the experience.
    for (i, body) in toolkit_evidence_on(MS_PEER, &days_ago(440), &days_ago(390))
        .into_iter()
        .enumerate()
    {
        ms.record(event_id(&format!("ms-evidence-{i}")), body).await?;
    }
    ms.record(
        event_id("ms-issue"),
        issue(MS_PEER, MS_CREDENTIAL, &days_ago(365), &days_ahead(365)),
    )
    .await
}

/// How long the demo's consents run: a transfer takes weeks, not years.
pub const CONSENT_DAYS: u64 = 90;

/// The last day of a consent recorded today.
pub fn consent_until() -> String {
    days_ahead(CONSENT_DAYS)
}

/// Step 2: Mississippi's board records the holder's consent to disclose their
/// record to `state` until `until` (a private record of the holder; the log
/// holds only its commitment).
pub async fn consent(demo: &Demo, state: &str, until: &str) -> Result<pb::Receipt> {
    let body = pb::command::Body::ConsentRecorded(pb::ConsentRecorded {
        peer_id: MS_PEER.into(),
        receiving_state: state.into(),
        until: until.into(),
    });
    let id = event_id(&format!("ms-consent-{}", state.to_ascii_lowercase()));
    demo.board("MS").await?.record(id, body).await
}

/// A stranger asks Mississippi for the evidence directly, naming itself
/// `claimed_state` and signing with a key of its own (Mississippi pins none
/// for it, or another one). The answer is expected to be a refusal.
pub async fn stranger_asks(demo: &Demo, claimed_state: &str) -> Result<pb::EvidenceBundle> {
    let origin = format!("peerreg.stranger/{}", claimed_state.to_ascii_lowercase());
    let stranger =
        NoteSigner::generate(&origin).map_err(|e| Error::Internal(format!("no key for the stranger: {e}")))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let message = crate::evidence::request_message("MS", claimed_state, MS_CREDENTIAL, now);
    let request = pb::GetEvidenceRequest {
        credential_number: MS_CREDENTIAL.into(),
        receiving_state: claimed_state.into(),
        signed_at: now,
        signature: stranger.sign_bytes(&message).to_vec(),
    };
    demo.public("MS").await?.evidence(request).await
}

/// Mississippi's board view of the holder: with the consents recorded and
/// every disclosure made (boards only).
pub async fn holder_record(demo: &Demo) -> Result<pb::PeerRecord> {
    demo.board("MS").await?.peer_record(MS_PEER.into()).await
}

/// A board of `state` evaluates the transfer of the MS credential.
pub async fn evaluate(demo: &Demo, state: &str, local_peer: Option<&str>) -> Result<pb::TransferDecision> {
    let request = pb::EvaluateTransferRequest {
        origin_state: "MS".into(),
        credential_number: MS_CREDENTIAL.into(),
        local_peer_id: local_peer.unwrap_or_default().into(),
        application_date: String::new(),
    };
    demo.board(state).await?.evaluate_transfer(request).await
}

/// Under `full_comparison` only: the training gaps are closed by a 4-hour
/// recovery-planning course recorded in Mississippi.
pub async fn close_training_gaps(demo: &Demo) -> Result<()> {
    let course = bodies::training(
        MS_PEER,
        "MS-RECOVERY-PLANNING",
        4,
        &days_ago(10),
        &[("supports_recovery_planning", 4)],
    );
    let ms = demo.board("MS").await?;
    ms.record(event_id("ms-recovery-planning"), course).await?;
    Ok(())
}

/// Step 3: the remaining condition is closed: Tennessee's board enrols the
/// specialist and records its orientation (no extra training).
pub async fn close_gaps(demo: &Demo) -> Result<()> {
    use bodies::*;
    let tn = demo.board("TN").await?;
    tn.record(event_id("tn-enrol"), enrol(TN_PEER, HOLDER)).await?;
    tn.record(
        event_id("tn-orientation"),
        training(TN_PEER, "TN-ORIENT", 3, &days_ago(5), &[]),
    )
    .await?;
    Ok(())
}

/// Tennessee's reviewer waives the gap `requirement_id` of the MS credential's
/// transfer for TN's peer, with `reason` (a private record of that peer).
pub async fn waive(demo: &Demo, requirement_id: &str, reason: &str) -> Result<pb::Receipt> {
    let body = pb::command::Body::WaiverRecorded(pb::WaiverRecorded {
        peer_id: TN_PEER.into(),
        origin_state: "MS".into(),
        origin_credential_number: MS_CREDENTIAL.into(),
        requirement_id: requirement_id.into(),
        reason: reason.into(),
        waived_by: "TN reviewer".into(),
        recorded_on: days_ago(0),
    });
    let id = event_id(&format!("tn-waiver-{requirement_id}"));
    demo.board("TN").await?.record(id, body).await
}

/// Step 4: Tennessee grants its own credential by reciprocity, naming the
/// origin checkpoint the approved evaluation verified.
pub async fn grant_in_tn(demo: &Demo, approved: &pb::TransferDecision) -> Result<pb::Receipt> {
    let body = pb::command::Body::CredentialIssued(pb::CredentialIssued {
        imported: None,
        peer_id: TN_PEER.into(),
        credential_number: TN_CREDENTIAL.into(),
        credential_type: pb::CredentialType::PeerSupportSpecialist.into(),
        issued_on: days_ago(0),
        expires_on: days_ahead(730),
        reciprocity: Some(pb::ReciprocityBasis {
            origin_state: "MS".into(),
            origin_credential_number: MS_CREDENTIAL.into(),
            origin_checkpoint: approved.origin_checkpoint.clone(),
        }),
    });
    demo.board("TN").await?.record(event_id("tn-grant"), body).await
}

/// Step 5: an employer in Tennessee checks the new credential (public).
pub async fn employer_check(demo: &Demo) -> Result<pb::CredentialCheck> {
    let request = pb::CheckCredentialRequest {
        credential_number: TN_CREDENTIAL.into(),
        legal_name: HOLDER.into(),
        as_of: String::new(),
    };
    demo.public("TN").await?.check(request).await
}

/// Step 6: Mississippi suspends the original. Returns MS's log size after it.
pub async fn suspend_in_ms(demo: &Demo) -> Result<u64> {
    let body = bodies::discipline(MS_CREDENTIAL, pb::DisciplineKind::Suspension, &days_ago(0), "");
    let receipt = demo.board("MS").await?.record(event_id("ms-suspend"), body).await?;
    Ok(receipt.index + 1)
}

/// Waits (bounded) until `state`'s node has verified `origin`'s log up to `size`.
pub async fn wait_followed(demo: &Demo, state: &str, origin: &str, size: u64) -> Result<u64> {
    let client = demo.public(state).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = client.federation_status().await?;
        let verified = status
            .states
            .iter()
            .find(|s| s.state == origin)
            .map_or(0, |s| s.verified_size);
        if verified >= size {
            return Ok(verified);
        }
        if Instant::now() > deadline {
            return Err(Error::Unavailable(format!(
                "{state} has not followed {origin} to size {size} within 30 s (at {verified})"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The MS credential's status as `state`'s node verified it (no call to MS).
pub async fn origin_status(demo: &Demo, state: &str) -> Result<pb::OriginStatus> {
    demo.public(state)
        .await?
        .origin_status("MS".into(), MS_CREDENTIAL.into())
        .await
}

fn ms(since: Instant) -> String {
    format!("{:.1} ms", since.elapsed().as_secs_f64() * 1000.0)
}

fn say(step: &str, text: String) {
    println!("\n== {step}\n{text}");
}

/// `peerreg demo`'s options.
#[derive(clap::Args, Clone, Debug)]
pub struct DemoArgs {
    /// Where Mississippi's web page (and /metrics) listens; TN and VA take free ports.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Keep the three nodes serving after the story, until Ctrl-C.
    #[arg(long)]
    pub stay: bool,
}

/// Runs the story, printing each step and its figures; with `--stay`, the
/// nodes keep serving (pages, `/metrics`, gRPC) until Ctrl-C.
pub async fn run(args: DemoArgs) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("peerreg-demo-{}-{}", std::process::id(), random_token()?));
    let demo = Demo::start_serving(&dir, None, Some(args.http)).await?;
    let mut result = narrate(&demo).await;
    if result.is_ok() && args.stay {
        println!("\nThe nodes keep serving; Ctrl-C stops them.");
        for node in &demo.nodes {
            let web = node.web.as_deref().unwrap_or("no web side");
            println!(
                "  {}: {web} (metrics at {web}/metrics), gRPC {}",
                node.state, node.endpoint
            );
        }
        result = tokio::signal::ctrl_c()
            .await
            .map_err(|e| Error::Internal(format!("cannot wait for Ctrl-C: {e}")));
    }
    demo.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A step that must be refused: the refusal, or an error saying it was not.
fn refusal<T>(result: Result<T>, what: &str) -> Result<Error> {
    match result {
        Err(refused) => Ok(refused),
        Ok(_) => Err(Error::Internal(format!("{what} was answered, not refused"))),
    }
}

fn describe_refusal(refused: &Error) -> String {
    format!("refused, {}: {refused}", refused.code_name())
}

async fn narrate(demo: &Demo) -> Result<()> {
    for node in &demo.nodes {
        let web = node.web.as_deref().unwrap_or("none");
        println!(
            "{} node on {}, web {web} (key {})",
            node.state, node.endpoint, node.verifier_key
        );
    }
    let started = Instant::now();
    let issued = certify_in_ms(demo).await?;
    say(
        "1. Mississippi certifies the specialist",
        format!(
            "{HOLDER} ({MS_PEER}): 56 training hours, exam 86%, 260 volunteer hours; credential {MS_CREDENTIAL} \
             issued as MS log entry {} ({}); the log holds no name, course or score, only commitments",
            issued.index,
            ms(started)
        ),
    );
    let until = consent_until();
    let started = Instant::now();
    let consented = consent(demo, "TN", &until).await?;
    say(
        "2. Mississippi's board records the holder's consent",
        format!(
            "{HOLDER} consents to disclose their record to TN until {until}: a private record, MS log entry {} \
             holds only its commitment ({})",
            consented.index,
            ms(started)
        ),
    );
    narrate_refusals(demo).await?;
    narrate_transfer(demo).await?;
    narrate_after(demo).await?;
    println!("\nEvery answer above came from signed entries checked against pinned keys. Done.");
    Ok(())
}

/// Steps 3 and 4: who may not see the evidence.
async fn narrate_refusals(demo: &Demo) -> Result<()> {
    let started = Instant::now();
    let unknown = refusal(stranger_asks(demo, "TX").await, "a stranger's request")?;
    let unknown_ms = ms(started);
    let started = Instant::now();
    let posing = refusal(stranger_asks(demo, "TN").await, "a request signed as TN by a stranger")?;
    say(
        "3. A stranger asks Mississippi for the evidence",
        format!(
            "as TX, a state MS does not trust: {} ({unknown_ms})\n  as TN, signing with its own key: {} ({})",
            describe_refusal(&unknown),
            describe_refusal(&posing),
            ms(started)
        ),
    );
    let started = Instant::now();
    let virginia = refusal(
        evaluate(demo, "VA", None).await,
        "Virginia's evaluation without consent",
    )?;
    say(
        "4. Virginia, trusted but without the holder's consent, evaluates the transfer",
        format!("{} ({})", describe_refusal(&virginia), ms(started)),
    );
    Ok(())
}

/// Steps 5 to 9: the consented transfer, the grant and an employer's check.
async fn narrate_transfer(demo: &Demo) -> Result<()> {
    let started = Instant::now();
    let first = evaluate(demo, "TN", None).await?;
    let origin = first.origin_record.as_ref();
    say(
        "5. Tennessee evaluates the transfer (signed request + fetch + verify + decide)",
        format!(
            "{}\n  ({})\n{}",
            crate::cli::federation::describe_decision(&first),
            ms(started),
            origin.map_or_else(String::new, crate::cli::federation::describe_origin_record)
        ),
    );
    close_gaps(demo).await?;
    say(
        "6. The condition is closed",
        "no extra training: Tennessee accepts a Mississippi credential in good standing; its board enrols the \
         specialist as TN-P-0001 and records its own orientation (TN-ORIENT, 3 h)"
            .into(),
    );
    let started = Instant::now();
    let approved = evaluate(demo, "TN", Some(TN_PEER)).await?;
    let checkpoint_size = String::from_utf8_lossy(&approved.origin_checkpoint)
        .lines()
        .nth(1)
        .unwrap_or("?")
        .to_string();
    say(
        "7. Tennessee re-evaluates",
        format!(
            "{}\n  verified against MS checkpoint of size {checkpoint_size} ({})",
            crate::cli::federation::describe_decision(&approved),
            ms(started)
        ),
    );
    let granted = grant_in_tn(demo, &approved).await?;
    say(
        "8. Tennessee grants by reciprocity",
        format!(
            "{TN_CREDENTIAL} issued as TN log entry {}, basis: MS {MS_CREDENTIAL} at MS checkpoint {checkpoint_size}",
            granted.index
        ),
    );
    let started = Instant::now();
    let check = employer_check(demo).await?;
    say(
        "9. An employer in Tennessee checks the new credential",
        format!("{} ({})", crate::cli::describe_check(&check), ms(started)),
    );
    Ok(())
}

/// Steps 10 to 12: the holder's record of disclosures, a suspension followed,
/// and a later evaluation denied for standing.
async fn narrate_after(demo: &Demo) -> Result<()> {
    let started = Instant::now();
    let record = holder_record(demo).await?;
    say(
        "10. Mississippi's board record of the holder lists every disclosure",
        format!(
            "{}\n  (the refused requests disclosed nothing; {})",
            crate::cli::describe_consents(&record).join("\n"),
            ms(started)
        ),
    );
    let size = suspend_in_ms(demo).await?;
    let started = Instant::now();
    wait_followed(demo, "TN", "MS", size).await?;
    let seen = origin_status(demo, "TN").await?;
    say(
        "11. Mississippi suspends the original; Tennessee's follower sees it",
        format!(
            "TN's verified copy of MS's log reached {} entries {} after the suspension; {} is {} there",
            seen.verified_size,
            ms(started),
            MS_CREDENTIAL,
            crate::cli::status_name(seen.status)
        ),
    );
    consent(demo, "VA", &consent_until()).await?;
    let started = Instant::now();
    let virginia = evaluate(demo, "VA", None).await?;
    say(
        "12. The holder consents to Virginia too; Virginia evaluates the same credential now",
        format!(
            "{}\n  ({})",
            crate::cli::federation::describe_decision(&virginia),
            ms(started)
        ),
    );
    Ok(())
}
