//! `sportello officers …` and `sportello retention purge`: the back office's accounts (a password, and a codice fiscale
//! for logging in with SPID or CIE) and the purge of what is kept only for a while. The use cases are
//! `sportello_usecases::office::{accounts, retention}`; here are the arguments and what is printed.

use std::io::BufRead as _;
use std::time::Duration;

use clap::{Args, Subcommand};
use sportello_domain::CodiceFiscale;
use sportello_domain::principal::OfficerRole;
use sportello_store::Store;
use sportello_usecases::office::accounts::{self, NewAccount};
use sportello_usecases::office::retention::{self, Periods};

use crate::error::{InputError, usecase_error};
use crate::output::print;

/// The officers' accounts.
#[derive(Debug, Subcommand)]
pub enum OfficersCommand {
    /// Make an officer's account; the password is read from the first line of standard input.
    Add(AddArgs),
    /// List the accounts: id, user name, role, name.
    List,
    /// Disable an account: it logs in no more, by password or by SPID/CIE, and its open sessions end.
    Disable(DisableArgs),
}

/// `sportello officers disable`.
#[derive(Debug, Args)]
pub struct DisableArgs {
    /// The account's user name.
    #[arg(long)]
    pub username: String,
}

/// `sportello officers add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The user name typed at login: 3 to 64 lower-case letters, digits, dots, dashes or underscores.
    #[arg(long)]
    pub username: String,
    /// The name shown on pages and reports.
    #[arg(long)]
    pub name: String,
    /// What the officer may do: officer, supervisor, dpo (data protection officer) or auditor.
    #[arg(long, value_parser = parse_role)]
    pub role: OfficerRole,
    /// The officer's own codice fiscale: with it they may log in with SPID or CIE too (one account per person).
    #[arg(long, value_parser = parse_codice_fiscale)]
    pub codice_fiscale: Option<CodiceFiscale>,
}

fn parse_role(text: &str) -> Result<OfficerRole, String> {
    OfficerRole::parse(text).map_err(|_| format!("'{text}' is not a role: use officer, supervisor, dpo or auditor"))
}

fn parse_codice_fiscale(text: &str) -> Result<CodiceFiscale, String> {
    CodiceFiscale::parse(text).map_err(|e| format!("'{text}' is not a valid codice fiscale: {e}"))
}

/// What is kept only for a while.
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Delete ended sessions, messages delivered long enough ago and audit rows past their period.
    Purge(PurgeArgs),
}

/// `sportello retention purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Days a delivered message is kept (its body was wiped at delivery).
    #[arg(long, default_value_t = 30)]
    pub messages_days: u64,
    /// Days an audit row is kept.
    #[arg(long, default_value_t = 730)]
    pub audit_days: u64,
    /// Minutes a citizen's session may stay unused.
    #[arg(long, default_value_t = 30)]
    pub session_idle_minutes: u64,
}

/// Runs an `officers` command.
pub async fn officers(store: &dyn Store, command: OfficersCommand) -> anyhow::Result<()> {
    match command {
        OfficersCommand::Add(args) => {
            let mut password = String::new();
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("password for {} (it is shown as you type; pipe it in to avoid that):", args.username);
            }
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                return Err(InputError("no password on standard input: give it as the first line".into()).into());
            }
            let hasher = accounts::password_hasher().map_err(usecase_error)?;
            let new = NewAccount {
                username: &args.username,
                display_name: &args.name,
                role: args.role,
                password,
                codice_fiscale: args.codice_fiscale,
            };
            let officer = accounts::add(store, &hasher, new, chrono::Utc::now()).await.map_err(usecase_error)?;
            print(&format!("officer {} '{}' ({}) added\n", officer.id, officer.username, officer.role.as_str()))?;
        }
        OfficersCommand::Disable(args) => {
            let account = store.officer_by_username(args.username.trim()).await?;
            let Some(account) = account else {
                return Err(InputError(format!("no officer's account is named '{}'", args.username)).into());
            };
            store.disable_officer(account.id, chrono::Utc::now()).await?;
            print(&format!("officer {} '{}' disabled\n", account.id, account.username))?;
        }
        OfficersCommand::List => {
            let mut text = String::new();
            for o in store.officers().await? {
                let state = if o.disabled_at.is_some() { " (disabled)" } else { "" };
                text.push_str(&format!("{}\t{}\t{}\t{}{state}\n", o.id, o.username, o.role.as_str(), o.display_name));
            }
            print(&text)?;
        }
    }
    Ok(())
}

/// The periods `args` names.
pub fn periods(args: &PurgeArgs) -> Periods {
    Periods {
        citizen_session_idle: Duration::from_secs(args.session_idle_minutes.saturating_mul(60)),
        delivered_messages: Duration::from_secs(args.messages_days.saturating_mul(86_400)),
        audit: Duration::from_secs(args.audit_days.saturating_mul(86_400)),
    }
}

/// Runs a `retention` command and prints what was deleted as JSON.
pub async fn purge(store: &dyn Store, command: RetentionCommand) -> anyhow::Result<()> {
    let RetentionCommand::Purge(args) = command;
    let purged = retention::purge(store, &periods(&args), chrono::Utc::now()).await.map_err(usecase_error)?;
    print(&format!("{}\n", serde_json::to_string(&purged)?))?;
    Ok(())
}
