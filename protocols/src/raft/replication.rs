//! What a leader knows about one follower's log, and how much it may send
//! ahead of the follower's answers (pipelining).
//!
//! `next` is optimistic: it moves past what was sent as soon as it is sent,
//! so the next AppendEntries carries only what is new. `matched` moves only
//! on an acknowledgment. Between them lie the AppendEntries in flight, at
//! most a window of them; acknowledgments may come back in any order, and
//! one covers every earlier batch.
//!
//! A follower starts in *probe* mode (one message in flight: the leader does
//! not yet know where their logs agree). The first acknowledgment that
//! raises `matched` switches it to *pipeline* mode. A rejection, or a
//! heartbeat interval with batches in flight and none of them acknowledged
//! (they were lost), sends it back to probing from `matched + 1` or the
//! rejection's hint. Rejections of batches sent before the reset are
//! recognised by the `prev_log_index` they echo and ignored, so one gap does
//! not multiply into a rejection storm; so is a rejection for a gap that a
//! batch still in flight will fill (the follower's log ends inside the
//! window: the batch that overtook its predecessor arrived first). Only
//! progress counts against the loss timer — a heartbeat's answer does not —
//! so a batch that is really lost is still found out and sent again.

use std::collections::VecDeque;

use sim_core::NodeId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The next index to send.
    pub next: u64,
    /// The highest index known to match the leader's log.
    pub matched: u64,
    /// The last index of each batch (or snapshot) in flight, in send order.
    inflight: VecDeque<u64>,
    probing: bool,
    /// While probing: the `prev_log_index` of the probe last sent, the one
    /// rejection that is current.
    probe_prev: Option<u64>,
    /// Since the last heartbeat tick, a batch in flight was acknowledged,
    /// the window was reset, or a batch went out into an empty window: the
    /// loss timer starts again.
    progressed: bool,
}

impl FollowerProgress {
    /// A new leader's view: the follower's log may agree up to `last_index`
    /// (it is probed there first), nothing is known to match.
    pub fn new(last_index: u64) -> Self {
        Self {
            next: last_index + 1,
            matched: 0,
            inflight: VecDeque::new(),
            probing: true,
            probe_prev: None,
            progressed: false,
        }
    }

    /// Whether one more batch may be sent: one in flight while probing, up
    /// to `window` while pipelining.
    pub fn has_room(&self, window: usize) -> bool {
        let limit = if self.probing { 1 } else { window };
        self.inflight.len() < limit
    }

    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    pub fn is_probing(&self) -> bool {
        self.probing
    }

    /// A batch after `prev` ending at `last` was sent: the next one starts
    /// after it.
    pub fn sent(&mut self, prev: u64, last: u64) {
        self.sent_empty(prev);
        if self.inflight.is_empty() {
            // Its loss is timed from now, not from the last answer.
            self.progressed = true;
        }
        self.inflight.push_back(last);
        self.next = self.next.max(last + 1);
    }

    /// An AppendEntries after `prev` with no entries was sent (a heartbeat):
    /// nothing to wait for, but while probing its rejection is current.
    pub fn sent_empty(&mut self, prev: u64) {
        if self.probing {
            self.probe_prev = Some(prev);
        }
    }

    /// A snapshot ending at `last` was sent; probing until it is answered.
    pub fn sent_snapshot(&mut self, last: u64) {
        self.progressed = true;
        self.probing = true;
        self.probe_prev = None;
        self.inflight.clear();
        self.inflight.push_back(last);
        self.next = last + 1;
    }

    /// The follower's log matches up to `index`. Frees every batch it
    /// covers; returns whether `matched` rose.
    pub fn acknowledged(&mut self, index: u64) -> bool {
        while self.inflight.front().is_some_and(|&last| last <= index) {
            self.inflight.pop_front();
            self.progressed = true;
        }
        if index <= self.matched {
            return false;
        }
        self.matched = index;
        self.next = self.next.max(index + 1);
        self.probing = false;
        true
    }

