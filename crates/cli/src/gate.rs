//! `sportello gate …`: the operator's hand on the admission gate of running portals. The commands write to the
//! gate's shared state in Redis (`gate.redis_url`), which every node reads within `gate.control_cache_ms`, so one
//! command changes capacity, maintenance or a pass on all nodes at once.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use sportello_gate::{Capacity, MaintenanceMessage, PassId};
use sportello_web::config::Config;
use sportello_web::gate::GateApp;

use crate::error::InputError;

/// `sportello gate …`
#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Print every room's state as JSON: status, queue counters, capacity in force, the draw.
    Status(GateArgs),
    /// Change a room's capacity live on every node; unset values keep the capacity in force.
    Set(GateSetArgs),
    /// Put a room in maintenance with a message (admission pauses, places are kept), or end it.
    Maintenance(GateMaintenanceArgs),
    /// Revoke a pass by its id (32 hex digits): its holder goes back to the waiting room, its slot is freed.
    Revoke(GateRevokeArgs),
}

/// Where the gate is configured.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The portal's TOML configuration, with its `[gate]` section (and `gate.redis_url`).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// Arguments of `gate set`.
#[derive(Debug, Args)]
pub struct GateSetArgs {
    #[command(flatten)]
    pub gate: GateArgs,
    /// The room's key.
    #[arg(long)]
    pub room: String,
    /// New admissions per second, at most.
    #[arg(long)]
    pub admit_per_sec: Option<u32>,
    /// Admissions granted at once after a quiet spell.
    #[arg(long)]
    pub burst: Option<u32>,
    /// Passes active at once, at most.
    #[arg(long)]
    pub max_active: Option<u32>,
    /// How long a pass lasts, seconds.
    #[arg(long)]
    pub pass_ttl_secs: Option<u32>,
    /// The longest a pass lives with its renewals, seconds from admission.
    #[arg(long)]
    pub pass_max_secs: Option<u32>,
    /// How often a waiting page refreshes, seconds.
    #[arg(long)]
    pub refresh_interval_secs: Option<u32>,
    /// Go back to the capacity of the configuration file instead.
    #[arg(long, conflicts_with_all = ["admit_per_sec", "burst", "max_active", "pass_ttl_secs", "pass_max_secs", "refresh_interval_secs"])]
    pub reset: bool,
}

/// Arguments of `gate maintenance`.
#[derive(Debug, Args)]
pub struct GateMaintenanceArgs {
    #[command(flatten)]
    pub gate: GateArgs,
    /// The room's key.
    #[arg(long)]
    pub room: String,
    /// The message in Italian.
    #[arg(long, required_unless_present = "off", requires = "en")]
    pub it: Option<String>,
    /// The message in English.
    #[arg(long, requires = "it")]
    pub en: Option<String>,
    /// End the maintenance.
    #[arg(long, conflicts_with_all = ["it", "en"])]
    pub off: bool,
}

/// Arguments of `gate revoke`.
#[derive(Debug, Args)]
pub struct GateRevokeArgs {
    #[command(flatten)]
    pub gate: GateArgs,
    /// The room's key.
    #[arg(long)]
    pub room: String,
    /// The pass id, as the waiting room's JSON and the logs show it.
    pub pass_id: String,
}

/// The gate of the configuration's `[gate]` section, over its Redis.
async fn connect(args: &GateArgs) -> anyhow::Result<GateApp> {
    let config = Config::load(Some(&args.config)).map_err(|e| InputError(e.to_string()))?;
    let section = config.gate.ok_or_else(|| InputError(format!("{} has no [gate] section", args.config.display())))?;
    if section.redis_url.is_none() {
        return Err(InputError(
            "gate.redis_url is not set: the gate's state lives inside the serving process, out of this command's \
             reach. Configure Redis to operate the gate from the command line"
                .to_owned(),
        )
        .into());
    }
    section.build().await.context("cannot reach the gate's shared state")
}

/// Runs one `gate` command, printing what it did.
pub async fn run(command: GateCommand) -> anyhow::Result<()> {
    match command {
        GateCommand::Status(args) => {
            let app = connect(&args).await?;
            let mut rooms = Vec::new();
            for room in &app.gate.config().rooms {
                let status = app.gate.status(room.id).await?;
                rooms.push(with_local_times(serde_json::to_value(&status)?, &status, room.schedule.tz));
            }
            crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&rooms)?))?;
        }
        GateCommand::Set(args) => {
            let app = connect(&args.gate).await?;
            let room = app.gate.config().room_by_key(&args.room).ok_or_else(|| unknown_room(&args.room))?.id;
            if args.reset {
                app.gate.reset_capacity(&args.room).await?;
            } else {
                let current = app.gate.status(room).await?.capacity;
                let capacity = Capacity {
                    admit_per_sec: args.admit_per_sec.unwrap_or(current.admit_per_sec),
                    burst: args.burst.unwrap_or(current.burst),
                    max_active: args.max_active.unwrap_or(current.max_active),
                    pass_ttl_secs: args.pass_ttl_secs.unwrap_or(current.pass_ttl_secs),
                    pass_max_secs: args.pass_max_secs.or(current.pass_max_secs),
                    refresh_interval_secs: args.refresh_interval_secs.unwrap_or(current.refresh_interval_secs),
                    ..current
                };
                app.gate.set_capacity(&args.room, capacity).await.map_err(|e| InputError(e.to_string()))?;
            }
            let now = app.gate.status(room).await?.capacity;
            println!("{}", serde_json::to_string_pretty(&now)?);
        }
        GateCommand::Maintenance(args) => {
            let app = connect(&args.gate).await?;
            app.gate.config().room_by_key(&args.room).ok_or_else(|| unknown_room(&args.room))?;
            let message = match (args.off, args.it, args.en) {
                (false, Some(it), Some(en)) => Some(MaintenanceMessage { it, en }),
                _ => None,
            };
            let on = message.is_some();
            app.gate.set_maintenance(&args.room, message).await?;
            println!("room {}: maintenance {}", args.room, if on { "on" } else { "off" });
        }
        GateCommand::Revoke(args) => {
            let app = connect(&args.gate).await?;
            app.gate.config().room_by_key(&args.room).ok_or_else(|| unknown_room(&args.room))?;
            let pass_id: PassId = args.pass_id.parse().map_err(|e: sportello_gate::TokenError| {
                InputError(format!("{:?} is not a pass id: {e}", args.pass_id))
            })?;
            let active = app.gate.revoke(&args.room, pass_id).await?;
            println!("pass {pass_id} revoked{}", if active { "; its slot is free" } else { " (it was not active)" });
        }
    }
    Ok(())
}

/// A room's status as JSON with its instants also written in the room's time zone, for people: `window` stays the
/// opening's epoch second and `opens_at`/`closes_at` stay UTC (programs read them), and beside them come
/// `window_opens_at_local`, `opens_at_local` and `closes_at_local`, e.g. "01/04/2020 16:00:00 CEST", and
/// `timezone`.
fn with_local_times(
    mut json: serde_json::Value,
    status: &sportello_gate::RoomView,
    tz: chrono_tz::Tz,
) -> serde_json::Value {
    use sportello_gate::RoomStatus;
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
    if let (Some(at), Some(inner)) = (at, room.get_mut("status").and_then(serde_json::Value::as_object_mut)) {
        inner.insert(key.to_owned(), local(at).into());
    }
    json
}

fn unknown_room(key: &str) -> InputError {
    InputError(format!("no gate room is called {key:?}"))
}
