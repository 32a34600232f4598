//! The pre-queue draw ("no click day"): visitors who arrive before an opening are put in a random order that
//! anyone can recompute once the seed is revealed, and that the operator could not choose after seeing who came.
//!
//! The seed (32 random bytes) is drawn when the pre-queue starts and its SHA-256 commitment is published at once;
//! at the opening the pre-queue size `n` is frozen and the seed revealed. Arrival `i` (0-based) then holds place
//! [`position`]`(seed, n, i)`. The permutation is a 4-round Feistel network with cycle-walking, so computing one
//! place needs no memory per entry. `crates/gate/DRAW.md` states the algorithm precisely for outside verifiers.

use sha2::{Digest, Sha256};

/// The draw's secret until the opening: 32 random bytes.
pub type Seed = [u8; 32];

/// Domain separation for the round function; bump the version if the algorithm ever changes.
const LABEL: &[u8] = b"sportello-draw-v1";
const ROUNDS: u8 = 4;

/// The published commitment to a seed: SHA-256(seed).
pub fn commitment(seed: &Seed) -> [u8; 32] {
    Sha256::digest(seed).into()
}

/// The place (0-based) of pre-queue arrival `i` among `n`, or `None` when `i >= n`.
pub fn position(seed: &Seed, n: u64, i: u64) -> Option<u64> {
    (i < n).then(|| Permutation::new(seed, n).apply(i))
}

/// Why a draw does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DrawError {
    /// The revealed seed is not the one committed to.
    #[error(
        "the revealed seed does not match the published commitment: SHA-256(seed) = {actual}, published {published}"
    )]
    CommitmentMismatch {
        /// SHA-256 of the revealed seed, hex.
        actual: String,
        /// The published commitment, hex.
        published: String,
    },
}

/// Recomputes a draw from the revealed seed: checks the seed against the commitment and returns, for each
/// pre-queue arrival `i`, its place (0-based: place 0 is admitted first).
pub fn verify_draw(seed: &Seed, published: &[u8; 32], n: u64) -> Result<Vec<u64>, DrawError> {
    let actual = commitment(seed);
    if &actual != published {
        return Err(DrawError::CommitmentMismatch { actual: hex::encode(actual), published: hex::encode(published) });
    }
    let perm = Permutation::new(seed, n);
    Ok((0..n).map(|i| perm.apply(i)).collect())
}

/// The admission order of a draw: `order[p]` is the arrival index that holds place `p` (the inverse of the
/// positions [`verify_draw`] returns).
pub fn admission_order(positions: &[u64]) -> Vec<u64> {
    let mut order = vec![0u64; positions.len()];
    for (i, &p) in positions.iter().enumerate() {
        if let Some(slot) = usize::try_from(p).ok().and_then(|p| order.get_mut(p)) {
            *slot = i as u64;
        }
    }
    order
}

/// A keyed pseudo-random permutation of `[0, n)`.
#[derive(Clone)]
pub struct Permutation {
    n: u64,
    half_bits: u32,
    mask: u64,
    /// SHA-256 state that has absorbed `LABEL || seed || n`.
    keyed: Sha256,
}

impl Permutation {
    /// The permutation of `[0, n)` the seed selects.
    pub fn new(seed: &Seed, n: u64) -> Self {
        // The smallest k >= 1 with 4^k >= n: the Feistel domain [0, 2^(2k)) is then less than 4n, so cycle-walking
        // takes fewer than 4 passes on average.
        let mut half_bits = 1u32;
        while half_bits < 32 && (1u64 << (2 * half_bits)) < n {
            half_bits += 1;
        }
        let mask = if half_bits == 32 { u64::from(u32::MAX) } else { (1u64 << half_bits) - 1 };
        let mut keyed = Sha256::new();
        keyed.update(LABEL);
        keyed.update(seed);
        keyed.update(n.to_le_bytes());
        Self { n, half_bits, mask, keyed }
    }

    /// The place of `i`; `i` must be below `n` (otherwise the result is meaningless but the call terminates).
    pub fn apply(&self, i: u64) -> u64 {
        if i >= self.n {
            return i;
        }
        let mut x = self.encrypt(i);
        // Cycle-walking: the Feistel network permutes [0, 4^k); re-applying it until the value falls inside
        // [0, n) permutes [0, n), and ends because i's own cycle returns to i < n.
        while x >= self.n {
            x = self.encrypt(x);
        }
        x
    }

    fn encrypt(&self, x: u64) -> u64 {
        let mut left = (x >> self.half_bits) & self.mask;
        let mut right = x & self.mask;
        for round in 0..ROUNDS {
            let f = self.round(round, right);
            (left, right) = (right, left ^ f);
        }
        (left << self.half_bits) | right
    }

    fn round(&self, round: u8, half: u64) -> u64 {
        let mut h = self.keyed.clone();
        h.update([round]);
        h.update(half.to_le_bytes());
        let digest = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first) & self.mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The seed of DRAW.md's worked example: bytes 0x00, 0x01, …, 0x1f.
    fn example_seed() -> Seed {
        std::array::from_fn(|i| i as u8)
    }

    #[test]
    fn the_worked_example_in_draw_md_holds() {
        let seed = example_seed();
        let c = commitment(&seed);
        assert_eq!(hex::encode(c), "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd");
        let positions = verify_draw(&seed, &c, 10).unwrap();
        assert_eq!(positions, [7, 3, 5, 9, 4, 6, 0, 8, 1, 2]);
        assert_eq!(admission_order(&positions), [6, 8, 9, 1, 4, 2, 5, 0, 7, 3]);
    }

    #[test]
    fn a_seed_that_was_not_committed_is_refused() {
        let err = verify_draw(&[1; 32], &commitment(&[2; 32]), 5).unwrap_err();
        assert!(err.to_string().contains("does not match"));
    }

    #[test]
    fn tiny_and_empty_pre_queues() {
        assert_eq!(verify_draw(&[0; 32], &commitment(&[0; 32]), 0).unwrap(), Vec::<u64>::new());
        assert_eq!(position(&[0; 32], 1, 0), Some(0));
        assert_eq!(position(&[0; 32], 1, 1), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn the_draw_is_a_bijection_reproducible_from_the_seed(seed in any::<[u8; 32]>(), n in 1u64..10_000) {
            let positions = verify_draw(&seed, &commitment(&seed), n).unwrap();
            let mut seen = vec![false; n as usize];
            for &p in &positions {
                prop_assert!(p < n);
                prop_assert!(!seen[p as usize], "place {} given twice", p);
                seen[p as usize] = true;
            }
            let i = n / 2;
            prop_assert_eq!(position(&seed, n, i), Some(positions[i as usize]));
        }

        #[test]
        fn another_seed_gives_another_order(seed in any::<[u8; 32]>(), n in 20u64..200) {
            let mut other = seed;
            other[0] ^= 1;
            let a = verify_draw(&seed, &commitment(&seed), n).unwrap();
            let b = verify_draw(&other, &commitment(&other), n).unwrap();
            prop_assert_ne!(a, b);
        }
    }
}
