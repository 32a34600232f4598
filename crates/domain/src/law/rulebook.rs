//! The scheme file (`schemes/*.toml`) and the [`Rulebook`] it becomes: the decree's figures, each with its legal
//! reference, bound to the rules of the article modules.
//!
//! Loading happens in two steps: serde reads the file's shape into raw tables (unknown keys rejected, with line and
//! column), then every value is validated into domain types, and an error names the scheme and the key.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use thiserror::Error;

use super::art27::Art27;
use super::art28::Art28;
use super::art29::Art29;
use super::art30::Art30;
use super::art38::Art38;
use super::common::{Conditions, Person};
use super::declaration::{Declaration, DeclarationKind};
use super::{Decision, art31, art44};
use crate::registry::Position;
use crate::{Cents, CodiceFiscale, Date};

/// The scheme file of DL 18/2020, embedded so that the binary always has the decree at hand.
const DL18_2020: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemes/dl18-2020.toml"));

/// Why a scheme file cannot become a rulebook: what is wrong, where, and what to write instead.
#[derive(Debug, Clone, Error)]
pub enum RulebookError {
    /// Not TOML, or a table lacks a key or has one the format does not know (with line and column).
    #[error("the scheme file does not have the expected shape: {0}")]
    Toml(#[from] toml::de::Error),
    /// No `[[scheme]]` table at all.
    #[error("the scheme file defines no scheme: add at least one [[scheme]] table")]
    NoScheme,
    /// Two schemes with the same id.
    #[error("scheme '{0}' is defined twice: every [[scheme]] needs its own id")]
    DuplicateScheme(String),
    /// A scheme names a rule that no module implements.
    #[error("scheme '{scheme}': unknown rule '{rule}'; the rules are {known}")]
    UnknownRule {
        /// The scheme's id.
        scheme: String,
        /// The rule it names.
        rule: String,
        /// The rules that exist, for the message.
        known: String,
    },
    /// A rule needs a parameter the scheme does not give.
    #[error(
        "scheme '{scheme}': rule '{rule}' needs the parameter '{parameter}' ({expected}); add it under [scheme.parameters] as {parameter} = {{ value = …, ref = \"art. … c. …\" }}"
    )]
    MissingParameter {
        /// The scheme's id.
        scheme: String,
        /// The rule that needs it.
        rule: &'static str,
        /// The parameter's name.
        parameter: &'static str,
        /// What kind of value it takes.
        expected: &'static str,
    },
    /// A scheme gives a parameter or a reference its rule does not use (most often a typo).
    #[error("scheme '{scheme}': rule '{rule}' has no {what} '{name}'; it knows {known}")]
    UnknownKey {
        /// The scheme's id.
        scheme: String,
        /// The scheme's rule.
        rule: &'static str,
        /// `parameter` or `reference`.
        what: &'static str,
        /// The name found in the file.
        name: String,
        /// The names the rule knows, for the message.
        known: String,
    },
    /// A value of the wrong type or out of range.
    #[error("{at}: {reason}")]
    Invalid {
        /// Where: the scheme and the key.
        at: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
}

/// A decree's rules ready to decide: its schemes in file order, with their amounts, limits and parameters.
#[derive(Debug, Clone)]
pub struct Rulebook {
    decree: Decree,
    exclusions: Exclusions,
    own_fund: OwnFund,
    schemes: Vec<Scheme>,
}

/// The decree a scheme file encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decree {
    name: String,
    title: String,
    date: Date,
    gazette: String,
    entry_into_force: Cited<Date>,
}

/// One indemnity of the decree: who may have it is decided by its rule, how much and within which budget by its data.
#[derive(Debug, Clone)]
pub struct Scheme {
    id: String,
    title_it: String,
    title_en: String,
    who_it: String,
    who_en: String,
    legal_ref: String,
    amount: Cited<Cents>,
    taxable: bool,
    spending_limit: Cited<Cents>,
    refs: BTreeMap<String, String>,
    declarations: Vec<Declaration>,
    rule: Rule,
}

