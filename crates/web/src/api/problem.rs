//! How the API says what went wrong: RFC 9457 problem details (`application/problem+json`) in the client's
//! language, the one place a use case's failure becomes a problem ([`OrProblem`]), and the middleware that turns the
//! plain-text errors of the layers in front of the API (body limit, timeout, unknown path or method) into problems.

use axum::body::Body;
use axum::extract::{FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sportello_usecases::UseCaseError;
use utoipa::ToSchema;

use crate::i18n::{Lang, LangQuery};

/// The media type of a problem.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// What kind of problem it is: each has a stable `type` URI that programs can rely on, a status and a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The body is not JSON, or not well-formed JSON.
    MalformedRequest,
    /// A required header (`Idempotency-Key`) is missing or malformed.
    MissingHeader,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// The body is larger than the portal accepts.
    TooLarge,
    /// The JSON is well formed but some of its values are not acceptable; `errors` says which and why.
    Validation,
    /// No bearer token, or one that opens no live session.
    Unauthorized,
    /// The codice fiscale and PIN open no session (unknown or wrong: the same answer by design).
    LoginRefused,
    /// Too many wrong PINs have locked logging in with this codice fiscale from this client; `locked_until` says
    /// until when. Any codice fiscale locks alike, registered or not.
    LoginLocked,
    /// The operator may not do this, for this office, today (the institute's roster).
    Forbidden,
    /// Nothing at this address for this citizen.
    NotFound,
    /// The address exists but not with this method.
    MethodNotAllowed,
    /// The citizen already holds an application that was not rejected (art. 31 DL 18/2020).
    AlreadyApplied,
    /// The `Idempotency-Key` was used before for a different application.
    IdempotencyKeyReused,
    /// A new IBAN was sent for an application whose payment was not returned by the bank.
    NoReturnedPayment,
    /// An annulment asked in a session whose credential is not confirmed (only the full PIN, a PIN sent to a contact
    /// on file, or an officer's confirmation proves the person).
    NotConfirmed,
    /// An annulment of an application that was not made with another, unconfirmed credential.
    NothingToAnnul,
    /// Too many PIN requests or logins from this address or for this person; `Retry-After` says when to retry.
    TooManyRequests,
    /// The portal could not answer in time.
    Timeout,
    /// The database or another part of the service failed; the cause is in the log, not in the answer.
    Unavailable,
}

