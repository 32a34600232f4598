//! `POST /domande/{protocol}/annulla`: the rightful person annuls an application made in their name.
//!
//! A PIN whose first half went to a contact not on file is a credential the person may never have asked for: what
//! it submits is accepted but held for payment (docs/SECURITY.md, "INPS PIN"). When the person logs in with a
//! confirmed credential — the full PIN, or a PIN whose first half went to a contact on file — the receipt of such a
//! held application offers to annul it. Annulling gives the indemnity back (art. 31 no longer counts the
//! application), revokes the credential it was made with and ends that credential's sessions, so the person can
//! apply again for themself.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_store::Application;

use crate::auth::AuthState;
use crate::auth::csrf::Binding;
use crate::auth::session::{Citizen, ClientAddr};
use crate::error::ServiceError;
use crate::i18n::{Lang, LangQuery};
use crate::render::{forbidden, lang_suffix, problem, unavailable};

/// The annulment form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AnnulForm {
    /// The CSRF token of the citizen's session.
    pub csrf: String,
}

/// Whether `citizen` may annul `application`: it is held for a credential, and the citizen logged in with another,
/// confirmed one. The receipt shows the form only then; [`annul`] asks the store the same question atomically.
pub fn may_annul(citizen: &Citizen, application: &Application) -> bool {
    citizen.confirmed && application.hold.as_deref().is_some_and(|hold| citizen.credential.as_deref() != Some(hold))
}

/// `POST /domande/{protocol}/annulla`.
pub async fn annul(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    Path(protocol): Path<String>,
    from: ClientAddr,
    citizen: Citizen,
    Form(form): Form<AnnulForm>,
) -> Response {
    let lang = query.lang();
    if !state.auth.csrf.verify(Binding::Session(&citizen.id_hash), &form.csrf) {
        return forbidden(lang);
    }
    if !citizen.confirmed {
        return not_confirmed(lang);
    }
    match annul_application(&state, &citizen, &protocol, &from).await {
        Ok(Some(_)) => Redirect::to(&format!("/domande/{protocol}{}", lang_suffix(lang))).into_response(),
        Ok(None) => nothing_to_annul(lang),
        Err(e) => {
            tracing::error!(error = %e, "could not annul an application");
            unavailable(lang)
        }
    }
}

/// Annuls the citizen's own application `protocol` held for another credential, audited (`annul_application`);
/// `None` when there is no such application or the citizen's session is not confirmed.
pub async fn annul_application(
    state: &AuthState,
    citizen: &Citizen,
    protocol: &str,
    from: &ClientAddr,
) -> Result<Option<Application>, ServiceError> {
    let (true, Some(credential)) = (citizen.confirmed, citizen.credential.as_deref()) else {
        return Ok(None);
    };
    if protocol.len() > super::stored::MAX_PROTOCOL {
        return Ok(None);
    }
    let annulled = state.app.store.annul_held(&citizen.codice_fiscale, protocol, credential, state.auth.now()).await?;
    if annulled.is_some() {
        citizen.audit(state, "annul_application", Some(protocol), from).await?;
    }
    Ok(annulled)
}

/// The 403 page for a session opened with a credential that is not confirmed.
fn not_confirmed(lang: Lang) -> Response {
    problem(
        StatusCode::FORBIDDEN,
        lang,
        lang.pick("Serve il PIN completo", "The full PIN is needed"),
        lang.pick(
            "Per annullare una domanda acceda con il PIN completo: la prima parte seguita dalla seconda, spedita per \
             posta al Suo indirizzo di residenza. In alternativa si faccia riconoscere presso una sede INPS.",
            "To annul an application, log in with the full PIN: the first half followed by the second, posted to \
             your address of residence. Otherwise, have your identity confirmed at an INPS office.",
        ),
    )
}

/// The 409 page when the application is not one held for another credential.
fn nothing_to_annul(lang: Lang) -> Response {
    problem(
        StatusCode::CONFLICT,
        lang,
        lang.pick("Nessuna domanda da annullare", "No application to annul"),
        lang.pick(
            "Tra le Sue domande non ce n'è una con questo numero di protocollo presentata con un PIN non confermato: \
             non c'è nulla da annullare. Lo stato di ogni domanda è in «Le mie domande».",
            "None of your applications with this protocol number was made with an unconfirmed PIN: there is \
             nothing to annul. You will find where each application stands in \"My applications\".",
        ),
    )
}
