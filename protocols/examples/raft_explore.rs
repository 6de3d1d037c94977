//! Exploration tools (not tests): which fault patterns catch which bug, how
//! often. `cargo run --release -p protocols --example raft_explore -- NAME`,
//! NAME one of the functions below, with `BUGS`, `PROFILES`, `GAPS`, `RAFT_SEEDS`,
//! `COUNT`, `NOPREVOTE`, `NARROW` as described at `explore_grid`.

#[path = "../tests/raft_support/mod.rs"]
mod raft_support;
use raft_support::*;

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

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    match which.as_str() {
        "explore_bugs" => explore_bugs(),
        "explore_healthy" => explore_healthy(),
        "explore_grid" => explore_grid(),
        _ => eprintln!("usage: raft_explore explore_bugs|explore_healthy|explore_grid"),
    }
}
