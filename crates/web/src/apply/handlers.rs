//! The application pages: extract, let the rulebook decide and the store record, render.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_domain::Iban;
use sportello_domain::law::Scheme;
use sportello_store::{Application, Submission};

use super::form::{ApplicationForm, Details, FieldErrors, Payment, TICKED};
use super::held::refuse_second;
use super::italian_time;
use super::stored::{MAX_PROTOCOL, standing};
use super::views::{DeclarationView, FigureView, SchemeSummary};
use crate::auth::AuthState;
use crate::auth::csrf::Binding;
use crate::auth::session::{Citizen, ClientAddr, random_hex};
use crate::error::ServiceError;
use crate::i18n::{Lang, LangQuery};
use crate::render::{LAST_UPDATE, forbidden, lang_suffix, problem, render_with as render, unavailable};
pub use crate::schemes::{citation, find_scheme, legal_ref, period, scheme_title};

/// The 404 page for an indemnity that the rulebook does not know.
fn unknown_scheme(lang: Lang) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        lang,
        lang.pick("Indennità non trovata", "Allowance not found"),
        lang.pick(
            "L'indennità richiesta non esiste. Scelga l'indennità dalla pagina «La tua situazione».",
            "There is no such allowance. Choose the allowance from the page \"Your situation\".",
        ),
    )
}

/// The 404 page for an indemnity the institute pays without an application (art. 84 c. 1 DL 34/2020).
fn without_application(lang: Lang) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        lang,
        lang.pick("Non serve la domanda", "No application needed"),
        lang.pick(
            "Questa indennità non si chiede: l'INPS la paga a chi ne ha diritto senza domanda. Nella pagina «La Sua situazione» vede se Le spetta.",
            "This allowance is not applied for: INPS pays it to those entitled without an application. The page \"Your situation\" shows whether it is yours.",
        ),
    )
}

/// The indemnity a posted form names, once its CSRF token is checked against the citizen's session; otherwise the
/// page to answer with: 403 for a bad token, 404 for an unknown indemnity.
fn posted_scheme<'a>(
    state: &'a AuthState,
    citizen: &Citizen,
    form: &ApplicationForm,
) -> Result<&'a Scheme, fn(Lang) -> Response> {
    if !state.auth.csrf.verify(Binding::Session(&citizen.id_hash), &form.csrf) {
        return Err(forbidden);
    }
    let scheme = find_scheme(state, &form.scheme).ok_or(unknown_scheme as fn(Lang) -> Response)?;
    if !scheme.on_application() {
        return Err(without_application);
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
    ) -> Response {
        if !super::form::is_idempotency_key(&form.idempotency_key) {
            match random_hex() {
                Ok(key) => form.idempotency_key = key,
                Err(e) => {
                    tracing::error!(error = %e, "could not draw an idempotency key");
                    return unavailable(lang);
                }
            }
        }
        let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        let page = ApplyPage {
            lang,
            lang_suffix: lang_suffix(lang),
            last_update: LAST_UPDATE,
            csrf: state.auth.csrf.token(Binding::Session(&citizen.id_hash)),
            codice_fiscale: citizen.codice_fiscale.to_string(),
            scheme: SchemeSummary::new(state, scheme, lang),
            declarations: DeclarationView::of(scheme, &form, lang),
            figures: FigureView::of(scheme, &form, lang),
            form,
            errors,
        };
        render(status, &page)
    }
}

