//! Partitions, heal and link faults, each seen by the test protocol.
//!
//! Timing: nodes send at every whole millisecond of their clocks, messages
//! take 0.1 ms. A fault at t ms is applied after the events of t ms (the
//! sends of t ms included) and ended after those of its end. So a link fault
//! over [10, 20] ms hits the messages sent at 11..=20 ms; a cut also drops
//! what is in flight when it arrives, so with a partition over [10, 30] ms
//! nothing crosses with arrival in [10, 31) ms, and the first message after
//! arrives at 31.1 ms.

use crate::common;

use common::*;
use fault_injection::{corruption_summary, Fault, FaultConfig};
use sim_core::*;

/// No message from any of `from` reached any of `to` with arrival in [lo, hi).
fn assert_cut(log: &Log, from: &[NodeId], to: &[NodeId], lo: Nanos, hi: Nanos) {
    for &f in from {
        for &t in to {
            let n = count_got(log, t, f, lo, hi);
            assert_eq!(n, 0, "n{t} heard n{f} {n} times in [{lo}, {hi})");
        }
    }
}

/// Every one of `to` heard every one of `from` with arrival in [lo, hi).
fn assert_flows(log: &Log, from: &[NodeId], to: &[NodeId], lo: Nanos, hi: Nanos) {
    for &f in from {
        for &t in to {
            if f != t {
                assert!(
                    count_got(log, t, f, lo, hi) > 0,
                    "n{t} never heard n{f} in [{lo}, {hi})"
                );
            }
        }
    }
}

const ALL5: [NodeId; 5] = [0, 1, 2, 3, 4];

#[test]
fn a_partition_cuts_both_ways_until_its_end() {
    let (_, log, applied, _) = run_toml(
        1,
        5,
        r#"[faults]
schedule = [ { at_ms = 10, duration_ms = 20, kind = "partition", groups = [[0, 1], [2, 3, 4]] } ]"#,
        ms(50),
    );
    let (a, b) = ([0, 1], [2, 3, 4]);
    assert_flows(&log, &a, &b, 0, ms(10));
    assert_cut(&log, &a, &b, ms(10), ms(31));
    assert_cut(&log, &b, &a, ms(10), ms(31));
    assert_flows(&log, &a, &a, ms(10), ms(31));
    assert_flows(&log, &b, &b, ms(10), ms(31));
    assert_flows(&log, &a, &b, ms(31), ms(50));
    assert_flows(&log, &b, &a, ms(31), ms(50));
    assert_eq!(applied.len(), 1);
    let p = &applied[0];
    assert_eq!((p.start, p.end), (ms(10), Some(ms(30))));
    assert_eq!(p.kind, "partition");
    assert_eq!(p.label, "partition {0,1} | {2,3,4} for 20ms");
    assert_eq!(p.nodes, ALL5);
}

#[test]
fn heal_ends_every_partition_and_closes_their_intervals() {
    let (_, log, applied, _) = run_toml(
        1,
        5,
        r#"[faults]
schedule = [
  { at_ms = 10, kind = "isolate", node = 0 },
  { at_ms = 12, duration_ms = 100, kind = "one_way", from = [1], to = [2] },
  { at_ms = 20, kind = "heal" },
]"#,
        ms(40),
    );
    assert_cut(&log, &[0], &[1, 2, 3, 4], ms(10), ms(21));
    assert_cut(&log, &[1], &[2], ms(12), ms(21));
    assert_flows(&log, &ALL5, &ALL5, ms(21), ms(40));
    assert_eq!(applied[0].end, Some(ms(20)));
    assert_eq!(applied[1].end, Some(ms(20)), "healed before its own end");
    assert_eq!(applied[2].label, "heal all partitions");
    assert_eq!((applied[2].start, applied[2].end), (ms(20), Some(ms(20))));
}

