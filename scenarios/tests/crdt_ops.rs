//! The CRDT family's op-based mode (causal broadcast, dedup by origin and
//! sequence, anti-entropy, the log forgotten once stable) and the OR-set's
//! compaction of tombstones on causal stability: healthy and fault
//! scenarios pass over 200 seeds with their logs and tombstones forgotten
//! by the end; the bugs are caught, and the correct versions pass the
//! seeds that catch them.

use crate::seeds;
use seeds::*;

const SEEDS: u64 = 200;

fn passes_every_seed(name: &str, sets: &[&str]) {
    for seed in 1..=SEEDS {
        let o = outcome(name, seed, sets);
        assert!(o.summary.passed, "{name} seed {seed}: {:?}", failures(&o));
        // Where stability is tracked, the verdict is there and judged.
        if sets.is_empty() {
            let v = verdict(&o, "compaction").expect("a compaction verdict");
            assert_ne!(v.result, "unknown", "{name} seed {seed}: {}", v.detail);
        }
    }
}

#[test]
fn op_based_counter_passes_healthy_and_under_loss_duplication_partitions_and_crashes() {
    passes_every_seed("pn-counter-ops-healthy", &[]);
    passes_every_seed("pn-counter-ops-faults", &[]);
}

#[test]
fn op_based_or_set_passes_healthy_and_under_loss_duplication_partitions_and_crashes() {
    passes_every_seed("or-set-ops-healthy", &[]);
    passes_every_seed("or-set-ops-faults", &[]);
}

#[test]
fn the_registers_run_op_based_too() {
    for name in ["lww-register-partitions", "mv-register-partitions"] {
        for seed in 1..=50 {
            let o = outcome(name, seed, &["options.mode=\"ops\""]);
            assert!(o.summary.passed, "{name} seed {seed}: {:?}", failures(&o));
        }
    }
}

/// Without dedup, a duplicated operation counts twice: caught by the final
/// read within 200 seeds; with dedup every one of those seeds passes.
#[test]
fn no_dedup_is_caught_and_dedup_passes_the_same_seeds() {
    let name = "pn-counter-ops-bug-no-dedup";
    let (seed, failed) = first_failure(name, SEEDS, &[]).expect("caught within 200 seeds");
    assert!(
        failed.contains(&"final read (pn-counter)".to_string()),
        "seed {seed}: {failed:?}"
    );
    for seed in 1..=SEEDS {
        let o = outcome(name, seed, &["bugs=[]"]);
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
    }
}

/// The early-compaction bug's scenario, seed for seed: every seed where the
/// early drop brings a removed element back passes with compaction on
/// causal stability (`or-set-compaction-partitions` is that scenario with
/// the bug off and the option on), and so does every other seed.
#[test]
fn stable_compaction_passes_where_early_compaction_resurrects() {
    let (bug, fixed) = (
        "or-set-bug-early-compaction",
        "or-set-compaction-partitions",
    );
    let fix = ["bugs=[]", "options.compaction=true"];
    assert_eq!(
        outcome(bug, 1, &fix).summary.fingerprint,
        outcome(fixed, 1, &[]).summary.fingerprint,
        "the same scenario"
    );
    let mut caught = 0;
    for seed in 1..=SEEDS {
        if !failed_checks(bug, seed, &[]).is_empty() {
            caught += 1;
        }
        let o = outcome(fixed, seed, &[]);
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
        assert_eq!(verdict(&o, "compaction").unwrap().result, "pass");
    }
    assert!(caught > 0, "the bug is caught at some seed");
}

/// Healthy, tombstones are dropped as they become stable: a replica never
/// holds more than a small fraction of the removes, and none at the end.
/// Without compaction, every remove's tombstone stays.
#[test]
fn stable_compaction_bounds_the_tombstones() {
    for seed in 1..=20 {
        let o = outcome("or-set-compaction-healthy", seed, &[]);
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
        // Removes that hit (a remove replies whether it removed anything).
        let removes = o
            .history
            .entries
            .iter()
            .filter(|e| e.f == "remove" && e.value == serde_json::json!(true))
            .count();
        let detail = &verdict(&o, "compaction").unwrap().detail;
        let peak: usize = detail
            .split("at most ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a peak in {detail:?}"));
        assert!(
            removes > 200 && peak * 10 < removes,
            "seed {seed}: {peak} held of {removes} removes"
        );
    }
}

/// Options that do not fit the mode are refused, naming the field.
#[test]
fn options_out_of_their_mode_are_named() {
    use scenarios::catalogue;
    use scenarios::runner::{run, RunOptions};
    let cases = [
        (
            "pn-counter-ops-bug-no-dedup",
            "options.mode=\"state\"",
            "bugs",
        ),
        (
            "pn-counter-healthy",
            "options.compaction=true",
            "options.compaction",
        ),
        (
            "or-set-ops-healthy",
            "options.compaction=true",
            "options.compaction",
        ),
    ];
    for (name, set, field) in cases {
        let sets = [set.to_string()];
        let error = catalogue::resolve(name, &sets)
            .and_then(|s| run(&s, 1, &RunOptions::default()).map(|_| ()))
            .expect_err(set)
            .to_string();
        assert!(error.contains(field), "{name} {set}: {error}");
    }
}
