//! A trust anchor and an OpenID provider made in the test, on loopback, signing with keys drawn here: the
//! federation's side of the door, for the door's own checks (session, principal, audit, outages). It is not the
//! reference provider: `spid_reference.rs` runs that one (PyPI `spid-cie-oidc`). What the provider signs follows
//! the rules' tables (token endpoint, userinfo); every check on it is the relying party's, unchanged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use josekit::jwe::JweHeader;
use josekit::jwk::Jwk;
use josekit::jwk::alg::rsa::RsaKeyPair;
use serde_json::{Value, json};
use sportello_federation::jose::{self, KeySet};
use sportello_federation::keys::KeyRing;
use sportello_federation::rp::{FISCAL_NUMBER, Level};

/// A login the provider is in the middle of.
#[derive(Clone)]
struct Grant {
    nonce: String,
    challenge: String,
    redirect: String,
    acr: String,
}

/// The federation's state: its keys, who the provider logs in, what it has granted.
pub struct Inner {
    pub base: String,
    ta_key: Jwk,
    op_fed_key: Jwk,
    op_key: Jwk,
    /// The relying party's keys (its encryption key receives userinfo).
    rp: KeyRing,
    /// The relying party's `client_id`.
    client_id: String,
    /// The fiscal number the provider releases for whoever logs in.
    pub fiscal_number: Mutex<String>,
    /// The `acr` it authenticates at.
    pub acr: Mutex<String>,
    grants: Mutex<HashMap<String, Grant>>,
    /// Access tokens revoked.
    pub revoked: Mutex<Vec<String>>,
    /// A provider running elsewhere that the anchor also lists and vouches for: its entity id, its federation keys.
    external: Mutex<Option<(String, Value)>>,
}

/// A running test federation.
#[derive(Clone)]
pub struct TestFederation(pub Arc<Inner>);

pub fn key(kid: &str) -> Jwk {
    use josekit::jwk::KeyPair as _;
    let mut jwk = RsaKeyPair::generate(2048).unwrap().to_jwk_private_key();
    jwk.set_key_id(kid);
    jwk
}

pub fn public(key: &Jwk) -> Value {
    KeySet(vec![jose::public_key(key).unwrap()]).to_value()
}

fn statement(claims: Value, key: &Jwk) -> String {
    jose::sign(&claims, "entity-statement+jwt", key).unwrap()
}

