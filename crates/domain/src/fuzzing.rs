//! The properties the fuzz targets in `fuzz/` check, shared with the test that replays their corpus under
//! `cargo test`: each function takes arbitrary bytes and panics when a property fails, so a finding is a crash in
//! the fuzzer and a failing test in CI. Not part of the domain's interface.

use crate::{CodiceFiscale, CodiceFiscaleError, Iban};

/// The codice fiscale parser on any input: accepted codes display as they were typed (upper case, trimmed) and
/// parse back to the same value, their base form is a plain code of the same birth, and a rejection names a
/// position inside the code. Completing 15 arbitrary characters with their check character never panics either.
pub fn codice_fiscale(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    match CodiceFiscale::parse(&input) {
        Ok(cf) => {
            let shown = cf.to_string();
            assert_eq!(shown, input.trim().to_ascii_uppercase(), "an accepted code is kept as typed, in upper case");
            assert_eq!(CodiceFiscale::parse(&shown), Ok(cf), "{shown} parses back to itself");
            assert_eq!(CodiceFiscale::parse(&shown.to_ascii_lowercase()), Ok(cf), "case does not matter");
            assert_eq!(
                CodiceFiscale::with_check_character(&shown[..15]),
                Ok(cf),
                "the check character is the one computed"
            );
            let (_, month, day, _) = cf.birth();
            assert!((1..=12).contains(&month) && (1..=31).contains(&day), "{shown}: birth {month}/{day}");
            let base = cf.base_form();
            assert_eq!(base.omocodia_level(), 0, "{shown}: the base form has no omocodia letter");
            assert_eq!(base.birth(), cf.birth(), "{shown}: omocodia does not change the birth");
            assert_eq!(CodiceFiscale::parse(base.as_str()), Ok(base), "{shown}: the base form is valid");
        }
        Err(e) => {
            match e {
                CodiceFiscaleError::Length(n) => assert_ne!(n, 16, "rejected for its length with 16 characters"),
                CodiceFiscaleError::Character { position, .. } => {
                    assert!((1..=16).contains(&position), "position {position} outside the code")
                }
                CodiceFiscaleError::Day(day) => assert!(!(1..=31).contains(&day) && !(41..=71).contains(&day)),
                CodiceFiscaleError::CheckCharacter { found, expected } => assert_ne!(found, expected),
            }
            assert!(!e.to_string().is_empty());
        }
    }
    match CodiceFiscale::with_check_character(&input) {
        Ok(cf) => assert_eq!(cf.as_str()[..15], input.to_ascii_uppercase(), "the 15 characters are kept"),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// The IBAN parser the portal uses for the citizen's account, on any input: an accepted IBAN's electronic form is
/// the input without white space, in upper case; it and the printed form parse back to the same IBAN; its debug
/// form hides all but the country and the last four characters.
pub fn iban(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    match Iban::parse(&input) {
        Ok(iban) => {
            let electronic = iban.electronic();
            let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
            assert_eq!(electronic, compact.to_ascii_uppercase(), "the electronic form is the input, compacted");
            assert!((15..=34).contains(&electronic.len()), "{electronic}: length");
            assert!(electronic.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()), "{electronic}");
            assert_eq!(Iban::parse(electronic).as_ref(), Ok(&iban), "{electronic} parses back");
            assert_eq!(Iban::parse(&iban.to_string()).as_ref(), Ok(&iban), "the printed form {iban} parses back");
            assert_eq!(iban.country_code(), &electronic[..2]);
            assert_eq!(iban.last4(), &electronic[electronic.len() - 4..]);
            let debug = format!("{iban:?}");
            assert!(!debug.contains(&electronic[4..electronic.len() - 4]), "{debug} shows the account");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
