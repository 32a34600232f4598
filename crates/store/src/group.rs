//! Group commit for [`ApplicationStore::submit`](crate::ApplicationStore::submit): many submissions made durable by one commit, so that
//! they share one fsync instead of paying one each.
//!
//! Each store that batches spawns one writer task and keeps a [`Submitter`]. `submit` sends its application and a
//! reply channel over a bounded queue (when it is full, callers wait: backpressure, never unbounded memory) and
//! waits for the answer. The writer takes the first request waiting, then whatever else is already queued, up to
//! [`GroupCommit::max_batch`], and hands them to its [`Batch`]: the backend runs them in one transaction, in arrival
//! order, each deciding exactly as if it ran alone after the ones before it. Only once that transaction has
//! committed does the writer answer the callers, so a protocol number is never given for an application that is
//! not durable. When the transaction fails as a whole every caller of the batch gets the error, and nothing of the
//! batch is stored.
//!
//! A submission made with [`SubmittedBy`] has its audit row written by the same transaction ([`audit_rows`]): on a
//! click day that saves every submission a commit of the audit log's own, which would otherwise follow its batch's
//! commit on the same single writer.
//!
//! A caller that stops waiting (its future dropped) before its batch starts is left out of the batch; after that its
//! application may still be stored, and submitting it again with the same idempotency key finds it.
//!
//! The writer stops when the last handle of the store is dropped, after it has answered every request already
//! queued.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt as _;
use tokio::sync::{mpsc, oneshot};

use crate::{Application, ApplicationStatus, AuditEntry, NewApplication, StoreError, Submission, SubmittedBy};

/// How submissions are grouped into commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// The most submissions one transaction carries.
    pub max_batch: usize,
    /// How many submissions may wait for the writer before callers of `submit` wait to be queued.
    pub queue: usize,
}

impl Default for GroupCommit {
    /// 512 per commit, and two batches' worth of queue: enough to keep the writer busy while a commit is flushed.
    fn default() -> Self {
        Self { max_batch: 512, queue: 1024 }
    }
}

/// How many group commits a store's writer has made, readable while it runs (each one also counts in the
/// `sportello_store_group_commits_total` metric).
#[derive(Debug, Clone, Default)]
pub struct CommitCount(Arc<AtomicU64>);

impl CommitCount {
    /// The count so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn increment(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// The outcome of each submission of a batch, in order, after the batch's transaction committed; or why the
/// transaction as a whole failed (then nothing of the batch is stored).
pub(crate) type BatchOutcome = Result<Vec<Result<Submission, StoreError>>, StoreError>;

/// A backend's way of storing a batch of submissions in one transaction.
pub(crate) trait Batch: Send + 'static {
    /// Stores `applications` in one transaction, each deciding as if it ran alone after the ones before it; a
    /// submission that fails (bad data, a broken constraint) is rolled back alone and answered with its error.
    /// The same transaction writes the [`audit_rows`] of the submissions made with a [`SubmittedBy`] (`by`, one
    /// per application). Returns only once the transaction has committed.
    fn commit(
        &mut self,
        applications: &[NewApplication],
        by: &[Option<SubmittedBy>],
    ) -> impl Future<Output = BatchOutcome> + Send;
}

/// The audit rows a batch's transaction writes: one for each submission made with a [`SubmittedBy`] that came to an
/// outcome (`None` for one that failed alone, which leaves no row, as it leaves no application). The action says
/// what the submission met, the object is the protocol number of the application it came to.
pub(crate) fn audit_rows<'a>(
    applications: &[NewApplication],
    by: &[Option<SubmittedBy>],
    outcomes: impl IntoIterator<Item = Option<&'a Submission>>,
) -> Vec<AuditEntry> {
    applications
        .iter()
        .zip(by)
        .zip(outcomes)
        .filter_map(|((application, by), outcome)| {
            let (by, outcome) = (by.as_ref()?, outcome?);
            let (action, found) = match outcome {
                Submission::Created(a) | Submission::Duplicate(a) => ("submit_application", a),
                Submission::AlreadyHolds(first) => ("submit_refused_art31", first),
            };
            Some(AuditEntry {
                actor: by.actor.clone(),
                action: action.to_owned(),
                subject: application.codice_fiscale,
                object: Some(found.protocol.to_string()),
                at: application.submitted_at,
                from: by.from.clone(),
                login_method: by.login_method.clone(),
                channel: by.channel.clone(),
                reason: None,
            })
        })
        .collect()
}

/// One submission waiting for the writer.
struct Request {
    application: NewApplication,
    by: Option<SubmittedBy>,
    reply: oneshot::Sender<Result<Submission, StoreError>>,
}