impl TestFederation {
    /// Starts one on a port of its own, releasing `fiscal_number`, for the relying party `client_id` holding `rp`'s
    /// keys.
    pub async fn start(rp: KeyRing, client_id: &str, fiscal_number: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let inner = Inner {
            base,
            ta_key: key("ta"),
            op_fed_key: key("op-federation"),
            op_key: key("op-oidc"),
            rp,
            client_id: client_id.to_owned(),
            fiscal_number: Mutex::new(fiscal_number.to_owned()),
            acr: Mutex::new(Level::L2.acr().to_owned()),
            grants: Mutex::default(),
            revoked: Mutex::default(),
            external: Mutex::default(),
        };
        let federation = Self(Arc::new(inner));
        let router = axum::Router::new()
            .route("/ta/.well-known/openid-federation", get(ta_configuration))
            .route("/ta/list", get(list))
            .route("/ta/fetch", get(fetch))
            .route("/op/.well-known/openid-federation", get(op_configuration))
            .route("/op/authorization", get(authorization))
            .route("/op/token", post(token))
            .route("/op/userinfo", get(userinfo))
            .route("/op/revocation", post(revocation))
            .with_state(federation.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        federation
    }

    pub fn anchor(&self) -> String {
        format!("{}/ta", self.0.base)
    }

    pub fn provider(&self) -> String {
        format!("{}/op", self.0.base)
    }

    /// Has the anchor list and vouch for the provider `entity_id`, run elsewhere, whose federation keys are `jwks`.
    pub fn vouch_for(&self, entity_id: &str, jwks: Value) {
        *self.0.external.lock().unwrap() = Some((entity_id.to_owned(), jwks));
    }

    /// The anchor's public keys, as its operator would hand them to Sportello's.
    pub fn anchor_jwks(&self) -> Value {
        public(&self.0.ta_key)
    }
}

fn jwt(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/entity-statement+jwt")], body).into_response()
}

async fn ta_configuration(State(f): State<TestFederation>) -> Response {
    let ta = f.anchor();
    let now = chrono::Utc::now().timestamp();
    jwt(statement(
        json!({"iss": ta, "sub": ta, "iat": now, "exp": now + 3600, "jwks": public(&f.0.ta_key),
            "metadata": {"federation_entity": {"federation_fetch_endpoint": format!("{ta}/fetch"), "federation_list_endpoint": format!("{ta}/list")}}}),
        &f.0.ta_key,
    ))
}

async fn list(State(f): State<TestFederation>) -> Response {
    let mut providers = vec![f.provider()];
    providers.extend(f.0.external.lock().unwrap().as_ref().map(|(id, _)| id.clone()));
    axum::Json(json!(providers)).into_response()
}

async fn fetch(State(f): State<TestFederation>, Query(q): Query<HashMap<String, String>>) -> Response {
    let now = chrono::Utc::now().timestamp();
    let external = f.0.external.lock().unwrap().clone().filter(|(id, _)| q.get("sub") == Some(id));
    let (sub, jwks) = match external {
        Some(external) => external,
        None if q.get("sub") == Some(&f.provider()) => (f.provider(), public(&f.0.op_fed_key)),
        None => return StatusCode::NOT_FOUND.into_response(),
    };
    jwt(statement(
        json!({"iss": f.anchor(), "sub": sub, "iat": now, "exp": now + 3600, "jwks": jwks,
            "metadata_policy": {"openid_provider": {"id_token_signing_alg_values_supported": {"subset_of": ["RS256", "ES256"]}}}}),
        &f.0.ta_key,
    ))
}

async fn op_configuration(State(f): State<TestFederation>) -> Response {
    let op = f.provider();
    let now = chrono::Utc::now().timestamp();
    let metadata = json!({
        "issuer": op,
        "authorization_endpoint": format!("{op}/authorization"),
        "token_endpoint": format!("{op}/token"),
        "userinfo_endpoint": format!("{op}/userinfo"),
        "revocation_endpoint": format!("{op}/revocation"),
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["RS256", "HS256"],
        "jwks": public(&f.0.op_key),
    });
    jwt(statement(
        json!({"iss": op, "sub": op, "iat": now, "exp": now + 3600, "jwks": public(&f.0.op_fed_key),
            "authority_hints": [f.anchor()],
            "metadata": {"openid_provider": metadata, "federation_entity": {"organization_name": "Provider di prova"}}}),
        &f.0.op_fed_key,
    ))
}

/// Logs whoever comes in at once (the test is the citizen) and sends the browser back with a code.
async fn authorization(State(f): State<TestFederation>, Query(q): Query<HashMap<String, String>>) -> Response {
    // The request object must be signed by the relying party's signing key.
    let signing = f.0.rp.signing.public().unwrap();
    let Ok(request) = jose::verify(&q["request"], &signing) else {
        return (StatusCode::BAD_REQUEST, "invalid_request_object").into_response();
    };
    let claim = |n: &str| request.claims[n].as_str().unwrap_or_default().to_owned();
    if claim("code_challenge_method") != "S256" {
        return (StatusCode::BAD_REQUEST, "PKCE S256 required").into_response();
    }
    let code = jose::random_alphanumeric(32).unwrap();
    let grant = Grant {
        nonce: claim("nonce"),
        challenge: claim("code_challenge"),
        redirect: claim("redirect_uri"),
        acr: f.0.acr.lock().unwrap().clone(),
    };
    f.0.grants.lock().unwrap().insert(code.clone(), grant.clone());
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", &code)
        .append_pair("state", &claim("state"))
        .append_pair("iss", &f.provider())
        .finish();
    Redirect::to(&format!("{}?{query}", grant.redirect)).into_response()
}

async fn token(State(f): State<TestFederation>, Form(form): Form<HashMap<String, String>>) -> Response {
    let Some(grant) = f.0.grants.lock().unwrap().remove(&form["code"]) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant"}))).into_response();
    };
    let signing = f.0.rp.signing.public().unwrap();
    let assertion_ok = jose::verify(&form["client_assertion"], &signing).is_ok();
    if !assertion_ok || jose::pkce_challenge(&form["code_verifier"]) != grant.challenge {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_client"}))).into_response();
    }
    let now = chrono::Utc::now().timestamp();
    let access = jose::random_alphanumeric(40).unwrap();
    let id_token = jose::sign(
        &json!({"iss": f.provider(), "sub": "pairwise-42", "aud": form["client_id"], "acr": grant.acr,
            "at_hash": jose::half_hash("RS256", &access), "iat": now, "nbf": now, "exp": now + 300,
            "jti": jose::random_alphanumeric(16).unwrap(), "nonce": grant.nonce}),
        "JWT",
        &f.0.op_key,
    )
    .unwrap();
    axum::Json(json!({"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}))
        .into_response()
}

async fn userinfo(State(f): State<TestFederation>, headers: HeaderMap) -> Response {
    let now = chrono::Utc::now().timestamp();
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !bearer.starts_with("Bearer ") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let inner = jose::sign(
        &json!({"iss": f.provider(), "aud": f.0.client_id, "sub": "pairwise-42", "iat": now, "exp": now + 300,
            "given_name": "Mario", "family_name": "Rossi", FISCAL_NUMBER: *f.0.fiscal_number.lock().unwrap()}),
        "JWT",
        &f.0.op_key,
    )
    .unwrap();
    let key = jose::public_key(f.0.rp.encryption.current()).unwrap();
    let mut header = JweHeader::new();
    header.set_content_encryption("A256CBC-HS512");
    header.set_content_type("JWT");
    header.set_key_id(key.key_id().unwrap());
    let encrypter = josekit::jwe::RSA_OAEP_256.encrypter_from_jwk(&key).unwrap();
    let body = josekit::jwe::serialize_compact(inner.as_bytes(), &header, &encrypter).unwrap();
    ([(header::CONTENT_TYPE, "application/jose")], body).into_response()
}

async fn revocation(State(f): State<TestFederation>, Form(form): Form<HashMap<String, String>>) -> Response {
    f.0.revoked.lock().unwrap().push(form.get("token").cloned().unwrap_or_default());
    StatusCode::OK.into_response()
}
