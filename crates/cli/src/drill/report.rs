//! The drill's numbers: latency histograms per step (HDR, microseconds), the queue wait, outcomes, errors by kind,
//! and a per-second timeline, kept as the journeys end in the tally they share ([`Shared`]); printed for people and
//! written as JSON for programs.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use super::record::{Outcome, Record, STEPS};
use super::verify::{Findings, Receipt, Sighting};

/// Counts by kind, sorted for a stable report.
pub type Counts = BTreeMap<String, u64>;

/// What every journey shares: the target, whether it has a waiting room, and the running statistics.
pub struct Shared {
    pub base: String,
    pub gated: bool,
    pub started: Instant,
    /// Citizens in the waiting room right now.
    pub waiting: AtomicUsize,
    /// Journeys under way right now.
    pub in_flight: AtomicUsize,
    pub stats: Mutex<Stats>,
    receipts: Mutex<Vec<Receipt>>,
    sightings: Mutex<Vec<Sighting>>,
}

impl Shared {
    pub fn new(base: String, gated: bool, started: Instant) -> Self {
        Shared {
            base,
            gated,
            started,
            waiting: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            stats: Mutex::new(Stats::default()),
            receipts: Mutex::new(Vec::new()),
            sightings: Mutex::new(Vec::new()),
        }
    }

    /// Adds a finished journey to the statistics.
    pub fn record(&self, record: Record) {
        if let Some(receipt) = record.receipt.clone() {
            lock(&self.receipts).push(receipt);
        }
        lock(&self.stats).add(&record);
        lock(&self.sightings).push(record.sighting);
    }

    /// Every receipt the drill got back.
    pub fn receipts(&self) -> Vec<Receipt> {
        lock(&self.receipts).clone()
    }

    /// What each citizen saw.
    pub fn sightings(&self) -> Vec<Sighting> {
        std::mem::take(&mut *lock(&self.sightings))
    }
}

/// A lock that survives a panicked holder: the statistics stay readable.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Latencies up to an hour, three significant digits (longer ones count as an hour).
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("the bounds are constants and valid")
}

/// One second's request latencies: up to ten minutes, two significant digits, so that a long drill's timeline
/// stays small (some 20 KB a second rather than 200).
fn second_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 2).expect("the bounds are constants and valid")
}

/// One second of the drill.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Second {
    /// Journeys ended in this second.
    pub journeys: u64,
    /// Receipts received in this second.
    pub submissions: u64,
    /// The drill's citizens in the waiting room, sampled at the second's end.
    pub waiting: u64,
    /// The portal's queue as its `/stato` reports it, sampled at the second's end (with a waiting room).
    pub queue_length: Option<u64>,
    /// Journeys under way, sampled at the second's end.
    pub in_flight: u64,
    /// The 99th percentile of the requests answered in this second, milliseconds.
    pub p99_ms: f64,
    #[serde(skip)]
    latencies: Option<Histogram<u64>>,
}

/// The running statistics.
pub struct Stats {
    steps: Vec<Histogram<u64>>,
    journey: Histogram<u64>,
    queue_wait: Histogram<u64>,
    submitted: u64,
    not_eligible: u64,
    failed: u64,
    errors: Counts,
    seconds: Vec<Second>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            steps: STEPS.iter().map(|_| histogram()).collect(),
            journey: histogram(),
            queue_wait: histogram(),
            submitted: 0,
            not_eligible: 0,
            failed: 0,
            errors: Counts::new(),
            seconds: Vec::new(),
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

impl Stats {
    /// The steps after the waiting room in one histogram.
    fn admitted(&self) -> Histogram<u64> {
        let mut all = histogram();
        for step in &self.steps[1..] {
            // Same bounds, so adding cannot fail; a histogram that could not take it would only undercount.
            let _ = all.add(step);
        }
        all
    }

    fn second(&mut self, at: f64) -> &mut Second {
        let index = at.max(0.0) as usize;
        if self.seconds.len() <= index {
            self.seconds.resize_with(index + 1, Second::default);
        }
        &mut self.seconds[index]
    }

