//! Rate limits on the doors a flood or a guesser knocks at: asking for a PIN and logging in, on the pages and the
//! API, and taking a place in the waiting room. Keyed GCRA limiters (the `governor` crate): per client address (an
//! IPv6 client counts by its /64, which is what one subscriber usually holds) for PINs and logins, per client
//! address for places in the queue, and per codice fiscale and door. All answer 429 with `Retry-After` before any
//! work is done — no database access, no PIN hashing, no proof of work checked.
//!
//! The per-person limit treats every codice fiscale alike, registered or not, so it reveals nothing about who is in
//! the registry. It comes on top of the lock after 5 wrong PINs: the lock stops guessing one PIN, the limit stops
//! re-asking for PINs and hammering one person's login. For logins it is counted per person *and* device (checked by
//! the login itself with [`RateLimits::check_login`], once it knows the device), so that strangers knocking for
//! someone do not use up the budget of that person's own browser. Wrong PINs from strangers are also bounded per
//! client address ([`RateLimits::failures_barred`]), so that one client cannot spray guesses over many people.
//!
//! The limiters live in each node's memory: with N nodes behind a balancer a client gets at most N times the
//! quota, which `[limits]` should allow for. Behind a reverse proxy every connection comes from the proxy; set
//! `forwarded_hops` to the number of proxies that append to `X-Forwarded-For` so the client's own address is used.
//!
//! A request the proxies do not attribute — no `X-Forwarded-For`, fewer entries than `forwarded_hops`, or an entry
//! that is not an address — is still limited: it counts under the address it arrived from. Through the proxy that is
//! the proxy's own address, so every unattributed request shares one bucket (a misconfigured proxy throttles itself
//! rather than opening the doors); a client that reached the portal directly, around the proxy, counts under its own
//! address. Leaving out the header never buys a fresh budget.

use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use sportello_domain::CodiceFiscale;

use crate::i18n::Lang;

/// `[limits]`: how often one client address and one codice fiscale may knock.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Sustained PIN requests and logins per minute from one client address.
    pub per_address_per_minute: u32,
    /// How many of those may come at once.
    pub per_address_burst: u32,
    /// Sustained PIN requests, and separately logins, per hour for one codice fiscale.
    pub per_person_per_hour: u32,
    /// How many of those may come at once.
    pub per_person_burst: u32,
    /// Sustained places taken in the waiting room per minute from one client address (a household or an office
    /// behind one address takes several; a bot takes thousands).
    pub tickets_per_address_per_minute: u32,
    /// How many of those may come at once.
    pub tickets_per_address_burst: u32,
    /// Reverse proxies in front of the portal that append the client's address to `X-Forwarded-For`; 0 ignores the
    /// header (the default: without a proxy it is whatever the client wrote).
    pub forwarded_hops: usize,
    /// Wrong PINs per hour from one client address, counted outside devices the person logged in from before;
    /// beyond them its logins get 429 until the hour ends.
    pub failures_per_address_per_hour: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_address_per_minute: 60,
            per_address_burst: 30,
            per_person_per_hour: 20,
            per_person_burst: 10,
            tickets_per_address_per_minute: 30,
            tickets_per_address_burst: 20,
            forwarded_hops: 0,
            failures_per_address_per_hour: 100,
        }
    }
}

/// Why `[limits]` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("[limits] {0} must be at least 1")]
pub struct LimitsError(&'static str);

/// Which door a request knocks at: each has its own per-person budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Door {
    Pin,
    Login,
    Ticket,
}

/// The limiters.
pub struct RateLimits {
    by_address: DefaultKeyedRateLimiter<u128>,
    tickets_by_address: DefaultKeyedRateLimiter<u128>,
    by_person: DefaultKeyedRateLimiter<(Door, String)>,
    failures: FailureBound,
    forwarded_hops: usize,
    checks: AtomicU64,
}

/// The client address a PIN or login request came from, as the limits count it (the peer, or the address reported
/// by the configured proxies); `None` when unknown. The guard puts it in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ClientIp>().copied().unwrap_or(ClientIp(None)))
    }
}

/// Wrong PINs per client address in fixed windows of an hour. A GCRA limiter cannot say whether a client is over
/// without spending a cell, and only failures must be spent, so the count is kept here.
struct FailureBound {
    max: u32,
    windows: std::sync::Mutex<std::collections::HashMap<u128, (std::time::Instant, u32)>>,
}

/// The window of [`FailureBound`].
const FAILURE_WINDOW: Duration = Duration::from_secs(3600);

/// Beyond this many addresses, windows that have ended are forgotten.
const FAILURE_KEYS: usize = 65_536;

impl FailureBound {
    fn barred(&self, key: u128) -> Option<Duration> {
        let windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (started, failures) = windows.get(&key)?;
        let left = FAILURE_WINDOW.checked_sub(started.elapsed())?;
        (*failures >= self.max && !left.is_zero()).then_some(left)
    }

