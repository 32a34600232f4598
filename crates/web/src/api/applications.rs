//! Applying through the API: submit (`POST /api/v1/applications`, with an `Idempotency-Key`), list
//! (`GET /api/v1/applications`) and read a receipt (`GET /api/v1/applications/{protocol}`). Each calls the same
//! core as the pages, so the art. 31 rule, the audit rows and the metrics are the same whichever door is used.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sportello_domain::Iban;
use sportello_domain::law::{self, DeclarationKind};
use sportello_store::{Application, Submission};

pub use super::bodies::{
    ApplicationRequest, ApplicationSummary, Applications, NewIbanRequest, PaymentRequest, PaymentShown, Receipt, Status,
};
use super::problem::{ApiJson, ApiLang, FieldError, FirstApplication, Problem, ProblemKind};
use super::sessions::Bearer;
use crate::apply::annul::annul_application;
use crate::apply::form::{ApplicationForm, Details};
use crate::apply::handlers::{already_applied, applications_of, replace_iban, submit_application};
use crate::apply::stored::{application_of, details_of, standing};
use crate::auth::AuthState;
use crate::auth::session::ClientAddr;
use crate::i18n::Lang;
use crate::schemes::{find_scheme, scheme_title};

/// The header carrying the client's key for one application.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Longest idempotency key accepted.
const MAX_KEY: usize = 64;

/// The client's idempotency key: 1 to 64 letters, digits, `-` or `_` in the `Idempotency-Key` header.
fn idempotency_key(headers: &HeaderMap, lang: Lang) -> Result<String, Problem> {
    let key = headers.get(IDEMPOTENCY_KEY).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let well_formed =
        (1..=MAX_KEY).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if well_formed {
        return Ok(key.to_owned());
    }
    let detail = lang.pick(
        "Serve l'intestazione Idempotency-Key: da 1 a 64 caratteri tra lettere, cifre, - e _. Usi una chiave nuova \
         per ogni nuova domanda e la stessa quando ripete l'invio della stessa domanda: riceverà la stessa ricevuta.",
        "The header Idempotency-Key is needed: 1 to 64 letters, digits, - or _. Use a new key for each new \
         application and the same key when sending the same application again: you will get the same receipt.",
    );
    Err(Problem::new(ProblemKind::MissingHeader, lang, detail))
}

/// The JSON pointer of a field of the application form in the API's body.
fn pointer(field: &str) -> String {
    match field {
        "payment" => "/payment/method".to_owned(),
        "iban" => "/payment/iban".to_owned(),
        "email" | "mobile" => format!("/contact/{field}"),
        declaration if DeclarationKind::parse(declaration).is_some() => format!("/declarations/{declaration}"),
        figure @ ("income_2019_bimester_2" | "income_2020_bimester_2") => format!("/figures/{figure}"),
        other => format!("/{other}"),
    }
}

/// The indemnity and details of `request`, or the problem listing every value that is not acceptable.
fn validate<'a>(
    state: &'a AuthState,
    request: &ApplicationRequest,
    lang: Lang,
) -> Result<(&'a law::Scheme, Details), Problem> {
    let found = find_scheme(state, &request.scheme);
    let scheme = found.filter(|s| s.on_application());
    // An unknown indemnity asks for no declaration: its error is enough, with the other fields' own.
    let details = match scheme {
        Some(s) => request.as_form().validate_details_for(lang, s),
        None => request.as_form().validate_details(lang, &[]),
    };
    let mut errors = Vec::new();
    if found.is_some_and(|s| !s.on_application()) {
        let message = match lang {
            Lang::It => format!(
                "L'indennità «{}» non si chiede: l'INPS la paga senza domanda a chi ne ha diritto.",
                request.scheme
            ),
            Lang::En => {
                format!("The allowance “{}” is not applied for: INPS pays it without an application.", request.scheme)
            }
        };
        errors.push(FieldError { field: "/scheme".to_owned(), message });
    } else if scheme.is_none() {
        let known: Vec<&str> = state.app.decrees.schemes().filter(|s| s.on_application()).map(|s| s.id()).collect();
        let known = known.join(", ");
        let message = match lang {
            Lang::It => format!("Non esiste un'indennità «{}»: scelga una tra {known}.", request.scheme),
            Lang::En => format!("There is no allowance “{}”: choose one of {known}.", request.scheme),
        };
        errors.push(FieldError { field: "/scheme".to_owned(), message });
    }
    if let Err(invalid) = &details {
        errors.extend(
            invalid.iter().map(|(field, message)| FieldError { field: pointer(field), message: message.clone() }),
        );
    }
    match (scheme, details) {
        (Some(scheme), Ok(details)) => Ok((scheme, details)),
        _ => Err(Problem::validation(lang, errors)),
    }
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
) -> Response {
    let checked = idempotency_key(&headers, lang).and_then(|key| Ok((key, validate(&state, &request, lang)?)));
    let (key, (scheme, details)) = match checked {
        Ok(checked) => checked,
        Err(problem) => return problem.into_response(),
    };
    match submit_application(&state, &citizen, scheme, key, &details, &from, lang).await {
        Ok(Submission::Created(application)) => {
            let location = HeaderValue::from_str(&format!("/api/v1/applications/{}", application.protocol)).ok();
            let mut response =
                (StatusCode::CREATED, Json(Receipt::new(&state, application, &[], lang))).into_response();
            if let Some(location) = location {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Ok(Submission::Duplicate(application))
            if application.scheme == scheme.id() && details_of(&application).as_ref() == Some(&details) =>
        {
            receipt_with_payments(&state, &citizen, application, lang).await
        }
        Ok(Submission::Duplicate(_)) => {
            let detail = lang.pick(
                "Questa Idempotency-Key è già stata usata per una domanda diversa, che resta quella registrata. Per \
                 una nuova domanda usi una chiave nuova.",
                "This Idempotency-Key was already used for a different application, which stays as recorded. Use a \
                 new key for a new application.",
            );
            Problem::new(ProblemKind::IdempotencyKeyReused, lang, detail).into_response()
        }
        Ok(Submission::AlreadyHolds(first)) => {
            let (_, detail) = already_applied(&state, &first, lang);
            let first_application = FirstApplication {
                title: scheme_title(&state, &first.scheme, lang),
                protocol: first.protocol,
                scheme: first.scheme,
            };
            Problem::new(ProblemKind::AlreadyApplied, lang, detail).naming(first_application).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "could not record an application");
            Problem::unavailable(lang).into_response()
        }
    }
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
) -> Response {
    let found = match applications_of(&state, &citizen, &from).await {
        Ok(applications) => {
            state.app.store.payments_of(&citizen.codice_fiscale).await.map(|p| (applications, p)).map_err(Into::into)
        }
        Err(e) => Err(e),
    };
    match found {
        Ok((applications, payments)) => {
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
                        protocol: a.protocol,
                    }
                })
                .collect();
            Json(Applications { applications }).into_response()
        }
        Err::<_, crate::error::ServiceError>(e) => {
            tracing::error!(error = %e, "could not read applications");
            Problem::unavailable(lang).into_response()
        }
    }
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
) -> Response {
    match application_of(&state, &citizen, &protocol, &from).await {
        Ok(Some(application)) => receipt_with_payments(&state, &citizen, application, lang).await,
        Ok(None) => not_found(lang),
        Err(e) => {
            tracing::error!(error = %e, "could not read an application");
            Problem::unavailable(lang).into_response()
        }
    }
}

