//! The language a use case writes its messages in (a PIN's halves, the notices): the doors pass the citizen's.

/// Italian (the default) or English.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Language {
    /// Italian.
    #[default]
    It,
    /// English.
    En,
}

impl Language {
    /// `it` or `en`, whichever is in this language.
    pub fn pick<'a>(self, it: &'a str, en: &'a str) -> &'a str {
        match self {
            Language::It => it,
            Language::En => en,
        }
    }
}