/// A value of the scheme file with the article and paragraph it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cited<T> {
    pub(crate) value: T,
    pub(crate) legal_ref: String,
}

/// Where the decree states the exclusions of art. 31.
#[derive(Debug, Clone)]
pub(crate) struct Exclusions {
    pub(crate) not_cumulable_ref: String,
    pub(crate) reddito_di_cittadinanza_ref: String,
}

/// The fund that people enrolled only in another compulsory scheme are pointed to (art. 44 for DL 18/2020).
#[derive(Debug, Clone)]
pub struct OwnFund {
    pub(crate) name_it: String,
    pub(crate) name_en: String,
    pub(crate) legal_ref: String,
    pub(crate) spending_limit: Cited<Cents>,
}

/// The code that decides a scheme, with its parameters from the file.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    Art27(Art27),
    Art28(Art28),
    Art29(Art29),
    Art30(Art30),
    Art38(Art38),
}

impl Rule {
    /// The rule names a scheme file may use.
    const NAMES: [&'static str; 5] = ["art27", "art28", "art29", "art30", "art38"];

    /// Builds the rule named in the file from the scheme's parameters.
    fn load(scheme: &str, name: &str, entries: BTreeMap<String, RawCited>) -> Result<Self, RulebookError> {
        let Some(&rule) = Self::NAMES.iter().find(|&&n| n == name) else {
            return Err(RulebookError::UnknownRule {
                scheme: scheme.to_owned(),
                rule: name.to_owned(),
                known: Self::NAMES.join(", "),
            });
        };
        let mut parameters = Parameters { scheme: scheme.to_owned(), rule, entries, known: Vec::new() };
        let loaded = match rule {
            "art27" => Self::Art27(Art27::load(&mut parameters)?),
            "art28" => Self::Art28(Art28::load(&mut parameters)?),
            "art29" => Self::Art29(Art29::load(&mut parameters)?),
            "art30" => Self::Art30(Art30::load(&mut parameters)?),
            _ => Self::Art38(Art38::load(&mut parameters)?),
        };
        parameters.finish()?;
        Ok(loaded)
    }

    /// The name the scheme file uses, which also prefixes the rule's reason codes.
    pub(crate) const fn name(&self) -> &'static str {
        match self {
            Self::Art27(_) => "art27",
            Self::Art28(_) => "art28",
            Self::Art29(_) => "art29",
            Self::Art30(_) => "art30",
            Self::Art38(_) => "art38",
        }
    }

    /// Conditions without a figure of their own, whose reference a scheme may set in `[scheme.refs]`.
    const fn conditions(&self) -> &'static [&'static str] {
        match self {
            Self::Art27(_) => Art27::CONDITIONS,
            Self::Art28(_) => Art28::CONDITIONS,
            Self::Art29(_) => Art29::CONDITIONS,
            Self::Art30(_) => Art30::CONDITIONS,
            Self::Art38(_) => Art38::CONDITIONS,
        }
    }

    fn check(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        match self {
            Self::Art27(rule) => rule.check(scheme, person),
            Self::Art28(rule) => rule.check(scheme, person),
            Self::Art29(rule) => rule.check(scheme, person),
            Self::Art30(rule) => rule.check(scheme, person),
            Self::Art38(rule) => rule.check(scheme, person),
        }
    }
}

