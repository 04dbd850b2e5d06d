//! `peerreg trust …` (the trust list: on a running node with `--node`, or
//! offline on a stopped node's data directory) and
//! `peerreg transfer …` (evaluations and origin status, over gRPC).

use std::path::PathBuf;

use clap::Subcommand;

use super::{status_name, Connection};
use crate::error::{Error, Result};
use crate::federation::trust::{Existing, TrustEntry, TrustList, TrustedWitness};
use crate::log::note::NoteVerifier;
use crate::mirror;
use crate::pb;

#[derive(Subcommand, Debug)]
pub enum TrustCommand {
    /// Trust another state: its node's endpoint and its pinned verifier key. With --node, on the running
    /// node at once (its follower starts); with --data-dir, offline on a stopped node's directory.
    Add {
        #[arg(long, required_unless_present = "node", conflicts_with = "node")]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        live: LiveNode,
        #[arg(long)]
        state: String,
        #[arg(long)]
        endpoint: String,
        /// The state's verifier key string, obtained from its board out of band.
        #[arg(long)]
        key: String,
        /// CA (PEM) that signed its node's TLS certificate (a path on the node's machine).
        #[arg(long)]
        ca_cert: Option<PathBuf>,
        /// The base URL of that state's node's HTTP side, when it witnesses this node (cosigns its
        /// checkpoints); with --witness-key.
        #[arg(long, requires = "witness_key")]
        witness_url: Option<String>,
        /// That state's witness verifier key string (from its board, out of band; `peerreg trust
        /// list` or its log page shows it); with --witness-url.
        #[arg(long, requires = "witness_url")]
        witness_key: Option<String>,
        /// Replace an existing entry for the state.
        #[arg(long)]
        replace: bool,
    },
    /// List the trusted states (of a running node with --node, or of a data directory).
    List {
        #[arg(long, required_unless_present = "node", conflicts_with = "node")]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        live: LiveNode,
    },
    /// Stop trusting a state (its follower stops; its verified copy is kept aside on disk). With --node,
    /// on the running node at once; with --data-dir, offline on a stopped node's directory.
    Remove {
        #[arg(long, required_unless_present = "node", conflicts_with = "node")]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        live: LiveNode,
        #[arg(long)]
        state: String,
    },
    /// Acknowledge a recorded equivocation so decisions may use the state's log again (evidence is kept).
    Ack {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        state: String,
    },
    /// Re-check a recorded equivocation (`equivocation.json`) offline, with the pinned key alone.
    VerifyEvidence {
        /// The evidence file (in the state's mirror directory under `<data>/mirrors/`).
        file: PathBuf,
        /// The verifier key you pinned for that state; without it, the key named in the file is used
        /// (compare it with the one you pinned).
        #[arg(long)]
        key: Option<String>,
    },
    /// What a running node has verified of each trusted state's log.
    Status {
        #[command(flatten)]
        connection: Connection,
    },
}

/// A running node whose trust list to change (needs a token with `admin_trust`).
#[derive(clap::Args, Debug, Clone)]
pub struct LiveNode {
    /// The running node's gRPC endpoint: the change takes effect there at once.
    #[arg(long)]
    pub node: Option<String>,
    /// Admin token (better from the environment than the command line).
    #[arg(long, env = "PEERREG_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA (PEM) that signed the running node's TLS certificate (`--ca-cert` names the partner's).
    #[arg(long)]
    pub node_ca_cert: Option<PathBuf>,
    /// This client's certificate (PEM), for nodes that require mutual TLS.
    #[arg(long, requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    #[arg(long, requires = "client_cert")]
    pub client_key: Option<PathBuf>,
}

impl LiveNode {
    fn connection(&self) -> Option<Connection> {
        let endpoint = self.node.clone()?;
        Some(Connection {
            endpoint,
            token: self.token.clone(),
            ca_cert: self.node_ca_cert.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
        })
    }
}

