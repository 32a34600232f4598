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
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::AuthState;
use crate::auth::csrf::Binding;
use crate::auth::session::{Citizen, ClientAddr};
use crate::error::{OrPage, PageError};
use crate::i18n::LangQuery;
use crate::render::{forbidden, lang_suffix};

/// The annulment form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AnnulForm {
    /// The CSRF token of the citizen's session.
    pub csrf: String,
}

/// `POST /domande/{protocol}/annulla`: the use case `sportello_usecases::annul::annul` once the CSRF token is
/// checked; post/redirect/get back to the receipt. An unconfirmed session is refused (403), as is an application
/// not held for another credential (409).
pub async fn annul(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    Path(protocol): Path<String>,
    from: ClientAddr,
    citizen: Citizen,
    Form(form): Form<AnnulForm>,
) -> Result<Response, PageError> {
    let lang = query.lang();
    if !state.auth.csrf.verify(Binding::Session(&citizen.id_hash), &form.csrf) {
        return Ok(forbidden(lang));
    }
    let who = citizen.acting(&from);
    sportello_usecases::annul::annul(state.app.store.as_ref(), &who, &protocol, state.auth.now())
        .await
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/domande/{protocol}{}", lang_suffix(lang))).into_response())
}
