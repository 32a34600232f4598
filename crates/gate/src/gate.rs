//! The gate itself: what the web layer calls. It ties the configuration, the signer, the shared state and the
//! clock together; each call is a few lines of decisions over them, and nothing in it is kept per visitor.
//!
//! A visit goes: [`Gate::challenge`] (a proof-of-work puzzle, or a wait without JavaScript) → [`Gate::enter`]
//! (a ticket) → [`Gate::refresh`] every `refresh_interval_secs` (position, estimated wait, a re-signed ticket) →
//! admission: a [`Pass`] checked on every request with [`Gate::check_pass`]. What these calls hand back is in
//! [`crate::visit`]; the operator's controls and the status page are in the `operator` submodule.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

use crate::capacity::Capacity;
use crate::clock::Clock;
use crate::config::{GateConfig, Invalid, Room};
use crate::draw::{self, Seed};
use crate::eta;
use crate::pow;
use crate::schedule::{Phase, RoomStatus};
use crate::state::{
    Admission, ClaimOutcome, Control, GateState, IssueOutcome, IssueRequest, QueueSnapshot, StateError,
};
use crate::token::{Challenge, Pass, RoomId, Signer, Ticket, TokenError, WindowId, random_bytes};
use crate::visit::{Admitted, ChallengeOffer, LostReason, Offer, PassCheck, Proof, Visit, Waiting};

mod operator;

pub use operator::{DrawView, RoomView};

/// The admission gate.
pub struct Gate {
    config: Arc<GateConfig>,
    signer: Signer,
    state: Arc<dyn GateState>,
    clock: Clock,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("rooms", &self.config.rooms.len()).field("signer", &self.signer).finish()
    }
}

/// What a node remembers between calls: the operator's settings for a moment, and revealed draws (immutable).
#[derive(Default)]
struct Cache {
    control: HashMap<RoomId, (DateTime<Utc>, Control)>,
    draws: HashMap<RoomId, (WindowId, u64, Seed)>,
}

/// A failed gate operation. Token problems are the visitor's (start again); state problems are the operator's.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// No room has this key or index.
    #[error("no gate room is called {0:?}")]
    UnknownRoom(String),
    /// A token did not verify.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The challenge is too old.
    #[error("the challenge expired at {0}; ask for a new one")]
    ChallengeExpired(DateTime<Utc>),
    /// The no-JavaScript wait is not over.
    #[error("the challenge cannot be redeemed before {0}")]
    TooEarly(DateTime<Utc>),
    /// The nonce does not solve the challenge.
    #[error("the proof of work does not solve the challenge")]
    WrongProof,
    /// The challenge was redeemed already.
    #[error("this challenge was already used; ask for a new one")]
    ChallengeReused,
    /// Capacity settings that do not hold together.
    #[error("capacity not changed: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidCapacity(Vec<Invalid>),
    /// The shared state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The system random source failed.
    #[error("random source failed: {0}")]
    Rng(String),
}

fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

