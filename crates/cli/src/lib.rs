//! The `sportello` command: registry import and generation, eligibility checks, the demo, payment runs and the
//! spending limits.
//!
//! The binary is a thin `main`; everything lives here so that tests and later commands reuse it. What the operator's
//! commands do (budgets, payment runs, gate operations, the registry import) is in `sportello-usecases`: here are
//! their arguments, their files and what they print.

pub mod args;
pub mod bench;
pub mod cli;
pub mod demo;
pub mod drill;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod gate;
pub mod intermediaries;
pub mod keys;
pub mod office;
pub mod output;
pub mod payments;
pub mod persons;
pub mod pins;
pub mod portal;
pub mod progress;
pub mod receipts;
pub mod rulebook;
pub mod synthetic;
