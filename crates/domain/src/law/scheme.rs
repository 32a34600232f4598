//! One indemnity of a decree as the law modules see it: its figures with their legal references, the declarations
//! and figures its form asks for, its cumulation group, and the [`Rule`] that decides it. A leaf: the article
//! modules take it from here, and the scheme file's loader (`rulebook`) builds it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::common::{Conditions, Person};
use super::declaration::{Declaration, Figure};
use super::rulebook::values::Cited;
use crate::Cents;

/// The conditions of one article, with the parameters it read from the scheme file.
pub(crate) trait Rule: fmt::Debug + Send + Sync {
    /// Conditions without a figure of their own, whose reference a scheme may set in `[scheme.refs]`.
    fn conditions(&self) -> &'static [&'static str] {
        &[]
    }

    /// The figures the applicant declares for this rule, which the scheme must word in `[[scheme.figures]]`.
    fn figures(&self) -> &'static [&'static str] {
        &[]
    }

    /// For a scheme granted without an application: the scheme whose beneficiaries it goes to (`art27` for April's
    /// art. 84 c. 1 DL 34/2020), which the command that grants it walks through.
    fn beneficiaries_of(&self) -> Option<&str> {
        None
    }

    /// Checks every condition for one person.
    fn check(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions;
}

/// Indemnities of which a person may hold only one, for one period: DL 18/2020's five for March 2020 (art. 31 c. 1);
/// each of DL 34/2020's months is a group of its own. The store keeps at most one application per person per group
/// that holds an indemnity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cumulation {
    pub(crate) id: String,
    pub(crate) period_it: String,
    pub(crate) period_en: String,
    pub(crate) legal_ref: String,
}

/// One indemnity of the decree: who may have it is decided by its rule, how much and within which budget by its data.
#[derive(Debug, Clone)]
pub struct Scheme {
    pub(crate) id: String,
    pub(crate) decree: String,
    pub(crate) title_it: String,
    pub(crate) title_en: String,
    pub(crate) who_it: String,
    pub(crate) who_en: String,
    pub(crate) legal_ref: String,
    pub(crate) amount: Cited<Cents>,
    pub(crate) taxable: bool,
    pub(crate) spending_limit: Cited<Cents>,
    pub(crate) refs: BTreeMap<String, String>,
    pub(crate) declarations: Vec<Declaration>,
    pub(crate) figures: Vec<Figure>,
    pub(crate) on_application: bool,
    pub(crate) cumulation: Arc<Cumulation>,
    pub(crate) rule_name: &'static str,
    pub(crate) rule: Arc<dyn Rule>,
}

impl Cumulation {
    /// The group's id, stored with each application, e.g. `dl18-2020-marzo`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The period its indemnities are for, in Italian: "marzo 2020".
    pub fn period_it(&self) -> &str {
        &self.period_it
    }

    /// The period in English: "March 2020".
    pub fn period_en(&self) -> &str {
        &self.period_en
    }

    /// Where the decree says its indemnities cannot be combined, e.g. `art. 31 c. 1`.
    pub fn legal_ref(&self) -> &str {
        &self.legal_ref
    }
}

impl Scheme {
    /// For a scheme granted without an application, the scheme whose beneficiaries receive it (`art27` for April's
    /// art. 84 c. 1 DL 34/2020); `None` for one applied for.
    pub fn beneficiaries_of(&self) -> Option<&str> {
        if self.on_application { None } else { self.rule.beneficiaries_of() }
    }

    /// The id of the decree it belongs to, e.g. `dl18-2020`.
    pub fn decree_id(&self) -> &str {
        &self.decree
    }

    /// The group of indemnities it cannot be combined with, and the period it is for.
    pub fn cumulation(&self) -> &Cumulation {
        &self.cumulation
    }

    /// The amounts an application for it declares, in the file's order.
    pub fn figures(&self) -> &[Figure] {
        &self.figures
    }

    /// Whether a person applies for it (true) or the institute grants it without an application (false: art. 84
    /// c. 1 DL 34/2020 gives April to March's beneficiaries by a payment run, not by a form).
    pub fn on_application(&self) -> bool {
        self.on_application
    }

    /// The scheme's identifier, e.g. `art27`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The indemnity's title in Italian, as the decree words it.
    pub fn title_it(&self) -> &str {
        &self.title_it
    }

    /// The indemnity's title in English.
    pub fn title_en(&self) -> &str {
        &self.title_en
    }

    /// Who may have it, in plain Italian for the portal's pages.
    pub fn who_it(&self) -> &str {
        &self.who_it
    }

    /// Who may have it, in plain English.
    pub fn who_en(&self) -> &str {
        &self.who_en
    }

    /// The article and paragraph that grant the indemnity, e.g. `art. 27 c. 1`.
    pub fn legal_ref(&self) -> &str {
        &self.legal_ref
    }

    /// The name of the rule (code module) that decides it, e.g. `art27`.
    pub fn rule(&self) -> &'static str {
        self.rule_name
    }

    /// The amount of the indemnity.
    pub fn amount(&self) -> Cents {
        self.amount.value
    }

    /// Where the amount is set.
    pub fn amount_ref(&self) -> &str {
        &self.amount.legal_ref
    }

    /// Whether the indemnity counts as taxable income (DL 18/2020's do not).
    pub fn taxable(&self) -> bool {
        self.taxable
    }

    /// The total the scheme may spend.
    pub fn spending_limit(&self) -> Cents {
        self.spending_limit.value
    }

    /// Where the spending limit is set.
    pub fn spending_limit_ref(&self) -> &str {
        &self.spending_limit.legal_ref
    }

    /// The declarations an application for it carries, in the file's order.
    pub fn declarations(&self) -> &[Declaration] {
        &self.declarations
    }

    /// The reference a reason cites for a condition without a figure: `[scheme.refs]` if set, else `legal_ref`.
    pub(crate) fn cite(&self, condition: &str) -> &str {
        self.refs.get(condition).unwrap_or(&self.legal_ref)
    }
}
