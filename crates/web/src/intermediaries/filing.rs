//! `GET|POST /intermediari/domanda`: an operator files an application for a citizen their office holds a mandate for,
//! in force today (`sportello_usecases::intermediaries::filing`). The form is the citizen's own, filled with the
//! contacts on file, so that the receipt reaches the citizen; the citizen's declarations are the ones signed on the
//! mandate's form. Without a mandate the answer is the same 404 whether the citizen exists or not; for a decree the
//! office's kind may not file, 403 naming the rule. A new application's receipt goes to the citizen and says who
//! filed it.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use sportello_domain::CodiceFiscale;
use sportello_domain::law::Scheme;
use sportello_store::Submission;
use sportello_usecases::UseCaseError;
use sportello_usecases::apply::Draft;
use sportello_usecases::intermediaries::{filing, mandates};

use super::page::{Header, IntermError, OrInterm, forbidden_form, not_found, problem};
use super::session::{Operator, today};
use crate::apply::form::{ApplicationForm, FieldErrors, TICKED};
use crate::apply::views::{DeclarationView, FigureView, SchemeSummary};
use crate::auth::AuthState;
use crate::auth::session::{ClientAddr, random_hex};
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};

/// `GET /intermediari/domanda?cf=…&scheme=…`: whom for, and (once chosen) which indemnity.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Asked {
    cf: String,
    scheme: String,
}

/// The form as posted: the citizen's codice fiscale and the citizen's application form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FilingForm {
    cf: String,
    #[serde(flatten)]
    form: ApplicationForm,
}

/// An indemnity the office may file, as the choice lists it.
struct Choice {
    id: String,
    title: String,
    legal_ref: String,
}

/// Which door the filing pages serve: under a mandate (`/intermediari/domanda`) or on a Contact Center call
/// (`/intermediari/chiamata/domanda`); where their form posts, what they say the filing rests on, where they lead back.
#[derive(Debug, Clone)]
pub struct Door {
    /// Where the form posts.
    pub action: &'static str,
    /// What the filing rests on, as the form says it.
    pub basis: &'static str,
    /// The link that chooses an indemnity, to which its id is appended.
    pub choose: String,
    /// Where the pages lead back to, and the words of the link.
    pub back: (String, &'static str),
}

impl Door {
    /// Filing under the office's mandate for `subject`.
    pub fn mandate(subject: CodiceFiscale) -> Self {
        Self {
            action: "/intermediari/domanda",
            basis: "Presentata in forza della delega in vigore presso questa sede: la domanda e la ricevuta al \
                    cittadino riportano la sede e il Suo codice fiscale.",
            choose: format!("/intermediari/domanda?cf={subject}&scheme="),
            back: (format!("/intermediari/cittadino?cf={subject}"), "Torna alla situazione del cittadino"),
        }
    }
}

#[derive(Template)]
#[template(path = "intermediaries/apply.html")]
struct FilingPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    door: Door,
    subject: String,
    /// The indemnities to choose from, when none is chosen yet.
    choices: Vec<Choice>,
    scheme: Option<SchemeSummary>,
    declarations: Vec<DeclarationView>,
    figures: Vec<FigureView>,
    form: ApplicationForm,
    errors: FieldErrors,
    ticked: &'static str,
}

#[derive(Template)]
#[template(path = "intermediaries/filed.html")]
struct FiledPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    door: Door,
    subject: String,
    protocol: String,
    title: String,
    outcome: &'static str,
    reasons: Vec<String>,
    /// Whether this answer is an application recorded earlier under the same form.
    again: bool,
}

/// The citizen asked for, if the office holds a mandate in force today: `None` answers the 404.
async fn under_mandate(state: &AuthState, operator: &Operator, cf: &str) -> Result<Option<CodiceFiscale>, IntermError> {
    let header = Some(&operator.header);
    let Ok(subject) = CodiceFiscale::parse(cf.trim()) else { return Ok(None) };
    match mandates::act_for(state.app.store.as_ref(), &operator.seat, subject, today(state), None).await {
        Ok(_) => Ok(Some(subject)),
        Err(e) if e.kind() == sportello_usecases::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).or_interm(header),
    }
}

/// The indemnity `id`, if in force, applied for and one the office's kind may file.
pub fn fileable<'a>(state: &'a AuthState, operator: &Operator, id: &str) -> Result<&'a Scheme, IntermError> {
    let header = Some(&operator.header);
    let scheme = state.app.decrees.scheme(id).filter(|s| s.on_application());
    let scheme = scheme.ok_or_else(|| UseCaseError::UnknownScheme(id.to_owned())).or_interm(header)?;
    mandates::may_file(&state.app.decrees, &operator.seat, scheme.id()).or_interm(header)?;
    Ok(scheme)
}

/// The form for `subject` and `scheme` at `door`: 200, or 422 with what to correct.
pub fn page(
    state: &AuthState,
    operator: &Operator,
    door: Door,
    subject: CodiceFiscale,
    scheme: &Scheme,
    form: ApplicationForm,
    errors: FieldErrors,
) -> Response {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = FilingPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(operator.header.clone()),
        door,
        subject: subject.to_string(),
        choices: Vec::new(),
        scheme: Some(SchemeSummary::new(state, scheme, Lang::It)),
        declarations: DeclarationView::of(scheme, &form, Lang::It),
        figures: FigureView::of(scheme, &form, Lang::It),
        form,
        errors,
        ticked: TICKED,
    };
    render_with(status, &page)
}

