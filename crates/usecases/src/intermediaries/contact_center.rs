//! The Contact Center on a call: an operator seated at a Contact Center office of the roster acts for a caller only
//! once the caller is identified by their codice fiscale and the first half of one of their PINs, checked as a login
//! is (the same Argon2 work and lockout, counted in a bucket of the Contact Center's own so that callers' mistakes do
//! not lock the person's own devices), and only with the caller's consent; the call id names every act.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::TryRng as _;
use sha2::Digest as _;
use sportello_domain::CodiceFiscale;
use sportello_domain::intermediaries::{CallId, IntermediaryKind};
use sportello_domain::law::Decrees;
use sportello_domain::principal::{Actor, Principal};
use sportello_store::{CallCodeCheck, NewCallCode, OutboxMessage, Submission};

use super::mandates::{self, Seat};
use crate::acting::Acting;
use crate::apply::{self, Draft};
use crate::draft::{Contact, FiledBy};
use crate::error::UseCaseError;
use crate::language::Language;
use crate::login::{self, Checked, Lockout};
use crate::pin::{EnteredPin, PinHasher, PinKind};

/// The lockout bucket wrong PIN halves told to the Contact Center count in.
pub const BUCKET: &str = "contact_center";

/// How long a one-time code sent to a caller works: the call is going on.
pub const CODE_LASTS: Duration = Duration::from_secs(600);

/// How long a PIN request's first half may go unused before the Contact Center may send a fresh one.
pub const UNDELIVERED_AFTER: Duration = Duration::from_secs(12 * 3600);

/// How many wrong tries a one-time code survives; then another must be sent.
pub const CODE_ATTEMPTS: u32 = 3;

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
    /// No PIN of the caller's was asked for long enough ago and never used: nothing to validate.
    #[error(
        "no PIN request of this caller has waited {} hours or more without being used: ask them to wait, or to check \
         the contact they gave",
        UNDELIVERED_AFTER.as_secs() / 3600
    )]
    NoStaleRequest,
    /// The contact the caller confirms is not one on file.
    #[error(
        "the contact the caller gives is not one on file: a fresh first half goes only to a contact on file; send the \
         caller to an INPS office to be identified"
    )]
    ContactNotOnFile,
    /// Not a one-time code (6 digits).
    #[error("ask the caller for the code just sent to them: 6 digits")]
    NotACode,
    /// The codice fiscale and the PIN half do not open a credential (or the Contact Center's bucket is locked), or
    /// the one-time code is not the one sent for this call (or it expired, or was tried too often).
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
            Self::NotContactCenter | Self::NotIdentified { .. } | Self::ContactNotOnFile => crate::ErrorKind::Forbidden,
            Self::NoStaleRequest => crate::ErrorKind::Conflict,
            Self::NoConsent | Self::NotFirstHalf | Self::NotACode => crate::ErrorKind::Input,
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
    may_act_on(seat, &call)?;
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

/// The caller a call session acts for, read back for the operator at `seat`: `None` unless the seat is at a Contact
/// Center office, the session is a Contact Center call opened by this same operator, and its subject is a caller
/// (not the operator). A call opened by one operator opens nothing for another.
pub fn on_call(
    seat: &Seat,
    principal: Principal,
    credential: Option<String>,
    confirmed: bool,
    from: Option<String>,
) -> Option<Acting> {
    let Actor::ContactCenter { operator, .. } = principal.actor else { return None };
    let ours = seat.kind == IntermediaryKind::ContactCenter && operator == seat.operator;
    (ours && principal.subject != operator).then_some(Acting { principal, credential, confirmed, from })
}

/// The call an acting principal is on, if it is a Contact Center's.
pub fn call_of(acting: &Acting) -> Option<CallId> {
    match acting.principal.actor {
        Actor::ContactCenter { call, .. } => Some(call),
        _ => None,
    }
}

