//! The values of a scheme file, checked one by one: a rule's `[scheme.parameters]`, the declarations and figures a
//! form asks for, and the converters that turn TOML into dates, money and counts with an error naming the key.

use std::collections::BTreeMap;

use super::error::RulebookError;
use super::raw::{RawCited, RawWorded};
use crate::law::declaration::{Declaration, DeclarationKind, Figure};
use crate::{Cents, Date};

/// A scheme's `[scheme.parameters]`, which a rule takes one by one; what is left over is an error.
pub(crate) struct Parameters {
    scheme: String,
    rule: &'static str,
    entries: BTreeMap<String, RawCited>,
    known: Vec<&'static str>,
}

/// A value of the scheme file with the article and paragraph it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cited<T> {
    pub(crate) value: T,
    pub(crate) legal_ref: String,
}

impl Parameters {
    /// The parameters given to `rule` by `scheme`.
    pub(super) fn new(scheme: &str, rule: &'static str, entries: BTreeMap<String, RawCited>) -> Self {
        Self { scheme: scheme.to_owned(), rule, entries, known: Vec::new() }
    }

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

    /// A scheme id parameter (e.g. the March indemnity whose beneficiaries a later one is granted to).
    pub(crate) fn scheme_id(&mut self, name: &'static str) -> Result<Cited<String>, RulebookError> {
        self.cited(name, "a scheme id as a string such as \"art27\"", to_text)
    }

    /// An amount of money parameter.
    pub(crate) fn money(&mut self, name: &'static str) -> Result<Cited<Cents>, RulebookError> {
        self.cited(name, "an amount as a string such as \"50000.00\"", to_money)
    }

    /// An error about a parameter's value that only the rule can judge (e.g. a window that ends before it starts).
    pub(crate) fn invalid(&self, name: &str, reason: impl Into<String>) -> RulebookError {
        invalid(self.at(name), reason)
    }

    pub(super) fn finish(self) -> Result<(), RulebookError> {
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
pub(super) fn load_declarations(scheme: &str, raw: Vec<RawWorded>) -> Result<Vec<Declaration>, RulebookError> {
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

/// A scheme's `[[scheme.figures]]`: the amounts the applicant declares, each once, with its reference and words.
pub(super) fn load_figures(scheme: &str, raw: Vec<RawWorded>) -> Result<Vec<Figure>, RulebookError> {
    let mut figures: Vec<Figure> = Vec::with_capacity(raw.len());
    for (i, raw) in raw.into_iter().enumerate() {
        let at = |key: &str| format!("scheme '{scheme}', figures[{i}], key '{key}'");
        let id = non_empty(&at("id"), raw.id)?;
        if figures.iter().any(|f| f.id == id) {
            return Err(invalid(at("id"), format!("'{id}' is asked twice; keep one")));
        }
        figures.push(Figure {
            id,
            legal_ref: non_empty(&at("ref"), raw.legal_ref)?,
            text_it: non_empty(&at("it"), raw.it)?,
            text_en: non_empty(&at("en"), raw.en)?,
        });
    }
    Ok(figures)
}

pub(super) fn list(names: &[&str]) -> String {
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

pub(super) fn invalid(at: impl Into<String>, reason: impl Into<String>) -> RulebookError {
    RulebookError::Invalid { at: at.into(), reason: reason.into() }
}

pub(super) fn non_empty(at: &str, text: String) -> Result<String, RulebookError> {
    if text.trim().is_empty() {
        Err(invalid(at, "is empty; write the text or reference it stands for"))
    } else {
        Ok(text)
    }
}

pub(super) fn to_date(value: &toml::Value, at: &str) -> Result<Date, RulebookError> {
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

pub(super) fn to_money(value: &toml::Value, at: &str) -> Result<Cents, RulebookError> {
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

fn to_text(value: &toml::Value, at: &str) -> Result<String, RulebookError> {
    match value.as_str() {
        Some(text) if !text.trim().is_empty() => Ok(text.to_owned()),
        _ => Err(invalid(at, format!("{value} is not a non-empty string; write e.g. \"art27\""))),
    }
}

pub(super) fn to_count(value: &toml::Value, at: &str) -> Result<u32, RulebookError> {
    value
        .as_integer()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| invalid(at, format!("{value} is not a whole number ≥ 0; write e.g. 50")))
}

pub(super) fn to_year(value: &toml::Value, at: &str) -> Result<i32, RulebookError> {
    value
        .as_integer()
        .filter(|y| (1900..=2200).contains(y))
        .and_then(|y| i32::try_from(y).ok())
        .ok_or_else(|| invalid(at, format!("{value} is not a year; write e.g. 2019")))
}
