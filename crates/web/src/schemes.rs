//! How the doors name an indemnity: found in the rulebook by its id (`art27` …), its title in the page's language,
//! and the article granting it. The application pages, the situation page, the receipts and the API all name
//! indemnities this way.

use sportello_domain::law::Scheme;

use crate::auth::AuthState;
use crate::i18n::Lang;

/// The indemnity named `key` (its id in the scheme file, e.g. `art27`).
pub fn find_scheme<'a>(state: &'a AuthState, key: &str) -> Option<&'a Scheme> {
    state.app.rulebook.scheme(key)
}

/// The indemnity's title in `lang`, or its id if the rulebook no longer knows it.
pub fn scheme_title(state: &AuthState, id: &str, lang: Lang) -> String {
    state.app.rulebook.scheme(id).map_or_else(|| id.to_owned(), |s| lang.pick(s.title_it(), s.title_en()).to_owned())
}

/// The article granting the indemnity `id`, or nothing if the rulebook no longer knows it.
pub fn legal_ref(state: &AuthState, id: &str) -> String {
    state.app.rulebook.scheme(id).map(|s| s.legal_ref().to_owned()).unwrap_or_default()
}
