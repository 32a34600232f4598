//! What a card's authentication certificate says about its holder. The TLS layer has already checked that it chains
//! to the trust list and is valid now; here, that it is an authentication certificate of the CNS or the CIE (one of
//! the configured certificate-policy OIDs, `clientAuth` among its extended key usages) and whose: the codice fiscale
//! in the subject's `serialNumber` (`TINIT-…`, as the CIE and newer cards carry it) or at the start of its common
//! name (`<codice fiscale>/<card number>.<hash>`, as CNS cards carry it).

use sportello_domain::CodiceFiscale;
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};

/// The holder a certificate names, and the policy that made it acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The holder's codice fiscale.
    pub codice_fiscale: CodiceFiscale,
    /// The certificate policy found among the accepted ones.
    pub policy: String,
}

/// Why a certificate opens no session. For the log: the page says only what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not DER X.509.
    #[error("the certificate cannot be read: {0}")]
    Unreadable(String),
    /// None of the accepted policies.
    #[error("the certificate carries none of the accepted policies (it has: {0})")]
    Policy(String),
    /// Not for client authentication.
    #[error("the certificate is not for client authentication")]
    NotClientAuth,
    /// No codice fiscale in the subject.
    #[error("the certificate's subject names no valid codice fiscale")]
    NoCodiceFiscale,
}

/// The holder of the DER certificate `der`, if it carries one of `policies` and a codice fiscale.
pub fn holder(der: &[u8], policies: &[String]) -> Result<Holder, Refused> {
    let (_, certificate) = X509Certificate::from_der(der).map_err(|e| Refused::Unreadable(e.to_string()))?;
    let mut found = Vec::new();
    let mut client_auth = None;
    for extension in certificate.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::CertificatePolicies(list) => {
                found.extend(list.iter().map(|p| p.policy_id.to_id_string()));
            }
            ParsedExtension::ExtendedKeyUsage(usage) => client_auth = Some(usage.client_auth || usage.any),
            _ => {}
        }
    }
    let Some(policy) = found.iter().find(|p| policies.contains(p)).cloned() else {
        return Err(Refused::Policy(if found.is_empty() { "none".to_owned() } else { found.join(", ") }));
    };
    if client_auth == Some(false) {
        return Err(Refused::NotClientAuth);
    }
    let subject = certificate.subject();
    let from_serial = subject
        .iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER)
        .filter_map(|a| a.as_str().ok())
        .find_map(|s| s.strip_prefix("TINIT-").and_then(|cf| CodiceFiscale::parse(cf).ok()));
    let from_name = || {
        subject
            .iter_common_name()
            .filter_map(|a| a.as_str().ok())
            .find_map(|cn| cn.split('/').next().and_then(|cf| CodiceFiscale::parse(cf).ok()))
    };
    let codice_fiscale = from_serial.or_else(from_name).ok_or(Refused::NoCodiceFiscale)?;
    Ok(Holder { codice_fiscale, policy })
}
