//! The error a user can fix. `main` maps it to exit status 2 (anything else exits with 1), so scripts can tell a
//! bad argument or file from a failure of the system.

/// An error the user can fix (bad input): exit status 2. Everything else exits with 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);
