//! The library's error, classified by what the caller can do about it. Each
//! variant maps to exactly one gRPC status code (DESIGN.md §5) in
//! `service::status`; messages are written for the person who reads them.

/// What went wrong, and in which class.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// The request is malformed: fix the request.
    #[error("{0}")]
    InvalidArgument(String),
    /// Unknown peer, credential or entry.
    #[error("{0}")]
    NotFound(String),
    /// A duplicate (e.g. an `event_id` reused with different content).
    #[error("{0}")]
    AlreadyExists(String),
    /// Illegal transition, or a peer log that equivocated.
    #[error("{0}")]
    FailedPrecondition(String),
    /// An index or size past the current tree.
    #[error("{0}")]
    OutOfRange(String),
    /// Missing or wrong credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials without the right for this operation.
    #[error("{0}")]
    PermissionDenied(String),
    /// Over a limit (size, count, queue).
    #[error("{0}")]
    ResourceExhausted(String),
    /// Stored data that fails its own verification.
    #[error("{0}")]
    DataLoss(String),
    /// A peer node (or this node's writer) cannot be reached right now.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an environment failure (disk full, permissions). The detail is
    /// logged by the server and not sent to the caller.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The gRPC status code name this error maps to, for people reading CLI output.
    pub fn code_name(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::NotFound(_) => "NOT_FOUND",
            Error::AlreadyExists(_) => "ALREADY_EXISTS",
            Error::FailedPrecondition(_) => "FAILED_PRECONDITION",
            Error::OutOfRange(_) => "OUT_OF_RANGE",
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::PermissionDenied(_) => "PERMISSION_DENIED",
            Error::ResourceExhausted(_) => "RESOURCE_EXHAUSTED",
            Error::DataLoss(_) => "DATA_LOSS",
            Error::Unavailable(_) => "UNAVAILABLE",
            Error::Internal(_) => "INTERNAL",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
