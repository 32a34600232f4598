//! The decrees a command decides by: the scheme files given with `--schemes` (one file, or a folder of them), or
//! the ones shipped (DL 18/2020 and DL 34/2020 art. 84).

use sportello_domain::law::Decrees;

use crate::error::InputError;

/// The decrees in force: those of `--schemes` (one scheme file, or a folder whose `*.toml` files are read in name
/// order), or the ones shipped (DL 18/2020 and DL 34/2020 art. 84).
pub fn load_decrees(path: Option<&std::path::Path>) -> anyhow::Result<Decrees> {
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
