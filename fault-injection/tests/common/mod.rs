//! A small test protocol: every node broadcasts a signed, sealed note every
//! millisecond of its own clock and logs everything it sees.
//!
//! A note's `value` is the sender's local clock at sending, so with unskewed
//! clocks `receive time - value` is the message's latency. Notes are MACed
//! with the origin's key (forgery is caught) and sealed with a checksum
//! (corruption is caught), unless the cluster is built `trusting`.

#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use fault_injection::{AppliedFault, FaultSchedule, Observer};
use serde::Serialize;
use sim_core::integrity::{flip_random_bit, mac, Sealed, AUTH_REJECTED};
use sim_core::rng::SimRng;
use sim_core::*;

pub const PERIOD: Nanos = MILLIS;
pub const LATENCY: Nanos = 100 * MICROS;

fn key(node: NodeId) -> u64 {
    0x5eed_0000 + node as u64 * 7919
}

#[derive(Debug, Clone, Hash, Serialize, PartialEq, Eq)]
pub struct Note {
    pub origin: NodeId,
    pub seq: u64,
    pub value: u64,
    pub mac: u64,
}

impl Note {
    pub fn signed(origin: NodeId, seq: u64, value: u64) -> Self {
        Note {
            origin,
            seq,
            value,
            mac: mac(key(origin), &(origin, seq, value)),
        }
    }

    pub fn authentic(&self) -> bool {
        self.mac == mac(key(self.origin), &(self.origin, self.seq, self.value))
    }
}

/// Value offset of an equivocated note: easy to tell apart.
pub const EQUIVOCATION: u64 = 1_000_000_000_000;
/// Value a forged note claims.
pub const FORGED_VALUE: u64 = 666;

impl Message for Note {
    fn corrupt(&mut self, rng: &mut SimRng) -> bool {
        flip_random_bit(&mut self.value, rng);
        true
    }

    /// The sender signs another value with its own key: a valid variant.
    fn equivocate(&self, _rng: &mut SimRng) -> Option<Self> {
        Some(Note::signed(
            self.origin,
            self.seq,
            self.value + EQUIVOCATION,
        ))
    }

    /// Claims to come from another node, without that node's key.
    fn forge(&self, _rng: &mut SimRng) -> Option<Self> {
        Some(Note {
            origin: self.origin ^ 1,
            value: FORGED_VALUE,
            ..self.clone()
        })
    }
}

pub type Wire = Sealed<Note>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A (re)start, with the sequence number recovered from storage.
    Start {
        node: NodeId,
        local: Nanos,
        recovered: u64,
    },
    Tick {
        node: NodeId,
        local: Nanos,
    },
    Got {
        to: NodeId,
        from: NodeId,
        note: Note,
        local: Nanos,
    },
    /// The seal was broken: the note as it arrived.
    Corrupt {
        to: NodeId,
        from: NodeId,
        note: Note,
        local: Nanos,
    },
    /// The MAC was wrong.
    Rejected {
        to: NodeId,
        from: NodeId,
        note: Note,
        local: Nanos,
    },
}

pub type Log = Rc<RefCell<Vec<Seen>>>;

pub struct Chatter {
    log: Log,
    trusting: bool,
    seq: u64,
}

