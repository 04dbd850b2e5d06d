//! Which facts may be appended, given the registry and the state's profile.
//! Checked on the single writer, against the registry including every earlier
//! event of the same batch, so validation and append are atomic: two racing
//! issues of one credential number cannot both pass.
//!
//! Codes (DESIGN.md §5): unknown peer or credential `NOT_FOUND`; a peer id
//! enrolled twice `ALREADY_EXISTS`; illegal transitions, unmet requirements and
//! duplicate credential numbers `FAILED_PRECONDITION` (DESIGN.md §3), each with
//! the reason.

use chrono::NaiveDate;

use super::fact::{ExpungeTarget, Fact, Issue, ReciprocityBasis, TransferOutcome};
use super::history::ProfileHistory;
use super::profile::RequirementProfile;
use super::records::{Credential, Peer, RecordAt, Records};
use super::requirements::{ce_gaps, ce_window_start, describe, initial_gaps, validity_gap};
use super::status::Status;
use crate::error::{Error, Result};

fn peer<'a>(registry: &'a impl Records, peer_id: &str) -> Result<&'a Peer> {
    registry
        .peer(peer_id)
        .ok_or_else(|| Error::NotFound(format!("no peer {peer_id:?} is enrolled in this registry")))
}

fn credential<'a>(registry: &'a impl Records, number: &str) -> Result<&'a Credential> {
    registry
        .credential(number)
        .ok_or_else(|| Error::NotFound(format!("no credential {number:?} in this registry")))
}

fn refuse(reason: String) -> Error {
    Error::FailedPrecondition(reason)
}

/// Dates of completed things cannot be in the future.
fn not_future(field: &str, date: NaiveDate, today: NaiveDate) -> Result<()> {
    if date > today {
        return Err(Error::InvalidArgument(format!(
            "{field} ({date}) is in the future (today is {today})"
        )));
    }
    Ok(())
}

/// The date a fact is judged on: an issue's, a renewal's or an evaluation's
/// own date, otherwise today. An imported issue is judged on its import date
/// (its issue was judged by the source system, perhaps before any version of
/// this board's profile); an imported renewal, whose requirements are not
/// judged at all, today.
fn judged_on(fact: &Fact, today: NaiveDate) -> NaiveDate {
    match fact {
        Fact::CredentialIssued(Issue {
            imported: Some(basis), ..
        }) => basis.imported_on,
        Fact::CredentialIssued(issue) => issue.issued_on,
        Fact::CredentialRenewed { renewal, .. } if renewal.imported => today,
        Fact::CredentialRenewed { renewal, .. } => renewal.renewed_on,
        Fact::TransferEvaluated(evaluation) => evaluation.evaluated_on,
        _ => today,
    }
}

/// The profile version in force on `date`, or why there is none.
pub fn profile_on(history: &ProfileHistory, date: NaiveDate) -> Result<&RequirementProfile> {
    history.in_force(date).ok_or_else(|| {
        refuse(format!(
            "no version of {}'s requirement profile is in force on {date}",
            history.state()
        ))
    })
}

