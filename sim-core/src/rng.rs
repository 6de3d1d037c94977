//! Seeded random streams.
//!
//! One master seed is split into named streams (network, faults, workload, one
//! per node). Each stream's key is a stable hash of the seed and the name, so a
//! change in how one part of the simulator draws never shifts another's draws.
//!
//! The generator is named (`ChaCha8Rng`), and continuous distributions are
//! computed here with `libm` (a pure-Rust libm) rather than the platform's, so
//! a draw is the same bits on every machine.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::fingerprint::StableHasher;

pub type SimRng = ChaCha8Rng;

/// The stream `name` of master seed `seed`.
pub fn stream(seed: u64, name: &str) -> SimRng {
    let mut key = [0u8; 32];
    for (i, chunk) in key.chunks_exact_mut(8).enumerate() {
        let mut h = StableHasher::new();
        h.word(seed);
        h.word(i as u64);
        std::hash::Hasher::write(&mut h, name.as_bytes());
        chunk.copy_from_slice(&h.value().to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// The stream of node `node`.
pub fn node_stream(seed: u64, node: u32) -> SimRng {
    stream(seed, &format!("node/{node}"))
}

/// A uniform draw in [0, 1) with 53 bits of precision.
#[inline]
pub fn unit(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// True with probability `p`; draws nothing when `p` is 0 or 1, so turning a
/// fault off leaves every other draw where it was.
#[inline]
pub fn chance(rng: &mut impl RngCore, p: f64) -> bool {
    if p <= 0.0 {
        false
    } else if p >= 1.0 {
        true
    } else {
        unit(rng) < p
    }
}

/// A uniform integer in `[lo, hi]` (inclusive).
///
/// The same draws and the same values as `rng.random_range(lo..=hi)` of
/// rand 0.9 (which every recorded run was made with, see `draws_are_pinned`
/// and `between_is_random_range`), computed in place: Canon's method, as
/// rand documents it. The draw `x` scaled to the range is the high word of
/// `x × range`; when the low word is close enough to 2^64 that a carry from
/// the bits below could still change the high word, one more draw supplies
/// those bits and the carry, if any, is added. One draw almost always, at
/// most two. Inlined, it costs a fraction of the generic call (the network
/// draws one per message).
#[inline(always)]
pub fn between(rng: &mut impl RngCore, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    let range = (hi - lo).wrapping_add(1);
    if range == 0 {
        // [0, u64::MAX]: every draw is in range.
        return rng.next_u64();
    }
    let (mut scaled, low) = wide_mul(rng.next_u64(), range);
    if low > range.wrapping_neg() {
        let (carry_in, _) = wide_mul(rng.next_u64(), range);
        scaled += u64::from(low.checked_add(carry_in).is_none());
    }
    lo + scaled
}

/// The high and low words of the 128-bit product `a × b`.
#[inline(always)]
fn wide_mul(a: u64, b: u64) -> (u64, u64) {
    let p = u128::from(a) * u128::from(b);
    ((p >> 64) as u64, p as u64)
}

/// A standard normal draw (Box–Muller).
pub fn standard_normal(rng: &mut impl RngCore) -> f64 {
    // 1 - unit() lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    /// Snapshots a few draws: an upgrade of rand/rand_chacha that changes them
    /// would change every recorded run, and must be noticed here first.
    #[test]
    fn draws_are_pinned() {
        let mut r = stream(7, "network");
        let draws: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        let mut again = stream(7, "network");
        let again: Vec<u64> = (0..3).map(|_| again.next_u64()).collect();
        assert_eq!(draws, again);
        let mut r = stream(7, "network");
        let ranged: Vec<u64> = (0..4).map(|_| between(&mut r, 10, 20)).collect();
        assert_eq!(
            ranged, PINNED_RANGE,
            "rand's random_range changed its draws"
        );
    }

    const PINNED_RANGE: [u64; 4] = [19, 17, 18, 11];

    /// `between` draws what rand's `random_range` draws, value for value and
    /// draw for draw, over small, large and awkward ranges (those just above
    /// a power of two and those near 2^64, where the second draw is common).
    #[test]
    fn between_is_random_range() {
        let mut bounds: Vec<(u64, u64)> = vec![
            (0, 1),
            (10, 20),
            (0, 15),
            (50_000, 500_000),
            (1, 10_000_000),
            (0, u64::MAX),
            (1, u64::MAX),
            (0, u64::MAX - 1),
            (u64::MAX - 1, u64::MAX),
            (0, u64::MAX / 2),
            (0, u64::MAX / 2 + 1),
            (7, u64::MAX / 3 * 2),
            (0, (1 << 63) + 12_345),
        ];
        let mut pick = stream(11, "bounds");
        for _ in 0..200 {
            let (a, b) = (pick.next_u64() >> (pick.next_u64() % 64), pick.next_u64());
            bounds.push((a.min(b), a.max(b)));
        }
        for (i, &(lo, hi)) in bounds.iter().enumerate() {
            let name = format!("range {i}");
            let mut ours = stream(i as u64, &name);
            let mut theirs = stream(i as u64, &name);
            for _ in 0..500 {
                assert_eq!(
                    between(&mut ours, lo, hi),
                    theirs.random_range(lo..=hi),
                    "[{lo}, {hi}]"
                );
            }
            assert_eq!(ours.next_u64(), theirs.next_u64(), "[{lo}, {hi}]: draws");
        }
    }

    #[test]
    fn streams_are_independent() {
        let mut a = stream(7, "network");
        let mut b = stream(7, "faults");
        let mut c = stream(8, "network");
        let x = a.next_u64();
        assert_ne!(x, b.next_u64());
        assert_ne!(x, c.next_u64());
    }

    #[test]
    fn chance_draws_nothing_at_the_edges() {
        let mut a = stream(1, "x");
        let mut b = stream(1, "x");
        assert!(!chance(&mut a, 0.0));
        assert!(chance(&mut a, 1.0));
        assert_eq!(a.next_u64(), b.next_u64());
    }
}
