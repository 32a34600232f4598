//! Providers as the trust anchor vouches for them: listed by its `/list`, each one's trust chain built and
//! verified (its entity configuration, the anchor's statement about it from `/fetch`, the anchor's own
//! configuration checked with the keys the operator configured), the anchor's metadata policy applied and its
//! trust marks checked; each provider is cached until its chain's lowest `exp`.
//!
//! Only entity identifiers the anchor lists are ever fetched: a browser's parameter never becomes a URL.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::RwLock;

use crate::error::{FederationError, Refusal};
use crate::http::Transport;
use crate::jose::{self, KeySet};
use crate::policy;
use crate::statement::{EntityStatement, configuration_url};

/// The trust anchor as the operator configures it: its identifier and its federation keys, which Sportello takes
/// from the operator, never from the anchor's own answer.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    /// The anchor's entity identifier (an HTTPS URL).
    pub id: String,
    /// Its federation public keys.
    pub jwks: KeySet,
    /// Trust mark ids a provider must show, each valid (empty: none required).
    pub required_trust_marks: Vec<String>,
}

/// A provider the federation vouches for, with its metadata after the anchor's policy.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Its entity identifier (also its `issuer` for OIDC).
    pub id: String,
    /// A name to show on the login page.
    pub name: String,
    /// `openid_provider` metadata, policy applied.
    pub metadata: Map<String, Value>,
    /// Its OIDC keys (ID tokens, userinfo), from that metadata.
    pub jwks: KeySet,
    /// When the chain stops being true (the lowest `exp` in it).
    pub expires: i64,
}

impl Provider {
    /// A metadata value that must be a string (`issuer`, `token_endpoint`, …).
    pub fn endpoint(&self, name: &str) -> Result<&str, Refusal> {
        self.metadata
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| Refusal::new(format!("provider '{}' has no '{name}'", self.id)))
    }

    /// The provider's OIDC issuer.
    pub fn issuer(&self) -> &str {
        self.metadata.get("issuer").and_then(Value::as_str).unwrap_or(&self.id)
    }
}

/// The anchor's configuration, verified with the configured keys.
async fn anchor_configuration(
    http: &dyn Transport,
    anchor: &TrustAnchor,
    now: i64,
) -> Result<EntityStatement, FederationError> {
    let answer = http.get(&configuration_url(&anchor.id)).await?;
    if answer.status != 200 {
        return Err(FederationError::Unavailable(format!("trust anchor answered HTTP {}", answer.status)));
    }
    let statement = EntityStatement::verify(answer.body.trim(), &anchor.jwks, now)
        .map_err(|r| Refusal::new(format!("trust anchor's configuration: {r}")))?;
    if statement.iss != anchor.id || statement.sub != anchor.id {
        return Err(FederationError::refused("trust anchor's configuration names another entity"));
    }
    Ok(statement)
}

fn federation_endpoint(anchor: &EntityStatement, name: &str, fallback: &str) -> String {
    anchor
        .metadata_of("federation_entity")
        .and_then(|m| m.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}/{fallback}", anchor.sub.trim_end_matches('/')))
}

/// The provider identifiers the anchor lists.
pub async fn list(http: &dyn Transport, anchor: &TrustAnchor, now: i64) -> Result<Vec<String>, FederationError> {
    let configuration = anchor_configuration(http, anchor, now).await?;
    let endpoint = federation_endpoint(&configuration, "federation_list_endpoint", "list");
    let answer = http.get(&format!("{endpoint}?entity_type=openid_provider")).await?;
    if answer.status != 200 {
        return Err(FederationError::Unavailable(format!("trust anchor's list answered HTTP {}", answer.status)));
    }
    let ids: Vec<String> = serde_json::from_str(&answer.body)
        .map_err(|_| FederationError::refused("trust anchor's list is not a list of identifiers"))?;
    Ok(ids)
}

/// Builds and verifies the trust chain of `subject` up to `anchor`: the provider as the anchor vouches for it.
pub async fn resolve(
    http: &dyn Transport,
    anchor: &TrustAnchor,
    subject: &str,
    now: i64,
) -> Result<Provider, FederationError> {
    let top = anchor_configuration(http, anchor, now).await?;
    let answer = http.get(&configuration_url(subject)).await?;
    if answer.status != 200 {
        return Err(FederationError::Unavailable(format!("{subject} answered HTTP {}", answer.status)));
    }
    let leaf_token = answer.body.trim().to_owned();
    // Read first to check its links; believed only once the anchor's statement carries its keys.
    let leaf = EntityStatement::self_signed(&leaf_token, subject, now)?;
    if !leaf.authority_hints.iter().any(|h| h == &anchor.id) {
        return Err(FederationError::refused(format!("{subject} does not name the trust anchor as its superior")));
    }
    let fetch = federation_endpoint(&top, "federation_fetch_endpoint", "fetch");
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("sub", subject).finish();
    let answer = http.get(&format!("{fetch}?{query}")).await?;
    if answer.status != 200 {
        return Err(FederationError::refused(format!(
            "the trust anchor has no statement about {subject} (HTTP {})",
            answer.status
        )));
    }
    let about = EntityStatement::verify(answer.body.trim(), &anchor.jwks, now)
        .map_err(|r| Refusal::new(format!("anchor's statement about {subject}: {r}")))?;
    if about.iss != anchor.id || about.sub != subject {
        return Err(FederationError::refused(format!("anchor's statement is about '{}', not {subject}", about.sub)));
    }
    // The leaf's configuration must verify with the keys its superior vouches for.
    EntityStatement::verify(&leaf_token, &about.jwks, now)
        .map_err(|r| Refusal::new(format!("{subject}'s configuration against the anchor's keys for it: {r}")))?;
    let mut metadata = leaf
        .metadata_of("openid_provider")
        .cloned()
        .ok_or_else(|| Refusal::new(format!("{subject} is not an OpenID provider")))?;
    if let Some(policy) = about.metadata_policy.get("openid_provider").and_then(Value::as_object) {
        policy::apply(&mut metadata, policy)?;
    }
    if let Some(Value::Object(overrides)) = about.metadata.get("openid_provider") {
        metadata.extend(overrides.clone());
    }
    check_trust_marks(anchor, &top, &leaf, now)?;
    let jwks = KeySet::from_value(metadata.get("jwks").unwrap_or(&Value::Null))
        .map_err(|r| Refusal::new(format!("{subject}'s OIDC keys: {r}")))?;
    let supports_s256 = metadata
        .get("code_challenge_methods_supported")
        .and_then(Value::as_array)
        .is_some_and(|m| m.iter().any(|v| v == "S256"));
    if !supports_s256 {
        return Err(FederationError::refused(format!("{subject} does not offer PKCE S256")));
    }
    let name = leaf
        .metadata_of("federation_entity")
        .and_then(|m| m.get("organization_name"))
        .or_else(|| metadata.get("organization_name"))
        .and_then(Value::as_str)
        .unwrap_or(subject)
        .to_owned();
    let expires = top.exp.min(leaf.exp).min(about.exp);
    Ok(Provider { id: subject.to_owned(), name, metadata, jwks, expires })
}

