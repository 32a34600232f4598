//! The gate's acceptance tests, one binary. Every scenario in `queue`, `prequeue`, `schedule` and `nodes` runs on
//! both backends (in process and Redis) with a manual clock.

mod eta;
mod nodes;
mod prequeue;
mod queue;
mod schedule;
mod sentinel;
mod support;
