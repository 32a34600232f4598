//! Logging in with the CNS (Carta Nazionale dei Servizi) or a CIE's authentication certificate: a TLS client
//! certificate, asked for only on a listener of its own (`[cns] listen`), so that nobody using the portal's main
//! address is ever asked for one. The TLS layer (`rustls`, TLS 1.2 and 1.3, client authentication optional) accepts
//! only certificates that chain to the operator's trust list and are valid now; this module then reads the
//! certificate the connection was made with (`PeerCertificate`, put on each request by `crate::serve`), checks its
//! certificate policy (`certificate`), and opens the citizen's session for the codice fiscale it carries.
//!
//! docs/SECURITY.md ("CNS by certificate") says what each check refuses.

mod certificate;
mod settings;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sportello_domain::principal::LoginMethod;

pub use certificate::{Holder, Refused, holder};
pub use settings::{CnsError, CnsSection};

use super::AuthState;
use super::session::open_citizen;
use crate::i18n::{Lang, LangQuery};
use crate::render::{LAST_UPDATE, lang_suffix, render_with};

/// The certificate the client authenticated the connection with (DER), on every request of a connection made to the
/// CNS listener with one; absent everywhere else.
#[derive(Clone, Debug)]
pub struct PeerCertificate(pub Vec<u8>);

/// The login path on the CNS listener.
pub const PATH: &str = "/accedi/cns";

#[derive(Template)]
#[template(path = "cns_refused.html")]
struct RefusedPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    title: &'static str,
    message: &'static str,
    portal: String,
}

/// `GET /accedi/cns` on the CNS listener: the citizen's session for the holder of the certificate the connection
/// was made with, then on to the portal's address. Without a certificate, or with one that is not a CNS or CIE
/// authentication certificate naming a codice fiscale, a page says what to do; nothing is opened.
pub async fn login(
    State(state): State<AuthState>,
    peer: Option<Extension<PeerCertificate>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<LangQuery>,
) -> Response {
    let lang = query.lang();
    let Some(section) = state.app.config.cns.as_ref() else { return StatusCode::NOT_FOUND.into_response() };
    let portal = section.portal_url.trim_end_matches('/').to_owned();
    let refused = |status: StatusCode, title: &'static str, message: &'static str| {
        let page = RefusedPage {
            lang,
            lang_suffix: lang_suffix(lang),
            last_update: LAST_UPDATE,
            title,
            message,
            portal: portal.clone(),
        };
        render_with(status, &page)
    };
    let Some(Extension(PeerCertificate(der))) = peer else {
        tracing::info!("CNS login without a client certificate");
        return refused(
            StatusCode::UNAUTHORIZED,
            lang.pick("Nessuna carta letta", "No card read"),
            lang.pick(
                "Il browser non ha presentato il certificato di una carta. Inserisca la CNS (o la CIE) nel lettore, verifichi che il lettore e il software della carta siano installati, chiuda il browser e riprovi; oppure acceda con SPID, CIE o il PIN INPS.",
                "The browser did not present a card's certificate. Put the CNS (or the CIE) in the reader, check that the reader and the card's software are installed, close the browser and try again; or log in with SPID, CIE or the INPS PIN.",
            ),
        );
    };
    let holder = match holder(&der, &section.policies) {
        Ok(holder) => holder,
        Err(why) => {
            tracing::warn!(reason = %why, "CNS login refused");
            return refused(
                StatusCode::FORBIDDEN,
                lang.pick("Certificato non utilizzabile", "Certificate not usable"),
                lang.pick(
                    "Il certificato presentato non è quello di autenticazione di una Carta Nazionale dei Servizi o di una CIE, oppure non riporta un codice fiscale valido. Se la carta ha più certificati, scelga quello di autenticazione; altrimenti acceda con SPID, CIE o il PIN INPS.",
                    "The certificate presented is not the authentication certificate of a National Services Card or a CIE, or it carries no valid codice fiscale. If the card holds several certificates, choose the authentication one; otherwise log in with SPID, CIE or the INPS PIN.",
                ),
            );
        }
    };
    tracing::info!(policy = %holder.policy, "logged in with a card certificate");
    let then = format!("{portal}/situazione{}", lang_suffix(lang));
    open_citizen(&state, &headers, holder.codice_fiscale, LoginMethod::Cns, lang, &then).await
}
