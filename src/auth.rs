//! Who may write. Board operations need a bearer token; the node keeps only the
//! SHA-256 of each token, with a name and the operations it may perform, and
//! compares hashes in constant time against every entry (no early exit).
//! Tokens never appear in logs; names do.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

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
}

impl Operation {
    pub const ALL: [Operation; 19] = [
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

struct Token {
    name: String,
    hash: [u8; 32],
    operations: BTreeSet<Operation>,
}

/// The node's tokens, checked on every write.
pub struct Tokens {
    tokens: Vec<Token>,
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

fn parse_entry(position: usize, entry: &TokenEntry) -> Result<Token> {
    let field = |name: &str| format!("tokens[{position}].{name}");
    let invalid = |name: &str, why: String| Error::InvalidArgument(format!("{} {why}", field(name)));
    if entry.name.trim().is_empty() {
        return Err(invalid("name", "is required".into()));
    }
    let hash = hex::decode(&entry.sha256)
        .ok()
        .and_then(|h| <[u8; 32]>::try_from(h).ok());
    let hash = hash.ok_or_else(|| invalid("sha256", "must be 64 hex digits (the SHA-256 of the token)".into()))?;
    let mut operations = BTreeSet::new();
    for name in &entry.operations {
        if name == "*" {
            operations.extend(Operation::ALL);
            continue;
        }
        let known = Operation::ALL.map(Operation::name).join(", ");
        let op = Operation::parse(name).ok_or_else(|| {
            invalid(
                "operations",
                format!("names unknown operation {name:?} (known: *, {known})"),
            )
        })?;
        operations.insert(op);
    }
    Ok(Token {
        name: entry.name.clone(),
        hash,
        operations,
    })
}

impl Tokens {
    pub fn new(entries: &[TokenEntry]) -> Result<Tokens> {
        let tokens = entries
            .iter()
            .enumerate()
            .map(|(i, e)| parse_entry(i, e))
            .collect::<Result<_>>()?;
        Ok(Tokens { tokens })
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The caller a presented secret belongs to, or `UNAUTHENTICATED`. Board
    /// handlers call this before they look at the request, so a caller the
    /// node does not know learns nothing from its answers (not even which
    /// requests are malformed).
    pub fn authenticate(&self, presented: Option<&str>) -> Result<Caller<'_>> {
        let Some(secret) = presented else {
            return Err(Error::Unauthenticated(
                "this operation needs a board token: send metadata `authorization: Bearer <token>`".into(),
            ));
        };
        let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let mut matched: Option<&Token> = None;
        for token in &self.tokens {
            if bool::from(token.hash.ct_eq(&presented)) {
                matched = Some(token);
            }
        }
        matched
            .map(|token| Caller { token })
            .ok_or_else(|| Error::Unauthenticated("the bearer token is not valid for this node".into()))
    }

    /// Checks a presented secret for `operation`; returns the token's name.
    pub fn authorize(&self, presented: Option<&str>, operation: Operation) -> Result<String> {
        let caller = self.authenticate(presented)?;
        caller.permit(operation)?;
        Ok(caller.name().to_string())
    }
}

/// An authenticated caller: a token the node knows.
pub struct Caller<'a> {
    token: &'a Token,
}

impl Caller<'_> {
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
}
