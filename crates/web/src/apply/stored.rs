//! An application as the store keeps it, read back for the pages, the receipt and the API: the details written with
//! it, and where it stands. Reading the citizen's own applications is a use case
//! (`sportello_usecases::receipts`), audited there.

use sportello_store::{Application, PaymentRecord};

use super::form::Details;
use super::standing::Standing;
use crate::auth::AuthState;
use crate::schemes::find_scheme;

/// The details stored with `application` (`None` if they cannot be read back, which is logged).
pub fn details_of(application: &Application) -> Option<Details> {
    Details::stored(application)
}

/// Where `application` stands, given its citizen's `payments` (the store's [`PaymentRecord`]s, of any of their
/// applications).
pub fn standing(state: &AuthState, application: &Application, payments: &[PaymentRecord]) -> Standing {
    let own: Vec<&PaymentRecord> = payments.iter().filter(|p| application.protocol == p.protocol).collect();
    let limit_ref = find_scheme(state, &application.scheme).map_or("", |s| s.spending_limit_ref());
    Standing::of(application, &own, limit_ref)
}
