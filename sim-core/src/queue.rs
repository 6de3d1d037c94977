//! The event queue: a 4-ary min-heap of keys packed into one `u128`.
//!
//! A key is the event's time in the high 64 bits, then its seq (scheduling
//! order, the tiebreak of equal times), then its slab slot:
//! `time << 64 | seq << SLOT_BITS | slot`. Seqs are unique, so keys are
//! unique and their integer order is exactly (time, seq) order: the queue
//! pops what a binary heap of `(time, seq, slot)` tuples pops.
//!
//! Why not `std::collections::BinaryHeap` of tuples: comparing a tuple takes
//! a chain of branches that a heap's random contents make unpredictable, and
//! a binary heap of a thousand events is ten levels deep. A 4-ary heap is
//! half as deep, a node's four children lie side by side in memory, and the
//! least of them is found with comparisons of single integers that compile
//! to conditional moves, not branches.

use crate::time::Nanos;

/// Bits of a key that hold the slab slot: at most 2^26 (67 M) events
/// pending at once.
pub(crate) const SLOT_BITS: u32 = 26;
/// Bits of a key that hold the seq: 2^38 (275 G) events scheduled in one run.
pub(crate) const SEQ_BITS: u32 = 64 - SLOT_BITS;

/// One queued event, as its packed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry(u128);

impl Entry {
    /// Panics if `seq` or `slot` exceeds its bits: a run that schedules 2^38
    /// events or keeps 2^26 pending is far beyond what fits in memory or time.
    #[inline]
    pub fn new(time: Nanos, seq: u64, slot: u32) -> Self {
        assert!(
            seq < 1 << SEQ_BITS,
            "a run scheduled more than 2^{SEQ_BITS} events"
        );
        assert!(
            slot < 1 << SLOT_BITS,
            "more than 2^{SLOT_BITS} events pending at once"
        );
        Self((time as u128) << 64 | (seq << SLOT_BITS | slot as u64) as u128)
    }

    #[inline]
    pub fn time(self) -> Nanos {
        (self.0 >> 64) as Nanos
    }

    #[inline]
    pub fn seq(self) -> u64 {
        self.0 as u64 >> SLOT_BITS
    }

    #[inline]
    pub fn slot(self) -> u32 {
        (self.0 as u64 & ((1 << SLOT_BITS) - 1)) as u32
    }
}

/// Children per node.
const ARITY: usize = 4;

/// A 4-ary min-heap of entries.
#[derive(Default)]
pub(crate) struct EventQueue {
    /// Heap order: `heap[i] <= heap[ARITY * i + 1 ..= ARITY * i + ARITY]`.
    heap: Vec<Entry>,
}

