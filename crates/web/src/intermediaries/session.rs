//! The operator's session: its id in the `__Host-sportello_intermediari` cookie (`SameSite=Strict`, so that a request
//! from another site carries none); the stored principal is an [`Actor::Intermediary`] at the office chosen at login,
//! which the citizen's doors never open (it does not act for itself), and [`Operator`], the extractor every page
//! under `/intermediari` reads the operator through, re-checks the roster on every request (`mandates::seat`), so
//! that a session never outlives the roster row that opened it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use sportello_domain::Date;
use sportello_domain::principal::{Actor, Principal};
use sportello_store::SessionKind;
use sportello_usecases::intermediaries::mandates::{self, Seat};
use sportello_usecases::sessions::hash_id;

use super::page::{Header, IntermError, OrInterm};
use crate::auth::AuthState;
use crate::auth::csrf::Binding;
use crate::auth::session::{cookie, is_live, touch_every};

use super::identity::OPERATOR_COOKIE;

/// Where an operator logs in.
pub const LOGIN: &str = "/intermediari/accedi";

/// A `Set-Cookie` value that removes the operator's session cookie.
pub fn clear_operator_cookie() -> HeaderValue {
    HeaderValue::from_static("__Host-sportello_intermediari=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Today in Italy, the day the roster and the mandates are read on.
pub fn today(state: &AuthState) -> Date {
    state.auth.now().with_timezone(&chrono_tz::Europe::Rome).date_naive()
}

/// The logged-in operator at their office, as the roster lists them today.
#[derive(Debug, Clone)]
pub struct Operator {
    /// Who they are, where, in which role.
    pub seat: Seat,
    /// The hash of the session id, which their forms' tokens are bound to.
    pub id_hash: String,
    /// Their pages' header.
    pub header: Header,
}

impl Operator {
    /// Whether `token` is this session's form token.
    pub fn token_ok(&self, state: &AuthState, token: &str) -> bool {
        state.auth.csrf.verify(Binding::Session(&self.id_hash), token)
    }
}

/// What a presented operator session id opens.
pub enum Resumed {
    /// A live session of an operator seated at an office the roster lists for them today.
    Live(Seat),
    /// No such session, or it ended (the roster row with it).
    Closed,
}

/// The seat a presented operator session id of `kind` opens, if live and still on the roster today.
pub async fn resume(state: &AuthState, id: &str, kind: SessionKind) -> Result<Resumed, IntermError> {
    let store = state.app.store.as_ref();
    let id_hash = hash_id(id);
    let now = state.auth.now();
    let idle = state.app.config.session.idle_timeout();
    let Some(session) = store.session(&id_hash).await.or_interm(None)? else { return Ok(Resumed::Closed) };
    if session.kind != kind {
        return Ok(Resumed::Closed);
    }
    let principal =
        Principal::from_stored(&session.actor, session.codice_fiscale, &session.login_method, &session.channel);
    // Only an operator's own session: a citizen's id presented in this cookie opens nothing here.
    let Ok(Principal { actor: Actor::Intermediary { operator, office }, subject, method, .. }) = principal else {
        return Ok(Resumed::Closed);
    };
    if subject != operator || !is_live(&session, now, idle) {
        return Ok(Resumed::Closed);
    }
    // The roster on every request: a row ended today closes the session now.
    let seat = match mandates::seat(store, operator, office, method, today(state)).await {
        Ok(seat) => seat,
        Err(e) if e.kind() == sportello_usecases::ErrorKind::Forbidden => {
            store.delete_session(&id_hash).await.or_interm(None)?;
            return Ok(Resumed::Closed);
        }
        Err(e) => return Err(IntermError { error: e, header: None }),
    };
    if now - session.last_seen_at >= touch_every(idle) {
        store.touch_session(&id_hash, now).await.or_interm(None)?;
    }
    Ok(Resumed::Live(seat))
}

impl FromRequestParts<AuthState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AuthState) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to(LOGIN).into_response();
        let Some(id) = cookie(&parts.headers, OPERATOR_COOKIE) else { return Err(to_login()) };
        match resume(state, id, SessionKind::Cookie).await {
            Ok(Resumed::Live(seat)) => {
                let id_hash = hash_id(id);
                let csrf = state.auth.csrf.token(Binding::Session(&id_hash));
                let header = Header::of(&seat, csrf);
                Ok(Operator { seat, id_hash, header })
            }
            Ok(Resumed::Closed) => {
                let mut response = to_login();
                response.headers_mut().append(header::SET_COOKIE, clear_operator_cookie());
                Err(response)
            }
            Err(page) => Err(page.into_response()),
        }
    }
}
