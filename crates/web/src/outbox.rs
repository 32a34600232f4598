//! The outbox worker: delivers the messages the store queued (a PIN's halves, receipts), at least once each, and
//! retries failures with exponential backoff.
//!
//! A message is written in the same transaction as what it announces (e.g. [`Store::put_pin`]), so nothing is
//! lost if Sportello stops between deciding and sending. The worker claims due messages with a lease, so that two
//! workers never send the same one while the lease runs; a worker that stops after sending but before recording
//! the delivery makes the message go out again when the lease ends: delivery is at least once, never at most once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sportello_store::{OutboxEntry, OutboxMessage, Store, StoreError};

use crate::notify::{Message, Notifier, NotifyError, mask_recipient};

impl TryFrom<&OutboxMessage> for Message {
    type Error = NotifyError;

    fn try_from(message: &OutboxMessage) -> Result<Self, Self::Error> {
        Ok(Message {
            channel: message.channel.parse()?,
            recipient: message.recipient.clone(),
            subject: message.subject.clone(),
            body: message.body.clone(),
        })
    }
}

/// How the worker paces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    /// Messages claimed, and sent concurrently, per round.
    pub batch: u32,
    /// How long a claimed message is reserved for this worker; longer than [`OutboxConfig::send_timeout`].
    pub lease: Duration,
    /// How long one delivery may take before it counts as failed (so the lease never runs out mid-send).
    pub send_timeout: Duration,
    /// The pause when nothing is due, or after the store failed.
    pub idle: Duration,
    /// The wait before the second attempt; it doubles with each further attempt.
    pub backoff_base: Duration,
    /// The longest wait between attempts, and the wait after a failure that retrying cannot fix.
    pub backoff_cap: Duration,
    /// Attempts after which a message that keeps failing is set aside as a dead letter, claimed no more until an
    /// operator puts it back in line (`sportello_store::DeadLetters`).
    pub max_attempts: u32,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            batch: 32,
            lease: Duration::from_secs(120),
            send_timeout: Duration::from_secs(30),
            idle: Duration::from_millis(500),
            backoff_base: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(3600),
            max_attempts: 12,
        }
    }
}

impl OutboxConfig {
    /// The wait after the `attempts`-th failed attempt: `backoff_base × 2^(attempts − 1)`, at most `backoff_cap`.
    pub fn retry_delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.backoff_base.saturating_mul(1 << doublings).min(self.backoff_cap)
    }
}

/// What one round of the worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Messages claimed.
    pub claimed: usize,
    /// Of those, delivered.
    pub delivered: usize,
    /// Of those, failed and scheduled again.
    pub failed: usize,
}

pub use sportello_domain::clock::Clock;

/// Delivers the store's outbox through a notifier.
#[derive(Clone)]
pub struct OutboxWorker {
    store: Arc<dyn Store>,
    notifier: Arc<dyn Notifier>,
    config: OutboxConfig,
    clock: Clock,
}

impl OutboxWorker {
    /// A worker with the default pacing and the system clock.
    pub fn new(store: Arc<dyn Store>, notifier: Arc<dyn Notifier>) -> Self {
        OutboxWorker {
            store,
            notifier,
            config: OutboxConfig::default(),
            clock: sportello_domain::clock::system_clock(),
        }
    }

    /// The same worker with other pacing.
    pub fn with_config(mut self, config: OutboxConfig) -> Self {
        self.config = config;
        self
    }

    /// The same worker reading the time from `clock`.
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Claims the messages due now, sends them concurrently, and records each delivery or failure.
    pub async fn deliver_due(&self) -> Result<Round, StoreError> {
        let now = (self.clock)();
        let entries = self.store.claim_outbox(now, self.config.batch, self.config.lease).await?;
        let outcomes = futures::future::join_all(entries.iter().map(|entry| self.deliver(entry))).await;
        let mut round = Round { claimed: entries.len(), ..Round::default() };
        for outcome in outcomes {
            match outcome? {
                true => round.delivered += 1,
                false => round.failed += 1,
            }
        }
        Ok(round)
    }

