//! One simulated citizen's click day, through the JSON API: waiting room, login, decision, application, receipt,
//! list, logout. Every answer's latency is recorded per step, and every body is scanned for other people's data.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rand::RngExt;
use reqwest::header::HeaderValue;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use sportello_domain::{CodiceFiscale, Iban};

use super::record::{Outcome, Record, STEPS};
use super::report::Shared;
use super::verify::{Receipt, Sighting, scan_body};

/// A citizen the drill plays: a codice fiscale and the full INPS PIN handed over by the operator.
#[derive(Debug, Clone)]
pub struct Citizen {
    /// Who.
    pub codice_fiscale: CodiceFiscale,
    /// Their PIN.
    pub pin: String,
    /// A session opened beforehand (`sportello bench sessions`): the journey is then the submission alone.
    pub session: Option<GivenSession>,
}

/// A session a citizen already holds, and the indemnity they are entitled to.
#[derive(Debug, Clone)]
pub struct GivenSession {
    /// The bearer token.
    pub token: String,
    /// The scheme to apply for.
    pub scheme: String,
}

/// An HTTP client whose connections come from `local` (when given); redirects are not followed, as a JSON client
/// of the portal never needs them.
pub fn client(local: Option<IpAddr>, timeout: Duration) -> anyhow::Result<Client> {
    Ok(Client::builder()
        .local_address(local)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Whether the portal has a waiting room: it answers `/attesa` only then.
pub async fn has_waiting_room(client: &Client, base: &str) -> anyhow::Result<bool> {
    let response = client
        .get(format!("{base}/attesa"))
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("the portal at {base} does not answer: {e}"))?;
    Ok(response.status() != StatusCode::NOT_FOUND)
}

/// An Italian IBAN that passes every check (mod-97 and the CIN), different for each call.
pub fn italian_iban() -> Iban {
    let mut rng = rand::rng();
    loop {
        let abi: u32 = rng.random_range(1_000..99_999);
        let cab: u32 = rng.random_range(1_000..99_999);
        let account: u64 = rng.random_range(0..1_000_000_000_000);
        for cin in b'A'..=b'Z' {
            let bban = format!("{}{abi:05}{cab:05}{account:012}", char::from(cin));
            let check = 98 - mod97(&format!("{bban}IT00"));
            if let Ok(iban) = Iban::parse(&format!("IT{check:02}{bban}")) {
                return iban;
            }
        }
    }
}

/// ISO 7064 mod 97-10 of an IBAN rearranged (letters as two digits).
fn mod97(text: &str) -> u32 {
    text.chars().fold(0u32, |rem, c| match c.to_digit(36) {
        Some(v) if v >= 10 => (rem * 100 + v) % 97,
        Some(v) => (rem * 10 + v) % 97,
        None => rem,
    })
}

/// Why a step failed.
struct Failure(String);

fn failure(step: &str, error: &reqwest::Error) -> Failure {
    let what = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection error"
    } else if error.is_body() || error.is_decode() {
        "broken body"
    } else {
        "request error"
    };
    Failure(format!("{step}: {what}"))
}

/// One citizen's journey in progress.
struct Journey<'a> {
    shared: &'a Shared,
    client: &'a Client,
    citizen: Citizen,
    pass: Option<String>,
    token: Option<String>,
    requests: Vec<(usize, Duration, f64)>,
    soft_errors: Vec<String>,
    sighting: Sighting,
}

