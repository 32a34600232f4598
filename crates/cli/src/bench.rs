//! `sportello bench …` (hidden): operator aids for the benchmarks in `bench/parts/`.
//!
//! `bench sessions` opens sessions in bulk for eligible citizens who have not applied, so that a load test can
//! measure submissions alone: logging in a hundred thousand citizens over HTTP costs a hundred thousand Argon2id
//! verifications, hours on a small machine, and would measure the hash instead. The sessions are real ones, stored
//! by the store as a login stores them (only the hash of the token), minus the PIN check.
//!
//! `bench hash` measures the raw Argon2id verification rate with the portal's PIN parameters on every core: the
//! limit a login rate is compared with.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use clap::{Args, Subcommand};
use sportello_domain::CodiceFiscale;
use sportello_domain::law::{Decrees, Facts};
use sportello_domain::principal::{LoginMethod, Principal};
use sportello_store::{Session, SessionKind, Store};
use sportello_web::auth::session::SessionId;
use sportello_web::pin::{Pin, PinHasher};

use crate::error::InputError;

/// `sportello bench …`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Open sessions for N eligible registry persons who have not applied, and write their bearer tokens.
    Sessions(SessionsArgs),
    /// Measure the raw Argon2id verification rate with the portal's PIN parameters on every core.
    Hash(HashArgs),
}

/// Arguments of `bench sessions`.
#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// How many sessions to open.
    #[arg(long, value_name = "N")]
    pub count: u32,
    /// Where to write `codice_fiscale,token,scheme` lines (created readable by its owner only): who, the bearer
    /// token, and a scheme the person is entitled to.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// How long the sessions last at most, in seconds (their idle timeout is the portal's).
    #[arg(long, value_name = "SECS", default_value_t = 28_800)]
    pub lifetime: u64,
    /// A scheme file to decide by instead of DL 18/2020 as shipped (the one the portal serves with).
    #[arg(long, value_name = "FILE")]
    pub schemes: Option<PathBuf>,
}

/// Arguments of `bench hash`.
#[derive(Debug, Args)]
pub struct HashArgs {
    /// How long to measure.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub seconds: f64,
    /// Threads verifying at once (default: one per core, as the portal's hasher allows).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Runs a `bench` subcommand.
pub async fn run(database_url: &str, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Sessions(args) => {
            let decrees = crate::rulebook::load_decrees(args.schemes.as_deref())?;
            let store: Arc<dyn Store> = sportello_store::open(database_url)
                .await
                .with_context(|| format!("cannot open the database {}", sportello_store::redact(database_url)))?
                .into();
            let started = Instant::now();
            let chosen = eligible_without_application(&store, &decrees, args.count).await?;
            let tokens = open_sessions(store.as_ref(), &chosen, Duration::from_secs(args.lifetime)).await?;
            write_tokens(&args.out, &tokens)?;
            eprintln!(
                "opened {} sessions in {:.1} s, tokens written to {}",
                tokens.len(),
                started.elapsed().as_secs_f64(),
                args.out.display()
            );
            Ok(())
        }
        BenchCommand::Hash(args) => {
            if !(args.seconds.is_finite() && args.seconds > 0.0) {
                return Err(InputError(format!("--seconds {} is not a positive duration", args.seconds)).into());
            }
            let threads = args
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
                .max(1);
            let rate = tokio::task::spawn_blocking(move || hash_rate(Duration::from_secs_f64(args.seconds), threads))
                .await
                .context("the hashing threads stopped")??;
            println!(
                "{{\"threads\":{threads},\"seconds\":{:.3},\"verifications\":{},\"per_second\":{:.1}}}",
                rate.seconds,
                rate.verifications,
                rate.verifications as f64 / rate.seconds
            );
            Ok(())
        }
    }
}

