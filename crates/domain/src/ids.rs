//! Identifiers an application is known by, valid once built: the idempotency key a client submits it with, and the
//! protocol number its receipt gives.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest idempotency key a client may choose.
pub const MAX_IDEMPOTENCY_KEY: usize = 64;

/// What the institute's own keys start with ([`IdempotencyKey::grant`]): a `:` no client key may hold, so the two
/// never meet.
const GRANT_PREFIX: &str = "grant:";

/// The key an application is submitted with: together with the codice fiscale it makes resubmission idempotent.
/// A client's is 1 to 64 letters, digits, `-` or `_`; the institute's, for an indemnity it grants without an
/// application, is `grant:<scheme>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

/// Why a string is not an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("'{0}' is not an idempotency key: write 1 to 64 letters, digits, - or _")]
pub struct IdempotencyKeyError(pub String);

impl IdempotencyKey {
    /// A client's key: 1 to 64 ASCII letters, digits, `-` or `_` (the API's `Idempotency-Key` header, the form's
    /// hidden field).
    pub fn parse(key: &str) -> Result<Self, IdempotencyKeyError> {
        if is_client_key(key) { Ok(Self(key.to_owned())) } else { Err(IdempotencyKeyError(key.to_owned())) }
    }

    /// The institute's key for granting `scheme` to a beneficiary: one grant per person and scheme, whoever runs
    /// it and however often.
    pub fn grant(scheme: &str) -> Self {
        Self(format!("{GRANT_PREFIX}{scheme}"))
    }

    /// A key as stored: a client's, or the institute's for a grant.
    pub fn stored(key: &str) -> Result<Self, IdempotencyKeyError> {
        match key.strip_prefix(GRANT_PREFIX) {
            Some(scheme) if !scheme.is_empty() => Ok(Self(key.to_owned())),
            _ => Self::parse(key),
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_client_key(key: &str) -> bool {
    (1..=MAX_IDEMPOTENCY_KEY).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for IdempotencyKey {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for IdempotencyKey {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = IdempotencyKeyError;

    fn try_from(key: String) -> Result<Self, Self::Error> {
        Self::stored(&key)
    }
}

impl From<IdempotencyKey> for String {
    fn from(key: IdempotencyKey) -> Self {
        key.0
    }
}

/// Longest protocol number read from a request or a row.
pub const MAX_PROTOCOL: usize = 64;

/// The number an application's receipt gives: its decree's prefix, the year and a sequence
/// (`INPS-COVID-2020-000000001`). Read from a path or a row, it is 1 to 64 capital letters, digits or `-`; anything
/// else names no application.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProtocolNumber(String);

/// Why a string is not a protocol number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("'{0}' is not a protocol number: write capital letters, digits and - (e.g. INPS-COVID-2020-000000001)")]
pub struct ProtocolNumberError(pub String);

impl ProtocolNumber {
    /// A protocol number as a citizen, a path or a row gives it.
    pub fn parse(text: &str) -> Result<Self, ProtocolNumberError> {
        let valid = (1..=MAX_PROTOCOL).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if valid { Ok(Self(text.to_owned())) } else { Err(ProtocolNumberError(text.to_owned())) }
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for ProtocolNumber {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProtocolNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ProtocolNumber {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ProtocolNumber {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for ProtocolNumber {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<ProtocolNumber> for String {
    fn eq(&self, other: &ProtocolNumber) -> bool {
        *self == other.0
    }
}

impl std::borrow::Borrow<str> for ProtocolNumber {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProtocolNumber {
    type Error = ProtocolNumberError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<ProtocolNumber> for String {
    fn from(number: ProtocolNumber) -> Self {
        number.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_key_is_1_to_64_letters_digits_dashes_or_underscores() {
        for good in ["k", "form-1", "0123456789abcdef0123456789abcdef", "A_b-9", &"x".repeat(64)] {
            assert_eq!(IdempotencyKey::parse(good).map(|k| k.to_string()), Ok(good.to_owned()), "{good}");
        }
        for bad in ["", &"x".repeat(65), "with space", "grant:art84c1", "è", "a/b"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_protocol_number_is_capitals_digits_and_dashes() {
        for good in ["INPS-COVID-2020-000000001", "INPS-COVID-2020-000000001-BIS", &"A".repeat(64)] {
            assert_eq!(ProtocolNumber::parse(good).map(String::from), Ok(good.to_owned()), "{good}");
        }
        for bad in ["", &"A".repeat(65), "inps-covid-2020-1", "' OR '1'='1", "INPS COVID", "INPS/1"] {
            assert!(ProtocolNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_grant_key_is_stored_but_never_a_client_key() {
        let grant = IdempotencyKey::grant("art84c1");
        assert_eq!(grant.as_str(), "grant:art84c1");
        assert_eq!(IdempotencyKey::stored("grant:art84c1"), Ok(grant));
        assert!(IdempotencyKey::stored("grant:").is_err());
        assert!(IdempotencyKey::stored("").is_err());
    }

    #[test]
    fn it_travels_as_a_plain_json_string() {
        let key = IdempotencyKey::parse("form-1").unwrap();
        assert_eq!(serde_json::to_string(&key).unwrap(), r#""form-1""#);
        assert_eq!(serde_json::from_str::<IdempotencyKey>(r#""form-1""#).unwrap(), key);
        assert!(serde_json::from_str::<IdempotencyKey>(r#""no good""#).is_err());
    }
}