impl ProblemKind {
    /// The stable `type` URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::MalformedRequest => "urn:sportello:problem:malformed-request",
            Self::MissingHeader => "urn:sportello:problem:missing-header",
            Self::UnsupportedMediaType => "urn:sportello:problem:unsupported-media-type",
            Self::TooLarge => "urn:sportello:problem:too-large",
            Self::Validation => "urn:sportello:problem:validation",
            Self::Unauthorized => "urn:sportello:problem:unauthorized",
            Self::LoginRefused => "urn:sportello:problem:login-refused",
            Self::LoginLocked => "urn:sportello:problem:login-locked",
            Self::Forbidden => "urn:sportello:problem:forbidden",
            Self::NotFound => "urn:sportello:problem:not-found",
            Self::MethodNotAllowed => "urn:sportello:problem:method-not-allowed",
            Self::AlreadyApplied => "urn:sportello:problem:already-applied",
            Self::IdempotencyKeyReused => "urn:sportello:problem:idempotency-key-reused",
            Self::NoReturnedPayment => "urn:sportello:problem:no-returned-payment",
            Self::NotConfirmed => "urn:sportello:problem:not-confirmed",
            Self::NothingToAnnul => "urn:sportello:problem:nothing-to-annul",
            Self::TooManyRequests => "urn:sportello:problem:too-many-requests",
            Self::Timeout => "urn:sportello:problem:timeout",
            Self::Unavailable => "urn:sportello:problem:unavailable",
        }
    }

    /// The HTTP status it is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MalformedRequest | Self::MissingHeader => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized | Self::LoginRefused | Self::LoginLocked => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotConfirmed | Self::Forbidden => StatusCode::FORBIDDEN,
            Self::AlreadyApplied | Self::NoReturnedPayment | Self::NothingToAnnul => StatusCode::CONFLICT,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout | Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The short title in `lang`.
    pub fn title(self, lang: Lang) -> &'static str {
        match self {
            Self::MalformedRequest => lang.pick("Richiesta non leggibile", "Malformed request"),
            Self::MissingHeader => lang.pick("Intestazione mancante o non valida", "Missing or invalid header"),
            Self::UnsupportedMediaType => lang.pick("Formato non supportato", "Unsupported media type"),
            Self::TooLarge => lang.pick("Richiesta troppo grande", "Request too large"),
            Self::Validation => lang.pick("Controlli i dati inviati", "Please check the data sent"),
            Self::Unauthorized => lang.pick("Accesso necessario", "Authentication required"),
            Self::LoginRefused => lang.pick("Accesso non riuscito", "Login refused"),
            Self::LoginLocked => lang.pick("Accesso bloccato", "Login locked"),
            Self::Forbidden => lang.pick("Operazione non consentita", "Not allowed"),
            Self::NotFound => lang.pick("Non trovato", "Not found"),
            Self::MethodNotAllowed => lang.pick("Metodo non consentito", "Method not allowed"),
            Self::AlreadyApplied => lang.pick("Domanda già presentata", "Already applied"),
            Self::IdempotencyKeyReused => lang.pick("Chiave di idempotenza già usata", "Idempotency key already used"),
            Self::NoReturnedPayment => lang.pick("Nessun pagamento da correggere", "No payment to correct"),
            Self::NotConfirmed => lang.pick("Serve il PIN completo", "The full PIN is needed"),
            Self::NothingToAnnul => lang.pick("Nessuna domanda da annullare", "No application to annul"),
            Self::TooManyRequests => lang.pick("Troppe richieste", "Too many requests"),
            Self::Timeout | Self::Unavailable => lang.pick("Servizio non disponibile", "Service unavailable"),
        }
    }

    /// The kind answering a plain error of `status` produced in front of the API's handlers.
    fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::TooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::UNAUTHORIZED => Self::Unauthorized,
            StatusCode::TOO_MANY_REQUESTS => Self::TooManyRequests,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => {
                Self::Timeout
            }
            s if s.is_server_error() => Self::Unavailable,
            _ => Self::MalformedRequest,
        }
    }

    /// What to tell about a plain error of this kind, when nothing more precise is known.
    pub(super) fn generic_detail(self, lang: Lang) -> &'static str {
        match self {
            Self::NotFound => lang.pick(
                "Non c'è nulla a questo indirizzo. L'elenco degli indirizzi dell'API è in /api/openapi.json.",
                "There is nothing at this address. The API's addresses are listed in /api/openapi.json.",
            ),
            Self::MethodNotAllowed => lang.pick(
                "Questo indirizzo non accetta questo metodo HTTP; quelli accettati sono nell'intestazione Allow.",
                "This address does not accept this HTTP method; the accepted ones are in the Allow header.",
            ),
            Self::TooLarge => lang.pick(
                "Il corpo della richiesta supera la dimensione massima accettata dal portale.",
                "The request body is larger than the portal accepts.",
            ),
            Self::UnsupportedMediaType => lang.pick(
                "Il corpo della richiesta deve essere JSON, con l'intestazione Content-Type: application/json.",
                "The request body must be JSON, sent with the header Content-Type: application/json.",
            ),
            Self::Unauthorized => lang.pick(
                "Serve l'intestazione Authorization: Bearer con il token di una sessione aperta (POST \
                 /api/v1/sessions).",
                "The header Authorization: Bearer with the token of an open session is needed (POST \
                 /api/v1/sessions).",
            ),
            Self::TooManyRequests => lang.pick(
                "Sono arrivate troppe richieste in poco tempo. Riprovi dopo i secondi indicati dall'intestazione \
                 Retry-After.",
                "Too many requests arrived in a short time. Please retry after the seconds given in the Retry-After \
                 header.",
            ),
            Self::Timeout | Self::Unavailable => lang.pick(
                "Il servizio non è al momento disponibile. Riprovi tra qualche minuto.",
                "The service is not available at the moment. Please try again in a few minutes.",
            ),
            _ => lang.pick("La richiesta non è stata compresa.", "The request was not understood."),
        }
    }
}

/// One value of the request that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Where, as a JSON pointer into the request body (RFC 6901); the empty string is the whole body.
    #[schema(example = "/payment/iban")]
    pub field: String,
    /// What is wrong and what to do, in the client's language.
    #[schema(example = "L'IBAN non è valido: controlli che inizi con la sigla del paese (IT per l'Italia) e due \
                        cifre di controllo, che abbia la lunghezza giusta (27 caratteri per un conto italiano) e \
                        che nessun carattere sia stato scritto male.")]
    pub message: String,
}

/// The application that already holds the citizen's indemnity for a month (art. 31 DL 18/2020 for March).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FirstApplication {
    /// Its protocol number.
    #[schema(example = "INPS-COVID-2020-000000001")]
    pub protocol: String,
    /// The indemnity it applied for.
    #[schema(example = "art27")]
    pub scheme: String,
    /// The indemnity's title, in the client's language.
    pub title: String,
}

