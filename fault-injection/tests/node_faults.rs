//! Crash, restart, pause, kill-and-wipe and clock faults, each seen by the
//! test protocol (which writes its sequence number every tick and syncs it
//! every tenth) or by an observer sampling clocks against true time.

use crate::common;

use common::*;
use fault_injection::{drive, FaultConfig};
use sim_core::*;

fn starts(log: &Log, node: NodeId) -> Vec<(Nanos, u64)> {
    log.borrow()
        .iter()
        .filter_map(|s| match s {
            Seen::Start {
                node: n,
                local,
                recovered,
            } if *n == node => Some((*local, *recovered)),
            _ => None,
        })
        .collect()
}

fn ticks(log: &Log, node: NodeId) -> Vec<Nanos> {
    log.borrow()
        .iter()
        .filter_map(|s| match s {
            Seen::Tick { node: n, local } if *n == node => Some(*local),
            _ => None,
        })
        .collect()
}

/// Everything `node` handled (ticks and accepted messages) with local time in [lo, hi).
fn handled(log: &Log, node: NodeId, lo: Nanos, hi: Nanos) -> usize {
    log.borrow()
        .iter()
        .filter(|s| match s {
            Seen::Tick { node: n, local } | Seen::Got { to: n, local, .. } => {
                *n == node && (lo..hi).contains(local)
            }
            _ => false,
        })
        .count()
}

fn crash_then_recover(mode: &str) -> Vec<(Nanos, u64)> {
    let toml = format!(
        "[faults]\nschedule = [ {{ at_ms = 15.5, duration_ms = 10, kind = \"crash\", node = 2, mode = {mode} }} ]"
    );
    let (sim, log, applied, _) = run_toml(1, 3, &toml, ms(40));
    assert_eq!(
        handled(&log, 2, 15_500_001, 25_500_000),
        0,
        "a crashed node handles nothing"
    );
    assert_eq!(
        count_got(&log, 0, 2, ms(16), ms(26) + 600_000),
        0,
        "and sends nothing"
    );
    assert!(count_got(&log, 0, 2, ms(27), ms(40)) > 0, "restarted");
    assert_eq!(
        (applied[0].start, applied[0].end),
        (15_500_000, Some(25_500_000))
    );
    assert_eq!(sim.status(2), NodeStatus::Up);
    starts(&log, 2)
}

#[test]
fn a_crash_loses_unsynced_writes_or_keeps_them_as_its_mode_says() {
    // Ticks 1..=15 wrote seq 1..=15; the last sync was at seq 10.
    assert_eq!(
        crash_then_recover("\"lose_unsynced\""),
        [(0, 0), (25_500_000, 10)]
    );
    assert_eq!(
        crash_then_recover("\"keep_unsynced\""),
        [(0, 0), (25_500_000, 15)]
    );
    assert_eq!(
        crash_then_recover("{ keep_first = 2 }"),
        [(0, 0), (25_500_000, 12)]
    );
}

#[test]
fn restart_brings_back_a_node_crashed_without_a_duration() {
    let (_, log, applied, _) = run_toml(
        1,
        3,
        r#"[faults]
schedule = [
  { at_ms = 10.5, kind = "crash", node = 1, mode = "keep_unsynced" },
  { at_ms = 30, kind = "restart", node = 1 },
]"#,
        ms(40),
    );
    assert_eq!(handled(&log, 1, 10_500_001, ms(30)), 0);
    assert_eq!(starts(&log, 1), [(0, 0), (ms(30), 10)]);
    assert_eq!(applied[0].label, "crash n1 (unsynced writes kept)");
    assert_eq!(
        applied[0].end,
        Some(ms(30)),
        "the restart ends the crash's interval"
    );
    assert_eq!(applied[1].label, "restart n1");
}

#[test]
fn a_paused_node_handles_nothing_then_runs_its_late_timer_and_messages() {
    let (_, log, applied, _) = run_toml(
        1,
        3,
        "[faults]\nschedule = [ { at_ms = 10.5, duration_ms = 10, kind = \"pause\", node = 2 } ]",
        ms(40),
    );
    assert_eq!(handled(&log, 2, 10_500_001, 20_500_000), 0);
    let t = ticks(&log, 2);
    let resumed = t.iter().position(|&x| x > ms(10)).unwrap();
    assert_eq!(
        &t[resumed - 1..resumed + 2],
        [ms(10), 20_500_000, 21_500_000],
        "the tick due at 11 ms runs late, at 20.5 ms, and re-arms from there"
    );
    // Nothing sent to it meanwhile is lost: it is handled late, in order.
    let late: Vec<u64> = got(&log, 2, 0, 20_500_000, 20_500_001)
        .iter()
        .map(|n| n.seq)
        .collect();
    assert_eq!(late, (11..=20).collect::<Vec<u64>>());
    assert_eq!(starts(&log, 2).len(), 1, "a pause is not a restart");
    assert_eq!(
        (applied[0].start, applied[0].end),
        (10_500_000, Some(20_500_000))
    );
    assert_eq!(applied[0].label, "pause n2 for 10ms");
}