#[test]
fn random_halves_and_majority_are_drawn_into_the_schedule_and_applied() {
    let (_, log, applied, schedule) = run_toml(
        7,
        5,
        r#"[faults]
schedule = [
  { at_ms = 10, duration_ms = 10, kind = "partition_halves" },
  { at_ms = 30, duration_ms = 10, kind = "partition_majority" },
]"#,
        ms(50),
    );
    let groups = |i: usize| match &schedule.schedule[i].fault {
        Fault::PartitionHalves { groups: Some(g) }
        | Fault::PartitionMajority { groups: Some(g) } => g.clone(),
        other => panic!("unresolved {other:?}"),
    };
    let halves = groups(0);
    assert_eq!((halves[0].len(), halves[1].len()), (2, 3));
    assert_cut(&log, &halves[0], &halves[1], ms(10), ms(21));
    assert_cut(&log, &halves[1], &halves[0], ms(10), ms(21));
    assert_flows(&log, &halves[1], &halves[1], ms(10), ms(21));
    let split = groups(1);
    assert_eq!((split[0].len(), split[1].len()), (3, 2), "majority first");
    assert_cut(&log, &split[0], &split[1], ms(30), ms(41));
    assert_flows(&log, &split[0], &split[0], ms(30), ms(41));
    assert!(applied[1].label.starts_with("partition majority {"));
    // The same seed draws the same halves; the draws depend on the seed.
    let again = run_toml(
        7,
        5,
        "[faults]\nschedule = [ { at_ms = 10, kind = \"partition_halves\" } ]",
        ms(1),
    )
    .3;
    assert_eq!(again.schedule[0].fault, schedule.schedule[0].fault);
    let differ = (0..20u64).any(|seed| {
        run_toml(
            seed,
            5,
            "[faults]\nschedule = [ { at_ms = 10, kind = \"partition_halves\" } ]",
            ms(1),
        )
        .3
        .schedule[0]
            .fault
            != schedule.schedule[0].fault
    });
    assert!(differ);
}

#[test]
fn isolate_cuts_one_node_from_the_other_replicas() {
    let (_, log, applied, schedule) = run_toml(
        3,
        5,
        "[faults]\nschedule = [ { at_ms = 10, duration_ms = 10, kind = \"isolate\" } ]",
        ms(40),
    );
    let Fault::Isolate { node: Some(x) } = schedule.schedule[0].fault else {
        panic!("unresolved");
    };
    let others: Vec<NodeId> = ALL5.into_iter().filter(|&n| n != x).collect();
    assert_cut(&log, &[x], &others, ms(10), ms(21));
    assert_cut(&log, &others, &[x], ms(10), ms(21));
    assert_flows(&log, &others, &others, ms(10), ms(21));
    assert_flows(&log, &ALL5, &ALL5, ms(21), ms(40));
    assert_eq!(applied[0].nodes, [x]);
}

#[test]
fn isolate_leader_isolates_the_node_the_observer_names_when_it_applies() {
    // The observer's leader is the lowest node that is up: node 0 is crashed
    // first, so the leader at 10 ms is node 1, not the node 0 of schedule time.
    let (_, log, applied, _) = run_toml(
        1,
        5,
        r#"[faults]
schedule = [
  { at_ms = 5, kind = "crash", node = 0 },
  { at_ms = 10, duration_ms = 10, kind = "isolate_leader" },
]"#,
        ms(40),
    );
    let iso = &applied[1];
    assert_eq!(iso.kind, "isolate_leader");
    assert_eq!(iso.nodes, [1]);
    assert_eq!(iso.label, "isolate leader n1 for 10ms");
    assert_eq!(iso.end, Some(ms(20)));
    assert_cut(&log, &[1], &[2, 3, 4], ms(10), ms(21));
    assert_cut(&log, &[2, 3, 4], &[1], ms(10), ms(21));
    assert_flows(&log, &[2, 3, 4], &[2, 3, 4], ms(10), ms(21));
    assert_flows(&log, &[1, 2, 3, 4], &[1, 2, 3, 4], ms(21), ms(40));
}

#[test]
fn isolate_leader_without_a_leader_is_recorded_and_does_nothing() {
    let config = fault_injection::FaultConfig::from_toml(
        "[faults]\nschedule = [ { at_ms = 10, duration_ms = 10, kind = \"isolate_leader\" } ]",
    )
    .unwrap();
    let (mut sim, topology, log) = cluster(1, 3, false);
    let schedule = config.schedule(&topology, ms(30), 1).unwrap();
    let applied = fault_injection::drive(
        &mut sim,
        &schedule,
        &topology,
        ms(30),
        &mut fault_injection::NoObserver,
    );
    assert_eq!(
        applied[0].label,
        "isolate leader: no leader, nothing isolated"
    );
    assert!(applied[0].nodes.is_empty());
    assert_flows(&log, &[0, 1, 2], &[0, 1, 2], ms(10), ms(20));
}

