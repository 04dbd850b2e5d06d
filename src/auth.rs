//! Who may write. Board operations need a bearer token; the node keeps only the
//! SHA-256 of each token, with a name and the operations it may perform, and
//! compares hashes in constant time against every entry (no early exit).
//! Tokens never appear in logs; names do.
//!
//! The table can change while the node runs (the `Admin` service): a change is
//! written to the token file first, then the table is swapped whole, so a
//! revoked token fails on its very next call and an added one works at once.
//! A token with an expiry is checked against the node's clock on every call.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::store::files;

/// At most this many tokens in a node's table.
pub const TOKENS_MAX: usize = 1_000;
/// A token name: 1 to this many characters of `A-Z a-z 0-9 . _ -`.
pub const TOKEN_NAME_CHARS_MAX: usize = 64;
/// An operator-chosen secret: at least this many characters...
pub const SECRET_CHARS_MIN: usize = 32;
/// ...and at most this many (it travels in a header).
pub const SECRET_CHARS_MAX: usize = 256;
/// ...with at least this many distinct characters (32 random hex digits, 128
/// bits, almost always have 12 or more).
pub const SECRET_DISTINCT_MIN: usize = 10;

/// One kind of board operation, as named in token permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    EnrollPeer,
    ChangeName,
    RecordTraining,
    RecordExperience,
    RecordExam,
    IssueCredential,
    RecordContinuingEducation,
    RenewCredential,
    RecordDiscipline,
    ReinstateCredential,
    /// Read a peer's full record (training, attestations): boards only.
    ViewRecords,
    /// Evaluate (and record a decision on) a transfer from another state.
    EvaluateTransfer,
    /// Record a person's consent to disclose their record to another state.
    RecordConsent,
    /// Expunge a record or a whole person (destroys their private records).
    Expunge,
    /// Void a record entered in error.
    VoidRecord,
    /// See the alerts raised about origin credentials this node relies on.
    ViewAlerts,
    /// Close an alert with a note.
    AcknowledgeAlerts,
    /// Waive a named gap of a transfer, with a reason (reviewer discretion).
    RecordWaiver,
    /// Record evidence for an initial-certification requirement.
    RecordEvidence,
    /// Add, list and revoke tokens on the running node.
    AdminTokens,
    /// Record what `peerreg import` brings in: credentials with an imported
    /// basis, imported renewals, import provenance. Needed *instead of* the
    /// usual right of such a command, so that a token that may issue or
    /// renew cannot record history that bypasses the requirements.
    ImportRecords,
    /// Add, list and remove trusted states on the running node.
    AdminTrust,
    /// Take a backup of the running node's data.
    AdminBackup,
    /// Rotate the log's signing key (`peerreg key rotate`).
    AdminKeys,
}

impl Operation {
    pub const ALL: [Operation; 24] = [
        Operation::EnrollPeer,
        Operation::ChangeName,
        Operation::RecordTraining,
        Operation::RecordExperience,
        Operation::RecordExam,
        Operation::IssueCredential,
        Operation::RecordContinuingEducation,
        Operation::RenewCredential,
        Operation::RecordDiscipline,
        Operation::ReinstateCredential,
        Operation::ViewRecords,
        Operation::EvaluateTransfer,
        Operation::RecordConsent,
        Operation::Expunge,
        Operation::VoidRecord,
        Operation::ViewAlerts,
        Operation::AcknowledgeAlerts,
        Operation::RecordWaiver,
        Operation::RecordEvidence,
        Operation::AdminTokens,
        Operation::ImportRecords,
        Operation::AdminTrust,
        Operation::AdminBackup,
        Operation::AdminKeys,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::EnrollPeer => "enroll_peer",
            Operation::ChangeName => "change_name",
            Operation::RecordTraining => "record_training",
            Operation::RecordExperience => "record_experience",
            Operation::RecordExam => "record_exam",
            Operation::IssueCredential => "issue_credential",
            Operation::RecordContinuingEducation => "record_continuing_education",
            Operation::RenewCredential => "renew_credential",
            Operation::RecordDiscipline => "record_discipline",
            Operation::ReinstateCredential => "reinstate_credential",
            Operation::ViewRecords => "view_records",
            Operation::EvaluateTransfer => "evaluate_transfer",
            Operation::RecordConsent => "record_consent",
            Operation::Expunge => "expunge",
            Operation::VoidRecord => "void_record",
            Operation::ViewAlerts => "view_alerts",
            Operation::AcknowledgeAlerts => "acknowledge_alerts",
            Operation::RecordWaiver => "record_waiver",
            Operation::RecordEvidence => "record_evidence",
            Operation::AdminTokens => "admin_tokens",
            Operation::ImportRecords => "import_records",
            Operation::AdminTrust => "admin_trust",
            Operation::AdminBackup => "admin_backup",
            Operation::AdminKeys => "admin_keys",
        }
    }

    fn parse(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// A token as configured: its name, the hex SHA-256 of the secret, and the
/// operations it may perform (`"*"` for all).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub name: String,
    pub sha256: String,
    pub operations: Vec<String>,
}

