//! An officer's office session opened once who they are is known: after their password at `/ufficio/accedi`, or
//! after SPID or CIE vouched for their codice fiscale (the federation's callback, `auth::oidc`), which must be the one
//! their account names (`sportello officers add --codice-fiscale`). A leaf of `office/`: the federation's callback
//! reaches it without reaching back into the office's pages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::principal::LoginMethod;
use sportello_usecases::office::login::{LoggedIn, log_in_identified};

use super::page::{OfficeError, OrOffice, problem};
use crate::state::AppState;

/// The office's session cookie, apart from the citizens' `__Host-sportello` and the operators'.
pub const OFFICE_COOKIE: &str = "__Host-sportello_office";

/// A `Set-Cookie` value for the office's session, for as long as the browser is open.
pub fn set_office_cookie(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{OFFICE_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict")).ok()
}

/// On to the office's home with the session just opened.
pub fn opened(logged_in: &LoggedIn) -> Response {
    let mut response = Redirect::to("/ufficio").into_response();
    if let Some(cookie) = set_office_cookie(logged_in.id.expose()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// An officer whom SPID or CIE identified as `person` (by `method`): their office session opened (ending
/// `replacing`), or 403 and no session when no account that may log in names that codice fiscale. The provider proves
/// who the person is, not that they work for the institute: only an account says that.
pub async fn after_identity(
    app: &AppState,
    now: DateTime<Utc>,
    person: CodiceFiscale,
    method: LoginMethod,
    replacing: Option<&str>,
    from: Option<String>,
) -> Result<Response, OfficeError> {
    match log_in_identified(app.store.as_ref(), &person, method, replacing, from, now).await.or_office(None)? {
        Ok(logged_in) => {
            tracing::info!(officer = logged_in.officer.id, method = method.as_str(), "an officer logged in");
            Ok(opened(&logged_in))
        }
        Err(_) => Ok(problem(
            StatusCode::FORBIDDEN,
            None,
            "Accesso non consentito",
            "L'identità è stata verificata, ma nessuna utenza dell'ufficio attiva è associata a questo codice \
             fiscale. Chieda all'amministratore di associarlo alla sua utenza, oppure acceda con nome utente e \
             password.",
        )),
    }
}