#[test]
fn kill_and_wipe_restarts_over_empty_storage() {
    let (_, log, _, _) = run_toml(
        1,
        3,
        r#"[faults]
schedule = [
  { at_ms = 15.5, duration_ms = 5, kind = "kill_wipe", node = 0 },
  { at_ms = 15.5, kind = "kill_wipe", node = 1 },
]"#,
        ms(40),
    );
    assert_eq!(
        starts(&log, 0),
        [(0, 0), (20_500_000, 0)],
        "synced seq 10 is gone"
    );
    assert_eq!(
        starts(&log, 1),
        [(0, 0), (15_500_000, 0)],
        "restarted at once"
    );
    assert_eq!(handled(&log, 0, 15_500_001, 20_500_000), 0);
}

/// Runs a 3-node cluster under `toml`, sampling clocks after every event.
fn clock_run(toml: &str) -> (Sim<Wire>, Log, Vec<(Nanos, NodeId, Nanos)>) {
    let config = FaultConfig::from_toml(toml).unwrap();
    let (mut sim, topology, log) = cluster(1, 3, false);
    let schedule = config.schedule(&topology, ms(40), 1).unwrap();
    let mut watch = Watch {
        sample_clocks: true,
        ..Default::default()
    };
    drive(&mut sim, &schedule, &topology, ms(40), &mut watch);
    (sim, log, watch.clocks)
}

/// local - true of `node` in every sample with true time in (lo, hi].
fn skews(samples: &[(Nanos, NodeId, Nanos)], node: NodeId, lo: Nanos, hi: Nanos) -> Vec<i64> {
    samples
        .iter()
        .filter(|&&(t, n, _)| n == node && t > lo && t <= hi)
        .map(|&(t, _, local)| local as i64 - t as i64)
        .collect()
}

#[test]
fn a_clock_skew_is_seen_by_the_node_not_by_true_time_and_is_undone() {
    let (sim, log, samples) = clock_run(
        "[faults]\nschedule = [ { at_ms = 10, duration_ms = 10, kind = \"clock_skew\", node = 2, offset_ms = 500 } ]",
    );
    assert!(skews(&samples, 2, 0, ms(10)).iter().all(|&s| s == 0));
    let during = skews(&samples, 2, ms(10), ms(20));
    assert!(
        !during.is_empty() && during.iter().all(|&s| s == 500_000_000),
        "{during:?}"
    );
    assert!(skews(&samples, 2, ms(20), ms(40)).iter().all(|&s| s == 0));
    assert!(
        skews(&samples, 1, 0, ms(40)).iter().all(|&s| s == 0),
        "others untouched"
    );
    let t = ticks(&log, 2);
    assert!(t.contains(&ms(511)) && t.contains(&ms(520)) && t.contains(&ms(21)));
    assert_eq!(sim.now(), ms(40), "true time runs on");
}

#[test]
fn a_clock_drift_makes_the_clock_run_fast_then_the_rate_is_restored() {
    let (_, _, samples) = clock_run(
        "[faults]\nschedule = [ { at_ms = 10, duration_ms = 10, kind = \"clock_drift\", node = 2, ppm = 100000 } ]",
    );
    for &(t, n, local) in &samples {
        if n == 2 && t > ms(10) && t <= ms(20) {
            assert_eq!(local, ms(10) + (t - ms(10)) * 11 / 10, "at {t}");
        }
    }
    let after = skews(&samples, 2, ms(20), ms(40));
    assert!(
        !after.is_empty() && after.iter().all(|&s| s == 1_000_000),
        "1 ms gained, then no more"
    );
}

#[test]
fn a_clock_jump_back_is_seen_by_the_node_and_stays() {
    let (_, log, samples) = clock_run(
        "[faults]\nschedule = [ { at_ms = 10, kind = \"clock_jump\", node = 0, delta_ms = -5 } ]",
    );
    let after = skews(&samples, 0, ms(10), ms(40));
    assert!(!after.is_empty() && after.iter().all(|&s| s == -5_000_000));
    let t = ticks(&log, 0);
    let i = t.iter().position(|&x| x == ms(10)).unwrap();
    assert_eq!(t[i + 1], ms(6), "the node's clock went backwards");
}
