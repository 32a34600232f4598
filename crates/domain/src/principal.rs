//! Who acts, for whom, and how they came in: the principal every request that touches personal data carries.
//!
//! A citizen acts for themself after logging in with an INPS PIN. An intermediary's operator acts for a citizen
//! under a mandate, in the name of one office of the roster; a Contact Center operator acts for a caller they have
//! identified, on one call (`docs/SECURITY.md`, "Acting for someone else"); an institute officer acts on others' data
//! in the back office, for the duties their role allows. Each is an [`Actor`] variant whose principal is built only
//! after its door's checks; a login by SPID, CIE or CNS is a further [`LoginMethod`]. The stored names of methods and
//! channels are part of the database's CHECK lists (`crates/store/migrations/*/â¦_principals.sql`); an actor is stored
//! as text.

use std::fmt;

use crate::CodiceFiscale;
use crate::intermediaries::{CallId, OfficeCode};

/// Who acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A citizen acting for themself.
    Citizen(CodiceFiscale),
    /// An intermediary's operator, in the name of one of their offices in the roster, for a citizen whose mandate
    /// that office holds.
    Intermediary {
        /// The operator's codice fiscale.
        operator: CodiceFiscale,
        /// The office they chose at login.
        office: OfficeCode,
    },
    /// A Contact Center operator on a call, for the caller they identified.
    ContactCenter {
        /// The operator's codice fiscale.
        operator: CodiceFiscale,
        /// The call.
        call: CallId,
    },
    /// An officer of the institute, by the id of their account, in their role; acting on a subject's data only for
    /// the duties the role allows ([`OfficerRole::may`]).
    Officer {
        /// The officer's account id.
        id: i64,
        /// What the officer may do.
        role: OfficerRole,
    },
}

/// An officer's role in the back office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfficerRole {
    /// Handles cases: searches and reads them.
    Officer,
    /// An officer who may also re-decide a case ("riesame").
    Supervisor,
    /// The data protection officer: answers subject access and assesses breaches.
    DataProtectionOfficer,
    /// Reads the audit trail for breach assessment and the dashboard; no single person's case.
    Auditor,
}

/// What an officer sets out to do; each officer use case names its duty and checks it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Duty {
    /// Search for a case and read it (personal data, with a stated reason).
    ViewCase,
    /// Re-decide a suspended or contested application.
    Review,
    /// Confirm a review that overrides the law's decision (the second pair of eyes).
    ConfirmOverride,
    /// Answer a subject-access request (GDPR art. 15).
    SubjectAccess,
    /// Assess a breach: who was served whose data in a time window (GDPR art. 33).
    Breach,
    /// Watch the dashboard's figures (counts, no personal data).
    Dashboard,
}

/// How the actor logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginMethod {
    /// The first half of the INPS PIN (enough to apply; payment waits on a confirmed credential where it must).
    PinSimplified,
    /// The whole INPS PIN.
    PinFull,
    /// SPID, level 2.
    SpidL2,
    /// SPID, level 3.
    SpidL3,
    /// The electronic identity card.
    Cie,
    /// The national services card (a certificate).
    Cns,
    /// A local account's password (the back office's demo accounts, until officers log in by SPID or CIE).
    Password,
}

/// The door a request came by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The citizen online, for themself.
    Citizen,
    /// A patronato or other intermediary, under a mandate.
    Intermediary,
    /// The Contact Center, on a call.
    ContactCenter,
    /// The institute's own officers.
    BackOffice,
}

/// Who acts, for whom, how they logged in and by which door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Principal {
    /// Who acts.
    pub actor: Actor,
    /// Whose data the actor acts on.
    pub subject: CodiceFiscale,
    /// How the actor logged in.
    pub method: LoginMethod,
    /// The door they came by.
    pub channel: Channel,
}

/// A stored name that is not one of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a known {what}")]
pub struct UnknownName {
    /// What was being read: `actor`, `login method` or `channel`.
    pub what: &'static str,
    /// The name found.
    pub value: String,
}

impl Principal {
    /// A citizen acting for themself, logged in with `method`, online.
    pub fn citizen(codice_fiscale: CodiceFiscale, method: LoginMethod) -> Self {
        Self { actor: Actor::Citizen(codice_fiscale), subject: codice_fiscale, method, channel: Channel::Citizen }
    }

    /// An intermediary's operator acting for `subject`. Build it only once the roster and the mandate allow it: the
    /// door's use case checks both, on the day, before it hands this principal on.
    pub fn intermediary(
        operator: CodiceFiscale,
        office: OfficeCode,
        subject: CodiceFiscale,
        method: LoginMethod,
    ) -> Self {
        Self { actor: Actor::Intermediary { operator, office }, subject, method, channel: Channel::Intermediary }
    }

    /// A Contact Center operator acting for the caller `subject` on `call`. Build it only once the caller is
    /// identified (their PIN's first half, or a one-time code sent to the contact on file).
    pub fn contact_center(operator: CodiceFiscale, call: CallId, subject: CodiceFiscale, method: LoginMethod) -> Self {
        Self { actor: Actor::ContactCenter { operator, call }, subject, method, channel: Channel::ContactCenter }
    }