    /// The follower rejected an AppendEntries whose previous entry was
    /// `prev`; `resume` is where the conflict hint says to start again, and
    /// `gap` says the follower's log merely ends before `prev` (no entry of
    /// another term in the way). Returns whether the rejection answers the
    /// current probe or pipeline (then `next` is reset to `resume` and the
    /// window emptied); one that answers a batch sent before the last reset
    /// is stale, and a gap that a batch in flight covers will be filled by
    /// it: both `false`.
    pub fn rejected(&mut self, prev: u64, resume: u64, gap: bool) -> bool {
        let current = if self.probing {
            self.probe_prev == Some(prev)
        } else {
            prev >= self.matched
        };
        if !current || (gap && self.covers(resume)) {
            return false;
        }
        self.restart(resume);
        true
    }

    /// Whether a batch in flight carries entry `index`: while pipelining,
    /// the batches in flight are contiguous and end at `next - 1`, and
    /// everything up to `matched` is held already.
    fn covers(&self, index: u64) -> bool {
        !self.probing && !self.inflight.is_empty() && self.matched < index && index < self.next
    }

    /// A heartbeat tick: batches in flight with none acknowledged for a
    /// whole interval are taken as lost, and probing restarts at
    /// `matched + 1`. Returns whether that happened.
    pub fn tick(&mut self) -> bool {
        let lost = !self.progressed && !self.inflight.is_empty();
        self.progressed = false;
        if lost {
            self.restart(self.matched + 1);
        }
        lost
    }

    fn restart(&mut self, resume: u64) {
        self.progressed = true;
        self.next = resume.max(self.matched + 1);
        self.inflight.clear();
        self.probing = true;
        self.probe_prev = None;
    }
}

/// A leader's [`FollowerProgress`] for each follower, indexed by node id
/// (replicas have the lowest ids): found by an index on every
/// acknowledgment, not by a walk down a tree, and visited in id order.
#[derive(Debug, Clone, Default)]
pub struct Followers {
    by_id: Vec<Option<FollowerProgress>>,
}

impl Followers {
    /// Every one of `peers` probed after `last_index` (a new leader's view).
    pub fn new(peers: impl Iterator<Item = NodeId>, last_index: u64) -> Self {
        let mut by_id = Vec::new();
        for peer in peers {
            let i = peer as usize;
            if by_id.len() <= i {
                by_id.resize(i + 1, None);
            }
            by_id[i] = Some(FollowerProgress::new(last_index));
        }
        Self { by_id }
    }

