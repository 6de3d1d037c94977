//! Small fixed hashers for the search's lookup tables.
//!
//! The search hashes millions of keys; SipHash with a random seed is both
//! slow and needlessly unpredictable. These hashers have no seed, and the
//! tables that use them are only ever looked up, never iterated, so their
//! order never reaches a verdict.

use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A multiply-rotate hasher over 8-byte words (the "Fx" scheme): fast for
/// model states, which are small enums, integers and strings.
#[derive(Default, Clone, Copy)]
pub struct WordHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl WordHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        mix64(self.0)
    }
}

/// The 64-bit finaliser of MurmurHash3: spreads every input bit over every
/// output bit, so structured keys (state << 32 | op) fill a table evenly.
#[inline]
pub fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

/// Hashes any `Hash` value to a u64 with [`WordHasher`].
pub fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = WordHasher::default();
    value.hash(&mut h);
    h.finish()
}

/// For keys that are already uniformly random u64s (Zobrist hashes): the
/// hash is the key itself.
#[derive(Default, Clone, Copy)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are used with this hasher; fold anything else in.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(SEED);
        }
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// For structured u64 keys: mixes them with [`mix64`].
#[derive(Default, Clone, Copy)]
pub struct Mixed(u64);

impl Hasher for Mixed {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(SEED);
        }
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = mix64(i);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type PassThroughBuild = BuildHasherDefault<PassThrough>;
pub type MixedBuild = BuildHasherDefault<Mixed>;

/// A deterministic stream of random-looking u64s (SplitMix64), for the
/// Zobrist keys of operations.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_distinguishing() {
        assert_eq!(hash_of("abc"), hash_of("abc"));
        assert_ne!(hash_of("abc"), hash_of("abd"));
        assert_ne!(hash_of("abcdefgh1"), hash_of("abcdefgh2"));
        // Trailing zero bytes are not lost.
        assert_ne!(hash_of(&[1u8, 0][..]), hash_of(&[1u8][..]));
        let mut a = SplitMix64(7);
        let mut b = SplitMix64(7);
        assert_eq!(a.next_u64(), b.next_u64());
    }
}
