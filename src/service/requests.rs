//! Inbound `Registry` requests, checked once at the boundary. Each `pb`
//! request becomes a checked request by `TryFrom`, destructuring the message
//! exhaustively, so a field added to the proto does not compile until it is
//! checked here. Field rules are the domain's (`fact::identifier`,
//! `fact::text`, `fact::date`), so a credential number means the same in
//! every RPC; errors name the field and quote at most a short prefix.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::domain::fact::{self, IDENTIFIER_BYTES_MAX, TEXT_BYTES_MAX};
use crate::error::{Error, Result};
use crate::limits;
use crate::pb;

/// Bytes of a date written `YYYY-MM-DD`.
const DATE_BYTES: usize = 10;

/// Whose credential a check asks about.
#[derive(Clone, Debug)]
pub struct Holder {
    pub credential_number: String,
    /// When given, must match the holder's legal name (ignoring case and
    /// surrounding spaces), so that nobody fishes for who holds a number.
    pub legal_name: Option<String>,
}

/// A checked `CheckCredential` request.
#[derive(Debug)]
pub struct CredentialQuery {
    pub holder: Holder,
    /// The date to answer for; today by the node's clock when absent.
    pub as_of: Option<NaiveDate>,
}

/// `YYYY-MM-DD`, or `None` for an empty text (meaning "today").
pub fn optional_date(field: &str, text: &str) -> Result<Option<NaiveDate>> {
    if text.is_empty() {
        return Ok(None);
    }
    fact::date(field, text).map(Some)
}

fn holder(credential_number: &str, legal_name: &str) -> Result<Holder> {
    let credential_number = fact::identifier("credential_number", credential_number)?;
    let legal_name = if legal_name.is_empty() {
        None
    } else {
        Some(fact::text("legal_name", legal_name, TEXT_BYTES_MAX)?)
    };
    Ok(Holder {
        credential_number,
        legal_name,
    })
}

impl TryFrom<pb::CheckCredentialRequest> for CredentialQuery {
    type Error = Error;

    fn try_from(request: pb::CheckCredentialRequest) -> Result<CredentialQuery> {
        let pb::CheckCredentialRequest {
            credential_number,
            legal_name,
            as_of,
        } = request;
        Ok(CredentialQuery {
            holder: holder(&credential_number, &legal_name)?,
            as_of: optional_date("as_of", &as_of)?,
        })
    }
}

/// One date of service of a roster line: the text as sent (echoed in the
/// result) and the date, `None` meaning today, or why it is not a date.
#[derive(Debug)]
pub struct DateOfService {
    pub text: String,
    pub date: Result<Option<NaiveDate>>,
}

/// One roster line, checked. A line that is malformed but within every length
/// bound is answered with its own error; the rest of the roster is still
/// checked (a typo in one line of an employer's CSV should not hide the rest).
#[derive(Debug)]
pub struct RosterLine {
    /// The number as sent (at most `IDENTIFIER_BYTES_MAX` bytes), echoed in each result.
    pub credential_number: String,
    /// The holder to check, or why this line cannot be checked.
    pub holder: Result<Holder>,
    /// At least one: a line without dates is checked for today.
    pub dates: Vec<DateOfService>,
}

/// A checked `CheckRoster` request: at most `ROSTER_ITEMS_MAX` lines and
/// `ROSTER_RESULTS_MAX` line-dates in all, every field within its length bound.
#[derive(Debug)]
pub struct Roster {
    pub lines: Vec<RosterLine>,
}

/// `INVALID_ARGUMENT` naming `field` (built only on failure) when `value` is
/// longer than `max` bytes: an oversized field refuses the whole call, as it
/// would a `CheckCredential`, before any of its content is looked at.
fn within(value: &str, max: usize, field: impl FnOnce() -> String) -> Result<()> {
    if value.len() <= max {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "{} is {} bytes; at most {max} are accepted",
        field(),
        value.len()
    )))
}

/// The roster's size: the counts first (cheap), so an oversized roster is
/// refused before any line is read.
fn check_roster_size(items: &[pb::RosterItem]) -> Result<()> {
    if items.len() > limits::ROSTER_ITEMS_MAX {
        return Err(Error::ResourceExhausted(format!(
            "{} roster items in one call; at most {} are accepted, split the roster",
            items.len(),
            limits::ROSTER_ITEMS_MAX
        )));
    }
    let results: usize = items.iter().map(|i| i.dates_of_service.len().max(1)).sum();
    let most_dates = items.iter().map(|i| i.dates_of_service.len()).max().unwrap_or(0);
    if most_dates > limits::ROSTER_DATES_PER_ITEM_MAX || results > limits::ROSTER_RESULTS_MAX {
        return Err(Error::ResourceExhausted(format!(
            "the roster asks for {results} checks (at most {} in one call, {} dates per item); split it",
            limits::ROSTER_RESULTS_MAX,
            limits::ROSTER_DATES_PER_ITEM_MAX
        )));
    }
    Ok(())
}

