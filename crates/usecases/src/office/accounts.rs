//! Officers' accounts, made at the command line (`sportello officers add`): a user name, a display name, a role, a
//! password kept only as an Argon2id hash with the parameters for passwords people choose (docs/SECURITY.md, "The
//! back office"), and, for logging in with SPID or CIE, the officer's own codice fiscale.

use argon2::Params;
use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::principal::OfficerRole;
use sportello_store::{NewOfficer, Officer, Store};

use crate::error::UseCaseError;
use crate::pin::PinHasher;

/// Memory per password hash, in KiB: OWASP's for Argon2id (19 MiB), with [`T_COST`] passes.
pub const M_COST_KIB: u32 = 19 * 1024;
/// Passes over that memory.
pub const T_COST: u32 = 2;
/// Fewest characters a password has.
pub const MIN_PASSWORD: usize = 12;
/// Most characters a password has (hashing a megabyte is a way to tire the server).
pub const MAX_PASSWORD: usize = 128;

/// Argon2id with the parameters for officers' passwords, at most as many hashes at once as there are cores.
pub fn password_hasher() -> Result<PinHasher, UseCaseError> {
    let params = Params::new(M_COST_KIB, T_COST, 1, None).map_err(|e| UseCaseError::Service(e.to_string()))?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    Ok(PinHasher::with_params(params, cores)?)
}

/// What a new account is made of; the password travels only here, never into a log (its `Debug` is redacted).
pub struct NewAccount<'a> {
    /// Lower-case letters, digits, dots, dashes and underscores, 3 to 64 of them.
    pub username: &'a str,
    /// The name shown on pages and reports, 1 to 100 characters.
    pub display_name: &'a str,
    /// What the officer may do.
    pub role: OfficerRole,
    /// [`MIN_PASSWORD`] to [`MAX_PASSWORD`] characters.
    pub password: &'a str,
    /// The officer's own codice fiscale, so that they may log in with SPID or CIE too; `None`: by password only.
    pub codice_fiscale: Option<CodiceFiscale>,
}

impl std::fmt::Debug for NewAccount<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount").field("username", &self.username).field("role", &self.role).finish_non_exhaustive()
    }
}

/// Checks `new` and stores the account with its password hashed; returns it as stored. A user name taken is
/// [`sportello_store::StoreError::OfficerExists`]; nothing is stored on any error.
pub async fn add(
    store: &dyn Store,
    hasher: &PinHasher,
    new: NewAccount<'_>,
    now: DateTime<Utc>,
) -> Result<Officer, UseCaseError> {
    let username = new.username.trim();
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_');
    if !(3..=64).contains(&username.len()) || !username.chars().all(plain) {
        return Err(UseCaseError::OfficeInput(format!(
            "user name '{}': use 3 to 64 lower-case letters, digits, dots, dashes or underscores",
            username.chars().take(64).collect::<String>()
        )));
    }
    let display_name = new.display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 100 || display_name.chars().any(char::is_control) {
        return Err(UseCaseError::OfficeInput("display name: give 1 to 100 characters on one line".into()));
    }
    let length = new.password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&length) {
        return Err(UseCaseError::OfficeInput(format!(
            "password: it has {length} characters; use {MIN_PASSWORD} to {MAX_PASSWORD}"
        )));
    }
    let password_hash = hasher.hash_blocking(new.password.to_owned()).await?;
    let officer = NewOfficer {
        username: username.to_owned(),
        display_name: display_name.to_owned(),
        role: new.role,
        password_hash,
        codice_fiscale: new.codice_fiscale,
        created_at: now,
    };
    let id = store.add_officer(officer).await?;
    store.officer(id).await?.ok_or_else(|| UseCaseError::Service("the account just stored is not found".into()))
}
