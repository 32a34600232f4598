//! The API's OpenAPI 3.1 document, written from the handlers' `#[utoipa::path]` attributes and served at
//! `/api/openapi.json`. The problem responses the operations share are in [`super::responses`].

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};

use super::problem::{FieldError, FirstApplication, Problem};
use super::responses::{
    AlreadyApplied, Forbidden, Invalid, LoginRefused, Malformed, NoReturnedPayment, NotConfirmed, NotFound,
    NothingToAnnul, TooLarge, TooManyRequests, Unauthorized, Unavailable, UnsupportedMediaType,
};
use super::{applications, intermediaries, sessions, situation};
use crate::security;

/// How long shared caches may keep the document (seconds), as the public pages.
const DOCUMENT_MAX_AGE: u32 = 300;

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
        intermediaries::create_session,
        intermediaries::file_batch,
        openapi,
    ),
    components(
        schemas(
            Problem,
            FieldError,
            FirstApplication,
            intermediaries::BatchTotals,
            intermediaries::BatchReason,
            intermediaries::BatchFieldError
        ),
        responses(
            Malformed,
            Unauthorized,
            LoginRefused,
            NotFound,
            AlreadyApplied,
            NoReturnedPayment,
            NotConfirmed,
            NothingToAnnul,
            Forbidden,
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
        (name = "intermediaries", description = "A patronato's office: an operator's session, and a batch of \
            applications for the citizens whose mandates it holds."),
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
