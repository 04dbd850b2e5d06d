//! The jurisdictions a node may serve or trust: their two-letter codes.

use crate::error::{Error, Result};

/// US jurisdictions with certification boards: 50 states, DC and territories.
pub const STATE_CODES: [&str; 56] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME",
    "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA",
    "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC", "AS", "GU", "MP", "PR", "VI",
];

/// Checks and normalises a state code (`ms` → `MS`).
pub fn parse_state(code: &str) -> Result<String> {
    let upper = code.trim().to_ascii_uppercase();
    if STATE_CODES.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(Error::InvalidArgument(format!(
            "{} is not a US state, DC or territory code (e.g. MS, TN, DC, PR)",
            crate::limits::quote(code)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_codes_are_checked_and_normalised() {
        assert_eq!(parse_state("ms").ok(), Some("MS".to_string()));
        assert_eq!(parse_state("PR").ok(), Some("PR".to_string()));
        assert!(parse_state("XX").is_err());
        assert!(parse_state("").is_err());
    }
}
