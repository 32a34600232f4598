//! The rulebook a command decides by: a scheme file given with `--schemes`, or DL 18/2020 as shipped.

use sportello_domain::law::Rulebook;

use crate::error::InputError;

/// The rulebook from a scheme file, or DL 18/2020 as shipped.
pub fn load_rulebook(path: Option<&std::path::Path>) -> anyhow::Result<Rulebook> {
    match path {
        None => Ok(Rulebook::dl18_2020()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| InputError(format!("cannot read the scheme file {}: {e}", path.display())))?;
            Rulebook::from_toml(&text)
                .map_err(|e| InputError(format!("the scheme file {} is invalid: {e}", path.display())).into())
        }
    }
}
