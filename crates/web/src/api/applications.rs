//! Applying through the API: submit (`POST /api/v1/applications`, with an `Idempotency-Key`), list
//! (`GET /api/v1/applications`) and read a receipt (`GET /api/v1/applications/{protocol}`). Each calls the same
//! core as the pages, so the art. 31 rule, the audit rows and the metrics are the same whichever door is used.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sportello_domain::law;
use sportello_domain::{Iban, IdempotencyKey};
use sportello_store::Submission;
use sportello_usecases::draft::{self, Invalid};
use sportello_usecases::receipts::{self, Receipt as Read};
use sportello_usecases::{UseCaseError, annul as annulment, iban};

pub use super::bodies::{
    ApplicationRequest, ApplicationSummary, Applications, NewIbanRequest, PaymentRequest, PaymentShown, Receipt, Status,
};
use super::json::ApiJson;
use super::problem::{ApiLang, FieldError, FirstApplication, OrProblem, Problem, ProblemKind};
use super::sessions::Bearer;
use crate::apply::form::{Details, iban_message, message};
use crate::apply::handlers::{already_applied, submit_application};
use crate::apply::stored::{details_of, standing};
use crate::auth::AuthState;
use crate::auth::session::ClientAddr;
use crate::i18n::Lang;
use crate::schemes::scheme_title;

/// The header carrying the client's key for one application.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The client's idempotency key: 1 to 64 letters, digits, `-` or `_` in the `Idempotency-Key` header.
fn idempotency_key(headers: &HeaderMap, lang: Lang) -> Result<IdempotencyKey, Problem> {
    let key = headers.get(IDEMPOTENCY_KEY).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Ok(key) = IdempotencyKey::parse(key) {
        return Ok(key);
    }
    let detail = lang.pick(
        "Serve l'intestazione Idempotency-Key: da 1 a 64 caratteri tra lettere, cifre, - e _. Usi una chiave nuova \
         per ogni nuova domanda e la stessa quando ripete l'invio della stessa domanda: riceverà la stessa ricevuta.",
        "The header Idempotency-Key is needed: 1 to 64 letters, digits, - or _. Use a new key for each new \
         application and the same key when sending the same application again: you will get the same receipt.",
    );
    Err(Problem::new(ProblemKind::MissingHeader, lang, detail))
}

/// The JSON pointer, in the API's body, of the value `invalid` is about.
fn pointer(invalid: &Invalid) -> String {
    match invalid {
        Invalid::UnknownScheme { .. } | Invalid::NotOnApplication(_) => "/scheme".to_owned(),
        Invalid::NoPaymentMethod => "/payment/method".to_owned(),
        Invalid::NoIban | Invalid::Iban(_) => "/payment/iban".to_owned(),
        Invalid::Email | Invalid::NoContact => "/contact/email".to_owned(),
        Invalid::Mobile => "/contact/mobile".to_owned(),
        Invalid::Declaration(declaration) => format!("/declarations/{}", declaration.kind().as_str()),
        Invalid::FigureMissing(figure) | Invalid::FigureUnreadable(figure) => format!("/figures/{}", figure.id()),
    }
}

/// The indemnity and details of `request`, checked by the same use case as the form's, or the problem listing
/// every value that is not acceptable, each at its JSON pointer.
fn validate<'a>(
    state: &'a AuthState,
    request: &ApplicationRequest,
    lang: Lang,
) -> Result<(&'a law::Scheme, Details), Problem> {
    draft::validate(&state.app.decrees, &request.input()).map_err(|invalid| {
        let errors = invalid.iter().map(|i| FieldError { field: pointer(i), message: message(i, lang) }).collect();
        Problem::validation(lang, errors)
    })
}

