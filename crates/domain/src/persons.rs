//! The institute's personal records (`docs/specs/registry-persons.md`): who each person is and where they can be
//! reached. Payments by transfer carry the name; the second half of a PIN is posted to the residence; anything sent
//! to "a contact on file" goes to the e-mail address and mobile number recorded here, never to one a requester typed.

use serde::{Deserialize, Serialize};

use crate::registry::CellError;
use crate::{CodiceFiscale, Date};

/// The header a persons file must start with, columns in this order.
pub const HEADER: [&str; 10] = [
    "codice_fiscale",
    "cognome",
    "nome",
    "data_nascita",
    "indirizzo",
    "cap",
    "comune",
    "provincia",
    "email",
    "cellulare",
];

/// One person's record, valid by the specification.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    /// Whose record it is.
    pub codice_fiscale: CodiceFiscale,
    /// Family name.
    pub cognome: String,
    /// Given name.
    pub nome: String,
    /// Date of birth, agreeing with the codice fiscale.
    pub data_nascita: Date,
    /// Where letters are posted, if the institute knows it.
    pub residence: Option<Residence>,
    /// The e-mail address on file.
    pub email: Option<String>,
    /// The mobile number on file, digits with an optional leading `+`.
    pub cellulare: Option<String>,
}

impl PersonRecord {
    /// "Nome Cognome", as a payment order and a letter name the person.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.nome, self.cognome)
    }

    /// Whether the institute can reach the person by e-mail or SMS.
    pub fn has_contact(&self) -> bool {
        self.email.is_some() || self.cellulare.is_some()
    }
}

impl std::fmt::Debug for PersonRecord {
    // Names, addresses and contacts are personal data: a debug print (a log line, a panic) shows the code alone.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonRecord").field("codice_fiscale", &self.codice_fiscale).finish_non_exhaustive()
    }
}

/// A residence on file: the address a letter is posted to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Residence {
    /// Street and number.
    pub indirizzo: String,
    /// Postal code, five digits.
    pub cap: String,
    /// Municipality.
    pub comune: String,
    /// Province code, or `EE` abroad.
    pub provincia: String,
}

/// Checks the header row; the error names the first column that differs.
pub fn check_header<'a>(cells: impl IntoIterator<Item = &'a str>) -> Result<(), CellError> {
    crate::registry::check_header_of(&HEADER, cells)
}

/// An e-mail address as Sportello accepts one: a non-empty local part of at most 64 characters, one `@`, a domain
/// of dot-separated non-empty labels, at most 254 characters, no spaces, controls or list separators.
pub fn parse_email(input: &str) -> Option<String> {
    let (local, domain) = input.split_once('@')?;
    let well_formed = input.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
        && !input.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'));
    well_formed.then(|| input.to_owned())
}