    /// Sends one claimed message and records the outcome; `Ok(true)` if it was delivered.
    async fn deliver(&self, entry: &OutboxEntry) -> Result<bool, StoreError> {
        let sent = match Message::try_from(&entry.message) {
            Ok(message) => match tokio::time::timeout(self.config.send_timeout, self.notifier.send(&message)).await {
                Ok(sent) => sent.map_err(Failure::Notify),
                Err(_) => Err(Failure::Timeout(self.config.send_timeout)),
            },
            Err(error) => Err(Failure::Notify(error)),
        };
        let now = (self.clock)();
        match sent {
            Ok(()) => {
                self.store.outbox_delivered(entry.id, now).await?;
                Ok(true)
            }
            Err(failure) => {
                let delay = if failure.is_permanent() {
                    self.config.backoff_cap
                } else {
                    self.config.retry_delay(entry.attempts)
                };
                let retry_at = chrono::TimeDelta::from_std(delay)
                    .ok()
                    .and_then(|delay| now.checked_add_signed(delay))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                tracing::warn!(
                    id = entry.id,
                    channel = %entry.message.channel,
                    to = %mask_recipient(&entry.message.recipient),
                    attempts = entry.attempts,
                    %retry_at,
                    error = %failure,
                    "outbox message not delivered; will retry"
                );
                if entry.attempts >= self.config.max_attempts {
                    tracing::error!(
                        id = entry.id,
                        channel = %entry.message.channel,
                        to = %mask_recipient(&entry.message.recipient),
                        attempts = entry.attempts,
                        "outbox message set aside as a dead letter after its last attempt"
                    );
                    self.store.outbox_dead(entry.id, &failure.to_string(), now).await?;
                } else {
                    self.store.outbox_failed(entry.id, &failure.to_string(), retry_at).await?;
                }
                Ok(false)
            }
        }
    }

    /// Runs rounds until `shutdown` completes: back to back while messages are due, pausing [`OutboxConfig::idle`]
    /// when none are or the store fails. A round under way when `shutdown` completes is finished first, so that
    /// what was sent is recorded as sent.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let busy = match self.deliver_due().await {
                Ok(round) => round.claimed > 0,
                Err(error) => {
                    tracing::error!(%error, "outbox round failed");
                    false
                }
            };
            let pause = if busy { Duration::ZERO } else { self.config.idle };
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("outbox worker stopped");
    }
}

impl std::fmt::Debug for OutboxWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWorker").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Why one delivery failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Notify(NotifyError),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl Failure {
    fn is_permanent(&self) -> bool {
        matches!(self, Failure::Notify(error) if error.is_permanent())
    }
}