fn roster_line(position: usize, item: pb::RosterItem) -> Result<RosterLine> {
    let pb::RosterItem {
        credential_number,
        legal_name,
        dates_of_service,
    } = item;
    within(&credential_number, IDENTIFIER_BYTES_MAX, || {
        format!("items[{position}].credential_number")
    })?;
    within(&legal_name, TEXT_BYTES_MAX, || format!("items[{position}].legal_name"))?;
    for (n, text) in dates_of_service.iter().enumerate() {
        within(text, DATE_BYTES, || {
            format!("items[{position}].dates_of_service[{n}] (a date written YYYY-MM-DD)")
        })?;
    }
    let mut dates: Vec<DateOfService> = dates_of_service
        .into_iter()
        .map(|text| DateOfService {
            date: optional_date("date_of_service", &text),
            text,
        })
        .collect();
    if dates.is_empty() {
        dates.push(DateOfService {
            text: String::new(),
            date: Ok(None),
        });
    }
    Ok(RosterLine {
        holder: holder(&credential_number, &legal_name),
        credential_number,
        dates,
    })
}

impl TryFrom<pb::CheckRosterRequest> for Roster {
    type Error = Error;

    fn try_from(request: pb::CheckRosterRequest) -> Result<Roster> {
        let pb::CheckRosterRequest { items } = request;
        check_roster_size(&items)?;
        let lines = items
            .into_iter()
            .enumerate()
            .map(|(position, item)| roster_line(position, item))
            .collect::<Result<_>>()?;
        Ok(Roster { lines })
    }
}

impl Roster {
    /// Results the roster asks for (one per line and date).
    pub fn checks(&self) -> usize {
        self.lines.iter().map(|line| line.dates.len()).sum()
    }
}

/// A checked `WatchCredentials` request.
#[derive(Debug)]
pub struct WatchQuery {
    /// 1 to `WATCH_CREDENTIALS_MAX` distinct credential numbers.
    pub credential_numbers: BTreeSet<String>,
    pub from_index: u64,
}

impl TryFrom<pb::WatchCredentialsRequest> for WatchQuery {
    type Error = Error;

    fn try_from(request: pb::WatchCredentialsRequest) -> Result<WatchQuery> {
        let pb::WatchCredentialsRequest {
            credential_numbers,
            from_index,
        } = request;
        if credential_numbers.is_empty() || credential_numbers.len() > limits::WATCH_CREDENTIALS_MAX {
            return Err(Error::InvalidArgument(format!(
                "watch 1 to {} credential numbers per stream (got {})",
                limits::WATCH_CREDENTIALS_MAX,
                credential_numbers.len()
            )));
        }
        let credential_numbers = credential_numbers
            .iter()
            .map(|number| fact::identifier("credential_numbers", number))
            .collect::<Result<_>>()?;
        Ok(WatchQuery {
            credential_numbers,
            from_index,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(number: &str, name: &str, dates: &[&str]) -> pb::RosterItem {
        pb::RosterItem {
            credential_number: number.into(),
            legal_name: name.into(),
            dates_of_service: dates.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn roster(items: Vec<pb::RosterItem>) -> Result<Roster> {
        Roster::try_from(pb::CheckRosterRequest { items })
    }

    #[test]
    fn an_oversized_field_refuses_the_roster_naming_it() {
        let long = "7".repeat(IDENTIFIER_BYTES_MAX + 1);
        let refused = roster(vec![item("MS-1", "", &[]), item(&long, "", &["2025-01-01"])]);
        assert!(
            matches!(&refused, Err(Error::InvalidArgument(m)) if m == "items[1].credential_number is 65 bytes; at most 64 are accepted"),
            "{refused:?}"
        );
        let refused = roster(vec![item("MS-1", "", &["2025-01-01", " 2025-01-01"])]);
        assert!(
            matches!(&refused, Err(Error::InvalidArgument(m)) if m.starts_with("items[0].dates_of_service[1]")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_malformed_line_within_bounds_is_its_own_answer() {
        let checked = roster(vec![item("MS 1", "", &["2025-02-30", ""]), item("MS-2", "Ada", &[])]).expect("a roster");
        assert_eq!(checked.checks(), 3);
        let first = &checked.lines[0];
        assert!(matches!(&first.holder, Err(Error::InvalidArgument(m)) if m.contains("spaces")));
        assert!(first.dates[0].date.is_err());
        assert!(matches!(first.dates[1].date, Ok(None)), "an empty date is today");
        let second = &checked.lines[1];
        assert_eq!(
            second
                .holder
                .as_ref()
                .ok()
                .and_then(|h| h.legal_name.clone())
                .as_deref(),
            Some("Ada")
        );
        assert!(matches!(second.dates[..], [DateOfService { date: Ok(None), .. }]));
    }

    #[test]
    fn a_check_credential_request_is_checked_like_a_roster_line() {
        let query = |number: &str, as_of: &str| {
            CredentialQuery::try_from(pb::CheckCredentialRequest {
                credential_number: number.into(),
                legal_name: String::new(),
                as_of: as_of.into(),
            })
        };
        assert!(query("MS-1", "").is_ok_and(|q| q.as_of.is_none()));
        for (number, as_of) in [("", ""), ("MS 1", ""), ("MS-\u{7}", ""), ("MS-1", "2025-02-30")] {
            assert!(
                matches!(query(number, as_of), Err(Error::InvalidArgument(_))),
                "{number:?} {as_of:?}"
            );
        }
        let huge = query(&"9".repeat(1 << 20), "");
        assert!(
            matches!(&huge, Err(Error::InvalidArgument(m)) if m.len() < 100),
            "{huge:?}"
        );
    }
}
