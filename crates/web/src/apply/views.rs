//! What the form and the review page show of the indemnity applied for: its summary, the declarations it asks for
//! and the amounts it asks to declare, each filled in as the citizen typed them.

use sportello_domain::law::Scheme;

use super::form::{ApplicationForm, TICKED};
use crate::auth::AuthState;
use crate::i18n::Lang;

/// What the pages show of the indemnity applied for.
pub(crate) struct SchemeSummary {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) legal_ref: String,
    pub(crate) amount: String,
    /// The decree granting it, e.g. "DL 18/2020".
    pub(crate) decree: String,
    /// The month it is for, e.g. "marzo 2020".
    pub(crate) period: String,
}

impl SchemeSummary {
    pub(crate) fn new(state: &AuthState, scheme: &Scheme, lang: Lang) -> Self {
        let decree = state.app.decrees.rulebook_of(scheme.id()).map(|b| b.decree().short().to_owned());
        let group = scheme.cumulation();
        SchemeSummary {
            id: scheme.id().to_owned(),
            title: lang.pick(scheme.title_it(), scheme.title_en()).to_owned(),
            legal_ref: scheme.legal_ref().to_owned(),
            amount: lang.money(scheme.amount()),
            decree: decree.unwrap_or_default(),
            period: lang.pick(group.period_it(), group.period_en()).to_owned(),
        }
    }
}

/// One amount the indemnity asks the applicant to declare, as the form and the review show it.
pub(crate) struct FigureView {
    /// The input's name and id.
    pub(crate) id: String,
    /// What to declare.
    pub(crate) label: String,
    /// The article that asks for it.
    pub(crate) legal_ref: String,
    /// As typed.
    pub(crate) value: String,
}

impl FigureView {
    /// The figures `scheme` asks for, filled as in `form`.
    pub(crate) fn of(scheme: &Scheme, form: &ApplicationForm, lang: Lang) -> Vec<Self> {
        scheme
            .figures()
            .iter()
            .map(|f| FigureView {
                id: f.id().to_owned(),
                label: lang.pick(f.text_it(), f.text_en()).to_owned(),
                legal_ref: f.legal_ref().to_owned(),
                value: form.figure(f.id()).trim().to_owned(),
            })
            .collect()
    }
}

/// One declaration the indemnity asks for, as the form and the review show it.
pub(crate) struct DeclarationView {
    /// The checkbox's name and id.
    pub(crate) id: &'static str,
    /// What the citizen declares, after "Dichiaro:".
    pub(crate) text: String,
    /// The article that makes it a condition.
    pub(crate) legal_ref: String,
    /// Ticked in the form as posted.
    pub(crate) checked: bool,
}

impl DeclarationView {
    /// The declarations `scheme` asks for, ticked as in `form`.
    pub(crate) fn of(scheme: &Scheme, form: &ApplicationForm, lang: Lang) -> Vec<Self> {
        scheme
            .declarations()
            .iter()
            .map(|d| DeclarationView {
                id: d.kind().as_str(),
                text: lang.pick(d.text_it(), d.text_en()).to_owned(),
                legal_ref: d.legal_ref().to_owned(),
                checked: form.ticked(d.kind()) == TICKED,
            })
            .collect()
    }
}
