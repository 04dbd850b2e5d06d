//! Property tests of the projection.
//!
//! Random command sequences over a small universe (three peers, four credential
//! numbers, dates in 2020..=2030) go through `rules::check` and `apply` the way
//! the ledger writer does; the registry that results must not depend on how it
//! was built (incrementally, replayed, via a snapshot, or cloned half-way), and a
//! credential's status on a date must depend only on what was effective by then.
//! A table at the end states the status precedence as a spec.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use proptest::sample::{select, subsequence, Index};
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use super::{snapshot, Registry};
use crate::domain::fact::{
    ContinuingEducation, CredentialType, Discipline, DisciplineKind, Exam, Experience, ExperienceKind, Fact, Issue,
    Reinstatement, Renewal, Training,
};
use crate::domain::profile::RequirementProfile;
use crate::domain::records::Credential;
use crate::domain::rules;
use crate::domain::status::Status;
use crate::domain::vocabulary::{CE_TOPICS, COMPETENCY_DOMAINS};

const PEERS: [&str; 3] = ["P0", "P1", "P2"];
const NUMBERS: [&str; 4] = ["C0", "C1", "C2", "C3"];
/// Days from 2020-01-01 to 2030-12-31, both included.
const DAYS: u64 = 4018;
/// A coarse grid of dates, so that distinct events often fall on the same day
/// (a discipline ending the day a reinstatement starts, and so on).
const GRID_DAYS: u64 = 91;

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a real calendar date")
}

/// `offset` days after 2020-01-01.
fn day(offset: u64) -> NaiveDate {
    ymd(2020, 1, 1) + Days::new(offset)
}

/// The writer's "today": after every generated date, so no fact is refused for
/// being in the future and refusals are the lifecycle rules'.
fn today() -> NaiveDate {
    ymd(2031, 1, 1)
}

/// A profile that asks nothing of a peer, so that issues and renewals in random
/// sequences pass and the discipline lifecycle gets exercised.
fn permissive_profile() -> RequirementProfile {
    let mut profile = RequirementProfile::default_for("MS");
    let initial = &mut profile.initial;
    initial.training_hours_total = 0.0;
    initial.training_hours_by_domain.clear();
    initial.exam_required = false;
    initial.experience_hours = 0.0;
    initial.supervised_hours = 0.0;
    initial.eligibility_attestation_required = false;
    initial.ethics_code_required = false;
    // Random expiries up to the longest validity a profile may set.
    initial.credential_valid_years = 10;
    profile.renewal.ce_hours = 0.0;
    profile.renewal.ce_hours_by_topic.clear();
    profile
}

// ---------------------------------------------------------------------------
// Generators. Every fact is well-formed, as `Fact::from_body` would leave it.
// ---------------------------------------------------------------------------

fn peer_id() -> impl Strategy<Value = String> {
    select(&PEERS[..]).prop_map(str::to_string)
}

fn number() -> impl Strategy<Value = String> {
    select(&NUMBERS[..]).prop_map(str::to_string)
}

/// A day offset: mostly anywhere, sometimes on the coarse grid.
fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 0..DAYS, 1 => (0..DAYS / GRID_DAYS).prop_map(|q| q * GRID_DAYS)]
}

fn date() -> impl Strategy<Value = NaiveDate> {
    offset().prop_map(day)
}

fn name() -> impl Strategy<Value = String> {
    select(&["Ada Lovelace", "Ada King", "Grace Hopper"][..]).prop_map(str::to_string)
}

fn enrolled(peer_id: String) -> Fact {
    Fact::Enrolled {
        peer_id,
        legal_name: "Ada Lovelace".to_string(),
        eligibility_attested: true,
        ethics_code_signed: true,
    }
}

fn training() -> impl Strategy<Value = Fact> {
    let domains: Vec<&str> = COMPETENCY_DOMAINS.iter().map(|(id, _)| *id).collect();
    (peer_id(), 60u32..6000, date(), subsequence(domains, 0..=3)).prop_map(|(peer_id, minutes, completed_on, ids)| {
        // Each named domain takes a quarter of the course, so they never add up to more.
        let domains = ids.into_iter().map(|id| (id.to_string(), minutes / 4)).collect();
        Fact::TrainingCompleted {
            peer_id,
            training: Training {
                index: 0,
                course_id: "PS-101".to_string(),
                course_title: "Peer support foundations".to_string(),
                provider: "State board".to_string(),
                minutes,
                completed_on,
                domains,
            },
        }
    })
}

