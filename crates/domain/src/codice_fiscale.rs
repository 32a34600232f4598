//! The codice fiscale of a natural person (DM 23 December 1976; DPR 605/1973), validated on construction.
//!
//! A code has 16 characters: six letters for surname and name, two digits for the year of birth, a letter for the
//! month, two digits for the day (plus 40 for women), a letter and three digits for the place of birth, and a check
//! character. When two people would share a code, the Agenzia delle Entrate replaces digits from the right with
//! letters (omocodia); such codes are as valid as the original and are kept as issued.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Letters that stand for the digits 0–9 in omocodic codes.
const OMOCODIA_LETTERS: &[u8; 10] = b"LMNPQRSTUV";
/// Letters for the months January to December.
const MONTH_LETTERS: &[u8; 12] = b"ABCDEHLMPRST";
/// Zero-based positions that hold digits in a plain code and may hold omocodia letters instead.
const DIGIT_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];

/// Values of characters in odd (1st, 3rd, …) positions, for `0`–`9` then `A`–`Z`.
/// The same table serves the CIN of Italian bank accounts.
pub(crate) const ODD_VALUES: [u8; 36] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0-9
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23, // A-Z
];

/// Value of an upper-case alphanumeric character in an even position: digits 0–9, letters 0–25.
pub(crate) fn even_value(c: u8) -> u8 {
    if c.is_ascii_digit() { c - b'0' } else { c - b'A' }
}

/// Value of an upper-case alphanumeric character in an odd position.
pub(crate) fn odd_value(c: u8) -> u8 {
    if c.is_ascii_digit() { ODD_VALUES[usize::from(c - b'0')] } else { ODD_VALUES[10 + usize::from(c - b'A')] }
}

/// The control letter over upper-case alphanumeric characters, odd positions by the odd table.
pub(crate) fn control_letter(chars: &[u8]) -> u8 {
    let sum: u32 =
        chars.iter().enumerate().map(|(i, &c)| u32::from(if i % 2 == 0 { odd_value(c) } else { even_value(c) })).sum();
    b'A' + (sum % 26) as u8
}

/// A valid codice fiscale of a natural person, in upper case, as issued (omocodic letters kept).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodiceFiscale([u8; 16]);

/// Why a string is not a valid codice fiscale. Positions count from 1, as a person reads the code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodiceFiscaleError {
    /// The code does not have 16 characters.
    #[error("a codice fiscale has 16 characters, this one has {0}")]
    Length(usize),
    /// A character is not allowed where it stands.
    #[error("character {position} ('{found}') should be {expected}")]
    Character {
        /// 1-based position of the character.
        position: usize,
        /// The character found.
        found: char,
        /// What may stand there, in words.
        expected: &'static str,
    },
    /// The day of birth (after undoing omocodia) is not 1–31 or, for women, 41–71.
    #[error("characters 10-11 give day {0}, which is neither 01-31 (men) nor 41-71 (women)")]
    Day(u8),
    /// Every character is well placed but the check character does not match: one is mistyped.
    #[error(
        "the check character (16th) is '{found}' but the first 15 characters give '{expected}': one of them is mistyped"
    )]
    CheckCharacter {
        /// The check character found.
        found: char,
        /// The check character the first 15 characters require.
        expected: char,
    },
}

/// Copies `input` (already of the right length) into `code` in upper case, refusing anything but letters and digits.
fn uppercase_into(input: &str, code: &mut [u8; 16]) -> Result<(), CodiceFiscaleError> {
    for (i, c) in input.chars().enumerate() {
        if !c.is_ascii_alphanumeric() {
            return Err(CodiceFiscaleError::Character { position: i + 1, found: c, expected: "a letter or a digit" });
        }
        code[i] = c.to_ascii_uppercase() as u8;
    }
    Ok(())
}

impl CodiceFiscale {
    /// Parses and validates a codice fiscale, ignoring case and surrounding white space.
    pub fn parse(input: &str) -> Result<Self, CodiceFiscaleError> {
        let trimmed = input.trim();
        let count = trimmed.chars().count();
        if count != 16 {
            return Err(CodiceFiscaleError::Length(count));
        }
        let mut code = [0u8; 16];
        uppercase_into(trimmed, &mut code)?;
        Self::check_structure(&code)?;
        let expected = control_letter(&code[..15]);
        if code[15] != expected {
            return Err(CodiceFiscaleError::CheckCharacter {
                found: char::from(code[15]),
                expected: char::from(expected),
            });
        }
        Ok(Self(code))
    }

