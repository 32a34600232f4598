//! The gate's state in Redis: every node shares one queue. Each operation is one Lua script, so it is atomic
//! across nodes (two nodes advancing at once give each second's budget once). A room's keys share a hash tag, so
//! the scripts also run on a Redis Cluster. Numbers stored are integers below 2^53, exact in Lua's doubles.

use async_trait::async_trait;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{AsyncCommands as _, Cmd, Pipeline, RedisFuture, Script, Value};

use super::sentinel::{SCHEME as SENTINEL_SCHEME, SentinelLink, SentinelUrl};
use super::{
    Admission, ClaimOutcome, Control, DrawState, GateState, IssueOutcome, IssueRequest, MEASURE_WINDOW_MS,
    QueueSnapshot, StateError, WINDOW_KEEP_MS,
};
use crate::capacity::Capacity;
use crate::draw::Seed;
use crate::schedule::MaintenanceMessage;
use crate::token::{PassId, WindowId};

/// Shared helpers: `n` formats an integer without Lua's exponent notation; `batch` reads `to:expires:remaining`.
const PRELUDE: &str = r"
local function n(x) return string.format('%d', x) end
local function batch(v)
  local a, b, c = string.match(v, '^(%d+):(%d+):(%d+)$')
  return tonumber(a), tonumber(b), tonumber(c)
end
";

/// KEYS: q, batches (zset by first place), batch (hash first place -> to:expires:remaining), passes.
/// ARGV: now, opened, rate_milli, burst, max_active, grace_ms, keep_ms, measure_ms.
const ADVANCE: &str = r"
local q, bz, bh, passes = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1])
local opened = ARGV[2] == '1'
local rate = tonumber(ARGV[3])
local burst = tonumber(ARGV[4]) * 1000000
local max_active = tonumber(ARGV[5])
local grace = tonumber(ARGV[6])
local keep = tonumber(ARGV[7])
local measure = tonumber(ARGV[8])

redis.call('ZREMRANGEBYSCORE', passes, '-inf', n(now))
local active = redis.call('ZCARD', passes)

local f = redis.call('HMGET', q, 'next', 'frozen', 'upto', 'unclaimed', 'tokens', 'filled', 'mark_t', 'mark_upto', 'mark_wait', 'measured')
local nxt = tonumber(f[1]) or 0
local frozen = tonumber(f[2])
local upto = tonumber(f[3]) or 0
local unclaimed = tonumber(f[4]) or 0
local tokens = tonumber(f[5])
local filled = tonumber(f[6])
local mark_t, mark_upto, mark_wait = tonumber(f[7]), tonumber(f[8]), tonumber(f[9])
local measured = tonumber(f[10]) or -1

while true do
  local first = redis.call('ZRANGE', bz, 0, 0)
  if #first == 0 then break end
  local to, expires, remaining = batch(redis.call('HGET', bh, first[1]) or '0:0:0')
  if expires > now then break end
  unclaimed = math.max(0, unclaimed - remaining)
  redis.call('ZREM', bz, first[1])
  redis.call('HDEL', bh, first[1])
end

