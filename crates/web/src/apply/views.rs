//! What the form and the review page show of the indemnity applied for: its summary, the declarations it asks for
//! and the amounts it asks to declare, each filled in as the citizen typed them.

use sportello_domain::law::Scheme;

use super::form::{ApplicationForm, TICKED};
use crate::auth::AuthState;
use crate::i18n::Lang;

/// What the pages show of the indemnity applied for.
pub(super) struct SchemeSummary {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) legal_ref: String,
    pub(super) amount: String,
    /// The decree granting it, e.g. "DL 18/2020".
    pub(super) decree: String,
    /// The month it is for, e.g. "marzo 2020".
    pub(super) period: String,
}

impl SchemeSummary {
    pub(super) fn new(state: &AuthState, scheme: &Scheme, lang: Lang) -> Self {
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
pub(super) struct FigureView {
    /// The input's name and id.
    pub(super) id: String,
    /// What to declare.
    pub(super) label: String,
    /// The article that asks for it.
    pub(super) legal_ref: String,
    /// As typed.
    pub(super) value: String,
}

impl FigureView {
    /// The figures `scheme` asks for, filled as in `form`.
    pub(super) fn of(scheme: &Scheme, form: &ApplicationForm, lang: Lang) -> Vec<Self> {
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
pub(super) struct DeclarationView {
    /// The checkbox's name and id.
    pub(super) id: &'static str,
    /// What the citizen declares, after "Dichiaro:".
    pub(super) text: String,
    /// The article that makes it a condition.
    pub(super) legal_ref: String,
    /// Ticked in the form as posted.
    pub(super) checked: bool,
}

impl DeclarationView {
    /// The declarations `scheme` asks for, ticked as in `form`.
    pub(super) fn of(scheme: &Scheme, form: &ApplicationForm, lang: Lang) -> Vec<Self> {
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