    /// Adds one finished journey.
    pub fn add(&mut self, record: &Record) {
        for &(step, took, at) in &record.requests {
            self.steps[step].saturating_record(micros(took));
            let second = self.second(at);
            second.latencies.get_or_insert_with(second_histogram).saturating_record(micros(took));
        }
        self.journey.saturating_record(micros(record.took));
        if let Some(wait) = record.queue_wait {
            self.queue_wait.saturating_record(micros(wait));
        }
        for kind in &record.soft_errors {
            *self.errors.entry(kind.clone()).or_default() += 1;
        }
        let submitted = record.outcome == Outcome::Submitted;
        match &record.outcome {
            Outcome::Submitted => self.submitted += 1,
            Outcome::NotEligible => self.not_eligible += 1,
            Outcome::Failed(kind) => {
                self.failed += 1;
                *self.errors.entry(kind.clone()).or_default() += 1;
            }
        }
        let second = self.second(record.ended_at);
        second.journeys += 1;
        second.submissions += u64::from(submitted);
    }
}

/// Samples the waiting room and the journeys under way once a second, and shows them on the progress bar. With a
/// waiting room, also asks the portal's `/stato` for the length of its queue (everyone waiting, not only the
/// drill's citizens).
pub fn spawn_sampler(
    shared: Arc<Shared>,
    client: reqwest::Client,
    progress: indicatif::ProgressBar,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick =
            tokio::time::interval_at((shared.started + Duration::from_secs(1)).into(), Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            let at = shared.started.elapsed().as_secs_f64() - 0.5;
            let waiting = shared.waiting.load(Ordering::Relaxed) as u64;
            let in_flight = shared.in_flight.load(Ordering::Relaxed) as u64;
            let queue = if shared.gated { queue_length(&client, &shared.base).await } else { None };
            let mut stats = lock(&shared.stats);
            let second = stats.second(at);
            second.waiting = waiting;
            second.in_flight = in_flight;
            second.queue_length = queue;
            let (ok, failed) = (stats.submitted + stats.not_eligible, stats.failed);
            drop(stats);
            progress.set_message(format!("{in_flight} under way, {waiting} waiting, {ok} done, {failed} failed"));
        }
    })
}

/// The number of people waiting in all the portal's rooms, as `/stato` tells it, if it answers within a second.
async fn queue_length(client: &reqwest::Client, base: &str) -> Option<u64> {
    let asked = client.get(format!("{base}/stato")).header("accept", "application/json").send();
    let response = tokio::time::timeout(Duration::from_secs(1), asked).await.ok()?.ok()?;
    let rooms: serde_json::Value = response.json().await.ok()?;
    rooms.as_array().map(|rooms| rooms.iter().filter_map(|r| r["waiting"].as_u64()).sum())
}

/// Percentiles of one histogram, milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    /// How many values.
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1_000.0;
        Percentiles {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// How many citizens waited in the room for up to `up_to_seconds` (and more than the bucket before); the last
/// bucket has no upper bound.
#[derive(Debug, Clone, Serialize)]
pub struct WaitBucket {
    /// The bucket's upper bound, seconds; none for the last.
    pub up_to_seconds: Option<u64>,
    /// Citizens in it.
    pub citizens: u64,
}

/// Upper bounds of the queue-wait buckets, seconds.
const WAIT_BOUNDS: [u64; 6] = [1, 5, 15, 60, 300, 900];

fn wait_buckets(h: &Histogram<u64>) -> Vec<WaitBucket> {
    let mut buckets = Vec::new();
    let mut low = 0;
    for bound in WAIT_BOUNDS.iter().copied().map(Some).chain([None]) {
        // HDR counts are at the histogram's resolution: values are grouped with their equivalents.
        let high = bound.map_or(h.max(), |s| s * 1_000_000);
        let citizens = if h.is_empty() || high < low { 0 } else { h.count_between(low, high) };
        buckets.push(WaitBucket { up_to_seconds: bound, citizens });
        low = h.next_non_equivalent(high);
    }
    buckets
}

/// What a drill did, as the JSON report holds it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Citizens who arrived (the schedule's arrivals, dropped ones included).
    pub arrived: u64,
    /// Arrivals dropped because --max-in-flight journeys were under way.
    pub dropped: u64,
    /// Journeys that reached their end: a receipt, or a decision of no entitlement.
    pub journeys_completed: u64,
    /// Receipts received.
    pub submissions: u64,
    /// Journeys that ended at the decision: entitled to nothing.
    pub not_eligible: u64,
    /// Journeys ended by an error.
    pub failed: u64,
    /// Errors by kind (`step: what`), including submissions sent again after a timeout.
    pub errors: Counts,
    /// Seconds from the first arrival to the last.
    pub arrivals_seconds: f64,
    /// Seconds from the first arrival to the end of the last journey.
    pub elapsed_seconds: f64,
    /// Completed journeys per second of the drill.
    pub journeys_per_second: f64,
    /// Receipts per second of the drill.
    pub submissions_per_second: f64,
    /// Whether the portal had a waiting room.
    pub waiting_room: bool,
    /// Request latencies per step.
    pub latency: std::collections::BTreeMap<String, Percentiles>,
    /// Every request of admitted citizens together (the steps after the waiting room, not its polls): what the
    /// gate protects.
    pub admitted: Percentiles,
    /// Whole journeys, arrival to logout.
    pub journey: Percentiles,
    /// Time in the waiting room.
    pub queue_wait: Percentiles,
    /// Time in the waiting room, how many citizens waited how long.
    pub queue_wait_buckets: Vec<WaitBucket>,
    /// Per second.
    pub timeline: Vec<Second>,
    /// The check against the store, when it ran.
    pub verification: Option<Findings>,
    /// Every receipt received, with its person: what `--verify-report` checks again.
    pub receipts: Vec<super::verify::Receipt>,
}

