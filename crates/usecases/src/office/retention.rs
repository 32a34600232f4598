//! Retention: what is kept only for a while is deleted once its period has passed — sessions (citizens' and
//! officers') past their end, messages delivered long enough ago, audit rows older than the law asks to keep them.
//! Run by `sportello retention purge` and, while the portal serves, on a schedule.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sportello_store::Store;

use crate::error::UseCaseError;

/// How long each kind of record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periods {
    /// A citizen's session, counted from its last use (its idle timeout).
    pub citizen_session_idle: Duration,
    /// A delivered message, counted from its delivery.
    pub delivered_messages: Duration,
    /// An audit row, counted from the access it records.
    pub audit: Duration,
}

/// How many records a purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Purged {
    /// Citizens' sessions past their end.
    pub sessions: u64,
    /// Officers' sessions past their end.
    pub office_sessions: u64,
    /// Delivered messages.
    pub messages: u64,
    /// Audit rows.
    pub audit_rows: u64,
}

/// Deletes, at `now`, what `periods` no longer keep.
pub async fn purge(store: &dyn Store, periods: &Periods, now: DateTime<Utc>) -> Result<Purged, UseCaseError> {
    let before = |period: Duration| TimeDelta::from_std(period).ok().and_then(|p| now.checked_sub_signed(p));
    let never = DateTime::<Utc>::MIN_UTC;
    let sessions = store.delete_expired_sessions(now, before(periods.citizen_session_idle).unwrap_or(never)).await?;
    let office_idle = before(super::login::IDLE).unwrap_or(never);
    let office_sessions = store.delete_expired_office_sessions(now, office_idle).await?;
    let messages = store.purge_delivered_before(before(periods.delivered_messages).unwrap_or(never)).await?;
    let audit_rows = store.purge_audit_before(before(periods.audit).unwrap_or(never)).await?;
    Ok(Purged { sessions, office_sessions, messages, audit_rows })
}
