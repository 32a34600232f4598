//! The properties the `form` fuzz target in `fuzz/` checks, shared with the test that replays its corpus under
//! `cargo test`: the function panics when a property fails. Not part of the portal's interface.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::Form;
use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Method, Request, header};
use serde::de::DeserializeOwned;
use sportello_domain::{CodiceFiscale, Iban};

use sportello_domain::law::{DeclarationKind, Rulebook};

use crate::apply::form::{ApplicationForm, Details, Payment, TICKED, is_idempotency_key};
use crate::auth::handlers::{Contact, LoginForm};
use crate::i18n::Lang;

/// The fields of the application form that a message can be tied to.
const APPLICATION_FIELDS: [&str; 9] = [
    "idempotency_key",
    "payment",
    "iban",
    "email",
    "mobile",
    "not_pension_holder",
    "no_other_compulsory_scheme",
    "not_employed",
    "not_reddito_di_cittadinanza",
];

/// The decree's rulebook, read once rather than at every input.
static RULEBOOK: std::sync::LazyLock<Rulebook> = std::sync::LazyLock::new(Rulebook::dl18_2020);

/// A posted form body, decoded by axum's `Form` extractor exactly as the handlers receive it, then validated as
/// the handlers validate it. The first byte picks the form (bit 0: login, otherwise the application) and the
/// language (bit 1: English); the rest is the body. Nothing panics, a body that does not decode is refused with a
/// 4xx, and what validation accepts is consistent with what was typed.
pub fn form(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else { return };
    let lang = if selector & 2 == 0 { Lang::It } else { Lang::En };
    if selector & 1 == 1 {
        if let Some(form) = decode::<LoginForm>(body) {
            login(&form, lang);
        }
    } else if let Some(form) = decode::<ApplicationForm>(body) {
        application(&form, lang);
    }
}

/// The body through `Form<T>`: the form, or `None` after checking that the refusal is the client's fault.
fn decode<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_vec()))
        .unwrap_or_else(|e| panic!("a request with a fixed method, URI and header is well formed: {e}"));
    match run_ready(Form::<T>::from_request(request, &())) {
        Ok(Form(form)) => Some(form),
        Err(rejection) => {
            assert!(rejection.status().is_client_error(), "a malformed body is answered with {}", rejection.status());
            None
        }
    }
}

/// Runs a future that never waits: the body is in memory, so the extractor completes on its first poll.
fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("decoding a body held in memory waited for something"),
    }
}

fn application(form: &ApplicationForm, lang: Lang) {
    // The declarations of the indemnity the form names, or of the first one when it names none that exists.
    let rulebook = &*RULEBOOK;
    let Some(scheme) = rulebook.scheme(&form.scheme).or_else(|| rulebook.schemes().first()) else { return };
    let asked = scheme.declarations();
    // The one check every door's draft goes through, without the form's own idempotency key.
    let checked = sportello_usecases::draft::validate_for(scheme, &form.input(scheme));
    match form.validate_for(lang, scheme) {
        Ok(details) => {
            assert!(is_idempotency_key(&form.idempotency_key), "accepted without a drawn idempotency key");
            assert_eq!(checked.as_ref().ok(), Some(&details), "the draft's check agrees");
            match &details.payment {
                Payment::Iban { iban } => {
                    assert_eq!(form.payment, "iban");
                    assert_eq!(Iban::parse(&form.iban).as_ref(), Ok(iban), "the IBAN stored is the one typed");
                }
                Payment::Domiciliato => assert_eq!(form.payment, "domiciliato"),
            }
            let contact = &details.contact;
            assert!(contact.email.is_some() || contact.mobile.is_some(), "accepted without a contact");
            if let Some(email) = &contact.email {
                assert_eq!(Contact::parse(email), Some(Contact::Email(email.to_owned())), "stored e-mail reads back");
            }
            if let Some(mobile) = &contact.mobile {
                assert_eq!(Contact::parse(mobile), Some(Contact::Sms(mobile.to_owned())), "stored mobile reads back");
            }
            for kind in DeclarationKind::ALL {
                let asked_for = asked.iter().any(|d| d.kind() == kind);
                assert_eq!(details.declarations.made(kind), asked_for, "{kind:?}: stored as made iff asked for");
                if asked_for {
                    assert_eq!(form.ticked(kind), TICKED, "{kind:?}: accepted without the declaration");
                }
            }
            let stored = serde_json::to_string(&details).unwrap_or_else(|e| panic!("details serialise: {e}"));
            let read: Details = serde_json::from_str(&stored).unwrap_or_else(|e| panic!("{stored} reads back: {e}"));
            assert_eq!(read, details, "the stored details read back as stored");
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without a message");
            for (field, message) in errors.iter() {
                assert!(APPLICATION_FIELDS.contains(&field.as_str()), "a message for an unknown field {field}");
                assert!(!message.is_empty(), "{field}: empty message");
            }
            let without_key: Vec<&str> =
                errors.iter().map(|(field, _)| field.as_str()).filter(|field| *field != "idempotency_key").collect();
            match &checked {
                Ok(_) => assert!(without_key.is_empty(), "the draft's check accepts what the form refuses"),
                Err(invalid) => {
                    let fields: Vec<&str> = invalid.iter().map(|i| i.field()).collect();
                    assert_eq!(fields, without_key, "the draft's check differs")
                }
            }
        }
    }
}

fn login(form: &LoginForm, lang: Lang) {
    match form.validate(lang) {
        Ok((cf, pin)) => {
            assert_eq!(CodiceFiscale::parse(&form.codice_fiscale), Ok(cf));
            assert!(matches!(pin.expose().len(), 8 | 16), "a PIN of {} characters", pin.expose().len());
        }
        Err(errors) => {
            assert!(errors.codice_fiscale.is_some() || errors.pin.is_some(), "refused without a message");
            assert_eq!(errors.codice_fiscale.is_some(), CodiceFiscale::parse(&form.codice_fiscale).is_err());
            assert!(errors.codice_fiscale.iter().chain(&errors.pin).all(|m| !m.is_empty()), "an empty message");
        }
    }
}
