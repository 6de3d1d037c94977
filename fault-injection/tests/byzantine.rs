//! Byzantine behaviours: what the peers of a Byzantine node receive. Node 1
//! turns Byzantine at 10.5 ms, so its sends from 11 ms on are rewritten; its
//! honest process runs on unchanged.

use crate::common;

use std::collections::BTreeMap;

use common::*;
use fault_injection::{drive, Behavior, Fault, FaultConfig, NoObserver};
use serde::Serialize;
use sim_core::rng::SimRng;
use sim_core::*;

const PEERS: [NodeId; 4] = [0, 2, 3, 4];

fn byzantine(behavior: &str, extra: &str) -> (Sim<Wire>, Log, Vec<fault_injection::AppliedFault>) {
    let toml = format!(
        "[faults]\nschedule = [ {{ at_ms = 10.5, kind = \"byzantine\", node = 1, behavior = {behavior} {extra} }} ]"
    );
    let (sim, log, applied, _) = run_toml(1, 5, &toml, ms(40));
    (sim, log, applied)
}

#[test]
fn a_mute_node_sends_nothing_but_still_runs() {
    let (sim, log, applied) = byzantine("{ kind = \"mute\" }", ", duration_ms = 10");
    for p in PEERS {
        assert_eq!(count_got(&log, p, 1, 0, ms(11)), 10, "honest before");
        assert_eq!(
            count_got(&log, p, 1, ms(11), ms(21)),
            0,
            "n{p} heard the mute node"
        );
        assert_eq!(
            count_got(&log, p, 1, ms(21), ms(40)),
            19,
            "honest again after"
        );
        assert!(
            count_got(&log, 1, p, ms(11), ms(21)) > 0,
            "it still hears n{p}"
        );
    }
    assert_eq!(sim.counters()["byzantine_muted"], 40, "10 ticks to 4 peers");
    assert_eq!(applied[0].label, "byzantine n1: mute for 10ms");
    assert_eq!(
        (applied[0].start, applied[0].end),
        (10_500_000, Some(20_500_000))
    );
}

#[test]
fn an_equivocating_node_sends_one_version_to_some_peers_and_another_to_the_rest() {
    let (sim, log, applied) = byzantine("{ kind = \"equivocate\", peers = [2, 3] }", "");
    let value_at = |p: NodeId, seq: u64| {
        let notes = got(&log, p, 1, 0, ms(40));
        let n = notes
            .iter()
            .find(|n| n.seq == seq)
            .expect("delivered")
            .clone();
        assert!(n.authentic(), "an equivocation is signed by its sender");
        n.value
    };
    for seq in 1..=10 {
        assert!(
            PEERS.iter().all(|&p| value_at(p, seq) == ms(seq)),
            "honest before"
        );
    }
    for seq in 11..=39 {
        let original = ms(seq);
        assert_eq!(value_at(0, seq), original);
        assert_eq!(value_at(4, seq), original);
        assert_eq!(value_at(2, seq), original + EQUIVOCATION);
        assert_eq!(
            value_at(3, seq),
            original + EQUIVOCATION,
            "one variant for all of them"
        );
    }
    assert_eq!(sim.counters()["byzantine_equivocated"], 2 * 30);
    assert_eq!(applied[0].label, "byzantine n1: equivocate to {2,3}");
}

#[test]
fn equivocation_peers_left_open_are_drawn_into_the_schedule() {
    let config = FaultConfig::from_toml(
        "[faults]\nschedule = [ { at_ms = 1, kind = \"byzantine\", behavior = { kind = \"equivocate\" } } ]",
    )
    .unwrap();
    let (_, topology, _) = cluster(1, 5, false);
    let s = config.schedule(&topology, ms(10), 9).unwrap();
    let Fault::Byzantine {
        node: Some(x),
        behavior: Behavior::Equivocate { peers: Some(peers) },
    } = &s.schedule[0].fault
    else {
        panic!("unresolved: {:?}", s.schedule[0]);
    };
    assert_eq!(peers.len(), 2, "half of the other four");
    assert!(!peers.contains(x));
}