impl Journey<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.shared.base)
    }

    /// Sends a request with the citizen's pass and session, times it under `step`, scans the body and keeps a
    /// renewed pass.
    async fn send(&mut self, step: usize, request: RequestBuilder) -> Result<(StatusCode, Value), Failure> {
        let mut request = request.header("accept", "application/json");
        if let Some(pass) = &self.pass {
            request = request.header("sportello-pass", pass);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let sent = Instant::now();
        let result = async {
            let response = request.send().await?;
            let status = response.status();
            let renewed = response.headers().get("sportello-pass").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let retry_after = response.headers().get("retry-after").cloned();
            let text = response.text().await?;
            Ok::<_, reqwest::Error>((status, renewed, retry_after, text))
        }
        .await;
        let took = sent.elapsed();
        let (status, renewed, retry_after, text) = result.map_err(|e| failure(STEPS[step], &e))?;
        self.requests.push((step, took, self.shared.started.elapsed().as_secs_f64()));
        if let Some(pass) = renewed {
            self.pass = Some(pass);
        }
        scan_body(&mut self.sighting, &text);
        let mut body: Value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
        if let Some(seconds) = retry_after {
            // Kept with the answer even when its body is not a JSON object (an HTML error page, say).
            if !body.is_object() {
                body = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(map) = &mut body {
                map.insert("retry_after".to_owned(), Value::String(header_text(&seconds)));
            }
        }
        Ok((status, body))
    }

    /// Takes a place in the waiting room and waits until admitted; returns the time it took.
    async fn wait_in_room(&mut self) -> Result<Duration, Failure> {
        let entered = Instant::now();
        self.shared.waiting.fetch_add(1, Ordering::Relaxed);
        let result = self.queue().await;
        self.shared.waiting.fetch_sub(1, Ordering::Relaxed);
        result.map(|()| entered.elapsed())
    }

    async fn queue(&mut self) -> Result<(), Failure> {
        let room = 0;
        let mut view;
        let mut refusals = 0;
        loop {
            let (status, offer) = self.send(room, self.client.get(self.url("/attesa"))).await?;
            // A room not open yet (or closed for maintenance) is waited for, as people wait for the click day's
            // hour; the time counts as queue wait.
            let closed = matches!(offer["state"].as_str(), Some("closed" | "maintenance"));
            if status == StatusCode::TOO_MANY_REQUESTS || (status == StatusCode::SERVICE_UNAVAILABLE && !closed) {
                refusals += 1;
                if refusals > 20 {
                    return Err(Failure(format!("room: HTTP {} twenty times", status.as_u16())));
                }
                pause(&offer).await;
                continue;
            }
            if closed {
                pause(&offer).await;
                continue;
            }
            if offer["state"] == "admitted" {
                return Ok(());
            }
            let (Some(token), Some(difficulty)) =
                (offer["challenge"]["token"].as_str(), offer["challenge"]["difficulty"].as_u64())
            else {
                return Err(Failure(format!("room: no challenge offered ({status}, state {})", offer["state"])));
            };
            let token = token.to_owned();
            let difficulty = u8::try_from(difficulty).unwrap_or(u8::MAX);
            let solving = token.clone();
            let nonce = tokio::task::spawn_blocking(move || sportello_gate::pow::solve(&solving, difficulty))
                .await
                .map_err(|_| Failure("room: proof of work failed".to_owned()))?;
            let entry = self.client.post(self.url("/attesa/biglietto")).json(&json!({"token": token, "nonce": nonce}));
            let (status, answer) = self.send(room, entry).await?;
            if status == StatusCode::OK {
                view = answer;
                break;
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
                refusals += 1;
                if refusals > 20 {
                    return Err(Failure(format!("room: HTTP {} twenty times", status.as_u16())));
                }
                pause(&answer).await;
                continue;
            }
            return Err(Failure(format!("room: HTTP {}", status.as_u16())));
        }
        loop {
            match view["state"].as_str() {
                Some("admitted") => {
                    let pass = view["pass"].as_str().ok_or(Failure("room: admitted without a pass".to_owned()))?;
                    self.pass = Some(pass.to_owned());
                    return Ok(());
                }
                Some("waiting" | "pre_queue") => {}
                Some(other) => return Err(Failure(format!("room: {other}"))),
                None => return Err(Failure("room: no place taken".to_owned())),
            }
            let ticket = view["ticket"].as_str().ok_or(Failure("room: waiting without a ticket".to_owned()))?;
            let wait = view["refresh_seconds"].as_f64().unwrap_or(1.0).clamp(0.2, 5.0);
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            let poll = self.client.get(self.url("/attesa/stato")).header("sportello-ticket", ticket);
            let (status, answer) = self.send(room, poll).await?;
            if status == StatusCode::OK {
                view = answer;
            } else if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
                pause(&answer).await;
            } else {
                return Err(Failure(format!("room: HTTP {}", status.as_u16())));
            }
        }
    }

    /// Logs in, decides, applies and reads back; returns the receipt when there is one.
    async fn apply(&mut self, key: &str) -> Result<Option<Receipt>, Failure> {
        let cf = self.citizen.codice_fiscale.to_string();
        let login = json!({"codice_fiscale": cf, "pin": self.citizen.pin});
        let (status, session) = self.send(1, self.client.post(self.url("/api/v1/sessions")).json(&login)).await?;
        expect(1, status, StatusCode::CREATED, &session)?;
        let token = session["token"].as_str().ok_or(Failure("login: no token in the answer".to_owned()))?;
        self.token = Some(token.to_owned());

        let (status, situation) = self.send(2, self.client.get(self.url("/api/v1/situation"))).await?;
        expect(2, status, StatusCode::OK, &situation)?;
        if situation["codice_fiscale"] != cf.as_str() {
            return Err(Failure("situation: names another person".to_owned()));
        }
        let eligible = situation["schemes"]
            .as_array()
            .and_then(|schemes| schemes.iter().find(|s| s["may_apply"] == true))
            .and_then(|s| s["scheme"].as_str())
            .map(str::to_owned);
        let Some(scheme) = eligible else {
            return Ok(None);
        };

        let protocol = self.submit(&scheme, key).await?;

        let (status, read) =
            self.send(4, self.client.get(self.url(&format!("/api/v1/applications/{protocol}")))).await?;
        expect(4, status, StatusCode::OK, &read)?;
        if read["protocol"] != protocol.as_str() {
            return Err(Failure("receipt: another protocol number".to_owned()));
        }
        let (status, list) = self.send(5, self.client.get(self.url("/api/v1/applications"))).await?;
        expect(5, status, StatusCode::OK, &list)?;
        let listed = list["applications"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|x| x["protocol"] == protocol.as_str()).count());
        if listed != 1 {
            return Err(Failure(format!("list: the receipt is listed {listed} times")));
        }
        Ok(Some(Receipt { codice_fiscale: self.citizen.codice_fiscale, protocol, idempotency_key: key.to_owned() }))
    }

    /// Applies for `scheme` with the session held; returns the protocol number of the receipt.
    async fn submit(&mut self, scheme: &str, key: &str) -> Result<String, Failure> {
        let cf = self.citizen.codice_fiscale.to_string();
        let application = json!({
            "scheme": scheme,
            "payment": {"method": "iban", "iban": italian_iban().electronic()},
            "contact": {"email": format!("{}@drill.invalid", cf.to_ascii_lowercase())},
            "declarations": {
                "not_pension_holder": true,
                "not_reddito_di_cittadinanza": true,
                "no_other_compulsory_scheme": true,
                "not_employed": true
            },
            // May 2020's indemnity (art. 84 c. 2 DL 34/2020) asks for the income of March–April 2019 and 2020; the
            // others ignore them.
            "figures": {"income_2019_bimester_2": "4000.00", "income_2020_bimester_2": "1000.00"}
        });
        // A submission lost to a timeout or a dropped connection is sent again with the same key, as the API asks:
        // the answer must be the same receipt, never a second application.
        let mut attempt = 0;
        let (status, receipt) = loop {
            let submit = self.client.post(self.url("/api/v1/applications")).header("idempotency-key", key);
            match self.send(3, submit.json(&application)).await {
                Ok(answer) => break answer,
                Err(Failure(kind)) if attempt < 2 => {
                    self.soft_errors.push(format!("{kind} (sent again)"));
                    attempt += 1;
                }
                Err(failure) => return Err(failure),
            }
        };
        if status != StatusCode::CREATED && status != StatusCode::OK {
            return Err(refusal(3, status, &receipt));
        }
        let protocol = receipt["protocol"].as_str().ok_or(Failure("submit: no protocol".to_owned()))?.to_owned();
        self.sighting.own_protocols.insert(protocol.clone());
        Ok(protocol)
    }

    /// Logs out, giving the waiting room's slot back.
    async fn logout(&mut self) -> Result<(), Failure> {
        if self.token.is_none() {
            return Ok(());
        }
        let (status, answer) = self.send(6, self.client.delete(self.url("/api/v1/sessions/current"))).await?;
        expect(6, status, StatusCode::NO_CONTENT, &answer)
    }
}

