//! The intermediaries who act for citizens: the institute's roster of organisations (patronati, CAF, labour
//! consultants, the Contact Center), their offices and their operators (`docs/specs/intermediaries-roster.md`), and
//! the codes a principal names them by. An operator is who the roster says, on the day it says: a SPID identity for
//! professional use proves a person, not their membership of a patronato.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::registry::CellError;
use crate::{CodiceFiscale, Date};

/// The header a roster file must start with, columns in this order.
pub const HEADER: [&str; 9] =
    ["ente", "denominazione", "tipo", "ufficio", "sede", "codice_fiscale", "ruolo", "valido_dal", "valido_al"];

/// What kind of organisation an intermediary is; the scheme files list which kinds may file for their decree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntermediaryKind {
    /// A patronato (L. 152/2001), acting under a "mandato di patrocinio".
    Patronato,
    /// A centro di assistenza fiscale.
    Caf,
    /// A labour consultant (consulente del lavoro).
    Consulente,
    /// The institute's own Contact Center, acting on a call.
    ContactCenter,
}

impl IntermediaryKind {
    /// Every kind, as written in the roster and the scheme files.
    pub const ALL: [Self; 4] = [Self::Patronato, Self::Caf, Self::Consulente, Self::ContactCenter];

    /// The written name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Patronato => "patronato",
            Self::Caf => "caf",
            Self::Consulente => "consulente",
            Self::ContactCenter => "contact_center",
        }
    }

    /// The kind from its written name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The written names, for messages: "patronato, caf, consulente, contact_center".
    pub fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl fmt::Display for IntermediaryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operator may do in an office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Records mandates and files applications for the office.
    Operatore,
    /// The office's head: an operator who may also upload batches.
    Responsabile,
}

impl Role {
    /// Every role, as written.
    pub const ALL: [Self; 2] = [Self::Operatore, Self::Responsabile];

    /// The written name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Operatore => "operatore",
            Self::Responsabile => "responsabile",
        }
    }

    /// The role from its written name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// Longest code of an office or organisation.
pub const MAX_CODE: usize = 20;

/// The code of an office (or of an organisation) in the roster: 1 to 20 capital letters, digits or `-`. Fixed-size
/// and `Copy`, so that a principal naming an office stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfficeCode {
    bytes: [u8; MAX_CODE],
    len: u8,
}

/// Why a string is not an office code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("'{0}' is not an office code: write 1 to 20 capital letters, digits or -")]
pub struct OfficeCodeError(pub String);

impl OfficeCode {
    /// Parses a code: 1 to 20 of `A`–`Z`, `0`–`9`, `-`.
    pub fn parse(code: &str) -> Result<Self, OfficeCodeError> {
        let ok = (1..=MAX_CODE).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(OfficeCodeError(code.to_owned()));
        }
        let mut bytes = [0; MAX_CODE];
        bytes[..code.len()].copy_from_slice(code.as_bytes());
        // The length is at most 20, checked above.
        Ok(Self { bytes, len: code.len() as u8 })
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored (checked in `parse`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Display for OfficeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for OfficeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OfficeCode({})", self.as_str())
    }
}

/// Longest call id.
pub const MAX_CALL_ID: usize = 32;

/// The Contact Center's id of a call: 1 to 32 letters, digits, `-` or `_`, as its telephony system gives it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallId {
    bytes: [u8; MAX_CALL_ID],
    len: u8,
}

/// Why a string is not a call id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("'{0}' is not a call id: write 1 to 32 letters, digits, - or _")]
pub struct CallIdError(pub String);

impl CallId {
    /// Parses a call id.
    pub fn parse(id: &str) -> Result<Self, CallIdError> {
        let ok = (1..=MAX_CALL_ID).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(CallIdError(id.to_owned()));
        }
        let mut bytes = [0; MAX_CALL_ID];
        bytes[..id.len()].copy_from_slice(id.as_bytes());
        Ok(Self { bytes, len: id.len() as u8 })
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallId({})", self.as_str())
    }
}

/// One row of the roster: an operator in one office of one organisation, for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    /// The organisation's code (e.g. `INCA`).
    pub organisation: OfficeCode,
    /// The organisation's name.
    pub organisation_name: String,
    /// What kind of organisation it is.
    pub kind: IntermediaryKind,
    /// The office's code, unique in the roster.
    pub office: OfficeCode,
    /// Where the office is (its name or address).
    pub office_name: String,
    /// The operator.
    pub operator: CodiceFiscale,
    /// What they may do there.
    pub role: Role,
    /// First day they may act.
    pub valid_from: Date,
    /// Last day they may act; `None` until the institute ends it.
    pub valid_to: Option<Date>,
}

impl RosterRow {
    /// Whether the operator may act for the office on `day`.
    pub fn in_force_on(&self, day: Date) -> bool {
        self.valid_from <= day && self.valid_to.is_none_or(|to| day <= to)
    }
}

/// Checks the header row; the error names the first column that differs.
pub fn check_header<'a>(cells: impl IntoIterator<Item = &'a str>) -> Result<(), CellError> {
    crate::registry::check_header_of(&HEADER, cells)
}