    fn count(&self, key: u128) {
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= FAILURE_KEYS {
            windows.retain(|_, (started, _)| started.elapsed() < FAILURE_WINDOW);
        }
        let window = windows.entry(key).or_insert((std::time::Instant::now(), 0));
        if window.0.elapsed() >= FAILURE_WINDOW {
            *window = (std::time::Instant::now(), 0);
        }
        window.1 = window.1.saturating_add(1);
    }
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").field("forwarded_hops", &self.forwarded_hops).finish_non_exhaustive()
    }
}

/// Forgets idle keys every this many checks, so the limiters' memory follows recent clients, not all clients ever.
const RETAIN_EVERY: u64 = 4096;

impl RateLimits {
    /// The limiters `config` describes.
    pub fn new(config: &LimitsConfig) -> Result<Self, LimitsError> {
        let nonzero = |value: u32, name| NonZeroU32::new(value).ok_or(LimitsError(name));
        let per_address = Quota::per_minute(nonzero(config.per_address_per_minute, "per_address_per_minute")?)
            .allow_burst(nonzero(config.per_address_burst, "per_address_burst")?);
        let per_person = Quota::per_hour(nonzero(config.per_person_per_hour, "per_person_per_hour")?)
            .allow_burst(nonzero(config.per_person_burst, "per_person_burst")?);
        let tickets =
            Quota::per_minute(nonzero(config.tickets_per_address_per_minute, "tickets_per_address_per_minute")?)
                .allow_burst(nonzero(config.tickets_per_address_burst, "tickets_per_address_burst")?);
        let failures = FailureBound {
            max: nonzero(config.failures_per_address_per_hour, "failures_per_address_per_hour")?.get(),
            windows: std::sync::Mutex::default(),
        };
        Ok(Self {
            by_address: RateLimiter::keyed(per_address),
            tickets_by_address: RateLimiter::keyed(tickets),
            by_person: RateLimiter::keyed(per_person),
            failures,
            forwarded_hops: config.forwarded_hops,
            checks: AtomicU64::new(0),
        })
    }

    /// The client's address as the limiter counts it: the address `forwarded_hops` proxies reported, else the
    /// peer's (see the module's doc), else — with no peer known — one bucket shared by every such request.
    fn client(&self, peer: Option<SocketAddr>, forwarded: Option<&HeaderValue>) -> IpAddr {
        let peer = peer.map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |peer| peer.ip());
        if self.forwarded_hops == 0 {
            return peer;
        }
        let listed: Vec<&str> =
            forwarded.and_then(|v| v.to_str().ok()).map(|v| v.split(',').map(str::trim).collect()).unwrap_or_default();
        let reported = listed.len().checked_sub(self.forwarded_hops).and_then(|i| listed.get(i));
        reported.and_then(|entry| parse_entry(entry)).unwrap_or(peer)
    }

    /// Spends one login of `person` counted in `bucket` (strangers, or one device of theirs); the wait if over.
    pub fn check_login(&self, person: &CodiceFiscale, bucket: &str) -> Result<(), Duration> {
        self.check(&self.by_person, &(Door::Login, format!("{person} {bucket}"))).inspect_err(|_| {
            metrics::counter!("sportello_rate_limited_total", "scope" => "person").increment(1);
        })
    }

    /// How long logins from `client` that a wrong PIN would count against it are refused, if they are.
    pub fn failures_barred(&self, client: ClientIp) -> Option<Duration> {
        let barred = self.failures.barred(address_key(client.0?));
        if barred.is_some() {
            metrics::counter!("sportello_rate_limited_total", "scope" => "failures").increment(1);
        }
        barred
    }

    /// Counts a wrong PIN from `client` (not from a device the person logged in from before).
    pub fn count_failure(&self, client: ClientIp) {
        if let Some(ip) = client.0 {
            self.failures.count(address_key(ip));
        }
    }

    fn check<K: Hash + Eq + Clone>(&self, limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            self.by_address.retain_recent();
            self.tickets_by_address.retain_recent();
            self.by_person.retain_recent();
        }
        limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// An `X-Forwarded-For` entry: an address, perhaps with a port (`203.0.113.9:4711`, `[2001:db8::1]:4711`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry.parse().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The key of an address: IPv4 whole, IPv6 by its /64.
fn address_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6) & !u128::from(u64::MAX) | (1 << 127),
    }
}