/// The data directory for an offline change, refused while a node runs on it
/// (it would not see the change, and would overwrite it).
fn offline_dir(data_dir: Option<PathBuf>, writes: bool) -> Result<PathBuf> {
    let data_dir = data_dir.ok_or_else(|| Error::InvalidArgument("pass --node URL or --data-dir DIR".into()))?;
    if writes && crate::store::in_use(&crate::ledger::store_path(&data_dir))? {
        return Err(Error::FailedPrecondition(format!(
            "a running node holds {}: change its trust list with --node URL (and a token with admin_trust), \
             or stop it first",
            data_dir.display()
        )));
    }
    Ok(data_dir)
}

/// One trusted state: code, endpoint, pinned key, and its witness if it has one.
fn entry_line(state: &str, endpoint: &str, key: &str, witness_url: &str, witness_key: &str) -> String {
    if witness_url.is_empty() {
        return format!("{state}  {endpoint}  {key}");
    }
    format!("{state}  {endpoint}  {key}  witness {witness_url}  {witness_key}")
}

fn partner_dir(data_dir: &std::path::Path, entry: &TrustEntry) -> Result<PathBuf> {
    Ok(mirror::mirror_dir(data_dir, entry.verifier()?.name()))
}

/// Runs a trust command; returns the text to print.
pub async fn trust(command: TrustCommand) -> Result<String> {
    match command {
        TrustCommand::Add {
            data_dir,
            live,
            state,
            endpoint,
            key,
            ca_cert,
            witness_url,
            witness_key,
            replace,
        } => {
            if let Some(connection) = live.connection() {
                let entry = pb::TrustListEntry {
                    state,
                    endpoint,
                    key,
                    ca_cert: ca_cert.map(|p| p.display().to_string()).unwrap_or_default(),
                    witness_url: witness_url.unwrap_or_default(),
                    witness_key: witness_key.unwrap_or_default(),
                };
                let request = pb::AddTrustRequest {
                    entry: Some(entry),
                    replace,
                };
                let added = connection.client(true).await?.add_trust(request).await?;
                return Ok(format!(
                    "{} is trusted by the running node; its follower started",
                    added.state
                ));
            }
            let data_dir = offline_dir(data_dir, true)?;
            let mut list = TrustList::load(&data_dir)?;
            list.add(
                TrustEntry {
                    state,
                    endpoint,
                    key,
                    ca_cert,
                    witness: witness_url
                        .zip(witness_key)
                        .map(|(url, key)| TrustedWitness { url, key }),
                },
                if replace { Existing::Replace } else { Existing::Refuse },
            )?;
            list.save(&data_dir)?;
            Ok(format!("trusted states: {}", list_line(&list)))
        }
        TrustCommand::List { data_dir, live } => {
            let lines: Vec<String> = match live.connection() {
                Some(connection) => connection
                    .client(true)
                    .await?
                    .list_trust()
                    .await?
                    .iter()
                    .map(|e| entry_line(&e.state, &e.endpoint, &e.key, &e.witness_url, &e.witness_key))
                    .collect(),
                None => TrustList::load(&offline_dir(data_dir, false)?)?
                    .entries
                    .iter()
                    .map(|e| {
                        let (url, key) = e
                            .witness
                            .as_ref()
                            .map_or(("", ""), |w| (w.url.as_str(), w.key.as_str()));
                        entry_line(&e.state, &e.endpoint, &e.key, url, key)
                    })
                    .collect(),
            };
            if lines.is_empty() {
                return Ok("no trusted states".into());
            }
            Ok(lines.join("\n"))
        }
        TrustCommand::Remove { data_dir, live, state } => {
            if let Some(connection) = live.connection() {
                let removed = connection.client(true).await?.remove_trust(state).await?;
                let state = removed.entry.map(|e| e.state).unwrap_or_default();
                let kept = if removed.kept_at.is_empty() {
                    String::new()
                } else {
                    format!("; its verified copy is kept at {}", removed.kept_at)
                };
                return Ok(format!("{state} is no longer trusted; its follower stopped{kept}"));
            }
            let data_dir = offline_dir(data_dir, true)?;
            let mut list = TrustList::load(&data_dir)?;
            let removed = list.remove(&state)?;
            list.save(&data_dir)?;
            let kept = match crate::federation::trust::set_aside(&data_dir, &removed)? {
                Some(aside) => format!("; its verified copy is kept at {}", aside.display()),
                None => String::new(),
            };
            Ok(format!("{} is no longer trusted{kept}", removed.state))
        }
        TrustCommand::Ack { data_dir, state } => {
            let list = TrustList::load(&data_dir)?;
            let state = crate::domain::states::parse_state(&state)?;
            let entry = list
                .get(&state)
                .ok_or_else(|| Error::NotFound(format!("{state} is not in the trust list")))?;
            match mirror::acknowledge_equivocation(&partner_dir(&data_dir, entry)?)? {
                Some(kept) => Ok(format!(
                    "acknowledged; the evidence is kept at {}. Decisions may use {state}'s log again",
                    kept.display()
                )),
                None => Err(Error::NotFound(format!("no equivocation by {state} is recorded"))),
            }
        }
        TrustCommand::VerifyEvidence { file, key } => verify_evidence(&file, key.as_deref()),
        TrustCommand::Status { connection } => {
            let status = connection.client(false).await?.federation_status().await?;
            Ok(describe_status(&status))
        }
    }
}

