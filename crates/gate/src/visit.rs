//! What a visit to the gate hands back and forth: the proof a visitor brings, the challenge offered, the outcome of
//! entering or refreshing (waiting, admitted, unavailable, place lost), its JSON view, and a pass checked on a
//! request. Plain values: the decisions are made in [`crate::Gate`].

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::schedule::{MaintenanceMessage, RoomStatus};
use crate::token::{Pass, PassId, RoomId};

/// How a visitor proves the work before a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// The nonce found by the page's script or a JSON client.
    Nonce(u64),
    /// Nothing but the wait (no-JavaScript challenges).
    Waited,
}

/// A challenge to solve before entering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChallengeOffer {
    /// The signed challenge; the proof hashes exactly this string.
    pub token: String,
    /// Leading zero bits needed; 0 on the no-JavaScript path.
    pub difficulty: u8,
    /// Redeemable from then (the no-JavaScript wait).
    pub not_before: DateTime<Utc>,
    /// Redeemable until then.
    pub expires_at: DateTime<Utc>,
    /// Issued for the no-JavaScript path.
    pub no_js: bool,
}

/// The answer to a request for a challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offer {
    /// Solve this, then [`Gate::enter`](crate::Gate::enter).
    Challenge(ChallengeOffer),
    /// Nothing to join now: closed (pre-queue not open) or in maintenance.
    Unavailable(RoomStatus),
}

/// A waiting visitor's state after a refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// The room.
    pub room: RoomId,
    /// The re-signed ticket to keep (cookie or JSON).
    pub ticket: String,
    /// Place in the queue, 1 = next; `None` in the pre-queue, before the draw.
    pub position: Option<u64>,
    /// Seconds until the promised admission, never more than last shown; `None` in the pre-queue.
    pub eta_secs: Option<u64>,
    /// Refresh after this many seconds.
    pub refresh_secs: u32,
    /// In the pre-queue, waiting for the opening and its draw.
    pub pre_queue: bool,
    /// The opening, while in the pre-queue.
    pub opens_at: Option<DateTime<Utc>>,
}

/// An admitted visitor's pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// The room.
    pub room: RoomId,
    /// The signed pass to keep.
    pub pass: String,
    /// Its id (for logs and revocation).
    pub pass_id: PassId,
    /// Until then.
    pub expires_at: DateTime<Utc>,
}

/// Why a visitor no longer has a place; they may ask for a new challenge and join at the back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LostReason {
    /// Not refreshed within `ticket_ttl_secs`.
    NotRefreshed,
    /// Admitted, but not back to claim the pass within `claim_grace_secs`.
    ClaimLapsed,
    /// The window the ticket was for has closed.
    WindowEnded,
    /// The pass for this place was revoked.
    Revoked,
}

/// The outcome of entering or refreshing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Visit {
    /// Still waiting.
    Waiting(Waiting),
    /// Admitted: here is the pass.
    Admitted(Admitted),
    /// The room is closed or in maintenance; `ticket`, when present, keeps the place (re-signed).
    Unavailable {
        /// What to show.
        status: RoomStatus,
        /// The ticket to keep, if the visitor still holds a place.
        ticket: Option<String>,
    },
    /// The place is gone.
    PlaceLost(LostReason),
}

/// What a JSON client (or the page's script) gets: position, wait, refresh interval, admitted or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueView {
    /// `waiting`, `pre_queue`, `admitted`, `closed`, `maintenance` or `place_lost`.
    pub state: &'static str,
    /// Admitted.
    pub admitted: bool,
    /// Place in the queue, 1 = next.
    pub position: Option<u64>,
    /// Estimated seconds to admission; never goes up.
    pub eta_seconds: Option<u64>,
    /// When to ask again.
    pub refresh_seconds: Option<u32>,
    /// The next opening, when closed or in the pre-queue.
    pub opens_at: Option<DateTime<Utc>>,
    /// The operator's message, in maintenance.
    pub message: Option<MaintenanceMessage>,
    /// Why the place was lost.
    pub lost: Option<LostReason>,
}

impl Visit {
    /// The JSON view of this outcome.
    pub fn view(&self) -> QueueView {
        let blank = QueueView {
            state: "waiting",
            admitted: false,
            position: None,
            eta_seconds: None,
            refresh_seconds: None,
            opens_at: None,
            message: None,
            lost: None,
        };
        match self {
            Visit::Waiting(w) => QueueView {
                state: if w.pre_queue { "pre_queue" } else { "waiting" },
                position: w.position,
                eta_seconds: w.eta_secs,
                refresh_seconds: Some(w.refresh_secs),
                opens_at: w.opens_at,
                ..blank
            },
            Visit::Admitted(_) => QueueView { state: "admitted", admitted: true, ..blank },
            Visit::Unavailable { status: RoomStatus::Maintenance { message }, .. } => {
                QueueView { state: "maintenance", message: Some(message.clone()), ..blank }
            }
            Visit::Unavailable { status: RoomStatus::Closed { opens_at, .. }, .. } => {
                QueueView { state: "closed", opens_at: *opens_at, ..blank }
            }
            Visit::Unavailable { status: RoomStatus::Open { .. }, .. } => QueueView { state: "waiting", ..blank },
            Visit::PlaceLost(reason) => QueueView { state: "place_lost", lost: Some(*reason), ..blank },
        }
    }
}

/// A pass checked on a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PassCheck {
    /// Let it through.
    Valid(Pass),
    /// Past its lifetime: back to the queue.
    Expired,
    /// Revoked by the operator or released by its holder.
    Revoked,
    /// The room is in maintenance.
    Maintenance(MaintenanceMessage),
}
