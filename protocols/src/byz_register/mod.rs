//! A Byzantine quorum register with self-verifying data (Malkhi & Reiter,
//! "Byzantine quorum systems", 1998): a multi-writer register per key,
//! replicated over n replicas of which f may be Byzantine, read and written
//! by honest clients.
//!
//! **Why signed values and these quorums.** A writer signs every value it
//! writes together with its key and timestamp; replicas and readers drop a
//! value whose signature does not check, or whose writer is a replica. A
//! Byzantine replica can therefore withhold a value, answer with an older
//! (stale) one or with none, but never make up a value or a timestamp. With
//! such self-verifying data a quorum of q = ⌈(n+f+1)/2⌉ replicas suffices
//! (a *dissemination* quorum system):
//! - any two quorums share 2q − n ≥ f+1 replicas, so at least one honest
//!   replica holds the newest completed write and shows it to the next read;
//! - q ≤ n − f exactly when n ≥ 3f+1, so a quorum answers with f replicas
//!   silent. This is the bound; with n = 3f+1, q = 2f+1.
//!
//! Without signatures a reader could only trust a value vouched for by f+1
//! replicas, which needs *masking* quorums and n ≥ 4f+1; that variant is not
//! implemented.
//!
//! **Operations** (the client coordinates, as in ABD):
//! - write: ask every replica for its timestamp, and with q valid answers
//!   take a timestamp above the highest (counter + 1, writer, request id:
//!   unique per write), sign (key, timestamp, value) and store it at every
//!   replica; done with q acknowledgements;
//! - read: ask every replica, and with q valid answers take the highest
//!   validly signed value, write it back to q replicas (so that no later read
//!   returns an older one) and return it.
//!
//! Replicas keep the newest valid value per key, synced before they
//! acknowledge. A client gives up after the workload's timeout: a read that
//! timed out failed, a write is indeterminate.
//!
//! **Byzantine replicas** are the kernel's send interceptor (see
//! `fault_injection::byzantine`): *silent* (`mute`), *lying* (`forge`: an
//! answer to a query withholds the value held, answering with the empty
//! register, stale and needing no signature, or for a key it holds nothing
//! of makes one up with a timestamp above all others, under a signature
//! that does not check), *equivocating*
//! (`equivocate` to named clients: those get the empty register, the others
//! the truth), `replay` (old answers, which clients drop by request id) and
//! `selective` (dropped or late answers). The generator's equivocators lie to
//! replicas, which never hear from replicas here: drawn equivocation changes
//! nothing, named equivocation (to clients) does.
//!
//! Known-bug variants: `small-quorums` (the seed's quorums of f+1: two
//! quorums need not share an honest replica, and a lying replica or a slow
//! honest one makes a read miss a completed write), `no-signature-check`
//! (readers and replicas take unsigned values: a lying replica's made-up
//! value is read).

mod client;
mod driver;
mod replica;

pub use client::Client;
pub use driver::register;
pub use replica::Replica;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sim_core::rng::SimRng;
use sim_core::{Message, NodeId};

use crate::signature;

/// The bug variants this protocol knows.
pub const BUGS: [&str; 2] = ["small-quorums", "no-signature-check"];

/// Which bugs are switched on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    pub small_quorums: bool,
    pub no_signature_check: bool,
}

impl Bugs {
    /// Parses bug names; an unknown name is an error that lists the known ones.
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let [small_quorums, no_signature_check] =
            crate::bug_names::switched_on("byz-register", names, BUGS)?;
        Ok(Bugs {
            small_quorums,
            no_signature_check,
        })
    }
}

/// Who may write, who may not, and how many answers make a quorum.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub replicas: Vec<NodeId>,
    /// Byzantine replicas tolerated: n ≥ 3f+1.
    pub f: usize,
    pub bugs: Bugs,
}

impl Cluster {
    /// q = ⌈(n+f+1)/2⌉ (f+1 with `small-quorums`).
    pub fn quorum(&self) -> usize {
        if self.bugs.small_quorums {
            self.f + 1
        } else {
            (self.replicas.len() + self.f + 1).div_ceil(2)
        }
    }

    /// Whether `value` may be believed for `key`: the initial empty register,
    /// or signed by its writer, who is not a replica (a Byzantine replica
    /// signs anything as itself).
    pub fn valid(&self, key: u32, value: &SignedValue) -> bool {
        self.bugs.no_signature_check
            || *value == SignedValue::EMPTY
            || (!self.replicas.contains(&value.ts.1)
                && signature::verify(value.ts.1, &value.content(key), value.sig))
    }
}

pub use crate::quorum_client::Timestamp;

