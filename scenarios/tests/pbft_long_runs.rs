//! PBFT that runs for ever: checkpoints bound the log over a 60 s run (the
//! event rate stays flat), re-sending keeps 2 % loss from causing view
//! changes, and a restarted replica fetches the state it lost and counts
//! again.

use crate::seeds;
use seeds::*;

use scenarios::runner::RunOutcome;
use sim_core::{OpType, MILLIS};

fn stat(o: &RunOutcome, name: &str) -> f64 {
    o.summary.stats.get(name).copied().unwrap_or(f64::NAN)
}

fn counter(o: &RunOutcome, name: &str) -> i64 {
    o.summary.counters.get(name).copied().unwrap_or(0)
}

/// The events-per-second curve of a run, one point per 5 s window.
fn event_rate(o: &RunOutcome) -> Vec<f64> {
    o.summary
        .stats
        .iter()
        .filter(|(k, _)| k.starts_with("pbft.events_per_s."))
        .map(|(_, &v)| v)
        .collect()
}

/// What one replica of four may hold at most with K = 16 (L = 32), entry
/// by entry (`Replica::retained`): log slots of one view (32), certificates
/// (32), committed (32), executed digests (2L below h and L above: 96),
/// snapshots (3), checkpoint votes (4 per replica: 16), view changes (4),
/// early messages (3·n·L: 384), pending requests (3 clients).
const RETAINED_BOUND: f64 = 602.0;

#[test]
fn a_minute_under_two_percent_loss_keeps_the_log_bounded_and_the_event_rate_flat() {
    let o = outcome("pbft-long-lossy", 1, &[]);
    assert!(o.summary.passed, "{:?}", failures(&o));
    assert!(
        stat(&o, "pbft.stable_checkpoint") > 3000.0,
        "{:?}",
        o.summary.stats
    );
    let retained = stat(&o, "pbft.max_retained");
    assert!(retained <= RETAINED_BOUND, "{retained}");
    assert_eq!(counter(&o, "pbft.view_changes"), 0);
    let rate = event_rate(&o);
    assert_eq!(rate.len(), 12, "{rate:?}");
    let (low, high) = rate
        .iter()
        .fold((f64::MAX, 0.0f64), |(l, h), &r| (l.min(r), h.max(r)));
    println!("events per second, 5 s windows: {rate:?}; at most {retained} entries held");
    assert!(high < 1.3 * low, "{rate:?}");

    // The measure is not blind: with checkpoints too rare to happen, what a
    // replica holds grows with the run.
    let never = outcome(
        "pbft-long-lossy",
        1,
        &["duration=\"10s\"", "options.checkpoint_interval=1000000"],
    );
    assert!(stat(&never, "pbft.max_retained") > 2.0 * RETAINED_BOUND);
}

#[test]
fn two_percent_loss_without_crashes_causes_no_view_change() {
    let (mut view_changes, mut resent) = (0, 0);
    for seed in 0..200 {
        let o = outcome("pbft-lossy", seed, &[]);
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
        assert_eq!(verdict(&o, "liveness").unwrap().result, "pass");
        // Throughput close to a loss-free network's (about 120 ok/s).
        assert!(
            o.summary.throughput > 80.0,
            "seed {seed}: {}",
            o.summary.throughput
        );
        view_changes += counter(&o, "pbft.view_changes");
        resent += counter(&o, "pbft.resent");
    }
    println!(
        "pbft-lossy: {view_changes} view-change starts, {resent} messages re-sent over 200 seeds"
    );
    assert!(resent > 0);
    assert_eq!(view_changes, 0);
}

/// Operations that completed `ok` after true time `after`.
fn ok_after(o: &RunOutcome, after: u64) -> usize {
    o.history
        .entries
        .iter()
        .filter(|e| e.op_type == OpType::Ok && e.time > after)
        .count()
}

#[test]
fn a_restarted_backup_fetches_the_state_and_counts_again() {
    // Replica 2 restarts at 1 s with its memory lost; replica 3 crashes for
    // good at 2 s, after which no quorum forms without replica 2.
    for seed in 1..=5 {
        let o = outcome("pbft-backup-restart", seed, &[]);
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
        assert!(counter(&o, "pbft.state_transfers") > 0, "seed {seed}");
        let after = ok_after(&o, 2_500 * MILLIS);
        assert!(
            after > 50,
            "seed {seed}: {after} ops after replica 3 crashed"
        );
    }
}
