//! The rightful person annuls an application made in their name with a PIN whose first half went to a contact not on
//! file (docs/SECURITY.md, "INPS PIN"): the application no longer holds an indemnity, its amount goes back to the
//! spending limit, the credential it was made with is revoked and that credential's sessions end.

use chrono::{DateTime, Utc};
use sportello_store::{Application, Store};

use crate::acting::Acting;
use crate::error::UseCaseError;
use crate::receipts::{self, Receipt};

/// Whether `who` may annul `application`: it is held for a credential, and `who` logged in with another, confirmed
/// one. A receipt offers the annulment only then; [`annul`] asks the store the same question atomically.
pub fn may_annul(who: &Acting, application: &Application) -> bool {
    who.confirmed && application.hold.as_deref().is_some_and(|hold| who.credential.as_deref() != Some(hold))
}

/// Annuls the principal's subject's own application `protocol`, held for another credential, audited
/// (`annul_application`), and answers its receipt. [`UseCaseError::NotConfirmed`] for a session whose credential is
/// not confirmed, [`UseCaseError::NoSuchApplication`] for another person's protocol number,
/// [`UseCaseError::NothingToAnnul`] for an application not held for another credential.
pub async fn annul(
    store: &dyn Store,
    who: &Acting,
    protocol: &str,
    now: DateTime<Utc>,
) -> Result<Receipt, UseCaseError> {
    let (true, Some(credential)) = (who.confirmed, who.credential.as_deref()) else {
        return Err(UseCaseError::NotConfirmed);
    };
    let subject = who.principal.subject;
    if protocol.len() > receipts::MAX_PROTOCOL {
        return Err(UseCaseError::NoSuchApplication(protocol.chars().take(receipts::MAX_PROTOCOL).collect()));
    }
    let Some(annulled) = store.annul_held(&subject, protocol, credential, now).await? else {
        // Not one to annul: say whether it is the subject's at all.
        let application = receipts::own(store, who, protocol).await?;
        return Err(UseCaseError::NothingToAnnul(application.protocol));
    };
    who.audit(store, "annul_application", Some(protocol), now).await?;
    receipts::of_submitted(store, who, annulled).await
}
