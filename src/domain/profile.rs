//! Requirement profiles: what one state demands to certify a peer, to renew a
//! credential, and to accept a transfer from another state (DESIGN.md §3).
//!
//! Profiles are data, not code: every state's numbers differ, and boards change
//! them by rule-making, not by software release. A mistyped profile would quietly
//! approve or deny real people, so a profile is checked as a whole when it is
//! loaded and refused with the dotted path of the first bad field; it is never
//! half-applied.
//!
//! The shipped examples in `profiles/` are labelled (`example = true`): their
//! numbers follow public reference points (domain.md), but they are not any
//! board's adopted rules.
//!
//! Pure: `config::read_profile` reads a profile file.

use std::collections::{BTreeMap, HashSet};
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::domain::states::parse_state;
use crate::domain::vocabulary::{format_hours, hours_to_minutes, CE_TOPICS, COMPETENCY_DOMAINS, EVIDENCE_REQUIREMENTS};

/// The most hours any one profile value may ask for. Real requirements are in
/// the tens or hundreds, so a value past this is a typo, not a policy.
pub const MAX_HOURS: f64 = 10_000.0;

/// The partner entry that means "any state".
pub const ANY_STATE: &str = "*";

/// How long a credential or a renewal period may last, in years.
const VALIDITY_YEARS: RangeInclusive<u32> = 1..=10;
/// How far back experience may have ended and still count, in years.
const EXPERIENCE_LOOKBACK_YEARS: RangeInclusive<u32> = 1..=20;
/// How many reference forms a profile may ask for.
const REFERENCES_MAX: u32 = 10;
/// How far back discipline is looked for on a transfer (0: only current), in years.
const DISCIPLINE_LOOKBACK_YEARS: RangeInclusive<u32> = 0..=20;

/// The CE topics the 2024 four-state study's peers asked for most, in its order.
pub const STUDY_CE_TOPICS: [&str; 6] = [
    "trauma_informed_care",
    "motivational_interviewing",
    "recovery_pathways",
    "ethics",
    "harm_reduction",
    "suicide_prevention",
];

/// The state the model-standards default and its example file are written for.
const MODEL_STANDARDS_STATE: &str = "TN";

/// The shipped examples, embedded so that a node needs no files to start.
const SHIPPED_EXAMPLES: [(&str, &str); 7] = [
    (
        "mississippi.example.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/profiles/mississippi.example.toml"
        )),
    ),
    (
        "icrc-peer-recovery.example.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/profiles/icrc-peer-recovery.example.toml"
        )),
    ),
    (
        "samhsa-model.example.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/profiles/samhsa-model.example.toml"
        )),
    ),
    (
        "virginia.example.toml",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/virginia.example.toml")),
    ),
    (
        "north-carolina.example.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/profiles/north-carolina.example.toml"
        )),
    ),
    (
        "kentucky.example.toml",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/kentucky.example.toml")),
    ),
    (
        "pennsylvania.example.toml",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/profiles/pennsylvania.example.toml"
        )),
    ),
];

/// What one state demands: to certify, to renew, and to accept a transfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequirementProfile {
    /// The state this profile belongs to, e.g. "MS" (must pass `states::parse_state`; store it normalised upper-case).
    pub state: String,
    /// A human name, e.g. "Mississippi DMH Certified Peer Support Specialist (example)".
    pub name: String,
    /// True for the shipped examples: they are not any board's adopted rules.
    #[serde(default)]
    pub example: bool,
    pub initial: InitialRequirements,
    pub renewal: RenewalRequirements,
    pub reciprocity: ReciprocityRequirements,
}

/// What a peer must show before a first credential is issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitialRequirements {
    pub training_hours_total: f64,
    /// Minimum hours per competency domain (keys: `vocabulary::COMPETENCY_DOMAINS` ids),
    /// part of the total, not on top of it. Optional: a state whose rules state
    /// no split (Mississippi's toolkit) leaves it out rather than invent one.
    #[serde(default)]
    pub training_hours_by_domain: BTreeMap<String, f64>,
    pub exam_required: bool,
    /// Minimum exam score in percent (0..=100); ignored when no exam is required.
    pub exam_pass_mark_percent: u32,
    /// Paid + volunteer + supervised hours within the look-back window.
    #[serde(default)]
    pub experience_hours: f64,
    /// Of which supervised (counted separately too).
    #[serde(default)]
    pub supervised_hours: f64,
    /// Experience counts only if its period ended within this many years before issue. Default 3.
    #[serde(default = "default_lookback")]
    pub experience_lookback_years: u32,
    #[serde(default = "yes")]
    pub eligibility_attestation_required: bool,
    #[serde(default = "yes")]
    pub ethics_code_required: bool,
    /// How long an initial credential is valid, in years (1..=10): an issue or
    /// a renewal may not set an expiry later than its date plus this.
    pub credential_valid_years: u32,
    /// Requirements the board records evidence for before an issue (ids of
    /// `vocabulary::EVIDENCE_REQUIREMENTS` other than "reference"). With
    /// "pre_training" the pre-training must precede the classroom training;
    /// with "application" experience counts only if gained before applying.
    #[serde(default)]
    pub evidence_required: Vec<String>,
    /// How many reference forms (evidence "reference", one record each) an issue needs.
    #[serde(default)]
    pub references_required: u32,
    /// Whether one year of college or educational experience (evidence
    /// "college_year") within the look-back window stands in for the experience hours.
    #[serde(default)]
    pub college_year_substitutes_experience: bool,
}