impl EventQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// The least entry.
    #[inline]
    pub fn peek(&self) -> Option<Entry> {
        self.heap.first().copied()
    }

    #[inline]
    pub fn push(&mut self, e: Entry) {
        self.heap.push(e);
        self.sift_up(self.heap.len() - 1);
    }

    /// Removes and returns the least entry.
    #[inline]
    pub fn pop(&mut self) -> Option<Entry> {
        let last = self.heap.pop()?;
        let Some(&top) = self.heap.first() else {
            return Some(last);
        };
        self.refill_root(last);
        Some(top)
    }

    /// Keeps only the entries for which `keep` holds.
    pub fn retain(&mut self, keep: impl FnMut(&Entry) -> bool) {
        self.heap.retain(keep);
        self.heapify();
    }

    /// Floyd's construction: sift every inner node down, last first.
    fn heapify(&mut self) {
        for i in (0..self.heap.len() / ARITY + 1).rev() {
            if i < self.heap.len() {
                self.sift_down(i, self.heap[i]);
            }
        }
    }

    fn sift_up(&mut self, i: usize) {
        let e = self.heap[i];
        Self::place_up(&mut self.heap, i, e);
    }

    /// Places `e` at the hole `i` or above it, moving greater parents down.
    #[inline]
    fn place_up(heap: &mut [Entry], mut i: usize, e: Entry) {
        while i > 0 {
            let parent = (i - 1) / ARITY;
            let p = heap[parent];
            if p <= e {
                break;
            }
            heap[i] = p;
            i = parent;
        }
        heap[i] = e;
    }

    /// Fills the hole a pop left at the root with `last`, the entry taken
    /// off the end. Bottom-up: the hole sinks along the least children to
    /// the bottom without comparing them with `last` (the last entry of a
    /// heap almost always belongs near the bottom again), then `last` rises
    /// from there, usually by no level or one. A level costs three
    /// comparisons instead of four and no unpredictable branch.
    #[inline]
    fn refill_root(&mut self, last: Entry) {
        let heap = &mut self.heap[..];
        let len = heap.len();
        let mut i = 0;
        loop {
            let first = ARITY * i + 1;
            let Some(c) = heap.get(first..first + ARITY) else {
                break;
            };
            let c: &[Entry; ARITY] = c.try_into().expect("four children");
            let (a, b) = (usize::from(c[1] < c[0]), 2 + usize::from(c[3] < c[2]));
            let least = if c[b] < c[a] { b } else { a };
            heap[i] = c[least];
            i = first + least;
        }
        let first = ARITY * i + 1;
        if first < len {
            // The bottom node with fewer than four children.
            let least = (first..len).min_by_key(|&c| heap[c]).expect("a child");
            heap[i] = heap[least];
            i = least;
        }
        Self::place_up(heap, i, last);
    }

    /// Places `e` at the hole `i`, moving the least child up while it is
    /// less than `e`.
    #[inline]
    fn sift_down(&mut self, mut i: usize, e: Entry) {
        let heap = &mut self.heap[..];
        let len = heap.len();
        loop {
            let first = ARITY * i + 1;
            let least = if first + ARITY <= len {
                // A full set of children: the least by conditional moves.
                let c = &heap[first..first + ARITY];
                let a = if c[1] < c[0] { first + 1 } else { first };
                let b = if c[3] < c[2] { first + 3 } else { first + 2 };
                if heap[b] < heap[a] {
                    b
                } else {
                    a
                }
            } else if first < len {
                (first..len).min_by_key(|&c| heap[c]).expect("a child")
            } else {
                break;
            };
            if heap[least] >= e {
                break;
            }
            heap[i] = heap[least];
            i = least;
        }
        heap[i] = e;
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        /// Schedules an event this far after the last popped one.
        Push(u64),
        Pop,
        /// Drops every entry whose seq is a multiple of this.
        Retain(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => prop_oneof![0..4u64, 0..1_000u64, 0..1u64 << 22, 0..u64::MAX / 4, Just(u64::MAX)].prop_map(Op::Push),
            3 => Just(Op::Pop),
            1 => (2..5u64).prop_map(Op::Retain),
        ]
    }

    proptest! {
        /// Whatever the interleaving, the queue pops what a binary heap of
        /// (time, seq, slot) tuples pops.
        #[test]
        fn pops_in_the_order_a_binary_heap_of_tuples_does(ops in proptest::collection::vec(op(), 1..400)) {
            let mut queue = EventQueue::new();
            let mut model = BinaryHeap::new();
            let (mut seq, mut now) = (0u64, 0u64);
            let as_entry = |Reverse((time, seq, slot)): Reverse<(u64, u64, u32)>| Entry::new(time, seq, slot);
            for op in ops {
                match op {
                    Op::Push(after) => {
                        let time = now.saturating_add(after);
                        // Slots are reused in the kernel: any value will do.
                        let slot = (seq * 7 % 13) as u32;
                        queue.push(Entry::new(time, seq, slot));
                        model.push(Reverse((time, seq, slot)));
                        seq += 1;
                    }
                    Op::Pop => {
                        prop_assert_eq!(queue.peek(), model.peek().copied().map(as_entry));
                        let got = queue.pop();
                        prop_assert_eq!(got, model.pop().map(as_entry));
                        if let Some(e) = got {
                            now = e.time();
                        }
                    }
                    Op::Retain(m) => {
                        queue.retain(|e| e.seq() % m != 0);
                        model.retain(|Reverse((_, seq, _))| seq % m != 0);
                    }
                }
                prop_assert_eq!(queue.len(), model.len());
            }
            while let Some(want) = model.pop() {
                prop_assert_eq!(queue.pop(), Some(as_entry(want)));
            }
            prop_assert_eq!(queue.pop(), None);
        }
    }

    /// Two thousand entries pending (a heap six levels deep), spacings from
    /// 1 ns to 100 ms and a burst at one instant, popped in between pushes
    /// as a run does: the order is a binary heap's.
    #[test]
    fn a_long_run_with_changing_spacing_pops_in_key_order() {
        let mut queue = EventQueue::new();
        let mut model = BinaryHeap::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut draw = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut seq, mut now) = (0u64, 0u64);
        for phase in 0..6u32 {
            // From 1 ns to 100 ms spreads; phase 3 schedules bursts at one instant.
            let spread = 10u64.pow(phase * 2).max(1);
            for _ in 0..5_000 {
                let pushes = if model.len() < 2_000 { 2 } else { 1 };
                for _ in 0..pushes {
                    let time = if phase == 3 {
                        now
                    } else {
                        now + draw() % spread
                    };
                    queue.push(Entry::new(time, seq, 0));
                    model.push(Reverse((time, seq)));
                    seq += 1;
                }
                let Reverse((time, want)) = model.pop().expect("non-empty");
                let got = queue.pop().expect("non-empty");
                assert_eq!((got.time(), got.seq()), (time, want));
                now = time;
            }
        }
        assert_eq!(queue.len(), model.len());
    }

    #[test]
    fn a_key_unpacks_to_what_was_packed() {
        let e = Entry::new(u64::MAX, (1 << SEQ_BITS) - 1, (1 << SLOT_BITS) - 1);
        assert_eq!(
            (e.time(), e.seq(), e.slot()),
            (u64::MAX, (1 << SEQ_BITS) - 1, (1 << SLOT_BITS) - 1)
        );
        let e = Entry::new(5, 3, 9);
        assert_eq!((e.time(), e.seq(), e.slot()), (5, 3, 9));
        // Time first, then seq; the slot never decides.
        assert!(Entry::new(1, 9, 0) < Entry::new(2, 0, 0));
        assert!(Entry::new(1, 0, 9) < Entry::new(1, 1, 0));
    }

    #[test]
    #[should_panic(expected = "pending at once")]
    fn too_many_pending_events_are_refused() {
        Entry::new(0, 0, 1 << SLOT_BITS);
    }
}