/// The store's side of the writer task: where `submit` sends its requests.
#[derive(Debug, Clone)]
pub(crate) struct Submitter {
    requests: mpsc::Sender<Request>,
    commits: CommitCount,
}

impl Submitter {
    /// Spawns the writer task on the current tokio runtime, storing batches through `batch`.
    pub(crate) fn spawn(batch: impl Batch, config: GroupCommit, backend: &'static str) -> Self {
        let (requests, queue) = mpsc::channel(config.queue.max(1));
        let commits = CommitCount::default();
        tokio::spawn(run(batch, queue, config.max_batch.max(1), commits.clone(), backend));
        Self { requests, commits }
    }

    /// Queues `application` and waits until its batch has committed, with its audit row when `by` is given.
    pub(crate) async fn submit(
        &self,
        application: NewApplication,
        by: Option<SubmittedBy>,
    ) -> Result<Submission, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(Request { application, by, reply }).await.map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// The count of commits the writer has made.
    pub(crate) fn commits(&self) -> CommitCount {
        self.commits.clone()
    }
}

/// The writer task: one batch at a time until every [`Submitter`] is gone and the queue is empty.
async fn run(
    mut batch: impl Batch,
    mut queue: mpsc::Receiver<Request>,
    max_batch: usize,
    commits: CommitCount,
    backend: &'static str,
) {
    let mut requests = Vec::with_capacity(max_batch);
    while queue.recv_many(&mut requests, max_batch).await > 0 {
        // Callers that stopped waiting before their batch began are not stored, as with a transaction of their own.
        let mut applications = Vec::with_capacity(requests.len());
        let mut by = Vec::with_capacity(requests.len());
        let mut replies = Vec::with_capacity(requests.len());
        for request in requests.drain(..).filter(|request| !request.reply.is_closed()) {
            applications.push(request.application);
            by.push(request.by);
            replies.push(request.reply);
        }
        if applications.is_empty() {
            continue;
        }
        // A bug that panics in one batch must not stop every later submission: its callers hear that the writer
        // stopped (their dropped replies), and the next batch goes on.
        let outcome = AssertUnwindSafe(batch.commit(&applications, &by)).catch_unwind().await;
        match outcome {
            Ok(Ok(outcomes)) => {
                commits.increment();
                metrics::counter!("sportello_store_group_commits_total", "backend" => backend).increment(1);
                metrics::histogram!("sportello_store_group_commit_size", "backend" => backend)
                    .record(applications.len() as f64);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // The caller may have gone meanwhile; its application is stored all the same.
                    let _ = reply.send(outcome);
                }
            }
            Ok(Err(error)) => {
                tracing::warn!(error = %error, submissions = applications.len(), "a group commit failed");
                let error = Arc::new(error);
                for reply in replies {
                    let _ = reply.send(Err(StoreError::GroupFailed(error.clone())));
                }
            }
            Err(_) => tracing::error!(submissions = applications.len(), "the group commit writer panicked"),
        }
    }
}

/// What each submission of a batch comes to, decided in arrival order against the applications already stored for
/// the same persons and the submissions before it in the batch. These are the decisions the database's constraints
/// make when the submissions run one after the other (UNIQUE (codice_fiscale, idempotency_key) first, then at most
/// one application per person and cumulation group that holds an indemnity), made in memory so that a batch costs a few statements instead of a
/// few per submission. The constraints still stand guard: should the plan be wrong (another process wrote in
/// between), the batch's insert fails and the batch runs again one submission at a time.
///
/// The plan also reserves each accepted submission's amount against its scheme's spending limit, in arrival order:
/// one that no longer fits is stored suspended (`suspended_budget`) instead. The backend reads the budgets in the
/// batch's transaction, locked, and writes back [`Plan::reservations`] in the same transaction; the budgets
/// table's CHECK (reserved never above the limit) stands guard as the constraints do.
#[derive(Debug)]
pub(crate) struct Plan {
    decisions: Vec<Decision>,
    /// The submissions to store (indexes into the batch), in order.
    inserts: Vec<usize>,
    /// The status each insert is stored with, in the same order.
    statuses: Vec<ApplicationStatus>,
    /// What the batch adds to each scheme's reserved amount.
    reservations: HashMap<String, i64>,
}

/// Room left under a scheme's spending limit, as read in the batch's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Room {
    /// What one accepted application reserves, in cents.
    pub(crate) amount: i64,
    /// The limit minus what is reserved, in cents.
    pub(crate) available: i64,
}

