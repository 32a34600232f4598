//! The API's OpenAPI 3.1 document, written from the handlers' `#[utoipa::path]` attributes and served at
//! `/api/openapi.json`; and the problem responses the operations share.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi, ToResponse};

use super::problem::{FieldError, FirstApplication, Problem};
use super::{applications, sessions, situation};
use crate::security;

/// How long shared caches may keep the document (seconds), as the public pages.
const DOCUMENT_MAX_AGE: u32 = 300;

/// The body is not well-formed JSON (the detail gives line and column), or a required header is missing.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:sportello:problem:malformed-request", "title": "Richiesta non leggibile",
        "status": 400, "detail": "Il corpo della richiesta non è JSON valido (riga 1, colonna 15): expected value \
        at line 1 column 15."})
)]
pub struct Malformed(pub Problem);

/// No bearer token, or one that opens no live session (expired, logged out or never issued).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"sportello\"`, with \
        `error=\"invalid_token\"` when a token was presented.")),
    example = json!({"type": "urn:sportello:problem:unauthorized", "title": "Accesso necessario", "status": 401,
        "detail": "Il token non apre alcuna sessione: è scaduto, è stato chiuso o non è mai esistito. Acceda di \
        nuovo con POST /api/v1/sessions."})
)]
pub struct Unauthorized(pub Problem);

/// The codice fiscale and PIN open no session. An unknown codice fiscale and a wrong PIN get the same
/// `login-refused`, as on the login page. After too many wrong PINs from this client (its device, or any client
/// without a device the person logged in from), `login-locked` says until when (`locked_until`); any codice fiscale
/// locks alike, registered or not.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"sportello\"`.")),
    examples(
        ("refused" = (value = json!({"type": "urn:sportello:problem:login-refused", "title": "Accesso non riuscito",
            "status": 401, "detail": "Codice fiscale o PIN non validi. Controlli i dati e riprovi: dopo troppi \
            tentativi errati, per qualche minuto non sarà possibile accedere."}))),
        ("locked" = (value = json!({"type": "urn:sportello:problem:login-locked", "title": "Accesso bloccato",
            "status": 401, "detail": "Troppi tentativi con un PIN errato: l'accesso con questo codice fiscale da qui \
            è bloccato fino al 01/04/2020 10:30 (ora italiana). Se ha già effettuato l'accesso da un altro browser o \
            dall'app, da lì può continuare ad accedere.", "locked_until": "2020-04-01T08:30:00Z"})))
    )
)]
pub struct LoginRefused(pub Problem);

/// None of the citizen's applications has this protocol number (whether or not someone else's has).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NotFound(pub Problem);

/// The citizen already holds an application that was not rejected: the indemnities cannot be combined (art. 31
/// DL 18/2020). `first_application` names it; nothing was recorded.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:sportello:problem:already-applied", "title": "Domanda già presentata",
        "status": 409, "detail": "Lei ha già presentato la domanda n. INPS-COVID-2020-000000001 per l'indennità …",
        "first_application": {"protocol": "INPS-COVID-2020-000000001", "scheme": "art27",
            "title": "Indennità professionisti e lavoratori con rapporto di collaborazione coordinata e continuativa"}})
)]
pub struct AlreadyApplied(pub Problem);

/// The application has no payment returned by the bank: there is nothing to give a new IBAN for.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NoReturnedPayment(pub Problem);

/// The session's credential is not confirmed: log in with the full PIN (its second half is posted to the residence
/// on file) or have the identity confirmed at an INPS office.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NotConfirmed(pub Problem);

/// The application was not made with another, unconfirmed credential: there is nothing to annul.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NothingToAnnul(pub Problem);

/// The body is larger than the portal accepts (`[http] max_body_bytes`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct TooLarge(pub Problem);

/// Too many PIN requests or logins from this client address, or for this codice fiscale, in a short time
/// (`[limits]`). Nothing was done; try again after the seconds in `Retry-After`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct TooManyRequests(pub Problem);

/// The body is not sent as `application/json`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct UnsupportedMediaType(pub Problem);

