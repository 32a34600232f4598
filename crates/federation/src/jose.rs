//! Signing, verifying and decrypting, with the profile's allow-lists checked on the header before any key is used
//! ("Cryptographic algorithms": `none`, `RSA1_5` and `HS*` MUST NOT be supported).
//!
//! A verifier is built from the allowed `alg` *and* a key of the issuer's set of the matching type: a token cannot
//! choose to be checked as an HMAC with a public key, nor skip the check.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, JwsSigner, JwsVerifier};
use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::error::{FederationError, Refusal};

/// Signature algorithms a provider, a trust anchor or a trust mark may use.
pub const SIGNING_ALGS: [&str; 6] = ["RS256", "RS512", "PS256", "PS512", "ES256", "ES512"];
/// Key-encryption algorithms a userinfo JWE may use.
pub const KEY_ENCRYPTION_ALGS: [&str; 2] = ["RSA-OAEP", "RSA-OAEP-256"];
/// Content-encryption algorithms a userinfo JWE may use.
pub const CONTENT_ENCRYPTION_ALGS: [&str; 2] = ["A128CBC-HS256", "A256CBC-HS512"];

/// A set of public keys, as `jwks` carries them.
#[derive(Debug, Clone, Default)]
pub struct KeySet(pub Vec<Jwk>);

