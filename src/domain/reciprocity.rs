//! Reciprocity: may a peer certified in another state practise here without
//! re-certifying, and if not yet, exactly what is left to do?
//!
//! For a receiving state to grant reciprocity it must trust three things about a
//! newcomer (domain.md, "Reciprocity"): that the credential really was issued by
//! the origin state's board; that it is in good standing now, with a history the
//! origin cannot quietly rewrite; and that the training record behind it meets the
//! receiving state's own requirements, or exactly which gaps remain.
//!
//! The first two are established *elsewhere*: the federation layer fetches the
//! origin's events with inclusion proofs against a verified checkpoint, checks
//! every signature and proof, and replays them into a [`Peer`] and a
//! [`Credential`] (DESIGN.md §2). This engine only ever sees evidence that has
//! already been verified; when verification fails the caller answers with
//! [`Decision::denied`] and the rules never run. What remains here is the third
//! question, plus what the receiving board's own profile says about agreements,
//! standing and discipline. The engine is pure: no IO, no clock (today is an
//! argument), no network, so the same evidence always gets the same decision.
//!
//! Which rules run depends on the profile's reciprocity policy for the origin
//! state (`reciprocity.policies`, else `reciprocity.policy`), as states write
//! their agreements: `accept_credential_in_good_standing` runs rules 1–3 and 7
//! (the credential is accepted as it is, as IC&RC reciprocity does);
//! `substantial_equivalence` runs them all but compares only the total training
//! hours, within `hours_tolerance_percent`; `full_comparison` runs them all.
//!
//! The rules, in order (each a function below):
//! 1. **agreement**: the receiving profile accepts transfers from the origin state;
//! 2. **good standing**: the origin credential is active on the application date
//!    and today;
//! 3. **discipline look-back**: no discipline other than a reprimand within the
//!    profile's look-back (nothing already named by rule 2 is reported twice);
//! 4. **training**: the receiving state's training hours, in total and per domain
//!    (total only, with a tolerance, under substantial equivalence);
//! 5. **exam**: a passed exam. An origin exam (only if the profile accepts it)
//!    counts as passed or not by *its own* pass mark, never by comparing
//!    percentages of different exams; an exam here by this state's pass mark;
//! 6. **CE currency**: a credential past its first renewal period shows the
//!    receiving state's CE for the most recent period;
//! 7. **extra local requirements**: each state-specific course is completed.
//!
//! Every rule judges the record as of the application date. A gap the receiving
//! board has waived (a recorded waiver naming the gap's requirement id, with a
//! reason) is listed as waived, with who waived it and why, and no longer makes
//! the transfer conditional.
//!
//! Before them, one consistency check: the credential must name the holder whose
//! record was presented (someone else's credential is no evidence at all).
//!
//! Rules 1–3 deny; rules 4–7 find [`Gap`]s, which make a transfer CONDITIONAL.
//! A denial is not softened by the absence of gaps, and the gaps are still listed
//! with a denial, for information. Training, exams, CE and courses count from the
//! origin record *and* the receiving board's own record of the same person (a
//! local orientation, a local exam), so a condition is closed by recording the
//! missing item in either state and evaluating again; nothing here remembers an
//! earlier decision.
//!
//! Experience hours and the eligibility and ethics attestations are deliberately
//! *not* re-examined: the origin board already certified them when it issued the
//! credential, and that is exactly what reciprocity accepts.

use chrono::NaiveDate;

use super::fact::{ContinuingEducation, Discipline, DisciplineKind, Exam, Training, WaiverRecord};
use super::profile::{ReciprocityPolicy, RequirementProfile, ANY_STATE};
use super::records::{Credential, Peer};
use super::requirements::{years_before, Gap};
use super::status::Status;
use super::vocabulary::{format_hours, hours_to_minutes};
use crate::pb;

/// The three answers a receiving board can give (the same values the log records).
pub use super::fact::TransferOutcome as Outcome;

/// What a gap's numbers count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Minutes,
    Percent,
    Courses,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Minutes => "minutes",
            Unit::Percent => "percent",
            Unit::Courses => "courses",
        }
    }
}

/// A gap as data, so that a client can act on it without parsing the sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GapDetail {
    /// A stable id a waiver names: "training_hours", "training_hours.<domain>",
    /// "exam", "ce_hours", "ce_hours.<topic>", or an extra requirement's id.
    pub requirement_id: String,
    /// The competency domain or CE topic, if the requirement is about one.
    pub domain: Option<String>,
    pub required: u64,
    pub found: u64,
    pub unit: Unit,
}

/// An unmet requirement: the sentence and its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub gap: Gap,
    pub detail: GapDetail,
}

/// A board's recorded decision not to require one named gap of a transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiver {
    /// The log index of the recorded waiver.
    pub index: u64,
    /// The [`GapDetail::requirement_id`] waived.
    pub requirement_id: String,
    /// Who waived it (the reviewer's name as the board records it).
    pub waived_by: String,
    pub reason: String,
    pub recorded_on: NaiveDate,
}

/// A gap that a recorded waiver closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaivedGap {
    pub finding: Finding,
    pub waiver: Waiver,
}

/// The answer, with everything a board member or the peer needs to act on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    /// Why DENIED, each a sentence a board member can act on (empty unless Denied).
    pub denials: Vec<String>,
    /// Every unmet requirement that a CONDITIONAL transfer must still close (also listed when Denied, for information).
    pub gaps: Vec<Gap>,
    /// The data of each of `gaps`, in the same order.
    pub details: Vec<GapDetail>,
    /// Gaps the board waived: they do not make the transfer conditional.
    pub waived: Vec<WaivedGap>,
    /// The policy the rules ran under (None when the rules never ran).
    pub policy: Option<ReciprocityPolicy>,
}

impl Decision {
    /// A DENIED decision for reasons found before the rules could run (unverifiable evidence etc.).
    /// A denial always carries a reason: given none, it says so.
    pub fn denied(reasons: Vec<String>) -> Decision {
        let denials = if reasons.is_empty() {
            vec!["the transfer was denied before its evidence could be evaluated".to_string()]
        } else {
            reasons
        };
        Decision {
            outcome: Outcome::Denied,
            denials,
            gaps: Vec::new(),
            details: Vec::new(),
            waived: Vec::new(),
            policy: None,
        }
    }

    /// Any denial denies; otherwise any gap not waived makes the transfer conditional.
    fn from_findings(
        policy: ReciprocityPolicy,
        denials: Vec<String>,
        findings: Vec<Finding>,
        waivers: &[Waiver],
    ) -> Decision {
        let mut open = Vec::new();
        let mut waived = Vec::new();
        for finding in without_repeats(findings) {
            let id = &finding.detail.requirement_id;
            match waivers.iter().rev().find(|w| &w.requirement_id == id) {
                Some(waiver) => waived.push(WaivedGap {
                    finding,
                    waiver: waiver.clone(),
                }),
                None => open.push(finding),
            }
        }
        let outcome = if !denials.is_empty() {
            Outcome::Denied
        } else if !open.is_empty() {
            Outcome::Conditional
        } else {
            Outcome::Approved
        };
        let (gaps, details) = open.into_iter().map(|f| (f.gap, f.detail)).unzip();
        Decision {
            outcome,
            denials: without_repeats(denials),
            gaps,
            details,
            waived,
            policy: Some(policy),
        }
    }
}

impl Waiver {
    /// The waivers among a peer's recorded ones that are for this origin credential.
    pub fn for_transfer(records: &[WaiverRecord], origin_state: &str, number: &str) -> Vec<Waiver> {
        let origin = normalised_state(origin_state);
        records
            .iter()
            .filter(|w| w.origin_state == origin && w.origin_credential_number == number)
            .map(|w| Waiver {
                index: w.index,
                requirement_id: w.requirement_id.clone(),
                waived_by: w.waived_by.clone(),
                reason: w.reason.clone(),
                recorded_on: w.recorded_on,
            })
            .collect()
    }
}

/// A gap on the wire: the sentence, its data and, if waived, the waiver.
pub fn gap_message(gap: &Gap, detail: &GapDetail, waiver: Option<&Waiver>) -> pb::RequirementGap {
    pb::RequirementGap {
        requirement_id: detail.requirement_id.clone(),
        domain: detail.domain.clone().unwrap_or_default(),
        required_amount: detail.required,
        found_amount: detail.found,
        unit: detail.unit.as_str().to_string(),
        waiver: waiver.map(|w| pb::GapWaiver {
            waived_by: w.waived_by.clone(),
            reason: w.reason.clone(),
            recorded_on: w.recorded_on.to_string(),
            index: w.index,
        }),
        ..pb::RequirementGap::from(gap)
    }
}

