//! The portal's configuration: a TOML file (optional) overlaid by `SPORTELLO_…` environment variables.
//!
//! The database is not configured here: every `sportello` command takes it from `--database-url` or
//! `SPORTELLO_DATABASE_URL`. Nested keys use a double underscore in the environment: `SPORTELLO_HTTP__LISTEN=0.0.0.0:8080`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::notify::NotifyConfig;
use crate::secret::SecretHex;

/// Everything `sportello serve` needs to know. Unknown top-level keys are ignored because the environment carries
/// other `SPORTELLO_*` variables (test and bench settings); the sections refuse unknown keys, catching typos.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Config {
    /// HTTP settings.
    #[serde(default)]
    pub http: HttpConfig,
    /// Login sessions and CSRF.
    #[serde(default)]
    pub session: SessionConfig,
    /// Issuing and checking the INPS PIN.
    #[serde(default)]
    pub pin: PinConfig,
    /// Where messages (the PIN's halves, letters) are delivered.
    #[serde(default)]
    pub notify: NotifyConfig,
    /// Rate limits on asking for a PIN and logging in.
    #[serde(default)]
    pub limits: crate::limits::LimitsConfig,
    /// How much the portal works on at once, and what it refuses beyond that.
    #[serde(default)]
    pub shedding: crate::shed::SheddingConfig,
    /// The admission gate (waiting room); off when the section is absent.
    #[serde(default)]
    pub gate: Option<crate::gate::GateSection>,
    /// The payment runs announced to citizens.
    #[serde(default)]
    pub payments: PaymentsConfig,
    /// SPID and CIE through the OpenID Connect Federation; off when the section is absent.
    #[serde(default)]
    pub federation: Option<crate::auth::oidc::settings::FederationSection>,
    /// Logging in with the CNS or a CIE's certificate, on a listener of its own; off when absent.
    pub cns: Option<crate::auth::cns::CnsSection>,
    /// How long delivered messages and audit rows are kept, and how often they are purged.
    #[serde(default)]
    pub retention: crate::office::retention::RetentionConfig,
}

/// The payment runs announced to citizens (`[payments]`): receipts name the first run on or after the day an
/// application was accepted, or say that the date will be communicated when none is configured.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsConfig {
    /// The dates of the payment runs, written `YYYY-MM-DD` (e.g. `["2020-04-15", "2020-04-30"]`), in any order.
    pub run_dates: Vec<String>,
}

impl PaymentsConfig {
    /// The run dates, earliest first, or the first that is not a date, named.
    pub fn dates(&self) -> Result<Vec<NaiveDate>, String> {
        let mut dates = self
            .run_dates
            .iter()
            .map(|d| {
                NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
                    format!("payments.run_dates: '{d}' is not a date; write it as YYYY-MM-DD, e.g. \"2020-04-15\"")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        dates.sort_unstable();
        dates.dedup();
        Ok(dates)
    }

    /// The first run on or after `day`, if one is configured (dates that do not parse are refused at start-up).
    pub fn next_run_on_or_after(&self, day: NaiveDate) -> Option<NaiveDate> {
        self.dates().ok()?.into_iter().find(|run| *run >= day)
    }
}

/// HTTP listener and request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Where the portal listens.
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes; forms are small.
    pub max_body_bytes: usize,
    /// A request taking longer than this is answered 503 rather than left hanging (seconds).
    pub request_timeout_secs: u64,
    /// Where Prometheus metrics are served (`GET /metrics`), on a listener of their own; none when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// A connection that has not sent a whole request head this long after opening, or after its previous
    /// response, is closed (seconds): a client dribbling bytes (slowloris) holds nothing for long.
    pub header_read_timeout_secs: u64,
    /// Most connections open at once; beyond it new ones wait in the kernel's backlog until one closes.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 16 * 1024,
            request_timeout_secs: 10,
            metrics_listen: None,
            header_read_timeout_secs: 10,
            max_connections: 20_000,
        }
    }
}

impl HttpConfig {
    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The header read timeout as a duration.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }
}

/// Login sessions and the CSRF key (`[session]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// A session unused for this long ends (seconds).
    pub idle_timeout_secs: u64,
    /// A session ends this long after login, whatever the activity (seconds).
    pub absolute_timeout_secs: u64,
    /// The key of the CSRF tokens, 64 hex digits; when absent a random key is drawn at start. Every node behind
    /// one load balancer must share it, or a form served by one node is refused by another.
    pub csrf_key: Option<SecretHex>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { idle_timeout_secs: 30 * 60, absolute_timeout_secs: 8 * 3600, csrf_key: None }
    }
}