/// A mobile number as stored: 8 to 15 digits with an optional leading `+`.
pub fn parse_mobile(input: &str) -> Option<String> {
    let digits = input.strip_prefix('+').unwrap_or(input);
    let well_formed = (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    well_formed.then(|| input.to_owned())
}

/// Validates one data row (its cells, in header order) and returns every problem found, not just the first.
pub fn parse_row<'a>(cells: impl IntoIterator<Item = &'a str>) -> Result<PersonRecord, Vec<CellError>> {
    let cells: Vec<&str> = cells.into_iter().collect();
    let error = |column: usize, reason: String| CellError::in_file(&HEADER, column, reason);
    if cells.len() != HEADER.len() {
        return Err(vec![error(
            cells.len().min(HEADER.len()) + 1,
            format!("a row has {} cells, this one has {}", HEADER.len(), cells.len()),
        )]);
    }
    let mut errors = Vec::new();
    let codice_fiscale = CodiceFiscale::parse(cells[0]).map_err(|e| errors.push(error(1, e.to_string()))).ok();

    let name = |column: usize, errors: &mut Vec<CellError>| -> String {
        let value = cells[column - 1];
        let length = value.chars().count();
        if !(1..=70).contains(&length) {
            errors.push(error(column, format!("must have 1 to 70 characters, this one has {length}")));
        } else if let Some(c) =
            value.chars().find(|&c| !(c.is_alphabetic() || matches!(c, ' ' | '\'' | '’' | '-' | '.')))
        {
            errors.push(error(
                column,
                format!("'{c}' cannot stand in a name: write letters, spaces, apostrophes, hyphens or dots"),
            ));
        }
        value.to_owned()
    };
    let cognome = name(2, &mut errors);
    let nome = name(3, &mut errors);

    let data_nascita = match Date::parse_from_str(cells[3], "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            errors.push(error(4, format!("'{}' is not a date in the form 1980-01-31", cells[3])));
            None
        }
    };
    if let (Some(cf), Some(date)) = (codice_fiscale, data_nascita) {
        use chrono::Datelike as _;
        let (year, month, day, _) = cf.birth();
        let agrees = (date.year().rem_euclid(100), date.month(), date.day())
            == (i32::from(year), u32::from(month), u32::from(day));
        if !agrees {
            errors.push(error(
                4,
                format!(
                    "{date} does not agree with the codice fiscale, which gives the day {day:02}, month {month:02} and \
                     year ..{year:02}"
                ),
            ));
        }
    }

    let residence = residence(&cells, &mut errors);
    let email = match cells[8] {
        "" => None,
        value => parse_email(value).or_else(|| {
            errors.push(error(9, format!("'{value}' is not an e-mail address (name@example.it)")));
            None
        }),
    };
    let cellulare = match cells[9] {
        "" => None,
        value => parse_mobile(value).or_else(|| {
            errors.push(error(10, format!("'{value}' is not a mobile number: 8 to 15 digits, an optional leading +")));
            None
        }),
    };

    match (codice_fiscale, data_nascita) {
        (Some(codice_fiscale), Some(data_nascita)) if errors.is_empty() => {
            Ok(PersonRecord { codice_fiscale, cognome, nome, data_nascita, residence, email, cellulare })
        }
        _ => {
            errors.sort_by_key(|e| e.column);
            Err(errors)
        }
    }
}

