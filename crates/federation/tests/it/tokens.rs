//! The ID token's checks.

use josekit::jws::JwsHeader;
use serde_json::{Value, json};
use sportello_federation::jose;
use sportello_federation::rp::{Level, check_id_token};

use crate::provider::{NOW, OP, RP, TestProvider, pending, raw_token, rp, rsa_key};

const ACCESS: &str = "access-token-value";

fn claims() -> Value {
    json!({
        "iss": OP, "sub": "pairwise-subject", "aud": RP, "acr": Level::L2.acr(),
        "iat": NOW, "nbf": NOW, "exp": NOW + 300, "jti": "8c7f", "nonce": "N".repeat(32),
        "at_hash": jose::half_hash("RS256", ACCESS),
    })
}

fn with(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut c = claims();
    change(c.as_object_mut().unwrap());
    c
}

fn refused(op: &TestProvider, token: &str) -> String {
    check_id_token(RP, &op.provider, token, ACCESS, &pending(), NOW).unwrap_err().0
}

#[test]
fn a_token_signed_by_the_provider_for_this_login_is_accepted() {
    let op = TestProvider::new();
    let id = check_id_token(RP, &op.provider, &op.sign(&claims()), ACCESS, &pending(), NOW).unwrap();
    assert_eq!(id.sub, "pairwise-subject");
    assert_eq!(id.level, Level::L2);
}

#[test]
fn a_token_forged_with_another_key_is_refused() {
    let op = TestProvider::new();
    let forger = rsa_key("op-key");
    let token = jose::sign(&claims(), "JWT", &forger).unwrap();
    assert_eq!(refused(&op, &token), "ID token: bad signature");
}

#[test]
fn alg_none_is_refused_before_any_key_is_used() {
    let op = TestProvider::new();
    let token = raw_token(&json!({"alg": "none", "kid": "op-key"}), &claims(), b"");
    assert!(refused(&op, &token).contains("'none' is not allowed"));
}

#[test]
fn hs256_signed_with_the_providers_public_key_is_refused() {
    let op = TestProvider::new();
    let public = serde_json::to_vec(&op.provider.jwks.to_value()).unwrap();
    let signer = josekit::jws::HS256.signer_from_bytes(&public).unwrap();
    let mut header = JwsHeader::new();
    header.set_key_id("op-key");
    let token = josekit::jws::serialize_compact(&serde_json::to_vec(&claims()).unwrap(), &header, &signer).unwrap();
    assert!(refused(&op, &token).contains("'HS256' is not allowed"));
}

#[test]
fn a_token_for_another_audience_is_refused() {
    let op = TestProvider::new();
    let token = op.sign(&with(|c| drop(c.insert("aud".into(), json!("https://other-rp.example")))));
    assert!(refused(&op, &token).contains("another audience"));
    let token = op.sign(&with(|c| drop(c.insert("aud".into(), json!([RP, "https://other-rp.example"])))));
    assert!(refused(&op, &token).contains("another audience"), "several audiences need azp naming Sportello");
}

#[test]
fn a_token_from_another_issuer_is_refused() {
    let op = TestProvider::new();
    let token = op.sign(&with(|c| drop(c.insert("iss".into(), json!("https://evil-op.example")))));
    assert!(refused(&op, &token).contains("another provider"));
}

#[test]
fn a_token_of_another_login_is_refused_by_its_nonce() {
    let op = TestProvider::new();
    let token = op.sign(&with(|c| drop(c.insert("nonce".into(), json!("M".repeat(32))))));
    assert!(refused(&op, &token).contains("nonce"));
}

#[test]
fn an_expired_token_and_one_from_the_future_are_refused() {
    let op = TestProvider::new();
    let token = op.sign(&with(|c| drop(c.insert("exp".into(), json!(NOW - 120)))));
    assert!(refused(&op, &token).contains("expired"));
    let token = op.sign(&with(|c| drop(c.insert("iat".into(), json!(NOW + 600)))));
    assert!(refused(&op, &token).contains("future"));
}

#[test]
fn an_acr_below_spid_level_2_is_refused() {
    let op = TestProvider::new();
    let token = op.sign(&with(|c| drop(c.insert("acr".into(), json!(Level::L1.acr())))));
    assert!(refused(&op, &token).contains("below"));
    let mut l3 = pending();
    l3.level = Level::L3;
    let token = op.sign(&claims());
    assert!(check_id_token(RP, &op.provider, &token, ACCESS, &l3, NOW).unwrap_err().0.contains("below"));
}

#[test]
fn an_id_token_glued_to_another_access_token_is_refused() {
    let op = TestProvider::new();
    let token = op.sign(&claims());
    let err = check_id_token(RP, &op.provider, &token, "another-access-token", &pending(), NOW).unwrap_err();
    assert!(err.0.contains("at_hash"));
}

#[test]
fn the_authorization_request_is_signed_with_pkce_s256_state_nonce_and_the_level() {
    let op = TestProvider::new();
    let rp = rp();
    let (url, pending) = rp.authorization(&op.provider, Level::L2, NOW).unwrap();
    let url = url::Url::parse(&url).unwrap();
    assert!(url.as_str().starts_with(&format!("{OP}/authorization?")));
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"], jose::pkce_challenge(&pending.verifier));
    assert_eq!(query["client_id"], RP);
    for value in [&pending.state, &pending.nonce] {
        assert!(value.len() >= 32 && value.chars().all(|c| c.is_ascii_alphanumeric()), "{value}");
    }
    let signing = rp.keys.signing.public().unwrap();
    let request = jose::verify(&query["request"], &signing).unwrap();
    assert_eq!(request.claims["state"], json!(pending.state));
    assert_eq!(request.claims["nonce"], json!(pending.nonce));
    assert_eq!(request.claims["code_challenge"], json!(query["code_challenge"]));
    assert_eq!(request.claims["acr_values"], json!(Level::L2.acr()));
    assert_eq!(request.claims["aud"], json!([OP]));
    assert!(request.claims["claims"]["userinfo"].get(sportello_federation::rp::FISCAL_NUMBER).is_some());
    let federation = rp.keys.federation.public().unwrap();
    assert!(jose::verify(&query["request"], &federation).is_err(), "the federation key does not sign requests");
}

#[test]
fn the_entity_configuration_is_self_signed_with_the_federation_key_and_lists_automatic_registration() {
    let rp = rp();
    let token = rp.entity_configuration(NOW).unwrap();
    let statement = sportello_federation::statement::EntityStatement::self_signed(&token, RP, NOW).unwrap();
    let meta = statement.metadata_of("openid_relying_party").unwrap();
    assert_eq!(meta["client_registration_types"], json!(["automatic"]));
    assert_eq!(meta["token_endpoint_auth_method"], json!("private_key_jwt"));
    assert_eq!(statement.authority_hints, vec!["https://ta.test.example".to_owned()]);
    let fed_kid = rp.keys.federation.current().key_id().unwrap();
    let oidc = meta["jwks"]["keys"].as_array().unwrap();
    assert!(oidc.iter().all(|k| k["kid"] != json!(fed_kid)), "federation keys apart from OIDC keys");
    assert!(oidc.iter().all(|k| k.get("d").is_none()), "no private key published");
}