impl Decision {
    /// The open gaps on the wire, with their data.
    pub fn gap_messages(&self) -> Vec<pb::RequirementGap> {
        let pairs = self.gaps.iter().zip(&self.details);
        pairs.map(|(gap, detail)| gap_message(gap, detail, None)).collect()
    }

    /// The waived gaps on the wire, each with its waiver.
    pub fn waived_messages(&self) -> Vec<pb::RequirementGap> {
        let waived = self.waived.iter();
        waived
            .map(|w| gap_message(&w.finding.gap, &w.finding.detail, Some(&w.waiver)))
            .collect()
    }
}

/// What the receiving board knows: the origin's verified record, optionally its
/// own record of the same person, and the waivers it recorded for this transfer.
pub struct Transfer<'a> {
    pub origin_state: &'a str,
    pub holder: &'a Peer,
    pub credential: &'a Credential,
    pub local: Option<&'a Peer>,
    pub waivers: &'a [Waiver],
}

/// The dates a transfer is judged on: the application date (every rule) and
/// today (standing is checked on both: a credential suspended since the
/// application is not in good standing).
#[derive(Clone, Copy, Debug)]
pub struct Dates {
    pub applied_on: NaiveDate,
    pub today: NaiveDate,
}

impl Dates {
    /// An application made today.
    pub fn today(today: NaiveDate) -> Dates {
        Dates {
            applied_on: today,
            today,
        }
    }
}

/// Decides a transfer into `profile`'s state as of its application date,
/// running every rule of the origin's policy so that the decision lists
/// everything that is wrong, not just the first thing.
pub fn evaluate(profile: &RequirementProfile, transfer: &Transfer<'_>, dates: Dates) -> Decision {
    let origin = normalised_state(transfer.origin_state);
    let credential = transfer.credential;
    let record = combined_record(transfer.holder, transfer.local);
    let policy = profile.reciprocity.policy_for(&origin);
    let on = dates.applied_on;

    let mut denials = Vec::new();
    denials.extend(holder_mismatch(&origin, transfer.holder, credential));
    denials.extend(agreement(profile, &origin));
    denials.extend(good_standing(&origin, credential, on));
    if dates.today > on {
        let today = good_standing(&origin, credential, dates.today).map(|d| format!("today: {d}"));
        denials.extend(today);
    }
    denials.extend(discipline_lookback(profile, &origin, credential, on));

    let mut findings = Vec::new();
    if policy != ReciprocityPolicy::AcceptCredentialInGoodStanding {
        findings.extend(training(profile, policy, &record, on));
        findings.extend(exam(profile, transfer.holder, transfer.local, on));
        findings.extend(ce_currency(profile, credential, &record, on));
    }
    findings.extend(extra_requirements(profile, &record, on));

    Decision::from_findings(policy, denials, findings, transfer.waivers)
}

/// Evidence consistency: the credential must be the holder's own. A credential
/// that names another peer is someone else's evidence, whatever it says.
fn holder_mismatch(origin: &str, holder: &Peer, credential: &Credential) -> Option<String> {
    (credential.peer_id != holder.peer_id).then(|| {
        format!(
            "the {origin} credential {} belongs to peer {:?}, not to {:?} whose record was presented",
            credential.number, credential.peer_id, holder.peer_id
        )
    })
}

/// Rule 1, agreement: the receiving state accepts transfers from any state
/// (`partners = ["*"]`) or names the origin state among its partners. A state
/// never accepts a "transfer" from itself.
fn agreement(profile: &RequirementProfile, origin: &str) -> Option<String> {
    let partners = &profile.reciprocity.partners;
    let state = &profile.state;
    if origin == state.as_str() {
        return Some(format!(
            "no reciprocity agreement with {origin}: {state} cannot accept a transfer from itself"
        ));
    }
    let accepted = partners.iter().any(|p| p == ANY_STATE || p.as_str() == origin);
    (!accepted).then(|| {
        let list = if partners.is_empty() {
            "no state".to_string()
        } else {
            partners.join(", ")
        };
        format!("no reciprocity agreement with {origin}: {state} accepts transfers from {list}")
    })
}

/// Rule 2, good standing: the origin credential is active on `on`. Not before its
/// issue date, not expired, suspended, revoked or surrendered, and not encumbered
/// by probation or a restriction.
fn good_standing(origin: &str, credential: &Credential, on: NaiveDate) -> Option<String> {
    let status = credential.status_on(on);
    let detail = match status {
        Status::Active => return None,
        Status::NotYetValid => format!(" (valid from {})", credential.issued_on),
        Status::Expired => format!(" (valid until {})", credential.expires_on_as_of(on)),
        Status::Probation | Status::Restricted => ": an encumbered credential is not in good standing".to_string(),
        Status::Suspended | Status::Surrendered | Status::Revoked => String::new(),
    };
    Some(format!(
        "the {origin} credential {} is {}{detail}",
        credential.number,
        status.as_str()
    ))
}

/// Rule 3, discipline look-back: any discipline other than a reprimand that took
/// effect within the profile's `discipline_lookback_years` before `today`, or is
/// still in force, denies. With a look-back of 0 only discipline in force
/// counts. Discipline in force whose kind is the very status rule 2
/// already named (a current suspension of a suspended credential) is not
/// reported a second time; one that the status hides (probation on an expired
/// credential) is.
fn discipline_lookback(
    profile: &RequirementProfile,
    origin: &str,
    credential: &Credential,
    today: NaiveDate,
) -> Vec<String> {
    let years = profile.reciprocity.discipline_lookback_years;
    let since = years_before(today, years);
    let status = credential.status_on(today);
    let mut denials = Vec::new();
    for discipline in &credential.discipline {
        if discipline.kind == DisciplineKind::Reprimand || discipline.effective_on > today {
            continue;
        }
        let in_force = credential.in_force(discipline, today);
        if in_force && status_for(discipline.kind) == Some(status) {
            continue;
        }
        let what = describe_discipline(discipline);
        let number = &credential.number;
        if in_force {
            denials.push(format!(
                "the {origin} credential {number} has discipline in force: {what}"
            ));
        } else if discipline.effective_on > since {
            denials.push(format!(
                "the {origin} credential {number} has discipline within {}'s {years}-year look-back: {what}",
                profile.state
            ));
        }
    }
    denials
}

/// A shortfall of `required` minutes, as a sentence and as data.
fn hours_finding(
    requirement: &str,
    requirement_id: String,
    domain: Option<&str>,
    required: u64,
    found: u64,
    remedy: &str,
) -> Option<Finding> {
    (found < required).then(|| Finding {
        gap: Gap {
            requirement: requirement.to_string(),
            required: format_hours(required),
            found: format_hours(found),
            remedy: format!("{} {remedy}", format_hours(required - found)),
        },
        detail: GapDetail {
            requirement_id,
            domain: domain.map(str::to_string),
            required,
            found,
            unit: Unit::Minutes,
        },
    })
}

/// Rule 4, training: the receiving state's `initial.training_hours_total` and
/// each of its `initial.training_hours_by_domain`, counting training completed by
/// `on` in either state's record. Under substantial equivalence only the total
/// counts, and it may fall short by `hours_tolerance_percent`. Each shortfall is a gap.
fn training(profile: &RequirementProfile, policy: ReciprocityPolicy, record: &Peer, on: NaiveDate) -> Vec<Finding> {
    let initial = &profile.initial;
    let full = u64::from(hours_to_minutes(initial.training_hours_total));
    let found = record.training_minutes(on);
    if policy == ReciprocityPolicy::SubstantialEquivalence {
        let tolerance = u64::from(profile.reciprocity.hours_tolerance_percent.min(100));
        let required = full * (100 - tolerance) / 100;
        let requirement = format!("training hours (within {tolerance}% of {})", format_hours(full));
        let id = "training_hours".to_string();
        return hours_finding(&requirement, id, None, required, found, "more training")
            .into_iter()
            .collect();
    }
    let total = hours_finding(
        "training hours",
        "training_hours".into(),
        None,
        full,
        found,
        "more training",
    );
    let mut findings: Vec<Finding> = total.into_iter().collect();
    for (domain, hours) in &initial.training_hours_by_domain {
        let required = u64::from(hours_to_minutes(*hours));
        findings.extend(hours_finding(
            &format!("{domain} training"),
            format!("training_hours.{domain}"),
            Some(domain),
            required,
            record.domain_minutes(domain, on),
            &format!("more training in {domain}"),
        ));
    }
    findings
}

