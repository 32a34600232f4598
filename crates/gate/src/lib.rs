//! Sportello's admission gate ("waiting room"): when more people arrive than the service can take, they queue
//! with a signed ticket that costs the server no memory, see their place and an estimated wait that never goes
//! up, and are admitted at a set rate up to a set number of active sessions. Rooms per audience open on a
//! schedule; arrivals before an opening are drawn into a verifiable random order; a small proof of work keeps
//! bots from taking places cheaply. The counters live in the process or, for several nodes, in Redis.
//!
//! No HTTP here: `crates/web` wraps [`Gate`] in a tower layer and renders its pages. Time always comes from an
//! injected [`Clock`].

pub mod capacity;
pub mod clock;
pub mod config;
pub mod draw;
pub mod eta;
pub mod gate;
pub mod health;
pub mod invalid;
pub mod pow;
pub mod schedule;
pub mod state;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
pub mod visit;

pub use capacity::Capacity;
pub use clock::{Clock, ManualClock, system_clock};
pub use config::{ConfigError, GateConfig, GateSettings, Invalid, Room, RoomSettings, WindowSettings};
pub use gate::{DrawView, Gate, GateError, RoomView};
pub use health::HealthController;
pub use pow::PowConfig;
pub use schedule::{MaintenanceMessage, Phase, RoomStatus, Schedule, WindowSpec};
pub use state::{GateState, MemoryState, RedisState, StateError};
pub use token::{Challenge, Pass, PassId, RoomId, Signer, Ticket, TokenError, WindowId};
pub use visit::{Admitted, ChallengeOffer, LostReason, Offer, PassCheck, Proof, QueueView, Visit, Waiting};
