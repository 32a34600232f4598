//! The outbox: messages to deliver (e-mail, SMS, letters), written in the transaction that decides to send them and
//! claimed by delivery workers under a lease.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::StoreError;

/// The outbox.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Enqueues a message for delivery.
    async fn enqueue(&self, message: OutboxMessage) -> Result<i64, StoreError>;

    /// Claims up to `limit` messages due at `now` (not delivered, `not_before <= now`, not leased by another
    /// worker), leasing them until `now + lease` so that concurrent workers never claim the same message. A message
    /// waits while an earlier one to the same recipient is pending (tried and not yet delivered, or due no later):
    /// one recipient's messages go out one at a time, in the order queued, whatever the failures and retries; a
    /// dead letter holds nothing back.
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: std::time::Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Marks a message delivered and wipes its body (it may carry half a PIN).
    async fn outbox_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records a failed delivery and when to try again.
    async fn outbox_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<(), StoreError>;
}

/// A message to deliver. Its `Debug` leaves out the body and the recipient: a body may carry half a PIN, and
/// neither belongs in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// `email`, `sms` or `console`.
    pub channel: String,
    /// An e-mail address or a phone number.
    pub recipient: String,
    /// Subject line (e-mail).
    pub subject: String,
    /// The text.
    pub body: String,
    /// Not to be delivered before then (the second half of a PIN travels later).
    pub not_before: DateTime<Utc>,
}

impl std::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("channel", &self.channel)
            .field("recipient", &"<redacted>")
            .field("subject", &self.subject)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("not_before", &self.not_before)
            .finish()
    }
}

/// A message claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Its id.
    pub id: i64,
    /// The message.
    pub message: OutboxMessage,
    /// Delivery attempts so far.
    pub attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outbox_message_never_shows_its_body_or_recipient_in_debug() {
        let message = OutboxMessage {
            channel: "sms".to_owned(),
            recipient: "+393331234567".to_owned(),
            subject: "PIN".to_owned(),
            body: "Il tuo PIN: AB7K9QZ4".to_owned(),
            not_before: Utc::now(),
        };
        let shown = format!("{message:?} {:?}", OutboxEntry { id: 1, message: message.clone(), attempts: 0 });
        assert!(!shown.contains("AB7K9QZ4") && !shown.contains("3331234567"), "{shown}");
        assert!(shown.contains("sms"));
    }
}
