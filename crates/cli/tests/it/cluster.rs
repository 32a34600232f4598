//! The failover drills, on the local cluster `deploy/local-cluster` starts (Patroni with a primary and a synchronous
//! standby, Redis under Sentinel, three `sportello serve` nodes behind HAProxy), while citizens apply through the
//! balancer:
//!
//! - a node is killed with SIGKILL, and started again;
//! - the PostgreSQL primary (its Patroni and its server) is killed, Patroni promotes the standby, and the killed
//!   member rejoins as the new standby; `SPORTELLO_DRILL_FAILOVERS` times (1 in the default run, 5 in
//!   `scripts/drills`);
//! - the Redis master is killed, and Sentinel promotes a replica;
//! - the primary's server is frozen with SIGSTOP for `SPORTELLO_DRILL_FREEZE_SECS` (8 by default) and let go.
//!
//! Then every acknowledged receipt must be in the database once, for its person (lost 0, doubled 0), no answer may
//! be a 5xx other than a 503 with `Retry-After`, and an answer during the freeze must come within the portal's
//! bounds. The cluster needs Debian's `patroni`, `etcd-server`, `haproxy`, `redis-sentinel` and PostgreSQL 15's
//! server; without them the drill says it is skipped, and under `CI=true` it fails (`.ci/run` installs them).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sportello_domain::CodiceFiscale;

use crate::cluster_client::{Citizen, Shared};
use crate::support::{read_pins, run_in, stderr};

/// The packages the cluster is made of, by a program each installs.
const NEEDED: &[(&str, &str)] = &[
    ("/usr/bin/patroni", "patroni"),
    ("/usr/bin/etcd", "etcd-server"),
    ("/usr/sbin/haproxy", "haproxy"),
    ("/usr/bin/redis-sentinel", "redis-sentinel"),
    ("/usr/lib/postgresql/15/bin/postgres", "postgresql-15"),
];

/// Every drill citizen comes from 127.0.0.1 (the balancer passes it on in `X-Forwarded-For`).
const LIMITS_OFF: &[(&str, &str)] = &[
    ("SPORTELLO_LIMITS__PER_ADDRESS_PER_MINUTE", "1000000"),
    ("SPORTELLO_LIMITS__PER_ADDRESS_BURST", "1000000"),
    ("SPORTELLO_LIMITS__TICKETS_PER_ADDRESS_PER_MINUTE", "1000000"),
    ("SPORTELLO_LIMITS__TICKETS_PER_ADDRESS_BURST", "1000000"),
    ("SPORTELLO_LIMITS__FAILURES_PER_ADDRESS_PER_HOUR", "1000000"),
];

/// A running local cluster in a folder of its own, stopped when dropped.
struct Cluster {
    state: tempfile::TempDir,
    port: String,
    env: BTreeMap<String, String>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/local-cluster")
}