impl Room {
    /// Takes one application's amount if it fits; whether it did.
    pub(crate) fn take(&mut self) -> bool {
        if self.amount <= self.available {
            self.available -= self.amount;
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Decision {
    /// Stored now, as the `n`-th new row.
    Create(usize),
    /// A resubmission of that application.
    Duplicate(Found),
    /// That application holds the person's indemnity of the same cumulation group.
    AlreadyHolds(Found),
}

/// An application a submission meets: one stored before the batch, or one of the batch's new rows.
#[derive(Debug, Clone, Copy)]
enum Found {
    Stored(usize),
    New(usize),
}

impl Plan {
    /// Plans `batch` given `stored`, which holds at least every stored application of the persons in the batch, and
    /// `budgets`, the room under the spending limit of (at least) the batch's schemes that have one.
    pub(crate) fn new(batch: &[NewApplication], stored: &[Application], budgets: &HashMap<String, Room>) -> Self {
        let mut budgets = budgets.clone();
        let mut reservations: HashMap<String, i64> = HashMap::new();
        let mut statuses = Vec::with_capacity(batch.len());
        let mut by_key: HashMap<(&str, &str), Found> = HashMap::with_capacity(stored.len() + batch.len());
        // Who holds an indemnity, by person and cumulation group.
        let mut holders: HashMap<(&str, &str), Found> = HashMap::with_capacity(stored.len() + batch.len());
        for (i, application) in stored.iter().enumerate() {
            let person = application.codice_fiscale.as_str();
            by_key.insert((person, application.idempotency_key.as_str()), Found::Stored(i));
            if application.status.holds_indemnity() {
                holders.insert((person, application.cumulation_group.as_str()), Found::Stored(i));
            }
        }
        let mut inserts = Vec::with_capacity(batch.len());
        let decisions = batch
            .iter()
            .enumerate()
            .map(|(i, application)| {
                let person = application.codice_fiscale.as_str();
                let key = (person, application.idempotency_key.as_str());
                // Same key first: a resubmission answers with the original even if it was rejected.
                if let Some(&found) = by_key.get(&key) {
                    return Decision::Duplicate(found);
                }
                let group = (person, application.cumulation_group.as_str());
                let holds = application.status.holds_indemnity();
                if holds && let Some(&holder) = holders.get(&group) {
                    return Decision::AlreadyHolds(holder);
                }
                let n = inserts.len();
                inserts.push(i);
                let mut status = application.status;
                if status == ApplicationStatus::Accepted
                    && let Some(room) = budgets.get_mut(&application.scheme)
                {
                    if room.take() {
                        *reservations.entry(application.scheme.clone()).or_default() += room.amount;
                    } else {
                        status = ApplicationStatus::SuspendedBudget;
                    }
                }
                statuses.push(status);
                by_key.insert(key, Found::New(n));
                if holds {
                    holders.insert(group, Found::New(n));
                }
                Decision::Create(n)
            })
            .collect();
        Self { decisions, inserts, statuses, reservations }
    }

    /// The status of each submission to store, in the order of [`Plan::inserts`].
    pub(crate) fn statuses(&self) -> &[ApplicationStatus] {
        &self.statuses
    }

    /// What the batch adds to each scheme's reserved amount, in cents.
    pub(crate) fn reservations(&self) -> &HashMap<String, i64> {
        &self.reservations
    }

    /// The submissions to store, as indexes into the batch, in the order their rows must be given to
    /// [`Plan::outcomes`].
    pub(crate) fn inserts(&self) -> &[usize] {
        &self.inserts
    }

    /// Each submission's outcome, given the `stored` applications the plan was made with and the `created` rows,
    /// one per [`Plan::inserts`], in that order.
    pub(crate) fn outcomes(
        self,
        stored: &[Application],
        created: Vec<Application>,
    ) -> Result<Vec<Submission>, StoreError> {
        if created.len() != self.inserts.len() {
            return Err(StoreError::Corrupt(format!(
                "a batch inserted {} applications where {} were planned",
                created.len(),
                self.inserts.len()
            )));
        }
        let get = |found: Found| -> Application {
            match found {
                Found::Stored(i) => stored[i].clone(),
                Found::New(n) => created[n].clone(),
            }
        };
        Ok(self
            .decisions
            .into_iter()
            .map(|decision| match decision {
                Decision::Create(n) => Submission::Created(created[n].clone()),
                Decision::Duplicate(found) => Submission::Duplicate(get(found)),
                Decision::AlreadyHolds(found) => Submission::AlreadyHolds(get(found)),
            })
            .collect())
    }
}
