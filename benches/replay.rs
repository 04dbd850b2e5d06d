//! Restart cost: a node reopening a log of many events, with the registry
//! snapshot and without it (full replay), in the same run.
//! Run: `cargo bench --bench replay` (PEERREG_BENCH_EVENTS, default 200,000).

use std::sync::Arc;
use std::time::Instant;

use pb::event::Body;
use peerreg::clock::SystemClock;
use peerreg::domain::profile::RequirementProfile;
use peerreg::ledger::{snapshot_path, Ledger, LedgerOptions};
use peerreg::log::note::NoteSigner;
use peerreg::pb;

fn open(dir: &std::path::Path) -> Ledger {
    let signer = NoteSigner::from_seed("peerreg.local/ms", [1; 32]).expect("key");
    Ledger::open(LedgerOptions {
        data_dir: dir.to_path_buf(),
        state: "MS".into(),
        signer,
        accept_unpublished_store: false,
        profile: RequirementProfile::example_for("MS").expect("the MS example profile"),
        clock: Arc::new(SystemClock),
    })
    .expect("open a bench ledger")
}

/// One certified peer's history: 8 events, the shape a real registry has.
fn history(peer: usize) -> Vec<Body> {
    let peer_id = format!("MS-P-{peer:07}");
    let domains = [
        ("ethical_responsibility", 8),
        ("shares_lived_experience", 6),
        ("engages_peers", 4),
        ("supports_recovery_planning", 4),
        ("helps_manage_crises", 4),
        ("links_to_resources", 2),
    ];
    vec![
        Body::PeerEnrolled(pb::PeerEnrolled {
            peer_id: peer_id.clone(),
            legal_name: format!("Peer Number {peer}"),
            eligibility_attested: true,
            ethics_code_signed: true,
        }),
        Body::TrainingCompleted(pb::TrainingCompleted {
            peer_id: peer_id.clone(),
            course_id: "MS-CORE".into(),
            course_title: "Mississippi peer specialist core training".into(),
            provider: "DMH".into(),
            minutes: 32 * 60,
            completed_on: "2024-02-01".into(),
            domains: domains
                .iter()
                .map(|(d, h)| pb::DomainMinutes {
                    domain: (*d).into(),
                    minutes: h * 60,
                })
                .collect(),
        }),
        Body::ExamRecorded(pb::ExamRecorded {
            peer_id: peer_id.clone(),
            exam_id: "MS-EXAM".into(),
            score_percent: 85,
            pass_mark_percent: 75,
            taken_on: "2024-02-15".into(),
        }),
        Body::ExperienceRecorded(pb::ExperienceRecorded {
            peer_id: peer_id.clone(),
            kind: pb::ExperienceKind::Paid as i32,
            minutes: 300 * 60,
            period_start: "2023-01-01".into(),
            period_end: "2024-01-31".into(),
        }),
        Body::CredentialIssued(pb::CredentialIssued {
            peer_id: peer_id.clone(),
            credential_number: format!("MS-{peer:07}"),
            credential_type: pb::CredentialType::PeerSupportSpecialist as i32,
            issued_on: "2024-03-01".into(),
            expires_on: "2026-02-28".into(),
            reciprocity: None,
        }),
        Body::ContinuingEducationCompleted(pb::ContinuingEducationCompleted {
            peer_id: peer_id.clone(),
            topic: "ethics".into(),
            minutes: 6 * 60,
            provider: "CE provider".into(),
            completed_on: "2025-05-01".into(),
        }),
        Body::ContinuingEducationCompleted(pb::ContinuingEducationCompleted {
            peer_id,
            topic: "trauma_informed_care".into(),
            minutes: 14 * 60,
            provider: "CE provider".into(),
            completed_on: "2025-06-01".into(),
        }),
        Body::CredentialRenewed(pb::CredentialRenewed {
            credential_number: format!("MS-{peer:07}"),
            renewed_on: "2026-01-15".into(),
            new_expires_on: "2028-02-29".into(),
        }),
    ]
}

async fn build(ledger: &Ledger, events: usize) {
    let peers = events / 8;
    let clients = 256;
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                for peer in (client..peers).step_by(clients) {
                    for (step, body) in history(peer).into_iter().enumerate() {
                        ledger.append(format!("p{peer}-{step}"), body).await.expect("append");
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client");
    }
}

fn timed_open(dir: &std::path::Path) -> (Ledger, f64) {
    let started = Instant::now();
    let ledger = open(dir);
    (ledger, started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    let events: usize = std::env::var("PEERREG_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open(dir.path());
    let started = Instant::now();
    build(&ledger, events).await;
    let size = ledger.published().checkpoint.size;
    let registry = ledger.registry();
    println!(
        "built {size} events in {:.1} s ({:.0} events/s durable, 256 clients)",
        started.elapsed().as_secs_f64(),
        size as f64 / started.elapsed().as_secs_f64()
    );
    ledger.shutdown().await;

    let (ledger, with_snapshot) = timed_open(dir.path());
    assert_eq!(ledger.registry(), registry, "restart from the snapshot");
    ledger.shutdown().await;
    std::fs::remove_file(snapshot_path(dir.path())).expect("remove the snapshot");
    let (ledger, without) = timed_open(dir.path());
    assert_eq!(ledger.registry(), registry, "restart by full replay");
    ledger.shutdown().await;

    println!("restart with snapshot:    {:>8.1} ms", with_snapshot * 1e3);
    println!(
        "restart without snapshot: {:>8.1} ms  (full replay: {:.0} events/s including open)",
        without * 1e3,
        size as f64 / without
    );
    println!("snapshot speed-up:        {:>8.1}x", without / with_snapshot);
}
