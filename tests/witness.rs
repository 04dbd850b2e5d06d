//! States vouch for each other (C2SP tlog-witness and tlog-cosignature):
//! three real nodes, each a witness for the other two, over real loopback
//! gRPC and HTTP.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use peerreg::config::{self, NodeConfig};
use peerreg::federation::trust::{TrustEntry, TrustList, TrustedWitness};
use peerreg::ledger::{Ledger, LedgerOptions};
use peerreg::log::cosignature::WitnessPolicy;
use peerreg::log::note::{Checkpoint, NoteVerifier};
use peerreg::mirror::{verify_equivocation, EquivocationRecord};
use peerreg::node::{self, Listeners, Node};
use peerreg::pb;
use peerreg::service::client::{connect, NodeClient};
use peerreg::service::rpc::transparency_log_client::TransparencyLogClient;
use peerreg::witness::request::AddCheckpoint;
use tempfile::TempDir;
use tokio::net::TcpListener;

const STATES: [&str; 3] = ["MS", "TX", "PA"];

/// Where one state's node lives and who it is, known before any node starts
/// (each names the others' witnesses in its trust list).
struct Site {
    state: &'static str,
    dir: TempDir,
    grpc: std::net::SocketAddr,
    http: std::net::SocketAddr,
    log_key: String,
    witness_key: String,
    /// `witness_quorum` as configured (`None`: the default, followers not bound).
    quorum: Option<usize>,
}

impl Site {
    fn config(&self) -> NodeConfig {
        let mut config = NodeConfig::for_state(self.state).expect("a state");
        config.data_dir = self.dir.path().to_path_buf();
        config.key_file = self.dir.path().join("log.key");
        config.listen = self.grpc;
        config.http = Some(self.http);
        config.federation.follow_interval = Duration::from_millis(200);
        config.witness_quorum = self.quorum;
        config.profile = common::permissive_profile(false).into();
        config
    }

    fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    fn http_url(&self) -> String {
        format!("http://{}", self.http)
    }

    async fn start(&self) -> Node {
        let listeners = Listeners {
            grpc: TcpListener::bind(self.grpc).await.expect("the gRPC port"),
            web: Some(TcpListener::bind(self.http).await.expect("the HTTP port")),
        };
        node::start_on(self.config(), listeners).await.expect("the node starts")
    }
}

/// Three sites with keys made and trust lists written: each trusts the other
/// two and names them as its witnesses.
async fn sites() -> Vec<Site> {
    sites_with(None).await
}

async fn sites_with(quorum: Option<usize>) -> Vec<Site> {
    let mut sites = Vec::new();
    for state in STATES {
        let dir = TempDir::new().expect("a temp dir");
        let grpc = free_port().await;
        let http = free_port().await;
        let mut site = Site {
            state,
            dir,
            grpc,
            http,
            log_key: String::new(),
            witness_key: String::new(),
            quorum,
        };
        let config = site.config();
        site.log_key = node::signer(&config).expect("a log key").verifier().to_key_string();
        let witness_name = format!("{}/witness", config.origin);
        site.witness_key = config::load_or_create_cosigner(&config.witness_key_file(), &witness_name)
            .expect("a witness key")
            .verifier_key();
        sites.push(site);
    }
    for site in &sites {
        let entries = sites
            .iter()
            .filter(|other| other.state != site.state)
            .map(|other| TrustEntry {
                state: other.state.into(),
                endpoint: other.grpc_url(),
                key: other.log_key.clone(),
                ca_cert: None,
                witness: Some(TrustedWitness {
                    url: other.http_url(),
                    key: other.witness_key.clone(),
                }),
            })
            .collect();
        TrustList::from_entries(entries)
            .expect("a trust list")
            .save(site.dir.path())
            .expect("saved");
    }
    sites
}

async fn start_all(sites: &[Site]) -> Vec<Node> {
    let mut nodes = Vec::new();
    for site in sites {
        nodes.push(site.start().await);
    }
    nodes
}

async fn stop_all(nodes: Vec<Node>) {
    for node in nodes {
        node.stop().await.expect("stops");
    }
}

/// The site's `/api/log` answer.
async fn log_json(site: &Site) -> serde_json::Value {
    reqwest::get(format!("{}/api/log", site.http_url()))
        .await
        .expect("the log JSON")
        .json()
        .await
        .expect("JSON")
}

