//! `sportello serve` as separate processes behind the gate: two nodes sharing one Redis keep one queue and one
//! admission order, honour each other's passes and hand slots on when visitors log out; one node's memory does not
//! grow with the number of people waiting.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sportello_gate::pow;
use sportello_gate::testing::TestRedis;

use crate::support::{Sandbox, Server, read_pins, stderr};

const KEY: &str = "0707070707070707070707070707070707070707070707070707070707070707";

/// A configuration with one citizens' room open since the first of April, and client limits out of the way (every
/// visitor here comes from 127.0.0.1).
fn gated_config(redis: Option<&TestRedis>, capacity: &str, pow: &str) -> String {
    let shared =
        redis.map_or_else(String::new, |r| format!("redis_url = \"{}\"\nredis_prefix = \"{}\"\n", r.url, r.prefix));
    format!(
        "[limits]\nper_address_per_minute = 1000000\nper_address_burst = 1000000\n\
         tickets_per_address_per_minute = 1000000\ntickets_per_address_burst = 1000000\n\n\
         [gate]\nsigning_key = \"{KEY}\"\ncontrol_cache_ms = 0\n{shared}\n\
         [gate.pow]\n{pow}\n\n\
         [[gate.rooms]]\nkey = \"cittadini\"\npath = \"/\"\nwindows = [{{ from = \"2020-04-01T16:00\" }}]\n\
         capacity = {capacity}\n"
    )
}

/// One JSON client of the waiting room.
struct Client {
    http: reqwest::Client,
}

impl Client {
    fn new() -> Self {
        Client { http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap() }
    }