/// Refuses `fact` with the reason if it may not be appended now, judged by
/// the profile version in force on the fact's own date.
pub fn check(registry: &impl Records, history: &ProfileHistory, fact: &Fact, today: NaiveDate) -> Result<()> {
    let profile = profile_on(history, judged_on(fact, today))?;
    match fact {
        Fact::Enrolled { peer_id, .. } => match registry.peer(peer_id) {
            Some(_) => Err(Error::AlreadyExists(format!("peer {peer_id:?} is already enrolled"))),
            None => Ok(()),
        },
        Fact::NameChanged { peer_id, .. } => peer(registry, peer_id).map(|_| ()),
        Fact::TrainingCompleted { peer_id, training } => {
            peer(registry, peer_id)?;
            not_future("completed_on", training.completed_on, today)
        }
        Fact::ExperienceRecorded { peer_id, experience } => {
            peer(registry, peer_id)?;
            not_future("period_end", experience.period_end, today)
        }
        Fact::ExamRecorded { peer_id, exam } => {
            peer(registry, peer_id)?;
            not_future("taken_on", exam.taken_on, today)
        }
        Fact::ContinuingEducationCompleted { peer_id, course } => {
            peer(registry, peer_id)?;
            not_future("completed_on", course.completed_on, today)
        }
        Fact::CredentialIssued(issue) => {
            let holder = peer(registry, &issue.peer_id)?;
            not_future("issued_on", issue.issued_on, today)?;
            if registry.credential(&issue.credential_number).is_some() {
                return Err(refuse(format!(
                    "credential number {:?} is already in use",
                    issue.credential_number
                )));
            }
            if let Some(basis) = &issue.imported {
                // Judged by the source system: neither the initial
                // requirements nor the validity length are judged again.
                return not_future("imported.imported_on", basis.imported_on, today);
            }
            if let Some(gap) = validity_gap(&profile.initial, issue.issued_on, issue.expires_on) {
                return Err(refuse(gap.to_string()));
            }
            match &issue.reciprocity {
                Some(basis) => check_reciprocity_grant(registry, profile, issue, basis),
                None => {
                    let gaps = initial_gaps(holder, &profile.initial, issue.issued_on);
                    if gaps.is_empty() {
                        Ok(())
                    } else {
                        Err(refuse(format!(
                            "initial certification requirements not met: {}",
                            describe(&gaps)
                        )))
                    }
                }
            }
        }
        Fact::CredentialRenewed {
            credential_number,
            renewal,
        } => {
            let credential = credential(registry, credential_number)?;
            if renewal.imported {
                return check_imported_renewal(credential, renewal.renewed_on, renewal.new_expires_on, today);
            }
            check_renewal(
                registry,
                profile,
                credential,
                renewal.renewed_on,
                renewal.new_expires_on,
                today,
            )
        }
        Fact::DisciplinaryAction {
            credential_number,
            discipline,
        } => {
            let credential = credential(registry, credential_number)?;
            check_active_record(credential, discipline.effective_on)?;
            Ok(())
        }
        Fact::CredentialReinstated {
            credential_number,
            reinstatement,
        } => {
            let credential = credential(registry, credential_number)?;
            not_future("effective_on", reinstatement.effective_on, today)?;
            check_active_record(credential, reinstatement.effective_on)?;
            match credential.status_on(reinstatement.effective_on) {
                Status::Suspended | Status::Probation | Status::Restricted => Ok(()),
                status => Err(refuse(format!(
                    "only a suspended, probationary or restricted credential can be reinstated; {credential_number} is {} on {}",
                    status.as_str(),
                    reinstatement.effective_on
                ))),
            }
        }
        // Only the operator's rotation path (`peerreg key rotate`, the Admin
        // RotateLogKey call) writes this entry, with a key it created itself:
        // a board command can never name a key for the log.
        Fact::SigningKeyRotated { .. } => Err(refuse(
            "the log's signing key is rotated only by the operator (peerreg key rotate), never by a board command".into(),
        )),
        Fact::TransferEvaluated(evaluation) => {
            not_other_state(profile, &evaluation.origin_state)?;
            not_future("evaluated_on", evaluation.evaluated_on, today)?;
            match &evaluation.local_peer_id {
                Some(peer_id) => peer(registry, peer_id).map(|_| ()),
                None => Ok(()),
            }
        }
        Fact::ConsentRecorded { peer_id, consent } => {
            peer(registry, peer_id)?;
            if consent.receiving_state == profile.state {
                return Err(refuse(format!(
                    "a consent names another state to disclose to, not this one ({})",
                    profile.state
                )));
            }
            if consent.until < today {
                return Err(Error::InvalidArgument(format!(
                    "until ({}) has passed (today is {today}): a consent must run to today or later",
                    consent.until
                )));
            }
            Ok(())
        }
        Fact::DisclosureRecorded { peer_id, .. } => peer(registry, peer_id).map(|_| ()),
        Fact::WaiverRecorded { peer_id, waiver } => {
            peer(registry, peer_id)?;
            not_other_state(profile, &waiver.origin_state)?;
            not_future("recorded_on", waiver.recorded_on, today)?;
            if waiver.reason.trim().is_empty() || waiver.waived_by.trim().is_empty() {
                return Err(Error::InvalidArgument(
                    "a waiver names who waived the gap (waived_by) and why (reason)".into(),
                ));
            }
            Ok(())
        }
        Fact::EvidenceRecorded { peer_id, evidence } => {
            peer(registry, peer_id)?;
            not_future("recorded_on", evidence.recorded_on, today)
        }
        Fact::ImportProvenance { peer_id, provenance } => {
            peer(registry, peer_id)?;
            not_future("imported_on", provenance.imported_on, today)
        }
        Fact::Expunge { target, .. } => match target {
            ExpungeTarget::Person(peer_id) => peer(registry, peer_id).map(|_| ()),
            ExpungeTarget::Record(index) => match registry.record_at(*index) {
                Some(RecordAt::Enrolment(peer_id)) => Err(refuse(format!(
                    "entry {index} is the enrolment of {peer_id:?}: expunge the whole person by peer id instead"
                ))),
                Some(_) => Ok(()),
                None => Err(not_a_record(*index)),
            },
        },
        Fact::Voided { index, .. } => match registry.record_at(*index) {
            Some(RecordAt::Enrolment(peer_id)) => Err(refuse(format!(
                "entry {index} is the enrolment of {peer_id:?}; an enrolment cannot be voided (expunge the person, or void their records one by one)"
            ))),
            Some(_) => Ok(()),
            None => Err(not_a_record(*index)),
        },
        Fact::Expunged { .. } | Fact::Sealed => Err(Error::InvalidArgument(
            "expungement notices and sealed records are written by the node, not sent as commands".into(),
        )),
    }
}

