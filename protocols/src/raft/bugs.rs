//! Known-bug variants: small, real deviations from Raft, switched on by name.
//!
//! Each exists so that a checker can prove it catches something: a scenario
//! `raft-bug-<name>` runs the cluster with the bug on, and a short seed sweep
//! must report a violation (an invariant, linearizability or liveness).

use std::fmt;

/// One known bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// A vote is granted without the "candidate's log is at least as
    /// up-to-date" check (§5.4.1): a leader may lack committed entries.
    VoteWithoutLogCheck,
    /// A leader commits an entry of an earlier term as soon as a majority
    /// stores it (the scenario of the paper's Figure 8). The variant also
    /// drops the no-op a new leader appends: with it, every acknowledgment
    /// covering an earlier term's entry also covers the no-op, which the
    /// leader may commit legitimately, and the premature commit is masked.
    Figure8,
    /// `votedFor` is not persisted: after a crash and restart within one
    /// term, a node can vote twice in that term.
    VolatileVote,
    /// The quorum is computed as `(n + 1) / 2 + 1` over the member list that
    /// includes the node itself: 4 of 5 instead of 3 of 5. Safe, but a
    /// cluster with exactly a majority up and connected can neither elect nor
    /// commit — a liveness bug, caught by the liveness check.
    BadMajority,
    /// The leader and the state machine do not deduplicate retried client
    /// requests by (session, sequence number): a retried write can apply
    /// twice, the second time after the client saw it complete.
    NoDedup,
    /// Messages are not checked against their checksum: a bit flipped in
    /// flight (a term, an index, an entry's term) is believed.
    NoChecksum,
    /// Neither pre-vote nor check-quorum (§9.6 of Ongaro's thesis): a node
    /// that cannot hear the leader, though the rest of the cluster can
    /// (a partial partition), starts election after election and deposes a
    /// working leader each time. Safe, but the cluster churns through terms
    /// instead of serving — caught by the term-churn part of the liveness check.
    NoPreVote,
    /// A pipelining leader commits by counting follower acknowledgments
    /// only, against `(n + 1) / 2`, leaving out its own log. Its own log is
    /// synced before it sends a byte, so the rule is never unsafe; with an
    /// odd `n` it needs one replica more than a majority: a cluster with
    /// exactly a majority up elects but never commits — a liveness bug.
    FollowerAckQuorum,
}

impl Bug {
    pub const ALL: [Bug; 8] = [
        Bug::VoteWithoutLogCheck,
        Bug::Figure8,
        Bug::VolatileVote,
        Bug::BadMajority,
        Bug::NoDedup,
        Bug::NoChecksum,
        Bug::NoPreVote,
        Bug::FollowerAckQuorum,
    ];

    /// The name used in scenario files (`bugs = ["figure8"]`).
    pub fn name(self) -> &'static str {
        match self {
            Bug::VoteWithoutLogCheck => "vote-without-log-check",
            Bug::Figure8 => "figure8",
            Bug::VolatileVote => "volatile-vote",
            Bug::BadMajority => "bad-majority",
            Bug::NoDedup => "no-dedup",
            Bug::NoChecksum => "no-checksum",
            Bug::NoPreVote => "no-pre-vote",
            Bug::FollowerAckQuorum => "follower-ack-quorum",
        }
    }

    pub fn from_name(name: &str) -> Result<Bug, String> {
        Bug::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
                format!(
                    "unknown raft bug {name:?}; known bugs: {}",
                    known.join(", ")
                )
            })
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The set of bugs switched on for a run (usually empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Bugs(u8);

impl Bugs {
    pub const NONE: Bugs = Bugs(0);

    /// Parses scenario names; the first unknown name is an error that says
    /// which names exist.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Bugs, String> {
        let mut bugs = Bugs::NONE;
        for name in names {
            bugs = bugs.with(Bug::from_name(name.as_ref())?);
        }
        Ok(bugs)
    }

    pub fn with(self, bug: Bug) -> Bugs {
        Bugs(self.0 | 1 << bug as u8)
    }

    pub fn has(self, bug: Bug) -> bool {
        self.0 & (1 << bug as u8) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Bug> {
        Bug::ALL.into_iter().filter(move |b| self.has(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_explained() {
        for bug in Bug::ALL {
            assert_eq!(Bug::from_name(bug.name()), Ok(bug));
        }
        let bugs = Bugs::parse(&["figure8", "no-dedup"]).unwrap();
        assert!(bugs.has(Bug::Figure8) && bugs.has(Bug::NoDedup));
        assert!(!bugs.has(Bug::VolatileVote));
        let err = Bugs::parse(&["figure9"]).unwrap_err();
        assert!(
            err.contains("figure9") && err.contains("volatile-vote"),
            "{err}"
        );
    }
}
