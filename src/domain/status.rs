//! A credential's status on a date, computed from its events, never stored.
//!
//! Precedence, highest first: revoked / surrendered > suspended > expired >
//! encumbered (probation, restriction) > active; before its issue date a
//! credential is not yet valid. A discipline is *in force* on day D when it is
//! effective on or before D, has not ended (its `ends_on` is after D), and no
//! reinstatement effective between its start and D lifted it. Revocation and
//! surrender are never lifted. Expiry on D uses only renewals recorded on or
//! before D, so status-as-of(D) depends only on events effective by D.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::fact::{Discipline, DisciplineKind};
use super::records::Credential;

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

    /// Is `discipline` in force on `date`?
    pub fn in_force(&self, discipline: &Discipline, date: NaiveDate) -> bool {
        if discipline.effective_on > date {
            return false;
        }
        // Permanent, whatever a (foreign, malformed) record says about an end.
        let permanent = matches!(
            discipline.kind,
            DisciplineKind::Revocation | DisciplineKind::VoluntarySurrender
        );
        if permanent {
            return true;
        }
        if discipline.ends_on.is_some_and(|end| end <= date) {
            return false;
        }
        !self
            .reinstatements
            .iter()
            .any(|r| r.index > discipline.index && r.effective_on >= discipline.effective_on && r.effective_on <= date)
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

    /// The public discipline record: kind, dates and summary of each action.
    pub fn public_discipline(&self) -> &[Discipline] {
        &self.discipline
    }
}
