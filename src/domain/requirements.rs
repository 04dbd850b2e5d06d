//! Does a peer's record meet a profile's requirements? The answer is the list
//! of gaps, each saying what is required, what was found and what would close
//! it, so that a refusal (or a conditional transfer) tells a person what to do.

use chrono::{Months, NaiveDate};

use super::fact::ExperienceKind;
pub use super::fact::Gap;
use super::profile::{InitialRequirements, RenewalRequirements};
use super::records::{Credential, Peer};
use super::vocabulary::{format_hours, hours_to_minutes};

/// Joins gaps into one message: "a; b; c".
pub fn describe(gaps: &[Gap]) -> String {
    gaps.iter().map(Gap::to_string).collect::<Vec<_>>().join("; ")
}

/// `date` minus whole years (29 February falls back to 28 February).
pub fn years_before(date: NaiveDate, years: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MIN)
}

/// `date` plus whole years.
pub fn years_after(date: NaiveDate, years: u32) -> NaiveDate {
    date.checked_add_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MAX)
}

fn hours_gap(requirement: &str, required_minutes: u64, found_minutes: u64, remedy: &str) -> Option<Gap> {
    (found_minutes < required_minutes).then(|| Gap {
        requirement: requirement.to_string(),
        required: format_hours(required_minutes),
        found: format_hours(found_minutes),
        remedy: format!("{} {remedy}", format_hours(required_minutes - found_minutes)),
    })
}

fn flag_gap(requirement: &str, met: bool, remedy: &str) -> Option<Gap> {
    (!met).then(|| Gap {
        requirement: requirement.to_string(),
        required: "yes".into(),
        found: "no".into(),
        remedy: remedy.to_string(),
    })
}

/// Training hours, in total and per domain, completed by `as_of`.
pub fn training_gaps(peer: &Peer, initial: &InitialRequirements, as_of: NaiveDate) -> Vec<Gap> {
    let total = u64::from(hours_to_minutes(initial.training_hours_total));
    let mut gaps: Vec<Gap> = hours_gap("training hours", total, peer.training_minutes(as_of), "more training")
        .into_iter()
        .collect();
    for (domain, hours) in &initial.training_hours_by_domain {
        let required = u64::from(hours_to_minutes(*hours));
        let remedy = format!("more training in {domain}");
        gaps.extend(hours_gap(
            &format!("{domain} training"),
            required,
            peer.domain_minutes(domain, as_of),
            &remedy,
        ));
    }
    gaps
}

/// The exam: a score at or above the pass mark, taken by `as_of`.
pub fn exam_gap(peer: &Peer, initial: &InitialRequirements, as_of: NaiveDate) -> Option<Gap> {
    if !initial.exam_required {
        return None;
    }
    let best = peer.best_exam(as_of).map(|e| e.score_percent);
    (best.unwrap_or(0) < initial.exam_pass_mark_percent).then(|| Gap {
        requirement: "certification exam".into(),
        required: format!("a score of {}%", initial.exam_pass_mark_percent),
        found: best.map_or("no exam".into(), |s| format!("best score {s}%")),
        remedy: "pass the certification exam".into(),
    })
}

/// Experience whose period ended within the look-back window before `as_of`.
pub fn experience_gaps(peer: &Peer, initial: &InitialRequirements, as_of: NaiveDate) -> Vec<Gap> {
    let since = years_before(as_of, initial.experience_lookback_years);
    let recent = peer
        .experience
        .iter()
        .filter(|e| e.period_end > since && e.period_end <= as_of);
    let (mut all, mut supervised) = (0u64, 0u64);
    for record in recent {
        all += u64::from(record.minutes);
        if record.kind == ExperienceKind::Supervised {
            supervised += u64::from(record.minutes);
        }
    }
    let window = format!("within {} years", initial.experience_lookback_years);
    let experience = hours_gap(
        &format!("experience hours ({window})"),
        u64::from(hours_to_minutes(initial.experience_hours)),
        all,
        "more paid, volunteer or supervised experience",
    );
    let supervision = hours_gap(
        &format!("supervised hours ({window})"),
        u64::from(hours_to_minutes(initial.supervised_hours)),
        supervised,
        "more supervised experience",
    );
    experience.into_iter().chain(supervision).collect()
}

/// Everything initial certification asks of `peer`, as of `as_of`.
pub fn initial_gaps(peer: &Peer, initial: &InitialRequirements, as_of: NaiveDate) -> Vec<Gap> {
    let attested = flag_gap(
        "eligibility attestation",
        !initial.eligibility_attestation_required || peer.eligibility_attested,
        "the peer must attest the lived-experience eligibility requirement",
    );
    let ethics = flag_gap(
        "signed code of ethics",
        !initial.ethics_code_required || peer.ethics_code_signed,
        "the peer must sign the state's code of ethics",
    );
    let mut gaps: Vec<Gap> = attested.into_iter().chain(ethics).collect();
    gaps.extend(training_gaps(peer, initial, as_of));
    gaps.extend(exam_gap(peer, initial, as_of));
    gaps.extend(experience_gaps(peer, initial, as_of));
    gaps
}

/// The day the current renewal period's CE window opened: the last renewal
/// recorded by `as_of`, or the issue date.
pub fn ce_window_start(credential: &Credential, as_of: NaiveDate) -> NaiveDate {
    let renewals = credential
        .renewals
        .iter()
        .filter(|r| r.renewed_on <= as_of)
        .map(|r| r.renewed_on);
    renewals.max().unwrap_or(credential.issued_on)
}

/// CE hours in total and per topic completed in the current period, by `as_of`.
pub fn ce_gaps(peer: &Peer, window_start: NaiveDate, renewal: &RenewalRequirements, as_of: NaiveDate) -> Vec<Gap> {
    let total = u64::from(hours_to_minutes(renewal.ce_hours));
    let found = peer.ce_minutes(None, window_start, as_of);
    let mut gaps: Vec<Gap> = hours_gap("continuing education", total, found, "more continuing education")
        .into_iter()
        .collect();
    for (topic, hours) in &renewal.ce_hours_by_topic {
        let required = u64::from(hours_to_minutes(*hours));
        let remedy = format!("more continuing education in {topic}");
        let found = peer.ce_minutes(Some(topic), window_start, as_of);
        gaps.extend(hours_gap(
            &format!("{topic} continuing education"),
            required,
            found,
            &remedy,
        ));
    }
    gaps
}