/// The 404 problem for a protocol number that is not one of the citizen's applications.
fn not_found(lang: Lang) -> Response {
    let detail = lang.pick(
        "Tra le sue domande non ce n'è una con questo numero di protocollo. Le trova tutte in GET \
         /api/v1/applications.",
        "None of your applications has this protocol number. You will find them all at GET /api/v1/applications.",
    );
    Problem::new(ProblemKind::NotFound, lang, detail).into_response()
}

/// The receipt of `application` with its payments read from the store.
async fn receipt_with_payments(
    state: &AuthState,
    citizen: &crate::auth::session::Citizen,
    application: Application,
    lang: Lang,
) -> Response {
    match state.app.store.payments_of(&citizen.codice_fiscale).await {
        Ok(payments) => Json(Receipt::new(state, application, &payments, lang)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not read payments");
            Problem::unavailable(lang).into_response()
        }
    }
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
) -> Response {
    let form = ApplicationForm { payment: "iban".to_owned(), iban: request.iban.clone(), ..ApplicationForm::default() };
    let iban = match Iban::parse(&request.iban) {
        Ok(iban) => iban,
        Err(_) => {
            // The form's own message for the field, so that both doors explain a bad IBAN the same way.
            let message = form
                .validate_details(lang, &[])
                .err()
                .and_then(|errors| errors.get("iban").map(str::to_owned))
                .unwrap_or_default();
            return Problem::validation(lang, vec![FieldError { field: "/iban".to_owned(), message }]).into_response();
        }
    };
    let found = match application_of(&state, &citizen, &protocol, &from).await {
        Ok(Some(application)) => application,
        Ok(None) => return not_found(lang),
        Err(e) => {
            tracing::error!(error = %e, "could not read an application");
            return Problem::unavailable(lang).into_response();
        }
    };
    match replace_iban(&state, &citizen, &found.protocol, &iban, &from).await {
        Ok(true) => match application_of(&state, &citizen, &protocol, &from).await {
            Ok(Some(application)) => receipt_with_payments(&state, &citizen, application, lang).await,
            Ok(None) => not_found(lang),
            Err(e) => {
                tracing::error!(error = %e, "could not read an application");
                Problem::unavailable(lang).into_response()
            }
        },
        Ok(false) => {
            let detail = lang.pick(
                "Il pagamento di questa domanda non è stato respinto dalla banca: non serve un nuovo IBAN.",
                "The payment of this application was not returned by the bank: no new IBAN is needed.",
            );
            Problem::new(ProblemKind::NoReturnedPayment, lang, detail).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "could not record a new IBAN");
            Problem::unavailable(lang).into_response()
        }
    }
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
) -> Response {
    if !citizen.confirmed {
        let detail = lang.pick(
            "Per annullare una domanda acceda con il PIN completo (la seconda parte è spedita per posta all'indirizzo \
             di residenza) o si faccia riconoscere presso una sede INPS.",
            "To annul an application, log in with the full PIN (its second half is posted to your address of \
             residence) or have your identity confirmed at an INPS office.",
        );
        return Problem::new(ProblemKind::NotConfirmed, lang, detail).into_response();
    }
    match annul_application(&state, &citizen, &protocol, &from).await {
        Ok(Some(application)) => receipt_with_payments(&state, &citizen, application, lang).await,
        Ok(None) => match application_of(&state, &citizen, &protocol, &from).await {
            Ok(Some(_)) => {
                let detail = lang.pick(
                    "Questa domanda non è stata presentata con un PIN non confermato: non c'è nulla da annullare.",
                    "This application was not made with an unconfirmed PIN: there is nothing to annul.",
                );
                Problem::new(ProblemKind::NothingToAnnul, lang, detail).into_response()
            }
            Ok(None) => not_found(lang),
            Err(e) => {
                tracing::error!(error = %e, "could not read an application");
                Problem::unavailable(lang).into_response()
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "could not annul an application");
            Problem::unavailable(lang).into_response()
        }
    }
}
