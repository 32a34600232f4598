//! The SPID/CIE pages: the entity configuration, the start of a login at a provider, and its callback.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_domain::CodiceFiscale;
use sportello_domain::principal::LoginMethod;
use sportello_federation::rp::Level;

use super::pending::{self, For, OFFICE_MARK_COOKIE, OPERATOR_MARK_COOKIE, PENDING_COOKIE};
use super::{Door, Failed};
use crate::auth::AuthState;
use crate::auth::session::{ClientAddr, clear_cookie, cookie, open_citizen};
use crate::i18n::{Lang, LangQuery};
use crate::render::{lang_suffix, problem};

fn door(state: &AuthState) -> Option<&Door> {
    state.auth.oidc.as_deref()
}

fn now(state: &AuthState) -> i64 {
    state.auth.now().timestamp()
}

/// `GET /.well-known/openid-federation`: Sportello's entity configuration, signed with its federation key.
pub async fn entity_configuration(State(state): State<AuthState>) -> Response {
    let Some(door) = door(&state) else { return StatusCode::NOT_FOUND.into_response() };
    match door.rp.entity_configuration(now(&state)) {
        Ok(jwt) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/entity-statement+jwt"))], jwt)
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the entity configuration could not be signed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The query of `/accedi/spid`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StartQuery {
    /// The provider chosen, by its entity identifier.
    pub provider: String,
    /// The page's language.
    pub lang: Option<String>,
}

/// `GET /accedi/spid?provider=…`: to the chosen SPID provider, with a signed request.
pub async fn start_spid(State(state): State<AuthState>, Query(query): Query<StartQuery>) -> Response {
    spid(&state, query, For::Citizen).await
}

/// `GET /intermediari/accedi/spid?provider=…`: an operator's login at the chosen SPID provider.
pub async fn start_spid_operator(State(state): State<AuthState>, Query(query): Query<StartQuery>) -> Response {
    spid(&state, query, For::Operator).await
}

/// `GET /ufficio/accedi/spid?provider=…`: an officer's login at the chosen SPID provider.
pub async fn start_spid_office(State(state): State<AuthState>, Query(query): Query<StartQuery>) -> Response {
    spid(&state, query, For::Office).await
}

async fn spid(state: &AuthState, query: StartQuery, who: For) -> Response {
    let lang = LangQuery { lang: query.lang.clone() }.lang();
    let Some(door) = door(state) else { return StatusCode::NOT_FOUND.into_response() };
    if door.is_cie(&query.provider) {
        return failed(
            lang,
            Failed::Refused(sportello_federation::Refusal::new("CIE's provider asked for by the SPID door")),
        );
    }
    start(state, door, &query.provider, door.level, lang, who).await
}

/// `GET /accedi/cie`: to CIE's provider.
pub async fn start_cie(State(state): State<AuthState>, Query(query): Query<LangQuery>) -> Response {
    cie(&state, query.lang(), For::Citizen).await
}

/// `GET /intermediari/accedi/cie`: an operator's login at CIE's provider.
pub async fn start_cie_operator(State(state): State<AuthState>) -> Response {
    cie(&state, Lang::It, For::Operator).await
}

/// `GET /ufficio/accedi/cie`: an officer's login at CIE's provider.
pub async fn start_cie_office(State(state): State<AuthState>) -> Response {
    cie(&state, Lang::It, For::Office).await
}

async fn cie(state: &AuthState, lang: Lang, who: For) -> Response {
    let Some(door) = door(state) else { return StatusCode::NOT_FOUND.into_response() };
    let Some(cie) = door.cie.clone() else { return StatusCode::NOT_FOUND.into_response() };
    start(state, door, &cie, Level::L2, lang, who).await
}

async fn start(state: &AuthState, door: &Door, provider: &str, level: Level, lang: Lang, who: For) -> Response {
    let now = now(state);
    let started = async {
        let provider = door.federation.provider(provider, now).await?;
        door.rp.authorization(&provider, level, now)
    };
    match started.await {
        Ok((url, pending)) => {
            let mut response = Redirect::to(&url).into_response();
            if let Some(cookie) = pending::set(&pending::seal(&state.auth.csrf, &pending)) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            for mark in pending::marks(&state.auth.csrf, &pending, who) {
                response.headers_mut().append(header::SET_COOKIE, mark);
            }
            response
        }
        Err(e) => failed(lang, e.into()),
    }
}

/// The provider's answer, on the callback's query. No `Debug`: it holds the authorization code.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` sent.
    pub state: Option<String>,
    /// The provider's identifier (CIE sends it).
    pub iss: Option<String>,
    /// An error code, when the login did not succeed.
    pub error: Option<String>,
}

/// `GET /accedi/oidc/ritorno`: checks the provider's answer against this browser's pending login, exchanges the code,
/// checks the ID token and userinfo, and opens a session for the person it names: a citizen's, or, for a login started
/// at `/intermediari/accedi`, an operator's at the first office the institute's roster lists for them today; for one
/// started at `/ufficio/accedi`, the office session of the officer whose account names that codice fiscale.
pub async fn callback(
    State(state): State<AuthState>,
    client: ClientAddr,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let lang = Lang::It;
    let Some(door) = door(&state) else { return StatusCode::NOT_FOUND.into_response() };
    let mut response = match verified(&state, door, &headers, query).await {
        Ok((person, method, For::Operator)) => {
            let replacing = cookie(&headers, crate::intermediaries::identity::OPERATOR_COOKIE);
            let app = &state.app;
            match crate::intermediaries::identity::after_identity(app, state.auth.now(), person, method, replacing)
                .await
            {
                Ok(response) => response,
                Err(page) => page.into_response(),
            }
        }
        Ok((person, method, For::Office)) => {
            let replacing = cookie(&headers, crate::office::identity::OFFICE_COOKIE);
            let from = client.0.map(|addr| addr.ip().to_string());
            let now = state.auth.now();
            match crate::office::identity::after_identity(&state.app, now, person, method, replacing, from).await {
                Ok(response) => response,
                Err(page) => page.into_response(),
            }
        }
        Ok((person, method, For::Citizen)) => {
            let then = format!("/situazione{}", lang_suffix(lang));
            open_citizen(&state, &headers, person, method, lang, &then).await
        }
        Err(failure) => failed(lang, failure),
    };
    // The pending login is spent whatever happened: a second callback finds none.
    for name in [PENDING_COOKIE, OPERATOR_MARK_COOKIE, OFFICE_MARK_COOKIE] {
        if let Some(clear) = clear_cookie(name) {
            response.headers_mut().append(header::SET_COOKIE, clear);
        }
    }
    response
}

/// The person the provider vouches for, how they logged in, and whom the login was for.
async fn verified(
    state: &AuthState,
    door: &Door,
    headers: &HeaderMap,
    query: CallbackQuery,
) -> Result<(CodiceFiscale, LoginMethod, For), Failed> {
    let now = now(state);
    let pending = pending::open(&state.auth.csrf, headers, now).ok_or(Failed::NoPendingLogin)?;
    let same_state = query.state.as_deref().is_some_and(|s| constant_time_eq(s.as_bytes(), pending.state.as_bytes()));
    if !same_state {
        return Err(Failed::NoPendingLogin);
    }
    if let Some(error) = query.error {
        let code: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect();
        return Err(Failed::AtProvider(code));
    }
    let code = query.code.ok_or(Failed::Refused(sportello_federation::Refusal::new("callback without a code")))?;
    let provider = door.federation.provider(&pending.provider, now).await?;
    if query.iss.as_deref().is_some_and(|iss| iss != provider.issuer()) {
        return Err(Failed::Refused(sportello_federation::Refusal::new("callback names another provider")));
    }
    let http = door.federation.transport();
    let tokens = door.rp.exchange(http, &provider, &code, &pending, now).await?;
    let person = door.rp.userinfo(http, &provider, &tokens, now).await?;
    // Sportello keeps no provider token: the access token is revoked at once, so logout has nothing left there.
    if let Err(e) = door.rp.revoke(http, &provider, &tokens.access_token, now).await {
        tracing::warn!(provider = %provider.id, error = %e, "the access token could not be revoked");
    }
    let method = if door.is_cie(&provider.id) {
        LoginMethod::Cie
    } else if tokens.id_token.level >= Level::L3 {
        LoginMethod::SpidL3
    } else {
        LoginMethod::SpidL2
    };
    let who = pending::marked_for(&state.auth.csrf, headers, &pending);
    tracing::info!(provider = %provider.id, method = method.as_str(), door = ?who, "logged in through the federation");
    Ok((person.codice_fiscale, method, who))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The page for a login that did not open a session: 503 (with `Retry-After`) when a provider or the anchor did not
/// answer, else 401 saying what to do. The reason goes to the log, never a token.
fn failed(lang: Lang, failure: Failed) -> Response {
    match failure {
        Failed::Unavailable(why) => {
            tracing::warn!(%why, "SPID/CIE login: a provider or the trust anchor did not answer");
            let mut response = problem(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                lang.pick("Il gestore dell'identità non risponde", "The identity provider does not answer"),
                lang.pick(
                    "Il gestore dell'identità digitale non risponde in questo momento. Riprovi tra qualche minuto, scelga un altro gestore, oppure acceda con il PIN INPS.",
                    "The digital identity provider does not answer at the moment. Try again in a few minutes, choose another provider, or log in with the INPS PIN.",
                ),
            );
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            response
        }
        Failed::Refused(why) => {
            tracing::warn!(reason = %why, "SPID/CIE login refused");
            refused(lang)
        }
        Failed::NoPendingLogin => {
            tracing::warn!("SPID/CIE login refused: no pending login for this browser, or another state");
            problem(
                StatusCode::BAD_REQUEST,
                lang,
                lang.pick("Accesso scaduto", "Login expired"),
                lang.pick(
                    "Questo accesso non è stato avviato da questo browser o è scaduto. Torni alla pagina «Accedi» e scelga di nuovo il suo gestore.",
                    "This login was not started in this browser, or it has expired. Go back to \"Log in\" and choose your provider again.",
                ),
            )
        }
        Failed::AtProvider(code) => {
            tracing::info!(error = %code, "SPID/CIE login not completed at the provider");
            problem(
                StatusCode::UNAUTHORIZED,
                lang,
                lang.pick("Accesso non completato", "Login not completed"),
                lang.pick(
                    "L'accesso non è stato completato presso il gestore dell'identità. Può riprovare dalla pagina «Accedi».",
                    "The login was not completed at the identity provider. You can try again from \"Log in\".",
                ),
            )
        }
    }
}

fn refused(lang: Lang) -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        lang,
        lang.pick("Accesso non riuscito", "Login failed"),
        lang.pick(
            "Non è stato possibile verificare l'identità con il gestore scelto. Riprovi dalla pagina «Accedi», scelga un altro gestore, oppure acceda con il PIN INPS.",
            "Your identity could not be verified with the chosen provider. Try again from \"Log in\", choose another provider, or log in with the INPS PIN.",
        ),
    )
}