fn experience() -> impl Strategy<Value = Fact> {
    let kind = select(
        &[
            ExperienceKind::Paid,
            ExperienceKind::Volunteer,
            ExperienceKind::Supervised,
        ][..],
    );
    (peer_id(), kind, 1u32..=100_000, offset(), 0u64..365).prop_map(|(peer_id, kind, minutes, end, length)| {
        Fact::ExperienceRecorded {
            peer_id,
            experience: Experience {
                index: 0,
                kind,
                minutes,
                period_start: day(end.saturating_sub(length)),
                period_end: day(end),
            },
        }
    })
}

fn exam() -> impl Strategy<Value = Fact> {
    (peer_id(), 0u32..=100, 1u32..=100, date()).prop_map(|(peer_id, score_percent, pass_mark_percent, taken_on)| {
        Fact::ExamRecorded {
            peer_id,
            exam: Exam {
                index: 0,
                exam_id: "PSS-EXAM".to_string(),
                score_percent,
                pass_mark_percent,
                taken_on,
            },
        }
    })
}

const CREDENTIAL_TYPES: [CredentialType; 5] = [
    CredentialType::PeerSupportSpecialist,
    CredentialType::PeerRecoverySpecialist,
    CredentialType::FamilyPeer,
    CredentialType::YouthPeer,
    CredentialType::PeerSupervisor,
];

fn issue() -> impl Strategy<Value = Fact> {
    (peer_id(), number(), select(&CREDENTIAL_TYPES[..]), date(), 30u64..3650).prop_map(
        |(peer_id, credential_number, credential_type, issued_on, valid_days)| {
            Fact::CredentialIssued(Issue {
                peer_id,
                credential_number,
                credential_type,
                issued_on,
                expires_on: issued_on + Days::new(valid_days),
                reciprocity: None,
                imported: None,
                holder_name: String::new(),
            })
        },
    )
}

fn continuing_education() -> impl Strategy<Value = Fact> {
    let topics: Vec<&str> = CE_TOPICS.iter().map(|(id, _)| *id).collect();
    (peer_id(), select(topics), 1u32..3000, date()).prop_map(|(peer_id, topic, minutes, completed_on)| {
        Fact::ContinuingEducationCompleted {
            peer_id,
            course: ContinuingEducation {
                index: 0,
                topic: topic.to_string(),
                minutes,
                provider: "State board".to_string(),
                completed_on,
            },
        }
    })
}

fn renewal() -> impl Strategy<Value = Fact> {
    (number(), date(), 1u64..2000).prop_map(|(credential_number, renewed_on, extension)| Fact::CredentialRenewed {
        credential_number,
        renewal: Renewal {
            index: 0,
            renewed_on,
            new_expires_on: renewed_on + Days::new(extension),
            imported: false,
        },
    })
}

const DISCIPLINE_KINDS: [DisciplineKind; 6] = [
    DisciplineKind::Reprimand,
    DisciplineKind::Probation,
    DisciplineKind::Restriction,
    DisciplineKind::Suspension,
    DisciplineKind::Revocation,
    DisciplineKind::VoluntarySurrender,
];

/// A discipline of any kind; the liftable ones come more often, since a
/// revocation or surrender ends a credential's story.
fn discipline() -> impl Strategy<Value = (String, Discipline)> {
    let kind = prop_oneof![
        1 => Just(DisciplineKind::Reprimand),
        2 => Just(DisciplineKind::Probation),
        2 => Just(DisciplineKind::Restriction),
        3 => Just(DisciplineKind::Suspension),
        1 => Just(DisciplineKind::Revocation),
        1 => Just(DisciplineKind::VoluntarySurrender),
    ];
    let ends_after = proptest::option::weighted(0.4, prop_oneof![1u64..1000, Just(GRID_DAYS)]);
    (number(), kind, date(), ends_after).prop_map(|(number, kind, effective_on, ends_after)| {
        let discipline = Discipline {
            index: 0,
            kind,
            effective_on,
            ends_on: ends_after.map(|days| effective_on + Days::new(days)),
            public_summary: "Board order".to_string(),
        };
        (number, discipline)
    })
}

fn disciplined((credential_number, discipline): (String, Discipline)) -> Fact {
    Fact::DisciplinaryAction {
        credential_number,
        discipline,
    }
}

