//! The gate's state in the process: one node, no Redis. Same arithmetic as the Redis scripts, so both pass the
//! same conformance tests.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use super::{
    Admission, ClaimOutcome, Control, DrawState, GateState, IssueOutcome, IssueRequest, MEASURE_WINDOW_MS,
    QueueSnapshot, StateError,
};
use crate::capacity::Capacity;
use crate::draw::Seed;
use crate::schedule::MaintenanceMessage;
use crate::token::{PassId, WindowId};

/// Windows kept per room (the open one, the next one's pre-queue, one just closed); older ones are dropped.
const WINDOWS_KEPT: usize = 3;
const MICRO: u64 = 1_000_000;

/// The gate's state in this process.
#[derive(Debug, Default)]
pub struct MemoryState {
    rooms: Mutex<HashMap<String, RoomState>>,
}

impl MemoryState {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }

    fn with_room<T>(&self, room: &str, f: impl FnOnce(&mut RoomState) -> T) -> T {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        f(rooms.entry(room.to_owned()).or_default())
    }
}

#[derive(Debug, Default)]
struct RoomState {
    control: Control,
    passes: Expiring<PassId>,
    revoked: Expiring<PassId>,
    /// Redeemed challenges by the first 8 bytes of their salt (collisions: ~2^-64 per pair; ~50 bytes each).
    spent: Expiring<u64>,
    windows: BTreeMap<WindowId, WindowState>,
}

impl RoomState {
    fn window(&mut self, window: WindowId) -> &mut WindowState {
        if !self.windows.contains_key(&window) {
            while self.windows.len() >= WINDOWS_KEPT {
                self.windows.pop_first();
            }
        }
        self.windows.entry(window).or_default()
    }
}

#[derive(Debug, Default)]
struct WindowState {
    next: u64,
    frozen: Option<u64>,
    upto: u64,
    unclaimed: u64,
    /// Token bucket: content in millionths of an admission, and when it was last filled.
    bucket: Option<(u64, i64)>,
    /// Unclaimed admissions by first place: `[from, to)`, expiry, how many are still unclaimed.
    batches: BTreeMap<u64, Batch>,
    /// Start of the current measuring window: time, `admitted_upto`, waiting.
    mark: Option<(i64, u64, u64)>,
    measured: Option<u64>,
    seed: Option<Seed>,
}

#[derive(Clone, Copy, Debug)]
struct Batch {
    to: u64,
    expires: i64,
    remaining: u64,
}

/// Keys with an expiry, pruned by time.
#[derive(Debug)]
struct Expiring<K: Ord + Hash + Eq + Copy> {
    expiry: HashMap<K, i64>,
    order: BTreeSet<(i64, K)>,
}

impl<K: Ord + Hash + Eq + Copy> Default for Expiring<K> {
    fn default() -> Self {
        Self { expiry: HashMap::new(), order: BTreeSet::new() }
    }
}

impl<K: Ord + Hash + Eq + Copy> Expiring<K> {
    fn prune(&mut self, now: i64) {
        while let Some(&(at, key)) = self.order.first() {
            if at > now {
                break;
            }
            self.order.pop_first();
            self.expiry.remove(&key);
        }
    }

    fn get(&self, key: &K) -> Option<i64> {
        self.expiry.get(key).copied()
    }

    fn insert(&mut self, key: K, at: i64) {
        if let Some(old) = self.expiry.insert(key, at) {
            self.order.remove(&(old, key));
        }
        self.order.insert((at, key));
    }

    fn remove(&mut self, key: &K) -> Option<i64> {
        let at = self.expiry.remove(key)?;
        self.order.remove(&(at, *key));
        Some(at)
    }

    fn len(&self) -> u64 {
        self.expiry.len() as u64
    }
}

impl WindowState {
    fn snapshot(&self, active: u64) -> QueueSnapshot {
        QueueSnapshot {
            next_seq: self.next,
            pre_queue_size: self.frozen,
            admitted_upto: self.upto,
            active,
            unclaimed: self.unclaimed,
            measured_rate_milli: self.measured,
        }
    }

    fn expire_batches(&mut self, now: i64) {
        while let Some((&from, batch)) = self.batches.first_key_value() {
            if batch.expires > now {
                break;
            }
            self.unclaimed = self.unclaimed.saturating_sub(batch.remaining);
            self.batches.remove(&from);
        }
    }

    fn admit(&mut self, now: i64, active: u64, a: &Admission) {
        let burst = a.burst.saturating_mul(MICRO);
        let rate = a.rate_milli.max(1);
        let tokens = match self.bucket {
            None => burst,
            Some((tokens, filled)) => {
                // A long idle spell only fills the bucket; capping the span keeps the product exact.
                let span = u64::try_from(now - filled).unwrap_or(0).min(burst / rate + 1);
                burst.min(tokens + rate * span)
            }
        };
        let filled = self.bucket.map_or(now, |(_, filled)| filled.max(now));
        let free = a.max_active.saturating_sub(active + self.unclaimed);
        let k = (tokens / MICRO).min(free).min(self.next - self.upto);
        self.bucket = Some((tokens - k * MICRO, filled));
        if k > 0 {
            let from = self.upto;
            self.upto += k;
            self.unclaimed += k;
            let expires = now + a.claim_grace_ms;
            match self.batches.last_entry() {
                // Admissions in the same second, back to back, share a batch: at most one batch per second of grace.
                Some(mut last)
                    if last.get().to == from && last.get().expires.div_euclid(1000) == expires.div_euclid(1000) =>
                {
                    let b = last.get_mut();
                    b.to = self.upto;
                    b.expires = expires;
                    b.remaining += k;
                }
                _ => {
                    self.batches.insert(from, Batch { to: self.upto, expires, remaining: k });
                }
            }
        }
        let waiting = self.next - self.upto;
        match self.mark {
            None => self.mark = Some((now, self.upto, waiting)),
            Some((at, upto, was_waiting)) if now - at >= MEASURE_WINDOW_MS => {
                if was_waiting > 0 {
                    let span = u64::try_from(now - at).unwrap_or(1).max(1);
                    self.measured = Some((self.upto - upto) * MICRO / span);
                }
                self.mark = Some((now, self.upto, waiting));
            }
            Some(_) => {}
        }
    }
}