fn not_a_record(index: u64) -> Error {
    Error::NotFound(format!(
        "entry {index} is not a record that counts in this registry (unknown, a notice, or already voided or expunged)"
    ))
}

/// Reciprocity is between states: a basis or an evaluation naming this state is a mistake.
fn not_other_state(profile: &RequirementProfile, origin_state: &str) -> Result<()> {
    if origin_state == profile.state {
        return Err(refuse(format!(
            "a transfer must come from another state, not this one ({})",
            profile.state
        )));
    }
    Ok(())
}

/// A credential granted by reciprocity stands on this board's latest
/// evaluation of the origin credential: it must be APPROVED (a CONDITIONAL one
/// is closed by recording the missing items and evaluating again), made as of
/// an application date no more than the profile's `evaluation_valid_days`
/// before the grant (an old approval says nothing of the credential now), be for this
/// peer if it named one, and the grant must name the very checkpoint that
/// evaluation verified the evidence against.
fn check_reciprocity_grant(
    registry: &impl Records,
    profile: &RequirementProfile,
    issue: &Issue,
    basis: &ReciprocityBasis,
) -> Result<()> {
    not_other_state(profile, &basis.origin_state)?;
    let (state, number) = (&basis.origin_state, &basis.origin_credential_number);
    let Some(evaluation) = registry.evaluation(state, number) else {
        return Err(refuse(format!(
            "no transfer evaluation of {state} credential {number} is recorded; evaluate the transfer first"
        )));
    };
    let entry = evaluation.index;
    match evaluation.outcome {
        TransferOutcome::Approved => {}
        TransferOutcome::Conditional => {
            return Err(refuse(format!(
                "the latest evaluation of {state} credential {number} (log entry {entry}) is CONDITIONAL: {}; record the missing items and evaluate again",
                describe(&evaluation.gaps)
            )))
        }
        TransferOutcome::Denied => {
            return Err(refuse(format!(
                "the latest evaluation of {state} credential {number} (log entry {entry}) is DENIED: {}",
                evaluation.denials.join("; ")
            )))
        }
    }
    let days = profile.reciprocity.evaluation_valid_days;
    let valid_until = evaluation.evaluated_on + chrono::Days::new(u64::from(days));
    if issue.issued_on > valid_until {
        return Err(refuse(format!(
            "the approved evaluation of {state} credential {number} (log entry {entry}) is of {}, more than {days} days \
             before this grant ({}): evaluate the transfer again",
            evaluation.evaluated_on, issue.issued_on
        )));
    }
    if evaluation.origin_checkpoint != basis.origin_checkpoint {
        return Err(refuse(format!(
            "reciprocity.origin_checkpoint is not the checkpoint the approved evaluation (log entry {entry}) verified; copy it from that evaluation"
        )));
    }
    match &evaluation.local_peer_id {
        Some(peer_id) if *peer_id != issue.peer_id => Err(refuse(format!(
            "the approved evaluation (log entry {entry}) was for peer {peer_id}, not {}",
            issue.peer_id
        ))),
        _ => Ok(()),
    }
}

