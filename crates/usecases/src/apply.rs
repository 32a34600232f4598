//! Applying for an indemnity, whichever door: decided now by the law, recorded once with its audit row in one
//! transaction, refused when an application of the same cumulation group already holds an indemnity.

use chrono::{DateTime, Utc};
use sportello_domain::IdempotencyKey;
use sportello_domain::law::Decrees;
use sportello_store::{ApplicationStatus, NewApplication, Store, Submission, SubmittedBy};

use crate::acting::Acting;
use crate::decide;
use crate::draft::Details;
use crate::error::UseCaseError;

/// An application as a door built it from its input, typed: the same for the form and the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The scheme applied for, by id.
    pub scheme: String,
    /// The client's key for this application: the same key answers with the same application.
    pub idempotency_key: IdempotencyKey,
    /// Payment, contacts, declarations and the amounts declared, checked by [`crate::draft::validate`].
    pub details: Details,
}

/// Decides `draft` now and records it for the principal's subject, with the audit row naming who acted, how, by
/// which door and from where. Made in a session whose credential is not confirmed, it is held for payment until the
/// person confirms (docs/SECURITY.md, "INPS PIN"). The store answers whether it is new, the one recorded before under the same key, or
/// refused because an application of the same cumulation group holds an indemnity.
pub async fn submit(
    store: &dyn Store,
    decrees: &Decrees,
    who: &Acting,
    draft: Draft,
    now: DateTime<Utc>,
) -> Result<Submission, UseCaseError> {
    let scheme = decrees.scheme(&draft.scheme).ok_or_else(|| UseCaseError::UnknownScheme(draft.scheme.clone()))?;
    if !scheme.on_application() {
        return Err(UseCaseError::NotOnApplication(draft.scheme));
    }
    // The window's days are Italian days: 00:30 on 1 April in Rome is still 31 March in UTC.
    let day = now.with_timezone(&chrono_tz::Europe::Rome).date_naive();
    if let Some(outside) = decrees.outside_window(scheme.id(), day) {
        return Err(UseCaseError::outside_window(scheme.id(), outside, day));
    }
    let prefix = decrees.rulebook_of(scheme.id()).map(|b| b.decree().protocol_prefix().to_owned());
    let principal = &who.principal;
    let cf = principal.subject;
    let decision = decide::for_application(store, decrees, cf, &draft.details.figures).await?;
    let decided = decide::of_scheme(decision, scheme.id())?;
    let application = NewApplication {
        codice_fiscale: cf,
        scheme: scheme.id().to_owned(),
        cumulation_group: scheme.cumulation().id().to_owned(),
        protocol_prefix: prefix.ok_or_else(|| UseCaseError::UnknownScheme(scheme.id().to_owned()))?,
        idempotency_key: draft.idempotency_key,
        status: if decided.eligible { ApplicationStatus::Accepted } else { ApplicationStatus::Rejected },
        reasons: decided.reasons,
        // JSON only at the store's boundary, in the shape every stored row has.
        details: serde_json::to_value(&draft.details)?,
        submitted_at: now,
        hold: who.hold(),
    };
    let by = SubmittedBy {
        actor: principal.actor.stored(),
        from: who.from.clone(),
        login_method: Some(principal.method.as_str().to_owned()),
        channel: principal.channel.as_str().to_owned(),
    };
    Ok(store.submit_audited(application, by).await?)
}
