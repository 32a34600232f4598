//! Trust chains: a provider is believed only as the configured trust anchor vouches for it. The statements are
//! served by a transport over a map (the federation's side of the wire, behind `Transport`; the real adapter is
//! `http::Reqwest`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use josekit::jwk::Jwk;
use serde_json::{Value, json};
use sportello_federation::FederationError;
use sportello_federation::chain::{Federation, TrustAnchor, resolve};
use sportello_federation::http::{Answer, Transport};
use sportello_federation::jose::{self, KeySet};

use crate::provider::{NOW, OP, TestProvider, rsa_key};

const TA: &str = "https://ta.test.example";

#[derive(Debug, Default)]
struct Served(Mutex<HashMap<String, (u16, String)>>);

#[async_trait::async_trait]
impl Transport for Served {
    async fn get(&self, url: &str) -> Result<Answer, FederationError> {
        match self.0.lock().unwrap().get(url) {
            Some((status, body)) => Ok(Answer { status: *status, content_type: None, body: body.clone() }),
            None => Err(FederationError::Unavailable(format!("nothing at {url}"))),
        }
    }
    async fn post_form(&self, url: &str, _: &[(&str, &str)]) -> Result<Answer, FederationError> {
        self.get(url).await
    }
    async fn get_bearer(&self, url: &str, _: &str) -> Result<Answer, FederationError> {
        self.get(url).await
    }
}

struct World {
    ta_key: Jwk,
    op_fed_key: Jwk,
    op: TestProvider,
    served: Arc<Served>,
}

fn public(key: &Jwk) -> Value {
    KeySet(vec![jose::public_key(key).unwrap()]).to_value()
}

fn statement(claims: Value, key: &Jwk) -> String {
    jose::sign(&claims, "entity-statement+jwt", key).unwrap()
}

impl World {
    fn new() -> Self {
        let world = Self {
            ta_key: rsa_key("ta"),
            op_fed_key: rsa_key("op-fed"),
            op: TestProvider::new(),
            served: Arc::default(),
        };
        world.serve(&format!("{TA}/.well-known/openid-federation"), &world.ta_configuration(NOW + 86_400));
        world.serve(&format!("{TA}/list?entity_type=openid_provider"), &json!([OP]).to_string());
        world.serve(
            &format!("{OP}/.well-known/openid-federation"),
            &world.op_configuration(NOW + 7200, &world.op_fed_key),
        );
        world.serve(
            &world.fetch_url(),
            &world.about_op(NOW + 3600, &public(&world.op_fed_key), json!({}), &world.ta_key),
        );
        world
    }

    fn serve(&self, url: &str, body: &str) {
        self.served.0.lock().unwrap().insert(url.to_owned(), (200, body.to_owned()));
    }

    fn fetch_url(&self) -> String {
        format!("{TA}/fetch?sub={}", url::form_urlencoded::byte_serialize(OP.as_bytes()).collect::<String>())
    }

    fn ta_configuration(&self, exp: i64) -> String {
        statement(
            json!({"iss": TA, "sub": TA, "iat": NOW, "exp": exp, "jwks": public(&self.ta_key),
            "metadata": {"federation_entity": {"federation_fetch_endpoint": format!("{TA}/fetch"), "federation_list_endpoint": format!("{TA}/list")}},
            "trust_marks_issuers": {"https://ta.test.example/openid_provider/public": [TA]}}),
            &self.ta_key,
        )
    }

    fn op_configuration(&self, exp: i64, key: &Jwk) -> String {
        let mut meta = self.op.provider.metadata.clone();
        meta.insert("id_token_signing_alg_values_supported".into(), json!(["RS256", "HS256"]));
        let mark = statement(
            json!({"id": "https://ta.test.example/openid_provider/public", "iss": TA, "sub": OP, "iat": NOW}),
            &self.ta_key,
        );
        statement(
            json!({"iss": OP, "sub": OP, "iat": NOW, "exp": exp, "jwks": public(key), "authority_hints": [TA],
            "trust_marks": [{"id": "https://ta.test.example/openid_provider/public", "trust_mark": mark}],
            "metadata": {"openid_provider": meta, "federation_entity": {"organization_name": "Provider di prova"}}}),
            key,
        )
    }

    fn about_op(&self, exp: i64, jwks: &Value, policy: Value, key: &Jwk) -> String {
        statement(
            json!({"iss": TA, "sub": OP, "iat": NOW, "exp": exp, "jwks": jwks,
            "metadata_policy": {"openid_provider": policy}}),
            key,
        )
    }

    fn anchor(&self) -> TrustAnchor {
        TrustAnchor {
            id: TA.into(),
            jwks: KeySet(vec![jose::public_key(&self.ta_key).unwrap()]),
            required_trust_marks: vec![],
        }
    }

    async fn resolve(&self) -> Result<sportello_federation::chain::Provider, String> {
        resolve(self.served.as_ref(), &self.anchor(), OP, NOW).await.map_err(|e| e.to_string())
    }
}