/// Re-checks an equivocation record with the pinned key (or the file's own).
fn verify_evidence(file: &std::path::Path, key: Option<&str>) -> Result<String> {
    let record = mirror::read_equivocation(file)?
        .ok_or_else(|| Error::NotFound(format!("{} does not exist", file.display())))?;
    let key = key.unwrap_or(&record.verifier_key);
    let verifier = NoteVerifier::parse(key).map_err(|e| Error::InvalidArgument(format!("--key: {e}")))?;
    let shown = mirror::verify_equivocation_with(&record.proof, &record.keys(&verifier)?)?;
    Ok(format!(
        "PROVEN: {} signed {shown}. Checked with key {key}; compare it with the key you pinned for that state.",
        verifier.name()
    ))
}

fn list_line(list: &TrustList) -> String {
    let states: Vec<&str> = list.entries.iter().map(|e| e.state.as_str()).collect();
    states.join(", ")
}

/// The federation status as text, one block per state.
pub fn describe_status(status: &pb::FederationStatus) -> String {
    if status.states.is_empty() {
        return "this node trusts no other state".into();
    }
    let blocks: Vec<String> = status
        .states
        .iter()
        .map(|s| {
            let mut text = format!(
                "{} ({} at {}): verified {} entries",
                s.state, s.origin, s.endpoint, s.verified_size
            );
            match pb::FollowState::try_from(s.follow_state).unwrap_or_default() {
                pb::FollowState::CatchingUp => text.push_str(&format!(
                    "\n  catching up: {} of {} entries verified",
                    s.catching_up_verified, s.catching_up_target
                )),
                pb::FollowState::Suspect => text.push_str(&format!(
                    "\n  SUSPECT ({} rounds): following failed without proof of anything; retrying",
                    s.suspect_rounds
                )),
                _ => {}
            }
            if !s.last_error.is_empty() {
                text.push_str(&format!("\n  last follow failed: {}", s.last_error));
            }
            if let Some(e) = &s.equivocation {
                text.push_str(&format!(
                    "\n  EQUIVOCATION recorded: {} — no decisions use this log until `peerreg trust ack --state {}`",
                    e.detail, s.state
                ));
            }
            text
        })
        .collect();
    blocks.join("\n")
}