/// `GET /domanda?scheme=art27`: the application form for one indemnity, with a fresh idempotency key; a 409 page at
/// once when the citizen already holds an indemnity (art. 31), rather than after the whole form and its review.
pub async fn form(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    Query(chosen): Query<SchemeQuery>,
    citizen: Citizen,
) -> Response {
    let lang = query.lang();
    let Some(key) = chosen.scheme.filter(|s| !s.is_empty()) else {
        return Redirect::to(&format!("/situazione{}", lang_suffix(lang))).into_response();
    };
    let Some(scheme) = find_scheme(&state, &key) else {
        return unknown_scheme(lang);
    };
    if !scheme.on_application() {
        return without_application(lang);
    }
    if let Some(refusal) = refuse_second(&state, &citizen, scheme, lang).await {
        return refusal;
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
) -> Response {
    let lang = query.lang();
    let scheme = match posted_scheme(&state, &citizen, &form) {
        Ok(scheme) => scheme,
        Err(refusal) => return refusal(lang),
    };
    if let Some(refusal) = refuse_second(&state, &citizen, scheme, lang).await {
        return refusal;
    }
    if !form.edit.is_empty() {
        return ApplyPage::render(&state, &citizen, lang, scheme, form, FieldErrors::default());
    }
    let details = match form.validate_for(lang, scheme) {
        Ok(details) => details,
        Err(errors) => return ApplyPage::render(&state, &citizen, lang, scheme, form, errors),
    };
    let decision = match sportello_usecases::decide::for_application(
        state.app.store.as_ref(),
        &state.app.decrees,
        citizen.codice_fiscale,
        &details.figures,
    )
    .await
    {
        Ok(decision) => decision,
        Err(e) => {
            tracing::error!(error = %e, "could not decide");
            return unavailable(lang);
        }
    };
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
        codice_fiscale: citizen.codice_fiscale.to_string(),
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
    render(StatusCode::OK, &page)
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
) -> Response {
    let lang = query.lang();
    let scheme = match posted_scheme(&state, &citizen, &form) {
        Ok(scheme) => scheme,
        Err(refusal) => return refusal(lang),
    };
    let details = match form.validate_for(lang, scheme) {
        Ok(details) => details,
        Err(errors) => return ApplyPage::render(&state, &citizen, lang, scheme, form, errors),
    };
    match submit_application(&state, &citizen, scheme, form.idempotency_key, &details, &from, lang).await {
        Ok(Submission::Created(application) | Submission::Duplicate(application)) => {
            Redirect::to(&format!("/domande/{}{}", application.protocol, lang_suffix(lang))).into_response()
        }
        Ok(Submission::AlreadyHolds(first)) => super::held::page(&state, &first, scheme, lang),
        Err(e) => {
            tracing::error!(error = %e, "could not record an application");
            unavailable(lang)
        }
    }
}

/// Decides eligibility for `scheme` now and records the application with `details` (accepted or rejected, with
/// the reasons), counting it and auditing the attempt. The store answers whether it is new, the one recorded
/// before under the same `idempotency_key`, or refused because the citizen already holds one (art. 31). A new
/// application's receipt is sent, in `lang`, to the contact given in it.
pub async fn submit_application(
    state: &AuthState,
    citizen: &Citizen,
    scheme: &Scheme,
    idempotency_key: String,
    details: &Details,
    from: &ClientAddr,
    lang: Lang,
) -> Result<Submission, ServiceError> {
    let draft = sportello_usecases::apply::Draft {
        scheme: scheme.id().to_owned(),
        idempotency_key,
        details: serde_json::to_value(details)?,
        figures: details.figures.clone(),
        // Made with a PIN whose first half went to a contact not on file: not paid until the person confirms.
        hold: (!citizen.confirmed).then(|| citizen.credential.clone().unwrap_or_else(|| "unconfirmed".to_owned())),
    };
    // The audit row is written by the application's own transaction: one commit makes both durable.
    let from = from.0.map(|addr| addr.ip().to_string());
    let outcome = sportello_usecases::apply::submit(
        state.app.store.as_ref(),
        &state.app.decrees,
        &citizen.principal,
        from,
        draft,
        state.auth.now(),
    )
    .await
    .inspect_err(|e| tracing::error!(error = %e, "could not record an application and its audit row"))?;
    let counted = match &outcome {
        Submission::Created(a) => Some((a.scheme.clone(), a.status.as_str())),
        Submission::Duplicate(_) => None,
        Submission::AlreadyHolds(_) => Some((scheme.id().to_owned(), "refused_art31")),
    };
    if let Some((scheme, status)) = counted {
        metrics::counter!("sportello_applications_total", "scheme" => scheme, "status" => status).increment(1);
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
) -> Response {
    let lang = query.lang();
    let found = match applications_of(&state, &citizen, &from).await {
        Ok(applications) => {
            state.app.store.payments_of(&citizen.codice_fiscale).await.map(|p| (applications, p)).map_err(Into::into)
        }
        Err(e) => Err(e),
    };
    let (applications, payments) = match found {
        Ok(found) => found,
        Err::<_, ServiceError>(e) => {
            tracing::error!(error = %e, "could not read applications");
            return unavailable(lang);
        }
    };
    let applications = applications
        .into_iter()
        .map(|a| {
            let standing = standing(&state, &a, &payments);
            ApplicationRow {
                title: scheme_title(&state, &a.scheme, lang),
                submitted_at: italian_time::format(a.submitted_at),
                standing_label: standing.label(lang),
                standing_message: standing.message(lang),
                protocol: a.protocol,
            }
        })
        .collect();
    let page = ApplicationsPage {
        lang,
        lang_suffix: lang_suffix(lang),
        last_update: LAST_UPDATE,
        codice_fiscale: citizen.codice_fiscale.to_string(),
        applications,
    };
    render(StatusCode::OK, &page)
}

/// Every application of the logged-in citizen, oldest first, the access audited (`list_applications`).
pub async fn applications_of(
    state: &AuthState,
    citizen: &Citizen,
    from: &ClientAddr,
) -> Result<Vec<Application>, ServiceError> {
    let applications = state.app.store.applications_of(&citizen.codice_fiscale).await?;
    citizen.audit(state, "list_applications", None, from).await?;
    Ok(applications)
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
) -> Response {
    let lang = query.lang();
    if !state.auth.csrf.verify(Binding::Session(&citizen.id_hash), &form.csrf) {
        return forbidden(lang);
    }
    let iban = match Iban::parse(&form.iban) {
        Ok(iban) => iban,
        Err(_) => {
            // The application form's own words for a bad IBAN, in the citizen's language.
            let typed =
                ApplicationForm { payment: "iban".to_owned(), iban: form.iban.clone(), ..ApplicationForm::default() };
            let why = typed.validate_details(lang, &[]).err().and_then(|e| e.get("iban").map(str::to_owned));
            let message = format!(
                "{} {}",
                why.unwrap_or_default(),
                lang.pick("Torni alla ricevuta e lo scriva di nuovo.", "Go back to the receipt and write it again.")
            );
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                lang.pick("IBAN non valido", "Invalid IBAN"),
                message.trim(),
            );
        }
    };
    match replace_iban(&state, &citizen, &protocol, &iban, &from).await {
        Ok(true) => Redirect::to(&format!("/domande/{protocol}{}", lang_suffix(lang))).into_response(),
        Ok(false) => nothing_to_fix(lang),
        Err(e) => {
            tracing::error!(error = %e, "could not record a new IBAN");
            unavailable(lang)
        }
    }
}

/// Records `iban` for the returned payment of the citizen's own application `protocol`, audited
/// (`replace_iban`); `false` when no such application has a returned payment.
pub async fn replace_iban(
    state: &AuthState,
    citizen: &Citizen,
    protocol: &str,
    iban: &Iban,
    from: &ClientAddr,
) -> Result<bool, ServiceError> {
    if protocol.len() > MAX_PROTOCOL {
        return Ok(false);
    }
    let replaced =
        state.app.store.replace_returned_iban(&citizen.codice_fiscale, protocol, iban, state.auth.now()).await?;
    if replaced {
        citizen.audit(state, "replace_iban", Some(protocol), from).await?;
    }
    Ok(replaced)
}

/// The 409 page when there is no returned payment to give a new IBAN for.
fn nothing_to_fix(lang: Lang) -> Response {
    problem(
        StatusCode::CONFLICT,
        lang,
        lang.pick("Nessun pagamento da correggere", "No payment to correct"),
        lang.pick(
            "Tra le sue domande non c'è un pagamento respinto dalla banca con questo numero di protocollo: non serve \
             un nuovo IBAN. Lo stato di ogni domanda è in «Le mie domande».",
            "None of your applications has a payment returned by the bank under this protocol number: no new IBAN is \
             needed. You will find where each application stands in \"My applications\".",
        ),
    )
}