#[test]
fn a_bridge_node_hears_both_sides_which_do_not_hear_each_other() {
    let (_, log, applied, _) = run_toml(
        1,
        5,
        r#"[faults]
schedule = [ { at_ms = 10, duration_ms = 10, kind = "bridge", sides = [[0, 1], [3, 4]], bridge = 2 } ]"#,
        ms(40),
    );
    assert_cut(&log, &[0, 1], &[3, 4], ms(10), ms(21));
    assert_cut(&log, &[3, 4], &[0, 1], ms(10), ms(21));
    assert_flows(&log, &[0, 1, 3, 4], &[2], ms(10), ms(21));
    assert_flows(&log, &[2], &[0, 1, 3, 4], ms(10), ms(21));
    assert_eq!(
        applied[0].label,
        "bridge n2 between {0,1} and {3,4} for 10ms"
    );
}

#[test]
fn in_a_ring_each_node_hears_only_its_neighbours() {
    let (_, log, _, _) = run_toml(
        1,
        5,
        "[faults]\nschedule = [ { at_ms = 10, duration_ms = 10, kind = \"ring\", order = [0, 2, 4, 1, 3] } ]",
        ms(40),
    );
    let order = [0, 2, 4, 1, 3];
    for (i, &x) in order.iter().enumerate() {
        let left = order[(i + 4) % 5];
        let right = order[(i + 1) % 5];
        for y in ALL5 {
            if y == x {
                continue;
            }
            let heard = count_got(&log, x, y, ms(10), ms(21));
            if y == left || y == right {
                assert!(heard > 0, "n{x} should hear its neighbour n{y}");
            } else {
                assert_eq!(heard, 0, "n{x} heard non-neighbour n{y}");
            }
        }
    }
    assert_flows(&log, &ALL5, &ALL5, ms(21), ms(40));
}

#[test]
fn one_way_a_hears_b_but_b_does_not_hear_a() {
    let (_, log, applied, _) = run_toml(
        1,
        3,
        "[faults]\nschedule = [ { at_ms = 10, duration_ms = 10, kind = \"one_way\", from = [0], to = [1] } ]",
        ms(40),
    );
    assert_cut(&log, &[0], &[1], ms(10), ms(21));
    assert_flows(&log, &[1], &[0], ms(10), ms(21));
    assert_flows(&log, &[0], &[2], ms(10), ms(21));
    assert_flows(&log, &[0], &[1], ms(21), ms(40));
    assert_eq!(applied[0].label, "one-way: {0} unheard by {1} for 10ms");
}

/// Latencies of notes `to` got from `from`, by the note's send time.
fn latencies(log: &Log, to: NodeId, from: NodeId) -> Vec<(Nanos, Nanos)> {
    got(log, to, from, 0, u64::MAX)
        .into_iter()
        .zip(log.borrow().iter().filter_map(|s| match s {
            Seen::Got {
                to: t,
                from: f,
                local,
                ..
            } if *t == to && *f == from => Some(*local),
            _ => None,
        }))
        .map(|(note, at)| (note.value, at - note.value))
        .collect()
}

#[test]
fn extra_delay_holds_messages_during_its_interval_only() {
    let (sim, log, _, _) = run_toml(
        1,
        2,
        "[faults]\nschedule = [ { at_ms = 10, duration_ms = 10, kind = \"delay\", extra_ms = 5 } ]",
        ms(40),
    );
    for (sent, latency) in latencies(&log, 1, 0) {
        let expected = if (ms(11)..=ms(20)).contains(&sent) {
            LATENCY + ms(5)
        } else {
            LATENCY
        };
        assert_eq!(latency, expected, "sent at {sent}");
    }
    assert_eq!(*sim.network().config(0, 1), constant_link(), "restored");
}

/// What each link's latency must be for messages sent at `sent`, under a
/// delay of `extra` over [10, 20] ms on the links `delayed` says.
fn assert_delayed_links(
    log: &Log,
    n: NodeId,
    extra: Nanos,
    delayed: impl Fn(NodeId, NodeId) -> bool,
) {
    for a in 0..n {
        for b in (0..n).filter(|&b| b != a) {
            let seen = latencies(log, b, a);
            assert!(!seen.is_empty(), "n{b} heard n{a}");
            for (sent, latency) in seen {
                let expected = if delayed(a, b) && (ms(11)..=ms(20)).contains(&sent) {
                    LATENCY + extra
                } else {
                    LATENCY
                };
                assert_eq!(latency, expected, "n{a} → n{b} sent at {sent}");
            }
        }
    }
}

