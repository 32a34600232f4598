//! Files an operator's use case writes that hold personal data (payment orders, rejected rows): readable by their
//! owner alone, and never found half-written under their final name.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A file that could not be written.
#[derive(Debug, Error)]
pub enum FileError {
    /// Creating, writing or flushing failed.
    #[error("cannot {action} {}", .path.display())]
    Io {
        /// What was being done: "create", "write", "flush to disk".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The finished file could not take its name.
    #[error("cannot rename {} to {}", .from.display(), .to.display())]
    Rename {
        /// The temporary name.
        from: PathBuf,
        /// The final name.
        to: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Creates (or truncates) `path` readable and writable by its owner only.
pub fn open_private(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    // The mode applies only to a file created now.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(file)
}

/// Writes `target` through a private temporary file beside it, flushed to disk and then renamed: the name never
/// holds half a file, whatever happens. An error `write` returns comes back as it is, for the caller to tell a
/// failure from a stop it asked for.
pub fn write_atomically(
    target: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), AtomicError> {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = target.with_file_name(format!(".{name}.partial"));
    let io = |action, source| FileError::Io { action, path: partial.clone(), source };
    let file = open_private(&partial).map_err(|e| io("create", e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    write(&mut out).map_err(|e| AtomicError::Writing(io("write", e)))?;
    let file = out.into_inner().map_err(|e| io("write", e.into_error()))?;
    file.sync_all().map_err(|e| io("flush to disk", e))?;
    std::fs::rename(&partial, target).map_err(|source| FileError::Rename {
        from: partial.clone(),
        to: target.to_owned(),
        source,
    })?;
    if let Some(folder) = target.parent().and_then(|p| File::open(p).ok()) {
        // The rename is durable once the folder is.
        let _ = folder.sync_all();
    }
    Ok(())
}

/// Why [`write_atomically`] did not write its file.
#[derive(Debug, Error)]
pub enum AtomicError {
    /// The caller's writer failed (or stopped on purpose: the source says which).
    #[error(transparent)]
    Writing(FileError),
    /// Creating, flushing or renaming the file failed.
    #[error(transparent)]
    File(#[from] FileError),
}

impl AtomicError {
    /// The file error, whichever step failed.
    pub fn into_file_error(self) -> FileError {
        match self {
            Self::Writing(e) | Self::File(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_file_written_atomically_is_whole_and_private_and_a_failed_one_leaves_no_name() {
        let dir = std::env::temp_dir().join(format!("sportello-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("out.csv");
        write_atomically(&target, |out| out.write_all(b"a,b\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "a,b\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let failed = dir.join("failed.csv");
        let error = write_atomically(&failed, |_| Err(std::io::Error::other("disk full"))).unwrap_err();
        assert!(matches!(error, AtomicError::Writing(_)), "{error:?}");
        assert!(!failed.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
