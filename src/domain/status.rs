//! A credential's status on a date, computed from its events, never stored.
//!
//! Precedence, highest first: revoked / surrendered > suspended > expired >
//! encumbered (probation, restriction) > active; before its issue date a
//! credential is not yet valid. A discipline is *in force* on day D when it is
//! effective on or before D, has not ended (its `ends_on` is after D), and no
//! reinstatement effective between its start and D lifted it. Revocation and
//! surrender are never lifted. Expiry on D uses only renewals recorded on or
//! before D, so status-as-of(D) depends only on events effective by D.
//! The public discipline record on D (`discipline_on`) follows the same rule:
//! the actions effective by D, each with how it had ended by D, nothing later.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::fact::{Discipline, DisciplineKind};
use super::records::Credential;

/// How a disciplinary action had ended by a given date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisciplineEnd {
    /// Its own end date passed (the first day it no longer applied).
    EndDate(NaiveDate),
    /// A reinstatement effective on this date lifted it.
    Reinstated(NaiveDate),
}

impl DisciplineEnd {
    /// The first day the action no longer applied.
    pub fn on(self) -> NaiveDate {
        match self {
            DisciplineEnd::EndDate(on) | DisciplineEnd::Reinstated(on) => on,
        }
    }

    pub fn by_reinstatement(self) -> bool {
        matches!(self, DisciplineEnd::Reinstated(_))
    }
}

/// The plain name of a kind of disciplinary action, as answers print it.
pub fn action_name(kind: DisciplineKind) -> &'static str {
    match kind {
        DisciplineKind::Reprimand => "reprimand",
        DisciplineKind::Probation => "probation",
        DisciplineKind::Restriction => "restriction",
        DisciplineKind::Suspension => "suspension",
        DisciplineKind::Revocation => "revocation",
        DisciplineKind::VoluntarySurrender => "voluntary surrender",
    }
}

/// Revocation and surrender are permanent, whatever a (foreign, malformed)
/// record says about an end; a reprimand has no period to end (a later
/// reinstatement lifts the suspension it was recorded with, not the reprimand).
fn never_ends(kind: DisciplineKind) -> bool {
    matches!(
        kind,
        DisciplineKind::Revocation | DisciplineKind::VoluntarySurrender | DisciplineKind::Reprimand
    )
}

/// One disciplinary action as the public record showed it on a date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatedDiscipline {
    pub discipline: Discipline,
    /// `None`: still in force on that date (or, for a reprimand, standing).
    pub ended: Option<DisciplineEnd>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Status {
    NotYetValid,
    Active,
    Probation,
    Restricted,
    Expired,
    Suspended,
    Surrendered,
    Revoked,
}

impl Status {
    /// In good standing: may practise without limitation.
    pub fn is_active(self) -> bool {
        self == Status::Active
    }

    /// Encumbered in the compact sense: any limitation of full practice.
    pub fn is_encumbered(self) -> bool {
        matches!(
            self,
            Status::Probation | Status::Restricted | Status::Suspended | Status::Revoked | Status::Surrendered
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotYetValid => "not yet valid",
            Status::Active => "active",
            Status::Probation => "active, on probation",
            Status::Restricted => "active, restricted",
            Status::Expired => "expired",
            Status::Suspended => "suspended",
            Status::Surrendered => "voluntarily surrendered",
            Status::Revoked => "revoked",
        }
    }
}

impl Credential {
    /// The expiry in force on `date`: the latest of the initial expiry and every
    /// renewal recorded on or before `date`.
    pub fn expires_on_as_of(&self, date: NaiveDate) -> NaiveDate {
        let renewed = self
            .renewals
            .iter()
            .filter(|r| r.renewed_on <= date)
            .map(|r| r.new_expires_on);
        renewed.fold(self.initial_expires_on, NaiveDate::max)
    }

    /// Is `discipline` in force on `date`? It has taken effect and, as known
    /// on `date`, has not ended.
    pub fn in_force(&self, discipline: &Discipline, date: NaiveDate) -> bool {
        discipline.effective_on <= date && self.end_of(discipline, date).is_none()
    }

