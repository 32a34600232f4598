//! The two languages of the portal: Italian by default, English on request (`?lang=en`).
//!
//! The language travels in the URL, not in a cookie or `Accept-Language`, so that a public page's cached copy is
//! keyed by its URL and one language is never served for the other.

use serde::Deserialize;

/// A language of the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Italiano (the default).
    #[default]
    It,
    /// English.
    En,
}

impl Lang {
    /// The BCP 47 tag for the `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::It => Lang::En,
            Lang::En => Lang::It,
        }
    }

    /// Picks the Italian or English text.
    pub fn pick<'a>(self, it: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::It => it,
            Lang::En => en,
        }
    }
}

/// The `?lang=` query parameter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LangQuery {
    /// The language asked for; Italian when absent or not one of ours.
    #[serde(default)]
    pub lang: Option<String>,
}

impl LangQuery {
    /// The language to use.
    pub fn lang(&self) -> Lang {
        match self.lang.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::It,
        }
    }
}