/// A token as kept in the node's token file: a [`TokenEntry`] with, for
/// tokens added while the node runs, when it was added and when it expires
/// (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredToken {
    pub name: String,
    pub sha256: String,
    pub operations: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl From<&TokenEntry> for StoredToken {
    fn from(entry: &TokenEntry) -> StoredToken {
        StoredToken {
            name: entry.name.clone(),
            sha256: entry.sha256.clone(),
            operations: entry.operations.clone(),
            created_at: None,
            expires_at: None,
        }
    }
}

/// The token file in the data directory (`tokens.toml`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    pub tokens: Vec<StoredToken>,
}

impl TokenFile {
    pub fn encode(&self) -> Result<Vec<u8>> {
        toml::to_string(self)
            .map(String::into_bytes)
            .map_err(|e| Error::Internal(format!("encoding tokens: {e}")))
    }
}

struct Token {
    name: String,
    hash: [u8; 32],
    operations: BTreeSet<Operation>,
    expires_at: Option<i64>,
}

/// One table of tokens, never changed once built: a change builds a new one.
struct Table {
    stored: Vec<StoredToken>,
    tokens: Vec<Arc<Token>>,
}

/// A token as listed to an administrator: never its secret or hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub operations: Vec<String>,
    pub created_at: Option<i64>,
    pub expires_at: Option<i64>,
}

/// A token to add: `secret` is the operator's choice, or `None` for a generated one.
#[derive(Clone, Debug, Default)]
pub struct NewToken {
    pub name: String,
    pub operations: Vec<String>,
    pub expires_at: Option<i64>,
    pub secret: Option<String>,
}

/// The node's tokens, checked on every call that needs one.
pub struct Tokens {
    table: RwLock<Arc<Table>>,
    /// Where changes are kept; `None` when the tokens come from the
    /// configuration file (which the node does not rewrite).
    file: Option<PathBuf>,
    /// Serialises changes: read the table, write the file, swap.
    changing: Mutex<()>,
    clock: Arc<dyn Clock>,
}

/// The hex SHA-256 a token is stored as.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random token secret.
pub fn generate_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| Error::Internal(format!("no randomness for a token: {e}")))?;
    Ok(format!("peerreg_{}", hex::encode(bytes)))
}

fn parse_entry(position: usize, entry: &StoredToken) -> Result<Token> {
    let field = |name: &str| format!("tokens[{position}].{name}");
    let invalid = |name: &str, why: String| Error::InvalidArgument(format!("{} {why}", field(name)));
    if entry.name.trim().is_empty() {
        return Err(invalid("name", "is required".into()));
    }
    let hash = hex::decode(&entry.sha256)
        .ok()
        .and_then(|h| <[u8; 32]>::try_from(h).ok());
    let hash = hash.ok_or_else(|| invalid("sha256", "must be 64 hex digits (the SHA-256 of the token)".into()))?;
    let operations = parse_operations(&entry.operations).map_err(|why| invalid("operations", why))?;
    Ok(Token {
        name: entry.name.clone(),
        hash,
        operations,
        expires_at: entry.expires_at,
    })
}

/// Operation names (`"*"` for all) as a set, or why one is unknown.
fn parse_operations(names: &[String]) -> std::result::Result<BTreeSet<Operation>, String> {
    let mut operations = BTreeSet::new();
    for name in names {
        if name == "*" {
            operations.extend(Operation::ALL);
            continue;
        }
        let known = Operation::ALL.map(Operation::name).join(", ");
        let op =
            Operation::parse(name).ok_or_else(|| format!("names unknown operation {name:?} (known: *, {known})"))?;
        operations.insert(op);
    }
    Ok(operations)
}

