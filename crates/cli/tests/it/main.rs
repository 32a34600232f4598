//! End-to-end tests of the `sportello` binary: real files, a real database, the real process and its exit status.

mod browser;
mod check;
mod cluster;
mod cluster_client;
mod crash;
mod decrees;
mod deploy;
mod drill;
mod fuzz_corpus;
mod gate;
mod import;
mod intermediaries;
mod leak;
mod nodes;
mod operations;
mod payments;
mod pins;
mod schema;
mod support;