    /// How `discipline` had ended by `date`, if it had: its own end date, or
    /// the first reinstatement effective between its start and `date`
    /// (recorded after it), whichever came first. See `never_ends`.
    pub fn end_of(&self, discipline: &Discipline, date: NaiveDate) -> Option<DisciplineEnd> {
        if never_ends(discipline.kind) {
            return None;
        }
        let reinstated = self
            .reinstatements
            .iter()
            .filter(|r| r.index > discipline.index)
            .map(|r| r.effective_on)
            .filter(|&on| on >= discipline.effective_on && on <= date)
            .min();
        let scheduled = discipline.ends_on.filter(|&end| end <= date);
        match (scheduled, reinstated) {
            (Some(end), Some(on)) if on < end => Some(DisciplineEnd::Reinstated(on)),
            (Some(end), _) => Some(DisciplineEnd::EndDate(end)),
            (None, Some(on)) => Some(DisciplineEnd::Reinstated(on)),
            (None, None) => None,
        }
    }

    /// The public discipline record as it stood on `date`: every action in
    /// effect on or before `date`, in log order, each with how it had ended
    /// by then. Nothing effective after `date` is shown, nor any reinstatement
    /// after it, so an answer about a past date is about that date.
    pub fn discipline_on(&self, date: NaiveDate) -> Vec<DatedDiscipline> {
        self.discipline
            .iter()
            .filter(|d| d.effective_on <= date)
            .map(|d| DatedDiscipline {
                discipline: d.clone(),
                ended: self.end_of(d, date),
            })
            .collect()
    }

    fn any_in_force(&self, kind: DisciplineKind, date: NaiveDate) -> bool {
        self.discipline.iter().any(|d| d.kind == kind && self.in_force(d, date))
    }

    /// The status on `date`, with the precedence documented above.
    pub fn status_on(&self, date: NaiveDate) -> Status {
        if date < self.issued_on {
            return Status::NotYetValid;
        }
        let ranked = [
            (DisciplineKind::Revocation, Status::Revoked),
            (DisciplineKind::VoluntarySurrender, Status::Surrendered),
            (DisciplineKind::Suspension, Status::Suspended),
        ];
        if let Some((_, status)) = ranked.iter().find(|(kind, _)| self.any_in_force(*kind, date)) {
            return *status;
        }
        if date > self.expires_on_as_of(date) {
            return Status::Expired;
        }
        if self.any_in_force(DisciplineKind::Probation, date) {
            return Status::Probation;
        }
        if self.any_in_force(DisciplineKind::Restriction, date) {
            return Status::Restricted;
        }
        Status::Active
    }