/// Middleware for the PIN and login doors (pages and API) and the waiting room's ticket office: POSTs over a limit
/// get 429 and go no further. Other methods pass untouched.
pub async fn guard(State(limits): State<Arc<RateLimits>>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    let door = if path.ends_with("pin") {
        Door::Pin
    } else if path.starts_with("/attesa/") {
        Door::Ticket
    } else {
        Door::Login
    };
    let api = path.starts_with("/api/") || (door == Door::Ticket && crate::render::wants_json(request.headers()));
    let lang = if request.uri().query().is_some_and(|q| q.split('&').any(|pair| pair == "lang=en")) {
        Lang::En
    } else {
        Lang::It
    };
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
    let by_address = if door == Door::Ticket { &limits.tickets_by_address } else { &limits.by_address };
    let client = limits.client(peer, request.headers().get("x-forwarded-for"));
    let mut request = request;
    request.extensions_mut().insert(ClientIp(Some(client)));
    if let Err(wait) = limits.check(by_address, &address_key(client)) {
        metrics::counter!("sportello_rate_limited_total", "scope" => "address").increment(1);
        return too_many(api, lang, wait);
    }
    // A login's per-person budget is spent by the login itself, which knows the device (`check_login`).
    if door != Door::Pin {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The body limit layer outside has already bounded the body.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if let Some(person) = person_in(&bytes, api)
        && let Err(wait) = limits.check(&limits.by_person, &(door, person))
    {
        metrics::counter!("sportello_rate_limited_total", "scope" => "person").increment(1);
        return too_many(api, lang, wait);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The codice fiscale a PIN request or login names, as the limiter counts it (canonical when it parses).
fn person_in(body: &Bytes, json: bool) -> Option<String> {
    let given = if json {
        serde_json::from_slice::<serde_json::Value>(body).ok()?.get("codice_fiscale")?.as_str()?.to_owned()
    } else {
        form_urlencoded::parse(body).find(|(name, _)| name == "codice_fiscale")?.1.into_owned()
    };
    Some(CodiceFiscale::parse(&given).map_or_else(|_| given.trim().to_uppercase(), |cf| cf.to_string()))
}

/// 429 with `Retry-After`: a problem page, or a plain status the API's outer layer turns into a problem.
pub fn too_many(api: bool, lang: Lang, wait: Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = if api {
        StatusCode::TOO_MANY_REQUESTS.into_response()
    } else {
        let minutes = seconds.div_ceil(60);
        crate::render::problem(
            StatusCode::TOO_MANY_REQUESTS,
            lang,
            lang.pick("Troppe richieste", "Too many requests"),
            &match lang {
                Lang::It => format!("Sono arrivate troppe richieste in poco tempo. Riprovi tra {minutes} minuti."),
                Lang::En => {
                    format!("Too many requests arrived in a short time. Please try again in {minutes} minutes.")
                }
            },
        )
    };
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_64_and_never_collide_with_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_ne!(address_key("0.0.0.1".parse().unwrap()), address_key("::1".parse().unwrap()));
    }

    #[test]
    fn the_forwarded_address_is_read_only_behind_the_configured_proxies() {
        let peer = Some(SocketAddr::from(([10, 0, 0, 1], 4000)));
        let header = HeaderValue::from_static("203.0.113.9, 198.51.100.7");
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let direct = RateLimits::new(&LimitsConfig::default()).unwrap();
        assert_eq!(direct.client(peer, Some(&header)), ip("10.0.0.1"), "a client's own header");
        let one_proxy = RateLimits::new(&LimitsConfig { forwarded_hops: 1, ..LimitsConfig::default() }).unwrap();
        assert_eq!(one_proxy.client(peer, Some(&header)), ip("198.51.100.7"));
        let two = RateLimits::new(&LimitsConfig { forwarded_hops: 2, ..LimitsConfig::default() }).unwrap();
        assert_eq!(two.client(peer, Some(&header)), ip("203.0.113.9"));
    }

    #[test]
    fn behind_proxies_a_request_they_do_not_attribute_counts_under_the_address_it_came_from() {
        let peer = Some(SocketAddr::from(([10, 0, 0, 1], 4000)));
        let two = RateLimits::new(&LimitsConfig { forwarded_hops: 2, ..LimitsConfig::default() }).unwrap();
        let cases = [
            ("no header", None),
            ("fewer entries than proxies", Some("198.51.100.7")),
            ("an entry that is no address", Some("unknown, 198.51.100.7")),
            ("an empty header", Some("")),
        ];
        for (what, header) in cases {
            let header = header.map(|h| HeaderValue::from_str(h).unwrap());
            assert_eq!(two.client(peer, header.as_ref()), "10.0.0.1".parse::<IpAddr>().unwrap(), "{what}");
        }
        let with_port = HeaderValue::from_static("[2001:db8::1]:4711, 203.0.113.9:80");
        assert_eq!(two.client(peer, Some(&with_port)), "2001:db8::1".parse::<IpAddr>().unwrap(), "a port is dropped");
        assert_eq!(two.client(None, None), IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), "no peer: one shared bucket");
    }

    #[test]
    fn a_codice_fiscale_counts_the_same_however_it_is_typed() {
        let form = Bytes::from_static(b"csrf=x&codice_fiscale=rssmra80a01h501u&pin=1");
        let json = Bytes::from_static(br#"{"codice_fiscale":" RSSMRA80A01H501U ","pin":"1"}"#);
        assert_eq!(person_in(&form, false).as_deref(), Some("RSSMRA80A01H501U"));
        assert_eq!(person_in(&json, true).as_deref(), Some("RSSMRA80A01H501U"));
        assert_eq!(person_in(&Bytes::from_static(b"pin=1"), false), None);
    }

    #[test]
    fn zero_quotas_are_refused_by_name() {
        let error = RateLimits::new(&LimitsConfig { per_person_burst: 0, ..LimitsConfig::default() }).unwrap_err();
        assert_eq!(error.to_string(), "[limits] per_person_burst must be at least 1");
    }
}
