//! The browser's pending login, from the redirect to the provider until its callback: the provider, `state`,
//! `nonce`, the PKCE verifier and the level, in a `__Host-` cookie (`HttpOnly`, `Secure`, `SameSite=Lax` so that the
//! provider's redirect back carries it) with an HMAC under the portal's key. The callback consumes it: a replayed
//! callback, one from another browser, or one older than [`MAX_AGE_SECS`] finds no pending login.

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sportello_federation::rp::Pending;

use crate::auth::csrf::{Binding, CsrfKey};
use crate::auth::session::cookie_at_most;

/// The cookie's name.
pub const PENDING_COOKIE: &str = "__Host-sportello_oidc";
/// How long a login at the provider may take.
pub const MAX_AGE_SECS: i64 = 600;
const MAX_LEN: usize = 1024;

/// The cookie's value for `pending`: its JSON in base64url, a dot, its tag.
pub fn seal(key: &CsrfKey, pending: &Pending) -> String {
    let body = B64.encode(serde_json::to_vec(pending).unwrap_or_default());
    let tag = key.token(Binding::Pending(&body));
    format!("{body}.{tag}")
}

/// The pending login the request's cookie carries, if its tag is right and it is not older than [`MAX_AGE_SECS`].
pub fn open(key: &CsrfKey, headers: &HeaderMap, now: i64) -> Option<Pending> {
    let value = cookie_at_most(headers, PENDING_COOKIE, MAX_LEN)?;
    let (body, tag) = value.split_once('.')?;
    if !key.verify(Binding::Pending(body), tag) {
        return None;
    }
    let pending: Pending = serde_json::from_slice(&B64.decode(body).ok()?).ok()?;
    (pending.started <= now && now - pending.started <= MAX_AGE_SECS).then_some(pending)
}

/// The `Set-Cookie` value carrying `sealed`, lasting [`MAX_AGE_SECS`].
pub fn set(sealed: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{PENDING_COOKIE}={sealed}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={MAX_AGE_SECS}"
    ))
    .ok()
}

/// The cookie saying that the pending login is an intermediary's operator's, started at `/intermediari/accedi`: a tag
/// bound to the pending login's `state`, so that it marks that login and no other.
pub const OPERATOR_MARK_COOKIE: &str = "__Host-sportello_oidc_intermediari";

fn operator_binding(pending: &Pending) -> String {
    format!("intermediari {}", pending.state)
}

/// The `Set-Cookie` value marking `pending` as an operator's login, lasting [`MAX_AGE_SECS`].
pub fn mark_operator(key: &CsrfKey, pending: &Pending) -> Option<HeaderValue> {
    let tag = key.token(Binding::Pending(&operator_binding(pending)));
    HeaderValue::from_str(&format!(
        "{OPERATOR_MARK_COOKIE}={tag}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={MAX_AGE_SECS}"
    ))
    .ok()
}

/// Whether the request's cookies mark `pending` as an operator's login.
pub fn is_operator(key: &CsrfKey, headers: &HeaderMap, pending: &Pending) -> bool {
    cookie_at_most(headers, OPERATOR_MARK_COOKIE, MAX_LEN)
        .is_some_and(|tag| key.verify(Binding::Pending(&operator_binding(pending)), tag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_federation::rp::Level;

    fn pending() -> Pending {
        Pending {
            provider: "https://op.example".into(),
            state: "s".repeat(32),
            nonce: "n".repeat(32),
            verifier: "v".repeat(64),
            level: Level::L2,
            started: 1000,
        }
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::COOKIE, HeaderValue::from_str(&format!("{PENDING_COOKIE}={value}")).unwrap());
        h
    }

    #[test]
    fn a_sealed_pending_login_opens_only_under_its_key_unaltered_and_in_time() {
        let key = CsrfKey::generate().unwrap();
        let sealed = seal(&key, &pending());
        assert_eq!(open(&key, &headers(&sealed), 1100), Some(pending()));
        assert_eq!(open(&key, &headers(&sealed), 1000 + MAX_AGE_SECS + 1), None, "too old");
        assert_eq!(open(&CsrfKey::generate().unwrap(), &headers(&sealed), 1100), None, "another key");
        let mut other = pending();
        other.nonce = "m".repeat(32);
        let forged = format!("{}.{}", seal(&key, &other).split_once('.').unwrap().0, sealed.split_once('.').unwrap().1);
        assert_eq!(open(&key, &headers(&forged), 1100), None, "a body under another body's tag");
    }

    #[test]
    fn an_operators_mark_marks_only_its_own_pending_login() {
        let key = CsrfKey::generate().unwrap();
        let mark = mark_operator(&key, &pending()).unwrap();
        let tag = mark.to_str().unwrap().split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::COOKIE, HeaderValue::from_str(&format!("{OPERATOR_MARK_COOKIE}={tag}")).unwrap());
        assert!(is_operator(&key, &h, &pending()));
        let mut other = pending();
        other.state = "t".repeat(32);
        assert!(!is_operator(&key, &h, &other), "another login's mark");
        assert!(!is_operator(&key, &HeaderMap::new(), &pending()), "no mark");
    }
}
