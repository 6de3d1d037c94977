//! `clustersim lock-compare`: the cells it fills, a scenario not built, the
//! table's determinism, and the command writing its README block.

use crate::common;
use common::{clustersim, code, text};

use scenarios::lock_compare::{self, Cell, DESIGNS};
use scenarios::registry::Registry;

/// The GC-pause cell of `design` with fencing on.
fn pause_cell(design: usize) -> Cell {
    *lock_compare::cells()
        .iter()
        .find(|c| c.design == DESIGNS[design] && c.fault == 0 && c.fencing)
        .expect("a cell")
}

#[test]
fn with_fencing_on_a_paused_redlock_holder_interleaves_at_the_resource_and_a_lease_lock_holder_does_not(
) {
    let cells = [pause_cell(0), pause_cell(1)];
    let results = lock_compare::run(&Registry::builtin(), &cells, 10).unwrap();
    let [redlock, lease] = [&results[0], &results[1]].map(|r| r.figures.clone().expect("built"));
    assert_eq!((redlock.runs, lease.runs), (10, 10));
    assert!(redlock.resource_unsafe > 0, "{redlock:?}");
    assert_eq!(lease.resource_unsafe, 0, "{lease:?}");
    // Both lock histories break: the pause outlasts the lease.
    assert!(redlock.lock_unsafe > 0 && lease.lock_unsafe > 0);
    let (median, p99) = lease.wait_ms.expect("grants");
    assert!(0.0 < median && median <= p99, "{median} {p99}");
    let table = lock_compare::markdown(&results, 10);
    assert!(
        table.contains(
            "| redlock (no token) | client GC pause longer than the lease | n/a (set on) |"
        ),
        "{table}"
    );
    assert!(
        table.contains(
            "| lease-lock (item version) | client GC pause longer than the lease | on | 0/10 |"
        ),
        "{table}"
    );
    // The same seeds give the same table.
    let again = lock_compare::run(&Registry::builtin(), &cells, 10).unwrap();
    assert_eq!(lock_compare::markdown(&again, 10), table);
}

#[test]
fn a_scenario_not_built_shows_as_not_built() {
    let missing = Cell {
        scenario: "redlock-no-such-fault",
        ..pause_cell(0)
    };
    let results = lock_compare::run(&Registry::builtin(), &[missing, pause_cell(1)], 2).unwrap();
    assert_eq!(results[0].figures, None);
    assert_eq!(results[1].figures.as_ref().map(|f| f.runs), Some(2));
    let table = lock_compare::markdown(&results, 2);
    assert!(table.contains("not built"), "{table}");
}

#[test]
fn the_command_prints_the_table_draws_the_plots_and_fills_the_readme_block() {
    let tmp = tempfile::tempdir().unwrap();
    let readme = tmp.path().join("README.md");
    std::fs::write(
        &readme,
        format!(
            "before\n{}\nold\n{}\nafter\n",
            lock_compare::README_BEGIN,
            lock_compare::README_END
        ),
    )
    .unwrap();
    let out = tmp.path().join("figures");
    let o = clustersim(&[
        "lock-compare",
        "--seeds",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--write-readme",
        readme.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("| redlock (no token) |"), "{stdout}");
    for f in [
        "lock-compare.md",
        "lock-compare-violations.svg",
        "lock-compare-wait.png",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let written = std::fs::read_to_string(&readme).unwrap();
    assert!(written.starts_with("before\n") && written.ends_with("after\n"));
    assert!(!written.contains("\nold\n") && written.contains("| lease-lock (item version) |"));
    let o = clustersim(&["lock-compare", "--seeds", "0"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).contains("--seeds"));
}
