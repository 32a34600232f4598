//! What every operator's page carries (the header: operator, office, the logout form's token) and how a use case's
//! failure becomes an operator's page. A refusal about a citizen says only "not found", never whether the citizen
//! exists or whom they gave a mandate. Italian only: the operators' area is the institute's. A leaf of
//! `intermediaries/`.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sportello_usecases::intermediaries::mandates::Seat;
use sportello_usecases::{ErrorKind, UseCaseError};

use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};

/// The header of a logged-in operator's page.
#[derive(Debug, Clone)]
pub struct Header {
    /// The operator's codice fiscale.
    pub operator: String,
    /// The office they act for.
    pub office: String,
    /// The token of the logout form (and of every other form on the page).
    pub csrf: String,
}

impl Header {
    /// The header for `seat`, its forms carrying `csrf`.
    pub fn of(seat: &Seat, csrf: String) -> Self {
        Self { operator: seat.operator.to_string(), office: seat.office.to_string(), csrf }
    }
}

#[derive(Template)]
#[template(path = "intermediaries/problem.html")]
struct ProblemPage<'a> {
    lang: Lang,
    last_update: &'static str,
    header: Option<&'a Header>,
    title: &'a str,
    message: &'a str,
}

/// An operator's page saying what went wrong.
pub fn problem(status: StatusCode, header: Option<&Header>, title: &str, message: &str) -> Response {
    render_with(status, &ProblemPage { lang: Lang::It, last_update: LAST_UPDATE, header, title, message })
}

/// The 403 of a form without its token: nothing was done.
pub fn forbidden_form(header: Option<&Header>) -> Response {
    problem(
        StatusCode::FORBIDDEN,
        header,
        "Richiesta non valida",
        "Il modulo è scaduto o non proviene da questa pagina: nulla è stato fatto. Ricarichi la pagina e riprovi.",
    )
}

/// The 404 for a citizen the office may not act for today: the same words whether the citizen exists, never had a
/// mandate, revoked it, or gave it to another office.
pub fn not_found(header: Option<&Header>) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        header,
        "Nessuna delega in vigore",
        "Questa sede non ha una delega in vigore per il codice fiscale indicato.",
    )
}

/// A use case's failure on an operator's page.
#[derive(Debug)]
pub struct IntermError {
    /// What failed.
    pub error: UseCaseError,
    /// The page's header (boxed: errors travel by value).
    pub header: Option<Box<Header>>,
}

impl IntermError {
    /// `error` on a page under `header`.
    pub fn from_use_case(error: UseCaseError, header: Option<&Header>) -> Self {
        Self { error, header: header.cloned().map(Box::new) }
    }
}

impl IntoResponse for IntermError {
    fn into_response(self) -> Response {
        let header = self.header.as_deref();
        match self.error.kind() {
            ErrorKind::Forbidden => problem(
                StatusCode::FORBIDDEN,
                header,
                "Operazione non consentita",
                "L'elenco degli operatori dell'Istituto non La abilita a questa operazione per questa sede oggi.",
            ),
            ErrorKind::NotFound => not_found(header),
            ErrorKind::Input => {
                problem(StatusCode::UNPROCESSABLE_ENTITY, header, "Dati da correggere", &self.error.to_string())
            }
            ErrorKind::Conflict => {
                problem(StatusCode::CONFLICT, header, "Operazione non possibile", &self.error.to_string())
            }
            ErrorKind::Unavailable => {
                tracing::error!(error = %self.error, "an operator's page could not be answered");
                problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    header,
                    "Servizio non disponibile",
                    "Il servizio non è al momento disponibile. Riprovi tra qualche minuto.",
                )
            }
        }
    }
}

/// Turns a use case's result into one an operator's handler answers with `?`.
pub trait OrInterm<T> {
    /// The value, or the page saying what went wrong, under `header`.
    fn or_interm(self, header: Option<&Header>) -> Result<T, IntermError>;
}

impl<T, E: Into<UseCaseError>> OrInterm<T> for Result<T, E> {
    fn or_interm(self, header: Option<&Header>) -> Result<T, IntermError> {
        self.map_err(|e| IntermError { error: e.into(), header: header.cloned().map(Box::new) })
    }
}