#[test]
fn a_directed_delay_holds_back_only_one_links_messages_in_its_window() {
    let (sim, log, applied, schedule) = run_toml(
        1,
        3,
        r#"[faults]
schedule = [ { at_ms = 10, duration_ms = 10, kind = "delay", extra_ms = 7, from = [0], to = [2] } ]"#,
        ms(40),
    );
    // 0 → 2 late; 2 → 0 (the reply direction), 0 → 1 and 1 → 2 on time.
    assert_delayed_links(&log, 3, ms(7), |a, b| (a, b) == (0, 2));
    assert_eq!(applied[0].label, "delay +7ms on links {0} → {2} for 10ms");
    assert_eq!(applied[0].nodes, [0, 2]);
    for (a, b) in [(0, 2), (2, 0), (0, 1)] {
        assert_eq!(*sim.network().config(a, b), constant_link(), "restored");
    }
    // The recorded schedule replays the same run.
    let replay = FaultConfig::from(schedule);
    let (again, _, _, _) = run_toml(1, 3, &toml_of(&replay), ms(40));
    assert_eq!(again.fingerprint(), sim.fingerprint());
}

#[test]
fn a_delay_with_one_side_open_holds_everything_sent_or_received_there() {
    let (_, log, applied, _) = run_toml(
        1,
        3,
        r#"[faults]
schedule = [ { at_ms = 10, duration_ms = 10, kind = "delay", extra_ms = 4, from = [1] } ]"#,
        ms(40),
    );
    assert_delayed_links(&log, 3, ms(4), |a, _| a == 1);
    assert_eq!(applied[0].label, "delay +4ms on links from {1} for 10ms");
    let (_, log, applied, _) = run_toml(
        1,
        3,
        r#"[faults]
schedule = [ { at_ms = 10, duration_ms = 10, kind = "delay", extra_ms = 4, to = [1] } ]"#,
        ms(40),
    );
    assert_delayed_links(&log, 3, ms(4), |_, b| b == 1);
    assert_eq!(applied[0].label, "delay +4ms on links to {1} for 10ms");
}

#[test]
fn a_directed_delay_adds_to_a_delay_on_all_links_and_unwinds() {
    let (sim, log, _, _) = run_toml(
        1,
        2,
        r#"[faults]
schedule = [
  { at_ms = 5, duration_ms = 25, kind = "delay", extra_ms = 2 },
  { at_ms = 10, duration_ms = 10, kind = "delay", extra_ms = 3, from = [1], to = [0] },
]"#,
        ms(40),
    );
    for (sent, latency) in latencies(&log, 0, 1) {
        let extra = match sent {
            s if (ms(11)..=ms(20)).contains(&s) => ms(5),
            s if (ms(6)..=ms(30)).contains(&s) => ms(2),
            _ => 0,
        };
        assert_eq!(latency, LATENCY + extra, "sent at {sent}");
    }
    for (sent, latency) in latencies(&log, 1, 0) {
        let extra = if (ms(6)..=ms(30)).contains(&sent) {
            ms(2)
        } else {
            0
        };
        assert_eq!(latency, LATENCY + extra, "sent at {sent}");
    }
    assert_eq!(*sim.network().config(1, 0), constant_link());
}

#[test]
fn a_directed_delay_is_refused_with_nodes_empty_sides_or_unknown_nodes() {
    let topology = Topology {
        replicas: vec![0, 1, 2],
        clients: vec![],
    };
    for (action, path, words) in [
        (
            "extra_ms = 5, nodes = [0], from = [1]",
            "faults.schedule[0].nodes",
            "not both",
        ),
        (
            "extra_ms = 5, to = []",
            "faults.schedule[0].to",
            "names no node",
        ),
        (
            "extra_ms = 5, from = [0], to = [9]",
            "faults.schedule[0].to",
            "node 9 does not exist",
        ),
        (
            "extra_ms = -1, from = [0]",
            "faults.schedule[0].extra_ms",
            "negative",
        ),
    ] {
        let text = format!(
            "[faults]\nschedule = [ {{ at_ms = 1, duration_ms = 5, kind = \"delay\", {action} }} ]"
        );
        let config = FaultConfig::from_toml(&text).unwrap();
        let e = config.schedule(&topology, ms(40), 1).unwrap_err();
        assert_eq!(e.path, path, "{action}");
        assert!(e.message.contains(words), "{action}: {}", e.message);
    }
}

