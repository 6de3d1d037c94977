//! Schedules as data: round trips, replay, generators and validation.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use fault_injection::{
    drive, Behavior, Fault, FaultConfig, FaultSchedule, GenKind, GenMode, GeneratorConfig,
};
use sim_core::*;

/// One action of every kind, concrete, in TOML.
const EVERY_KIND: &str = r#"[faults]
schedule = [
  { at_ms = 1, duration_ms = 2, kind = "partition", groups = [[0, 1], [2, 3, 4]] },
  { at_ms = 1.5, duration_ms = 2, kind = "partition_halves", groups = [[0, 1], [2, 3, 4]] },
  { at_ms = 2, duration_ms = 2, kind = "partition_majority", groups = [[0, 1, 2], [3, 4]] },
  { at_ms = 3, duration_ms = 2, kind = "isolate", node = 4 },
  { at_ms = 4, duration_ms = 2, kind = "isolate_leader" },
  { at_ms = 5, duration_ms = 2, kind = "bridge", sides = [[0, 1], [3, 4]], bridge = 2 },
  { at_ms = 6, duration_ms = 2, kind = "ring", order = [0, 2, 4, 1, 3] },
  { at_ms = 7, duration_ms = 2, kind = "one_way", from = [0], to = [1, 2] },
  { at_ms = 8, kind = "heal" },
  { at_ms = 9, duration_ms = 2, kind = "delay", extra_ms = 0.25 },
  { at_ms = 9.5, duration_ms = 2, kind = "delay", extra_ms = 3, from = [0], to = [2, 3] },
  { at_ms = 10, duration_ms = 2, kind = "latency", latency = { kind = "pareto", scale = "1us", alpha = 1.5, cap = "9ms" }, nodes = [1] },
  { at_ms = 11, duration_ms = 2, kind = "loss", rate = 0.3, nodes = [0, 1] },
  { at_ms = 12, duration_ms = 2, kind = "duplicate", rate = 0.1 },
  { at_ms = 13, duration_ms = 2, kind = "reorder", rate = 0.2, window_ms = 3 },
  { at_ms = 14, duration_ms = 2, kind = "corrupt", rate = 0.05 },
  { at_ms = 15, duration_ms = 2, kind = "crash", node = 1, mode = { keep_first = 2 } },
  { at_ms = 16, kind = "crash", node = 2, mode = "keep_unsynced" },
  { at_ms = 17, kind = "restart", node = 2, wipe = true },
  { at_ms = 18, duration_ms = 2, kind = "pause", node = 3 },
  { at_ms = 19, duration_ms = 2, kind = "kill_wipe", node = 0 },
  { at_ms = 20, duration_ms = 2, kind = "clock_skew", node = 1, offset_ms = -250.5 },
  { at_ms = 21, duration_ms = 2, kind = "clock_drift", node = 1, ppm = -20000 },
  { at_ms = 22, kind = "clock_jump", node = 1, delta_ms = 1000 },
  { at_ms = 23, kind = "byzantine", node = 4, behavior = { kind = "mute" } },
  { at_ms = 24, kind = "byzantine", node = 3, behavior = { kind = "equivocate", peers = [0, 1] } },
  { at_ms = 25, kind = "byzantine", node = 3, behavior = { kind = "forge", rate = 0.5 } },
  { at_ms = 26, duration_ms = 2, kind = "byzantine", node = 3, behavior = { kind = "replay" } },
  { at_ms = 27, kind = "byzantine", node = 2, behavior = { kind = "selective", peers = [1], drop = 0.5, delay_ms = 2 } },
]"#;

fn five() -> Topology {
    Topology {
        replicas: (0..5).collect(),
        clients: vec![],
    }
}

fn round_trip(s: &FaultSchedule) {
    let json = s.to_json();
    assert_eq!(&FaultSchedule::from_json(&json).unwrap(), s, "JSON");
    let text = toml::to_string(s).unwrap();
    let back: FaultSchedule = toml::from_str(&text).unwrap();
    assert_eq!(&back, s, "TOML:\n{text}");
}