impl Rulebook {
    /// Reads and validates a scheme file; the error says which scheme and key is wrong and why.
    pub fn from_toml(text: &str) -> Result<Self, RulebookError> {
        let raw: RawFile = toml::from_str(text)?;
        let decree = Decree {
            name: non_empty("key 'decree.name'", raw.decree.name)?,
            title: non_empty("key 'decree.title'", raw.decree.title)?,
            date: to_date(&raw.decree.date, "key 'decree.date'")?,
            gazette: non_empty("key 'decree.gazette'", raw.decree.gazette)?,
            entry_into_force: Cited {
                value: to_date(&raw.decree.entry_into_force.value, "key 'decree.entry_into_force.value'")?,
                legal_ref: non_empty("key 'decree.entry_into_force.ref'", raw.decree.entry_into_force.legal_ref)?,
            },
        };
        let exclusions = Exclusions {
            not_cumulable_ref: non_empty("key 'exclusions.not_cumulable_ref'", raw.exclusions.not_cumulable_ref)?,
            reddito_di_cittadinanza_ref: non_empty(
                "key 'exclusions.reddito_di_cittadinanza_ref'",
                raw.exclusions.reddito_di_cittadinanza_ref,
            )?,
        };
        let own_fund = OwnFund {
            name_it: non_empty("key 'own_fund.name_it'", raw.own_fund.name_it)?,
            name_en: non_empty("key 'own_fund.name_en'", raw.own_fund.name_en)?,
            legal_ref: non_empty("key 'own_fund.ref'", raw.own_fund.legal_ref)?,
            spending_limit: Cited {
                value: to_money(&raw.own_fund.spending_limit.value, "key 'own_fund.spending_limit.value'")?,
                legal_ref: non_empty("key 'own_fund.spending_limit.ref'", raw.own_fund.spending_limit.legal_ref)?,
            },
        };
        if raw.schemes.is_empty() {
            return Err(RulebookError::NoScheme);
        }
        let mut seen = HashSet::new();
        let mut schemes = Vec::with_capacity(raw.schemes.len());
        for raw_scheme in raw.schemes {
            if !seen.insert(raw_scheme.id.clone()) {
                return Err(RulebookError::DuplicateScheme(raw_scheme.id));
            }
            schemes.push(Scheme::load(raw_scheme)?);
        }
        Ok(Self { decree, exclusions, own_fund, schemes })
    }

    /// The rulebook of DL 18/2020 from the embedded `schemes/dl18-2020.toml`.
    pub fn dl18_2020() -> Self {
        // The embedded file is not input: a test proves it loads, so failing here is a build defect.
        Self::from_toml(DL18_2020).expect("schemes/dl18-2020.toml is a valid scheme file")
    }

    /// The decree this rulebook encodes.
    pub fn decree(&self) -> &Decree {
        &self.decree
    }

    /// The day pensions, employment, other schemes and reddito di cittadinanza are judged on: the entry into force.
    pub fn exclusions_date(&self) -> Date {
        self.decree.entry_into_force.value
    }

    /// Every scheme, in file order.
    pub fn schemes(&self) -> &[Scheme] {
        &self.schemes
    }

    /// The scheme with this id.
    pub fn scheme(&self, id: &str) -> Option<&Scheme> {
        self.schemes.iter().find(|s| s.id == id)
    }

    /// Where the decree says that its indemnities cannot be combined (art. 31 c. 1 for DL 18/2020): every scheme of
    /// a rulebook excludes every other, as the store enforces.
    pub fn not_cumulable_ref(&self) -> &str {
        &self.exclusions.not_cumulable_ref
    }

    /// The fund people enrolled only in another compulsory scheme are pointed to.
    pub fn own_fund(&self) -> &OwnFund {
        &self.own_fund
    }

    /// Decides every scheme for one person from their registry positions, in file order, each with its reasons.
    pub fn decide(&self, codice_fiscale: CodiceFiscale, positions: &[Position]) -> Decision {
        let person = Person::new(positions, self.exclusions_date());
        let mut schemes: Vec<_> = self
            .schemes
            .iter()
            .map(|scheme| {
                let mut conditions = scheme.rule.check(scheme, &person);
                art31::exclude_reddito_di_cittadinanza(&mut conditions, &self.exclusions, &person);
                let mut decision = conditions.into_decision(&scheme.id);
                art44::point_to_own_fund(&mut decision, &self.own_fund, &person);
                decision
            })
            .collect();
        art31::flag_not_cumulable(&mut schemes, &self.schemes, &self.exclusions);
        Decision { codice_fiscale, schemes }
    }
}