/// `POST /api/v1/applications`: the API twin of `POST /domanda/invia`. Eligibility is decided now and the
/// application recorded, accepted or rejected with its reasons. The same `Idempotency-Key` with the same body always
/// answers the same receipt; a second indemnity is refused (art. 31).
#[utoipa::path(
    post,
    path = "/api/v1/applications",
    tag = "applications",
    operation_id = "submit_application",
    summary = "Apply for an indemnity",
    description = "Decides eligibility now and records the application, accepted or rejected with its reasons. \
        Send it again with the same `Idempotency-Key` and body (after a timeout, say) to get the same receipt. \
        The indemnities cannot be combined (art. 31 DL 18/2020): while the citizen holds an application that was \
        not rejected, another is refused with 409.",
    security(("bearer" = [])),
    params(
        ("Idempotency-Key" = String, Header, description = "The client's key for this application: 1 to 64 \
            letters, digits, `-` or `_`. A new one for each new application; the same one to send the same \
            application again.", example = "0f6c2a9e-3d4b-4f1a-9c8e-7b5d3a1f2e4c"),
    ),
    request_body = ApplicationRequest,
    responses(
        (status = 201, description = "Recorded: the receipt. The status says whether it was accepted.",
            body = Receipt,
            headers(("Location" = String, description = "The receipt: `/api/v1/applications/{protocol}`."))),
        (status = 200, description = "Recorded before under the same idempotency key: the same receipt.",
            body = Receipt),
        (status = 400, response = super::responses::Malformed),
        (status = 401, response = super::responses::Unauthorized),
        (status = 409, response = super::responses::AlreadyApplied),
        (status = 413, response = super::responses::TooLarge),
        (status = 415, response = super::responses::UnsupportedMediaType),
        (status = 422, response = super::responses::Invalid),
    )
)]
pub async fn submit(
    ApiLang(lang): ApiLang,
    State(state): State<AuthState>,
    from: ClientAddr,
    Bearer(citizen): Bearer,
    headers: HeaderMap,
    ApiJson(request): ApiJson<ApplicationRequest>,
) -> Result<Response, Problem> {
    let key = idempotency_key(&headers, lang)?;
    let (scheme, details) = validate(&state, &request, lang)?;
    let submitted = submit_application(&state, &citizen, scheme, key, details.clone(), &from, lang).await;
    Ok(match submitted.or_problem(lang)? {
        Submission::Created(application) => {
            let location = HeaderValue::from_str(&format!("/api/v1/applications/{}", application.protocol)).ok();
            let mut response =
                (StatusCode::CREATED, Json(Receipt::new(&state, application, &[], lang))).into_response();
            if let Some(location) = location {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Submission::Duplicate(application)
            if application.scheme == scheme.id() && details_of(&application).as_ref() == Some(&details) =>
        {
            let read = receipts::of_submitted(state.app.store.as_ref(), &citizen.acting(&from), application).await;
            answer(&state, read, lang)?
        }
        Submission::Duplicate(_) => {
            let detail = lang.pick(
                "Questa Idempotency-Key è già stata usata per una domanda diversa, che resta quella registrata. Per \
                 una nuova domanda usi una chiave nuova.",
                "This Idempotency-Key was already used for a different application, which stays as recorded. Use a \
                 new key for a new application.",
            );
            Problem::new(ProblemKind::IdempotencyKeyReused, lang, detail).into_response()
        }
        Submission::AlreadyHolds(first) => {
            let (_, detail) = already_applied(&state, &first, lang);
            let first_application = FirstApplication {
                title: scheme_title(&state, &first.scheme, lang),
                protocol: first.protocol.to_string(),
                scheme: first.scheme,
            };
            Problem::new(ProblemKind::AlreadyApplied, lang, detail).naming(first_application).into_response()
        }
    })
}

/// The receipt a use case read, as JSON; or its failure as a problem.
fn answer(state: &AuthState, read: Result<Read, UseCaseError>, lang: Lang) -> Result<Response, Problem> {
    let Read { application, payments } = read.or_problem(lang)?;
    Ok(Json(Receipt::new(state, application, &payments, lang)).into_response())
}

/// `GET /api/v1/applications`: the API twin of `GET /domande`, audited the same way (`list_applications`).
#[utoipa::path(
    get,
    path = "/api/v1/applications",
    tag = "applications",
    operation_id = "list_applications",
    summary = "The citizen's applications",
    description = "Every application of the logged-in citizen, oldest first. Each reading is recorded in the audit \
        log.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The citizen's applications, oldest first.", body = Applications),
        (status = 401, response = super::responses::Unauthorized),
    )
)]
pub async fn list(
    ApiLang(lang): ApiLang,
    State(state): State<AuthState>,
    from: ClientAddr,
    Bearer(citizen): Bearer,
) -> Result<Response, Problem> {
    let listed = receipts::list(state.app.store.as_ref(), &citizen.acting(&from), state.auth.now()).await;
    let receipts::Listed { applications, payments } = listed.or_problem(lang)?;
    let applications = applications
        .into_iter()
        .map(|a| {
            let standing = standing(&state, &a, &payments);
            ApplicationSummary {
                title: scheme_title(&state, &a.scheme, lang),
                submitted_at: a.submitted_at,
                status: a.status.into(),
                standing_message: standing.message(lang),
                standing,
                scheme: a.scheme,
                protocol: a.protocol.to_string(),
            }
        })
        .collect();
    Ok(Json(Applications { applications }).into_response())
}