if opened and not frozen then frozen = nxt end
if frozen then
  if not tokens then
    tokens = burst
    filled = now
  else
    local span = math.max(0, now - filled)
    span = math.min(span, math.floor(burst / rate) + 1)
    tokens = math.min(burst, tokens + rate * span)
    filled = math.max(filled, now)
  end
  local free = math.max(0, max_active - active - unclaimed)
  local k = math.min(math.floor(tokens / 1000000), free, nxt - upto)
  tokens = tokens - k * 1000000
  if k > 0 then
    local from = upto
    upto = upto + k
    unclaimed = unclaimed + k
    local expires = now + grace
    local merged = false
    local last = redis.call('ZRANGE', bz, -1, -1)
    if #last == 1 then
      local lto, lexp, lrem = batch(redis.call('HGET', bh, last[1]) or '0:0:0')
      if lto == from and math.floor(lexp / 1000) == math.floor(expires / 1000) then
        redis.call('HSET', bh, last[1], n(upto) .. ':' .. n(expires) .. ':' .. n(lrem + k))
        merged = true
      end
    end
    if not merged then
      redis.call('ZADD', bz, n(from), n(from))
      redis.call('HSET', bh, n(from), n(upto) .. ':' .. n(expires) .. ':' .. n(k))
    end
    redis.call('PEXPIRE', bz, n(keep))
    redis.call('PEXPIRE', bh, n(keep))
  end
  local waiting = nxt - upto
  if not mark_t then
    mark_t, mark_upto, mark_wait = now, upto, waiting
  elseif now - mark_t >= measure then
    if mark_wait > 0 then measured = math.floor((upto - mark_upto) * 1000000 / (now - mark_t)) end
    mark_t, mark_upto, mark_wait = now, upto, waiting
  end
  redis.call('HSET', q, 'frozen', n(frozen), 'upto', n(upto), 'unclaimed', n(unclaimed), 'tokens', n(tokens),
    'filled', n(filled), 'mark_t', n(mark_t), 'mark_upto', n(mark_upto), 'mark_wait', n(mark_wait),
    'measured', n(measured))
  redis.call('PEXPIRE', q, n(keep))
else
  redis.call('HSET', q, 'unclaimed', n(unclaimed))
  redis.call('PEXPIRE', q, n(keep))
end
return {nxt, frozen or -1, upto, active, unclaimed, measured}
";

/// KEYS: q, spent, seed. ARGV: now, opened, challenge id, challenge expiry, seed candidate (hex or ''), keep_ms.
const ISSUE: &str = r"
local q, spent, seed = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local keep = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', spent, '-inf', n(now))
if redis.call('ZSCORE', spent, ARGV[3]) then return {-1, 0} end
redis.call('ZADD', spent, ARGV[4], ARGV[3])
local f = redis.call('HMGET', q, 'next', 'frozen')
local nxt = tonumber(f[1]) or 0
local frozen = tonumber(f[2])
if ARGV[2] == '1' and not frozen then
  frozen = nxt
  redis.call('HSET', q, 'frozen', n(frozen))
end
local pre = 0
if not frozen then
  pre = 1
  if ARGV[5] ~= '' then
    redis.call('SET', seed, ARGV[5], 'NX')
    redis.call('PEXPIRE', seed, n(keep))
  end
end
redis.call('HSET', q, 'next', n(nxt + 1))
redis.call('PEXPIRE', q, n(keep))
return {nxt, pre}
";

/// KEYS: passes, revoked, batches, batch, q. ARGV: now, seq, pass, expires.
/// Returns {0, expires} granted, {1, expires} already granted, {2, 0} revoked, {3, 0} lapsed.
const CLAIM: &str = r"
local passes, revoked, bz, bh, q = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = tonumber(ARGV[1])
local seq = tonumber(ARGV[2])
local r = redis.call('ZSCORE', revoked, ARGV[3])
if r and tonumber(r) > now then return {2, 0} end
local e = redis.call('ZSCORE', passes, ARGV[3])
if e and tonumber(e) > now then return {1, tonumber(e)} end
local b = redis.call('ZREVRANGEBYSCORE', bz, ARGV[2], '-inf', 'LIMIT', 0, 1)
if #b == 0 then return {3, 0} end
local to, expires, remaining = batch(redis.call('HGET', bh, b[1]) or '0:0:0')
if seq >= to or expires <= now or remaining <= 0 then return {3, 0} end
remaining = remaining - 1
if remaining == 0 then
  redis.call('ZREM', bz, b[1])
  redis.call('HDEL', bh, b[1])
else
  redis.call('HSET', bh, b[1], n(to) .. ':' .. n(expires) .. ':' .. n(remaining))
