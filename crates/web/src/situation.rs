//! "La Sua situazione" (`GET /situazione`): the registry's decision for the logged-in citizen, indemnity by
//! indemnity, with reasons and articles, and what they may still apply for given what they already hold.
//!
//! The indemnities of DL 18/2020 cannot be combined (art. 31 c. 1): once an application holds one (accepted, held
//! for payment or suspended for the spending limit; not a rejected or annulled one), no indemnity is offered with
//! "Presenta domanda" any more, and the page says why and links the application. The JSON API's
//! `GET /api/v1/situation` reads the same [`situation_of`].

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use sportello_domain::CodiceFiscale;
use sportello_domain::law::Decision;
use sportello_store::{Application, ApplicationStatus};

use crate::auth::csrf::Binding;
use crate::auth::session::{Citizen, ClientAddr};
use crate::auth::{Auth, AuthState};
use crate::error::ServiceError;
use crate::i18n::{Lang, LangQuery};
use crate::render::{LAST_UPDATE, lang_suffix, render_with as render, unavailable};
use crate::routes::{Audience, Routes};
use crate::schemes::{legal_ref, scheme_title};
use crate::state::AppState;

/// The situation route, ready to merge into the portal's router.
pub fn routes<S: Clone + Send + Sync + 'static>(app: AppState, auth: Auth) -> Routes<S> {
    Routes::new().add(Audience::Personal, "/situazione", "GET", get(situation)).with_state(AuthState { app, auth })
}

/// What the citizen may have: the registry's decision, and the application that already holds their one indemnity.
#[derive(Debug, Clone)]
pub struct Situation {
    /// Whether the registry knows the citizen at all.
    pub in_registry: bool,
    /// The decision, indemnity by indemnity.
    pub decision: Decision,
    /// The application holding the citizen's one indemnity (art. 31), if any.
    pub holding: Option<Application>,
}

impl Situation {
    /// Whether the citizen may apply for `scheme` now: entitled to it, and holding no indemnity yet.
    pub fn may_apply(&self, scheme: &str) -> bool {
        self.holding.is_none() && self.decision.schemes.iter().any(|d| d.scheme == scheme && d.eligible)
    }
}

/// The registry's decision for the logged-in citizen and the application holding their indemnity. The access is
/// audited (`view_decision`) before anything is read out: no audit row, no decision.
pub async fn situation_of(state: &AuthState, citizen: &Citizen, from: &ClientAddr) -> Result<Situation, ServiceError> {
    let (in_registry, decision) = decision_of(state, citizen, from).await?;
    let holding = holding_of(state, &citizen.codice_fiscale).await?;
    Ok(Situation { in_registry, decision, holding })
}

/// The registry's decision for the logged-in citizen, indemnity by indemnity, and whether the registry knows them at
/// all. The access is audited (`view_decision`) before anything is read out.
pub async fn decision_of(
    state: &AuthState,
    citizen: &Citizen,
    from: &ClientAddr,
) -> Result<(bool, Decision), ServiceError> {
    let positions = state.app.store.positions(&citizen.codice_fiscale).await?;
    citizen.audit(state, "view_decision", None, from).await?;
    Ok((!positions.is_empty(), state.app.rulebook.decide(citizen.codice_fiscale, &positions)))
}

/// The application that holds the person's one indemnity (art. 31), if any: the same the store would name when
/// refusing a second one.
pub async fn holding_of(
    state: &AuthState,
    codice_fiscale: &CodiceFiscale,
) -> Result<Option<Application>, ServiceError> {
    let applications = state.app.store.applications_of(codice_fiscale).await?;
    Ok(applications.into_iter().find(|a| a.status.holds_indemnity()))
}