    /// Reads a principal back from its stored names.
    pub fn from_stored(actor: &str, subject: CodiceFiscale, method: &str, channel: &str) -> Result<Self, UnknownName> {
        Ok(Self {
            actor: Actor::parse(actor)?,
            subject,
            method: LoginMethod::parse(method)?,
            channel: Channel::parse(channel)?,
        })
    }

    /// Whether the actor acts for themself.
    pub fn acts_for_self(&self) -> bool {
        match self.actor {
            Actor::Citizen(cf) => cf == self.subject,
            Actor::Officer { .. } => false,
            Actor::Intermediary { .. } | Actor::ContactCenter { .. } => false,
        }
    }
}

impl Actor {
    /// The stored form: `citizen:<codice fiscale>`, `intermediary:<operator's codice fiscale>@<office>`,
    /// `contact_center:<operator's codice fiscale>@<call id>` or `officer:<id>:<role>`.
    pub fn stored(&self) -> String {
        self.to_string()
    }

    /// The door this actor comes by.
    pub fn channel(&self) -> Channel {
        match self {
            Self::Citizen(_) => Channel::Citizen,
            Self::Intermediary { .. } => Channel::Intermediary,
            Self::ContactCenter { .. } => Channel::ContactCenter,
            Self::Officer { .. } => Channel::BackOffice,
        }
    }

    /// The actor from its stored form.
    pub fn parse(stored: &str) -> Result<Self, UnknownName> {
        let unknown = || UnknownName { what: "actor", value: stored.to_owned() };
        match stored.split_once(':') {
            Some(("citizen", cf)) => CodiceFiscale::parse(cf).map(Self::Citizen).map_err(|_| unknown()),
            Some(("officer", rest)) => {
                let (id, role) = rest.split_once(':').ok_or_else(unknown)?;
                let id = id.parse::<i64>().map_err(|_| unknown())?;
                let role = OfficerRole::parse(role).map_err(|_| unknown())?;
                Ok(Self::Officer { id, role })
            }
            Some(("intermediary", rest)) => {
                let (operator, office) = rest.split_once('@').ok_or_else(unknown)?;
                Ok(Self::Intermediary {
                    operator: CodiceFiscale::parse(operator).map_err(|_| unknown())?,
                    office: OfficeCode::parse(office).map_err(|_| unknown())?,
                })
            }
            Some(("contact_center", rest)) => {
                let (operator, call) = rest.split_once('@').ok_or_else(unknown)?;
                Ok(Self::ContactCenter {
                    operator: CodiceFiscale::parse(operator).map_err(|_| unknown())?,
                    call: CallId::parse(call).map_err(|_| unknown())?,
                })
            }
            _ => Err(unknown()),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Citizen(cf) => write!(f, "citizen:{cf}"),
            Self::Officer { id, role } => write!(f, "officer:{id}:{}", role.as_str()),
            Self::Intermediary { operator, office } => write!(f, "intermediary:{operator}@{office}"),
            Self::ContactCenter { operator, call } => write!(f, "contact_center:{operator}@{call}"),
        }
    }
}

impl LoginMethod {
    /// Every method, as stored.
    pub const ALL: [Self; 7] =
        [Self::PinSimplified, Self::PinFull, Self::SpidL2, Self::SpidL3, Self::Cie, Self::Cns, Self::Password];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PinSimplified => "pin_simplified",
            Self::PinFull => "pin_full",
            Self::SpidL2 => "spid_l2",
            Self::SpidL3 => "spid_l3",
            Self::Cie => "cie",
            Self::Cns => "cns",
            Self::Password => "password",
        }
    }

    /// The method from its stored name.
    pub fn parse(stored: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == stored)
            .ok_or_else(|| UnknownName { what: "login method", value: stored.to_owned() })
    }
}

impl Channel {
    /// Every channel, as stored.
    pub const ALL: [Self; 4] = [Self::Citizen, Self::Intermediary, Self::ContactCenter, Self::BackOffice];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Intermediary => "intermediary",
            Self::ContactCenter => "contact_center",
            Self::BackOffice => "back_office",
        }
    }

    /// The channel from its stored name.
    pub fn parse(stored: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == stored)
            .ok_or_else(|| UnknownName { what: "channel", value: stored.to_owned() })
    }
}

impl OfficerRole {
    /// Every role, as stored.
    pub const ALL: [Self; 4] = [Self::Officer, Self::Supervisor, Self::DataProtectionOfficer, Self::Auditor];

    /// The stored name (and the command line's).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Supervisor => "supervisor",
            Self::DataProtectionOfficer => "dpo",
            Self::Auditor => "auditor",
        }
    }

    /// The role from its stored name.
    pub fn parse(stored: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == stored)
            .ok_or_else(|| UnknownName { what: "officer role", value: stored.to_owned() })
    }

    /// Whether the role allows `duty` (docs/SECURITY.md, "The back office").
    pub const fn may(self, duty: Duty) -> bool {
        match duty {
            Duty::Dashboard => true,
            Duty::ViewCase => !matches!(self, Self::Auditor),
            Duty::Review | Duty::ConfirmOverride => matches!(self, Self::Supervisor),
            Duty::SubjectAccess => matches!(self, Self::DataProtectionOfficer),
            Duty::Breach => matches!(self, Self::DataProtectionOfficer | Self::Auditor),
        }
    }
}

