//! A secret the configuration holds (the CSRF key, the gate's signing keys), written in hex. A leaf: the
//! configuration and the gate's own section both read it.

use serde::Deserialize;

/// A secret written in hex in the configuration; its `Debug` is redacted so that it never reaches a log.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretHex(pub String);

impl std::fmt::Debug for SecretHex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHex(<redacted>)")
    }
}
