//! The workforce's change over time: per calendar month, credentials issued,
//! renewed and lapsed, computed from the registry's credentials in one pass
//! (no second history to keep in step with the log). Pure.
//!
//! Counted, for each month of the window and only on or before `today`:
//! - **issued**: credentials whose `issued_on` falls in the month (imported
//!   credentials by the issue date their source system recorded);
//! - **renewed**: renewals whose `renewed_on` falls in the month (a credential
//!   renewed twice in a month counts twice);
//! - **lapsed**: credentials whose first day past the expiry then in force
//!   falls in the month, that expiry not having been extended by a renewal
//!   recorded on or before that day. In the terms of
//!   `Credential::expires_on_as_of`: a day `d` with `d > expires_on_as_of(d)`
//!   while `d - 1 <= expires_on_as_of(d - 1)`. A credential renewed late
//!   lapses once and is counted again if it lapses again. Expiry alone is
//!   counted: a credential suspended or revoked when its expiry passes still
//!   lapses that day (discipline is in the status counts, not here).

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

use super::Registry;
use crate::domain::records::Credential;

/// One month's changes. `month` is its first day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MonthlyChange {
    pub month: NaiveDate,
    pub issued: u64,
    pub renewed: u64,
    pub lapsed: u64,
}

/// The `months` calendar months ending with `today`'s, oldest first, with
/// what changed in each as the module doc defines.
pub fn monthly_changes(registry: &Registry, today: NaiveDate, months: u32) -> Vec<MonthlyChange> {
    let last = first_of_month(today);
    let first = last
        .checked_sub_months(Months::new(months.saturating_sub(1)))
        .unwrap_or(NaiveDate::MIN);
    let mut changes: Vec<MonthlyChange> = (0..months)
        .filter_map(|n| first.checked_add_months(Months::new(n)))
        .filter(|month| *month <= last)
        .map(|month| MonthlyChange {
            month,
            issued: 0,
            renewed: 0,
            lapsed: 0,
        })
        .collect();
    let slot = |day: NaiveDate| -> Option<usize> {
        if day > today || day < first {
            return None;
        }
        usize::try_from(month_number(day) - month_number(first)).ok()
    };
    for credential in registry.credentials.values() {
        let renewals = credential.renewals.iter().map(|r| r.renewed_on);
        let counted = [(Change::Issued, credential.issued_on)]
            .into_iter()
            .chain(renewals.map(|day| (Change::Renewed, day)))
            .chain(lapses(credential).into_iter().map(|day| (Change::Lapsed, day)));
        for (change, day) in counted {
            if let Some(month) = slot(day).and_then(|i| changes.get_mut(i)) {
                *match change {
                    Change::Issued => &mut month.issued,
                    Change::Renewed => &mut month.renewed,
                    Change::Lapsed => &mut month.lapsed,
                } += 1;
            }
        }
    }
    changes
}

enum Change {
    Issued,
    Renewed,
    Lapsed,
}

