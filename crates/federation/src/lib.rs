//! The relying party of the SPID/CIE OpenID Connect Federation profile ("SPID/CIE OIDC Federation", the public
//! technical rules at docs.italia.it): Sportello's keys and entity configuration, the providers discovered from a
//! trust anchor and their trust chains, the trust anchor's metadata policy, the signed authorization request with
//! PKCE, and the checks on the ID token and the signed-then-encrypted userinfo that end in a codice fiscale.
//!
//! Nothing here knows the portal: the web door (`sportello-web`, `auth/oidc/`) keeps the browser's pending login
//! and opens the session. Every check that refuses says why, in a [`Refusal`] fit for a log line; no token, code,
//! state or verifier is ever part of one.

pub mod chain;
pub mod error;
pub mod http;
pub mod jose;
pub mod keys;
pub mod policy;
pub mod rp;
pub mod statement;

pub use error::{FederationError, Refusal};