#[derive(Subcommand, Debug)]
pub enum TransferCommand {
    /// Evaluate a transfer from another state (board token from PEERREG_TOKEN); records the decision.
    Evaluate {
        #[command(flatten)]
        connection: Connection,
        #[arg(long)]
        origin_state: String,
        /// The credential number in the origin state.
        #[arg(long)]
        credential: String,
        /// This board's own peer id for the person, if enrolled here (their local records count too).
        #[arg(long)]
        local_peer_id: Option<String>,
        /// Save the verified origin checkpoint here (for `board grant --origin-checkpoint-file`).
        #[arg(long)]
        checkpoint_out: Option<PathBuf>,
        /// The application date (YYYY-MM-DD) the record is judged as of [default: today].
        #[arg(long)]
        application_date: Option<String>,
        /// Print the decision as JSON (with the structured gaps and the verified origin record).
        #[arg(long)]
        json: bool,
    },
    /// Waive one named gap of a transfer with a reason (reviewer discretion; needs `record_waiver`).
    Waive {
        #[command(flatten)]
        connection: Connection,
        /// A client-chosen id: retrying with the same id records nothing twice.
        #[arg(long)]
        event_id: String,
        /// This board's own peer id for the person transferring.
        #[arg(long)]
        local_peer_id: String,
        #[arg(long)]
        origin_state: String,
        /// The credential number in the origin state.
        #[arg(long)]
        credential: String,
        /// The gap's requirement id, as an evaluation lists it (e.g. `exam`, `training_hours`).
        #[arg(long)]
        requirement_id: String,
        /// Why the gap is waived.
        #[arg(long)]
        reason: String,
        /// Who waives it.
        #[arg(long)]
        waived_by: String,
    },
    /// A credential's status in its origin state, from this node's verified copy of that log.
    OriginStatus {
        #[command(flatten)]
        connection: Connection,
        #[arg(long)]
        origin_state: String,
        #[arg(long)]
        credential: String,
    },
}

/// A transfer decision as text.
pub fn describe_decision(decision: &pb::TransferDecision) -> String {
    let outcome = match pb::TransferOutcome::try_from(decision.outcome) {
        Ok(pb::TransferOutcome::Approved) => "APPROVED",
        Ok(pb::TransferOutcome::Conditional) => "CONDITIONAL",
        Ok(pb::TransferOutcome::Denied) => "DENIED",
        _ => "UNKNOWN",
    };
    let mut text = outcome.to_string();
    if !decision.holder_name.is_empty() {
        text.push_str(&format!(
            " — holder {}, origin status {}",
            decision.holder_name,
            status_name(decision.origin_status)
        ));
    }
    for reason in &decision.denials {
        text.push_str(&format!("\n  denied: {reason}"));
    }
    if !decision.policy.is_empty() {
        text.push_str(&format!(
            "\n  policy: {}, as of {}",
            decision.policy, decision.application_date
        ));
    }
    for gap in &decision.gaps {
        text.push_str(&format!(
            "\n  gap: {}: {} required, {} found — {}",
            gap_label(gap),
            gap.required,
            gap.found,
            gap.remedy
        ));
    }
    for gap in &decision.waived {
        let waiver = gap.waiver.clone().unwrap_or_default();
        text.push_str(&format!(
            "\n  waived: {} ({} required, {} found) — waived by {} on {}: {}",
            gap_label(gap),
            gap.required,
            gap.found,
            waiver.waived_by,
            waiver.recorded_on,
            waiver.reason
        ));
    }
    if let Some(receipt) = &decision.receipt {
        text.push_str(&format!("\n  recorded as entry {} of this node's log", receipt.index));
    }
    text
}

/// A gap's name, with the requirement id a waiver names when it differs.
fn gap_label(gap: &pb::RequirementGap) -> String {
    if gap.requirement_id.is_empty() || gap.requirement_id == gap.requirement {
        gap.requirement.clone()
    } else {
        format!("{} [{}]", gap.requirement, gap.requirement_id)
    }
}

