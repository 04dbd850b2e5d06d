//! `WatchCredentials`: an employer's live view of the people they employ.
//!
//! Each stream keeps a small registry of only the watched credentials, built
//! from their own log entries, and applies each new entry about them in log
//! order, reporting the resulting status with the entry's index. A clock tick
//! re-checks status by date, so a credential lapsing on its expiry date is
//! reported although no event is appended. Every reason comes from one
//! table (`reason`).

use crate::domain::sealed::{unseal, NoOpenings};
use std::collections::{BTreeSet, HashMap};

use tokio::sync::mpsc;
use tonic::Status;

use super::convert;
use super::requests::WatchQuery;
use super::transparency::send_or_cut_off;
use crate::domain::fact::DisciplineKind;
use crate::domain::fact::{quote, Fact};
use crate::domain::status::{action_name, Status as CredentialStatus};
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::limits;
use crate::log::entry::decode_entry;
use crate::pb;
use crate::projection::Registry;

type ChangeSender = mpsc::Sender<Result<pb::CredentialChange, Status>>;

/// Unknown numbers named in a refusal, at most (the rest are counted).
const UNKNOWN_NAMED_MAX: usize = 5;

/// Refuses a watch on numbers this registry does not hold, naming a few.
pub fn check_known(ledger: &Ledger, numbers: &BTreeSet<String>) -> Result<()> {
    let registry = ledger.registry();
    let unknown: Vec<&String> = numbers.iter().filter(|n| registry.credential(n).is_none()).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = unknown.iter().take(UNKNOWN_NAMED_MAX).map(|n| quote(n)).collect();
    let more = unknown.len() - named.len();
    let rest = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Err(Error::NotFound(format!(
        "unknown credential numbers: {}{rest}",
        named.join(", ")
    )))
}

/// The watched credentials' own event indices in `[from, to)`, in log order.
fn watched_indices(registry: &Registry, numbers: &BTreeSet<String>, from: u64, to: u64) -> Vec<u64> {
    let mut indices: Vec<u64> = numbers
        .iter()
        .filter_map(|n| registry.credential(n))
        .flat_map(|c| c.events.iter().copied().filter(|&i| i >= from && i < to))
        .collect();
    indices.sort_unstable();
    indices
}

/// The fact recorded at `index` (read verified from the log).
fn fact_at(ledger: &Ledger, index: u64) -> Result<Option<Fact>> {
    let entries = ledger.entries(index, index + 1)?;
    let entry = entries
        .first()
        .ok_or_else(|| Error::DataLoss(format!("entry {index} is missing")))?;
    let (_, event) = decode_entry(index, entry).map_err(|e| Error::DataLoss(e.to_string()))?;
    // Reasons need only what the public body says.
    event.body.map(|body| unseal(body, &NoOpenings)).transpose()
}

/// What moved a watched credential's status: an entry of the log, or the
/// clock alone (a date passing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    Issued,
    Renewed,
    Discipline(DisciplineKind),
    Reinstated,
    /// Another entry about the credential.
    OtherEntry,
    Clock,
}

impl Cause {
    fn of(fact: &Fact) -> Cause {
        match fact {
            Fact::CredentialIssued(_) => Cause::Issued,
            Fact::CredentialRenewed { .. } => Cause::Renewed,
            Fact::DisciplinaryAction { discipline, .. } => Cause::Discipline(discipline.kind),
            Fact::CredentialReinstated { .. } => Cause::Reinstated,
            _ => Cause::OtherEntry,
        }
    }
}

/// The one table of reasons a watcher reads, for a change from `from` to
/// `to`. An entry names itself; a change by the clock alone is named by what
/// the date did: "expired" only for an expiry, otherwise the action that took
/// effect or ended (status precedence decides which: see `domain::status`).
pub fn reason(from: CredentialStatus, to: CredentialStatus, cause: Cause) -> &'static str {
    use CredentialStatus as S;
    match cause {
        Cause::Issued => "issued",
        Cause::Renewed => "renewed",
        Cause::Discipline(kind) => action_name(kind),
        Cause::Reinstated => "reinstated",
        Cause::OtherEntry => "changed",
        Cause::Clock => match (from, to) {
            (S::NotYetValid, _) => "took effect",
            (S::Suspended, S::Expired) => "suspension ended, expired",
            (_, S::Expired) => "expired",
            (_, S::Revoked) => "revocation took effect",
            (_, S::Surrendered) => "surrender took effect",
            (_, S::Suspended) => "suspension took effect",
            (S::Suspended, _) => "suspension ended",
            (S::Expired, _) => "renewal took effect",
            (_, S::Probation) => "probation took effect",
            (S::Probation, _) => "probation ended",
            (_, S::Restricted) => "restriction took effect",
            (S::Restricted, _) => "restriction ended",
            _ => "changed by date",
        },
    }
}

struct Watch {
    ledger: Ledger,
    numbers: BTreeSet<String>,
    /// Only the watched credentials, replayed from their entries.
    local: Registry,
    /// The status last reported for each.
    reported: HashMap<String, CredentialStatus>,
    sender: ChangeSender,
}

impl Watch {
    fn change(
        &self,
        number: &str,
        index: u64,
        status: CredentialStatus,
        reason: &str,
        initial: bool,
    ) -> pb::CredentialChange {
        pb::CredentialChange {
            credential_number: number.to_string(),
            index,
            status: convert::status(status) as i32,
            reason: reason.to_string(),
            as_of: convert::date(self.ledger.today()),
            initial,
        }
    }

