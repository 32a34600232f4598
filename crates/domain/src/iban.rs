//! Bank account numbers for payment by transfer: ISO 13616 validation by `iban_validate`, plus the Italian CIN.
//!
//! An Italian IBAN carries, besides the international check digits, its own control letter (CIN) computed over the
//! bank code (ABI), branch code (CAB) and account number with the same tables as the codice fiscale. A mistyped
//! account that happens to pass the mod-97 check is still caught by the CIN.

use std::fmt;
use std::str::FromStr;

use iban::IbanLike;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::codice_fiscale::control_letter;

/// A valid IBAN, kept in its electronic form (no spaces, upper case).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Iban(iban::Iban);

/// Why a string is not an IBAN we can pay to.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IbanError {
    /// Length, characters, country format or check digits are wrong.
    #[error("not a valid IBAN: {0}")]
    Invalid(String),
    /// An Italian IBAN whose CIN does not match ABI, CAB and account number.
    #[error(
        "the Italian control letter (CIN, 5th character) is '{found}' but bank, branch and account give '{expected}'"
    )]
    Cin {
        /// The CIN found.
        found: char,
        /// The CIN the rest of the BBAN requires.
        expected: char,
    },
}

impl Iban {
    /// Parses an IBAN written with or without the usual groups of four, in either case.
    pub fn parse(input: &str) -> Result<Self, IbanError> {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        let parsed: iban::Iban = compact.parse().map_err(|e: iban::ParseIbanError| IbanError::Invalid(describe(&e)))?;
        if parsed.country_code() == "IT" {
            let bban = parsed.bban().as_bytes();
            let expected = control_letter(&bban[1..]);
            if bban[0] != expected {
                return Err(IbanError::Cin { found: char::from(bban[0]), expected: char::from(expected) });
            }
        }
        Ok(Self(parsed))
    }

    /// The electronic form: `IT60X0542811101000000123456`.
    pub fn electronic(&self) -> &str {
        self.0.electronic_str()
    }

    /// The two-letter country code.
    pub fn country_code(&self) -> &str {
        self.0.country_code()
    }

    /// The last four characters, the only part shown back to a person once stored.
    pub fn last4(&self) -> &str {
        let s = self.electronic();
        &s[s.len() - 4..]
    }
}

fn describe(e: &iban::ParseIbanError) -> String {
    match e {
        iban::ParseIbanError::InvalidBaseIban { .. } => {
            "it must start with two letters and two check digits, have the length of its country, \
             and its check digits must match (a character is probably mistyped)"
                .to_owned()
        }
        iban::ParseIbanError::InvalidBban(_) => "the account part does not have its country's format".to_owned(),
        iban::ParseIbanError::UnknownCountry(_) => "the country code is not one that issues IBANs".to_owned(),
    }
}

/// Printed in groups of four, as people read and write it.
impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Only the country and the last four characters: an IBAN is personal data and must not reach logs whole.
impl fmt::Debug for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iban({}…{})", self.country_code(), self.last4())
    }
}

impl FromStr for Iban {
    type Err = IbanError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Iban {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.electronic())
    }
}

impl<'de> Deserialize<'de> for Iban {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_italian_and_foreign_ibans_in_any_layout() {
        let it = Iban::parse("it60 x054 2811 1010 0000 0123 456").unwrap();
        assert_eq!(it.electronic(), "IT60X0542811101000000123456");
        assert_eq!(it.to_string(), "IT60 X054 2811 1010 0000 0123 456");
        assert_eq!(it.last4(), "3456");
        assert_eq!(format!("{it:?}"), "Iban(IT…3456)");
        assert!(Iban::parse("DE44500105175407324931").is_ok());
    }

    #[test]
    fn rejects_a_wrong_cin_even_with_valid_check_digits() {
        // Same account with CIN Y instead of X, check digits recomputed so that only the CIN is wrong.
        let bban = "Y0542811101000000123456";
        let digits: String = format!("{bban}IT00")
            .chars()
            .map(|c| if c.is_ascii_digit() { c.to_string() } else { (c as u32 - 'A' as u32 + 10).to_string() })
            .collect();
        let rem = digits.bytes().fold(0u32, |acc, d| (acc * 10 + u32::from(d - b'0')) % 97);
        let forged = format!("IT{:02}{bban}", 98 - rem);
        assert_eq!(Iban::parse(&forged).unwrap_err(), IbanError::Cin { found: 'Y', expected: 'X' });
    }

    #[test]
    fn rejects_mistyped_ibans_with_a_reason() {
        let err = Iban::parse("IT60X0542811101000000123457").unwrap_err();
        assert!(matches!(err, IbanError::Invalid(_)), "{err}");
        assert!(Iban::parse("IT60X05428111010000001234").is_err());
        assert!(Iban::parse("").is_err());
    }
}
