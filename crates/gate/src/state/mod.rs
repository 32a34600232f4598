//! The gate's shared state: counters per room and opening, never anything per waiting visitor. One trait,
//! [`GateState`]; [`MemoryState`] keeps it in the process (one node), [`RedisState`] in Redis (all nodes share one
//! queue). Both are run through the same conformance tests.
//!
//! Per room and window: `next_seq` (arrivals), the frozen pre-queue size, `admitted_upto` (every place below it
//! is admitted), a token bucket, and the admissions not yet claimed, kept as a few batches (`[from, to)`,
//! expiry, count left) bounded by the claim grace. Per room: active passes by expiry (bounded by `max_active`),
//! revoked pass ids until they would have expired (bounded by passes), and redeemed challenge ids until they
//! expire (bounded by arrivals per challenge lifetime). Times are milliseconds since the Unix epoch, given by the
//! caller, so tests drive them with a manual clock.

mod memory;
mod redis;
pub mod sentinel;

pub use memory::MemoryState;
pub use redis::RedisState;

use async_trait::async_trait;

use crate::capacity::Capacity;
use crate::draw::Seed;
use crate::schedule::MaintenanceMessage;
use crate::token::{PassId, WindowId};

/// The operator's live settings for a room, shared by every node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Control {
    /// Capacity set live, replacing the configured one.
    pub capacity: Option<Capacity>,
    /// Maintenance mode, with its message.
    pub maintenance: Option<MaintenanceMessage>,
    /// The backend's health, per mille (1000: healthy); scales the admission rate down, never up.
    pub health_permille: u32,
}

impl Default for Control {
    fn default() -> Self {
        Self { capacity: None, maintenance: None, health_permille: 1000 }
    }
}

/// What an admission step may do, from the effective capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    /// Admissions per second, thousandths (at least 1).
    pub rate_milli: u64,
    /// Token bucket size, admissions.
    pub burst: u64,
    /// Active passes plus unclaimed admissions, at most.
    pub max_active: u64,
    /// How long an admission waits to be claimed, milliseconds.
    pub claim_grace_ms: i64,
}

/// How long the measured admission rate is averaged over, milliseconds.
pub const MEASURE_WINDOW_MS: i64 = 30_000;
/// How long a window's counters outlive their last use in Redis, milliseconds.
pub const WINDOW_KEEP_MS: i64 = 8 * 24 * 3600 * 1000;

/// A room's queue counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueSnapshot {
    /// Places handed out so far (the next arrival gets this number).
    pub next_seq: u64,
    /// The pre-queue size, once frozen at the opening.
    pub pre_queue_size: Option<u64>,
    /// Every place below this is admitted.
    pub admitted_upto: u64,
    /// Passes claimed and still valid.
    pub active: u64,
    /// Admissions not yet claimed (and not lapsed).
    pub unclaimed: u64,
    /// Admissions per second, thousandths, over the last measuring window while people waited.
    pub measured_rate_milli: Option<u64>,
}

impl QueueSnapshot {
    /// Visitors holding a place not yet admitted (including any who silently left).
    pub fn waiting(&self) -> u64 {
        self.next_seq.saturating_sub(self.admitted_upto)
    }
}

/// A request for a place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssueRequest {
    /// Now, milliseconds.
    pub now_ms: i64,
    /// The window has opened (freezes the pre-queue if nobody has yet).
    pub opened: bool,
    /// The redeemed challenge's id; each is accepted once.
    pub challenge_id: [u8; 16],
    /// When the challenge expires: its id is remembered until then.
    pub challenge_expires_ms: i64,
    /// A seed to commit to if the pre-queue has none yet (first writer wins).
    pub seed_candidate: Option<Seed>,
}

/// The answer to an [`IssueRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueOutcome {
    /// A place: a pre-queue index when `pre_queue`, else a place in the queue.
    Issued {
        /// The number.
        seq: u64,
        /// Issued before the opening.
        pre_queue: bool,
    },
    /// The challenge was already redeemed.
    Replayed,
}

/// The answer to a claim of an admission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The pass is granted, valid until then.
    Granted {
        /// Expiry, milliseconds.
        expires_ms: i64,
    },
    /// The pass was already granted (a repeated claim): the same pass.
    AlreadyGranted {
        /// Expiry, milliseconds.
        expires_ms: i64,
    },
    /// The pass for this place was revoked.
    Revoked,
    /// The admission was not claimed within the grace; the slot went to the next.
    Lapsed,
}

/// A window's draw as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrawState {
    /// The seed committed to (secret until the opening: only reveal it with `pre_queue_size` set).
    pub seed: Option<Seed>,
    /// The pre-queue size, frozen at the opening.
    pub pre_queue_size: Option<u64>,
}

/// The shared state failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Redis failed or is unreachable.
    #[error("gate state in Redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// The stored state is not what this version writes.
    #[error("gate state is inconsistent: {0}")]
    Corrupt(String),
}

/// The counters every node of the gate shares. Each operation is atomic: two nodes calling at once see one
/// queue, and each second's admission budget is given once.
#[async_trait]
pub trait GateState: Send + Sync + 'static {
    /// The operator's live settings for `room`.
    async fn control(&self, room: &str) -> Result<Control, StateError>;

    /// Sets (or with `None` clears) the live capacity.
    async fn set_capacity(&self, room: &str, capacity: Option<Capacity>) -> Result<(), StateError>;

    /// Switches maintenance mode on (with its message) or off.
    async fn set_maintenance(&self, room: &str, message: Option<MaintenanceMessage>) -> Result<(), StateError>;

    /// Records the backend's health, per mille (clamped to 1..=1000).
    async fn set_health(&self, room: &str, permille: u32) -> Result<(), StateError>;

    /// The window's seed, storing `candidate` if there is none yet.
    async fn ensure_seed(&self, room: &str, window: WindowId, candidate: Seed) -> Result<Seed, StateError>;

    /// The window's seed and frozen pre-queue size, as stored.
    async fn draw(&self, room: &str, window: WindowId) -> Result<DrawState, StateError>;

    /// Hands out the next place, unless the challenge was already redeemed.
    async fn issue(&self, room: &str, window: WindowId, request: &IssueRequest) -> Result<IssueOutcome, StateError>;

    /// Expires lapsed admissions and passes, freezes the pre-queue once `opened`, and admits as many waiting
    /// places as the token bucket and free capacity allow; returns the counters after.
    async fn advance(
        &self,
        room: &str,
        window: WindowId,
        now_ms: i64,
        opened: bool,
        admission: &Admission,
    ) -> Result<QueueSnapshot, StateError>;

    /// Claims the pass for admitted place `seq` (already below `admitted_upto`), idempotently per pass id.
    async fn claim(
        &self,
        room: &str,
        window: WindowId,
        seq: u64,
        pass: PassId,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<ClaimOutcome, StateError>;

    /// Ends a pass early, freeing its slot; it stays refused until it would have expired (or `keep_until_ms` when
    /// it is not known as active). Returns whether it was active.
    async fn revoke(&self, room: &str, pass: PassId, now_ms: i64, keep_until_ms: i64) -> Result<bool, StateError>;

    /// Whether the pass has been revoked.
    async fn is_revoked(&self, room: &str, pass: PassId, now_ms: i64) -> Result<bool, StateError>;

    /// Extends an active, unrevoked pass's slot to `expires_ms` (never shortens it); false when the pass is
    /// unknown, lapsed or revoked, and then nothing changes.
    async fn renew(&self, room: &str, pass: PassId, expires_ms: i64, now_ms: i64) -> Result<bool, StateError>;
}