/// An exam attempt taken by `on` that passed by `mark` (None: by its own pass mark).
fn passed(exams: &[Exam], mark: Option<u32>, on: NaiveDate) -> bool {
    let pass = |e: &&Exam| e.score_percent >= mark.unwrap_or(e.pass_mark_percent);
    exams.iter().filter(|e| e.taken_on <= on).any(|e| pass(&e))
}

/// Rule 5, exam: when the receiving state requires an exam, a passed one taken
/// by `on`. An origin exam counts only if `reciprocity.accept_origin_exam`, and
/// then as passed or not by its own pass mark (an 72% on an exam whose mark is
/// 70% is a pass; percentages of different exams are never compared). An exam
/// recorded by the receiving board counts by this state's pass mark.
fn exam(profile: &RequirementProfile, holder: &Peer, local: Option<&Peer>, on: NaiveDate) -> Option<Finding> {
    let initial = &profile.initial;
    if !initial.exam_required {
        return None;
    }
    let state = &profile.state;
    let mark = initial.exam_pass_mark_percent;
    let accepted = profile.reciprocity.accept_origin_exam;
    let local_exams = local.map_or(&[][..], |p| &p.exams[..]);
    if (accepted && passed(&holder.exams, None, on)) || passed(local_exams, Some(mark), on) {
        return None;
    }
    let best_origin = accepted.then(|| holder.best_exam(on)).flatten();
    let best_local = local.and_then(|p| p.best_exam(on));
    let (found, required_mark, found_score) = match (best_local, best_origin) {
        (Some(e), _) => (
            format!("best score {}% on the {state} exam", e.score_percent),
            mark,
            e.score_percent,
        ),
        (None, Some(e)) => (
            format!(
                "a failed origin exam (best score {}%, its pass mark {}%)",
                e.score_percent, e.pass_mark_percent
            ),
            e.pass_mark_percent,
            e.score_percent,
        ),
        (None, None) if accepted => ("no exam".to_string(), mark, 0),
        (None, None) => (format!("no {state} exam"), mark, 0),
    };
    let (required, remedy) = if accepted {
        (
            format!("an exam passed by its own pass mark ({state}'s: {mark}%)"),
            format!("pass the {state} certification exam"),
        )
    } else {
        (
            format!("a score of {mark}% on the {state} exam"),
            format!("pass the {state} certification exam; the origin state's exam is not accepted"),
        )
    };
    Some(Finding {
        gap: Gap {
            requirement: "certification exam".to_string(),
            required,
            found,
            remedy,
        },
        detail: GapDetail {
            requirement_id: "exam".to_string(),
            domain: None,
            required: u64::from(required_mark),
            found: u64::from(found_score),
            unit: Unit::Percent,
        },
    })
}

/// Rule 6, CE currency: a credential issued more than one renewal period
/// (`renewal.period_years`) ago must show the receiving state's CE hours, in total
/// and per topic, completed in the last period (after `on` minus the period, up
/// to `on`), in either state's record. A credential still in its first period
/// owes no CE.
fn ce_currency(profile: &RequirementProfile, credential: &Credential, record: &Peer, on: NaiveDate) -> Vec<Finding> {
    let renewal = &profile.renewal;
    let years = renewal.period_years;
    let window_start = years_before(on, years);
    if credential.issued_on >= window_start {
        return Vec::new();
    }
    let period = if years == 1 {
        "last year".to_string()
    } else {
        format!("last {years} years")
    };
    let total = u64::from(hours_to_minutes(renewal.ce_hours));
    let mut findings: Vec<Finding> = hours_finding(
        &format!("continuing education ({period})"),
        "ce_hours".into(),
        None,
        total,
        record.ce_minutes(None, window_start, on),
        "more continuing education",
    )
    .into_iter()
    .collect();
    for (topic, hours) in &renewal.ce_hours_by_topic {
        findings.extend(hours_finding(
            &format!("{topic} continuing education ({period})"),
            format!("ce_hours.{topic}"),
            Some(topic),
            u64::from(hours_to_minutes(*hours)),
            record.ce_minutes(Some(topic), window_start, on),
            &format!("more continuing education in {topic}"),
        ));
    }
    findings
}

/// Rule 7, extra local requirements: each `reciprocity.extra` entry is met by a
/// training with its `course_id` completed by `on`, in either state's record.
fn extra_requirements(profile: &RequirementProfile, record: &Peer, on: NaiveDate) -> Vec<Finding> {
    let completed = |course_id: &str| {
        record
            .trainings
            .iter()
            .any(|t| t.course_id == course_id && t.completed_on <= on)
    };
    let missing = profile.reciprocity.extra.iter().filter(|e| !completed(&e.course_id));
    missing
        .map(|extra| Finding {
            gap: Gap {
                requirement: extra.id.clone(),
                required: extra.description.clone(),
                found: format!("no {} course", extra.course_id),
                remedy: format!("complete {}", extra.description),
            },
            detail: GapDetail {
                requirement_id: extra.id.clone(),
                domain: None,
                required: 1,
                found: 0,
                unit: Unit::Courses,
            },
        })
        .collect()
}

/// The origin record with the receiving board's trainings, exams and CE added.
/// An item the local record repeats verbatim (same content, whatever its log
/// index) is counted once, so a copied record cannot double anyone's hours.
fn combined_record(holder: &Peer, local: Option<&Peer>) -> Peer {
    let mut record = holder.clone();
    if let Some(local) = local {
        add_unseen(&mut record.trainings, &local.trainings, |t| Training {
            index: 0,
            ..t.clone()
        });
        add_unseen(&mut record.exams, &local.exams, |e| Exam { index: 0, ..e.clone() });
        add_unseen(&mut record.continuing_education, &local.continuing_education, |c| {
            ContinuingEducation { index: 0, ..c.clone() }
        });
    }
    record
}

/// Appends each of `more` whose content (`unindexed`) is not already in `into`.
fn add_unseen<T: Clone + PartialEq>(into: &mut Vec<T>, more: &[T], unindexed: fn(&T) -> T) {
    for item in more {
        let content = unindexed(item);
        if !into.iter().any(|seen| unindexed(seen) == content) {
            into.push(item.clone());
        }
    }
}

/// The status a discipline of this kind produces while in force.
fn status_for(kind: DisciplineKind) -> Option<Status> {
    match kind {
        DisciplineKind::Reprimand => None,
        DisciplineKind::Probation => Some(Status::Probation),
        DisciplineKind::Restriction => Some(Status::Restricted),
        DisciplineKind::Suspension => Some(Status::Suspended),
        DisciplineKind::Revocation => Some(Status::Revoked),
        DisciplineKind::VoluntarySurrender => Some(Status::Surrendered),
    }
}

/// "suspension effective 2024-03-01".
fn describe_discipline(discipline: &Discipline) -> String {
    let kind = super::status::action_name(discipline.kind);
    format!("{kind} effective {}", discipline.effective_on)
}

