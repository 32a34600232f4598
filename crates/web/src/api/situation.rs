//! What the law says: the five indemnities for everyone (`GET /api/v1/schemes`, public) and the registry's
//! decision for the logged-in citizen (`GET /api/v1/situation`, personal and audited).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sportello_domain::law;
use sportello_usecases::decide;
use utoipa::ToSchema;

use super::problem::{ApiLang, FirstApplication, OrProblem};
use super::sessions::Bearer;
use crate::auth::AuthState;
use crate::auth::session::ClientAddr;
use crate::i18n::Lang;
use crate::schemes::{legal_ref, scheme_title};
use crate::security;

/// How long shared caches may keep the list of indemnities (seconds), as the public pages.
const SCHEMES_MAX_AGE: u32 = 300;

/// An amount of money.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Amount {
    /// Whole euro cents: money never travels as a floating-point number.
    #[schema(example = 60000)]
    pub cents: i64,
    /// Always `EUR`.
    #[schema(example = "EUR")]
    pub currency: &'static str,
}

/// One indemnity of DL 18/2020.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Scheme {
    /// Its identifier, to apply for it (`art27` …).
    #[schema(example = "art27")]
    pub id: String,
    /// Its title, in the client's language.
    pub title: String,
    /// Who may have it, in plain words.
    pub who: String,
    /// The article granting it.
    #[schema(example = "art. 27 c. 1")]
    pub legal_ref: String,
    /// How much it pays.
    pub amount: Amount,
    /// What an application for it declares (DPR 445/2000 arts. 46–47): each must be `true` in
    /// `ApplicationRequest.declarations`.
    pub declarations: Vec<DeclarationAsked>,
    /// The decree granting it.
    #[schema(example = "DL 18/2020")]
    pub decree: String,
    /// The month it is for, in the client's language.
    #[schema(example = "marzo 2020")]
    pub period: String,
    /// Whether it is applied for; `false`: the institute pays it without an application (April 2020, art. 84 c. 1
    /// DL 34/2020) and `POST /api/v1/applications` refuses it.
    pub on_application: bool,
    /// Amounts an application for it declares in `ApplicationRequest.figures`, in euros.
    pub figures: Vec<FigureAsked>,
}

/// A declaration an indemnity asks for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeclarationAsked {
    /// Its name in `ApplicationRequest.declarations`.
    #[schema(example = "not_pension_holder")]
    pub id: &'static str,
    /// The article that makes it a condition.
    #[schema(example = "art. 27 c. 1")]
    pub legal_ref: String,
    /// What the applicant declares, in the client's language (in Italian after "Dichiaro:", in English after
    /// "I declare:").
    pub text: String,
}

/// An amount the applicant declares for an indemnity, in euros (`figures` of an application).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FigureAsked {
    /// Its key in an application's `figures`.
    #[schema(example = "income_2019_bimester_2")]
    pub id: String,
    /// The article that asks for it.
    #[schema(example = "art. 84 c. 2")]
    pub legal_ref: String,
    /// What to declare, in the client's language.
    pub text: String,
}

/// The indemnities, in the decree's order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Schemes {
    /// One entry per indemnity.
    pub schemes: Vec<Scheme>,
}

/// `GET /api/v1/schemes`: the indemnities of every decree in force. The same for everyone, so shared caches may keep it; its language
/// follows `?lang=` or else `Accept-Language`, which the answer therefore varies on.
#[utoipa::path(
    get,
    path = "/api/v1/schemes",
    tag = "law",
    operation_id = "list_schemes",
    summary = "The indemnities",
    description = "The indemnities of every decree in force (DL 18/2020 for March, DL 34/2020 for April and May): who \
        may have them, the article granting each, the amount, whether it is applied for. \
        The same for everyone: shared caches may keep it (it varies by language).",
    responses((status = 200, description = "The indemnities, cacheable by shared caches.", body = Schemes)),
)]
pub async fn schemes(ApiLang(lang): ApiLang, State(state): State<AuthState>) -> Response {
    let decrees = &state.app.decrees;
    let schemes = decrees
        .schemes()
        .map(|s| Scheme {
            decree: decrees.rulebook_of(s.id()).map(|b| b.decree().short().to_owned()).unwrap_or_default(),
            period: lang.pick(s.cumulation().period_it(), s.cumulation().period_en()).to_owned(),
            on_application: s.on_application(),
            figures: s
                .figures()
                .iter()
                .map(|f| FigureAsked {
                    id: f.id().to_owned(),
                    legal_ref: f.legal_ref().to_owned(),
                    text: lang.pick(f.text_it(), f.text_en()).to_owned(),
                })
                .collect(),
            id: s.id().to_owned(),
            title: lang.pick(s.title_it(), s.title_en()).to_owned(),
            who: lang.pick(s.who_it(), s.who_en()).to_owned(),
            legal_ref: s.legal_ref().to_owned(),
            amount: Amount { cents: s.amount().get(), currency: "EUR" },
            declarations: s
                .declarations()
                .iter()
                .map(|d| DeclarationAsked {
                    id: d.kind().as_str(),
                    legal_ref: d.legal_ref().to_owned(),
                    text: lang.pick(d.text_it(), d.text_en()).to_owned(),
                })
                .collect(),
        })
        .collect();
    let mut response = security::public(SCHEMES_MAX_AGE, Json(Schemes { schemes }));
    response.headers_mut().append(header::VARY, HeaderValue::from_static("Accept-Language"));
    response
}

