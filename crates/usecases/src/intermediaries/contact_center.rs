//! The Contact Center on a call: an operator seated at a Contact Center office of the roster acts for a caller only
//! once the caller is identified by their codice fiscale and the first half of one of their PINs, checked as a login
//! is (the same Argon2 work and lockout, counted in a bucket of the Contact Center's own so that callers' mistakes do
//! not lock the person's own devices), and only with the caller's consent; the call id names every act.

use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::intermediaries::{CallId, IntermediaryKind};
use sportello_domain::principal::Principal;

use super::mandates::Seat;
use crate::acting::Acting;
use crate::error::UseCaseError;
use crate::login::{self, Checked, Lockout};
use crate::pin::{EnteredPin, PinHasher, PinKind};

/// The lockout bucket wrong PIN halves told to the Contact Center count in.
pub const BUCKET: &str = "contact_center";

/// What the operator records about the call before acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The telephony system's id of the call.
    pub id: CallId,
    /// Who the caller says they are.
    pub caller: CodiceFiscale,
    /// Whether the caller consented to the operator acting for them on this call.
    pub consent: bool,
}

/// Why a caller was not identified. Said the same way for a wrong PIN half and a codice fiscale nobody holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The seat is not at a Contact Center office.
    #[error("only a Contact Center operator identifies callers")]
    NotContactCenter,
    /// The caller did not consent.
    #[error("the caller's consent to act for them on this call is required")]
    NoConsent,
    /// Not the first half of a PIN (8 symbols).
    #[error("ask the caller for the first half of their PIN: 8 characters")]
    NotFirstHalf,
    /// The codice fiscale and the PIN half do not open a credential (or the Contact Center's bucket is locked).
    #[error("the caller is not identified: the codice fiscale and the first half of the PIN do not match")]
    NotIdentified {
        /// When the Contact Center's bucket for this codice fiscale unlocks, if locked now.
        locked_until: Option<DateTime<Utc>>,
    },
}

impl CallError {
    /// The kind of failure, for the doors.
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            Self::NotContactCenter | Self::NotIdentified { .. } => crate::ErrorKind::Forbidden,
            Self::NoConsent | Self::NotFirstHalf => crate::ErrorKind::Input,
        }
    }
}

/// Identifies the caller of `call` by `first_half` and answers the principal the operator at `seat` acts with for
/// them on this call; the identification and the consent are audited with the call id. A caller whose PIN's first
/// half went to a contact they typed (no contact on file) stays unconfirmed: what is filed for them is held for
/// payment, as when they log in themselves.
#[allow(clippy::too_many_arguments)]
pub async fn identify(
    store: &dyn sportello_store::Store,
    hasher: &PinHasher,
    lockout: Lockout,
    seat: &Seat,
    call: Call,
    first_half: &EnteredPin,
    from: Option<String>,
    now: DateTime<Utc>,
) -> Result<Acting, UseCaseError> {
    if seat.kind != IntermediaryKind::ContactCenter {
        return Err(CallError::NotContactCenter.into());
    }
    if !call.consent {
        return Err(CallError::NoConsent.into());
    }
    if first_half.kind() != PinKind::Simplified {
        return Err(CallError::NotFirstHalf.into());
    }
    let (credential, confirmed) =
        match login::check(store, hasher, call.caller, first_half, BUCKET, lockout, now).await? {
            Checked::Opened { credential, confirmed, .. } => (credential, confirmed),
            Checked::Refused { locked_until } => {
                return Err(CallError::NotIdentified { locked_until }.into());
            }
        };
    let acting = Acting {
        principal: Principal::contact_center(seat.operator, call.id, call.caller, seat.method),
        credential: Some(credential),
        confirmed,
        from,
    };
    acting.audit(store, "identify_caller", Some(&format!("call:{};consent", call.id)), now).await?;
    Ok(acting)
}