/// What keeps a credential active from one period to the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalRequirements {
    /// Renewal period in years (1..=10).
    pub period_years: u32,
    /// CE hours required per period.
    pub ce_hours: f64,
    /// Of which, per topic (keys: vocabulary::CE_TOPICS ids).
    #[serde(default)]
    pub ce_hours_by_topic: BTreeMap<String, f64>,
    /// Topics the board recommends for CE (vocabulary::CE_TOPICS ids): advice
    /// shown to peers, not a requirement a renewal is refused for.
    #[serde(default)]
    pub recommended_ce_topics: Vec<String>,
}

/// What this state asks of a peer certified elsewhere, beyond the initial requirements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReciprocityRequirements {
    /// State codes this board accepts transfers from; ["*"] means any state.
    pub partners: Vec<String>,
    /// No discipline (other than a reprimand) in this many years before the evaluation.
    pub discipline_lookback_years: u32,
    /// Whether a passed exam in the origin state satisfies this state's exam.
    pub accept_origin_exam: bool,
    /// State-specific requirements a transferring peer must still meet (e.g. a jurisprudence module).
    #[serde(default)]
    pub extra: Vec<ExtraRequirement>,
    /// How transfers are judged when `policies` names no policy for the origin
    /// state. Default `full_comparison` (a profile written before policies existed
    /// keeps its meaning).
    #[serde(default)]
    pub policy: ReciprocityPolicy,
    /// A policy per partner state, overriding `policy` (keys: state codes).
    #[serde(default)]
    pub policies: BTreeMap<String, ReciprocityPolicy>,
    /// Under `substantial_equivalence`: how far below this state's total training
    /// hours an origin's total may fall, in percent (0..=50). Default 0.
    #[serde(default)]
    pub hours_tolerance_percent: u32,
    /// An approval supports a grant for this many days after its application
    /// date (1..=3650). Default 180.
    #[serde(default = "default_evaluation_valid_days")]
    pub evaluation_valid_days: u32,
}

/// How a receiving state judges a credential from a partner state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReciprocityPolicy {
    /// A credential in good standing is accepted as it is: only standing, the
    /// discipline look-back and this state's extra requirements are checked
    /// (no re-test of training, exam or CE), as IC&RC reciprocity does.
    AcceptCredentialInGoodStanding,
    /// The origin's total training hours must be within
    /// `hours_tolerance_percent` of this state's total (no per-domain split);
    /// exam, CE and extra requirements are checked.
    SubstantialEquivalence,
    /// Every initial training requirement (total and per domain), the exam, CE
    /// and extra requirements are checked.
    #[default]
    FullComparison,
}

impl ReciprocityPolicy {
    /// The name profiles and answers use, e.g. "full_comparison".
    pub fn as_str(self) -> &'static str {
        match self {
            ReciprocityPolicy::AcceptCredentialInGoodStanding => "accept_credential_in_good_standing",
            ReciprocityPolicy::SubstantialEquivalence => "substantial_equivalence",
            ReciprocityPolicy::FullComparison => "full_comparison",
        }
    }
}

impl ReciprocityRequirements {
    /// The policy for transfers from `origin` (a normalised state code).
    pub fn policy_for(&self, origin: &str) -> ReciprocityPolicy {
        self.policies.get(origin).copied().unwrap_or(self.policy)
    }
}

/// One state-specific course a transferring peer must complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraRequirement {
    /// A short id, e.g. "tn_orientation".
    pub id: String,
    /// Shown to the peer and the board as what remains to be done.
    pub description: String,
    /// Satisfied by a completed training whose course_id equals this.
    pub course_id: String,
}

/// Why a profile was refused. Both variants name the source, so an operator with
/// several profile files knows which one to open.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProfileError {
    /// The file could not be read, is not TOML, has a value of the wrong type or
    /// a field this code does not know (a misspelt key must not be ignored).
    #[error("profile {source_name}: {message}")]
    Unreadable { source_name: String, message: String },
    /// The TOML is well-formed but a value is out of bounds; `field` is a dotted
    /// path such as `initial.training_hours_by_domain.advocacy`.
    #[error("profile {source_name}: field `{field}` {reason}")]
    Invalid {
        source_name: String,
        field: String,
        reason: String,
    },
}

fn default_lookback() -> u32 {
    3
}

fn default_evaluation_valid_days() -> u32 {
    180
}

/// How far below the receiving total an origin's total may fall under `substantial_equivalence`, in percent.
const HOURS_TOLERANCE_PERCENT: RangeInclusive<u32> = 0..=50;
/// How long an approval may support a grant, in days.
const EVALUATION_VALID_DAYS: RangeInclusive<u32> = 1..=3650;

fn yes() -> bool {
    true
}

