//! Login sessions: a 128-bit random id in the `__Host-sportello` cookie (or, for the API, in an
//! `Authorization: Bearer` header), stored only as its SHA-256, ending after a spell of inactivity or a fixed time
//! after login, whichever comes first; [`resume`], which both doors look sessions up through; and [`Citizen`], the
//! extractor every personal page reads the logged-in person through.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use rand::TryRng as _;
use sportello_domain::principal::Principal;
use sportello_store::{Session, SessionKind, StoreError};
use sportello_usecases::Acting;

use super::AuthState;
use crate::error::{AuthError, PageError};
use crate::i18n::LangQuery;

/// The session cookie. The `__Host-` prefix makes browsers refuse it unless it is `Secure`, has `Path=/` and no
/// `Domain`, so a sibling subdomain cannot plant one.
pub const SESSION_COOKIE: &str = "__Host-sportello";

/// Longest cookie value looked at; ours are 32 hex digits.
const MAX_COOKIE_VALUE: usize = 128;

pub use sportello_usecases::sessions::{SessionId, hash_id};

/// 16 random bytes from the OS CSPRNG, in hex.
pub fn random_hex() -> Result<String, AuthError> {
    let mut bytes = [0u8; 16];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|e| AuthError::Rng(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// The value of cookie `name` in the request, if present, non-empty and not absurdly long.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookie_at_most(headers, name, MAX_COOKIE_VALUE)
}

/// The value of cookie `name` in the request, if present, non-empty and at most `max` bytes long.
pub fn cookie_at_most<'a>(headers: &'a HeaderMap, name: &str, max: usize) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty() && value.len() <= max)
}

/// A `Set-Cookie` value for a `__Host-` cookie lasting as long as the browser session.
pub fn set_cookie(name: &str, value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax")).ok()
}

/// A `Set-Cookie` value that removes cookie `name`.
pub fn clear_cookie(name: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")).ok()
}

/// Whether `session` is still open at `now`: used within the idle timeout, and before its absolute expiry.
pub fn is_live(session: &Session, now: DateTime<Utc>, idle: std::time::Duration) -> bool {
    let idle_ends = chrono::TimeDelta::from_std(idle)
        .ok()
        .and_then(|idle| session.last_seen_at.checked_add_signed(idle))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    now < session.expires_at && now < idle_ends
}

/// The logged-in citizen. A handler that takes it runs only for a live session; anyone else is sent to `/accedi`.
/// Every read of personal data goes through it, so a page can show only the logged-in person's own data.
#[derive(Debug, Clone)]
pub struct Citizen {
    /// Who acts, for whom, how they logged in and by which door.
    pub principal: Principal,
    /// The hash of the session id, which logged-in CSRF tokens are bound to.
    pub id_hash: String,
    /// The credential that opened the session (`pin:<id>`), if the door has one.
    pub credential: Option<String>,
    /// Whether that credential is confirmed: what an unconfirmed session submits is held for payment until the
    /// person confirms (docs/SECURITY.md, "INPS PIN").
    pub confirmed: bool,
}

impl Citizen {
    /// Who acts, as the use cases take it: the session's principal and credential, from the client's address.
    pub fn acting(&self, from: &ClientAddr) -> Acting {
        Acting {
            principal: self.principal,
            credential: self.credential.clone(),
            confirmed: self.confirmed,
            from: from.0.map(|addr| addr.ip().to_string()),
        }
    }
}

/// What a presented session id opens.
#[derive(Debug)]
pub enum Resumed {
    /// A live session, whose use is now recorded.
    Live(Citizen),
    /// A session past its idle timeout or its absolute expiry, now deleted.
    Expired,
    /// No session has this id.
    Unknown,
}

/// How stale a session's recorded last activity may be before a request records it again: a twentieth of the idle
/// timeout, at most a minute. Recording every request would cost a durable write (an fsync) per page; this way a
/// session ends between its idle timeout and that much later, and a citizen moving through the pages writes once a
/// minute at most.
pub fn touch_every(idle: std::time::Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std((idle / 20).min(std::time::Duration::from_secs(60)))
        .unwrap_or(chrono::TimeDelta::zero())
}

/// The citizen's own session of `kind` whose id a client presented, as the `__Host-sportello` cookie ([`SessionKind::Cookie`]) or
/// as an API bearer token ([`SessionKind::Bearer`]): the sessions live in one store, so any node serves any request,
/// but a door opens only its own kind, so a token copied into a cookie (or the reverse) opens nothing. A live
/// session's use is recorded (see [`touch_every`]); an expired one is forgotten now rather than at the next sweep.
pub async fn resume(state: &AuthState, id: &str, kind: SessionKind) -> Result<Resumed, StoreError> {
    let id_hash = hash_id(id);
    let now = state.auth.now();
    let store = &state.app.store;
    let idle = state.app.config.session.idle_timeout();
    match store.session(&id_hash).await? {
        Some(session) if session.kind != kind => Ok(Resumed::Unknown),
        Some(session) if is_live(&session, now, idle) => {
            let principal =
                Principal::from_stored(&session.actor, session.codice_fiscale, &session.login_method, &session.channel)
                    .map_err(|e| StoreError::Corrupt(format!("a session's principal: {e}")))?;
            // The citizen's doors open only a citizen's own session: an operator acting for someone else comes by
            // the door of their own actor, with its checks, never through these pages or this API.
            if !principal.acts_for_self() {
                return Ok(Resumed::Unknown);
            }
            if now - session.last_seen_at >= touch_every(idle) {
                store.touch_session(&id_hash, now).await?;
            }
            Ok(Resumed::Live(Citizen {
                principal,
                id_hash,
                credential: session.credential,
                confirmed: session.confirmed,
            }))
        }
        Some(_) => {
            if let Err(e) = store.delete_session(&id_hash).await {
                tracing::warn!(error = %e, "could not delete an expired session");
            }
            Ok(Resumed::Expired)
        }
        None => Ok(Resumed::Unknown),
    }
}