impl Principal {
    /// An officer acting on `subject`'s data, logged in with `method`, through the back office.
    pub fn officer(id: i64, role: OfficerRole, subject: CodiceFiscale, method: LoginMethod) -> Self {
        Self { actor: Actor::Officer { id, role }, subject, method, channel: Channel::BackOffice }
    }

    /// The officer's role, if the actor is an officer.
    pub fn officer_role(&self) -> Option<OfficerRole> {
        match self.actor {
            Actor::Officer { role, .. } => Some(role),
            Actor::Citizen(_) | Actor::Intermediary { .. } | Actor::ContactCenter { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_reads_back_from_its_stored_names() {
        let cf = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
        let principal = Principal::citizen(cf, LoginMethod::PinSimplified);
        let back = Principal::from_stored(
            &principal.actor.stored(),
            cf,
            principal.method.as_str(),
            principal.channel.as_str(),
        )
        .unwrap();
        assert_eq!(back, principal);
        assert!(back.acts_for_self());
        assert_eq!(principal.actor.stored(), "citizen:RSSMRA80A01H501U");
        for method in LoginMethod::ALL {
            assert_eq!(LoginMethod::parse(method.as_str()), Ok(method));
        }
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Ok(channel));
        }
    }

    #[test]
    fn an_officer_reads_back_and_acts_for_someone_else() {
        let cf = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
        let principal = Principal::officer(7, OfficerRole::Supervisor, cf, LoginMethod::Password);
        assert_eq!(principal.actor.stored(), "officer:7:supervisor");
        let back = Principal::from_stored(&principal.actor.stored(), cf, "password", "back_office").unwrap();
        assert_eq!(back, principal);
        assert!(!back.acts_for_self());
        assert_eq!(Actor::parse("officer:7").unwrap_err().what, "actor");
        assert_eq!(Actor::parse("officer:x:officer").unwrap_err().what, "actor");
        assert_eq!(Actor::parse("officer:7:boss").unwrap_err().what, "actor");
    }

    #[test]
    fn each_role_may_do_its_duties_only() {
        use Duty::*;
        use OfficerRole::*;
        let table = [
            (Officer, [true, false, false, false, false, true]),
            (Supervisor, [true, true, true, false, false, true]),
            (DataProtectionOfficer, [true, false, false, true, true, true]),
            (Auditor, [false, false, false, false, true, true]),
        ];
        for (role, allowed) in table {
            let duties = [ViewCase, Review, ConfirmOverride, SubjectAccess, Breach, Dashboard];
            for (duty, may) in duties.into_iter().zip(allowed) {
                assert_eq!(role.may(duty), may, "{role:?} {duty:?}");
            }
            assert_eq!(OfficerRole::parse(role.as_str()), Ok(role));
        }
    }

    #[test]
    fn an_operator_s_principal_reads_back_and_never_acts_for_self() {
        let operator = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
        let subject = CodiceFiscale::parse("MRTMRA83T56A269B").unwrap();
        let office = OfficeCode::parse("INCA-RM-01").unwrap();
        let call = CallId::parse("C-803164-0001").unwrap();
        for principal in [
            Principal::intermediary(operator, office, subject, LoginMethod::PinFull),
            Principal::contact_center(operator, call, subject, LoginMethod::PinFull),
            // Even an operator acting for themself comes by their door, not as a citizen.
            Principal::intermediary(operator, office, operator, LoginMethod::PinFull),
        ] {
            let stored = principal.actor.stored();
            let back = Principal::from_stored(
                &stored,
                principal.subject,
                principal.method.as_str(),
                principal.channel.as_str(),
            )
            .unwrap();
            assert_eq!(back, principal);
            assert!(!back.acts_for_self(), "{stored}");
            assert_eq!(back.actor.channel(), back.channel);
        }
        assert_eq!(
            Principal::intermediary(operator, office, subject, LoginMethod::PinFull).actor.stored(),
            "intermediary:RSSMRA80A01H501U@INCA-RM-01"
        );
        assert_eq!(Actor::parse("intermediary:RSSMRA80A01H501U").unwrap_err().what, "actor");
        assert_eq!(Actor::parse("intermediary:RSSMRA80A01H501U@inca").unwrap_err().what, "actor");
        assert_eq!(Actor::parse("contact_center:NOTACF@C1").unwrap_err().what, "actor");
    }

    #[test]
    fn unknown_names_are_refused_with_what_they_are() {
        assert_eq!(Actor::parse("operator:42").unwrap_err().to_string(), "'operator:42' is not a known actor");
        assert_eq!(Actor::parse("citizen:NOTACF").unwrap_err().what, "actor");
        assert_eq!(
            LoginMethod::parse("fingerprint").unwrap_err().to_string(),
            "'fingerprint' is not a known login method"
        );
        assert_eq!(Channel::parse("fax").unwrap_err().what, "channel");
    }
}
