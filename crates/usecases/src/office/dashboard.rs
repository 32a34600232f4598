//! The live dashboard's figures (issue 18): applications per second over the last minute and hour, by scheme, by
//! channel and by outcome, minute by minute over the hour; each scheme's spending against its limit with a forecast;
//! and the waiting room's queue as the door passes it in. Counts only: no person's data, so nothing is audited.
//!
//! The forecast follows the decree's monitoring clause ("anche in via prospettica"): what accepted applications
//! reserve, plus what the applications suspended for a higher limit would reserve, plus the expected share of those
//! still to come — the visitors waiting in the queue now, times the share of the last hour's applications this
//! scheme accepted. A scheme whose forecast crosses its limit is flagged.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound as _, Utc};
use sportello_domain::Cents;
use sportello_domain::law::Decrees;
use sportello_domain::principal::Duty;
use sportello_store::{MinuteCount, RunSummary, Store};

use super::OnDuty;
use crate::error::UseCaseError;

/// Submissions in a window, with the rate they make.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// How many.
    pub count: u64,
    /// Per second, over the window's length.
    pub per_second: f64,
}

/// One group's submissions over the last minute and the last hour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    /// The group: a scheme's id, a channel (`citizen`, `patronato`, `contact_center`, …) or a status.
    pub key: String,
    /// Over the last 60 seconds.
    pub minute: Window,
    /// Over the last 3,600 seconds.
    pub hour: Window,
}

/// A scheme's spending against its limit, with its forecast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spending {
    /// The scheme.
    pub scheme: String,
    /// The limit in force.
    pub limit: Cents,
    /// What accepted applications reserve.
    pub reserved: Cents,
    /// What the applications suspended for a higher limit would reserve.
    pub suspended: Cents,
    /// What the visitors waiting now are expected to reserve, at the last hour's acceptance share.
    pub expected: Cents,
    /// Reserved + suspended + expected.
    pub forecast: Cents,
    /// Whether the forecast crosses the limit.
    pub alert: bool,
}

/// Everything the dashboard shows, as of `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// When they were read.
    pub at: DateTime<Utc>,
    /// All submissions.
    pub total: Line,
    /// By scheme, by channel, by outcome (the status the application has now).
    pub by_scheme: Vec<Line>,
    /// By channel.
    pub by_channel: Vec<Line>,
    /// By outcome.
    pub by_outcome: Vec<Line>,
    /// Submissions in each of the last 60 minutes, oldest first (the current minute last).
    pub per_minute: Vec<u64>,
    /// Each scheme with a limit.
    pub spending: Vec<Spending>,
    /// Visitors waiting in the queue, as the waiting room counts them (0 without one).
    pub waiting: u64,
    /// The last [`RUNS_SHOWN`] payment runs, newest first, with their counts (the dashboard's; empty in [`read`],
    /// which the metrics read every few seconds and which has no gauge for them).
    pub payment_runs: Vec<RunSummary>,
}

/// How many payment runs the dashboard shows.
pub const RUNS_SHOWN: u32 = 5;

fn window(count: u64, seconds: f64) -> Window {
    Window { count, per_second: count as f64 / seconds }
}

/// The figures at `now`, for an officer whose role may watch the dashboard; `waiting` is the waiting room's queue.
pub async fn figures(
    store: &dyn Store,
    decrees: &Decrees,
    officer: &OnDuty,
    waiting: u64,
    now: DateTime<Utc>,
) -> Result<Figures, UseCaseError> {
    officer.require(Duty::Dashboard)?;
    let mut figures = read(store, decrees, waiting, now).await?;
    figures.payment_runs = store.payment_runs(RUNS_SHOWN).await?;
    Ok(figures)
}

