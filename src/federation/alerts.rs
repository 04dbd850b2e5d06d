//! Alerts for the board: an origin credential this node relies on changed.
//!
//! A credential this node granted by reciprocity stands on an origin
//! credential in another state's log; so does a transfer evaluation not yet
//! followed by a grant. When the follower's verified copy of that log shows a
//! disciplinary action (revocation and voluntary surrender are among them)
//! recorded after the checkpoint the decision was based on, or the clock
//! passes the origin credential's expiry date, an alert is raised. Nothing
//! about this node's own credential changes: recording discipline here is the
//! board's decision. An alert stays open until the board acknowledges it with
//! a note.
//!
//! Alerts hold public-register facts only (states, numbers, kinds, dates, log
//! indices) and live in this node alone (`<data>/alerts.json`, readable only
//! by the node's user), never in its log. Each is keyed by what it is about,
//! so reading the same origin entries again (a restart, a re-follow) raises
//! nothing twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::fact::{DisciplineKind, TransferOutcome};
use crate::error::{Error, Result};
use crate::log::keys::LogKeys;
use crate::projection::Registry;
use crate::store::files;

/// The file alerts are kept in, inside the data directory.
pub const ALERTS_FILE: &str = "alerts.json";
/// Alerts kept at most; beyond it the oldest acknowledged ones are dropped,
/// and if all are open, new ones are refused (logged) until some are acknowledged.
pub const ALERTS_MAX: usize = 10_000;
/// Alerts in one `ListAlerts` page, at most (and by default).
pub const ALERTS_PAGE_MAX: usize = 100;
/// A note's length, at most, in characters.
pub const NOTE_CHARS_MAX: usize = 2_000;

/// What happened to the origin credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Happened {
    /// A disciplinary action, at `origin_index` in the origin's log.
    Discipline {
        kind: DisciplineKind,
        effective_on: NaiveDate,
        ends_on: Option<NaiveDate>,
        origin_index: u64,
    },
    /// The expiry date passed (by this node's clock).
    Expired { expires_on: NaiveDate },
}

impl Happened {
    /// What makes two alerts about one credential the same alert.
    fn key(&self) -> (u64, Option<NaiveDate>) {
        match self {
            Happened::Discipline { origin_index, .. } => (*origin_index, None),
            Happened::Expired { expires_on } => (0, Some(*expires_on)),
        }
    }
}

/// The board's closing of an alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub at_unix: i64,
    /// The token's name.
    pub by: String,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: u64,
    pub origin_state: String,
    pub origin_credential_number: String,
    /// This node's credential granted on that basis; `None` for a pending evaluation.
    pub credential_number: Option<String>,
    pub happened: Happened,
    pub raised_at_unix: i64,
    pub acknowledgement: Option<Acknowledgement>,
}

impl Alert {
    pub fn is_open(&self) -> bool {
        self.acknowledgement.is_none()
    }

    fn same_as(&self, candidate: &Candidate) -> bool {
        self.origin_state == candidate.origin_state
            && self.origin_credential_number == candidate.origin_credential_number
            && self.credential_number == candidate.credential_number
            && self.happened.key() == candidate.happened.key()
    }
}

/// An alert the copy calls for, before it is known to be new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub origin_state: String,
    pub origin_credential_number: String,
    pub credential_number: Option<String>,
    pub happened: Happened,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Book {
    /// The id the next alert gets (ids start at 1 and are never reused).
    next_id: u64,
    /// In id order.
    alerts: Vec<Alert>,
}

/// One page of alerts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub alerts: Vec<Alert>,
    /// Where the next page starts (`None`: this was the last).
    pub next_after_id: Option<u64>,
    pub open: u64,
}

/// This node's alerts, persisted in its data directory.
pub struct Alerts {
    path: PathBuf,
    book: Mutex<Book>,
    /// The id of the latest alert raised (watchers wake on it).
    latest: tokio::sync::watch::Sender<u64>,
}

