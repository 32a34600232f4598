//! `[retention]`: how long delivered messages and audit rows are kept, and how often the portal purges what has
//! passed its period (ended sessions too) while it serves. `sportello retention purge` does the same once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sportello_domain::clock::Clock;
use sportello_store::Store;
use sportello_usecases::office::retention::{Periods, purge};

/// The `[retention]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days a delivered message is kept (its body is wiped at delivery already).
    pub delivered_messages_days: u64,
    /// Days an audit row is kept.
    pub audit_days: u64,
    /// Minutes between two purges while the portal serves; 0 purges never.
    pub every_minutes: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self { delivered_messages_days: 30, audit_days: 730, every_minutes: 60 }
    }
}

impl RetentionConfig {
    /// The periods, with the citizens' session idle timeout `session_idle`.
    pub fn periods(&self, session_idle: Duration) -> Periods {
        Periods {
            citizen_session_idle: session_idle,
            delivered_messages: Duration::from_secs(self.delivered_messages_days.saturating_mul(86_400)),
            audit: Duration::from_secs(self.audit_days.saturating_mul(86_400)),
        }
    }
}

/// Purges every `config.every_minutes` by `clock` until `stop` completes; a failed purge is logged and tried again
/// at the next turn.
pub async fn schedule(
    store: Arc<dyn Store>,
    config: RetentionConfig,
    session_idle: Duration,
    clock: Clock,
    stop: impl Future<Output = ()>,
) {
    if config.every_minutes == 0 {
        return stop.await;
    }
    let periods = config.periods(session_idle);
    let mut ticks = tokio::time::interval(Duration::from_secs(config.every_minutes.saturating_mul(60)));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => match purge(store.as_ref(), &periods, clock()).await {
                Ok(purged) => tracing::info!(?purged, "retention: purged what passed its period"),
                Err(e) => tracing::warn!(error = %e, "retention: the purge failed; it is tried again later"),
            },
        }
    }
}
