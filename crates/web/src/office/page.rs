//! What every office page carries (the officer's header: name, role, the links their role opens, the logout form's
//! token) and how a use case's failure becomes an office page. The office speaks Italian: it is the institute's own
//! staff's. A leaf of `office/`.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sportello_domain::principal::{Duty, OfficerRole};
use sportello_usecases::office::OnDuty;
use sportello_usecases::{ErrorKind, UseCaseError};

use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};

/// The header of a logged-in officer's page.
#[derive(Debug, Clone)]
pub struct Header {
    /// The officer's name.
    pub name: String,
    /// Their role, in words.
    pub role: &'static str,
    /// The token of the logout form (and of every other form on the page).
    pub csrf: String,
    /// Whether the role opens cases.
    pub cases: bool,
    /// Whether it answers subject access.
    pub access: bool,
    /// Whether it assesses breaches.
    pub breach: bool,
}

impl Header {
    /// The header for `officer`, their forms carrying `csrf`.
    pub fn of(officer: &OnDuty, csrf: String) -> Self {
        Self {
            name: officer.name.clone(),
            role: role_label(officer.role),
            csrf,
            cases: officer.role.may(Duty::ViewCase),
            access: officer.role.may(Duty::SubjectAccess),
            breach: officer.role.may(Duty::Breach),
        }
    }
}

/// A role in words.
pub fn role_label(role: OfficerRole) -> &'static str {
    match role {
        OfficerRole::Officer => "Funzionario",
        OfficerRole::Supervisor => "Responsabile",
        OfficerRole::DataProtectionOfficer => "Responsabile della protezione dei dati",
        OfficerRole::Auditor => "Revisore",
    }
}

#[derive(Template)]
#[template(path = "office/problem.html")]
struct ProblemPage<'a> {
    lang: Lang,
    last_update: &'static str,
    header: Option<&'a Header>,
    title: &'a str,
    message: &'a str,
}

/// An office page saying what went wrong.
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

/// A use case's failure on an office page.
#[derive(Debug)]
pub struct OfficeError {
    /// What failed.
    pub error: UseCaseError,
    /// The page's header (boxed: it holds a few strings, and errors travel by value).
    pub header: Option<Box<Header>>,
}

impl IntoResponse for OfficeError {
    fn into_response(self) -> Response {
        let header = self.header.as_deref();
        let message = self.error.to_string();
        match self.error.kind() {
            ErrorKind::Forbidden => problem(
                StatusCode::FORBIDDEN,
                header,
                "Operazione non consentita",
                "Il Suo ruolo non consente questa operazione. Nulla è stato letto né registrato.",
            ),
            ErrorKind::NotFound => problem(StatusCode::NOT_FOUND, header, "Pratica non trovata", &message),
            ErrorKind::Input => problem(StatusCode::UNPROCESSABLE_ENTITY, header, "Dati da correggere", &message),
            ErrorKind::Conflict => problem(StatusCode::CONFLICT, header, "Operazione non possibile", &message),
            ErrorKind::Unavailable => {
                tracing::error!(error = %self.error, "an office page could not be answered");
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

/// Turns a use case's result into one an office handler answers with `?`.
pub trait OrOffice<T> {
    /// The value, or the office page saying what went wrong, under `header`.
    fn or_office(self, header: Option<&Header>) -> Result<T, OfficeError>;
}

impl<T, E: Into<UseCaseError>> OrOffice<T> for Result<T, E> {
    fn or_office(self, header: Option<&Header>) -> Result<T, OfficeError> {
        self.map_err(|e| OfficeError { error: e.into(), header: header.cloned().map(Box::new) })
    }
}
