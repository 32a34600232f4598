//! The failover drills' citizens: each goes through the waiting room, logs in, reads the decision and applies
//! through the balancer, sending the application again with the same `Idempotency-Key` until it is acknowledged, as
//! a real client does. Every answer is tallied by kind, with the slowest.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// A valid Italian IBAN (the check digits and the CIN agree).
const IBAN: &str = "IT60X0542811101000000123456";

/// What the citizens met, answer by answer.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Answers 2xx–4xx.
    pub answered: u64,
    /// 503 with `Retry-After`: the portal saying "not now, come back", as it should while there is no primary.
    pub unavailable: u64,
    /// 503 without `Retry-After`.
    pub unavailable_bare: u64,
    /// Any other 5xx (500, 502, 504…), by status: each is a failure of the drill.
    pub other_5xx: BTreeMap<u16, u64>,
    /// Requests that got no HTTP answer at all (connection refused or reset, or the client's own timeout).
    pub no_answer: u64,
    /// The slowest answer, of any kind.
    pub slowest: Duration,
    /// The slowest answer to a request sent while the database was frozen.
    pub slowest_frozen: Duration,
}

/// The tally, shared by every citizen, and whether the database is frozen now.
#[derive(Default)]
pub struct Shared {
    pub tally: Mutex<Tally>,
    pub frozen: AtomicBool,
}

/// One citizen, with the pass and session it holds.
pub struct Citizen<'a> {
    pub http: &'a Client,
    pub base: &'a str,
    pub shared: &'a Shared,
    pub pass: Option<String>,
    pub token: Option<String>,
}

impl Citizen<'_> {
    /// Sends `request` with the pass and session held and tallies the answer: `None` when there was none.
    async fn send(&mut self, request: RequestBuilder) -> Option<(StatusCode, bool, Value)> {
        let mut request = request.header("accept", "application/json");
        if let Some(pass) = &self.pass {
            request = request.header("sportello-pass", pass);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let frozen = self.shared.frozen.load(Ordering::Relaxed);
        let sent = Instant::now();
        let answer = async {
            let response = request.send().await?;
            let status = response.status();
            let retry_after = response.headers().contains_key("retry-after");
            let renewed = response.headers().get("sportello-pass").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body: Value = response.json().await.unwrap_or(Value::Null);
            Ok::<_, reqwest::Error>((status, retry_after, renewed, body))
        }
        .await;
        let took = sent.elapsed();
        let mut tally = self.shared.tally.lock().unwrap();
        tally.slowest = tally.slowest.max(took);
        if frozen || self.shared.frozen.load(Ordering::Relaxed) {
            tally.slowest_frozen = tally.slowest_frozen.max(took);
        }
        match answer {
            Err(_) => {
                tally.no_answer += 1;
                None
            }
            Ok((status, retry_after, renewed, body)) => {
                match status.as_u16() {
                    503 if retry_after => tally.unavailable += 1,
                    503 => tally.unavailable_bare += 1,
                    s @ 500..=599 => *tally.other_5xx.entry(s).or_default() += 1,
                    _ => tally.answered += 1,
                }
                if let Some(pass) = renewed {
                    self.pass = Some(pass);
                }
                Some((status, retry_after, body))
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Takes a place in the waiting room and waits for the pass.
    async fn admitted(&mut self) -> bool {
        let Some((StatusCode::OK, _, offer)) = self.send(self.http.get(self.url("/attesa"))).await else {
            return false;
        };
        if offer["state"] == "admitted" {
            return true;
        }
        let (Some(token), Some(difficulty)) =
            (offer["challenge"]["token"].as_str(), offer["challenge"]["difficulty"].as_u64())
        else {
            return false;
        };
        let token = token.to_owned();
        let difficulty = u8::try_from(difficulty).unwrap_or(u8::MAX);
        let solving = token.clone();
        let Ok(nonce) = tokio::task::spawn_blocking(move || sportello_gate::pow::solve(&solving, difficulty)).await
        else {
            return false;
        };
        let entry = self.http.post(self.url("/attesa/biglietto")).json(&json!({"token": token, "nonce": nonce}));
        let Some((StatusCode::OK, _, mut view)) = self.send(entry).await else { return false };
        for _ in 0..120 {
            if view["state"] == "admitted" {
                self.pass = view["pass"].as_str().map(str::to_owned);
                return self.pass.is_some();
            }
            let Some(ticket) = view["ticket"].as_str().map(str::to_owned) else { return false };
            tokio::time::sleep(Duration::from_millis(250)).await;
            match self.send(self.http.get(self.url("/attesa/stato")).header("sportello-ticket", ticket)).await {
                Some((StatusCode::OK, _, next)) => view = next,
                _ => return false,
            }
        }
        false
    }

    /// One attempt at the journey: `Some(Some(protocol))` acknowledged, `Some(None)` entitled to nothing, `None`
    /// not finished (an answer that says try again, or none).
    async fn attempt(&mut self, codice_fiscale: &str, pin: &str, key: &str) -> Option<Option<String>> {
        if self.pass.is_none() && !self.admitted().await {
            return None;
        }
        if self.token.is_none() {
            let login = json!({ "codice_fiscale": codice_fiscale, "pin": pin });
            let (status, _, session) = self.send(self.http.post(self.url("/api/v1/sessions")).json(&login)).await?;
            if status != StatusCode::CREATED {
                return None;
            }
            self.token = session["token"].as_str().map(str::to_owned);
        }
        let (status, _, situation) = self.send(self.http.get(self.url("/api/v1/situation"))).await?;
        if status != StatusCode::OK {
            return None;
        }
        let Some(scheme) = situation["schemes"]
            .as_array()
            .and_then(|schemes| schemes.iter().find(|s| s["may_apply"] == true || s["eligible"] == true))
            .and_then(|s| s["scheme"].as_str())
            .map(str::to_owned)
        else {
            return Some(None);
        };
        let body = json!({
            "scheme": scheme,
            "payment": { "method": "iban", "iban": IBAN },
            "contact": { "email": "drill@example.it" },
            "declarations": {
                "not_pension_holder": true,
                "not_reddito_di_cittadinanza": true,
                "no_other_compulsory_scheme": true,
                "not_employed": true
            },
            "figures": {"income_2019_bimester_2": "4000.00", "income_2020_bimester_2": "1000.00"}
        });
        let submit = self.http.post(self.url("/api/v1/applications")).header("idempotency-key", key).json(&body);
        let (status, _, receipt) = self.send(submit).await?;
        match (status.as_u16(), receipt["protocol"].as_str()) {
            (200 | 201, Some(protocol)) => Some(Some(protocol.to_owned())),
            (401, _) => {
                self.token = None;
                None
            }
            (400..=499, _) if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::REQUEST_TIMEOUT => {
                panic!("{codice_fiscale}: the application was refused with {status}: {receipt}")
            }
            _ => None,
        }
    }

    /// The whole journey, tried again (same key) until it comes to an end; `Err` after `give_up`.
    pub async fn apply(&mut self, codice_fiscale: &str, pin: &str, give_up: Duration) -> Result<Option<String>, ()> {
        let key = format!("cluster-drill-{codice_fiscale}");
        let started = Instant::now();
        let mut tries = 0;
        while started.elapsed() < give_up {
            if let Some(outcome) = self.attempt(codice_fiscale, pin, &key).await {
                return Ok(outcome);
            }
            tries += 1;
            // After many refusals in a row, start again from the waiting room, as a person reloading would.
            if tries % 10 == 0 {
                (self.pass, self.token) = (None, None);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(())
    }
}