impl Decree {
    /// The decree's name, e.g. "Decreto-legge 17 marzo 2020, n. 18".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The decree's title as published.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The date of the decree.
    pub fn date(&self) -> Date {
        self.date
    }

    /// Where it was published.
    pub fn gazette(&self) -> &str {
        &self.gazette
    }

    /// The day it took force.
    pub fn entry_into_force(&self) -> Date {
        self.entry_into_force.value
    }

    /// The article that sets the entry into force.
    pub fn entry_into_force_ref(&self) -> &str {
        &self.entry_into_force.legal_ref
    }
}

impl OwnFund {
    /// The fund's name in Italian.
    pub fn name_it(&self) -> &str {
        &self.name_it
    }

    /// The fund's name in English.
    pub fn name_en(&self) -> &str {
        &self.name_en
    }

    /// Where the decree points people to it.
    pub fn legal_ref(&self) -> &str {
        &self.legal_ref
    }

    /// The total the fund may spend.
    pub fn spending_limit(&self) -> Cents {
        self.spending_limit.value
    }

    /// Where the spending limit is set.
    pub fn spending_limit_ref(&self) -> &str {
        &self.spending_limit.legal_ref
    }
}

impl Scheme {
    fn load(raw: RawScheme) -> Result<Self, RulebookError> {
        let id = non_empty("a [[scheme]]: key 'id'", raw.id)?;
        let at = |key: &str| format!("scheme '{id}', key '{key}'");
        let rule = Rule::load(&id, &raw.rule, raw.parameters)?;
        for condition in raw.refs.keys() {
            if !rule.conditions().contains(&condition.as_str()) {
                return Err(RulebookError::UnknownKey {
                    scheme: id,
                    rule: rule.name(),
                    what: "reference",
                    name: condition.clone(),
                    known: list(rule.conditions()),
                });
            }
        }
        let refs = raw
            .refs
            .into_iter()
            .map(|(k, v)| non_empty(&at(&format!("refs.{k}")), v).map(|v| (k, v)))
            .collect::<Result<_, _>>()?;
        let declarations = load_declarations(&id, raw.declarations)?;
        let amount = to_money(&raw.amount.value, &at("amount.value"))?;
        if amount == Cents::ZERO {
            return Err(invalid(at("amount.value"), "the amount is zero; write the indemnity, e.g. \"600.00\""));
        }
        Ok(Self {
            title_it: non_empty(&at("title_it"), raw.title_it)?,
            title_en: non_empty(&at("title_en"), raw.title_en)?,
            who_it: non_empty(&at("who_it"), raw.who_it)?,
            who_en: non_empty(&at("who_en"), raw.who_en)?,
            legal_ref: non_empty(&at("legal_ref"), raw.legal_ref)?,
            amount: Cited { value: amount, legal_ref: non_empty(&at("amount.ref"), raw.amount.legal_ref)? },
            taxable: raw.amount.taxable,
            spending_limit: Cited {
                value: to_money(&raw.spending_limit.value, &at("spending_limit.value"))?,
                legal_ref: non_empty(&at("spending_limit.ref"), raw.spending_limit.legal_ref)?,
            },
            refs,
            declarations,
            rule,
            id,
        })
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
        self.rule.name()
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

/// A scheme's `[scheme.parameters]`, which a rule takes one by one; what is left over is an error.
pub(crate) struct Parameters {
    scheme: String,
    rule: &'static str,
    entries: BTreeMap<String, RawCited>,
    known: Vec<&'static str>,
}

impl Parameters {
    fn take(&mut self, name: &'static str, expected: &'static str) -> Result<RawCited, RulebookError> {
        self.known.push(name);
        self.entries.remove(name).ok_or_else(|| RulebookError::MissingParameter {
            scheme: self.scheme.clone(),
            rule: self.rule,
            parameter: name,
            expected,
        })
    }

    fn at(&self, name: &str) -> String {
        format!("scheme '{}', parameter '{name}'", self.scheme)
    }

    fn cited<T>(
        &mut self,
        name: &'static str,
        expected: &'static str,
        convert: fn(&toml::Value, &str) -> Result<T, RulebookError>,
    ) -> Result<Cited<T>, RulebookError> {
        let raw = self.take(name, expected)?;
        let at = self.at(name);
        Ok(Cited {
            value: convert(&raw.value, &format!("{at}, key 'value'"))?,
            legal_ref: non_empty(&at, raw.legal_ref)?,
        })
    }

    /// A calendar date parameter.
    pub(crate) fn date(&mut self, name: &'static str) -> Result<Cited<Date>, RulebookError> {
        self.cited(name, "a date such as 2020-02-23", to_date)
    }

    /// A whole-number parameter (days, contributions).
    pub(crate) fn count(&mut self, name: &'static str) -> Result<Cited<u32>, RulebookError> {
        self.cited(name, "a whole number such as 50", to_count)
    }

    /// A calendar year parameter.
    pub(crate) fn year(&mut self, name: &'static str) -> Result<Cited<i32>, RulebookError> {
        self.cited(name, "a year such as 2019", to_year)
    }

    /// An amount of money parameter.
    pub(crate) fn money(&mut self, name: &'static str) -> Result<Cited<Cents>, RulebookError> {
        self.cited(name, "an amount as a string such as \"50000.00\"", to_money)
    }

    /// An error about a parameter's value that only the rule can judge (e.g. a window that ends before it starts).
    pub(crate) fn invalid(&self, name: &str, reason: impl Into<String>) -> RulebookError {
        invalid(self.at(name), reason)
    }

    fn finish(self) -> Result<(), RulebookError> {
        match self.entries.into_keys().next() {
            None => Ok(()),
            Some(name) => Err(RulebookError::UnknownKey {
                scheme: self.scheme,
                rule: self.rule,
                what: "parameter",
                name,
                known: if self.known.is_empty() { "no parameter".to_owned() } else { list(&self.known) },
            }),
        }
    }
}

/// A scheme's `[[scheme.declarations]]`: each a known kind, at most once, with its reference and words.
fn load_declarations(scheme: &str, raw: Vec<RawDeclaration>) -> Result<Vec<Declaration>, RulebookError> {
    let mut declarations: Vec<Declaration> = Vec::with_capacity(raw.len());
    for (i, raw) in raw.into_iter().enumerate() {
        let at = |key: &str| format!("scheme '{scheme}', declarations[{i}], key '{key}'");
        let Some(kind) = DeclarationKind::parse(&raw.id) else {
            let known: Vec<&str> = DeclarationKind::ALL.iter().map(|k| k.as_str()).collect();
            return Err(invalid(
                at("id"),
                format!("'{}' is not a declaration; the declarations are {}", raw.id, list(&known)),
            ));
        };
        if declarations.iter().any(|d| d.kind == kind) {
            return Err(invalid(at("id"), format!("'{}' is declared twice; keep one", raw.id)));
        }
        declarations.push(Declaration {
            kind,
            legal_ref: non_empty(&at("ref"), raw.legal_ref)?,
            text_it: non_empty(&at("it"), raw.it)?,
            text_en: non_empty(&at("en"), raw.en)?,
        });
    }
    Ok(declarations)
}

fn list(names: &[&str]) -> String {
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

fn invalid(at: impl Into<String>, reason: impl Into<String>) -> RulebookError {
    RulebookError::Invalid { at: at.into(), reason: reason.into() }
}

fn non_empty(at: &str, text: String) -> Result<String, RulebookError> {
    if text.trim().is_empty() {
        Err(invalid(at, "is empty; write the text or reference it stands for"))
    } else {
        Ok(text)
    }
}

fn to_date(value: &toml::Value, at: &str) -> Result<Date, RulebookError> {
    let date = match value {
        toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => Date::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day)),
            _ => None,
        },
        toml::Value::String(s) => Date::parse_from_str(s, "%Y-%m-%d").ok(),
        _ => None,
    };
    date.ok_or_else(|| invalid(at, format!("{value} is not a calendar date; write it as 2020-02-23")))
}

