//! The documented vocabularies events may use. Boards record free text only in
//! titles and summaries; everything a rule reads is from these lists, so that two
//! states' records can be compared at all.

/// Competency domains training hours are counted against: the IC&RC Peer
/// Recovery domains (with harm reduction, which some boards add as a fifth)
/// and SAMHSA's 2015 Core Competencies for Peer Workers, 12 categories.
pub const COMPETENCY_DOMAINS: [(&str, &str); 17] = [
    ("advocacy", "IC&RC PR: advocacy"),
    ("mentoring_education", "IC&RC PR: mentoring and education"),
    ("recovery_wellness_support", "IC&RC PR: recovery and wellness support"),
    ("ethical_responsibility", "IC&RC PR: ethical responsibility"),
    ("harm_reduction", "harm reduction (a fifth domain on some boards)"),
    (
        "engages_peers",
        "SAMHSA: engages peers in collaborative and caring relationships",
    ),
    ("provides_support", "SAMHSA: provides support"),
    (
        "shares_lived_experience",
        "SAMHSA: shares lived experiences of recovery",
    ),
    ("personalizes_peer_support", "SAMHSA: personalizes peer support"),
    ("supports_recovery_planning", "SAMHSA: supports recovery planning"),
    (
        "links_to_resources",
        "SAMHSA: links to resources, services and supports",
    ),
    (
        "provides_wellness_information",
        "SAMHSA: provides information about skills related to health, wellness and recovery",
    ),
    ("helps_manage_crises", "SAMHSA: helps peers manage crises"),
    ("values_communication", "SAMHSA: values communication"),
    ("supports_collaboration", "SAMHSA: supports collaboration and teamwork"),
    (
        "promotes_leadership_advocacy",
        "SAMHSA: promotes leadership and advocacy",
    ),
    ("promotes_growth", "SAMHSA: promotes growth and development"),
];

/// Continuing-education topics: those peers ask for most (and least) in the
/// 2024 four-state study, plus ethics, which renewal rules single out.
pub const CE_TOPICS: [(&str, &str); 10] = [
    ("ethics", "ethics and boundaries"),
    ("trauma_informed_care", "trauma-informed care"),
    ("motivational_interviewing", "motivational interviewing"),
    ("recovery_pathways", "innovative approaches and pathways to recovery"),
    ("harm_reduction", "harm reduction"),
    ("suicide_prevention", "suicide prevention"),
    ("cultural_responsiveness", "cultural responsiveness"),
    ("documentation", "documentation"),
    ("supervision", "supervision"),
    ("peer_specific", "other peer-specific practice"),
];

/// Requirements a board records evidence for (`RequirementEvidence`), as a
/// profile's `initial.evidence_required` names them. Worded after
/// Mississippi DMH's Certified Peer Support Specialist toolkit.
pub const EVIDENCE_REQUIREMENTS: [(&str, &str); 8] = [
    (
        "education",
        "high school diploma or GED, or 16 or older and enrolled in school",
    ),
    ("reading_writing", "reading and writing proficiency"),
    (
        "reference",
        "a reference form attesting to the ability to perform the role",
    ),
    ("residency", "residency in the state"),
    ("employment", "current employment in the state's mental health system"),
    (
        "pre_training",
        "the online pre-training, completed before the classroom training",
    ),
    (
        "college_year",
        "one year of college or educational experience (a substitute for the experience hours)",
    ),
    ("application", "the application, whose date experience must precede"),
];

pub fn is_evidence_requirement(id: &str) -> bool {
    EVIDENCE_REQUIREMENTS.iter().any(|(known, _)| *known == id)
}

pub fn is_competency_domain(id: &str) -> bool {
    COMPETENCY_DOMAINS.iter().any(|(known, _)| *known == id)
}

pub fn is_ce_topic(id: &str) -> bool {
    CE_TOPICS.iter().any(|(known, _)| *known == id)
}

/// Whole minutes from hours as written in a profile (rounded to the minute).
pub fn hours_to_minutes(hours: f64) -> u32 {
    (hours * 60.0).round().clamp(0.0, u32::MAX as f64) as u32
}

/// Minutes as hours for people: "6 h", "1.5 h".
pub fn format_hours(minutes: u64) -> String {
    let hours = minutes as f64 / 60.0;
    if minutes % 60 == 0 {
        format!("{} h", minutes / 60)
    } else {
        format!("{hours:.1} h")
    }
}
