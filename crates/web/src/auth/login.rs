//! Logging in with a PIN, whichever door: the rate limits by codice fiscale and by client address, the lockout
//! bucket the device names, the use case's check (`sportello_usecases::login::check`: the lockout and the Argon2
//! check with the same work for every refusal), and the session `sportello_usecases::sessions::open` opens for the
//! principal, of the door's kind (cookie or bearer).

use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_store::{STRANGERS, SessionKind};
use sportello_usecases::UseCaseError;
use sportello_usecases::login::{self, Checked, Lockout};
use sportello_usecases::sessions::{self, NewSession};

use super::AuthState;
use super::device::Device;
use crate::limits::ClientIp;
use crate::pin::EnteredPin;

pub use sportello_usecases::sessions::Opened;

/// A logged-in session and the device that logged in, to hand back to the client.
#[derive(Debug)]
pub struct LoggedIn {
    /// The session.
    pub session: Opened,
    /// The device, now remembering the person: the device cookie's value, or the API's device token.
    pub device: Device,
}

/// A login as a door received it.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// Who logs in.
    pub codice_fiscale: CodiceFiscale,
    /// With which PIN.
    pub pin: &'a EnteredPin,
    /// The device cookie or token the client presented, if any (see [`super::device`]).
    pub device: Option<&'a str>,
    /// The client's address, as the rate limits count it.
    pub client: ClientIp,
    /// A session id the client held before, ended so that the id rotates at login.
    pub replacing: Option<&'a str>,
    /// The door's kind of session: a browser's cookie or an API's bearer token.
    pub kind: SessionKind,
}

/// What a login came to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// A new session.
    Opened(LoggedIn),
    /// No session: an unknown codice fiscale, a wrong PIN, or a lock, until `locked_until`, of this codice fiscale
    /// for this client (its device, or strangers).
    Refused {
        /// When the lock ends, if the codice fiscale is locked for this client now.
        locked_until: Option<DateTime<Utc>>,
    },
    /// Too many logins for this codice fiscale from this client's bucket, or too many wrong PINs from its address:
    /// retry after this long. Nothing was looked up.
    Limited(std::time::Duration),
}

/// Logs a person in with a PIN: a new session, or why not. Wrong PINs are counted in a bucket: the device's own
/// when the client presents a device the person logged in from before, else the person's strangers' bucket; a
/// locked strangers' bucket does not stop a recognised device. Every refusal does the same work, known person or
/// not: the same reads, one Argon2 verification (against a dummy hash when there is nothing to verify) and one
/// write of the failure (so any codice fiscale locks alike after as many wrong PINs). A failure counts whichever
/// door (page or API) it came through.
pub async fn log_in(state: &AuthState, attempt: Attempt<'_>) -> Result<LoginOutcome, UseCaseError> {
    let Attempt { codice_fiscale, pin, device, client, replacing, kind } = attempt;
    let key = &state.auth.csrf;
    let device = device.and_then(Device::parse);
    let bucket = Device::bucket(device.as_ref(), key, &codice_fiscale).to_owned();
    let stranger = bucket == STRANGERS;
    let limits = &state.auth.limits;
    if let Err(wait) = limits.check_login(&codice_fiscale, &bucket) {
        return Ok(LoginOutcome::Limited(wait));
    }
    if stranger && let Some(wait) = limits.failures_barred(client) {
        return Ok(LoginOutcome::Limited(wait));
    }
    let pin_config = &state.app.config.pin;
    let lockout = Lockout { max_failures: pin_config.max_failures, lock_for: pin_config.lock_for() };
    let store = state.app.store.as_ref();
    let now = state.auth.now();
    let checked = login::check(store, &state.auth.hasher, codice_fiscale, pin, &bucket, lockout, now).await?;
    let (principal, credential, confirmed) = match checked {
        Checked::Opened { principal, credential, confirmed } => (principal, credential, confirmed),
        Checked::Refused { locked_until } => {
            if stranger {
                limits.count_failure(client);
            }
            return Ok(LoginOutcome::Refused { locked_until });
        }
    };
    let new = NewSession { principal, kind, credential: Some(credential), confirmed };
    let absolute = state.app.config.session.absolute_timeout();
    let session = sessions::open(store, new, replacing, absolute, now).await?;
    let device = Device::remembering(device, key, &codice_fiscale)?;
    Ok(LoginOutcome::Opened(LoggedIn { session, device }))
}
