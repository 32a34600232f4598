//! `sportello indemnities grant`: an indemnity the institute pays without an application (April 2020's, art. 84
//! c. 1 DL 34/2020, for those granted art. 27 DL 18/2020 in March) becomes, for each beneficiary, an application
//! recorded by the institute, with its protocol number and receipt, decided by the law like any other.
//!
//! Once per person, however often it runs: each grant carries the idempotency key `grant:<scheme>`, so a second run
//! finds the first one's application (and the store keeps one per person per cumulation group in any case). The
//! beneficiaries are read page by page in protocol order; an interrupted run is simply run again.
//!
//! Each application recorded now has its receipt queued in the outbox, as a submission's is, worded by the door
//! that runs the grant ([`Receipts`]); one found from an earlier run has had its receipt already, so nobody is told
//! twice. The application is durable before its receipt is queued: if queuing fails the run stops with the error,
//! and that one receipt is lost (a new run finds the application and queues nothing), as on the portal.

use chrono::{DateTime, Utc};
use sportello_domain::IdempotencyKey;
use sportello_domain::law::{Decrees, Facts};
use sportello_store::{Application, ApplicationStatus, NewApplication, OutboxMessage, Store, Submission, SubmittedBy};

use crate::error::UseCaseError;

/// Beneficiaries read per query.
const PAGE: u32 = 1_000;

/// What a grant run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Granted {
    /// Beneficiaries of the earlier scheme looked at.
    pub beneficiaries: u64,
    /// Applications recorded now as accepted (or suspended, past the spending limit).
    pub accepted: u64,
    /// Recorded now as rejected, with the law's reasons (e.g. reddito di cittadinanza on the decree's day).
    pub rejected: u64,
    /// Granted by an earlier run: nothing new recorded.
    pub already: u64,
    /// Receipts queued now, one per application recorded now whose details give a contact.
    pub receipts: u64,
}

/// Words the receipt of an application recorded now, for the contact given in it; `None` when it gives none.
pub trait Receipts: Send + Sync {
    /// The message to queue for `application`.
    fn receipt(&self, application: &Application) -> Option<OutboxMessage>;
}

/// The idempotency key of the grant of `scheme`: one per person and scheme.
pub fn grant_key(scheme: &str) -> IdempotencyKey {
    IdempotencyKey::grant(scheme)
}

/// Grants `scheme` to every beneficiary of the scheme it names, at `now`, on behalf of `by` (who runs the command),
/// queuing the receipt of each application recorded now as `receipts` words it.
pub async fn grant(
    store: &dyn Store,
    decrees: &Decrees,
    receipts: &dyn Receipts,
    scheme_id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Granted, UseCaseError> {
    let scheme = decrees.scheme(scheme_id).ok_or_else(|| UseCaseError::UnknownScheme(scheme_id.to_owned()))?;
    let Some(earlier) = scheme.beneficiaries_of() else {
        return Err(UseCaseError::NotGranted(scheme_id.to_owned()));
    };
    // The new scheme's spending limit from its scheme file, where the database has none yet.
    sportello_store::load_budgets(store, decrees, now).await?;
    let prefix = decrees
        .rulebook_of(scheme.id())
        .map(|b| b.decree().protocol_prefix().to_owned())
        .ok_or_else(|| UseCaseError::UnknownScheme(scheme_id.to_owned()))?;
    let mut done = Granted::default();
    let mut after: Option<String> = None;
    loop {
        let page = store.applications_of_scheme(earlier, ApplicationStatus::Accepted, after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.protocol.to_string());
        for beneficiary in page {
            done.beneficiaries += 1;
            let cf = beneficiary.codice_fiscale;
            let positions = store.positions(&cf).await?;
            let decision = decrees.decide(cf, &positions, &Facts::granted([earlier]));
            let decided = crate::decide::of_scheme(decision, scheme.id())?;
            let application = NewApplication {
                codice_fiscale: cf,
                scheme: scheme.id().to_owned(),
                cumulation_group: scheme.cumulation().id().to_owned(),
                protocol_prefix: prefix.clone(),
                idempotency_key: grant_key(scheme.id()),
                status: if decided.eligible { ApplicationStatus::Accepted } else { ApplicationStatus::Rejected },
                reasons: decided.reasons,
                // Paid as the earlier indemnity was: the same account or post office, the same contacts; nothing
                // was declared for it.
                details: without_declarations(&beneficiary.details),
                submitted_at: now,
                hold: beneficiary.hold.clone(),
            };
            let audit = SubmittedBy {
                actor: format!("officer:{by}"),
                from: None,
                login_method: None,
                channel: "back_office".to_owned(),
            };
            let created = match store.submit_audited(application, audit).await? {
                Submission::Created(a) => a,
                Submission::Duplicate(_) | Submission::AlreadyHolds(_) => {
                    done.already += 1;
                    continue;
                }
            };
            if created.status == ApplicationStatus::Rejected {
                done.rejected += 1;
            } else {
                done.accepted += 1;
            }
            if let Some(message) = receipts.receipt(&created) {
                store.enqueue(message).await?;
                done.receipts += 1;
            }
        }
    }
    Ok(done)
}

/// The earlier application's payment and contact details, with no declaration made (the grant asks for none).
fn without_declarations(details: &serde_json::Value) -> serde_json::Value {
    let mut copied = details.clone();
    if let Some(object) = copied.as_object_mut() {
        object.remove("declarations");
        object.remove("figures");
        object.insert("declarations".to_owned(), serde_json::json!({}));
    }
    copied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_copies_how_to_pay_and_whom_to_tell_but_no_declaration() {
        let march = serde_json::json!({
            "payment": {"method": "iban", "iban": "IT60X0542811101000000123456"},
            "contact": {"email": "a@example.it", "mobile": null},
            "declarations": {"not_pension_holder": true},
        });
        let april = without_declarations(&march);
        assert_eq!(april["payment"], march["payment"]);
        assert_eq!(april["contact"], march["contact"]);
        assert_eq!(april["declarations"], serde_json::json!({}));
        assert_eq!(grant_key("art84c1"), "grant:art84c1");
    }
}