#[test]
fn a_latency_spike_replaces_the_distribution_then_it_is_restored() {
    let (sim, log, _, _) = run_toml(
        1,
        2,
        r#"[faults]
schedule = [ { at_ms = 10, duration_ms = 10, kind = "latency", latency = { kind = "constant", ns = "3ms" }, nodes = [0] } ]"#,
        ms(40),
    );
    for (sent, latency) in latencies(&log, 1, 0) {
        let expected = if (ms(11)..=ms(20)).contains(&sent) {
            ms(3)
        } else {
            LATENCY
        };
        assert_eq!(latency, expected, "sent at {sent}");
    }
    assert_eq!(*sim.network().config(0, 1), constant_link());
}

#[test]
fn loss_drops_during_its_interval_only_and_only_on_the_named_links() {
    let (sim, log, _, _) = run_toml(
        1,
        3,
        "[faults]\nschedule = [ { at_ms = 10, duration_ms = 10, kind = \"loss\", rate = 1.0, nodes = [0] } ]",
        ms(40),
    );
    assert_cut(&log, &[0], &[1, 2], ms(11), ms(21));
    assert_cut(&log, &[1, 2], &[0], ms(11), ms(21));
    assert_flows(&log, &[1], &[2], ms(11), ms(21));
    assert_eq!(count_got(&log, 1, 0, 0, ms(11)), 10);
    assert_eq!(
        count_got(&log, 1, 0, ms(21), ms(40)),
        19,
        "nothing lost after"
    );
    assert_eq!(sim.network().stats(0, 1).dropped, 10);

    // A partial rate drops about that share.
    let (sim, _, _, _) = run_toml(
        2,
        2,
        "[faults]\nschedule = [ { at_ms = 0, duration_ms = 1000, kind = \"loss\", rate = 0.3 } ]",
        ms(1000),
    );
    let s = sim.network().stats(0, 1);
    let share = s.dropped as f64 / s.sent as f64;
    assert!((0.24..0.36).contains(&share), "loss share {share}");
}

#[test]
fn overlapping_link_faults_compose_and_unwind() {
    let (sim, log, _, _) = run_toml(
        1,
        2,
        r#"[faults]
schedule = [
  { at_ms = 10, duration_ms = 20, kind = "delay", extra_ms = 2 },
  { at_ms = 15, duration_ms = 10, kind = "delay", extra_ms = 3 },
]"#,
        ms(40),
    );
    for (sent, latency) in latencies(&log, 1, 0) {
        let extra = match sent {
            s if (ms(16)..=ms(25)).contains(&s) => ms(5),
            s if (ms(11)..=ms(30)).contains(&s) => ms(2),
            _ => 0,
        };
        assert_eq!(latency, LATENCY + extra, "sent at {sent}");
    }
    assert_eq!(*sim.network().config(1, 0), constant_link());
}

#[test]
fn duplication_delivers_twice_during_its_interval_only() {
    let (_, log, _, _) = run_toml(
        1,
        2,
        "[faults]\nschedule = [ { at_ms = 10, duration_ms = 10, kind = \"duplicate\", rate = 1.0 } ]",
        ms(40),
    );
    let notes = got(&log, 1, 0, 0, ms(40));
    for seq in 1..39u64 {
        let copies = notes.iter().filter(|n| n.seq == seq).count();
        let expected = if (11..=20).contains(&seq) { 2 } else { 1 };
        assert_eq!(copies, expected, "seq {seq}");
    }
}

#[test]
fn reordering_happens_during_its_interval_only() {
    let (_, log, _, _) = run_toml(
        1,
        2,
        "[faults]\nschedule = [ { at_ms = 100, duration_ms = 100, kind = \"reorder\", rate = 0.5, window_ms = 5 } ]",
        ms(300),
    );
    let order: Vec<u64> = got(&log, 1, 0, 0, ms(300)).iter().map(|n| n.seq).collect();
    let mut late_in = 0;
    let mut highest = 0;
    for &seq in &order {
        if seq < highest {
            assert!(
                (101..=200).contains(&seq),
                "seq {seq} overtaken outside the interval"
            );
            late_in += 1;
        }
        highest = highest.max(seq);
    }
    assert!(late_in > 10, "{late_in} overtaken");
    assert_eq!(order.len(), 299, "reordering loses nothing");
}

