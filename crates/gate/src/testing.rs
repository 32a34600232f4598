//! Redis for tests of this crate and of the crates built on it (feature `testing`).
//!
//! Each test gets its own random key prefix on the server named by `SPORTELLO_TEST_REDIS_URL`, else `REDIS_URL`,
//! else `redis://127.0.0.1:6379`; its keys are deleted when the [`TestRedis`] is dropped, even after a failed
//! assertion. When no server answers, a test skips saying so; under `CI=true` it fails instead, so that CI never
//! passes by skipping (the convention of `sportello_store::testing`).

use std::time::Duration;

use crate::state::RedisState;
use crate::token::random_bytes;

/// The Redis server tests use.
pub fn redis_url() -> String {
    std::env::var("SPORTELLO_TEST_REDIS_URL")
        .or_else(|_| std::env::var("REDIS_URL"))
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix of one's own on the test Redis; keys under it are deleted on drop.
#[derive(Debug)]
pub struct TestRedis {
    /// The server.
    pub url: String,
    /// The prefix.
    pub prefix: String,
}

impl TestRedis {
    /// A fresh prefix, or `None` (having printed why) when no server answers outside CI.
    ///
    /// # Panics
    /// When no server answers and `CI` is `true`.
    pub async fn create() -> Option<Self> {
        let url = redis_url();
        let suffix = random_bytes::<8>().map(hex::encode).unwrap_or_else(|_| std::process::id().to_string());
        let prefix = format!("sportello-test-{suffix}");
        match tokio::time::timeout(Duration::from_secs(5), RedisState::connect(&url, &prefix)).await {
            Ok(Ok(_)) => Some(Self { url, prefix }),
            failure => {
                let why = match failure {
                    Ok(Err(e)) => e.to_string(),
                    _ => "no answer within 5 s".to_owned(),
                };
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("Redis not reachable at {url} under CI: {why}");
                }
                eprintln!("skipped: Redis not reachable at {url} ({why})");
                None
            }
        }
    }

    /// A new connection ("node") sharing this prefix.
    ///
    /// # Panics
    /// When the server stopped answering since [`TestRedis::create`].
    pub async fn node(&self) -> RedisState {
        match RedisState::connect(&self.url, &self.prefix).await {
            Ok(state) => state,
            Err(e) => panic!("Redis at {} stopped answering: {e}", self.url),
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let cleanup = || -> redis::RedisResult<()> {
            let mut conn =
                redis::Client::open(self.url.as_str())?.get_connection_with_timeout(Duration::from_secs(5))?;
            let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}:*", self.prefix)).query(&mut conn)?;
            if !keys.is_empty() {
                redis::cmd("DEL").arg(keys).exec(&mut conn)?;
            }
            Ok(())
        };
        if let Err(e) = cleanup() {
            eprintln!("could not delete the test keys under {}: {e}", self.prefix);
        }
    }
}
