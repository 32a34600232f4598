//! Running the binary against a fresh database.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A scratch folder with its own SQLite database, removed at the end of the test.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub database_url: String,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = format!("sqlite://{}", dir.path().join("sportello.db").display());
        Self { dir, database_url }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file into the sandbox and returns its path.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Runs `sportello ARGS` with this sandbox's database, in the sandbox folder.
    pub fn run(&self, args: &[&str]) -> Output {
        run_in(self.dir.path(), &self.database_url, args)
    }

    /// Makes an officer's account with `sportello officers add`, the password on standard input as an operator
    /// types it.
    pub fn officer(&self, username: &str, role: &str, password: &str) {
        let out =
            self.add_officer(&["--username", username, "--name", "Dott.ssa Anna Verdi", "--role", role], password);
        assert!(out.status.success(), "{}", stderr(&out));
    }

    /// Runs `sportello officers add ARGS` with `password` on standard input.
    pub fn add_officer(&self, args: &[&str], password: &str) -> Output {
        let mut add = Command::new(env!("CARGO_BIN_EXE_sportello"))
            .args(["officers", "add"])
            .args(args)
            .current_dir(self.dir.path())
            .env("SPORTELLO_DATABASE_URL", &self.database_url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut add.stdin.take().unwrap(), format!("{password}\n").as_bytes()).unwrap();
        add.wait_with_output().unwrap()
    }
}

pub fn run_in(cwd: &Path, database_url: &str, args: &[&str]) -> Output {
    run_in_env(cwd, database_url, args, &[])
}

/// Like [`run_in`], with extra environment variables.
pub fn run_in_env(cwd: &Path, database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args(args)
        .current_dir(cwd)
        .env("SPORTELLO_DATABASE_URL", database_url)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The extract's header line.
pub const HEADER: &str = "codice_fiscale,position,start,end,year,days,income_eur,cessation\n";

/// A `sportello serve` process on a port of its own, started in `dir` on `database_url` with extra `args` and
/// environment `env`; killed with SIGKILL when dropped.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(dir: &Path, database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sportello"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir)
            .env("SPORTELLO_DATABASE_URL", database_url)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("the server printed where it serves").unwrap();
            if let Some(address) = line.strip_prefix("Sportello is serving on ") {
                break address.trim().to_owned();
            }
        };
        // Keep reading what it logs, so that a full pipe never stalls it.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, base }
    }

    /// SIGKILL: no shutdown, no flush, no goodbye.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The process's resident memory, KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `(codice fiscale, simplified PIN)` pairs of a file written by `sportello pin issue`.
pub fn read_pins(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells[0].to_owned(), cells[2].to_owned())
        })
        .collect()
}