/// The residence columns (5 to 8): all empty, or an address with its postal code, municipality and province.
fn residence(cells: &[&str], errors: &mut Vec<CellError>) -> Option<Residence> {
    let error = |column: usize, reason: String| CellError::in_file(&HEADER, column, reason);
    let [indirizzo, cap, comune, provincia] = [cells[4], cells[5], cells[6], cells[7]];
    let before = errors.len();
    if indirizzo.chars().count() > 120 {
        errors.push(error(5, "must have at most 120 characters".to_owned()));
    }
    let is_cap = cap.len() == 5 && cap.bytes().all(|b| b.is_ascii_digit());
    if !cap.is_empty() && !is_cap {
        errors.push(error(6, format!("'{cap}' is not a postal code of 5 digits")));
    }
    if comune.chars().count() > 70 {
        errors.push(error(7, "must have at most 70 characters".to_owned()));
    }
    let is_provincia = provincia.len() == 2 && provincia.bytes().all(|b| b.is_ascii_uppercase());
    if !provincia.is_empty() && !is_provincia {
        errors.push(error(8, format!("'{provincia}' is not a province: two capital letters, or EE abroad")));
    }
    if indirizzo.is_empty() {
        for (column, value) in [(6, cap), (7, comune), (8, provincia)] {
            if !value.is_empty() {
                errors.push(error(column, format!("'{value}' is given without an indirizzo: give both or neither")));
            }
        }
        return None;
    }
    for (column, value) in [(6, cap), (7, comune), (8, provincia)] {
        if value.is_empty() {
            errors.push(error(column, "is required when indirizzo is given".to_owned()));
        }
    }
    (errors.len() == before).then(|| Residence {
        indirizzo: indirizzo.to_owned(),
        cap: cap.to_owned(),
        comune: comune.to_owned(),
        provincia: provincia.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: &str) -> Result<PersonRecord, Vec<CellError>> {
        parse_row(line.split(','))
    }

    fn columns(line: &str) -> Vec<usize> {
        row(line).unwrap_err().iter().map(|e| e.column).collect()
    }

    #[test]
    fn the_specification_example_is_valid() {
        let rossi = row("RSSMRA80A01H501U,Rossi,Mario,1980-01-01,Via Appia Nuova 12,00183,Roma,RM,mario.rossi@example.it,+393331234567").unwrap();
        assert_eq!(rossi.full_name(), "Mario Rossi");
        assert_eq!(rossi.residence.as_ref().map(|r| r.comune.as_str()), Some("Roma"));
        assert!(rossi.has_contact());
        let martini = row("MRTMRA83T56A269B,Martini,Maria,1983-12-16,,,,,,").unwrap();
        assert_eq!((martini.residence, martini.email, martini.cellulare), (None, None, None));
        assert!(check_header(HEADER).is_ok());
    }

    #[test]
    fn each_broken_rule_names_its_column() {
        let cases = [
            ("a wrong check character", "RSSMRA80A01H501A,Rossi,Mario,1980-01-01,,,,,,", vec![1]),
            ("a digit in a name", "RSSMRA80A01H501U,R0ssi,Mario,1980-01-01,,,,,,", vec![2]),
            ("an empty given name", "RSSMRA80A01H501U,Rossi,,1980-01-01,,,,,,", vec![3]),
            ("a birth date the code does not give", "RSSMRA80A01H501U,Rossi,Mario,1980-01-02,,,,,,", vec![4]),
            ("a date in another form", "RSSMRA80A01H501U,Rossi,Mario,01/01/1980,,,,,,", vec![4]),
            (
                "an address without its postal code",
                "RSSMRA80A01H501U,Rossi,Mario,1980-01-01,Via Roma 1,,Roma,RM,,",
                vec![6],
            ),
            ("a postal code without an address", "RSSMRA80A01H501U,Rossi,Mario,1980-01-01,,00100,,,,", vec![6]),
            ("a province in lower case", "RSSMRA80A01H501U,Rossi,Mario,1980-01-01,Via Roma 1,00100,Roma,rm,,", vec![8]),
            ("an e-mail without domain", "RSSMRA80A01H501U,Rossi,Mario,1980-01-01,,,,,mario@,", vec![9]),
            ("a mobile number with spaces", "RSSMRA80A01H501U,Rossi,Mario,1980-01-01,,,,,,+39 333 1234567", vec![10]),
            ("a missing cell", "RSSMRA80A01H501U,Rossi,Mario,1980-01-01,,,,,", vec![10]),
        ];
        for (situation, line, expected) in cases {
            assert_eq!(columns(line), expected, "{situation}");
        }
        let error = &row("RSSMRA80A01H501U,Rossi,Mario,1980-01-01,,,,,mario@,").unwrap_err()[0];
        assert_eq!(error.column_name(), "email");
    }

    #[test]
    fn a_womans_birth_day_and_either_century_agree() {
        // 56 is the 16th, for a woman; 83 may be 1883 or 1983.
        assert!(row("MRTMRA83T56A269B,Martini,Maria,1983-12-16,,,,,,").is_ok());
        assert!(row("MRTMRA83T56A269B,Martini,Maria,1883-12-16,,,,,,").is_ok());
        assert_eq!(columns("MRTMRA83T56A269B,Martini,Maria,1983-12-56,,,,,,"), vec![4]);
    }

    #[test]
    fn names_take_accents_apostrophes_and_hyphens() {
        assert!(row("RSSMRA80A01H501U,D'Angelo-Rossì,Maria Grazia,1980-01-01,,,,,,").is_ok());
    }

    #[test]
    fn a_debug_print_shows_no_personal_data() {
        let rossi = row("RSSMRA80A01H501U,Rossi,Mario,1980-01-01,Via Appia Nuova 12,00183,Roma,RM,mario.rossi@example.it,+393331234567").unwrap();
        let printed = format!("{rossi:?}");
        assert!(!printed.contains("Rossi") && !printed.contains("Appia") && !printed.contains("example.it"));
    }
}