fn build_table(stored: Vec<StoredToken>) -> Result<Table> {
    let tokens = stored
        .iter()
        .enumerate()
        .map(|(i, e)| parse_entry(i, e).map(Arc::new))
        .collect::<Result<_>>()?;
    Ok(Table { stored, tokens })
}

/// A token name an operator can type and a log can show: 1 to
/// [`TOKEN_NAME_CHARS_MAX`] characters of `A-Z a-z 0-9 . _ -`.
fn check_name(name: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > TOKEN_NAME_CHARS_MAX || !name.chars().all(allowed) {
        return Err(Error::InvalidArgument(format!(
            "token name {:?} must be 1 to {TOKEN_NAME_CHARS_MAX} characters of A-Z a-z 0-9 . _ -",
            name.chars().take(TOKEN_NAME_CHARS_MAX).collect::<String>()
        )));
    }
    Ok(())
}

/// An operator-chosen secret must be as hard to guess as a generated one:
/// [`SECRET_CHARS_MIN`] to [`SECRET_CHARS_MAX`] visible ASCII characters (no
/// spaces), from at least two classes (lower case, upper case, digits,
/// symbols), with at least [`SECRET_DISTINCT_MIN`] distinct characters. So 16
/// random bytes as hex or base64 pass; a word, a date, or `aaaa…` does not.
pub fn check_secret_strength(secret: &str) -> Result<()> {
    let weak = |why: &str| {
        Err(Error::InvalidArgument(format!(
            "the chosen secret is too weak: {why}; leave --secret out for a generated one, or use at least \
             {SECRET_CHARS_MIN} random characters (e.g. 16 random bytes as hex)"
        )))
    };
    if secret.len() < SECRET_CHARS_MIN || secret.len() > SECRET_CHARS_MAX {
        return weak(&format!(
            "it must be {SECRET_CHARS_MIN} to {SECRET_CHARS_MAX} characters"
        ));
    }
    if !secret.chars().all(|c| c.is_ascii_graphic()) {
        return weak("it must be visible ASCII characters without spaces");
    }
    let classes = [
        secret.chars().any(|c| c.is_ascii_lowercase()),
        secret.chars().any(|c| c.is_ascii_uppercase()),
        secret.chars().any(|c| c.is_ascii_digit()),
        secret.chars().any(|c| c.is_ascii_punctuation()),
    ];
    if classes.iter().filter(|present| **present).count() < 2 {
        return weak("it uses only one class of characters");
    }
    if secret.chars().collect::<BTreeSet<_>>().len() < SECRET_DISTINCT_MIN {
        return weak(&format!("it has fewer than {SECRET_DISTINCT_MIN} distinct characters"));
    }
    Ok(())
}

impl Tokens {
    /// Tokens fixed by the configuration file: they cannot be changed while
    /// the node runs (the node does not rewrite its configuration).
    pub fn new(entries: &[TokenEntry]) -> Result<Tokens> {
        let stored = entries.iter().map(StoredToken::from).collect();
        Tokens::build(stored, None, Arc::new(SystemClock))
    }

    /// Tokens kept in `file` (the data directory's `tokens.toml`), which the
    /// `Admin` service rewrites; expiries are checked against `clock`.
    pub fn stored(stored: Vec<StoredToken>, file: PathBuf, clock: Arc<dyn Clock>) -> Result<Tokens> {
        Tokens::build(stored, Some(file), clock)
    }

