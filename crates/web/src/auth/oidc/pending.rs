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

/// Whom a login by SPID or CIE is for: a citizen (at `/accedi`), an intermediary's operator (at
/// `/intermediari/accedi`) or an officer of the institute (at `/ufficio/accedi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum For {
    /// A citizen, for themselves.
    Citizen,
    /// An operator seated at an intermediary's office.
    Operator,
    /// An officer of the institute.
    Office,
}

/// The cookie saying that the pending login is an intermediary's operator's: a tag bound to the pending login's
/// `state`, so that it marks that login and no other.
pub const OPERATOR_MARK_COOKIE: &str = "__Host-sportello_oidc_intermediari";
/// The same for an officer's login.
pub const OFFICE_MARK_COOKIE: &str = "__Host-sportello_oidc_ufficio";

/// The mark's cookie and what its tag binds besides the login's `state`; a citizen's login has no mark.
fn mark_of(who: For) -> Option<(&'static str, &'static str)> {
    match who {
        For::Citizen => None,
        For::Operator => Some((OPERATOR_MARK_COOKIE, "intermediari")),
        For::Office => Some((OFFICE_MARK_COOKIE, "ufficio")),
    }
}

fn binding(door: &str, pending: &Pending) -> String {
    format!("{door} {}", pending.state)
}

/// The `Set-Cookie` values marking `pending` as `who`'s login (lasting [`MAX_AGE_SECS`]) and clearing the other
/// marks a login started earlier in this browser may have left.
pub fn marks(key: &CsrfKey, pending: &Pending, who: For) -> Vec<HeaderValue> {
    [For::Operator, For::Office]
        .into_iter()
        .filter_map(|door| {
            let (name, bound) = mark_of(door)?;
            let value = if door == who {
                let tag = key.token(Binding::Pending(&binding(bound, pending)));
                format!("{name}={tag}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={MAX_AGE_SECS}")
            } else {
                format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
            };
            HeaderValue::from_str(&value).ok()
        })
        .collect()
}

/// Whom the request's cookies mark `pending` as being for: a citizen unless a mark bound to it says otherwise.
pub fn marked_for(key: &CsrfKey, headers: &HeaderMap, pending: &Pending) -> For {
    [For::Operator, For::Office]
        .into_iter()
        .find(|door| {
            mark_of(*door).is_some_and(|(name, bound)| {
                cookie_at_most(headers, name, MAX_LEN)
                    .is_some_and(|tag| key.verify(Binding::Pending(&binding(bound, pending)), tag))
            })
        })
        .unwrap_or(For::Citizen)
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
    fn a_mark_marks_only_its_own_pending_login_for_its_own_door() {
        let key = CsrfKey::generate().unwrap();
        let cookies = |values: Vec<HeaderValue>| {
            let pairs: Vec<String> = values
                .iter()
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
                .filter(|pair| !pair.ends_with('='))
                .collect();
            let mut h = HeaderMap::new();
            h.insert(axum::http::header::COOKIE, HeaderValue::from_str(&pairs.join("; ")).unwrap());
            h
        };
        let operator = cookies(marks(&key, &pending(), For::Operator));
        assert_eq!(marked_for(&key, &operator, &pending()), For::Operator);
        let office = cookies(marks(&key, &pending(), For::Office));
        assert_eq!(marked_for(&key, &office, &pending()), For::Office);
        let mut other = pending();
        other.state = "t".repeat(32);
        assert_eq!(marked_for(&key, &office, &other), For::Citizen, "another login's mark");
        assert_eq!(marked_for(&key, &HeaderMap::new(), &pending()), For::Citizen, "no mark");
        // An operator's tag presented under the office's cookie name marks nothing.
        let tag = operator.get(axum::http::header::COOKIE).unwrap().to_str().unwrap().split_once('=').unwrap().1;
        let swapped = cookies(vec![HeaderValue::from_str(&format!("{OFFICE_MARK_COOKIE}={tag}")).unwrap()]);
        assert_eq!(marked_for(&key, &swapped, &pending()), For::Citizen);
        assert_eq!(marks(&key, &pending(), For::Citizen).len(), 2, "a citizen's login clears both marks");
    }
}