#[test]
fn a_corrupted_message_arrives_altered_and_a_sealed_protocol_detects_it() {
    let (sim, log, _, _) = run_toml(
        1,
        2,
        "[faults]\nschedule = [ { at_ms = 100, duration_ms = 100, kind = \"corrupt\", rate = 0.3 } ]",
        ms(300),
    );
    let corrupt: Vec<(Note, Nanos)> = log
        .borrow()
        .iter()
        .filter_map(|s| match s {
            Seen::Corrupt { note, local, .. } => Some((note.clone(), *local)),
            _ => None,
        })
        .collect();
    assert!(corrupt.len() > 20, "{} corrupted", corrupt.len());
    for (note, at) in &corrupt {
        assert!(
            (ms(100)..ms(201)).contains(at),
            "corrupted outside the interval at {at}"
        );
        // Altered content: the value is no longer the send time, so the MAC fails too.
        assert_ne!(note.value, at - LATENCY);
        assert!(!note.authentic());
    }
    let s = corruption_summary(&sim);
    assert_eq!(s.injected, corrupt.len() as u64);
    assert_eq!(
        (s.delivered, s.detected, s.undetected),
        (s.injected, s.injected, 0)
    );
}

#[test]
fn a_protocol_that_does_not_check_lets_corruption_through_undetected() {
    let config = fault_injection::FaultConfig::from_toml(
        "[faults]\nschedule = [ { at_ms = 0, duration_ms = 200, kind = \"corrupt\", rate = 0.2 } ]",
    )
    .unwrap();
    let (mut sim, topology, log) = cluster(4, 2, true);
    let schedule = config.schedule(&topology, ms(200), 4).unwrap();
    fault_injection::drive(
        &mut sim,
        &schedule,
        &topology,
        ms(200),
        &mut Watch::default(),
    );
    let s = corruption_summary(&sim);
    assert!(s.delivered > 10);
    assert_eq!((s.detected, s.undetected), (0, s.delivered));
    let altered = log
        .borrow()
        .iter()
        .filter(|x| matches!(x, Seen::Got { note, .. } if !note.authentic()))
        .count() as u64;
    assert_eq!(
        altered, s.delivered,
        "every corrupted note reached the protocol altered"
    );
}

#[test]
fn isolate_leader_with_clients_keeps_the_clients_on_the_old_leaders_side() {
    let config = fault_injection::FaultConfig::from_toml(
        "[faults]\nschedule = [ { at_ms = 10, duration_ms = 10, kind = \"isolate_leader_with_clients\" } ]",
    )
    .unwrap();
    // Nodes 0..3 are replicas and 3..5 clients; the leader is node 0.
    let (mut sim, _, log) = cluster(1, 5, false);
    let topology = Topology {
        replicas: vec![0, 1, 2],
        clients: vec![3, 4],
    };
    let schedule = config.schedule(&topology, ms(40), 1).unwrap();
    let applied = fault_injection::drive(
        &mut sim,
        &schedule,
        &topology,
        ms(40),
        &mut common::Watch::default(),
    );
    assert_eq!(applied[0].kind, "isolate_leader_with_clients");
    assert_eq!(applied[0].nodes, [0, 3, 4]);
    assert!(applied[0]
        .label
        .starts_with("isolate leader n0 with the clients"));
    let (side, rest) = ([0, 3, 4], [1, 2]);
    assert_cut(&log, &side, &rest, ms(10), ms(21));
    assert_cut(&log, &rest, &side, ms(10), ms(21));
    assert_flows(&log, &side, &side, ms(10), ms(21));
    assert_flows(&log, &rest, &rest, ms(10), ms(21));
    assert_flows(&log, &ALL5, &ALL5, ms(21), ms(40));
}

/// A `[faults]` document holding `config`.
fn toml_of(config: &FaultConfig) -> String {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        faults: &'a FaultConfig,
    }
    toml::to_string(&Doc { faults: config }).unwrap()
}
