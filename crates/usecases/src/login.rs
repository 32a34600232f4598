//! Logging in with a PIN, whichever door: the wrong-PIN lockout of a bucket (a device the person logged in from
//! before, or the person's strangers), the Argon2 check with the same work for every refusal, and the principal a
//! PIN that opens a credential acts as (docs/SECURITY.md, "Login"). What is the door's stays there: the rate limits
//! by client address, the device cookie or token that names the bucket, and the session it opens.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::principal::{LoginMethod, Principal};
use sportello_store::{PinCredential, PinLock, Store};

use crate::error::UseCaseError;
use crate::pin::{EnteredPin, PinHasher, PinKind};

/// How many wrong PINs lock a bucket, and for how long (`[pin] max_failures`, `lock_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Wrong PINs that lock the bucket.
    pub max_failures: u32,
    /// How long it stays locked.
    pub lock_for: Duration,
}

/// What a PIN came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// It opens a credential: the session to open acts as `principal`.
    Opened {
        /// The citizen acting for themself, by the PIN's half or whole.
        principal: Principal,
        /// The credential opened (`pin:<id>`).
        credential: String,
        /// Whether it is confirmed (the full PIN confirms it: its second half travelled apart from the first).
        confirmed: bool,
    },
    /// No credential: an unknown codice fiscale, a wrong PIN, or a lock of the bucket, until `locked_until`.
    Refused {
        /// When the lock ends, if the bucket is locked now.
        locked_until: Option<DateTime<Utc>>,
    },
}

/// Checks `pin` for `codice_fiscale`, counting a wrong one in `bucket`. Every refusal does the same work, known
/// person or not: the same reads, one Argon2 verification (against a dummy hash when there is nothing to verify)
/// and one write of the failure, so that any codice fiscale locks alike after as many wrong PINs. A PIN that opens
/// a credential records its use (the full PIN confirms it and releases what it held for payment).
pub async fn check(
    store: &dyn Store,
    hasher: &PinHasher,
    codice_fiscale: CodiceFiscale,
    pin: &EnteredPin,
    bucket: &str,
    lockout: Lockout,
    now: DateTime<Utc>,
) -> Result<Checked, UseCaseError> {
    let credential = match verify(store, hasher, codice_fiscale, pin, bucket, lockout, now).await? {
        Ok(credential) => credential,
        Err(lock) => return Ok(Checked::Refused { locked_until: lock.locked_until.filter(|&until| until > now) }),
    };
    let full = pin.kind() == PinKind::Full;
    let released = store.pin_used(credential.id, full, now).await?;
    if released > 0 {
        tracing::info!(released, "the full PIN confirmed applications held for payment");
    }
    let method = if full { LoginMethod::PinFull } else { LoginMethod::PinSimplified };
    Ok(Checked::Opened {
        principal: Principal::citizen(codice_fiscale, method),
        credential: credential.reference(),
        confirmed: credential.confirmed() || full,
    })
}

/// The credential `pin` opens now, or the bucket's lock as it stands after counting the failure. Only the
/// credentials of the slot the PIN's first symbol names are tried: one hash in all but a rare case (a PIN from
/// before slots, tried second).
async fn verify(
    store: &dyn Store,
    hasher: &PinHasher,
    codice_fiscale: CodiceFiscale,
    pin: &EnteredPin,
    bucket: &str,
    lockout: Lockout,
    now: DateTime<Utc>,
) -> Result<Result<PinCredential, PinLock>, UseCaseError> {
    let lock = store.pin_lock(&codice_fiscale, bucket).await?;
    let locked = lock.locked_at(now);
    let candidates = if locked { Vec::new() } else { store.pins_for_slot(&codice_fiscale, pin.slot()).await? };
    let hash_of = |c: &PinCredential| match pin.kind() {
        PinKind::Simplified => c.simplified_hash.clone(),
        PinKind::Full => c.full_hash.clone(),
    };
    let mut matched = None;
    if candidates.is_empty() {
        // A locked PIN, an empty slot and an unknown person cost the same time as a check.
        hasher.verify_or_dummy_blocking(pin.expose().to_owned(), None).await;
    }
    for candidate in &candidates {
        if hasher.verify_blocking(pin.expose().to_owned(), hash_of(candidate)).await {
            matched = Some(candidate.clone());
            break;
        }
    }
    let outcome = match (&matched, locked) {
        (Some(_), _) => "success",
        (None, true) => "locked",
        (None, false) => "failure",
    };
    metrics::counter!("sportello_pin_logins_total", "outcome" => outcome).increment(1);
    if let Some(credential) = matched {
        store.clear_login_failures(&codice_fiscale, bucket).await?;
        return Ok(Ok(credential));
    }
    if locked {
        // Attempts during a lock are not counted; known or not, the codice fiscale is locked alike.
        return Ok(Err(lock));
    }
    // Counted for every codice fiscale, registered or not, PIN or not: the same write on every refusal, so that
    // neither its time nor a later lock tells who holds a PIN.
    let lock = store.record_login_failure(&codice_fiscale, bucket, now, lockout.max_failures, lockout.lock_for).await?;
    Ok(Err(lock))
}
