//! INPS PIN credentials: several per person, one per slot, each remembering where its first half went; the
//! wrong-PIN counters; and the holds that keep an application made with an unconfirmed PIN from being paid.
//!
//! A PIN request never revokes a PIN in use (`docs/SECURITY.md`, "INPS PIN"): a new PIN takes a free slot, or the
//! slot of a PIN that never opened a session; a person whose four slots all hold PINs in use gets no new one.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;

use crate::{Application, OutboxMessage, StoreError};

/// How many PINs a person may hold at once.
pub const SLOTS: u8 = 4;

/// The wrong-PIN bucket of clients the person never logged in from.
pub const STRANGERS: &str = "strangers";

/// Where a PIN's first half (the simplified PIN, enough to log in) was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FirstHalfTo {
    /// To a contact on file (the persons import): the institute trusts it as much as its own records.
    OnFile,
    /// To a contact the requester typed, because none is on file: what it does is held until confirmed.
    Given,
    /// Handed over by the institute's office (`sportello pin issue`), which identified the person.
    Office,
}

impl FirstHalfTo {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OnFile => "on_file",
            Self::Given => "given",
            Self::Office => "office",
        }
    }

    /// The value from its stored name.
    pub fn from_db(s: &str) -> Result<Self, StoreError> {
        match s {
            "on_file" => Ok(Self::OnFile),
            "given" => Ok(Self::Given),
            "office" => Ok(Self::Office),
            other => Err(StoreError::Corrupt(format!("unknown PIN delivery '{other}'"))),
        }
    }
}

/// A PIN to store: only slow hashes (PHC strings) of the whole PIN and of its first half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPin {
    /// Whose PIN it is.
    pub codice_fiscale: CodiceFiscale,
    /// Its slot, below [`SLOTS`], named by its first symbol.
    pub slot: u8,
    /// Hash of the 16-character PIN.
    pub full_hash: String,
    /// Hash of its first 8 characters (the "simplified PIN").
    pub simplified_hash: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// Where its first half goes.
    pub first_half_to: FirstHalfTo,
}

/// A stored PIN credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinCredential {
    /// Its id, which holds and sessions name it by (see [`PinCredential::reference`]).
    pub id: i64,
    /// Whose PIN it is.
    pub codice_fiscale: CodiceFiscale,
    /// Its slot; `None` for a PIN issued before slots existed.
    pub slot: Option<u8>,
    /// Hash of the 16-character PIN.
    pub full_hash: String,
    /// Hash of its first 8 characters.
    pub simplified_hash: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// Where its first half went.
    pub first_half_to: FirstHalfTo,
    /// When the full PIN first opened a session, or an officer confirmed the person.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When it last opened a session; `None` if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl PinCredential {
    /// How sessions and holds name it: `pin:<id>`.
    pub fn reference(&self) -> String {
        format!("pin:{}", self.id)
    }

    /// Whether what it does stands without a further check: its first half went to a contact on file or was handed
    /// over by the office, or the person has since confirmed it.
    pub fn confirmed(&self) -> bool {
        self.first_half_to != FirstHalfTo::Given || self.confirmed_at.is_some()
    }
}

/// Wrong PINs counted in one bucket of one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PinLock {
    /// Wrong attempts since the last success or lock.
    pub failures: u32,
    /// Locked until then, if locked (a past value: the lock has ended).
    pub locked_until: Option<DateTime<Utc>>,
}

impl PinLock {
    /// Whether the bucket is locked at `now`.
    pub fn locked_at(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// Storage of PIN credentials, wrong-PIN counters and payment holds.
#[async_trait]
pub trait Credentials: Send + Sync {
    /// Every PIN credential of a person, by slot (a PIN from before slots last).
    async fn pins_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<PinCredential>, StoreError>;

    /// Stores a new PIN in its slot and enqueues `messages` (its first half, the notices to the contacts on file),
    /// in one transaction. The slot may be free or hold a PIN that never opened a session, which is replaced; if it
    /// holds one in use (another request's PIN was used meanwhile), nothing is stored or sent and `false` is
    /// returned.
    async fn put_pin(&self, pin: NewPin, messages: &[OutboxMessage]) -> Result<bool, StoreError>;

    /// The credentials a PIN whose first symbol names `slot` is checked against, in order: the slot's, then the
    /// person's PIN from before slots (whose slot is unknown), if any.
    async fn pins_for_slot(&self, codice_fiscale: &CodiceFiscale, slot: u8) -> Result<Vec<PinCredential>, StoreError>;

    /// Records that credential `id` opened a session at `now`. With the full PIN (`full`), the credential is
    /// confirmed, and the person's applications held for it are released for payment; returns how many.
    async fn pin_used(&self, id: i64, full: bool, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// The wrong-PIN counter of `bucket` ([`STRANGERS`] or a device's id) of a person.
    async fn pin_lock(&self, codice_fiscale: &CodiceFiscale, bucket: &str) -> Result<PinLock, StoreError>;

    /// Counts one wrong PIN in a bucket atomically; when the count reaches `max_failures` the bucket is locked
    /// until `now + lock_for` and the count starts again. A locked bucket is left alone. Returns it as it stands.
    async fn record_login_failure(
        &self,
        codice_fiscale: &CodiceFiscale,
        bucket: &str,
        now: DateTime<Utc>,
        max_failures: u32,
        lock_for: std::time::Duration,
    ) -> Result<PinLock, StoreError>;

    /// Forgets a bucket's failures after a successful login.
    async fn clear_login_failures(&self, codice_fiscale: &CodiceFiscale, bucket: &str) -> Result<(), StoreError>;

    /// An officer confirmed the person's identity (in person, by a document): every PIN of theirs counts as
    /// confirmed and every hold on their applications is released. Returns how many applications were released.
    async fn confirm_person(&self, codice_fiscale: &CodiceFiscale, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// The rightful person, logged in with a confirmed credential (`by`), annuls application `protocol` of theirs
    /// that is held for another credential: in one transaction it becomes `annulled` (so it no longer holds the
    /// indemnity of its cumulation group), its amount is given back to the scheme's spending limit, the credential it
    /// was held for is revoked and that credential's sessions end. `None` when `protocol` is not theirs or is not
    /// held for another credential.
    async fn annul_held(
        &self,
        codice_fiscale: &CodiceFiscale,
        protocol: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Application>, StoreError>;
}

/// The slot a PIN requested online takes: a free one, else the one whose PIN is the oldest never to have opened a
/// session; `None` when every slot holds a PIN in use, which a request never revokes.
pub fn slot_for_request(pins: &[PinCredential]) -> Option<u8> {
    free_slot(pins).or_else(|| {
        pins.iter()
            .filter(|p| p.last_used_at.is_none())
            .filter_map(|p| p.slot.map(|slot| (p.issued_at, slot)))
            .min()
            .map(|(_, slot)| slot)
    })
}

/// The slot a PIN handed over by the office takes: as [`slot_for_request`], else the slot of the PIN used least
/// recently (the officer identified the person, who chooses to give it up).
pub fn slot_for_office(pins: &[PinCredential]) -> u8 {
    slot_for_request(pins).unwrap_or_else(|| {
        pins.iter().filter_map(|p| p.slot.map(|slot| (p.last_used_at, slot))).min().map_or(0, |(_, slot)| slot)
    })
}

fn free_slot(pins: &[PinCredential]) -> Option<u8> {
    (0..SLOTS).find(|&slot| !pins.iter().any(|p| p.slot == Some(slot)))
}
