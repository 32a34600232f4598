//! An operator at their desk and the mandates of their office: the office chosen at login is checked against the
//! roster on the day ([`seat`]); a mandate is recorded with its signed form (a PDF, size- and type-checked, kept with
//! its SHA-256) and the privacy acknowledgement, and the citizen is told at the contacts on file ([`record`]); an
//! operator reaches a citizen's data only through [`act_for`], which answers the citizen's principal only under a
//! mandate of the office in force on the day, and files only for decrees that let their kind file ([`may_file`]).
//! The citizen lists their mandates and revokes them ([`mandates_of`], [`revoke`]).

use chrono::{DateTime, Utc};
use sha2::Digest as _;
use sportello_domain::intermediaries::{IntermediaryKind, OfficeCode, Role, RosterRow};
use sportello_domain::law::Decrees;
use sportello_domain::mandate::{MAX_OBJECT, Mandate};
use sportello_domain::principal::{Channel, LoginMethod, Principal};
use sportello_domain::{CodiceFiscale, Date};
use sportello_store::{AuditEntry, MandateRecorded, NewMandate, OutboxMessage, Store};
use thiserror::Error;

use crate::acting::Acting;
use crate::error::UseCaseError;

/// The largest signed form accepted: a scan of two pages.
pub const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// An operator logged in for one office, as the roster allows on the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seat {
    /// The operator.
    pub operator: CodiceFiscale,
    /// The office they act for.
    pub office: OfficeCode,
    /// Its organisation's kind.
    pub kind: IntermediaryKind,
    /// Their role there.
    pub role: Role,
    /// How they logged in.
    pub method: LoginMethod,
}

/// Why an operator or a mandate is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MandateError {
    /// The operator is not on the roster for this office on this day (or at all).
    #[error("{operator} may not act for office {office} on {day}: the roster does not list them there on that day")]
    NotOnRoster {
        /// The operator.
        operator: CodiceFiscale,
        /// The office asked for.
        office: OfficeCode,
        /// The day.
        day: Date,
    },
    /// The office's kind may not file for this decree.
    #[error("a {kind} may not file applications of {decree} for citizens ({legal_ref})")]
    KindMayNotFile {
        /// The kind.
        kind: IntermediaryKind,
        /// The decree's short name.
        decree: String,
        /// Where the decree's list is set.
        legal_ref: String,
    },
    /// No mandate of the office for this citizen is in force today. Said the same way whether the citizen exists.
    #[error("no mandate of this office for this citizen is in force")]
    NoMandate,
    /// The uploaded form is not acceptable.
    #[error("the signed form: {0}")]
    Form(FormProblem),
    /// The privacy notice was not acknowledged.
    #[error("the citizen's acknowledgement of the privacy notice is required")]
    Privacy,
    /// The object is empty or too long.
    #[error("the mandate's object must name a decree in force: one of {0}")]
    Object(String),
    /// The signature date is after today.
    #[error("the form is dated {0}, after today")]
    FutureDate(Date),
    /// The same form stands for another mandate already.
    #[error("this signed form is already recorded as mandate {0}: a form stands for one mandate")]
    SameForm(i64),
    /// Only the citizen revokes their own mandates.
    #[error("mandate {0} is not one of yours")]
    NotYours(i64),
}

/// What is wrong with an uploaded form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FormProblem {
    /// Nothing was uploaded.
    #[error("the file is empty")]
    Empty,
    /// Past [`MAX_FORM_BYTES`].
    #[error("the file is larger than 2 MiB")]
    TooLarge,
    /// No `%PDF-` header.
    #[error("the file is not a PDF")]
    NotPdf,
    /// No `%%EOF` near its end.
    #[error("the PDF is cut short (no %%EOF at its end)")]
    Truncated,
}