impl KeySet {
    /// Reads `{"keys": [...]}`; keys that are not JWKs refuse the whole set.
    pub fn from_value(jwks: &Value) -> Result<Self, Refusal> {
        let keys =
            jwks.get("keys").and_then(Value::as_array).ok_or_else(|| Refusal::new("jwks without a 'keys' array"))?;
        keys.iter()
            .map(|k| match k {
                Value::Object(map) => Jwk::from_map(map.clone()).map_err(|e| Refusal::new(format!("bad JWK: {e}"))),
                _ => Err(Refusal::new("a JWK that is not an object")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// The set as `{"keys": [...]}`.
    pub fn to_value(&self) -> Value {
        let keys = self.0.iter().map(|k| Value::Object(k.as_ref().clone())).collect();
        serde_json::json!({ "keys": Value::Array(keys) })
    }

    /// The key named `kid`, or the only key when the header names none.
    fn find(&self, kid: Option<&str>) -> Option<&Jwk> {
        match kid {
            Some(kid) => self.0.iter().find(|k| k.key_id() == Some(kid)),
            None if self.0.len() == 1 => self.0.first(),
            None => None,
        }
    }
}

/// The decoded JOSE header of a compact token, read without trusting anything in it.
pub fn peek_header(token: &str) -> Result<Map<String, Value>, Refusal> {
    let head = token.split('.').next().unwrap_or_default();
    let bytes = B64.decode(head).map_err(|_| Refusal::new("header is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Refusal::new("header is not a JSON object")),
    }
}

/// The claims of a compact JWS, read *without* verifying it: only to learn which issuer to ask for keys.
pub fn peek_claims(token: &str) -> Result<Map<String, Value>, Refusal> {
    let body = token.split('.').nth(1).ok_or_else(|| Refusal::new("not a compact JWS"))?;
    let bytes = B64.decode(body).map_err(|_| Refusal::new("payload is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Refusal::new("payload is not a JSON object")),
    }
}

/// A verified JWS: its header and its claims.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
}

impl Verified {
    /// The `alg` that signed it.
    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or_default()
    }
}

/// Verifies a compact JWS with one of `keys`, refusing any `alg` outside [`SIGNING_ALGS`] before touching a key.
pub fn verify(token: &str, keys: &KeySet) -> Result<Verified, Refusal> {
    if token.split('.').count() != 3 {
        return Err(Refusal::new("not a compact JWS"));
    }
    let header = peek_header(token)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("(missing)");
    if !SIGNING_ALGS.contains(&alg) {
        return Err(Refusal::new(format!("signature algorithm '{alg}' is not allowed")));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let key =
        keys.find(kid).ok_or_else(|| Refusal::new(format!("no key '{}' in the issuer's set", kid.unwrap_or("-"))))?;
    let verifier = verifier_for(alg, key)?;
    let (payload, _) =
        josekit::jws::deserialize_compact(token, verifier.as_ref()).map_err(|_| Refusal::new("bad signature"))?;
    match serde_json::from_slice(&payload) {
        Ok(Value::Object(claims)) => Ok(Verified { header, claims }),
        _ => Err(Refusal::new("payload is not a JSON object")),
    }
}

fn verifier_for(alg: &str, key: &Jwk) -> Result<Box<dyn JwsVerifier>, Refusal> {
    use josekit::jws::{ES256, ES512, PS256, PS512, RS256, RS512};
    let wrong = |e: josekit::JoseError| Refusal::new(format!("key unfit for {alg}: {e}"));
    Ok(match alg {
        "RS256" => Box::new(RS256.verifier_from_jwk(key).map_err(wrong)?),
        "RS512" => Box::new(RS512.verifier_from_jwk(key).map_err(wrong)?),
        "PS256" => Box::new(PS256.verifier_from_jwk(key).map_err(wrong)?),
        "PS512" => Box::new(PS512.verifier_from_jwk(key).map_err(wrong)?),
        "ES256" => Box::new(ES256.verifier_from_jwk(key).map_err(wrong)?),
        "ES512" => Box::new(ES512.verifier_from_jwk(key).map_err(wrong)?),
        other => return Err(Refusal::new(format!("signature algorithm '{other}' is not allowed"))),
    })
}

/// Signs `claims` as a compact JWS of type `typ` with an RSA private key (RS256), naming its `kid`.
pub fn sign(claims: &Value, typ: &str, key: &Jwk) -> Result<String, FederationError> {
    let signer = josekit::jws::RS256.signer_from_jwk(key).map_err(|e| FederationError::Config(e.to_string()))?;
    sign_with(claims, typ, &signer)
}

/// Signs `claims` with any signer (tests use it to make tokens a provider should never send).
pub fn sign_with(claims: &Value, typ: &str, signer: &dyn JwsSigner) -> Result<String, FederationError> {
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    if let Some(kid) = signer.key_id() {
        header.set_key_id(kid);
    }
    let payload = serde_json::to_vec(claims).map_err(|e| FederationError::Config(e.to_string()))?;
    josekit::jws::serialize_compact(&payload, &header, signer).map_err(|e| FederationError::Config(e.to_string()))
}

/// Decrypts a compact JWE with one of Sportello's encryption keys, refusing any `alg` or `enc` outside
/// [`KEY_ENCRYPTION_ALGS`] and [`CONTENT_ENCRYPTION_ALGS`] first. Returns the plaintext (for userinfo, a JWS).
pub fn decrypt(token: &str, keys: &[Jwk]) -> Result<Vec<u8>, Refusal> {
    if token.split('.').count() != 5 {
        return Err(Refusal::new("not a compact JWE"));
    }
    let header = peek_header(token)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("(missing)");
    let enc = header.get("enc").and_then(Value::as_str).unwrap_or("(missing)");
    if !KEY_ENCRYPTION_ALGS.contains(&alg) {
        return Err(Refusal::new(format!("key encryption '{alg}' is not allowed")));
    }
    if !CONTENT_ENCRYPTION_ALGS.contains(&enc) {
        return Err(Refusal::new(format!("content encryption '{enc}' is not allowed")));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let key = match kid {
        Some(kid) => keys.iter().find(|k| k.key_id() == Some(kid)),
        None => keys.first(),
    }
    .ok_or_else(|| Refusal::new("encrypted to a key Sportello does not hold"))?;
    let algorithm = if alg == "RSA-OAEP" { josekit::jwe::RSA_OAEP } else { josekit::jwe::RSA_OAEP_256 };
    let decrypter = algorithm.decrypter_from_jwk(key).map_err(|e| Refusal::new(format!("decryption key: {e}")))?;
    let (plain, _) =
        josekit::jwe::deserialize_compact(token, &decrypter).map_err(|_| Refusal::new("JWE does not decrypt"))?;
    Ok(plain)
}

/// The public half of `key`, keeping its `kid`, `use` and `alg` (josekit's own keeps only `use`).
pub fn public_key(key: &Jwk) -> Result<Jwk, FederationError> {
    let mut public = key.to_public_key().map_err(|e| FederationError::Config(e.to_string()))?;
    if let Some(kid) = key.key_id() {
        public.set_key_id(kid);
    }
    if let Some(alg) = key.algorithm() {
        public.set_algorithm(alg);
    }
    Ok(public)
}

/// RFC 7638 thumbprint of an RSA or EC public key, base64url: the `kid` Sportello gives its keys.
pub fn thumbprint(key: &Jwk) -> Result<String, FederationError> {
    let field = |name: &str| {
        key.parameter(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| FederationError::Config(format!("key without '{name}'")))
    };
    let canonical = match key.key_type() {
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, field("e")?, field("n")?),
        "EC" => format!(r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#, field("crv")?, field("x")?, field("y")?),
        other => return Err(FederationError::Config(format!("no thumbprint for key type '{other}'"))),
    };
    Ok(B64.encode(sha2::Sha256::digest(canonical.as_bytes())))
}

/// The `at_hash` (or `c_hash`) of `token` for a JWS signed with `alg`: the left half of its hash, base64url.
pub fn half_hash(alg: &str, token: &str) -> String {
    let digest: Vec<u8> = if alg.ends_with("512") {
        sha2::Sha512::digest(token.as_bytes()).to_vec()
    } else {
        sha2::Sha256::digest(token.as_bytes()).to_vec()
    };
    B64.encode(&digest[..digest.len() / 2])
}

/// `len` letters and digits drawn uniformly by the operating system's CSPRNG: `state` and `nonce` ("a casual
/// string with at least 32 alphanumeric characters"), the PKCE verifier, a `jti`.
pub fn random_alphanumeric(len: usize) -> Result<String, FederationError> {
    use rand::TryRng as _;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rand::rngs::SysRng.try_fill_bytes(&mut buf).map_err(|e| FederationError::Config(format!("random: {e}")))?;
        // 248 = 4 × 62: bytes from 248 up are dropped so that no symbol is likelier than another.
        for b in buf.iter().filter(|b| **b < 248) {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(*b) % 62]));
        }
    }
    Ok(out)
}

/// The PKCE S256 challenge of `verifier`.
pub fn pkce_challenge(verifier: &str) -> String {
    B64.encode(sha2::Sha256::digest(verifier.as_bytes()))
}
