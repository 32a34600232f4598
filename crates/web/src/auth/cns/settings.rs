//! `[cns]`: the certificate listener's address, its own certificate, the trust list of the CAs that issue CNS and
//! CIE certificates, the accepted certificate policies, and where the citizen continues.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use serde::Deserialize;

/// The `[cns]` section. Absent: no CNS login. For example:
///
/// ```toml
/// [cns]
/// listen = "0.0.0.0:8443"
/// url = "https://sportello.example.it:8443"
/// portal_url = "https://sportello.example.it"
/// certificate = "/etc/sportello/cns/listener.pem"
/// key = "/etc/sportello/cns/listener.key"
/// trust_list = "/etc/sportello/cns/trust-list.pem"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnsSection {
    /// Where the certificate listener listens.
    pub listen: SocketAddr,
    /// Its address as browsers reach it: the same host name as the portal's, another port (the session cookie is the
    /// host's, whatever the port).
    pub url: String,
    /// The portal's address, where the citizen continues once logged in.
    pub portal_url: String,
    /// The listener's certificate chain, PEM.
    pub certificate: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// The CAs whose CNS and CIE certificates are accepted, PEM (the operator's trust list, e.g. from AgID's).
    pub trust_list: PathBuf,
    /// The accepted certificate-policy OIDs. Default: the CNS's (1.3.76.16.2.1) and the CIE's (1.3.76.47.4).
    #[serde(default = "default_policies")]
    pub policies: Vec<String>,
}

fn default_policies() -> Vec<String> {
    vec!["1.3.76.16.2.1".to_owned(), "1.3.76.47.4".to_owned()]
}

/// Why the certificate listener cannot start.
#[derive(Debug, thiserror::Error)]
pub enum CnsError {
    /// A file could not be read or holds nothing usable.
    #[error("cns.{field} ({path}): {why}")]
    File {
        /// The setting.
        field: &'static str,
        /// Its value.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The TLS settings were refused.
    #[error("cns: {0}")]
    Tls(String),
}

impl CnsSection {
    /// The listener's TLS settings: its certificate, client certificates asked for but not required (a page explains
    /// a missing one), verified against the trust list, TLS 1.2 allowed besides 1.3 (many cards cannot make the
    /// RSA-PSS signatures TLS 1.3 needs).
    pub fn tls(&self) -> Result<Arc<rustls::ServerConfig>, CnsError> {
        let file = |field: &'static str, path: &PathBuf, why: String| CnsError::File {
            field,
            path: path.display().to_string(),
            why,
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.certificate)
            .and_then(Iterator::collect)
            .map_err(|e| file("certificate", &self.certificate, e.to_string()))?;
        if chain.is_empty() {
            return Err(file("certificate", &self.certificate, "no certificate in the file".into()));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| file("key", &self.key, e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.trust_list)
            .and_then(Iterator::collect)
            .map_err(|e| file("trust_list", &self.trust_list, e.to_string()))?;
        for ca in cas {
            roots.add(ca).map_err(|e| file("trust_list", &self.trust_list, e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(file("trust_list", &self.trust_list, "no CA certificate in the file".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .allow_unauthenticated()
            .build()
            .map_err(|e| CnsError::Tls(e.to_string()))?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| CnsError::Tls(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| CnsError::Tls(e.to_string()))?;
        Ok(Arc::new(config))
    }
}