#[async_trait]
impl GateState for MemoryState {
    async fn control(&self, room: &str) -> Result<Control, StateError> {
        Ok(self.with_room(room, |r| r.control.clone()))
    }

    async fn set_capacity(&self, room: &str, capacity: Option<Capacity>) -> Result<(), StateError> {
        self.with_room(room, |r| r.control.capacity = capacity);
        Ok(())
    }

    async fn set_maintenance(&self, room: &str, message: Option<MaintenanceMessage>) -> Result<(), StateError> {
        self.with_room(room, |r| r.control.maintenance = message);
        Ok(())
    }

    async fn set_health(&self, room: &str, permille: u32) -> Result<(), StateError> {
        self.with_room(room, |r| r.control.health_permille = permille.clamp(1, 1000));
        Ok(())
    }

    async fn ensure_seed(&self, room: &str, window: WindowId, candidate: Seed) -> Result<Seed, StateError> {
        Ok(self.with_room(room, |r| *r.window(window).seed.get_or_insert(candidate)))
    }

    async fn draw(&self, room: &str, window: WindowId) -> Result<DrawState, StateError> {
        Ok(self.with_room(room, |r| {
            let w = r.window(window);
            DrawState { seed: w.seed, pre_queue_size: w.frozen }
        }))
    }

    async fn issue(&self, room: &str, window: WindowId, request: &IssueRequest) -> Result<IssueOutcome, StateError> {
        Ok(self.with_room(room, |r| {
            r.spent.prune(request.now_ms);
            let mut id = [0u8; 8];
            id.copy_from_slice(&request.challenge_id[..8]);
            let id = u64::from_le_bytes(id);
            if r.spent.get(&id).is_some() {
                return IssueOutcome::Replayed;
            }
            r.spent.insert(id, request.challenge_expires_ms);
            let w = r.window(window);
            if request.opened && w.frozen.is_none() {
                w.frozen = Some(w.next);
            }
            let pre_queue = w.frozen.is_none();
            if pre_queue && let Some(candidate) = request.seed_candidate {
                w.seed.get_or_insert(candidate);
            }
            let seq = w.next;
            w.next += 1;
            IssueOutcome::Issued { seq, pre_queue }
        }))
    }

    async fn advance(
        &self,
        room: &str,
        window: WindowId,
        now_ms: i64,
        opened: bool,
        admission: &Admission,
    ) -> Result<QueueSnapshot, StateError> {
        Ok(self.with_room(room, |r| {
            r.passes.prune(now_ms);
            let active = r.passes.len();
            let w = r.window(window);
            w.expire_batches(now_ms);
            if opened && w.frozen.is_none() {
                w.frozen = Some(w.next);
            }
            if w.frozen.is_some() {
                w.admit(now_ms, active, admission);
            }
            w.snapshot(active)
        }))
    }

    async fn claim(
        &self,
        room: &str,
        window: WindowId,
        seq: u64,
        pass: PassId,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<ClaimOutcome, StateError> {
        Ok(self.with_room(room, |r| {
            if r.revoked.get(&pass).is_some_and(|until| until > now_ms) {
                return ClaimOutcome::Revoked;
            }
            if let Some(expires) = r.passes.get(&pass).filter(|&e| e > now_ms) {
                return ClaimOutcome::AlreadyGranted { expires_ms: expires };
            }
            let w = r.window(window);
            let Some((&from, batch)) = w.batches.range_mut(..=seq).next_back() else {
                return ClaimOutcome::Lapsed;
            };
            if seq >= batch.to || batch.expires <= now_ms || batch.remaining == 0 {
                return ClaimOutcome::Lapsed;
            }
            batch.remaining -= 1;
            if batch.remaining == 0 {
                w.batches.remove(&from);
            }
            w.unclaimed = w.unclaimed.saturating_sub(1);
            r.passes.insert(pass, expires_ms);
            ClaimOutcome::Granted { expires_ms }
        }))
    }

    async fn revoke(&self, room: &str, pass: PassId, now_ms: i64, keep_until_ms: i64) -> Result<bool, StateError> {
        Ok(self.with_room(room, |r| {
            let was = r.passes.remove(&pass);
            let active = was.is_some_and(|e| e > now_ms);
            r.revoked.insert(pass, was.map_or(keep_until_ms, |e| e.max(now_ms)));
            r.revoked.prune(now_ms);
            active
        }))
    }

    async fn is_revoked(&self, room: &str, pass: PassId, now_ms: i64) -> Result<bool, StateError> {
        Ok(self.with_room(room, |r| r.revoked.get(&pass).is_some_and(|until| until > now_ms)))
    }

    async fn renew(&self, room: &str, pass: PassId, expires_ms: i64, now_ms: i64) -> Result<bool, StateError> {
        Ok(self.with_room(room, |r| {
            if r.revoked.get(&pass).is_some_and(|until| until > now_ms) {
                return false;
            }
            match r.passes.get(&pass) {
                Some(expires) if expires > now_ms => {
                    r.passes.insert(pass, expires.max(expires_ms));
                    true
                }
                _ => false,
            }
        }))
    }
}
