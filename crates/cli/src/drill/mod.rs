//! `sportello drill`: a click-day rehearsal against a running portal.
//!
//! Simulated citizens arrive on a schedule set by the clock (open loop: a slow portal does not slow the arrivals,
//! as it did not on 1 April 2020), each one going through the waiting room, login, decision and application with
//! the JSON API. At the end the drill reports rates, latencies and errors, and checks the store: every receipt
//! recorded once for the right person, and no citizen shown anyone else's data.

mod journey;
mod plot;
mod record;
mod report;
mod verify;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use reqwest::Url;
use sportello_domain::CodiceFiscale;
use tokio::sync::Semaphore;

use crate::error::InputError;
pub use journey::Citizen;
pub use report::Report;
pub use verify::{Findings, verify_store};

/// The long help of `drill`: what a journey is and where the citizens come from.
pub const LONG_ABOUT: &str = "Play a click day against a running portal and check what it recorded.\n\n\
    Each simulated citizen takes a place in the waiting room (if the portal has one, solving its proof of work), \
    logs in with an INPS PIN, reads the decision and, if entitled to an indemnity, applies with an Italian IBAN and \
    an Idempotency-Key, reads the receipt and the list of applications, and logs out. The drill speaks the JSON API \
    (/api/v1), the portal's second door onto the same core as the pages: it measures the server, not HTML parsing.\n\n\
    Citizens come from --pins (a file written by `sportello pin issue`) or, with --citizens N, from the first N \
    registry persons who have not applied yet, for whom the drill issues PINs itself as `pin issue` does. On a \
    loopback target citizens' connections come from 4,096 addresses of 127.0.0.0/8, as a crowd comes \
    from many addresses, so the portal's per-address limits apply as on the day (name it as 127.0.0.1, not \
    localhost, for that).\n\n\
    The exit status is 1 when the verification fails. Errors the portal answers (timeouts, 5xx, 429) are what a \
    drill measures: they are counted by kind in the report, and do not fail the drill.";

/// Arguments of `drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The portal, e.g. http://127.0.0.1:8080. Only loopback addresses, unless --allow-target names the host: a
    /// drill is a flood of requests, and pointed by mistake at someone else's server it is an attack.
    #[arg(long, value_name = "URL", required_unless_present = "verify_report")]
    pub target: Option<Url>,
    /// A non-loopback host the operator is entitled to drill (repeatable).
    #[arg(long = "allow-target", value_name = "HOST")]
    pub allow_targets: Vec<String>,
    /// The citizens: `codice_fiscale,pin,simplified_pin` as `sportello pin issue` writes it.
    #[arg(long, value_name = "FILE", required_unless_present_any = ["citizens", "sessions", "verify_report"], conflicts_with = "citizens")]
    pub pins: Option<PathBuf>,
    /// Instead: citizens already logged in, `codice_fiscale,token,scheme` as `sportello bench sessions` writes it;
    /// each arrival only submits its application (a benchmark of submissions alone).
    #[arg(long, value_name = "FILE", hide = true, conflicts_with_all = ["pins", "citizens"])]
    pub sessions: Option<PathBuf>,
    /// Instead: issue PINs for N registry persons who have not applied yet (in --database-url) and drill them.
    #[arg(long, value_name = "N")]
    pub citizens: Option<u32>,
    /// Arrivals per second, constant.
    #[arg(long, value_name = "PER_SEC", conflicts_with = "ramp")]
    pub rate: Option<f64>,
    /// Arrivals per second rising (or falling) linearly from FROM to TO over --duration.
    #[arg(long, value_name = "FROM:TO", requires = "duration", value_parser = parse_ramp)]
    pub ramp: Option<(f64, f64)>,
    /// Stop arriving after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Stop arriving after this many citizens (at most the citizens available; default: all of them).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Most journeys under way at once; an arrival beyond is dropped and counted, never queued.
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    pub max_in_flight: usize,
    /// How long one request may take before it counts as a timeout.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// Write the report as JSON to this file (readable by its owner only: it lists who got which receipt).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Draw throughput, citizens waiting and p99 latency per second as SVG.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Skip checking the receipts against the database (e.g. for a portal whose database is out of reach).
    #[arg(long, conflicts_with = "verify_report")]
    pub no_verify: bool,
    /// Do not drill: check the receipts of an earlier drill's report against the database again (after a restore
    /// or a failover, say). The pages seen are not kept, so only the store is checked.
    #[arg(long, value_name = "REPORT.json", conflicts_with_all = ["target", "pins", "citizens"])]
    pub verify_report: Option<PathBuf>,
}