/// Some values are not acceptable: `errors` lists each with a JSON pointer to it and what to correct. For an
/// application, also an `Idempotency-Key` used before for a different application
/// (`urn:sportello:problem:idempotency-key-reused`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:sportello:problem:validation", "title": "Controlli i dati inviati",
        "status": 422, "detail": "Alcuni dati non sono accettabili: ogni errore indica il campo e cosa correggere.",
        "errors": [{"field": "/payment/iban", "message": "L'IBAN non è valido: …"}]})
)]
pub struct Invalid(pub Problem);

/// The service cannot answer now: the database does not answer, this node is serving all it can, or the request
/// took longer than the portal allows (`[http] request_timeout_secs`). Try again after the seconds in `Retry-After`;
/// an application sent again with the same `Idempotency-Key` is never stored twice.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unavailable(pub Problem);

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sportello API",
        version = "1.0.0",
        description = "The citizen's journey for the COVID-19 indemnities of DL 18/2020 (\"bonus 600 euro\"), for \
            apps and the Contact Center: ask for a PIN, log in, read the decision, apply, read receipts.\n\n\
            Authentication is a bearer token from `POST /api/v1/sessions`, a server-side session like the portal's \
            (same idle and absolute expiry, same lockout after wrong PINs). The API never reads the portal's \
            session cookie, so it needs no CSRF token.\n\n\
            Errors are RFC 9457 problem details (`application/problem+json`). Texts are in Italian, or in English \
            with `?lang=en` or `Accept-Language: en`.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2")
    ),
    paths(
        sessions::request_pin,
        sessions::create,
        sessions::delete_current,
        situation::schemes,
        situation::situation,
        applications::submit,
        applications::list,
        applications::receipt,
        applications::new_iban,
        applications::annul,
        openapi,
    ),
    components(
        schemas(Problem, FieldError, FirstApplication),
        responses(
            Malformed,
            Unauthorized,
            LoginRefused,
            NotFound,
            AlreadyApplied,
            NoReturnedPayment,
            NotConfirmed,
            NothingToAnnul,
            TooLarge,
            TooManyRequests,
            UnsupportedMediaType,
            Invalid,
            Unavailable
        )
    ),
    modifiers(&Common),
    tags(
        (name = "sessions", description = "The INPS PIN: asking for one, logging in and out."),
        (name = "law", description = "The indemnities and the registry's decision."),
        (name = "applications", description = "Applying and reading receipts."),
        (name = "meta", description = "This document."),
    )
)]
pub struct ApiDoc;

/// What every operation shares: the bearer security scheme, the language parameters and the timeout answer.
struct Common;

impl Modify for Common {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The `token` of `POST /api/v1/sessions`: 32 hex digits naming a server-side session.",
                    ))
                    .build(),
            ),
        );
        let lang = ParameterBuilder::new()
            .name("lang")
            .parameter_in(ParameterIn::Query)
            .description(Some(
                "The language of texts and problems: `it` (the default) or `en`. Wins over Accept-Language.",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["it", "en"]))))
            .build();
        let accept_language = ParameterBuilder::new()
            .name("Accept-Language")
            .parameter_in(ParameterIn::Header)
            .description(Some("Used when there is no `lang`: English if preferred to Italian, else Italian."))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .example(Some("en-GB,en;q=0.9".into()))
            .build();
        // The document itself speaks no language and needs nothing that can be unavailable.
        let operations = openapi.paths.paths.iter_mut().filter(|(path, _)| path.as_str() != "/api/openapi.json");
        for (_, item) in operations {
            let operations = [&mut item.get, &mut item.post, &mut item.delete, &mut item.put, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let parameters = operation.parameters.get_or_insert_with(Vec::new);
                parameters.extend([RefOr::T(lang.clone()), RefOr::T(accept_language.clone())]);
                operation
                    .responses
                    .responses
                    .insert("503".to_owned(), RefOr::Ref(Ref::from_response_name("Unavailable")));
            }
        }
    }
}

/// The document as served, written once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not write the OpenAPI document");
        String::from("{}")
    })
});

/// `GET /api/openapi.json`: this API's OpenAPI 3.1 document. The same for everyone, so shared caches may keep it.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    summary = "This document",
    description = "The OpenAPI 3.1 document of the API. The same for everyone: shared caches may keep it.",
    responses((status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json",
        body = Object)),
)]
pub async fn openapi() -> Response {
    let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))];
    security::public(DOCUMENT_MAX_AGE, (content_type, DOCUMENT.as_str()).into_response())
}
