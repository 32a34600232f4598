//! The application pages: extract, let the rulebook decide and the store record, render.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_domain::law::Scheme;
use sportello_domain::{Iban, IdempotencyKey};
use sportello_store::{Application, Submission};
use sportello_usecases::{UseCaseError, iban, receipts};

use super::form::{ApplicationForm, Details, FieldErrors, Payment, TICKED, iban_message};
use super::held::refuse_second;
use super::italian_time;
use super::stored::standing;
use super::views::{DeclarationView, FigureView, SchemeSummary};
use crate::auth::AuthState;
use crate::auth::csrf::Binding;
use crate::auth::session::{Citizen, ClientAddr, random_hex};
use crate::error::{OrPage, PageError};
use crate::i18n::{Lang, LangQuery};
use crate::render::{LAST_UPDATE, forbidden, lang_suffix, problem, render_with as render};
pub use crate::schemes::{citation, find_scheme, legal_ref, period, scheme_title};

/// The indemnity `id` names, if the decrees in force have it and it is applied for: the form's address and its
/// posts name it, the API's body too (`sportello_usecases::draft::validate` says so there).
fn applied_for<'a>(state: &'a AuthState, id: &str) -> Result<&'a Scheme, UseCaseError> {
    let scheme = find_scheme(state, id).ok_or_else(|| UseCaseError::UnknownScheme(id.to_owned()))?;
    if !scheme.on_application() {
        return Err(UseCaseError::NotOnApplication(id.to_owned()));
    }
    Ok(scheme)
}

/// The `?scheme=` query parameter of the form.
#[derive(Debug, Default, Deserialize)]
pub struct SchemeQuery {
    /// The indemnity chosen.
    #[serde(default)]
    pub scheme: Option<String>,
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    csrf: String,
    codice_fiscale: String,
    scheme: SchemeSummary,
    declarations: Vec<DeclarationView>,
    figures: Vec<FigureView>,
    form: ApplicationForm,
    errors: FieldErrors,
}

impl ApplyPage {
    /// The form with what the citizen typed; a fresh idempotency key if the form carries none.
    fn render(
        state: &AuthState,
        citizen: &Citizen,
        lang: Lang,
        scheme: &Scheme,
        mut form: ApplicationForm,
        errors: FieldErrors,
    ) -> Result<Response, PageError> {
        if !super::form::is_idempotency_key(&form.idempotency_key) {
            form.idempotency_key = random_hex().or_page(lang)?;
        }
        let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        let page = ApplyPage {
            lang,
            lang_suffix: lang_suffix(lang),
            last_update: LAST_UPDATE,
            csrf: state.auth.csrf.token(Binding::Session(&citizen.id_hash)),
            codice_fiscale: citizen.principal.subject.to_string(),
            scheme: SchemeSummary::new(state, scheme, lang),
            declarations: DeclarationView::of(scheme, &form, lang),
            figures: FigureView::of(scheme, &form, lang),
            form,
            errors,
        };
        Ok(render(status, &page))
    }
}

/// `GET /domanda?scheme=art27`: the application form for one indemnity, with a fresh idempotency key; a 409 page at
/// once when the citizen already holds an indemnity (art. 31), rather than after the whole form and its review.
pub async fn form(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    Query(chosen): Query<SchemeQuery>,
    citizen: Citizen,
) -> Result<Response, PageError> {
    let lang = query.lang();
    let Some(key) = chosen.scheme.filter(|s| !s.is_empty()) else {
        return Ok(Redirect::to(&format!("/situazione{}", lang_suffix(lang))).into_response());
    };
    let scheme = applied_for(&state, &key).or_page(lang)?;
    if let Some(refusal) = refuse_second(&state, &citizen, scheme, lang).await? {
        return Ok(refusal);
    }
    let form = ApplicationForm { scheme: scheme.id().to_owned(), ..ApplicationForm::default() };
    ApplyPage::render(&state, &citizen, lang, scheme, form, FieldErrors::default())
}

/// The review page: what will be submitted, to its owner only.
#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    csrf: String,
    codice_fiscale: String,
    scheme: SchemeSummary,
    idempotency_key: String,
    /// The IBAN in groups of four (shown in full only here), empty for payment at a post office.
    iban: String,
    /// The IBAN in its electronic form, carried to the submission.
    iban_electronic: String,
    payment: &'static str,
    email: String,
    mobile: String,
    /// The declarations made, carried to the submission as ticked.
    declarations: Vec<DeclarationView>,
    /// The amounts declared, carried to the submission as typed.
    figures: Vec<FigureView>,
    ticked: &'static str,
    /// The registry's decision for this indemnity now: entitled or not.
    eligible: bool,
}

