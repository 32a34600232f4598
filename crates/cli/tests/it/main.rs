//! End-to-end tests of the `sportello` binary: real files, a real database, the real process and its exit status.

mod check;
mod gate;
mod import;
mod payments;
mod pins;
mod support;
