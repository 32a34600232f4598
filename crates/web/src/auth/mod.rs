//! Logging in with the INPS PIN: asking for a PIN, logging in and out, the session behind every personal page and
//! the CSRF tokens on every form.
//!
//! `docs/SECURITY.md` ("Sessions and CSRF") explains the choices.

use std::sync::Arc;

use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use sportello_domain::clock::system_clock;

use crate::config::Config;
use crate::error::AuthError;
use crate::limits::RateLimits;
use crate::pin::PinHasher;
use crate::routes::{Audience, Routes};
use crate::state::AppState;

pub mod cns;
pub mod csrf;
pub mod device;
pub mod handlers;
pub mod login;
pub mod oidc;
pub mod session;

pub use csrf::CsrfKey;
pub use session::Citizen;

pub use sportello_domain::clock::Clock;

/// What the login pages need besides [`AppState`]: the PIN hasher, the CSRF key and the clock.
#[derive(Clone)]
pub struct Auth {
    /// Hashes and verifies PINs off the reactor.
    pub hasher: PinHasher,
    /// Signs and checks CSRF tokens.
    pub csrf: CsrfKey,
    /// The time now.
    pub clock: Clock,
    /// Rate limits on the PIN and login doors.
    pub limits: Arc<RateLimits>,
    /// PIN requests being issued in the background at once ([`ISSUING_AT_ONCE`]); a request beyond waits for a
    /// place before it is answered, whoever it names.
    pub issuing: Arc<tokio::sync::Semaphore>,
    /// The SPID/CIE door, when `[federation]` is configured.
    pub oidc: Option<Arc<oidc::Door>>,
}

/// How many PIN requests may be issued in the background at once (each waits its turn for the hasher).
pub const ISSUING_AT_ONCE: usize = 1024;

impl Auth {
    /// Sportello's Argon2id parameters, the configured CSRF key (or a random one) and the system clock.
    pub fn from_config(config: &Config) -> Result<Self, AuthError> {
        let csrf = match &config.session.csrf_key {
            Some(hex) => CsrfKey::from_hex(&hex.0)?,
            None => CsrfKey::generate()?,
        };
        let limits = Arc::new(RateLimits::new(&config.limits)?);
        let issuing = Arc::new(tokio::sync::Semaphore::new(ISSUING_AT_ONCE));
        let oidc = match &config.federation {
            Some(section) => {
                Some(Arc::new(oidc::Door::from_settings(section).map_err(|e| AuthError::Federation(e.to_string()))?))
            }
            None => None,
        };
        Ok(Auth { hasher: PinHasher::new()?, csrf, clock: system_clock(), limits, issuing, oidc })
    }

    /// The same, hashing with `hasher` (tests use cheap parameters).
    pub fn with_hasher(mut self, hasher: PinHasher) -> Self {
        self.hasher = hasher;
        self
    }

    /// The same, reading the time from `clock`.
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The same, with the SPID/CIE door `door` (tests build it around their own trust anchor).
    pub fn with_oidc(mut self, door: oidc::Door) -> Self {
        self.oidc = Some(Arc::new(door));
        self
    }

    /// The time now.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("hasher", &self.hasher).field("csrf", &self.csrf).finish_non_exhaustive()
    }
}

/// The state of the login routes: the portal's, and [`Auth`].
#[derive(Clone)]
pub struct AuthState {
    /// The portal's state.
    pub app: AppState,
    /// The login machinery.
    pub auth: Auth,
}

/// The login routes: `/pin`, `/accedi` and `/esci`, ready to merge into the portal's router.
///
/// The PIN and login forms are personal too: each carries a CSRF token of its own.
pub fn routes<S: Clone + Send + Sync + 'static>(app: AppState, auth: Auth) -> Routes<S> {
    let guard = axum::middleware::from_fn_with_state(Arc::clone(&auth.limits), crate::limits::guard);
    let federation = match auth.oidc {
        Some(_) => oidc::routes(AuthState { app: app.clone(), auth: auth.clone() }),
        None => Routes::new(),
    };
    let card = match app.config.cns {
        Some(_) => Routes::new()
            .add(Audience::Personal, cns::PATH, "GET", get(cns::login))
            .with_state(AuthState { app: app.clone(), auth: auth.clone() }),
        None => Routes::new(),
    };
    Routes::new()
        .add(
            Audience::Personal,
            "/pin",
            "GET POST",
            get(handlers::pin_form).post(handlers::pin_request).layer(guard.clone()),
        )
        .add(Audience::Personal, "/accedi", "GET POST", get(handlers::login_form).post(handlers::login).layer(guard))
        .add(Audience::Personal, "/esci", "POST", post(handlers::logout))
        .with_state(AuthState { app, auth })
        .merge(federation)
        .merge(card)
}
