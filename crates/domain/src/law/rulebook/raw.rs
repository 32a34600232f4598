//! The shape of a scheme file as serde reads it: raw tables with unknown keys refused (with line and column), before
//! any value is validated.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) decree: RawDecree,
    pub(super) exclusions: RawExclusions,
    #[serde(default)]
    pub(super) own_fund: Option<RawOwnFund>,
    #[serde(default)]
    pub(super) cumulation: Vec<RawCumulation>,
    #[serde(default, rename = "scheme")]
    pub(super) schemes: Vec<RawScheme>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDecree {
    pub(super) id: String,
    pub(super) short: String,
    pub(super) protocol_prefix: String,
    pub(super) name: String,
    pub(super) title: String,
    pub(super) date: toml::Value,
    pub(super) gazette: String,
    pub(super) entry_into_force: RawCited,
    pub(super) applications: RawWindow,
    /// Absent: only the citizen files, no intermediary.
    #[serde(default)]
    pub(super) filed_by: Option<RawFiledBy>,
}

/// `[decree] filed_by`: which kinds of intermediary may file its applications for citizens, with where that is set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFiledBy {
    pub(super) kinds: Vec<String>,
    #[serde(rename = "ref")]
    pub(super) legal_ref: String,
}

/// `[decree] applications`: the first and last day applications are taken, with where they are set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    pub(super) opens: toml::Value,
    pub(super) closes: toml::Value,
    #[serde(rename = "ref")]
    pub(super) legal_ref: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExclusions {
    pub(super) code: String,
    pub(super) reddito_di_cittadinanza_ref: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOwnFund {
    pub(super) name_it: String,
    pub(super) name_en: String,
    #[serde(rename = "ref")]
    pub(super) legal_ref: String,
    pub(super) spending_limit: RawCited,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScheme {
    pub(super) id: String,
    pub(super) rule: String,
    pub(super) title_it: String,
    pub(super) title_en: String,
    pub(super) who_it: String,
    pub(super) who_en: String,
    pub(super) legal_ref: String,
    pub(super) amount: RawAmount,
    pub(super) spending_limit: RawCited,
    #[serde(default)]
    pub(super) parameters: BTreeMap<String, RawCited>,
    #[serde(default)]
    pub(super) refs: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) declarations: Vec<RawWorded>,
    #[serde(default)]
    pub(super) figures: Vec<RawWorded>,
    #[serde(default = "on_application")]
    pub(super) granted: String,
}

fn on_application() -> String {
    "on_application".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCumulation {
    pub(super) id: String,
    pub(super) period_it: String,
    pub(super) period_en: String,
    #[serde(rename = "ref")]
    pub(super) legal_ref: String,
    pub(super) schemes: Vec<String>,
}

/// A declaration or a figure a form asks for: its id, the article that asks for it, and its words in both languages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorded {
    pub(super) id: String,
    #[serde(rename = "ref")]
    pub(super) legal_ref: String,
    pub(super) it: String,
    pub(super) en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAmount {
    pub(super) value: toml::Value,
    pub(super) taxable: bool,
    #[serde(rename = "ref")]
    pub(super) legal_ref: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCited {
    pub(super) value: toml::Value,
    #[serde(rename = "ref")]
    pub(super) legal_ref: String,
}