impl Process for Chatter {
    type Msg = Wire;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Wire>) {
        self.seq = ctx
            .storage()
            .read("seq")
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()));
        self.log.borrow_mut().push(Seen::Start {
            node: ctx.id(),
            local: ctx.now(),
            recovered: self.seq,
        });
        ctx.set_timer(PERIOD, 0);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Wire>, from: NodeId, msg: Wire) {
        let (to, local) = (ctx.id(), ctx.now());
        if self.trusting {
            let note = msg.peek().clone();
            self.log.borrow_mut().push(Seen::Got {
                to,
                from,
                note,
                local,
            });
            return;
        }
        let peeked = msg.peek().clone();
        let Some(note) = msg.open(ctx) else {
            self.log.borrow_mut().push(Seen::Corrupt {
                to,
                from,
                note: peeked,
                local,
            });
            return;
        };
        if !note.authentic() {
            ctx.count(AUTH_REJECTED, 1);
            self.log.borrow_mut().push(Seen::Rejected {
                to,
                from,
                note,
                local,
            });
            return;
        }
        self.log.borrow_mut().push(Seen::Got {
            to,
            from,
            note,
            local,
        });
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire>, _: u64) {
        let (me, now) = (ctx.id(), ctx.now());
        self.log.borrow_mut().push(Seen::Tick {
            node: me,
            local: now,
        });
        self.seq += 1;
        // Durable state: written every tick, synced every tenth.
        ctx.storage().write("seq", self.seq.to_le_bytes().to_vec());
        if self.seq.is_multiple_of(10) {
            ctx.storage().sync();
        }
        let note = Sealed::new(Note::signed(me, self.seq, now));
        let peers: Vec<NodeId> = (0..ctx.node_count()).filter(|&p| p != me).collect();
        ctx.send_all(peers, &note);
        ctx.set_timer(PERIOD, 0);
    }
}

pub fn constant_link() -> LinkConfig {
    LinkConfig {
        latency: Latency::Constant { ns: LATENCY },
        ..Default::default()
    }
}

/// `n` chatting replicas over constant-latency links.
pub fn cluster(seed: u64, n: u32, trusting: bool) -> (Sim<Wire>, Topology, Log) {
    cluster_over(seed, n, trusting, constant_link())
}

pub fn cluster_over(
    seed: u64,
    n: u32,
    trusting: bool,
    link: LinkConfig,
) -> (Sim<Wire>, Topology, Log) {
    let log = Log::default();
    let mut sim = Sim::new(seed, link);
    for _ in 0..n {
        let l = log.clone();
        sim.add_node(move || Chatter {
            log: l.clone(),
            trusting,
            seq: 0,
        });
    }
    let topology = Topology {
        replicas: (0..n).collect(),
        clients: vec![],
    };
    (sim, topology, log)
}

/// Leader: the lowest replica that is up. Also samples every node's clock
/// against true time after each event.
#[derive(Default)]
pub struct Watch {
    /// (true time, node, local time) after each event.
    pub clocks: Vec<(Nanos, NodeId, Nanos)>,
    pub sample_clocks: bool,
}

impl Observer<Wire> for Watch {
    fn check(&mut self, sim: &Sim<Wire>) -> Option<Finding> {
        if self.sample_clocks {
            for n in 0..sim.node_count() {
                self.clocks.push((sim.now(), n, sim.local_time(n)));
            }
        }
        None
    }

    fn leader(&self, sim: &Sim<Wire>) -> Option<NodeId> {
        (0..sim.node_count()).find(|&n| sim.status(n) == NodeStatus::Up)
    }
}

/// Runs a cluster under `toml` (a `[faults]` document) to `end`.
pub fn run_toml(
    seed: u64,
    n: u32,
    toml: &str,
    end: Nanos,
) -> (Sim<Wire>, Log, Vec<AppliedFault>, FaultSchedule) {
    let config = fault_injection::FaultConfig::from_toml(toml).expect("valid faults");
    let (mut sim, topology, log) = cluster(seed, n, false);
    let schedule = config.schedule(&topology, end, seed).expect("schedulable");
    let applied =
        fault_injection::drive(&mut sim, &schedule, &topology, end, &mut Watch::default());
    (sim, log, applied, schedule)
}

/// Notes `to` accepted from `from` that arrived with local time in `[lo, hi)`.
pub fn got(log: &Log, to: NodeId, from: NodeId, lo: Nanos, hi: Nanos) -> Vec<Note> {
    log.borrow()
        .iter()
        .filter_map(|s| match s {
            Seen::Got {
                to: t,
                from: f,
                note,
                local,
            } if *t == to && *f == from && (lo..hi).contains(local) => Some(note.clone()),
            _ => None,
        })
        .collect()
}

pub fn count_got(log: &Log, to: NodeId, from: NodeId, lo: Nanos, hi: Nanos) -> usize {
    got(log, to, from, lo, hi).len()
}

pub fn ms(x: u64) -> Nanos {
    x * MILLIS
}
