//! Running the binary against a fresh database.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
}

pub fn run_in(cwd: &Path, database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args(args)
        .current_dir(cwd)
        .env("SPORTELLO_DATABASE_URL", database_url)
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
