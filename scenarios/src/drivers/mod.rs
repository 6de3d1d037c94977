//! One driver per protocol. To add a protocol: a module here, and one arm in
//! [`run_protocol`] and in [`PROTOCOLS`].

mod quorum_register;

use crate::error::InputError;
use crate::runner::{run_with, RunOptions, RunOutcome};
use crate::scenario::Scenario;

/// Protocol names a scenario's `protocol` may take, with a one-line description.
pub const PROTOCOLS: &[(&str, &str)] = &[(
    "quorum-register",
    "multi-writer atomic register on majority quorums (ABD), one per key",
)];

/// Runs `scenario` with the driver of its protocol.
pub fn run_protocol(
    scenario: &Scenario,
    seed: u64,
    options: &RunOptions,
) -> Result<RunOutcome, InputError> {
    match scenario.protocol.as_str() {
        "quorum-register" => run_with(
            quorum_register::QuorumRegister::new(scenario)?,
            scenario,
            seed,
            options,
        ),
        other => Err(InputError::new(
            &scenario.source,
            format!(
                "unknown protocol `{other}` (known: {})",
                PROTOCOLS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_field("protocol")),
    }
}
