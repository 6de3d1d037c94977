//! The built-in scenarios (the files of `scenarios/catalogue/`, embedded at build time).

use std::path::Path;

use crate::error::InputError;
use crate::scenario::Scenario;

include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

/// The text of the built-in scenario `name`.
pub fn text(name: &str) -> Option<&'static str> {
    CATALOGUE.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A catalogue name or a path to a `.toml` file, with `--set` overrides applied.
pub fn resolve(name_or_path: &str, overrides: &[String]) -> Result<Scenario, InputError> {
    let path = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || path.exists() {
        return Scenario::load(path, overrides);
    }
    match text(name_or_path) {
        Some(t) => Scenario::parse(t, &format!("{name_or_path}.toml"), overrides),
        None => Err(InputError::new(
            name_or_path,
            format!(
                "no such built-in scenario or file (built-in: {})",
                CATALOGUE
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// (name, description) of every built-in scenario.
pub fn list() -> Vec<(&'static str, String)> {
    CATALOGUE
        .iter()
        .map(|(name, text)| {
            let description = Scenario::parse(text, name, &[])
                .map(|s| s.description)
                .unwrap_or_else(|e| format!("(does not parse: {e})"));
            (*name, description)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_catalogue_entry_parses_and_has_a_description() {
        for (name, text) in super::CATALOGUE {
            let s =
                crate::scenario::Scenario::parse(text, name, &[]).unwrap_or_else(|e| panic!("{e}"));
            assert!(!s.description.is_empty(), "{name} has no description");
        }
    }
}
