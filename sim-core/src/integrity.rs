//! How a protocol notices a corrupted or forged message, and reports it.
//!
//! The network's corruption fault alters a message's content in flight (see
//! [`crate::Message::corrupt`]); the kernel counts every altered message that
//! arrives as `corrupt_delivered`. A protocol that checks what it receives
//! counts each corruption it catches as [`CORRUPT_DETECTED`] (through
//! [`Sealed::open`], or by hand with `ctx.count`). A summary then shows
//! detected against delivered: the difference went unnoticed into a protocol.
//!
//! A checksum catches accidents, not an adversary (a Byzantine node simply
//! recomputes it): forgery is caught by a MAC or signature, modelled by
//! [`mac`], a keyed hash. In a simulation "holding a key" is a convention: a
//! forging node never uses another node's key; a protocol that rejects a bad
//! MAC counts [`AUTH_REJECTED`].

use std::hash::Hash;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::fingerprint::{EventHasher, StableHasher};
use crate::process::{Ctx, Message};
use crate::rng::SimRng;

/// Counter of corrupted messages a protocol caught.
pub const CORRUPT_DETECTED: &str = "corrupt_detected";
/// Counter of messages a protocol rejected for a bad MAC or signature.
pub const AUTH_REJECTED: &str = "auth_rejected";
/// Counter (kept by the kernel) of altered messages that were delivered.
pub const CORRUPT_DELIVERED: &str = "corrupt_delivered";
/// Counter (kept by the kernel) of corrupted messages dropped because their
/// type cannot be altered (`Message::corrupt` returned false).
pub const CORRUPT_DROPPED: &str = "corrupt_dropped";

/// A stable checksum of a value's content.
pub fn checksum<T: Hash + ?Sized>(value: &T) -> u64 {
    StableHasher::hash_of(value)
}

/// A keyed hash standing for a MAC or a signature: only the holder of `key`
/// is supposed to compute it.
pub fn mac<T: Hash + ?Sized>(key: u64, value: &T) -> u64 {
    let mut h = StableHasher::new();
    h.word(key);
    value.hash(&mut h);
    h.value()
}

/// Flips one random bit of `x`: the usual building block of a `corrupt`.
pub fn flip_random_bit(x: &mut u64, rng: &mut SimRng) {
    *x ^= 1 << (rng.next_u64() % 64);
}

/// A message body with a checksum over it. Its `corrupt` always alters
/// something (the body if the body can be altered, else the checksum), so a
/// corrupted `Sealed` is delivered and caught by [`Sealed::open`], never
/// silently dropped by the network.
///
/// The checksum is computed once, by [`Sealed::new`]. The fingerprint folds
/// it instead of hashing the body again ([`Message::fingerprint`]), and
/// `open` recomputes it only for a seal that may be out of step with its
/// body: one the network altered in flight, or one read back from bytes.
/// Every other seal holds by construction (the body is private), so the
/// answer is the one a recomputation would give, without the hashing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sealed<T> {
    body: T,
    sum: u64,
    /// `sum` was computed from `body` by `new`, and nothing altered either since.
    #[serde(skip)]
    trusted: bool,
}

impl<T: Hash> Sealed<T> {
    pub fn new(body: T) -> Self {
        let sum = checksum(&body);
        Self {
            body,
            sum,
            trusted: true,
        }
    }

    /// Whether the checksum matches the body, recomputed.
    pub fn is_intact(&self) -> bool {
        checksum(&self.body) == self.sum
    }

    /// The body, unchecked (for logging what arrived).
    pub fn peek(&self) -> &T {
        &self.body
    }

    /// The body if intact; otherwise counts [`CORRUPT_DETECTED`] and returns `None`.
    pub fn open<M: Message>(self, ctx: &mut Ctx<'_, M>) -> Option<T> {
        if self.trusted || self.is_intact() {
            Some(self.body)
        } else {
            ctx.count(CORRUPT_DETECTED, 1);
            None
        }
    }
}

impl<T: Message> Message for Sealed<T> {
    /// The checksum stands for the body (see the type's documentation).
    fn fingerprint(&self, h: &mut EventHasher) {
        h.word(self.sum);
    }

    fn corrupt(&mut self, rng: &mut SimRng) -> bool {
        self.trusted = false;
        if !self.body.corrupt(rng) {
            flip_random_bit(&mut self.sum, rng);
        }
        true
    }

    /// A Byzantine sender reseals its variant: checksums do not stop it.
    fn equivocate(&self, rng: &mut SimRng) -> Option<Self> {
        self.body.equivocate(rng).map(Sealed::new)
    }

    fn forge(&self, rng: &mut SimRng) -> Option<Self> {
        self.body.forge(rng).map(Sealed::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[derive(Debug, Clone, Hash, Serialize)]
    struct Plain(u64);
    impl Message for Plain {}

    #[test]
    fn a_corrupted_seal_is_never_intact_and_a_fresh_one_is() {
        let mut rng = stream(1, "t");
        for i in 0..100 {
            let mut s = Sealed::new(Plain(i));
            assert!(s.is_intact());
            assert!(s.corrupt(&mut rng), "a seal is always corruptible");
            assert!(!s.is_intact());
        }
    }

    /// A seal is opened unchecked only when `new` computed it and nothing
    /// altered it since: altered in flight or read back from bytes, it is
    /// checked again.
    #[test]
    fn only_a_seal_built_by_new_and_never_altered_goes_unchecked() {
        let fresh = Sealed::new(Plain(7));
        assert!(fresh.trusted && fresh.is_intact());
        let mut altered = fresh.clone();
        altered.corrupt(&mut stream(1, "t"));
        assert!(!altered.trusted && !altered.is_intact());
        let read: Sealed<u64> = serde_json::from_str(r#"{"body":7,"sum":1}"#).unwrap();
        assert!(!read.trusted && !read.is_intact());
        let good = serde_json::to_string(&Sealed::new(7u64)).unwrap();
        let read: Sealed<u64> = serde_json::from_str(&good).unwrap();
        assert!(!read.trusted && read.is_intact());
    }

    /// The fingerprint folds the checksum, which follows the body.
    #[test]
    fn a_seal_fingerprints_by_its_checksum() {
        let fold = |s: &Sealed<Plain>| {
            let mut h = EventHasher::new();
            s.fingerprint(&mut h);
            h.value()
        };
        let a = Sealed::new(Plain(1));
        assert_eq!(fold(&a), fold(&Sealed::new(Plain(1))));
        assert_ne!(fold(&a), fold(&Sealed::new(Plain(2))));
    }

    #[test]
    fn mac_depends_on_key_and_content() {
        assert_eq!(mac(1, &5u64), mac(1, &5u64));
        assert_ne!(mac(1, &5u64), mac(2, &5u64));
        assert_ne!(mac(1, &5u64), mac(1, &6u64));
    }
}