/// One reason of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Reason {
    /// A stable code that programs can rely on.
    #[schema(example = "art27.active_on_reference_date")]
    pub code: String,
    /// The article and paragraph it rests on.
    #[schema(example = "art. 27 c. 1")]
    pub article: String,
    /// The reason, in the client's language.
    pub text: String,
}

impl Reason {
    /// `reason` in `lang`.
    pub fn new(reason: law::Reason, lang: Lang) -> Self {
        let text = lang.pick(&reason.it, &reason.en).to_owned();
        Reason { code: reason.code, article: reason.article, text }
    }
}

/// The decision for one indemnity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SchemeDecision {
    /// The indemnity's identifier.
    #[schema(example = "art27")]
    pub scheme: String,
    /// Its title, in the client's language.
    pub title: String,
    /// The article granting it.
    pub legal_ref: String,
    /// Whether the citizen is entitled to it.
    pub eligible: bool,
    /// Whether the citizen may apply for it now: applied for (not paid without application), entitled, and holding
    /// no indemnity of its month yet (art. 31 DL 18/2020 for March).
    pub may_apply: bool,
    /// The decree granting it.
    #[schema(example = "DL 18/2020")]
    pub decree: String,
    /// The month it is for, in the client's language.
    #[schema(example = "marzo 2020")]
    pub period: String,
    /// Why: the conditions met (when entitled) or failed (when not), each citing its article.
    pub reasons: Vec<Reason>,
}

/// The registry's decision for the logged-in citizen.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Situation {
    /// Whose situation it is.
    #[schema(example = "BNCLGU75C12F205Q")]
    pub codice_fiscale: String,
    /// Whether the registry knows the citizen at all.
    pub in_registry: bool,
    /// One decision per indemnity, in the decree's order.
    pub schemes: Vec<SchemeDecision>,
    /// The first application that holds an indemnity (kept for clients of the March-only version; read
    /// `holdings`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holding: Option<FirstApplication>,
    /// Every application holding an indemnity, at most one per month: while one holds a month's indemnity, another
    /// application for that month is refused with 409 (art. 31 DL 18/2020 for March).
    pub holdings: Vec<FirstApplication>,
}

/// `GET /api/v1/situation`: the API twin of `GET /situazione`, audited the same way (`view_decision`).
#[utoipa::path(
    get,
    path = "/api/v1/situation",
    tag = "law",
    operation_id = "read_situation",
    summary = "The decision for the logged-in citizen",
    description = "What the registry entitles the logged-in citizen to, indemnity by indemnity, with the reasons and \
        the articles they rest on, and whether they may apply for each now (not once an application holds their \
        one indemnity, art. 31). Each reading is recorded in the audit log.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The decision, indemnity by indemnity, with reasons and articles.",
            body = Situation),
        (status = 401, response = super::responses::Unauthorized),
    )
)]
pub async fn situation(
    ApiLang(lang): ApiLang,
    State(state): State<AuthState>,
    from: ClientAddr,
    Bearer(citizen): Bearer,
) -> Response {
    let app = &state.app;
    let viewed = decide::viewed(app.store.as_ref(), &app.decrees, &citizen.acting(&from), state.auth.now()).await;
    let situation = match viewed.or_problem(lang) {
        Ok(situation) => situation,
        Err(problem) => return problem.into_response(),
    };
    let decrees = &state.app.decrees;
    let schemes = situation
        .decision
        .schemes
        .iter()
        .map(|d| SchemeDecision {
            decree: decrees.rulebook_of(&d.scheme).map(|b| b.decree().short().to_owned()).unwrap_or_default(),
            period: decrees
                .scheme(&d.scheme)
                .map(|s| lang.pick(s.cumulation().period_it(), s.cumulation().period_en()).to_owned())
                .unwrap_or_default(),
            title: scheme_title(&state, &d.scheme, lang),
            legal_ref: legal_ref(&state, &d.scheme),
            eligible: d.eligible,
            may_apply: situation.may_apply(decrees, &d.scheme),
            reasons: d.reasons.iter().cloned().map(|r| Reason::new(r, lang)).collect(),
            scheme: d.scheme.clone(),
        })
        .collect();
    let holdings: Vec<FirstApplication> = situation
        .holdings
        .into_iter()
        .map(|a| FirstApplication {
            title: scheme_title(&state, &a.scheme, lang),
            protocol: a.protocol.to_string(),
            scheme: a.scheme,
        })
        .collect();
    let holding = holdings.first().cloned();
    let in_registry = situation.in_registry;
    Json(Situation { codice_fiscale: citizen.principal.subject.to_string(), in_registry, schemes, holding, holdings })
        .into_response()
}