impl SessionConfig {
    /// The idle timeout as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// The absolute timeout as a duration.
    pub fn absolute_timeout(&self) -> Duration {
        Duration::from_secs(self.absolute_timeout_secs)
    }
}

/// Issuing and checking the INPS PIN (`[pin]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PinConfig {
    /// How long after the first half the second half is sent, standing in for the post (seconds).
    pub second_half_delay_secs: u64,
    /// Wrong PINs in a row that lock the PIN.
    pub max_failures: u32,
    /// How long a PIN stays locked (seconds).
    pub lock_secs: u64,
}

impl Default for PinConfig {
    fn default() -> Self {
        Self { second_half_delay_secs: 72 * 3600, max_failures: 5, lock_secs: 15 * 60 }
    }
}

impl PinConfig {
    /// The delay of the second half as a duration.
    pub fn second_half_delay(&self) -> Duration {
        Duration::from_secs(self.second_half_delay_secs)
    }

    /// The lock duration as a duration.
    pub fn lock_for(&self) -> Duration {
        Duration::from_secs(self.lock_secs)
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] config::ConfigError);

impl Config {
    /// Reads `file` (if given; it must exist) and then the `SPORTELLO_*` environment variables, which win.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml).required(true));
        }
        let source = builder
            .add_source(config::Environment::with_prefix("SPORTELLO").prefix_separator("_").separator("__"))
            .build()?;
        let config: Self = source.try_deserialize()?;
        config.shedding.validate().map_err(|e| config::ConfigError::Message(e.to_string()))?;
        config.payments.dates().map_err(config::ConfigError::Message)?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_sets_values_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sportello.toml");
        std::fs::write(&file, "[http]\nlisten = \"0.0.0.0:9000\"\n").unwrap();
        let config = Config::load(Some(&file)).unwrap();
        assert_eq!(config.http.listen.port(), 9000);
        assert_eq!(config.http.max_body_bytes, 16 * 1024, "unset values keep their defaults");

        std::fs::write(&file, "[http]\nlisen = \"0.0.0.0:9000\"\n").unwrap();
        let err = Config::load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
        assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_err());
    }

    #[test]
    fn a_receipt_names_the_first_run_on_or_after_acceptance_and_a_date_that_is_not_one_is_refused() {
        let payments = PaymentsConfig { run_dates: vec!["2020-04-30".into(), "2020-04-15".into()] };
        let day = |d| NaiveDate::from_ymd_opt(2020, 4, d).unwrap();
        let cases = [("before both", 1, Some(15)), ("on the run's day", 15, Some(15)), ("between", 16, Some(30))];
        for (situation, accepted, run) in cases {
            assert_eq!(payments.next_run_on_or_after(day(accepted)), run.map(day), "{situation}");
        }
        assert_eq!(payments.next_run_on_or_after(NaiveDate::from_ymd_opt(2020, 5, 1).unwrap()), None, "after both");
        assert_eq!(PaymentsConfig::default().next_run_on_or_after(day(1)), None, "none configured");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sportello.toml");
        std::fs::write(&file, "[payments]\nrun_dates = [\"15/04/2020\"]\n").unwrap();
        let err = Config::load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("'15/04/2020' is not a date") && err.contains("YYYY-MM-DD"), "{err}");
    }

    #[tokio::test]
    async fn the_example_configuration_loads() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sportello.example.toml");
        let config = Config::load(Some(&example)).unwrap();
        assert_eq!(config.http.listen.port(), 8080);
        assert_eq!(config.limits.per_person_burst, 10);
        assert!(config.notify.smtp.is_some() && config.notify.webhook.is_some());
        assert_eq!(config.notify.letters_dir.as_deref(), Some(Path::new("sportello-data/letters")));
        let gate = config.gate.as_ref().expect("the example has a gate");
        assert_eq!(gate.rooms.len(), 2);
        assert_eq!((gate.previous_keys.len(), gate.adaptive.map(|a| a.interval_secs)), (1, Some(5)));
        assert_eq!(config.shedding.max_in_flight, 512);
        assert_eq!(config.limits.tickets_per_address_burst, 20);
        let day = |d| NaiveDate::from_ymd_opt(2020, 4, d).unwrap();
        assert_eq!(config.payments.next_run_on_or_after(day(2)), Some(day(15)), "the example announces runs");
        gate.build().await.expect("the example's gate is valid");
    }
}
