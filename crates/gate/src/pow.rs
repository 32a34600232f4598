//! Proof of work before a ticket: a small SHA-256 puzzle, harder as the queue grows, so a bot pays CPU per place
//! while a person's browser pays a second or two. A client without JavaScript waits instead (a longer wait, not a
//! dead end). The JavaScript solver lives with the pages in `crates/web`; [`solve`] is the reference.
//!
//! A solution for challenge token `c` (the base64url string as sent, bytes of its ASCII) is a `u64` nonce such
//! that SHA-256(`c` || nonce as 8 little-endian bytes) begins with at least `difficulty` zero bits.
//!
//! Replay: a challenge is accepted once. The gate records each redeemed challenge's salt in the shared state until
//! the challenge expires, so the memory is bounded by arrivals per challenge lifetime (e.g. 300/s × 120 s = 36,000
//! small entries), never by the number of people waiting. Dropping that record would let one solution mint tickets
//! for as long as the challenge lives; short validity alone does not stop a bot from replaying within it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::invalid::Invalid;

/// How hard the proof of work is, and how long the no-JavaScript wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PowConfig {
    /// Difficulty with an empty queue (leading zero bits; 16 ≈ 65,000 hashes, well under a second in a browser).
    pub min_bits: u8,
    /// Difficulty ceiling (22 ≈ 4 million hashes, a few seconds in a browser).
    pub max_bits: u8,
    /// One more bit each time the queue doubles past this many waiting visitors.
    pub waiting_per_bit: u64,
    /// How long a challenge may be redeemed, seconds.
    pub validity_secs: u32,
    /// The no-JavaScript path's wait at `min_bits`; it doubles with each extra bit.
    pub no_js_wait_secs: u32,
    /// The no-JavaScript wait's ceiling.
    pub no_js_wait_max_secs: u32,
}

impl Default for PowConfig {
    fn default() -> Self {
        Self {
            min_bits: 16,
            max_bits: 22,
            waiting_per_bit: 5_000,
            validity_secs: 120,
            no_js_wait_secs: 30,
            no_js_wait_max_secs: 600,
        }
    }
}

impl PowConfig {
    /// Checks the settings; each problem names its field.
    pub fn validate(&self) -> Result<(), Vec<Invalid>> {
        let mut problems = Vec::new();
        if self.max_bits > 40 {
            problems.push(Invalid::new("max_bits", format!("is {}; above 40 no browser finishes", self.max_bits)));
        }
        if self.min_bits > self.max_bits {
            problems.push(Invalid::new(
                "min_bits",
                format!("is {}; it must not exceed max_bits ({})", self.min_bits, self.max_bits),
            ));
        }
        if self.waiting_per_bit == 0 {
            problems.push(Invalid::new("waiting_per_bit", "must be at least 1".to_owned()));
        }
        if !(10..=3600).contains(&self.validity_secs) {
            problems.push(Invalid::new("validity_secs", format!("is {}; it must be 10 to 3600", self.validity_secs)));
        }
        if self.no_js_wait_max_secs < self.no_js_wait_secs {
            problems.push(Invalid::new(
                "no_js_wait_max_secs",
                format!(
                    "is {}; it must be at least no_js_wait_secs ({})",
                    self.no_js_wait_max_secs, self.no_js_wait_secs
                ),
            ));
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }

    /// The difficulty for a queue with `waiting` visitors: `min_bits + ⌊log2(1 + waiting / waiting_per_bit)⌋`,
    /// capped at `max_bits`.
    pub fn difficulty(&self, waiting: u64) -> u8 {
        let load = 1 + waiting / self.waiting_per_bit.max(1);
        let extra = u8::try_from(63 - load.leading_zeros()).unwrap_or(u8::MAX);
        self.min_bits.saturating_add(extra).min(self.max_bits)
    }

    /// The no-JavaScript wait, seconds, when the proof of work would need `difficulty` bits: the base wait doubled
    /// per bit above the minimum, capped.
    pub fn no_js_wait_secs(&self, difficulty: u8) -> u32 {
        let doublings = u32::from(difficulty.saturating_sub(self.min_bits)).min(31);
        self.no_js_wait_secs.saturating_mul(1u32 << doublings).min(self.no_js_wait_max_secs)
    }
}

/// SHA-256(challenge || nonce as little-endian bytes).
pub fn solution_hash(challenge: &str, nonce: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(challenge.as_bytes());
    h.update(nonce.to_le_bytes());
    h.finalize().into()
}

/// The number of leading zero bits of `digest`.
pub fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut bits = 0;
    for &byte in digest {
        if byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// Whether `nonce` solves `challenge` at `difficulty`: one hash.
pub fn is_solution(challenge: &str, nonce: u64, difficulty: u8) -> bool {
    leading_zero_bits(&solution_hash(challenge, nonce)) >= u32::from(difficulty)
}

/// The reference solver: the smallest nonce that solves `challenge` (about 2^difficulty hashes).
pub fn solve(challenge: &str, difficulty: u8) -> u64 {
    let mut prefix = Sha256::new();
    prefix.update(challenge.as_bytes());
    let mut nonce = 0u64;
    loop {
        let mut h = prefix.clone();
        h.update(nonce.to_le_bytes());
        if leading_zero_bits(&h.finalize()) >= u32::from(difficulty) {
            return nonce;
        }
        nonce = nonce.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difficulty_rises_one_bit_per_doubling_of_the_queue_and_stops_at_the_ceiling() {
        let c = PowConfig::default();
        let cases = [(0, 16), (4_999, 16), (5_000, 17), (14_999, 17), (15_000, 18), (35_000, 19), (1_000_000, 22)];
        for (waiting, bits) in cases {
            assert_eq!(c.difficulty(waiting), bits, "waiting {waiting}");
        }
    }

    #[test]
    fn the_no_js_wait_doubles_with_difficulty_up_to_its_ceiling() {
        let c = PowConfig::default();
        assert_eq!([16, 17, 18, 20, 22].map(|d| c.no_js_wait_secs(d)), [30, 60, 120, 480, 600]);
    }

    #[test]
    fn solutions_verify_and_near_misses_do_not() {
        let challenge = "example-challenge";
        let nonce = solve(challenge, 12);
        assert!(is_solution(challenge, nonce, 12));
        assert!(leading_zero_bits(&solution_hash(challenge, nonce)) >= 12);
        // The solver returns the smallest solution, so every smaller nonce fails.
        assert!((0..nonce).all(|n| !is_solution(challenge, n, 12)));
        assert!(!is_solution("another-challenge", nonce, 12) || solve("another-challenge", 12) == nonce);
    }

    #[test]
    fn leading_zero_bits_counts_across_bytes() {
        assert_eq!(leading_zero_bits(&[0, 0, 0b0001_0000]), 19);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }

    #[test]
    fn impossible_settings_name_their_field() {
        let c = PowConfig { min_bits: 30, max_bits: 20, ..PowConfig::default() };
        let problems = c.validate().unwrap_err();
        assert_eq!(problems[0].at, "min_bits");
    }
}