/// Validates one data row (its cells, in header order) and returns every problem found, not just the first. Whether
/// an office belongs to one organisation throughout the file is the reader's check: it needs the other rows.
pub fn parse_row<'a>(cells: impl IntoIterator<Item = &'a str>) -> Result<RosterRow, Vec<CellError>> {
    let cells: Vec<&str> = cells.into_iter().collect();
    let error = |column: usize, reason: String| CellError::in_file(&HEADER, column, reason);
    if cells.len() != HEADER.len() {
        return Err(vec![error(
            cells.len().min(HEADER.len()) + 1,
            format!("a row has {} cells, this one has {}", HEADER.len(), cells.len()),
        )]);
    }
    let mut errors = Vec::new();
    let code = |column: usize, errors: &mut Vec<CellError>| {
        OfficeCode::parse(cells[column - 1]).map_err(|e| errors.push(error(column, e.to_string()))).ok()
    };
    let text = |column: usize, errors: &mut Vec<CellError>| -> String {
        let value = cells[column - 1];
        let length = value.chars().count();
        if !(1..=120).contains(&length) {
            errors.push(error(column, format!("must have 1 to 120 characters, this one has {length}")));
        } else if value.chars().any(char::is_control) {
            errors.push(error(column, "must not hold control characters (tabs, line breaks)".to_owned()));
        }
        value.to_owned()
    };
    let date = |column: usize, errors: &mut Vec<CellError>| -> Option<Date> {
        let value = cells[column - 1];
        Date::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| errors.push(error(column, format!("'{value}' is not a date in the form 2020-04-01"))))
            .ok()
    };

    let organisation = code(1, &mut errors);
    let organisation_name = text(2, &mut errors);
    let kind = IntermediaryKind::parse(cells[2]).or_else(|| {
        errors.push(error(
            3,
            format!("'{}' is not a kind of intermediary; the kinds are {}", cells[2], IntermediaryKind::names()),
        ));
        None
    });
    let office = code(4, &mut errors);
    let office_name = text(5, &mut errors);
    let operator = CodiceFiscale::parse(cells[5]).map_err(|e| errors.push(error(6, e.to_string()))).ok();
    let role = Role::parse(cells[6]).or_else(|| {
        errors.push(error(7, format!("'{}' is not a role; the roles are operatore, responsabile", cells[6])));
        None
    });
    let valid_from = date(8, &mut errors);
    let valid_to = match cells[8] {
        "" => Some(None),
        _ => date(9, &mut errors).map(Some),
    };
    if let (Some(from), Some(Some(to))) = (valid_from, valid_to)
        && to < from
    {
        errors.push(error(9, format!("{to} is before valido_dal ({from}): the last day cannot come before the first")));
    }
    match (organisation, kind, office, operator, role, valid_from, valid_to) {
        (
            Some(organisation),
            Some(kind),
            Some(office),
            Some(operator),
            Some(role),
            Some(valid_from),
            Some(valid_to),
        ) if errors.is_empty() => Ok(RosterRow {
            organisation,
            organisation_name,
            kind,
            office,
            office_name,
            operator,
            role,
            valid_from,
            valid_to,
        }),
        _ => {
            errors.sort_by_key(|e| e.column);
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: [&str; 9]) -> Result<RosterRow, Vec<CellError>> {
        parse_row(cells)
    }

    #[test]
    fn a_valid_row_reads_into_its_operator_office_and_period() {
        let r = row([
            "INCA",
            "INCA CGIL",
            "patronato",
            "INCA-RM-01",
            "Roma, Via Nizza 59",
            "RSSMRA80A01H501U",
            "operatore",
            "2020-01-01",
            "",
        ])
        .unwrap();
        assert_eq!(r.kind, IntermediaryKind::Patronato);
        assert_eq!(r.office.as_str(), "INCA-RM-01");
        assert!(r.in_force_on(Date::from_ymd_opt(2020, 4, 1).unwrap()));
        assert!(!r.in_force_on(Date::from_ymd_opt(2019, 12, 31).unwrap()));
    }

    #[test]
    fn every_wrong_cell_is_named_by_its_column() {
        let errors =
            row(["inca", "", "union", "INCA RM", "Roma", "RSSMRA80A01H501X", "capo", "2020-13-01", "2019-01-01"])
                .unwrap_err();
        let columns: Vec<usize> = errors.iter().map(|e| e.column).collect();
        assert_eq!(columns, vec![1, 2, 3, 4, 6, 7, 8]);
        assert!(errors[2].reason.contains("patronato, caf, consulente, contact_center"), "{}", errors[2].reason);
    }

    #[test]
    fn a_period_that_ends_before_it_starts_is_refused() {
        let errors = row([
            "INCA",
            "INCA CGIL",
            "patronato",
            "R1",
            "Roma",
            "RSSMRA80A01H501U",
            "operatore",
            "2020-05-01",
            "2020-04-30",
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].column, 9);
    }

    #[test]
    fn codes_are_short_capitals_and_call_ids_are_plain() {
        assert!(OfficeCode::parse("A-1").is_ok());
        assert!(OfficeCode::parse("a").is_err());
        assert!(OfficeCode::parse("A@B").is_err());
        assert!(OfficeCode::parse(&"A".repeat(21)).is_err());
        assert_eq!(CallId::parse("call_2020-04-01.1").unwrap_err().0, "call_2020-04-01.1");
        assert_eq!(CallId::parse("C-803164-0001").unwrap().as_str(), "C-803164-0001");
    }
}