/// `POST /domanda`: checks the form; the form again (422) with messages tied to its fields, or the review page.
/// With `edit` set (the review's "Modifica" button) it shows the form filled in, to change it.
pub async fn review(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    citizen: Citizen,
    Form(form): Form<ApplicationForm>,
) -> Result<Response, PageError> {
    let lang = query.lang();
    if !state.auth.csrf.verify(Binding::Session(&citizen.id_hash), &form.csrf) {
        return Ok(forbidden(lang));
    }
    let scheme = applied_for(&state, &form.scheme).or_page(lang)?;
    if let Some(refusal) = refuse_second(&state, &citizen, scheme, lang).await? {
        return Ok(refusal);
    }
    if !form.edit.is_empty() {
        return ApplyPage::render(&state, &citizen, lang, scheme, form, FieldErrors::default());
    }
    let details = match form.validate_for(lang, scheme) {
        Ok(details) => details,
        Err(errors) => return ApplyPage::render(&state, &citizen, lang, scheme, form, errors),
    };
    let app = &state.app;
    let decision = sportello_usecases::decide::for_application(
        app.store.as_ref(),
        &app.decrees,
        citizen.principal.subject,
        &details.figures,
    )
    .await
    .or_page(lang)?;
    let eligible = decision.schemes.iter().any(|d| d.scheme == scheme.id() && d.eligible);
    let (iban, iban_electronic, payment) = match &details.payment {
        Payment::Iban { iban } => (iban.to_string(), iban.electronic().to_owned(), "iban"),
        Payment::Domiciliato => (String::new(), String::new(), "domiciliato"),
    };
    let declarations = DeclarationView::of(scheme, &form, lang);
    let figures = FigureView::of(scheme, &form, lang);
    let page = ReviewPage {
        lang,
        lang_suffix: lang_suffix(lang),
        last_update: LAST_UPDATE,
        csrf: state.auth.csrf.token(Binding::Session(&citizen.id_hash)),
        codice_fiscale: citizen.principal.subject.to_string(),
        scheme: SchemeSummary::new(&state, scheme, lang),
        idempotency_key: form.idempotency_key,
        iban,
        iban_electronic,
        payment,
        email: details.contact.email.unwrap_or_default(),
        mobile: details.contact.mobile.unwrap_or_default(),
        declarations,
        figures,
        ticked: TICKED,
        eligible,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /domanda/invia`: decides eligibility now, records the application (accepted or rejected, with the
/// reasons) and redirects to its receipt. The same idempotency key always leads to the same receipt; a second
/// indemnity is refused with 409 (art. 31). The receipt is reached only after the store has committed.
pub async fn submit(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    from: ClientAddr,
    citizen: Citizen,
    Form(form): Form<ApplicationForm>,
) -> Result<Response, PageError> {
    let lang = query.lang();
    if !state.auth.csrf.verify(Binding::Session(&citizen.id_hash), &form.csrf) {
        return Ok(forbidden(lang));
    }
    let scheme = applied_for(&state, &form.scheme).or_page(lang)?;
    let (key, details) = match form.validate_for(lang, scheme).and_then(|details| Ok((form.key(lang)?, details))) {
        Ok(checked) => checked,
        Err(errors) => return ApplyPage::render(&state, &citizen, lang, scheme, form, errors),
    };
    let submitted = submit_application(&state, &citizen, scheme, key, details, &from, lang).await;
    Ok(match submitted.or_page(lang)? {
        Submission::Created(application) | Submission::Duplicate(application) => {
            Redirect::to(&format!("/domande/{}{}", application.protocol, lang_suffix(lang))).into_response()
        }
        Submission::AlreadyHolds(first) => super::held::page(&state, &first, scheme, lang),
    })
}

/// Decides eligibility for `scheme` now and records the application with `details` (accepted or rejected, with
/// the reasons), counting it and auditing the attempt. The store answers whether it is new, the one recorded
/// before under the same `idempotency_key`, or refused because the citizen already holds one (art. 31). A new
/// application's receipt is sent, in `lang`, to the contact given in it.
pub async fn submit_application(
    state: &AuthState,
    citizen: &Citizen,
    scheme: &Scheme,
    idempotency_key: IdempotencyKey,
    details: Details,
    from: &ClientAddr,
    lang: Lang,
) -> Result<Submission, UseCaseError> {
    let draft = sportello_usecases::apply::Draft { scheme: scheme.id().to_owned(), idempotency_key, details };
    // The audit row is written by the application's own transaction: one commit makes both durable. Made in a
    // session whose PIN's first half went to a contact not on file, it is not paid until the person confirms.
    let outcome = sportello_usecases::apply::submit(
        state.app.store.as_ref(),
        &state.app.decrees,
        &citizen.acting(from),
        draft,
        state.auth.now(),
    )
    .await?;
    let counted = match &outcome {
        Submission::Created(a) => Some((a.scheme.clone(), a.status.as_str())),
        Submission::Duplicate(_) => None,
        Submission::AlreadyHolds(_) => Some((scheme.id().to_owned(), "refused_art31")),
    };
    if let Some((scheme, status)) = counted {
        metrics::counter!("sportello_applications_total", "scheme" => scheme, "status" => status, "channel" => "citizen")
            .increment(1);
    }
    if let Submission::Created(application) = &outcome {
        super::receipt::send(state, application, lang).await;
    }
    Ok(outcome)
}

/// The title and message refusing a second indemnity (art. 31), naming the application that holds the first: the
/// words of the 409 page and of the API's problem.
pub fn already_applied(state: &AuthState, first: &Application, lang: Lang) -> (&'static str, String) {
    let (what, why) = crate::situation::holding_message(state, first, lang);
    let recorded = lang.pick(
        "Questa nuova domanda non è stata registrata; la domanda n. {} è in «Le mie domande».",
        "This new application was not recorded; application no. {} is in \"My applications\".",
    );
    let recorded = recorded.replace("{}", &first.protocol);
    (lang.pick("Domanda già presentata", "Already applied"), format!("{what} {why} {recorded}"))
}

/// One line of "Le mie domande".
struct ApplicationRow {
    protocol: String,
    title: String,
    submitted_at: String,
    standing_label: &'static str,
    standing_message: String,
}

#[derive(Template)]
#[template(path = "applications.html")]
struct ApplicationsPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    codice_fiscale: String,
    applications: Vec<ApplicationRow>,
}

/// `GET /domande`: every application of the logged-in citizen, oldest first, each with a link to its receipt.
pub async fn applications(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    from: ClientAddr,
    citizen: Citizen,
) -> Result<Response, PageError> {
    let lang = query.lang();
    let listed = receipts::list(state.app.store.as_ref(), &citizen.acting(&from), state.auth.now()).await;
    let receipts::Listed { applications, payments } = listed.or_page(lang)?;
    let applications = applications
        .into_iter()
        .map(|a| {
            let standing = standing(&state, &a, &payments);
            ApplicationRow {
                title: scheme_title(&state, &a.scheme, lang),
                submitted_at: italian_time::format(a.submitted_at),
                standing_label: standing.label(lang),
                standing_message: standing.message(lang),
                protocol: a.protocol.to_string(),
            }
        })
        .collect();
    let page = ApplicationsPage {
        lang,
        lang_suffix: lang_suffix(lang),
        last_update: LAST_UPDATE,
        codice_fiscale: citizen.principal.subject.to_string(),
        applications,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The form that gives a new IBAN for a returned payment.
#[derive(Debug, Deserialize)]
pub struct NewIbanForm {
    /// The CSRF token of the receipt page.
    #[serde(default)]
    pub csrf: String,
    /// The new account.
    #[serde(default)]
    pub iban: String,
}

/// `POST /domande/{protocol}/iban`: the citizen gives a new IBAN for a payment of their own application that the
/// bank returned; the next payment run pays it again (post/redirect/get back to the receipt).
pub async fn new_iban(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    Path(protocol): Path<String>,
    from: ClientAddr,
    citizen: Citizen,
    Form(form): Form<NewIbanForm>,
) -> Result<Response, PageError> {
    let lang = query.lang();
    if !state.auth.csrf.verify(Binding::Session(&citizen.id_hash), &form.csrf) {
        return Ok(forbidden(lang));
    }
    let iban = match Iban::parse(&form.iban) {
        Ok(iban) => iban,
        Err(e) => {
            // The application form's own words for a bad IBAN, in the citizen's language.
            let again =
                lang.pick("Torni alla ricevuta e lo scriva di nuovo.", "Go back to the receipt and write it again.");
            let message = format!("{} {again}", iban_message(&e, lang));
            let title = lang.pick("IBAN non valido", "Invalid IBAN");
            return Ok(problem(StatusCode::UNPROCESSABLE_ENTITY, lang, title, &message));
        }
    };
    iban::replace(state.app.store.as_ref(), &citizen.acting(&from), &protocol, &iban, state.auth.now())
        .await
        .or_page(lang)?;
    Ok(Redirect::to(&format!("/domande/{protocol}{}", lang_suffix(lang))).into_response())
}
