//! The officer's session: its id in the `__Host-sportello_office` cookie (`SameSite=Strict`, so that a request from
//! another site carries none), looked up only among office sessions, so a citizen's cookie or token opens no office
//! page and an officer's id opens no citizen's page; and [`Officer`], the extractor every office page reads the
//! officer through, with their role as their account holds it now.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use sportello_usecases::office::OnDuty;
use sportello_usecases::office::login::{Resumed, resume};
use sportello_usecases::sessions::hash_id;

pub use super::identity::{OFFICE_COOKIE, set_office_cookie};
use super::page::{Header, OrOffice};
use super::state::OfficeState;
use crate::auth::csrf::Binding;
use crate::auth::session::cookie;

/// Where an officer logs in.
pub const LOGIN: &str = "/ufficio/accedi";

/// A `Set-Cookie` value that removes the office's session cookie.
pub fn clear_office_cookie() -> HeaderValue {
    HeaderValue::from_static("__Host-sportello_office=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The logged-in officer. A handler that takes it runs only for a live office session of an account that may still
/// log in; anyone else is sent to the office's login.
#[derive(Debug, Clone)]
pub struct Officer {
    /// Who they are, their role now, and where they are.
    pub on_duty: OnDuty,
    /// The hash of the session id, which their forms' tokens are bound to.
    pub id_hash: String,
    /// Their pages' header.
    pub header: Header,
}

impl Officer {
    /// Whether `token` is this session's form token.
    pub fn token_ok(&self, state: &OfficeState, token: &str) -> bool {
        state.auth.csrf.verify(Binding::Session(&self.id_hash), token)
    }
}

impl FromRequestParts<OfficeState> for Officer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &OfficeState) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to(LOGIN).into_response();
        let Some(id) = cookie(&parts.headers, OFFICE_COOKIE) else { return Err(to_login()) };
        let from = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_string());
        match resume(state.app.store.as_ref(), id, from, state.auth.now()).await.or_office(None) {
            Ok(Resumed::Live(on_duty)) => {
                let id_hash = hash_id(id);
                let csrf = state.auth.csrf.token(Binding::Session(&id_hash));
                let header = Header::of(&on_duty, csrf);
                Ok(Officer { on_duty, id_hash, header })
            }
            Ok(Resumed::Closed) => {
                let mut response = to_login();
                response.headers_mut().append(header::SET_COOKIE, clear_office_cookie());
                Err(response)
            }
            Err(page) => Err(page.into_response()),
        }
    }
}
