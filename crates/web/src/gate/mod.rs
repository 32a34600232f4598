//! The admission gate in front of the portal: the `[gate]` configuration, the tower layer that lets pass holders
//! through and sends everyone else to the waiting room, the waiting room's pages and JSON, and the public status
//! page. The decisions (capacity, tickets, passes, the draw) are `sportello_gate`'s; this module only carries
//! them over HTTP. Nothing here touches the database — the waiting room must stand when the portal behind it does
//! not — but the status page's count of applications received, which it leaves out when the database does not
//! answer within a quarter of a second (`crate::throughput`).

mod back;
pub(crate) mod cookies;
mod layer;
mod status;
mod waiting;
mod watch;

use std::sync::Arc;

use serde::Deserialize;
use sportello_gate::{
    Clock, Gate, GateSettings, GateState, MemoryState, PowConfig, RedisState, RoomSettings, Signer, system_clock,
};

use crate::routes::{Audience, Routes};
use crate::secret::SecretHex;

pub use back::ReturnPaths;
pub use layer::guard;
pub use waiting::waiting_room_url;
pub use watch::{sample_metrics, watch};

/// The embedded script that solves the proof of work and polls the queue, by content hash.
pub const GATE_JS: &str = concat!("/static/sportello/", env!("SPORTELLO_GATE_JS_HASH"), "/gate.js");

/// The pass cookie: present and valid, the request goes through.
pub const PASS_COOKIE: &str = "__Host-sportello_pass";
/// The header a JSON client sends its pass in.
pub const PASS_HEADER: &str = "sportello-pass";
/// The ticket cookie: the visitor's place in the queue.
pub const TICKET_COOKIE: &str = "__Host-sportello_ticket";
/// The header a JSON client sends its ticket in.
pub const TICKET_HEADER: &str = "sportello-ticket";
/// The no-JavaScript challenge cookie, redeemed once its wait is over.
pub const CHALLENGE_COOKIE: &str = "__Host-sportello_sfida";

/// The `[gate]` section. Absent: no gate, every request goes straight to the portal. For example, the rooms of
/// the first of April 2020, intermediaries from 8 to 16 and citizens from 16, each with an hour of pre-queue:
///
/// ```toml
/// [gate]
/// signing_key = "…64 hex digits, the same on every node…"
/// redis_url = "redis://gate.internal:6379"
///
/// [[gate.rooms]]
/// key = "cittadini"
/// path = "/"
/// pre_queue_minutes = 60
/// windows = [{ from = "2020-04-01T16:00" }]
/// capacity = { admit_per_sec = 300, burst = 600, max_active = 20000, pass_ttl_secs = 1200, claim_grace_secs = 60, refresh_interval_secs = 15, ticket_ttl_secs = 60 }
///
/// [[gate.rooms]]
/// key = "intermediari"
/// path = "/intermediari"
/// windows = [{ days = ["mon", "tue", "wed", "thu", "fri"], opens = "08:00", closes = "16:00" }]
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSection {
    /// The key tickets and passes are signed with, 64 hex digits; every node must share it.
    pub signing_key: SecretHex,
    /// The key's id carried in the tokens (change it when rotating). Default 1.
    #[serde(default = "default_key_id")]
    pub key_id: u8,
    /// Keys that tokens signed earlier may still carry, while they last: when rotating, move the old key here
    /// (with its id) and set a new `signing_key` with a new `key_id` on every node; drop it after the longest pass
    /// lifetime. New tokens are always signed with `signing_key`.
    #[serde(default)]
    pub previous_keys: Vec<PreviousKey>,
    /// The shared counters of several nodes; absent: kept in this process (one node only).
    pub redis_url: Option<String>,
    /// The prefix of the gate's keys in Redis. Default `sportello-gate`.
    #[serde(default = "default_redis_prefix")]
    pub redis_prefix: String,
    /// The rooms: entry path, opening windows, capacity.
    pub rooms: Vec<RoomSettings>,
    /// Proof of work.
    #[serde(default)]
    pub pow: PowConfig,
    /// How long a node reuses the operator's live settings, milliseconds. Default 1000.
    #[serde(default = "default_control_cache_ms")]
    pub control_cache_ms: u32,
    /// Adapting admission to the backend's health; off when absent.
    pub adaptive: Option<AdaptiveSection>,
    /// "Avvisami": a waiting visitor leaves an e-mail address or a mobile number and is told when their turn is near;
    /// off when absent.
    pub reminders: Option<RemindersSection>,
}

