//! Sportello as a relying party: its entity configuration, the signed authorization request (PKCE S256, `state`,
//! `nonce`, `acr_values`, `claims`), the token call with `private_key_jwt`, the ID token's checks, the userinfo
//! JWE's, the fiscal number, and revocation at logout.

use serde_json::{Map, Value, json};
use sportello_domain::CodiceFiscale;

use crate::chain::Provider;
use crate::error::{FederationError, Refusal};
use crate::http::Transport;
use crate::jose::{self, Verified};
use crate::keys::KeyRing;
use crate::statement::SKEW_SECS;

/// The claim carrying the fiscal number ("TINIT-" and the codice fiscale).
pub const FISCAL_NUMBER: &str = "https://attributes.eid.gov.it/fiscal_number";
/// The name the same claim had in earlier SPID attribute lists, still accepted.
pub const FISCAL_NUMBER_SPID: &str = "https://attributes.spid.gov.it/fiscal_number";
/// How long an entity configuration, a request object and a client assertion live, in seconds.
pub const CONFIGURATION_LIFETIME: i64 = 86_400;
const REQUEST_LIFETIME: i64 = 600;

/// A level of assurance, as `acr` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Level {
    /// SPID level 1: a password. Never enough for Sportello.
    L1,
    /// Level 2: a password and a second factor.
    L2,
    /// Level 3: a qualified device.
    L3,
}

impl Level {
    /// The `acr` URI.
    pub const fn acr(self) -> &'static str {
        match self {
            Self::L1 => "https://www.spid.gov.it/SpidL1",
            Self::L2 => "https://www.spid.gov.it/SpidL2",
            Self::L3 => "https://www.spid.gov.it/SpidL3",
        }
    }

    /// The level an `acr` names, if any.
    pub fn from_acr(acr: &str) -> Option<Self> {
        [Self::L1, Self::L2, Self::L3].into_iter().find(|l| l.acr() == acr)
    }
}

/// Sportello as the federation knows it.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    /// Its entity identifier and `client_id` (an HTTPS URL).
    pub client_id: String,
    /// Where providers send the browser back.
    pub redirect_uri: String,
    /// Its keys.
    pub keys: KeyRing,
    /// Its superiors (the trust anchor, or an aggregator).
    pub authority_hints: Vec<String>,
    /// Trust marks issued to it, as `{"id": …, "trust_mark": JWT}`.
    pub trust_marks: Vec<Value>,
    /// The organisation's name.
    pub organization_name: String,
    /// Contacts for the federation's operators.
    pub contacts: Vec<String>,
}

/// What the browser's pending login must remember until the callback (the door keeps it in a signed cookie).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    /// The provider the login went to.
    pub provider: String,
    /// The `state` sent.
    pub state: String,
    /// The `nonce` sent.
    pub nonce: String,
    /// The PKCE verifier.
    pub verifier: String,
    /// The level asked for.
    pub level: Level,
    /// When it was started (UNIX seconds).
    pub started: i64,
}

/// The tokens a provider answered with.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// The access token (for userinfo and revocation).
    pub access_token: String,
    /// The ID token, checked.
    pub id_token: IdToken,
}

/// What a checked ID token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdToken {
    /// The provider's pairwise subject.
    pub sub: String,
    /// The level the provider authenticated at.
    pub level: Level,
}

/// The person a provider vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Their codice fiscale, from `TINIT-…`.
    pub codice_fiscale: CodiceFiscale,
    /// Given name, if released.
    pub given_name: Option<String>,
    /// Family name, if released.
    pub family_name: Option<String>,
}

