//! Applying for an indemnity: the form (`GET /domanda`), its review (`POST /domanda`), the submission
//! (`POST /domanda/invia`, post/redirect/get), the receipt (`GET /domande/{protocol}`) and "Le mie domande"
//! (`GET /domande`), which show where each application stands up to its payment, and the new IBAN for a payment
//! the bank returned (`POST /domande/{protocol}/iban`), and the annulment of an application someone else made in the
//! citizen's name (`POST /domande/{protocol}/annulla`, [`annul`]).
//!
//! Every page here is personal: none is marked public, so each keeps `Cache-Control: no-store, private` and
//! `Vary: Cookie`. The one-indemnity rule of art. 31 DL 18/2020 is the store's to enforce; these pages tell the
//! citizen what it decided.

use axum::routing::{get, post};

use crate::auth::{Auth, AuthState};
use crate::routes::{Audience, Routes};
use crate::state::AppState;

pub mod annul;
pub mod form;
pub mod handlers;
pub mod held;
pub mod italian_time;
pub mod receipt;
pub mod standing;
pub mod stored;
pub(crate) mod views;

/// The application routes, ready to merge into the portal's router.
pub fn routes<S: Clone + Send + Sync + 'static>(app: AppState, auth: Auth) -> Routes<S> {
    Routes::new()
        .add(Audience::Personal, "/domanda", "GET POST", get(handlers::form).post(handlers::review))
        .add(Audience::Personal, "/domanda/invia", "POST", post(handlers::submit))
        .add(Audience::Personal, "/domande", "GET", get(handlers::applications))
        .add(Audience::Personal, "/domande/{protocol}", "GET", get(receipt::receipt))
        .add(Audience::Personal, "/domande/{protocol}/iban", "POST", post(handlers::new_iban))
        .add(Audience::Personal, "/domande/{protocol}/annulla", "POST", post(annul::annul))
        .with_state(AuthState { app, auth })
}
