//! `sportello gate …` against a real Redis (skipped when none answers, outside CI): the operator's changes reach
//! the shared state every node reads.

use sportello_gate::testing::TestRedis;

use crate::support::Sandbox;

fn config(redis: Option<&TestRedis>) -> String {
    let redis =
        redis.map(|r| format!("redis_url = \"{}\"\nredis_prefix = \"{}\"\n", r.url, r.prefix)).unwrap_or_default();
    format!(
        r#"
[gate]
signing_key = "0707070707070707070707070707070707070707070707070707070707070707"
control_cache_ms = 0
{redis}
[[gate.rooms]]
key = "cittadini"
path = "/"
windows = [{{ from = "2020-04-01T16:00" }}]
"#
    )
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn without_redis_the_gate_cannot_be_operated_from_the_command_line() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("sportello.toml", &config(None));
    let output =
        sandbox.run(&["gate", "set", "--config", file.to_str().unwrap(), "--room", "cittadini", "--max-active", "5"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("gate.redis_url"), "{}", stderr(&output));
}

#[tokio::test]
async fn capacity_and_maintenance_set_by_the_operator_reach_the_shared_state() {
    let Some(redis) = TestRedis::create().await else { return };
    let sandbox = Sandbox::new();
    let file = sandbox.file("sportello.toml", &config(Some(&redis)));
    let file = file.to_str().unwrap();

    let set = sandbox.run(&[
        "gate",
        "set",
        "--config",
        file,
        "--room",
        "cittadini",
        "--admit-per-sec",
        "7",
        "--max-active",
        "90",
    ]);
    assert!(set.status.success(), "{}", stderr(&set));
    let status = sandbox.run(&["gate", "status", "--config", file]);
    let rooms: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(rooms[0]["capacity"]["admit_per_sec"], 7);
    assert_eq!(rooms[0]["capacity"]["max_active"], 90);
    assert_eq!(rooms[0]["capacity"]["burst"], 200, "unset values keep the capacity in force");

    let impossible = sandbox.run(&["gate", "set", "--config", file, "--room", "cittadini", "--admit-per-sec", "0"]);
    assert_eq!(impossible.status.code(), Some(2), "{}", stderr(&impossible));
    assert!(stderr(&impossible).contains("admit_per_sec"), "{}", stderr(&impossible));

    let on = sandbox.run(&[
        "gate",
        "maintenance",
        "--config",
        file,
        "--room",
        "cittadini",
        "--it",
        "Manutenzione",
        "--en",
        "Maintenance",
    ]);
    assert!(on.status.success(), "{}", stderr(&on));
    let status = sandbox.run(&["gate", "status", "--config", file]);
    let rooms: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(rooms[0]["status"]["state"], "maintenance");
    assert_eq!(rooms[0]["status"]["message"]["it"], "Manutenzione");
    let off = sandbox.run(&["gate", "maintenance", "--config", file, "--room", "cittadini", "--off"]);
    assert!(off.status.success(), "{}", stderr(&off));

    let reset = sandbox.run(&["gate", "set", "--config", file, "--room", "cittadini", "--reset"]);
    assert!(reset.status.success(), "{}", stderr(&reset));
    assert!(stdout(&reset).contains("\"admit_per_sec\": 100"), "{}", stdout(&reset));

    let revoked =
        sandbox.run(&["gate", "revoke", "--config", file, "--room", "cittadini", "00112233445566778899aabbccddeeff"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let bad = sandbox.run(&["gate", "revoke", "--config", file, "--room", "cittadini", "nope"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let unknown = sandbox.run(&["gate", "status", "--config", file]);
    assert!(unknown.status.success());
    let elsewhere = sandbox.run(&["gate", "maintenance", "--config", file, "--room", "altrove", "--off"]);
    assert_eq!(elsewhere.status.code(), Some(2), "{}", stderr(&elsewhere));
}

/// `gate status` writes its instants in the room's time zone for people, beside the epoch and UTC values programs
/// already read (which stay).
#[tokio::test]
async fn status_shows_local_times_beside_the_values_programs_read() {
    let Some(redis) = TestRedis::create().await else { return };
    let sandbox = Sandbox::new();
    let file = sandbox.file("sportello.toml", &config(Some(&redis)));
    let status = sandbox.run(&["gate", "status", "--config", file.to_str().unwrap()]);
    assert!(status.status.success(), "{}", stderr(&status));
    let rooms: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    let room = &rooms[0];
    // The window opened at 16:00 in Rome on 1 April 2020 (summer time): 14:00 UTC.
    assert_eq!(room["window"], 1_585_749_600, "the epoch second stays for programs");
    assert_eq!(room["timezone"], "Europe/Rome");
    assert_eq!(room["window_opens_at_local"], "01/04/2020 16:00:00 CEST");
    assert_eq!(room["status"]["state"], "open");
    assert!(room["capacity"]["admit_per_sec"].is_number(), "the rest is unchanged");
}
