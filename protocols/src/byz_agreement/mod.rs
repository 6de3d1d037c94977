//! Signed Byzantine agreement: n = 3f+1 replicas decide one value per
//! instance, instance after instance, with f of them Byzantine.
//!
//! Each replica enters instance k with an input of its own (`input(k, id)`,
//! recorded as a `propose` operation that completes with the decided value).
//! Rounds r = 0, 1, … of an instance have a rotating proposer, `(k + r) mod n`.
//! Every message is signed by its sender (`crate::signature`).
//!
//! - **Propose.** The proposer multicasts a signed value. In round 0 that is
//!   its input; from round 1 on the proposal carries 2f+1 signed ROUND-CHANGE
//!   messages for the round as its justification, and its value must be the
//!   value of the highest lock among them, or (no lock) any valid input.
//! - **Vote.** A replica votes (signed, to all) for at most one proposal per
//!   round: the proposer's, for a valid input (an input of some replica of
//!   this instance: the external-validity predicate), correctly justified.
//! - **Commit.** 2f+1 votes for v in round r are a *lock* certificate; a
//!   replica still in round r that holds one multicasts COMMIT(r, v).
//! - **Decide** on 2f+1 commits for the same (r, v).
//! - **Round change** on a timeout (doubling, capped): a replica moves to
//!   r+1 and multicasts ROUND-CHANGE carrying its highest lock, and joins a
//!   higher round when f+1 replicas are past its own.
//!
//! Why two voting phases and not the seed's one (decide on 2f+1 votes):
//! the locking rule "a replica that saw 2f+1 votes for v in round r carries
//! that certificate into later rounds" only protects a decision if enough
//! honest replicas hold the certificate when the next round's proposer
//! collects its 2f+1 round changes. A decision on 2f+1 commits means f+1
//! honest replicas held the lock while still in round r, and any 2f+1
//! round changes of a later round include one of them, whose lock is the
//! highest there (no other value can get 2f+1 votes in a round ≥ r: f+1
//! honest voters each vote once, only for justified proposals). A decision
//! on 2f+1 votes alone may be seen by the decider only, and the next round
//! then proposes something else: the known bug `one-phase`, caught by
//! `byz-agreement-bug-one-phase`.
//!
//! Persistent state (synced before the replica acts on it): the instance,
//! the round and the lock, and each decision. A restarted replica votes,
//! commits and proposes in no round up to the one it recovers (it may have
//! done so before the crash), and moves on by the timeout.
//!
//! A replica that lags (it missed the commits) asks as soon as a message of
//! a later instance arrives, and again by its round change: a replica past
//! that instance answers with DECIDED and the 2f+1 commits, which anyone
//! can check (learners, the clients, ask the same way).
//!
//! Byzantine replicas (`fault_injection::byzantine`): an equivocating
//! proposer sends another valid input to its victims, an equivocating voter
//! votes and commits for that other value there (a double voter), and hides
//! its lock in round changes; a forger proposes a value that is nobody's
//! input (signed by itself) and re-attributes everything else to a neighbour.
//!
//! Known-bug variants: `one-phase` (decide on 2f+1 votes, as the seed
//! describes), `no-validity-check` (vote for any proposed value: a forging
//! proposer gets a value decided that no replica proposed).
//!
//! Tried and not made a variant: the seed's "vote for the most frequent
//! proposal among f+1" has no place here (a replica votes only for its
//! round's proposer, so there is nothing to count).

mod client;
mod driver;
mod msg;
mod replica;

pub use driver::register;
pub use msg::{AgreementMsg, Body, Cert};
pub use replica::{Config, Replica};

use sim_core::NodeId;

pub const BUGS: [&str; 2] = ["one-phase", "no-validity-check"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    pub one_phase: bool,
    pub no_validity_check: bool,
}

impl Bugs {
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let [one_phase, no_validity_check] =
            crate::bug_names::switched_on("byz-agreement", names, BUGS)?;
        Ok(Bugs {
            one_phase,
            no_validity_check,
        })
    }
}

/// Bits of an input that name its replica.
const REPLICA_BITS: u32 = 20;

/// The input of `replica` in `instance`: distinct for every replica and
/// instance, so that a decision names whose input it was.
pub fn input(instance: u64, replica: NodeId) -> u64 {
    (instance << REPLICA_BITS) | replica as u64
}

/// (instance, replica) of an input.
pub fn split_input(value: u64) -> (u64, NodeId) {
    (
        value >> REPLICA_BITS,
        (value & ((1 << REPLICA_BITS) - 1)) as NodeId,
    )
}

/// Whether `value` is the input of one of `n` replicas in `instance`.
pub fn is_input(instance: u64, value: u64, n: usize) -> bool {
    let (k, replica) = split_input(value);
    k == instance && (replica as usize) < n
}

/// A value that is nobody's input (a forger's).
const BOGUS: u64 = u64::MAX;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_name_their_instance_and_replica() {
        assert_eq!(split_input(input(7, 3)), (7, 3));
        assert!(is_input(7, input(7, 3), 4));
        assert!(!is_input(7, input(7, 4), 4), "no replica 4 among 4");
        assert!(!is_input(8, input(7, 3), 4), "another instance's");
        assert!(!is_input(7, BOGUS, 4));
    }
}
