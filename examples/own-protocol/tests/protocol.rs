//! The protocol under faults: the healthy version passes, the known bug is
//! caught, and what the driver refuses is named.

use harness::Scenario;
use scenarios::registry::Registry;
use scenarios::runner::RunOptions;

fn registry() -> Registry {
    let mut registry = Registry::builtin();
    own_protocol::register(&mut registry);
    registry
}

fn scenario(registry: &Registry, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    registry.resolve("pb-faults", &sets).unwrap()
}

#[test]
fn the_healthy_protocol_passes_under_its_faults() {
    let registry = registry();
    let scenario = scenario(&registry, &["duration=\"2s\""]);
    for seed in 0..20 {
        let s = registry
            .run(&scenario, seed, &RunOptions::default())
            .unwrap()
            .summary;
        assert!(s.passed, "seed {seed}: {:?} {:?}", s.finding, s.verdicts);
        assert!(!s.faults_applied.is_empty(), "seed {seed} had faults");
        assert!(
            s.ops.ok > 50,
            "seed {seed}: clients got answers: {:?}",
            s.ops
        );
    }
}

#[test]
fn stale_reads_are_caught_by_linearizability() {
    let registry = registry();
    let scenario = scenario(&registry, &["bugs=[\"stale-reads\"]"]);
    let caught = (0..20).find(|&seed| {
        let s = registry
            .run(&scenario, seed, &RunOptions::default())
            .unwrap()
            .summary;
        s.verdicts
            .iter()
            .any(|v| v.check == "linearizability" && v.failed())
    });
    assert!(caught.is_some(), "stale-reads not caught within 20 seeds");
}

#[test]
fn bad_input_names_the_field() {
    let registry = registry();
    for (set, field) in [
        ("bugs=[\"typo\"]", "bugs"),
        ("workload.cas_fraction=0.2", "workload.cas_fraction"),
        ("options.speed=2", "options.speed"),
    ] {
        // The driver's checks run when the scenario is read, before any run,
        // and the error names the `--set` that gave the field.
        let e = registry
            .resolve("pb-faults", &[set.to_string()])
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert!(e.to_string().contains(set), "{e}");
    }
}