impl FromRequestParts<AuthState> for Citizen {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AuthState) -> Result<Self, Self::Rejection> {
        let lang = Query::<LangQuery>::try_from_uri(&parts.uri).map(|q| q.0.lang()).unwrap_or_default();
        let to_login = || Redirect::to(&format!("/accedi{}", crate::render::lang_suffix(lang))).into_response();
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match resume(state, id, SessionKind::Cookie).await {
            Ok(Resumed::Live(citizen)) => {
                crate::viewer::set(viewer(state, &citizen).await);
                Ok(citizen)
            }
            Ok(Resumed::Expired) => {
                // Tell the browser to drop the cookie of a session that has ended.
                let mut response = to_login();
                if let Some(clear) = clear_cookie(SESSION_COOKIE) {
                    response.headers_mut().append(header::SET_COOKIE, clear);
                }
                Err(response)
            }
            Ok(Resumed::Unknown) => Err(to_login()),
            Err(e) => Err(PageError { error: e.into(), lang }.into_response()),
        }
    }
}

/// The header's view of `citizen`: their name from the persons import, or their codice fiscale when it has none
/// (or cannot be read now: the header is no reason to refuse the page).
async fn viewer(state: &AuthState, citizen: &Citizen) -> crate::viewer::Viewer {
    let name = match state.app.store.person(&citizen.principal.subject).await {
        Ok(Some(person)) if !person.full_name().trim().is_empty() => person.full_name(),
        Ok(_) => citizen.principal.subject.to_string(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read a person's name for the header");
            citizen.principal.subject.to_string()
        }
    };
    let csrf = state.auth.csrf.token(super::csrf::Binding::Session(&citizen.id_hash));
    crate::viewer::Viewer { name, csrf }
}

/// The client's address, when the server was started with connection info (as [`crate::server::Portal::launch`] does).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0)))
    }
}

/// Opens the citizen's session for `person`, who logged in by `method` (SPID, CIE, CNS: a door that proved who they
/// are), ending the one this browser held, and sends them on to `then` with its cookie; or the page saying what went
/// wrong, in `lang`.
pub async fn open_citizen(
    state: &AuthState,
    headers: &HeaderMap,
    person: sportello_domain::CodiceFiscale,
    method: sportello_domain::principal::LoginMethod,
    lang: crate::i18n::Lang,
    then: &str,
) -> Response {
    use crate::error::OrPage as _;
    let new = sportello_usecases::sessions::NewSession {
        principal: Principal::citizen(person, method),
        kind: SessionKind::Cookie,
        credential: None,
        confirmed: true,
    };
    let absolute = state.app.config.session.absolute_timeout();
    let replacing = cookie(headers, SESSION_COOKIE);
    let store = state.app.store.as_ref();
    let opened = sportello_usecases::sessions::open(store, new, replacing, absolute, state.auth.now()).await;
    let opened = match opened.or_page(lang) {
        Ok(opened) => opened,
        Err(page) => return page.into_response(),
    };
    let mut response = Redirect::to(then).into_response();
    if let Some(cookie) = set_cookie(SESSION_COOKIE, opened.id.expose()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(last_seen_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> Session {
        Session {
            id_hash: hash_id("x"),
            kind: SessionKind::Cookie,
            actor: "citizen:RSSMRA80A01H501U".to_owned(),
            codice_fiscale: sportello_domain::CodiceFiscale::parse("RSSMRA80A01H501U").unwrap(),
            login_method: "pin_simplified".to_owned(),
            channel: "citizen".to_owned(),
            created_at: last_seen_at,
            last_seen_at,
            expires_at,
            credential: None,
            confirmed: true,
        }
    }

    #[test]
    fn a_session_ends_when_idle_or_at_its_absolute_expiry() {
        let t0 = "2020-04-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let minutes = |m| t0 + chrono::TimeDelta::minutes(m);
        let idle = std::time::Duration::from_secs(30 * 60);
        let cases = [
            ("just used", session(t0, minutes(480)), minutes(0), true),
            ("idle 29 minutes", session(t0, minutes(480)), minutes(29), true),
            ("idle 30 minutes", session(t0, minutes(480)), minutes(30), false),
            ("in use but past its absolute expiry", session(minutes(479), minutes(480)), minutes(480), false),
        ];
        for (situation, session, now, live) in cases {
            assert_eq!(is_live(&session, now, idle), live, "{situation}");
        }
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("__Host-sportello_csrf=c; __Host-sportello=s"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("s"));
        assert_eq!(cookie(&headers, "__Host-sportello_csrf"), Some("c"));
        assert_eq!(cookie(&headers, "other"), None);
    }
}
