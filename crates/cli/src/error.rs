//! The command line's failures and their exit statuses, mapped here and nowhere else: 2 for what the user can fix
//! (a bad argument or file, a use case's input error), 1 for a failure of the system, so scripts can tell them apart.

use std::process::ExitCode;

use sportello_usecases::UseCaseError;

/// An error the user can fix (bad input): exit status 2. Everything else exits with 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// The exit status of a command that failed with `error`: the first cause that knows its kind decides (an
/// [`InputError`], or a [`UseCaseError`] by [`UseCaseError::exit_status`]); anything else is the system's: 1.
pub fn exit_status(error: &anyhow::Error) -> ExitCode {
    for cause in error.chain() {
        if cause.downcast_ref::<InputError>().is_some() {
            return ExitCode::from(2);
        }
        if let Some(usecase) = cause.downcast_ref::<UseCaseError>() {
            return ExitCode::from(usecase.exit_status());
        }
    }
    ExitCode::FAILURE
}

/// A use case's failure as a command's error; [`exit_status`] maps its kind.
pub fn usecase_error(error: UseCaseError) -> anyhow::Error {
    error.into()
}