impl MandateError {
    /// The kind of failure, for the doors.
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::NotOnRoster { .. } | Self::KindMayNotFile { .. } => ErrorKind::Forbidden,
            Self::NoMandate | Self::NotYours(_) => ErrorKind::NotFound,
            Self::Form(_) | Self::Privacy | Self::Object(_) | Self::FutureDate(_) => ErrorKind::Input,
            Self::SameForm(_) => ErrorKind::Conflict,
        }
    }
}

/// The offices the roster lets `operator` act for on `day`, to choose from at login.
pub async fn offices_of(store: &dyn Store, operator: CodiceFiscale, day: Date) -> Result<Vec<RosterRow>, UseCaseError> {
    let rows = store.roster_of(&operator).await?;
    Ok(rows.into_iter().filter(|r| r.in_force_on(day)).collect())
}

/// The operator's seat at `office` on `day`, if the roster lists them there then. Doors call it at login and on
/// every request, so that a seat never outlives the roster row that opened it.
pub async fn seat(
    store: &dyn Store,
    operator: CodiceFiscale,
    office: OfficeCode,
    method: LoginMethod,
    day: Date,
) -> Result<Seat, UseCaseError> {
    let row = offices_of(store, operator, day).await?.into_iter().find(|r| r.office == office);
    let row = row.ok_or(MandateError::NotOnRoster { operator, office, day })?;
    Ok(Seat { operator, office, kind: row.kind, role: row.role, method })
}

/// The mandate of the seat's office for `subject` in force on `day` (the newest, if several are): the one an
/// operator acts under. Refused alike for a citizen without one and a codice fiscale nobody holds.
pub async fn in_force_for(
    store: &dyn Store,
    seat: &Seat,
    subject: CodiceFiscale,
    day: Date,
) -> Result<Mandate, UseCaseError> {
    let mandates = store.mandates_of(&subject).await?;
    let newest = mandates.into_iter().filter(|m| m.allows(seat.office, subject, day)).max_by_key(|m| m.id);
    Ok(newest.ok_or(MandateError::NoMandate)?)
}

/// The principal an operator at `seat` acts with for `subject` on `day`, from `from`: only under a mandate of the
/// seat's office in force that day ([`in_force_for`]).
pub async fn act_for(
    store: &dyn Store,
    seat: &Seat,
    subject: CodiceFiscale,
    day: Date,
    from: Option<String>,
) -> Result<Acting, UseCaseError> {
    in_force_for(store, seat, subject, day).await?;
    Ok(acting_under(seat, subject, from))
}

/// The principal an operator at `seat` acts with for `subject`, once a mandate in force is found.
pub(crate) fn acting_under(seat: &Seat, subject: CodiceFiscale, from: Option<String>) -> Acting {
    Acting {
        principal: Principal::intermediary(seat.operator, seat.office, subject, seat.method),
        credential: None,
        // The citizen signed the mandate before an operator the roster lists: nothing is held for payment.
        confirmed: true,
        from,
    }
}

/// The mandates of the seat's office in force on `day`, newest first: the operator's list of the citizens they may
/// act for today. Call it with a seat [`seat`] answered for this request.
pub async fn in_force_at(store: &dyn Store, seat: &Seat, day: Date) -> Result<Vec<Mandate>, UseCaseError> {
    let held = store.mandates_held_by(&seat.office).await?;
    Ok(held.into_iter().filter(|m| m.allows(seat.office, m.subject, day)).collect())
}

/// Whether the seat's kind may file `scheme`'s applications for citizens (its scheme file's `filed_by`).
pub fn may_file(decrees: &Decrees, seat: &Seat, scheme: &str) -> Result<(), UseCaseError> {
    let book = decrees.rulebook_of(scheme).ok_or_else(|| UseCaseError::UnknownScheme(scheme.to_owned()))?;
    let decree = book.decree();
    if decree.may_be_filed_by(seat.kind) {
        Ok(())
    } else {
        Err(MandateError::KindMayNotFile {
            kind: seat.kind,
            decree: decree.short().to_owned(),
            legal_ref: decree.filed_by().legal_ref.clone(),
        }
        .into())
    }
}

