//! The messages a state change decided in the store sends its citizen, queued in the transaction that makes the
//! change (so each change is told exactly once): release from suspension when a raised limit accepts it.
//!
//! They go to the contacts given with the application (`details.contact`), else to those on file.

use chrono::{DateTime, Utc};

use crate::OutboxMessage;

/// Where to tell the owner of one application, as read in the transaction.
#[derive(Debug, Clone, Default)]
pub(crate) struct Addressee {
    /// The application's protocol number.
    pub protocol: String,
    /// The e-mail address to write to.
    pub email: Option<String>,
    /// The mobile number to text.
    pub mobile: Option<String>,
}

impl Addressee {
    /// The contacts given with the application (`details`, as stored), else `email` and `cellulare` on file.
    pub(crate) fn of(
        protocol: String,
        details: &serde_json::Value,
        email: Option<String>,
        cellulare: Option<String>,
    ) -> Self {
        let given =
            |key: &str| details.get("contact").and_then(|c| c.get(key)).and_then(|v| v.as_str()).map(str::to_owned);
        let (given_email, given_mobile) = (given("email"), given("mobile"));
        if given_email.is_none() && given_mobile.is_none() {
            Addressee { protocol, email, mobile: cellulare }
        } else {
            Addressee { protocol, email: given_email, mobile: given_mobile }
        }
    }

    /// The e-mail (`body`) and the SMS (`sms`) to this addressee, for each contact they have.
    fn tell(&self, subject: String, body: String, sms: String, now: DateTime<Utc>) -> Vec<OutboxMessage> {
        let mut messages = Vec::new();
        if let Some(email) = &self.email {
            messages.push(OutboxMessage {
                channel: "email".into(),
                recipient: email.clone(),
                subject: subject.clone(),
                body,
                not_before: now,
            });
        }
        if let Some(mobile) = &self.mobile {
            messages.push(OutboxMessage {
                channel: "sms".into(),
                recipient: mobile.clone(),
                subject,
                body: sms,
                not_before: now,
            });
        }
        messages
    }

    /// A suspended application accepted because a new law (`legal_ref`) raised the spending limit.
    pub(crate) fn released(&self, legal_ref: &str, now: DateTime<Utc>) -> Vec<OutboxMessage> {
        let protocol = &self.protocol;
        self.tell(
            format!("Domanda n. {protocol} accolta / Application {protocol} accepted"),
            format!(
                "La Sua domanda n. {protocol} era sospesa perché i fondi erano esauriti. Il limite di spesa è stato \
                 aumentato ({legal_ref}) e la domanda è ora accolta: l'indennità sarà pagata con il prossimo \
                 pagamento. Non deve fare nulla.\n\nYour application {protocol} was suspended because the funds had \
                 run out. The spending limit has been raised ({legal_ref}) and the application is now accepted: the \
                 indemnity will be paid with the next payment run. You need not do anything."
            ),
            format!(
                "INPS: la Sua domanda n. {protocol}, sospesa, è ora accolta. Sarà pagata con il prossimo pagamento."
            ),
            now,
        )
    }
}