fn parse_ramp(text: &str) -> Result<(f64, f64), String> {
    let (from, to) = text.split_once(':').ok_or("write the ramp as FROM:TO, e.g. 10:200")?;
    let rate = |s: &str| {
        s.trim().parse::<f64>().ok().filter(|r| r.is_finite() && *r >= 0.0).ok_or(format!("'{s}' is not a rate"))
    };
    let (from, to) = (rate(from)?, rate(to)?);
    if from == 0.0 && to == 0.0 {
        return Err("a ramp from 0 to 0 never sends anyone".to_owned());
    }
    Ok((from, to))
}

/// When arrivals happen: `offset(k)` is the time of the k-th arrival after the start.
#[derive(Debug, Clone, Copy)]
enum Schedule {
    Constant(f64),
    Ramp { from: f64, to: f64, over: f64 },
}

impl Schedule {
    /// The arrival rate `t` seconds in.
    fn rate_at(self, t: f64) -> f64 {
        match self {
            Schedule::Constant(rate) => rate,
            Schedule::Ramp { from, to, over } => from + (to - from) * (t / over).min(1.0),
        }
    }

    /// The time of the next arrival after one at `t`: the rate is integrated, so that a ramp starting at 0 still
    /// gets going (the first step uses the rate half a step ahead).
    fn next(self, t: f64) -> f64 {
        let rate = self.rate_at(t).max(1e-3);
        let guess = t + 1.0 / rate;
        let mid = self.rate_at((t + guess) / 2.0).max(1e-3);
        t + 1.0 / mid
    }
}

/// Refuses a target that is neither loopback nor named by `--allow-target`.
fn check_target(target: &Url, allowed: &[String]) -> Result<(), InputError> {
    if !matches!(target.scheme(), "http" | "https") {
        return Err(InputError(format!("the target {target} is not an http:// or https:// address")));
    }
    let host = target.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback || allowed.iter().any(|a| a.eq_ignore_ascii_case(host)) {
        Ok(())
    } else {
        Err(InputError(format!(
            "refusing to drill {host}: it is not a loopback address. A drill floods its target; if {host} is a portal \
             you run, name it with --allow-target {host}"
        )))
    }
}

/// The local address the connections of client slot `slot` come from: distinct addresses in 127.0.0.0/8 when the
/// target is an IPv4 loopback address, none (the system's choice) otherwise.
fn source_address(target: &Url, slot: usize) -> Option<IpAddr> {
    let ip: Ipv4Addr = target.host_str()?.parse().ok()?;
    if !ip.is_loopback() {
        return None;
    }
    // 127.1.0.1, 127.1.0.2, … skipping .0 and .255 in the last byte.
    let n = u32::try_from(slot).ok()?;
    let (high, low) = (n / 254, n % 254 + 1);
    Some(IpAddr::V4(Ipv4Addr::new(127, 1 + u8::try_from(high >> 8 & 0x7f).ok()?, (high & 0xff) as u8, low as u8)))
}

/// How many client addresses the drill spreads citizens over; each address sees one citizen in this many, so the
/// portal's default per-address login limit (one a second) allows this many logins a second.
const ADDRESSES: usize = 4_096;

