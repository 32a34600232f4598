//! `[federation]`: Sportello as a relying party of the SPID/CIE OpenID Connect Federation. Off when absent.

use std::path::PathBuf;

use serde::Deserialize;

/// The relying party's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationSection {
    /// Sportello's entity identifier and `client_id`: the HTTPS URL it is reached at, e.g.
    /// `https://sportello.inps.example`.
    pub client_id: String,
    /// The folder `sportello keys generate --dir` wrote (`federation/`, `signing/`, `encryption/`).
    pub keys_dir: PathBuf,
    /// The trust anchor's entity identifier.
    pub trust_anchor: String,
    /// A file holding the trust anchor's federation public keys (`{"keys": [...]}`), as its operator publishes
    /// them out of band: Sportello never takes them from the anchor's own answer.
    pub trust_anchor_jwks: PathBuf,
    /// The entity identifier of the CIE provider among those the anchor lists; the others are SPID's.
    #[serde(default)]
    pub cie_provider: Option<String>,
    /// The SPID level asked for: 2 (default) or 3.
    #[serde(default = "default_level")]
    pub spid_level: u8,
    /// Trust mark ids every provider must show.
    #[serde(default)]
    pub required_trust_marks: Vec<String>,
    /// A file holding Sportello's own trust marks (`[{"id": …, "trust_mark": JWT}]`), as the anchor issued them.
    #[serde(default)]
    pub trust_marks_file: Option<PathBuf>,
    /// The organisation's name in the entity configuration.
    #[serde(default = "default_organization")]
    pub organization_name: String,
    /// Contacts for the federation's operators.
    #[serde(default)]
    pub contacts: Vec<String>,
    /// Seconds to wait for the anchor or a provider before answering 503.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_level() -> u8 {
    2
}

fn default_organization() -> String {
    "Sportello".to_owned()
}

fn default_timeout() -> u64 {
    5
}