impl Alerts {
    /// Opens the alerts kept in `data_dir` (none yet if the file is absent).
    pub fn open(data_dir: &Path) -> Result<Alerts> {
        let path = data_dir.join(ALERTS_FILE);
        let book = match files::read_optional(&path)? {
            None => Book {
                next_id: 1,
                alerts: Vec::new(),
            },
            Some(bytes) => serde_json::from_slice::<Book>(&bytes)
                .map_err(|e| Error::DataLoss(format!("{} is not a valid alerts file: {e}", path.display())))?,
        };
        let latest = book.alerts.last().map_or(0, |a| a.id);
        Ok(Alerts {
            path,
            book: Mutex::new(book),
            latest: tokio::sync::watch::channel(latest).0,
        })
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self, book: &Book) -> Result<()> {
        let json = serde_json::to_vec(book).map_err(|e| Error::Internal(format!("encoding the alerts: {e}")))?;
        files::write_atomic(&self.path, &json, files::Mode::Private)?;
        Ok(())
    }

    /// Raises each candidate not raised before; returns the new alerts.
    pub fn raise(&self, candidates: Vec<Candidate>, now_unix: i64) -> Result<Vec<Alert>> {
        let mut book = self.book();
        let fresh: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| !book.alerts.iter().any(|a| a.same_as(c)))
            .collect();
        if fresh.is_empty() {
            return Ok(Vec::new());
        }
        let mut updated = Book {
            next_id: book.next_id,
            alerts: book.alerts.clone(),
        };
        let mut raised = Vec::new();
        for candidate in fresh {
            if updated.alerts.iter().any(|a| a.same_as(&candidate)) {
                continue;
            }
            if !make_room(&mut updated.alerts) {
                tracing::error!(
                    max = ALERTS_MAX,
                    "an alert was not raised: every kept alert is open; acknowledge some"
                );
                break;
            }
            let alert = Alert {
                id: updated.next_id,
                origin_state: candidate.origin_state,
                origin_credential_number: candidate.origin_credential_number,
                credential_number: candidate.credential_number,
                happened: candidate.happened,
                raised_at_unix: now_unix,
                acknowledgement: None,
            };
            updated.next_id += 1;
            updated.alerts.push(alert.clone());
            raised.push(alert);
        }
        self.save(&updated)?;
        *book = updated;
        if let Some(last) = raised.last() {
            self.latest.send_replace(last.id);
        }
        Ok(raised)
    }

    /// Closes alert `id` with `note` (required, bounded), by token `by`.
    pub fn acknowledge(&self, id: u64, note: &str, by: &str, now_unix: i64) -> Result<Alert> {
        let note = note.trim();
        if note.is_empty() {
            return Err(Error::InvalidArgument(
                "note is required: say why the alert is closed (e.g. what the board decided)".into(),
            ));
        }
        if note.chars().count() > NOTE_CHARS_MAX {
            return Err(Error::InvalidArgument(format!(
                "note is longer than {NOTE_CHARS_MAX} characters"
            )));
        }
        let mut book = self.book();
        let position = book
            .alerts
            .iter()
            .position(|a| a.id == id)
            .ok_or_else(|| Error::NotFound(format!("no alert {id}")))?;
        if !book.alerts[position].is_open() {
            return Err(Error::FailedPrecondition(format!("alert {id} is already acknowledged")));
        }
        let mut alerts = book.alerts.clone();
        alerts[position].acknowledgement = Some(Acknowledgement {
            at_unix: now_unix,
            by: by.to_string(),
            note: note.to_string(),
        });
        let updated = Book {
            next_id: book.next_id,
            alerts,
        };
        self.save(&updated)?;
        *book = updated;
        Ok(book.alerts[position].clone())
    }

    /// Alerts after `after_id`, at most `limit` (open ones only unless `include_acknowledged`).
    pub fn list(&self, after_id: u64, limit: usize, include_acknowledged: bool) -> Page {
        let book = self.book();
        let limit = limit.clamp(1, ALERTS_PAGE_MAX);
        let mut matching = book
            .alerts
            .iter()
            .filter(|a| a.id > after_id && (include_acknowledged || a.is_open()));
        let alerts: Vec<Alert> = matching.by_ref().take(limit).cloned().collect();
        let more = matching.next().is_some();
        Page {
            next_after_id: alerts.last().filter(|_| more).map(|a| a.id),
            alerts,
            open: open_count(&book.alerts),
        }
    }

    pub fn open_count(&self) -> u64 {
        open_count(&self.book().alerts)
    }

    /// Wakes when an alert is raised (the value is the latest id).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.latest.subscribe()
    }
}