/// Files an assisted application for the caller identified on this call (`on_call`, from [`identify`]), from the
/// operator's `seat`: only where the decree's scheme file lets the Contact Center file, decided by the same law and
/// recorded by the same transaction as the citizen's own. The application keeps the office, the operator and the
/// call; the audit row names the operator on the call, channel `contact_center`.
pub async fn file(
    store: &dyn sportello_store::Store,
    decrees: &Decrees,
    seat: &Seat,
    on_call: &Acting,
    mut draft: Draft,
    now: DateTime<Utc>,
) -> Result<Submission, UseCaseError> {
    let Some(call) = call_of(on_call) else { return Err(CallError::NotIdentified { locked_until: None }.into()) };
    let ours = matches!(on_call.principal.actor, Actor::ContactCenter { operator, .. } if operator == seat.operator);
    if seat.kind != IntermediaryKind::ContactCenter || !ours {
        return Err(CallError::NotContactCenter.into());
    }
    mandates::may_file(decrees, seat, &draft.scheme)?;
    draft.details.filed_by = Some(FiledBy {
        office: seat.office.to_string(),
        kind: seat.kind.to_string(),
        operator: seat.operator.to_string(),
        mandate: None,
        call: Some(call.to_string()),
    });
    apply::submit(store, decrees, on_call, draft, now).await
}

/// The operator ends the call: the audit log says when, under the call's id.
pub async fn hang_up(
    store: &dyn sportello_store::Store,
    on_call: &Acting,
    now: DateTime<Utc>,
) -> Result<(), UseCaseError> {
    let call = call_of(on_call).map(|call| format!("call:{call}"));
    on_call.audit(store, "end_call", call.as_deref(), now).await
}

/// Whether the operator at `seat` may act on `call` at all: a Contact Center seat, and the caller's consent.
fn may_act_on(seat: &Seat, call: &Call) -> Result<(), CallError> {
    if seat.kind != IntermediaryKind::ContactCenter {
        return Err(CallError::NotContactCenter);
    }
    if !call.consent {
        return Err(CallError::NoConsent);
    }
    Ok(())
}

/// The hash a one-time code is kept by: bound to its call and caller.
fn code_hash(call: &CallId, caller: &CodiceFiscale, code: &str) -> String {
    hex::encode(sha2::Sha256::digest(format!("{call}\n{caller}\n{code}")))
}

/// Sends the caller of `call` a one-time code, to the first contact on file (the mobile number before the e-mail),
/// never to a contact the caller gives; the code works for [`CODE_LASTS`] on this call only. Answers whether one was
/// sent: a codice fiscale with no contact on file (or nobody's) gets none, and the door says the same either way.
pub async fn send_code(
    store: &dyn sportello_store::Store,
    seat: &Seat,
    call: Call,
    lang: Language,
    now: DateTime<Utc>,
) -> Result<bool, UseCaseError> {
    may_act_on(seat, &call)?;
    let person = store.person(&call.caller).await?;
    let on_file = person.and_then(|p| p.cellulare.map(Contact::Sms).or(p.email.map(Contact::Email)));
    let Some(contact) = on_file else { return Ok(false) };
    let mut bytes = [0u8; 8];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|e| UseCaseError::Rng(e.to_string()))?;
    let code = format!("{:06}", u64::from_le_bytes(bytes) % 1_000_000);
    let expires_at = now + chrono::TimeDelta::from_std(CODE_LASTS).unwrap_or(chrono::TimeDelta::zero());
    let new = NewCallCode {
        call: call.id.to_string(),
        caller: call.caller,
        operator: seat.operator,
        code_hash: code_hash(&call.id, &call.caller, &code),
        created_at: now,
        expires_at,
    };
    let body = lang.pick(
        "Codice per il Contact Center INPS: {code}\n\nLo comunichi solo all'operatore con cui sta parlando ora, nella \
         chiamata che ha fatto al Contact Center (803 164): vale 10 minuti. Se non sta parlando con il Contact Center, \
         non lo comunichi a nessuno: l'INPS non lo chiede mai in altro modo.",
        "Code for the INPS Contact Center: {code}\n\nTell it only to the operator you are talking to now, on the call \
         you made to the Contact Center (803 164): it works for 10 minutes. If you are not talking to the Contact \
         Center, tell it to nobody: INPS never asks for it otherwise.",
    );
    let message = OutboxMessage {
        channel: match contact {
            Contact::Sms(_) => "sms",
            Contact::Email(_) => "email",
        }
        .to_owned(),
        recipient: contact.recipient().to_owned(),
        subject: lang.pick("Codice per il Contact Center INPS", "Code for the INPS Contact Center").to_owned(),
        body: body.replace("{code}", &code),
        not_before: now,
    };
    store.put_call_code(&new, &message).await?;
    let acting = Acting {
        principal: Principal::contact_center(seat.operator, call.id, call.caller, seat.method),
        credential: None,
        confirmed: false,
        from: None,
    };
    acting.audit(store, "send_call_code", Some(&format!("call:{}", call.id)), now).await?;
    Ok(true)
}

