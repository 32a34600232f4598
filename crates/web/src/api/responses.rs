//! The problem responses the operations share, as the OpenAPI document names them: each an RFC 9457 problem
//! ([`Problem`]) with what its status means here and, where it helps, an example. The handlers name them in their
//! `#[utoipa::path]` attributes; [`super::doc`] lists them among its components.

use utoipa::ToResponse;

use super::problem::Problem;

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

/// The operator may not do this: the institute's roster does not list them at the office today, or not in the role
/// it needs (a batch is filed by the office's head).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:sportello:problem:forbidden", "title": "Operazione non consentita", "status": 403,
        "detail": "L'elenco degli operatori dell'Istituto non La abilita a questa operazione per questa sede oggi."})
)]
pub struct Forbidden(pub Problem);

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
