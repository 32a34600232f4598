//! Load shedding: a bound on the requests the portal works on at once, with the admitted first.
//!
//! Behind the gate, a request that reaches a handler belongs to an admitted visitor; the waiting room's own requests
//! (`/attesa…`, `/stato`) are newcomers'. Both share `max_in_flight` slots, but not alike:
//! - an admitted request takes a free slot, or waits for one in a bounded line (`max_queued` requests, at most
//!   `max_queue_wait_ms`), and the line is served before any newcomer;
//! - a newcomer's request never waits: it takes a slot only while fewer than `newcomer_share_percent` of them are in
//!   use and nobody admitted is waiting.
//!
//! Whoever cannot be served gets `503` with `Retry-After` at once, never a timeout: when even the admitted exceed what
//! the backend does, the answer is quick and honest, and memory stays bounded whatever arrives. Static files and the
//! health probes are never shed (they cost nothing and say whether the node lives).
//!
//! The layer also measures how long admitted requests take and how many fail or are shed; the gate's adaptive
//! capacity (`[gate.adaptive]`) reads that every few seconds and slows admission while the backend strains.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::i18n::Lang;

/// `[shedding]`: how much the portal works on at once, and how long the admitted may wait for a slot.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SheddingConfig {
    /// Requests handled at once on this node.
    pub max_in_flight: usize,
    /// Admitted requests that may wait for a slot; beyond, 503 at once.
    pub max_queued: usize,
    /// The longest an admitted request waits for a slot before a 503, milliseconds.
    pub max_queue_wait_ms: u64,
    /// The share of the slots that the waiting room's requests may use, percent (1–100).
    pub newcomer_share_percent: u8,
    /// The `Retry-After` of a shed request, seconds.
    pub retry_after_secs: u32,
}

impl Default for SheddingConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 512,
            max_queued: 2048,
            max_queue_wait_ms: 2000,
            newcomer_share_percent: 50,
            retry_after_secs: 5,
        }
    }
}

/// Why `[shedding]` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("[shedding] {0}")]
pub struct SheddingError(&'static str);

/// Whose request it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// An admitted visitor's (or, without a gate, anyone's): may wait briefly, served first.
    Admitted,
    /// The waiting room's: never waits, uses only its share.
    Newcomer,
}

impl Priority {
    /// The priority of a request for `path`; `None`: never shed.
    pub fn of(path: &str) -> Option<Self> {
        if path.starts_with("/static/") || matches!(path, "/healthz" | "/readyz") {
            None
        } else if path == "/attesa" || path.starts_with("/attesa/") || path == "/stato" {
            Some(Self::Newcomer)
        } else {
            Some(Self::Admitted)
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Admitted => "admitted",
            Self::Newcomer => "newcomer",
        }
    }
}

/// Upper bounds of the latency buckets, milliseconds; the last bucket takes everything above.
const BUCKETS_MS: [u64; 14] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000];

/// What admitted requests did since the last look: latencies by bucket, failures (5xx) and shed requests.
#[derive(Debug, Default)]
struct Window {
    buckets: [AtomicU64; BUCKETS_MS.len() + 1],
    failed: AtomicU64,
    shed: AtomicU64,
}

/// A summary of admitted traffic over an interval, for the adaptive capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strain {
    /// Admitted requests completed.
    pub requests: u64,
    /// The 95th percentile of their latency, milliseconds (the upper bound of its bucket; 0 with no requests).
    pub p95_ms: u64,
    /// Failed (5xx) or shed, per mille of all admitted requests seen.
    pub error_permille: u32,
}

/// The slots, the line for them, and the measurements.
#[derive(Debug)]
pub struct Shedder {
    slots: Arc<Semaphore>,
    max_in_flight: usize,
    newcomer_limit: usize,
    queued: AtomicUsize,
    max_queued: usize,
    max_wait: Duration,
    retry_after: HeaderValue,
    window: Window,
}

