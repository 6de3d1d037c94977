//! The quorum register never stores two values under one timestamp: a
//! writer whose write timed out on a minority does not reuse its timestamp.

use crate::seeds;
use seeds::*;

#[test]
fn writes_that_time_out_on_a_minority_leave_the_register_linearizable() {
    for seed in 1..=200 {
        let failed = failed_checks("register-timed-out-writes", seed, &[]);
        assert!(failed.is_empty(), "seed {seed}: {failed:?}");
    }
}

#[test]
fn a_writer_that_reuses_a_timestamp_is_caught() {
    let name = "register-bug-reuse-timestamp";
    let (seed, failed) = (1..=200)
        .find_map(|seed| {
            let failed = failed_checks(name, seed, &[]);
            (!failed.is_empty()).then_some((seed, failed))
        })
        .expect("caught in 200 seeds");
    assert_eq!(failed, ["linearizability"]);
    assert!(failed_checks(name, seed, &["bugs=[]"]).is_empty());
}
