//! The INPS PIN: a random 16-character code issued by the system, whose first 8 characters (the "simplified PIN")
//! are enough to apply for the COVID-19 indemnities; its generation, the normalisation of what a citizen types, and
//! its Argon2id hashing.
//!
//! Hashing is CPU- and memory-heavy, so the async wrappers run it on tokio's blocking pool, never on the reactor,
//! and a semaphore bounds how many hashes run at once (each one holds [`PinHasher::M_COST_KIB`] of memory).
//! `docs/SECURITY.md` ("INPS PIN") explains the parameters.

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::PasswordHasher as _;
use argon2::password_hash::PasswordVerifier as _;
use argon2::{Algorithm, Argon2, Params, Version};
use rand::TryRng as _;
use tokio::sync::Semaphore;

/// The symbols a PIN is made of: digits and upper-case letters without the look-alikes 0, O, 1, I and L.
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Length of the full PIN.
pub const FULL_LEN: usize = 16;

/// Length of the simplified PIN, the first half of the full one.
pub const SIMPLIFIED_LEN: usize = 8;

/// How many PINs a person may hold at once: a PIN's first symbol names its slot (its place in [`ALPHABET`], modulo
/// this), so that a login is checked against one stored hash however many PINs the person holds.
pub const SLOTS: u8 = sportello_store::credentials::SLOTS;

/// The slot the first symbol of a PIN names (symbols outside [`ALPHABET`] name slot 0; parsing rejects them).
fn slot_of(code: &str) -> u8 {
    let place = code.bytes().next().and_then(|first| ALPHABET.iter().position(|&b| b == first)).unwrap_or(0);
    // `place` is below 31, so the remainder fits.
    (place % usize::from(SLOTS)) as u8
}

/// Longest input [`EnteredPin::parse`] looks at: anything longer is rejected before any work is done.
const MAX_INPUT_LEN: usize = 64;

/// What can go wrong with a PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// The PIN typed has neither 8 nor 16 characters.
    #[error("the PIN has {found} characters once spaces are removed; it must have 8 (simplified PIN) or 16 (full PIN)")]
    WrongLength {
        /// How many characters it has (without spaces), or more than 64.
        found: usize,
    },
    /// The PIN typed has a character no PIN contains.
    #[error("character {position} of the PIN is not one a PIN contains (digits 2-9 and letters other than I, L and O)")]
    InvalidCharacter {
        /// Its 1-based position, spaces not counted.
        position: usize,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),
    /// Argon2 refused its input (a malformed parameter set or output).
    #[error("Argon2 failed: {0}")]
    Hash(String),
    /// The blocking task that hashed was cancelled or panicked.
    #[error("the PIN hashing task did not complete: {0}")]
    Task(String),
}

impl PinError {
    /// The message to show the citizen, in Italian; it never contains the PIN.
    pub fn user_message(&self) -> &'static str {
        match self {
            PinError::WrongLength { .. } => {
                "Il PIN deve avere 8 caratteri (PIN semplificato) o 16 caratteri (PIN completo). Gli spazi non contano."
            }
            PinError::InvalidCharacter { .. } => {
                "Il PIN contiene un carattere non valido: i PIN INPS usano le cifre da 2 a 9 e le lettere \
                 tranne I, L e O. Controlli di averlo copiato correttamente."
            }
            PinError::Rng(_) | PinError::Hash(_) | PinError::Task(_) => {
                "Il servizio non è al momento disponibile. Riprovi tra qualche minuto."
            }
        }
    }
}

/// An INPS PIN of 16 characters, freshly issued. It is never printed: `Debug` is redacted, there is no `Display`,
/// and the characters are reachable only through [`Pin::expose`] and its halves, for the delivery text.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin {
    /// 16 characters of [`ALPHABET`] (ASCII, so slicing at 8 is on a character boundary).
    code: String,
}

