//! Does a peer's record meet a profile's requirements? The answer is the list
//! of gaps, each saying what is required, what was found and what would close
//! it, so that a refusal (or a conditional transfer) tells a person what to do.

use chrono::{Months, NaiveDate};

pub use super::fact::Gap;
use super::fact::{Evidence, ExperienceKind};
use super::profile::{InitialRequirements, RenewalRequirements};
use super::records::{Credential, Peer};
use super::vocabulary::{format_hours, hours_to_minutes, EVIDENCE_REQUIREMENTS};

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

/// Evidence for `requirement` dated on or before `date`.
fn evidence_by<'a>(peer: &'a Peer, requirement: &'a str, date: NaiveDate) -> impl Iterator<Item = &'a Evidence> {
    let evidence = peer.extras.evidence.iter();
    evidence.filter(move |e| e.requirement == requirement && e.recorded_on <= date)
}

/// The date experience is counted back from: the application when the
/// profile needs one and it is recorded (the latest by `as_of`), else `as_of`.
fn experience_anchor(peer: &Peer, initial: &InitialRequirements, as_of: NaiveDate) -> NaiveDate {
    if !initial.evidence_required.iter().any(|id| id == "application") {
        return as_of;
    }
    let applied = evidence_by(peer, "application", as_of).map(|e| e.recorded_on);
    applied.max().unwrap_or(as_of)
}

/// A year of college within the window may stand in for the experience hours.
fn college_year_substitutes(peer: &Peer, initial: &InitialRequirements, anchor: NaiveDate) -> bool {
    let since = years_before(anchor, initial.experience_lookback_years);
    initial.college_year_substitutes_experience
        && evidence_by(peer, "college_year", anchor).any(|e| e.recorded_on > since)
}

/// Experience whose period ended within the look-back window before `as_of`
/// (or before the application, when the profile needs one: experience
/// gained after applying does not count), not necessarily consecutive.
pub fn experience_gaps(peer: &Peer, initial: &InitialRequirements, as_of: NaiveDate) -> Vec<Gap> {
    let anchor = experience_anchor(peer, initial, as_of);
    let since = years_before(anchor, initial.experience_lookback_years);
    let recent = peer
        .experience
        .iter()
        .filter(|e| e.period_end > since && e.period_end <= anchor);
    let (mut all, mut supervised) = (0u64, 0u64);
    for record in recent {
        all += u64::from(record.minutes);
        if record.kind == ExperienceKind::Supervised {
            supervised += u64::from(record.minutes);
        }
    }
    let window = format!("within {} years", initial.experience_lookback_years);
    let remedy = match initial.college_year_substitutes_experience {
        true => "more paid, volunteer or supervised experience (or one year of college)",
        false => "more paid, volunteer or supervised experience",
    };
    let experience = hours_gap(
        &format!("experience hours ({window})"),
        u64::from(hours_to_minutes(initial.experience_hours)),
        all,
        remedy,
    )
    .filter(|_| !college_year_substitutes(peer, initial, anchor));
    let supervision = hours_gap(
        &format!("supervised hours ({window})"),
        u64::from(hours_to_minutes(initial.supervised_hours)),
        supervised,
        "more supervised experience",
    );
    experience.into_iter().chain(supervision).collect()
}

/// What a requirement id means, for messages.
fn requirement_name(id: &str) -> &str {
    let known = EVIDENCE_REQUIREMENTS.iter().find(|(known, _)| *known == id);
    known.map_or(id, |(_, name)| name)
}

/// One required piece of evidence: recorded by `as_of`, and for the
/// pre-training, dated no later than the first classroom training counted.
fn evidence_gap(peer: &Peer, id: &str, as_of: NaiveDate) -> Option<Gap> {
    let name = requirement_name(id);
    let earliest = evidence_by(peer, id, as_of).map(|e| e.recorded_on).min();
    let Some(recorded_on) = earliest else {
        return flag_gap(id, false, &format!("record evidence of {name}"));
    };
    let first_training = peer
        .trainings
        .iter()
        .map(|t| t.completed_on)
        .filter(|d| *d <= as_of)
        .min();
    match first_training {
        Some(training) if id == "pre_training" && recorded_on > training => Some(Gap {
            requirement: id.to_string(),
            required: format!("completed on or before the classroom training ({training})"),
            found: format!("completed on {recorded_on}"),
            remedy: "complete the online pre-training before the classroom training".into(),
        }),
        _ => None,
    }
}