/// The days `credential` lapsed (or will, if nothing is recorded before):
/// each first day past the expiry in force that no renewal recorded by then
/// extended, in order.
pub fn lapses(credential: &Credential) -> Vec<NaiveDate> {
    let mut renewals: Vec<_> = credential.renewals.iter().collect();
    renewals.sort_by_key(|r| r.renewed_on);
    let mut days = Vec::new();
    let mut expiry = credential.initial_expires_on;
    for renewal in renewals {
        if let Some(lapse) = expiry.succ_opt().filter(|&day| renewal.renewed_on > day) {
            days.push(lapse);
        }
        expiry = expiry.max(renewal.new_expires_on);
    }
    days.extend(expiry.succ_opt());
    days
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Months since year 0, so two months' distance is a subtraction.
fn month_number(day: NaiveDate) -> i64 {
    i64::from(day.year()) * 12 + i64::from(day.month0())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fact::{CredentialType, Renewal};

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    fn credential(number: &str, issued: &str, expires: &str, renewals: &[(&str, &str)]) -> Credential {
        Credential {
            number: number.into(),
            peer_id: "P".into(),
            credential_type: CredentialType::PeerSupportSpecialist,
            issued_on: day(issued),
            initial_expires_on: day(expires),
            reciprocity: None,
            imported: None,
            renewals: renewals
                .iter()
                .enumerate()
                .map(|(i, (on, until))| Renewal {
                    index: i as u64 + 1,
                    renewed_on: day(on),
                    new_expires_on: day(until),
                    imported: false,
                })
                .collect(),
            discipline: Vec::new(),
            reinstatements: Vec::new(),
            events: vec![0],
        }
    }

    /// The definition read literally, day by day, to check `lapses` against.
    fn lapses_by_days(credential: &Credential, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        from.iter_days()
            .take_while(|d| *d <= to)
            .filter(|&d| {
                let yesterday = d.pred_opt().expect("a day");
                d > credential.expires_on_as_of(d) && yesterday <= credential.expires_on_as_of(yesterday)
            })
            .collect()
    }

    #[test]
    fn lapses_follow_the_definition_day_by_day() {
        type Renewals<'a> = &'a [(&'a str, &'a str)];
        let table: [(Renewals, &[&str]); 5] = [
            (&[], &["2025-03-01"]),
            (&[("2025-02-10", "2026-02-28")], &["2026-03-01"]),
            (&[("2025-03-01", "2026-02-28")], &["2026-03-01"]),
            (&[("2025-03-02", "2026-02-28")], &["2025-03-01", "2026-03-01"]),
            (&[("2025-01-05", "2025-01-31")], &["2025-03-01"]),
        ];
        for (renewals, expected) in table {
            let c = credential("C", "2024-03-01", "2025-02-28", renewals);
            let expected: Vec<NaiveDate> = expected.iter().map(|d| day(d)).collect();
            assert_eq!(lapses(&c), expected, "{renewals:?}");
            assert_eq!(
                lapses_by_days(&c, day("2024-03-01"), day("2027-01-01")),
                expected,
                "{renewals:?}"
            );
        }
    }

    #[test]
    fn monthly_changes_count_issues_renewals_and_lapses_in_their_month() {
        let mut registry = Registry::default();
        for c in [
            credential("A", "2025-01-15", "2025-12-31", &[("2025-12-20", "2026-12-31")]),
            credential("B", "2025-01-31", "2025-02-28", &[("2025-03-10", "2026-03-10")]),
            credential("C", "2024-11-01", "2025-03-05", &[]),
            credential("D", "2026-05-01", "2027-05-01", &[]),
            credential("E", "2026-03-20", "2027-01-01", &[]),
        ] {
            registry.credentials.insert(c.number.clone(), c);
        }
        let today = day("2026-03-10");
        let changes = monthly_changes(&registry, today, 6);
        let table: Vec<(String, u64, u64, u64)> = changes
            .iter()
            .map(|c| (c.month.format("%Y-%m").to_string(), c.issued, c.renewed, c.lapsed))
            .collect();
        let expected = [
            ("2025-10", 0, 0, 0),
            ("2025-11", 0, 0, 0),
            ("2025-12", 0, 1, 0),
            ("2026-01", 0, 0, 0),
            ("2026-02", 0, 0, 0),
            // B's renewed expiry passes on 2026-03-11, after today; E is issued after today.
            ("2026-03", 0, 0, 0),
        ];
        let expected: Vec<(String, u64, u64, u64)> = expected
            .iter()
            .map(|(m, i, r, l)| (m.to_string(), *i, *r, *l))
            .collect();
        assert_eq!(table, expected);
        let longer = monthly_changes(&registry, today, 16);
        assert_eq!(longer.len(), 16);
        assert_eq!(longer[0].month, day("2024-12-01"));
        let in_month = |m: &str| longer.iter().find(|c| c.month == day(m)).copied().expect("a month");
        assert_eq!((in_month("2025-01-01").issued, in_month("2025-01-01").lapsed), (2, 0));
        // B lapsed on 2025-03-01 and was renewed late on 2025-03-10; C lapsed on 2025-03-06.
        assert_eq!((in_month("2025-03-01").renewed, in_month("2025-03-01").lapsed), (1, 2));
        assert_eq!(
            longer.iter().map(|c| c.issued).sum::<u64>(),
            2,
            "C before the window, D and E after today"
        );
    }
}
