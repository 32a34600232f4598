//! The two languages of the portal: Italian by default, English on request (`?lang=en`).
//!
//! The language travels in the URL, not in a cookie or `Accept-Language`, so that a public page's cached copy is
//! keyed by its URL and one language is never served for the other.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use sportello_domain::Cents;

tokio::task_local! {
    /// The query string of the request being answered, for the language switch.
    static QUERY: String;
}

/// Middleware remembering the request's query string while it is answered, so that the language switch of any
/// page can keep the other parameters (`/domanda?scheme=art27` switches to `/domanda?scheme=art27&lang=en`).
pub async fn remember_query(request: Request, next: Next) -> Response {
    let query = request.uri().query().unwrap_or_default().to_owned();
    QUERY.scope(query, next.run(request)).await
}

/// The link switching the current page to `to`: the request's query with `lang` replaced.
pub fn switch_href(to: Lang) -> String {
    let kept = QUERY
        .try_with(|query| {
            form_urlencoded::parse(query.as_bytes())
                .filter(|(name, _)| name != "lang")
                .fold(form_urlencoded::Serializer::new(String::new()), |mut out, (name, value)| {
                    out.append_pair(&name, &value);
                    out
                })
                .append_pair("lang", to.tag())
                .finish()
        })
        .unwrap_or_else(|_| format!("lang={}", to.tag()));
    format!("?{kept}")
}

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

    /// An amount as this language writes it: `600,00 €` in Italian, `€600.00` in English.
    pub fn money(self, amount: Cents) -> String {
        match self {
            Lang::It => amount.to_italian(),
            Lang::En => amount.to_english(),
        }
    }

    /// A calendar date as every page writes it, in either language: `22/11/2026`.
    pub fn date(self, day: NaiveDate) -> String {
        day.format("%d/%m/%Y").to_string()
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

impl From<Lang> for sportello_usecases::Language {
    fn from(lang: Lang) -> Self {
        match lang {
            Lang::It => sportello_usecases::Language::It,
            Lang::En => sportello_usecases::Language::En,
        }
    }
}
