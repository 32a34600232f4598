//! The portal's route table: every route is added together with the methods it answers and who its responses are
//! for, so the table can be listed. Tests walk the list to check the caching headers of every route, and a route
//! added without being listed cannot exist.

use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;

/// Who a route's responses are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The same for everyone, free of personal data: shared caches may keep it.
    Public,
    /// Personal data, or a per-visitor token: never kept by a shared cache.
    Personal,
    /// Probes for the operators' tooling (health, readiness): not cached either.
    Operations,
}

/// One listed route.
#[derive(Clone, Debug)]
pub struct Listed {
    /// The path template, as axum reads it (`/domande/{protocol}`).
    pub path: &'static str,
    /// The methods it answers; any other gets 405.
    pub methods: Vec<Method>,
    /// Who its responses are for.
    pub audience: Audience,
}

/// A router that remembers what it routes.
pub struct Routes<S = ()> {
    router: Router<S>,
    listed: Vec<Listed>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Routes { router: Router::new(), listed: Vec::new() }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// No routes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `path` to `route`, which answers `methods` (space-separated, e.g. `"GET POST"`).
    ///
    /// # Panics
    /// On a method name that is not one, which is a programming error caught by the first test that builds the
    /// router.
    pub fn add(mut self, audience: Audience, path: &'static str, methods: &str, route: MethodRouter<S>) -> Self {
        let methods = methods
            .split_whitespace()
            .map(|m| m.parse::<Method>().unwrap_or_else(|_| panic!("{path}: {m:?} is not an HTTP method")))
            .collect();
        self.router = self.router.route(path, route);
        self.listed.push(Listed { path, methods, audience });
        self
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: Routes<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.listed.extend(other.listed);
        self
    }

    /// Gives the routes their state, leaving a table that can merge into any other.
    pub fn with_state<S2: Clone + Send + Sync + 'static>(self, state: S) -> Routes<S2> {
        Routes { router: self.router.with_state(state), listed: self.listed }
    }

    /// Applies `f` to the router (layers, fallbacks), keeping the list.
    pub fn map_router<S2>(self, f: impl FnOnce(Router<S>) -> Router<S2>) -> Routes<S2> {
        Routes { router: f(self.router), listed: self.listed }
    }

    /// What is routed.
    pub fn listed(&self) -> &[Listed] {
        &self.listed
    }

    /// The router and its list.
    pub fn into_parts(self) -> (Router<S>, Vec<Listed>) {
        (self.router, self.listed)
    }
}