/// The same figures for the portal's own metrics (`/metrics`, on its side listener): counts only, no officer needed.
pub async fn read(
    store: &dyn Store,
    decrees: &Decrees,
    waiting: u64,
    now: DateTime<Utc>,
) -> Result<Figures, UseCaseError> {
    let frame = Frame::at(now);
    let hour_start = frame.hour_start;
    let counts = store.submissions_since(hour_start).await?;
    let line = |key: String, rows: &[&MinuteCount]| {
        let (minute, hour) = frame.windows(rows.iter().copied());
        Line { key, minute, hour }
    };
    let grouped = |key: fn(&MinuteCount) -> &str| {
        let mut groups: BTreeMap<&str, Vec<&MinuteCount>> = BTreeMap::new();
        for c in &counts {
            groups.entry(key(c)).or_default().push(c);
        }
        groups.into_iter().map(|(k, rows)| line(k.to_owned(), &rows)).collect::<Vec<_>>()
    };
    let all: Vec<&MinuteCount> = counts.iter().collect();
    let total = line("all".to_owned(), &all);
    let by_scheme = grouped(|c| c.scheme.as_str());
    let by_channel = grouped(|c| c.channel.as_str());
    let by_outcome = grouped(|c| c.status.as_str());
    let mut per_minute = vec![0u64; 60];
    for c in &counts {
        let index = (c.minute - hour_start).num_minutes();
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| per_minute.get_mut(i)) {
            *slot += c.count;
        }
    }

    let accepted_in_hour = |scheme: &str| -> u64 {
        counts.iter().filter(|c| c.scheme == scheme && c.status == "accepted").map(|c| c.count).sum()
    };
    let spending = store
        .budgets()
        .await?
        .into_iter()
        .filter(|b| decrees.scheme(&b.scheme).is_some())
        .map(|b| {
            let suspended = Cents::new(b.amount.get().saturating_mul(i64::try_from(b.suspended).unwrap_or(i64::MAX)));
            let share =
                if total.hour.count == 0 { 0.0 } else { accepted_in_hour(&b.scheme) as f64 / total.hour.count as f64 };
            let expected = Cents::new((waiting as f64 * share * b.amount.get() as f64).round() as i64);
            let forecast = Cents::new(b.reserved.get().saturating_add(suspended.get()).saturating_add(expected.get()));
            Spending {
                scheme: b.scheme,
                limit: b.limit,
                reserved: b.reserved,
                suspended,
                expected,
                forecast,
                alert: forecast.get() > b.limit.get(),
            }
        })
        .collect();
    let payment_runs = Vec::new();
    Ok(Figures { at: now, total, by_scheme, by_channel, by_outcome, per_minute, spending, waiting, payment_runs })
}

/// Applications received lately, for everyone to see on the public status page: counts only.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// In the last minute.
    pub minute: Window,
    /// In the last hour.
    pub hour: Window,
}

/// What the portal received in the last minute and hour at `now`, from the same per-minute counts as the dashboard.
pub async fn received(store: &dyn Store, now: DateTime<Utc>) -> Result<Received, UseCaseError> {
    let frame = Frame::at(now);
    let counts = store.submissions_since(frame.hour_start).await?;
    let (minute, hour) = frame.windows(counts.iter());
    Ok(Received { minute, hour })
}

/// The last minute and the last hour at a moment, as the store's per-minute counts cover them.
struct Frame {
    this_minute: DateTime<Utc>,
    previous: DateTime<Utc>,
    /// How much of the previous minute lies within the last 60 seconds.
    previous_share: f64,
    hour_start: DateTime<Utc>,
    hour_seconds: f64,
}

impl Frame {
    fn at(now: DateTime<Utc>) -> Self {
        let this_minute = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
        let hour_start = this_minute - Duration::minutes(59);
        let previous = this_minute - Duration::minutes(1);
        let previous_share =
            ((this_minute - (now - Duration::seconds(60))).num_milliseconds() as f64 / 60_000.0).clamp(0.0, 1.0);
        let hour_seconds = ((now - hour_start).num_milliseconds() as f64 / 1000.0).max(1.0);
        Self { this_minute, previous, previous_share, hour_start, hour_seconds }
    }

    /// The last minute's and the last hour's submissions among `counts`. The last minute counts whole minutes'
    /// buckets that overlap it, weighted by the overlap: the store counts by minute, and the rate over the last 60
    /// seconds is read from the current minute and the share of the one before.
    fn windows<'a>(&self, counts: impl Iterator<Item = &'a MinuteCount>) -> (Window, Window) {
        let (mut minute, mut hour) = (0.0, 0);
        for c in counts {
            if c.minute == self.this_minute {
                minute += c.count as f64;
            } else if c.minute == self.previous {
                minute += c.count as f64 * self.previous_share;
            }
            hour += c.count;
        }
        (Window { count: minute.round() as u64, per_second: minute / 60.0 }, window(hour, self.hour_seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_is_a_count_over_its_window() {
        assert_eq!(window(120, 60.0).per_second, 2.0);
        assert_eq!(window(0, 3600.0).per_second, 0.0);
    }
}
