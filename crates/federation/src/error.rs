//! Why a provider, a statement or a token is not believed, and when a provider cannot be reached.

/// A check that failed: what was wrong, in words fit for a log line (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

impl Refusal {
    /// A refusal saying `why`.
    pub fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

/// What can go wrong talking to the federation.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// Something signed or sent was not believed.
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    /// A provider or the trust anchor did not answer, or answered with a server error: try again later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Sportello's own keys or settings are unusable.
    #[error("configuration: {0}")]
    Config(String),
}

impl FederationError {
    /// A refusal saying `why`.
    pub fn refused(why: impl Into<String>) -> Self {
        Self::Refused(Refusal::new(why))
    }
}

impl From<josekit::JoseError> for FederationError {
    fn from(e: josekit::JoseError) -> Self {
        Self::refused(format!("JOSE: {e}"))
    }
}