fn to_money(value: &toml::Value, at: &str) -> Result<Cents, RulebookError> {
    match value {
        toml::Value::String(s) if s.trim_start().starts_with('-') => {
            Err(invalid(at, format!("'{s}' is negative; amounts and spending limits are zero or more")))
        }
        toml::Value::String(s) => Cents::parse(s).map_err(|e| invalid(at, e.to_string())),
        other => Err(invalid(
            at,
            format!(
                "{other} is not a string; write amounts as strings such as \"600.00\" so they never pass through floating point"
            ),
        )),
    }
}

fn to_count(value: &toml::Value, at: &str) -> Result<u32, RulebookError> {
    value
        .as_integer()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| invalid(at, format!("{value} is not a whole number ≥ 0; write e.g. 50")))
}

fn to_year(value: &toml::Value, at: &str) -> Result<i32, RulebookError> {
    value
        .as_integer()
        .filter(|y| (1900..=2200).contains(y))
        .and_then(|y| i32::try_from(y).ok())
        .ok_or_else(|| invalid(at, format!("{value} is not a year; write e.g. 2019")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    decree: RawDecree,
    exclusions: RawExclusions,
    own_fund: RawOwnFund,
    #[serde(default, rename = "scheme")]
    schemes: Vec<RawScheme>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecree {
    name: String,
    title: String,
    date: toml::Value,
    gazette: String,
    entry_into_force: RawCited,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExclusions {
    not_cumulable_ref: String,
    reddito_di_cittadinanza_ref: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOwnFund {
    name_it: String,
    name_en: String,
    #[serde(rename = "ref")]
    legal_ref: String,
    spending_limit: RawCited,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScheme {
    id: String,
    rule: String,
    title_it: String,
    title_en: String,
    who_it: String,
    who_en: String,
    legal_ref: String,
    amount: RawAmount,
    spending_limit: RawCited,
    #[serde(default)]
    parameters: BTreeMap<String, RawCited>,
    #[serde(default)]
    refs: BTreeMap<String, String>,
    #[serde(default)]
    declarations: Vec<RawDeclaration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeclaration {
    id: String,
    #[serde(rename = "ref")]
    legal_ref: String,
    it: String,
    en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAmount {
    value: toml::Value,
    taxable: bool,
    #[serde(rename = "ref")]
    legal_ref: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCited {
    value: toml::Value,
    #[serde(rename = "ref")]
    legal_ref: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Date {
        Date::from_ymd_opt(y, m, day).unwrap()
    }

    /// The embedded file with one edit, for error cases.
    fn edited(from: &str, to: &str) -> String {
        assert!(DL18_2020.contains(from), "the scheme file no longer contains {from:?}");
        DL18_2020.replacen(from, to, 1)
    }

    fn error(text: &str) -> String {
        Rulebook::from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn the_embedded_scheme_file_loads_with_the_decree_figures() {
        let book = Rulebook::from_toml(DL18_2020).unwrap();
        assert_eq!(book.exclusions_date(), d(2020, 3, 17));
        assert_eq!(book.decree().name(), "Decreto-legge 17 marzo 2020, n. 18");
        assert_eq!(book.decree().entry_into_force_ref(), "art. 127");
        let ids: Vec<_> = book.schemes().iter().map(Scheme::id).collect();
        assert_eq!(ids, ["art27", "art28", "art29", "art30", "art38"]);
        let limits: Vec<_> =
            book.schemes().iter().map(|s| (s.spending_limit().to_string(), s.spending_limit_ref())).collect();
        assert_eq!(
            limits,
            [
                ("203400000.00".to_owned(), "art. 27 c. 2"),
                ("2160000000.00".to_owned(), "art. 28 c. 2"),
                ("103800000.00".to_owned(), "art. 29 c. 2"),
                ("396000000.00".to_owned(), "art. 30 c. 2"),
                ("48600000.00".to_owned(), "art. 38 c. 3"),
            ]
        );
        for scheme in book.schemes() {
            assert_eq!(scheme.amount(), Cents::from_euros(600));
            assert!(!scheme.taxable());
            assert_eq!(scheme.rule(), scheme.id());
        }
        assert_eq!(book.scheme("art38").unwrap().cite("employment"), "art. 38 c. 2");
        assert_eq!(book.scheme("art38").unwrap().cite("pension"), "art. 38 c. 1");
        assert!(book.scheme("art44").is_none());
        assert_eq!(book.own_fund().spending_limit(), Cents::from_euros(300_000_000));
        assert_eq!(book.own_fund().spending_limit_ref(), "art. 44 c. 1");
        let Rule::Art27(art27) = &book.scheme("art27").unwrap().rule else { panic!("art27 has rule art27") };
        assert_eq!(art27.reference_date.value, d(2020, 2, 23));
        assert_eq!(Rulebook::dl18_2020().schemes().len(), 5);
    }

    #[test]
    fn each_scheme_asks_for_the_declarations_of_its_article() {
        use DeclarationKind::{NoOtherCompulsoryScheme, NotEmployed, NotPensionHolder, NotRedditoDiCittadinanza};
        let book = Rulebook::dl18_2020();
        let asked = |id: &str| -> Vec<(DeclarationKind, &str)> {
            book.scheme(id).unwrap().declarations().iter().map(|d| (d.kind(), d.legal_ref())).collect()
        };
        let rdc = (NotRedditoDiCittadinanza, "art. 31 c. 1");
        let cases = [
            ("art27", vec![(NotPensionHolder, "art. 27 c. 1"), (NoOtherCompulsoryScheme, "art. 27 c. 1"), rdc]),
            ("art28", vec![(NotPensionHolder, "art. 28 c. 1"), (NoOtherCompulsoryScheme, "art. 28 c. 1"), rdc]),
            ("art29", vec![(NotPensionHolder, "art. 29 c. 1"), (NotEmployed, "art. 29 c. 1"), rdc]),
            ("art30", vec![(NotPensionHolder, "art. 30 c. 1"), rdc]),
            ("art38", vec![(NotPensionHolder, "art. 38 c. 1"), (NotEmployed, "art. 38 c. 2"), rdc]),
        ];
        for (scheme, expected) in cases {
            assert_eq!(asked(scheme), expected, "{scheme}");
        }
        for declaration in book.schemes().iter().flat_map(Scheme::declarations) {
            let words = format!("{} {}", declaration.text_it(), declaration.text_en()).to_lowercase();
            assert!(!words.contains("occasional"), "a compatibility rule is no condition: {words}");
        }
        assert_eq!(book.not_cumulable_ref(), "art. 31 c. 1");
    }

    #[test]
    fn an_unknown_or_repeated_declaration_is_refused() {
        let err = error(&edited("id = \"not_employed\"", "id = \"occasional_income_within_limit\""));
        assert!(
            err.starts_with("scheme 'art29', declarations[1], key 'id': 'occasional_income_within_limit' is not a declaration; the declarations are 'not_pension_holder'"),
            "{err}"
        );
        let err = error(&edited("id = \"not_employed\"", "id = \"not_pension_holder\""));
        assert_eq!(err, "scheme 'art29', declarations[1], key 'id': 'not_pension_holder' is declared twice; keep one");
    }

    #[test]
    fn dates_may_be_toml_dates_or_iso_strings() {
        let book = Rulebook::from_toml(&edited("value = 2020-02-23", "value = \"2020-02-23\"")).unwrap();
        let Rule::Art27(art27) = &book.scheme("art27").unwrap().rule else { panic!("art27 has rule art27") };
        assert_eq!(art27.reference_date.value, d(2020, 2, 23));
    }

    #[test]
    fn an_unknown_rule_is_named_with_the_known_ones() {
        assert_eq!(
            error(&edited("rule = \"art28\"", "rule = \"art99\"")),
            "scheme 'art28': unknown rule 'art99'; the rules are art27, art28, art29, art30, art38"
        );
    }

    #[test]
    fn a_missing_parameter_names_the_scheme_the_rule_and_what_to_write() {
        let err = error(&edited("min_days = { value = 50, ref = \"art. 30 c. 1\" }\n", ""));
        assert!(
            err.starts_with("scheme 'art30': rule 'art30' needs the parameter 'min_days' (a whole number such as 50)"),
            "{err}"
        );
    }

    #[test]
    fn a_misspelt_parameter_is_not_ignored() {
        let err = error(&edited(
            "[scheme.parameters]\nyear = { value = 2019, ref = \"art. 38 c. 1\" }",
            "[scheme.parameters]\nyear = { value = 2019, ref = \"art. 38 c. 1\" }\nmax_incom = { value = \"1.00\", ref = \"x\" }",
        ));
        assert_eq!(
            err,
            "scheme 'art38': rule 'art38' has no parameter 'max_incom'; it knows 'year', 'min_daily_contributions', 'max_income'"
        );
        let err = error(&edited("employment = \"art. 38 c. 2\"", "employmnt = \"art. 38 c. 2\""));
        assert_eq!(err, "scheme 'art38': rule 'art38' has no reference 'employmnt'; it knows 'pension', 'employment'");
    }

    #[test]
    fn bad_money_says_how_to_write_it() {
        assert_eq!(
            error(&edited("\"203400000.00\"", "\"-203400000.00\"")),
            "scheme 'art27', key 'spending_limit.value': '-203400000.00' is negative; amounts and spending limits are zero or more"
        );
        assert_eq!(
            error(&edited("max_income = { value = \"50000.00\"", "max_income = { value = \"50.000,00\"")),
            "scheme 'art38', parameter 'max_income', key 'value': '50.000,00' is not an amount in euros: write digits, optionally a dot and at most two decimals (50000.00)"
        );
        let err = error(&edited("amount = { value = \"600.00\"", "amount = { value = 600.0"));
        assert!(err.starts_with("scheme 'art27', key 'amount.value': 600.0 is not a string"), "{err}");
        let err = error(&edited("amount = { value = \"600.00\"", "amount = { value = \"0.00\""));
        assert!(err.starts_with("scheme 'art27', key 'amount.value': the amount is zero"), "{err}");
    }

    #[test]
    fn bad_dates_and_counts_are_named() {
        assert_eq!(
            error(&edited("value = 2020-02-23", "value = \"23/02/2020\"")),
            "scheme 'art27', parameter 'reference_date', key 'value': \"23/02/2020\" is not a calendar date; write it as 2020-02-23"
        );
        assert!(error(&edited("value = 2020-02-23", "value = 2020-02-23T10:00:00")).contains("is not a calendar date"));
        assert!(
            error(&edited("value = 50,", "value = -50,"))
                .contains("parameter 'min_days', key 'value': -50 is not a whole number")
        );
        let err = error(&edited("cessation_from = { value = 2019-01-01", "cessation_from = { value = 2020-04-01"));
        assert!(
            err.starts_with("scheme 'art29', parameter 'cessation_from': the window starts on 2020-04-01"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_and_missing_schemes_are_refused() {
        assert_eq!(
            error(&edited("id = \"art28\"", "id = \"art27\"")),
            "scheme 'art27' is defined twice: every [[scheme]] needs its own id"
        );
        let head = DL18_2020.split("[[scheme]]").next().unwrap();
        assert_eq!(error(head), "the scheme file defines no scheme: add at least one [[scheme]] table");
    }

    #[test]
    fn shape_errors_carry_the_line() {
        let err = error(&edited("title_en = \"Allowance for agricultural workers\"", "titel_en = \"x\""));
        assert!(err.contains("line ") && err.contains("titel_en"), "{err}");
        let err = error(&edited("legal_ref = \"art. 29 c. 1\"", "legal_ref = \"  \""));
        assert_eq!(err, "scheme 'art29', key 'legal_ref': is empty; write the text or reference it stands for");
    }
}
