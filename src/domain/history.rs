//! A profile over time: boards change their rules by rule-making, and a
//! credential issued, renewed or evaluated on a date is judged by the rules in
//! force on that date, not by today's.
//!
//! A profile file either is one [`RequirementProfile`] (one version, in force
//! forever) or holds `[[versions]]`, each a whole profile with an
//! `effective_from` date ("YYYY-MM-DD"; the first may leave it out to be in
//! force from the beginning). Versions are listed oldest first.
//!
//! Pure: `config::read_profile` reads the file.

use chrono::NaiveDate;

use super::profile::{ProfileError, RequirementProfile};

/// Most versions one file may hold (a board revises its rules a few times a decade).
pub const VERSIONS_MAX: usize = 100;

/// One version of a profile and the day it took effect (None: always).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileVersion {
    pub effective_from: Option<NaiveDate>,
    pub profile: RequirementProfile,
}

/// Every version of one state's profile, oldest first, effective dates rising.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileHistory {
    versions: Vec<ProfileVersion>,
}

impl From<RequirementProfile> for ProfileHistory {
    /// A profile without versions: in force on every date.
    fn from(profile: RequirementProfile) -> ProfileHistory {
        ProfileHistory {
            versions: vec![ProfileVersion {
                effective_from: None,
                profile,
            }],
        }
    }
}

impl ProfileHistory {
    /// Parses and validates a profile file, with or without `[[versions]]`.
    pub fn from_toml(text: &str, source_name: &str) -> Result<ProfileHistory, ProfileError> {
        let unreadable = |message: String| ProfileError::Unreadable {
            source_name: source_name.to_string(),
            message,
        };
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| unreadable(e.to_string()))?;
        let Some(versions) = table.remove("versions") else {
            return RequirementProfile::from_toml(text, source_name).map(ProfileHistory::from);
        };
        if let Some(key) = table.keys().next() {
            return Err(unreadable(format!(
                "`{key}` sits beside [[versions]]: put every field inside a version"
            )));
        }
        let toml::Value::Array(versions) = versions else {
            return Err(unreadable(
                "`versions` must be an array of tables ([[versions]])".into(),
            ));
        };
        let versions = versions
            .into_iter()
            .enumerate()
            .map(|(i, value)| version(i, value, source_name))
            .collect::<Result<Vec<_>, _>>()?;
        ProfileHistory::new(versions, source_name)
    }

    /// Checks that versions exist, are within bounds, are for one state and
    /// take effect in order.
    pub fn new(versions: Vec<ProfileVersion>, source_name: &str) -> Result<ProfileHistory, ProfileError> {
        let invalid = |field: String, reason: String| ProfileError::Invalid {
            source_name: source_name.to_string(),
            field,
            reason,
        };
        if versions.is_empty() || versions.len() > VERSIONS_MAX {
            let reason = format!(
                "must hold between 1 and {VERSIONS_MAX} versions, got {}",
                versions.len()
            );
            return Err(invalid("versions".into(), reason));
        }
        for (i, pair) in versions.windows(2).enumerate() {
            let (earlier, later) = (&pair[0], &pair[1]);
            let field = format!("versions[{}]", i + 1);
            if later.profile.state != earlier.profile.state {
                let reason = format!(
                    "is for {}, but versions[{i}] is for {}: one file is one state's profile",
                    later.profile.state, earlier.profile.state
                );
                return Err(invalid(format!("{field}.state"), reason));
            }
            match (earlier.effective_from, later.effective_from) {
                (_, None) => {
                    let reason = "is required on every version but the first".to_string();
                    return Err(invalid(format!("{field}.effective_from"), reason));
                }
                (Some(before), Some(after)) if after <= before => {
                    let reason = format!("({after}) must be after versions[{i}].effective_from ({before})");
                    return Err(invalid(format!("{field}.effective_from"), reason));
                }
                _ => {}
            }
        }
        Ok(ProfileHistory { versions })
    }

    /// The version in force on `date`: the latest that took effect by then.
    /// None before the first version's effective date.
    pub fn in_force(&self, date: NaiveDate) -> Option<&RequirementProfile> {
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective_from.is_none_or(|from| from <= date))
            .map(|v| &v.profile)
    }

    /// The newest version (what a node serving today is likely to use).
    pub fn latest(&self) -> &RequirementProfile {
        // `new` refuses an empty history, and `From` builds one version.
        &self.versions[self.versions.len() - 1].profile
    }

    /// The state every version is for.
    pub fn state(&self) -> &str {
        &self.latest().state
    }

    /// Changes every version alike (e.g. a demo's choice of policy); the
    /// effective dates stay as they are.
    pub fn edit_each(&mut self, mut edit: impl FnMut(&mut RequirementProfile)) {
        for version in &mut self.versions {
            edit(&mut version.profile);
        }
    }

    pub fn versions(&self) -> &[ProfileVersion] {
        &self.versions
    }
}

