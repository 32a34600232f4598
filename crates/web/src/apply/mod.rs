//! Applying for an indemnity: the form (`GET /domanda`), its review (`POST /domanda`), the submission
//! (`POST /domanda/invia`, post/redirect/get), the receipt (`GET /domande/{protocol}`) and "Le mie domande"
//! (`GET /domande`).
//!
//! Every page here is personal: none is marked public, so each keeps `Cache-Control: no-store, private` and
//! `Vary: Cookie`. The one-indemnity rule of art. 31 DL 18/2020 is the store's to enforce; these pages tell the
//! citizen what it decided.

use axum::Router;
use axum::routing::{get, post};

use crate::auth::{Auth, AuthState};
use crate::server::AppState;

pub mod form;
pub mod handlers;
pub mod italian_time;

/// The application routes, ready to merge into the portal's router.
pub fn routes<S>(app: AppState, auth: Auth) -> Router<S> {
    Router::new()
        .route("/domanda", get(handlers::form).post(handlers::review))
        .route("/domanda/invia", post(handlers::submit))
        .route("/domande", get(handlers::applications))
        .route("/domande/{protocol}", get(handlers::receipt))
        .with_state(AuthState { app, auth })
}
