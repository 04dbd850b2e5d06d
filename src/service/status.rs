//! One exhaustive mapping between the library's errors and gRPC status codes
//! (DESIGN.md §5), in both directions.

use tonic::{Code, Status};

use crate::error::Error;

impl From<Error> for Status {
    fn from(error: Error) -> Status {
        match error {
            Error::InvalidArgument(m) => Status::invalid_argument(m),
            Error::NotFound(m) => Status::not_found(m),
            Error::AlreadyExists(m) => Status::already_exists(m),
            Error::FailedPrecondition(m) => Status::failed_precondition(m),
            Error::OutOfRange(m) => Status::out_of_range(m),
            Error::Unauthenticated(m) => Status::unauthenticated(m),
            Error::PermissionDenied(m) => Status::permission_denied(m),
            Error::ResourceExhausted(m) => Status::resource_exhausted(m),
            Error::DataLoss(m) => Status::data_loss(m),
            Error::Unavailable(m) => Status::unavailable(m),
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Status::internal("internal error; the node's log has the details")
            }
        }
    }
}

/// A status from a remote node, as a library error (for clients).
pub fn from_status(status: &Status) -> Error {
    let message = status.message().to_string();
    match status.code() {
        Code::InvalidArgument => Error::InvalidArgument(message),
        Code::NotFound => Error::NotFound(message),
        Code::AlreadyExists => Error::AlreadyExists(message),
        Code::FailedPrecondition | Code::Aborted => Error::FailedPrecondition(message),
        Code::OutOfRange => Error::OutOfRange(message),
        Code::Unauthenticated => Error::Unauthenticated(message),
        Code::PermissionDenied => Error::PermissionDenied(message),
        Code::ResourceExhausted => Error::ResourceExhausted(message),
        Code::DataLoss => Error::DataLoss(message),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            Error::Unavailable(format!("the node is unreachable: {message}"))
        }
        Code::Ok | Code::Unknown | Code::Internal | Code::Unimplemented => {
            Error::Internal(format!("the node answered {:?}: {message}", status.code()))
        }
    }
}