impl RequirementProfile {
    /// Parses and validates; `source_name` is a file name or "embedded example" used in messages.
    /// State codes are normalised (`ms` → `MS`) before validation.
    pub fn from_toml(text: &str, source_name: &str) -> Result<RequirementProfile, ProfileError> {
        let mut profile: RequirementProfile = toml::from_str(text).map_err(|e| ProfileError::Unreadable {
            source_name: source_name.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        profile.normalise_state_codes();
        profile.validate(source_name)?;
        Ok(profile)
    }

    /// Checks every value; the first problem found is reported with its field path.
    /// Fields are checked in the order they are declared.
    pub fn validate(&self, source_name: &str) -> Result<(), ProfileError> {
        let check = Check { source_name };
        check.state_code("state", &self.state)?;
        check.not_empty("name", &self.name)?;
        self.initial.validate(&check)?;
        self.renewal.validate(&check)?;
        self.reciprocity.validate(&check, &self.state)
    }

    /// The shipped example profile for a state code if there is one: "MS" -> profiles/mississippi.example.toml; otherwise None.
    pub fn example_for(state: &str) -> Option<RequirementProfile> {
        let state = parse_state(state).ok()?;
        SHIPPED_EXAMPLES
            .iter()
            .filter_map(|(file, text)| RequirementProfile::from_toml(text, file).ok())
            .find(|profile| profile.state == state)
    }

    /// All shipped examples (via include_str!), for tests and `serve` defaults.
    pub fn shipped_examples() -> Vec<(&'static str, &'static str)> {
        SHIPPED_EXAMPLES.to_vec()
    }

    /// The default profile for a state with no shipped example: the SAMHSA-model-standards-style
    /// example with `state` replaced. Its Tennessee-only orientation module is kept only for "TN".
    ///
    /// Built in code rather than parsed, so that a default always exists; a test keeps it
    /// identical to `profiles/samhsa-model.example.toml`. `state` is expected to have passed
    /// `states::parse_state`; anything else yields a profile that fails [`Self::validate`].
    pub fn default_for(state: &str) -> RequirementProfile {
        let state = parse_state(state).unwrap_or_else(|_| state.trim().to_ascii_uppercase());
        // Tennessee's example also shows a state-specific module for transferring
        // peers and the four-state study's arrangement (samhsa-model.example.toml).
        let tennessee = state == MODEL_STANDARDS_STATE;
        let policies = if tennessee {
            let accepted =
                ["KY", "MS", "NC", "VA"].map(|s| (s.to_string(), ReciprocityPolicy::AcceptCredentialInGoodStanding));
            BTreeMap::from(accepted)
        } else {
            BTreeMap::new()
        };
        let extra = if tennessee {
            vec![ExtraRequirement {
                id: "tn_orientation".to_string(),
                description: "Tennessee peer workforce orientation (3 h)".to_string(),
                course_id: "TN-ORIENT".to_string(),
            }]
        } else {
            Vec::new()
        };
        let recommended_ce_topics = if tennessee {
            STUDY_CE_TOPICS.iter().map(|topic| topic.to_string()).collect()
        } else {
            Vec::new()
        };
        RequirementProfile {
            state,
            name: "SAMHSA 2023 National Model Standards-style peer certification (example)".to_string(),
            example: true,
            initial: model_standards_initial(),
            renewal: RenewalRequirements {
                period_years: 2,
                ce_hours: 24.0,
                ce_hours_by_topic: hours_by_key(&[("ethics", 6.0)]),
                recommended_ce_topics,
            },
            reciprocity: ReciprocityRequirements {
                partners: vec![ANY_STATE.to_string()],
                discipline_lookback_years: 2,
                accept_origin_exam: true,
                extra,
                policy: ReciprocityPolicy::FullComparison,
                policies,
                hours_tolerance_percent: 10,
                evaluation_valid_days: 180,
            },
        }
    }

    /// Upper-cases the profile's own code and its partners' (`*` stays as is), so
    /// that rules compare codes with `==`. Codes that are not states are left for
    /// [`Self::validate`] to report.
    fn normalise_state_codes(&mut self) {
        let policies = std::mem::take(&mut self.reciprocity.policies);
        self.reciprocity.policies = policies
            .into_iter()
            .map(|(code, policy)| (parse_state(&code).unwrap_or(code), policy))
            .collect();
        let codes = std::iter::once(&mut self.state).chain(self.reciprocity.partners.iter_mut());
        for code in codes {
            if let Ok(normalised) = parse_state(code) {
                *code = normalised;
            }
        }
    }
}

/// The initial requirements of the SAMHSA 2023 model-standards-style default.
fn model_standards_initial() -> InitialRequirements {
    InitialRequirements {
        training_hours_total: 60.0,
        training_hours_by_domain: hours_by_key(&[
            ("ethical_responsibility", 6.0),
            ("shares_lived_experience", 6.0),
            ("supports_recovery_planning", 6.0),
            ("helps_manage_crises", 6.0),
        ]),
        exam_required: true,
        exam_pass_mark_percent: 75,
        experience_hours: 120.0,
        supervised_hours: 120.0,
        experience_lookback_years: default_lookback(),
        eligibility_attestation_required: true,
        ethics_code_required: true,
        credential_valid_years: 2,
        evidence_required: Vec::new(),
        references_required: 0,
        college_year_substitutes_experience: false,
    }
}

fn hours_by_key(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(key, hours)| (key.to_string(), *hours)).collect()
}

impl InitialRequirements {
    fn validate(&self, check: &Check) -> Result<(), ProfileError> {
        check.hours("initial.training_hours_total", self.training_hours_total)?;
        let by_domain = check.hours_by_key(
            "initial.training_hours_by_domain",
            &self.training_hours_by_domain,
            &COMPETENCY_DOMAINS,
            "competency domain",
        )?;
        check.part_within_whole(
            ("initial.training_hours_by_domain", by_domain),
            ("initial.training_hours_total", self.training_hours_total),
            "lower the per-domain hours or raise the total",
        )?;
        self.validate_exam(check)?;
        check.hours("initial.experience_hours", self.experience_hours)?;
        check.hours("initial.supervised_hours", self.supervised_hours)?;
        check.part_within_whole(
            ("initial.supervised_hours", minutes(self.supervised_hours)),
            ("initial.experience_hours", self.experience_hours),
            "supervised hours are part of the experience hours",
        )?;
        let lookback = self.experience_lookback_years;
        check.years("initial.experience_lookback_years", lookback, EXPERIENCE_LOOKBACK_YEARS)?;
        check.years(
            "initial.credential_valid_years",
            self.credential_valid_years,
            VALIDITY_YEARS,
        )?;
        self.validate_evidence(check)
    }