impl Pin {
    /// Draws a new PIN from the operating system's CSPRNG, uniformly over [`ALPHABET`].
    pub fn generate() -> Result<Self, PinError> {
        // 31 does not divide 256: bytes from 248 = 8 × 31 up are rejected so that every symbol is equally likely.
        const LIMIT: u8 = 8 * ALPHABET.len() as u8;
        let mut code = String::with_capacity(FULL_LEN);
        let mut buffer = [0u8; 32];
        while code.len() < FULL_LEN {
            rand::rngs::SysRng.try_fill_bytes(&mut buffer).map_err(|e| PinError::Rng(e.to_string()))?;
            for &byte in buffer.iter().filter(|&&b| b < LIMIT).take(FULL_LEN - code.len()) {
                code.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
            }
        }
        Ok(Pin { code })
    }

    /// A new PIN whose first symbol names `slot` (below [`SLOTS`]): the first symbol is drawn uniformly among the
    /// symbols that name it, the others as in [`Pin::generate`].
    pub fn generate_for_slot(slot: u8) -> Result<Self, PinError> {
        let symbols: Vec<u8> = ALPHABET
            .iter()
            .enumerate()
            .filter(|(place, _)| place % usize::from(SLOTS) == usize::from(slot % SLOTS))
            .map(|(_, &symbol)| symbol)
            .collect();
        // Bytes from the largest multiple of the count up are rejected, so that every symbol is equally likely.
        let limit = 256 - 256 % symbols.len();
        let mut byte = [0u8; 1];
        let first = loop {
            rand::rngs::SysRng.try_fill_bytes(&mut byte).map_err(|e| PinError::Rng(e.to_string()))?;
            if usize::from(byte[0]) < limit {
                break symbols[usize::from(byte[0]) % symbols.len()];
            }
        };
        let mut pin = Self::generate()?;
        pin.code.replace_range(..1, char::from(first).encode_utf8(&mut [0; 4]));
        Ok(pin)
    }

    /// The slot this PIN is stored in.
    pub fn slot(&self) -> u8 {
        slot_of(&self.code)
    }

    /// All 16 characters, for the delivery text only.
    pub fn expose(&self) -> &str {
        &self.code
    }

    /// The first 8 characters: the simplified PIN, delivered first.
    pub fn first_half(&self) -> &str {
        &self.code[..SIMPLIFIED_LEN]
    }

    /// The last 8 characters, delivered separately.
    pub fn second_half(&self) -> &str {
        &self.code[SIMPLIFIED_LEN..]
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// Which PIN a citizen typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinKind {
    /// The 8-character simplified PIN, checked against the credential's simplified hash.
    Simplified,
    /// The 16-character full PIN, checked against the credential's full hash.
    Full,
}

/// A PIN as typed at login, normalised (upper case, no spaces) and checked for length and alphabet; whether it is
/// the right one only [`PinHasher::verify`] can say. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct EnteredPin {
    kind: PinKind,
    code: String,
}

impl EnteredPin {
    /// Normalises what was typed: case is ignored and so are spaces; 8 or 16 characters of [`ALPHABET`] remain.
    pub fn parse(input: &str) -> Result<Self, PinError> {
        if input.len() > MAX_INPUT_LEN {
            return Err(PinError::WrongLength { found: input.chars().filter(|c| !c.is_whitespace()).count() });
        }
        let code: String = input.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
        let found = code.chars().count();
        let kind = match found {
            SIMPLIFIED_LEN => PinKind::Simplified,
            FULL_LEN => PinKind::Full,
            _ => return Err(PinError::WrongLength { found }),
        };
        if let Some(position) = code.bytes().position(|b| !ALPHABET.contains(&b)) {
            // The code is ASCII up to the first byte outside the alphabet, so the byte index is the character's.
            return Err(PinError::InvalidCharacter { position: position + 1 });
        }
        Ok(EnteredPin { kind, code })
    }

    /// Whether it is a simplified or a full PIN.
    pub fn kind(&self) -> PinKind {
        self.kind
    }

    /// The slot of the PIN it would be, named by its first symbol: the one stored credential it is checked against.
    pub fn slot(&self) -> u8 {
        slot_of(&self.code)
    }

    /// The normalised characters, to hand to [`PinHasher::verify`].
    pub fn expose(&self) -> &str {
        &self.code
    }
}

impl fmt::Debug for EnteredPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnteredPin").field("kind", &self.kind).field("code", &"<redacted>").finish()
    }
}