/// Nothing can be done to a credential before its issue or after it was revoked
/// or surrendered.
fn check_active_record(credential: &Credential, date: NaiveDate) -> Result<()> {
    if date < credential.issued_on {
        return Err(refuse(format!(
            "{date} is before credential {} was issued ({})",
            credential.number, credential.issued_on
        )));
    }
    if credential.is_terminated(date) {
        return Err(refuse(format!(
            "credential {} was {} and can no longer be changed",
            credential.number,
            credential.status_on(date).as_str()
        )));
    }
    Ok(())
}

/// A renewal the source system granted, imported as history: only on an
/// imported credential and dated on or before its import date (later life is
/// judged normally); its CE and validity length are not judged again, but it
/// must still extend the expiry of a credential not terminated by then.
fn check_imported_renewal(
    credential: &Credential,
    renewed_on: NaiveDate,
    new_expires_on: NaiveDate,
    today: NaiveDate,
) -> Result<()> {
    let Some(basis) = &credential.imported else {
        return Err(refuse(format!(
            "credential {} was not imported: only an imported credential's renewals before its import date can be recorded as imported",
            credential.number
        )));
    };
    if renewed_on > basis.imported_on {
        return Err(refuse(format!(
            "renewed_on ({renewed_on}) is after credential {}'s import date ({}): a renewal since the import is judged normally (send it without `imported`)",
            credential.number, basis.imported_on
        )));
    }
    not_future("renewed_on", renewed_on, today)?;
    check_active_record(credential, renewed_on)?;
    later_expiry(credential, renewed_on, new_expires_on).map(|_| ())
}

/// The expiry in force on `renewed_on`, which `new_expires_on` must pass.
fn later_expiry(credential: &Credential, renewed_on: NaiveDate, new_expires_on: NaiveDate) -> Result<NaiveDate> {
    let current = credential.expires_on_as_of(renewed_on);
    if new_expires_on <= current {
        return Err(Error::InvalidArgument(format!(
            "new_expires_on ({new_expires_on}) must be after the current expiry ({current})"
        )));
    }
    Ok(current)
}

