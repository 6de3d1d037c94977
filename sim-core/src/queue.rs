//! The event queue: a hierarchical timing wheel that pops exactly in
//! (time, seq) order.
//!
//! A key is the event's time in the high 64 bits, then its seq (scheduling
//! order, the tiebreak of equal times), then its slab slot:
//! `time << 64 | seq << SLOT_BITS | slot`. Seqs are unique, so keys are
//! unique and their integer order is exactly (time, seq) order: the queue
//! pops what a binary heap of `(time, seq, slot)` tuples pops.
//!
//! Why a wheel and not a heap: a heap of a thousand events compares keys at
//! every one of its levels on every pop, and which way a comparison goes is
//! random, so the processor mispredicts it. The wheel files an event by the
//! bits of its time alone and moves it at most once per level on its way to
//! the front (for the delays of a simulated network, microseconds to
//! milliseconds, once or twice); keys are compared only among the few
//! events of one microsecond. In the kernel flood this took the queue from
//! about 340 to about 160 instructions per event and the flood from 40 % to
//! 55 % of a bare binary heap's speed.
//!
//! The layout: time is cut into windows of 2^GRAIN_BITS ns (1 µs), and the
//! window numbers are a radix structure, six bits a level.
//! - `cursor` is the start of the current window; no queued event is earlier,
//!   except those in `early` (below).
//! - `ready` holds the events of the current window, sorted by key.
//! - An event of a later window lies on the level of the highest bit in
//!   which its window number differs from the cursor's (level `bit / 6`), in
//!   the bucket that its window number's six bits of that level name. Every
//!   event of a lower level is earlier than every event of a higher one, and
//!   within a level a lower bucket holds earlier events.
//! - When `ready` is used up, the first non-empty bucket of the lowest
//!   non-empty level is emptied: the cursor moves to the start of that
//!   bucket's span, and its events are filed again, each on a lower level
//!   (they now agree with the cursor above it) or into `ready`, which is
//!   then sorted. A level-0 bucket becomes `ready` whole.
//!
//! An event earlier than the cursor goes to `early`, a binary heap: the
//! kernel schedules at its current time, which is behind the cursor after a
//! peek looked past the end of a `run_until`. Such an event is earlier than
//! everything on the wheel, and the wheel is not touched while `early` holds
//! anything; it is almost always empty.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

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

/// Bits of time below the wheel's resolution: the events of one window of
/// 2^GRAIN_BITS ns (1 µs) are sorted by key when the window comes up.
const GRAIN_BITS: u32 = 10;
/// Bits of time per level, and so the buckets per level.
const LEVEL_BITS: u32 = 6;
const BUCKETS: usize = 1 << LEVEL_BITS;
/// Levels covering the bits of time above the grain (the top one uses fewer).
const LEVELS: usize = (64 - GRAIN_BITS as usize).div_ceil(LEVEL_BITS as usize);

/// The event queue (see the module doc).
pub(crate) struct EventQueue {
    /// No event on the wheel or in `ready` is earlier than this, and its
    /// grain bits are zero: the current window is `cursor >> GRAIN_BITS`.
    cursor: Nanos,
    /// The events of the current window, sorted by key, from `ready_head` on
    /// (those before the head are taken).
    ready: Vec<Entry>,
    ready_head: usize,
    /// `LEVELS × BUCKETS` buckets, level-major, unsorted.
    buckets: Vec<Vec<Entry>>,
    /// Per level, a bit per non-empty bucket.
    occupied: [u64; LEVELS],
    /// Events earlier than `cursor`, scheduled after the cursor moved past them.
    early: BinaryHeap<Reverse<Entry>>,
    len: usize,
}

impl Default for EventQueue {
    fn default() -> Self {
        Self {
            cursor: 0,
            ready: Vec::new(),
            ready_head: 0,
            buckets: (0..LEVELS * BUCKETS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS],
            early: BinaryHeap::new(),
            len: 0,
        }
    }
}