fn reinstated(credential_number: String, effective_on: NaiveDate) -> Fact {
    Fact::CredentialReinstated {
        credential_number,
        reinstatement: Reinstatement {
            index: 0,
            effective_on,
            public_summary: "Conditions met".to_string(),
        },
    }
}

/// A discipline and, up to a year later, a reinstatement of the same
/// credential: reinstatements on random days rarely find anything to lift.
fn discipline_then_reinstatement() -> impl Strategy<Value = Vec<Fact>> {
    (discipline(), prop_oneof![0u64..365, Just(GRID_DAYS)]).prop_map(|((number, discipline), later)| {
        let on = discipline.effective_on + Days::new(later);
        vec![disciplined((number.clone(), discipline)), reinstated(number, on)]
    })
}

/// One command: a fact of any kind but key rotation, weighted towards the
/// credential lifecycle, or a discipline with its reinstatement.
fn command() -> impl Strategy<Value = Vec<Fact>> {
    let fact = prop_oneof![
        1 => peer_id().prop_map(enrolled),
        1 => (peer_id(), name()).prop_map(|(peer_id, new_legal_name)| Fact::NameChanged { peer_id, new_legal_name }),
        1 => training(),
        1 => experience(),
        1 => exam(),
        3 => issue(),
        1 => continuing_education(),
        2 => renewal(),
        3 => discipline().prop_map(disciplined),
        2 => (number(), date()).prop_map(|(number, on)| reinstated(number, on)),
    ];
    prop_oneof![8 => fact.prop_map(|f| vec![f]), 1 => discipline_then_reinstatement()]
}

/// A command sequence: most peers enrolled first (so issues can pass), then
/// 1..120 random commands.
fn commands() -> impl Strategy<Value = Vec<Fact>> {
    let early = subsequence(PEERS.to_vec(), 2..=3).prop_shuffle();
    (early, proptest::collection::vec(command(), 1..120)).prop_map(|(early, rest)| {
        let early = early.into_iter().map(|p| enrolled(p.to_string()));
        early.chain(rest.into_iter().flatten()).collect()
    })
}

// ---------------------------------------------------------------------------
// Building registries.
// ---------------------------------------------------------------------------

/// What the writer did with a command sequence.
struct Run {
    registry: Registry,
    /// The facts `rules::check` let through, at the indices they were given.
    accepted: Vec<(u64, Fact)>,
}

/// Mimics the ledger writer: check each fact against the registry so far and
/// apply the accepted ones at the next dense index.
fn write(commands: &[Fact]) -> Run {
    let profile: crate::domain::history::ProfileHistory = permissive_profile().into();
    let mut registry = Registry::default();
    let mut accepted = Vec::new();
    for fact in commands {
        if rules::check(&registry, &profile, fact, today()).is_ok() {
            let index = registry.size;
            registry.apply(index, fact);
            accepted.push((index, fact.clone()));
        }
    }
    Run { registry, accepted }
}

/// A registry rebuilt from scratch out of recorded (index, fact) pairs.
fn replay<'a>(facts: impl IntoIterator<Item = &'a (u64, Fact)>) -> Registry {
    let mut registry = Registry::default();
    for (index, fact) in facts {
        registry.apply(*index, fact);
    }
    registry
}

/// The day a fact takes effect, or None for those that are true from the
/// moment they are recorded (enrolment, a change of name).
fn effective_on(fact: &Fact) -> Option<NaiveDate> {
    match fact {
        Fact::Enrolled { .. } | Fact::NameChanged { .. } | Fact::SigningKeyRotated { .. } => None,
        Fact::TrainingCompleted { training, .. } => Some(training.completed_on),
        Fact::ExperienceRecorded { experience, .. } => Some(experience.period_end),
        Fact::ExamRecorded { exam, .. } => Some(exam.taken_on),
        Fact::CredentialIssued(issue) => Some(issue.issued_on),
        Fact::ContinuingEducationCompleted { course, .. } => Some(course.completed_on),
        Fact::CredentialRenewed { renewal, .. } => Some(renewal.renewed_on),
        Fact::DisciplinaryAction { discipline, .. } => Some(discipline.effective_on),
        Fact::CredentialReinstated { reinstatement, .. } => Some(reinstatement.effective_on),
        Fact::TransferEvaluated(evaluation) => Some(evaluation.evaluated_on),
        Fact::ConsentRecorded { .. }
        | Fact::DisclosureRecorded { .. }
        | Fact::WaiverRecorded { .. }
        | Fact::EvidenceRecorded { .. }
        | Fact::ImportProvenance { .. }
        | Fact::Sealed
        | Fact::Expunge { .. }
        | Fact::Expunged { .. }
        | Fact::Voided { .. } => None,
    }
}

