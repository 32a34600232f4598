//! A mandate ("mandato di patrocinio", DM 10 ottobre 2008 n. 193 art. 4): a citizen entrusts one office of an
//! intermediary with an object, on a form both the citizen and an operator of the office sign. An operator may reach
//! a citizen's data only under a mandate of their office in force on the day ([`Mandate::allows`]).

use chrono::{DateTime, Utc};

use crate::intermediaries::OfficeCode;
use crate::{CodiceFiscale, Date};

/// The longest object a mandate may name.
pub const MAX_OBJECT: usize = 200;

/// A recorded mandate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mandate {
    /// Its number.
    pub id: i64,
    /// The citizen who gave it.
    pub subject: CodiceFiscale,
    /// The office it entrusts.
    pub office: OfficeCode,
    /// The operator who recorded it.
    pub operator: CodiceFiscale,
    /// What it is for (e.g. "Indennità COVID-19, DL 18/2020").
    pub object: String,
    /// The day the form was signed: the first day in force.
    pub signed_on: Date,
    /// The last day in force, included (the procedure's end).
    pub expires_on: Date,
    /// The hex SHA-256 of the signed form.
    pub form_sha256: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// When it was revoked, and by whom (the stored actor), if it was.
    pub revoked: Option<(DateTime<Utc>, String)>,
}

/// Where a mandate stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MandateState {
    /// The office may act for the citizen.
    InForce,
    /// Signed with a later date.
    NotYetInForce,
    /// Past its last day.
    Expired,
    /// The citizen (or the office) revoked it.
    Revoked,
}

impl MandateState {
    /// The stored and displayed name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InForce => "in_force",
            Self::NotYetInForce => "not_yet_in_force",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl Mandate {
    /// Where the mandate stands on `day`; a revocation ends it whatever the day.
    pub fn state_on(&self, day: Date) -> MandateState {
        if self.revoked.is_some() {
            MandateState::Revoked
        } else if day < self.signed_on {
            MandateState::NotYetInForce
        } else if day > self.expires_on {
            MandateState::Expired
        } else {
            MandateState::InForce
        }
    }

    /// Whether `office` may act for `subject` under this mandate on `day`: the same citizen, the same office, in
    /// force. Any other office of the same organisation may not.
    pub fn allows(&self, office: OfficeCode, subject: CodiceFiscale, day: Date) -> bool {
        self.office == office && self.subject == subject && self.state_on(day) == MandateState::InForce
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> Date {
        Date::from_ymd_opt(2020, m, day).unwrap()
    }

    fn mandate() -> Mandate {
        Mandate {
            id: 1,
            subject: CodiceFiscale::parse("MRTMRA83T56A269B").unwrap(),
            office: OfficeCode::parse("INCA-RM-01").unwrap(),
            operator: CodiceFiscale::parse("RSSMRA80A01H501U").unwrap(),
            object: "Indennità COVID-19".to_owned(),
            signed_on: d(3, 30),
            expires_on: d(6, 3),
            form_sha256: "00".repeat(32),
            recorded_at: DateTime::UNIX_EPOCH,
            revoked: None,
        }
    }

    #[test]
    fn a_mandate_is_in_force_from_its_signature_to_its_last_day_for_its_office_and_citizen_only() {
        let m = mandate();
        let other_office = OfficeCode::parse("INCA-RM-02").unwrap();
        let other_citizen = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
        assert_eq!(m.state_on(d(3, 29)), MandateState::NotYetInForce);
        assert_eq!(m.state_on(d(3, 30)), MandateState::InForce);
        assert_eq!(m.state_on(d(6, 3)), MandateState::InForce);
        assert_eq!(m.state_on(d(6, 4)), MandateState::Expired);
        assert!(m.allows(m.office, m.subject, d(4, 1)));
        assert!(!m.allows(other_office, m.subject, d(4, 1)));
        assert!(!m.allows(m.office, other_citizen, d(4, 1)));
        assert!(!m.allows(m.office, m.subject, d(6, 4)));
    }

    #[test]
    fn a_revoked_mandate_allows_nothing_whatever_the_day() {
        let mut m = mandate();
        m.revoked = Some((DateTime::UNIX_EPOCH, "citizen:MRTMRA83T56A269B".to_owned()));
        assert_eq!(m.state_on(d(4, 1)), MandateState::Revoked);
        assert!(!m.allows(m.office, m.subject, d(4, 1)));
    }
}
