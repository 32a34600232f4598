//! Applying for an indemnity, whichever door: decided now by the law, recorded once with its audit row in one
//! transaction, refused when an application of the same cumulation group already holds an indemnity.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sportello_domain::Cents;
use sportello_domain::law::Decrees;
use sportello_domain::principal::Principal;
use sportello_store::{ApplicationStatus, NewApplication, Store, Submission, SubmittedBy};

use crate::{UseCaseError, decide};

/// An application as a door built it from its input, typed: the same for the form and the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The scheme applied for, by id.
    pub scheme: String,
    /// The client's key for this application: the same key answers with the same application.
    pub idempotency_key: String,
    /// Payment, contacts and declarations, as the portal stores them.
    pub details: serde_json::Value,
    /// The amounts declared, by figure id (already inside `details` as well, for the receipt).
    pub figures: BTreeMap<String, Cents>,
    /// The unconfirmed credential the session was opened with, whose confirmation releases the payment.
    pub hold: Option<String>,
}

/// Decides `draft` now and records it for `principal`'s subject, with the audit row naming who acted, how and by
/// which door, from `from`. The store answers whether it is new, the one recorded before under the same key, or
/// refused because an application of the same cumulation group holds an indemnity.
pub async fn submit(
    store: &dyn Store,
    decrees: &Decrees,
    principal: &Principal,
    from: Option<String>,
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
    let cf = principal.subject;
    let decision = decide::for_application(store, decrees, cf, &draft.figures).await?;
    let decided = decide::of_scheme(decision, scheme.id())?;
    let application = NewApplication {
        codice_fiscale: cf,
        scheme: scheme.id().to_owned(),
        cumulation_group: scheme.cumulation().id().to_owned(),
        protocol_prefix: prefix.ok_or_else(|| UseCaseError::UnknownScheme(scheme.id().to_owned()))?,
        idempotency_key: draft.idempotency_key,
        status: if decided.eligible { ApplicationStatus::Accepted } else { ApplicationStatus::Rejected },
        reasons: serde_json::to_value(&decided.reasons)?,
        details: draft.details,
        submitted_at: now,
        hold: draft.hold,
    };
    let by = SubmittedBy {
        actor: principal.actor.stored(),
        from,
        login_method: Some(principal.method.as_str().to_owned()),
        channel: principal.channel.as_str().to_owned(),
    };
    Ok(store.submit_audited(application, by).await?)
}