/// The indemnities the office may file for `subject` at `door`, to choose from.
pub fn choices(state: &AuthState, operator: &Operator, door: Door, subject: CodiceFiscale) -> Response {
    let decrees = &state.app.decrees;
    let choices = decrees
        .schemes()
        .filter(|s| s.on_application() && mandates::may_file(decrees, &operator.seat, s.id()).is_ok())
        .map(|s| Choice {
            id: s.id().to_owned(),
            title: s.title_it().to_owned(),
            legal_ref: crate::schemes::citation(state, s.id()),
        })
        .collect();
    let page = FilingPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(operator.header.clone()),
        door,
        subject: subject.to_string(),
        choices,
        scheme: None,
        declarations: Vec::new(),
        figures: Vec::new(),
        form: ApplicationForm::default(),
        errors: FieldErrors::default(),
        ticked: TICKED,
    };
    render_with(StatusCode::OK, &page)
}

/// A new form for `scheme`, filled with the contacts `subject` has on file.
pub async fn prefilled(
    state: &AuthState,
    operator: &Operator,
    subject: CodiceFiscale,
    scheme: &Scheme,
) -> Result<ApplicationForm, IntermError> {
    let header = Some(&operator.header);
    let person = state.app.store.person(&subject).await.or_interm(header)?;
    let (email, mobile) = person.map(|p| (p.email, p.cellulare)).unwrap_or_default();
    Ok(ApplicationForm {
        scheme: scheme.id().to_owned(),
        idempotency_key: random_hex().or_interm(header)?,
        email: email.unwrap_or_default(),
        mobile: mobile.unwrap_or_default(),
        ..ApplicationForm::default()
    })
}

/// The page answering a filing at `door`: the new application (its receipt sent to the citizen), the one recorded
/// before under the same form, or 409 when an application of the same group holds an indemnity.
pub async fn filed(
    state: &AuthState,
    operator: &Operator,
    door: Door,
    subject: CodiceFiscale,
    scheme: &Scheme,
    submitted: Submission,
) -> Response {
    let header = Some(&operator.header);
    let (application, again) = match submitted {
        Submission::Created(application) => {
            metrics::counter!(
                "sportello_applications_total",
                "scheme" => application.scheme.clone(),
                "status" => application.status.as_str(),
                "channel" => operator.seat.kind.as_str()
            )
            .increment(1);
            crate::apply::receipt::send(state, &application, Lang::It).await;
            (application, false)
        }
        Submission::Duplicate(application) => (application, true),
        Submission::AlreadyHolds(first) => {
            let (title, message) = crate::apply::handlers::already_applied(state, &first, Lang::It);
            return problem(StatusCode::CONFLICT, header, title, &message);
        }
    };
    let page = FiledPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(operator.header.clone()),
        door,
        subject: subject.to_string(),
        protocol: application.protocol.to_string(),
        title: scheme.title_it().to_owned(),
        outcome: crate::apply::receipt::outcome(application.status, Lang::It),
        reasons: application.reasons.iter().map(|r| format!("{} ({})", r.it, r.article)).collect(),
        again,
    };
    render_with(StatusCode::OK, &page)
}

/// `GET /intermediari/domanda?cf=…`: the indemnities the office may file for the citizen; with `&scheme=…`, the
/// form, filled with the contacts on file.
pub async fn form(
    State(state): State<AuthState>,
    operator: Operator,
    Query(asked): Query<Asked>,
) -> Result<Response, IntermError> {
    let header = Some(&operator.header);
    let Some(subject) = under_mandate(&state, &operator, &asked.cf).await? else { return Ok(not_found(header)) };
    if asked.scheme.is_empty() {
        return Ok(choices(&state, &operator, Door::mandate(subject), subject));
    }
    let scheme = fileable(&state, &operator, &asked.scheme)?;
    let form = prefilled(&state, &operator, subject, scheme).await?;
    Ok(page(&state, &operator, Door::mandate(subject), subject, scheme, form, FieldErrors::default()))
}

/// `POST /intermediari/domanda`: checks the form as the citizen's is checked and files it under the mandate; the
/// outcome with its protocol number, or the form again (422) with what to correct. The same form posted twice
/// answers with the same application.
pub async fn submit(
    State(state): State<AuthState>,
    operator: Operator,
    from: ClientAddr,
    Form(posted): Form<FilingForm>,
) -> Result<Response, IntermError> {
    let header = Some(&operator.header);
    if !operator.token_ok(&state, &posted.form.csrf) {
        return Ok(forbidden_form(header));
    }
    let Some(subject) = under_mandate(&state, &operator, &posted.cf).await? else { return Ok(not_found(header)) };
    let scheme = fileable(&state, &operator, &posted.form.scheme)?;
    let form = posted.form;
    let checked = form.validate_for(Lang::It, scheme).and_then(|details| Ok((form.key(Lang::It)?, details)));
    let (idempotency_key, details) = match checked {
        Ok(checked) => checked,
        Err(errors) => return Ok(page(&state, &operator, Door::mandate(subject), subject, scheme, form, errors)),
    };
    let draft = Draft { scheme: scheme.id().to_owned(), idempotency_key, details };
    let from = from.0.map(|addr| addr.ip().to_string());
    let store = state.app.store.as_ref();
    let submitted = filing::file(store, &state.app.decrees, &operator.seat, subject, draft, from, state.auth.now())
        .await
        .or_interm(header)?;
    Ok(filed(&state, &operator, Door::mandate(subject), subject, scheme, submitted).await)
}
