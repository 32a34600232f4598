//! The service's own failures, never the request's: [`ServiceError`], when an action of the citizen's journey could
//! not be carried out (pages and API alike answer "service unavailable" and log the cause), and [`AuthError`], when
//! the login machinery could not be set up or draw a random value. The pages that say so are in [`crate::render`].

use crate::limits::LimitsError;
use crate::pin::PinError;

/// Why an action of the citizen's journey could not be carried out: a fault of the service, never of the request.
/// Pages and API alike answer "service unavailable" and log the cause.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] sportello_store::StoreError),
    /// Drawing or hashing a PIN failed.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// Drawing a session id failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// An application's reasons or details could not be written as JSON.
    #[error("could not write an application as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A use case failed on our side (its input errors are answered by the doors before they call it).
    #[error(transparent)]
    UseCase(#[from] sportello_usecases::UseCaseError),
}

/// Why the login machinery could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),
    /// `session.csrf_key` is not 64 hex digits.
    #[error("session.csrf_key must be 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`")]
    CsrfKey,
    /// The PIN hasher could not be built.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// `[limits]` is not usable.
    #[error(transparent)]
    Limits(#[from] LimitsError),
}
