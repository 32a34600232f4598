//! The rate of acknowledged durable submissions, printed rather than asserted: a timing belongs in a benchmark, and
//! this is the program the benchmark issue starts from. Ignored by default; run it in release mode:
//!
//! ```text
//! cargo test --release -p sportello-store --test conformance -- --ignored --nocapture --test-threads=1 submission_rate
//! ```
//!
//! `SPORTELLO_RATE_SUBMISSIONS` (default 20,000) submissions of distinct persons are made by `SPORTELLO_RATE_TASKS`
//! (default 200) concurrent tasks, each waiting for its answer before submitting again, as the portal's request
//! handlers do. Each backend runs on a fresh database; one at a time (`--test-threads=1`), or they share the cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use sportello_store::{ApplicationStatus, Submission};

use crate::harness::{Backend, application, on_postgres, on_sqlite, person};

fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

async fn measure(backend: Backend) {
    let submissions = env_or("SPORTELLO_RATE_SUBMISSIONS", 20_000);
    let tasks = env_or("SPORTELLO_RATE_TASKS", 200).max(1);
    let next = Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (store, next) = (backend.store.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= submissions {
                        break;
                    }
                    let outcome = store.submit(application(person(n), "rate", ApplicationStatus::Accepted)).await;
                    assert!(matches!(outcome, Ok(Submission::Created(_))), "{outcome:?}");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "{:?}: {submissions} submissions from {tasks} tasks in {elapsed:.2?}: {:.0} per second{}",
        backend.kind,
        f64::from(submissions) / elapsed.as_secs_f64(),
        backend.commits.as_ref().map(|c| format!(", {} commits", c.get())).unwrap_or_default(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints a rate; run with --release --ignored"]
async fn submission_rate_on_sqlite() {
    on_sqlite(measure).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints a rate; run with --release --ignored"]
async fn submission_rate_on_postgres() {
    on_postgres(measure).await;
}