fn check_renewal(
    registry: &impl Records,
    profile: &RequirementProfile,
    credential: &Credential,
    renewed_on: NaiveDate,
    new_expires_on: NaiveDate,
    today: NaiveDate,
) -> Result<()> {
    not_future("renewed_on", renewed_on, today)?;
    check_active_record(credential, renewed_on)?;
    let current = later_expiry(credential, renewed_on, new_expires_on)?;
    // A renewal before expiry extends the current period; a late one starts anew.
    let period_start = renewed_on.max(current);
    if let Some(gap) = validity_gap(&profile.initial, period_start, new_expires_on) {
        return Err(refuse(gap.to_string()));
    }
    let holder = peer(registry, &credential.peer_id)?;
    let gaps = ce_gaps(
        holder,
        ce_window_start(credential, renewed_on),
        &profile.renewal,
        renewed_on,
    );
    if gaps.is_empty() {
        Ok(())
    } else {
        Err(refuse(format!("renewal requirements not met: {}", describe(&gaps))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fact::ImportedBasis;
    use crate::pb;
    use crate::projection::Registry;

    const MISSISSIPPI: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/profiles/mississippi.example.toml"
    ));

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    /// The Mississippi example, in force only from 2020 (so nothing issued
    /// in 2015 has a profile of its own date).
    fn history() -> ProfileHistory {
        let body = MISSISSIPPI
            .replace("[initial", "[versions.initial")
            .replace("[renewal", "[versions.renewal")
            .replace("[reciprocity", "[versions.reciprocity");
        let text = format!("[[versions]]\neffective_from = \"2020-01-01\"\n{body}\n");
        ProfileHistory::from_toml(&text, "ms").expect("loads")
    }

    fn fact(body: pb::command::Body) -> Fact {
        Fact::try_from(body).expect("well formed")
    }

    fn issue(number: &str, issued_on: &str, expires_on: &str, imported_on: Option<&str>) -> pb::command::Body {
        pb::command::Body::CredentialIssued(pb::CredentialIssued {
            peer_id: "P1".into(),
            credential_number: number.into(),
            credential_type: pb::CredentialType::PeerSupportSpecialist as i32,
            issued_on: issued_on.into(),
            expires_on: expires_on.into(),
            reciprocity: None,
            imported: imported_on.map(|on| pb::ImportedBasis {
                source_system: "MS legacy".into(),
                source_record_id: String::new(),
                imported_on: on.into(),
            }),
        })
    }

    fn renewal(number: &str, renewed_on: &str, new_expires_on: &str, imported: bool) -> Fact {
        fact(pb::command::Body::CredentialRenewed(pb::CredentialRenewed {
            credential_number: number.into(),
            renewed_on: renewed_on.into(),
            new_expires_on: new_expires_on.into(),
            imported,
        }))
    }

    /// A registry with peer P1 enrolled (no training, no exam, no CE) and
    /// credential C1 imported on 2024-01-15, issued 2015 for three years.
    fn registry(history: &ProfileHistory, today: NaiveDate) -> Registry {
        let mut registry = Registry::default();
        let enrolled = fact(pb::command::Body::PeerEnrolled(pb::PeerEnrolled {
            peer_id: "P1".into(),
            legal_name: "Ada Lovelace".into(),
            eligibility_attested: true,
            ethics_code_signed: true,
        }));
        registry.apply(0, &enrolled);
        let imported = fact(issue("C1", "2015-03-01", "2018-03-01", Some("2024-01-15")));
        check(&registry, history, &imported, today).expect("an imported issue needs no requirements");
        registry.apply(1, &imported);
        registry
    }

    #[test]
    fn an_imported_issue_skips_initial_requirements_but_not_its_holder_or_number() {
        let (history, today) = (history(), day("2024-06-01"));
        let registry = registry(&history, today);
        assert_eq!(
            registry.credential("C1").and_then(|c| c.imported.clone()),
            Some(ImportedBasis {
                source_system: "MS legacy".into(),
                source_record_id: String::new(),
                imported_on: day("2024-01-15"),
            })
        );
        // The same issue without the basis: no profile in force in 2015.
        let plain = fact(issue("C2", "2015-03-01", "2018-03-01", None));
        assert!(matches!(
            check(&registry, &history, &plain, today),
            Err(Error::FailedPrecondition(_))
        ));
        // Nor today: requirements not met.
        let plain = fact(issue("C2", "2024-03-01", "2026-03-01", None));
        assert!(matches!(
            check(&registry, &history, &plain, today),
            Err(Error::FailedPrecondition(_))
        ));
        let again = fact(issue("C1", "2016-03-01", "2019-03-01", Some("2024-01-15")));
        assert!(matches!(
            check(&registry, &history, &again, today),
            Err(Error::FailedPrecondition(_))
        ));
        let future = fact(issue("C3", "2016-03-01", "2019-03-01", Some("2024-07-01")));
        assert!(matches!(
            check(&registry, &history, &future, today),
            Err(Error::InvalidArgument(_))
        ));
        let stranger = Fact::CredentialIssued(Issue {
            peer_id: "P9".into(),
            ..match fact(issue("C4", "2016-03-01", "2019-03-01", Some("2024-01-15"))) {
                Fact::CredentialIssued(issue) => issue,
                _ => unreachable!(),
            }
        });
        assert!(matches!(
            check(&registry, &history, &stranger, today),
            Err(Error::NotFound(_))
        ));
        // Before any profile version: nothing to judge the import date by.
        let early = fact(issue("C5", "2015-03-01", "2018-03-01", Some("2019-06-01")));
        assert!(matches!(
            check(&registry, &history, &early, today),
            Err(Error::FailedPrecondition(_))
        ));
    }

    #[test]
    fn an_imported_issue_is_well_formed_only_alone_and_dated_in_order() {
        let mut both = issue("C1", "2015-03-01", "2018-03-01", Some("2024-01-15"));
        if let pb::command::Body::CredentialIssued(e) = &mut both {
            e.reciprocity = Some(pb::ReciprocityBasis {
                origin_state: "TN".into(),
                origin_credential_number: "TN-1".into(),
                origin_checkpoint: b"note".to_vec(),
            });
        }
        assert!(matches!(Fact::try_from(both), Err(Error::InvalidArgument(_))));
        let before_issue = issue("C1", "2015-03-01", "2018-03-01", Some("2015-02-01"));
        assert!(matches!(Fact::try_from(before_issue), Err(Error::InvalidArgument(_))));
        let mut long = issue("C1", "2015-03-01", "2018-03-01", Some("2024-01-15"));
        if let pb::command::Body::CredentialIssued(e) = &mut long {
            if let Some(basis) = &mut e.imported {
                basis.source_system = "é".repeat(129);
            }
        }
        assert!(matches!(Fact::try_from(long), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn imported_renewals_stop_at_the_import_date_and_later_ones_are_judged() {
        let (history, today) = (history(), day("2024-06-01"));
        let mut registry = registry(&history, today);
        let first = renewal("C1", "2018-02-20", "2021-03-01", true);
        check(&registry, &history, &first, today).expect("before the import: no CE judged");
        registry.apply(2, &first);
        let not_later = renewal("C1", "2021-01-01", "2021-02-01", true);
        assert!(matches!(
            check(&registry, &history, &not_later, today),
            Err(Error::InvalidArgument(_))
        ));
        let after = renewal("C1", "2024-02-01", "2027-03-01", true);
        assert!(matches!(
            check(&registry, &history, &after, today),
            Err(Error::FailedPrecondition(_))
        ));
        let judged = renewal("C1", "2024-02-01", "2026-02-01", false);
        let refused = check(&registry, &history, &judged, today);
        assert!(
            matches!(&refused, Err(Error::FailedPrecondition(why)) if why.contains("renewal requirements")),
            "{refused:?}"
        );
    }

    #[test]
    fn only_an_imported_credential_has_imported_renewals_and_provenance_needs_its_peer() {
        let (history, today) = (history(), day("2024-06-01"));
        let mut registry = registry(&history, today);
        let own = Fact::CredentialIssued(Issue {
            peer_id: "P1".into(),
            credential_number: "C9".into(),
            credential_type: crate::domain::fact::CredentialType::PeerSupportSpecialist,
            issued_on: day("2023-01-01"),
            expires_on: day("2025-01-01"),
            reciprocity: None,
            imported: None,
            holder_name: String::new(),
        });
        registry.apply(2, &own);
        let imported = renewal("C9", "2024-01-01", "2027-01-01", true);
        assert!(matches!(
            check(&registry, &history, &imported, today),
            Err(Error::FailedPrecondition(_))
        ));
        let provenance = |peer_id: &str| {
            fact(pb::command::Body::ImportProvenance(pb::ImportProvenance {
                peer_id: peer_id.into(),
                source_system: "MS legacy".into(),
                imported_on: "2024-01-15".into(),
                rows: vec![pb::ImportedRow {
                    file: "people.csv".into(),
                    line: 2,
                    kind: "person".into(),
                    source_record_id: "R-1".into(),
                    event_id: "import-1".into(),
                }],
            }))
        };
        check(&registry, &history, &provenance("P1"), today).expect("provenance of an enrolled peer");
        assert!(matches!(
            check(&registry, &history, &provenance("P9"), today),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn provenance_rows_name_bare_files_and_are_bounded() {
        let row = |file: &str, line: u32| pb::ImportedRow {
            file: file.into(),
            line,
            kind: "credential".into(),
            source_record_id: String::new(),
            event_id: "e".into(),
        };
        let body = |rows: Vec<pb::ImportedRow>| {
            pb::command::Body::ImportProvenance(pb::ImportProvenance {
                peer_id: "P1".into(),
                source_system: "MS legacy".into(),
                imported_on: "2024-01-15".into(),
                rows,
            })
        };
        assert!(Fact::try_from(body(vec![row("credentials.csv", 7)])).is_ok());
        for bad in ["dir/credentials.csv", "C:\\exports\\a.csv", "a\0b", ".", "..", ""] {
            assert!(
                matches!(Fact::try_from(body(vec![row(bad, 7)])), Err(Error::InvalidArgument(_))),
                "{bad:?}"
            );
        }
        assert!(Fact::try_from(body(vec![row("a.csv", 0)])).is_err());
        assert!(Fact::try_from(body(Vec::new())).is_err());
        assert!(Fact::try_from(body(vec![row("a.csv", 2); 1_001])).is_err());
        assert!(Fact::try_from(body(vec![row("a.csv", 2); 1_000])).is_ok());
    }
}