/// `[gate.reminders]`: the waiting room offers to tell a visitor, by e-mail or SMS through the outbox, when their
/// turn is about `lead_minutes` away, with a link back to their place, which is held for them meanwhile. For example:
///
/// ```toml
/// [gate.reminders]
/// public_url = "https://sportello.example.it"
/// lead_minutes = 10
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemindersSection {
    /// The portal's address as visitors reach it (`https://…`), for the link in the message.
    pub public_url: String,
    /// How long before their estimated turn a visitor is told, in minutes (1 to 120). Default 10.
    #[serde(default = "default_lead_minutes")]
    pub lead_minutes: u32,
}

fn default_lead_minutes() -> u32 {
    10
}

impl RemindersSection {
    /// The link back to the place `ticket` holds.
    pub fn resume_url(&self, ticket: &str) -> String {
        format!("{}/attesa/riprendi?biglietto={ticket}", self.public_url.trim_end_matches('/'))
    }

    fn check(&self) -> Result<(), GateSetupError> {
        let url = url::Url::parse(&self.public_url).map_err(|e| {
            GateSetupError::Reminders(format!("public_url {:?} is not an address: {e}", self.public_url))
        })?;
        if !matches!(url.scheme(), "https" | "http") || url.query().is_some() || url.fragment().is_some() {
            return Err(GateSetupError::Reminders(format!(
                "public_url {:?}: give the portal's address only, as https://host[:port]",
                self.public_url
            )));
        }
        if !(1..=120).contains(&self.lead_minutes) {
            return Err(GateSetupError::Reminders(format!(
                "lead_minutes = {}: give 1 to 120 minutes",
                self.lead_minutes
            )));
        }
        Ok(())
    }
}

/// A retired signing key still accepted on tokens that carry its id.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousKey {
    /// The id tokens signed with it carry.
    pub key_id: u8,
    /// The key, 64 hex digits.
    pub signing_key: SecretHex,
}

/// `[gate.adaptive]`: every `interval_secs` each node looks at its admitted requests (95th percentile latency, share
/// failed or shed) and halves the admission rate while they strain, raising it step by step when they recover —
/// never above the rate set. With several nodes, the last to look sets the rate for all.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveSection {
    /// Above this 95th percentile latency of admitted requests (milliseconds) the backend counts as strained.
    pub target_latency_ms: u32,
    /// Above this share of admitted requests failed (5xx) or shed, per mille, the backend counts as strained.
    pub max_error_permille: u32,
    /// How often to look, seconds.
    pub interval_secs: u32,
}

impl Default for AdaptiveSection {
    fn default() -> Self {
        Self { target_latency_ms: 500, max_error_permille: 20, interval_secs: 5 }
    }
}

fn default_key_id() -> u8 {
    1
}

fn default_redis_prefix() -> String {
    "sportello-gate".to_owned()
}

fn default_control_cache_ms() -> u32 {
    1000
}

