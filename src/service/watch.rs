//! `WatchCredentials`: an employer's live view of the people they employ.
//!
//! Each stream keeps a small registry of only the watched credentials, built
//! from their own log entries, and applies each new entry about them in log
//! order, reporting the resulting status with the entry's index. A clock tick
//! re-checks status by date, so a credential lapsing on its expiry date is
//! reported although no event is appended.

use crate::domain::sealed::{unseal, NoOpenings};
use std::collections::{BTreeSet, HashMap};

use tokio::sync::mpsc;
use tonic::Status;

use super::convert;
use super::requests::WatchQuery;
use super::transparency::send_or_cut_off;
use crate::domain::fact::{quote, Fact};
use crate::domain::status::Status as CredentialStatus;
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

fn reason(fact: &Fact) -> String {
    match fact {
        Fact::CredentialIssued(_) => "issued".into(),
        Fact::CredentialRenewed { .. } => "renewed".into(),
        Fact::DisciplinaryAction { discipline, .. } => format!("{:?}", discipline.kind).to_lowercase(),
        Fact::CredentialReinstated { .. } => "reinstated".into(),
        _ => "changed".into(),
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
        reason: String,
        initial: bool,
    ) -> pb::CredentialChange {
        pb::CredentialChange {
            credential_number: number.to_string(),
            index,
            status: convert::status(status) as i32,
            reason,
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
            self.reported.insert(number.clone(), status);
            let change = self.change(&number, index, status, reason(&fact), false);
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
            if self.reported.get(&number) != Some(&status) {
                self.reported.insert(number.clone(), status);
                let change = self.change(&number, size, status, "expired".into(), false);
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
            let change = watch.change(&number, size, status, "current status".into(), true);
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
