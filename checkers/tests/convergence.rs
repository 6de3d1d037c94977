//! The convergence checker accepts a converged run and rejects a replica that
//! missed an update and a common state that contradicts the history.

use crate::common;

use checkers::convergence::{
    check_convergence, spec_by_name, ConvergenceVerdict, Counter, GrowOnlySet, ReplicaState,
};
use common::Builder;
use serde_json::{json, Value};
use sim_core::history::History;

/// add 1 ok, add 2 ok, add 3 indeterminate, add 4 failed.
fn set_history() -> History {
    Builder::new()
        .invoke(0, 1, "add", json!(1))
        .ok(1, 1, "add", json!(1))
        .invoke(2, 1, "add", json!(2))
        .ok(3, 1, "add", json!(2))
        .invoke(4, 2, "add", json!(3))
        .info(5, 2, "add", json!(3))
        .invoke(6, 3, "add", json!(4))
        .fail(7, 3, "add", json!(4))
        .build()
}

fn replicas(states: &[Value]) -> Vec<ReplicaState> {
    states
        .iter()
        .enumerate()
        .map(|(i, s)| ReplicaState::new(format!("n{}", i + 1), s.clone()))
        .collect()
}

#[test]
fn converged_set_is_accepted_in_any_element_order() {
    let h = set_history();
    for common in [json!([1, 2]), json!([1, 2, 3])] {
        let r = check_convergence(
            &GrowOnlySet,
            &replicas(&[common.clone(), common.clone(), common]),
            &h,
        )
        .unwrap();
        assert!(r.is_ok(), "{r:?}");
    }
    let r = check_convergence(
        &GrowOnlySet,
        &replicas(&[json!([2, 1, 3]), json!([3, 2, 1])]),
        &h,
    )
    .unwrap();
    assert_eq!(r.verdict, ConvergenceVerdict::Converged);
    assert_eq!(r.state, Some(json!([1, 2, 3])));
}

#[test]
fn a_replica_that_missed_an_update_is_caught() {
    let h = set_history();
    let r = check_convergence(
        &GrowOnlySet,
        &replicas(&[json!([1, 2]), json!([1]), json!([1, 2])]),
        &h,
    )
    .unwrap();
    assert_eq!(r.verdict, ConvergenceVerdict::Diverged);
    let text = r.violations.join("\n");
    assert!(text.contains("2 different states"), "{text}");
    assert!(
        text.contains("replica(s) n2 hold [1]: missing acknowledged add 2"),
        "{text}"
    );
}

#[test]
fn an_agreed_state_that_contradicts_the_history_is_caught() {
    let h = set_history();
    // Lost an acknowledged add.
    let r = check_convergence(&GrowOnlySet, &replicas(&[json!([1]), json!([1])]), &h).unwrap();
    assert_eq!(r.verdict, ConvergenceVerdict::ContradictsHistory);
    assert!(
        r.violations[0].contains("missing acknowledged add 2"),
        "{:?}",
        r.violations
    );
    // Holds an element whose add failed, and one never added.
    let r = check_convergence(&GrowOnlySet, &replicas(&[json!([1, 2, 4, 9])]), &h).unwrap();
    assert_eq!(r.verdict, ConvergenceVerdict::ContradictsHistory);
    let text = r.violations.join("\n");
    assert!(text.contains("holds 4, whose only adds failed"), "{text}");
    assert!(text.contains("holds 9, which was never added"), "{text}");
}

#[test]
fn counter_bounds() {
    let h = Builder::new()
        .invoke(0, 1, "incr", json!(2))
        .ok(1, 1, "incr", json!(2))
        .invoke(2, 2, "incr", json!(5))
        .info(3, 2, "incr", json!(5))
        .invoke(4, 3, "incr", json!(100))
        .fail(5, 3, "incr", json!(100))
        .invoke(6, 1, "read", Value::Null)
        .ok(7, 1, "read", json!(2))
        .build();
    for ok in [2, 7] {
        let r = check_convergence(&Counter, &replicas(&[json!(ok), json!(ok)]), &h).unwrap();
        assert!(r.is_ok(), "{ok}: {r:?}");
    }
    for bad in [1, 3, 102] {
        let r = check_convergence(&Counter, &replicas(&[json!(bad), json!(bad)]), &h).unwrap();
        if bad == 3 {
            // 3 is between 2 and 7 but not a sum of a subset: still within
            // bounds, which is all a counter's final value can promise.
            assert!(r.is_ok());
            continue;
        }
        assert_eq!(r.verdict, ConvergenceVerdict::ContradictsHistory, "{bad}");
        assert!(
            r.violations[0].contains("outside [2, 7]"),
            "{:?}",
            r.violations
        );
    }
    let r = check_convergence(&Counter, &replicas(&[json!(2), json!(7)]), &h).unwrap();
    assert_eq!(r.verdict, ConvergenceVerdict::Diverged);
}

#[test]
fn malformed_states_and_names() {
    let h = set_history();
    let r = check_convergence(&GrowOnlySet, &replicas(&[json!({"a": 1})]), &h).unwrap();
    assert_eq!(r.verdict, ConvergenceVerdict::Diverged);
    assert!(r.violations[0].contains("malformed"), "{:?}", r.violations);
    let r = check_convergence(&GrowOnlySet, &[], &h).unwrap();
    assert!(!r.is_ok());
    assert!(spec_by_name("g-set").is_some());
    assert!(spec_by_name("counter").is_some());
    assert!(spec_by_name("nope").is_none());
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["verdict"], "diverged");
}