#[test]
fn every_kind_round_trips_through_json_and_toml_unchanged() {
    let config = FaultConfig::from_toml(EVERY_KIND).unwrap();
    let s = config.schedule(&five(), ms(100), 1).unwrap();
    assert_eq!(
        s.schedule, config.schedule,
        "concrete already: nothing drawn, order kept"
    );
    round_trip(&s);
    // The config itself too, as a scenario would write it back.
    let again: FaultConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
    assert_eq!(again, config);
    // Every kind is there, and `kind()` says what serde writes.
    let kinds: BTreeSet<&str> = s.schedule.iter().map(|a| a.fault.kind()).collect();
    assert_eq!(kinds.len(), 23);
    for a in &s.schedule {
        let v = serde_json::to_value(a).unwrap();
        assert_eq!(v["kind"], a.fault.kind());
    }
}

fn wild_generator(mode: GenMode) -> GeneratorConfig {
    let mut g = GeneratorConfig {
        mode,
        min_duration_ms: 20.0,
        max_duration_ms: 300.0,
        start_ms: 50.0,
        quiet_ms: 300.0,
        ..Default::default()
    };
    for kind in GenKind::ALL {
        g.rates.insert(kind, 2.0);
    }
    g
}

#[test]
fn generated_schedules_round_trip_through_json_and_toml() {
    for seed in 0..20 {
        for mode in [GenMode::Random, GenMode::Swarm] {
            let config = FaultConfig {
                schedule: vec![],
                generator: Some(wild_generator(mode)),
            };
            let s = config.schedule(&five(), 3 * SECONDS, seed).unwrap();
            assert!(!s.schedule.is_empty());
            round_trip(&s);
        }
    }
}

fn run(
    schedule: &FaultSchedule,
    seed: u64,
    end: Nanos,
) -> (u64, Vec<fault_injection::AppliedFault>) {
    let (mut sim, topology, _) = cluster(seed, 5, false);
    let applied = drive(&mut sim, schedule, &topology, end, &mut Watch::default());
    assert!(sim.finding().is_none());
    (sim.fingerprint(), applied)
}

#[test]
fn a_recorded_schedule_replayed_as_a_fixed_schedule_gives_the_same_fingerprint() {
    let end = 2 * SECONDS;
    let seed = 42;
    let config = FaultConfig {
        schedule: FaultConfig::from_toml(
            "[faults]\nschedule = [ { at_ms = 100, duration_ms = 200, kind = \"isolate_leader\" } ]",
        )
        .unwrap()
        .schedule,
        generator: Some(wild_generator(GenMode::Random)),
    };
    let generated = config.schedule(&five(), end, seed).unwrap();
    let kinds: BTreeSet<&str> = generated.schedule.iter().map(|a| a.fault.kind()).collect();
    assert!(kinds.len() >= 15, "a rich schedule: {kinds:?}");
    let (fingerprint, applied) = run(&generated, seed, end);

    // What faults.json holds, read back and replayed as a fixed schedule.
    let recorded = FaultSchedule::from_json(&generated.to_json()).unwrap();
    let replayed = FaultConfig::from(recorded)
        .schedule(&five(), end, seed)
        .unwrap();
    assert_eq!(replayed.schedule, generated.schedule);
    let (again, applied_again) = run(&replayed, seed, end);
    assert_eq!(again, fingerprint);
    assert_eq!(applied_again, applied);
    let leaders: Vec<_> = applied
        .iter()
        .filter(|a| a.kind == "isolate_leader")
        .collect();
    assert!(
        leaders.iter().any(|a| a.nodes.len() == 1),
        "{leaders:?} {kinds:?}"
    );

    // The faults are part of the fingerprint.
    let (quiet, _) = run(&FaultSchedule::default(), seed, end);
    assert_ne!(quiet, fingerprint);
}