/// Argon2id with Sportello's parameters: hashes PINs into PHC strings and verifies candidates against them.
///
/// Cloning is cheap and clones share the bound on concurrent hashes.
#[derive(Clone)]
pub struct PinHasher {
    params: Params,
    /// The hash of a PIN drawn at start-up and forgotten, with the same parameters as real ones: what an unknown
    /// codice fiscale is verified against, so that it costs the same time as a known one.
    dummy: Arc<str>,
    /// Bounds the hashes in flight on the blocking pool, and so the memory they hold.
    permits: Arc<Semaphore>,
}

impl PinHasher {
    /// Memory per hash, in KiB (see `docs/SECURITY.md`, "INPS PIN").
    pub const M_COST_KIB: u32 = 16 * 1024;
    /// Passes over that memory.
    pub const T_COST: u32 = 1;
    /// Lanes; one, because the many concurrent logins already keep every core busy.
    pub const P_COST: u32 = 1;

    /// Sportello's parameters, checked at compile time.
    const PARAMS: Params = match Params::new(Self::M_COST_KIB, Self::T_COST, Self::P_COST, None) {
        Ok(params) => params,
        Err(_) => panic!("invalid Argon2 parameters"),
    };

    /// A hasher with Sportello's parameters, running at most as many hashes at once as there are cores.
    pub fn new() -> Result<Self, PinError> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::with_params(Self::PARAMS, cores)
    }

    /// A hasher with other parameters (tests, benchmarks, a future upgrade) and at most `concurrency` hashes at once.
    pub fn with_params(params: Params, concurrency: usize) -> Result<Self, PinError> {
        let mut hasher =
            PinHasher { params, dummy: Arc::from(""), permits: Arc::new(Semaphore::new(concurrency.max(1))) };
        let forgotten = Pin::generate()?;
        hasher.dummy = Arc::from(hasher.hash(forgotten.first_half())?);
        Ok(hasher)
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> &Params {
        &self.params
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes a PIN (or half of one) into a PHC string with a fresh random salt. CPU-heavy: in async code use
    /// [`PinHasher::hash_blocking`].
    pub fn hash(&self, pin: &str) -> Result<String, PinError> {
        self.argon2()
            .hash_password(pin.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| PinError::Hash(e.to_string()))
    }

    /// Whether `candidate` is the PIN hashed in `phc` (with the parameters `phc` names); a malformed `phc` is no
    /// match. CPU-heavy: in async code use [`PinHasher::verify_blocking`].
    pub fn verify(&self, candidate: &str, phc: &str) -> bool {
        match argon2::password_hash::phc::PasswordHash::new(phc) {
            Ok(hash) => self.argon2().verify_password(candidate.as_bytes(), &hash).is_ok(),
            Err(e) => {
                tracing::error!(error = %e, "a stored PIN hash is not a valid PHC string");
                false
            }
        }
    }

    /// Verifies against `phc` or, when there is none (unknown codice fiscale, no PIN issued), against the dummy
    /// hash and answers `false`, spending the same time either way so that timing does not tell whether a person
    /// exists.
    pub fn verify_or_dummy(&self, candidate: &str, phc: Option<&str>) -> bool {
        match phc {
            Some(phc) => self.verify(candidate, phc),
            None => {
                let _ = self.verify(candidate, &self.dummy);
                false
            }
        }
    }

    /// [`PinHasher::hash`] on the blocking pool.
    pub async fn hash_blocking(&self, pin: String) -> Result<String, PinError> {
        let hasher = self.clone();
        self.run_blocking(move || hasher.hash(&pin)).await?
    }

    /// [`PinHasher::verify`] on the blocking pool; a task that does not complete is no match.
    pub async fn verify_blocking(&self, candidate: String, phc: String) -> bool {
        let hasher = self.clone();
        self.run_blocking(move || hasher.verify(&candidate, &phc)).await.unwrap_or(false)
    }

    /// [`PinHasher::verify_or_dummy`] on the blocking pool; a task that does not complete is no match.
    pub async fn verify_or_dummy_blocking(&self, candidate: String, phc: Option<String>) -> bool {
        let hasher = self.clone();
        self.run_blocking(move || hasher.verify_or_dummy(&candidate, phc.as_deref())).await.unwrap_or(false)
    }

    /// Runs `work` on the blocking pool once a permit is free; waiting for one costs no thread.
    async fn run_blocking<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, PinError> {
        let permit = Arc::clone(&self.permits).acquire_owned().await.map_err(|e| PinError::Task(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| PinError::Task(e.to_string()))
    }
}

impl fmt::Debug for PinHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinHasher")
            .field("m_cost_kib", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .field("concurrency_available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters so the tests stay fast; the production ones are exercised by the bench.
    fn cheap() -> PinHasher {
        PinHasher::with_params(Params::new(64, 1, 1, None).unwrap(), 2).unwrap()
    }

    #[test]
    fn generated_pins_have_sixteen_symbols_of_the_alphabet_and_differ() {
        let pins: Vec<Pin> = (0..200).map(|_| Pin::generate().unwrap()).collect();
        for pin in &pins {
            assert_eq!(pin.expose().len(), FULL_LEN);
            assert!(pin.expose().bytes().all(|b| ALPHABET.contains(&b)), "symbol outside the alphabet");
            assert_eq!(format!("{}{}", pin.first_half(), pin.second_half()), pin.expose());
            assert_eq!(pin.first_half().len(), SIMPLIFIED_LEN);
        }
        let distinct: std::collections::HashSet<&str> = pins.iter().map(Pin::expose).collect();
        assert_eq!(distinct.len(), pins.len());
    }

    #[test]
    fn a_pin_for_a_slot_names_that_slot_and_its_typed_form_names_it_too() {
        for slot in 0..SLOTS {
            for _ in 0..50 {
                let pin = Pin::generate_for_slot(slot).unwrap();
                assert_eq!(pin.slot(), slot);
                assert_eq!(pin.expose().len(), FULL_LEN);
                assert!(pin.expose().bytes().all(|b| ALPHABET.contains(&b)));
                assert_eq!(EnteredPin::parse(pin.first_half()).unwrap().slot(), slot);
                assert_eq!(EnteredPin::parse(&pin.expose().to_lowercase()).unwrap().slot(), slot);
            }
        }
        // Every symbol names some slot, and each slot is named by seven or eight of the 31.
        let per_slot: Vec<usize> = (0..SLOTS)
            .map(|slot| ALPHABET.iter().filter(|&&b| slot_of(&char::from(b).to_string()) == slot).count())
            .collect();
        assert_eq!(per_slot, vec![8, 8, 8, 7]);
    }

    #[test]
    fn every_symbol_of_the_alphabet_is_drawn() {
        // 400 PINs are 6,400 draws: missing one of 31 symbols has probability below 31 × (30/31)^6400 ≈ 1e-89.
        let drawn: std::collections::HashSet<u8> =
            (0..400).flat_map(|_| Pin::generate().unwrap().expose().as_bytes().to_vec()).collect();
        assert_eq!(drawn.len(), ALPHABET.len());
    }

    #[test]
    fn the_alphabet_has_no_look_alikes_and_no_repeats() {
        for ambiguous in b"01OIL" {
            assert!(!ALPHABET.contains(ambiguous));
        }
        let distinct: std::collections::HashSet<&u8> = ALPHABET.iter().collect();
        assert_eq!(distinct.len(), 31);
    }

    #[test]
    fn entered_pins_are_normalised_or_rejected() {
        let cases: &[(&str, &str, Result<PinKind, PinError>)] = &[
            ("simplified PIN as issued", "ABCD2345", Ok(PinKind::Simplified)),
            ("lower case and spaces", " abcd 2345 ", Ok(PinKind::Simplified)),
            ("full PIN in groups of four", "abcd 2345 EFGH 6789", Ok(PinKind::Full)),
            ("seven characters", "ABCD234", Err(PinError::WrongLength { found: 7 })),
            ("twelve characters", "ABCD2345EFGH", Err(PinError::WrongLength { found: 12 })),
            ("empty", "   ", Err(PinError::WrongLength { found: 0 })),
            ("a zero", "ABCD0345", Err(PinError::InvalidCharacter { position: 5 })),
            ("a letter O", "oBCD2345", Err(PinError::InvalidCharacter { position: 1 })),
            ("a punctuation mark", "ABCD-2345EFGH678", Err(PinError::InvalidCharacter { position: 5 })),
            ("a non-ASCII letter", "ABCDÈ345", Err(PinError::InvalidCharacter { position: 5 })),
        ];
        for (situation, input, expected) in cases {
            let got = EnteredPin::parse(input).map(|pin| pin.kind());
            assert_eq!(&got, expected, "{situation}");
        }
        assert_eq!(EnteredPin::parse(" abcd 2345 ").unwrap().expose(), "ABCD2345");
        assert!(matches!(EnteredPin::parse(&"A".repeat(1000)), Err(PinError::WrongLength { .. })));
    }

    #[test]
    fn full_and_simplified_pins_verify_after_hashing_and_wrong_ones_do_not() {
        let hasher = cheap();
        let pin = Pin::generate().unwrap();
        let full = hasher.hash(pin.expose()).unwrap();
        let simplified = hasher.hash(pin.first_half()).unwrap();

        let typed = EnteredPin::parse(&pin.expose().to_lowercase()).unwrap();
        assert!(hasher.verify(typed.expose(), &full));
        assert!(hasher.verify(pin.first_half(), &simplified));
        assert!(!hasher.verify(pin.first_half(), &full), "the simplified PIN is not the full one");
        assert!(!hasher.verify(pin.second_half(), &simplified), "the second half is not the simplified PIN");
        let other = Pin::generate().unwrap();
        assert!(!hasher.verify(other.first_half(), &simplified));
        assert!(!hasher.verify(pin.first_half(), "not a PHC string"));
    }

    #[test]
    fn the_same_pin_hashes_to_different_strings() {
        let hasher = cheap();
        assert_ne!(hasher.hash("ABCD2345").unwrap(), hasher.hash("ABCD2345").unwrap());
    }

    #[test]
    fn phc_strings_name_argon2id_and_sportellos_parameters() {
        // One real hash with the production parameters: a few milliseconds.
        let hasher = PinHasher::new().unwrap();
        let phc = hasher.hash("ABCD2345").unwrap();
        let expected =
            format!("$argon2id$v=19$m={},t={},p={}$", PinHasher::M_COST_KIB, PinHasher::T_COST, PinHasher::P_COST);
        assert!(phc.starts_with(&expected), "{phc} does not start with {expected}");
        assert!(hasher.verify("ABCD2345", &phc));
    }

    #[test]
    fn nothing_prints_a_pin() {
        let pin = Pin::generate().unwrap();
        let typed = EnteredPin::parse(pin.expose()).unwrap();
        for printed in [format!("{pin:?}"), format!("{pin:#?}"), format!("{typed:?}")] {
            assert!(!printed.contains(pin.first_half()), "{printed}");
            assert!(!printed.contains(pin.second_half()), "{printed}");
        }
    }

    #[test]
    fn an_unknown_person_never_verifies() {
        let hasher = cheap();
        for candidate in ["ABCD2345", "ABCD2345EFGH6789", ""] {
            assert!(!hasher.verify_or_dummy(candidate, None));
        }
        let phc = hasher.hash("ABCD2345").unwrap();
        assert!(hasher.verify_or_dummy("ABCD2345", Some(&phc)));
    }

    #[tokio::test]
    async fn the_blocking_wrappers_give_the_same_answers() {
        let hasher = cheap();
        let phc = hasher.hash_blocking("ABCD2345".to_owned()).await.unwrap();
        assert!(hasher.verify_blocking("ABCD2345".to_owned(), phc.clone()).await);
        assert!(!hasher.verify_blocking("ABCD2346".to_owned(), phc.clone()).await);
        assert!(hasher.verify_or_dummy_blocking("ABCD2345".to_owned(), Some(phc)).await);
        assert!(!hasher.verify_or_dummy_blocking("ABCD2345".to_owned(), None).await);
    }

    #[tokio::test]
    async fn many_concurrent_verifications_all_answer() {
        let hasher = cheap();
        let phc = hasher.hash("ABCD2345").unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (hasher, phc) = (hasher.clone(), phc.clone());
                let candidate = if i % 2 == 0 { "ABCD2345" } else { "ABCD2346" };
                tokio::spawn(async move { hasher.verify_blocking(candidate.to_owned(), phc).await })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), i % 2 == 0);
        }
    }
}
