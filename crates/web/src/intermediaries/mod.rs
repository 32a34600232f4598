//! The intermediaries' area under `/intermediari` (issue 17): an operator logs in with their PIN at an office the
//! institute's roster lists for them today (`login`), sees the mandates of that office in force (`desk`), records a
//! mandate with its signed form (`record`), reads a citizen's situation (`citizen`) and files for them, one by one
//! (`filing`) or in a batch (`batch`); a Contact Center operator identifies a caller and acts for them on the call
//! (`call`). Every
//! page re-checks the roster (`session::Operator`) and reaches a citizen only through `mandates::act_for`; every
//! route is personal, so none is kept by a shared cache. docs/SECURITY.md, "Acting for someone else".

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::auth::{Auth, AuthState};
use crate::routes::{Audience, Routes};
use crate::state::AppState;

pub mod batch;
pub mod call;
pub mod citizen;
pub mod desk;
pub mod filing;
pub mod identity;
pub mod login;
pub mod page;
pub mod record;
pub mod session;

/// The operators' routes, ready to merge into the portal's router. The login's POST passes the same per-address
/// rate limit as the citizens' login.
pub fn routes<S: Clone + Send + Sync + 'static>(app: AppState, auth: Auth) -> Routes<S> {
    let guard = axum::middleware::from_fn_with_state(std::sync::Arc::clone(&auth.limits), crate::limits::guard);
    Routes::new()
        .add(Audience::Personal, "/intermediari", "GET", get(desk::home))
        .add(
            Audience::Personal,
            "/intermediari/accedi",
            "GET POST",
            get(login::form).post(login::login).layer(guard.clone()),
        )
        .add(Audience::Personal, "/intermediari/cittadino", "GET", get(citizen::situation))
        .add(
            Audience::Personal,
            crate::body_limit::UPLOAD_PATH,
            "GET POST",
            get(record::form).post(record::record).layer(DefaultBodyLimit::max(crate::body_limit::MAX_UPLOAD_BYTES)),
        )
        .add(
            Audience::Personal,
            crate::body_limit::BATCH_PATH,
            "GET POST",
            get(batch::form).post(batch::upload).layer(DefaultBodyLimit::max(crate::body_limit::MAX_BATCH_BYTES)),
        )
        .add(Audience::Personal, "/intermediari/domanda", "GET POST", get(filing::form).post(filing::submit))
        .add(Audience::Personal, call::CALL, "GET POST", get(call::page).post(call::identify).layer(guard.clone()))
        .add(Audience::Personal, "/intermediari/chiamata/codice", "POST", post(call::send_code).layer(guard.clone()))
        .add(Audience::Personal, "/intermediari/chiamata/pin", "POST", post(call::resend_pin).layer(guard.clone()))
        .add(Audience::Personal, "/intermediari/chiamata/domanda", "GET POST", get(call::form).post(call::submit))
        .add(Audience::Personal, "/intermediari/chiamata/fine", "POST", post(call::end))
        .add(Audience::Personal, "/intermediari/sede", "POST", post(login::change))
        .add(Audience::Personal, "/intermediari/esci", "POST", post(login::logout))
        .with_state(AuthState { app, auth })
}
