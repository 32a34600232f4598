//! A provider's keys and metadata made in the test, and tokens signed with them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwk::Jwk;
use josekit::jwk::alg::rsa::RsaKeyPair;
use serde_json::{Value, json};
use sportello_federation::chain::Provider;
use sportello_federation::jose::{self, KeySet};
use sportello_federation::keys::KeyRing;
use sportello_federation::rp::{Level, Pending, RelyingParty};

pub const NOW: i64 = 1_764_000_000;
pub const OP: &str = "https://op.test.example";
pub const RP: &str = "https://sportello.test.example";

pub fn rsa_key(kid: &str) -> Jwk {
    use josekit::jwk::KeyPair as _;
    let mut jwk = RsaKeyPair::generate(2048).unwrap().to_jwk_private_key();
    jwk.set_key_id(kid);
    jwk
}

pub struct TestProvider {
    pub key: Jwk,
    pub provider: Provider,
}

impl TestProvider {
    pub fn new() -> Self {
        let key = rsa_key("op-key");
        let jwks = KeySet(vec![jose::public_key(&key).unwrap()]);
        let metadata = json!({
            "issuer": OP,
            "authorization_endpoint": format!("{OP}/authorization"),
            "token_endpoint": format!("{OP}/token"),
            "userinfo_endpoint": format!("{OP}/userinfo"),
            "revocation_endpoint": format!("{OP}/revocation"),
            "code_challenge_methods_supported": ["S256"],
            "jwks": jwks.to_value(),
        });
        let provider = Provider {
            id: OP.into(),
            name: "Test OP".into(),
            metadata: metadata.as_object().unwrap().clone(),
            jwks,
            expires: NOW + 3600,
        };
        Self { key, provider }
    }

    pub fn sign(&self, claims: &Value) -> String {
        jose::sign(claims, "JWT", &self.key).unwrap()
    }
}

pub fn rp() -> RelyingParty {
    RelyingParty {
        client_id: RP.into(),
        redirect_uri: format!("{RP}/accedi/oidc/ritorno"),
        keys: KeyRing::ephemeral().unwrap(),
        authority_hints: vec!["https://ta.test.example".into()],
        trust_marks: vec![],
        organization_name: "Sportello".into(),
        contacts: vec!["ops@sportello.test.example".into()],
    }
}

pub fn pending() -> Pending {
    Pending {
        provider: OP.into(),
        state: "S".repeat(32),
        nonce: "N".repeat(32),
        verifier: "V".repeat(64),
        level: Level::L2,
        started: NOW,
    }
}

/// A token with a header of the caller's choosing and a signature of raw bytes.
pub fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(serde_json::to_vec(header).unwrap()),
        B64.encode(serde_json::to_vec(claims).unwrap()),
        B64.encode(signature)
    )
}
