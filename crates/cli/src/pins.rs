//! `sportello pin issue`: an operator issues INPS PINs for registry persons in bulk, e.g. before a click-day drill
//! or at a counter, and hands them over out of band (a file kept by the operator, a sealed letter).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use sportello_domain::CodiceFiscale;
use sportello_store::Store;
use sportello_usecases::pin::{Pin, PinHasher};
use sportello_usecases::pins;

/// Issues a new PIN for each person, handed over by the office (`sportello_usecases::pins::issue_by_office`), and
/// returns them with their codice fiscale, in the order given. Every person must be in the registry; the PINs are
/// hashed with the portal's own parameters.
///
/// Two hashes per PIN at 16 MiB each make issuing CPU-bound: a few persons are issued at once, so that the hasher
/// (which bounds the hashes in flight to the cores) keeps every core busy while a PIN is being stored.
pub async fn issue(
    store: &dyn Store,
    hasher: &PinHasher,
    persons: &[CodiceFiscale],
) -> anyhow::Result<Vec<(CodiceFiscale, Pin)>> {
    use futures::{StreamExt as _, TryStreamExt as _};
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    futures::stream::iter(persons.iter().copied())
        .map(|codice_fiscale| async move {
            let pin = pins::issue_by_office(store, hasher, codice_fiscale, Utc::now())
                .await
                .map_err(crate::error::usecase_error)?;
            anyhow::Ok((codice_fiscale, pin))
        })
        // In order, stopping at the first error (the few persons already under way may get a PIN nobody is given:
        // running again issues new ones).
        .buffered(cores * 2)
        .try_collect()
        .await
}

/// Creates (or empties) `out` for secrets, readable and writable by its owner only, and buffers writes to it.
pub fn create_private(out: &Path) -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
    let file = open_private(out).with_context(|| format!("cannot create {}", out.display()))?;
    Ok(std::io::BufWriter::new(file))
}

/// Creates (or empties) the file at `path`, readable and writable by its owner only: PINs, payment files and
/// anything else that carries personal data. A file that existed keeps no wider permissions than that.
pub fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
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

/// Writes issued PINs as CSV (`codice_fiscale,pin,simplified_pin`) to `out`, readable by the owner only.
pub fn write_csv(out: &Path, issued: &[(CodiceFiscale, Pin)]) -> anyhow::Result<()> {
    let mut writer = create_private(out)?;
    writeln!(writer, "codice_fiscale,pin,simplified_pin")?;
    for (cf, pin) in issued {
        writeln!(writer, "{cf},{},{}", pin.expose(), pin.first_half())?;
    }
    writer.flush()?;
    Ok(())
}

/// `sportello pin confirm`: officer `by` confirmed the person's identity (`sportello_usecases::pins::
/// confirm_identity`). Returns the applications released for payment.
pub async fn confirm(
    store: &dyn Store,
    codice_fiscale: CodiceFiscale,
    by: &str,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Vec<sportello_store::Application>> {
    pins::confirm_identity(store, codice_fiscale, by, now).await.map_err(crate::error::usecase_error)
}