fn open_count(alerts: &[Alert]) -> u64 {
    alerts.iter().filter(|a| a.is_open()).count() as u64
}

/// Frees a place for one more alert if the book is full, dropping the oldest
/// acknowledged one; false if every kept alert is open.
fn make_room(alerts: &mut Vec<Alert>) -> bool {
    if alerts.len() < ALERTS_MAX {
        return true;
    }
    match alerts.iter().position(|a| !a.is_open()) {
        Some(oldest) => {
            alerts.remove(oldest);
            true
        }
        None => false,
    }
}

/// What this node's decisions stand on in `origin_state`: for each origin
/// credential, the own credentials granted on it (`None` for a pending
/// evaluation) with the origin log size the decision saw.
fn bases(own: &Registry, origin_state: &str, keys: &LogKeys) -> BTreeMap<String, Vec<(Option<String>, u64)>> {
    let seen = |note: &[u8]| keys.open_checkpoint(note).map_or(0, |c| c.size);
    let mut bases: BTreeMap<String, Vec<(Option<String>, u64)>> = BTreeMap::new();
    let mut granted = BTreeSet::new();
    for credential in own.credentials.values() {
        let Some(basis) = credential
            .reciprocity
            .as_ref()
            .filter(|b| b.origin_state == origin_state)
        else {
            continue;
        };
        granted.insert(basis.origin_credential_number.clone());
        bases
            .entry(basis.origin_credential_number.clone())
            .or_default()
            .push((Some(credential.number.clone()), seen(&basis.origin_checkpoint)));
    }
    let pending = own.evaluations.iter().filter(|((state, number), e)| {
        state == origin_state && !granted.contains(number) && e.outcome != TransferOutcome::Denied
    });
    for ((_, number), evaluation) in pending {
        bases
            .entry(number.clone())
            .or_default()
            .push((None, seen(&evaluation.origin_checkpoint)));
    }
    bases
}

