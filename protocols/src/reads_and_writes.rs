//! The workload of the protocols whose clients only read and write: the
//! quorum registers and the stores. None has a compare-and-set, so a
//! scenario that asks for one is refused, and the shared workload's default
//! (which mixes some in) is turned off. One place, so that every such
//! protocol refuses with the same words.

use harness::{InputError, Scenario};

/// Refuses a workload with compare-and-set operations.
pub fn check_scenario(scenario: &Scenario) -> Result<(), InputError> {
    if scenario.workload.cas_fraction > 0.0 {
        return Err(scenario.error(
            "workload.cas_fraction",
            format!(
                "{} has no compare-and-set: set workload.cas_fraction = 0",
                scenario.protocol
            ),
        ));
    }
    Ok(())
}

/// No compare-and-set in a workload that does not say.
pub fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
    if !given("workload.cas_fraction") {
        scenario.workload.cas_fraction = 0.0;
    }
}