async fn free_port() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    listener.local_addr().expect("its address")
}

async fn log_client(site: &Site) -> TransparencyLogClient<tonic::transport::Channel> {
    TransparencyLogClient::new(connect(&site.grpc_url()).await.expect("connects"))
}

/// The newest witnessed checkpoint of `site`, once it has reached `size`
/// (polled; the bound is generous for a shared machine, never a timing claim).
async fn witnessed_at_least(site: &Site, size: u64) -> pb::WitnessedCheckpoint {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut client = log_client(site).await;
    loop {
        if let Ok(answer) = client
            .get_witnessed_checkpoint(pb::GetWitnessedCheckpointRequest {})
            .await
        {
            let answer = answer.into_inner();
            if answer.size >= size {
                return answer;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} was not witnessed at size {size}",
            site.state
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn others_policy(sites: &[Site], state: &str) -> WitnessPolicy {
    let keys: Vec<String> = sites
        .iter()
        .filter(|s| s.state != state)
        .map(|s| s.witness_key.clone())
        .collect();
    WitnessPolicy::parse(&keys, 2).expect("a policy")
}

/// Enrols `name`, waiting while the node is still held (it asks its
/// witnesses, after a start, whether its store is current).
async fn enrol(ledger: &Ledger, name: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ledger
            .append(format!("enrol-{}", name.replace(' ', "-")), common::enrolment(name))
            .await
        {
            Ok(receipt) => return receipt.published.checkpoint.size,
            Err(e) if e.code_name() == "UNAVAILABLE" && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("cannot enrol {name}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_states_checkpoints_carry_two_cosignatures_soon_after_commit() {
    let sites = sites().await;
    let nodes = start_all(&sites).await;
    for (site, node) in sites.iter().zip(&nodes) {
        let mut info = log_client(site).await;
        let info = info
            .get_log_info(pb::GetLogInfoRequest {})
            .await
            .expect("log info")
            .into_inner();
        assert_eq!(
            info.witness_key, site.witness_key,
            "GetLogInfo names the node's witness key"
        );
        let mut latencies = Vec::new();
        for round in 0..3 {
            let committed = Instant::now();
            let size = enrol(node.ledger(), &format!("{}-{round}", site.state)).await;
            let witnessed = witnessed_at_least(site, size).await;
            latencies.push(committed.elapsed());
            let verifier = NoteVerifier::parse(&site.log_key).expect("the log key");
            let checkpoint = Checkpoint::open(&witnessed.note, &verifier).expect("the log's own signature");
            assert_eq!(checkpoint.size, witnessed.size);
            others_policy(&sites, site.state)
                .check(&witnessed.note)
                .unwrap_or_else(|e| panic!("{}'s checkpoint: {e}", site.state));
            assert_eq!(witnessed.quorum, 2);
            assert_eq!(witnessed.witness_keys.len(), 2);
        }
        println!("{}: commit to 2 cosignatures: {latencies:?}", site.state);
        let served = log_client(site)
            .await
            .get_checkpoint(pb::GetCheckpointRequest {})
            .await
            .expect("checkpoint")
            .into_inner();
        if served.size == witnessed_at_least(site, 0).await.size {
            assert!(
                others_policy(&sites, site.state).check(&served.note).is_ok(),
                "GetCheckpoint serves the cosignatures it has"
            );
        }
    }
    stop_all(nodes).await;
}

/// Posts an add-checkpoint body to `site`'s witness: status, content type, body.
async fn add_checkpoint(site: &Site, body: Vec<u8>) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/add-checkpoint", site.http_url()))
        .body(body)
        .send()
        .await
        .expect("the witness answers");
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    (status, kind, response.text().await.expect("a body"))
}

/// A second history of MS's log, signed with MS's real key: what a node
/// showing different checkpoints to different partners would sign.
async fn fork_of(site: &Site, size: u64, dir: &Path) -> Ledger {
    let signer = config::load_signer(&site.dir.path().join("log.key"), "peerreg.local/ms").expect("MS's key");
    let fork = Ledger::open(LedgerOptions {
        signer,
        ..common::options_for(dir, "MS")
    })
    .expect("a fork ledger");
    while fork.published().checkpoint.size < size {
        let n = fork.published().checkpoint.size;
        enrol(&fork, &format!("Someone-Else-{n}")).await;
    }
    assert_eq!(
        fork.published().checkpoint.size,
        size,
        "the fork reaches the same size exactly"
    );
    fork
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_split_view_is_caught_by_the_witnesses_size_check_and_kept_as_evidence() {
    let sites = sites().await;
    let nodes = start_all(&sites).await;
    let (ms, tx, pa) = (&sites[0], &sites[1], &sites[2]);
    let mut size = 0;
    for i in 0..3 {
        size = enrol(nodes[0].ledger(), &format!("Real-Person-{i}")).await;
    }
    let honest = witnessed_at_least(ms, size).await;
    let size = honest.size;

    let fork_dir = TempDir::new().expect("a dir");
    let fork = fork_of(ms, size, fork_dir.path()).await;
    let forked = fork.published();
    assert_ne!(
        forked.checkpoint.root,
        Checkpoint::parse_body(
            &String::from_utf8_lossy(&honest.note)
                .split("\n\n")
                .next()
                .map(|b| format!("{b}\n"))
                .unwrap_or_default()
        )
        .expect("a body")
        .root
    );

    // The other history, shown to TX as if it were the next step: TX holds
    // `size` with another root, so the size check catches it.
    let request = AddCheckpoint {
        old_size: size,
        proof: Vec::new(),
        note: forked.note.to_vec(),
    };
    let (status, _, body) = add_checkpoint(tx, request.encode()).await;
    assert_eq!(status, 409, "a fork of the size held is refused: {body}");
    assert!(body.contains("evidence"), "{body}");
    // PA, shown the same fork, catches it too.
    let (status, _, body) = add_checkpoint(pa, request.encode()).await;
    assert_eq!(status, 409, "{body}");

    // TX kept the two signed checkpoints; anyone re-checks them with MS's key alone.
    let evidence = std::fs::read_dir(tx.dir.path().join("witness"))
        .expect("the witness dir")
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().ends_with(".equivocation.json"))
        .expect("the fork evidence is recorded");
    let record: EquivocationRecord =
        serde_json::from_slice(&std::fs::read(evidence.path()).expect("readable")).expect("a record");
    let ms_key = NoteVerifier::parse(&ms.log_key).expect("MS's key");
    verify_equivocation(&record.proof, &ms_key).expect("the evidence proves the fork offline");
    // ...and TX's federation stops relying on MS's log.
    let tx_client = NodeClient::connect(&tx.grpc_url(), None).await.expect("connects");
    let status = tx_client.federation_status().await.expect("status");
    let ms_status = status.states.iter().find(|p| p.state == "MS").expect("MS listed");
    assert!(
        ms_status.equivocation.is_some(),
        "TX shows MS's recorded equivocation: {ms_status:?}"
    );

    // A split view never gathers a quorum: the fork cosigned by one witness
    // is not witnessed for a reader who asks for two.
    let policy = others_policy(&sites, "MS");
    assert!(policy.check(&forked.note).is_err());

    // Malformed and unknown requests are refused with the spec's codes, and
    // change nothing: TX still holds the honest size.
    let (status, ..) = add_checkpoint(tx, b"old 1\nnonsense".to_vec()).await;
    assert_eq!(status, 400);
    let (status, ..) = add_checkpoint(tx, vec![b'o'; 64 * 1024]).await;
    assert_eq!(status, 413, "a request larger than any note and proof");
    let stranger = common::signer("peerreg.local/zz");
    let strange_note = Checkpoint {
        origin: "peerreg.local/zz".into(),
        size: 1,
        root: [0; 32],
    }
    .sign(&stranger);
    let (status, ..) = add_checkpoint(
        tx,
        AddCheckpoint {
            old_size: 0,
            proof: vec![],
            note: strange_note.into_bytes(),
        }
        .encode(),
    )
    .await;
    assert_eq!(status, 404, "a log TX does not trust");
    let impostor = common::signer("peerreg.local/ms");
    let forged = forked.checkpoint.sign(&impostor);
    let (status, ..) = add_checkpoint(
        tx,
        AddCheckpoint {
            old_size: size,
            proof: vec![],
            note: forged.into_bytes(),
        }
        .encode(),
    )
    .await;
    assert_eq!(status, 403, "signed by a key that is not MS's pinned key");
    enrol(&fork, "One-More").await;
    let longer = fork.published();
    // An old size PA never cosigned: 409 with the size it holds.
    let stale = AddCheckpoint {
        old_size: 0,
        proof: Vec::new(),
        note: longer.note.to_vec(),
    };
    let (status, kind, body) = add_checkpoint(pa, stale.encode()).await;
    assert_eq!(
        (status, kind.as_str(), body.as_str()),
        (409, "text/x.tlog.size", format!("{size}\n").as_str())
    );
    let (status, _, body) = add_checkpoint(
        pa,
        AddCheckpoint {
            old_size: size,
            proof: vec![[7; 32]],
            note: longer.note.to_vec(),
        }
        .encode(),
    )
    .await;
    assert_eq!(
        status, 422,
        "a proof that does not lead from the held checkpoint: {body}"
    );

    fork.shutdown().await;
    stop_all(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_restored_from_an_old_backup_refuses_to_sign() {
    let sites = sites().await;
    let mut nodes = start_all(&sites).await;
    let ms = &sites[0];
    let early = enrol(nodes[0].ledger(), "Early-Person").await;
    witnessed_at_least(ms, early).await;
    // The backup: MS's data directory as it is now, copied while MS is stopped.
    let ms_node = nodes.remove(0);
    ms_node.stop().await.expect("stops");
    let backup = TempDir::new().expect("a dir");
    common::copy_tree(ms.dir.path(), backup.path());
    let ms_node = ms.start().await;
    let mut later = 0;
    for i in 0..3 {
        later = enrol(ms_node.ledger(), &format!("Later-Person-{i}")).await;
    }
    witnessed_at_least(ms, later).await;
    ms_node.stop().await.expect("stops");

    // Restore the old backup over MS's directory and start it again.
    std::fs::remove_dir_all(ms.dir.path()).expect("removed");
    common::copy_tree(backup.path(), ms.dir.path());
    let restored = ms.start().await;
    assert_eq!(restored.ledger().published().checkpoint.size, early);
    let deadline = Instant::now() + Duration::from_secs(30);
    let refusal = loop {
        match restored
            .ledger()
            .append("after-restore".into(), common::enrolment("After-Restore"))
            .await
        {
            Ok(receipt) => panic!("a rolled-back node signed size {}", receipt.published.checkpoint.size),
            Err(e) if e.code_name() == "DATA_LOSS" => break e.to_string(),
            Err(e) => {
                assert_eq!(e.code_name(), "UNAVAILABLE", "held while it asks its witnesses: {e}");
                assert!(Instant::now() < deadline, "never refused: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert!(
        refusal.contains(&format!("size {later}")),
        "names the witness's size: {refusal}"
    );
    assert!(
        refusal.contains(&format!("only {early}")),
        "names the store's size: {refusal}"
    );
    assert!(
        refusal.contains("TX") || refusal.contains("PA"),
        "names the witness: {refusal}"
    );
    assert_eq!(
        restored.ledger().published().checkpoint.size,
        early,
        "nothing was signed after the restore"
    );
    restored.stop().await.expect("stops");
    stop_all(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_who_ask_for_a_quorum_take_only_witnessed_checkpoints() {
    use common::board::{enrol as enrolment_of, issue};
    use peerreg::proof::{self, ProofFile};
    let sites = sites_with(Some(2)).await;
    let nodes = start_all(&sites).await;
    let (ms, tx) = (&sites[0], &sites[1]);
    for (i, body) in [
        enrolment_of("P-1", "Ada Lovelace"),
        issue("P-1", "MS-1", "2025-12-01", "2027-11-30"),
    ]
    .into_iter()
    .enumerate()
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Err(e) = nodes[0].ledger().append(format!("setup-{i}"), body.clone()).await {
            assert!(
                e.code_name() == "UNAVAILABLE" && Instant::now() < deadline,
                "setup: {e}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let size = nodes[0].ledger().published().checkpoint.size;
    witnessed_at_least(ms, size).await;
    let policy = others_policy(&sites, "MS");
    let ms_key = NoteVerifier::parse(&ms.log_key).expect("MS's key");

    // An auditor asking for 2 of TX and PA audits the witnessed checkpoint.
    let state_file = TempDir::new().expect("a dir");
    let log = peerreg::service::client::LogClient::connect(&ms.grpc_url())
        .await
        .expect("connects");
    let report = peerreg::audit::audit_witnessed(&log, &ms_key, &policy, &state_file.path().join("audit.json"))
        .await
        .expect("the audit passes");
    assert!(report.size >= size);
    // One asking for a witness MS never asked reports it as not yet witnessed.
    let stranger = peerreg::log::cosignature::Cosigner::from_seed("someone/else", [5; 32]).expect("a key");
    let strict = WitnessPolicy::parse(&[stranger.verifier_key()], 1).expect("a policy");
    let refused = peerreg::audit::audit_witnessed(&log, &ms_key, &strict, &state_file.path().join("strict.json"))
        .await
        .expect_err("not witnessed by that witness");
    assert_eq!(refused.code_name(), "FAILED_PRECONDITION");
    assert!(refused.to_string().contains("not yet witnessed"), "{refused}");

    // An exported proof carries the cosignatures, so it verifies offline
    // with the quorum; stripped of them, it is not yet witnessed.
    let employer = NodeClient::connect(&ms.grpc_url(), None).await.expect("connects");
    let file = ProofFile::from_pb(employer.export_proof("MS-1".into()).await.expect("a proof"));
    proof::verify(&file, Some(&ms_key)).expect("the proof verifies");
    policy
        .check(file.checkpoint.as_bytes())
        .expect("the proof's checkpoint is witnessed");
    let stripped: Vec<&str> = file
        .checkpoint
        .lines()
        .filter(|line| !line.contains("/witness "))
        .collect();
    let stripped = format!("{}\n", stripped.join("\n"));
    assert!(
        policy.check(stripped.as_bytes()).is_err(),
        "without cosignatures it is not witnessed"
    );

    // The log page and the employer page say who vouches for the log.
    let api = log_json(ms).await;
    assert_eq!(api["witness_quorum"], 2);
    assert_eq!(api["witness_key"], ms.witness_key.as_str());
    assert!(api["witnessed_size"].as_u64().unwrap_or(0) >= size, "{api}");
    let page = reqwest::get(format!("{}/?number=MS-1", ms.http_url()))
        .await
        .expect("the verify page")
        .text()
        .await
        .expect("HTML");
    assert!(page.contains("Witnessed: 2 of the 2 other states"), "{page}");

    // TX's follower (quorum 2 of MS's witnesses it knows: its own and PA's)
    // verifies MS's log up to a witnessed checkpoint.
    let tx_client = NodeClient::connect(&tx.grpc_url(), None).await.expect("connects");
    let deadline = Instant::now() + Duration::from_secs(30);
    let verified = loop {
        let status = tx_client.federation_status().await.expect("status");
        let ms_state = status.states.iter().find(|s| s.state == "MS").expect("MS").clone();
        if ms_state.verified_size >= size {
            break ms_state;
        }
        assert!(
            Instant::now() < deadline,
            "TX never verified MS at size {size}: {ms_state:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    policy
        .check(&verified.verified_checkpoint)
        .expect("the checkpoint TX's follower holds is cosigned by TX and PA");
    stop_all(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn witnesses_follow_a_key_rotation_only_through_the_logs_own_signed_entry() {
    let sites = sites().await;
    let nodes = start_all(&sites).await;
    let ms = &sites[0];
    let before = enrol(nodes[0].ledger(), "Before-Rotation").await;
    witnessed_at_least(ms, before).await;
    // A short transition: soon only the new key signs MS's checkpoints, and
    // the witnesses, which pinned the old key, must have learned the new one
    // from MS's rotation entry (through their followers' verified copies).
    nodes[0].ledger().set_key_transition_entries(1);
    let rotation = nodes[0].ledger().rotate_key().await.expect("MS rotates its key");
    let mut size = 0;
    for i in 0..4 {
        size = enrol(nodes[0].ledger(), &format!("After-Rotation-{i}")).await;
    }
    let witnessed = witnessed_at_least(ms, size).await;
    let old_key = NoteVerifier::parse(&ms.log_key).expect("the pinned key");
    assert!(
        Checkpoint::open(&witnessed.note, &old_key).is_err(),
        "past the transition the old key no longer signs (rotation {rotation:?})"
    );
    others_policy(&sites, "MS")
        .check(&witnessed.note)
        .expect("TX and PA still cosign MS's checkpoints");
    let api = log_json(ms).await;
    assert_eq!(
        api["verifier_key"],
        ms.log_key.as_str(),
        "the page keeps naming the pinned key"
    );
    assert_ne!(api["current_verifier_key"], ms.log_key.as_str());
    assert_eq!(api["key_rotations"].as_array().map(Vec::len), Some(1));
    stop_all(nodes).await;
}
