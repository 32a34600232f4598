//! The operator's hand on the admission gate: every room's state, its capacity changed live, maintenance on or off,
//! a pass revoked. What each does to the gate's shared state is here; connecting to it (the portal's configuration,
//! its Redis) is the door's.

use serde_json::Value;
use sportello_gate::{Capacity, Gate, GateError, MaintenanceMessage, PassId, RoomStatus, RoomView};
use thiserror::Error;

use crate::{ErrorKind, UseCaseError};

/// Why a gate operation did not complete.
#[derive(Debug, Error)]
pub enum GateOpError {
    /// No room has this key.
    #[error("no gate room is called {0:?}")]
    UnknownRoom(String),
    /// Not a pass id (32 hex digits).
    #[error("{text:?} is not a pass id: {error}")]
    PassId {
        /// What was given.
        text: String,
        /// Why it is not one.
        error: sportello_gate::TokenError,
    },
    /// The gate refused or failed.
    #[error(transparent)]
    Gate(#[from] GateError),
}

impl GateOpError {
    /// A room, pass or capacity that does not fit is the operator's to fix; the shared state failing is not.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnknownRoom(_) | Self::PassId { .. } => ErrorKind::Input,
            Self::Gate(GateError::UnknownRoom(_) | GateError::InvalidCapacity(_) | GateError::Token(_)) => {
                ErrorKind::Input
            }
            Self::Gate(_) => ErrorKind::Unavailable,
        }
    }
}

impl From<GateError> for UseCaseError {
    fn from(error: GateError) -> Self {
        Self::Gate(GateOpError::Gate(error))
    }
}

/// A change of capacity: each value given replaces the one in force, the others stay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapacityChange {
    /// New admissions per second, at most.
    pub admit_per_sec: Option<u32>,
    /// Admissions granted at once after a quiet spell.
    pub burst: Option<u32>,
    /// Passes active at once, at most.
    pub max_active: Option<u32>,
    /// How long a pass lasts, seconds.
    pub pass_ttl_secs: Option<u32>,
    /// The longest a pass lives with its renewals, seconds from admission.
    pub pass_max_secs: Option<u32>,
    /// How often a waiting page refreshes, seconds.
    pub refresh_interval_secs: Option<u32>,
}

impl CapacityChange {
    /// The capacity `current` becomes.
    pub fn applied_to(&self, current: Capacity) -> Capacity {
        Capacity {
            admit_per_sec: self.admit_per_sec.unwrap_or(current.admit_per_sec),
            burst: self.burst.unwrap_or(current.burst),
            max_active: self.max_active.unwrap_or(current.max_active),
            pass_ttl_secs: self.pass_ttl_secs.unwrap_or(current.pass_ttl_secs),
            pass_max_secs: self.pass_max_secs.or(current.pass_max_secs),
            refresh_interval_secs: self.refresh_interval_secs.unwrap_or(current.refresh_interval_secs),
            ..current
        }
    }
}

/// What to do with a room's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityOrder {
    /// Change some values of the capacity in force.
    Change(CapacityChange),
    /// Go back to the capacity of the configuration.
    Reset,
}

/// Every room's state as JSON (status, queue counters, capacity in force, the draw), with its instants also written
/// in the room's time zone for people.
pub async fn status(gate: &Gate) -> Result<Vec<Value>, UseCaseError> {
    let mut rooms = Vec::new();
    for room in &gate.config().rooms {
        let status = gate.status(room.id).await?;
        rooms.push(with_local_times(serde_json::to_value(&status)?, &status, room.schedule.tz));
    }
    Ok(rooms)
}

/// Changes room `room`'s capacity live on every node as `order` says; returns the capacity now in force.
pub async fn set_capacity(gate: &Gate, room: &str, order: CapacityOrder) -> Result<Capacity, UseCaseError> {
    let id = gate.config().room_by_key(room).ok_or_else(|| GateOpError::UnknownRoom(room.to_owned()))?.id;
    match order {
        CapacityOrder::Reset => gate.reset_capacity(room).await?,
        CapacityOrder::Change(change) => {
            let current = gate.status(id).await?.capacity;
            gate.set_capacity(room, change.applied_to(current)).await?;
        }
    }
    Ok(gate.status(id).await?.capacity)
}

/// Puts room `room` in maintenance with `message` (admission pauses, places are kept), or ends it with `None`.
pub async fn maintenance(gate: &Gate, room: &str, message: Option<MaintenanceMessage>) -> Result<(), UseCaseError> {
    gate.config().room_by_key(room).ok_or_else(|| GateOpError::UnknownRoom(room.to_owned()))?;
    gate.set_maintenance(room, message).await?;
    Ok(())
}

/// Revokes the pass `pass_id` (32 hex digits) of room `room`: its holder goes back to the waiting room. Returns the
/// pass and whether it was active (its slot is then free).
pub async fn revoke(gate: &Gate, room: &str, pass_id: &str) -> Result<(PassId, bool), UseCaseError> {
    gate.config().room_by_key(room).ok_or_else(|| GateOpError::UnknownRoom(room.to_owned()))?;
    let id: PassId = pass_id.parse().map_err(|error| GateOpError::PassId { text: pass_id.to_owned(), error })?;
    let active = gate.revoke(room, id).await?;
    Ok((id, active))
}

/// A room's status as JSON with its instants also written in the room's time zone, for people: `window` stays the
/// opening's epoch second and `opens_at`/`closes_at` stay UTC (programs read them), and beside them come
/// `window_opens_at_local`, `opens_at_local` and `closes_at_local`, e.g. "01/04/2020 16:00:00 CEST", and
/// `timezone`.
fn with_local_times(mut json: Value, status: &RoomView, tz: chrono_tz::Tz) -> Value {
    let local = |at: chrono::DateTime<chrono::Utc>| at.with_timezone(&tz).format("%d/%m/%Y %H:%M:%S %Z").to_string();
    let Some(room) = json.as_object_mut() else { return json };
    room.insert("timezone".to_owned(), tz.name().into());
    if let Some(window) = status.window {
        room.insert("window_opens_at_local".to_owned(), local(window.opens_at()).into());
    }
    let (key, at) = match &status.status {
        RoomStatus::Closed { opens_at, .. } => ("opens_at_local", *opens_at),
        RoomStatus::Open { closes_at } => ("closes_at_local", *closes_at),
        RoomStatus::Maintenance { .. } => return json,
    };
    // The status is tagged by its `state`, with its instant beside it.
    if let (Some(at), Some(inner)) = (at, room.get_mut("status").and_then(Value::as_object_mut)) {
        inner.insert(key.to_owned(), local(at).into());
    }
    json
}
