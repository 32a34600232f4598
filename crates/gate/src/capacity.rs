//! Capacity: how fast the gate admits and how many admitted visitors may be active at once. Set in configuration,
//! changed live by the operator (`sportello gate set`) for every node at once through the shared state.

use serde::{Deserialize, Serialize};

use crate::invalid::Invalid;

/// The live capacity settings of one room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// New admissions per second, at most (the token bucket's rate); the backend's health can only lower it.
    pub admit_per_sec: u32,
    /// Admissions that may be granted at once after a quiet spell (the token bucket's size). The gate reckons in
    /// whole seconds, so this also caps admissions in any one second: keep it at least `admit_per_sec`.
    pub burst: u32,
    /// Passes active at once, at most, counting admissions not yet claimed.
    pub max_active: u32,
    /// How long a pass lasts.
    pub pass_ttl_secs: u32,
    /// How long an admitted visitor has to come back and claim the pass before the slot goes to the next.
    pub claim_grace_secs: u32,
    /// How often a waiting visitor's page refreshes.
    pub refresh_interval_secs: u32,
    /// A waiting visitor who has not refreshed for this long has given up the place.
    pub ticket_ttl_secs: u32,
    /// The longest a pass lives, renewals included, counted from admission; absent: three times `pass_ttl_secs`.
    /// A pass in use is renewed for another `pass_ttl_secs` once half of its lifetime is spent, so `pass_ttl_secs`
    /// is how long an idle holder keeps the slot and this is how long a busy one may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_max_secs: Option<u32>,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            admit_per_sec: 100,
            burst: 200,
            max_active: 5_000,
            pass_ttl_secs: 20 * 60,
            claim_grace_secs: 60,
            refresh_interval_secs: 15,
            ticket_ttl_secs: 60,
            pass_max_secs: None,
        }
    }
}

/// Above this, a number is a typo rather than a plan (and keeps the shared counters' arithmetic exact).
const MAX_RATE: u32 = 1_000_000;

impl Capacity {
    /// The longest a pass lives, renewals included: `pass_max_secs`, or three times `pass_ttl_secs`.
    pub fn longest_pass_secs(&self) -> u32 {
        self.pass_max_secs.unwrap_or_else(|| self.pass_ttl_secs.saturating_mul(3))
    }

    /// Checks the settings together; each problem names its field, relative to where the capacity sits.
    pub fn validate(&self) -> Result<(), Vec<Invalid>> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, field: &str, problem: String| {
            if !ok {
                problems.push(Invalid { at: field.to_owned(), problem });
            }
        };
        check(
            (1..=MAX_RATE).contains(&self.admit_per_sec),
            "admit_per_sec",
            format!("is {}; it must be between 1 and {MAX_RATE}", self.admit_per_sec),
        );
        check(
            (1..=MAX_RATE).contains(&self.burst),
            "burst",
            format!("is {}; it must be between 1 and {MAX_RATE}", self.burst),
        );
        check(
            (1..=10 * MAX_RATE).contains(&self.max_active),
            "max_active",
            format!("is {}; it must be between 1 and {}", self.max_active, 10 * MAX_RATE),
        );
        check(
            (1..=3600).contains(&self.refresh_interval_secs),
            "refresh_interval_secs",
            format!("is {}; it must be between 1 and 3600", self.refresh_interval_secs),
        );
        check(
            self.ticket_ttl_secs >= 2 * self.refresh_interval_secs,
            "ticket_ttl_secs",
            format!(
                "is {}; it must be at least twice refresh_interval_secs ({}), so one lost refresh does not cost \
                 the place",
                self.ticket_ttl_secs, self.refresh_interval_secs
            ),
        );
        check(
            self.claim_grace_secs >= 2 * self.refresh_interval_secs,
            "claim_grace_secs",
            format!(
                "is {}; it must be at least twice refresh_interval_secs ({}), so an admitted visitor's page has \
                 time to come back for the pass",
                self.claim_grace_secs, self.refresh_interval_secs
            ),
        );
        check(
            self.pass_ttl_secs >= self.claim_grace_secs && self.pass_ttl_secs >= 60,
            "pass_ttl_secs",
            format!(
                "is {}; it must be at least 60 and at least claim_grace_secs ({}), so a claim repeated within the \
                 grace finds the pass it granted",
                self.pass_ttl_secs, self.claim_grace_secs
            ),
        );
        check(
            self.pass_max_secs.is_none_or(|max| max >= self.pass_ttl_secs),
            "pass_max_secs",
            format!(
                "is {}; it must be at least pass_ttl_secs ({}), the lifetime of a pass before any renewal",
                self.pass_max_secs.unwrap_or_default(),
                self.pass_ttl_secs
            ),
        );
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(Capacity::default().validate(), Ok(()));
    }

    #[test]
    fn each_problem_names_its_field() {
        let cases: [(&str, Capacity); 7] = [
            ("admit_per_sec", Capacity { admit_per_sec: 0, ..Capacity::default() }),
            ("burst", Capacity { burst: 0, ..Capacity::default() }),
            ("max_active", Capacity { max_active: 0, ..Capacity::default() }),
            ("ticket_ttl_secs", Capacity { ticket_ttl_secs: 20, ..Capacity::default() }),
            ("claim_grace_secs", Capacity { claim_grace_secs: 10, ..Capacity::default() }),
            ("pass_ttl_secs", Capacity { pass_ttl_secs: 59, ..Capacity::default() }),
            ("pass_max_secs", Capacity { pass_max_secs: Some(60), ..Capacity::default() }),
        ];
        for (field, cap) in cases {
            let problems = cap.validate().unwrap_err();
            assert_eq!(problems.len(), 1, "{field}: {problems:?}");
            assert_eq!(problems[0].at, field);
        }
    }
}
