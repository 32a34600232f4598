//! The subject's applications and their receipts, whichever door reads them: every read is of the principal's
//! subject's own applications and leaves an audit row before the data is answered. Another person's protocol number
//! is not found, exactly as one that does not exist.

use chrono::{DateTime, Utc};
use sportello_domain::ProtocolNumber;
use sportello_store::{Application, PaymentRecord, Store};

use crate::acting::Acting;
use crate::error::UseCaseError;

/// Longest protocol number looked up; ours are 26 characters.
pub const MAX_PROTOCOL: usize = sportello_domain::ids::MAX_PROTOCOL;

/// Applications with the payments made or planned for them.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The subject's applications, oldest first.
    pub applications: Vec<Application>,
    /// The subject's payments, of any of those applications.
    pub payments: Vec<PaymentRecord>,
}

/// One application with the subject's payments, to tell where it stands.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The application.
    pub application: Application,
    /// The subject's payments, of any of their applications.
    pub payments: Vec<PaymentRecord>,
}

/// Every application of the principal's subject, oldest first, with their payments; the reading audited
/// (`list_applications`).
pub async fn list(store: &dyn Store, who: &Acting, now: DateTime<Utc>) -> Result<Listed, UseCaseError> {
    let subject = who.principal.subject;
    let applications = store.applications_of(&subject).await?;
    who.audit(store, "list_applications", None, now).await?;
    let payments = store.payments_of(&subject).await?;
    Ok(Listed { applications, payments })
}

/// The principal's subject's own application numbered `protocol`, with their payments, the reading audited
/// (`view_application`); [`UseCaseError::NoSuchApplication`] for a number that is not one of theirs.
pub async fn one(store: &dyn Store, who: &Acting, protocol: &str, now: DateTime<Utc>) -> Result<Receipt, UseCaseError> {
    let application = own(store, who, protocol).await?;
    who.audit(store, "view_application", Some(&application.protocol), now).await?;
    let payments = store.payments_of(&who.principal.subject).await?;
    Ok(Receipt { application, payments })
}

/// The receipt of `application`, just recorded for the principal's subject by this door: its payments read, no
/// further audit row (the submission's own is written with it).
pub async fn of_submitted(store: &dyn Store, who: &Acting, application: Application) -> Result<Receipt, UseCaseError> {
    let payments = store.payments_of(&who.principal.subject).await?;
    Ok(Receipt { application, payments })
}

/// The subject's own application `protocol`, unaudited (callers audit what they do with it).
pub(crate) async fn own(store: &dyn Store, who: &Acting, protocol: &str) -> Result<Application, UseCaseError> {
    let missing = || UseCaseError::NoSuchApplication(protocol.chars().take(MAX_PROTOCOL).collect());
    // Text that is not a protocol number names no application: the same answer as another person's number.
    let Ok(protocol) = ProtocolNumber::parse(protocol) else { return Err(missing()) };
    store.application(&who.principal.subject, &protocol).await?.ok_or_else(missing)
}
