//! Dry runs: a batch judged exactly as [`Ledger::append_many`] would judge it,
//! with nothing recorded. Each command goes through the same steps as on the
//! writer — the event id's form, its earlier use (a retry of a logged or an
//! earlier command is a duplicate; the id reused for another command is
//! `ALREADY_EXISTS`), the one parser, `rules::check` against the registry
//! plus the effects of the batch's earlier accepted commands — and stops
//! before sealing: no entry, no private record, no event-id index change, no
//! person key.
//!
//! Bound: O(batch) work and memory, never O(registry). The read view is taken
//! as a handle (its maps are persistent: the clone shares them and copies
//! nothing), and a [`projection::overlay::Overlay`] copies only the peers,
//! credentials and evaluations the batch's commands change; each command costs
//! map look-ups and at most one event-id look-up in the store.
//!
//! What a dry run cannot foresee: a concurrent append between the dry run and
//! the real run, the store or the disk failing during the real run, and the
//! encoded entry exceeding `limits::ENTRY_BYTES_MAX` (batch bodies are bounded
//! far below it).

use std::collections::HashMap;

use super::committer::{earlier_use, logged_event_id, not_halted};
use super::private::NodeKeys;
use super::{check_event_id, lock, Ledger};
use crate::domain::commitment::Bytes32;
use crate::domain::fact::Fact;
use crate::domain::rules;
use crate::error::{Error, Result};
use crate::pb::command::Body;
use crate::projection::overlay::Overlay;
use crate::vault::Vault;

/// What a real run would do with one command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Judged {
    /// For a duplicate of a logged entry, its index; otherwise 0 (a new entry
    /// has no index until it is recorded).
    pub index: u64,
    /// True when the event id was already used for this very command.
    pub duplicate: bool,
}

/// The state one dry run judges against.
struct Judge<'a> {
    ledger: &'a Ledger,
    vault: Vault,
    keys: NodeKeys,
    overlay: Overlay<'a>,
    today: chrono::NaiveDate,
    /// Keyed event ids the batch would record so far, with their fingerprints.
    seen: HashMap<String, Bytes32>,
}

impl Ledger {
    /// Judges `items` in order as [`Ledger::append_many`] would and records
    /// nothing; each result is what that command's result would be. Refused
    /// as a whole where an append would be: on a mirror, after a halt.
    pub async fn dry_run(&self, items: Vec<(String, Body)>) -> Result<Vec<Result<Judged>>> {
        let ledger = self.clone();
        tokio::task::spawn_blocking(move || ledger.judge_batch(items))
            .await
            .map_err(|e| Error::Internal(format!("a dry run stopped: {e}")))?
    }

    fn judge_batch(&self, items: Vec<(String, Body)>) -> Result<Vec<Result<Judged>>> {
        self.writer()?;
        not_halted(&self.shared)?;
        let vault = lock(&self.shared.vault)
            .clone()
            .ok_or_else(|| Error::FailedPrecondition("this node keeps no private store to judge against".into()))?;
        // O(1): the registry's maps are persistent; the overlay copies records.
        let registry = self.shared.registry.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut judge = Judge {
            ledger: self,
            keys: NodeKeys::new(&vault),
            vault,
            overlay: Overlay::new(&registry),
            today: self.shared.clock.today(),
            seen: HashMap::new(),
        };
        Ok(items
            .into_iter()
            .map(|(event_id, body)| judge.one(&event_id, body))
            .collect())
    }
}

impl Judge<'_> {
    /// One command, judged against the registry and the batch so far.
    fn one(&mut self, client_event_id: &str, body: Body) -> Result<Judged> {
        check_event_id(client_event_id)?;
        if matches!(body, Body::Expunge(_) | Body::Void(_)) {
            return Err(Error::InvalidArgument(
                "expungements and voids are not batch commands; a dry run does not judge them".into(),
            ));
        }
        let event_id = self.keys.event_id(client_event_id);
        let fingerprint = self.keys.fingerprint(&body);
        let found = match self.seen.get(&event_id) {
            Some(earlier) => Some((0, Some(*earlier))),
            None => logged_event_id(&self.ledger.shared, &self.vault, &event_id)?,
        };
        if let Some(index) = earlier_use(found, &fingerprint, client_event_id)? {
            return Ok(Judged { index, duplicate: true });
        }
        let fact = Fact::try_from(body)?;
        rules::check(&self.overlay, &self.ledger.shared.profile, &fact, self.today)?;
        self.overlay.apply(fact);
        self.seen.insert(event_id, fingerprint);
        Ok(Judged {
            index: 0,
            duplicate: false,
        })
    }
}