    /// The file changes are kept in (`None`: tokens from the configuration file).
    pub fn file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }

    fn build(stored: Vec<StoredToken>, file: Option<PathBuf>, clock: Arc<dyn Clock>) -> Result<Tokens> {
        if stored.len() > TOKENS_MAX {
            return Err(Error::InvalidArgument(format!(
                "{} tokens configured; at most {TOKENS_MAX}",
                stored.len()
            )));
        }
        Ok(Tokens {
            table: RwLock::new(Arc::new(build_table(stored)?)),
            file,
            changing: Mutex::new(()),
            clock,
        })
    }

    /// The current table (a cheap clone of an `Arc`).
    fn table(&self) -> Arc<Table> {
        self.table.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn now(&self) -> i64 {
        let since = self.clock.now().duration_since(UNIX_EPOCH).unwrap_or_default();
        i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.table().tokens.is_empty()
    }

    /// The caller a presented secret belongs to, or `UNAUTHENTICATED`. Board
    /// handlers call this before they look at the request, so a caller the
    /// node does not know learns nothing from its answers (not even which
    /// requests are malformed). An expired token is refused like an unknown one.
    pub fn authenticate(&self, presented: Option<&str>) -> Result<Caller> {
        let Some(secret) = presented else {
            return Err(Error::Unauthenticated(
                "this operation needs a board token: send metadata `authorization: Bearer <token>`".into(),
            ));
        };
        let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let table = self.table();
        let mut matched: Option<&Arc<Token>> = None;
        for token in &table.tokens {
            if bool::from(token.hash.ct_eq(&presented)) {
                matched = Some(token);
            }
        }
        let token =
            matched.ok_or_else(|| Error::Unauthenticated("the bearer token is not valid for this node".into()))?;
        if token.expires_at.is_some_and(|at| at <= self.now()) {
            return Err(Error::Unauthenticated(format!(
                "token {:?} has expired; ask the node's operator for a new one",
                token.name
            )));
        }
        Ok(Caller { token: token.clone() })
    }

    /// Checks a presented secret for `operation`; returns the token's name.
    pub fn authorize(&self, presented: Option<&str>, operation: Operation) -> Result<String> {
        let caller = self.authenticate(presented)?;
        caller.permit(operation)?;
        Ok(caller.name().to_string())
    }

    /// Every token's name, operations, creation and expiry, by name.
    pub fn list(&self) -> Vec<TokenInfo> {
        let mut listed: Vec<TokenInfo> = self
            .table()
            .stored
            .iter()
            .map(|t| TokenInfo {
                name: t.name.clone(),
                operations: t.operations.clone(),
                created_at: t.created_at,
                expires_at: t.expires_at,
            })
            .collect();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        listed
    }

    /// Adds a token, kept in the token file before it works; returns its
    /// secret (generated unless the operator chose a strong one).
    pub fn add(&self, new: NewToken) -> Result<String> {
        check_name(&new.name)?;
        let operations =
            parse_operations(&new.operations).map_err(|why| Error::InvalidArgument(format!("operations {why}")))?;
        if operations.is_empty() {
            return Err(Error::InvalidArgument("a token needs at least one operation".into()));
        }
        let now = self.now();
        if let Some(at) = new.expires_at.filter(|at| *at <= now) {
            return Err(Error::InvalidArgument(format!(
                "the expiry ({at}) is not in the future (now {now})"
            )));
        }
        let secret = match new.secret {
            Some(secret) => {
                check_secret_strength(&secret)?;
                secret
            }
            None => generate_token()?,
        };
        let sha256 = hash_token(&secret);
        let stored = StoredToken {
            name: new.name.clone(),
            sha256,
            operations: new.operations,
            created_at: Some(now),
            expires_at: new.expires_at,
        };
        self.change(|tokens| {
            if tokens.iter().any(|t| t.name == stored.name) {
                return Err(Error::AlreadyExists(format!(
                    "a token named {:?} exists; revoke it first",
                    stored.name
                )));
            }
            if tokens.iter().any(|t| t.sha256 == stored.sha256) {
                return Err(Error::AlreadyExists(
                    "another token has this secret; choose another".into(),
                ));
            }
            if tokens.len() >= TOKENS_MAX {
                return Err(Error::ResourceExhausted(format!(
                    "the node holds {TOKENS_MAX} tokens, the most it keeps; revoke some first"
                )));
            }
            tokens.push(stored);
            Ok(())
        })?;
        Ok(secret)
    }

    /// Revokes the token named `name`: its next call is refused. The last
    /// token that may administer tokens is kept (nobody could add one again).
    pub fn revoke(&self, name: &str) -> Result<()> {
        self.change(|tokens| {
            let position = tokens
                .iter()
                .position(|t| t.name == name)
                .ok_or_else(|| Error::NotFound(format!("no token named {name:?}")))?;
            let removed = tokens.remove(position);
            let administers = |t: &StoredToken| {
                parse_operations(&t.operations).is_ok_and(|ops| ops.contains(&Operation::AdminTokens))
            };
            if administers(&removed) && !tokens.iter().any(administers) {
                return Err(Error::FailedPrecondition(format!(
                    "{name:?} is the last token that may administer tokens; add another admin token first"
                )));
            }
            Ok(())
        })
    }

    /// Applies `edit` to a copy of the stored tokens, writes the token file,
    /// then swaps the table: a change that cannot be kept never takes effect.
    fn change(&self, edit: impl FnOnce(&mut Vec<StoredToken>) -> Result<()>) -> Result<()> {
        let Some(file) = &self.file else {
            return Err(Error::FailedPrecondition(
                "this node's tokens are set in its configuration file: change them there and restart".into(),
            ));
        };
        let _changing = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        let mut stored = self.table().stored.clone();
        edit(&mut stored)?;
        let table = build_table(stored)?;
        let bytes = TokenFile {
            tokens: table.stored.clone(),
        }
        .encode()?;
        files::write_atomic(file, &bytes, files::Mode::Private)?;
        *self.table.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(table);
        Ok(())
    }
}