/// State codes are compared upper-case and trimmed, as profiles store them.
fn normalised_state(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// `items` in order, each only the first time it occurs.
fn without_repeats<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fact::{CredentialType, Reinstatement, Renewal};

    // ---- the scenario: an MS-certified peer transferring into TN ----------

    /// Every case is evaluated on this day.
    fn today() -> NaiveDate {
        day(2025, 6, 1)
    }

    fn day(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("a real date")
    }

    /// The four domains the TN example profile asks 6 h of, plus one it does not.
    const DOMAINS: [&str; 5] = [
        "ethical_responsibility",
        "shares_lived_experience",
        "supports_recovery_planning",
        "helps_manage_crises",
        "advocacy",
    ];

    fn training(course_id: &str, minutes: u32, completed_on: NaiveDate, domains: &[(&str, u32)]) -> Training {
        Training {
            index: 1,
            course_id: course_id.to_string(),
            course_title: format!("{course_id} course"),
            provider: "a provider".to_string(),
            minutes,
            completed_on,
            domains: domains.iter().map(|(d, m)| (d.to_string(), *m)).collect(),
        }
    }

    /// The MS core course: `hours` in all, 6 h in each of [`DOMAINS`].
    fn core_training(hours: u32) -> Training {
        let domains: Vec<(&str, u32)> = DOMAINS.iter().map(|d| (*d, 360)).collect();
        training("MS-CORE", hours * 60, day(2021, 1, 15), &domains)
    }

    /// The TN orientation the TN example profile asks of every transfer.
    fn orientation(completed_on: NaiveDate) -> Training {
        training("TN-ORIENT", 180, completed_on, &[])
    }

    fn exam(score_percent: u32, pass_mark_percent: u32, taken_on: NaiveDate) -> Exam {
        Exam {
            index: 2,
            exam_id: "peer-exam".to_string(),
            score_percent,
            pass_mark_percent,
            taken_on,
        }
    }

    fn ce(topic: &str, hours: u32, completed_on: NaiveDate) -> ContinuingEducation {
        ContinuingEducation {
            index: 3,
            topic: topic.to_string(),
            minutes: hours * 60,
            provider: "a provider".to_string(),
            completed_on,
        }
    }

    fn discipline(kind: DisciplineKind, effective_on: NaiveDate, ends_on: Option<NaiveDate>) -> Discipline {
        Discipline {
            index: 10,
            kind,
            effective_on,
            ends_on,
            public_summary: "a public summary".to_string(),
        }
    }

    fn peer(peer_id: &str, trainings: Vec<Training>, exams: Vec<Exam>, ce: Vec<ContinuingEducation>) -> Peer {
        Peer {
            peer_id: peer_id.to_string(),
            legal_name: "Pat Doe".to_string(),
            eligibility_attested: true,
            ethics_code_signed: true,
            trainings,
            experience: Vec::new(),
            exams,
            continuing_education: ce,
            credentials: Vec::new(),
            events: Vec::new(),
            extras: Default::default(),
        }
    }

    fn credential(issued_on: NaiveDate, initial_expires_on: NaiveDate) -> Credential {
        Credential {
            number: "MS-1".to_string(),
            peer_id: "ms-peer-1".to_string(),
            credential_type: CredentialType::PeerSupportSpecialist,
            issued_on,
            initial_expires_on,
            reciprocity: None,
            imported: None,
            renewals: Vec::new(),
            discipline: Vec::new(),
            reinstatements: Vec::new(),
            events: Vec::new(),
        }
    }

    /// One transfer, owned, so that each case can edit any part of it.
    struct Case {
        profile: RequirementProfile,
        origin: &'static str,
        holder: Peer,
        credential: Credential,
        local: Option<Peer>,
        waivers: Vec<Waiver>,
        applied_on: NaiveDate,
    }

    impl Case {
        fn decide(&self) -> Decision {
            let transfer = Transfer {
                origin_state: self.origin,
                holder: &self.holder,
                credential: &self.credential,
                local: self.local.as_ref(),
                waivers: &self.waivers,
            };
            let dates = Dates {
                applied_on: self.applied_on,
                today: today(),
            };
            evaluate(&self.profile, &transfer, dates)
        }

        fn local_mut(&mut self) -> &mut Peer {
            self.local
                .get_or_insert_with(|| peer("tn-peer-9", Vec::new(), Vec::new(), Vec::new()))
        }
    }

    /// A transfer that meets every rule: into the shipped TN (SAMHSA model) example
    /// profile, from an active MS credential issued in 2021 with 60 h of training
    /// (6 h in each required domain), an 80% exam, 24 h of recent CE (6 of ethics),
    /// and the TN orientation in TN's own record; judged by full comparison
    /// (the example's own policy for MS is tested on its own below).
    fn approvable() -> Case {
        let mut profile = RequirementProfile::example_for("TN").expect("the shipped TN example");
        profile.reciprocity.policies.clear();
        profile.reciprocity.policy = ReciprocityPolicy::FullComparison;
        let holder = peer(
            "ms-peer-1",
            vec![core_training(60)],
            vec![exam(80, 70, day(2021, 2, 1))],
            vec![
                ce("peer_specific", 18, day(2024, 9, 1)),
                ce("ethics", 6, day(2025, 1, 10)),
            ],
        );
        let local = peer("tn-peer-9", vec![orientation(day(2025, 5, 1))], Vec::new(), Vec::new());
        Case {
            profile,
            origin: "MS",
            holder,
            credential: credential(day(2021, 3, 1), day(2026, 3, 1)),
            local: Some(local),
            waivers: Vec::new(),
            applied_on: today(),
        }
    }

    /// What a case must decide.
    enum Expect {
        Approved,
        /// Denied with exactly these reasons (gaps not checked).
        Denied(&'static [&'static str]),
        /// Conditional with gaps for exactly these requirements, in this order.
        Conditional(&'static [&'static str]),
    }
    use Expect::{Approved, Conditional, Denied};

    type Edit = fn(&mut Case);

    fn run(table: &[(&str, Edit, Expect)]) {
        for (what, edit, expect) in table {
            let mut case = approvable();
            edit(&mut case);
            let decision = case.decide();
            let requirements: Vec<&str> = decision.gaps.iter().map(|g| g.requirement.as_str()).collect();
            match expect {
                Approved => assert_eq!(
                    (decision.outcome, decision.denials.len(), decision.gaps.len()),
                    (Outcome::Approved, 0, 0),
                    "{what}: {decision:?}"
                ),
                Denied(reasons) => {
                    assert_eq!(decision.outcome, Outcome::Denied, "{what}: {decision:?}");
                    assert_eq!(&decision.denials, reasons, "{what}");
                }
                Conditional(expected) => {
                    assert_eq!(decision.outcome, Outcome::Conditional, "{what}: {decision:?}");
                    assert!(decision.denials.is_empty(), "{what}: {decision:?}");
                    assert_eq!(&requirements, expected, "{what}: {decision:?}");
                }
            }
        }
    }

    fn gap(requirement: &str, required: &str, found: &str, remedy: &str) -> Gap {
        Gap {
            requirement: requirement.to_string(),
            required: required.to_string(),
            found: found.to_string(),
            remedy: remedy.to_string(),
        }
    }

    /// The gaps `edit` leaves in an otherwise approvable transfer.
    fn gaps_after(edit: Edit) -> Vec<Gap> {
        let mut case = approvable();
        edit(&mut case);
        case.decide().gaps
    }

    // ---- rule 1: agreement ---------------------------------------------------

    #[test]
    fn a_transfer_needs_a_reciprocity_agreement_with_the_origin_state() {
        run(&[
            ("any state is a partner", |_| {}, Approved),
            (
                "the origin state is a named partner",
                |c| c.profile.reciprocity.partners = vec!["VA".into(), "MS".into()],
                Approved,
            ),
            (
                "the origin code is compared as profiles store it",
                |c| {
                    c.profile.reciprocity.partners = vec!["MS".into()];
                    c.origin = " ms";
                },
                Approved,
            ),
            (
                "the origin state is not a partner",
                |c| c.profile.reciprocity.partners = vec!["VA".into(), "PA".into()],
                Denied(&["no reciprocity agreement with MS: TN accepts transfers from VA, PA"]),
            ),
            (
                "the receiving state has no partners",
                |c| c.profile.reciprocity.partners.clear(),
                Denied(&["no reciprocity agreement with MS: TN accepts transfers from no state"]),
            ),
            (
                "a transfer from the receiving state itself",
                |c| c.origin = "TN",
                Denied(&["no reciprocity agreement with TN: TN cannot accept a transfer from itself"]),
            ),
        ]);
    }

    // ---- rule 2: good standing -------------------------------------------------

    #[test]
    fn the_origin_credential_must_be_in_good_standing_today() {
        run(&[
            ("active", |_| {}, Approved),
            (
                "renewed past its initial expiry",
                |c| {
                    c.credential.initial_expires_on = day(2025, 5, 1);
                    c.credential.renewals.push(Renewal {
                        index: 5,
                        renewed_on: day(2025, 4, 1),
                        new_expires_on: day(2027, 5, 1),
                        imported: false,
                    });
                },
                Approved,
            ),
            (
                "its last valid day is today",
                |c| c.credential.initial_expires_on = today(),
                Approved,
            ),
            (
                "expired",
                |c| c.credential.initial_expires_on = day(2025, 5, 1),
                Denied(&["the MS credential MS-1 is expired (valid until 2025-05-01)"]),
            ),
            (
                "suspended",
                |c| c.credential.discipline = vec![discipline(DisciplineKind::Suspension, day(2025, 5, 1), None)],
                Denied(&["the MS credential MS-1 is suspended"]),
            ),
            (
                "revoked",
                |c| c.credential.discipline = vec![discipline(DisciplineKind::Revocation, day(2024, 1, 1), None)],
                Denied(&["the MS credential MS-1 is revoked"]),
            ),
            (
                "voluntarily surrendered",
                |c| {
                    c.credential.discipline =
                        vec![discipline(DisciplineKind::VoluntarySurrender, day(2025, 2, 1), None)]
                },
                Denied(&["the MS credential MS-1 is voluntarily surrendered"]),
            ),
            (
                "on probation",
                |c| c.credential.discipline = vec![discipline(DisciplineKind::Probation, day(2025, 1, 1), None)],
                Denied(&[
                    "the MS credential MS-1 is active, on probation: an encumbered credential is not in good standing",
                ]),
            ),
            (
                "restricted",
                |c| c.credential.discipline = vec![discipline(DisciplineKind::Restriction, day(2025, 1, 1), None)],
                Denied(&[
                    "the MS credential MS-1 is active, restricted: an encumbered credential is not in good standing",
                ]),
            ),
            (
                "not yet valid",
                |c| c.credential = credential(day(2025, 7, 1), day(2027, 7, 1)),
                Denied(&["the MS credential MS-1 is not yet valid (valid from 2025-07-01)"]),
            ),
        ]);
    }

    // ---- rule 3: discipline look-back --------------------------------------------

    #[test]
    fn discipline_other_than_a_reprimand_within_the_look_back_denies() {
        run(&[
            (
                "a suspension that ended before the 2-year look-back",
                |c| {
                    let ended = Some(day(2022, 4, 1));
                    c.credential.discipline = vec![discipline(DisciplineKind::Suspension, day(2022, 1, 1), ended)];
                },
                Approved,
            ),
            (
                "a suspension that took effect on the day the look-back opens",
                |c| {
                    let ended = Some(day(2023, 9, 1));
                    c.credential.discipline = vec![discipline(DisciplineKind::Suspension, day(2023, 6, 1), ended)];
                },
                Approved,
            ),
            (
                "a suspension that took effect the day after",
                |c| {
                    let ended = Some(day(2023, 9, 1));
                    c.credential.discipline = vec![discipline(DisciplineKind::Suspension, day(2023, 6, 2), ended)];
                },
                Denied(&["the MS credential MS-1 has discipline within TN's 2-year look-back: suspension effective 2023-06-02"]),
            ),
            (
                "a suspension within the look-back that has ended",
                |c| {
                    let ended = Some(day(2024, 4, 1));
                    c.credential.discipline = vec![discipline(DisciplineKind::Suspension, day(2024, 1, 1), ended)];
                },
                Denied(&["the MS credential MS-1 has discipline within TN's 2-year look-back: suspension effective 2024-01-01"]),
            ),
            (
                "a probation within the look-back lifted by a reinstatement",
                |c| {
                    c.credential.discipline = vec![discipline(DisciplineKind::Probation, day(2024, 1, 1), None)];
                    c.credential.reinstatements.push(Reinstatement {
                        index: 11,
                        effective_on: day(2024, 7, 1),
                        public_summary: "probation completed".to_string(),
                    });
                },
                Denied(&["the MS credential MS-1 has discipline within TN's 2-year look-back: probation effective 2024-01-01"]),
            ),
            (
                "a reprimand last month is ignored",
                |c| c.credential.discipline = vec![discipline(DisciplineKind::Reprimand, day(2025, 5, 1), None)],
                Approved,
            ),
            (
                "discipline that takes effect after today is not yet on the record",
                |c| c.credential.discipline = vec![discipline(DisciplineKind::Suspension, day(2025, 7, 1), None)],
                Approved,
            ),
            (
                "a suspension in force is reported once, by the standing rule",
                |c| c.credential.discipline = vec![discipline(DisciplineKind::Suspension, day(2024, 1, 1), None)],
                Denied(&["the MS credential MS-1 is suspended"]),
            ),
            (
                "probation hidden by an expiry is reported too",
                |c| {
                    c.credential.initial_expires_on = day(2025, 5, 1);
                    c.credential.discipline = vec![discipline(DisciplineKind::Probation, day(2022, 1, 1), None)];
                },
                Denied(&[
                    "the MS credential MS-1 is expired (valid until 2025-05-01)",
                    "the MS credential MS-1 has discipline in force: probation effective 2022-01-01",
                ]),
            ),
            (
                "a past suspension next to a current probation: both",
                |c| {
                    c.credential.discipline = vec![
                        discipline(DisciplineKind::Suspension, day(2024, 1, 1), Some(day(2024, 3, 1))),
                        discipline(DisciplineKind::Probation, day(2024, 3, 1), None),
                    ];
                },
                Denied(&[
                    "the MS credential MS-1 is active, on probation: an encumbered credential is not in good standing",
                    "the MS credential MS-1 has discipline within TN's 2-year look-back: suspension effective 2024-01-01",
                ]),
            ),
            (
                "look-back 0: a suspension that ended last month",
                |c| {
                    c.profile.reciprocity.discipline_lookback_years = 0;
                    let ended = Some(day(2025, 5, 15));
                    c.credential.discipline = vec![discipline(DisciplineKind::Suspension, day(2025, 5, 1), ended)];
                },
                Approved,
            ),
            (
                "look-back 0: probation in force today, reported once",
                |c| {
                    c.profile.reciprocity.discipline_lookback_years = 0;
                    c.credential.discipline = vec![discipline(DisciplineKind::Probation, day(2025, 5, 1), None)];
                },
                Denied(&["the MS credential MS-1 is active, on probation: an encumbered credential is not in good standing"]),
            ),
            (
                "the same discipline recorded twice is reported once",
                |c| {
                    let once = discipline(DisciplineKind::Restriction, day(2024, 1, 1), Some(day(2024, 2, 1)));
                    c.credential.discipline = vec![once.clone(), Discipline { index: 12, ..once }];
                },
                Denied(&["the MS credential MS-1 has discipline within TN's 2-year look-back: restriction effective 2024-01-01"]),
            ),
        ]);
    }

    // ---- rule 4: training ------------------------------------------------------------

    #[test]
    fn training_hours_in_total_count_both_records() {
        run(&[
            ("60 h in the origin record", |_| {}, Approved),
            (
                "57 h in the origin and the 3 h orientation here",
                |c| c.holder.trainings = vec![core_training(57)],
                Approved,
            ),
            (
                "50 h in the origin and the 3 h orientation here",
                |c| c.holder.trainings = vec![core_training(50)],
                Conditional(&["training hours"]),
            ),
            (
                "a local copy of the origin's course counts once",
                |c| {
                    c.holder.trainings = vec![core_training(50)];
                    let copy = Training {
                        index: 77,
                        ..core_training(50)
                    };
                    c.local_mut().trainings.push(copy);
                },
                Conditional(&["training hours"]),
            ),
            (
                "training completed after today does not count yet",
                |c| {
                    c.holder.trainings = vec![core_training(50)];
                    c.local_mut()
                        .trainings
                        .push(training("TN-BRIDGE", 600, day(2025, 6, 2), &[]));
                },
                Conditional(&["training hours"]),
            ),
            (
                "a local bridge course closes the gap",
                |c| {
                    c.holder.trainings = vec![core_training(50)];
                    c.local_mut()
                        .trainings
                        .push(training("TN-BRIDGE", 600, day(2025, 5, 20), &[]));
                },
                Approved,
            ),
        ]);
        assert_eq!(
            gaps_after(|c| c.holder.trainings = vec![core_training(50)]),
            [gap("training hours", "60 h", "53 h", "7 h more training")]
        );
        let copied = gaps_after(|c| {
            c.holder.trainings = vec![core_training(50)];
            c.local_mut().trainings.push(Training {
                index: 77,
                ..core_training(50)
            });
        });
        assert_eq!(copied[0].found, "53 h", "not 103 h");
    }

    /// The origin core course with `ethics_minutes` of ethical responsibility instead of 6 h.
    fn core_with_ethics(ethics_minutes: u32) -> Training {
        let mut core = core_training(60);
        core.domains.retain(|(d, _)| d != "ethical_responsibility");
        if ethics_minutes > 0 {
            core.domains
                .push(("ethical_responsibility".to_string(), ethics_minutes));
        }
        core
    }

    #[test]
    fn training_hours_per_domain_count_both_records() {
        run(&[
            ("6 h of ethics", |_| {}, Approved),
            (
                "no ethics",
                |c| c.holder.trainings = vec![core_with_ethics(0)],
                Conditional(&["ethical_responsibility training"]),
            ),
            (
                "4 h of ethics",
                |c| c.holder.trainings = vec![core_with_ethics(240)],
                Conditional(&["ethical_responsibility training"]),
            ),
            (
                "4 h of ethics there and 2 h here",
                |c| {
                    c.holder.trainings = vec![core_with_ethics(240)];
                    let ethics = training("TN-ETHICS", 120, day(2025, 5, 2), &[("ethical_responsibility", 120)]);
                    c.local_mut().trainings.push(ethics);
                },
                Approved,
            ),
            (
                "a domain the receiving state does not ask for is not checked",
                |c| {
                    let mut core = core_training(60);
                    core.domains.retain(|(d, _)| d != "advocacy");
                    c.holder.trainings = vec![core];
                },
                Approved,
            ),
        ]);
        assert_eq!(
            gaps_after(|c| c.holder.trainings = vec![core_with_ethics(0)]),
            [gap(
                "ethical_responsibility training",
                "6 h",
                "0 h",
                "6 h more training in ethical_responsibility"
            )]
        );
        assert_eq!(
            gaps_after(|c| c.holder.trainings = vec![core_with_ethics(240)]),
            [gap(
                "ethical_responsibility training",
                "6 h",
                "4 h",
                "2 h more training in ethical_responsibility"
            )]
        );
    }

    // ---- rule 5: exam -------------------------------------------------------------------

    fn refuse_origin_exam(case: &mut Case) {
        case.profile.reciprocity.accept_origin_exam = false;
    }

    #[test]
    fn an_exam_counts_by_its_own_pass_mark() {
        run(&[
            ("an origin exam at 80% (its mark 70%) is accepted", |_| {}, Approved),
            (
                "an origin exam passed at its own 70% mark, below TN's 75%: a pass, percentages are not compared",
                |c| c.holder.exams = vec![exam(72, 70, day(2021, 2, 1))],
                Approved,
            ),
            (
                "an origin exam at 80% failed by its own 85% mark, above TN's 75%: not a pass",
                |c| c.holder.exams = vec![exam(80, 85, day(2021, 2, 1))],
                Conditional(&["certification exam"]),
            ),
            (
                "a failed attempt and a later pass: the pass counts",
                |c| c.holder.exams = vec![exam(60, 70, day(2021, 1, 1)), exam(71, 70, day(2021, 2, 1))],
                Approved,
            ),
            (
                "no exam at all",
                |c| c.holder.exams.clear(),
                Conditional(&["certification exam"]),
            ),
            (
                "failed there, passed here by TN's mark",
                |c| {
                    c.holder.exams = vec![exam(60, 70, day(2021, 2, 1))];
                    c.local_mut().exams.push(exam(90, 75, day(2025, 5, 3)));
                },
                Approved,
            ),
            (
                "an exam taken after the application date does not count",
                |c| {
                    c.holder.exams.clear();
                    c.local_mut().exams.push(exam(90, 75, day(2025, 6, 2)));
                },
                Conditional(&["certification exam"]),
            ),
            (
                "origin exam not accepted, none taken here",
                refuse_origin_exam,
                Conditional(&["certification exam"]),
            ),
            (
                "origin exam not accepted, passed here",
                |c| {
                    refuse_origin_exam(c);
                    c.local_mut().exams.push(exam(78, 75, day(2025, 5, 3)));
                },
                Approved,
            ),
            (
                "origin exam not accepted, failed here by TN's mark",
                |c| {
                    refuse_origin_exam(c);
                    c.local_mut().exams.push(exam(70, 75, day(2025, 5, 3)));
                },
                Conditional(&["certification exam"]),
            ),
            (
                "no exam required",
                |c| {
                    c.profile.initial.exam_required = false;
                    c.holder.exams.clear();
                },
                Approved,
            ),
        ]);
        let accepted_required = "an exam passed by its own pass mark (TN's: 75%)";
        let accepted_remedy = "pass the TN certification exam";
        let refused_remedy = "pass the TN certification exam; the origin state's exam is not accepted";
        assert_eq!(
            gaps_after(|c| c.holder.exams = vec![exam(80, 85, day(2021, 2, 1))]),
            [gap(
                "certification exam",
                accepted_required,
                "a failed origin exam (best score 80%, its pass mark 85%)",
                accepted_remedy
            )]
        );
        assert_eq!(
            gaps_after(|c| c.holder.exams.clear()),
            [gap("certification exam", accepted_required, "no exam", accepted_remedy)]
        );
        assert_eq!(
            gaps_after(refuse_origin_exam),
            [gap(
                "certification exam",
                "a score of 75% on the TN exam",
                "no TN exam",
                refused_remedy
            )]
        );
        assert_eq!(
            gaps_after(|c| {
                refuse_origin_exam(c);
                c.local_mut().exams.push(exam(70, 75, day(2025, 5, 3)));
            }),
            [gap(
                "certification exam",
                "a score of 75% on the TN exam",
                "best score 70% on the TN exam",
                refused_remedy
            )]
        );
    }

    // ---- rule 6: CE currency --------------------------------------------------------------

    const CE_TOTAL: &str = "continuing education (last 2 years)";
    const CE_ETHICS: &str = "ethics continuing education (last 2 years)";

    #[test]
    fn a_credential_past_its_first_period_must_show_recent_ce() {
        run(&[
            ("24 h of CE in the last 2 years, 6 of ethics", |_| {}, Approved),
            (
                "in its first period, no CE is owed",
                |c| {
                    c.credential = credential(day(2024, 1, 1), day(2026, 1, 1));
                    c.holder.continuing_education.clear();
                },
                Approved,
            ),
            (
                "issued exactly one period ago, still the first period",
                |c| {
                    c.credential = credential(day(2023, 6, 1), day(2026, 1, 1));
                    c.holder.continuing_education.clear();
                },
                Approved,
            ),
            (
                "issued a day earlier, CE is owed",
                |c| {
                    c.credential = credential(day(2023, 5, 31), day(2026, 1, 1));
                    c.holder.continuing_education.clear();
                },
                Conditional(&[CE_TOTAL, CE_ETHICS]),
            ),
            (
                "no CE in a later period",
                |c| c.holder.continuing_education.clear(),
                Conditional(&[CE_TOTAL, CE_ETHICS]),
            ),
            (
                "CE from before the last period does not count",
                |c| {
                    c.holder.continuing_education = vec![
                        ce("peer_specific", 18, day(2023, 5, 1)),
                        ce("ethics", 6, day(2023, 5, 1)),
                    ];
                },
                Conditional(&[CE_TOTAL, CE_ETHICS]),
            ),
            (
                "ethics CE recorded here completes the origin's CE",
                |c| {
                    c.holder.continuing_education = vec![ce("peer_specific", 18, day(2024, 9, 1))];
                    c.local_mut()
                        .continuing_education
                        .push(ce("ethics", 6, day(2025, 5, 5)));
                },
                Approved,
            ),
            (
                "enough hours, none of them ethics",
                |c| c.holder.continuing_education = vec![ce("trauma_informed_care", 24, day(2024, 9, 1))],
                Conditional(&[CE_ETHICS]),
            ),
            (
                "enough ethics, too few hours",
                |c| c.holder.continuing_education = vec![ce("ethics", 10, day(2024, 9, 1))],
                Conditional(&[CE_TOTAL]),
            ),
            (
                "a 1-year period",
                |c| {
                    c.profile.renewal.period_years = 1;
                    c.holder.continuing_education = vec![ce("ethics", 24, day(2024, 5, 1))];
                },
                Conditional(&[
                    "continuing education (last year)",
                    "ethics continuing education (last year)",
                ]),
            ),
        ]);
        assert_eq!(
            gaps_after(|c| c.holder.continuing_education.clear()),
            [
                gap(CE_TOTAL, "24 h", "0 h", "24 h more continuing education"),
                gap(CE_ETHICS, "6 h", "0 h", "6 h more continuing education in ethics"),
            ]
        );
        assert_eq!(
            gaps_after(|c| c.holder.continuing_education = vec![ce("trauma_informed_care", 24, day(2024, 9, 1))]),
            [gap(CE_ETHICS, "6 h", "0 h", "6 h more continuing education in ethics")]
        );
    }

    // ---- rule 7: extra local requirements ----------------------------------------------------

    #[test]
    fn each_extra_local_requirement_needs_its_course() {
        run(&[
            ("the orientation in TN's own record", |_| {}, Approved),
            (
                "the orientation in the origin record",
                |c| {
                    c.local = None;
                    c.holder.trainings.push(orientation(day(2024, 11, 1)));
                },
                Approved,
            ),
            (
                "no local record, no orientation",
                |c| c.local = None,
                Conditional(&["tn_orientation"]),
            ),
            (
                "the orientation completed after today",
                |c| {
                    c.local = Some(peer(
                        "tn-peer-9",
                        vec![orientation(day(2025, 6, 2))],
                        Vec::new(),
                        Vec::new(),
                    ))
                },
                Conditional(&["tn_orientation"]),
            ),
            (
                "another course is not the orientation",
                |c| {
                    let other = training("TN-ORIENT-2", 180, day(2025, 5, 1), &[]);
                    c.local = Some(peer("tn-peer-9", vec![other], Vec::new(), Vec::new()));
                },
                Conditional(&["tn_orientation"]),
            ),
            (
                "a profile without extra requirements",
                |c| {
                    c.profile.reciprocity.extra.clear();
                    c.local = None;
                },
                Approved,
            ),
        ]);
        assert_eq!(
            gaps_after(|c| c.local = None),
            [gap(
                "tn_orientation",
                "Tennessee peer workforce orientation (3 h)",
                "no TN-ORIENT course",
                "complete Tennessee peer workforce orientation (3 h)"
            )]
        );
    }

    // ---- the outcome -------------------------------------------------------------------------------

    #[test]
    fn nothing_unmet_is_approved() {
        assert_eq!(
            approvable().decide(),
            Decision {
                outcome: Outcome::Approved,
                denials: Vec::new(),
                gaps: Vec::new(),
                details: Vec::new(),
                waived: Vec::new(),
                policy: Some(ReciprocityPolicy::FullComparison),
            }
        );
    }

    #[test]
    fn gaps_alone_make_a_transfer_conditional_and_are_listed_in_rule_order() {
        let mut case = approvable();
        case.holder.trainings = vec![core_with_ethics(0)];
        case.holder.exams.clear();
        case.holder.continuing_education.clear();
        case.local = None;
        let decision = case.decide();
        assert_eq!(decision.outcome, Outcome::Conditional);
        assert!(decision.denials.is_empty());
        let requirements: Vec<&str> = decision.gaps.iter().map(|g| g.requirement.as_str()).collect();
        assert_eq!(
            requirements,
            [
                "ethical_responsibility training",
                "certification exam",
                CE_TOTAL,
                CE_ETHICS,
                "tn_orientation"
            ]
        );
    }

    #[test]
    fn a_denial_with_gaps_is_denied_and_still_lists_the_gaps() {
        let mut case = approvable();
        case.profile.reciprocity.partners = vec!["VA".into()];
        case.credential.discipline = vec![discipline(DisciplineKind::Suspension, day(2025, 5, 1), None)];
        case.holder.exams.clear();
        case.local = None;
        let decision = case.decide();
        assert_eq!(decision.outcome, Outcome::Denied);
        assert_eq!(
            decision.denials,
            [
                "no reciprocity agreement with MS: TN accepts transfers from VA",
                "the MS credential MS-1 is suspended",
            ]
        );
        let requirements: Vec<&str> = decision.gaps.iter().map(|g| g.requirement.as_str()).collect();
        assert_eq!(requirements, ["certification exam", "tn_orientation"]);
    }

    #[test]
    fn a_credential_that_is_not_the_holders_is_denied() {
        let mut case = approvable();
        case.credential.peer_id = "ms-peer-2".to_string();
        let decision = case.decide();
        assert_eq!(decision.outcome, Outcome::Denied);
        assert_eq!(
            decision.denials,
            ["the MS credential MS-1 belongs to peer \"ms-peer-2\", not to \"ms-peer-1\" whose record was presented"]
        );
    }

    #[test]
    fn a_denial_before_the_rules_run_always_has_a_reason() {
        let reason = "the origin's checkpoint could not be verified".to_string();
        assert_eq!(
            Decision::denied(vec![reason.clone()]),
            Decision {
                outcome: Outcome::Denied,
                denials: vec![reason],
                gaps: Vec::new(),
                details: Vec::new(),
                waived: Vec::new(),
                policy: None,
            }
        );
        let bare = Decision::denied(Vec::new());
        assert_eq!((bare.outcome, bare.denials.len()), (Outcome::Denied, 1));
    }

    #[test]
    fn a_decision_never_repeats_a_message() {
        let mut case = approvable();
        case.profile.reciprocity.discipline_lookback_years = 5;
        case.credential.initial_expires_on = day(2025, 5, 1);
        let past = discipline(DisciplineKind::Suspension, day(2022, 1, 1), Some(day(2022, 2, 1)));
        let current = discipline(DisciplineKind::Probation, day(2024, 1, 1), None);
        case.credential.discipline = vec![past.clone(), Discipline { index: 13, ..past }, current];
        let denials = case.decide().denials;
        assert_eq!(
            denials,
            [
                "the MS credential MS-1 is expired (valid until 2025-05-01)",
                "the MS credential MS-1 has discipline within TN's 5-year look-back: suspension effective 2022-01-01",
                "the MS credential MS-1 has discipline in force: probation effective 2024-01-01",
            ]
        );
    }

    // ---- policies ------------------------------------------------------------------------------

    fn good_standing_policy(case: &mut Case) {
        case.profile.reciprocity.policy = ReciprocityPolicy::AcceptCredentialInGoodStanding;
    }

    fn equivalence_policy(case: &mut Case) {
        case.profile.reciprocity.policy = ReciprocityPolicy::SubstantialEquivalence;
        case.profile.reciprocity.hours_tolerance_percent = 10;
    }

    #[test]
    fn the_shipped_tn_example_accepts_ms_credentials_in_good_standing() {
        let profile = RequirementProfile::example_for("TN").expect("the shipped TN example");
        let reciprocity = &profile.reciprocity;
        assert_eq!(
            reciprocity.policy_for("MS"),
            ReciprocityPolicy::AcceptCredentialInGoodStanding
        );
        assert_eq!(reciprocity.policy_for("GA"), ReciprocityPolicy::FullComparison);
        let mut case = approvable();
        case.profile = profile;
        case.holder.trainings = vec![core_training(10)];
        case.holder.exams.clear();
        case.holder.continuing_education.clear();
        let decision = case.decide();
        assert_eq!(decision.outcome, Outcome::Approved, "{decision:?}");
        assert_eq!(decision.policy, Some(ReciprocityPolicy::AcceptCredentialInGoodStanding));
    }

    #[test]
    fn a_credential_in_good_standing_is_accepted_without_a_re_test() {
        run(&[
            ("everything met", good_standing_policy, Approved),
            (
                "10 h of training, no exam, no CE: no re-test",
                |c| {
                    good_standing_policy(c);
                    c.holder.trainings = vec![core_training(10)];
                    c.holder.exams.clear();
                    c.holder.continuing_education.clear();
                },
                Approved,
            ),
            (
                "the receiving state's own orientation is still required",
                |c| {
                    good_standing_policy(c);
                    c.local = None;
                },
                Conditional(&["tn_orientation"]),
            ),
            (
                "standing is still required",
                |c| {
                    good_standing_policy(c);
                    c.credential.discipline = vec![discipline(DisciplineKind::Suspension, day(2025, 5, 1), None)];
                },
                Denied(&["the MS credential MS-1 is suspended"]),
            ),
            (
                "the look-back is still applied",
                |c| {
                    good_standing_policy(c);
                    c.credential.discipline =
                        vec![discipline(DisciplineKind::Suspension, day(2024, 1, 1), Some(day(2024, 2, 1)))];
                },
                Denied(&[
                    "the MS credential MS-1 has discipline within TN's 2-year look-back: suspension effective 2024-01-01",
                ]),
            ),
            (
                "the agreement is still required",
                |c| {
                    good_standing_policy(c);
                    c.profile.reciprocity.partners = vec!["VA".into()];
                },
                Denied(&["no reciprocity agreement with MS: TN accepts transfers from VA"]),
            ),
            (
                "a per-partner policy overrides the default",
                |c| {
                    c.profile.reciprocity.policies.insert(
                        "MS".into(),
                        ReciprocityPolicy::AcceptCredentialInGoodStanding,
                    );
                    c.holder.trainings = vec![core_training(10)];
                },
                Approved,
            ),
            (
                "another partner's policy does not apply",
                |c| {
                    c.profile.reciprocity.policies.insert(
                        "VA".into(),
                        ReciprocityPolicy::AcceptCredentialInGoodStanding,
                    );
                    c.holder.trainings = vec![core_training(10)];
                },
                Conditional(&["training hours"]),
            ),
        ]);
    }

    /// MS core training of `hours`, with no domain split at all.
    fn undivided_training(hours: u32) -> Training {
        training("MS-CORE", hours * 60, day(2021, 1, 15), &[])
    }

    #[test]
    fn substantial_equivalence_compares_total_hours_within_the_tolerance() {
        run(&[
            ("60 h, the full total", equivalence_policy, Approved),
            (
                "no per-domain split: 60 h undivided",
                |c| {
                    equivalence_policy(c);
                    c.holder.trainings = vec![undivided_training(60)];
                },
                Approved,
            ),
            (
                "54 h with the 3 h orientation: exactly 10% short, within the tolerance",
                |c| {
                    equivalence_policy(c);
                    c.holder.trainings = vec![undivided_training(51)];
                },
                Approved,
            ),
            (
                "53 h with the orientation: outside a 10% tolerance",
                |c| {
                    equivalence_policy(c);
                    c.holder.trainings = vec![undivided_training(50)];
                },
                Conditional(&["training hours (within 10% of 60 h)"]),
            ),
            (
                "54 h with no tolerance",
                |c| {
                    equivalence_policy(c);
                    c.profile.reciprocity.hours_tolerance_percent = 0;
                    c.holder.trainings = vec![undivided_training(51)];
                },
                Conditional(&["training hours (within 0% of 60 h)"]),
            ),
            (
                "the exam is still required",
                |c| {
                    equivalence_policy(c);
                    c.holder.exams.clear();
                },
                Conditional(&["certification exam"]),
            ),
            (
                "recent CE is still required",
                |c| {
                    equivalence_policy(c);
                    c.holder.continuing_education.clear();
                },
                Conditional(&[CE_TOTAL, CE_ETHICS]),
            ),
        ]);
        let mut case = approvable();
        equivalence_policy(&mut case);
        case.holder.trainings = vec![undivided_training(50)];
        let detail = &case.decide().details[0];
        assert_eq!(
            (
                detail.requirement_id.as_str(),
                detail.required,
                detail.found,
                detail.unit
            ),
            ("training_hours", 54 * 60, 53 * 60, Unit::Minutes)
        );
    }

    #[test]
    fn full_comparison_still_tests_every_domain() {
        run(&[
            ("60 h split as TN asks", |_| {}, Approved),
            (
                "60 h undivided",
                |c| c.holder.trainings = vec![undivided_training(60)],
                Conditional(&[
                    "ethical_responsibility training",
                    "helps_manage_crises training",
                    "shares_lived_experience training",
                    "supports_recovery_planning training",
                ]),
            ),
            (
                "57 h with the orientation: no tolerance",
                |c| c.holder.trainings = vec![core_training(54)],
                Conditional(&["training hours"]),
            ),
        ]);
    }

    // ---- gaps as data ---------------------------------------------------------------------------

    #[test]
    fn every_gap_carries_its_data() {
        let mut case = approvable();
        case.holder.trainings = vec![core_with_ethics(120)];
        case.holder.exams = vec![exam(60, 70, day(2021, 2, 1))];
        case.holder.continuing_education = vec![ce("ethics", 2, day(2025, 1, 10))];
        case.local = None;
        let decision = case.decide();
        assert_eq!(decision.gaps.len(), decision.details.len());
        let data: Vec<(&str, Option<&str>, u64, u64, Unit)> = decision
            .details
            .iter()
            .map(|d| {
                (
                    d.requirement_id.as_str(),
                    d.domain.as_deref(),
                    d.required,
                    d.found,
                    d.unit,
                )
            })
            .collect();
        assert_eq!(
            data,
            [
                (
                    "training_hours.ethical_responsibility",
                    Some("ethical_responsibility"),
                    360,
                    120,
                    Unit::Minutes
                ),
                ("exam", None, 70, 60, Unit::Percent),
                ("ce_hours", None, 24 * 60, 120, Unit::Minutes),
                ("ce_hours.ethics", Some("ethics"), 360, 120, Unit::Minutes),
                ("tn_orientation", None, 1, 0, Unit::Courses),
            ]
        );
    }

    // ---- waivers --------------------------------------------------------------------------------

    fn waiver(requirement_id: &str) -> Waiver {
        Waiver {
            index: 40,
            requirement_id: requirement_id.to_string(),
            waived_by: "J. Reviewer".to_string(),
            reason: "equivalent coursework in the origin's core course".to_string(),
            recorded_on: day(2025, 5, 20),
        }
    }

    #[test]
    fn a_recorded_waiver_turns_its_gap_waived() {
        run(&[
            (
                "the orientation waived",
                |c| {
                    c.local = None;
                    c.waivers = vec![waiver("tn_orientation")];
                },
                Approved,
            ),
            (
                "a waiver of another requirement leaves the gap open",
                |c| {
                    c.local = None;
                    c.waivers = vec![waiver("exam")];
                },
                Conditional(&["tn_orientation"]),
            ),
            (
                "one gap waived, one open",
                |c| {
                    c.local = None;
                    c.holder.exams.clear();
                    c.waivers = vec![waiver("tn_orientation")];
                },
                Conditional(&["certification exam"]),
            ),
            (
                "a waiver does not lift a denial",
                |c| {
                    c.local = None;
                    c.waivers = vec![waiver("tn_orientation")];
                    c.credential.discipline = vec![discipline(DisciplineKind::Revocation, day(2024, 1, 1), None)];
                },
                Denied(&["the MS credential MS-1 is revoked"]),
            ),
        ]);
        let mut case = approvable();
        case.local = None;
        case.waivers = vec![waiver("tn_orientation")];
        let decision = case.decide();
        assert_eq!(decision.waived.len(), 1);
        let waived = &decision.waived[0];
        assert_eq!(waived.finding.gap.requirement, "tn_orientation");
        assert_eq!(waived.waiver.waived_by, "J. Reviewer");
        assert_eq!(
            waived.waiver.reason,
            "equivalent coursework in the origin's core course"
        );
    }

    // ---- the application date -------------------------------------------------------------------

    #[test]
    fn a_transfer_is_judged_as_of_its_application_date() {
        run(&[
            (
                "applied before the orientation was completed",
                |c| c.applied_on = day(2025, 4, 1),
                Conditional(&["tn_orientation"]),
            ),
            ("applied after it", |c| c.applied_on = day(2025, 5, 2), Approved),
            (
                "expired since the application",
                |c| {
                    c.applied_on = day(2025, 5, 2);
                    c.credential.initial_expires_on = day(2025, 5, 10);
                },
                Denied(&["today: the MS credential MS-1 is expired (valid until 2025-05-10)"]),
            ),
            (
                "suspended since the application",
                |c| {
                    c.applied_on = day(2025, 5, 2);
                    c.credential.discipline = vec![discipline(DisciplineKind::Suspension, day(2025, 5, 20), None)];
                },
                Denied(&["today: the MS credential MS-1 is suspended"]),
            ),
            (
                "CE completed after the application does not count",
                |c| {
                    c.applied_on = day(2025, 5, 2);
                    c.holder.continuing_education[0].completed_on = day(2025, 5, 25);
                },
                Conditional(&[CE_TOTAL]),
            ),
        ]);
    }
}
