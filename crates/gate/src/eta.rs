//! The waiting visitor's estimate: computed conservatively, then only ever lowered. The ticket carries the
//! admission time last promised; a new estimate can bring it forward, never push it back, so the wait shown
//! (`promise − now`) never goes up while the visitor waits, whatever happens to capacity.

use chrono::{DateTime, TimeDelta, Utc};

use crate::capacity::Capacity;

/// Estimates plan for 25% slower admission than the rate they are computed from.
const MARGIN_NUM: u64 = 5;
const MARGIN_DEN: u64 = 4;

/// Admissions per second, in thousandths, that the gate admits at most: the set rate scaled by the backend's
/// health (per mille, 1..=1000).
pub fn admission_rate_milli(capacity: &Capacity, health_permille: u32) -> u64 {
    (u64::from(capacity.admit_per_sec) * u64::from(health_permille.clamp(1, 1000))).max(1)
}

/// The rate, in thousandths per second, an estimate may count on: the lower of the admission rate and what was
/// measured recently, but never below what capacity alone guarantees while people wait (each of `max_active`
/// slots turns over at least once per claim grace plus the longest a pass may live, renewals included). Before anything was measured, the
/// guaranteed rate: start conservative, lower later.
pub fn planning_rate_milli(capacity: &Capacity, health_permille: u32, measured_milli: Option<u64>) -> u64 {
    let admission = admission_rate_milli(capacity, health_permille);
    let turnover_secs = u64::from(capacity.longest_pass_secs()) + u64::from(capacity.claim_grace_secs);
    let guaranteed = (u64::from(capacity.max_active) * 1000 / turnover_secs.max(1)).clamp(1, admission);
    measured_milli.unwrap_or(guaranteed).clamp(guaranteed, admission)
}

/// Seconds until admission for the visitor at `position` (1 = next), with the safety margin, plus one refresh
/// interval (the visitor learns of the admission at the next refresh).
pub fn estimate_secs(position: u64, rate_milli: u64, refresh_interval_secs: u32) -> u64 {
    let scaled = u128::from(position) * 1000 * u128::from(MARGIN_NUM);
    let per = u128::from(rate_milli.max(1)) * u128::from(MARGIN_DEN);
    let secs = u64::try_from(scaled.div_ceil(per)).unwrap_or(u64::MAX);
    secs.saturating_add(u64::from(refresh_interval_secs))
}

/// The new promise: the earlier of the old one and `now + estimate`. `now` is in whole seconds, as tokens are.
pub fn promise(now: DateTime<Utc>, previous: Option<DateTime<Utc>>, estimate_secs: u64) -> DateTime<Utc> {
    let estimate = TimeDelta::try_seconds(i64::try_from(estimate_secs).unwrap_or(i64::MAX))
        .unwrap_or(TimeDelta::MAX)
        .min(TimeDelta::days(365 * 50));
    let fresh = now.checked_add_signed(estimate).unwrap_or(now);
    previous.map_or(fresh, |p| p.min(fresh))
}

/// The wait shown: seconds from `now` to the promise, zero once it has passed.
pub fn remaining_secs(now: DateTime<Utc>, promise: DateTime<Utc>) -> u64 {
    u64::try_from((promise - now).num_seconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planning_rate_is_conservative() {
        let cap = Capacity {
            admit_per_sec: 100,
            max_active: 1_260,
            pass_ttl_secs: 1_200,
            pass_max_secs: Some(1_200),
            claim_grace_secs: 60,
            ..Capacity::default()
        };
        // Guaranteed turnover: 1260 slots / 1260 s = 1 per second.
        assert_eq!(planning_rate_milli(&cap, 1000, None), 1_000);
        assert_eq!(planning_rate_milli(&cap, 1000, Some(40_000)), 40_000);
        assert_eq!(planning_rate_milli(&cap, 1000, Some(400_000)), 100_000);
        assert_eq!(planning_rate_milli(&cap, 1000, Some(10)), 1_000);
        // A sick backend halves the admission rate: the plan follows.
        assert_eq!(planning_rate_milli(&cap, 500, Some(90_000)), 50_000);
    }

    #[test]
    fn estimates_round_up_and_add_a_refresh() {
        assert_eq!(estimate_secs(1, 1_000, 15), 2 + 15);
        assert_eq!(estimate_secs(100, 100_000, 0), 2);
        assert_eq!(estimate_secs(4, 1_000, 0), 5);
        assert_eq!(estimate_secs(u64::MAX, 1, 0), u64::MAX);
    }

    #[test]
    fn a_promise_only_moves_earlier() {
        let now: DateTime<Utc> = "2020-04-01T14:00:00Z".parse().unwrap();
        let first = promise(now, None, 600);
        assert_eq!(remaining_secs(now, first), 600);
        let later = now + TimeDelta::seconds(60);
        assert_eq!(promise(later, Some(first), 900), first);
        assert_eq!(promise(later, Some(first), 100), later + TimeDelta::seconds(100));
        assert_eq!(remaining_secs(first + TimeDelta::seconds(5), first), 0);
    }
}
