//! Standard output for commands whose output is read by scripts: writing fails, rather than panicking as `print!`
//! does, when the reader has gone away, and `main` takes that failure for no error at all.

use std::io::Write;

/// Writes `text` to standard output, failing (rather than panicking as `print!` does) when its reader has gone away.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Whether a failure is standard output's reader having gone away (EPIPE).
pub(crate) fn closed_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}