    /// Completes 15 structurally valid characters with their check character.
    pub fn with_check_character(first15: &str) -> Result<Self, CodiceFiscaleError> {
        let count = first15.chars().count();
        if count != 15 {
            return Err(CodiceFiscaleError::Length(count + 1));
        }
        // The characters are checked before the check character is computed: its tables cover letters and digits
        // only, and anything else made them index out of range.
        let mut code = [b'A'; 16];
        uppercase_into(first15, &mut code)?;
        Self::check_structure(&code)?;
        code[15] = control_letter(&code[..15]);
        Ok(Self(code))
    }

    fn check_structure(code: &[u8; 16]) -> Result<(), CodiceFiscaleError> {
        let wrong = |i: usize, expected: &'static str| CodiceFiscaleError::Character {
            position: i + 1,
            found: char::from(code[i]),
            expected,
        };
        for i in (0..6).chain([11, 15]) {
            if !code[i].is_ascii_uppercase() {
                return Err(wrong(i, "a letter"));
            }
        }
        for i in DIGIT_POSITIONS {
            let c = code[i];
            if !(c.is_ascii_digit() || OMOCODIA_LETTERS.contains(&c)) {
                return Err(wrong(i, "a digit, or one of the letters L M N P Q R S T U V that replace digits"));
            }
        }
        if !MONTH_LETTERS.contains(&code[8]) {
            return Err(wrong(8, "a month letter: A B C D E H L M P R S T"));
        }
        let day = Self::digit(code[9]) * 10 + Self::digit(code[10]);
        if !(1..=31).contains(&day) && !(41..=71).contains(&day) {
            return Err(CodiceFiscaleError::Day(day));
        }
        Ok(())
    }

    /// The numeric value of a digit position, undoing omocodia.
    fn digit(c: u8) -> u8 {
        match OMOCODIA_LETTERS.iter().position(|&l| l == c) {
            Some(d) => d as u8,
            None => c - b'0',
        }
    }

    /// The code as a string slice, upper case.
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// How many digit positions carry omocodia letters (0 for a plain code, up to 7).
    pub fn omocodia_level(&self) -> usize {
        DIGIT_POSITIONS.iter().filter(|&&i| self.0[i].is_ascii_uppercase()).count()
    }

    /// The same person's code with every omocodia letter turned back into its digit and the check recomputed.
    pub fn base_form(&self) -> Self {
        let mut code = self.0;
        for i in DIGIT_POSITIONS {
            code[i] = b'0' + Self::digit(code[i]);
        }
        code[15] = control_letter(&code[..15]);
        Self(code)
    }

    /// Birth year within its century (00–99), day of birth (1–31) and whether the code is a woman's.
    pub fn birth(&self) -> (u8, u8, u8, bool) {
        let year = Self::digit(self.0[6]) * 10 + Self::digit(self.0[7]);
        let month = MONTH_LETTERS.iter().position(|&m| m == self.0[8]).unwrap_or(0) as u8 + 1;
        let day = Self::digit(self.0[9]) * 10 + Self::digit(self.0[10]);
        (year, month, if day > 40 { day - 40 } else { day }, day > 40)
    }
}

impl fmt::Display for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodiceFiscale({})", self.as_str())
    }
}

