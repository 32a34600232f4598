//! The error a user can fix. `main` maps it to exit status 2 (anything else exits with 1), so scripts can tell a
//! bad argument or file from a failure of the system.

/// An error the user can fix (bad input): exit status 2. Everything else exits with 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// A use case's failure as the command line reports it, by its `exit_status()`: what the user can fix (an input
/// error, something not found or not in the state it needs) exits with status 2, a failure of the system with 1.
pub fn use_case(error: sportello_usecases::UseCaseError) -> anyhow::Error {
    if error.exit_status() == 2 { InputError(error.to_string()).into() } else { error.into() }
}