    /// Applies the watched entries in `[from, to)`; `report` sends a change for each.
    async fn apply(&mut self, from: u64, to: u64, report: bool) -> Result<bool> {
        let indices = watched_indices(&self.ledger.registry(), &self.numbers, from, to);
        for index in indices {
            let Some(fact) = fact_at(&self.ledger, index)? else {
                continue;
            };
            self.local.apply(index, &fact);
            if !report {
                continue;
            }
            let number = fact.subject().to_string();
            let status = self.status(&number);
            let before = self.reported.insert(number.clone(), status);
            let why = reason(before.unwrap_or(status), status, Cause::of(&fact));
            let change = self.change(&number, index, status, why, false);
            if !send_or_cut_off(&self.sender, Ok(change)).await {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn status(&self, number: &str) -> CredentialStatus {
        let today = self.ledger.today();
        self.local
            .credential(number)
            .map_or(CredentialStatus::NotYetValid, |c| c.status_on(today))
    }

    /// Reports every credential whose status changed by the clock alone.
    async fn tick(&mut self) -> bool {
        let size = self.ledger.published().checkpoint.size;
        for number in self.numbers.clone() {
            let status = self.status(&number);
            let before = self.reported.get(&number).copied();
            if before != Some(status) {
                self.reported.insert(number.clone(), status);
                let why = reason(before.unwrap_or(CredentialStatus::NotYetValid), status, Cause::Clock);
                let change = self.change(&number, size, status, why, false);
                if !send_or_cut_off(&self.sender, Ok(change)).await {
                    return false;
                }
            }
        }
        true
    }
}

/// Runs one stream until the client leaves, falls behind, or the node stops.
pub async fn run(ledger: Ledger, query: WatchQuery, sender: ChangeSender) {
    let WatchQuery {
        credential_numbers: numbers,
        from_index,
    } = query;
    let mut published = ledger.subscribe();
    let mut watch = Watch {
        ledger,
        numbers,
        local: Registry::default(),
        reported: HashMap::new(),
        sender,
    };
    let size = published.borrow_and_update().checkpoint.size;
    let from = from_index.min(size);
    let outcome = async {
        watch.apply(0, from, false).await?;
        let mut current = watch.local.clone();
        replay_to(&watch, &mut current, from, size).await?;
        for number in watch.numbers.clone() {
            let status = current
                .credential(&number)
                .map_or(CredentialStatus::NotYetValid, |c| c.status_on(watch.ledger.today()));
            let change = watch.change(&number, size, status, "current status", true);
            if !send_or_cut_off(&watch.sender, Ok(change)).await {
                return Ok(false);
            }
        }
        let mut cursor = from;
        if !watch.apply(cursor, size, true).await? {
            return Ok(false);
        }
        for number in watch.numbers.clone() {
            let status = watch.status(&number);
            watch.reported.insert(number, status);
        }
        cursor = size;
        let mut ticks = tokio::time::interval(limits::WATCH_CLOCK_TICK);
        loop {
            tokio::select! {
                changed = published.changed() => {
                    if changed.is_err() { return Ok(true) }
                    let size = published.borrow_and_update().checkpoint.size;
                    if !watch.apply(cursor, size, true).await? { return Ok(false) }
                    cursor = size;
                }
                _ = ticks.tick() => if !watch.tick().await { return Ok(false) },
                () = watch.sender.closed() => return Ok(false),
            }
        }
    };
    let ended: Result<bool> = outcome.await;
    if let Err(error) = ended {
        let _ = watch.sender.try_send(Err(error.into()));
    }
}

/// Brings a copy of the local registry to `to`, for the initial report.
async fn replay_to(watch: &Watch, registry: &mut Registry, from: u64, to: u64) -> Result<()> {
    for index in watched_indices(&watch.ledger.registry(), &watch.numbers, from, to) {
        if let Some(fact) = fact_at(&watch.ledger, index)? {
            registry.apply(index, &fact);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{reason, Cause};
    use crate::domain::fact::DisciplineKind;
    use crate::domain::status::Status as S;

    /// Each row alone: a change by the clock is named by what the date did.
    #[test]
    fn clock_reasons_name_what_the_date_did() {
        let table = [
            (S::Active, S::Expired, "expired"),
            (S::Probation, S::Expired, "expired"),
            (S::Restricted, S::Expired, "expired"),
            (S::Suspended, S::Expired, "suspension ended, expired"),
            (S::Suspended, S::Active, "suspension ended"),
            (S::Suspended, S::Probation, "suspension ended"),
            (S::Probation, S::Active, "probation ended"),
            (S::Probation, S::Restricted, "probation ended"),
            (S::Restricted, S::Active, "restriction ended"),
            (S::Active, S::Suspended, "suspension took effect"),
            (S::Probation, S::Suspended, "suspension took effect"),
            (S::Active, S::Probation, "probation took effect"),
            (S::Restricted, S::Probation, "probation took effect"),
            (S::Active, S::Restricted, "restriction took effect"),
            (S::Active, S::Revoked, "revocation took effect"),
            (S::Suspended, S::Surrendered, "surrender took effect"),
            (S::Expired, S::Active, "renewal took effect"),
            (S::NotYetValid, S::Active, "took effect"),
        ];
        for (from, to, expected) in table {
            assert_eq!(reason(from, to, Cause::Clock), expected, "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn entry_reasons_name_the_entry_whatever_the_statuses() {
        let table = [
            (Cause::Issued, "issued"),
            (Cause::Renewed, "renewed"),
            (Cause::Reinstated, "reinstated"),
            (Cause::Discipline(DisciplineKind::Suspension), "suspension"),
            (
                Cause::Discipline(DisciplineKind::VoluntarySurrender),
                "voluntary surrender",
            ),
            (Cause::OtherEntry, "changed"),
        ];
        for (cause, expected) in table {
            assert_eq!(reason(S::Active, S::Expired, cause), expected, "{cause:?}");
        }
    }
}
