//! The userinfo answer's checks: signed by the provider, then encrypted to Sportello.

#![allow(deprecated)] // RSA1_5 is used here only to make a token that must be refused.
use josekit::jwe::JweHeader;
use serde_json::{Value, json};
use sportello_federation::jose;
use sportello_federation::rp::{FISCAL_NUMBER, IdToken, Level, RelyingParty, check_userinfo, fiscal_number};

use crate::provider::{NOW, OP, RP, TestProvider, rp};

fn id_token() -> IdToken {
    IdToken { sub: "pairwise-subject".into(), level: Level::L2 }
}

fn claims(fiscal: &str) -> Value {
    json!({"iss": OP, "aud": RP, "sub": "pairwise-subject", "iat": NOW, "exp": NOW + 300,
           "given_name": "Mario", "family_name": "Rossi", FISCAL_NUMBER: fiscal})
}

fn encrypt(rp: &RelyingParty, inner: &str, alg: &str, enc: &str) -> String {
    let key = jose::public_key(rp.keys.encryption.current()).unwrap();
    let mut header = JweHeader::new();
    header.set_content_encryption(enc);
    header.set_content_type("JWT");
    header.set_key_id(key.key_id().unwrap());
    let payload = inner.as_bytes();
    match alg {
        "RSA-OAEP" => {
            josekit::jwe::serialize_compact(payload, &header, &josekit::jwe::RSA_OAEP.encrypter_from_jwk(&key).unwrap())
        }
        "RSA-OAEP-256" => josekit::jwe::serialize_compact(
            payload,
            &header,
            &josekit::jwe::RSA_OAEP_256.encrypter_from_jwk(&key).unwrap(),
        ),
        "RSA1_5" => {
            josekit::jwe::serialize_compact(payload, &header, &josekit::jwe::RSA1_5.encrypter_from_jwk(&key).unwrap())
        }
        other => panic!("{other}"),
    }
    .unwrap()
}

fn check(rp: &RelyingParty, op: &TestProvider, body: &str) -> Result<sportello_federation::rp::Person, String> {
    check_userinfo(RP, &rp.keys, &op.provider, body, &id_token(), NOW).map_err(|r| r.0)
}

#[test]
fn signed_then_encrypted_userinfo_gives_the_codice_fiscale_with_each_allowed_algorithm() {
    let (rp, op) = (rp(), TestProvider::new());
    let inner = op.sign(&claims("TINIT-RSSMRA80A01H501U"));
    for (alg, enc) in [
        ("RSA-OAEP", "A128CBC-HS256"),
        ("RSA-OAEP", "A256CBC-HS512"),
        ("RSA-OAEP-256", "A128CBC-HS256"),
        ("RSA-OAEP-256", "A256CBC-HS512"),
    ] {
        let person = check(&rp, &op, &encrypt(&rp, &inner, alg, enc)).unwrap_or_else(|e| panic!("{alg} {enc}: {e}"));
        assert_eq!(person.codice_fiscale.to_string(), "RSSMRA80A01H501U");
        assert_eq!(person.family_name.as_deref(), Some("Rossi"));
    }
}

#[test]
fn rsa1_5_and_other_content_encryptions_are_refused() {
    let (rp, op) = (rp(), TestProvider::new());
    let inner = op.sign(&claims("TINIT-RSSMRA80A01H501U"));
    assert!(
        check(&rp, &op, &encrypt(&rp, &inner, "RSA1_5", "A128CBC-HS256"))
            .unwrap_err()
            .contains("'RSA1_5' is not allowed")
    );
    assert!(
        check(&rp, &op, &encrypt(&rp, &inner, "RSA-OAEP", "A128GCM")).unwrap_err().contains("'A128GCM' is not allowed")
    );
}

#[test]
fn userinfo_that_is_only_signed_or_tampered_with_is_refused() {
    let (rp, op) = (rp(), TestProvider::new());
    let inner = op.sign(&claims("TINIT-RSSMRA80A01H501U"));
    assert!(check(&rp, &op, &inner).unwrap_err().contains("not a compact JWE"));
    let jwe = encrypt(&rp, &inner, "RSA-OAEP", "A128CBC-HS256");
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let mut ciphertext = parts[3].clone().into_bytes();
    ciphertext[5] = if ciphertext[5] == b'A' { b'B' } else { b'A' };
    parts[3] = String::from_utf8(ciphertext).unwrap();
    assert!(check(&rp, &op, &parts.join(".")).unwrap_err().contains("does not decrypt"));
}

#[test]
fn userinfo_signed_by_someone_else_or_about_another_subject_is_refused() {
    let (rp, op) = (rp(), TestProvider::new());
    let stranger = TestProvider::new();
    let forged = encrypt(&rp, &stranger.sign(&claims("TINIT-RSSMRA80A01H501U")), "RSA-OAEP", "A128CBC-HS256");
    assert!(check(&rp, &op, &forged).unwrap_err().contains("bad signature"));
    let mut other = claims("TINIT-RSSMRA80A01H501U");
    other["sub"] = json!("another-subject");
    let body = encrypt(&rp, &op.sign(&other), "RSA-OAEP", "A128CBC-HS256");
    assert!(check(&rp, &op, &body).unwrap_err().contains("another subject"));
}

#[test]
fn a_fiscal_number_not_tinit_or_not_a_valid_codice_fiscale_is_refused() {
    let (rp, op) = (rp(), TestProvider::new());
    for (fiscal, why) in [
        ("RSSMRA80A01H501U", "TINIT"),
        ("TINDE-RSSMRA80A01H501U", "TINIT"),
        ("TINIT-RSSMRA80A01H501X", "valid codice fiscale"),
    ] {
        let body = encrypt(&rp, &op.sign(&claims(fiscal)), "RSA-OAEP", "A128CBC-HS256");
        let err = check(&rp, &op, &body).unwrap_err();
        assert!(err.contains(why), "{fiscal}: {err}");
    }
    let mut none = claims("x");
    none.as_object_mut().unwrap().remove(FISCAL_NUMBER);
    let body = encrypt(&rp, &op.sign(&none), "RSA-OAEP", "A128CBC-HS256");
    assert!(check(&rp, &op, &body).unwrap_err().contains("without a fiscal number"));
    assert!(fiscal_number("TINIT-RSSMRA80A01H501U").is_ok());
    let _ = jose::SIGNING_ALGS;
}
