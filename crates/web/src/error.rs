//! The one place a use case's failure becomes a page ([`PageError`]; the API's twin is `api::problem`), and
//! [`AuthError`], when the login machinery could not be set up or draw a random value. A leaf: handlers answer
//! with `?` through [`OrPage::or_page`], and it knows none of them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sportello_usecases::UseCaseError;
use sportello_usecases::pin::PinError;

use crate::i18n::Lang;
use crate::limits::LimitsError;
use crate::render::problem;

/// Why the login machinery could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),
    /// `session.csrf_key` is not 64 hex digits.
    #[error("session.csrf_key must be 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`")]
    CsrfKey,
    /// The PIN hasher could not be built.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// `[limits]` is not usable.
    #[error(transparent)]
    Limits(#[from] LimitsError),
    /// `[federation]` is not usable (keys, the trust anchor's keys).
    #[error("[federation]: {0}")]
    Federation(String),
}

impl From<AuthError> for UseCaseError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Pin(pin) => UseCaseError::Pin(pin),
            AuthError::Rng(cause) => UseCaseError::Rng(cause),
            other => UseCaseError::Service(other.to_string()),
        }
    }
}

/// A use case's failure, to be answered as a page in the citizen's language.
#[derive(Debug)]
pub struct PageError {
    /// What failed.
    pub error: UseCaseError,
    /// The language of the page.
    pub lang: Lang,
}

/// Turns a use case's result into one a page handler answers with `?`.
pub trait OrPage<T> {
    /// The value, or the page saying what went wrong, in `lang`.
    fn or_page(self, lang: Lang) -> Result<T, PageError>;
}

impl<T, E: Into<UseCaseError>> OrPage<T> for Result<T, E> {
    fn or_page(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|e| PageError { error: e.into(), lang })
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let lang = self.lang;
        let (status, title, message) = match &self.error {
            UseCaseError::UnknownScheme(_) => (
                StatusCode::NOT_FOUND,
                lang.pick("Indennità non trovata", "Allowance not found"),
                lang.pick(
                    "L'indennità richiesta non esiste. Scelga l'indennità dalla pagina «La tua situazione».",
                    "There is no such allowance. Choose the allowance from the page \"Your situation\".",
                ),
            ),
            UseCaseError::NotOnApplication(_) => (
                StatusCode::NOT_FOUND,
                lang.pick("Non serve la domanda", "No application needed"),
                lang.pick(
                    "Questa indennità non si chiede: l'INPS la paga a chi ne ha diritto senza domanda. Nella pagina «La Sua situazione» vede se Le spetta.",
                    "This allowance is not applied for: INPS pays it to those entitled without an application. The page \"Your situation\" shows whether it is yours.",
                ),
            ),
            UseCaseError::NoSuchApplication(_) => (
                StatusCode::NOT_FOUND,
                lang.pick("Domanda non trovata", "Application not found"),
                lang.pick(
                    "Tra le sue domande non ce n'è una con questo numero di protocollo. Le trova tutte in «Le mie \
                     domande».",
                    "None of your applications has this protocol number. You will find them all in \"My \
                     applications\".",
                ),
            ),
            UseCaseError::Mandate(sportello_usecases::intermediaries::MandateError::NotYours(_)) => (
                StatusCode::NOT_FOUND,
                lang.pick("Delega non trovata", "Mandate not found"),
                lang.pick(
                    "Tra le Sue deleghe non ce n'è una con questo numero. Le trova tutte in «Le mie deleghe».",
                    "None of your mandates has this number. You will find them all in \"My mandates\".",
                ),
            ),
            UseCaseError::NoReturnedPayment(_) => (
                StatusCode::CONFLICT,
                lang.pick("Nessun pagamento da correggere", "No payment to correct"),
                lang.pick(
                    "Tra le sue domande non c'è un pagamento respinto dalla banca con questo numero di protocollo: \
                     non serve un nuovo IBAN. Lo stato di ogni domanda è in «Le mie domande».",
                    "None of your applications has a payment returned by the bank under this protocol number: no \
                     new IBAN is needed. You will find where each application stands in \"My applications\".",
                ),
            ),
            UseCaseError::NotConfirmed => (
                StatusCode::FORBIDDEN,
                lang.pick("Serve il PIN completo", "The full PIN is needed"),
                lang.pick(
                    "Per annullare una domanda acceda con il PIN completo: la prima parte seguita dalla seconda, \
                     spedita per posta al Suo indirizzo di residenza. In alternativa si faccia riconoscere presso \
                     una sede INPS.",
                    "To annul an application, log in with the full PIN: the first half followed by the second, \
                     posted to your address of residence. Otherwise, have your identity confirmed at an INPS office.",
                ),
            ),
            UseCaseError::NothingToAnnul(_) => (
                StatusCode::CONFLICT,
                lang.pick("Nessuna domanda da annullare", "No application to annul"),
                lang.pick(
                    "Tra le Sue domande non ce n'è una con questo numero di protocollo presentata con un PIN non \
                     confermato: non c'è nulla da annullare. Lo stato di ogni domanda è in «Le mie domande».",
                    "None of your applications with this protocol number was made with an unconfirmed PIN: there \
                     is nothing to annul. You will find where each application stands in \"My applications\".",
                ),
            ),
            // The rest is the service's failure, or input no page can send (a command's): the cause goes to the
            // log, the citizen reads that the service is unavailable. The security headers add `Retry-After`.
            error => {
                tracing::error!(error = %error, "a page could not be answered");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang.pick("Servizio non disponibile", "Service unavailable"),
                    lang.pick(
                        "Il servizio non è al momento disponibile. Riprovi tra qualche minuto.",
                        "The service is not available at the moment. Please try again in a few minutes.",
                    ),
                )
            }
        };
        problem(status, lang, title, message)
    }
}
