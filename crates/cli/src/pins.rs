//! `sportello pin issue`: an operator issues INPS PINs for registry persons in bulk, e.g. before a click-day drill
//! or at a counter, and hands them over out of band (a file kept by the operator, a sealed letter).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use sportello_domain::CodiceFiscale;
use sportello_store::credentials::slot_for_office;
use sportello_store::{FirstHalfTo, NewPin, OutboxMessage, Store};
use sportello_web::pin::{Pin, PinHasher};

use crate::error::InputError;

/// Issues a new PIN for each person, handed over by the office (it takes a free slot, or the slot of the person's PIN
/// used least recently when all four are taken), and returns them with their codice fiscale, in the
/// order given. Every person must be in the registry; the PINs are hashed with the portal's own parameters.
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
        .map(|codice_fiscale| issue_one(store, hasher, codice_fiscale))
        // In order, stopping at the first error (the few persons already under way may get a PIN nobody is given:
        // running again issues new ones).
        .buffered(cores * 2)
        .try_collect()
        .await
}

/// Issues one person's PIN: both hashes, the credential and its notice stored in one transaction.
async fn issue_one(
    store: &dyn Store,
    hasher: &PinHasher,
    codice_fiscale: CodiceFiscale,
) -> anyhow::Result<(CodiceFiscale, Pin)> {
    if store.positions(&codice_fiscale).await?.is_empty() {
        return Err(InputError(format!("{codice_fiscale} is not in the registry: no PIN issued for it")).into());
    }
    let slot = slot_for_office(&store.pins_of(&codice_fiscale).await?);
    let pin = Pin::generate_for_slot(slot)?;
    let (full, simplified) =
        tokio::join!(hasher.hash_blocking(pin.expose().to_owned()), hasher.hash_blocking(pin.first_half().to_owned()));
    let now = Utc::now();
    let new_pin = NewPin {
        codice_fiscale,
        slot,
        full_hash: full?,
        simplified_hash: simplified?,
        issued_at: now,
        first_half_to: FirstHalfTo::Office,
    };
    // The PIN itself travels with the operator's list; the outbox only records that one was issued.
    let notice = OutboxMessage {
        channel: "console".to_owned(),
        recipient: "operator".to_owned(),
        subject: "PIN INPS".to_owned(),
        body: format!("PIN issued by an operator for {codice_fiscale}"),
        not_before: now,
    };
    if !store.put_pin(new_pin, &[notice]).await? {
        anyhow::bail!("a PIN of {codice_fiscale} was used while a new one was issued in its slot: run again");
    }
    Ok((codice_fiscale, pin))
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

/// `sportello pin confirm`: officer `by` confirmed the person's identity (in person, by a document). Every PIN of
/// theirs counts as confirmed, their applications held for payment are released, and the audit log records who
/// did it. Returns the applications released.
pub async fn confirm(
    store: &dyn Store,
    codice_fiscale: CodiceFiscale,
    by: &str,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Vec<sportello_store::Application>> {
    if store.pins_of(&codice_fiscale).await?.is_empty() {
        return Err(InputError(format!(
            "{codice_fiscale} holds no PIN: there is nothing to confirm (check the codice fiscale)"
        ))
        .into());
    }
    let held: Vec<String> = store
        .applications_of(&codice_fiscale)
        .await?
        .into_iter()
        .filter(|a| a.hold.is_some())
        .map(|a| a.protocol)
        .collect();
    store.confirm_person(&codice_fiscale, now).await?;
    store
        .audit(sportello_store::AuditEntry {
            actor: by.to_owned(),
            action: "confirm_identity".to_owned(),
            subject: codice_fiscale,
            object: None,
            at: now,
            from: None,
            login_method: None,
            channel: sportello_domain::principal::Channel::BackOffice.as_str().to_owned(),
        })
        .await?;
    // What was held before and is not now: released by this confirmation.
    Ok(store
        .applications_of(&codice_fiscale)
        .await?
        .into_iter()
        .filter(|a| a.hold.is_none() && held.contains(&a.protocol))
        .collect())
}
