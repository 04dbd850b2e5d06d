//! Scenario: replay. A node's log of `scale.replay_events` events (every peer's
//! career, eight events each, interleaved across cohorts of peers as a real
//! board's log is) is built through group commit and the node stopped; then, in
//! the same run and on that same log:
//! - the registry is rebuilt from the whole log without signature checks,
//!   beside the raw decode rate (reading and decoding every entry, no apply);
//! - it is rebuilt re-verifying every entry (batch signature verification on
//!   every core, leaf hashes, the signed root), beside the raw batch-verify rate
//!   of the same signatures on the same cores;
//! - the node is restarted with its registry snapshot, beside a restart
//!   without it (a full replay).
//!
//! Each rebuild opens the store afresh (sled's cache empty, as after a restart)
//! and must equal the registry the node kept incrementally.

use crate::vault::{vault_path, Vault};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{fill, ms, open_ledger, Report, Row, Scale, Target, TempDir};
use crate::error::{Error, Result};
use crate::ledger::{self, snapshot_path, ReplayStats};
use crate::log::note::NoteVerifier;
use crate::pb;
use crate::pb::command::Body;
use crate::projection::Registry;

/// Peers whose careers advance together, a step per round.
const COHORT: usize = 1024;
/// Events in one peer's career.
const STEPS: usize = 8;
/// Concurrent writers per step of a round (up to `STEPS` steps run at once).
const WRITERS: usize = 32;
/// Rebuilds timed of each kind; the best counts (the machine is shared).
const TRIES: usize = 2;
/// Restarts timed of each kind; the median counts.
const RESTARTS: usize = 3;

pub async fn run(scale: Scale, report: &mut Report) -> Result<()> {
    let full = scale.name == "full";
    let dir = TempDir::new("replay")?;
    let (incremental, verifier, state) = build(dir.path(), scale.replay_events).await?;
    let events = incremental.size;
    let path = dir.path().to_path_buf();

    let (decode, replay) = {
        let (path, verifier, state, expected) = (path.clone(), verifier.clone(), state.clone(), incremental.clone());
        blocking(move || rebuilds(&path, &verifier, &state, &expected)).await?
    };
    report.add(Row {
        scenario: "replay: rebuild without signature checks".into(),
        figure: replay.per_second(),
        unit: "events/s",
        baseline_name: "raw decode events/s".into(),
        baseline: decode.per_second(),
        detail: format!(
            "{events} events, {:.2} s; read and decoded on {} threads, applied in log order on 1; store opened cold; best of {TRIES}",
            replay.elapsed.as_secs_f64(),
            replay.threads
        ),
        targets: if full {
            vec![Target::AtLeast(1_500_000.0), Target::RatioAtLeast(0.8)]
        } else {
            Vec::new()
        },
    });

    let (raw, verified) = {
        let (path, verifier, state, expected) = (path.clone(), verifier.clone(), state.clone(), incremental.clone());
        blocking(move || verified_rebuild(&path, &verifier, &state, &expected)).await?
    };
    report.add(Row {
        scenario: "replay: rebuild re-verifying every signature".into(),
        figure: verified.per_second(),
        unit: "events/s",
        baseline_name: format!("raw batch-verify signatures/s ({} threads)", raw.threads),
        baseline: raw.per_second(),
        detail: format!(
            "{events} events, {:.1} s; batch verification on {} threads, leaf hashes and signed root checked",
            verified.elapsed.as_secs_f64(),
            verified.threads
        ),
        targets: if full {
            vec![Target::RatioAtLeast(0.7)]
        } else {
            Vec::new()
        },
    });

    let snapshot_bytes = std::fs::metadata(snapshot_path(&path)).map(|m| m.len()).unwrap_or(0);
    let without = restarts(&path, &incremental, false).await?;
    let with = restarts(&path, &incremental, true).await?;
    report.add(Row {
        scenario: "restart: open with snapshot".into(),
        figure: ms(with),
        unit: "ms",
        baseline_name: "ms without snapshot (full replay)".into(),
        baseline: ms(without),
        detail: format!(
            "{events} events, snapshot {:.1} MB; median of {RESTARTS} opens (store, checks, registry)",
            snapshot_bytes as f64 / 1e6
        ),
        targets: if full { vec![Target::AtMost(150.0)] } else { Vec::new() },
    });
    Ok(())
}

/// Runs blocking work off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal(format!("a replay measurement failed: {e}")))?
}