fn secs(s: u32) -> TimeDelta {
    TimeDelta::seconds(i64::from(s))
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl Gate {
    /// A gate over `state`, signing with `signer`, reading time from `clock`.
    pub fn new(config: GateConfig, signer: Signer, state: Arc<dyn GateState>, clock: Clock) -> Self {
        Self { config: Arc::new(config), signer, state, clock, cache: Mutex::new(Cache::default()) }
    }

    /// The configuration.
    pub fn config(&self) -> &GateConfig {
        &self.config
    }

    /// The room guarding `path`.
    pub fn room_for_path(&self, path: &str) -> Option<RoomId> {
        self.config.room_for_path(path).map(|r| r.id)
    }

    fn room(&self, id: RoomId) -> Result<&Room, GateError> {
        self.config.room(id).ok_or_else(|| GateError::UnknownRoom(id.0.to_string()))
    }

    fn room_by_key(&self, key: &str) -> Result<&Room, GateError> {
        self.config.room_by_key(key).ok_or_else(|| GateError::UnknownRoom(key.to_owned()))
    }

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    async fn control(&self, room: &Room, now: DateTime<Utc>) -> Result<Control, GateError> {
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, control)) = cache.control.get(&room.id)
                && now >= *at
                && now - *at < self.config.control_cache
            {
                return Ok(control.clone());
            }
        }
        let control = self.state.control(&room.key).await?;
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.control.insert(room.id, (now, control.clone()));
        Ok(control)
    }

    fn forget_control(&self, room: &Room) {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).control.remove(&room.id);
    }

    fn admission(capacity: &Capacity, health_permille: u32) -> Admission {
        Admission {
            rate_milli: eta::admission_rate_milli(capacity, health_permille),
            burst: u64::from(capacity.burst),
            max_active: u64::from(capacity.max_active),
            claim_grace_ms: i64::from(capacity.claim_grace_secs) * 1000,
        }
    }

    async fn advance(
        &self,
        room: &Room,
        window: WindowId,
        now: DateTime<Utc>,
        opened: bool,
        control: &Control,
    ) -> Result<QueueSnapshot, GateError> {
        let capacity = control.capacity.unwrap_or(room.capacity);
        let mut admission = Self::admission(&capacity, control.health_permille);
        if control.maintenance.is_some() {
            // Maintenance pauses admission; the counters still expire what lapses.
            admission.max_active = 0;
        }
        Ok(self.state.advance(&room.key, window, ms(now), opened, &admission).await?)
    }

    /// A challenge to solve before entering `room` (`no_js`: a wait instead of the work), or why there is none.
    pub async fn challenge(&self, room: RoomId, no_js: bool) -> Result<Offer, GateError> {
        let room = self.room(room)?;
        let now = whole_seconds(self.now());
        let control = self.control(room, now).await?;
        let phase = room.schedule.phase(now);
        let (window, opened) = match (phase, &control.maintenance) {
            (Phase::Open { window, .. }, None) => (window, true),
            (Phase::PreQueue { window, .. }, None) => (window, false),
            _ => return Ok(Offer::Unavailable(RoomStatus::of(phase, control.maintenance.as_ref()))),
        };
        let snapshot = self.advance(room, window, now, opened, &control).await?;
        let bits = self.config.pow.difficulty(snapshot.waiting());
        let validity = secs(self.config.pow.validity_secs);
        let (difficulty, not_before) =
            if no_js { (0, now + secs(self.config.pow.no_js_wait_secs(bits))) } else { (bits, now) };
        let challenge = Challenge {
            room: room.id,
            difficulty,
            salt: random_bytes().map_err(GateError::Rng)?,
            issued_at: now,
            not_before,
            expires_at: not_before + validity,
            no_js,
        };
        let token = self.signer.sign_challenge(&challenge)?;
        Ok(Offer::Challenge(ChallengeOffer { token, difficulty, not_before, expires_at: challenge.expires_at, no_js }))
    }

    /// Redeems a solved challenge for a place: a ticket, or a pass at once when nobody waits.
    pub async fn enter(&self, challenge_token: &str, proof: Proof) -> Result<Visit, GateError> {
        let challenge = self.signer.verify_challenge(challenge_token)?;
        let now = whole_seconds(self.now());
        if now > challenge.expires_at {
            return Err(GateError::ChallengeExpired(challenge.expires_at));
        }
        if now < challenge.not_before {
            return Err(GateError::TooEarly(challenge.not_before));
        }
        if challenge.difficulty > 0 {
            let solved = matches!(proof, Proof::Nonce(n) if pow::is_solution(challenge_token, n, challenge.difficulty));
            if !solved {
                return Err(GateError::WrongProof);
            }
        }
        let room = self.room(challenge.room)?;
        let control = self.control(room, now).await?;
        let phase = room.schedule.phase(now);
        let (window, opened) = match (phase, &control.maintenance) {
            (Phase::Open { window, .. }, None) => (window, true),
            (Phase::PreQueue { window, .. }, None) => (window, false),
            _ => {
                let status = RoomStatus::of(phase, control.maintenance.as_ref());
                return Ok(Visit::Unavailable { status, ticket: None });
            }
        };
        let request = IssueRequest {
            now_ms: ms(now),
            opened,
            challenge_id: challenge.salt,
            challenge_expires_ms: ms(challenge.expires_at),
            seed_candidate: if opened { None } else { Some(random_bytes().map_err(GateError::Rng)?) },
        };
        let (seq, pre_queue) = match self.state.issue(&room.key, window, &request).await? {
            IssueOutcome::Issued { seq, pre_queue } => (seq, pre_queue),
            IssueOutcome::Replayed => return Err(GateError::ChallengeReused),
        };
        let capacity = control.capacity.unwrap_or(room.capacity);
        let ticket = Ticket {
            room: room.id,
            window,
            seq,
            pre_queue,
            no_js: challenge.no_js,
            issued_at: now,
            refresh_by: now + secs(capacity.ticket_ttl_secs),
            promise: None,
        };
        self.visit(room, ticket, now, opened, &control).await
    }

    /// A waiting visitor's refresh: admitted (with a pass), still waiting (position, wait, new ticket), or not.
    pub async fn refresh(&self, ticket_token: &str) -> Result<Visit, GateError> {
        let ticket = self.signer.verify_ticket(ticket_token)?;
        let room = self.room(ticket.room)?;
        // A node whose clock lags another's must not show a longer wait than the other promised.
        let now = whole_seconds(self.now()).max(ticket.issued_at);
        let control = self.control(room, now).await?;
        let phase = room.schedule.phase(now);
        if let Some(message) = &control.maintenance {
            if now > ticket.refresh_by {
                return Ok(Visit::PlaceLost(LostReason::NotRefreshed));
            }
            // Admission is paused: the place is kept for as long as the maintenance lasts.
            let capacity = control.capacity.unwrap_or(room.capacity);
            let kept = Ticket { issued_at: now, refresh_by: now + secs(capacity.ticket_ttl_secs), ..ticket };
            let status = RoomStatus::Maintenance { message: message.clone() };
            return Ok(Visit::Unavailable { status, ticket: Some(self.signer.sign_ticket(&kept)?) });
        }
        match phase {
            Phase::Open { window, .. } if window == ticket.window => {
                self.visit(room, ticket, now, true, &control).await
            }
            Phase::PreQueue { window, .. } if window == ticket.window => {
                self.visit(room, ticket, now, false, &control).await
            }
            _ => Ok(Visit::PlaceLost(LostReason::WindowEnded)),
        }
    }

    /// Keeps a waiting visitor's place while they are away: the visit as [`Gate::refresh`] finds it, its ticket
    /// re-signed to need no refresh before `until(&waiting)` (given the place and its estimated wait) when the visitor
    /// is waiting with a known place (not in the pre-queue before the draw), with the held ticket. Anything else
    /// (admitted already, pre-queue, place lost) is returned as found. The place is the same: coming back after it was
    /// admitted and its claim grace ran out still loses it.
    pub async fn hold(
        &self,
        ticket_token: &str,
        until: impl FnOnce(&Waiting) -> DateTime<Utc>,
    ) -> Result<(Visit, Option<Ticket>), GateError> {
        let visit = self.refresh(ticket_token).await?;
        let Visit::Waiting(waiting) = visit else { return Ok((visit, None)) };
        if waiting.position.is_none() {
            return Ok((Visit::Waiting(waiting), None));
        }
        let ticket = self.signer.verify_ticket(&waiting.ticket)?;
        let held = Ticket { refresh_by: ticket.refresh_by.max(whole_seconds(until(&waiting))), ..ticket };
        let token = self.signer.sign_ticket(&held)?;
        Ok((Visit::Waiting(Waiting { ticket: token, ..waiting }), Some(held)))
    }

    /// The common path of enter and refresh: admit what capacity allows, then claim, or report the place.
    async fn visit(
        &self,
        room: &Room,
        ticket: Ticket,
        now: DateTime<Utc>,
        opened: bool,
        control: &Control,
    ) -> Result<Visit, GateError> {
        let capacity = control.capacity.unwrap_or(room.capacity);
        let snapshot = self.advance(room, ticket.window, now, opened, control).await?;
        let place = if ticket.pre_queue {
            match snapshot.pre_queue_size {
                Some(n) => self.drawn_place(room, ticket.window, n, ticket.seq).await?,
                None => {
                    if now > ticket.refresh_by {
                        return Ok(Visit::PlaceLost(LostReason::NotRefreshed));
                    }
                    let kept = Ticket { issued_at: now, refresh_by: now + secs(capacity.ticket_ttl_secs), ..ticket };
                    return Ok(Visit::Waiting(Waiting {
                        room: room.id,
                        ticket: self.signer.sign_ticket(&kept)?,
                        position: None,
                        eta_secs: None,
                        refresh_secs: capacity.refresh_interval_secs,
                        pre_queue: true,
                        opens_at: Some(ticket.window.opens_at()),
                    }));
                }
            }
        } else {
            ticket.seq
        };
        if place < snapshot.admitted_upto {
            return self.claim(room, ticket.window, place, now, &capacity).await;
        }
        if now > ticket.refresh_by {
            return Ok(Visit::PlaceLost(LostReason::NotRefreshed));
        }
        let position = place - snapshot.admitted_upto + 1;
        let rate = eta::planning_rate_milli(&capacity, control.health_permille, snapshot.measured_rate_milli);
        let estimate = eta::estimate_secs(position, rate, capacity.refresh_interval_secs);
        let promise = eta::promise(now, ticket.promise, estimate);
        let renewed = Ticket {
            seq: place,
            pre_queue: false,
            issued_at: now,
            // A place held for a visitor who asked to be told ([`Gate::hold`]) stays held when they look in.
            refresh_by: (now + secs(capacity.ticket_ttl_secs)).max(ticket.refresh_by),
            promise: Some(promise),
            ..ticket
        };
        Ok(Visit::Waiting(Waiting {
            room: room.id,
            ticket: self.signer.sign_ticket(&renewed)?,
            position: Some(position),
            eta_secs: Some(eta::remaining_secs(now, promise)),
            refresh_secs: capacity.refresh_interval_secs,
            pre_queue: false,
            opens_at: None,
        }))
    }

    /// Place of pre-queue arrival `index` once the draw is frozen; the seed is fixed by then, so it is cached.
    async fn drawn_place(&self, room: &Room, window: WindowId, n: u64, index: u64) -> Result<u64, GateError> {
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            cache.draws.get(&room.id).filter(|(w, size, _)| *w == window && *size == n).map(|(_, _, seed)| *seed)
        };
        let seed = match cached {
            Some(seed) => seed,
            None => {
                let stored = self.state.draw(&room.key, window).await?;
                let seed = stored.seed.ok_or_else(|| {
                    StateError::Corrupt(format!("room {} window {window}: pre-queue of {n} without a seed", room.key))
                })?;
                self.cache.lock().unwrap_or_else(PoisonError::into_inner).draws.insert(room.id, (window, n, seed));
                seed
            }
        };
        draw::position(&seed, n, index).ok_or_else(|| {
            GateError::State(StateError::Corrupt(format!("pre-queue index {index} beyond its frozen size {n}")))
        })
    }

    async fn claim(
        &self,
        room: &Room,
        window: WindowId,
        place: u64,
        now: DateTime<Utc>,
        capacity: &Capacity,
    ) -> Result<Visit, GateError> {
        let pass_id = self.signer.pass_id(room.id, window, place);
        let expires_at = now + secs(capacity.pass_ttl_secs);
        let outcome = self.state.claim(&room.key, window, place, pass_id, ms(expires_at), ms(now)).await?;
        let (admitted_at, expires_at) = match outcome {
            ClaimOutcome::Granted { .. } => (now, expires_at),
            ClaimOutcome::AlreadyGranted { expires_ms } => {
                let expires_at = DateTime::from_timestamp_millis(expires_ms).map_or(expires_at, whole_seconds);
                (expires_at - secs(capacity.pass_ttl_secs), expires_at)
            }
            ClaimOutcome::Revoked => return Ok(Visit::PlaceLost(LostReason::Revoked)),
            ClaimOutcome::Lapsed => return Ok(Visit::PlaceLost(LostReason::ClaimLapsed)),
        };
        let pass = Pass { room: room.id, pass_id, admitted_at, expires_at };
        Ok(Visit::Admitted(Admitted { room: room.id, pass: self.signer.sign_pass(&pass)?, pass_id, expires_at }))
    }

    /// Checks a pass on a request to the protected service.
    pub async fn check_pass(&self, pass_token: &str) -> Result<PassCheck, GateError> {
        let pass = self.signer.verify_pass(pass_token)?;
        let room = self.room(pass.room)?;
        let now = self.now();
        if now >= pass.expires_at {
            return Ok(PassCheck::Expired);
        }
        let control = self.control(room, now).await?;
        if let Some(message) = control.maintenance {
            return Ok(PassCheck::Maintenance(message));
        }
        if self.state.is_revoked(&room.key, pass.pass_id, ms(now)).await? {
            return Ok(PassCheck::Revoked);
        }
        Ok(PassCheck::Valid(pass))
    }

    /// Renews a pass in use once half of its lifetime is spent: the same pass, lasting another `pass_ttl_secs` from
    /// now but never beyond the longest a pass may live after admission. `None` when it needs no renewal yet, is at
    /// its longest, or is no longer active (lapsed or revoked: the next check sends its holder back to queue).
    pub async fn renew(&self, pass: &Pass) -> Result<Option<Admitted>, GateError> {
        let room = self.room(pass.room)?;
        let now = whole_seconds(self.now());
        let control = self.control(room, now).await?;
        let capacity = control.capacity.unwrap_or(room.capacity);
        let lifetime = secs(capacity.pass_ttl_secs);
        if pass.expires_at - now > lifetime / 2 {
            return Ok(None);
        }
        let expires_at = (now + lifetime).min(pass.admitted_at + secs(capacity.longest_pass_secs()));
        if expires_at <= pass.expires_at || !self.state.renew(&room.key, pass.pass_id, ms(expires_at), ms(now)).await? {
            return Ok(None);
        }
        let renewed = Pass { expires_at, ..pass.clone() };
        Ok(Some(Admitted { room: room.id, pass: self.signer.sign_pass(&renewed)?, pass_id: pass.pass_id, expires_at }))
    }

    /// The holder is done (application submitted, logged out): the slot goes to the next visitor at once.
    pub async fn release(&self, pass_token: &str) -> Result<(), GateError> {
        let pass = self.signer.verify_pass(pass_token)?;
        let room = self.room(pass.room)?;
        self.state.revoke(&room.key, pass.pass_id, ms(self.now()), ms(pass.expires_at)).await?;
        Ok(())
    }
}
