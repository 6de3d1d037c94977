mod raft_support;
use raft_support::*;

#[test]
#[ignore]
fn explore_bugs() {
    let bugs = std::env::var("BUGS")
        .unwrap_or("vote-without-log-check,figure8,volatile-vote,bad-majority,no-dedup".into());
    for bug in bugs.split(',') {
        for faults in [
            Faults::Bounce,
            Faults::Figure8,
            Faults::Partitions,
            Faults::Unreliable,
            Faults::Crashes,
            Faults::LeaderIsolation,
            Faults::Clocks,
        ] {
            let t = std::time::Instant::now();
            let found = first_violation(seeds(100), |seed| RunSpec::new(seed, faults).bugs(&[bug]));
            match found {
                Some((seed, r)) => println!(
                    "{bug} {faults:?}: seed {seed} {:?} ({:?})",
                    r.violation()
                        .unwrap()
                        .1
                        .chars()
                        .take(200)
                        .collect::<String>(),
                    t.elapsed()
                ),
                None => println!("{bug} {faults:?}: none ({:?})", t.elapsed()),
            }
        }
    }
}

#[test]
#[ignore]
fn explore_healthy() {
    for faults in [
        Faults::None,
        Faults::Bounce,
        Faults::Figure8,
        Faults::Partitions,
        Faults::Unreliable,
        Faults::Crashes,
        Faults::LeaderIsolation,
        Faults::Clocks,
    ] {
        let t = std::time::Instant::now();
        let mut events = 0;
        let mut bad = 0;
        for seed in 0..seeds(100) {
            let r = run(&RunSpec::new(seed, faults));
            events += r.events;
            if let Some((_, d)) = r.violation() {
                bad += 1;
                if bad <= 3 {
                    println!(
                        "  {faults:?} seed {seed}: {}",
                        d.chars().take(300).collect::<String>()
                    );
                }
            }
        }
        println!(
            "{faults:?}: {bad} violations, {events} events, {:?}",
            t.elapsed()
        );
    }
}

#[test]
#[ignore]
fn debug_unreliable() {
    use protocols::raft::{self, RaftMsg};
    use sim_core::*;
    let spec = RunSpec::new(1, Faults::Unreliable);
    let mut sim: Sim<RaftMsg> = Sim::new(1, link(Faults::Unreliable));
    let (rc, cc) = raft::default_configs(5, &spec.workload, spec.bugs);
    let topo = raft::build_cluster(&mut sim, &rc, &cc).unwrap();
    let mut checks = raft::Checks::new(&topo, &rc, &cc);
    for step in 1..=10 {
        sim.run_until_checked(step * 500 * MILLIS, |s| checks.check(s));
        let oks = sim
            .history()
            .entries
            .iter()
            .filter(|e| e.op_type == OpType::Ok)
            .count();
        println!(
            "t={} events={} oks={oks} leader={:?} counters={:?} finding={:?}",
            step * 500,
            sim.events_handled(),
            raft::leader(&sim, &topo.replicas),
            sim.counters(),
            sim.finding()
        );
    }
}

#[test]
#[ignore]
fn explore_volatile() {
    for (gap, prevote) in [
        ((10, 60), true),
        ((30, 150), true),
        ((100, 400), false),
        ((30, 150), false),
    ] {
        for faults in [Faults::Bounce, Faults::Partitions, Faults::Crashes] {
            let found = first_violation(seeds(200), |seed| {
                let mut s = RunSpec::new(seed, faults).bugs(&["volatile-vote"]);
                s.fault_gap = (gap.0 * sim_core::MILLIS, gap.1 * sim_core::MILLIS);
                if !prevote {
                    s.tweak = |c| c.pre_vote = false;
                }
                s
            });
            println!(
                "gap {gap:?} prevote {prevote} {faults:?}: {:?}",
                found.map(|(s, r)| (
                    s,
                    r.violation()
                        .unwrap()
                        .1
                        .chars()
                        .take(150)
                        .collect::<String>()
                ))
            );
        }
    }
}

fn profile(name: &str) -> Faults {
    match name {
        "bounce" => Faults::Bounce,
        "bridge" => Faults::Bridge,
        "figure8" => Faults::Figure8,
        "partitions" => Faults::Partitions,
        "unreliable" => Faults::Unreliable,
        "crashes" => Faults::Crashes,
        "isolation" => Faults::LeaderIsolation,
        "clocks" => Faults::Clocks,
        _ => Faults::None,
    }
}

