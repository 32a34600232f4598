//! An operator's session opened once who they are is known: after their PIN at `/intermediari/accedi`, or after SPID
//! or CIE vouched for them (the federation's callback, `auth::oidc`). The seat comes from the institute's roster
//! (`mandates::seat`), never from the login method; the session's principal is an [`Actor::Intermediary`] at that
//! office, its id in the operator's cookie. A leaf of `intermediaries/`: the federation's callback reaches it without
//! reaching back into the doors.
//!
//! [`Actor::Intermediary`]: sportello_domain::principal::Actor::Intermediary

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::principal::{LoginMethod, Principal};
use sportello_store::SessionKind;
use sportello_usecases::intermediaries::mandates::{self, Seat};
use sportello_usecases::sessions::{self, NewSession};

use super::page::{IntermError, OrInterm, problem};
use crate::state::AppState;

/// The operators' session cookie, apart from the citizens' `__Host-sportello` and the office's.
pub const OPERATOR_COOKIE: &str = "__Host-sportello_intermediari";

/// A `Set-Cookie` value for the operator's session, for as long as the browser is open.
pub fn set_operator_cookie(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{OPERATOR_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict")).ok()
}

/// The session's principal for an operator seated at an office: the operator is their own subject until a mandate
/// gives them a citizen's (`mandates::act_for`).
pub fn seated(seat: &Seat) -> Principal {
    Principal::intermediary(seat.operator, seat.office, seat.operator, seat.method)
}

/// Opens the operator's session at `seat` at `now`, ending the one the browser held (`replacing`), and goes to the
/// office's desk.
pub async fn open(
    app: &AppState,
    now: DateTime<Utc>,
    seat: &Seat,
    replacing: Option<&str>,
) -> Result<Response, IntermError> {
    let new = NewSession { principal: seated(seat), kind: SessionKind::Cookie, credential: None, confirmed: true };
    let absolute = app.config.session.absolute_timeout();
    let opened = sessions::open(app.store.as_ref(), new, replacing, absolute, now).await.or_interm(None)?;
    let mut response = Redirect::to("/intermediari").into_response();
    if let Some(cookie) = set_operator_cookie(opened.id.expose()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// An operator whom SPID or CIE identified: seated at the first office the roster lists for them today, with the
/// login method the provider vouched for, their session opened (ending `replacing`), and on to the desk. Someone the
/// roster does not list today gets no session: a SPID identity, even for professional use, proves who the person
/// is, not that they work for an intermediary.
pub async fn after_identity(
    app: &AppState,
    now: DateTime<Utc>,
    operator: CodiceFiscale,
    method: LoginMethod,
    replacing: Option<&str>,
) -> Result<Response, IntermError> {
    let store = app.store.as_ref();
    let day = now.with_timezone(&chrono_tz::Europe::Rome).date_naive();
    let listed = mandates::offices_of(store, operator, day).await.or_interm(None)?;
    let Some(office) = listed.first().map(|row| row.office) else {
        return Ok(problem(
            StatusCode::FORBIDDEN,
            None,
            "Operazione non consentita",
            "L'elenco degli operatori dell'Istituto non La abilita ad alcuna sede oggi.",
        ));
    };
    let seat = mandates::seat(store, operator, office, method, day).await.or_interm(None)?;
    open(app, now, &seat, replacing).await
}