/// A value with its timestamp, signed by its writer over (key, ts, value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignedValue {
    pub ts: Timestamp,
    pub value: Option<u64>,
    pub sig: u64,
}

impl SignedValue {
    /// The register before any write: needs no signature.
    pub const EMPTY: SignedValue = SignedValue {
        ts: (0, 0, 0),
        value: None,
        sig: 0,
    };

    /// `value` under `ts`, signed by its writer `ts.1`.
    pub fn signed(key: u32, ts: Timestamp, value: u64) -> Self {
        let sig = signature::sign(ts.1, &(key, ts, Some(value)));
        Self {
            ts,
            value: Some(value),
            sig,
        }
    }

    fn content(&self, key: u32) -> (u32, Timestamp, Option<u64>) {
        (key, self.ts, self.value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegisterMsg {
    Query {
        req: u64,
        key: u32,
    },
    QueryReply {
        req: u64,
        key: u32,
        value: SignedValue,
    },
    Store {
        req: u64,
        key: u32,
        value: SignedValue,
    },
    StoreAck {
        req: u64,
    },
}

/// Values no client ever writes (workload values are small): what a lying
/// replica makes up, so that a reader who believes one returns a value
/// nobody wrote.
const BOGUS: u64 = 1_000_000;

impl Message for RegisterMsg {
    /// A replica that answers one client with the truth may answer another
    /// with the empty register, as if the writes never reached it.
    fn equivocate(&self, _rng: &mut SimRng) -> Option<Self> {
        match self {
            RegisterMsg::QueryReply { req, key, value } if *value != SignedValue::EMPTY => {
                Some(RegisterMsg::QueryReply {
                    req: *req,
                    key: *key,
                    value: SignedValue::EMPTY,
                })
            }
            _ => None,
        }
    }

    /// A lie in an answer: a value it holds is withheld (the empty register,
    /// stale, and needing no signature); for a key it holds nothing of, a
    /// value is made up with a timestamp above every other, under a
    /// signature that does not check.
    fn forge(&self, rng: &mut SimRng) -> Option<Self> {
        let RegisterMsg::QueryReply { req, key, value } = self else {
            return None;
        };
        let value = if *value != SignedValue::EMPTY {
            SignedValue::EMPTY
        } else {
            SignedValue {
                ts: (1_000, NodeId::MAX, *req),
                value: Some(BOGUS + rng.random_range(0..1000)),
                sig: rng.random(),
            }
        };
        Some(RegisterMsg::QueryReply {
            req: *req,
            key: *key,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(bugs: Bugs) -> Cluster {
        Cluster {
            replicas: vec![0, 1, 2, 3],
            f: 1,
            bugs,
        }
    }

    #[test]
    fn quorums_are_2f_plus_1_of_3f_plus_1_and_f_plus_1_with_the_bug() {
        assert_eq!(cluster(Bugs::default()).quorum(), 3);
        let c7 = Cluster {
            replicas: (0..7).collect(),
            f: 2,
            bugs: Bugs::default(),
        };
        assert_eq!(c7.quorum(), 5);
        let small = Bugs {
            small_quorums: true,
            ..Bugs::default()
        };
        assert_eq!(cluster(small).quorum(), 2);
    }

    #[test]
    fn forgeries_and_replica_signed_values_are_rejected() {
        let c = cluster(Bugs::default());
        let good = SignedValue::signed(1, (3, 5, 9), 42);
        assert!(c.valid(1, &good));
        assert!(c.valid(1, &SignedValue::EMPTY));
        assert!(!c.valid(2, &good), "signed for another key");
        let by_replica = SignedValue::signed(1, (3, 2, 9), 42);
        assert!(!c.valid(1, &by_replica), "a replica is no writer");
        let mut rng = sim_core::rng::stream(1, "t");
        let reply = RegisterMsg::QueryReply {
            req: 1,
            key: 1,
            value: good,
        };
        let empty = RegisterMsg::QueryReply {
            req: 1,
            key: 1,
            value: SignedValue::EMPTY,
        };
        for _ in 0..20 {
            let Some(RegisterMsg::QueryReply { value: stale, .. }) = reply.forge(&mut rng) else {
                panic!("a reply is always forged");
            };
            assert_eq!(stale, SignedValue::EMPTY, "a value held is withheld");
            let Some(RegisterMsg::QueryReply { value: made_up, .. }) = empty.forge(&mut rng) else {
                panic!("a reply is always forged");
            };
            assert!(made_up.ts > good.ts && !c.valid(1, &made_up), "{made_up:?}");
        }
        let unchecked = cluster(Bugs {
            no_signature_check: true,
            ..Bugs::default()
        });
        assert!(unchecked.valid(1, &by_replica));
    }
}
