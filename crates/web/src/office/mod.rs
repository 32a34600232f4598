//! The institute's back office under `/ufficio`: officers log in with their accounts' passwords (`login`) or with
//! SPID or CIE (`identity`), find and read cases with a stated reason (`cases`), and the data protection officer
//! answers subject access and assesses breaches (`gdpr`), and every officer watches the live dashboard (`dashboard`);
//! a supervisor re-decides an application from its case (`review`). Every page checks the officer's session
//! (`session::Officer`) and the use case it calls checks their role; every route is personal, so none is kept by a
//! shared cache. docs/SECURITY.md, "The back office".

use axum::routing::{get, post};

use crate::auth::Auth;
use crate::routes::{Audience, Routes};
use crate::state::AppState;

pub mod cases;
pub mod dashboard;
pub mod gdpr;
pub mod identity;
pub mod login;
pub mod page;
pub mod retention;
pub mod review;
pub mod session;
pub mod state;

/// The office's routes, ready to merge into the portal's router. The login's POST passes the same per-address rate
/// limit as the citizens' login.
pub fn routes<S: Clone + Send + Sync + 'static>(
    app: AppState,
    auth: Auth,
    gate: Option<std::sync::Arc<sportello_gate::gate::Gate>>,
) -> Routes<S> {
    let guard = axum::middleware::from_fn_with_state(std::sync::Arc::clone(&auth.limits), crate::limits::guard);
    Routes::new()
        .add(Audience::Personal, "/ufficio", "GET", get(cases::home))
        .add(Audience::Personal, "/ufficio/accedi", "GET POST", get(login::form).post(login::login).layer(guard))
        .add(Audience::Personal, "/ufficio/esci", "POST", post(login::logout))
        .add(Audience::Personal, "/ufficio/pratica", "GET", get(cases::case))
        .add(Audience::Personal, "/ufficio/cruscotto", "GET", get(dashboard::page))
        .add(Audience::Personal, "/ufficio/riesame", "POST", post(review::submit))
        .add(Audience::Personal, "/ufficio/riesame/{id}/conferma", "POST", post(review::confirm_override))
        .add(Audience::Personal, "/ufficio/accesso", "GET", get(gdpr::access))
        .add(Audience::Personal, "/ufficio/violazioni", "GET", get(gdpr::breach_report))
        .with_state(state::OfficeState::new(app, auth, gate))
}
