//! The office's side of the INPS PIN: a PIN issued to a person of the registry and handed over out of band (a file
//! kept by the operator, a sealed letter), and the confirmation of a person's identity by an officer, which
//! releases what their unconfirmed PINs submitted (docs/SECURITY.md, "INPS PIN").

use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::principal::Channel;
use sportello_store::credentials::slot_for_office;
use sportello_store::{Application, AuditEntry, FirstHalfTo, NewPin, OutboxMessage, Store};

use crate::error::UseCaseError;
use crate::pin::{Pin, PinHasher};

/// Issues a new PIN for a person of the registry, handed over by the office: it takes a free slot, or the slot of
/// the person's PIN used least recently when all are taken. Both hashes, the credential and a notice that one was
/// issued (the PIN itself travels with the operator's list, never through the outbox) are stored in one
/// transaction.
pub async fn issue_by_office(
    store: &dyn Store,
    hasher: &PinHasher,
    codice_fiscale: CodiceFiscale,
    now: DateTime<Utc>,
) -> Result<Pin, UseCaseError> {
    if store.positions(&codice_fiscale).await?.is_empty() {
        return Err(UseCaseError::NotInRegistry(codice_fiscale));
    }
    let slot = slot_for_office(&store.pins_of(&codice_fiscale).await?);
    let pin = Pin::generate_for_slot(slot)?;
    let (full, simplified) =
        tokio::join!(hasher.hash_blocking(pin.expose().to_owned()), hasher.hash_blocking(pin.first_half().to_owned()));
    let new_pin = NewPin {
        codice_fiscale,
        slot,
        full_hash: full?,
        simplified_hash: simplified?,
        issued_at: now,
        first_half_to: FirstHalfTo::Office,
    };
    let notice = OutboxMessage {
        channel: "console".to_owned(),
        recipient: "operator".to_owned(),
        subject: "PIN INPS".to_owned(),
        body: format!("PIN issued by an operator for {codice_fiscale}"),
        not_before: now,
    };
    if !store.put_pin(new_pin, &[notice]).await? {
        return Err(UseCaseError::SlotTaken(codice_fiscale));
    }
    Ok(pin)
}

/// Officer `by` confirmed the person's identity (in person, by a document): every PIN of theirs counts as
/// confirmed, their applications held for payment are released, and the audit log records who did it, by the back
/// office. Returns the applications released.
pub async fn confirm_identity(
    store: &dyn Store,
    codice_fiscale: CodiceFiscale,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Application>, UseCaseError> {
    if store.pins_of(&codice_fiscale).await?.is_empty() {
        return Err(UseCaseError::HoldsNoPin(codice_fiscale));
    }
    let held: Vec<sportello_domain::ProtocolNumber> = store
        .applications_of(&codice_fiscale)
        .await?
        .into_iter()
        .filter(|a| a.hold.is_some())
        .map(|a| a.protocol)
        .collect();
    store.confirm_person(&codice_fiscale, now).await?;
    store
        .audit(AuditEntry {
            actor: by.to_owned(),
            action: "confirm_identity".to_owned(),
            subject: codice_fiscale,
            object: None,
            at: now,
            from: None,
            login_method: None,
            channel: Channel::BackOffice.as_str().to_owned(),
            reason: None,
        })
        .await?;
    // What was held before and is not now: released by this confirmation.
    Ok(store
        .applications_of(&codice_fiscale)
        .await?
        .into_iter()
        .filter(|a| a.hold.is_none() && held.contains(&a.protocol))
        .collect())
}
