//! The built-in scenarios (the files of `scenarios/catalogue/`, embedded at
//! build time), for callers that run only the built-in protocols.

use crate::error::InputError;
use crate::registry::Registry;
use crate::scenario::Scenario;

/// A built-in scenario name or a path to a `.toml` file, with `--set`
/// overrides applied (see [`Registry::resolve`]).
pub fn resolve(name_or_path: &str, overrides: &[String]) -> Result<Scenario, InputError> {
    Registry::builtin().resolve(name_or_path, overrides)
}
