//! "La Sua situazione" (`GET /situazione`): the registry's decision for the logged-in citizen, indemnity by
//! indemnity, with reasons and articles, and what they may still apply for given what they already hold.
//!
//! The page goes decree by decree and period by period (March 2020 under DL 18/2020, April and May under DL 34/2020).
//! The indemnities of one period cannot be combined (art. 31 c. 1 DL 18/2020 for March): once an application holds
//! one (accepted, held for payment or suspended for the spending limit; not a rejected or annulled one), no other of
//! that period is offered with "Presenta domanda", and the page says why and links the application. An indemnity the
//! institute pays without an application (April's, art. 84 c. 1 DL 34/2020) is never offered. The JSON API's
//! `GET /api/v1/situation` reads the same use case, `sportello_usecases::decide::viewed`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use sportello_store::{Application, ApplicationStatus};

use crate::auth::csrf::Binding;
use crate::auth::session::{Citizen, ClientAddr};
use crate::auth::{Auth, AuthState};
use crate::error::{OrPage, PageError};
use crate::i18n::{Lang, LangQuery};
use crate::render::{LAST_UPDATE, lang_suffix, render_with as render};
use crate::routes::{Audience, Routes};
use crate::schemes::{citation, scheme_title};
use crate::state::AppState;

/// The situation route, ready to merge into the portal's router.
pub fn routes<S: Clone + Send + Sync + 'static>(app: AppState, auth: Auth) -> Routes<S> {
    Routes::new().add(Audience::Personal, "/situazione", "GET", get(situation)).with_state(AuthState { app, auth })
}

pub use sportello_usecases::decide::Situation;

/// What the citizen already holds, in plain words: the first sentence names the application, the second says why
/// no other indemnity can be added.
pub fn holding_message(state: &AuthState, held: &Application, lang: Lang) -> (String, String) {
    let title = scheme_title(state, &held.scheme, lang);
    let article = citation(state, &held.scheme);
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
    let decrees = &state.app.decrees;
    let why = match (decrees.scheme(&held.scheme), decrees.rulebook_of(&held.scheme)) {
        (Some(scheme), Some(book)) => {
            let group = scheme.cumulation();
            let decree = book.decree().short();
            let alone = book.schemes().iter().filter(|s| s.cumulation() == group).count() == 1;
            match (lang, alone) {
                // A month with one indemnity: the decree grants it once.
                (Lang::It, true) => format!(
                    "L'indennità di {} spetta una sola volta ({} {decree}): non si può chiederla di nuovo.",
                    group.period_it(),
                    scheme.legal_ref()
                ),
                (Lang::En, true) => format!(
                    "The allowance for {} is granted once ({} {decree}): it cannot be asked for again.",
                    group.period_en(),
                    scheme.legal_ref()
                ),
                (Lang::It, false) => format!(
                    "Le indennità di {} ({decree}) non sono cumulabili ({}): per quel mese non se ne può aggiungere \
                     un'altra.",
                    group.period_it(),
                    group.legal_ref()
                ),
                (Lang::En, false) => format!(
                    "The allowances for {} ({decree}) cannot be combined ({}): no other can be added for that month.",
                    group.period_en(),
                    group.legal_ref()
                ),
            }
        }
        _ => String::new(),
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
    /// Entitled and holding nothing of its period yet: the card offers "Presenta domanda".
    may_apply: bool,
    /// Paid without an application: the card never offers one.
    without_application: bool,
    /// The indemnity the citizen already holds for its period.
    held: bool,
}

/// The application holding the citizen's indemnity for a period, as the page shows it.
struct HeldView {
    protocol: String,
    what: String,
    why: String,
    not_cumulable_ref: String,
}

/// One decree's indemnities for one period.
struct PeriodView {
    heading: String,
    held: Option<HeldView>,
    schemes: Vec<SchemeView>,
}

#[derive(Template)]
#[template(path = "situation.html")]
struct SituationPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    codice_fiscale: String,
    in_registry: bool,
    periods: Vec<PeriodView>,
    csrf: String,
}

/// `GET /situazione`: the registry's decision for the logged-in citizen, indemnity by indemnity, with reasons and
/// articles, offering to apply only where they may. Audited; private (never cached by shared caches).
pub async fn situation(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    from: ClientAddr,
    citizen: Citizen,
) -> Result<Response, PageError> {
    let lang = query.lang();
    let app = &state.app;
    let situation =
        sportello_usecases::decide::viewed(app.store.as_ref(), &app.decrees, &citizen.acting(&from), state.auth.now())
            .await
            .or_page(lang)?;
    let decrees = &state.app.decrees;
    let mut periods = Vec::new();
    for book in decrees.rulebooks() {
        for group in book.cumulations() {
            let holding =
                situation.holdings.iter().find(|a| decrees.scheme(&a.scheme).is_some_and(|s| s.cumulation() == group));
            let schemes = situation
                .decision
                .schemes
                .iter()
                .filter(|d| book.scheme(&d.scheme).is_some_and(|s| s.cumulation() == group))
                .map(|d| SchemeView {
                    id: d.scheme.clone(),
                    title: scheme_title(&state, &d.scheme, lang),
                    legal_ref: citation(&state, &d.scheme),
                    eligible: d.eligible,
                    reasons: d
                        .reasons
                        .iter()
                        .map(|r| (r.article.clone(), lang.pick(&r.it, &r.en).to_owned()))
                        .collect(),
                    may_apply: situation.may_apply(decrees, &d.scheme),
                    without_application: book.scheme(&d.scheme).is_some_and(|s| !s.on_application()),
                    held: holding.is_some_and(|a| a.scheme == d.scheme),
                })
                .collect();
            let held = holding.map(|application| {
                let (what, why) = holding_message(&state, application, lang);
                HeldView {
                    protocol: application.protocol.to_string(),
                    what,
                    why,
                    not_cumulable_ref: group.legal_ref().to_owned(),
                }
            });
            let period = lang.pick(group.period_it(), group.period_en());
            let heading = format!("{} · {}", crate::pages::capitalised(period), book.decree().short());
            periods.push(PeriodView { heading, held, schemes });
        }
    }
    let page = SituationPage {
        lang,
        lang_suffix: lang_suffix(lang),
        last_update: LAST_UPDATE,
        codice_fiscale: citizen.principal.subject.to_string(),
        in_registry: situation.in_registry,
        periods,
        csrf: state.auth.csrf.token(Binding::Session(&citizen.id_hash)),
    };
    Ok(render(StatusCode::OK, &page))
}
