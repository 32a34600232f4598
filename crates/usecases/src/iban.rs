//! A new IBAN for a payment the bank returned (a closed account, a wrong name): the next payment run pays the
//! subject's own application again, to the new account.

use chrono::{DateTime, Utc};
use sportello_domain::Iban;
use sportello_store::Store;

use crate::acting::Acting;
use crate::error::UseCaseError;
use crate::receipts::{self, Receipt};

/// Records `iban` for the returned payment of the principal's subject's own application `protocol`, audited
/// (`replace_iban`), and answers its receipt. [`UseCaseError::NoSuchApplication`] when it is not theirs,
/// [`UseCaseError::NoReturnedPayment`] when its payment was not returned.
pub async fn replace(
    store: &dyn Store,
    who: &Acting,
    protocol: &str,
    iban: &Iban,
    now: DateTime<Utc>,
) -> Result<Receipt, UseCaseError> {
    let application = receipts::own(store, who, protocol).await?;
    let subject = who.principal.subject;
    if !store.replace_returned_iban(&subject, &application.protocol, iban, now).await? {
        return Err(UseCaseError::NoReturnedPayment(application.protocol));
    }
    who.audit(store, "replace_iban", Some(&application.protocol), now).await?;
    let application = receipts::own(store, who, protocol).await?;
    receipts::of_submitted(store, who, application).await
}
