//! Signatures for the Byzantine protocols that sign what they say
//! (`byz_register`, `byz_agreement`).
//!
//! A signature is a keyed hash ([`sim_core::integrity::mac`]) under the
//! signer's key. Holding a key is a convention of the simulation, as in
//! PBFT: a node only ever signs with its own, so a Byzantine node can sign
//! anything as itself, replay what others signed, and never produce another
//! node's signature on content of its choosing (its forgeries carry the
//! wrong one and are rejected by whoever checks).

use std::hash::Hash;

use sim_core::integrity::mac;
use sim_core::NodeId;

/// The key node `id` signs with (another family of keys than PBFT's, so a
/// signature of one protocol never checks in the other).
pub fn key(id: NodeId) -> u64 {
    0x6279_7a73_0000_0000 ^ (id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// `signer`'s signature on `content`.
pub fn sign<T: Hash + ?Sized>(signer: NodeId, content: &T) -> u64 {
    mac(key(signer), content)
}

/// Whether `signature` is `signer`'s on `content`.
pub fn verify<T: Hash + ?Sized>(signer: NodeId, content: &T, signature: u64) -> bool {
    sign(signer, content) == signature
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_checks_only_for_its_signer_and_content() {
        let s = sign(3, &(1u32, 7u64));
        assert!(verify(3, &(1u32, 7u64), s));
        assert!(!verify(2, &(1u32, 7u64), s), "another signer");
        assert!(!verify(3, &(1u32, 8u64), s), "other content");
    }
}
