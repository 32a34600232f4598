//! The gate's Redis reached through Sentinel: `redis+sentinel://[:password@]host:port[,host:port…]/service[?db=N]`.
//!
//! The Sentinels are asked which server is the master of `service`; commands go there until one fails on the
//! connection (or the server says it is a read-only replica now), and the next command asks the Sentinels again, so
//! a node follows a failover by itself. A failed command is an error (the layer answers 503 with `Retry-After`),
//! never retried here: the caller decides, as it does when plain Redis fails.
//!
//! One order across a failover: Redis replicates asynchronously, so a place handed out by a master that dies
//! before its replicas have it would be handed out again by the promoted replica — two visitors with one place. So
//! every command is followed by `WAIT 1`: it is answered only once a replica holds what it wrote, and fails when
//! none confirms within [`REPLICATION_WAIT`]. Sentinel promotes the replica with the largest replication offset,
//! which holds every write a `WAIT` confirmed.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{AsyncConnectionConfig, Cmd, ConnectionAddr, ErrorKind, Pipeline, RedisError, RedisFuture, Value};
use tokio::sync::Mutex;

/// How long a write may wait for a replica to confirm it.
pub const REPLICATION_WAIT: Duration = Duration::from_secs(2);

/// How long connecting to, or an answer from, a Sentinel or the master may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// What a `redis+sentinel://` URL says.
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelUrl {
    /// The Sentinels, `(host, port)`.
    pub sentinels: Vec<(String, u16)>,
    /// The name the Sentinels monitor the master under.
    pub service: String,
    /// The password of the Redis servers (the Sentinels are asked without one).
    pub password: Option<String>,
    /// The database number.
    pub db: i64,
}

impl std::fmt::Debug for SentinelUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelUrl")
            .field("sentinels", &self.sentinels)
            .field("service", &self.service)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("db", &self.db)
            .finish()
    }
}

/// The URL's scheme.
pub const SCHEME: &str = "redis+sentinel://";

fn invalid(detail: String) -> RedisError {
    RedisError::from((ErrorKind::InvalidClientConfig, "invalid redis+sentinel URL", detail))
}

impl SentinelUrl {
    /// Reads a `redis+sentinel://` URL; the error says which part is wrong (never repeating the password).
    pub fn parse(url: &str) -> Result<Self, RedisError> {
        let rest = url.strip_prefix(SCHEME).ok_or_else(|| invalid(format!("it must start with {SCHEME}")))?;
        let (authority, path) = rest.split_once('/').ok_or_else(|| {
            invalid(format!("the master's service name is missing: write {SCHEME}host:port,host:port/service"))
        })?;
        let (password, hosts) = match authority.rsplit_once('@') {
            Some((user_info, hosts)) => {
                let password = user_info.split_once(':').map_or(user_info, |(_, password)| password);
                (Some(password.to_owned()).filter(|p| !p.is_empty()), hosts)
            }
            None => (None, authority),
        };
        let mut sentinels = Vec::new();
        for host in hosts.split(',') {
            let (name, port) = host
                .rsplit_once(':')
                .ok_or_else(|| invalid(format!("the Sentinel '{host}' has no port (host:port)")))?;
            let port = port
                .parse::<u16>()
                .map_err(|_| invalid(format!("the Sentinel '{host}' has no valid port: '{port}'")))?;
            if name.is_empty() {
                return Err(invalid(format!("the Sentinel '{host}' has no host")));
            }
            sentinels.push((name.trim_matches(['[', ']']).to_owned(), port));
        }
        let (service, query) = path.split_once('?').unwrap_or((path, ""));
        if service.is_empty() {
            return Err(invalid("the master's service name after the '/' is empty".to_owned()));
        }
        let mut db = 0;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("db", value)) => {
                    db = value.parse().map_err(|_| invalid(format!("db must be a number, not '{value}'")))?;
                }
                _ => return Err(invalid(format!("unknown parameter '{pair}' (only db=N)"))),
            }
        }
        Ok(Self { sentinels, service: service.to_owned(), password, db })
    }
}

/// A connection to whichever server the Sentinels name master, found again after a failure.
#[derive(Clone)]
pub struct SentinelLink {
    client: Arc<Mutex<SentinelClient>>,
    current: Arc<Mutex<Option<MultiplexedConnection>>>,
    db: i64,
}

impl SentinelLink {
    /// Asks the Sentinels of `url` for the master and connects to it.
    pub async fn connect(url: &SentinelUrl) -> Result<Self, RedisError> {
        let addresses = url.sentinels.iter().map(|(host, port)| ConnectionAddr::Tcp(host.clone(), *port));
        let mut builder = SentinelClientBuilder::new(addresses, &url.service, SentinelServerType::Master)?
            .set_client_to_redis_db(url.db);
        if let Some(password) = &url.password {
            builder = builder.set_client_to_redis_password(password);
        }
        let link = Self { client: Arc::new(Mutex::new(builder.build()?)), current: Arc::default(), db: url.db };
        link.connection().await?;
        Ok(link)
    }