/// A problem detail (RFC 9457), in Italian or, when asked (`?lang=en` or `Accept-Language: en`), in English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:sportello:problem:validation",
    "title": "Controlli i dati inviati",
    "status": 422,
    "detail": "Alcuni dati non sono accettabili: ogni errore indica il campo e cosa correggere.",
    "errors": [{"field": "/declarations/not_pension_holder",
                "message": "Per presentare la domanda deve dichiarare di non essere titolare di pensione."}]
}))]
pub struct Problem {
    /// A stable URI naming the kind of problem, e.g. `urn:sportello:problem:validation`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// A short summary of the kind of problem.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What happened here and what to do.
    pub detail: String,
    /// The values that are not acceptable, for `validation` problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The application already holding the citizen's indemnity, for `already-applied` problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_application: Option<Box<FirstApplication>>,
    /// When logging in from this client opens again, for `login-locked` problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip)]
    #[schema(ignore)]
    lang: Lang,
}

impl Problem {
    /// A problem of `kind` in `lang`, saying `detail`.
    pub fn new(kind: ProblemKind, lang: Lang, detail: impl Into<String>) -> Self {
        Problem {
            kind: kind.uri(),
            title: kind.title(lang),
            status: kind.status().as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            first_application: None,
            locked_until: None,
            lang,
        }
    }

    /// A `validation` problem listing `errors`.
    pub fn validation(lang: Lang, errors: Vec<FieldError>) -> Self {
        let detail = lang.pick(
            "Alcuni dati non sono accettabili: ogni errore indica il campo e cosa correggere.",
            "Some values are not acceptable: each error names the field and what to correct.",
        );
        Problem { errors, ..Problem::new(ProblemKind::Validation, lang, detail) }
    }

    /// The same problem, naming the application that already holds the citizen's indemnity.
    pub fn naming(self, first: FirstApplication) -> Self {
        Problem { first_application: Some(Box::new(first)), ..self }
    }

    /// The same problem, saying when a lock ends.
    pub fn locked_until(self, until: chrono::DateTime<chrono::Utc>) -> Self {
        Problem { locked_until: Some(until), ..self }
    }

    /// A use case's failure as the API answers it: the one mapping of the API's door. A failure of the service
    /// is logged with its cause and answered without it.
    pub fn of(error: UseCaseError, lang: Lang) -> Self {
        let (kind, detail) = match &error {
            UseCaseError::NoSuchApplication(_) => (
                ProblemKind::NotFound,
                lang.pick(
                    "Tra le sue domande non ce n'è una con questo numero di protocollo. Le trova tutte in GET \
                     /api/v1/applications.",
                    "None of your applications has this protocol number. You will find them all at GET \
                     /api/v1/applications.",
                ),
            ),
            UseCaseError::NoReturnedPayment(_) => (
                ProblemKind::NoReturnedPayment,
                lang.pick(
                    "Il pagamento di questa domanda non è stato respinto dalla banca: non serve un nuovo IBAN.",
                    "The payment of this application was not returned by the bank: no new IBAN is needed.",
                ),
            ),
            UseCaseError::NotConfirmed => (
                ProblemKind::NotConfirmed,
                lang.pick(
                    "Per annullare una domanda acceda con il PIN completo (la seconda parte è spedita per posta \
                     all'indirizzo di residenza) o si faccia riconoscere presso una sede INPS.",
                    "To annul an application, log in with the full PIN (its second half is posted to your address \
                     of residence) or have your identity confirmed at an INPS office.",
                ),
            ),
            UseCaseError::NothingToAnnul(_) => (
                ProblemKind::NothingToAnnul,
                lang.pick(
                    "Questa domanda non è stata presentata con un PIN non confermato: non c'è nulla da annullare.",
                    "This application was not made with an unconfirmed PIN: there is nothing to annul.",
                ),
            ),
            error => {
                tracing::error!(error = %error, "an API request could not be answered");
                (ProblemKind::Unavailable, ProblemKind::Unavailable.generic_detail(lang))
            }
        };
        Problem::new(kind, lang, detail)
    }

    /// The answer to a request without a bearer token opening a live session. `presented` says whether a token was
    /// there at all, which RFC 6750 tells apart in `WWW-Authenticate`.
    pub fn unauthorized(lang: Lang, presented: bool) -> Response {
        let mut detail = ProblemKind::Unauthorized.generic_detail(lang).to_owned();
        if presented {
            detail = lang
                .pick(
                    "Il token non apre alcuna sessione: è scaduto, è stato chiuso o non è mai esistito. Acceda di \
                     nuovo con POST /api/v1/sessions.",
                    "The token opens no session: it expired, was closed or never existed. Log in again with POST \
                     /api/v1/sessions.",
                )
                .to_owned();
        }
        with_challenge(Problem::new(ProblemKind::Unauthorized, lang, detail).into_response(), presented)
    }
}