#[test]
fn the_same_seed_draws_the_same_schedule_and_other_seeds_others() {
    let config = FaultConfig {
        schedule: vec![],
        generator: Some(GeneratorConfig::default()),
    };
    let a = config.schedule(&five(), 30 * SECONDS, 5).unwrap();
    assert_eq!(a, config.schedule(&five(), 30 * SECONDS, 5).unwrap());
    assert!(!a.schedule.is_empty());
    let distinct: BTreeSet<String> = (0..10)
        .map(|seed| {
            config
                .schedule(&five(), 30 * SECONDS, seed)
                .unwrap()
                .to_json()
        })
        .collect();
    assert_eq!(distinct.len(), 10);
}

#[test]
fn fixed_and_generated_actions_are_merged_in_time_order() {
    let mut config = FaultConfig::from_toml(
        "[faults]\nschedule = [ { at_ms = 5000, kind = \"heal\" }, { at_ms = 1000, kind = \"crash\" } ]",
    )
    .unwrap();
    config.generator = Some(GeneratorConfig::default());
    let s = config.schedule(&five(), 20 * SECONDS, 3).unwrap();
    assert!(s.schedule.windows(2).all(|w| w[0].at() <= w[1].at()));
    assert!(s.schedule.iter().any(|a| a.fault == Fault::Heal));
}

#[test]
fn swarm_mode_draws_a_different_fault_mix_for_most_seeds() {
    let config = FaultConfig {
        schedule: vec![],
        generator: Some(GeneratorConfig {
            mode: GenMode::Swarm,
            ..Default::default()
        }),
    };
    let mut mixes = BTreeSet::new();
    let mut sizes = BTreeSet::new();
    for seed in 0..100 {
        let s = config.schedule(&five(), 30 * SECONDS, seed).unwrap();
        let mix = s.mix.expect("swarm records its mix");
        let on: Vec<GenKind> = mix.rates.keys().copied().collect();
        assert!(!on.is_empty());
        // Only kinds that are on appear in the schedule.
        for a in &s.schedule {
            let kind: GenKind = serde_json::from_value(serde_json::json!(a.fault.kind())).unwrap();
            assert!(on.contains(&kind), "{kind:?} drawn but off");
        }
        sizes.insert(on.len());
        mixes.insert(on);
    }
    assert!(
        mixes.len() >= 90,
        "only {} distinct mixes in 100 seeds",
        mixes.len()
    );
    assert!(sizes.len() >= 6, "mix sizes {sizes:?}");

    // Random mode keeps one mix.
    let random = FaultConfig {
        schedule: vec![],
        generator: Some(GeneratorConfig::default()),
    };
    let one: BTreeSet<String> = (0..10)
        .map(|seed| {
            let m = random
                .schedule(&five(), SECONDS, seed)
                .unwrap()
                .mix
                .unwrap();
            serde_json::to_string(&m).unwrap()
        })
        .collect();
    assert_eq!(one.len(), 1);
}

/// The replicas a concrete action makes faulty (the generator's rule,
/// restated), and how many not yet known (an isolated leader); a ring counts
/// as blocking everything.
fn faulty(fault: &Fault) -> (Vec<NodeId>, usize) {
    match fault {
        Fault::Crash { node: Some(x), .. }
        | Fault::Pause { node: Some(x) }
        | Fault::KillWipe { node: Some(x) }
        | Fault::Isolate { node: Some(x) }
        | Fault::Byzantine { node: Some(x), .. } => (vec![*x], 0),
        Fault::PartitionHalves { groups: Some(g) } => {
            (g.iter().min_by_key(|g| g.len()).unwrap().clone(), 0)
        }
        Fault::PartitionMajority { groups: Some(g) } => (g[1].clone(), 0),
        Fault::Bridge {
            sides: Some((a, b)),
            ..
        } => (
            if a.len() <= b.len() {
                a.clone()
            } else {
                b.clone()
            },
            0,
        ),
        Fault::OneWay { from: Some(f), .. } => (f.clone(), 0),
        Fault::IsolateLeader | Fault::IsolateLeaderWithClients => (vec![], 1),
        Fault::Ring { .. } => (vec![], 99),
        _ => (vec![], 0),
    }
}