/// A slot held while a request is handled.
#[derive(Debug)]
pub struct Slot(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

impl SheddingConfig {
    /// Checks the settings; the configuration loader refuses what fails.
    pub fn validate(&self) -> Result<(), SheddingError> {
        if self.max_in_flight == 0 {
            return Err(SheddingError("max_in_flight must be at least 1"));
        }
        if !(1..=100).contains(&self.newcomer_share_percent) {
            return Err(SheddingError("newcomer_share_percent must be between 1 and 100"));
        }
        Ok(())
    }
}

impl Shedder {
    /// The shedder `config` describes (settings out of range are brought within it; see
    /// [`SheddingConfig::validate`]).
    pub fn new(config: &SheddingConfig) -> Self {
        let max_in_flight = config.max_in_flight.max(1);
        let share = max_in_flight * usize::from(config.newcomer_share_percent.clamp(1, 100)) / 100;
        Self {
            slots: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
            newcomer_limit: share.max(1),
            queued: AtomicUsize::new(0),
            max_queued: config.max_queued,
            max_wait: Duration::from_millis(config.max_queue_wait_ms),
            retry_after: HeaderValue::from(config.retry_after_secs.max(1)),
            window: Window::default(),
        }
    }

    /// Slots in use now.
    pub fn in_flight(&self) -> usize {
        self.max_in_flight - self.slots.available_permits()
    }

    /// A slot for a request of `priority`, or `None`: shed it.
    pub async fn admit(&self, priority: Priority) -> Option<Slot> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            // While admitted requests wait in line, released slots go to them and none is free, so a newcomer
            // never passes them; beyond its share, it gives the slot back.
            if priority == Priority::Admitted || self.in_flight() <= self.newcomer_limit {
                return Some(Slot(permit));
            }
            return None;
        }
        if priority == Priority::Newcomer {
            return None;
        }
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let waited = tokio::time::timeout(self.max_wait, Arc::clone(&self.slots).acquire_owned()).await;
        self.queued.fetch_sub(1, Ordering::AcqRel);
        match waited {
            Ok(Ok(permit)) => Some(Slot(permit)),
            _ => None,
        }
    }

    fn record(&self, elapsed: Duration, failed: bool) {
        let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_MS.iter().position(|&bound| ms <= bound).unwrap_or(BUCKETS_MS.len());
        self.window.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        if failed {
            self.window.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// What admitted traffic did since the previous call, which starts a new interval.
    pub fn take_strain(&self) -> Strain {
        let counts: Vec<u64> = self.window.buckets.iter().map(|b| b.swap(0, Ordering::Relaxed)).collect();
        let failed = self.window.failed.swap(0, Ordering::Relaxed);
        let shed = self.window.shed.swap(0, Ordering::Relaxed);
        let requests: u64 = counts.iter().sum();
        let rank = requests.saturating_mul(95).div_ceil(100);
        let mut seen = 0;
        let mut p95_ms = 0;
        for (i, count) in counts.iter().enumerate() {
            seen += count;
            if requests > 0 && seen >= rank {
                p95_ms = BUCKETS_MS.get(i).copied().unwrap_or(BUCKETS_MS[BUCKETS_MS.len() - 1] * 2);
                break;
            }
        }
        let all = requests + shed;
        let error_permille = ((failed + shed) * 1000).checked_div(all).map_or(0, |p| u32::try_from(p).unwrap_or(1000));
        Strain { requests, p95_ms, error_permille }
    }
}

/// The middleware: a slot for the request, or a quick 503 with `Retry-After`.
pub async fn guard(State(shedder): State<Arc<Shedder>>, request: Request, next: Next) -> Response {
    let Some(priority) = Priority::of(request.uri().path()) else {
        return next.run(request).await;
    };
    let Some(slot) = shedder.admit(priority).await else {
        metrics::counter!("sportello_shed_requests_total", "priority" => priority.label()).increment(1);
        if priority == Priority::Admitted {
            shedder.window.shed.fetch_add(1, Ordering::Relaxed);
        }
        let lang = if request.uri().query().is_some_and(|q| q.split('&').any(|pair| pair == "lang=en")) {
            Lang::En
        } else {
            Lang::It
        };
        return overloaded(lang, request.uri().path().starts_with("/api/"), shedder.retry_after.clone());
    };
    metrics::gauge!("sportello_in_flight_requests").set(shedder.in_flight() as f64);
    let started = Instant::now();
    let response = next.run(request).await;
    drop(slot);
    if priority == Priority::Admitted {
        shedder.record(started.elapsed(), response.status().is_server_error());
    }
    response
}

/// 503 with `Retry-After`: a page in the visitor's language, or a plain status the API's layer makes a problem of.
fn overloaded(lang: Lang, api: bool, retry_after: HeaderValue) -> Response {
    let mut response = if api {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    } else {
        crate::render::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            lang,
            lang.pick("Servizio momentaneamente sovraccarico", "Service briefly overloaded"),
            lang.pick(
                "In questo momento il portale sta servendo il massimo delle richieste che può gestire. Riprovi tra \
                 qualche secondo: i dati già inviati sono al sicuro.",
                "The portal is serving as many requests as it can right now. Please try again in a few seconds: \
                 what you have already sent is safe.",
            ),
        )
    };
    response.headers_mut().insert(header::RETRY_AFTER, retry_after);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shedder(max_in_flight: usize, max_queued: usize, wait_ms: u64, share: u8) -> Arc<Shedder> {
        let config = SheddingConfig {
            max_in_flight,
            max_queued,
            max_queue_wait_ms: wait_ms,
            newcomer_share_percent: share,
            retry_after_secs: 5,
        };
        Arc::new(Shedder::new(&config))
    }

    #[test]
    fn paths_are_classified_by_who_sends_them() {
        assert_eq!(Priority::of("/domanda"), Some(Priority::Admitted));
        assert_eq!(Priority::of("/api/v1/applications"), Some(Priority::Admitted));
        assert_eq!(Priority::of("/attesa/stato"), Some(Priority::Newcomer));
        assert_eq!(Priority::of("/stato"), Some(Priority::Newcomer));
        assert_eq!(Priority::of("/static/sportello/x/gate.js"), None);
        assert_eq!(Priority::of("/readyz"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_admitted_wait_briefly_in_a_bounded_line_and_newcomers_never_wait() {
        let s = shedder(4, 1, 500, 50);
        let newcomers: Vec<Slot> = [s.admit(Priority::Newcomer).await, s.admit(Priority::Newcomer).await]
            .into_iter()
            .map(|slot| slot.expect("within the newcomers' half"))
            .collect();
        assert!(s.admit(Priority::Newcomer).await.is_none(), "beyond their half");
        let admitted = [s.admit(Priority::Admitted).await.unwrap(), s.admit(Priority::Admitted).await.unwrap()];
        assert_eq!(s.in_flight(), 4);

        // Full: one admitted request may wait; a second is refused at once.
        let waiter = tokio::spawn({
            let s = Arc::clone(&s);
            async move { s.admit(Priority::Admitted).await.is_some() }
        });
        tokio::task::yield_now().await;
        assert!(s.admit(Priority::Admitted).await.is_none(), "the line is full");
        drop(newcomers);
        assert!(s.admit(Priority::Newcomer).await.is_none(), "a freed slot goes to the admitted in line first");
        assert!(waiter.await.unwrap(), "the waiting admitted request got a slot");
        drop(admitted);

        // Nobody frees a slot in time: the wait ends with a refusal, not a hang.
        let s = shedder(1, 8, 500, 100);
        let held = s.admit(Priority::Admitted).await.unwrap();
        let started = tokio::time::Instant::now();
        assert!(s.admit(Priority::Admitted).await.is_none());
        assert_eq!(started.elapsed(), Duration::from_millis(500));
        drop(held);
        assert!(s.admit(Priority::Admitted).await.is_some());
    }

    #[test]
    fn strain_reports_the_95th_percentile_and_the_failed_or_shed_share() {
        let s = shedder(4, 1, 500, 50);
        for _ in 0..90 {
            s.record(Duration::from_millis(3), false);
        }
        for _ in 0..10 {
            s.record(Duration::from_millis(700), true);
        }
        s.window.shed.fetch_add(25, Ordering::Relaxed);
        let strain = s.take_strain();
        assert_eq!(strain, Strain { requests: 100, p95_ms: 1000, error_permille: 280 });
        assert_eq!(s.take_strain(), Strain { requests: 0, p95_ms: 0, error_permille: 0 }, "a new interval");
    }

    #[test]
    fn settings_that_cannot_work_are_refused_by_name() {
        let zero = SheddingConfig { max_in_flight: 0, ..SheddingConfig::default() };
        assert_eq!(zero.validate().unwrap_err().to_string(), "[shedding] max_in_flight must be at least 1");
        let share = SheddingConfig { newcomer_share_percent: 0, ..SheddingConfig::default() };
        assert!(share.validate().unwrap_err().to_string().contains("newcomer_share_percent"));
        assert!(SheddingConfig::default().validate().is_ok());
    }
}