/// Turns a use case's result into one an API handler answers with `?`.
pub trait OrProblem<T> {
    /// The value, or the problem saying what went wrong, in `lang` (see [`Problem::of`]).
    fn or_problem(self, lang: Lang) -> Result<T, Problem>;
}

impl<T, E: Into<UseCaseError>> OrProblem<T> for Result<T, E> {
    fn or_problem(self, lang: Lang) -> Result<T, Problem> {
        self.map_err(|e| Problem::of(e.into(), lang))
    }
}

/// `response` with the `WWW-Authenticate` challenge every 401 must carry (RFC 9110 § 15.5.2), naming an invalid
/// token as such (RFC 6750 § 3.1) when one was presented.
pub fn with_challenge(mut response: Response, invalid_token: bool) -> Response {
    let challenge = if invalid_token {
        HeaderValue::from_static("Bearer realm=\"sportello\", error=\"invalid_token\"")
    } else {
        HeaderValue::from_static("Bearer realm=\"sportello\"")
    };
    response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    response
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = match serde_json::to_vec(&self) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "could not write a problem as JSON");
                return status.into_response();
            }
        };
        let headers = [
            (header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)),
            (header::CONTENT_LANGUAGE, HeaderValue::from_static(self.lang.tag())),
        ];
        (status, headers, body).into_response()
    }
}

/// The language the client asked for: `?lang=` first, as on the pages (`crate::i18n`), then `Accept-Language`,
/// then Italian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for ApiLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ApiLang(lang_of(&parts.uri, &parts.headers)))
    }
}

/// The language for a request to `uri` with `headers`; see [`ApiLang`].
pub fn lang_of(uri: &Uri, headers: &HeaderMap) -> Lang {
    if let Ok(Query(query)) = Query::<LangQuery>::try_from_uri(uri)
        && query.lang.is_some()
    {
        return query.lang();
    }
    headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).map_or(Lang::It, accepted_lang)
}

/// The preferred of Italian and English in an `Accept-Language` value (RFC 9110 § 12.5.4), Italian on a tie or
/// when neither is acceptable.
fn accepted_lang(value: &str) -> Lang {
    let mut best = (Lang::It, 0.0_f32);
    for range in value.split(',') {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let primary = tag.split('-').next().unwrap_or_default();
        let lang = if primary.eq_ignore_ascii_case("en") {
            Lang::En
        } else if primary.eq_ignore_ascii_case("it") {
            Lang::It
        } else {
            continue;
        };
        let q =
            parts.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        if q > best.1 {
            best = (lang, q);
        }
    }
    best.0
}

/// Middleware, in front of every layer of the portal: an error answered on `/api/` by something other than the
/// API's handlers (the body limit, the timeout, an unknown path or method) becomes a problem in the client's
/// language, keeping its status and headers.
pub async fn plain_errors_as_problems(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path != "/api" && !path.starts_with("/api/") {
        return next.run(request).await;
    }
    let lang = lang_of(request.uri(), request.headers());
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let kind = ProblemKind::for_status(status);
    let mut problem = Problem::new(kind, lang, kind.generic_detail(lang));
    problem.status = status.as_u16();
    let (mut parts, _) = response.into_parts();
    let replacement = problem.into_response();
    for name in [header::CONTENT_TYPE, header::CONTENT_LANGUAGE, header::CONTENT_LENGTH] {
        parts.headers.remove(&name);
        if let Some(value) = replacement.headers().get(&name) {
            parts.headers.insert(name, value.clone());
        }
    }
    let (_, body) = replacement.into_parts();
    Response::from_parts(parts, Body::new(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_of_italian_and_english() {
        let cases = [
            ("nothing acceptable to us", "de-DE, fr;q=0.9", Lang::It),
            ("plain English", "en", Lang::En),
            ("a regional English first", "en-GB,en;q=0.9,it;q=0.8", Lang::En),
            ("Italian preferred over English", "en;q=0.5, it-IT", Lang::It),
            ("English preferred by weight", "it;q=0.3, en;q=0.7", Lang::En),
            ("English refused", "en;q=0", Lang::It),
            ("a tie goes to the first", "it, en", Lang::It),
            ("case does not matter", "EN-us", Lang::En),
        ];
        for (situation, value, expected) in cases {
            assert_eq!(accepted_lang(value), expected, "{situation}");
        }
    }

    #[test]
    fn the_query_wins_over_the_header_as_on_the_pages() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
        assert_eq!(lang_of(&"/api/v1/schemes?lang=it".parse().unwrap(), &headers), Lang::It);
        assert_eq!(lang_of(&"/api/v1/schemes".parse().unwrap(), &headers), Lang::En);
        assert_eq!(lang_of(&"/api/v1/schemes".parse().unwrap(), &HeaderMap::new()), Lang::It);
    }
}
