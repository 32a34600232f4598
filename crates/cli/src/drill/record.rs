//! What one journey leaves behind, as the journey hands it to the drill's statistics: how it ended, the latency of
//! each step, the receipt and what the citizen saw.

use std::time::Duration;

use super::verify::{Receipt, Sighting};

/// The steps of a journey, in order; each has its own latency histogram.
pub const STEPS: [&str; 7] = ["room", "login", "situation", "submit", "receipt", "list", "logout"];

/// How a journey ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied and got a receipt.
    Submitted,
    /// The decision entitles the citizen to nothing: the journey ends there, as it does for a real person.
    NotEligible,
    /// Something went wrong; the kind names the step and what happened.
    Failed(String),
}

/// What one journey leaves behind.
#[derive(Debug)]
pub struct Record {
    /// How it ended.
    pub outcome: Outcome,
    /// Seconds from the drill's start at which it ended.
    pub ended_at: f64,
    /// Journey duration.
    pub took: Duration,
    /// Time spent in the waiting room, if there was one.
    pub queue_wait: Option<Duration>,
    /// Each request: step index, latency, seconds from the drill's start when it was answered.
    pub requests: Vec<(usize, Duration, f64)>,
    /// Errors besides the one that ended the journey (e.g. a retried submission), by kind.
    pub soft_errors: Vec<String>,
    /// The receipt received, if any.
    pub receipt: Option<Receipt>,
    /// What the bodies the citizen saw named.
    pub sighting: Sighting,
}
