//! Clients that crash and restart: each incarnation is a history process of
//! its own (the kernel numbers them), request ids survive restarts, and the
//! correct protocols stay correct; clients that number their requests from 1
//! again after a restart are caught.

use crate::seeds;
use seeds::*;

/// Runs `name` over seeds 1..=200: every check passes at every seed.
fn passes_200_seeds(name: &str) {
    for seed in 1..=200 {
        let failed = failed_checks(name, seed, &[]);
        assert!(failed.is_empty(), "{name} seed {seed}: {failed:?}");
    }
}

/// The first seed in 1..=200 at which `name` fails; the same seed passes
/// with the bug switched off. Returns what failed.
fn caught(name: &str) -> Vec<String> {
    let (seed, failed) = (1..=200)
        .find_map(|seed| {
            let failed = failed_checks(name, seed, &[]);
            (!failed.is_empty()).then_some((seed, failed))
        })
        .unwrap_or_else(|| panic!("{name}: not caught in 200 seeds"));
    // Without the bug the history holds; a Redlock resource may still see
    // writes interleave on the long-tailed network of its scenario (a write
    // in flight past the lease, which no token fences), so it is left out.
    let mut without = failed_checks(name, seed, &["bugs=[]"]);
    without.retain(|c| c != "resource");
    assert!(
        without.is_empty(),
        "{name} seed {seed} without the bug: {without:?}"
    );
    failed
}

#[test]
fn every_incarnation_records_its_own_operations_and_an_open_one_stays_open() {
    for name in [
        "register-client-restarts",
        "crdt-client-restarts",
        "pbft-client-restarts",
        "raft-client-restarts",
    ] {
        let run = outcome(name, 1, &[]);
        let cluster = &run.summary.cluster;
        let nodes = (cluster.replicas.len() + cluster.clients.len()) as u64;
        let mut processes: Vec<u64> = run.history.entries.iter().map(|e| e.process).collect();
        processes.sort_unstable();
        processes.dedup();
        // Three clients, each restarted several times: later incarnations
        // (process >= nodes) invoked operations too.
        let restarted = processes.iter().filter(|&&p| p >= nodes).count();
        assert!(restarted >= 6, "{name}: processes {processes:?}");
        let is_client = |p: &u64| cluster.clients.contains(&((p % nodes) as u32));
        assert!(processes.iter().all(is_client), "{name}: {processes:?}");
        // The history is well formed: at most one open operation per process.
        run.history.operations().unwrap();
    }
}

#[test]
fn the_quorum_register_stays_linearizable_when_clients_restart() {
    passes_200_seeds("register-client-restarts");
}

#[test]
fn crdt_replicas_apply_every_acknowledged_update_of_restarted_clients() {
    passes_200_seeds("crdt-client-restarts");
}

#[test]
fn pbft_executes_a_restarted_clients_requests_as_new_ones() {
    passes_200_seeds("pbft-client-restarts");
}

#[test]
fn raft_stays_linearizable_when_clients_restart() {
    passes_200_seeds("raft-client-restarts");
}

#[test]
fn a_crdt_client_that_reuses_request_ids_loses_acknowledged_updates() {
    let failed = caught("crdt-bug-reuse-request-ids");
    assert!(
        failed.iter().all(|c| c.starts_with("convergence")),
        "{failed:?}"
    );
}

#[test]
fn a_pbft_client_that_reuses_request_ids_gets_another_operations_result() {
    assert_eq!(caught("pbft-bug-reuse-request-ids"), ["linearizability"]);
}

/// The mutex model's verdict on `history`.
fn lock_verdict(history: &sim_core::history::History) -> checkers::Verdict {
    let options = checkers::CheckOptions::default();
    checkers::check_history_named("lock", history, &options)
        .unwrap()
        .verdict
}

#[test]
fn a_crashed_holders_lease_runs_out_and_the_next_grant_is_no_violation() {
    let expiry_process = protocols::lock_expiry::EXPIRY_PROCESS;
    for scenario in ["redlock-client-restarts", "lease-lock-client-restarts"] {
        let (mut with_expiries, mut needed) = (0, 0);
        for seed in 1..=200 {
            let run = outcome(scenario, seed, &[]);
            let failed: Vec<_> = run.summary.verdicts.iter().filter(|v| v.failed()).collect();
            assert!(failed.is_empty(), "{scenario} seed {seed}: {failed:?}");
            let mut raw = run.history.clone();
            raw.entries.retain(|e| e.process != expiry_process);
            if raw.entries.len() < run.history.entries.len() {
                with_expiries += 1;
                // Without the expiries the dead holder keeps the lock forever.
                needed += u32::from(lock_verdict(&raw) == checkers::Verdict::NotLinearizable);
            }
        }
        println!(
            "{scenario}: {with_expiries} runs with a crashed holder, {needed} needing its expiry"
        );
        assert!(with_expiries >= 100, "{scenario}: {with_expiries}");
        assert!(needed >= 20, "{scenario}: {needed}");
    }
}

#[test]
fn a_redlock_without_validity_check_is_caught_when_clients_restart() {
    // Two holders at once: their writes interleave at the resource as well.
    assert_eq!(
        caught("redlock-bug-restarts-no-validity-check"),
        ["resource", "linearizability"]
    );
}
