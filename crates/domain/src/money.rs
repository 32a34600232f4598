//! Money as a whole number of euro cents: amounts, incomes and spending limits never touch floating point.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// An amount in euro cents. Negative amounts exist only as differences; the registry and the law use non-negative ones.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(i64);

/// Why a string is not an amount of euros.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    /// Not a decimal number with a dot and at most two fractional digits.
    #[error("'{0}' is not an amount in euros: write digits, optionally a dot and at most two decimals (50000.00)")]
    Format(String),
    /// Too large to be an amount this system handles.
    #[error("'{0}' is too large an amount")]
    Overflow(String),
}

impl Cents {
    /// Zero euros.
    pub const ZERO: Cents = Cents(0);

    /// An amount from a number of cents.
    pub const fn new(cents: i64) -> Self {
        Self(cents)
    }

    /// An amount from a whole number of euros.
    pub const fn from_euros(euros: i64) -> Self {
        Self(euros * 100)
    }

    /// The number of cents.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// Parses a non-negative decimal like `600`, `600.5` or `50000.00` (dot separator, at most two decimals).
    pub fn parse(input: &str) -> Result<Self, MoneyError> {
        let format_error = || MoneyError::Format(input.to_owned());
        let (whole, frac) = match input.split_once('.') {
            Some((w, f)) => (w, f),
            None => (input, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || frac.len() > 2 {
            return Err(format_error());
        }
        if input.contains('.') && frac.is_empty() {
            return Err(format_error());
        }
        let overflow = || MoneyError::Overflow(input.to_owned());
        let euros: i64 = whole.parse().map_err(|_| overflow())?;
        let mut cents: i64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| format_error())? };
        if frac.len() == 1 {
            cents *= 10;
        }
        euros.checked_mul(100).and_then(|c| c.checked_add(cents)).map(Self).ok_or_else(overflow)
    }

    /// The sum, or `None` if it would overflow.
    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }

    /// Formats the amount the Italian way, `50.000,00 €`.
    pub fn to_italian(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{},{:02} €", self.grouped_euros('.'), self.0.unsigned_abs() % 100)
    }

    /// Formats the amount the English way, `€50,000.00`.
    pub fn to_english(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}€{}.{:02}", self.grouped_euros(','), self.0.unsigned_abs() % 100)
    }

    /// The whole euros of the absolute amount, in groups of three digits joined by `separator`.
    fn grouped_euros(self, separator: char) -> String {
        let euros = (self.0.unsigned_abs() / 100).to_string();
        let mut grouped = String::with_capacity(euros.len() + euros.len() / 3);
        for (i, ch) in euros.chars().enumerate() {
            if i > 0 && (euros.len() - i).is_multiple_of(3) {
                grouped.push(separator);
            }
            grouped.push(ch);
        }
        grouped
    }
}

/// Formats as a plain decimal with a dot and two decimals (`600.00`), as files and APIs exchange amounts.
impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Debug for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} EUR")
    }
}

impl FromStr for Cents {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Serialised as the decimal string, so that no consumer reads it as a float.
impl Serialize for Cents {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cents {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_registry_and_scheme_forms() {
        assert_eq!(Cents::parse("50000.00").unwrap(), Cents::new(5_000_000));
        assert_eq!(Cents::parse("50000.01").unwrap(), Cents::new(5_000_001));
        assert_eq!(Cents::parse("600").unwrap(), Cents::from_euros(600));
        assert_eq!(Cents::parse("0.5").unwrap(), Cents::new(50));
        assert_eq!(Cents::parse("203400000.00").unwrap(), Cents::from_euros(203_400_000));
    }

    #[test]
    fn rejects_what_is_not_a_plain_amount() {
        for bad in ["", ".5", "5.", "1,5", "1.234", "-3", "1e3", " 5", "12.3.4", "99999999999999999999"] {
            assert!(Cents::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn formats_for_people_and_for_files() {
        assert_eq!(Cents::from_euros(600).to_string(), "600.00");
        assert_eq!(Cents::new(5_000_001).to_italian(), "50.000,01 €");
        assert_eq!(Cents::from_euros(2_160_000_000).to_italian(), "2.160.000.000,00 €");
        assert_eq!(Cents::new(7).to_italian(), "0,07 €");
        assert_eq!(Cents::from_euros(600).to_italian(), "600,00 €");
        assert_eq!(Cents::from_euros(600).to_english(), "€600.00");
        assert_eq!(Cents::new(5_000_001).to_english(), "€50,000.01");
        assert_eq!(Cents::new(-7).to_english(), "-€0.07");
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(c in 0i64..i64::MAX / 2) {
            prop_assert_eq!(Cents::parse(&Cents::new(c).to_string()).unwrap(), Cents::new(c));
        }
    }
}