/// Delivers `store`'s outbox through `notifiers` with the default pacing until `shutdown` completes.
pub async fn run_outbox(store: Arc<dyn Store>, notifiers: Arc<dyn Notifier>, shutdown: impl Future<Output = ()>) {
    OutboxWorker::new(store, notifiers).run(shutdown).await;
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::TimeDelta;
    use sportello_domain::clock::ManualClock;

    use super::*;

    /// Fails the first attempt at each recipient, then records deliveries.
    #[derive(Default)]
    struct FlakyNotifier {
        attempts: Mutex<HashMap<String, u32>>,
        delivered: Mutex<Vec<Message>>,
    }

    #[async_trait]
    impl Notifier for FlakyNotifier {
        async fn send(&self, message: &Message) -> Result<(), NotifyError> {
            let first = {
                let mut attempts = self.attempts.lock().unwrap();
                let count = attempts.entry(message.recipient.clone()).or_default();
                *count += 1;
                *count == 1
            };
            if first {
                return Err(NotifyError::Smtp("421 try again later".into()));
            }
            self.delivered.lock().unwrap().push(message.clone());
            Ok(())
        }
    }

    impl FlakyNotifier {
        fn delivered_to(&self) -> Vec<String> {
            let mut to: Vec<String> = self.delivered.lock().unwrap().iter().map(|m| m.recipient.clone()).collect();
            to.sort();
            to
        }
    }

    async fn sqlite_store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
        let url = format!("sqlite://{}", dir.path().join("outbox.db").display());
        Arc::from(sportello_store::open(&url).await.unwrap())
    }

    fn message(channel: &str, recipient: &str, not_before: DateTime<Utc>) -> OutboxMessage {
        OutboxMessage {
            channel: channel.into(),
            recipient: recipient.into(),
            subject: "Il suo PIN INPS".into(),
            body: format!("PIN per {recipient}"),
            not_before,
        }
    }

    fn config() -> OutboxConfig {
        OutboxConfig {
            batch: 10,
            lease: Duration::from_secs(60),
            send_timeout: Duration::from_secs(5),
            idle: Duration::from_millis(10),
            backoff_base: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(3600),
            max_attempts: 12,
        }
    }

    #[test]
    fn the_wait_doubles_with_each_attempt_up_to_the_cap() {
        let config = config();
        let cases = [(0, 10), (1, 10), (2, 20), (3, 40), (4, 80), (9, 2560), (10, 3600), (1000, 3600)];
        for (attempts, seconds) in cases {
            assert_eq!(config.retry_delay(attempts), Duration::from_secs(seconds), "after {attempts} attempts");
        }
    }

    #[tokio::test]
    async fn each_message_is_delivered_once_after_a_failed_attempt_and_never_early() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let start = "2020-04-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let clock = ManualClock::new(start);
        store.enqueue(message("email", "mario.rossi@example.it", start)).await.unwrap();
        store.enqueue(message("sms", "+393331234567", start)).await.unwrap();
        // The second half of a PIN travels an hour later.
        store.enqueue(message("sms", "+393339999999", start + TimeDelta::hours(1))).await.unwrap();

        let notifier = Arc::new(FlakyNotifier::default());
        let worker = OutboxWorker::new(store.clone(), notifier.clone()).with_config(config()).with_clock({
            let clock = clock.clone();
            move || clock.now()
        });

        let round = worker.deliver_due().await.unwrap();
        assert_eq!(round, Round { claimed: 2, delivered: 0, failed: 2 }, "first attempts fail");
        assert_eq!(worker.deliver_due().await.unwrap().claimed, 0, "nothing is retried before its backoff");
        clock.advance_secs(9);
        assert_eq!(worker.deliver_due().await.unwrap().claimed, 0, "nor one second before it ends");
        clock.advance_secs(1);
        assert_eq!(worker.deliver_due().await.unwrap(), Round { claimed: 2, delivered: 2, failed: 0 });
        assert_eq!(notifier.delivered_to(), ["+393331234567", "mario.rossi@example.it"]);

        clock.advance_secs(59 * 60);
        assert_eq!(worker.deliver_due().await.unwrap().claimed, 0, "the later message is not delivered early");
        clock.advance_secs(60);
        assert_eq!(worker.deliver_due().await.unwrap().failed, 1);
        clock.advance_secs(10);
        assert_eq!(worker.deliver_due().await.unwrap().delivered, 1);

        clock.advance_secs(24 * 3600);
        assert_eq!(worker.deliver_due().await.unwrap().claimed, 0, "delivered messages never come back");
        assert_eq!(notifier.delivered_to(), ["+393331234567", "+393339999999", "mario.rossi@example.it"]);
        assert!(notifier.delivered.lock().unwrap().iter().all(|m| m.body == format!("PIN per {}", m.recipient)));
    }

    #[tokio::test]
    async fn a_failure_retrying_cannot_fix_waits_the_longest() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let start = "2020-04-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let clock = ManualClock::new(start);
        store.enqueue(message("email", "mario.rossi@example.it", start)).await.unwrap();
        // No route for e-mail: a permanent failure.
        let worker = OutboxWorker::new(store.clone(), Arc::new(crate::notify::Notifiers::new()))
            .with_config(config())
            .with_clock({
                let clock = clock.clone();
                move || clock.now()
            });
        assert_eq!(worker.deliver_due().await.unwrap().failed, 1);
        clock.advance_secs(3599);
        assert_eq!(worker.deliver_due().await.unwrap().claimed, 0);
        clock.advance_secs(1);
        assert_eq!(worker.deliver_due().await.unwrap().claimed, 1);
    }

    #[tokio::test]
    async fn the_worker_delivers_until_shutdown_and_then_stops() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let notifier = Arc::new(FlakyNotifier::default());
        // The first attempt fails; a zero backoff lets the loop retry at once.
        let worker = OutboxWorker::new(store.clone(), notifier.clone())
            .with_config(OutboxConfig { backoff_base: Duration::ZERO, ..config() });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(async move {
            worker
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        });

        store.enqueue(message("email", "mario.rossi@example.it", Utc::now())).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), async {
            while notifier.delivered.lock().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the message is delivered while the worker runs");

        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), running).await.expect("the worker stops").unwrap();
        assert_eq!(notifier.delivered_to(), ["mario.rossi@example.it"]);
    }

    #[tokio::test]
    async fn a_message_that_keeps_failing_becomes_a_dead_letter_and_goes_again_when_revived() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let start = "2020-04-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let clock = ManualClock::new(start);
        let id = store.enqueue(message("email", "mario.rossi@example.it", start)).await.unwrap();
        // No route for e-mail: every attempt fails.
        let worker = OutboxWorker::new(store.clone(), Arc::new(crate::notify::Notifiers::new()))
            .with_config(OutboxConfig { max_attempts: 3, ..config() })
            .with_clock({
                let clock = clock.clone();
                move || clock.now()
            });
        for attempt in 1..=3 {
            assert_eq!(worker.deliver_due().await.unwrap().failed, 1, "attempt {attempt}");
            clock.advance_secs(3600);
        }
        assert_eq!(worker.deliver_due().await.unwrap().claimed, 0, "a dead letter is claimed no more");
        let dead = store.dead_letters(10).await.unwrap();
        assert_eq!(dead.iter().map(|(entry, _)| (entry.id, entry.attempts)).collect::<Vec<_>>(), [(id, 3)]);
        assert!(!dead[0].1.is_empty(), "kept with its last error");

        assert!(store.revive_dead_letter(id, clock.now()).await.unwrap());
        assert!(!store.revive_dead_letter(id, clock.now()).await.unwrap(), "only a dead letter is revived");
        assert!(store.dead_letters(10).await.unwrap().is_empty());
        assert_eq!(worker.deliver_due().await.unwrap().claimed, 1, "back in line, its attempts counted anew");
    }

    #[test]
    fn an_unknown_channel_is_not_a_message() {
        let error = Message::try_from(&message("fax", "x", Utc::now())).unwrap_err();
        assert!(matches!(error, NotifyError::UnknownChannel(_)));
        assert!(error.is_permanent());
    }
}