/// Reads the citizens of a `pin issue` file.
fn read_pins(path: &std::path::Path) -> anyhow::Result<Vec<Citizen>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !text.starts_with("codice_fiscale,pin") {
        return Err(InputError(format!(
            "{}, line 1: expected the header codice_fiscale,pin,simplified_pin that `sportello pin issue` writes",
            path.display()
        ))
        .into());
    }
    let mut citizens = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut cells = line.split(',');
        let (Some(cf), Some(pin)) = (cells.next(), cells.next()) else {
            return Err(InputError(format!("{}, line {}: expected codice_fiscale,pin,…", path.display(), n + 1)).into());
        };
        let codice_fiscale = CodiceFiscale::parse(cf)
            .map_err(|e| InputError(format!("{}, line {}, column 1: {e}", path.display(), n + 1)))?;
        citizens.push(Citizen { codice_fiscale, pin: pin.trim().to_owned(), session: None });
    }
    if citizens.is_empty() {
        return Err(InputError(format!("{} names no citizens", path.display())).into());
    }
    Ok(citizens)
}

/// Reads the citizens of a `bench sessions` file: each already logged in, with the scheme to apply for.
fn read_sessions(path: &std::path::Path) -> anyhow::Result<Vec<Citizen>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines().enumerate();
    if lines.next().map(|(_, header)| header) != Some("codice_fiscale,token,scheme") {
        return Err(InputError(format!(
            "{}, line 1: expected the header codice_fiscale,token,scheme that `sportello bench sessions` writes",
            path.display()
        ))
        .into());
    }
    let mut citizens = Vec::new();
    for (n, line) in lines.filter(|(_, line)| !line.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        let [cf, token, scheme] = cells[..] else {
            return Err(InputError(format!(
                "{}, line {}: expected codice_fiscale,token,scheme",
                path.display(),
                n + 1
            ))
            .into());
        };
        let codice_fiscale = CodiceFiscale::parse(cf)
            .map_err(|e| InputError(format!("{}, line {}, column 1: {e}", path.display(), n + 1)))?;
        let session = journey::GivenSession { token: token.to_owned(), scheme: scheme.to_owned() };
        citizens.push(Citizen { codice_fiscale, pin: String::new(), session: Some(session) });
    }
    if citizens.is_empty() {
        return Err(InputError(format!("{} names no citizens", path.display())).into());
    }
    Ok(citizens)
}

/// The first `n` registry persons who hold no application, with new PINs issued for them as `pin issue` does.
async fn issue_citizens(store: Arc<dyn sportello_store::Store>, n: u32) -> anyhow::Result<Vec<Citizen>> {
    let mut chosen = Vec::new();
    let mut after: Option<CodiceFiscale> = None;
    while chosen.len() < n as usize {
        let page = store.registry_persons(after.as_ref(), 1_000).await?;
        let Some(last) = page.last().copied() else { break };
        for cf in page {
            if chosen.len() < n as usize && store.applications_of(&cf).await?.is_empty() {
                chosen.push(cf);
            }
        }
        after = Some(last);
    }
    if chosen.len() < n as usize {
        return Err(InputError(format!(
            "the registry has only {} persons who have not applied yet; asked for {n}",
            chosen.len()
        ))
        .into());
    }
    // `pin issue`'s own path, on a few batches at once: the hasher bounds the hashes in flight to the cores, and
    // one batch alone would leave all but two of them idle.
    let hasher = sportello_web::pin::PinHasher::new()?;
    let batch = chosen.len().div_ceil(8).max(1);
    let mut batches = tokio::task::JoinSet::new();
    for (index, persons) in chosen.chunks(batch).enumerate() {
        let (store, hasher, persons) = (Arc::clone(&store), hasher.clone(), persons.to_vec());
        batches.spawn(async move { (index, crate::pins::issue(store.as_ref(), &hasher, &persons).await) });
    }
    let mut issued = Vec::with_capacity(batches.len());
    while let Some(joined) = batches.join_next().await {
        let (index, result) = joined.context("issuing PINs stopped")?;
        issued.push((index, result?));
    }
    issued.sort_by_key(|(index, _)| *index);
    Ok(issued
        .into_iter()
        .flat_map(|(_, batch)| batch)
        .map(|(codice_fiscale, pin)| Citizen { codice_fiscale, pin: pin.expose().to_owned(), session: None })
        .collect())
}

