//! The table of rules: each article module implementing [`Rule`] is registered once in [`RULES`] under the name a
//! scheme file's `rule = "…"` uses. Adding an article is adding a module and a line to this table.

use std::sync::Arc;

use super::art27::Art27;
use super::art28::Art28;
use super::art29::Art29;
use super::art30::Art30;
use super::art38::Art38;
use super::art84_april::Art84April;
use super::art84_cococo::Art84Cococo;
use super::art84_may::Art84May;
use super::rulebook::error::RulebookError;
use super::rulebook::values::Parameters;
use super::scheme::Rule;

/// Builds a rule from a scheme's parameters.
type Loader = fn(&mut Parameters) -> Result<Arc<dyn Rule>, RulebookError>;

/// Every rule a scheme file may name, in the order error messages list them.
pub(crate) const RULES: &[(&str, Loader)] = &[
    ("art27", |p| Ok(Arc::new(Art27::load(p)?))),
    ("art28", |p| Ok(Arc::new(Art28::load(p)?))),
    ("art29", |p| Ok(Arc::new(Art29::load(p)?))),
    ("art30", |p| Ok(Arc::new(Art30::load(p)?))),
    ("art38", |p| Ok(Arc::new(Art38::load(p)?))),
    ("art84_april", |p| Ok(Arc::new(Art84April::load(p)?))),
    ("art84_may", |p| Ok(Arc::new(Art84May::load(p)?))),
    ("art84_cococo", |p| Ok(Arc::new(Art84Cococo::load(p)?))),
];

/// The registered name `name` and its loader.
pub(crate) fn find(name: &str) -> Option<(&'static str, Loader)> {
    RULES.iter().find(|(n, _)| *n == name).copied()
}

/// The names of every rule, for error messages.
pub(crate) fn names() -> String {
    RULES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}
