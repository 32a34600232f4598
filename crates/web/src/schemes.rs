//! How the doors name an indemnity: found among the decrees in force by its id (`art27` …), its title in the
//! page's language, the article (and decree) granting it, and the month it is for. The application pages, the
//! situation page, the receipts and the API all name indemnities this way.

use sportello_domain::law::Scheme;

use crate::auth::AuthState;
use crate::i18n::Lang;

/// The indemnity named `key` (its id in the scheme file, e.g. `art27`).
pub fn find_scheme<'a>(state: &'a AuthState, key: &str) -> Option<&'a Scheme> {
    state.app.decrees.scheme(key)
}

/// The indemnity's title in `lang`, or its id if the rulebook no longer knows it.
pub fn scheme_title(state: &AuthState, id: &str, lang: Lang) -> String {
    state.app.decrees.scheme(id).map_or_else(|| id.to_owned(), |s| lang.pick(s.title_it(), s.title_en()).to_owned())
}

/// The article granting the indemnity `id` ("art. 27 c. 1"), or nothing if no decree in force knows it.
pub fn legal_ref(state: &AuthState, id: &str) -> String {
    state.app.decrees.scheme(id).map(|s| s.legal_ref().to_owned()).unwrap_or_default()
}

/// The article and decree granting the indemnity `id` ("art. 27 c. 1 DL 18/2020"), as pages and receipts cite it,
/// or nothing if no decree in force knows it.
pub fn citation(state: &AuthState, id: &str) -> String {
    let decrees = &state.app.decrees;
    match (decrees.scheme(id), decrees.rulebook_of(id)) {
        (Some(scheme), Some(book)) => format!("{} {}", scheme.legal_ref(), book.decree().short()),
        _ => String::new(),
    }
}

/// The month the indemnity `id` is for, in `lang` ("marzo 2020"), or nothing if no decree in force knows it.
pub fn period(state: &AuthState, id: &str, lang: Lang) -> String {
    state
        .app
        .decrees
        .scheme(id)
        .map(|s| lang.pick(s.cumulation().period_it(), s.cumulation().period_en()).to_owned())
        .unwrap_or_default()
}
