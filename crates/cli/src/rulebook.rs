//! The decrees a command decides by: the scheme files given with `--schemes` (one file, or a folder of them), or
//! the ones shipped (DL 18/2020 and DL 34/2020 art. 84).

use sportello_domain::law::{Decrees, Windows};

use crate::error::InputError;

/// The decrees in force: those of `--schemes` (one scheme file, or a folder whose `*.toml` files are read in name
/// order), or the ones shipped (DL 18/2020 and DL 34/2020 art. 84).
///
/// Their application windows are open (a replay of 2020's days, as the demo, drills and tests are) unless
/// `SPORTELLO_APPLICATION_WINDOWS=enforced`, which refuses an application outside its decree's days.
pub fn load_decrees(path: Option<&std::path::Path>) -> anyhow::Result<Decrees> {
    Ok(read_decrees(path)?.with_windows(windows(std::env::var("SPORTELLO_APPLICATION_WINDOWS").ok().as_deref())?))
}

/// `SPORTELLO_APPLICATION_WINDOWS`: `open` (the default) or `enforced`.
fn windows(setting: Option<&str>) -> anyhow::Result<Windows> {
    match setting.map(str::trim) {
        None | Some("" | "open") => Ok(Windows::Open),
        Some("enforced") => Ok(Windows::Enforced),
        Some(other) => Err(InputError(format!(
            "SPORTELLO_APPLICATION_WINDOWS='{other}' is not a setting; write 'open' (applications taken whatever the day) or 'enforced' (only within each decree's days)"
        ))
        .into()),
    }
}

/// The scheme files of `path`, or the embedded ones.
fn read_decrees(path: Option<&std::path::Path>) -> anyhow::Result<Decrees> {
    let Some(path) = path else { return Ok(Decrees::embedded()) };
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let entries = std::fs::read_dir(path)
            .map_err(|e| InputError(format!("cannot read the scheme folder {}: {e}", path.display())))?;
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_owned()]
    };
    let mut texts = Vec::with_capacity(files.len());
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| InputError(format!("cannot read the scheme file {}: {e}", file.display())))?;
        texts.push((file.display().to_string(), text));
    }
    Decrees::from_files(&texts).map_err(|e| InputError(format!("the scheme files are invalid: {e}")).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_windows_are_open_unless_enforced_and_a_typo_is_named() {
        assert_eq!(windows(None).unwrap(), Windows::Open);
        assert_eq!(windows(Some("open")).unwrap(), Windows::Open);
        assert_eq!(windows(Some(" enforced ")).unwrap(), Windows::Enforced);
        let err = windows(Some("strict")).unwrap_err().to_string();
        assert!(err.starts_with("SPORTELLO_APPLICATION_WINDOWS='strict' is not a setting"), "{err}");
    }
}
