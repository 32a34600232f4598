//! Dead letters: outbox messages that kept failing, set aside after as many attempts as the worker allows so that
//! they are claimed no more, kept with their last error for an operator to read, and sent again on request.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{OutboxEntry, StoreError};

/// The outbox's dead letters.
#[async_trait]
pub trait DeadLetters: Send + Sync {
    /// Sets message `id` aside at `now` with its last `error`: it is claimed no more.
    async fn outbox_dead(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// The messages set aside, oldest first, each with its last error.
    async fn dead_letters(&self, limit: u32) -> Result<Vec<(OutboxEntry, String)>, StoreError>;

    /// Puts message `id` back in line at `now`, its attempts counted from zero; `false` if it was not set aside.
    async fn revive_dead_letter(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;
}
