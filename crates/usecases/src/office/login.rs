//! An officer's login: the password checked against the account's hash, with a lockout after wrong ones, the same
//! work and answer for an unknown user name as for a wrong password; or the officer's own codice fiscale vouched for
//! by SPID or CIE; then an office session of its own kind.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::principal::LoginMethod;
use sportello_store::{OfficeSession, Officer, Store};

use super::OnDuty;
use super::accounts::MAX_PASSWORD;
use crate::error::UseCaseError;
use crate::pin::PinHasher;
use crate::sessions::{SessionId, hash_id};

/// Wrong passwords in a row before an account is locked.
pub const MAX_FAILURES: u32 = 5;
/// How long a lock lasts.
pub const LOCK: Duration = Duration::from_secs(15 * 60);
/// An office session ends after this long without use.
pub const IDLE: Duration = Duration::from_secs(15 * 60);
/// And this long after login, whatever the use.
pub const ABSOLUTE: Duration = Duration::from_secs(8 * 60 * 60);

/// Why a login was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Unknown user name, wrong password or disabled account: one answer for all three.
    Invalid,
    /// The account is locked until then.
    Locked(DateTime<Utc>),
}

/// An office session just opened.
#[derive(Debug)]
pub struct LoggedIn {
    /// Its id, handed to the browser once in the office's cookie.
    pub id: SessionId,
    /// Who logged in.
    pub officer: OnDuty,
}

/// Checks `password` for `username` at `now` from `from`; on success opens an office session (ending the one the
/// browser held before, `replacing`). An unknown user name costs one verification against a dummy hash.
pub async fn log_in(
    store: &dyn Store,
    hasher: &PinHasher,
    username: &str,
    password: &str,
    replacing: Option<&str>,
    from: Option<String>,
    now: DateTime<Utc>,
) -> Result<Result<LoggedIn, Refused>, UseCaseError> {
    let password: String = password.chars().take(MAX_PASSWORD + 1).collect();
    let account = store.officer_by_username(username.trim()).await?;
    let Some(account) = account else {
        let _ = hasher.verify_or_dummy_blocking(password, None).await;
        return Ok(Err(Refused::Invalid));
    };
    if let Some(until) = account.locked_until.filter(|until| *until > now) {
        return Ok(Err(Refused::Locked(until)));
    }
    let matches = hasher.verify_blocking(password, account.password_hash.clone()).await;
    if !matches || account.disabled_at.is_some() {
        if let Some(until) = store.record_officer_failure(account.id, now, MAX_FAILURES, LOCK).await? {
            return Ok(Err(Refused::Locked(until)));
        }
        return Ok(Err(Refused::Invalid));
    }
    store.clear_officer_failures(account.id).await?;
    open(store, account, LoginMethod::Password, replacing, from, now).await.map(Ok)
}

/// Opens an office session for the officer whose own codice fiscale SPID or CIE vouched for (ending the one the
/// browser held before, `replacing`). No account for that person, or a disabled one: [`Refused::Invalid`]. A lock
/// after wrong passwords does not stop it: the provider, not a guessed password, says who this is.
pub async fn log_in_identified(
    store: &dyn Store,
    person: &CodiceFiscale,
    method: LoginMethod,
    replacing: Option<&str>,
    from: Option<String>,
    now: DateTime<Utc>,
) -> Result<Result<LoggedIn, Refused>, UseCaseError> {
    let account = store.officer_by_codice_fiscale(person).await?;
    let Some(account) = account.filter(|a| a.disabled_at.is_none()) else { return Ok(Err(Refused::Invalid)) };
    open(store, account, method, replacing, from, now).await.map(Ok)
}

async fn open(
    store: &dyn Store,
    account: Officer,
    method: LoginMethod,
    replacing: Option<&str>,
    from: Option<String>,
    now: DateTime<Utc>,
) -> Result<LoggedIn, UseCaseError> {
    if let Some(old) = replacing {
        store.delete_office_session(&hash_id(old)).await?;
    }
    let id = SessionId::generate()?;
    let expires_at = chrono::TimeDelta::from_std(ABSOLUTE).map_or(DateTime::<Utc>::MAX_UTC, |t| now + t);
    store
        .create_office_session(OfficeSession {
            id_hash: id.hash(),
            officer_id: account.id,
            created_at: now,
            last_seen_at: now,
            expires_at,
            from: from.clone(),
            login_method: method,
        })
        .await?;
    let officer = OnDuty { id: account.id, role: account.role, name: account.display_name, from, method };
    Ok(LoggedIn { id, officer })
}

/// What a presented office session id opens.
#[derive(Debug)]
pub enum Resumed {
    /// A live session of an account that may still log in, its role as the account holds it now.
    Live(OnDuty),
    /// Expired (now deleted), unknown, or its account disabled.
    Closed,
}

/// The office session whose id the browser presented, at `now`, from `from`: its officer with the role their account
/// holds now. Activity is recorded at most once a minute.
pub async fn resume(
    store: &dyn Store,
    id: &str,
    from: Option<String>,
    now: DateTime<Utc>,
) -> Result<Resumed, UseCaseError> {
    let id_hash = hash_id(id);
    let Some(session) = store.office_session(&id_hash).await? else { return Ok(Resumed::Closed) };
    let idle = chrono::TimeDelta::from_std(IDLE).unwrap_or(chrono::TimeDelta::MAX);
    if now >= session.expires_at || now >= session.last_seen_at + idle {
        store.delete_office_session(&id_hash).await?;
        return Ok(Resumed::Closed);
    }
    let account = store.officer(session.officer_id).await?;
    let Some(account) = account.filter(|a| a.disabled_at.is_none()) else {
        store.delete_office_session(&id_hash).await?;
        return Ok(Resumed::Closed);
    };
    if now - session.last_seen_at >= chrono::TimeDelta::minutes(1) {
        store.touch_office_session(&id_hash, now).await?;
    }
    let method = session.login_method;
    Ok(Resumed::Live(OnDuty { id: account.id, role: account.role, name: account.display_name, from, method }))
}

/// Ends the office session with this id (logout).
pub async fn log_out(store: &dyn Store, id: &str) -> Result<(), UseCaseError> {
    store.delete_office_session(&hash_id(id)).await.map_err(UseCaseError::from)
}