    fn validate_evidence(&self, check: &Check) -> Result<(), ProfileError> {
        for (i, id) in self.evidence_required.iter().enumerate() {
            let field = format!("initial.evidence_required[{i}]");
            if id == "reference" {
                return Err(check.invalid(field, "is \"reference\": set initial.references_required instead"));
            }
            check.known_id(&field, id, &EVIDENCE_REQUIREMENTS, "requirement")?;
            if self.evidence_required[..i].contains(id) {
                return Err(check.invalid(field, format!("lists {id:?} a second time")));
            }
        }
        let references = self.references_required;
        if references > REFERENCES_MAX {
            let reason = format!("must be between 0 and {REFERENCES_MAX}, got {references}");
            return Err(check.invalid("initial.references_required", reason));
        }
        Ok(())
    }

    fn validate_exam(&self, check: &Check) -> Result<(), ProfileError> {
        let field = "initial.exam_pass_mark_percent";
        let mark = self.exam_pass_mark_percent;
        if mark > 100 {
            return Err(check.invalid(field, format!("must be a percentage between 0 and 100, got {mark}")));
        }
        if self.exam_required && mark == 0 {
            return Err(check.invalid(
                field,
                "must be at least 1 when exam_required is true, got 0 (set exam_required = false if there is no exam)",
            ));
        }
        Ok(())
    }
}

impl RenewalRequirements {
    fn validate(&self, check: &Check) -> Result<(), ProfileError> {
        check.years("renewal.period_years", self.period_years, VALIDITY_YEARS)?;
        check.hours("renewal.ce_hours", self.ce_hours)?;
        let by_topic = check.hours_by_key(
            "renewal.ce_hours_by_topic",
            &self.ce_hours_by_topic,
            &CE_TOPICS,
            "continuing-education topic",
        )?;
        check.part_within_whole(
            ("renewal.ce_hours_by_topic", by_topic),
            ("renewal.ce_hours", self.ce_hours),
            "lower the per-topic hours or raise the total",
        )?;
        for (i, topic) in self.recommended_ce_topics.iter().enumerate() {
            let field = format!("renewal.recommended_ce_topics[{i}]");
            check.known_id(&field, topic, &CE_TOPICS, "continuing-education topic")?;
        }
        Ok(())
    }
}

impl ReciprocityRequirements {
    fn validate(&self, check: &Check, own_state: &str) -> Result<(), ProfileError> {
        self.validate_partners(check, own_state)?;
        let lookback = self.discipline_lookback_years;
        check.years(
            "reciprocity.discipline_lookback_years",
            lookback,
            DISCIPLINE_LOOKBACK_YEARS,
        )?;
        self.validate_policies(check, own_state)?;
        self.validate_extra(check)
    }

    fn validate_policies(&self, check: &Check, own_state: &str) -> Result<(), ProfileError> {
        for code in self.policies.keys() {
            let field = format!("reciprocity.policies.{code}");
            check.state_code(&field, code)?;
            if code == own_state {
                return Err(check.invalid(field, format!("is this profile's own state {own_state}")));
            }
        }
        let tolerance = self.hours_tolerance_percent;
        if !HOURS_TOLERANCE_PERCENT.contains(&tolerance) {
            let (low, high) = (HOURS_TOLERANCE_PERCENT.start(), HOURS_TOLERANCE_PERCENT.end());
            let reason = format!("must be between {low} and {high} percent, got {tolerance}");
            return Err(check.invalid("reciprocity.hours_tolerance_percent", reason));
        }
        let days = self.evaluation_valid_days;
        if !EVALUATION_VALID_DAYS.contains(&days) {
            let (low, high) = (EVALUATION_VALID_DAYS.start(), EVALUATION_VALID_DAYS.end());
            let reason = format!("must be between {low} and {high} days, got {days}");
            return Err(check.invalid("reciprocity.evaluation_valid_days", reason));
        }
        Ok(())
    }

    fn validate_partners(&self, check: &Check, own_state: &str) -> Result<(), ProfileError> {
        let mut seen = HashSet::new();
        for (i, partner) in self.partners.iter().enumerate() {
            let field = format!("reciprocity.partners[{i}]");
            if partner == ANY_STATE {
                if self.partners.len() > 1 {
                    let reason = "is \"*\", which already means any state, so it must be the only entry";
                    return Err(check.invalid(field, reason));
                }
                continue;
            }
            check.state_code(&field, partner)?;
            if partner == own_state {
                let reason =
                    format!("is this profile's own state {own_state}; list only the states transfers come from");
                return Err(check.invalid(field, reason));
            }
            if !seen.insert(partner) {
                return Err(check.invalid(field, format!("lists {partner} a second time")));
            }
        }
        Ok(())
    }

