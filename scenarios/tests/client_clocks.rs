//! Clients whose clocks are wrong: seconds behind, seconds ahead, running at
//! half speed. A client's clock is an honest fault, and none of these
//! protocols relies on it, so every check must pass; and every client must
//! still work: the workload ends on the harness's clock
//! (`Ctx::workload_over`), not on the client's own.

use crate::seeds;
use scenarios::catalogue;
use seeds::*;

/// The first three clients' clocks set wrong from the start of the run.
fn wrong_client_clocks(name: &str) -> String {
    let scenario = catalogue::resolve(name, &[]).expect("catalogue scenario");
    let first = scenario.replicas;
    format!(
        r#"faults.schedule=[
            {{ at_ms = 0, kind = "clock_skew", node = {a}, offset_ms = -2000 }},
            {{ at_ms = 0, kind = "clock_skew", node = {b}, offset_ms = 2500 }},
            {{ at_ms = 0, kind = "clock_drift", node = {c}, ppm = -500000 }},
        ]"#,
        a = first,
        b = first + 1,
        c = first + 2,
    )
}

#[test]
fn crdts_and_stores_pass_and_every_client_works_when_client_clocks_are_wrong() {
    for name in [
        "pn-counter-healthy",
        "or-set-healthy",
        "crdt-partitions",
        "eventual-store-healthy",
        "causal-store-healthy",
        "sequential-store-healthy",
    ] {
        let faults = wrong_client_clocks(name);
        for seed in 1..=4 {
            let run = outcome(name, seed, &["workload.clients=3", &faults]);
            assert!(
                failures(&run).is_empty(),
                "{name} seed {seed}: {:?}",
                failures(&run)
            );
            // Each of the three clients invoked operations, the one whose
            // clock is past the workload's end too.
            let cluster = &run.summary.cluster;
            let nodes = (cluster.replicas.len() + cluster.clients.len()) as u64;
            for &client in &cluster.clients {
                assert!(
                    run.history
                        .entries
                        .iter()
                        .any(|e| e.process % nodes == u64::from(client)),
                    "{name} seed {seed}: client {client} invoked nothing"
                );
            }
        }
    }
}
