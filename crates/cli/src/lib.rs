//! The `sportello` command: registry import and generation, eligibility checks, the demo, payment runs and the
//! spending limits.
//!
//! The binary is a thin `main`; everything lives here so that tests and later commands reuse it.

pub mod args;
pub mod bench;
pub mod cli;
pub mod demo;
pub mod drill;
pub mod error;
pub mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod gate;
pub mod import;
pub mod output;
pub mod payments;
pub mod persons;
pub mod pins;
pub mod portal;
pub mod receipts;
pub mod rulebook;
pub mod synthetic;