#[tokio::test]
async fn a_provider_the_anchor_vouches_for_resolves_with_policy_applied_until_the_lowest_exp() {
    let world = World::new();
    world.serve(
        &world.fetch_url(),
        &world.about_op(
            NOW + 3600,
            &public(&world.op_fed_key),
            json!({"id_token_signing_alg_values_supported": {"subset_of": ["RS256", "RS512"]}}),
            &world.ta_key,
        ),
    );
    let provider = world.resolve().await.unwrap();
    assert_eq!(provider.name, "Provider di prova");
    assert_eq!(provider.expires, NOW + 3600, "the chain's lowest exp");
    assert_eq!(provider.metadata["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert_eq!(provider.issuer(), OP);
}

#[tokio::test]
async fn a_provider_outside_the_federation_is_refused() {
    let world = World::new();
    let federation = Federation::new(world.served.clone(), world.anchor());
    let err = federation.provider("https://evil-op.example", NOW).await.unwrap_err().to_string();
    assert!(err.contains("does not list"), "{err}");
    assert_eq!(federation.provider(OP, NOW).await.unwrap().id, OP);
    assert_eq!(federation.providers(NOW).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_statement_about_the_provider_not_signed_by_the_anchor_is_refused() {
    let world = World::new();
    let impostor = rsa_key("ta");
    world.serve(&world.fetch_url(), &world.about_op(NOW + 3600, &public(&world.op_fed_key), json!({}), &impostor));
    assert!(world.resolve().await.unwrap_err().contains("bad signature"));
}

#[tokio::test]
async fn an_anchor_configuration_signed_with_keys_the_operator_did_not_configure_is_refused() {
    let world = World::new();
    let impostor = rsa_key("ta");
    let forged =
        statement(json!({"iss": TA, "sub": TA, "iat": NOW, "exp": NOW + 100, "jwks": public(&impostor)}), &impostor);
    world.serve(&format!("{TA}/.well-known/openid-federation"), &forged);
    assert!(world.resolve().await.unwrap_err().contains("trust anchor's configuration: bad signature"));
}

#[tokio::test]
async fn a_provider_configuration_signed_with_a_key_the_anchor_does_not_vouch_for_is_refused() {
    let world = World::new();
    let own = rsa_key("op-fed");
    world.serve(&format!("{OP}/.well-known/openid-federation"), &world.op_configuration(NOW + 7200, &own));
    assert!(world.resolve().await.unwrap_err().contains("against the anchor's keys"));
}

#[tokio::test]
async fn an_expired_statement_in_the_chain_is_refused() {
    let world = World::new();
    world.serve(&world.fetch_url(), &world.about_op(NOW - 600, &public(&world.op_fed_key), json!({}), &world.ta_key));
    assert!(world.resolve().await.unwrap_err().contains("expired"));
}

#[tokio::test]
async fn a_policy_the_provider_breaks_refuses_it() {
    let world = World::new();
    world.serve(
        &world.fetch_url(),
        &world.about_op(
            NOW + 3600,
            &public(&world.op_fed_key),
            json!({"code_challenge_methods_supported": {"superset_of": ["S256", "S512"]}}),
            &world.ta_key,
        ),
    );
    assert!(world.resolve().await.unwrap_err().contains("code_challenge_methods_supported"));
}

#[tokio::test]
async fn a_required_trust_mark_must_be_signed_by_an_issuer_the_anchor_names() {
    let world = World::new();
    let mut anchor = world.anchor();
    anchor.required_trust_marks = vec!["https://ta.test.example/openid_provider/public".into()];
    resolve(world.served.as_ref(), &anchor, OP, NOW).await.unwrap();
    anchor.required_trust_marks = vec!["https://ta.test.example/openid_provider/private".into()];
    let err = resolve(world.served.as_ref(), &anchor, OP, NOW).await.unwrap_err().to_string();
    assert!(err.contains("no valid trust mark"), "{err}");
}

#[tokio::test]
async fn the_anchor_may_name_trust_mark_issuers_in_openid_federation_s_spelling_too() {
    // The Italian rules write `trust_marks_issuers`; OpenID Federation 1.0, and the reference anchor, write
    // `trust_mark_issuers`. Either names who may issue a mark; an anchor naming nobody vouches for no mark.
    let world = World::new();
    let configuration = |issuers: Value| {
        statement(
            json!({"iss": TA, "sub": TA, "iat": NOW, "exp": NOW + 86_400, "jwks": public(&world.ta_key),
            "metadata": {"federation_entity": {"federation_fetch_endpoint": format!("{TA}/fetch"), "federation_list_endpoint": format!("{TA}/list")}},
            "trust_mark_issuers": issuers}),
            &world.ta_key,
        )
    };
    let mut anchor = world.anchor();
    anchor.required_trust_marks = vec!["https://ta.test.example/openid_provider/public".into()];
    let named = json!({"https://ta.test.example/openid_provider/public": [TA]});
    world.serve(&format!("{TA}/.well-known/openid-federation"), &configuration(named));
    resolve(world.served.as_ref(), &anchor, OP, NOW).await.unwrap();
    world.serve(&format!("{TA}/.well-known/openid-federation"), &configuration(json!({})));
    let err = resolve(world.served.as_ref(), &anchor, OP, NOW).await.unwrap_err().to_string();
    assert!(err.contains("no valid trust mark"), "{err}");
}

#[tokio::test]
async fn an_anchor_that_does_not_answer_is_unavailable_not_refused() {
    let world = World::new();
    world.served.0.lock().unwrap().clear();
    let federation = Federation::new(world.served.clone(), world.anchor());
    assert!(matches!(federation.providers(NOW).await, Err(FederationError::Unavailable(_))));
}