/// The verified origin record a decision rests on, as text.
pub fn describe_origin_record(record: &pb::PeerRecord) -> String {
    let mut text = format!("verified origin record of {} ({}):", record.legal_name, record.peer_id);
    for t in &record.trainings {
        let hours = crate::domain::vocabulary::format_hours(u64::from(t.minutes));
        text.push_str(&format!(
            "\n  training {} ({}), {hours}, {}",
            t.course_id, t.provider, t.completed_on
        ));
    }
    for e in &record.exams {
        text.push_str(&format!(
            "\n  exam {}: {}% (its pass mark {}%), {}",
            e.exam_id, e.score_percent, e.pass_mark_percent, e.taken_on
        ));
    }
    for c in &record.continuing_education {
        let hours = crate::domain::vocabulary::format_hours(u64::from(c.minutes));
        text.push_str(&format!("\n  CE {}, {hours}, {}", c.topic, c.completed_on));
    }
    if record.continuing_education.is_empty() {
        text.push_str("\n  CE: none recorded");
    }
    for credential in &record.credentials {
        text.push_str(&format!(
            "\n  credential {}: {}, issued {}, expires {}",
            credential.credential_number,
            status_name(credential.status_today),
            credential.issued_on,
            credential.expires_on
        ));
        if credential.discipline.is_empty() {
            text.push_str("\n    discipline: none");
        }
        for d in &credential.discipline {
            let kind = pb::DisciplineKind::try_from(d.kind).map_or("discipline", |k| k.as_str_name());
            let kind = kind
                .trim_start_matches("DISCIPLINE_KIND_")
                .to_ascii_lowercase()
                .replace('_', " ");
            let ends = if d.ends_on.is_empty() {
                "open".to_string()
            } else {
                format!("until {}", d.ends_on)
            };
            text.push_str(&format!(
                "\n    discipline {kind} from {} ({ends}): {}",
                d.effective_on, d.public_summary
            ));
        }
    }
    text
}

fn gap_json(gap: &pb::RequirementGap) -> serde_json::Value {
    let waiver = gap.waiver.as_ref().map(|w| {
        serde_json::json!({
            "waived_by": w.waived_by, "reason": w.reason, "recorded_on": w.recorded_on, "index": w.index,
        })
    });
    serde_json::json!({
        "requirement_id": gap.requirement_id,
        "requirement": gap.requirement,
        "domain": (!gap.domain.is_empty()).then_some(&gap.domain),
        "required": gap.required_amount,
        "found": gap.found_amount,
        "unit": gap.unit,
        "required_text": gap.required,
        "found_text": gap.found,
        "remedy": gap.remedy,
        "waiver": waiver,
    })
}

fn origin_record_json(record: &pb::PeerRecord) -> serde_json::Value {
    let trainings: Vec<_> = record
        .trainings
        .iter()
        .map(|t| {
            let domains: serde_json::Map<String, serde_json::Value> =
                t.domains.iter().map(|d| (d.domain.clone(), d.minutes.into())).collect();
            serde_json::json!({
                "course_id": t.course_id, "course_title": t.course_title, "provider": t.provider,
                "minutes": t.minutes, "completed_on": t.completed_on, "domains": domains,
            })
        })
        .collect();
    let exams: Vec<_> = record
        .exams
        .iter()
        .map(|e| {
            serde_json::json!({
                "exam_id": e.exam_id, "score_percent": e.score_percent,
                "pass_mark_percent": e.pass_mark_percent, "taken_on": e.taken_on,
            })
        })
        .collect();
    let ce: Vec<_> = record
        .continuing_education
        .iter()
        .map(|c| serde_json::json!({"topic": c.topic, "minutes": c.minutes, "provider": c.provider, "completed_on": c.completed_on}))
        .collect();
    let credentials: Vec<_> = record
        .credentials
        .iter()
        .map(|c| {
            let discipline: Vec<_> = c
                .discipline
                .iter()
                .map(|d| {
                    let kind = pb::DisciplineKind::try_from(d.kind).map_or("UNKNOWN", |k| k.as_str_name());
                    serde_json::json!({"kind": kind, "effective_on": d.effective_on, "ends_on": d.ends_on, "public_summary": d.public_summary})
                })
                .collect();
            serde_json::json!({
                "credential_number": c.credential_number, "status": status_name(c.status_today),
                "issued_on": c.issued_on, "expires_on": c.expires_on, "discipline": discipline,
            })
        })
        .collect();
    serde_json::json!({
        "peer_id": record.peer_id, "legal_name": record.legal_name, "trainings": trainings,
        "exams": exams, "continuing_education": ce, "credentials": credentials,
    })
}

