//! `sportello pin issue`: an operator issues INPS PINs for registry persons in bulk, e.g. before a click-day drill
//! or at a counter, and hands them over out of band (a file kept by the operator, a sealed letter).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use sportello_domain::CodiceFiscale;
use sportello_store::{NewPin, OutboxMessage, Store};
use sportello_web::pin::{Pin, PinHasher};

use crate::cli::InputError;

/// Issues a new PIN for each person (replacing any earlier PIN) and returns them with their codice fiscale.
/// Every person must be in the registry; the PINs are hashed with the portal's own parameters.
pub async fn issue(
    store: &dyn Store,
    hasher: &PinHasher,
    persons: &[CodiceFiscale],
) -> anyhow::Result<Vec<(CodiceFiscale, Pin)>> {
    let mut issued = Vec::with_capacity(persons.len());
    for &codice_fiscale in persons {
        if store.positions(&codice_fiscale).await?.is_empty() {
            return Err(InputError(format!("{codice_fiscale} is not in the registry: no PIN issued for it")).into());
        }
        let pin = Pin::generate()?;
        let (full, simplified) = tokio::join!(
            hasher.hash_blocking(pin.expose().to_owned()),
            hasher.hash_blocking(pin.first_half().to_owned())
        );
        let now = Utc::now();
        let new_pin = NewPin { codice_fiscale, full_hash: full?, simplified_hash: simplified?, issued_at: now };
        // The PIN itself travels with the operator's list; the outbox only records that one was issued.
        let notice = OutboxMessage {
            channel: "console".to_owned(),
            recipient: "operator".to_owned(),
            subject: "PIN INPS".to_owned(),
            body: format!("PIN issued by an operator for {codice_fiscale}"),
            not_before: now,
        };
        store.put_pin(new_pin, notice).await?;
        issued.push((codice_fiscale, pin));
    }
    Ok(issued)
}

/// Writes issued PINs as CSV (`codice_fiscale,pin,simplified_pin`) to `out`, readable by the owner only.
pub fn write_csv(out: &Path, issued: &[(CodiceFiscale, Pin)]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    writeln!(writer, "codice_fiscale,pin,simplified_pin")?;
    for (cf, pin) in issued {
        writeln!(writer, "{cf},{},{}", pin.expose(), pin.first_half())?;
    }
    writer.flush()?;
    Ok(())
}
