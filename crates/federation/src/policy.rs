//! The trust anchor's metadata policy, applied to a provider's metadata (OpenID Federation's operators as the
//! SPID/CIE profile uses them): `value`, `add`, `default`, `one_of`, `subset_of`, `superset_of`, `essential`.
//! A value the policy does not allow refuses the provider.

use serde_json::{Map, Value};

use crate::error::Refusal;

/// Applies `policy` (claim → operators) to `metadata` in place.
pub fn apply(metadata: &mut Map<String, Value>, policy: &Map<String, Value>) -> Result<(), Refusal> {
    for (claim, operators) in policy {
        let operators =
            operators.as_object().ok_or_else(|| Refusal::new(format!("policy of '{claim}' is not an object")))?;
        apply_claim(metadata, claim, operators)?;
    }
    Ok(())
}

fn apply_claim(metadata: &mut Map<String, Value>, claim: &str, ops: &Map<String, Value>) -> Result<(), Refusal> {
    let refuse = |what: &str| Err(Refusal::new(format!("metadata '{claim}' {what}")));
    if let Some(value) = ops.get("value") {
        if value.is_null() {
            metadata.remove(claim);
        } else {
            metadata.insert(claim.to_owned(), value.clone());
        }
    }
    if let Some(Value::Array(add)) = ops.get("add") {
        let entry = metadata.entry(claim.to_owned()).or_insert_with(|| Value::Array(Vec::new()));
        match entry {
            Value::Array(values) => {
                for v in add {
                    if !values.contains(v) {
                        values.push(v.clone());
                    }
                }
            }
            _ => return refuse("is not a list the policy can add to"),
        }
    }
    if let Some(default) = ops.get("default") {
        metadata.entry(claim.to_owned()).or_insert_with(|| default.clone());
    }
    if let (Some(Value::Array(allowed)), Some(value)) = (ops.get("one_of"), metadata.get(claim))
        && !allowed.contains(value)
    {
        return refuse("is not one of the values the trust anchor allows");
    }
    if let Some(Value::Array(allowed)) = ops.get("subset_of")
        && let Some(value) = metadata.get_mut(claim)
    {
        let Value::Array(values) = value else { return refuse("is not a list") };
        values.retain(|v| allowed.contains(v));
        if values.is_empty() {
            metadata.remove(claim);
        }
    }
    if let Some(Value::Array(required)) = ops.get("superset_of")
        && let Some(value) = metadata.get(claim)
    {
        let Value::Array(values) = value else { return refuse("is not a list") };
        if !required.iter().all(|r| values.contains(r)) {
            return refuse("lacks values the trust anchor requires");
        }
    }
    if ops.get("essential") == Some(&Value::Bool(true)) && !metadata.contains_key(claim) {
        return refuse("is missing and the trust anchor requires it");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(metadata: Value, policy: Value) -> Result<Value, Refusal> {
        let mut m = metadata.as_object().unwrap().clone();
        apply(&mut m, policy.as_object().unwrap())?;
        Ok(Value::Object(m))
    }

    #[test]
    fn subset_of_narrows_a_list_to_what_the_anchor_allows() {
        let out = run(
            json!({"id_token_signing_alg_values_supported": ["RS256", "HS256", "ES256"]}),
            json!({"id_token_signing_alg_values_supported": {"subset_of": ["RS256", "ES256", "RS512"]}}),
        )
        .unwrap();
        assert_eq!(out["id_token_signing_alg_values_supported"], json!(["RS256", "ES256"]));
    }

    #[test]
    fn value_add_and_default_set_what_the_provider_left_out() {
        let out = run(
            json!({"scopes_supported": ["openid"]}),
            json!({"scopes_supported": {"add": ["offline_access"]}, "client_registration_types_supported": {"default": ["automatic"]}, "op_policy_uri": {"value": "https://ta.example/policy"}}),
        )
        .unwrap();
        assert_eq!(out["scopes_supported"], json!(["openid", "offline_access"]));
        assert_eq!(out["client_registration_types_supported"], json!(["automatic"]));
        assert_eq!(out["op_policy_uri"], json!("https://ta.example/policy"));
    }

    #[test]
    fn a_value_outside_one_of_or_a_missing_essential_refuses_the_provider() {
        let err = run(
            json!({"token_endpoint_auth_method": "client_secret_basic"}),
            json!({"token_endpoint_auth_method": {"one_of": ["private_key_jwt"]}}),
        );
        assert!(err.unwrap_err().0.contains("token_endpoint_auth_method"));
        let err = run(json!({}), json!({"userinfo_endpoint": {"essential": true}}));
        assert!(err.unwrap_err().0.contains("missing"));
        let err = run(
            json!({"code_challenge_methods_supported": ["plain"]}),
            json!({"code_challenge_methods_supported": {"superset_of": ["S256"]}}),
        );
        assert!(err.unwrap_err().0.contains("requires"));
    }
}