impl Cluster {
    /// Starts the cluster, or `None` (having said why) when its packages are missing outside CI.
    fn start() -> Option<Self> {
        let missing: Vec<&str> =
            NEEDED.iter().filter(|(path, _)| !Path::new(path).exists()).map(|(_, package)| *package).collect();
        if !missing.is_empty() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the cluster's packages are not installed ({}): .ci/run installs them",
                missing.join(", ")
            );
            eprintln!("skipped: the local cluster needs apt-get install {}", missing.join(" "));
            return None;
        }
        let state = tempfile::tempdir().unwrap();
        // PostgreSQL runs as `postgres` when the tests run as root: it must reach its folder.
        std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let port = std::env::var("SPORTELLO_TEST_CLUSTER_PORT").unwrap_or_else(|_| "16400".to_owned());
        let mut cluster = Self { state, port, env: BTreeMap::new() };
        let out = cluster.command(&["start"]).envs(LIMITS_OFF.iter().copied()).output().unwrap();
        assert!(out.status.success(), "the cluster did not start: {}", stderr(&out));
        cluster.env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Some(cluster)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(script());
        command
            .args(args)
            .env("SPORTELLO_CLUSTER_STATE", self.state.path())
            .env("SPORTELLO_CLUSTER_PORT", &self.port)
            .env("SPORTELLO_BIN", env!("CARGO_BIN_EXE_sportello"));
        command
    }

    /// Runs `deploy/local-cluster ARGS`; its output, or `None` when it failed.
    fn ctl(&self, args: &[&str]) -> Option<String> {
        let out = self.command(args).envs(LIMITS_OFF.iter().copied()).output().unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn var(&self, name: &str) -> &str {
        self.env.get(name).unwrap_or_else(|| panic!("local-cluster env printed no {name}"))
    }

    /// Waits until `ctl(args)` prints something; how long it took, or `None` after `limit`.
    async fn until(&self, args: &[&str], limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self.ctl(args).is_some_and(|out| !out.is_empty()) {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.command(&["stop"]).output();
        if std::thread::panicking() {
            // The folder goes with the test: keep its logs where the failure's message can point.
            let kept = std::env::temp_dir().join(format!("sportello-cluster-logs-{}", std::process::id()));
            let _ = Command::new("cp").arg("-r").arg(self.state.path().join("log")).arg(&kept).status();
            eprintln!("the cluster's logs are in {}", kept.display());
        }
    }
}

/// The restore drill: a base backup taken through the balancer with `deploy/backup base`, restored into a new
/// data folder and served on a port of its own with `deploy/backup restore`; every acknowledged receipt must be
/// in the restored database. Returns the receipts looked for and those missing.
async fn restore_drill(cluster: &Cluster, outcomes: &BTreeMap<String, Result<Option<String>, ()>>) -> (usize, usize) {
    let backup_script = script().with_file_name("backup");
    let dir = cluster.state.path();
    let out = Command::new(&backup_script)
        .args(["base", dir.join("backups").to_str().unwrap()])
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", cluster.var("SPORTELLO_CLUSTER_PGPORT"))
        .env("PGUSER", "replicator")
        .env("PGPASSWORD", cluster.var("SPORTELLO_CLUSTER_REPLICATOR_PASSWORD"))
        .output()
        .unwrap();
    assert!(out.status.success(), "deploy/backup base: {}", stderr(&out));
    let backup = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let port = (cluster.port.parse::<u16>().unwrap() + 58).to_string();
    let data = dir.join("restored");
    let out = Command::new(&backup_script).args(["restore", &backup, data.to_str().unwrap(), &port]).output().unwrap();
    assert!(out.status.success(), "deploy/backup restore: {}", stderr(&out));
    let url = cluster.var("SPORTELLO_DATABASE_URL").replace(cluster.var("SPORTELLO_CLUSTER_PGPORT"), &port);
    let store = sportello_store::open(&url).await.unwrap();
    let (mut looked, mut missing) = (0, 0);
    for (codice_fiscale, outcome) in outcomes {
        if let Ok(Some(protocol)) = outcome {
            looked += 1;
            let cf = CodiceFiscale::parse(codice_fiscale).unwrap();
            let stored = store.applications_of(&cf).await.unwrap();
            if !stored.iter().any(|a| a.protocol.as_str() == protocol.as_str()) {
                missing += 1;
            }
        }
    }
    drop(store);
    let _ = Command::new(&backup_script).args(["stop", data.to_str().unwrap()]).output();
    (looked, missing)
}

/// What the drills did and found.
#[derive(Debug, Default)]
struct Report {
    node_kills: usize,
    primary_kills: usize,
    redis_failovers: usize,
    freezes: usize,
    acknowledged: usize,
    not_eligible: usize,
    unfinished: usize,
    lost: usize,
    doubled: usize,
    seconds_without_primary: Vec<f64>,
    seconds_without_redis_master: Vec<f64>,
}

fn count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Waits until `n` more citizens have come to an end than `since`.
async fn until_acknowledged(done: &AtomicUsize, since: usize, n: usize) {
    let started = Instant::now();
    while done.load(Ordering::Relaxed) < since + n && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cluster_survives_losing_a_node_its_primary_its_redis_master_and_a_frozen_database() {
    let Some(cluster) = Cluster::start() else { return };
    let failovers = count("SPORTELLO_DRILL_FAILOVERS", 1);
    let freeze_secs = count("SPORTELLO_DRILL_FREEZE_SECS", 8) as u64;
    let database_url = cluster.var("SPORTELLO_DATABASE_URL").to_owned();
    let base = cluster.var("SPORTELLO_CLUSTER_PORTAL").to_owned();

    // The registry and the citizens' PINs, written through the balancer to whichever member is primary.
    let dir = cluster.state.path();
    let people = 120 + 60 * failovers;
    let extract = dir.join("extract.csv");
    let persons = (people * 2).to_string();
    let out = run_in(
        dir,
        &database_url,
        &["registry", "generate", "--persons", &persons, "--seed", "11", "--out", extract.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run_in(dir, &database_url, &["registry", "import", extract.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pins = dir.join("pins.csv");
    let out =
        run_in(dir, &database_url, &["pin", "issue", "--first", &people.to_string(), "--out", pins.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let citizens = read_pins(&pins);
    eprintln!("cluster drill: {} citizens, {failovers} primary failover(s), through {base}", citizens.len());

    let shared = Arc::new(Shared::default());
    let outcomes = Arc::new(Mutex::new(BTreeMap::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let queue = Arc::new(Mutex::new(citizens.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (shared, outcomes, done, queue, stop, base) = (
                Arc::clone(&shared),
                Arc::clone(&outcomes),
                Arc::clone(&done),
                Arc::clone(&queue),
                Arc::clone(&stop),
                base.clone(),
            );
            tokio::spawn(async move {
                let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let Some((codice_fiscale, pin)) = queue.lock().unwrap().pop() else { return };
                    let mut citizen = Citizen { http: &http, base: &base, shared: &shared, pass: None, token: None };
                    let outcome = citizen.apply(&codice_fiscale, &pin, Duration::from_secs(120)).await;
                    outcomes.lock().unwrap().insert(codice_fiscale, outcome);
                    done.fetch_add(1, Ordering::Relaxed);
                    // Paced, so that the citizens last the whole drill.
                    tokio::time::sleep(Duration::from_millis(400)).await;
                }
            })
        })
        .collect();

    let mut report = Report::default();
    until_acknowledged(&done, 0, 5).await;

    // A node dies; the balancer sends its requests to the others, which carry on without it to the end.
    cluster.ctl(&["kill", "node2"]).expect("node2 killed");
    report.node_kills += 1;
    until_acknowledged(&done, done.load(Ordering::Relaxed), 5).await;

    for _ in 0..failovers {
        until_acknowledged(&done, done.load(Ordering::Relaxed), 3).await;
        let killed = cluster.ctl(&["kill", "primary"]).expect("a primary to kill");
        report.primary_kills += 1;
        let without = cluster.until(&["primary"], Duration::from_secs(90)).await.expect("Patroni promoted the standby");
        report.seconds_without_primary.push(without.as_secs_f64());
        eprintln!("killed {killed}: {:.1} s without a primary", without.as_secs_f64());
        until_acknowledged(&done, done.load(Ordering::Relaxed), 3).await;
        cluster.ctl(&["revive", &killed]).expect("the killed member started again");
        cluster.until(&["sync-standby"], Duration::from_secs(120)).await.expect("the killed member is the standby");
    }

    until_acknowledged(&done, done.load(Ordering::Relaxed), 3).await;
    let master = cluster.ctl(&["redis-master"]).expect("a Redis master");
    cluster.ctl(&["kill", "redis-master"]).expect("the Redis master killed");
    report.redis_failovers += 1;
    let started = Instant::now();
    while cluster.ctl(&["redis-master"]).is_none_or(|now| now == master) {
        assert!(started.elapsed() < Duration::from_secs(60), "Sentinel promoted no replica");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    report.seconds_without_redis_master.push(started.elapsed().as_secs_f64());
    until_acknowledged(&done, done.load(Ordering::Relaxed), 3).await;
    cluster.ctl(&["revive", &master]).expect("the former master started again as a replica");

    until_acknowledged(&done, done.load(Ordering::Relaxed), 3).await;
    let frozen = cluster.ctl(&["freeze", "primary"]).expect("the primary frozen");
    shared.frozen.store(true, Ordering::Relaxed);
    report.freezes += 1;
    tokio::time::sleep(Duration::from_secs(freeze_secs)).await;
    cluster.ctl(&["thaw", &frozen]).expect("the frozen member let go");
    shared.frozen.store(false, Ordering::Relaxed);
    cluster.until(&["primary"], Duration::from_secs(90)).await.expect("a primary after the freeze");
    until_acknowledged(&done, done.load(Ordering::Relaxed), 5).await;

    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        tokio::time::timeout(Duration::from_secs(180), worker).await.expect("the citizens finished").unwrap();
    }

    let outcomes = outcomes.lock().unwrap().clone();
    let store = sportello_store::open(&database_url).await.unwrap();
    for (codice_fiscale, outcome) in &outcomes {
        let cf = CodiceFiscale::parse(codice_fiscale).unwrap();
        let stored = store.applications_of(&cf).await.unwrap();
        match outcome {
            Ok(Some(protocol)) => {
                report.acknowledged += 1;
                if !stored.iter().any(|a| a.protocol.as_str() == protocol.as_str() && a.codice_fiscale == cf) {
                    report.lost += 1;
                }
                report.doubled += stored.len().saturating_sub(1);
            }
            Ok(None) => report.not_eligible += 1,
            Err(()) => {
                report.unfinished += 1;
                report.doubled += stored.len().saturating_sub(1);
            }
        }
    }
    let (restored, restored_missing) = restore_drill(&cluster, &outcomes).await;
    let tally = shared.tally.lock().unwrap().clone();
    let other_5xx: u64 = tally.other_5xx.values().sum();
    let most = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    // One line for `scripts/drills`, which gathers it into its table.
    println!(
        "DRILL cluster node_kills={} primary_kills={} redis_failovers={} freezes={} acknowledged={} lost={} \
         doubled={} unfinished={} answers_503={} without_retry_after={} other_5xx={} no_answer={} slowest_ms={} \
         slowest_frozen_ms={} freeze_secs={freeze_secs} max_secs_without_primary={:.1} \
         max_secs_without_redis_master={:.1} restored={restored} restored_missing={restored_missing}",
        report.node_kills,
        report.primary_kills,
        report.redis_failovers,
        report.freezes,
        report.acknowledged,
        report.lost,
        report.doubled,
        report.unfinished,
        tally.unavailable,
        tally.unavailable_bare,
        other_5xx,
        tally.no_answer,
        tally.slowest.as_millis(),
        tally.slowest_frozen.as_millis(),
        most(&report.seconds_without_primary),
        most(&report.seconds_without_redis_master),
    );
    eprintln!("{report:?}\n{tally:?}");
    assert!(report.acknowledged > 0, "the drill applied for someone: {report:?}");
    assert_eq!((restored, restored_missing), (report.acknowledged, 0), "the backup holds every receipt");
    assert_eq!((report.lost, report.doubled), (0, 0), "{report:?}");
    assert_eq!(report.primary_kills, failovers);
    assert!(tally.other_5xx.is_empty(), "answers other than 503 among the 5xx: {tally:?}");
    assert_eq!(tally.unavailable_bare, 0, "every 503 says when to come back: {tally:?}");
    assert!(
        tally.slowest_frozen < Duration::from_secs(15),
        "the portal answered within its timeouts while the database was frozen: {tally:?}"
    );
}