/// One `[[versions]]` table: its `effective_from` and the profile around it.
fn version(i: usize, value: toml::Value, source_name: &str) -> Result<ProfileVersion, ProfileError> {
    let prefix = |field: &str| format!("versions[{i}].{field}");
    let toml::Value::Table(mut table) = value else {
        return Err(ProfileError::Unreadable {
            source_name: source_name.to_string(),
            message: format!("{} must be a table", prefix("")),
        });
    };
    let effective_from = match table.remove("effective_from") {
        None => None,
        Some(value) => Some(effective_date(&value).ok_or_else(|| ProfileError::Invalid {
            source_name: source_name.to_string(),
            field: prefix("effective_from"),
            reason: format!("must be a date written YYYY-MM-DD, got {value}"),
        })?),
    };
    let text = toml::to_string(&table).map_err(|e| ProfileError::Unreadable {
        source_name: source_name.to_string(),
        message: e.to_string(),
    })?;
    let profile = RequirementProfile::from_toml(&text, source_name).map_err(|e| match e {
        ProfileError::Invalid {
            source_name,
            field,
            reason,
        } => ProfileError::Invalid {
            source_name,
            field: prefix(&field),
            reason,
        },
        ProfileError::Unreadable { source_name, message } => ProfileError::Unreadable {
            source_name,
            message: format!("{}: {message}", prefix("")),
        },
    })?;
    Ok(ProfileVersion {
        effective_from,
        profile,
    })
}

/// A TOML date (`2025-07-01`) or a string holding one.
fn effective_date(value: &toml::Value) -> Option<NaiveDate> {
    let text = match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Datetime(datetime) if datetime.time.is_none() => datetime.to_string(),
        _ => return None,
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MISSISSIPPI: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/profiles/mississippi.example.toml"
    ));

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    /// The Mississippi example as `[[versions]]`, one per (effective_from, pass mark).
    fn versioned(versions: &[(Option<&str>, u32)]) -> String {
        let mut text = String::new();
        for (from, mark) in versions {
            let body = MISSISSIPPI.replacen(
                "exam_pass_mark_percent = 75",
                &format!("exam_pass_mark_percent = {mark}"),
                1,
            );
            let body = body.replace("[initial", "[versions.initial");
            let body = body.replace("[renewal", "[versions.renewal");
            let body = body.replace("[reciprocity", "[versions.reciprocity");
            text.push_str("[[versions]]\n");
            if let Some(from) = from {
                text.push_str(&format!("effective_from = \"{from}\"\n"));
            }
            text.push_str(&body);
            text.push('\n');
        }
        text
    }

    fn mark_on(history: &ProfileHistory, date: &str) -> Option<u32> {
        history.in_force(day(date)).map(|p| p.initial.exam_pass_mark_percent)
    }

    #[test]
    fn a_file_without_versions_is_in_force_on_every_date() {
        let history = ProfileHistory::from_toml(MISSISSIPPI, "ms").expect("loads");
        assert_eq!(history.versions().len(), 1);
        for date in ["1900-01-01", "2024-06-30", "2999-12-31"] {
            assert_eq!(mark_on(&history, date), Some(75), "{date}");
        }
    }

    #[test]
    fn each_date_is_judged_by_the_version_in_force_on_it() {
        let text = versioned(&[(None, 70), (Some("2024-07-01"), 75), (Some("2026-01-01"), 80)]);
        let history = ProfileHistory::from_toml(&text, "ms").unwrap_or_else(|e| panic!("{e}"));
        let table = [
            ("2000-01-01", Some(70)),
            ("2024-06-30", Some(70)),
            ("2024-07-01", Some(75)),
            ("2025-12-31", Some(75)),
            ("2026-01-01", Some(80)),
            ("2030-05-05", Some(80)),
        ];
        for (date, mark) in table {
            assert_eq!(mark_on(&history, date), mark, "{date}");
        }
        assert_eq!(history.latest().initial.exam_pass_mark_percent, 80);
    }

    #[test]
    fn before_a_dated_first_version_no_version_is_in_force() {
        let text = versioned(&[(Some("2024-07-01"), 75)]);
        let history = ProfileHistory::from_toml(&text, "ms").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mark_on(&history, "2024-06-30"), None);
        assert_eq!(mark_on(&history, "2024-07-01"), Some(75));
    }

    #[test]
    fn badly_ordered_or_mixed_versions_are_refused_at_the_right_field() {
        let out_of_order = versioned(&[(None, 70), (Some("2026-01-01"), 75), (Some("2025-01-01"), 80)]);
        let undated_later = versioned(&[(None, 70), (None, 75)]);
        let bad_date = versioned(&[(Some("2025-02-30"), 70)]);
        let bad_field = versioned(&[(None, 70), (Some("2025-01-01"), 101)]);
        let other_state = versioned(&[(None, 70), (Some("2025-01-01"), 75)]);
        let other_state = {
            let at = other_state.rfind("state = \"MS\"").expect("a second version");
            format!("{}state = \"TN\"{}", &other_state[..at], &other_state[at + 12..])
        };
        let cases = [
            (out_of_order, "versions[2].effective_from"),
            (undated_later, "versions[1].effective_from"),
            (bad_date, "versions[0].effective_from"),
            (bad_field, "versions[1].initial.exam_pass_mark_percent"),
            (other_state, "versions[1].state"),
        ];
        for (text, expected) in cases {
            match ProfileHistory::from_toml(&text, "ms") {
                Err(ProfileError::Invalid { field, .. }) => assert_eq!(field, expected),
                other => panic!("{expected}: {other:?}"),
            }
        }
        let beside = format!("state = \"MS\"\n{}", versioned(&[(None, 70)]));
        assert!(matches!(
            ProfileHistory::from_toml(&beside, "ms"),
            Err(ProfileError::Unreadable { message, .. }) if message.contains("beside [[versions]]")
        ));
    }
}