    pub fn get(&self, peer: NodeId) -> Option<&FollowerProgress> {
        self.by_id.get(peer as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, peer: NodeId) -> Option<&mut FollowerProgress> {
        self.by_id.get_mut(peer as usize)?.as_mut()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FollowerProgress> {
        self.by_id.iter().flatten()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut FollowerProgress> {
        self.by_id.iter_mut().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A follower known to match up to `last` (at least 1).
    fn pipelining(last: u64) -> FollowerProgress {
        let mut p = FollowerProgress::new(last - 1);
        p.sent(last - 1, last);
        assert!(p.acknowledged(last));
        p
    }

    #[test]
    fn probing_allows_one_batch_and_an_ack_opens_the_window() {
        let mut p = FollowerProgress::new(10);
        assert!(p.is_probing() && p.has_room(4));
        p.sent(10, 12);
        assert_eq!(p.next, 13);
        assert!(!p.has_room(4), "one probe at a time");
        assert!(p.acknowledged(12));
        assert!(!p.is_probing());
        for last in [14, 16, 18, 20] {
            assert!(p.has_room(4));
            p.sent(last - 2, last);
        }
        assert!(!p.has_room(4), "the window is full");
        assert_eq!((p.next, p.matched), (21, 12));
    }

    #[test]
    fn acks_out_of_order_free_every_batch_they_cover() {
        let mut p = pipelining(1);
        for last in [3, 5, 7] {
            p.sent(last - 2, last);
        }
        assert!(p.acknowledged(5), "the second batch's ack covers the first");
        assert_eq!((p.matched, p.in_flight()), (5, 1));
        assert!(!p.acknowledged(3), "an overtaken ack changes nothing");
        assert_eq!((p.matched, p.in_flight(), p.next), (5, 1, 8));
    }

    #[test]
    fn a_rejection_resets_to_the_hint_and_stale_ones_are_ignored() {
        let mut p = pipelining(3);
        for last in [5, 7, 9] {
            p.sent(last - 2, last);
        }
        // The batch after 3 was lost: the follower rejects the one after 5.
        assert!(p.rejected(5, 4, false));
        assert!(p.is_probing());
        assert_eq!((p.next, p.in_flight()), (4, 0));
        p.sent(3, 9);
        // The rejection of the batch after 7, sent before the reset: stale.
        assert!(!p.rejected(7, 4, false));
        assert_eq!((p.next, p.in_flight()), (10, 1));
        // A hint below what is known to match does not move below it.
        let mut q = pipelining(3);
        q.sent(3, 6);
        assert!(q.rejected(4, 1, false));
        assert_eq!(q.next, 4);
        // While pipelining, a rejection below `matched` is stale.
        let mut r = pipelining(8);
        assert!(!r.rejected(5, 2, false));
        assert_eq!(r.next, 9);
    }

    #[test]
    fn a_gap_that_a_batch_in_flight_fills_is_no_reason_to_reset() {
        let mut p = pipelining(3);
        for last in [5, 7, 9] {
            p.sent(last - 2, last);
        }
        // The batch after 5 overtook the one after 3; the follower, its log
        // ending at 3, could not hold it and says so: the batch after 3 is
        // still in flight and fills the gap.
        assert!(!p.rejected(5, 4, true));
        assert_eq!((p.next, p.in_flight(), p.is_probing()), (10, 3, false));
        // A conflict (an entry of another term) at the same place resets.
        assert!(p.rejected(5, 4, false));
        assert_eq!((p.next, p.in_flight(), p.is_probing()), (4, 0, true));
        // A gap beyond what is in flight resets too: nothing will fill it.
        let mut q = pipelining(3);
        q.sent(3, 5);
        assert!(
            q.rejected(3, 2, true),
            "the follower lost entries up to matched"
        );
        assert_eq!(q.next, 4);
    }

    #[test]
    fn a_lost_batch_is_found_though_heartbeats_are_answered() {
        let mut p = pipelining(3);
        p.sent(3, 5);
        p.sent(5, 7);
        assert!(!p.tick(), "the first batch went out into an empty window");
        // Heartbeats after `matched` are acknowledged at 3: no progress.
        assert!(!p.acknowledged(3));
        assert!(p.tick(), "nothing acknowledged for a whole interval: lost");
        assert_eq!((p.next, p.in_flight(), p.is_probing()), (4, 0, true));
    }

    #[test]
    fn a_silent_interval_with_batches_in_flight_restarts_probing() {
        let mut p = pipelining(3);
        p.sent(3, 6);
        p.sent(6, 9);
        assert!(!p.tick(), "the ack of the first probe counts as an answer");
        assert!(p.tick(), "nothing heard for a whole interval: lost");
        assert_eq!((p.next, p.in_flight()), (4, 0));
        assert!(p.is_probing());
        assert!(!p.tick(), "nothing in flight: nothing lost");
    }

    #[test]
    fn followers_are_found_by_id_and_visited_in_id_order() {
        let mut f = Followers::new([4, 1, 2].into_iter(), 9);
        assert!(f.get(0).is_none() && f.get(3).is_none() && f.get(99).is_none());
        f.get_mut(2).unwrap().matched = 7;
        f.get_mut(4).unwrap().matched = 5;
        let matched: Vec<u64> = f.iter().map(|p| p.matched).collect();
        assert_eq!(matched, [0, 7, 5]);
        assert_eq!(f.iter_mut().count(), 3);
        assert_eq!(f.get(1).unwrap().next, 10);
    }

    #[test]
    fn a_snapshot_is_a_probe_and_its_answer_resumes_pipelining() {
        let mut p = pipelining(3);
        p.sent(3, 7);
        p.sent_snapshot(64);
        assert!(p.is_probing() && !p.has_room(8));
        assert_eq!(p.next, 65);
        assert!(p.acknowledged(64));
        assert!(!p.is_probing() && p.has_room(8));
    }
}
