//! Who is logged in, for the header of every page: the [`crate::auth::Citizen`] extractor records the person
//! behind a request's session, and `base.html` reads them back to show their name and a logout button.
//!
//! A task-local rather than a field of every page's template: the header is the frame's, not the page's, and a page
//! that never asks who is logged in (every public page) can show nobody, so a shared cache never keeps a name.

use std::cell::RefCell;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

tokio::task_local! {
    /// The person logged in for the request being answered, once a handler has asked.
    static VIEWER: RefCell<Option<Viewer>>;
}

/// The person logged in, as the header shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// Their name as the persons import has it, or their codice fiscale when it has none.
    pub name: String,
    /// The CSRF token of the logout form, bound to their session.
    pub csrf: String,
}

/// Middleware giving each request an empty place for its [`Viewer`].
pub async fn scope(request: Request, next: Next) -> Response {
    VIEWER.scope(RefCell::new(None), next.run(request)).await
}

/// Records who is logged in for the request being answered (nothing outside [`scope`]).
pub fn set(viewer: Viewer) {
    let _ = VIEWER.try_with(|slot| *slot.borrow_mut() = Some(viewer));
}

/// Who is logged in for the request being answered, if a handler asked; `None` on public pages.
pub fn current() -> Option<Viewer> {
    VIEWER.try_with(|slot| slot.borrow().clone()).ok().flatten()
}