#[test]
fn generators_keep_at_most_a_minority_faulty_and_end_every_fault_before_the_quiet_tail() {
    let end = 20 * SECONDS;
    for (replicas, bound) in [(5u32, 2usize), (3, 1), (7, 3)] {
        let topology = Topology {
            replicas: (0..replicas).collect(),
            clients: vec![replicas],
        };
        for seed in 0..40 {
            let mut g = wild_generator(if seed % 2 == 0 {
                GenMode::Random
            } else {
                GenMode::Swarm
            });
            g.rates.values_mut().for_each(|r| *r = 0.5);
            let config = FaultConfig {
                schedule: vec![],
                generator: Some(g.clone()),
            };
            let s = config.schedule(&topology, end, seed).unwrap();
            let mut active: Vec<(Nanos, Nanos, Vec<NodeId>, usize)> = Vec::new();
            for a in &s.schedule {
                let start = a.at();
                match a.duration() {
                    Some(d) => assert!(start + d <= end - ms(300), "ends in the quiet tail: {a:?}"),
                    None => assert_eq!(a.fault.kind(), "clock_jump", "every fault ends: {a:?}"),
                }
                assert!(!s.nodes().contains(&replicas), "clients are left alone");
                let (nodes, unknown) = faulty(&a.fault);
                if nodes.is_empty() && unknown == 0 {
                    continue;
                }
                active.retain(|&(_, e, _, _)| e > start);
                active.push((start, start + a.duration().unwrap(), nodes, unknown));
                let ring = active.iter().any(|x| x.3 == 99);
                if ring {
                    assert_eq!(active.len(), 1, "a ring is alone (seed {seed})");
                    assert!(replicas <= 5);
                    continue;
                }
                let set: BTreeSet<NodeId> =
                    active.iter().flat_map(|x| x.2.iter().copied()).collect();
                let unknown: usize = active.iter().map(|x| x.3).sum();
                assert!(
                    set.len() + unknown <= bound,
                    "{replicas} replicas, seed {seed}: faulty {set:?} + {unknown} at {start}"
                );
            }
        }
    }
}

#[test]
fn a_generated_run_ends_with_the_cluster_whole_again() {
    let end = 3 * SECONDS;
    for seed in 0..6 {
        let config = FaultConfig {
            schedule: vec![],
            generator: Some(wild_generator(GenMode::Random)),
        };
        let (mut sim, topology, _) = cluster(seed, 5, false);
        let s = config.schedule(&topology, end, seed).unwrap();
        let applied = drive(&mut sim, &s, &topology, end, &mut Watch::default());
        assert!(applied.len() > 20);
        for a in &applied {
            assert!(
                a.end.is_some_and(|e| e <= end - ms(300)),
                "still in force: {a:?}"
            );
        }
        for n in 0..5 {
            assert_eq!(sim.status(n), NodeStatus::Up);
            assert!(!sim.is_paused(n));
            assert_eq!(sim.clock(n).drift_ppm(), 0);
            assert!(
                sim.send_interceptor_mut(n).is_none(),
                "n{n} still Byzantine"
            );
            for m in 0..5 {
                assert!(!sim.network().is_cut(n, m));
                assert_eq!(*sim.network().config(n, m), constant_link());
            }
        }
    }
}

fn err(toml: &str) -> String {
    let config = FaultConfig::from_toml(toml).map_err(|e| e.to_string());
    let topology = Topology {
        replicas: (0..6).collect(),
        clients: vec![6, 7],
    };
    match config {
        Err(e) => e,
        Ok(c) => c
            .schedule(&topology, 10 * SECONDS, 1)
            .unwrap_err()
            .to_string(),
    }
}

