//! The fault rows of the lock comparison for Redlock and the lease lock,
//! each with fencing on and off: what the lock history and the guarded
//! resource show. Unsafe rows are caught within 200 seeds; safe rows pass
//! 200 seeds (the CLI sweeps of 1,000 are in the README).

use crate::seeds;
use seeds::{failed_checks, first_failure, outcome};

const FENCING_ON: &[&str] = &["options.fencing=true"];
const FENCING_OFF: &[&str] = &["options.fencing=false"];

/// No seed in 1..=200 fails `check` (any check, with `None`).
fn never_fails(name: &str, sets: &[&str], check: Option<&str>) {
    for seed in 1..=200 {
        let failed = failed_checks(name, seed, sets);
        let hit = match check {
            Some(c) => failed.iter().any(|f| f == c),
            None => !failed.is_empty(),
        };
        assert!(!hit, "{name} {sets:?} seed {seed}: {failed:?}");
    }
}

/// Some seed in 1..=200 fails `check`.
fn caught(name: &str, sets: &[&str], check: &str) -> u64 {
    (1..=200)
        .find(|&seed| failed_checks(name, seed, sets).iter().any(|f| f == check))
        .unwrap_or_else(|| panic!("{name} {sets:?}: {check} not caught in 200 seeds"))
}

#[test]
fn a_paused_redlock_holder_writes_between_the_next_holders_writes_whatever_fencing_says() {
    let seed = caught("redlock-client-pauses", FENCING_ON, "resource");
    // Redlock's writes carry no token: fencing has nothing to compare, and
    // the run with it off is the same run.
    let on = outcome("redlock-client-pauses", seed, FENCING_ON);
    let off = outcome("redlock-client-pauses", seed, FENCING_OFF);
    assert_eq!(on.summary.verdicts, off.summary.verdicts);
    assert_eq!(on.summary.fingerprint, off.summary.fingerprint);
}

#[test]
fn redlock_servers_restarting_without_persistence_give_the_lock_twice() {
    let name = "redlock-server-restarts-no-persistence";
    for sets in [FENCING_ON, FENCING_OFF] {
        caught(name, sets, "linearizability");
        caught(name, sets, "resource");
    }
    // The restarts are the cause: without them the same seeds are safe.
    let (seed, _) = first_failure(name, 200, &[]).expect("caught");
    assert!(failed_checks(name, seed, &["faults.schedule=[]"]).is_empty());
}

#[test]
fn a_lease_lock_store_without_persistence_gives_the_lock_twice_and_fencing_keeps_the_resource_safe()
{
    let name = "lease-lock-store-restarts-no-persistence";
    caught(name, FENCING_ON, "linearizability");
    never_fails(name, FENCING_ON, Some("resource"));
    caught(name, FENCING_OFF, "resource");
}

#[test]
fn clients_cut_off_from_the_lock_service_are_safe_for_redlock_and_the_lease_lock() {
    for name in ["redlock-client-partitions", "lease-lock-client-partitions"] {
        for sets in [FENCING_ON, FENCING_OFF] {
            never_fails(name, sets, None);
        }
    }
}

#[test]
fn a_redlock_holders_write_held_back_in_the_network_interleaves_whatever_fencing_says() {
    let name = "redlock-delayed-write";
    for sets in [FENCING_ON, FENCING_OFF] {
        caught(name, sets, "resource");
        // The lock itself is never held twice.
        never_fails(name, sets, Some("linearizability"));
    }
}

#[test]
fn a_lease_lock_holders_write_held_back_in_the_network_is_fenced_off() {
    let name = "lease-lock-delayed-write";
    never_fails(name, FENCING_ON, None);
    caught(name, FENCING_OFF, "resource");
    never_fails(name, FENCING_OFF, Some("linearizability"));
}