impl EventQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn push(&mut self, e: Entry) {
        self.len += 1;
        if e.time() < self.cursor {
            self.early.push(Reverse(e));
        } else if (e.time() ^ self.cursor) >> GRAIN_BITS == 0 {
            // In the current window: into its place among the sorted ones
            // (usually the end: a new event has the largest seq).
            let at = self.ready_head + self.ready[self.ready_head..].partition_point(|x| *x < e);
            self.ready.insert(at, e);
        } else {
            self.file(e);
        }
    }

    /// Puts an event of a later window than the cursor's on the wheel.
    #[inline]
    fn file(&mut self, e: Entry) {
        let differ = (e.time() ^ self.cursor) >> GRAIN_BITS;
        let level = (63 - differ.leading_zeros()) / LEVEL_BITS;
        let bucket = (e.time() >> (GRAIN_BITS + level * LEVEL_BITS)) as usize % BUCKETS;
        self.buckets[level as usize * BUCKETS + bucket].push(e);
        self.occupied[level as usize] |= 1 << bucket;
    }

    /// The least entry. Takes `&mut self`: looking ahead may move the cursor.
    #[inline]
    pub fn peek(&mut self) -> Option<Entry> {
        if let Some(&Reverse(e)) = self.early.peek() {
            return Some(e);
        }
        if self.ready_head == self.ready.len() && !self.advance() {
            return None;
        }
        Some(self.ready[self.ready_head])
    }

    /// Removes and returns the least entry.
    #[inline]
    pub fn pop(&mut self) -> Option<Entry> {
        let e = if let Some(Reverse(e)) = self.early.pop() {
            e
        } else {
            if self.ready_head == self.ready.len() && !self.advance() {
                return None;
            }
            self.ready_head += 1;
            self.ready[self.ready_head - 1]
        };
        self.len -= 1;
        Some(e)
    }

    /// Moves the cursor to the next window that has events and fills
    /// `ready` with them, sorted; false if the wheel is empty. Called with
    /// `ready` used up and `early` empty.
    fn advance(&mut self) -> bool {
        self.ready.clear();
        self.ready_head = 0;
        loop {
            let Some(level) = self.occupied.iter().position(|&bits| bits != 0) else {
                return false;
            };
            let bucket = self.occupied[level].trailing_zeros() as usize;
            self.occupied[level] &= !(1 << bucket);
            // The start of the bucket's span: the cursor's bits above this
            // level, the bucket's own six bits, zeros below.
            let shift = GRAIN_BITS + level as u32 * LEVEL_BITS;
            let above = shift + LEVEL_BITS;
            let high = if above >= 64 {
                0
            } else {
                self.cursor >> above << above
            };
            self.cursor = high | (bucket as u64) << shift;
            let slot = level * BUCKETS + bucket;
            if level == 0 {
                // The bucket is the new window; the empty `ready` takes its place.
                std::mem::swap(&mut self.ready, &mut self.buckets[slot]);
            } else {
                let events = std::mem::take(&mut self.buckets[slot]);
                for &e in &events {
                    if (e.time() ^ self.cursor) >> GRAIN_BITS == 0 {
                        self.ready.push(e);
                    } else {
                        self.file(e);
                    }
                }
                // Keep the bucket's allocation for the events it will hold next.
                self.buckets[slot] = events;
                self.buckets[slot].clear();
            }
            if !self.ready.is_empty() {
                self.ready.sort_unstable();
                return true;
            }
        }
    }

    /// Keeps only the entries for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        self.ready.drain(..self.ready_head);
        self.ready_head = 0;
        self.ready.retain(&mut keep);
        self.early.retain(|Reverse(e)| keep(e));
        let mut len = self.ready.len() + self.early.len();
        for (i, bucket) in self.buckets.iter_mut().enumerate() {
            bucket.retain(&mut keep);
            len += bucket.len();
            if bucket.is_empty() {
                self.occupied[i / BUCKETS] &= !(1 << (i % BUCKETS));
            }
        }
        self.len = len;
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
        /// Looks at the least entry without taking it: the wheel may move
        /// its cursor ahead of the last popped time, so later pushes land
        /// behind it.
        Peek,
        /// Drops every entry whose seq is a multiple of this.
        Retain(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => prop_oneof![0..4u64, 0..1_000u64, 0..1u64 << 22, 0..u64::MAX / 4, Just(u64::MAX)].prop_map(Op::Push),
            3 => Just(Op::Pop),
            1 => Just(Op::Peek),
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
                    Op::Peek => {
                        prop_assert_eq!(queue.peek(), model.peek().copied().map(as_entry));
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

    /// A look-ahead moves the cursor to the next event's window; an event
    /// then scheduled behind it (the kernel's "now" is earlier) still pops
    /// first, and events of the current window pushed out of time order
    /// take their places in it.
    #[test]
    fn events_behind_the_cursor_and_within_its_window_pop_in_key_order() {
        let mut queue = EventQueue::new();
        queue.push(Entry::new(5_000_000, 0, 0));
        assert_eq!(queue.peek().map(Entry::time), Some(5_000_000));
        // Behind the cursor: the early heap, and still in key order.
        queue.push(Entry::new(3_000, 1, 1));
        queue.push(Entry::new(2_000, 2, 2));
        // Within the cursor's window (its first microsecond), later, earlier
        // and equal times.
        queue.push(Entry::new(5_000_900, 3, 3));
        queue.push(Entry::new(5_000_100, 4, 4));
        queue.push(Entry::new(5_000_000, 5, 5));
        let order: Vec<u64> = std::iter::from_fn(|| queue.pop().map(Entry::seq)).collect();
        assert_eq!(order, [2, 1, 0, 5, 4, 3]);
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.peek(), None);
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