end
local unclaimed = tonumber(redis.call('HGET', q, 'unclaimed')) or 0
redis.call('HSET', q, 'unclaimed', n(math.max(0, unclaimed - 1)))
redis.call('ZADD', passes, ARGV[4], ARGV[3])
return {0, tonumber(ARGV[4])}
";

/// KEYS: passes, revoked. ARGV: now, pass, keep_until. Returns 1 when the pass was active.
const REVOKE: &str = r"
local passes, revoked = KEYS[1], KEYS[2]
local now = tonumber(ARGV[1])
local e = redis.call('ZSCORE', passes, ARGV[2])
redis.call('ZREM', passes, ARGV[2])
local until_ = tonumber(ARGV[3])
local active = 0
if e then
  until_ = math.max(tonumber(e), now)
  if tonumber(e) > now then active = 1 end
end
redis.call('ZADD', revoked, n(until_), ARGV[2])
redis.call('ZREMRANGEBYSCORE', revoked, '-inf', n(now))
return active
";

/// KEYS: passes, revoked. ARGV: now, pass, expires. Returns 1 when the active pass now lasts until `expires`.
const RENEW: &str = r"
local passes, revoked = KEYS[1], KEYS[2]
local now = tonumber(ARGV[1])
local r = redis.call('ZSCORE', revoked, ARGV[2])
if r and tonumber(r) > now then return 0 end
local e = redis.call('ZSCORE', passes, ARGV[2])
if not e or tonumber(e) <= now then return 0 end
if tonumber(ARGV[3]) > tonumber(e) then redis.call('ZADD', passes, ARGV[3], ARGV[2]) end
return 1
";

/// KEYS: seed. ARGV: candidate hex, keep_ms.
const ENSURE_SEED: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'NX')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('GET', KEYS[1])
";

/// How a node reaches Redis: one server (`redis://`), or whichever the Sentinels name master
/// (`redis+sentinel://`).
#[derive(Clone)]
enum Link {
    Direct(ConnectionManager),
    Sentinel(SentinelLink),
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Link::Direct(conn) => conn.req_packed_command(cmd),
            Link::Sentinel(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Link::Direct(conn) => conn.req_packed_commands(pipeline, offset, count),
            Link::Sentinel(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Link::Direct(conn) => conn.get_db(),
            Link::Sentinel(conn) => conn.get_db(),
        }
    }
}

/// The gate's state in Redis, under a key prefix (so deployments and tests can share a server).
#[derive(Clone)]
pub struct RedisState {
    conn: Link,
    prefix: String,
    advance: Script,
    issue: Script,
    claim: Script,
    revoke: Script,
    renew: Script,
    ensure_seed: Script,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisState").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisState {
    /// Connects to the Redis at `url` (reconnecting by itself after failures); keys start with `prefix`.
    /// `redis://…` names one server; `redis+sentinel://[:password@]host:port,…/service` the Sentinels that
    /// know the master of `service` (see [`super::sentinel`]).
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StateError> {
        let conn = if url.starts_with(SENTINEL_SCHEME) {
            Link::Sentinel(SentinelLink::connect(&SentinelUrl::parse(url)?).await?)
        } else {
            let client = redis::Client::open(url)?;
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(std::time::Duration::from_secs(5)))
                .set_response_timeout(Some(std::time::Duration::from_secs(5)))
                .set_number_of_retries(2);
            Link::Direct(client.get_connection_manager_with_config(config).await?)
        };
        let script = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            advance: script(ADVANCE),
            issue: script(ISSUE),
            claim: script(CLAIM),
            revoke: script(REVOKE),
            renew: script(RENEW),
            ensure_seed: script(ENSURE_SEED),
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn room_key(&self, room: &str, what: &str) -> String {
        format!("{}:{{{}}}:{what}", self.prefix, room)
    }

    fn window_key(&self, room: &str, window: WindowId, what: &str) -> String {
        format!("{}:{{{}}}:w{}:{what}", self.prefix, room, window.0)
    }
}

