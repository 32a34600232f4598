//! The operator's side of the gate: revoking a pass, setting capacity, maintenance and health live on every node,
//! and the public status of a room with its draw. The visitor's side is in the parent module.

use serde::Serialize;

use super::{Gate, GateError, ms, secs, whole_seconds};
use crate::capacity::Capacity;
use crate::draw;
use crate::eta;
use crate::schedule::{MaintenanceMessage, Phase, RoomStatus};
use crate::state::QueueSnapshot;
use crate::token::{PassId, RoomId, WindowId, random_bytes};

/// The public state of a room, for the status page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoomView {
    /// The room's key.
    pub room: String,
    /// Open, closed or in maintenance.
    pub status: RoomStatus,
    /// The current or next window, when open or in the pre-queue.
    pub window: Option<WindowId>,
    /// The draw for that window, once its seed is committed.
    pub draw: Option<DrawView>,
    /// Places handed out and not yet admitted.
    pub waiting: u64,
    /// Places admitted so far in this window.
    pub admitted: u64,
    /// Passes active now.
    pub active: u64,
    /// The capacity in force.
    pub capacity: Capacity,
    /// The backend's health, per mille.
    pub health_permille: u32,
    /// Admissions per second, in thousandths, that estimates count on now (measured, within what capacity
    /// guarantees and allows).
    pub planning_rate_milli: u64,
    /// The proof of work's difficulty for the next arrival, bits.
    pub pow_difficulty: u8,
    /// The estimated wait of the last in line, seconds (0 with nobody waiting).
    pub eta_last_secs: u64,
}

/// The pre-queue draw as published: the commitment before the opening, the seed and size after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DrawView {
    /// SHA-256 of the seed, hex.
    pub commitment: String,
    /// The seed, hex, once the window has opened.
    pub seed: Option<String>,
    /// The pre-queue size, once frozen.
    pub pre_queue_size: Option<u64>,
}

impl Gate {
    /// The operator revokes a pass by id; returns whether it was active. Its slot is freed at once.
    pub async fn revoke(&self, room_key: &str, pass_id: PassId) -> Result<bool, GateError> {
        let room = self.room_by_key(room_key)?;
        let now = self.now();
        let control = self.control(room, now).await?;
        // Unknown to the state (never claimed, or state lost): refuse it for as long as any pass could live.
        let longest = control.capacity.unwrap_or(room.capacity).pass_ttl_secs.max(room.capacity.pass_ttl_secs);
        Ok(self.state.revoke(&room.key, pass_id, ms(now), ms(now + secs(longest))).await?)
    }

    /// Sets the room's capacity live on every node (within the control cache's lifetime).
    pub async fn set_capacity(&self, room_key: &str, capacity: Capacity) -> Result<(), GateError> {
        let room = self.room_by_key(room_key)?;
        capacity.validate().map_err(GateError::InvalidCapacity)?;
        self.state.set_capacity(&room.key, Some(capacity)).await?;
        self.forget_control(room);
        Ok(())
    }

    /// Goes back to the configured capacity.
    pub async fn reset_capacity(&self, room_key: &str) -> Result<(), GateError> {
        let room = self.room_by_key(room_key)?;
        self.state.set_capacity(&room.key, None).await?;
        self.forget_control(room);
        Ok(())
    }

    /// Switches maintenance mode on (with the message) or off.
    pub async fn set_maintenance(&self, room_key: &str, message: Option<MaintenanceMessage>) -> Result<(), GateError> {
        let room = self.room_by_key(room_key)?;
        self.state.set_maintenance(&room.key, message).await?;
        self.forget_control(room);
        Ok(())
    }

    /// Reports the backend's health (per mille, see [`crate::health::HealthController`]); the admission rate is
    /// scaled by it, never above the set maximum.
    pub async fn report_health(&self, room_key: &str, permille: u32) -> Result<(), GateError> {
        let room = self.room_by_key(room_key)?;
        self.state.set_health(&room.key, permille).await?;
        self.forget_control(room);
        Ok(())
    }

    /// The room's public state: status, queue counters, and the draw (commitment; seed once open).
    pub async fn status(&self, room: RoomId) -> Result<RoomView, GateError> {
        let room = self.room(room)?;
        let now = whole_seconds(self.now());
        let control = self.control(room, now).await?;
        let phase = room.schedule.phase(now);
        let capacity = control.capacity.unwrap_or(room.capacity);
        let (window, snapshot, draw) = match phase {
            Phase::PreQueue { window, .. } => {
                let seed = self.state.ensure_seed(&room.key, window, random_bytes().map_err(GateError::Rng)?).await?;
                let snapshot = self.advance(room, window, now, false, &control).await?;
                let draw =
                    DrawView { commitment: hex::encode(draw::commitment(&seed)), seed: None, pre_queue_size: None };
                (Some(window), snapshot, Some(draw))
            }
            Phase::Open { window, .. } => {
                let snapshot = self.advance(room, window, now, true, &control).await?;
                let stored = self.state.draw(&room.key, window).await?;
                let draw = stored.seed.map(|seed| DrawView {
                    commitment: hex::encode(draw::commitment(&seed)),
                    seed: stored.pre_queue_size.map(|_| hex::encode(seed)),
                    pre_queue_size: stored.pre_queue_size,
                });
                (Some(window), snapshot, draw)
            }
            Phase::Closed { .. } => (None, QueueSnapshot::default(), None),
        };
        Ok(RoomView {
            room: room.key.clone(),
            status: RoomStatus::of(phase, control.maintenance.as_ref()),
            window,
            draw,
            waiting: snapshot.waiting(),
            admitted: snapshot.admitted_upto,
            active: snapshot.active,
            capacity,
            health_permille: control.health_permille,
            planning_rate_milli: eta::planning_rate_milli(
                &capacity,
                control.health_permille,
                snapshot.measured_rate_milli,
            ),
            pow_difficulty: self.config.pow.difficulty(snapshot.waiting()),
            eta_last_secs: match snapshot.waiting() {
                0 => 0,
                waiting => eta::estimate_secs(
                    waiting,
                    eta::planning_rate_milli(&capacity, control.health_permille, snapshot.measured_rate_milli),
                    capacity.refresh_interval_secs,
                ),
            },
        })
    }
}