/// Checks the receipts of an earlier report against the store again.
async fn verify_again(database_url: &str, path: &std::path::Path) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Earlier {
        receipts: Vec<verify::Receipt>,
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let earlier: Earlier = serde_json::from_str(&text)
        .map_err(|e| InputError(format!("{} is not a drill report: {e}", path.display())))?;
    let store = sportello_store::open(database_url)
        .await
        .with_context(|| format!("cannot open the database {}", sportello_store::redact(database_url)))?;
    let findings = verify_store(store.as_ref(), &earlier.receipts, &[]).await?;
    match findings.failures() {
        None => {
            println!(
                "verification: passed ({} receipts each stored once under their person, no duplicates)",
                findings.receipts_checked
            );
            Ok(())
        }
        Some(failures) => Err(anyhow::anyhow!(
            "VERIFICATION FAILED: the store disagrees with the receipts of {}:\n{failures}",
            path.display()
        )),
    }
}

/// Runs the drill.
pub async fn run(database_url: &str, args: DrillArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.verify_report {
        return verify_again(database_url, path).await;
    }
    let Some(target) = args.target.clone() else {
        return Err(InputError("name the portal to drill: --target URL".to_owned()).into());
    };
    check_target(&target, &args.allow_targets)?;
    let schedule = match (args.rate, args.ramp, args.duration) {
        (Some(rate), _, _) if rate > 0.0 && rate.is_finite() => Schedule::Constant(rate),
        (Some(rate), _, _) => return Err(InputError(format!("--rate {rate} is not a positive rate")).into()),
        (None, Some((from, to)), Some(over)) if over > 0.0 => Schedule::Ramp { from, to, over },
        (None, Some(_), _) => return Err(InputError("--ramp needs a positive --duration".to_owned()).into()),
        (None, None, _) => {
            return Err(InputError("say how fast citizens arrive: --rate R or --ramp FROM:TO".into()).into());
        }
    };
    let verify = !args.no_verify;
    let store = if verify || args.citizens.is_some() {
        let store = sportello_store::open(database_url).await.with_context(|| {
            format!(
                "cannot open the database {} to check the drill against (--no-verify drills without checking)",
                sportello_store::redact(database_url)
            )
        })?;
        Some(Arc::<dyn sportello_store::Store>::from(store))
    } else {
        None
    };
    let citizens = match (&args.sessions, &args.pins, args.citizens, &store) {
        (Some(path), ..) => read_sessions(path)?,
        (None, Some(path), _, _) => read_pins(path)?,
        (None, None, Some(n), Some(store)) => {
            eprintln!("issuing PINs for {n} citizens…");
            issue_citizens(Arc::clone(store), n).await?
        }
        _ => return Err(InputError("name the citizens: --pins FILE.csv or --citizens N".into()).into()),
    };
    let total = args.count.map_or(citizens.len(), |c| usize::try_from(c).unwrap_or(usize::MAX)).min(citizens.len());
    if args.count.is_some_and(|c| c > citizens.len() as u64) {
        eprintln!("only {} citizens are available: the drill sends {total}", citizens.len());
    }

    let base = target.as_str().trim_end_matches('/').to_owned();
    let timeout = Duration::from_secs(args.timeout.max(1));
    let probe = journey::client(None, timeout)?;
    let gated = journey::has_waiting_room(&probe, &base).await?;
    let clients: Vec<reqwest::Client> = (0..ADDRESSES.min(total.max(1)))
        .map(|slot| journey::client(source_address(&target, slot), timeout))
        .collect::<Result<_, _>>()?;

    let started = Instant::now();
    let shared = Arc::new(report::Shared::new(base, gated, started));
    let progress = indicatif::ProgressBar::new(total as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} journeys  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let sampler = report::spawn_sampler(Arc::clone(&shared), probe, progress.clone());

    let permits = Arc::new(Semaphore::new(args.max_in_flight.max(1)));
    let run_id = format!("{:x}", chrono::Utc::now().timestamp_millis());
    let mut tasks = tokio::task::JoinSet::new();
    let mut dropped = 0u64;
    let mut offset = 0.0f64;
    let mut arrived = 0u64;
    for (k, citizen) in citizens.into_iter().take(total).enumerate() {
        if k > 0 {
            offset = schedule.next(offset);
        }
        if args.duration.is_some_and(|d| offset >= d) {
            break;
        }
        tokio::time::sleep_until((started + Duration::from_secs_f64(offset)).into()).await;
        arrived += 1;
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            dropped += 1;
            progress.inc(1);
            continue;
        };
        let shared = Arc::clone(&shared);
        let client = clients[k % clients.len()].clone();
        let key = format!("drill-{run_id}-{k}");
        let progress = progress.clone();
        tasks.spawn(async move {
            let record = journey::run(&shared, &client, citizen, key).await;
            shared.record(record);
            progress.inc(1);
            drop(permit);
        });
    }
    let arrivals_ended = started.elapsed();
    while let Some(joined) = tasks.join_next().await {
        joined.context("a journey panicked")?;
    }
    let elapsed = started.elapsed();
    sampler.abort();
    progress.finish_and_clear();

    let mut report = Report::build(&shared, arrived, dropped, arrivals_ended, elapsed);
    report.receipts = shared.receipts();
    if let Some(store) = &store
        && verify
    {
        let findings = verify_store(store.as_ref(), &shared.receipts(), &shared.sightings()).await?;
        report.set_verification(findings);
    }
    if let Some(path) = &args.report {
        write_private(path, &(serde_json::to_string_pretty(&report)? + "\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        plot::draw(path, &report).with_context(|| format!("cannot draw {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    report.print_summary(&mut out)?;
    if let Some(failures) = report.verification_failures() {
        return Err(anyhow::anyhow!(
            "VERIFICATION FAILED: the store or the pages disagree with what the citizens were told:\n{failures}"
        ));
    }
    Ok(())
}

/// Writes `text` to a file readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_or_named_hosts_are_drilled() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(check_target(&url("http://127.0.0.1:8080"), &[]).is_ok());
        assert!(check_target(&url("http://localhost:8080"), &[]).is_ok());
        assert!(check_target(&url("http://[::1]:8080"), &[]).is_ok());
        assert!(check_target(&url("https://portal.example.it"), &[]).is_err());
        assert!(check_target(&url("https://portal.example.it"), &["portal.example.it".to_owned()]).is_ok());
    }

    #[test]
    fn a_ramp_speeds_arrivals_up_and_a_constant_rate_spaces_them_evenly() {
        let constant = Schedule::Constant(4.0);
        assert!((constant.next(1.0) - 1.25).abs() < 1e-9);
        let ramp = Schedule::Ramp { from: 0.0, to: 100.0, over: 10.0 };
        let (mut t, mut n) = (0.0, 0);
        while t < 10.0 {
            t = ramp.next(t);
            n += 1;
        }
        // The integral of the rate over ten seconds is 500 arrivals.
        assert!((480..=520).contains(&n), "{n} arrivals");
    }

    #[test]
    fn loopback_source_addresses_are_distinct() {
        let target = Url::parse("http://127.0.0.1:8080").unwrap();
        let addresses: std::collections::HashSet<_> =
            (0..ADDRESSES).map(|slot| source_address(&target, slot).unwrap()).collect();
        assert_eq!(addresses.len(), ADDRESSES);
        assert_eq!(source_address(&Url::parse("http://[::1]:8080").unwrap(), 0), None);
    }
}