fn corrupt(what: &str) -> StateError {
    StateError::Corrupt(what.to_owned())
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn parse_seed(hex_seed: &str) -> Result<Seed, StateError> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(hex_seed, &mut seed).map_err(|_| corrupt("a stored seed is not 64 hex digits"))?;
    Ok(seed)
}

#[async_trait]
impl GateState for RedisState {
    async fn control(&self, room: &str) -> Result<Control, StateError> {
        let mut conn = self.conn.clone();
        let fields: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.room_key(room, "control"))
            .arg(&["capacity", "maintenance", "health"])
            .query_async(&mut conn)
            .await?;
        let mut control = Control::default();
        if let Some(Some(json)) = fields.first() {
            control.capacity = Some(serde_json::from_str(json).map_err(|e| corrupt(&format!("live capacity: {e}")))?);
        }
        if let Some(Some(json)) = fields.get(1) {
            control.maintenance =
                Some(serde_json::from_str(json).map_err(|e| corrupt(&format!("maintenance message: {e}")))?);
        }
        if let Some(Some(h)) = fields.get(2) {
            control.health_permille = h.parse().map_err(|_| corrupt("health is not a number"))?;
        }
        Ok(control)
    }

    async fn set_capacity(&self, room: &str, capacity: Option<Capacity>) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let key = self.room_key(room, "control");
        match capacity {
            Some(c) => {
                let json = serde_json::to_string(&c).map_err(|e| corrupt(&e.to_string()))?;
                let () = conn.hset(key, "capacity", json).await?;
            }
            None => {
                let () = conn.hdel(key, "capacity").await?;
            }
        }
        Ok(())
    }

    async fn set_maintenance(&self, room: &str, message: Option<MaintenanceMessage>) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let key = self.room_key(room, "control");
        match message {
            Some(m) => {
                let json = serde_json::to_string(&m).map_err(|e| corrupt(&e.to_string()))?;
                let () = conn.hset(key, "maintenance", json).await?;
            }
            None => {
                let () = conn.hdel(key, "maintenance").await?;
            }
        }
        Ok(())
    }

    async fn set_health(&self, room: &str, permille: u32) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let () = conn.hset(self.room_key(room, "control"), "health", permille.clamp(1, 1000)).await?;
        Ok(())
    }

    async fn ensure_seed(&self, room: &str, window: WindowId, candidate: Seed) -> Result<Seed, StateError> {
        let mut conn = self.conn.clone();
        let stored: String = self
            .ensure_seed
            .key(self.window_key(room, window, "seed"))
            .arg(hex::encode(candidate))
            .arg(WINDOW_KEEP_MS)
            .invoke_async(&mut conn)
            .await?;
        parse_seed(&stored)
    }

    async fn draw(&self, room: &str, window: WindowId) -> Result<DrawState, StateError> {
        let mut conn = self.conn.clone();
        let (seed, frozen): (Option<String>, Option<u64>) = redis::pipe()
            .get(self.window_key(room, window, "seed"))
            .hget(self.window_key(room, window, "q"), "frozen")
            .query_async(&mut conn)
            .await?;
        Ok(DrawState { seed: seed.as_deref().map(parse_seed).transpose()?, pre_queue_size: frozen })
    }

    async fn issue(&self, room: &str, window: WindowId, request: &IssueRequest) -> Result<IssueOutcome, StateError> {
        let mut conn = self.conn.clone();
        let reply: Vec<i64> = self
            .issue
            .key(self.window_key(room, window, "q"))
            .key(self.room_key(room, "spent"))
            .key(self.window_key(room, window, "seed"))
            .arg(request.now_ms)
            .arg(u8::from(request.opened))
            .arg(hex::encode(request.challenge_id))
            .arg(request.challenge_expires_ms)
            .arg(request.seed_candidate.map(hex::encode).unwrap_or_default())
            .arg(WINDOW_KEEP_MS)
            .invoke_async(&mut conn)
            .await?;
        match reply.as_slice() {
            [-1, _] => Ok(IssueOutcome::Replayed),
            [seq, pre] if *seq >= 0 => Ok(IssueOutcome::Issued { seq: to_u64(*seq), pre_queue: *pre == 1 }),
            _ => Err(corrupt("the issue script answered something unexpected")),
        }
    }

    async fn advance(
        &self,
        room: &str,
        window: WindowId,
        now_ms: i64,
        opened: bool,
        admission: &Admission,
    ) -> Result<QueueSnapshot, StateError> {
        let mut conn = self.conn.clone();
        let reply: Vec<i64> = self
            .advance
            .key(self.window_key(room, window, "q"))
            .key(self.window_key(room, window, "batches"))
            .key(self.window_key(room, window, "batch"))
            .key(self.room_key(room, "passes"))
            .arg(now_ms)
            .arg(u8::from(opened))
            .arg(admission.rate_milli.max(1))
            .arg(admission.burst)
            .arg(admission.max_active)
            .arg(admission.claim_grace_ms)
            .arg(WINDOW_KEEP_MS)
            .arg(MEASURE_WINDOW_MS)
            .invoke_async(&mut conn)
            .await?;
        let [next, frozen, upto, active, unclaimed, measured] = reply[..] else {
            return Err(corrupt("the advance script answered something unexpected"));
        };
        Ok(QueueSnapshot {
            next_seq: to_u64(next),
            pre_queue_size: u64::try_from(frozen).ok(),
            admitted_upto: to_u64(upto),
            active: to_u64(active),
            unclaimed: to_u64(unclaimed),
            measured_rate_milli: u64::try_from(measured).ok(),
        })
    }

    async fn claim(
        &self,
        room: &str,
        window: WindowId,
        seq: u64,
        pass: PassId,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<ClaimOutcome, StateError> {
        let mut conn = self.conn.clone();
        let reply: Vec<i64> = self
            .claim
            .key(self.room_key(room, "passes"))
            .key(self.room_key(room, "revoked"))
            .key(self.window_key(room, window, "batches"))
            .key(self.window_key(room, window, "batch"))
            .key(self.window_key(room, window, "q"))
            .arg(now_ms)
            .arg(seq)
            .arg(pass.to_string())
            .arg(expires_ms)
            .invoke_async(&mut conn)
            .await?;
        match reply[..] {
            [0, e] => Ok(ClaimOutcome::Granted { expires_ms: e }),
            [1, e] => Ok(ClaimOutcome::AlreadyGranted { expires_ms: e }),
            [2, _] => Ok(ClaimOutcome::Revoked),
            [3, _] => Ok(ClaimOutcome::Lapsed),
            _ => Err(corrupt("the claim script answered something unexpected")),
        }
    }

    async fn revoke(&self, room: &str, pass: PassId, now_ms: i64, keep_until_ms: i64) -> Result<bool, StateError> {
        let mut conn = self.conn.clone();
        let active: i64 = self
            .revoke
            .key(self.room_key(room, "passes"))
            .key(self.room_key(room, "revoked"))
            .arg(now_ms)
            .arg(pass.to_string())
            .arg(keep_until_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(active == 1)
    }

    async fn is_revoked(&self, room: &str, pass: PassId, now_ms: i64) -> Result<bool, StateError> {
        let mut conn = self.conn.clone();
        let until: Option<f64> = conn.zscore(self.room_key(room, "revoked"), pass.to_string()).await?;
        Ok(until.is_some_and(|u| u > now_ms as f64))
    }

    async fn renew(&self, room: &str, pass: PassId, expires_ms: i64, now_ms: i64) -> Result<bool, StateError> {
        let mut conn = self.conn.clone();
        let renewed: i64 = self
            .renew
            .key(self.room_key(room, "passes"))
            .key(self.room_key(room, "revoked"))
            .arg(now_ms)
            .arg(pass.to_string())
            .arg(expires_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(renewed == 1)
    }
}
