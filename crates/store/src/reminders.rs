//! "Avvisami": a waiting visitor who left an e-mail address or a phone number to be told when their turn is near.
//! One row per place in the queue; the row is deleted in the same transaction that puts the message in the outbox, so
//! each visitor is told once, and nothing of it is kept after that or after the place's hold ends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{OutboxMessage, StoreError};

/// A visitor waiting to be told.
#[derive(Clone, PartialEq, Eq)]
pub struct Reminder {
    /// The gate room's key.
    pub room: String,
    /// The room's window (its opening, seconds since the epoch).
    pub window: u32,
    /// The place in that window's queue.
    pub place: u64,
    /// `email` or `sms`.
    pub channel: String,
    /// The address or the number.
    pub recipient: String,
    /// The held ticket, for the link back into the queue.
    pub ticket: String,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When the place's hold ends: not sent by then, it is deleted unsent.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Reminder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reminder")
            .field("room", &self.room)
            .field("window", &self.window)
            .field("place", &self.place)
            .field("channel", &self.channel)
            .field("recipient", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Builds the message telling a visitor that their turn is near.
pub type Compose<'a> = &'a (dyn Fn(&Reminder) -> OutboxMessage + Send + Sync);

/// The visitors waiting to be told.
#[async_trait]
pub trait Reminders: Send + Sync {
    /// Stores `reminder`; a second one for the same place replaces the first (the visitor corrected their contact).
    async fn add_reminder(&self, reminder: Reminder) -> Result<(), StoreError>;

    /// Tells at most `limit` visitors of `room`'s `window` whose place is below `below` (their turn is near): each
    /// one's message, made by `compose`, goes into the outbox in the transaction that deletes their row, so nobody is
    /// told twice however many nodes do this at once. Returns how many were told.
    async fn send_reminders(
        &self,
        room: &str,
        window: u32,
        below: u64,
        limit: u32,
        compose: Compose<'_>,
    ) -> Result<u64, StoreError>;

    /// Deletes, unsent, the reminders whose hold ended before `now`; returns how many.
    async fn purge_reminders(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// The statement storing a reminder, or replacing the one for the same place; `p` is the backend's placeholder prefix
/// (`?` or `$`).
pub(crate) fn upsert_sql(p: char) -> String {
    format!(
        "INSERT INTO waiting_reminders (room, window_id, place, channel, recipient, ticket, created_at, expires_at)
         VALUES ({p}1, {p}2, {p}3, {p}4, {p}5, {p}6, {p}7, {p}8)
         ON CONFLICT (room, window_id, place) DO UPDATE SET
             channel = excluded.channel, recipient = excluded.recipient, ticket = excluded.ticket,
             created_at = excluded.created_at, expires_at = excluded.expires_at"
    )
}

/// The statement taking the reminders to send: at most `{p}4` of room `{p}1`'s window `{p}2` below place `{p}3`,
/// lowest first, deleted and returned; `lock` is what the backend adds so that concurrent takers skip each other's
/// rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; nothing on SQLite, whose one writer serialises them).
pub(crate) fn take_sql(p: char, lock: &str) -> String {
    format!(
        "DELETE FROM waiting_reminders WHERE (room, window_id, place) IN (
             SELECT room, window_id, place FROM waiting_reminders
             WHERE room = {p}1 AND window_id = {p}2 AND place < {p}3 ORDER BY place LIMIT {p}4 {lock})
         RETURNING {REMINDER_COLUMNS}"
    )
}

/// A place as the database stores it.
pub(crate) fn place_to_db(place: u64) -> Result<i64, StoreError> {
    i64::try_from(place).map_err(|_| StoreError::Corrupt("place beyond i64".into()))
}

/// The columns [`reminder`] reads.
pub(crate) const REMINDER_COLUMNS: &str = "room, window_id, place, channel, recipient, ticket, created_at, expires_at";

/// A reminder, from the columns of [`REMINDER_COLUMNS`].
pub(crate) fn reminder(row: &impl crate::rows::StoredRow) -> Result<Reminder, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("reminder with a negative {what}"));
    Ok(Reminder {
        room: row.text("room")?,
        window: u32::try_from(row.int("window_id")?).map_err(|_| corrupt("window"))?,
        place: u64::try_from(row.int("place")?).map_err(|_| corrupt("place"))?,
        channel: row.text("channel")?,
        recipient: row.text("recipient")?,
        ticket: row.text("ticket")?,
        created_at: row.timestamp("created_at")?,
        expires_at: row.timestamp("expires_at")?,
    })
}