impl RelyingParty {
    /// The signed entity configuration served at `/.well-known/openid-federation`.
    pub fn entity_configuration(&self, now: i64) -> Result<String, FederationError> {
        let rp = json!({
            "client_id": self.client_id,
            "client_registration_types": ["automatic"],
            "application_type": "web",
            "client_name": self.organization_name,
            "contacts": self.contacts,
            "redirect_uris": [self.redirect_uri],
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "private_key_jwt",
            "id_token_signed_response_alg": "RS256",
            "userinfo_signed_response_alg": "RS256",
            "userinfo_encrypted_response_alg": "RSA-OAEP",
            "userinfo_encrypted_response_enc": "A128CBC-HS256",
            "jwks": self.oidc_jwks()?,
        });
        let claims = json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "iat": now,
            "exp": now + CONFIGURATION_LIFETIME,
            "jwks": self.keys.federation.public()?.to_value(),
            "authority_hints": self.authority_hints,
            "trust_marks": self.trust_marks,
            "metadata": {
                "openid_relying_party": rp,
                "federation_entity": {
                    "organization_name": self.organization_name,
                    "contacts": self.contacts,
                    "federation_resolve_endpoint": null,
                },
            },
        });
        jose::sign(&strip_nulls(claims), "entity-statement+jwt", self.keys.federation.current())
    }

    /// The OIDC public keys (signing and encryption), apart from the federation keys.
    pub fn oidc_jwks(&self) -> Result<Value, FederationError> {
        let mut keys = self.keys.signing.public()?.0;
        keys.extend(self.keys.encryption.public()?.0);
        Ok(jose::KeySet(keys).to_value())
    }

    /// The URL to send the browser to, and what its callback must match.
    pub fn authorization(
        &self,
        provider: &Provider,
        level: Level,
        now: i64,
    ) -> Result<(String, Pending), FederationError> {
        let endpoint = provider.endpoint("authorization_endpoint")?;
        let pending = Pending {
            provider: provider.id.clone(),
            state: jose::random_alphanumeric(32)?,
            nonce: jose::random_alphanumeric(32)?,
            verifier: jose::random_alphanumeric(64)?,
            level,
            started: now,
        };
        let challenge = jose::pkce_challenge(&pending.verifier);
        let claims = json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": [provider.issuer()],
            "client_id": self.client_id,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": self.redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "nonce": pending.nonce,
            "state": pending.state,
            "prompt": "consent login",
            "acr_values": level.acr(),
            "ui_locales": "it",
            "claims": {
                "userinfo": {
                    FISCAL_NUMBER: { "essential": true },
                    "given_name": null,
                    "family_name": null,
                    "email": null,
                },
                "id_token": {},
            },
            "iat": now,
            "exp": now + REQUEST_LIFETIME,
            "jti": jose::random_alphanumeric(32)?,
        });
        let request = jose::sign(&claims, "JWT", self.keys.signing.current())?;
        let mut url =
            url::Url::parse(endpoint).map_err(|_| Refusal::new("provider's authorization endpoint is not a URL"))?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("request", &request);
        Ok((url.into(), pending))
    }

    /// A `private_key_jwt` client assertion for `audience` (a token or revocation endpoint).
    pub fn client_assertion(&self, audience: &str, now: i64) -> Result<String, FederationError> {
        let claims = json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "jti": jose::random_alphanumeric(32)?,
        });
        jose::sign(&claims, "JWT", self.keys.signing.current())
    }

    /// Exchanges `code` for tokens at `provider`'s token endpoint and checks the ID token.
    pub async fn exchange(
        &self,
        http: &dyn Transport,
        provider: &Provider,
        code: &str,
        pending: &Pending,
        now: i64,
    ) -> Result<Tokens, FederationError> {
        let endpoint = provider.endpoint("token_endpoint")?;
        let assertion = self.client_assertion(endpoint, now)?;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", self.client_id.as_str()),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion.as_str()),
            ("code", code),
            ("code_verifier", pending.verifier.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
        ];
        let answer = http.post_form(endpoint, &form).await?;
        if answer.status != 200 {
            let error = serde_json::from_str::<Value>(&answer.body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned));
            return Err(FederationError::refused(format!(
                "token endpoint answered HTTP {} ({})",
                answer.status,
                error.as_deref().unwrap_or("no error code")
            )));
        }
        let body: Value = serde_json::from_str(&answer.body).map_err(|_| Refusal::new("token answer is not JSON"))?;
        let text = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Refusal::new(format!("token answer without '{name}'")))
        };
        let access_token = text("access_token")?;
        let id_token = check_id_token(&self.client_id, provider, &text("id_token")?, &access_token, pending, now)?;
        Ok(Tokens { access_token, id_token })
    }

    /// Asks `provider` for the person's attributes and checks the signed-then-encrypted answer.
    pub async fn userinfo(
        &self,
        http: &dyn Transport,
        provider: &Provider,
        tokens: &Tokens,
        now: i64,
    ) -> Result<Person, FederationError> {
        let endpoint = provider.endpoint("userinfo_endpoint")?;
        let answer = http.get_bearer(endpoint, &tokens.access_token).await?;
        if answer.status != 200 {
            return Err(FederationError::refused(format!("userinfo endpoint answered HTTP {}", answer.status)));
        }
        Ok(check_userinfo(&self.client_id, &self.keys, provider, answer.body.trim(), &tokens.id_token, now)?)
    }

    /// Revokes `access_token` at `provider` (logout). The provider answers 200 whatever the token.
    pub async fn revoke(
        &self,
        http: &dyn Transport,
        provider: &Provider,
        access_token: &str,
        now: i64,
    ) -> Result<(), FederationError> {
        let endpoint = provider.endpoint("revocation_endpoint")?;
        let assertion = self.client_assertion(endpoint, now)?;
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion.as_str()),
            ("token", access_token),
        ];
        let answer = http.post_form(endpoint, &form).await?;
        if answer.status != 200 {
            return Err(FederationError::refused(format!("revocation endpoint answered HTTP {}", answer.status)));
        }
        Ok(())
    }
}

fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect())
        }
        other => other,
    }
}

fn check_times(claims: &Map<String, Value>, what: &str, now: i64) -> Result<(), Refusal> {
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| Refusal::new(format!("{what} without 'exp'")))?;
    if exp <= now - SKEW_SECS {
        return Err(Refusal::new(format!("{what} expired")));
    }
    for name in ["iat", "nbf"] {
        if claims.get(name).and_then(Value::as_i64).is_some_and(|t| t > now + SKEW_SECS) {
            return Err(Refusal::new(format!("{what} issued in the future ('{name}')")));
        }
    }
    Ok(())
}

fn check_audience(claims: &Map<String, Value>, client_id: &str, what: &str) -> Result<(), Refusal> {
    let ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == client_id,
        Some(Value::Array(auds)) => {
            auds.iter().any(|a| a == client_id)
                && (auds.len() == 1 || claims.get("azp").and_then(Value::as_str) == Some(client_id))
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err(Refusal::new(format!("{what} is for another audience"))) }
}

/// Checks an ID token: signature by one of the provider's keys with an allowed algorithm, `iss`, `aud`, times,
/// `nonce`, `acr` at least the level asked, `at_hash` of the access token.
pub fn check_id_token(
    client_id: &str,
    provider: &Provider,
    token: &str,
    access_token: &str,
    pending: &Pending,
    now: i64,
) -> Result<IdToken, Refusal> {
    let Verified { header, claims } =
        jose::verify(token, &provider.jwks).map_err(|r| Refusal::new(format!("ID token: {r}")))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    if text("iss") != provider.issuer() || pending.provider != provider.id {
        return Err(Refusal::new("ID token from another provider than the login went to"));
    }
    check_audience(&claims, client_id, "ID token")?;
    check_times(&claims, "ID token", now)?;
    if text("nonce") != pending.nonce {
        return Err(Refusal::new("ID token's nonce is not this login's"));
    }
    let level = Level::from_acr(text("acr")).ok_or_else(|| Refusal::new("ID token without a known 'acr'"))?;
    if level < pending.level || level < Level::L2 {
        return Err(Refusal::new(format!("authenticated at {level:?}, below the {:?} asked", pending.level)));
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
    if text("at_hash") != jose::half_hash(alg, access_token) {
        return Err(Refusal::new("ID token's at_hash does not match the access token"));
    }
    if text("sub").is_empty() {
        return Err(Refusal::new("ID token without 'sub'"));
    }
    Ok(IdToken { sub: text("sub").to_owned(), level })
}

/// Checks a userinfo answer: a JWE to one of Sportello's keys whose content is a JWS by the provider, about the ID
/// token's subject, for Sportello; and reads the person from it.
pub fn check_userinfo(
    client_id: &str,
    keys: &KeyRing,
    provider: &Provider,
    body: &str,
    id_token: &IdToken,
    now: i64,
) -> Result<Person, Refusal> {
    let inner = jose::decrypt(body, keys.encryption.all()).map_err(|r| Refusal::new(format!("userinfo: {r}")))?;
    let inner = String::from_utf8(inner).map_err(|_| Refusal::new("userinfo: content is not text"))?;
    let Verified { claims, .. } =
        jose::verify(inner.trim(), &provider.jwks).map_err(|r| Refusal::new(format!("userinfo: {r}")))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(provider.issuer()) {
        return Err(Refusal::new("userinfo from another provider"));
    }
    check_audience(&claims, client_id, "userinfo")?;
    if claims.contains_key("exp") {
        check_times(&claims, "userinfo", now)?;
    }
    if text("sub") != Some(id_token.sub.as_str()) {
        return Err(Refusal::new("userinfo about another subject than the ID token"));
    }
    let fiscal = text(FISCAL_NUMBER)
        .or_else(|| text(FISCAL_NUMBER_SPID))
        .ok_or_else(|| Refusal::new("userinfo without a fiscal number"))?;
    Ok(Person {
        codice_fiscale: fiscal_number(fiscal)?,
        given_name: text("given_name").map(str::to_owned),
        family_name: text("family_name").map(str::to_owned),
    })
}

/// The codice fiscale in a fiscal number: `TINIT-` and a code `CodiceFiscale::parse` accepts; anything else (a
/// foreign tax number, a bare code, an invalid one) is refused.
pub fn fiscal_number(value: &str) -> Result<CodiceFiscale, Refusal> {
    let code =
        value.strip_prefix("TINIT-").ok_or_else(|| Refusal::new("fiscal number is not Italian (no 'TINIT-')"))?;
    CodiceFiscale::parse(code).map_err(|e| Refusal::new(format!("fiscal number is not a valid codice fiscale: {e}")))
}