    fn validate_extra(&self, check: &Check) -> Result<(), ProfileError> {
        for (i, extra) in self.extra.iter().enumerate() {
            let field = |name: &str| format!("reciprocity.extra[{i}].{name}");
            check.not_empty(&field("id"), &extra.id)?;
            check.not_empty(&field("description"), &extra.description)?;
            check.not_empty(&field("course_id"), &extra.course_id)?;
            if let Some(first) = self.extra[..i].iter().position(|earlier| earlier.id == extra.id) {
                let reason = format!(
                    "repeats the id {:?} of reciprocity.extra[{first}]; ids must be unique",
                    extra.id
                );
                return Err(check.invalid(field("id"), reason));
            }
        }
        Ok(())
    }
}

/// Whole minutes of a validated hours value, the unit rules compare in (so that
/// 0.1 + 0.2 hours is not "more than" 0.3).
fn minutes(hours: f64) -> u64 {
    u64::from(hours_to_minutes(hours))
}

/// The checks every section shares, and the error they build.
struct Check<'a> {
    source_name: &'a str,
}

impl Check<'_> {
    fn invalid(&self, field: impl Into<String>, reason: impl Into<String>) -> ProfileError {
        ProfileError::Invalid {
            source_name: self.source_name.to_string(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn hours(&self, field: &str, hours: f64) -> Result<(), ProfileError> {
        if !hours.is_finite() {
            return Err(self.invalid(field, format!("must be a finite number of hours, got {hours}")));
        }
        if !(0.0..=MAX_HOURS).contains(&hours) {
            return Err(self.invalid(field, format!("must be between 0 and {MAX_HOURS} hours, got {hours}")));
        }
        Ok(())
    }

    /// Checks each key against `known` (a vocabulary table) and each value as
    /// hours; returns the sum in minutes.
    fn hours_by_key(
        &self,
        field: &str,
        values: &BTreeMap<String, f64>,
        known: &[(&str, &str)],
        kind: &str,
    ) -> Result<u64, ProfileError> {
        let mut sum = 0;
        for (key, hours) in values {
            let field = format!("{field}.{key}");
            self.known_id(&field, key, known, kind)?;
            self.hours(&field, *hours)?;
            sum += minutes(*hours);
        }
        Ok(sum)
    }

    /// Refuses an id that is not in `known` (a vocabulary table), listing the known ones.
    fn known_id(&self, field: &str, id: &str, known: &[(&str, &str)], kind: &str) -> Result<(), ProfileError> {
        if known.iter().any(|(known_id, _)| *known_id == id) {
            return Ok(());
        }
        let ids: Vec<&str> = known.iter().map(|(id, _)| *id).collect();
        let reason = format!("is not a known {kind}; known ids: {}", ids.join(", "));
        Err(self.invalid(field, reason))
    }

    /// Refuses a part (in minutes) larger than the whole it belongs to (in hours).
    fn part_within_whole(
        &self,
        (part_field, part): (&str, u64),
        (whole_field, whole_hours): (&str, f64),
        remedy: &str,
    ) -> Result<(), ProfileError> {
        let whole = minutes(whole_hours);
        if part <= whole {
            return Ok(());
        }
        let reason = format!(
            "comes to {}, more than {whole_field} ({}): {remedy}",
            format_hours(part),
            format_hours(whole)
        );
        Err(self.invalid(part_field, reason))
    }

    fn years(&self, field: &str, years: u32, range: RangeInclusive<u32>) -> Result<(), ProfileError> {
        if range.contains(&years) {
            return Ok(());
        }
        let (low, high) = (range.start(), range.end());
        Err(self.invalid(field, format!("must be between {low} and {high} years, got {years}")))
    }

    fn not_empty(&self, field: &str, value: &str) -> Result<(), ProfileError> {
        if value.trim().is_empty() {
            return Err(self.invalid(field, "must not be empty"));
        }
        Ok(())
    }

    /// A state code in its normalised form, as [`RequirementProfile::from_toml`] stores it.
    fn state_code(&self, field: &str, code: &str) -> Result<(), ProfileError> {
        match parse_state(code) {
            Ok(normalised) if normalised == code => Ok(()),
            Ok(normalised) => Err(self.invalid(field, format!("must be written {normalised:?}, got {code:?}"))),
            Err(e) => Err(self.invalid(field, format!("must be a state code: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MISSISSIPPI: &str = SHIPPED_EXAMPLES[0].1;
    const SOURCE: &str = "mississippi.example.toml";

    /// What a broken profile must produce.
    enum Refusal {
        /// `ProfileError::Invalid` naming this dotted field path.
        Field(&'static str),
        /// `ProfileError::Unreadable` whose message mentions this text.
        Unreadable(&'static str),
    }
    use Refusal::{Field, Unreadable};

    /// The Mississippi example with every `(from, to)` replacement applied; each
    /// `from` must occur exactly once, so a changed example cannot make a case
    /// silently test nothing.
    fn mississippi_with(edits: &[(&str, &str)]) -> String {
        example_with(MISSISSIPPI, edits)
    }

    /// The IC&RC example (which has a per-domain split) with the edits applied.
    fn icrc_with(edits: &[(&str, &str)]) -> String {
        example_with(SHIPPED_EXAMPLES[1].1, edits)
    }

    fn example_with(base: &str, edits: &[(&str, &str)]) -> String {
        edits.iter().fold(base.to_string(), |text, (from, to)| {
            assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once in the example");
            text.replacen(from, to, 1)
        })
    }

    fn parsed(text: &str) -> RequirementProfile {
        RequirementProfile::from_toml(text, SOURCE).unwrap_or_else(|e| panic!("{e}"))
    }

    const TWO_EXTRAS_WITH_ONE_ID: &str = "accept_origin_exam = true
[[reciprocity.extra]]
id = \"ms_orientation\"
description = \"Mississippi orientation\"
course_id = \"MS-ORIENT\"
[[reciprocity.extra]]
id = \"ms_orientation\"
description = \"Mississippi orientation, again\"
course_id = \"MS-ORIENT-2\"";

    const EXTRA_WITHOUT_COURSE: &str = "accept_origin_exam = true
[[reciprocity.extra]]
id = \"ms_orientation\"
description = \"Mississippi orientation\"
course_id = \"\"";

    /// Each broken profile and how it must be refused.
    fn broken_profiles() -> Vec<(&'static str, String, Refusal)> {
        let case = |what, edits: &[(&str, &str)], refusal| (what, mississippi_with(edits), refusal);
        let icrc = |what, edits: &[(&str, &str)], refusal| (what, icrc_with(edits), refusal);
        vec![
            case(
                "negative training hours",
                &[("training_hours_total = 32", "training_hours_total = -5")],
                Field("initial.training_hours_total"),
            ),
            case(
                "more hours than any requirement could need",
                &[("experience_hours = 250", "experience_hours = 10001")],
                Field("initial.experience_hours"),
            ),
            case(
                "NaN hours",
                &[("experience_hours = 250", "experience_hours = nan")],
                Field("initial.experience_hours"),
            ),
            case(
                "infinite CE hours",
                &[("ce_hours = 20", "ce_hours = inf")],
                Field("renewal.ce_hours"),
            ),
            case(
                "a pass mark over 100%",
                &[("exam_pass_mark_percent = 75", "exam_pass_mark_percent = 101")],
                Field("initial.exam_pass_mark_percent"),
            ),
            case(
                "a pass mark of 0 for a required exam",
                &[("exam_pass_mark_percent = 75", "exam_pass_mark_percent = 0")],
                Field("initial.exam_pass_mark_percent"),
            ),
            icrc(
                "an unknown competency domain",
                &[("ethical_responsibility = 16", "telepathy = 16")],
                Field("initial.training_hours_by_domain.telepathy"),
            ),
            icrc(
                "negative hours in a domain",
                &[("advocacy = 10", "advocacy = -2")],
                Field("initial.training_hours_by_domain.advocacy"),
            ),
            icrc(
                "domains adding up to more than the total",
                &[("training_hours_total = 46", "training_hours_total = 20")],
                Field("initial.training_hours_by_domain"),
            ),
            case(
                "an unknown evidence requirement",
                &[("\"residency\", ", "\"horoscope\", ")],
                Field("initial.evidence_required[2]"),
            ),
            case(
                "references listed as evidence rather than counted",
                &[("\"residency\", ", "\"reference\", ")],
                Field("initial.evidence_required[2]"),
            ),
            case(
                "the same evidence twice",
                &[("\"residency\", ", "\"education\", ")],
                Field("initial.evidence_required[2]"),
            ),
            case(
                "eleven reference forms",
                &[("references_required = 2", "references_required = 11")],
                Field("initial.references_required"),
            ),
            case(
                "an unknown recommended CE topic",
                &[(
                    "ce_hours = 20",
                    "ce_hours = 20\nrecommended_ce_topics = [\"ethics\", \"astrology\"]",
                )],
                Field("renewal.recommended_ce_topics[1]"),
            ),
            case(
                "more supervised than experience hours",
                &[("supervised_hours = 0", "supervised_hours = 300")],
                Field("initial.supervised_hours"),
            ),
            case(
                "experience look-back of 0 years",
                &[("experience_lookback_years = 3", "experience_lookback_years = 0")],
                Field("initial.experience_lookback_years"),
            ),
            case(
                "a credential valid for 11 years",
                &[("credential_valid_years = 2", "credential_valid_years = 11")],
                Field("initial.credential_valid_years"),
            ),
            case(
                "a renewal period of 0 years",
                &[("period_years = 2", "period_years = 0")],
                Field("renewal.period_years"),
            ),
            case(
                "an unknown CE topic",
                &[("ethics = 6", "astrology = 6")],
                Field("renewal.ce_hours_by_topic.astrology"),
            ),
            case(
                "CE topics adding up to more than the CE hours",
                &[("ethics = 6", "ethics = 21")],
                Field("renewal.ce_hours_by_topic"),
            ),
            case(
                "a state that does not exist",
                &[("state = \"MS\"", "state = \"XX\"")],
                Field("state"),
            ),
            case(
                "an empty name",
                &[("name = \"Mississippi DMH", "name = \" \" #")],
                Field("name"),
            ),
            case(
                "a partner that is not a state code",
                &[("partners = [\"*\"]", "partners = [\"ZZ\"]")],
                Field("reciprocity.partners[0]"),
            ),
            case(
                "its own state as a partner",
                &[("partners = [\"*\"]", "partners = [\"TN\", \"ms\"]")],
                Field("reciprocity.partners[1]"),
            ),
            case(
                "\"*\" next to named partners",
                &[("partners = [\"*\"]", "partners = [\"TN\", \"*\"]")],
                Field("reciprocity.partners[1]"),
            ),
            case(
                "the same partner twice",
                &[("partners = [\"*\"]", "partners = [\"TN\", \"tn\"]")],
                Field("reciprocity.partners[1]"),
            ),
            case(
                "a discipline look-back of 21 years",
                &[("discipline_lookback_years = 2", "discipline_lookback_years = 21")],
                Field("reciprocity.discipline_lookback_years"),
            ),
            case(
                "two extra requirements with one id",
                &[("accept_origin_exam = true", TWO_EXTRAS_WITH_ONE_ID)],
                Field("reciprocity.extra[1].id"),
            ),
            case(
                "an extra requirement with no course",
                &[("accept_origin_exam = true", EXTRA_WITHOUT_COURSE)],
                Field("reciprocity.extra[0].course_id"),
            ),
            case(
                "an unknown reciprocity policy",
                &[(
                    "accept_origin_exam = true",
                    "accept_origin_exam = true\npolicy = \"trust_everyone\"",
                )],
                Unreadable("trust_everyone"),
            ),
            case(
                "a policy for a code that is no state",
                &[(
                    "accept_origin_exam = true",
                    "accept_origin_exam = true\npolicies = { XX = \"full_comparison\" }",
                )],
                Field("reciprocity.policies.XX"),
            ),
            case(
                "a policy for the profile's own state",
                &[(
                    "accept_origin_exam = true",
                    "accept_origin_exam = true\npolicies = { ms = \"substantial_equivalence\" }",
                )],
                Field("reciprocity.policies.MS"),
            ),
            case(
                "a tolerance above 50%",
                &[(
                    "accept_origin_exam = true",
                    "accept_origin_exam = true\nhours_tolerance_percent = 51",
                )],
                Field("reciprocity.hours_tolerance_percent"),
            ),
            case(
                "an approval valid for no day",
                &[(
                    "accept_origin_exam = true",
                    "accept_origin_exam = true\nevaluation_valid_days = 0",
                )],
                Field("reciprocity.evaluation_valid_days"),
            ),
            case(
                "an unknown top-level field",
                &[("example = true", "example = true\ncolour = \"blue\"")],
                Unreadable("colour"),
            ),
            case(
                "an unknown field in a section",
                &[("period_years = 2", "period_years = 2\ngrace_days = 30")],
                Unreadable("grace_days"),
            ),
            case(
                "a missing required field",
                &[("exam_required = true\n", "")],
                Unreadable("exam_required"),
            ),
            case(
                "a negative whole number",
                &[("exam_pass_mark_percent = 75", "exam_pass_mark_percent = -1")],
                Unreadable("exam_pass_mark_percent"),
            ),
            case(
                "text where a number belongs",
                &[("training_hours_total = 32", "training_hours_total = \"32\"")],
                Unreadable("training_hours_total"),
            ),
        ]
    }

    #[test]
    fn every_broken_profile_is_refused_at_the_right_field() {
        for (what, text, refusal) in broken_profiles() {
            let result = RequirementProfile::from_toml(&text, SOURCE);
            match (&result, refusal) {
                (Err(ProfileError::Invalid { field, .. }), Field(expected)) if field == expected => {}
                (Err(ProfileError::Unreadable { message, .. }), Unreadable(mentioned))
                    if message.contains(mentioned) => {}
                (_, Field(expected)) => panic!("{what}: expected field {expected} refused, got {result:?}"),
                (_, Unreadable(mentioned)) => panic!("{what}: expected unreadable naming {mentioned}, got {result:?}"),
            }
        }
    }

    #[test]
    fn a_refusal_names_the_source_the_field_and_the_bounds() {
        let text = mississippi_with(&[("training_hours_total = 32", "training_hours_total = -5")]);
        let message = RequirementProfile::from_toml(&text, SOURCE).map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err(
                "profile mississippi.example.toml: field `initial.training_hours_total` \
                 must be between 0 and 10000 hours, got -5"
                    .to_string()
            )
        );
        let text = icrc_with(&[("ethical_responsibility = 16", "telepathy = 16")]);
        let message = RequirementProfile::from_toml(&text, SOURCE).map_err(|e| e.to_string());
        assert!(
            matches!(&message, Err(m) if m.contains("known ids: advocacy, ")),
            "{message:?}"
        );
    }

    #[test]
    fn every_shipped_example_loads_validates_and_says_it_is_an_example() {
        let examples = RequirementProfile::shipped_examples();
        assert_eq!(examples.len(), SHIPPED_EXAMPLES.len());
        let mut states = HashSet::new();
        for (file, text) in examples {
            let profile = RequirementProfile::from_toml(text, file).unwrap_or_else(|e| panic!("{e}"));
            assert!(profile.example, "{file} must say example = true");
            assert!(
                text.starts_with("# EXAMPLE ONLY."),
                "{file} must open with the example notice"
            );
            assert!(
                states.insert(profile.state.clone()),
                "{file}: two examples for {}",
                profile.state
            );
        }
    }

    #[test]
    fn examples_are_found_by_state_code() {
        let mississippi = RequirementProfile::example_for("MS").map(|p| p.initial.exam_pass_mark_percent);
        assert_eq!(mississippi, Some(75));
        assert_eq!(
            RequirementProfile::example_for("ms").map(|p| p.state),
            Some("MS".to_string())
        );
        assert_eq!(RequirementProfile::example_for("GA"), None);
        assert_eq!(RequirementProfile::example_for("XX"), None);
    }

    #[test]
    fn the_default_is_the_model_standards_example_for_any_state() {
        let georgia = RequirementProfile::default_for("GA");
        assert_eq!(georgia.state, "GA");
        assert!(
            georgia.reciprocity.extra.is_empty(),
            "Tennessee's orientation is not Georgia's"
        );
        assert_eq!(georgia.validate("default"), Ok(()));
        assert_eq!(RequirementProfile::default_for("ga"), georgia);

        let shipped = RequirementProfile::example_for("TN");
        assert_eq!(
            shipped,
            Some(RequirementProfile::default_for("TN")),
            "the code and samhsa-model.example.toml"
        );
    }

    #[test]
    fn state_codes_are_stored_upper_case() {
        let text = mississippi_with(&[("state = \"MS\"", "state = \"ms\""), ("[\"*\"]", "[\"tn\", \"PA\"]")]);
        let profile = parsed(&text);
        assert_eq!(profile.state, "MS");
        assert_eq!(profile.reciprocity.partners, ["TN", "PA"]);

        let mut built = profile;
        built.state = "ms".to_string();
        let refused = built.validate("built");
        assert!(
            matches!(refused, Err(ProfileError::Invalid { ref field, .. }) if field == "state"),
            "{refused:?}"
        );
    }

    #[test]
    fn defaults_fill_what_a_profile_leaves_out() {
        let text = mississippi_with(&[
            ("experience_hours = 250\n", ""),
            ("supervised_hours = 0\n", ""),
            ("experience_lookback_years = 3\n", ""),
            ("eligibility_attestation_required = true\n", ""),
            ("ethics_code_required = true\n", ""),
            ("example = true\n", ""),
        ]);
        let initial = parsed(&text).initial;
        assert_eq!((initial.experience_hours, initial.supervised_hours), (0.0, 0.0));
        assert_eq!(initial.experience_lookback_years, 3);
        assert!(initial.eligibility_attestation_required && initial.ethics_code_required);
        assert!(!parsed(&text).example);
    }

    #[test]
    fn fractional_hours_that_add_up_exactly_are_accepted() {
        let text = mississippi_with(&[
            ("ce_hours = 20", "ce_hours = 0.3"),
            ("ethics = 6", "ethics = 0.1\ntrauma_informed_care = 0.2"),
        ]);
        assert_eq!(parsed(&text).renewal.ce_hours_by_topic.len(), 2);
    }

    #[test]
    fn a_profile_survives_a_round_trip_through_toml() {
        for (file, text) in SHIPPED_EXAMPLES {
            let profile = parsed(text);
            let written = toml::to_string(&profile).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(parsed(&written), profile, "{file}");
        }
    }

    #[test]
    fn mississippi_names_the_toolkit_requirements_and_no_domain_split() {
        let initial = RequirementProfile::example_for("MS").expect("the MS example").initial;
        assert!(
            initial.training_hours_by_domain.is_empty(),
            "the toolkit states no split"
        );
        let named: Vec<&str> = initial.evidence_required.iter().map(String::as_str).collect();
        let toolkit = [
            "education",
            "reading_writing",
            "residency",
            "employment",
            "pre_training",
            "application",
        ];
        assert_eq!(named, toolkit);
        assert_eq!(initial.references_required, 2);
        assert!(initial.college_year_substitutes_experience);
        assert_eq!((initial.experience_hours, initial.exam_pass_mark_percent), (250.0, 75));
    }

    #[test]
    fn the_four_states_accept_each_other_in_good_standing_and_recommend_the_study_topics() {
        let four = ["NC", "VA", "KY", "TN"];
        for state in four {
            let profile = RequirementProfile::example_for(state).unwrap_or_else(|| panic!("{state} example"));
            assert_eq!(profile.renewal.recommended_ce_topics, STUDY_CE_TOPICS, "{state}");
            let partners = &profile.reciprocity.partners;
            for other in four.iter().filter(|s| **s != state) {
                assert_eq!(
                    profile.reciprocity.policy_for(other),
                    ReciprocityPolicy::AcceptCredentialInGoodStanding,
                    "{state} judges {other}"
                );
                assert!(
                    partners.iter().any(|p| p == other || p == ANY_STATE),
                    "{state} must accept {other}: {partners:?}"
                );
            }
            assert!(profile.reciprocity.accept_origin_exam, "{state}");
        }
        let georgia = RequirementProfile::default_for("GA");
        assert_eq!(
            georgia.reciprocity.policy,
            ReciprocityPolicy::FullComparison,
            "the arrangement is the four states'"
        );
    }

    #[test]
    fn every_invented_number_in_the_four_state_files_is_labelled_illustrative() {
        for (file, text) in SHIPPED_EXAMPLES {
            let profile = parsed(text);
            if !["NC", "VA", "KY"].contains(&profile.state.as_str()) {
                continue;
            }
            for section in ["[initial]", "[renewal]", "discipline_lookback_years"] {
                let at = text.find(section).unwrap_or_else(|| panic!("{file}: {section}"));
                let before = &text[..at];
                let comment = before.lines().last().unwrap_or_default();
                assert!(
                    comment.to_lowercase().contains("illustrative"),
                    "{file}: {section} must follow a comment saying its numbers are illustrative, got {comment:?}"
                );
            }
        }
    }

    #[test]
    fn icrc_ce_is_kept_apart_from_pennsylvanias_renewal_rule() {
        let icrc = parsed(SHIPPED_EXAMPLES[1].1);
        assert_ne!(icrc.state, "PA");
        assert_eq!(icrc.renewal.ce_hours, 20.0);
        assert_eq!(icrc.renewal.ce_hours_by_topic.get("ethics"), Some(&6.0));
        let pennsylvania = RequirementProfile::example_for("PA").expect("the PA example").renewal;
        assert_eq!(pennsylvania.ce_hours, 36.0);
        assert_eq!(pennsylvania.ce_hours_by_topic.get("peer_specific"), Some(&24.0));
        assert_eq!(pennsylvania.ce_hours_by_topic.get("ethics"), Some(&3.0));
    }
}