/// The alerts `copy` (the verified copy of `origin_state`'s log) calls for on
/// `today`, given this node's registry `own`: each disciplinary action on a
/// basis credential recorded at or after the size its decision saw, and each
/// passed expiry date.
pub fn candidates(
    own: &Registry,
    origin_state: &str,
    keys: &LogKeys,
    copy: &Registry,
    today: NaiveDate,
) -> Vec<Candidate> {
    let mut found = Vec::new();
    for (number, decisions) in bases(own, origin_state, keys) {
        let Some(origin) = copy.credential(&number) else {
            continue;
        };
        let expires_on = origin.expires_on_as_of(today);
        for (credential_number, seen_size) in decisions {
            let candidate = |happened| Candidate {
                origin_state: origin_state.to_string(),
                origin_credential_number: number.clone(),
                credential_number: credential_number.clone(),
                happened,
            };
            for action in origin.discipline.iter().filter(|d| d.index >= seen_size) {
                found.push(candidate(Happened::Discipline {
                    kind: action.kind,
                    effective_on: action.effective_on,
                    ends_on: action.ends_on,
                    origin_index: action.index,
                }));
            }
            if today > expires_on {
                found.push(candidate(Happened::Expired { expires_on }));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::note::Checkpoint;

    fn candidate(index: u64) -> Candidate {
        Candidate {
            origin_state: "MS".into(),
            origin_credential_number: "MS-1".into(),
            credential_number: Some("TN-1".into()),
            happened: Happened::Discipline {
                kind: DisciplineKind::Suspension,
                effective_on: NaiveDate::from_ymd_opt(2026, 1, 2).expect("a date"),
                ends_on: None,
                origin_index: index,
            },
        }
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    /// MS's key, and a checkpoint note of `size` entries signed with it.
    fn ms_key() -> crate::log::note::NoteSigner {
        crate::log::note::NoteSigner::from_seed("peerreg.local/ms", [7; 32]).expect("a key")
    }

    fn note(size: u64) -> Vec<u8> {
        let checkpoint = Checkpoint {
            origin: "peerreg.local/ms".into(),
            size,
            root: [0; 32],
        };
        checkpoint.sign(&ms_key()).into_bytes()
    }

    fn credential(number: &str, expires: &str, basis: Option<(&str, u64)>) -> crate::domain::records::Credential {
        crate::domain::records::Credential {
            number: number.into(),
            peer_id: "P".into(),
            credential_type: crate::domain::fact::CredentialType::PeerSupportSpecialist,
            issued_on: date("2025-01-01"),
            initial_expires_on: date(expires),
            reciprocity: basis.map(|(origin, size)| crate::domain::fact::ReciprocityBasis {
                origin_state: "MS".into(),
                origin_credential_number: origin.into(),
                origin_checkpoint: note(size),
            }),
            imported: None,
            renewals: Vec::new(),
            discipline: Vec::new(),
            reinstatements: Vec::new(),
            events: vec![0],
        }
    }

    fn evaluation(number: &str, outcome: TransferOutcome, size: u64) -> crate::domain::fact::Evaluation {
        crate::domain::fact::Evaluation {
            index: 1,
            origin_state: "MS".into(),
            origin_credential_number: number.into(),
            origin_checkpoint: note(size),
            outcome,
            denials: Vec::new(),
            gaps: Vec::new(),
            evaluated_on: date("2026-01-01"),
            local_peer_id: None,
            holder_name: String::new(),
        }
    }

    fn suspended_at(mut origin: crate::domain::records::Credential, index: u64) -> crate::domain::records::Credential {
        origin.discipline.push(crate::domain::fact::Discipline {
            index,
            kind: DisciplineKind::Suspension,
            effective_on: date("2026-02-01"),
            ends_on: None,
            public_summary: String::new(),
        });
        origin
    }

    /// Who is alerted about what, one rule at a time.
    #[test]
    fn candidates_follow_grants_and_pending_evaluations_after_what_they_saw() {
        let today = date("2026-03-01");
        let mut own = Registry::default();
        // TN-1 was granted on MS-1 seen at size 10; MS-2 is pending (conditional),
        // MS-3 was denied, MS-4 approved but seen after its suspension.
        own.credentials
            .insert("TN-1".into(), credential("TN-1", "2028-01-01", Some(("MS-1", 10))));
        own.credentials
            .insert("TN-9".into(), credential("TN-9", "2028-01-01", None));
        for (number, outcome, size) in [
            ("MS-1", TransferOutcome::Approved, 10),
            ("MS-2", TransferOutcome::Conditional, 10),
            ("MS-3", TransferOutcome::Denied, 10),
            ("MS-4", TransferOutcome::Approved, 30),
        ] {
            own.evaluations
                .insert(("MS".into(), number.into()), evaluation(number, outcome, size));
        }
        let mut copy = Registry::default();
        for number in ["MS-1", "MS-2", "MS-3", "MS-4"] {
            copy.credentials
                .insert(number.into(), suspended_at(credential(number, "2027-01-01", None), 20));
        }
        copy.credentials
            .insert("MS-5".into(), credential("MS-5", "2027-01-01", None));
        let found = candidates(&own, "MS", &LogKeys::new(ms_key().verifier().clone()), &copy, today);
        let about: Vec<(&str, Option<&str>)> = found
            .iter()
            .map(|c| (c.origin_credential_number.as_str(), c.credential_number.as_deref()))
            .collect();
        assert_eq!(about, [("MS-1", Some("TN-1")), ("MS-2", None)], "{found:#?}");
        assert!(
            candidates(&own, "VA", &LogKeys::new(ms_key().verifier().clone()), &copy, today).is_empty(),
            "another state's copy"
        );

        // Expiry by the clock: once the date has passed, keyed by that date.
        let expired = candidates(
            &own,
            "MS",
            &LogKeys::new(ms_key().verifier().clone()),
            &copy,
            date("2027-01-02"),
        );
        let expiries: Vec<_> = expired
            .iter()
            .filter(|c| matches!(c.happened, Happened::Expired { .. }))
            .map(|c| (c.origin_credential_number.as_str(), &c.happened))
            .collect();
        let on = Happened::Expired {
            expires_on: date("2027-01-01"),
        };
        assert_eq!(expiries, [("MS-1", &on), ("MS-2", &on), ("MS-4", &on)]);
        assert!(candidates(
            &own,
            "MS",
            &LogKeys::new(ms_key().verifier().clone()),
            &copy,
            date("2027-01-01")
        )
        .iter()
        .all(|c| !matches!(c.happened, Happened::Expired { .. })));
    }

    #[test]
    fn alerts_are_raised_once_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let alerts = Alerts::open(dir.path()).expect("opens");
        let raised = alerts.raise(vec![candidate(7), candidate(7)], 100).expect("raised");
        assert_eq!(raised.len(), 1, "one alert per origin entry");
        assert!(alerts.raise(vec![candidate(7)], 101).expect("again").is_empty());
        drop(alerts);
        let reopened = Alerts::open(dir.path()).expect("reopens");
        assert!(reopened
            .raise(vec![candidate(7)], 102)
            .expect("after reopen")
            .is_empty());
        assert_eq!(reopened.raise(vec![candidate(9)], 103).expect("new").len(), 1);
        assert_eq!(reopened.open_count(), 2);
    }

    #[test]
    fn acknowledging_needs_a_note_and_a_known_open_alert() {
        let dir = tempfile::tempdir().expect("temp dir");
        let alerts = Alerts::open(dir.path()).expect("opens");
        let id = alerts.raise(vec![candidate(7)], 100).expect("raised")[0].id;
        assert!(matches!(
            alerts.acknowledge(id, "  ", "admin", 1),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            alerts.acknowledge(99, "x", "admin", 1),
            Err(Error::NotFound(_))
        ));
        let closed = alerts.acknowledge(id, "recorded here too", "admin", 1).expect("closed");
        assert_eq!(closed.acknowledgement.map(|a| a.note), Some("recorded here too".into()));
        assert!(matches!(
            alerts.acknowledge(id, "x", "admin", 1),
            Err(Error::FailedPrecondition(_))
        ));
        assert!(alerts.list(0, 10, false).alerts.is_empty());
        assert_eq!(alerts.list(0, 10, true).alerts.len(), 1);
        assert_eq!(alerts.open_count(), 0);
    }

    #[test]
    fn pages_are_bounded_and_say_where_the_next_starts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let alerts = Alerts::open(dir.path()).expect("opens");
        alerts.raise((10..15).map(candidate).collect(), 1).expect("raised");
        let first = alerts.list(0, 2, false);
        assert_eq!(first.alerts.iter().map(|a| a.id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(first.next_after_id, Some(2));
        let last = alerts.list(4, 2, false);
        assert_eq!(last.alerts.len(), 1);
        assert_eq!(last.next_after_id, None);
    }

    #[test]
    fn a_full_book_drops_the_oldest_acknowledged_alert_and_keeps_open_ones() {
        let mut kept: Vec<Alert> = (1..=ALERTS_MAX as u64)
            .map(|id| Alert {
                id,
                origin_state: "MS".into(),
                origin_credential_number: "MS-1".into(),
                credential_number: None,
                happened: Happened::Expired {
                    expires_on: NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date"),
                },
                raised_at_unix: 0,
                acknowledgement: None,
            })
            .collect();
        assert!(!make_room(&mut kept), "every alert open: nothing is dropped");
        kept[3].acknowledgement = Some(Acknowledgement {
            at_unix: 0,
            by: "admin".into(),
            note: "seen".into(),
        });
        assert!(make_room(&mut kept));
        assert_eq!(kept.len(), ALERTS_MAX - 1);
        assert!(kept.iter().all(Alert::is_open));
    }
}
