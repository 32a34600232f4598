//! Fixtures: the first-of-April rooms, a gate over either backend, and a visitor's moves.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sportello_gate::testing::TestRedis;
use sportello_gate::{
    Admitted, Capacity, Gate, GateConfig, GateSettings, GateState, ManualClock, MemoryState, Offer, Proof, RoomId,
    Signer, Visit, Waiting, pow,
};

/// Runs each named scenario `async fn name(backend: Backend)` once in process and once on Redis.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::support::Backend::memory()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(backend) = $crate::support::Backend::redis().await {
                        super::$name(backend).await;
                    }
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

pub const CITIZENS: RoomId = RoomId(0);
pub const INTERMEDIARIES: RoomId = RoomId(1);

pub fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap_or_else(|e| panic!("bad instant {s}: {e}"))
}

/// The citizens' room opens on 1 April 2020 at 16:00 Rome time (14:00Z), with a pre-queue from 15:00.
pub fn citizens_opening() -> DateTime<Utc> {
    utc("2020-04-01T14:00:00Z")
}

/// Small numbers so that each admission is visible: one per second, one at a time.
pub fn small_capacity() -> Capacity {
    Capacity {
        admit_per_sec: 1,
        burst: 1,
        max_active: 100,
        pass_ttl_secs: 600,
        claim_grace_secs: 60,
        refresh_interval_secs: 15,
        ticket_ttl_secs: 60,
        pass_max_secs: None,
    }
}

/// Both rooms of the first of April with `capacity`; easy proofs of work; no caching of live settings.
pub fn config(capacity: Capacity) -> GateConfig {
    let text = r#"
        control_cache_ms = 0

        [pow]
        min_bits = 4
        max_bits = 8
        waiting_per_bit = 10

        [[rooms]]
        key = "cittadini"
        path = "/"
        pre_queue_minutes = 60
        windows = [{ from = "2020-04-01T16:00" }]

        [[rooms]]
        key = "intermediari"
        path = "/intermediari"
        pre_queue_minutes = 60
        windows = [{ days = ["mon", "tue", "wed", "thu", "fri"], opens = "08:00", closes = "16:00" }]
    "#;
    let mut settings: GateSettings = toml::from_str(text).unwrap_or_else(|e| panic!("test config: {e}"));
    for room in &mut settings.rooms {
        room.capacity = capacity;
    }
    settings.validate().unwrap_or_else(|e| panic!("{e}"))
}

/// A place to keep the gate's counters.
pub struct Backend {
    pub state: Arc<dyn GateState>,
    redis: Option<TestRedis>,
}

impl Backend {
    pub fn memory() -> Self {
        Self { state: Arc::new(MemoryState::new()), redis: None }
    }

    /// `None` (skipped) when Redis is absent outside CI.
    pub async fn redis() -> Option<Self> {
        let redis = TestRedis::create().await?;
        let state = Arc::new(redis.node().await);
        Some(Self { state, redis: Some(redis) })
    }

    /// Another node's view of the same counters (a second Redis connection; the same memory).
    pub async fn node(&self) -> Arc<dyn GateState> {
        match &self.redis {
            Some(redis) => Arc::new(redis.node().await),
            None => self.state.clone(),
        }
    }

    /// A gate node over these counters.
    pub async fn gate(&self, clock: &ManualClock, capacity: Capacity) -> Gate {
        Gate::new(config(capacity), signer(), self.node().await, clock.clock())
    }
}

pub fn signer() -> Signer {
    Signer::new(1, &[7u8; 32]).unwrap_or_else(|e| panic!("{e}"))
}

/// Asks for a challenge, solves it and enters.
pub async fn join(gate: &Gate, room: RoomId) -> Visit {
    let offer = match gate.challenge(room, false).await.unwrap_or_else(|e| panic!("challenge: {e}")) {
        Offer::Challenge(offer) => offer,
        Offer::Unavailable(status) => panic!("room unavailable: {status:?}"),
    };
    let nonce = pow::solve(&offer.token, offer.difficulty);
    gate.enter(&offer.token, Proof::Nonce(nonce)).await.unwrap_or_else(|e| panic!("enter: {e}"))
}

pub async fn refresh(gate: &Gate, ticket: &str) -> Visit {
    gate.refresh(ticket).await.unwrap_or_else(|e| panic!("refresh: {e}"))
}

pub fn waiting(visit: &Visit) -> &Waiting {
    match visit {
        Visit::Waiting(w) => w,
        other => panic!("expected to be waiting, got {other:?}"),
    }
}

pub fn admitted(visit: &Visit) -> &Admitted {
    match visit {
        Visit::Admitted(a) => a,
        other => panic!("expected to be admitted, got {other:?}"),
    }
}