/// Each required trust mark must be shown, issued by an issuer the anchor names for it (`trust_marks_issuers` in the
/// Italian rules, `trust_mark_issuers` in OpenID Federation 1.0 and the reference anchor: either is read), about
/// this subject, unexpired, and signed by the anchor (the issuer the profile's anchors use).
fn check_trust_marks(
    anchor: &TrustAnchor,
    top: &EntityStatement,
    leaf: &EntityStatement,
    now: i64,
) -> Result<(), Refusal> {
    let issuers = ["trust_marks_issuers", "trust_mark_issuers"]
        .into_iter()
        .find_map(|claim| top.claims.get(claim).and_then(Value::as_object));
    for required in &anchor.required_trust_marks {
        let allowed: Vec<&str> = issuers
            .and_then(|i| i.get(required))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let valid = leaf.trust_marks.iter().filter_map(|m| m.get("trust_mark").and_then(Value::as_str)).any(|token| {
            let Ok(mark) = jose::verify(token, &anchor.jwks) else { return false };
            let claim = |n: &str| mark.claims.get(n).and_then(Value::as_str).unwrap_or_default();
            let id = mark
                .claims
                .get("id")
                .or_else(|| mark.claims.get("trust_mark_id"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let unexpired = mark.claims.get("exp").and_then(Value::as_i64).is_none_or(|exp| exp > now);
            id == required && claim("sub") == leaf.sub && allowed.contains(&claim("iss")) && unexpired
        });
        if !valid {
            return Err(Refusal::new(format!("{} shows no valid trust mark '{required}'", leaf.sub)));
        }
    }
    Ok(())
}

/// The providers the anchor vouches for, each cached until its chain expires.
#[derive(Debug, Clone)]
pub struct Federation {
    http: Arc<dyn Transport>,
    anchor: TrustAnchor,
    cache: Arc<RwLock<HashMap<String, Provider>>>,
}

impl Federation {
    /// The federation under `anchor`, reached through `http`.
    pub fn new(http: Arc<dyn Transport>, anchor: TrustAnchor) -> Self {
        Self { http, anchor, cache: Arc::default() }
    }

    /// The transport, for the token and userinfo calls.
    pub fn transport(&self) -> &dyn Transport {
        self.http.as_ref()
    }

    /// Every provider the anchor lists and vouches for now; one whose chain fails is left out (and logged).
    pub async fn providers(&self, now: i64) -> Result<Vec<Provider>, FederationError> {
        let ids = list(self.http.as_ref(), &self.anchor, now).await?;
        let mut out = Vec::new();
        for id in ids {
            match self.provider_listed(&id, now).await {
                Ok(p) => out.push(p),
                Err(FederationError::Unavailable(why)) => tracing::warn!(provider = %id, %why, "provider unavailable"),
                Err(e) => tracing::warn!(provider = %id, error = %e, "provider left out"),
            }
        }
        Ok(out)
    }

    /// The provider `id`, if the anchor lists it and its chain verifies (cached until the chain's lowest `exp`).
    pub async fn provider(&self, id: &str, now: i64) -> Result<Provider, FederationError> {
        if let Some(p) = self.cached(id, now).await {
            return Ok(p);
        }
        let listed = list(self.http.as_ref(), &self.anchor, now).await?;
        if !listed.iter().any(|l| l == id) {
            return Err(FederationError::refused("a provider the trust anchor does not list"));
        }
        self.provider_listed(id, now).await
    }

    async fn cached(&self, id: &str, now: i64) -> Option<Provider> {
        self.cache.read().await.get(id).filter(|p| p.expires > now).cloned()
    }

    async fn provider_listed(&self, id: &str, now: i64) -> Result<Provider, FederationError> {
        if let Some(p) = self.cached(id, now).await {
            return Ok(p);
        }
        let provider = resolve(self.http.as_ref(), &self.anchor, id, now).await?;
        self.cache.write().await.insert(id.to_owned(), provider.clone());
        Ok(provider)
    }
}