impl FromStr for CodiceFiscale {
    type Err = CodiceFiscaleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CodiceFiscale {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CodiceFiscale {
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
    fn known_codes_are_accepted() {
        for code in ["RSSMRA80A01H501U", "MRTMRA83T56A269B", "CCCFBA85D03L21VE"] {
            let cf = CodiceFiscale::parse(code).unwrap();
            assert_eq!(cf.as_str(), code);
        }
    }

    #[test]
    fn lower_case_and_spaces_are_normalised() {
        let cf = CodiceFiscale::parse("  rssmra80a01h501u ").unwrap();
        assert_eq!(cf.to_string(), "RSSMRA80A01H501U");
    }

    #[test]
    fn omocodic_code_keeps_its_letters_and_knows_its_base() {
        let cf = CodiceFiscale::parse("CCCFBA85D03L21VE").unwrap();
        assert_eq!(cf.omocodia_level(), 1);
        assert_eq!(cf.base_form().as_str()[..15], *"CCCFBA85D03L219");
        assert_eq!(cf.birth(), (85, 4, 3, false));
        assert_eq!(CodiceFiscale::parse("MRTMRA83T56A269B").unwrap().birth(), (83, 12, 16, true));
    }

    #[test]
    fn errors_say_which_character_and_why() {
        assert_eq!(CodiceFiscale::parse("RSSMRA80A01H501").unwrap_err(), CodiceFiscaleError::Length(15));
        let err = CodiceFiscale::parse("RSSMRA80Z01H501U").unwrap_err();
        assert_eq!(err.to_string(), "character 9 ('Z') should be a month letter: A B C D E H L M P R S T");
        let err = CodiceFiscale::parse("RSSMRA80A01H501X").unwrap_err();
        assert_eq!(
            err,
            CodiceFiscaleError::CheckCharacter { found: 'X', expected: 'U' },
            "the check character names what the rest requires"
        );
        let err = CodiceFiscale::parse("RSSMRA80A35H501U").unwrap_err();
        assert_eq!(err, CodiceFiscaleError::Day(35));
        let err = CodiceFiscale::parse("RSSMRA8-A01H501U").unwrap_err();
        assert!(matches!(err, CodiceFiscaleError::Character { position: 8, found: '-', .. }), "{err}");
        let err = CodiceFiscale::parse("RSSMRA80A01H5A1U").unwrap_err();
        assert!(matches!(err, CodiceFiscaleError::Character { position: 14, found: 'A', .. }), "{err}");
    }

    #[test]
    fn completing_characters_that_are_not_letters_or_digits_is_an_error_not_a_panic() {
        // Found by the codice_fiscale fuzz target: the check character was computed before the characters were
        // checked, and its tables panic on anything but letters and digits.
        let err = CodiceFiscale::with_check_character("RSSMRA80A01H50!").unwrap_err();
        assert!(matches!(err, CodiceFiscaleError::Character { position: 15, found: '!', .. }), "{err}");
        let err = CodiceFiscale::with_check_character("               ").unwrap_err();
        assert!(matches!(err, CodiceFiscaleError::Character { position: 1, found: ' ', .. }), "{err}");
        assert_eq!(CodiceFiscale::with_check_character("RSSMRA80A35H501"), Err(CodiceFiscaleError::Day(35)));
        assert_eq!(
            CodiceFiscale::with_check_character("RSSMRÀ80A01H501"),
            Err(CodiceFiscaleError::Character { position: 6, found: 'À', expected: "a letter or a digit" })
        );
    }

    /// Structurally valid first 15 characters, with omocodia letters drawn at random in digit positions.
    fn first15() -> impl Strategy<Value = String> {
        (
            "[A-Z]{6}",
            0u8..100,
            0usize..12,
            prop_oneof![1u8..=31, 41u8..=71],
            "[A-Z]",
            0u16..1000,
            proptest::collection::vec(any::<bool>(), 7),
        )
            .prop_map(|(names, year, month, day, place, town, omocodic)| {
                let mut s = format!("{names}{year:02}{}{day:02}{place}{town:03}", char::from(MONTH_LETTERS[month]))
                    .into_bytes();
                for (flag, i) in omocodic.into_iter().zip(DIGIT_POSITIONS) {
                    if flag {
                        s[i] = OMOCODIA_LETTERS[usize::from(s[i] - b'0')];
                    }
                }
                String::from_utf8(s).unwrap()
            })
    }

    proptest! {
        #[test]
        fn completed_codes_parse_and_round_trip(s in first15()) {
            let cf = CodiceFiscale::with_check_character(&s).unwrap();
            prop_assert_eq!(&cf.as_str()[..15], s.as_str());
            prop_assert_eq!(CodiceFiscale::parse(&cf.as_str().to_lowercase()).unwrap(), cf);
        }

        #[test]
        fn any_one_character_change_is_rejected(s in first15(), pos in 0usize..16, replacement in "[A-Z0-9]") {
            let cf = CodiceFiscale::with_check_character(&s).unwrap();
            let mut mutated = cf.as_str().as_bytes().to_vec();
            let r = replacement.as_bytes()[0];
            prop_assume!(mutated[pos] != r);
            mutated[pos] = r;
            let mutated = String::from_utf8(mutated).unwrap();
            prop_assert!(CodiceFiscale::parse(&mutated).is_err(), "{} accepted", mutated);
        }

        #[test]
        fn omocodic_forms_share_the_base_form(s in first15()) {
            let cf = CodiceFiscale::with_check_character(&s).unwrap();
            let base = cf.base_form();
            prop_assert_eq!(base.omocodia_level(), 0);
            prop_assert_eq!(base.birth(), cf.birth());
            prop_assert!(CodiceFiscale::parse(base.as_str()).is_ok());
        }
    }
}