/// Days on which some credential's status may change: where bugs hide.
fn edges(registry: &Registry) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    for c in registry.credentials.values() {
        days.extend([c.issued_on, c.initial_expires_on]);
        days.extend(c.renewals.iter().flat_map(|r| [r.renewed_on, r.new_expires_on]));
        days.extend(c.discipline.iter().map(|d| d.effective_on));
        days.extend(c.discipline.iter().filter_map(|d| d.ends_on));
        days.extend(c.reinstatements.iter().map(|r| r.effective_on));
    }
    days
}

/// A date to look at: either an edge (± a day) or any day.
#[derive(Clone, Debug)]
enum Probe {
    Edge(Index, i8),
    Any(u64),
}

fn probe() -> impl Strategy<Value = Probe> {
    prop_oneof![
        2 => (any::<Index>(), -1i8..=1).prop_map(|(i, shift)| Probe::Edge(i, shift)),
        1 => (0..DAYS + 400).prop_map(Probe::Any),
    ]
}

fn probe_date(probe: &Probe, edges: &[NaiveDate]) -> NaiveDate {
    match probe {
        Probe::Edge(i, shift) if !edges.is_empty() => {
            let edge = edges[i.index(edges.len())];
            match shift {
                -1 => edge.pred_opt().expect("a day before"),
                1 => edge.succ_opt().expect("a day after"),
                _ => edge,
            }
        }
        Probe::Edge(..) => day(0),
        Probe::Any(offset) => day(*offset),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// However the registry is built from the accepted events, it is the same.
    #[test]
    fn replay_snapshot_and_resume_equal_the_incremental_registry(commands in commands(), split in any::<Index>()) {
        let run = write(&commands);

        // (a) replay from scratch
        prop_assert_eq!(&replay(&run.accepted), &run.registry);

        // (b) through a snapshot
        let root = [0u8; 32];
        let bytes = snapshot::encode(&run.registry, &root).expect("a registry encodes");
        let (decoded, decoded_root) = snapshot::decode(&bytes).expect("its own snapshot decodes");
        prop_assert_eq!(decoded_root, root);
        prop_assert_eq!(&decoded, &run.registry);

        // (c) in two halves, with an O(1) clone taken in between
        let (first, second) = run.accepted.split_at(split.index(run.accepted.len() + 1));
        let mut continued = replay(first);
        let paused = continued.clone();
        for (index, fact) in second {
            continued.apply(*index, fact);
        }
        prop_assert_eq!(&continued, &run.registry);
        prop_assert_eq!(&paused, &replay(first), "continuing a clone changed the original");
        let mut resumed = paused.clone();
        for (index, fact) in second {
            resumed.apply(*index, fact);
        }
        prop_assert_eq!(&resumed, &run.registry);
    }

    /// Status as of `d` depends only on events effective on or before `d`: a
    /// registry of just those events (same indices, same order) agrees.
    #[test]
    fn status_on_a_date_depends_only_on_events_effective_by_then(
        commands in commands(),
        probes in proptest::collection::vec(probe(), 1..12),
    ) {
        let run = write(&commands);
        let edges = edges(&run.registry);
        for probe in &probes {
            let d = probe_date(probe, &edges);
            let known_by_d = run.accepted.iter().filter(|(_, f)| effective_on(f).is_none_or(|on| on <= d));
            let filtered = replay(known_by_d);
            for (number, full) in &run.registry.credentials {
                let seen = filtered.credential(number);
                if d < full.issued_on {
                    prop_assert_eq!(full.status_on(d), Status::NotYetValid, "{} on {}", number, d);
                    prop_assert!(seen.is_none(), "{} is in the registry of {} before its issue", number, d);
                } else {
                    let seen = seen.expect("a credential issued by d is in the registry of d");
                    prop_assert_eq!(full.status_on(d), seen.status_on(d), "{} on {}", number, d);
                }
            }
        }
    }
}

/// The name of a fact's kind, for counting.
fn kind(fact: &Fact) -> String {
    let name = match fact {
        Fact::DisciplinaryAction { discipline, .. } => return format!("DisciplinaryAction::{:?}", discipline.kind),
        Fact::Enrolled { .. } => "Enrolled",
        Fact::NameChanged { .. } => "NameChanged",
        Fact::TrainingCompleted { .. } => "TrainingCompleted",
        Fact::ExperienceRecorded { .. } => "ExperienceRecorded",
        Fact::ExamRecorded { .. } => "ExamRecorded",
        Fact::CredentialIssued(_) => "CredentialIssued",
        Fact::ContinuingEducationCompleted { .. } => "ContinuingEducationCompleted",
        Fact::CredentialRenewed { .. } => "CredentialRenewed",
        Fact::CredentialReinstated { .. } => "CredentialReinstated",
        Fact::SigningKeyRotated { .. } => "SigningKeyRotated",
        Fact::TransferEvaluated(_) => "TransferEvaluated",
        Fact::ConsentRecorded { .. } => "ConsentRecorded",
        Fact::DisclosureRecorded { .. } => "DisclosureRecorded",
        Fact::WaiverRecorded { .. } => "WaiverRecorded",
        Fact::EvidenceRecorded { .. } => "EvidenceRecorded",
        Fact::ImportProvenance { .. } => "ImportProvenance",
        Fact::Sealed => "Sealed",
        Fact::Expunge { .. } => "Expunge",
        Fact::Expunged { .. } => "Expunged",
        Fact::Voided { .. } => "Voided",
    };
    name.to_string()
}

/// The generators are not vacuous: over the same number of cases as the
/// properties, credentials do get issued, renewed, disciplined in every way and
/// reinstated, most sequences issue and discipline something, and every status
/// is reached.
#[test]
fn generated_sequences_exercise_the_whole_lifecycle() {
    assert_eq!(permissive_profile().validate("permissive"), Ok(()));
    let mut runner = TestRunner::deterministic();
    let mut accepted: BTreeMap<String, u64> = BTreeMap::new();
    let mut statuses: BTreeMap<Status, u64> = BTreeMap::new();
    let (mut generated, mut with_discipline) = (0, 0);
    for _ in 0..64 {
        let commands = commands().new_tree(&mut runner).expect("a command sequence").current();
        generated += commands.len();
        let run = write(&commands);
        for (_, fact) in &run.accepted {
            *accepted.entry(kind(fact)).or_default() += 1;
        }
        with_discipline += usize::from(run.registry.credentials.values().any(|c| !c.discipline.is_empty()));
        for credential in run.registry.credentials.values() {
            for offset in (0..DAYS + 400).step_by(30) {
                *statuses.entry(credential.status_on(day(offset))).or_default() += 1;
            }
        }
    }
    eprintln!(
        "{generated} facts generated in 64 sequences, {with_discipline} of which issued and disciplined a credential; \
         accepted by kind: {accepted:#?}\ncredential-days by status (every 30th day): {statuses:#?}"
    );
    assert!(
        with_discipline >= 48,
        "only {with_discipline} of 64 sequences disciplined a credential"
    );
    let expected_kinds = [
        "Enrolled",
        "NameChanged",
        "TrainingCompleted",
        "ExperienceRecorded",
        "ExamRecorded",
        "CredentialIssued",
        "ContinuingEducationCompleted",
        "CredentialRenewed",
        "CredentialReinstated",
    ];
    let discipline_kinds = DISCIPLINE_KINDS.map(|k| format!("DisciplinaryAction::{k:?}"));
    for name in expected_kinds.iter().map(|k| k.to_string()).chain(discipline_kinds) {
        let count = accepted.get(&name).copied().unwrap_or(0);
        assert!(count >= 10, "only {count} accepted {name} facts in 64 sequences");
    }
    let all = [
        Status::NotYetValid,
        Status::Active,
        Status::Probation,
        Status::Restricted,
        Status::Expired,
        Status::Suspended,
        Status::Surrendered,
        Status::Revoked,
    ];
    for status in all {
        assert!(statuses.contains_key(&status), "no credential was ever {status:?}");
    }
}

// ---------------------------------------------------------------------------
// The precedence table.
// ---------------------------------------------------------------------------

/// One event in a hand-written credential history, in recording order.
#[derive(Clone, Copy)]
enum Event {
    /// A discipline: kind, effective on, ends on.
    Disc(DisciplineKind, &'static str, Option<&'static str>),
    /// A reinstatement effective on.
    Reinstate(&'static str),
    /// A renewal: recorded on, new expiry.
    Renew(&'static str, &'static str),
}

fn date_of(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a YYYY-MM-DD date in the table")
}

/// A credential issued 2024-01-01, expiring 2025-12-31, with `history`
/// recorded after its issue at indices 1, 2, ...
fn credential_with(history: &[Event]) -> Credential {
    let mut credential = Credential {
        number: "C0".to_string(),
        peer_id: "P0".to_string(),
        credential_type: CredentialType::PeerSupportSpecialist,
        issued_on: ymd(2024, 1, 1),
        initial_expires_on: ymd(2025, 12, 31),
        reciprocity: None,
        imported: None,
        renewals: Vec::new(),
        discipline: Vec::new(),
        reinstatements: Vec::new(),
        events: vec![0],
    };
    for (index, event) in (1u64..).zip(history) {
        match *event {
            Event::Disc(kind, from, until) => credential.discipline.push(Discipline {
                index,
                kind,
                effective_on: date_of(from),
                ends_on: until.map(date_of),
                public_summary: "Board order".to_string(),
            }),
            Event::Reinstate(on) => credential.reinstatements.push(Reinstatement {
                index,
                effective_on: date_of(on),
                public_summary: "Conditions met".to_string(),
            }),
            Event::Renew(on, expires) => credential.renewals.push(Renewal {
                index,
                renewed_on: date_of(on),
                new_expires_on: date_of(expires),
                imported: false,
            }),
        }
        credential.events.push(index);
    }
    credential
}

/// Status precedence, highest first: revoked > surrendered > suspended >
/// expired > probation > restricted > active; not yet valid before issue.
#[test]
fn status_precedence_reads_like_the_spec() {
    use DisciplineKind as K;
    use Event::{Disc, Reinstate, Renew};
    use Status::*;
    const FOREVER: Option<&str> = None;
    // Each row: what is being shown, the history after issue (in recording order), the date, the status.
    #[rustfmt::skip]
    let table: &[(&str, &[Event], &str, Status)] = &[
        ("before issue it is not yet valid", &[], "2023-12-31", NotYetValid),
        ("on its issue day it is active", &[], "2024-01-01", Active),
        ("on its expiry day it is still active", &[], "2025-12-31", Active),
        ("the day after expiry it is expired", &[], "2026-01-01", Expired),
        ("a reprimand alone leaves it active",
            &[Disc(K::Reprimand, "2024-02-01", FOREVER)], "2024-06-01", Active),
        ("a restriction makes it restricted",
            &[Disc(K::Restriction, "2024-02-01", FOREVER)], "2024-06-01", Restricted),
        ("a discipline is not in force before its effective day",
            &[Disc(K::Restriction, "2024-02-01", FOREVER)], "2024-01-31", Active),
        ("a discipline is in force on its effective day",
            &[Disc(K::Restriction, "2024-02-01", FOREVER)], "2024-02-01", Restricted),
        ("probation beats restriction",
            &[Disc(K::Restriction, "2024-02-01", FOREVER), Disc(K::Probation, "2024-03-01", FOREVER)], "2024-06-01", Probation),
        ("expired beats probation",
            &[Disc(K::Probation, "2024-03-01", FOREVER)], "2026-02-01", Expired),
        ("suspension beats expired",
            &[Disc(K::Suspension, "2025-06-01", FOREVER)], "2026-02-01", Suspended),
        ("suspension beats probation",
            &[Disc(K::Probation, "2024-03-01", FOREVER), Disc(K::Suspension, "2024-04-01", FOREVER)], "2024-06-01", Suspended),
        ("revocation beats suspension",
            &[Disc(K::Suspension, "2024-03-01", FOREVER), Disc(K::Revocation, "2024-04-01", FOREVER)], "2024-06-01", Revoked),
        ("revocation beats expired",
            &[Disc(K::Revocation, "2024-04-01", FOREVER)], "2029-01-01", Revoked),
        ("revocation beats surrender",
            &[Disc(K::VoluntarySurrender, "2024-03-01", FOREVER), Disc(K::Revocation, "2024-04-01", FOREVER)], "2024-06-01", Revoked),
        ("surrender beats suspension",
            &[Disc(K::Suspension, "2024-03-01", FOREVER), Disc(K::VoluntarySurrender, "2024-04-01", FOREVER)], "2024-06-01", Surrendered),
        ("a suspension with an end is in force the day before it",
            &[Disc(K::Suspension, "2024-03-01", Some("2024-04-01"))], "2024-03-31", Suspended),
        ("a suspension with an end stops on that day",
            &[Disc(K::Suspension, "2024-03-01", Some("2024-04-01"))], "2024-04-01", Active),
        ("a probation with an end stops on that day",
            &[Disc(K::Probation, "2024-03-01", Some("2024-04-01"))], "2024-04-01", Active),
        ("a restriction with an end stops on that day",
            &[Disc(K::Restriction, "2024-03-01", Some("2024-04-01"))], "2024-04-01", Active),
        ("when a suspension ends, the probation under it shows",
            &[Disc(K::Probation, "2024-02-01", FOREVER), Disc(K::Suspension, "2024-03-01", Some("2024-04-01"))], "2024-04-01", Probation),
        ("a suspension is in force the day before its reinstatement",
            &[Disc(K::Suspension, "2024-03-01", FOREVER), Reinstate("2024-05-01")], "2024-04-30", Suspended),
        ("a reinstatement lifts a suspension from its day",
            &[Disc(K::Suspension, "2024-03-01", FOREVER), Reinstate("2024-05-01")], "2024-05-01", Active),
        ("a reinstatement lifts a probation",
            &[Disc(K::Probation, "2024-03-01", FOREVER), Reinstate("2024-05-01")], "2024-06-01", Active),
        ("a reinstatement lifts a restriction",
            &[Disc(K::Restriction, "2024-03-01", FOREVER), Reinstate("2024-05-01")], "2024-06-01", Active),
        ("a reinstatement lifts a suspension and a probation together",
            &[Disc(K::Probation, "2024-02-01", FOREVER), Disc(K::Suspension, "2024-03-01", FOREVER), Reinstate("2024-05-01")], "2024-06-01", Active),
        ("a reinstatement does not lift a revocation",
            &[Disc(K::Revocation, "2024-03-01", FOREVER), Reinstate("2024-05-01")], "2024-06-01", Revoked),
        ("a reinstatement does not lift a surrender",
            &[Disc(K::VoluntarySurrender, "2024-03-01", FOREVER), Reinstate("2024-05-01")], "2024-06-01", Surrendered),
        ("a reinstatement does not lift expiry",
            &[Disc(K::Suspension, "2025-06-01", FOREVER), Reinstate("2025-07-01")], "2026-02-01", Expired),
        ("a reinstatement lifts the suspension, not a revocation after it",
            &[Disc(K::Suspension, "2024-03-01", FOREVER), Reinstate("2024-04-01"), Disc(K::Revocation, "2024-05-01", FOREVER)], "2024-06-01", Revoked),
        ("a reinstatement effective before a discipline does not lift it",
            &[Disc(K::Suspension, "2024-06-01", FOREVER), Reinstate("2024-05-01")], "2024-07-01", Suspended),
        ("a reinstatement lifts only discipline recorded before it",
            &[Reinstate("2024-05-01"), Disc(K::Suspension, "2024-04-01", FOREVER)], "2024-06-01", Suspended),
        ("discipline after a reinstatement is in force again",
            &[Disc(K::Suspension, "2024-03-01", FOREVER), Reinstate("2024-04-01"), Disc(K::Suspension, "2024-05-01", FOREVER)], "2024-06-01", Suspended),
        ("a renewal recorded by the date extends the expiry",
            &[Renew("2025-11-01", "2027-12-31")], "2026-06-01", Active),
        ("a renewal recorded after the date does not",
            &[Renew("2026-03-01", "2027-12-31")], "2026-02-01", Expired),
        ("a late renewal makes it active again from its day",
            &[Renew("2026-03-01", "2027-12-31")], "2026-03-01", Active),
        ("probation shows again once a renewal lifts expiry",
            &[Disc(K::Probation, "2025-06-01", FOREVER), Renew("2026-03-01", "2027-12-31")], "2026-06-01", Probation),
    ];
    for (what, history, on, expected) in table {
        let status = credential_with(history).status_on(date_of(on));
        assert_eq!(status, *expected, "{what} (on {on})");
    }
}
