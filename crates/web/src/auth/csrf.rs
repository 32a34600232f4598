//! CSRF tokens: an HMAC-SHA256, under a key of the portal, of a value only this client holds — before login a random
//! `__Host-sportello_csrf` cookie (a double submit that a sibling domain cannot forge, since it cannot compute the
//! HMAC), after login the hash of the session id. A form carries the token in a hidden field; a POST without the
//! right one is refused with 403.
//!
//! The same key signs the device cookie's tags ([`Binding::Device`], `super::device`), under its own domain.

use hmac::{KeyInit, Mac as _};
use rand::TryRng as _;

use crate::error::AuthError;

/// The cookie holding the pre-login CSRF value.
pub const CSRF_COOKIE: &str = "__Host-sportello_csrf";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// What a token is bound to.
#[derive(Debug, Clone, Copy)]
pub enum Binding<'a> {
    /// The value of the pre-login CSRF cookie.
    PreLogin(&'a str),
    /// The hash of the session id (logged-in forms).
    Session(&'a str),
    /// A device id and a codice fiscale, as `<id>:<codice fiscale>`: the tag saying that person logged in from
    /// that device (`super::device`).
    Device(&'a str),
    /// A pending SPID/CIE login's cookie body (`super::oidc::pending`).
    Pending(&'a str),
}

/// The key CSRF tokens are signed with; its `Debug` is redacted.
#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl CsrfKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, AuthError> {
        let mut key = [0u8; 32];
        rand::rngs::SysRng.try_fill_bytes(&mut key).map_err(|e| AuthError::Rng(e.to_string()))?;
        Ok(CsrfKey(key))
    }

    /// A key written as 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, AuthError> {
        let bytes = hex::decode(hex.trim()).map_err(|_| AuthError::CsrfKey)?;
        <[u8; 32]>::try_from(bytes.as_slice()).map(CsrfKey).map_err(|_| AuthError::CsrfKey)
    }

    fn mac(&self, binding: Binding<'_>) -> HmacSha256 {
        // A 32-byte key is always accepted by HMAC (any length is).
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        let (domain, value) = match binding {
            Binding::PreLogin(value) => (&b"sportello-csrf-pre-login\0"[..], value),
            Binding::Session(value) => (&b"sportello-csrf-session\0"[..], value),
            Binding::Device(value) => (&b"sportello-device\0"[..], value),
            Binding::Pending(value) => (&b"sportello-oidc-pending\0"[..], value),
        };
        mac.update(domain);
        mac.update(value.as_bytes());
        mac
    }

    /// The token for forms bound to `binding`, in hex.
    pub fn token(&self, binding: Binding<'_>) -> String {
        hex::encode(self.mac(binding).finalize().into_bytes())
    }

    /// Whether `token` is the one for `binding`, compared in constant time.
    pub fn verify(&self, binding: Binding<'_>, token: &str) -> bool {
        match hex::decode(token.trim()) {
            Ok(bytes) => self.mac(binding).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_only_its_own_binding_under_its_own_key() {
        let key = CsrfKey::generate().unwrap();
        let token = key.token(Binding::PreLogin("abc"));
        assert!(key.verify(Binding::PreLogin("abc"), &token));
        assert!(!key.verify(Binding::PreLogin("abd"), &token), "another client's cookie");
        assert!(!key.verify(Binding::Session("abc"), &token), "a pre-login token is not a session token");
        assert!(!CsrfKey::generate().unwrap().verify(Binding::PreLogin("abc"), &token), "another key");
        assert!(!key.verify(Binding::PreLogin("abc"), ""));
        assert!(!key.verify(Binding::PreLogin("abc"), "not hex"));
        assert!(!key.verify(Binding::PreLogin("abc"), &token[..62]));
    }

    #[test]
    fn a_configured_key_is_64_hex_digits() {
        let hex = "00".repeat(32);
        let a = CsrfKey::from_hex(&hex).unwrap();
        let b = CsrfKey::from_hex(&hex).unwrap();
        assert_eq!(a.token(Binding::Session("x")), b.token(Binding::Session("x")), "nodes sharing a key agree");
        assert!(CsrfKey::from_hex("00").is_err());
        assert!(CsrfKey::from_hex(&"zz".repeat(32)).is_err());
        assert!(!format!("{a:?}").contains("00"));
    }
}