/// A mandate as the operator's door read it.
#[derive(Clone, PartialEq, Eq)]
pub struct MandateInput {
    /// The citizen.
    pub subject: CodiceFiscale,
    /// The decree it is for, by id (`dl18-2020`): the mandate ends when that decree stops taking applications.
    pub decree: String,
    /// The day the form was signed.
    pub signed_on: Date,
    /// The signed form as uploaded.
    pub form: Vec<u8>,
    /// Whether the citizen acknowledged the privacy notice.
    pub privacy_acknowledged: bool,
}

impl std::fmt::Debug for MandateInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MandateInput")
            .field("subject", &self.subject)
            .field("decree", &self.decree)
            .field("form", &format_args!("<{} bytes>", self.form.len()))
            .finish_non_exhaustive()
    }
}

/// Checks that `form` is a PDF of acceptable size: its `%PDF-` header and its `%%EOF` trailer, nothing else trusted
/// (not the file's name, not the browser's content type).
pub fn check_form(form: &[u8]) -> Result<(), MandateError> {
    if form.is_empty() {
        return Err(MandateError::Form(FormProblem::Empty));
    }
    if form.len() > MAX_FORM_BYTES {
        return Err(MandateError::Form(FormProblem::TooLarge));
    }
    if !form.starts_with(b"%PDF-") {
        return Err(MandateError::Form(FormProblem::NotPdf));
    }
    let tail = &form[form.len().saturating_sub(1024)..];
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(MandateError::Form(FormProblem::Truncated));
    }
    Ok(())
}

/// Records a mandate for the seat's office at `now`, telling the citizen at every contact on file in the same
/// transaction; the audit row names the operator, the office and the mandate.
pub async fn record(
    store: &dyn Store,
    decrees: &Decrees,
    seat: &Seat,
    input: MandateInput,
    from: Option<String>,
    now: DateTime<Utc>,
) -> Result<Mandate, UseCaseError> {
    let today = now.with_timezone(&chrono_tz::Europe::Rome).date_naive();
    check_form(&input.form)?;
    if !input.privacy_acknowledged {
        return Err(MandateError::Privacy.into());
    }
    let book = decrees.rulebooks().iter().find(|b| b.decree().id() == input.decree).ok_or_else(|| {
        MandateError::Object(decrees.rulebooks().iter().map(|b| b.decree().id()).collect::<Vec<_>>().join(", "))
    })?;
    if input.signed_on > today {
        return Err(MandateError::FutureDate(input.signed_on).into());
    }
    let decree = book.decree();
    let object = format!("{}: {}", decree.short(), decree.name());
    let object: String = object.chars().take(MAX_OBJECT).collect();
    let expires_on = decree.applications().closes().max(input.signed_on);
    let form_sha256 = hex::encode(sha2::Sha256::digest(&input.form));
    let notices = notices(store, input.subject, seat, decree.short(), now).await?;
    let new = NewMandate {
        subject: input.subject,
        office: seat.office,
        operator: seat.operator,
        object,
        signed_on: input.signed_on,
        expires_on,
        form: input.form,
        form_sha256,
        recorded_at: now,
    };
    let mandate = match store.record_mandate(&new, &notices).await? {
        MandateRecorded::Recorded(m) => m,
        MandateRecorded::SameForm(id) => return Err(MandateError::SameForm(id).into()),
    };
    let acting = Acting {
        principal: Principal::intermediary(seat.operator, seat.office, input.subject, seat.method),
        credential: None,
        confirmed: true,
        from,
    };
    acting.audit(store, "record_mandate", Some(&format!("mandate:{}", mandate.id)), now).await?;
    Ok(mandate)
}

