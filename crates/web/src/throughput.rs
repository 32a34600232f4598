//! The applications received lately, as the public status page (`/stato`) shows them, with or without a waiting
//! room: counts only (`dashboard::received`), read from the store at most once every [`KEEP`] per node, and only if
//! it answers within [`PATIENCE`]. A refresh of `/stato` never waits on a busy database: without an answer the page
//! leaves the figures out and stands, as the waiting room does.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sportello_domain::clock::Clock;
use sportello_store::Store;
use sportello_usecases::office::dashboard::{self, Received};

/// How long one reading serves every refresh on a node.
pub const KEEP: Duration = Duration::from_secs(5);
/// How long a refresh waits for the store.
pub const PATIENCE: Duration = Duration::from_millis(250);

/// What `/stato` shows of the applications received, in words and figures ready for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedLine {
    /// Applications in the last hour.
    pub last_hour: u64,
    /// Per second over the last minute, with a decimal comma (Italian) and a decimal point (English).
    pub per_second: (String, String),
}

/// The store's counts, kept for a few seconds.
#[derive(Clone)]
pub struct Throughput {
    store: Arc<dyn Store>,
    clock: Clock,
    kept: Arc<Mutex<Option<Reading>>>,
}

/// A reading and when it was made; `None` inside when the store did not answer in time.
type Reading = (Instant, Option<ReceivedLine>);

impl Throughput {
    /// Reading `store`, at the time `clock` gives.
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock, kept: Arc::default() }
    }

    /// The applications received up to now, from the last reading if it is fresh; `None` when the store did not
    /// answer in time.
    pub async fn received(&self) -> Option<ReceivedLine> {
        let now = (self.clock)();
        if let Some((at, line)) = self.kept.lock().unwrap_or_else(PoisonError::into_inner).clone()
            && at.elapsed() < KEEP
        {
            return line;
        }
        let read = tokio::time::timeout(PATIENCE, dashboard::received(self.store.as_ref(), now)).await;
        let line = match read {
            Ok(Ok(received)) => Some(line(&received)),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the status page's counts could not be read");
                None
            }
            Err(_) => {
                tracing::warn!("the status page's counts took too long to read");
                None
            }
        };
        *self.kept.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), line.clone()));
        line
    }
}

fn line(received: &Received) -> ReceivedLine {
    ReceivedLine {
        last_hour: received.hour.count,
        per_second: {
            let en = format!("{:.1}", received.minute.per_second);
            (en.replace('.', ","), en)
        },
    }
}
