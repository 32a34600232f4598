//! The scheme file (`schemes/*.toml`) and the [`Rulebook`] it becomes: one decree's figures, each with its legal
//! reference, bound to the rules of the article modules, and the groups of its indemnities that cannot be combined.
//!
//! Loading happens in two steps: serde reads the file's shape into raw tables (unknown keys rejected, with line and
//! column), then every value is validated into domain types, and an error names the scheme and the key.

pub(crate) mod error;
mod raw;
#[cfg(test)]
mod tests;
pub(crate) mod values;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

pub use self::error::RulebookError;
use self::raw::{RawCumulation, RawFile, RawScheme};
use self::values::{Cited, Parameters};
use self::values::{invalid, list, load_declarations, load_figures, non_empty, to_date, to_money};
use super::common::Person;
use super::declaration::Figure;
use super::exclusions::{Exclusions, OwnFund};
use super::rule;
use super::scheme::{Cumulation, Scheme};
use super::window::Window;
use super::{Decision, Facts, SchemeDecision, art31, art44};
use crate::intermediaries::IntermediaryKind;
use crate::registry::Position;
use crate::{Cents, CodiceFiscale, Date};

/// The scheme file of DL 18/2020, embedded so that the binary always has the decree at hand.
pub(crate) const DL18_2020: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemes/dl18-2020.toml"));

/// The scheme file of DL 34/2020 (art. 84: April and May 2020), embedded beside it.
pub(crate) const DL34_2020: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemes/dl34-2020.toml"));

/// A decree's rules ready to decide: its schemes in file order, with their amounts, limits and parameters.
#[derive(Debug, Clone)]
pub struct Rulebook {
    decree: Decree,
    exclusions: Exclusions,
    own_fund: Option<OwnFund>,
    cumulations: Vec<Arc<Cumulation>>,
    schemes: Vec<Scheme>,
}

/// The decree a scheme file encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decree {
    id: String,
    short: String,
    protocol_prefix: String,
    name: String,
    title: String,
    date: Date,
    gazette: String,
    entry_into_force: Cited<Date>,
    applications: Window,
    filed_by: FiledBy,
}

/// Which kinds of intermediary may file a decree's applications for citizens (`[decree] filed_by`), and the act
/// that says so. Empty: only citizens file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FiledBy {
    /// The kinds allowed.
    pub kinds: Vec<IntermediaryKind>,
    /// Where that is set; empty when nobody is allowed.
    pub legal_ref: String,
}

/// How a scheme is granted.
const GRANTED: [&str; 2] = ["on_application", "automatically"];