/// Identifies the caller of `call` by the one-time code [`send_code`] sent to their contact on file, and answers the
/// principal the operator at `seat` acts with for them on this call; the code is used up, and the identification
/// and the consent are audited with the call id. A contact on file is the institute's own record, so the caller
/// counts as confirmed. A wrong code, an expired one, one tried too often and one never sent get the same answer.
pub async fn identify_by_code(
    store: &dyn sportello_store::Store,
    seat: &Seat,
    call: Call,
    code: &str,
    from: Option<String>,
    now: DateTime<Utc>,
) -> Result<Acting, UseCaseError> {
    may_act_on(seat, &call)?;
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CallError::NotACode.into());
    }
    let hash = code_hash(&call.id, &call.caller, code);
    let checked = store.use_call_code(call.id.as_str(), &call.caller, &hash, CODE_ATTEMPTS, now).await?;
    if checked != CallCodeCheck::Matched {
        return Err(CallError::NotIdentified { locked_until: None }.into());
    }
    let acting = Acting {
        principal: Principal::contact_center(seat.operator, call.id, call.caller, seat.method),
        credential: Some(format!("call_code:{}", call.id)),
        confirmed: true,
        from,
    };
    acting.audit(store, "identify_caller", Some(&format!("call:{};consent;code", call.id)), now).await?;
    Ok(acting)
}

/// The same contact, written either way: e-mail addresses without case, telephone numbers by their digits without
/// Italy's country code.
fn same_contact(given: &str, on_file: &Contact) -> bool {
    match on_file {
        Contact::Email(email) => given.trim().eq_ignore_ascii_case(email.trim()),
        Contact::Sms(number) => {
            let digits = |n: &str| {
                let d: String = n.chars().filter(char::is_ascii_digit).collect();
                let d = d.strip_prefix("0039").map(str::to_owned).unwrap_or(d);
                if d.len() > 10 && d.starts_with("39") { d[2..].to_owned() } else { d }
            };
            let given = digits(given);
            !given.is_empty() && given == digits(number)
        }
    }
}

/// Validates a PIN request whose first half did not arrive: the caller of `call` (who has no PIN half to be
/// identified by) confirms a contact of theirs, which must be one on file; their newest PIN asked for at least
/// [`UNDELIVERED_AFTER`] ago and never used is replaced in its slot by a fresh one, whose first half goes now to that
/// contact and whose second half follows it as for any request to a contact on file; the other contacts on file are
/// told. The operator never sees the PIN; the validation is audited under the call.
#[allow(clippy::too_many_arguments)]
pub async fn resend_first_half(
    store: &dyn sportello_store::Store,
    hasher: &PinHasher,
    seat: &Seat,
    call: Call,
    contact: &str,
    second_half_delay: Duration,
    lang: Language,
    now: DateTime<Utc>,
) -> Result<(), UseCaseError> {
    may_act_on(seat, &call)?;
    let waited = chrono::TimeDelta::from_std(UNDELIVERED_AFTER).unwrap_or(chrono::TimeDelta::MAX);
    let pins = store.pins_of(&call.caller).await?;
    let stale = pins
        .iter()
        .filter(|p| p.last_used_at.is_none() && p.first_half_to != sportello_store::FirstHalfTo::Office)
        .max_by_key(|p| p.issued_at)
        .filter(|p| now - p.issued_at >= waited);
    let Some(slot) = stale.and_then(|p| p.slot) else { return Err(CallError::NoStaleRequest.into()) };
    let on_file =
        store.person(&call.caller).await?.map(|p| crate::pin_request::contacts_on_file(&p)).unwrap_or_default();
    let Some(chosen) = on_file.iter().find(|c| same_contact(contact, c)) else {
        return Err(CallError::ContactNotOnFile.into());
    };
    let others: Vec<Contact> = on_file.iter().filter(|c| *c != chosen).cloned().collect();
    let reissued =
        crate::pin_request::reissue(store, hasher, call.caller, slot, chosen, &others, second_half_delay, lang, now)
            .await?;
    if !reissued {
        return Err(CallError::NoStaleRequest.into());
    }
    let acting = Acting {
        principal: Principal::contact_center(seat.operator, call.id, call.caller, seat.method),
        credential: None,
        confirmed: false,
        from: None,
    };
    acting.audit(store, "resend_pin_first_half", Some(&format!("call:{};consent", call.id)), now).await
}
