//! Who runs an operator's use case, until institute officers log in as an `Actor` of their own: the name the command
//! line takes (`--by`, or the account running it), checked once and recorded in audit rows and histories as it is.

use std::fmt;

/// An operator's name, never empty or only blanks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(String);

impl Operator {
    /// The operator called `name` (trimmed), or `None` when it names nobody.
    pub fn named(name: &str) -> Option<Self> {
        let name = name.trim();
        (!name.is_empty()).then(|| Self(name.to_owned()))
    }

    /// The name, as audit rows record it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Operator;

    #[test]
    fn an_operator_is_named_by_something_other_than_blanks() {
        assert_eq!(Operator::named("  rossi ").map(|o| o.to_string()), Some("rossi".to_owned()));
        assert_eq!(Operator::named(" \t"), None);
        assert_eq!(Operator::named(""), None);
    }
}