impl Rulebook {
    /// Reads and validates a scheme file; the error says which scheme and key is wrong and why.
    pub fn from_toml(text: &str) -> Result<Self, RulebookError> {
        let raw: RawFile = toml::from_str(text)?;
        let d = raw.decree;
        let decree = Decree {
            id: non_empty("key 'decree.id'", d.id)?,
            short: non_empty("key 'decree.short'", d.short)?,
            protocol_prefix: protocol_prefix(d.protocol_prefix)?,
            name: non_empty("key 'decree.name'", d.name)?,
            title: non_empty("key 'decree.title'", d.title)?,
            date: to_date(&d.date, "key 'decree.date'")?,
            gazette: non_empty("key 'decree.gazette'", d.gazette)?,
            entry_into_force: Cited {
                value: to_date(&d.entry_into_force.value, "key 'decree.entry_into_force.value'")?,
                legal_ref: non_empty("key 'decree.entry_into_force.ref'", d.entry_into_force.legal_ref)?,
            },
            applications: Window {
                opens: to_date(&d.applications.opens, "key 'decree.applications.opens'")?,
                closes: to_date(&d.applications.closes, "key 'decree.applications.closes'")?,
                legal_ref: non_empty("key 'decree.applications.ref'", d.applications.legal_ref)?,
            },
            filed_by: match d.filed_by {
                None => FiledBy::default(),
                Some(f) => FiledBy {
                    kinds: f
                        .kinds
                        .iter()
                        .map(|k| {
                            IntermediaryKind::parse(k).ok_or_else(|| {
                                invalid(
                                    "key 'decree.filed_by.kinds'",
                                    format!(
                                        "'{k}' is not a kind of intermediary; the kinds are {}",
                                        IntermediaryKind::names()
                                    ),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    legal_ref: non_empty("key 'decree.filed_by.ref'", f.legal_ref)?,
                },
            },
        };
        if decree.applications.closes < decree.applications.opens {
            return Err(invalid(
                "key 'decree.applications'",
                format!(
                    "closes on {} before it opens on {}; write the last day applications are taken after the first",
                    decree.applications.closes, decree.applications.opens
                ),
            ));
        }
        let exclusions = Exclusions {
            code: non_empty("key 'exclusions.code'", raw.exclusions.code)?,
            reddito_di_cittadinanza_ref: non_empty(
                "key 'exclusions.reddito_di_cittadinanza_ref'",
                raw.exclusions.reddito_di_cittadinanza_ref,
            )?,
        };
        let own_fund = match raw.own_fund {
            None => None,
            Some(f) => Some(OwnFund {
                name_it: non_empty("key 'own_fund.name_it'", f.name_it)?,
                name_en: non_empty("key 'own_fund.name_en'", f.name_en)?,
                legal_ref: non_empty("key 'own_fund.ref'", f.legal_ref)?,
                spending_limit: Cited {
                    value: to_money(&f.spending_limit.value, "key 'own_fund.spending_limit.value'")?,
                    legal_ref: non_empty("key 'own_fund.spending_limit.ref'", f.spending_limit.legal_ref)?,
                },
            }),
        };
        if raw.schemes.is_empty() {
            return Err(RulebookError::NoScheme);
        }
        let mut seen = HashSet::new();
        for raw_scheme in &raw.schemes {
            if !seen.insert(raw_scheme.id.clone()) {
                return Err(RulebookError::DuplicateScheme(raw_scheme.id.clone()));
            }
        }
        let (cumulations, group_of) = load_cumulations(raw.cumulation, &raw.schemes)?;
        let mut schemes = Vec::with_capacity(raw.schemes.len());
        for raw_scheme in raw.schemes {
            let cumulation = group_of[&raw_scheme.id].clone();
            schemes.push(load_scheme(raw_scheme, &decree.id, cumulation)?);
        }
        Ok(Self { decree, exclusions, own_fund, cumulations, schemes })
    }

    /// The rulebook of DL 18/2020 from the embedded `schemes/dl18-2020.toml`.
    pub fn dl18_2020() -> Self {
        // The embedded file is not input: a test proves it loads, so failing here is a build defect.
        Self::from_toml(DL18_2020).expect("schemes/dl18-2020.toml is a valid scheme file")
    }

    /// The rulebook of DL 34/2020 art. 84 from the embedded `schemes/dl34-2020.toml`.
    pub fn dl34_2020() -> Self {
        Self::from_toml(DL34_2020).expect("schemes/dl34-2020.toml is a valid scheme file")
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

    /// The groups of indemnities that cannot be combined, in file order.
    pub fn cumulations(&self) -> impl Iterator<Item = &Cumulation> {
        self.cumulations.iter().map(AsRef::as_ref)
    }

    /// The fund people enrolled only in another compulsory scheme are pointed to, if the decree names one.
    pub fn own_fund(&self) -> Option<&OwnFund> {
        self.own_fund.as_ref()
    }

    /// Decides every scheme for one person from their registry positions alone (nothing held, nothing declared).
    pub fn decide(&self, codice_fiscale: CodiceFiscale, positions: &[Position]) -> Decision {
        Decision { codice_fiscale, schemes: self.decide_schemes(positions, &Facts::none()) }
    }

    /// Decides every scheme for one person, in file order, each with its reasons.
    pub(crate) fn decide_schemes(&self, positions: &[Position], facts: &Facts) -> Vec<SchemeDecision> {
        let person = Person::new(positions, self.exclusions_date(), facts);
        let mut schemes: Vec<_> = self
            .schemes
            .iter()
            .map(|scheme| {
                let mut conditions = scheme.rule.check(scheme, &person);
                art31::exclude_reddito_di_cittadinanza(&mut conditions, &self.exclusions, &person);
                let mut decision = conditions.into_decision(&scheme.id);
                if let Some(fund) = &self.own_fund {
                    art44::point_to_own_fund(&mut decision, fund, &person);
                }
                decision
            })
            .collect();
        art31::flag_not_cumulable(&mut schemes, &self.schemes, &self.exclusions);
        schemes
    }
}

/// Each scheme's cumulation group, by scheme id.
type GroupOf = BTreeMap<String, Arc<Cumulation>>;

/// `[[cumulation]]`: every scheme in exactly one group; a file without the table makes all its schemes one group,
/// which only a single-scheme decree may do.
fn load_cumulations(
    raw: Vec<RawCumulation>,
    schemes: &[RawScheme],
) -> Result<(Vec<Arc<Cumulation>>, GroupOf), RulebookError> {
    let mut groups = Vec::with_capacity(raw.len());
    let mut group_of: BTreeMap<String, Arc<Cumulation>> = BTreeMap::new();
    for (i, raw) in raw.into_iter().enumerate() {
        let at = |key: &str| format!("cumulation[{i}], key '{key}'");
        let group = Arc::new(Cumulation {
            id: non_empty(&at("id"), raw.id)?,
            period_it: non_empty(&at("period_it"), raw.period_it)?,
            period_en: non_empty(&at("period_en"), raw.period_en)?,
            legal_ref: non_empty(&at("ref"), raw.legal_ref)?,
        });
        if groups.iter().any(|g: &Arc<Cumulation>| g.id == group.id) {
            return Err(invalid(at("id"), format!("group '{}' is defined twice; keep one", group.id)));
        }
        if raw.schemes.is_empty() {
            return Err(invalid(at("schemes"), "names no scheme; list the ids of the schemes it groups"));
        }
        for id in raw.schemes {
            if !schemes.iter().any(|s| s.id == id) {
                return Err(invalid(at("schemes"), format!("'{id}' is not a scheme of this file")));
            }
            if let Some(other) = group_of.insert(id.clone(), group.clone()) {
                return Err(invalid(
                    at("schemes"),
                    format!("scheme '{id}' is already in group '{}'; a scheme belongs to one group", other.id),
                ));
            }
        }
        groups.push(group);
    }
    if let Some(loose) = schemes.iter().find(|s| !group_of.contains_key(&s.id)) {
        return Err(invalid(
            format!("scheme '{}'", loose.id),
            "belongs to no [[cumulation]] group; add its id to the group of indemnities it cannot be combined with",
        ));
    }
    Ok((groups, group_of))
}

/// The prefix of protocol numbers: capital letters, digits and dashes, ending with a dash (`INPS-COVID-`).
fn protocol_prefix(text: String) -> Result<String, RulebookError> {
    let ok = text.ends_with('-')
        && text.len() <= 24
        && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(text)
    } else {
        Err(invalid(
            "key 'decree.protocol_prefix'",
            format!(
                "'{text}' is not a protocol prefix; write capital letters, digits and dashes ending with a dash, such as \"INPS-COVID-\""
            ),
        ))
    }
}

impl Decree {
    /// The decree's id in scheme files and URLs, e.g. `dl18-2020`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The decree's short name for pages and receipts, e.g. "DL 18/2020".
    pub fn short(&self) -> &str {
        &self.short
    }

    /// What protocol numbers of its applications start with, e.g. `INPS-COVID-`.
    pub fn protocol_prefix(&self) -> &str {
        &self.protocol_prefix
    }

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

    /// The days applications for its indemnities are taken.
    pub fn applications(&self) -> &Window {
        &self.applications
    }

    /// Which kinds of intermediary may file its applications for citizens.
    pub fn filed_by(&self) -> &FiledBy {
        &self.filed_by
    }

    /// Whether an intermediary of `kind` may file its applications for a citizen.
    pub fn may_be_filed_by(&self, kind: IntermediaryKind) -> bool {
        self.filed_by.kinds.contains(&kind)
    }
}

/// A `[[scheme]]` table checked into a [`Scheme`] bound to its rule.
fn load_scheme(raw: RawScheme, decree: &str, cumulation: Arc<Cumulation>) -> Result<Scheme, RulebookError> {
    let id = non_empty("a [[scheme]]: key 'id'", raw.id)?;
    let at = |key: &str| format!("scheme '{id}', key '{key}'");
    let Some((rule_name, load)) = rule::find(&raw.rule) else {
        return Err(RulebookError::UnknownRule { scheme: id, rule: raw.rule, known: rule::names() });
    };
    let mut parameters = Parameters::new(&id, rule_name, raw.parameters);
    let rule = load(&mut parameters)?;
    parameters.finish()?;
    for condition in raw.refs.keys() {
        if !rule.conditions().contains(&condition.as_str()) {
            return Err(RulebookError::UnknownKey {
                scheme: id,
                rule: rule_name,
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
    let figures = load_figures(&id, raw.figures)?;
    let asked: Vec<&str> = figures.iter().map(Figure::id).collect();
    if asked != rule.figures() {
        return Err(invalid(
            at("figures"),
            format!(
                "rule '{rule_name}' needs the figures {} in this order, the file words {}",
                if rule.figures().is_empty() { "none".to_owned() } else { list(rule.figures()) },
                if asked.is_empty() { "none".to_owned() } else { list(&asked) },
            ),
        ));
    }
    let on_application = match raw.granted.as_str() {
        "on_application" => true,
        "automatically" => false,
        other => {
            return Err(invalid(at("granted"), format!("'{other}' is not a way to grant; write {}", list(&GRANTED))));
        }
    };
    match (on_application, rule.beneficiaries_of()) {
        (false, None) => {
            return Err(invalid(
                at("granted"),
                format!(
                    "rule '{rule_name}' names no scheme whose beneficiaries receive it, so nobody could grant it automatically; write granted = \"on_application\""
                ),
            ));
        }
        (true, Some(_)) => {
            return Err(invalid(
                at("granted"),
                format!(
                    "rule '{rule_name}' grants to another scheme's beneficiaries without an application; write granted = \"automatically\""
                ),
            ));
        }
        _ => {}
    }
    let amount = to_money(&raw.amount.value, &at("amount.value"))?;
    if amount == Cents::ZERO {
        return Err(invalid(at("amount.value"), "the amount is zero; write the indemnity, e.g. \"600.00\""));
    }
    Ok(Scheme {
        decree: decree.to_owned(),
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
        figures,
        on_application,
        cumulation,
        rule_name,
        rule,
        id,
    })
}