/// BUGS=a,b PROFILES=x,y GAPS=10-60,30-150 RAFT_SEEDS=n: first catching seed per cell
/// (BUGS=none: count violations of the correct protocol instead).
#[test]
#[ignore]
fn explore_grid() {
    let bugs = std::env::var("BUGS").unwrap_or("none".into());
    let profiles = std::env::var("PROFILES").unwrap_or("partitions".into());
    let gaps = std::env::var("GAPS").unwrap_or("100-400".into());
    for bug in bugs.split(',') {
        for p in profiles.split(',') {
            for g in gaps.split(',') {
                let (a, b) = g.split_once('-').unwrap();
                let gap = (
                    a.parse::<u64>().unwrap() * sim_core::MILLIS,
                    b.parse::<u64>().unwrap() * sim_core::MILLIS,
                );
                let make = |seed| {
                    let mut s = RunSpec::new(seed, profile(p));
                    if bug != "none" {
                        s = s.bugs(&[bug]);
                    }
                    s.fault_gap = gap;
                    if std::env::var("NOPREVOTE").is_ok() {
                        s.tweak = |c| c.pre_vote = false;
                    }
                    if std::env::var("NARROW").is_ok() {
                        s.tweak = |c| {
                            c.election_timeout_max = c.election_timeout_min + 10 * sim_core::MILLIS
                        };
                    }
                    s
                };
                let t = std::time::Instant::now();
                if bug == "none" || std::env::var("COUNT").is_ok() {
                    let bad: Vec<(u64, String)> = (0..seeds(100))
                        .filter_map(|seed| {
                            run(&make(seed))
                                .violation()
                                .map(|v| (seed, v.1.chars().take(200).collect()))
                        })
                        .collect();
                    println!(
                        "{bug} {p} {g}: {} violations {:?} ({:?})",
                        bad.len(),
                        bad.first(),
                        t.elapsed()
                    );
                } else {
                    let found = first_violation(seeds(100), make);
                    println!(
                        "{bug} {p} {g}: {:?} ({:?})",
                        found.map(|(s, r)| (
                            s,
                            r.violation()
                                .unwrap()
                                .1
                                .chars()
                                .take(120)
                                .collect::<String>()
                        )),
                        t.elapsed()
                    );
                }
            }
        }
    }
}

#[test]
#[ignore]
fn debug_stuck() {
    use protocols::raft::{self, RaftMsg, RaftNode};
    use sim_core::*;
    let seed: u64 = std::env::var("SEED").unwrap().parse().unwrap();
    let mut spec = RunSpec::new(seed, profile(&std::env::var("PROFILE").unwrap()));
    spec.tweak = |c| c.pre_vote = false;
    spec.chaos = 3 * SECONDS;
    spec.settle = 0;
    let mut sim: Sim<RaftMsg> = Sim::new(seed, link(spec.faults));
    let (mut rc, cc) = raft::default_configs(5, &spec.workload, spec.bugs);
    (spec.tweak)(&mut rc);
    let r = run_with(&spec, &mut sim, rc, cc);
    println!("{:?}", r.violation());
    sim.network_mut().heal_all();
    for n in 0..5 {
        if sim.status(n) == NodeStatus::Down {
            sim.restart(n, false);
        }
    }
    for step in 0..30 {
        sim.run_until(3 * SECONDS + step * 50 * MILLIS);
        let st: Vec<String> = (0..5)
            .map(|n| {
                sim.process_as::<RaftNode>(n)
                    .map(|r| {
                        format!(
                            "n{n}:{:?}/t{}/v{:?}/l{:?}/last({},{})",
                            r.role(),
                            r.term(),
                            r.voted_for(),
                            r.leader_hint(),
                            r.log().last_index(),
                            r.log().last_term()
                        )
                    })
                    .unwrap_or("down".into())
            })
            .collect();
        println!("{} {}", 3000 + step * 50, st.join(" "));
    }
}

#[test]
#[ignore]
fn debug_bridge() {
    use protocols::raft::{self, RaftMsg, RaftNode};
    use sim_core::*;
    let seed: u64 = std::env::var("SEED").unwrap().parse().unwrap();
    let mut spec = RunSpec::new(seed, Faults::Bridge).bugs(&["volatile-vote"]);
    spec.tweak = |c| c.election_timeout_max = c.election_timeout_min + 10 * MILLIS;
    spec.fault_gap = (10 * MILLIS, 60 * MILLIS);
    spec.chaos = 600 * MILLIS;
    spec.settle = 0;
    let mut sim: Sim<RaftMsg> = Sim::new(seed, link(spec.faults));
    sim.set_trace_output(Box::new(
        std::fs::File::create("/tmp/bridge-trace.jsonl").unwrap(),
    ));
    let (mut rc, cc) = raft::default_configs(5, &spec.workload, spec.bugs);
    (spec.tweak)(&mut rc);
    let r = run_with(&spec, &mut sim, rc, cc);
    println!("{:?}", r.violation());
    let _ = sim.finish_trace();
    let _ = RaftNode::boot;
}