#[test]
fn a_nonexistent_node_is_named_with_its_action_and_field() {
    let e = err(r#"[faults]
schedule = [
  { at_ms = 1, kind = "heal" },
  { at_ms = 2, kind = "isolate", node = 1 },
  { at_ms = 3, duration_ms = 5, kind = "loss", rate = 0.5 },
  { at_ms = 4, kind = "crash", node = 9 },
]"#);
    assert_eq!(
        e,
        "faults.schedule[3].node: node 9 does not exist (the cluster has nodes 0..=7)"
    );
    let e = err(
        "[faults]\nschedule = [ { at_ms = 1, kind = \"partition\", groups = [[0], [1, 12]] } ]",
    );
    assert_eq!(
        e,
        "faults.schedule[0].groups: node 12 does not exist (the cluster has nodes 0..=7)"
    );
    let e = err("[faults]\nschedule = [ { at_ms = 1, kind = \"byzantine\", node = 0, behavior = { kind = \"selective\", peers = [8] } } ]");
    assert!(
        e.starts_with("faults.schedule[0].behavior.peers: node 8 does not exist"),
        "{e}"
    );
}

#[test]
fn a_negative_duration_or_time_is_named() {
    let e =
        err("[faults]\nschedule = [ { at_ms = 5, duration_ms = -5, kind = \"pause\", node = 1 } ]");
    assert_eq!(
        e,
        "faults.schedule[0].duration_ms: must not be negative, got -5"
    );
    let e = err("[faults]\nschedule = [ { at_ms = 1, kind = \"heal\" }, { at_ms = -0.5, kind = \"heal\" } ]");
    assert_eq!(
        e,
        "faults.schedule[1].at_ms: must not be negative, got -0.5"
    );
    let e = err("[faults]\nschedule = [ { at_ms = nan, kind = \"heal\" } ]");
    assert!(
        e.starts_with("faults.schedule[0].at_ms: must be a finite number"),
        "{e}"
    );
}

#[test]
fn an_unknown_kind_or_field_is_a_toml_error_with_its_line() {
    let e = err(r#"[faults]
schedule = [
  { at_ms = 1, kind = "heal" },
  { at_ms = 2, kind = "crsh", node = 1 },
]"#);
    assert!(
        e.starts_with("faults: TOML parse error at line 4, column 3"),
        "{e}"
    );
    assert!(e.contains("unknown variant `crsh`"), "{e}");
    let e = err("[faults]\n\n[[faults.schedule]]\nat_ms = 1\nkind = \"crash\"\nnod = 2\n");
    assert!(
        e.contains("line 3") && e.contains("unknown field `nod`"),
        "{e}"
    );
    let e = err("[faults]\ngenerator = { mode = \"swarm\", rates = { crashes = 1 } }\n");
    assert!(
        e.contains("line 2") && e.contains("unknown variant `crashes`"),
        "{e}"
    );
}

#[test]
fn other_bad_values_are_named() {
    let cases = [
        ("{ at_ms = 1, kind = \"pause\", node = 1 }", "faults.schedule[0].duration_ms: pause needs a duration"),
        ("{ at_ms = 1, duration_ms = 3, kind = \"heal\" }", "faults.schedule[0].duration_ms: heal happens at an instant and takes no duration"),
        ("{ at_ms = 1, kind = \"loss\", rate = 1.5 }", "faults.schedule[0].rate: must be a probability in [0, 1], got 1.5"),
        ("{ at_ms = 1, kind = \"partition\", groups = [[0, 1], [1, 2]] }", "faults.schedule[0].groups: node 1 is named twice"),
        ("{ at_ms = 1, kind = \"partition\", groups = [[0, 1]] }", "faults.schedule[0].groups: a partition needs at least two groups"),
        ("{ at_ms = 1, kind = \"clock_drift\", node = 0, ppm = -1000000 }", "faults.schedule[0].ppm: a drift of -1000000 ppm would stop or reverse the clock, or run it more than 1000 times as fast as true time (must be > -1000000 and <= 999000000)"),
        ("{ at_ms = 1, kind = \"clock_drift\", node = 0, ppm = 999000001 }", "faults.schedule[0].ppm: a drift of 999000001 ppm would stop or reverse the clock, or run it more than 1000 times as fast as true time (must be > -1000000 and <= 999000000)"),
        ("{ at_ms = 1, kind = \"byzantine\", node = 0, behavior = { kind = \"forge\", rate = 2 } }", "faults.schedule[0].behavior.rate: must be a probability in [0, 1], got 2"),
    ];
    for (action, expected) in cases {
        assert_eq!(err(&format!("[faults]\nschedule = [ {action} ]")), expected);
    }
    let e = err("[faults]\ngenerator = { rates = { crash = -1 } }");
    assert_eq!(
        e,
        "faults.generator.rates.crash: must be a rate in [0, 1000] faults per second, got -1"
    );
    let e = err("[faults]\ngenerator = { min_duration_ms = 10, max_duration_ms = 5 }");
    assert!(
        e.starts_with("faults.generator.min_duration_ms: is above max_duration_ms"),
        "{e}"
    );
    let two = Topology {
        replicas: vec![0, 1],
        clients: vec![],
    };
    let c = FaultConfig::from_toml(
        "[faults]\nschedule = [ { at_ms = 1, kind = \"partition_majority\" } ]",
    )
    .unwrap();
    assert_eq!(
        c.schedule(&two, SECONDS, 1).unwrap_err().to_string(),
        "faults.schedule[0].kind: partition_majority needs at least 3 replicas, the cluster has 2"
    );
}

#[test]
fn a_schedule_with_an_open_choice_is_not_concrete() {
    let s = FaultSchedule {
        mix: None,
        schedule: FaultConfig::from_toml(
            "[faults]\nschedule = [ { at_ms = 1, kind = \"crash\" } ]",
        )
        .unwrap()
        .schedule,
    };
    let e = s.validate(&five()).unwrap_err();
    assert_eq!(e.path, "faults.schedule[0].node");
    // Driving it anyway skips the action rather than panicking, as for a
    // node the simulation lacks.
    let mut bad = s.clone();
    bad.schedule.push(fault_injection::FaultAction {
        at_ms: 2.0,
        duration_ms: None,
        fault: Fault::Byzantine {
            node: Some(40),
            behavior: Behavior::Mute,
        },
    });
    let (mut sim, topology, _) = cluster(1, 5, false);
    let applied = drive(
        &mut sim,
        &bad,
        &topology,
        ms(5),
        &mut fault_injection::NoObserver,
    );
    assert_eq!(applied[0].label, "skipped crash: node left open");
    assert_eq!(
        applied[1].label,
        "skipped byzantine: node: node 40 does not exist (the simulation has 5 nodes)"
    );
    assert_eq!(sim.now(), ms(5));
}

#[test]
fn applied_faults_serialize_for_reports() {
    let (_, _, applied, _) = run_toml(1, 5, EVERY_KIND, ms(40));
    assert_eq!(applied.len(), 29);
    let json = serde_json::to_string(&applied).unwrap();
    let back: Vec<fault_injection::AppliedFault> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, applied);
    let by_kind: BTreeMap<&str, &str> = applied
        .iter()
        .map(|a| (a.kind.as_str(), a.label.as_str()))
        .collect();
    assert_eq!(by_kind["clock_jump"], "clock jump n1 +1000ms");
    assert_eq!(by_kind["kill_wipe"], "kill n0 and wipe its storage for 2ms");
    assert_eq!(by_kind["loss"], "loss 30% on links of {0,1} for 2ms");
}

#[test]
fn a_protocol_without_a_leader_gets_no_leader_fault_and_may_name_none() {
    let targets_leader = |s: &FaultSchedule| s.schedule.iter().any(|a| a.fault.targets_leader());
    for mode in [GenMode::Random, GenMode::Swarm] {
        let config = FaultConfig {
            schedule: vec![],
            generator: Some(GeneratorConfig {
                mode,
                ..GeneratorConfig::default()
            }),
        };
        let leaderless = config.for_protocol(false).unwrap();
        let (mut with_leader, mut without) = (0, 0);
        for seed in 0..200 {
            let draw = |c: &FaultConfig| c.schedule(&five(), 30 * SECONDS, seed).unwrap();
            with_leader += usize::from(targets_leader(&draw(&config.for_protocol(true).unwrap())));
            without += usize::from(targets_leader(&draw(&leaderless)));
        }
        assert!(
            with_leader > 20,
            "{mode:?}: the default mix draws leader faults"
        );
        assert_eq!(without, 0, "{mode:?}");
    }
    // Named explicitly, or in a fixed schedule, they are refused by field.
    let mut named = GeneratorConfig::default();
    named.rates.insert(GenKind::IsolateLeaderWithClients, 0.5);
    let e = FaultConfig {
        schedule: vec![],
        generator: Some(named),
    }
    .for_protocol(false)
    .unwrap_err();
    assert_eq!(e.path, "faults.generator.rates.isolate_leader_with_clients");
    let fixed = FaultConfig::from_toml(
        "[faults]\nschedule = [ { at_ms = 5, kind = \"crash\", node = 1 }, { at_ms = 9, duration_ms = 3, kind = \"isolate_leader\" } ]",
    )
    .unwrap();
    assert_eq!(
        fixed.for_protocol(false).unwrap_err().path,
        "faults.schedule[1].kind"
    );
    assert!(fixed.for_protocol(true).is_ok());
}

#[test]
fn fixed_faults_at_or_after_the_end_of_the_run_are_refused() {
    let fixed = FaultConfig::from_toml(
        "[faults]\nschedule = [ { at_ms = 5, kind = \"crash\", node = 1 }, { at_ms = 1000, kind = \"restart\", node = 1 } ]",
    )
    .unwrap();
    assert!(fixed.check_within(1001 * MILLIS).is_ok());
    let e = fixed.check_within(SECONDS).unwrap_err();
    assert_eq!(e.path, "faults.schedule[1].at_ms");
}

#[test]
fn drawn_byzantine_nodes_use_the_named_behaviours_and_equivocate_to_the_same_victims() {
    let mut g = GeneratorConfig {
        max_faulty: Some(2),
        byzantine_behaviors: vec!["equivocate".into()],
        ..wild_generator(GenMode::Random)
    };
    g.rates = [(GenKind::Byzantine, 20.0)].into_iter().collect();
    for seed in 0..20 {
        let config = FaultConfig {
            schedule: vec![],
            generator: Some(g.clone()),
        };
        let s = config.schedule(&five(), 3 * SECONDS, seed).unwrap();
        assert!(!s.schedule.is_empty());
        let mut victims = BTreeSet::new();
        for a in &s.schedule {
            let Fault::Byzantine {
                node: Some(node),
                behavior: Behavior::Equivocate { peers: Some(peers) },
            } = &a.fault
            else {
                panic!("seed {seed}: {a:?}");
            };
            assert!(!peers.contains(node));
            victims.extend(peers.iter().copied());
            assert_eq!(
                victims.len(),
                peers.len(),
                "seed {seed}: one set of victims"
            );
        }
        // One set of victims, half of the three the bound leaves honest,
        // and never a liar.
        assert_eq!(victims.len(), 2, "seed {seed}: {victims:?}");
        assert!(s.schedule.iter().all(|a| match a.fault {
            Fault::Byzantine { node: Some(n), .. } => !victims.contains(&n),
            _ => false,
        }));
    }
    g.byzantine_behaviors = vec!["lie".into()];
    let err = g.validate().unwrap_err().to_string();
    assert!(
        err.contains("byzantine_behaviors") && err.contains("equivocate"),
        "{err}"
    );
}