/// The evidence a profile names, and the number of reference forms.
pub fn evidence_gaps(peer: &Peer, initial: &InitialRequirements, as_of: NaiveDate) -> Vec<Gap> {
    let mut gaps: Vec<Gap> = initial
        .evidence_required
        .iter()
        .filter_map(|id| evidence_gap(peer, id, as_of))
        .collect();
    let references = evidence_by(peer, "reference", as_of).count() as u64;
    let required = u64::from(initial.references_required);
    if references < required {
        gaps.push(Gap {
            requirement: "reference".into(),
            required: format!("{required} reference forms"),
            found: format!("{references}"),
            remedy: format!(
                "record {} more reference form(s) attesting to the ability to perform the role",
                required - references
            ),
        });
    }
    gaps
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
    gaps.extend(evidence_gaps(peer, initial, as_of));
    gaps
}

/// Refuses an expiry later than `from` plus the profile's validity.
pub fn validity_gap(initial: &InitialRequirements, from: NaiveDate, expires_on: NaiveDate) -> Option<Gap> {
    let latest = years_after(from, initial.credential_valid_years);
    (expires_on > latest).then(|| Gap {
        requirement: "credential validity".into(),
        required: format!(
            "an expiry no later than {latest} ({} years from {from})",
            initial.credential_valid_years
        ),
        found: expires_on.to_string(),
        remedy: format!("set the expiry on or before {latest}"),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fact::{Exam, Experience, Training};
    use crate::domain::profile::RequirementProfile;
    use crate::domain::records::PeerExtras;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    fn evidence(requirement: &str, on: &str) -> Evidence {
        Evidence {
            index: 0,
            requirement: requirement.into(),
            recorded_on: day(on),
            detail: "seen".into(),
            attested_by: String::new(),
        }
    }

    /// An applicant who follows Mississippi's toolkit to the letter, ready on 2024-02-15.
    fn toolkit_applicant() -> Peer {
        Peer {
            peer_id: "P1".into(),
            legal_name: "Applicant".into(),
            eligibility_attested: true,
            ethics_code_signed: true,
            trainings: vec![Training {
                index: 0,
                course_id: "MS-DMH".into(),
                course_title: "DMH four-day training".into(),
                provider: "DMH".into(),
                minutes: 32 * 60,
                completed_on: day("2024-02-01"),
                domains: Vec::new(),
            }],
            experience: vec![
                experience(150, "2022-03-01", "2022-09-30"),
                experience(100, "2023-06-01", "2024-01-31"),
            ],
            exams: vec![Exam {
                index: 0,
                exam_id: "MS-CPSS".into(),
                score_percent: 75,
                pass_mark_percent: 75,
                taken_on: day("2024-02-15"),
            }],
            continuing_education: Vec::new(),
            credentials: Vec::new(),
            events: Vec::new(),
            extras: PeerExtras {
                evidence: vec![
                    evidence("education", "2024-01-10"),
                    evidence("reading_writing", "2024-01-10"),
                    evidence("residency", "2024-01-10"),
                    evidence("reference", "2024-01-20"),
                    evidence("reference", "2024-01-22"),
                    evidence("pre_training", "2024-01-25"),
                    evidence("employment", "2024-02-14"),
                    evidence("application", "2024-01-31"),
                ],
                ..PeerExtras::default()
            },
        }
    }

    fn experience(hours: u32, from: &str, to: &str) -> Experience {
        Experience {
            index: 0,
            kind: ExperienceKind::Volunteer,
            minutes: hours * 60,
            period_start: day(from),
            period_end: day(to),
        }
    }

    fn mississippi() -> InitialRequirements {
        RequirementProfile::example_for("MS").expect("the MS example").initial
    }

    const ISSUE: &str = "2024-02-15";

    fn without(peer: &mut Peer, requirement: &str) {
        peer.extras.evidence.retain(|e| e.requirement != requirement);
    }

    fn set_date(peer: &mut Peer, requirement: &str, on: &str) {
        for e in peer.extras.evidence.iter_mut().filter(|e| e.requirement == requirement) {
            e.recorded_on = day(on);
        }
    }

    /// Each toolkit rule broken alone, and the requirement the refusal must name.
    /// What a case is, how it breaks the applicant, and the requirement named.
    type Case = (&'static str, fn(&mut Peer), &'static str);

    fn broken_rules() -> Vec<Case> {
        vec![
            ("no diploma, GED or enrolment", |p| without(p, "education"), "education"),
            (
                "no reading and writing proficiency",
                |p| without(p, "reading_writing"),
                "reading_writing",
            ),
            (
                "one reference form, not two",
                |p| p.extras.evidence.retain(|e| e.recorded_on != day("2024-01-22")),
                "reference",
            ),
            ("no reference form", |p| without(p, "reference"), "reference"),
            ("not a Mississippi resident", |p| without(p, "residency"), "residency"),
            (
                "not employed in the mental health system",
                |p| without(p, "employment"),
                "employment",
            ),
            (
                "employed only after the issue date",
                |p| set_date(p, "employment", "2024-02-16"),
                "employment",
            ),
            ("no online pre-training", |p| without(p, "pre_training"), "pre_training"),
            (
                "pre-training after the classroom training",
                |p| set_date(p, "pre_training", "2024-02-05"),
                "pre_training",
            ),
            ("no application recorded", |p| without(p, "application"), "application"),
            (
                "249 hours of experience",
                |p| p.experience[1].minutes -= 60,
                "experience hours (within 3 years)",
            ),
            (
                "experience gained after applying",
                |p| set_date(p, "application", "2024-01-30"),
                "experience hours (within 3 years)",
            ),
            (
                "experience older than three years",
                |p| p.experience[0].period_end = day("2021-01-30"),
                "experience hours (within 3 years)",
            ),
            (
                "only three classroom days",
                |p| p.trainings[0].minutes = 24 * 60,
                "training hours",
            ),
            (
                "an exam at 74%",
                |p| p.exams[0].score_percent = 74,
                "certification exam",
            ),
            (
                "no signed code of ethics",
                |p| p.ethics_code_signed = false,
                "signed code of ethics",
            ),
        ]
    }

    #[test]
    fn an_applicant_following_the_toolkit_meets_every_requirement() {
        let gaps = initial_gaps(&toolkit_applicant(), &mississippi(), day(ISSUE));
        assert_eq!(gaps, Vec::<Gap>::new());
    }

    #[test]
    fn each_toolkit_rule_broken_alone_is_the_one_gap_named() {
        for (what, break_it, named) in broken_rules() {
            let mut peer = toolkit_applicant();
            break_it(&mut peer);
            let gaps = initial_gaps(&peer, &mississippi(), day(ISSUE));
            let names: Vec<&str> = gaps.iter().map(|g| g.requirement.as_str()).collect();
            assert_eq!(names, [named], "{what}: {}", describe(&gaps));
        }
    }

    #[test]
    fn a_year_of_college_within_three_years_stands_in_for_the_experience() {
        let table = [
            ("college year in the window", Some("2023-05-31"), true, true),
            ("college year older than three years", Some("2020-05-31"), true, false),
            ("college year after applying", Some("2024-02-10"), true, false),
            ("no college year", None, true, false),
            ("a profile without the substitute", Some("2023-05-31"), false, false),
        ];
        for (what, college, substitutes, met) in table {
            let mut peer = toolkit_applicant();
            peer.experience.clear();
            if let Some(on) = college {
                peer.extras.evidence.push(evidence("college_year", on));
            }
            let mut initial = mississippi();
            initial.college_year_substitutes_experience = substitutes;
            let gaps = initial_gaps(&peer, &initial, day(ISSUE));
            assert_eq!(gaps.is_empty(), met, "{what}: {}", describe(&gaps));
        }
    }

    #[test]
    fn a_profile_that_names_no_evidence_asks_for_none() {
        let mut peer = toolkit_applicant();
        peer.extras.evidence.clear();
        let mut initial = mississippi();
        initial.evidence_required.clear();
        initial.references_required = 0;
        let gaps = initial_gaps(&peer, &initial, day(ISSUE));
        assert_eq!(describe(&gaps), "");
    }

    #[test]
    fn an_expiry_within_the_validity_passes_and_one_past_it_is_refused() {
        let initial = mississippi(); // 2 years
        let table = [
            ("2024-02-15", "2025-02-15", true),
            ("2024-02-15", "2026-02-15", true),
            ("2024-02-15", "2026-02-16", false),
            ("2024-02-29", "2026-02-28", true),
            ("2024-02-29", "2026-03-01", false),
            ("2026-02-10", "2028-02-10", true),
            ("2026-02-10", "2029-02-10", false),
        ];
        for (from, expires, allowed) in table {
            let gap = validity_gap(&initial, day(from), day(expires));
            assert_eq!(gap.is_none(), allowed, "{from} -> {expires}: {gap:?}");
        }
    }
}