#[test]
fn forgeries_are_delivered_and_caught_by_the_mac() {
    let (sim, log, _) = byzantine("{ kind = \"forge\" }", "");
    for p in PEERS {
        assert_eq!(
            count_got(&log, p, 1, ms(11), ms(40)),
            0,
            "n{p} accepted a forgery"
        );
        let rejected: Vec<Note> = log
            .borrow()
            .iter()
            .filter_map(|s| match s {
                Seen::Rejected {
                    to, from: 1, note, ..
                } if *to == p => Some(note.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(rejected.len(), 29, "every later note reached n{p}, forged");
        for note in rejected {
            assert_eq!(
                (note.origin, note.value),
                (0, FORGED_VALUE),
                "claims to be n0's"
            );
        }
    }
    assert_eq!(sim.counters()["byzantine_forged"], 4 * 30);
    assert_eq!(sim.counters()["auth_rejected"], 4 * 29);
}

#[test]
fn a_replaying_node_resends_old_authentic_messages() {
    let (sim, log, _) = byzantine("{ kind = \"replay\", rate = 0.5, window = 8 }", "");
    for p in PEERS {
        let mut copies: BTreeMap<u64, Vec<Nanos>> = BTreeMap::new();
        for n in got(&log, p, 1, 0, ms(40)) {
            assert!(n.authentic(), "a replay is an authentic old message");
            copies.entry(n.seq).or_default().push(n.value);
        }
        let replayed: Vec<u64> = copies
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(&s, _)| s)
            .collect();
        assert!(replayed.len() > 3, "n{p} saw replays of {replayed:?}");
        assert!(
            replayed.iter().all(|&s| s >= 3),
            "old messages come from the last 8 only"
        );
    }
    // Before the fault every note arrived once.
    let early = got(&log, 0, 1, 0, ms(11));
    assert_eq!(
        early.iter().map(|n| n.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert!(sim.counters()["byzantine_replayed"] > 20);
}

#[test]
fn selective_drop_and_delay_hit_only_the_chosen_peers() {
    let toml = r#"[faults]
schedule = [
  { at_ms = 10.5, kind = "byzantine", node = 1, behavior = { kind = "selective", peers = [2], drop = 1.0 } },
  { at_ms = 10.5, kind = "byzantine", node = 1, behavior = { kind = "selective", peers = [3], delay_ms = 5 } },
]"#;
    let (_, log, applied, _) = run_toml(1, 5, toml, ms(40));
    assert_eq!(count_got(&log, 2, 1, ms(11), ms(40)), 0);
    assert_eq!(count_got(&log, 0, 1, ms(11), ms(40)), 29);
    for (i, n) in got(&log, 3, 1, 0, ms(40)).iter().enumerate() {
        let arrival = match &log
            .borrow()
            .iter()
            .filter(|s| matches!(s, Seen::Got { to: 3, from: 1, .. }))
            .nth(i)
        {
            Some(Seen::Got { local, .. }) => *local,
            _ => unreachable!(),
        };
        let expected = if n.seq >= 11 {
            ms(5) + LATENCY
        } else {
            LATENCY
        };
        assert_eq!(arrival - n.value, expected, "seq {}", n.seq);
    }
    assert_eq!(applied[1].label, "byzantine n1: to {3}: drop 0%, delay 5ms");
}

#[test]
fn behaviours_stack_and_ending_one_leaves_the_other() {
    let toml = r#"[faults]
schedule = [
  { at_ms = 10.5, kind = "byzantine", node = 1, behavior = { kind = "equivocate", peers = [0] } },
  { at_ms = 20.5, duration_ms = 5, kind = "byzantine", node = 1, behavior = { kind = "mute" } },
]"#;
    let (mut sim, log, _, _) = run_toml(1, 3, toml, ms(40));
    assert_eq!(count_got(&log, 0, 1, ms(21), ms(26)), 0, "muted");
    let late = got(&log, 0, 1, ms(27), ms(40));
    assert!(!late.is_empty() && late.iter().all(|n| n.value == ms(n.seq) + EQUIVOCATION));
    assert!(sim.send_interceptor_mut(1).is_some(), "still Byzantine");
}

/// A message type offering no variant and no corruption.
#[derive(Debug, Clone, Hash, Serialize)]
struct Plain(u64);
impl Message for Plain {}

/// Offers corruption only.
#[derive(Debug, Clone, Hash, Serialize)]
struct Flippable(u64);
impl Message for Flippable {
    fn corrupt(&mut self, rng: &mut SimRng) -> bool {
        sim_core::integrity::flip_random_bit(&mut self.0, rng);
        true
    }
}

struct Sender<M> {
    make: fn(u64) -> M,
    got: std::rc::Rc<std::cell::RefCell<Vec<M>>>,
}

impl<M: Message> Process for Sender<M> {
    type Msg = M;
    fn on_start(&mut self, ctx: &mut Ctx<'_, M>) {
        ctx.set_timer(MILLIS, 1);
    }
    fn on_message(&mut self, _: &mut Ctx<'_, M>, _: NodeId, msg: M) {
        self.got.borrow_mut().push(msg);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, M>, tag: u64) {
        if ctx.id() == 0 {
            ctx.send(1, (self.make)(tag));
        }
        ctx.set_timer(MILLIS, tag + 1);
    }
}

fn plain_run<M: Message>(make: fn(u64) -> M, behavior: &str) -> (Sim<M>, Vec<M>) {
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut sim = Sim::new(1, constant_link());
    for _ in 0..2 {
        let g = got.clone();
        sim.add_node(move || Sender {
            make,
            got: g.clone(),
        });
    }
    let topology = Topology {
        replicas: vec![0, 1],
        clients: vec![],
    };
    let toml = format!("[faults]\nschedule = [ {{ at_ms = 0, kind = \"byzantine\", node = 0, behavior = {behavior} }} ]");
    let schedule = FaultConfig::from_toml(&toml)
        .unwrap()
        .schedule(&topology, ms(20), 1)
        .unwrap();
    drive(&mut sim, &schedule, &topology, ms(20), &mut NoObserver);
    let out = got.borrow().clone();
    (sim, out)
}

#[test]
fn without_protocol_variants_equivocation_falls_back_to_corruption_then_to_the_original() {
    let (sim, got) = plain_run(Flippable, "{ kind = \"equivocate\", peers = [1] }");
    assert_eq!(
        got.len(),
        19,
        "sent at 1..=20 ms, the last one still in flight"
    );
    assert!(
        got.iter().enumerate().all(|(i, m)| m.0 != i as u64 + 1),
        "every copy altered"
    );
    assert_eq!(sim.counters()["byzantine_equivocated"], 20);

    let (sim, got) = plain_run(Plain, "{ kind = \"equivocate\", peers = [1] }");
    assert!(
        got.iter().enumerate().all(|(i, m)| m.0 == i as u64 + 1),
        "originals"
    );
    assert_eq!(sim.counters()["byzantine_no_variant"], 20);

    let (sim, got) = plain_run(Plain, "{ kind = \"forge\" }");
    assert!(
        got.iter().enumerate().all(|(i, m)| m.0 == i as u64 + 1),
        "originals"
    );
    assert_eq!(sim.counters()["byzantine_forge_unsupported"], 20);
}