/// An authenticated caller: a token the node knows.
pub struct Caller {
    token: Arc<Token>,
}

impl Caller {
    /// The token's name, for the node's log.
    pub fn name(&self) -> &str {
        &self.token.name
    }

    /// `PERMISSION_DENIED` unless the token may perform `operation`.
    pub fn permit(&self, operation: Operation) -> Result<()> {
        if self.token.operations.contains(&operation) {
            return Ok(());
        }
        Err(Error::PermissionDenied(format!(
            "token {:?} may not {}; ask the node's operator to grant it",
            self.token.name,
            operation.name()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, secret: &str, operations: &[&str]) -> TokenEntry {
        TokenEntry {
            name: name.into(),
            sha256: hash_token(secret),
            operations: operations.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn tokens_are_checked_by_hash_and_by_operation() {
        let tokens = Tokens::new(&[
            entry("admin", "s3cret", &["*"]),
            entry("clerk", "clerk-secret", &["record_training"]),
        ])
        .expect("valid tokens");
        assert_eq!(
            tokens.authorize(Some("s3cret"), Operation::RecordDiscipline).ok(),
            Some("admin".into())
        );
        assert_eq!(
            tokens.authorize(Some("clerk-secret"), Operation::RecordTraining).ok(),
            Some("clerk".into())
        );
        assert!(matches!(
            tokens.authorize(Some("clerk-secret"), Operation::RecordDiscipline),
            Err(Error::PermissionDenied(_))
        ));
        assert!(matches!(
            tokens.authorize(Some("wrong"), Operation::RecordTraining),
            Err(Error::Unauthenticated(_))
        ));
        assert!(matches!(
            tokens.authorize(None, Operation::RecordTraining),
            Err(Error::Unauthenticated(_))
        ));
    }

    #[test]
    fn bad_token_entries_are_refused_with_the_field_named() {
        let bad_hash = TokenEntry {
            name: "x".into(),
            sha256: "abc".into(),
            operations: vec!["*".into()],
        };
        assert!(matches!(Tokens::new(&[bad_hash]), Err(Error::InvalidArgument(m)) if m.contains("tokens[0].sha256")));
        let bad_op = entry("x", "y", &["fly"]);
        assert!(matches!(Tokens::new(&[bad_op]), Err(Error::InvalidArgument(m)) if m.contains("tokens[0].operations")));
        let generated = generate_token().expect("a token");
        assert!(generated.starts_with("peerreg_") && generated.len() == 72);
    }

    fn stored_tokens(dir: &std::path::Path, clock: crate::clock::ManualClock) -> Tokens {
        let admin = StoredToken::from(&entry("admin", "s3cret", &["*"]));
        Tokens::stored(vec![admin], dir.join("tokens.toml"), Arc::new(clock)).expect("tokens")
    }

    fn add(name: &str, operations: &[&str], expires_at: Option<i64>) -> NewToken {
        NewToken {
            name: name.into(),
            operations: operations.iter().map(|s| s.to_string()).collect(),
            expires_at,
            secret: None,
        }
    }

    #[test]
    fn a_token_stops_working_when_the_nodes_clock_passes_its_expiry() {
        let dir = tempfile::tempdir().expect("temp dir");
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2030, 1, d).expect("a date");
        let clock = crate::clock::ManualClock::at(day(1));
        let tokens = stored_tokens(dir.path(), clock.clone());
        let midnight_after_the_2nd = day(3).and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp();
        let secret = tokens
            .add(add("temp", &["record_training"], Some(midnight_after_the_2nd)))
            .expect("added");
        assert!(tokens.authorize(Some(&secret), Operation::RecordTraining).is_ok());
        clock.set(day(2));
        assert!(
            tokens.authorize(Some(&secret), Operation::RecordTraining).is_ok(),
            "works through the 2nd"
        );
        clock.set(day(3));
        assert!(matches!(
            tokens.authorize(Some(&secret), Operation::RecordTraining),
            Err(Error::Unauthenticated(m)) if m.contains("expired")
        ));
        let reloaded: TokenFile =
            toml::from_str(&std::fs::read_to_string(dir.path().join("tokens.toml")).expect("file")).expect("toml");
        assert_eq!(
            reloaded.tokens[1].expires_at,
            Some(midnight_after_the_2nd),
            "the expiry is kept"
        );
        assert!(matches!(
            tokens.add(add("late", &["record_training"], Some(midnight_after_the_2nd))),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn changes_take_effect_at_once_and_bad_ones_change_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = crate::clock::ManualClock::at(chrono::NaiveDate::from_ymd_opt(2030, 1, 1).expect("date"));
        let tokens = stored_tokens(dir.path(), clock);
        let secret = tokens.add(add("clerk", &["record_training"], None)).expect("added");
        assert_eq!(
            tokens.authorize(Some(&secret), Operation::RecordTraining).ok(),
            Some("clerk".into())
        );
        let before = std::fs::read(dir.path().join("tokens.toml")).expect("file");
        for bad in [
            add("", &["*"], None),
            add(&"x".repeat(65), &["*"], None),
            add("none", &[], None),
            add("clerk", &["*"], None),
        ] {
            assert!(tokens.add(bad).is_err());
        }
        assert_eq!(
            std::fs::read(dir.path().join("tokens.toml")).expect("file"),
            before,
            "file unchanged"
        );
        tokens.revoke("clerk").expect("revoked");
        assert!(matches!(
            tokens.authorize(Some(&secret), Operation::RecordTraining),
            Err(Error::Unauthenticated(_))
        ));
        assert!(
            matches!(tokens.revoke("admin"), Err(Error::FailedPrecondition(_))),
            "the last admin stays"
        );
        assert_eq!(tokens.list().len(), 1);
        let fixed = Tokens::new(&[entry("admin", "s3cret", &["*"])]).expect("tokens");
        assert!(matches!(
            fixed.add(add("x", &["*"], None)),
            Err(Error::FailedPrecondition(_))
        ));
    }

    #[test]
    fn the_token_table_is_bounded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = crate::clock::ManualClock::at(chrono::NaiveDate::from_ymd_opt(2030, 1, 1).expect("date"));
        let many: Vec<StoredToken> = (0..TOKENS_MAX)
            .map(|i| StoredToken::from(&entry(&format!("t{i}"), &format!("secret-{i}"), &["*"])))
            .collect();
        let tokens = Tokens::stored(many, dir.path().join("tokens.toml"), Arc::new(clock)).expect("tokens");
        assert!(matches!(
            tokens.add(add("one-more", &["*"], None)),
            Err(Error::ResourceExhausted(_))
        ));
    }

    #[test]
    fn chosen_secrets_must_be_as_strong_as_generated_ones() {
        for weak in [
            "short1A",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "abababababababababababababababab12",
            "has a space in it but is long enough 123",
        ] {
            assert!(check_secret_strength(weak).is_err(), "{weak}");
        }
        let generated = generate_token().expect("a token");
        for strong in [
            generated.as_str(),
            "3f9a1c0d7e2b4a6895c1d3e7f0a2b4c6",
            "Zq4vN8rT2wX6yB1cD5eF9gH3jK7mP0sU",
        ] {
            assert!(check_secret_strength(strong).is_ok(), "{strong}");
        }
    }
}