impl Report {
    /// The report of a finished drill.
    pub fn build(shared: &Shared, arrived: u64, dropped: u64, arrivals: Duration, elapsed: Duration) -> Self {
        let stats = lock(&shared.stats);
        let secs = elapsed.as_secs_f64().max(1e-9);
        let completed = stats.submitted + stats.not_eligible;
        let mut timeline = stats.seconds.clone();
        for second in &mut timeline {
            second.p99_ms = second.latencies.take().map_or(0.0, |h| h.value_at_quantile(0.99) as f64 / 1_000.0);
        }
        Report {
            arrived,
            dropped,
            journeys_completed: completed,
            submissions: stats.submitted,
            not_eligible: stats.not_eligible,
            failed: stats.failed,
            errors: stats.errors.clone(),
            arrivals_seconds: arrivals.as_secs_f64(),
            elapsed_seconds: secs,
            journeys_per_second: completed as f64 / secs,
            submissions_per_second: stats.submitted as f64 / secs,
            waiting_room: shared.gated,
            latency: STEPS
                .iter()
                .zip(&stats.steps)
                .filter(|(_, h)| !h.is_empty())
                .map(|(step, h)| ((*step).to_owned(), Percentiles::of(h)))
                .collect(),
            admitted: Percentiles::of(&stats.admitted()),
            journey: Percentiles::of(&stats.journey),
            queue_wait: Percentiles::of(&stats.queue_wait),
            queue_wait_buckets: wait_buckets(&stats.queue_wait),
            timeline,
            verification: None,
            receipts: Vec::new(),
        }
    }

    /// Records the verification's findings.
    pub fn set_verification(&mut self, findings: Findings) {
        self.verification = Some(findings);
    }

    /// The verification's failures, if it ran and found any.
    pub fn verification_failures(&self) -> Option<String> {
        self.verification.as_ref().and_then(Findings::failures)
    }

    /// The summary for people.
    pub fn print_summary(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "Click-day drill: {} citizens arrived over {:.1} s ({} dropped at the in-flight cap); finished in {:.1} s{}",
            self.arrived,
            self.arrivals_seconds,
            self.dropped,
            self.elapsed_seconds,
            if self.waiting_room { ", through the waiting room" } else { ", no waiting room" }
        )?;
        writeln!(
            out,
            "  journeys completed {}  (receipts {}, not eligible {}), failed {}",
            self.journeys_completed, self.submissions, self.not_eligible, self.failed
        )?;
        writeln!(
            out,
            "  {:.1} journeys/s, {:.1} submissions/s",
            self.journeys_per_second, self.submissions_per_second
        )?;
        writeln!(out, "  latency (ms)      count      p50      p90      p99      max")?;
        let row = |out: &mut dyn Write, name: &str, p: &Percentiles| {
            writeln!(
                out,
                "    {name:<12} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
                p.count, p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms
            )
        };
        for step in STEPS {
            if let Some(p) = self.latency.get(step) {
                row(out, step, p)?;
            }
        }
        if self.waiting_room {
            row(out, "admitted", &self.admitted)?;
        }
        row(out, "journey", &self.journey)?;
        if self.waiting_room {
            row(out, "queue wait", &self.queue_wait)?;
            let mut from = 0;
            let buckets: Vec<String> = self
                .queue_wait_buckets
                .iter()
                .map(|b| {
                    let text = match b.up_to_seconds {
                        Some(to) => format!("{from}-{to} s: {}", b.citizens),
                        None => format!("over {from} s: {}", b.citizens),
                    };
                    from = b.up_to_seconds.unwrap_or(from);
                    text
                })
                .collect();
            writeln!(out, "  queue wait, citizens: {}", buckets.join(", "))?;
        }
        if self.errors.is_empty() {
            writeln!(out, "  errors: none")?;
        } else {
            writeln!(out, "  errors:")?;
            for (kind, n) in &self.errors {
                writeln!(out, "    {n:>8}  {kind}")?;
            }
        }
        match &self.verification {
            None => writeln!(out, "  verification: not run")?,
            Some(findings) => match findings.failures() {
                None => writeln!(
                    out,
                    "  verification: passed ({} receipts each stored once under their person, no duplicates; {} \
                     citizens shown nobody else's data)",
                    findings.receipts_checked, findings.citizens_scanned
                )?,
                Some(failures) => writeln!(out, "  verification: FAILED\n{failures}")?,
            },
        }
        Ok(())
    }
}