fn header_text(value: &HeaderValue) -> String {
    value.to_str().unwrap_or_default().to_owned()
}

/// Waits as long as a `Retry-After` asked (a second if it did not say), at most ten.
async fn pause(answer: &Value) {
    let seconds = answer["retry_after"].as_str().and_then(|s| s.parse::<f64>().ok()).unwrap_or(1.0);
    tokio::time::sleep(Duration::from_secs_f64(seconds.clamp(0.1, 10.0))).await;
}

fn expect(step: usize, status: StatusCode, wanted: StatusCode, body: &Value) -> Result<(), Failure> {
    if status == wanted { Ok(()) } else { Err(refusal(step, status, body)) }
}

/// A step answered with an unexpected status; a 503 that says when to come back (the portal shedding load promptly)
/// is told apart from one that does not.
fn refusal(step: usize, status: StatusCode, body: &Value) -> Failure {
    let retry = if status == StatusCode::SERVICE_UNAVAILABLE && body.get("retry_after").is_some() {
        " with Retry-After"
    } else {
        ""
    };
    Failure(format!("{}: HTTP {}{retry}", STEPS[step], status.as_u16()))
}

/// Plays one citizen's journey to its end.
pub async fn run(shared: &Shared, client: &Client, citizen: Citizen, key: String) -> Record {
    shared.in_flight.fetch_add(1, Ordering::Relaxed);
    let began = Instant::now();
    let sighting = Sighting::new(citizen.codice_fiscale);
    let mut journey = Journey {
        shared,
        client,
        citizen,
        pass: None,
        token: None,
        requests: Vec::new(),
        soft_errors: Vec::new(),
        sighting,
    };
    let mut queue_wait = None;
    let result = async {
        if let Some(given) = journey.citizen.session.clone() {
            // Already logged in: the submission alone, to measure it without the login's hash.
            journey.token = Some(given.token);
            let protocol = journey.submit(&given.scheme, &key).await?;
            let codice_fiscale = journey.citizen.codice_fiscale;
            return Ok(Some(Receipt { codice_fiscale, protocol, idempotency_key: key.clone() }));
        }
        if shared.gated {
            queue_wait = Some(journey.wait_in_room().await?);
        }
        let receipt = journey.apply(&key).await?;
        journey.logout().await?;
        Ok::<_, Failure>(receipt)
    }
    .await;
    let (outcome, receipt) = match result {
        Ok(Some(receipt)) => (Outcome::Submitted, Some(receipt)),
        Ok(None) => (Outcome::NotEligible, None),
        Err(Failure(kind)) => {
            // Give the waiting room's slot back for the next in line, unless logging out is what failed.
            if !kind.starts_with("logout") {
                let _ = journey.logout().await;
            }
            (Outcome::Failed(kind), None)
        }
    };
    shared.in_flight.fetch_sub(1, Ordering::Relaxed);
    Record {
        outcome,
        ended_at: shared.started.elapsed().as_secs_f64(),
        took: began.elapsed(),
        queue_wait,
        requests: journey.requests,
        soft_errors: journey.soft_errors,
        receipt,
        sighting: journey.sighting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ibans_are_italian_and_valid() {
        for _ in 0..50 {
            let iban = italian_iban();
            assert_eq!(iban.country_code(), "IT");
            assert!(Iban::parse(iban.electronic()).is_ok());
        }
    }
}