    /// Takes a place on `base` as a JSON client does: the challenge, the proof of work, the entry.
    async fn enter(&self, base: &str) -> serde_json::Value {
        let offer: serde_json::Value = self
            .http
            .get(format!("{base}/attesa"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(offer["state"], "challenge", "{offer}");
        let token = offer["challenge"]["token"].as_str().unwrap().to_owned();
        let difficulty = u8::try_from(offer["challenge"]["difficulty"].as_u64().unwrap()).unwrap();
        let nonce = pow::solve(&token, difficulty);
        let response = self
            .http
            .post(format!("{base}/attesa/biglietto"))
            .json(&serde_json::json!({ "token": token, "nonce": nonce }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Asks `base` where the ticket stands; every answer is the queue's JSON or a quick 503 with `Retry-After`.
    async fn poll(&self, base: &str, ticket: &str) -> serde_json::Value {
        let response = self
            .http
            .get(format!("{base}/attesa/stato"))
            .header("accept", "application/json")
            .header("sportello-ticket", ticket)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry_after = response.headers().contains_key("retry-after");
        assert!(status == 200 || (status == 503 && retry_after), "polling answered {status}");
        response.json().await.unwrap()
    }
}

#[tokio::test]
async fn two_server_processes_sharing_redis_keep_one_queue_and_one_admission_order() {
    let Some(redis) = TestRedis::create().await else { return };
    let sandbox = Sandbox::new();
    let extract = sandbox.path("extract.csv");
    let out =
        sandbox.run(&["registry", "generate", "--persons", "60", "--seed", "11", "--out", extract.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sandbox.run(&["registry", "import", extract.to_str().unwrap()]).status.success());
    let pins = sandbox.path("pins.csv");
    let out = sandbox.run(&["pin", "issue", "--first", "8", "--out", pins.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let people = read_pins(&pins);
    assert_eq!(people.len(), 8);

    // Two admissions a second, two people inside at once: most of the eight wait.
    let capacity = "{ admit_per_sec = 2, burst = 1, max_active = 2, pass_ttl_secs = 60, claim_grace_secs = 5, \
                    refresh_interval_secs = 1, ticket_ttl_secs = 10 }";
    let config = sandbox.file("sportello.toml", &gated_config(Some(&redis), capacity, "min_bits = 4\nmax_bits = 6"));
    let node =
        || Server::start(sandbox.dir.path(), &sandbox.database_url, &["--config", config.to_str().unwrap()], &[]);
    let nodes = [node(), node()];
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();

    // Places taken one after another, alternately on each node: the positions count on across both.
    let mut entered = Vec::new();
    let mut previous = 0;
    for i in 0..people.len() {
        let view = Client::new().enter(&bases[i % 2]).await;
        if i == 0 {
            assert_eq!(view["admitted"], true, "the first walks in: {view}");
        } else if view["admitted"] == true {
            // Walking straight in is fair only while nobody waits: on a slow machine a second visitor may arrive
            // after the admission budget has refilled and a place inside is free.
            assert_eq!(previous, 0, "visitor {i} walked in past people waiting: {view}");
        } else {
            let position = view["position"].as_u64().expect("a position");
            assert!(position >= previous.max(1), "one queue: position {previous} then {position}");
            previous = position;
        }
        entered.push(view);
    }

    // Everyone polls both nodes in turn; once admitted, logs in on one node, reads the situation on the other, and
    // logs out, which hands the slot to the next.
    let admitted_order = Arc::new(Mutex::new(Vec::new()));
    let journeys = entered.into_iter().enumerate().map(|(i, view)| {
        let bases = bases.clone();
        let (codice_fiscale, pin) = people[i].clone();
        let order = Arc::clone(&admitted_order);
        tokio::spawn(async move {
            let client = Client::new();
            let mut view = view;
            let mut polls = 0;
            let mut last_waiting_sent = None;
            while view["admitted"] != true {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let ticket = view["ticket"].as_str().expect("a ticket while waiting").to_owned();
                let sent = Instant::now();
                view = client.poll(&bases[polls % 2], &ticket).await;
                assert_ne!(view["state"], "place_lost", "visitor {i} lost the place: {view}");
                if view["admitted"] != true {
                    last_waiting_sent = Some(sent);
                }
                polls += 1;
                assert!(polls < 600, "visitor {i} not admitted within a minute");
            }
            order.lock().unwrap().push((i, last_waiting_sent, Instant::now()));
            let pass = view["pass"].as_str().expect("the pass").to_owned();
            let opened = client
                .http
                .post(format!("{}/api/v1/sessions", bases[i % 2]))
                .header("sportello-pass", &pass)
                .json(&serde_json::json!({ "codice_fiscale": codice_fiscale, "pin": pin }))
                .send()
                .await
                .unwrap();
            assert_eq!(opened.status(), 201, "login of visitor {i} on node {}", i % 2);
            let token = opened.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
            let situation = client
                .http
                .get(format!("{}/api/v1/situation", bases[(i + 1) % 2]))
                .header("sportello-pass", &pass)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(situation.status(), 200, "the other node honours the pass and the session");
            let body = situation.text().await.unwrap();
            assert!(body.contains(&codice_fiscale), "visitor {i} sees their own situation");
            let out = client
                .http
                .delete(format!("{}/api/v1/sessions/current", bases[(i + 1) % 2]))
                .header("sportello-pass", &pass)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(out.status(), 204);
        })
    });
    for journey in journeys.collect::<Vec<_>>() {
        tokio::time::timeout(Duration::from_secs(90), journey).await.expect("everyone got through").unwrap();
    }
    // Admitted in the order the places were taken, whichever node was asked: nobody was still found waiting by a
    // poll sent after someone behind them was seen admitted.
    let seen = admitted_order.lock().unwrap().clone();
    assert_eq!(seen.len(), people.len());
    for &(behind, _, admitted_seen) in &seen {
        for &(ahead, last_waiting_sent, _) in &seen {
            if ahead < behind
                && let Some(waiting) = last_waiting_sent
            {
                assert!(waiting < admitted_seen, "visitor {ahead} still waited after visitor {behind} was admitted");
            }
        }
    }
    assert!(seen.iter().filter(|(_, waiting, _)| waiting.is_some()).count() >= 6, "most of them waited");
}

#[tokio::test]
async fn a_node_s_memory_does_not_grow_with_the_number_of_people_waiting() {
    let sandbox = Sandbox::new();
    // Nobody is admitted after the first: everyone else waits. The proof of work stays easy however long the queue.
    let capacity = "{ admit_per_sec = 1, burst = 1, max_active = 1, pass_ttl_secs = 600, claim_grace_secs = 60, \
                    refresh_interval_secs = 15, ticket_ttl_secs = 600 }";
    let pow = "min_bits = 2\nmax_bits = 2";
    let config = sandbox.file("sportello.toml", &gated_config(None, capacity, pow));
    let node = Server::start(sandbox.dir.path(), &sandbox.database_url, &["--config", config.to_str().unwrap()], &[]);
    let base = node.base.clone();

    let crowd = |count: usize| {
        let base = base.clone();
        async move {
            let clients: Vec<Client> = (0..16).map(|_| Client::new()).collect();
            let per = count / clients.len();
            let tasks = clients.into_iter().map(|client| {
                let base = base.clone();
                tokio::spawn(async move {
                    let mut last = 0;
                    for _ in 0..per {
                        let view = client.enter(&base).await;
                        last = last.max(view["position"].as_u64().unwrap_or(0));
                    }
                    last
                })
            });
            let mut furthest = 0;
            for task in tasks.collect::<Vec<_>>() {
                furthest = furthest.max(task.await.unwrap());
            }
            furthest
        }
    };
    crowd(2_000).await;
    let with_few = node.rss_kib();
    let furthest = crowd(20_000).await;
    let with_many = node.rss_kib();
    assert!(furthest > 20_000, "the queue holds everyone: {furthest}");
    let grown = with_many.saturating_sub(with_few);
    eprintln!("RSS with 2,000 waiting: {with_few} KiB; with 22,000: {with_many} KiB (+{grown} KiB)");
    // A ticket is a signed token the visitor holds; the node keeps only the proofs of work redeemed within their
    // lifetime (tens of bytes each). Twenty thousand more people waiting must not cost even 200 bytes each.
    assert!(grown < 4_000, "memory grew by {grown} KiB for 20,000 more people waiting");
}
