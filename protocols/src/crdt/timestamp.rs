//! Timestamps for last-writer-wins: a node's wall clock (skewed per node),
//! a Lamport clock, or a hybrid logical clock (HLC: the wall clock's
//! reading, bumped by a counter past any timestamp seen, Kulkarni et al.
//! 2014). A write's timestamp must exceed every timestamp its writer had
//! seen; only Lamport and HLC promise that, by observing the timestamp a
//! client carries from its earlier reads and writes. Wall clock does not:
//! under skew a later write gets a smaller timestamp and loses.

use serde::{Deserialize, Serialize};

/// A timestamp, compared as (time, counter).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Stamp {
    pub time: u64,
    pub counter: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockKind {
    Wall,
    Lamport,
    Hlc,
}

/// A node's timestamp source (kept in memory: after a restart a Lamport or
/// HLC clock starts again from what it observes, and the stored register's
/// timestamp is observed on recovery).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StampClock {
    last: Stamp,
}

impl StampClock {
    /// Takes `seen` into account, so later stamps exceed it (wall clock: no effect).
    pub fn observe(&mut self, kind: ClockKind, seen: Stamp) {
        if kind != ClockKind::Wall {
            self.last = self.last.max(seen);
        }
    }

    /// A fresh timestamp at wall-clock reading `wall` (nanoseconds).
    pub fn stamp(&mut self, kind: ClockKind, wall: u64) -> Stamp {
        self.last = match kind {
            ClockKind::Wall => Stamp {
                time: wall,
                counter: 0,
            },
            ClockKind::Lamport => Stamp {
                time: self.last.time + 1,
                counter: 0,
            },
            ClockKind::Hlc if wall > self.last.time => Stamp {
                time: wall,
                counter: 0,
            },
            ClockKind::Hlc => Stamp {
                time: self.last.time,
                counter: self.last.counter + 1,
            },
        };
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_after_an_observed_one_is_larger_except_on_the_wall_clock() {
        let seen = Stamp {
            time: 1_000,
            counter: 3,
        };
        for (kind, later) in [
            (ClockKind::Lamport, true),
            (ClockKind::Hlc, true),
            (ClockKind::Wall, false),
        ] {
            let mut clock = StampClock::default();
            clock.observe(kind, seen);
            // This node's wall clock is behind the observed stamp.
            assert_eq!(clock.stamp(kind, 500) > seen, later, "{kind:?}");
        }
        // HLC stays close to the wall clock once it is ahead.
        let mut clock = StampClock::default();
        clock.observe(ClockKind::Hlc, seen);
        assert_eq!(clock.stamp(ClockKind::Hlc, 2_000).time, 2_000);
    }
}
