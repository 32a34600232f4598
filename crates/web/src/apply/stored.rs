//! An application as the store keeps it, read back for the pages, the receipt and the API: the citizen's own one by
//! its protocol number (the access audited), the reasons and the details written with it, and where it stands.

use sportello_domain::law::Reason;
use sportello_store::{Application, PaymentRecord};

use super::form::Details;
use super::standing::Standing;
use crate::auth::AuthState;
use crate::auth::session::{Citizen, ClientAddr};
use crate::error::ServiceError;
use crate::schemes::find_scheme;

/// Longest protocol number looked up; ours are 26 characters.
pub(crate) const MAX_PROTOCOL: usize = 64;

/// The citizen's own application numbered `protocol`, the access audited (`view_application`); `None` for a number
/// that is not one of theirs, exactly as for one that does not exist.
pub async fn application_of(
    state: &AuthState,
    citizen: &Citizen,
    protocol: &str,
    from: &ClientAddr,
) -> Result<Option<Application>, ServiceError> {
    if protocol.len() > MAX_PROTOCOL {
        return Ok(None);
    }
    let Some(application) = state.app.store.application(&citizen.codice_fiscale, protocol).await? else {
        return Ok(None);
    };
    citizen.audit(state, "view_application", Some(&application.protocol), from).await?;
    Ok(Some(application))
}

/// The reasons stored with `application` (none if they cannot be read back, which is logged).
pub fn reasons_of(application: &Application) -> Vec<Reason> {
    serde_json::from_value::<Vec<Reason>>(application.reasons.clone())
        .inspect_err(|e| tracing::error!(error = %e, protocol = application.protocol, "unreadable reasons"))
        .unwrap_or_default()
}

/// The details stored with `application` (`None` if they cannot be read back, which is logged).
pub fn details_of(application: &Application) -> Option<Details> {
    serde_json::from_value::<Details>(application.details.clone())
        .inspect_err(|e| tracing::error!(error = %e, protocol = application.protocol, "unreadable details"))
        .ok()
}

/// Where `application` stands, given its citizen's `payments` (the store's [`PaymentRecord`]s, of any of their
/// applications).
pub fn standing(state: &AuthState, application: &Application, payments: &[PaymentRecord]) -> Standing {
    let own: Vec<&PaymentRecord> = payments.iter().filter(|p| p.protocol == application.protocol).collect();
    let limit_ref = find_scheme(state, &application.scheme).map_or("", |s| s.spending_limit_ref());
    Standing::of(application, &own, limit_ref)
}