    /// The master's connection, asking the Sentinels for it when there is none.
    async fn connection(&self) -> Result<MultiplexedConnection, RedisError> {
        let mut current = self.current.lock().await;
        if let Some(connection) = current.as_ref() {
            return Ok(connection.clone());
        }
        let config =
            AsyncConnectionConfig::new().set_connection_timeout(Some(TIMEOUT)).set_response_timeout(Some(TIMEOUT));
        let client = tokio::time::timeout(TIMEOUT, async { self.client.lock().await.async_get_client().await })
            .await
            .map_err(|_| RedisError::from((ErrorKind::Io, "no Sentinel answered in time")))??;
        let connection = client.get_multiplexed_async_connection_with_config(&config).await?;
        *current = Some(connection.clone());
        Ok(connection)
    }

    /// Forgets the connection after `error` if it says the master is gone or is no longer master.
    async fn after(&self, error: &RedisError) {
        let master_lost = error.is_io_error()
            || error.is_timeout()
            || error.is_connection_dropped()
            || error.is_connection_refusal()
            || matches!(error.code(), Some("READONLY" | "MASTERDOWN" | "LOADING" | "NOREPLICAS"))
            || error.kind() == ErrorKind::Io;
        if master_lost {
            *self.current.lock().await = None;
        }
    }

    /// Waits until a replica holds everything this connection wrote.
    async fn replicated(connection: &mut MultiplexedConnection) -> Result<(), RedisError> {
        let millis = u64::try_from(REPLICATION_WAIT.as_millis()).unwrap_or(u64::MAX);
        let confirmed: i64 = redis::cmd("WAIT").arg(1).arg(millis).query_async(connection).await?;
        if confirmed < 1 {
            return Err(RedisError::from((
                ErrorKind::Io,
                "no replica confirmed the write",
                "the gate does not answer a change that a failover could lose".to_owned(),
            )));
        }
        Ok(())
    }

    async fn command(&self, cmd: &Cmd) -> Result<Value, RedisError> {
        let mut connection = self.connection().await?;
        let result = async {
            let value = connection.req_packed_command(cmd).await?;
            Self::replicated(&mut connection).await?;
            Ok(value)
        }
        .await;
        if let Err(error) = &result {
            self.after(error).await;
        }
        result
    }

    async fn commands(&self, pipeline: &Pipeline, offset: usize, count: usize) -> Result<Vec<Value>, RedisError> {
        let mut connection = self.connection().await?;
        let result = async {
            let values = connection.req_packed_commands(pipeline, offset, count).await?;
            Self::replicated(&mut connection).await?;
            Ok(values)
        }
        .await;
        if let Err(error) = &result {
            self.after(error).await;
        }
        result
    }
}

impl ConnectionLike for SentinelLink {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(self.command(cmd))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(self.commands(pipeline, offset, count))
    }

    fn get_db(&self) -> i64 {
        self.db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentinel_url_names_the_sentinels_the_service_the_password_and_the_database() {
        let url = SentinelUrl::parse("redis+sentinel://:s3cret@10.0.0.1:26379,[::1]:26380/sportello?db=2").unwrap();
        assert_eq!(url.sentinels, vec![("10.0.0.1".to_owned(), 26379), ("::1".to_owned(), 26380)]);
        assert_eq!((url.service.as_str(), url.password.as_deref(), url.db), ("sportello", Some("s3cret"), 2));
        assert!(!format!("{url:?}").contains("s3cret"), "the password is never printed");
        let plain = SentinelUrl::parse("redis+sentinel://127.0.0.1:26379/mymaster").unwrap();
        assert_eq!((plain.password, plain.db), (None, 0));
    }

    #[test]
    fn a_wrong_sentinel_url_says_which_part_is_wrong() {
        for (url, says) in [
            ("redis+sentinel://127.0.0.1:26379", "service name is missing"),
            ("redis+sentinel://127.0.0.1/sportello", "has no port"),
            ("redis+sentinel://127.0.0.1:x/sportello", "no valid port: 'x'"),
            ("redis+sentinel://127.0.0.1:26379/", "service name after the '/' is empty"),
            ("redis+sentinel://127.0.0.1:26379/s?db=x", "db must be a number"),
            ("redis+sentinel://127.0.0.1:26379/s?tls=1", "unknown parameter 'tls=1'"),
            ("redis+sentinel://:pw@h:1:2x/s", "no valid port"),
        ] {
            let error = SentinelUrl::parse(url).unwrap_err().to_string();
            assert!(error.contains(says), "{url}: {error}");
            assert!(!error.contains("pw@"), "{error}");
        }
    }
}
