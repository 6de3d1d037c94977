//! The cluster size a Byzantine agreement protocol needs: n = 3f+1 with
//! f ≥ 1, so that two quorums of 2f+1 meet in an honest replica. One check,
//! one message, for every protocol that needs it.

use harness::{InputError, Scenario};

/// `Ok` when `scenario.replicas` is 3f+1 for some f ≥ 1, else an input
/// error on `replicas` naming `protocol`.
pub fn require_three_f_plus_one(scenario: &Scenario, protocol: &str) -> Result<(), InputError> {
    let n = scenario.replicas;
    if n >= 4 && (n - 1).is_multiple_of(3) {
        return Ok(());
    }
    Err(scenario.error(
        "replicas",
        format!("{protocol} needs n = 3f+1 replicas with f >= 1 (4, 7, 10, ...), got {n}"),
    ))
}
