//! Every `peerreg` command's body, so that the binary only parses flags and
//! calls one function here per command: `serve` ([`serve`]), client commands
//! for every role talking gRPC to a node (board operations, employer checks, a
//! board's view of a record, statistics, here), proofs ([`proof`]), an
//! operator's log commands ([`operator`]), trust and transfers ([`federation`]).
//! Commands return the text to print; output is for people, or JSON with `--json`.

use clap::{Args, Subcommand};

pub mod alerts;
pub mod backup;
pub mod export;
pub mod federation;
pub mod import;
pub mod keys;
pub mod operator;
pub mod proof;
mod roster;
pub mod search;
pub mod serve;
pub mod tokens;
pub mod vc;

use crate::domain::vocabulary::hours_to_minutes;
use crate::error::{Error, Result};
use crate::pb;
pub use crate::report::check_json;
pub(crate) use crate::report::{describe_discipline, status_code_name, status_name, type_name};
use crate::service::client::NodeClient;
use pb::command::Body;

/// Where and as whom to connect.
#[derive(Args, Debug, Clone)]
pub struct Connection {
    /// The node's gRPC endpoint.
    #[arg(long, visible_alias = "node", default_value = "http://127.0.0.1:50051")]
    pub endpoint: String,
    /// Board token (never on the command line: from the environment).
    #[arg(long, env = "PEERREG_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA (PEM) that signed the node's TLS certificate; use with an https:// endpoint.
    #[arg(long)]
    pub ca_cert: Option<std::path::PathBuf>,
    /// This client's certificate (PEM), for nodes that require mutual TLS.
    #[arg(long, requires = "client_key")]
    pub client_cert: Option<std::path::PathBuf>,
    #[arg(long, requires = "client_cert")]
    pub client_key: Option<std::path::PathBuf>,
}

impl Connection {
    /// Connects as this connection says; `with_token: false` for public calls.
    pub async fn client(&self, with_token: bool) -> Result<NodeClient> {
        let token = if with_token { self.token.clone() } else { None };
        let Some(ca) = &self.ca_cert else {
            return NodeClient::connect(&self.endpoint, token).await;
        };
        let read = |path: &std::path::Path| {
            std::fs::read(path).map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))
        };
        let identity = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
            _ => None,
        };
        let tls = crate::service::client::ClientTls {
            ca_pem: read(ca)?,
            identity,
            domain: None,
        };
        NodeClient::connect_tls(&self.endpoint, token, &tls).await
    }
}