/// What the citizen already holds, in plain words: the first sentence names the application, the second says why
/// no other indemnity can be added.
pub fn holding_message(state: &AuthState, held: &Application, lang: Lang) -> (String, String) {
    let title = scheme_title(state, &held.scheme, lang);
    let article = legal_ref(state, &held.scheme);
    let protocol = &held.protocol;
    // Titles begin with "Indennità": "l'«Indennità …»", never "l'indennità «Indennità …»".
    let what = match (lang, held.status) {
        (Lang::It, ApplicationStatus::SuspendedBudget) => format!(
            "Con la domanda n. {protocol} Lei ha diritto all'«{title}» ({article}), che Le sarà pagata quando il \
             limite di spesa sarà aumentato."
        ),
        (Lang::It, _) => format!("Con la domanda n. {protocol} Le è stata riconosciuta l'«{title}» ({article})."),
        (Lang::En, ApplicationStatus::SuspendedBudget) => format!(
            "With application no. {protocol} you are entitled to the “{title}” ({article}), to be paid once the \
             spending limit is raised."
        ),
        (Lang::En, _) => format!("With application no. {protocol} you were granted the “{title}” ({article})."),
    };
    let not_cumulable = state.app.rulebook.not_cumulable_ref();
    let why = match lang {
        Lang::It => format!(
            "Le indennità del decreto-legge 18/2020 non sono cumulabili ({not_cumulable}): non se ne può aggiungere \
             un'altra."
        ),
        Lang::En => {
            format!("The allowances of decree-law 18/2020 cannot be combined ({not_cumulable}): no other can be added.")
        }
    };
    (what, why)
}

/// One indemnity of the decision as the page shows it.
struct SchemeView {
    id: String,
    title: String,
    legal_ref: String,
    eligible: bool,
    reasons: Vec<(String, String)>,
    /// Entitled and holding nothing yet: the card offers "Presenta domanda".
    may_apply: bool,
    /// The indemnity the citizen already holds.
    held: bool,
}

/// The application holding the citizen's indemnity, as the page shows it.
struct HeldView {
    protocol: String,
    what: String,
    why: String,
    not_cumulable_ref: String,
}

#[derive(Template)]
#[template(path = "situation.html")]
struct SituationPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    codice_fiscale: String,
    in_registry: bool,
    schemes: Vec<SchemeView>,
    held: Option<HeldView>,
    csrf: String,
}

/// `GET /situazione`: the registry's decision for the logged-in citizen, indemnity by indemnity, with reasons and
/// articles, offering to apply only where they may. Audited; private (never cached by shared caches).
pub async fn situation(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    from: ClientAddr,
    citizen: Citizen,
) -> Response {
    let lang = query.lang();
    let situation = match situation_of(&state, &citizen, &from).await {
        Ok(situation) => situation,
        Err(e) => {
            tracing::error!(error = %e, "could not decide");
            return unavailable(lang);
        }
    };
    let held_scheme = situation.holding.as_ref().map(|a| a.scheme.as_str());
    let schemes = situation
        .decision
        .schemes
        .iter()
        .map(|d| SchemeView {
            id: d.scheme.clone(),
            title: scheme_title(&state, &d.scheme, lang),
            legal_ref: legal_ref(&state, &d.scheme),
            eligible: d.eligible,
            reasons: d.reasons.iter().map(|r| (r.article.clone(), lang.pick(&r.it, &r.en).to_owned())).collect(),
            may_apply: situation.may_apply(&d.scheme),
            held: held_scheme == Some(d.scheme.as_str()),
        })
        .collect();
    let held = situation.holding.as_ref().map(|application| {
        let (what, why) = holding_message(&state, application, lang);
        let not_cumulable_ref = state.app.rulebook.not_cumulable_ref().to_owned();
        HeldView { protocol: application.protocol.clone(), what, why, not_cumulable_ref }
    });
    let page = SituationPage {
        lang,
        lang_suffix: lang_suffix(lang),
        last_update: LAST_UPDATE,
        codice_fiscale: citizen.codice_fiscale.to_string(),
        in_registry: situation.in_registry,
        schemes,
        held,
        csrf: state.auth.csrf.token(Binding::Session(&citizen.id_hash)),
    };
    render(StatusCode::OK, &page)
}