/// Builds the log in `dir` and stops the node (which writes its snapshot).
/// Returns the registry the node kept, and the log's key and state.
async fn build(dir: &Path, events: usize) -> Result<(Registry, NoteVerifier, String)> {
    let ledger = open_ledger(dir)?;
    let peers = events / STEPS;
    let cohorts = peers.div_ceil(COHORT);
    let started = Instant::now();
    let mut reported = Instant::now();
    // Round r runs step s of cohort r - s for every s at once: a cohort's steps
    // follow each other, and every round interleaves eight kinds of event.
    for round in 0..cohorts + STEPS - 1 {
        let mut tasks = Vec::new();
        for step in 0..STEPS {
            let Some(cohort) = round.checked_sub(step).filter(|c| *c < cohorts) else {
                continue;
            };
            let count = COHORT.min(peers - cohort * COHORT);
            let start = round * STEPS * COHORT + step * COHORT;
            let ledger = ledger.clone();
            tasks.push(tokio::spawn(async move {
                fill(&ledger, start, count, WRITERS, event).await
            }));
        }
        for task in tasks {
            task.await
                .map_err(|e| Error::Internal(format!("a filler task failed: {e}")))??;
        }
        if reported.elapsed() > Duration::from_secs(10) {
            reported = Instant::now();
            eprintln!(
                "replay: built {} of {} events in {:.0} s",
                ledger.published().checkpoint.size,
                peers * STEPS,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let registry = ledger.registry();
    let verifier = ledger.verifier().clone();
    let state = ledger.state().to_string();
    eprintln!(
        "replay: built {} events in {:.1} s ({} group commits)",
        registry.size,
        started.elapsed().as_secs_f64(),
        ledger.commit_count()
    );
    ledger.shutdown().await;
    Ok((registry, verifier, state))
}

/// Event `i` of the log: step `s` of peer `(r - s) * COHORT + j`, where
/// `i = (r * STEPS + s) * COHORT + j`.
fn event(i: usize) -> Body {
    let round = i / (STEPS * COHORT);
    let step = i / COHORT % STEPS;
    career(round.saturating_sub(step) * COHORT + i % COHORT, step)
}

/// Step `step` of a certified peer's career: enrolment, core training, exam,
/// supervised experience, issue, two CE courses, renewal.
fn career(peer: usize, step: usize) -> Body {
    let peer_id = format!("MS-P-{peer:07}");
    let number = format!("MS-{peer:07}");
    match step {
        0 => Body::PeerEnrolled(pb::PeerEnrolled {
            peer_id,
            legal_name: format!("Peer Number {peer}"),
            eligibility_attested: true,
            ethics_code_signed: true,
        }),
        1 => Body::TrainingCompleted(pb::TrainingCompleted {
            peer_id,
            course_id: "MS-CORE".into(),
            course_title: "Mississippi peer specialist core training".into(),
            provider: "DMH".into(),
            minutes: 32 * 60,
            completed_on: "2023-02-01".into(),
            domains: [
                ("ethical_responsibility", 8),
                ("shares_lived_experience", 6),
                ("engages_peers", 4),
                ("supports_recovery_planning", 4),
                ("helps_manage_crises", 4),
                ("links_to_resources", 2),
            ]
            .iter()
            .map(|(domain, hours)| pb::DomainMinutes {
                domain: (*domain).into(),
                minutes: hours * 60,
            })
            .collect(),
        }),
        2 => Body::ExamRecorded(pb::ExamRecorded {
            peer_id,
            exam_id: "MS-EXAM".into(),
            score_percent: 70 + (peer % 30) as u32,
            pass_mark_percent: 75,
            taken_on: "2023-02-15".into(),
        }),
        3 => Body::ExperienceRecorded(pb::ExperienceRecorded {
            peer_id,
            kind: pb::ExperienceKind::Supervised as i32,
            minutes: 300 * 60,
            period_start: "2022-01-01".into(),
            period_end: "2023-01-31".into(),
        }),
        4 => Body::CredentialIssued(pb::CredentialIssued {
            imported: None,
            peer_id,
            credential_number: number,
            credential_type: pb::CredentialType::PeerSupportSpecialist as i32,
            issued_on: "2023-03-01".into(),
            expires_on: "2025-02-28".into(),
            reciprocity: None,
        }),
        5 => Body::ContinuingEducationCompleted(pb::ContinuingEducationCompleted {
            peer_id,
            topic: "ethics".into(),
            minutes: 6 * 60,
            provider: "CE provider".into(),
            completed_on: "2024-05-01".into(),
        }),
        6 => Body::ContinuingEducationCompleted(pb::ContinuingEducationCompleted {
            peer_id,
            topic: "trauma_informed_care".into(),
            minutes: 14 * 60,
            provider: "CE provider".into(),
            completed_on: "2024-06-01".into(),
        }),
        _ => Body::CredentialRenewed(pb::CredentialRenewed {
            imported: false,
            credential_number: number,
            renewed_on: "2025-01-15".into(),
            new_expires_on: "2027-02-28".into(),
        }),
    }
}

fn best(a: ReplayStats, b: ReplayStats) -> ReplayStats {
    if b.elapsed < a.elapsed {
        b
    } else {
        a
    }
}

fn check(rebuilt: &Registry, expected: &Registry, what: &str) -> Result<()> {
    if rebuilt == expected {
        Ok(())
    } else {
        Err(Error::Internal(format!(
            "{what} differs from the registry the node kept"
        )))
    }
}

/// Raw decode and rebuild without signature checks, alternated, best of `TRIES`.
fn rebuilds(
    dir: &Path,
    verifier: &NoteVerifier,
    state: &str,
    expected: &Registry,
) -> Result<(ReplayStats, ReplayStats)> {
    let mut decode: Option<ReplayStats> = None;
    let mut replay: Option<ReplayStats> = None;
    for _ in 0..TRIES {
        let decoded = super::baselines::decode_log(dir)?;
        decode = Some(match decode {
            Some(previous) => best(previous, decoded),
            None => decoded,
        });
        let vault = Vault::open(&vault_path(dir))?;
        let (registry, replayed) = ledger::replay_log(dir, verifier, state, ledger::Checks::None, &vault)?;
        check(&registry, expected, "the rebuilt registry")?;
        drop(registry);
        replay = Some(match replay {
            Some(previous) => best(previous, replayed),
            None => replayed,
        });
    }
    match (decode, replay) {
        (Some(decode), Some(replay)) => Ok((decode, replay)),
        _ => Err(Error::Internal("no rebuild was timed".into())),
    }
}

/// The raw batch-verify rate, then a rebuild re-verifying every entry.
fn verified_rebuild(
    dir: &Path,
    verifier: &NoteVerifier,
    state: &str,
    expected: &Registry,
) -> Result<(ReplayStats, ReplayStats)> {
    eprintln!("replay: batch-verifying every signature, then rebuilding re-verifying them");
    let raw = super::baselines::batch_verify_log(dir, verifier)?;
    let vault = Vault::open(&vault_path(dir))?;
    let (registry, verified) = ledger::replay_log(dir, verifier, state, ledger::Checks::Signatures, &vault)?;
    check(&registry, expected, "the registry rebuilt with verification")?;
    Ok((raw, verified))
}

/// The median time of `RESTARTS` opens of the stopped node in `dir`, with its
/// snapshot or without it (set aside meanwhile).
async fn restarts(dir: &Path, expected: &Registry, with_snapshot: bool) -> Result<Duration> {
    let snapshot = snapshot_path(dir);
    let aside = dir.join("projection.snapshot.aside");
    if !with_snapshot {
        std::fs::rename(&snapshot, &aside)
            .map_err(|e| Error::Internal(format!("cannot set the snapshot aside: {e}")))?;
    }
    let mut times = Vec::with_capacity(RESTARTS);
    let mut outcome = Ok(());
    for _ in 0..RESTARTS {
        let path: PathBuf = dir.to_path_buf();
        let opened = blocking(move || {
            let started = Instant::now();
            let ledger = open_ledger(&path)?;
            Ok((started.elapsed(), ledger))
        })
        .await;
        match opened {
            Ok((elapsed, ledger)) => {
                let registry = ledger.registry();
                ledger.shutdown().await;
                times.push(elapsed);
                outcome = check(&registry, expected, "the registry after a restart");
            }
            Err(e) => outcome = Err(e),
        }
        if outcome.is_err() {
            break;
        }
    }
    if !with_snapshot {
        std::fs::rename(&aside, &snapshot)
            .map_err(|e| Error::Internal(format!("cannot put the snapshot back: {e}")))?;
    }
    outcome?;
    times.sort();
    times
        .get(times.len() / 2)
        .copied()
        .ok_or_else(|| Error::Internal("no restart was timed".into()))
}
