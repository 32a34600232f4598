//! The JSON API under `/api/v1`: the citizen's journey (PIN, session, situation, applications) for apps and the
//! Contact Center, described by the OpenAPI document at `/api/openapi.json`.
//!
//! Handlers stay thin and call the same use cases as the pages (`auth::handlers::log_in`, and
//! `sportello_usecases::{pin_request, login, decide, draft, apply, receipts, iban, annul}`), so the lockout, the
//! art. 31 rule, the audit rows and the metrics are the same whichever door a citizen comes through; a use case's
//! failure becomes a problem in one place (`problem::Problem::of`). Clients authenticate with `Authorization:
//! Bearer` only and the API never reads the session cookie: see [`sessions::Bearer`] for why that makes CSRF tokens
//! unnecessary here. Errors are RFC 9457 problems ([`problem`]).

use axum::routing::{delete, get, post, put};

use crate::auth::{Auth, AuthState};
use crate::routes::{Audience, Routes};
use crate::state::AppState;

pub mod applications;
pub mod bodies;
pub mod doc;
pub mod intermediaries;
pub mod json;
pub mod problem;
pub mod responses;
pub mod sessions;
pub mod situation;

/// The API's routes, ready to merge into the portal's router. The indemnities and the document are public
/// (cacheable); everything else carries a token or personal data and keeps the private default.
pub fn routes<S: Clone + Send + Sync + 'static>(app: AppState, auth: Auth) -> Routes<S> {
    let guard = axum::middleware::from_fn_with_state(std::sync::Arc::clone(&auth.limits), crate::limits::guard);
    Routes::new()
        .add(Audience::Public, "/api/openapi.json", "GET", get(doc::openapi))
        .add(Audience::Public, "/api/v1/schemes", "GET", get(situation::schemes))
        .add(Audience::Personal, "/api/v1/pin", "POST", post(sessions::request_pin).layer(guard.clone()))
        .add(Audience::Personal, "/api/v1/sessions", "POST", post(sessions::create).layer(guard.clone()))
        .add(
            Audience::Personal,
            "/api/v1/intermediaries/sessions",
            "POST",
            post(intermediaries::create_session).layer(guard),
        )
        .add(
            Audience::Personal,
            crate::body_limit::API_BATCH_PATH,
            "POST",
            post(intermediaries::file_batch)
                .layer(axum::extract::DefaultBodyLimit::max(crate::body_limit::MAX_BATCH_BYTES)),
        )
        .add(Audience::Personal, "/api/v1/sessions/current", "DELETE", delete(sessions::delete_current))
        .add(Audience::Personal, "/api/v1/situation", "GET", get(situation::situation))
        .add(Audience::Personal, "/api/v1/applications", "GET POST", get(applications::list).post(applications::submit))
        .add(Audience::Personal, "/api/v1/applications/{protocol}", "GET", get(applications::receipt))
        .add(Audience::Personal, "/api/v1/applications/{protocol}/iban", "PUT", put(applications::new_iban))
        .add(Audience::Personal, "/api/v1/applications/{protocol}/annulment", "POST", post(applications::annul))
        .with_state(AuthState { app, auth })
}