    /// Ever revoked or surrendered (on or before `date`): nothing more may be done with it.
    pub fn is_terminated(&self, date: NaiveDate) -> bool {
        matches!(self.status_on(date), Status::Revoked | Status::Surrendered)
            || self.discipline.iter().any(|d| {
                matches!(d.kind, DisciplineKind::Revocation | DisciplineKind::VoluntarySurrender)
                    && d.effective_on <= date
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fact::CredentialType;
    use crate::domain::fact::{Reinstatement, Renewal};

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    fn credential(discipline: Vec<Discipline>, reinstated: &[(u64, &str)]) -> Credential {
        Credential {
            number: "MS-1".into(),
            peer_id: "P-1".into(),
            credential_type: CredentialType::PeerSupportSpecialist,
            issued_on: day("2024-01-01"),
            initial_expires_on: day("2030-01-01"),
            reciprocity: None,
            imported: None,
            renewals: Vec::<Renewal>::new(),
            discipline,
            reinstatements: reinstated
                .iter()
                .map(|&(index, on)| Reinstatement {
                    index,
                    effective_on: day(on),
                    public_summary: String::new(),
                })
                .collect(),
            events: vec![],
        }
    }

    fn action(index: u64, kind: DisciplineKind, from: &str, until: Option<&str>) -> Discipline {
        Discipline {
            index,
            kind,
            effective_on: day(from),
            ends_on: until.map(day),
            public_summary: String::new(),
        }
    }

    use DisciplineEnd::{EndDate, Reinstated};
    use DisciplineKind::{Probation, Reprimand, Revocation, Suspension, VoluntarySurrender};

    /// Each rule of `discipline_on`, alone, satisfied and not: (case, record,
    /// date, the actions shown as (kind, how ended)).
    #[test]
    fn the_discipline_shown_on_a_date_is_the_discipline_of_that_date() {
        type Shown = Vec<(DisciplineKind, Option<DisciplineEnd>)>;
        let table: Vec<(&str, Credential, &str, Shown)> = vec![
            (
                "effective after the date: not shown",
                credential(vec![action(2, Suspension, "2024-06-01", None)], &[]),
                "2024-05-31",
                vec![],
            ),
            (
                "effective on the date: shown, in force",
                credential(vec![action(2, Suspension, "2024-06-01", None)], &[]),
                "2024-06-01",
                vec![(Suspension, None)],
            ),
            (
                "end date after the date: still in force",
                credential(vec![action(2, Probation, "2024-06-01", Some("2024-09-01"))], &[]),
                "2024-08-31",
                vec![(Probation, None)],
            ),
            (
                "end date on or before the date: ended on it",
                credential(vec![action(2, Probation, "2024-06-01", Some("2024-09-01"))], &[]),
                "2024-09-01",
                vec![(Probation, Some(EndDate(day("2024-09-01"))))],
            ),
            (
                "reinstatement after the date: not shown, still in force",
                credential(vec![action(2, Suspension, "2024-06-01", None)], &[(3, "2024-07-01")]),
                "2024-06-30",
                vec![(Suspension, None)],
            ),
            (
                "reinstatement on or before the date: ended by it",
                credential(vec![action(2, Suspension, "2024-06-01", None)], &[(3, "2024-07-01")]),
                "2024-07-01",
                vec![(Suspension, Some(Reinstated(day("2024-07-01"))))],
            ),
            (
                "reinstatement recorded before the action: does not end it",
                credential(vec![action(5, Suspension, "2024-06-01", None)], &[(3, "2024-07-01")]),
                "2024-08-01",
                vec![(Suspension, None)],
            ),
            (
                "reinstatement effective before the action: does not end it",
                credential(vec![action(2, Suspension, "2024-06-01", None)], &[(3, "2024-05-01")]),
                "2024-08-01",
                vec![(Suspension, None)],
            ),
            (
                "reinstatement before the end date: the reinstatement ended it",
                credential(
                    vec![action(2, Probation, "2024-06-01", Some("2024-09-01"))],
                    &[(3, "2024-07-01")],
                ),
                "2024-10-01",
                vec![(Probation, Some(Reinstated(day("2024-07-01"))))],
            ),
            (
                "end date before the reinstatement: the end date ended it",
                credential(
                    vec![action(2, Probation, "2024-06-01", Some("2024-09-01"))],
                    &[(3, "2024-09-15")],
                ),
                "2024-10-01",
                vec![(Probation, Some(EndDate(day("2024-09-01"))))],
            ),
            (
                "revocation never ends, whatever its record says",
                credential(
                    vec![action(2, Revocation, "2024-06-01", Some("2024-07-01"))],
                    &[(3, "2024-06-15")],
                ),
                "2025-01-01",
                vec![(Revocation, None)],
            ),
            (
                "surrender never ends",
                credential(
                    vec![action(2, VoluntarySurrender, "2024-06-01", None)],
                    &[(3, "2024-06-15")],
                ),
                "2025-01-01",
                vec![(VoluntarySurrender, None)],
            ),
            (
                "a reprimand stands; a later reinstatement lifts only the suspension",
                credential(
                    vec![
                        action(2, Reprimand, "2024-05-01", None),
                        action(3, Suspension, "2024-06-01", None),
                    ],
                    &[(4, "2024-07-01")],
                ),
                "2024-08-01",
                vec![(Reprimand, None), (Suspension, Some(Reinstated(day("2024-07-01"))))],
            ),
        ];
        for (case, credential, date, expected) in table {
            let date = day(date);
            let shown: Shown = credential
                .discipline_on(date)
                .iter()
                .map(|d| (d.discipline.kind, d.ended))
                .collect();
            assert_eq!(shown, expected, "{case}");
            for d in credential.discipline_on(date) {
                assert_eq!(
                    credential.in_force(&d.discipline, date),
                    d.ended.is_none(),
                    "{case}: in force exactly when shown without an end"
                );
            }
        }
    }
}
