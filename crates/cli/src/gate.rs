//! `sportello gate …`: the operator's hand on the admission gate of running portals. The commands connect to the
//! gate's shared state in Redis (`gate.redis_url`), which every node reads within `gate.control_cache_ms`, so one
//! command changes capacity, maintenance or a pass on all nodes at once; what each does to it is a use case
//! (`sportello_usecases::gate`).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use sportello_gate::MaintenanceMessage;
use sportello_usecases::gate::{self, CapacityChange, CapacityOrder};
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
            let rooms = gate::status(&app.gate).await?;
            crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&rooms)?))?;
        }
        GateCommand::Set(args) => {
            let app = connect(&args.gate).await?;
            let order = if args.reset {
                CapacityOrder::Reset
            } else {
                CapacityOrder::Change(CapacityChange {
                    admit_per_sec: args.admit_per_sec,
                    burst: args.burst,
                    max_active: args.max_active,
                    pass_ttl_secs: args.pass_ttl_secs,
                    pass_max_secs: args.pass_max_secs,
                    refresh_interval_secs: args.refresh_interval_secs,
                })
            };
            let now = gate::set_capacity(&app.gate, &args.room, order).await?;
            println!("{}", serde_json::to_string_pretty(&now)?);
        }
        GateCommand::Maintenance(args) => {
            let app = connect(&args.gate).await?;
            let message = match (args.off, args.it, args.en) {
                (false, Some(it), Some(en)) => Some(MaintenanceMessage { it, en }),
                _ => None,
            };
            let on = message.is_some();
            gate::maintenance(&app.gate, &args.room, message).await?;
            println!("room {}: maintenance {}", args.room, if on { "on" } else { "off" });
        }
        GateCommand::Revoke(args) => {
            let app = connect(&args.gate).await?;
            let (pass_id, active) = gate::revoke(&app.gate, &args.room, &args.pass_id).await?;
            println!("pass {pass_id} revoked{}", if active { "; its slot is free" } else { " (it was not active)" });
        }
    }
    Ok(())
}