/// The first `n` registry persons, in codice fiscale order, entitled to some scheme and holding no application,
/// each with the first scheme they are entitled to.
async fn eligible_without_application(
    store: &Arc<dyn Store>,
    decrees: &Decrees,
    n: u32,
) -> anyhow::Result<Vec<(CodiceFiscale, String)>> {
    let wanted = n as usize;
    let mut chosen = Vec::with_capacity(wanted);
    let mut after: Option<CodiceFiscale> = None;
    while chosen.len() < wanted {
        let page = store.registry_persons(after.as_ref(), 2_000).await?;
        let Some(last) = page.last().copied() else { break };
        // A few readers at once: the store has a pool of them.
        let mut lookups = tokio::task::JoinSet::new();
        for (index, part) in page.chunks(page.len().div_ceil(8)).enumerate() {
            let (store, part) = (Arc::clone(store), part.to_vec());
            lookups.spawn(async move {
                let mut found = Vec::new();
                for cf in part {
                    let positions = store.positions(&cf).await?;
                    if store.applications_of(&cf).await?.is_empty() {
                        found.push((cf, positions));
                    }
                }
                anyhow::Ok((index, found))
            });
        }
        let mut parts = Vec::new();
        while let Some(joined) = lookups.join_next().await {
            parts.push(joined.context("a registry lookup stopped")??);
        }
        parts.sort_by_key(|(index, _)| *index);
        for (cf, positions) in parts.into_iter().flat_map(|(_, found)| found) {
            let decision = decrees.decide(cf, &positions, &Facts::none());
            if let Some(scheme) = decision.schemes.iter().find(|s| s.eligible) {
                chosen.push((cf, scheme.scheme.clone()));
                if chosen.len() == wanted {
                    break;
                }
            }
        }
        after = Some(last);
    }
    if chosen.len() < wanted {
        return Err(InputError(format!(
            "the registry has only {} entitled persons who have not applied yet; asked for {n}",
            chosen.len()
        ))
        .into());
    }
    Ok(chosen)
}

/// Opens one session for each person, in transactions of 10,000, and returns each bearer token with the person and
/// the scheme.
async fn open_sessions(
    store: &dyn Store,
    chosen: &[(CodiceFiscale, String)],
    lifetime: Duration,
) -> anyhow::Result<Vec<(CodiceFiscale, SessionId, String)>> {
    let now = Utc::now();
    let expires_at = chrono::TimeDelta::from_std(lifetime)
        .ok()
        .and_then(|t| now.checked_add_signed(t))
        .context("--lifetime is too long")?;
    let mut tokens = Vec::with_capacity(chosen.len());
    for batch in chosen.chunks(10_000) {
        let mut sessions = Vec::with_capacity(batch.len());
        for (codice_fiscale, scheme) in batch {
            let id = SessionId::generate()?;
            // Bearer tokens for the API, opened as a citizen's full-PIN login would open them.
            let principal = Principal::citizen(*codice_fiscale, LoginMethod::PinFull);
            sessions.push(Session {
                id_hash: id.hash(),
                kind: SessionKind::Bearer,
                actor: principal.actor.stored(),
                codice_fiscale: *codice_fiscale,
                login_method: principal.method.as_str().to_owned(),
                channel: principal.channel.as_str().to_owned(),
                created_at: now,
                last_seen_at: now,
                expires_at,
                credential: None,
                confirmed: true,
            });
            tokens.push((*codice_fiscale, id, scheme.clone()));
        }
        store.create_sessions(&sessions).await?;
    }
    Ok(tokens)
}

/// Writes `codice_fiscale,token,scheme` lines, with that header, to a file readable by its owner only.
fn write_tokens(out: &Path, tokens: &[(CodiceFiscale, SessionId, String)]) -> anyhow::Result<()> {
    let mut writer = crate::pins::create_private(out)?;
    writeln!(writer, "codice_fiscale,token,scheme")?;
    for (codice_fiscale, id, scheme) in tokens {
        writeln!(writer, "{codice_fiscale},{},{scheme}", id.expose())?;
    }
    writer.flush().with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// How many verifications were done in how long.
struct HashRate {
    verifications: u64,
    seconds: f64,
}

/// Verifies a simplified PIN against its hash, as a login does, on `threads` threads for `duration`.
fn hash_rate(duration: Duration, threads: usize) -> anyhow::Result<HashRate> {
    let hasher = PinHasher::new()?;
    let pin = Pin::generate()?;
    let phc: Arc<str> = Arc::from(hasher.hash(pin.first_half())?);
    let candidate: Arc<str> = Arc::from(pin.first_half());
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (hasher, phc, candidate, done, stop) =
                (hasher.clone(), Arc::clone(&phc), Arc::clone(&candidate), Arc::clone(&done), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if !hasher.verify(&candidate, &phc) {
                        return Err(anyhow::anyhow!("the PIN did not verify against its own hash"));
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    std::thread::sleep(duration);
    // Verifications finishing after the deadline count, and so does the time they took.
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().map_err(|_| anyhow::anyhow!("a hashing thread panicked"))??;
    }
    Ok(HashRate { verifications: done.load(Ordering::Relaxed), seconds: started.elapsed().as_secs_f64() })
}
