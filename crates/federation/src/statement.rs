//! Entity statements: an entity's configuration about itself (at `/.well-known/openid-federation`) and a
//! superior's statement about a subordinate (from its fetch endpoint), both signed JWTs of type
//! `entity-statement+jwt`.

use serde_json::{Map, Value};

use crate::error::Refusal;
use crate::jose::{self, KeySet, Verified};

/// The clock skew tolerated on `iat`, `nbf` and `exp`, in seconds.
pub const SKEW_SECS: i64 = 60;

/// A verified entity statement.
#[derive(Debug, Clone)]
pub struct EntityStatement {
    /// Who signed it.
    pub iss: String,
    /// Whom it is about.
    pub sub: String,
    /// When it stops being true (UNIX seconds).
    pub exp: i64,
    /// The subject's federation keys.
    pub jwks: KeySet,
    /// The subject's superiors.
    pub authority_hints: Vec<String>,
    /// Metadata by entity type (`openid_provider`, `federation_entity`, …).
    pub metadata: Map<String, Value>,
    /// Policy by entity type, in a superior's statement.
    pub metadata_policy: Map<String, Value>,
    /// Trust marks the subject shows (`{"id": …, "trust_mark": JWT}`).
    pub trust_marks: Vec<Value>,
    /// Every claim, for what the fields above leave out (`trust_marks_issuers`).
    pub claims: Map<String, Value>,
}

impl EntityStatement {
    /// Verifies `token` with `keys` (the superior's, or the configured trust anchor's) and reads it, refusing it
    /// if it is expired or issued in the future.
    pub fn verify(token: &str, keys: &KeySet, now: i64) -> Result<Self, Refusal> {
        let verified = jose::verify(token, keys)?;
        Self::read(verified, now)
    }

    /// Verifies an entity configuration with the keys it carries itself (which says only that it is whole; trust
    /// comes from a superior's statement carrying the same keys) and checks that it is about `subject`.
    pub fn self_signed(token: &str, subject: &str, now: i64) -> Result<Self, Refusal> {
        let claims = jose::peek_claims(token)?;
        let keys = KeySet::from_value(claims.get("jwks").unwrap_or(&Value::Null))?;
        let statement = Self::verify(token, &keys, now)?;
        if statement.iss != subject || statement.sub != subject {
            return Err(Refusal::new(format!("entity configuration of '{}' served for '{subject}'", statement.sub)));
        }
        Ok(statement)
    }

    fn read(verified: Verified, now: i64) -> Result<Self, Refusal> {
        let typ = verified.header.get("typ").and_then(Value::as_str).unwrap_or_default();
        if typ != "entity-statement+jwt" {
            return Err(Refusal::new(format!("entity statement of type '{typ}'")));
        }
        let claims = verified.claims;
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Refusal::new(format!("entity statement without '{name}'")))
        };
        let number = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_i64)
                .ok_or_else(|| Refusal::new(format!("entity statement without '{name}'")))
        };
        let (iss, sub, exp, iat) = (text("iss")?, text("sub")?, number("exp")?, number("iat")?);
        if exp <= now - SKEW_SECS {
            return Err(Refusal::new(format!("entity statement by '{iss}' about '{sub}' expired")));
        }
        if iat > now + SKEW_SECS {
            return Err(Refusal::new(format!("entity statement by '{iss}' about '{sub}' issued in the future")));
        }
        let jwks = KeySet::from_value(claims.get("jwks").unwrap_or(&Value::Null))?;
        let object = |name: &str| claims.get(name).and_then(Value::as_object).cloned().unwrap_or_default();
        let authority_hints = claims
            .get("authority_hints")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let trust_marks = claims.get("trust_marks").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(Self {
            metadata: object("metadata"),
            metadata_policy: object("metadata_policy"),
            iss,
            sub,
            exp,
            jwks,
            authority_hints,
            trust_marks,
            claims,
        })
    }

    /// The metadata of one entity type.
    pub fn metadata_of(&self, entity_type: &str) -> Option<&Map<String, Value>> {
        self.metadata.get(entity_type).and_then(Value::as_object)
    }
}

/// The URL of `entity`'s configuration: its identifier, a slash, `.well-known/openid-federation`.
pub fn configuration_url(entity: &str) -> String {
    format!("{}/.well-known/openid-federation", entity.trim_end_matches('/'))
}