/// A transfer decision as JSON for `--json`.
pub fn decision_json(decision: &pb::TransferDecision) -> serde_json::Value {
    let outcome = pb::TransferOutcome::try_from(decision.outcome).map_or("UNKNOWN", |o| o.as_str_name());
    serde_json::json!({
        "outcome": outcome.trim_start_matches("TRANSFER_OUTCOME_"),
        "policy": decision.policy,
        "application_date": decision.application_date,
        "holder_name": decision.holder_name,
        "origin_status": status_name(decision.origin_status),
        "denials": decision.denials,
        "gaps": decision.gaps.iter().map(gap_json).collect::<Vec<_>>(),
        "waived": decision.waived.iter().map(gap_json).collect::<Vec<_>>(),
        "origin_record": decision.origin_record.as_ref().map(origin_record_json),
        "recorded_index": decision.receipt.as_ref().map(|r| r.index),
    })
}

/// Runs a transfer command; returns the text to print.
pub async fn transfer(command: TransferCommand) -> Result<String> {
    match command {
        TransferCommand::Evaluate {
            connection,
            origin_state,
            credential,
            local_peer_id,
            checkpoint_out,
            application_date,
            json,
        } => {
            let request = pb::EvaluateTransferRequest {
                origin_state,
                credential_number: credential,
                local_peer_id: local_peer_id.unwrap_or_default(),
                application_date: application_date.unwrap_or_default(),
            };
            let decision = connection.client(true).await?.evaluate_transfer(request).await?;
            if let (Some(path), false) = (&checkpoint_out, decision.origin_checkpoint.is_empty()) {
                std::fs::write(path, &decision.origin_checkpoint)
                    .map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))?;
            }
            if json {
                return Ok(decision_json(&decision).to_string());
            }
            let mut text = describe_decision(&decision);
            if let Some(record) = &decision.origin_record {
                text.push_str(&format!("\n{}", describe_origin_record(record)));
            }
            if let (Some(path), false) = (checkpoint_out, decision.origin_checkpoint.is_empty()) {
                text.push_str(&format!("\n  verified origin checkpoint saved to {}", path.display()));
            }
            Ok(text)
        }
        TransferCommand::Waive {
            connection,
            event_id,
            local_peer_id,
            origin_state,
            credential,
            requirement_id,
            reason,
            waived_by,
        } => {
            let today = chrono::Utc::now().date_naive();
            let body = pb::command::Body::WaiverRecorded(pb::WaiverRecorded {
                peer_id: local_peer_id,
                origin_state,
                origin_credential_number: credential,
                requirement_id,
                reason,
                waived_by,
                recorded_on: today.to_string(),
            });
            let receipt = connection.client(true).await?.record(event_id, body).await?;
            Ok(format!("waiver recorded as entry {} of this node's log", receipt.index))
        }
        TransferCommand::OriginStatus {
            connection,
            origin_state,
            credential,
        } => {
            let answer = connection
                .client(false)
                .await?
                .origin_status(origin_state, credential)
                .await?;
            Ok(format!(
                "{} {}: {} (expires {}), from {} verified entries of {}'s log",
                answer.origin_state,
                answer.credential_number,
                status_name(answer.status),
                answer.expires_on,
                answer.verified_size,
                answer.origin_state
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision() -> pb::TransferDecision {
        let gap = pb::RequirementGap {
            requirement: "supports_recovery_planning training".into(),
            required: "6 h".into(),
            found: "4 h".into(),
            remedy: "2 h more training in supports_recovery_planning".into(),
            requirement_id: "training_hours.supports_recovery_planning".into(),
            domain: "supports_recovery_planning".into(),
            required_amount: 360,
            found_amount: 240,
            unit: "minutes".into(),
            waiver: None,
        };
        let waived = pb::RequirementGap {
            requirement_id: "exam".into(),
            requirement: "certification exam".into(),
            unit: "percent".into(),
            required_amount: 70,
            found_amount: 60,
            waiver: Some(pb::GapWaiver {
                waived_by: "J. Reviewer".into(),
                reason: "equivalent exam".into(),
                recorded_on: "2026-11-30".into(),
                index: 7,
            }),
            ..Default::default()
        };
        let record = pb::PeerRecord {
            peer_id: "MS-P-1".into(),
            legal_name: "Alex Rivera".into(),
            exams: vec![pb::ExamRecorded {
                exam_id: "MS-EXAM".into(),
                score_percent: 86,
                pass_mark_percent: 75,
                taken_on: "2025-10-19".into(),
                ..Default::default()
            }],
            credentials: vec![pb::CredentialSummary {
                credential_number: "MS-1".into(),
                status_today: pb::CredentialStatus::Active as i32,
                discipline: vec![pb::PublicDiscipline {
                    kind: pb::DisciplineKind::Reprimand as i32,
                    effective_on: "2024-01-01".into(),
                    public_summary: "late CE".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        pb::TransferDecision {
            outcome: pb::TransferOutcome::Conditional as i32,
            gaps: vec![gap],
            waived: vec![waived],
            policy: "full_comparison".into(),
            application_date: "2026-11-30".into(),
            origin_record: Some(record),
            ..Default::default()
        }
    }

    #[test]
    fn a_decision_shows_its_gaps_as_data_its_waivers_and_the_origin_record() {
        let json = decision_json(&decision());
        assert_eq!(json["outcome"], "CONDITIONAL");
        assert_eq!(json["policy"], "full_comparison");
        assert_eq!(json["application_date"], "2026-11-30");
        let gap = &json["gaps"][0];
        assert_eq!(gap["requirement_id"], "training_hours.supports_recovery_planning");
        assert_eq!(gap["domain"], "supports_recovery_planning");
        assert_eq!(
            (gap["required"].as_u64(), gap["found"].as_u64()),
            (Some(360), Some(240))
        );
        assert_eq!(gap["unit"], "minutes");
        assert_eq!(json["waived"][0]["waiver"]["waived_by"], "J. Reviewer");
        assert_eq!(json["waived"][0]["domain"], serde_json::Value::Null);
        let origin = &json["origin_record"];
        assert_eq!(origin["exams"][0]["pass_mark_percent"], 75);
        assert_eq!(origin["credentials"][0]["discipline"][0]["public_summary"], "late CE");

        let text = describe_decision(&decision());
        assert!(text.contains("policy: full_comparison, as of 2026-11-30"), "{text}");
        assert!(
            text.contains("gap: supports_recovery_planning training [training_hours.supports_recovery_planning]"),
            "{text}"
        );
        assert!(
            text.contains("waived: certification exam [exam]") && text.contains("waived by J. Reviewer"),
            "{text}"
        );
        let origin = describe_origin_record(decision().origin_record.as_ref().expect("record"));
        assert!(origin.contains("exam MS-EXAM: 86% (its pass mark 75%)"), "{origin}");
        assert!(
            origin.contains("discipline reprimand from 2024-01-01 (open): late CE"),
            "{origin}"
        );
    }
}