/// The messages telling the citizen that an office recorded a mandate in their name: to every contact on file, never
/// to one the operator gives. Without a contact on file there is none; "Le mie deleghe" shows it still.
async fn notices(
    store: &dyn Store,
    subject: CodiceFiscale,
    seat: &Seat,
    decree: &str,
    now: DateTime<Utc>,
) -> Result<Vec<OutboxMessage>, UseCaseError> {
    let Some(person) = store.person(&subject).await? else { return Ok(Vec::new()) };
    let body = format!(
        "L'ufficio {} ha registrato una delega a Suo nome per le indennità del {decree}. Se non l'ha firmata, la \
         revochi subito da \"Le mie deleghe\" sul portale.",
        seat.office
    );
    let message = |channel: &str, recipient: &str| OutboxMessage {
        channel: channel.to_owned(),
        recipient: recipient.to_owned(),
        subject: "Delega registrata a Suo nome".to_owned(),
        body: body.clone(),
        not_before: now,
    };
    let mut out = Vec::new();
    if let Some(email) = &person.email {
        out.push(message("email", email));
    }
    if let Some(mobile) = &person.cellulare {
        out.push(message("sms", mobile));
    }
    Ok(out)
}

/// The mandates the acting citizen gave, for "Le mie deleghe"; the reading is audited. Only the citizen themself.
pub async fn mandates_of(store: &dyn Store, who: &Acting, now: DateTime<Utc>) -> Result<Vec<Mandate>, UseCaseError> {
    if !who.principal.acts_for_self() {
        return Err(MandateError::NotYours(0).into());
    }
    let mandates = store.mandates_of(&who.principal.subject).await?;
    who.audit(store, "view_mandates", None, now).await?;
    Ok(mandates)
}

/// How many of the newest acts "Le mie deleghe" lists.
pub const ACTS_SHOWN: u32 = 200;

/// What intermediaries and the Contact Center did on the acting citizen's behalf, newest first (the newest
/// [`ACTS_SHOWN`] rows of the audit log about them, those made by someone else acting for them): who, when, what, on
/// which object, under which office or call. Only the citizen themself; the reading is audited.
pub async fn acts_for_me(store: &dyn Store, who: &Acting, now: DateTime<Utc>) -> Result<Vec<AuditEntry>, UseCaseError> {
    if !who.principal.acts_for_self() {
        return Err(MandateError::NotYours(0).into());
    }
    let rows = store.audit_of(&who.principal.subject, ACTS_SHOWN).await?;
    let on_behalf = [Channel::Intermediary.as_str(), Channel::ContactCenter.as_str()];
    let acts = rows.into_iter().filter(|row| on_behalf.contains(&row.channel.as_str())).collect();
    who.audit(store, "view_acts_for_me", None, now).await?;
    Ok(acts)
}

/// The acting citizen revokes their mandate `id`; another person's is not found. Only the citizen themself.
pub async fn revoke(store: &dyn Store, who: &Acting, id: i64, now: DateTime<Utc>) -> Result<(), UseCaseError> {
    if !who.principal.acts_for_self() {
        return Err(MandateError::NotYours(id).into());
    }
    if !store.revoke_mandate(id, &who.principal.subject, &who.principal.actor.stored(), now).await? {
        return Err(MandateError::NotYours(id).into());
    }
    who.audit(store, "revoke_mandate", Some(&format!("mandate:{id}")), now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_must_be_a_whole_pdf_of_at_most_2_mib() {
        assert_eq!(check_form(b""), Err(MandateError::Form(FormProblem::Empty)));
        assert_eq!(check_form(b"GIF89a...%%EOF"), Err(MandateError::Form(FormProblem::NotPdf)));
        assert_eq!(check_form(b"%PDF-1.4\n1 0 obj"), Err(MandateError::Form(FormProblem::Truncated)));
        assert_eq!(check_form(b"%PDF-1.4\n1 0 obj\n%%EOF\n"), Ok(()));
        let mut big = b"%PDF-1.4\n".to_vec();
        big.resize(MAX_FORM_BYTES + 1, b' ');
        big.extend_from_slice(b"%%EOF");
        assert_eq!(check_form(&big), Err(MandateError::Form(FormProblem::TooLarge)));
    }
}