/// Why the gate could not be built from its section.
#[derive(Debug, thiserror::Error)]
pub enum GateSetupError {
    /// The signing key is not hex.
    #[error("gate.signing_key must be 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`")]
    KeyNotHex,
    /// The signing key is too short.
    #[error(transparent)]
    Key(#[from] sportello_gate::token::KeyError),
    /// A room, window or capacity is wrong.
    #[error(transparent)]
    Config(#[from] sportello_gate::ConfigError),
    /// Redis did not answer.
    #[error("gate.redis_url: {0}")]
    Redis(#[from] sportello_gate::StateError),
    /// `[gate.reminders]` is wrong.
    #[error("gate.reminders: {0}")]
    Reminders(String),
}

impl GateSection {
    /// The gate's own settings, as `sportello_gate` reads them.
    pub fn settings(&self) -> GateSettings {
        GateSettings { rooms: self.rooms.clone(), pow: self.pow.clone(), control_cache_ms: self.control_cache_ms }
    }

    /// The signer of this section's key, accepting the previous keys too.
    pub fn signer(&self) -> Result<Signer, GateSetupError> {
        let decode = |key: &SecretHex| hex::decode(key.0.trim()).map_err(|_| GateSetupError::KeyNotHex);
        let mut signer = Signer::new(self.key_id, &decode(&self.signing_key)?)?;
        for previous in &self.previous_keys {
            signer = signer.accepting(previous.key_id, &decode(&previous.signing_key)?)?;
        }
        Ok(signer)
    }

    /// Builds the gate: checks the settings, connects to Redis when configured, reads time from the wall clock.
    pub async fn build(&self) -> Result<GateApp, GateSetupError> {
        self.build_with(system_clock()).await
    }

    /// [`GateSection::build`] reading time from `clock`.
    pub async fn build_with(&self, clock: Clock) -> Result<GateApp, GateSetupError> {
        let config = self.settings().validate()?;
        if let Some(reminders) = &self.reminders {
            reminders.check()?;
        }
        let signer = self.signer()?;
        let state: Arc<dyn GateState> = match &self.redis_url {
            Some(url) => Arc::new(RedisState::connect(url, &self.redis_prefix).await?),
            None => Arc::new(MemoryState::new()),
        };
        let mut app = GateApp::new(Gate::new(config, signer.clone(), state, clock.clone()), signer, clock);
        app.adaptive = self.adaptive;
        app.reminders = self.reminders.clone();
        Ok(app)
    }
}

/// What the gate's handlers and layer reach: the gate, and its signer and clock for checks that must not wait
/// for the shared state.
#[derive(Clone)]
pub struct GateApp {
    /// The admission gate.
    pub gate: Arc<Gate>,
    /// Adapting admission to the backend's health, when configured.
    pub adaptive: Option<AdaptiveSection>,
    /// "Avvisami", when configured.
    pub reminders: Option<RemindersSection>,
    /// The applications received lately, for the status page, when the portal's store is at hand.
    pub throughput: Option<crate::throughput::Throughput>,
    /// The pages a visitor may be sent back to after the queue.
    return_paths: Arc<ReturnPaths>,
    signer: Signer,
    clock: Clock,
}

impl std::fmt::Debug for GateApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateApp").field("gate", &self.gate).finish_non_exhaustive()
    }
}

impl GateApp {
    /// The gate built over `signer` and `clock` (the same ones it was given).
    pub fn new(gate: Gate, signer: Signer, clock: Clock) -> Self {
        Self {
            gate: Arc::new(gate),
            adaptive: None,
            reminders: None,
            throughput: None,
            return_paths: Arc::default(),
            signer,
            clock,
        }
    }

    /// This gate's status page showing the applications `throughput` reads.
    #[must_use]
    pub fn counting(self, throughput: crate::throughput::Throughput) -> Self {
        Self { throughput: Some(throughput), ..self }
    }

    /// This gate sending visitors back only to the pages of `listed` (the portal's route table); until given one it
    /// sends everyone to the home page.
    #[must_use]
    pub fn returning_to(self, listed: &[crate::routes::Listed]) -> Self {
        Self { return_paths: Arc::new(ReturnPaths::of(listed)), ..self }
    }

    /// Whether `pass` is signed by this gate's key, for `room`, and not expired: what can be known without the
    /// shared state.
    pub fn is_genuine(&self, pass: &str, room: sportello_gate::RoomId) -> bool {
        self.signer.verify_pass(pass).is_ok_and(|p| p.room == room && p.expires_at > (self.clock)())
    }

    /// The time by the gate's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.clock)()
    }
}

/// The waiting room and status routes, ready to merge into the portal's router. Everything carrying a ticket or
/// a pass is personal; only the status page is the same for everyone. Taking a place is rate limited per client
/// address by `limits`.
pub fn routes<S: Clone + Send + Sync + 'static>(app: GateApp, limits: Arc<crate::limits::RateLimits>) -> Routes<S> {
    use axum::routing::{get, post};
    let limited = axum::middleware::from_fn_with_state(limits, crate::limits::guard);
    Routes::new()
        .add(Audience::Personal, "/attesa", "GET", get(waiting::page))
        .add(Audience::Personal, "/attesa/biglietto", "POST", post(waiting::enter).layer(limited))
        .add(Audience::Personal, "/attesa/stato", "GET", get(waiting::state))
        .add(Audience::Personal, "/attesa/esci", "POST", post(waiting::leave))
        .add(Audience::Personal, "/attesa/riprendi", "GET", get(waiting::resume))
        .add(Audience::Public, "/stato", "GET", get(status::page))
        .with_state(app)
}

