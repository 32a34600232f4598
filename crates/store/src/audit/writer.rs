//! The audit log written in groups: every read of personal data records a row before the data is shown, so on a
//! click day the audit log takes as many writes as all the pages put together. One commit each would cost one fsync
//! per page; here, as with [`crate::group`] for submissions, the entries that arrive while a commit is being flushed
//! share the next one.
//!
//! [`AuditStore::audit`](crate::AuditStore::audit) sends its entry over a bounded queue (callers wait when it is full) and
//! returns only once the transaction holding it has committed: "no row, no data" holds as with a write of its own.
//! When a transaction fails every caller of its group gets the error, and nothing of the group is stored.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt as _;
use tokio::sync::{mpsc, oneshot};

use crate::{AuditEntry, StoreError};

/// The most entries one transaction carries: eight parameters each stays far below both databases' limits.
const MAX_GROUP: usize = 512;
/// How many entries may wait for the writer before callers wait to be queued.
const QUEUE: usize = 2 * MAX_GROUP;

/// A backend's way of storing a group of audit entries in one transaction.
pub(crate) trait AuditSink: Send + 'static {
    /// Stores `entries` in one transaction; returns only once it has committed.
    fn write(&mut self, entries: &[AuditEntry]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One entry waiting for the writer.
struct Request {
    entry: AuditEntry,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The store's side of the audit writer task.
#[derive(Debug, Clone)]
pub(crate) struct Auditor {
    requests: mpsc::Sender<Request>,
}

impl Auditor {
    /// Spawns the writer task on the current tokio runtime, storing groups through `sink`.
    pub(crate) fn spawn(sink: impl AuditSink) -> Self {
        let (requests, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(sink, queue));
        Self { requests }
    }

    /// Queues `entry` and waits until its group has committed.
    pub(crate) async fn record(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(Request { entry, reply }).await.map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// The writer task: one group at a time until every [`Auditor`] is gone and the queue is empty.
async fn run(mut sink: impl AuditSink, mut queue: mpsc::Receiver<Request>) {
    let mut requests = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut requests, MAX_GROUP).await > 0 {
        // Unlike a submission, an entry whose caller stopped waiting is still written: the data may have been
        // shown by then, and the log must not be the thing that is missing.
        let (entries, replies): (Vec<_>, Vec<_>) =
            requests.drain(..).map(|request| (request.entry, request.reply)).unzip();
        match AssertUnwindSafe(sink.write(&entries)).catch_unwind().await {
            Ok(Ok(())) => {
                metrics::counter!("sportello_store_audit_commits_total").increment(1);
                for reply in replies {
                    let _ = reply.send(Ok(()));
                }
            }
            Ok(Err(error)) => {
                tracing::warn!(error = %error, entries = entries.len(), "a group of audit entries failed");
                let error = Arc::new(error);
                for reply in replies {
                    let _ = reply.send(Err(StoreError::GroupFailed(error.clone())));
                }
            }
            // The callers hear that the writer stopped (their dropped replies); the next group goes on.
            Err(_) => tracing::error!(entries = entries.len(), "the audit writer panicked"),
        }
    }
}