/// `GET /api/v1/applications/{protocol}`: the API twin of `GET /domande/{protocol}`, audited the same way
/// (`view_application`). Another citizen's protocol number is a 404, as if it did not exist.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{protocol}",
    tag = "applications",
    operation_id = "read_application",
    summary = "A receipt",
    description = "The receipt of one of the citizen's own applications. Another citizen's protocol number is a 404, \
        as if it did not exist. Each reading is recorded in the audit log.",
    security(("bearer" = [])),
    params(("protocol" = String, Path, description = "The protocol number.",
        example = "INPS-COVID-2020-000000001")),
    responses(
        (status = 200, description = "The receipt.", body = Receipt),
        (status = 401, response = super::responses::Unauthorized),
        (status = 404, response = super::responses::NotFound),
    )
)]
pub async fn receipt(
    ApiLang(lang): ApiLang,
    State(state): State<AuthState>,
    Path(protocol): Path<String>,
    from: ClientAddr,
    Bearer(citizen): Bearer,
) -> Result<Response, Problem> {
    let who = citizen.acting(&from);
    answer(&state, receipts::one(state.app.store.as_ref(), &who, &protocol, state.auth.now()).await, lang)
}

/// `PUT /api/v1/applications/{protocol}/iban`: the API twin of `POST /domande/{protocol}/iban`, audited the same way
/// (`replace_iban`).
#[utoipa::path(
    put,
    path = "/api/v1/applications/{protocol}/iban",
    tag = "applications",
    operation_id = "replace_iban",
    summary = "A new IBAN for a returned payment",
    description = "When the bank returned the payment of one of the citizen's own applications (e.g. the account is \
        closed), gives the account to pay it to instead; the next payment run pays it again. Only for a returned \
        payment: otherwise 409.",
    security(("bearer" = [])),
    params(("protocol" = String, Path, description = "The protocol number.",
        example = "INPS-COVID-2020-000000001")),
    request_body = NewIbanRequest,
    responses(
        (status = 200, description = "Recorded: the receipt, standing `reserved` until the next run.", body = Receipt),
        (status = 400, response = super::responses::Malformed),
        (status = 401, response = super::responses::Unauthorized),
        (status = 404, response = super::responses::NotFound),
        (status = 409, response = super::responses::NoReturnedPayment),
        (status = 413, response = super::responses::TooLarge),
        (status = 415, response = super::responses::UnsupportedMediaType),
        (status = 422, response = super::responses::Invalid),
    )
)]
pub async fn new_iban(
    ApiLang(lang): ApiLang,
    State(state): State<AuthState>,
    Path(protocol): Path<String>,
    from: ClientAddr,
    Bearer(citizen): Bearer,
    ApiJson(request): ApiJson<NewIbanRequest>,
) -> Result<Response, Problem> {
    // The form's own message for the field, so that both doors explain a bad IBAN the same way.
    let iban = Iban::parse(&request.iban).map_err(|e| {
        Problem::validation(lang, vec![FieldError { field: "/iban".to_owned(), message: iban_message(&e, lang) }])
    })?;
    let who = citizen.acting(&from);
    answer(&state, iban::replace(state.app.store.as_ref(), &who, &protocol, &iban, state.auth.now()).await, lang)
}

/// `POST /api/v1/applications/{protocol}/annulment`: the API twin of `POST /domande/{protocol}/annulla`
/// (docs/SECURITY.md, "A PIN requested in someone else's name"), audited the same way (`annul_application`).
#[utoipa::path(
    post,
    path = "/api/v1/applications/{protocol}/annulment",
    tag = "applications",
    operation_id = "annul_application",
    summary = "Annul an application made in the citizen's name",
    description = "Annuls one of the citizen's own applications that was made with a PIN whose first half went to a \
        contact not on file, and is held for payment. Only in a session opened with a confirmed credential (the \
        full PIN, a PIN sent to a contact on file, or one an officer confirmed): otherwise 403. The application \
        no longer counts for art. 31, the PIN it was made with is revoked and its sessions end; the citizen may \
        apply again.",
    security(("bearer" = [])),
    params(("protocol" = String, Path, description = "The protocol number.",
        example = "INPS-COVID-2020-000000001")),
    responses(
        (status = 200, description = "Annulled: the receipt, standing `annulled`.", body = Receipt),
        (status = 401, response = super::responses::Unauthorized),
        (status = 403, response = super::responses::NotConfirmed),
        (status = 404, response = super::responses::NotFound),
        (status = 409, response = super::responses::NothingToAnnul),
    )
)]
pub async fn annul(
    ApiLang(lang): ApiLang,
    State(state): State<AuthState>,
    Path(protocol): Path<String>,
    from: ClientAddr,
    Bearer(citizen): Bearer,
) -> Result<Response, Problem> {
    let who = citizen.acting(&from);
    answer(&state, annulment::annul(state.app.store.as_ref(), &who, &protocol, state.auth.now()).await, lang)
}