/// Whether `path` is never gated: the static files and the icon, the probes, the waiting room, the status page, and the page
/// confirming a logout (the logout gave the pass back; the confirmation must not send its reader to the queue).
pub fn is_exempt(path: &str) -> bool {
    path.starts_with("/static/")
        || matches!(path, "/favicon.ico" | "/healthz" | "/readyz" | "/stato" | "/attesa" | "/uscita")
        || path.starts_with("/attesa/")
        // The institute's officers work through the click day rather than queue behind the citizens.
        || path == "/ufficio"
        || path.starts_with("/ufficio/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(extra: &str) -> Result<Option<GateSection>, crate::config::ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sportello.toml");
        std::fs::write(&file, extra).unwrap();
        crate::config::Config::load(Some(&file)).map(|c| c.gate)
    }

    #[test]
    fn the_renewed_pass_header_is_one_the_caching_rule_keeps_out_of_shared_caches() {
        let name = axum::http::HeaderName::from_static(PASS_HEADER);
        assert!(crate::security::TOKEN_HEADERS.contains(&name), "{PASS_HEADER} must be listed in security.rs");
    }

    const ROOM: &str =
        "[[gate.rooms]]\nkey = \"cittadini\"\npath = \"/\"\nwindows = [{ from = \"2020-04-01T16:00\" }]\n";

    #[tokio::test]
    async fn the_gate_is_off_without_its_section_and_refuses_a_key_that_is_not_hex() {
        assert!(section("[http]\n").unwrap().is_none(), "no [gate]: no gate");
        let bad = section(&format!("[gate]\nsigning_key = \"not hex\"\n{ROOM}")).unwrap().unwrap();
        assert!(matches!(bad.build().await, Err(GateSetupError::KeyNotHex)));
        let short = section(&format!("[gate]\nsigning_key = \"0707\"\n{ROOM}")).unwrap().unwrap();
        assert!(matches!(short.build().await, Err(GateSetupError::Key(_))));
        let good = section(&format!("[gate]\nsigning_key = \"{}\"\n{ROOM}", "07".repeat(32))).unwrap().unwrap();
        assert!(good.adaptive.is_none(), "adaptive capacity is off unless asked for");
        assert_eq!(good.build().await.unwrap().gate.config().rooms.len(), 1);
        let missing = section(&format!("[gate]\n{ROOM}")).unwrap_err().to_string();
        assert!(missing.contains("signing_key"), "{missing}");
        let typo = section(&format!("[gate]\nsigning_key = \"{}\"\nrooms_ = 1\n{ROOM}", "07".repeat(32)));
        assert!(typo.is_err(), "unknown keys are refused");
    }

    #[tokio::test]
    async fn after_a_key_rotation_passes_signed_with_the_previous_key_still_open_the_portal() {
        use sportello_gate::{Pass, PassId, RoomId};
        let old = Signer::new(1, &[7u8; 32]).unwrap();
        let now = chrono::Utc::now();
        let pass = Pass {
            room: RoomId(0),
            pass_id: PassId([1; 16]),
            admitted_at: now,
            expires_at: now + chrono::TimeDelta::minutes(10),
        };
        let signed_before = old.sign_pass(&pass).unwrap();
        let rotated = format!(
            "[gate]\nsigning_key = \"{}\"\nkey_id = 2\nprevious_keys = [{{ key_id = 1, signing_key = \"{}\" }}]\n{ROOM}",
            "08".repeat(32),
            "07".repeat(32)
        );
        let app = section(&rotated).unwrap().unwrap().build().await.unwrap();
        assert!(app.is_genuine(&signed_before, RoomId(0)), "a pass of the previous key is still honoured");
        let signed_after = app.signer.sign_pass(&pass).unwrap();
        assert_ne!(signed_after, signed_before, "new tokens carry the new key");
        let without = format!("[gate]\nsigning_key = \"{}\"\nkey_id = 2\n{ROOM}", "08".repeat(32));
        let app = section(&without).unwrap().unwrap().build().await.unwrap();
        assert!(!app.is_genuine(&signed_before, RoomId(0)), "once dropped, the old key opens nothing");
        let reused = format!(
            "[gate]\nsigning_key = \"{}\"\nprevious_keys = [{{ key_id = 1, signing_key = \"{}\" }}]\n{ROOM}",
            "08".repeat(32),
            "07".repeat(32)
        );
        let error = section(&reused).unwrap().unwrap().build().await.unwrap_err().to_string();
        assert!(error.contains("key id 1 is listed twice"), "{error}");
    }
}
