//! Logging in with a PIN, whichever door: the rate limits and lockout buckets, the Argon2 check, and the session
//! it opens for the citizen's principal, of the door's kind (cookie or bearer).

use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::principal::{LoginMethod, Principal};
use sportello_store::{PinCredential, STRANGERS, Session, SessionKind};

use super::AuthState;
use super::device::Device;
use super::session::{SessionId, hash_id};
use crate::limits::ClientIp;
use crate::pin::{EnteredPin, PinKind};
use sportello_usecases::UseCaseError;

/// A session opened by [`log_in`] or [`open_session`].
#[derive(Debug)]
pub struct Opened {
    /// Its id, handed to the client once (cookie or bearer token).
    pub id: SessionId,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it ends whatever the activity.
    pub expires_at: DateTime<Utc>,
}

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
    let credential = match check_pin(state, codice_fiscale, pin, &bucket).await? {
        Ok(credential) => credential,
        Err(lock) => {
            if stranger {
                limits.count_failure(client);
            }
            let now = state.auth.now();
            return Ok(LoginOutcome::Refused { locked_until: lock.locked_until.filter(|&until| until > now) });
        }
    };
    let full = pin.kind() == PinKind::Full;
    let released = state.app.store.pin_used(credential.id, full, state.auth.now()).await?;
    if released > 0 {
        tracing::info!(released, "the full PIN confirmed applications held for payment");
    }
    // The full PIN confirms the credential: its second half travelled apart from the first.
    let confirmed = credential.confirmed() || full;
    let method = if full { LoginMethod::PinFull } else { LoginMethod::PinSimplified };
    let principal = Principal::citizen(codice_fiscale, method);
    let session = open_session(state, principal, kind, Some(credential.reference()), confirmed, replacing).await?;
    let device = Device::remembering(device, key, &codice_fiscale)?;
    Ok(LoginOutcome::Opened(LoggedIn { session, device }))
}

/// The credential `pin` opens now, or the bucket's lock as it stands after counting the failure. Only the
/// credentials of the slot the PIN's first symbol names are tried: one hash in all but a rare case (a PIN from
/// before slots, tried second).
async fn check_pin(
    state: &AuthState,
    codice_fiscale: CodiceFiscale,
    pin: &EnteredPin,
    bucket: &str,
) -> Result<Result<PinCredential, sportello_store::PinLock>, UseCaseError> {
    let store = &state.app.store;
    let now = state.auth.now();
    let lock = store.pin_lock(&codice_fiscale, bucket).await?;
    let locked = lock.locked_at(now);
    let candidates = if locked { Vec::new() } else { store.pins_for_slot(&codice_fiscale, pin.slot()).await? };
    let hash_of = |c: &PinCredential| match pin.kind() {
        PinKind::Simplified => c.simplified_hash.clone(),
        PinKind::Full => c.full_hash.clone(),
    };
    let hasher = &state.auth.hasher;
    let mut matched = None;
    if candidates.is_empty() {
        // A locked PIN, an empty slot and an unknown person cost the same time as a check.
        hasher.verify_or_dummy_blocking(pin.expose().to_owned(), None).await;
    }
    for candidate in &candidates {
        if hasher.verify_blocking(pin.expose().to_owned(), hash_of(candidate)).await {
            matched = Some(candidate.clone());
            break;
        }
    }
    let outcome = match (&matched, locked) {
        (Some(_), _) => "success",
        (None, true) => "locked",
        (None, false) => "failure",
    };
    metrics::counter!("sportello_pin_logins_total", "outcome" => outcome).increment(1);
    if let Some(credential) = matched {
        store.clear_login_failures(&codice_fiscale, bucket).await?;
        return Ok(Ok(credential));
    }
    if locked {
        // Attempts during a lock are not counted; known or not, the codice fiscale is locked alike.
        return Ok(Err(lock));
    }
    // Counted for every codice fiscale, registered or not, PIN or not: the same write on every refusal, so that
    // neither its time nor a later lock tells who holds a PIN.
    let pin_config = &state.app.config.pin;
    let lock = store
        .record_login_failure(&codice_fiscale, bucket, now, pin_config.max_failures, pin_config.lock_for())
        .await?;
    Ok(Err(lock))
}

/// Opens a session of `kind` for `principal` under a new id, ending the one the client held before (if any).
pub async fn open_session(
    state: &AuthState,
    principal: Principal,
    kind: SessionKind,
    credential: Option<String>,
    confirmed: bool,
    replacing: Option<&str>,
) -> Result<Opened, UseCaseError> {
    let store = &state.app.store;
    if let Some(old) = replacing {
        store.delete_session(&hash_id(old)).await?;
    }
    let id = SessionId::generate()?;
    let now = state.auth.now();
    let expires_at = chrono::TimeDelta::from_std(state.app.config.session.absolute_timeout())
        .ok()
        .and_then(|t| now.checked_add_signed(t))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let session = Session {
        id_hash: id.hash(),
        kind,
        actor: principal.actor.stored(),
        codice_fiscale: principal.subject,
        login_method: principal.method.as_str().to_owned(),
        channel: principal.channel.as_str().to_owned(),
        created_at: now,
        last_seen_at: now,
        expires_at,
        credential,
        confirmed,
    };
    store.create_session(session).await?;
    Ok(Opened { id, opened_at: now, expires_at })
}