#[derive(Subcommand, Debug)]
pub enum BoardCommand {
    /// Enrol a peer (records only that eligibility was attested).
    Enroll {
        #[arg(long)]
        peer_id: String,
        #[arg(long)]
        name: String,
        /// The peer attested the lived-experience eligibility requirement.
        #[arg(long)]
        attested: bool,
        /// The peer signed the state's code of ethics.
        #[arg(long)]
        ethics_signed: bool,
    },
    /// Record a legal name change.
    Rename {
        #[arg(long)]
        peer_id: String,
        #[arg(long)]
        name: String,
    },
    /// Record a completed training course.
    Training {
        #[arg(long)]
        peer_id: String,
        #[arg(long)]
        course_id: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        provider: String,
        #[arg(long)]
        hours: f64,
        #[arg(long)]
        completed_on: String,
        /// Hours per competency domain, e.g. --domain ethical_responsibility=8 (repeatable).
        #[arg(long = "domain", value_parser = parse_domain_hours)]
        domains: Vec<(String, f64)>,
    },
    /// Record paid, volunteer or supervised experience.
    Experience {
        #[arg(long)]
        peer_id: String,
        /// paid, volunteer or supervised.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        hours: f64,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Record an exam result.
    Exam {
        #[arg(long)]
        peer_id: String,
        #[arg(long)]
        exam_id: String,
        #[arg(long)]
        score: u32,
        #[arg(long)]
        pass_mark: u32,
        #[arg(long)]
        taken_on: String,
    },
    /// Issue a credential (initial certification).
    Issue {
        #[arg(long)]
        peer_id: String,
        #[arg(long)]
        number: String,
        /// peer_support_specialist, peer_recovery_specialist, family_peer, youth_peer or peer_supervisor.
        #[arg(long, default_value = "peer_support_specialist")]
        r#type: String,
        #[arg(long)]
        issued_on: String,
        #[arg(long)]
        expires_on: String,
        /// Grant by reciprocity: the origin state (needs an APPROVED transfer evaluation).
        #[arg(long, requires_all = ["origin_credential", "origin_checkpoint_file"])]
        origin_state: Option<String>,
        /// The credential number in the origin state.
        #[arg(long, requires = "origin_state")]
        origin_credential: Option<String>,
        /// The verified origin checkpoint (`transfer evaluate --checkpoint-out`).
        #[arg(long, requires = "origin_state")]
        origin_checkpoint_file: Option<std::path::PathBuf>,
    },
    /// Record completed continuing education.
    Ce {
        #[arg(long)]
        peer_id: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        hours: f64,
        #[arg(long)]
        provider: String,
        #[arg(long)]
        completed_on: String,
    },
    /// Renew a credential.
    Renew {
        #[arg(long)]
        number: String,
        #[arg(long)]
        renewed_on: String,
        #[arg(long)]
        expires_on: String,
    },
    /// Record a disciplinary action.
    Discipline {
        #[arg(long)]
        number: String,
        /// reprimand, probation, restriction, suspension, revocation or voluntary_surrender.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        effective_on: String,
        #[arg(long, default_value = "")]
        ends_on: String,
        /// The public summary (no investigative detail).
        #[arg(long)]
        summary: String,
    },
    /// Reinstate a suspended or probationary credential.
    Reinstate {
        #[arg(long)]
        number: String,
        #[arg(long)]
        effective_on: String,
        #[arg(long)]
        summary: String,
    },
    /// Record evidence for one initial-certification requirement the profile
    /// names (education, reading_writing, reference, residency, employment,
    /// pre_training, college_year, application); a private record.
    Evidence {
        #[arg(long)]
        peer_id: String,
        /// The requirement's id, e.g. residency.
        #[arg(long)]
        requirement: String,
        /// The date the evidence is for (YYYY-MM-DD).
        #[arg(long)]
        on: String,
        /// What was seen, e.g. "GED certificate".
        #[arg(long)]
        detail: String,
        /// Who attests it, e.g. a referee's role.
        #[arg(long, default_value = "")]
        attested_by: String,
    },
    /// Record the person's consent to disclose their record to a state (for a
    /// transfer) until a date; the log holds only a commitment to it.
    Consent {
        #[arg(long)]
        peer_id: String,
        /// The receiving state's code, e.g. TN.
        #[arg(long)]
        state: String,
        /// The last day the consent runs (YYYY-MM-DD).
        #[arg(long)]
        until: String,
    },
    /// Expunge a whole person or one record: their openings and keys are
    /// destroyed and the log gets a public notice (irreversible).
    Expunge {
        /// Expunge everything about this person.
        #[arg(long, required_unless_present = "record", conflicts_with = "record")]
        peer_id: Option<String>,
        /// Expunge only the record at this log index.
        #[arg(long)]
        record: Option<u64>,
        /// court_order, statute, person_request or retention_ended.
        #[arg(long)]
        reason: String,
    },
    /// Void a record entered in error: it no longer counts anywhere, and that
    /// it was voided stays visible.
    Void {
        /// The log index of the record to void.
        #[arg(long)]
        record: u64,
        /// entered_in_error, duplicate or wrong_person (a code: the public log
        /// holds no staff-written text).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Args, Debug)]
pub struct BoardArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// Idempotency key: retrying with the same id returns the same receipt [default: random].
    #[arg(long)]
    pub event_id: Option<String>,
    #[command(subcommand)]
    pub command: BoardCommand,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// The credential number to check.
    #[arg(long, required_unless_present = "roster", conflicts_with = "roster")]
    pub credential: Option<String>,
    /// A roster CSV to check instead: credential number, optional name, optional
    /// date of service (YYYY-MM-DD); a header row is allowed.
    #[arg(long)]
    pub roster: Option<std::path::PathBuf>,
    /// Where to write the roster report (CSV, or JSON with --json) [default: stdout].
    #[arg(long, requires = "roster")]
    pub out: Option<std::path::PathBuf>,
    /// The holder's legal name, to match.
    #[arg(long, default_value = "")]
    pub name: String,
    /// A date of service (YYYY-MM-DD) [default: today].
    #[arg(long, default_value = "")]
    pub as_of: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_domain_hours(text: &str) -> std::result::Result<(String, f64), String> {
    let (domain, hours) = text.split_once('=').ok_or("expected DOMAIN=HOURS")?;
    let hours = hours.parse::<f64>().map_err(|e| format!("hours: {e}"))?;
    Ok((domain.to_string(), hours))
}

/// Hours from the command line as whole minutes; negative or absurd values are
/// refused here rather than wrapped.
fn minutes(field: &str, hours: f64) -> Result<u32> {
    if !hours.is_finite() || !(0.0..=1_000_000.0).contains(&hours) {
        return Err(Error::InvalidArgument(format!(
            "--{field} must be a positive number of hours, got {hours}"
        )));
    }
    Ok(hours_to_minutes(hours))
}

fn enum_value(field: &str, value: &str, known: &[(&str, i32)]) -> Result<i32> {
    known
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
            Error::InvalidArgument(format!("--{field} {value:?} is not one of: {}", names.join(", ")))
        })
}

pub(crate) fn credential_type(value: &str) -> Result<i32> {
    use pb::CredentialType as T;
    let known = [
        ("peer_support_specialist", T::PeerSupportSpecialist as i32),
        ("peer_recovery_specialist", T::PeerRecoverySpecialist as i32),
        ("family_peer", T::FamilyPeer as i32),
        ("youth_peer", T::YouthPeer as i32),
        ("peer_supervisor", T::PeerSupervisor as i32),
    ];
    enum_value("type", value, &known)
}

fn discipline_kind(value: &str) -> Result<i32> {
    use pb::DisciplineKind as K;
    let known = [
        ("reprimand", K::Reprimand as i32),
        ("probation", K::Probation as i32),
        ("restriction", K::Restriction as i32),
        ("suspension", K::Suspension as i32),
        ("revocation", K::Revocation as i32),
        ("voluntary_surrender", K::VoluntarySurrender as i32),
    ];
    enum_value("kind", value, &known)
}

fn experience_kind(value: &str) -> Result<i32> {
    use pb::ExperienceKind as K;
    let known = [
        ("paid", K::Paid as i32),
        ("volunteer", K::Volunteer as i32),
        ("supervised", K::Supervised as i32),
    ];
    enum_value("kind", value, &known)
}

fn expungement_reason(value: &str) -> Result<i32> {
    use pb::ExpungementReason as R;
    let known = [
        ("court_order", R::CourtOrder as i32),
        ("statute", R::Statute as i32),
        ("person_request", R::PersonRequest as i32),
        ("retention_ended", R::RetentionEnded as i32),
    ];
    enum_value("reason", value, &known)
}

fn void_reason(value: &str) -> Result<i32> {
    use pb::VoidReason as R;
    let known = [
        ("entered_in_error", R::EnteredInError as i32),
        ("duplicate", R::Duplicate as i32),
        ("wrong_person", R::WrongPerson as i32),
    ];
    enum_value("reason", value, &known)
}

/// What an expungement targets: clap lets exactly one of the two through.
fn expunge_target(peer_id: Option<String>, record: Option<u64>) -> Result<pb::expunge_command::Target> {
    use pb::expunge_command::Target;
    match (peer_id, record) {
        (Some(peer_id), None) => Ok(Target::PeerId(peer_id)),
        (None, Some(index)) => Ok(Target::Index(index)),
        _ => Err(Error::InvalidArgument(
            "name exactly one of --peer-id (a whole person) or --record (one log index)".into(),
        )),
    }
}

/// The reciprocity basis of a grant, if the origin is named.
fn reciprocity_basis(
    origin_state: Option<String>,
    origin_credential: Option<String>,
    checkpoint_file: Option<std::path::PathBuf>,
) -> Result<Option<pb::ReciprocityBasis>> {
    let (Some(origin_state), Some(origin_credential_number), Some(path)) =
        (origin_state, origin_credential, checkpoint_file)
    else {
        return Ok(None);
    };
    let origin_checkpoint = std::fs::read(&path)
        .map_err(|e| Error::InvalidArgument(format!("--origin-checkpoint-file {}: {e}", path.display())))?;
    Ok(Some(pb::ReciprocityBasis {
        origin_state,
        origin_credential_number,
        origin_checkpoint,
    }))
}

/// The event body a board command records.
pub fn body(command: BoardCommand) -> Result<Body> {
    Ok(match command {
        BoardCommand::Enroll {
            peer_id,
            name,
            attested,
            ethics_signed,
        } => Body::PeerEnrolled(pb::PeerEnrolled {
            peer_id,
            legal_name: name,
            eligibility_attested: attested,
            ethics_code_signed: ethics_signed,
        }),
        BoardCommand::Rename { peer_id, name } => Body::NameChanged(pb::NameChanged {
            peer_id,
            new_legal_name: name,
        }),
        BoardCommand::Training {
            peer_id,
            course_id,
            title,
            provider,
            hours,
            completed_on,
            domains,
        } => {
            let domains = domains
                .into_iter()
                .map(|(domain, hours)| {
                    Ok(pb::DomainMinutes {
                        minutes: minutes("domain", hours)?,
                        domain,
                    })
                })
                .collect::<Result<_>>()?;
            Body::TrainingCompleted(pb::TrainingCompleted {
                peer_id,
                course_id,
                course_title: title,
                provider,
                minutes: minutes("hours", hours)?,
                completed_on,
                domains,
            })
        }
        BoardCommand::Experience {
            peer_id,
            kind,
            hours,
            from,
            to,
        } => Body::ExperienceRecorded(pb::ExperienceRecorded {
            peer_id,
            kind: experience_kind(&kind)?,
            minutes: minutes("hours", hours)?,
            period_start: from,
            period_end: to,
        }),
        BoardCommand::Exam {
            peer_id,
            exam_id,
            score,
            pass_mark,
            taken_on,
        } => Body::ExamRecorded(pb::ExamRecorded {
            peer_id,
            exam_id,
            score_percent: score,
            pass_mark_percent: pass_mark,
            taken_on,
        }),
        BoardCommand::Issue {
            peer_id,
            number,
            r#type,
            issued_on,
            expires_on,
            origin_state,
            origin_credential,
            origin_checkpoint_file,
        } => Body::CredentialIssued(pb::CredentialIssued {
            imported: None,
            peer_id,
            credential_number: number,
            credential_type: credential_type(&r#type)?,
            issued_on,
            expires_on,
            reciprocity: reciprocity_basis(origin_state, origin_credential, origin_checkpoint_file)?,
        }),
        BoardCommand::Ce {
            peer_id,
            topic,
            hours,
            provider,
            completed_on,
        } => Body::ContinuingEducationCompleted(pb::ContinuingEducationCompleted {
            peer_id,
            topic,
            minutes: minutes("hours", hours)?,
            provider,
            completed_on,
        }),
        BoardCommand::Renew {
            number,
            renewed_on,
            expires_on,
        } => Body::CredentialRenewed(pb::CredentialRenewed {
            imported: false,
            credential_number: number,
            renewed_on,
            new_expires_on: expires_on,
        }),
        BoardCommand::Discipline {
            number,
            kind,
            effective_on,
            ends_on,
            summary,
        } => Body::DisciplinaryAction(pb::DisciplinaryAction {
            credential_number: number,
            kind: discipline_kind(&kind)?,
            effective_on,
            ends_on,
            public_summary: summary,
        }),
        BoardCommand::Reinstate {
            number,
            effective_on,
            summary,
        } => Body::CredentialReinstated(pb::CredentialReinstated {
            credential_number: number,
            effective_on,
            public_summary: summary,
        }),
        BoardCommand::Evidence {
            peer_id,
            requirement,
            on,
            detail,
            attested_by,
        } => Body::RequirementEvidence(pb::RequirementEvidence {
            peer_id,
            requirement,
            recorded_on: on,
            detail,
            attested_by,
        }),
        BoardCommand::Consent { peer_id, state, until } => Body::ConsentRecorded(pb::ConsentRecorded {
            peer_id,
            receiving_state: state,
            until,
        }),
        BoardCommand::Expunge {
            peer_id,
            record,
            reason,
        } => Body::Expunge(pb::ExpungeCommand {
            reason: expungement_reason(&reason)?,
            target: Some(expunge_target(peer_id, record)?),
        }),
        BoardCommand::Void { record, reason } => Body::Void(pb::VoidCommand {
            index: record,
            reason: void_reason(&reason)?,
        }),
    })
}

fn random_event_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(format!("cli-{}", hex::encode(bytes)))
}

/// Runs a board command; returns the line to print.
pub async fn board(args: BoardArgs) -> Result<String> {
    let event_id = match args.event_id {
        Some(id) => id,
        None => random_event_id()?,
    };
    // Bad flags are refused before anything is sent.
    let body = body(args.command)?;
    let client = args.connection.client(true).await?;
    let receipt = client.record(event_id.clone(), body).await?;
    let size = receipt.checkpoint.as_ref().map_or(0, |c| c.size);
    let again = if receipt.duplicate {
        " (already recorded earlier with this event id)"
    } else {
        ""
    };
    Ok(format!(
        "recorded as entry {} (event id {event_id}), covered by the signed checkpoint of size {size}{again}",
        receipt.index
    ))
}

/// The employer check as text.
pub fn describe_check(check: &pb::CredentialCheck) -> String {
    let mut text = format!(
        "{} {} — {}: {} on {} (issued {}, expires {})",
        check.state,
        check.credential_number,
        check.legal_name,
        status_name(check.status),
        check.as_of,
        check.issued_on,
        check.expires_on
    );
    if !check.reciprocity_origin_state.is_empty() {
        text.push_str(&format!(
            "\n  granted by reciprocity on {} credential {}",
            check.reciprocity_origin_state, check.reciprocity_origin_credential_number
        ));
    }
    if !check.imported_source_system.is_empty() {
        text.push_str(&format!(
            "\n  imported from {} on {} (history before then as that system recorded it)",
            check.imported_source_system, check.imported_on
        ));
    }
    for action in &check.discipline {
        text.push_str(&format!("\n  discipline: {}", describe_discipline(action)));
    }
    text
}

/// Runs an employer check (one credential or a roster); returns the text to print.
pub async fn check(args: CheckArgs) -> Result<String> {
    if let Some(path) = &args.roster {
        return roster::check_roster(&args.connection, path, args.out.as_deref(), args.json).await;
    }
    let client = args.connection.client(false).await?;
    let credential_number = args.credential.unwrap_or_default();
    let request = pb::CheckCredentialRequest {
        credential_number,
        legal_name: args.name,
        as_of: args.as_of,
    };
    let answer = client.check(request).await?;
    if args.json {
        Ok(check_json(&answer).to_string())
    } else {
        Ok(describe_check(&answer))
    }
}

/// A board's view of a peer's record, as text.
pub async fn record(connection: Connection, peer_id: String) -> Result<String> {
    let client = connection.client(true).await?;
    let record = client.peer_record(peer_id).await?;
    let hours = |minutes: u32| crate::domain::vocabulary::format_hours(u64::from(minutes));
    let mut lines = vec![format!(
        "{} {} (eligibility attested: {}, code of ethics signed: {})",
        record.peer_id, record.legal_name, record.eligibility_attested, record.ethics_code_signed
    )];
    for t in &record.trainings {
        lines.push(format!(
            "  training {} {:?}: {} on {}",
            t.course_id,
            t.course_title,
            hours(t.minutes),
            t.completed_on
        ));
    }
    for e in &record.exams {
        lines.push(format!(
            "  exam {}: {}% (pass mark {}%) on {}",
            e.exam_id, e.score_percent, e.pass_mark_percent, e.taken_on
        ));
    }
    for e in &record.experience {
        let kind = pb::ExperienceKind::try_from(e.kind)
            .map(|k| k.as_str_name())
            .unwrap_or("UNKNOWN");
        lines.push(format!(
            "  experience {kind}: {} from {} to {}",
            hours(e.minutes),
            e.period_start,
            e.period_end
        ));
    }
    for c in &record.continuing_education {
        lines.push(format!("  CE {}: {} on {}", c.topic, hours(c.minutes), c.completed_on));
    }
    for c in &record.credentials {
        lines.push(format!(
            "  credential {}: {} today (issued {}, expires {}), log entries {:?}",
            c.credential_number,
            status_name(c.status_today),
            c.issued_on,
            c.expires_on,
            c.event_indices
        ));
    }
    lines.extend(describe_consents(&record));
    lines.extend(describe_evidence_and_waivers(&record));
    lines.extend(import::describe_imports(&record));
    Ok(lines.join("\n"))
}

/// The board-only evidence for initial requirements and the transfer gaps
/// its reviewers waived.
fn describe_evidence_and_waivers(record: &pb::PeerRecord) -> Vec<String> {
    let evidence = record.evidence.iter().map(|e| {
        let by = if e.attested_by.is_empty() {
            String::new()
        } else {
            format!(", attested by {}", e.attested_by)
        };
        format!("  evidence: {} on {} ({}{by})", e.requirement, e.recorded_on, e.detail)
    });
    let waivers = record.waivers.iter().map(|w| {
        format!(
            "  waived: {} for {} {} on {} by {}: {}",
            w.requirement_id, w.origin_state, w.origin_credential_number, w.recorded_on, w.waived_by, w.reason
        )
    });
    evidence.chain(waivers).collect()
}

/// The board-only part of a record about disclosure and corrections: the
/// person's consents, every disclosure made to another state, and what was
/// voided (the demo prints these too).
pub fn describe_consents(record: &pb::PeerRecord) -> Vec<String> {
    let mut lines = Vec::new();
    for c in &record.consents {
        lines.push(format!(
            "  consent to disclose to {} until {} [log index {}]",
            c.receiving_state, c.until, c.index
        ));
    }
    for d in &record.disclosures {
        lines.push(format!(
            "  disclosed {} to {} on {} (log size {}) [log index {}]",
            d.credential_number, d.receiving_state, d.disclosed_on, d.checkpoint_size, d.index
        ));
    }
    if record.disclosures.is_empty() {
        lines.push("  no disclosures".into());
    }
    for v in &record.voided {
        let reason = pb::VoidReason::try_from(v.reason)
            .map(|r| r.as_str_name())
            .unwrap_or("UNKNOWN");
        lines.push(format!(
            "  voided: log index {} ({reason}) by log index {}",
            v.index, v.voided_by
        ));
    }
    lines
}

/// Workforce statistics, as text.
pub async fn statistics(connection: Connection, as_of: String) -> Result<String> {
    let client = connection.client(false).await?;
    let stats = client.statistics(as_of).await?;
    let mut lines = vec![format!(
        "{} on {}: {} peers, log size {}",
        stats.state, stats.as_of, stats.peers, stats.log_size
    )];
    for row in &stats.rows {
        let kind = pb::CredentialType::try_from(row.credential_type)
            .map(|t| t.as_str_name())
            .unwrap_or("UNKNOWN");
        lines.push(format!("  {kind} {}: {}", status_name(row.status), row.count));
    }
    Ok(lines.join("\n"))
}

/// Prints each change to the watched credentials as it happens (until Ctrl-C).
pub async fn watch(connection: Connection, credentials: Vec<String>, from_index: u64) -> Result<String> {
    let client = connection.client(false).await?;
    client
        .watch(credentials, from_index, |change| {
            let first = if change.initial { " (current)" } else { "" };
            println!(
                "{} {}: {} — {}{first} [log index {}]",
                change.as_of,
                change.credential_number,
                status_name(change.status),
                change.reason,
                change.index
            );
        })
        .await?;
    Ok("the node ended the watch".into())
}

/// `--witness KEY ... --witness-quorum N`: how many of which witnesses must
/// have cosigned a checkpoint before a command takes it as witnessed.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct WitnessArgs {
    /// A witness verifier key you trust (`name+keyid+base64`, from the witnessing state's board; repeat
    /// for each witness).
    #[arg(long = "witness", value_name = "KEY")]
    pub witnesses: Vec<String>,
    /// How many of those witnesses must have cosigned the checkpoint; one with fewer is reported as
    /// not yet witnessed, never as valid [default: 0, no witnesses required].
    #[arg(long, default_value_t = 0)]
    pub witness_quorum: usize,
}

impl WitnessArgs {
    pub fn policy(&self) -> Result<crate::log::cosignature::WitnessPolicy> {
        crate::log::cosignature::WitnessPolicy::parse(&self.witnesses, self.witness_quorum)
            .map_err(|e| Error::InvalidArgument(format!("--witness/--witness-quorum: {e}")))
    }
}
