//! Logging in with SPID and CIE through the SPID/CIE OpenID Connect Federation (`sportello-federation` holds the
//! protocol): Sportello's entity configuration, the redirect to the chosen provider, and the callback that checks
//! what the provider signed and opens the session for the person it names.
//!
//! `docs/SECURITY.md` ("SPID and CIE by OpenID Connect Federation") says what each check refuses.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::routing::get;
use sportello_federation::chain::{Federation, TrustAnchor};
use sportello_federation::http::{Reqwest, Transport};
use sportello_federation::jose::KeySet;
use sportello_federation::keys::KeyRing;
use sportello_federation::rp::{Level, RelyingParty};
use sportello_federation::{FederationError, Refusal};

use super::AuthState;
use crate::routes::{Audience, Routes};

mod handlers;
pub mod pending;
pub mod settings;

pub use settings::FederationSection;

/// The callback's path.
pub const CALLBACK: &str = "/accedi/oidc/ritorno";
/// How long the list of providers on the login page is kept when the anchor does not answer, in seconds.
const RETRY_LIST_SECS: i64 = 30;
/// How long it is kept at most otherwise (a chain may last longer).
const KEEP_LIST_SECS: i64 = 300;

/// A provider as the login page links to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderLink {
    /// Its entity identifier (the `provider` parameter of `/accedi/spid`).
    pub id: String,
    /// Its name.
    pub name: String,
}

/// The providers shown on the login page.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// SPID's providers.
    pub spid: Vec<ProviderLink>,
    /// Whether CIE's provider is vouched for now.
    pub cie: bool,
    /// Whether the trust anchor answered last time it was asked.
    pub answered: bool,
    until: i64,
}

/// The SPID/CIE door: Sportello as a relying party and the federation it trusts.
#[derive(Debug)]
pub struct Door {
    /// Sportello as the federation knows it.
    pub rp: RelyingParty,
    /// The providers the trust anchor vouches for.
    pub federation: Federation,
    /// CIE's provider among them.
    pub cie: Option<String>,
    /// The SPID level asked for.
    pub level: Level,
    links: RwLock<Links>,
}

impl Door {
    /// The door for `rp` trusting `federation`.
    pub fn new(rp: RelyingParty, federation: Federation, cie: Option<String>, level: Level) -> Self {
        Self { rp, federation, cie, level, links: RwLock::default() }
    }

    /// The door `[federation]` describes: keys read from their folder, the anchor's keys from their file.
    pub fn from_settings(section: &FederationSection) -> Result<Self, FederationError> {
        let keys = KeyRing::load(&section.keys_dir)?;
        let read = |path: &std::path::Path| {
            std::fs::read_to_string(path).map_err(|e| FederationError::Config(format!("{}: {e}", path.display())))
        };
        let anchor_jwks: serde_json::Value = serde_json::from_str(&read(&section.trust_anchor_jwks)?)
            .map_err(|e| FederationError::Config(format!("{}: {e}", section.trust_anchor_jwks.display())))?;
        let jwks = KeySet::from_value(&anchor_jwks)
            .map_err(|r| FederationError::Config(format!("{}: {r}", section.trust_anchor_jwks.display())))?;
        let trust_marks = match &section.trust_marks_file {
            Some(path) => serde_json::from_str(&read(path)?)
                .map_err(|e| FederationError::Config(format!("{}: {e}", path.display())))?,
            None => Vec::new(),
        };
        let level = match section.spid_level {
            2 => Level::L2,
            3 => Level::L3,
            other => return Err(FederationError::Config(format!("federation.spid_level is 2 or 3, not {other}"))),
        };
        let client_id = section.client_id.trim_end_matches('/').to_owned();
        let rp = RelyingParty {
            redirect_uri: format!("{client_id}{CALLBACK}"),
            client_id,
            keys,
            authority_hints: vec![section.trust_anchor.clone()],
            trust_marks,
            organization_name: section.organization_name.clone(),
            contacts: section.contacts.clone(),
        };
        let anchor = TrustAnchor {
            id: section.trust_anchor.clone(),
            jwks,
            required_trust_marks: section.required_trust_marks.clone(),
        };
        let http: Arc<dyn Transport> = Arc::new(Reqwest::new(Duration::from_secs(section.timeout_secs))?);
        Ok(Self::new(rp, Federation::new(http, anchor), section.cie_provider.clone(), level))
    }

    /// The providers to show, asking the anchor again when the last list has run out.
    pub async fn links(&self, now: i64) -> Links {
        if let Ok(links) = self.links.read()
            && links.until > now
        {
            return links.clone();
        }
        let links = match self.federation.providers(now).await {
            Ok(providers) => {
                let until = providers.iter().map(|p| p.expires).min().unwrap_or(now).min(now + KEEP_LIST_SECS);
                let cie = providers.iter().any(|p| Some(&p.id) == self.cie.as_ref());
                let mut spid: Vec<ProviderLink> = providers
                    .into_iter()
                    .filter(|p| Some(&p.id) != self.cie.as_ref())
                    .map(|p| ProviderLink { id: p.id, name: p.name })
                    .collect();
                spid.sort_by(|a, b| a.name.cmp(&b.name));
                Links { spid, cie, answered: true, until }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the trust anchor's providers could not be listed");
                Links { until: now + RETRY_LIST_SECS, ..Links::default() }
            }
        };
        if let Ok(mut cached) = self.links.write() {
            *cached = links.clone();
        }
        links
    }

    /// The providers as last listed, without asking the anchor (for pages rendered after a refused PIN).
    pub fn cached_links(&self) -> Links {
        self.links.read().map(|l| l.clone()).unwrap_or_default()
    }

    /// Whether `provider` is CIE's.
    pub fn is_cie(&self, provider: &str) -> bool {
        self.cie.as_deref() == Some(provider)
    }
}

/// Why a login by SPID or CIE did not open a session.
#[derive(Debug)]
pub enum Failed {
    /// The provider or the anchor did not answer: 503, try again.
    Unavailable(String),
    /// Something was not believed (logged with its reason).
    Refused(Refusal),
    /// The browser came back without a pending login, or with another `state`.
    NoPendingLogin,
    /// The citizen stopped at the provider, or the provider said no (its error code).
    AtProvider(String),
}

impl From<FederationError> for Failed {
    fn from(e: FederationError) -> Self {
        match e {
            FederationError::Unavailable(why) => Self::Unavailable(why),
            FederationError::Refused(r) => Self::Refused(r),
            FederationError::Config(why) => Self::Refused(Refusal::new(format!("Sportello's configuration: {why}"))),
        }
    }
}

/// The SPID/CIE routes, when `[federation]` is configured.
pub fn routes<S: Clone + Send + Sync + 'static>(state: AuthState) -> Routes<S> {
    Routes::new()
        .add(Audience::Public, "/.well-known/openid-federation", "GET", get(handlers::entity_configuration))
        .add(Audience::Personal, "/accedi/spid", "GET", get(handlers::start_spid))
        .add(Audience::Personal, "/accedi/cie", "GET", get(handlers::start_cie))
        .add(Audience::Personal, "/intermediari/accedi/spid", "GET", get(handlers::start_spid_operator))
        .add(Audience::Personal, "/intermediari/accedi/cie", "GET", get(handlers::start_cie_operator))
        .add(Audience::Personal, "/ufficio/accedi/spid", "GET", get(handlers::start_spid_office))
        .add(Audience::Personal, "/ufficio/accedi/cie", "GET", get(handlers::start_cie_office))
        .add(Audience::Personal, CALLBACK, "GET", get(handlers::callback))
        .with_state(state)
}
