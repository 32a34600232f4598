//! What can be wrong with a scheme file, said so that its author can fix it.

use thiserror::Error;

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
