//! The protocols and scenario files a command line knows.
//!
//! A [`Registry`] is filled through [`harness::Registrar`]: each protocol's
//! `register` function hands it a driver constructor, which the registry
//! turns into a runner for that driver's message type (the runner is generic,
//! the registry is not). [`Registry::builtin`] holds this workspace's
//! protocols and catalogue; an outside crate adds its own and passes the
//! registry to [`crate::cli::main_with`].

use std::path::Path;

use harness::{Driver, InputError, KnownProtocols, Registrar, Scenario};

use crate::runner::{run_with, RunOptions, RunOutcome};

include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

/// Runs a scenario with one protocol's driver.
type RunFn = dyn Fn(&Scenario, u64, &RunOptions) -> Result<RunOutcome, InputError> + Send + Sync;

/// What a protocol's driver has against a scenario before any run.
type CheckFn = dyn Fn(&Scenario) -> Result<(), InputError> + Send + Sync;

/// A driver's defaults for the fields a scenario file left out.
type FillDefaultsFn = fn(&mut Scenario, &dyn Fn(&str) -> bool);

struct Protocol {
    name: String,
    description: String,
    run: Box<RunFn>,
    check: Box<CheckFn>,
    fill_defaults: FillDefaultsFn,
}

/// Protocols by name, and scenario files by name.
#[derive(Default)]
pub struct Registry {
    protocols: Vec<Protocol>,
    /// (name, file text), in the order added.
    scenarios: Vec<(String, String)>,
}

impl Registrar for Registry {
    fn protocol<D: Driver + 'static>(
        &mut self,
        name: &str,
        description: &str,
        new: fn(&Scenario) -> Result<D, InputError>,
    ) {
        let run = move |scenario: &Scenario, seed: u64, options: &RunOptions| {
            run_with(new(scenario)?, scenario, seed, options)
        };
        // The driver refuses bugs, options and workloads it cannot run when
        // it is built; faults it cannot honour are refused by name here.
        let check = move |scenario: &Scenario| {
            let driver = new(scenario)?;
            scenario
                .faults
                .for_protocol(driver.has_leader())
                .map(drop)
                .map_err(|e| scenario.error(&e.path, e.message))
        };
        self.protocols.retain(|p| p.name != name);
        self.protocols.push(Protocol {
            name: name.to_string(),
            description: description.to_string(),
            run: Box::new(run),
            check: Box::new(check),
            fill_defaults: D::fill_defaults,
        });
    }

    fn scenario(&mut self, name: &str, text: &str) {
        self.add_scenario(name, text);
    }
}

impl Registry {
    /// No protocol, no scenario.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in protocols and the catalogue (`scenarios/catalogue/`).
    pub fn builtin() -> Self {
        let mut registry = Self::new();
        protocols::register(&mut registry);
        for (name, text) in CATALOGUE {
            registry.add_scenario(name, text);
        }
        registry
    }

    /// Adds a scenario file's text under `name`, replacing one of that name.
    pub fn add_scenario(&mut self, name: &str, text: &str) {
        self.scenarios.retain(|(n, _)| n != name);
        self.scenarios.push((name.to_string(), text.to_string()));
    }

    /// Adds every `*.toml` file of `dir` under its name without `.toml`, in
    /// name order (how the built-in catalogue is made).
    pub fn add_scenario_dir(&mut self, dir: &Path) -> Result<(), InputError> {
        let entries = std::fs::read_dir(dir).map_err(|e| InputError::io(dir, e))?;
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| InputError::io(&path, e))?;
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            self.add_scenario(&name, &text);
        }
        Ok(())
    }

    /// (name, description) of every protocol, in the order registered.
    pub fn protocols(&self) -> Vec<(&str, &str)> {
        self.protocols
            .iter()
            .map(|p| (p.name.as_str(), p.description.as_str()))
            .collect()
    }

    /// The text of the scenario `name`.
    pub fn scenario_text(&self, name: &str) -> Option<&str> {
        self.scenarios
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
    }

    /// (name, description) of every scenario, sorted by name.
    pub fn scenarios(&self) -> Vec<(&str, String)> {
        let mut entries: Vec<(&str, String)> = self
            .scenarios
            .iter()
            .map(|(name, text)| {
                let description = self
                    .parse(text, name, &[])
                    .map(|s| s.description)
                    .unwrap_or_else(|e| format!("(does not parse: {e})"));
                (name.as_str(), description)
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries
    }

    /// A scenario name or a path to a `.toml` file, with `--set` overrides
    /// applied; its `protocol` must be one of this registry's.
    pub fn resolve(
        &self,
        name_or_path: &str,
        overrides: &[String],
    ) -> Result<Scenario, InputError> {
        let path = Path::new(name_or_path);
        if name_or_path.ends_with(".toml") || path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| InputError::io(path, e))?;
            return self.parse(&text, &path.display().to_string(), overrides);
        }
        match self.scenario_text(name_or_path) {
            Some(text) => self.parse(text, &format!("{name_or_path}.toml"), overrides),
            None => {
                let known: Vec<&str> = self.scenarios.iter().map(|(n, _)| n.as_str()).collect();
                Err(InputError::new(
                    name_or_path,
                    format!("no such scenario or file (known: {})", known.join(", ")),
                ))
            }
        }
    }

    /// Parses scenario text, checking its `protocol` against this registry.
    pub fn parse(
        &self,
        text: &str,
        source: &str,
        overrides: &[String],
    ) -> Result<Scenario, InputError> {
        Scenario::parse_for(text, source, overrides, Some(self))
    }

    /// Every check a scenario gets before it runs, however it was read (a
    /// file, a recorded `summary.json`, a scenario given other faults): its
    /// own fields, then its protocol's driver.
    pub fn check(&self, scenario: &Scenario) -> Result<(), InputError> {
        scenario.check()?;
        KnownProtocols::check(self, scenario)
    }

    fn find(&self, name: &str) -> Option<&Protocol> {
        self.protocols.iter().find(|p| p.name == name)
    }

    /// Runs `scenario` at `seed` with the driver its `protocol` names.
    pub fn run(
        &self,
        scenario: &Scenario,
        seed: u64,
        options: &RunOptions,
    ) -> Result<RunOutcome, InputError> {
        match self.find(&scenario.protocol) {
            Some(protocol) => (protocol.run)(scenario, seed, options),
            None => Err(scenario.error(
                "protocol",
                format!(
                    "protocol `{}` is not registered (known: {})",
                    scenario.protocol,
                    self.protocols()
                        .iter()
                        .map(|p| p.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}

impl KnownProtocols for Registry {
    fn names(&self) -> Vec<&str> {
        self.protocols.iter().map(|p| p.name.as_str()).collect()
    }

    fn fill_defaults(&self, scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        if let Some(protocol) = self.find(&scenario.protocol) {
            (protocol.fill_defaults)(scenario, given);
        }
    }

    fn check(&self, scenario: &Scenario) -> Result<(), InputError> {
        match self.find(&scenario.protocol) {
            Some(protocol) => (protocol.check)(scenario),
            None => scenario
                .validate_protocol(&self.names())
                .map_err(|(f, m)| scenario.error(&f, m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_entry_parses_and_has_a_description() {
        let registry = Registry::builtin();
        for (name, text) in CATALOGUE {
            let s = registry
                .parse(text, name, &[])
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(!s.description.is_empty(), "{name} has no description");
        }
    }

    #[test]
    fn a_scenario_of_an_unregistered_protocol_is_refused_at_its_line() {
        let registry = Registry::new();
        let e = registry
            .parse("duration = \"1s\"\nprotocol = \"raft\"\n", "x.toml", &[])
            .unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(2), Some("protocol")));
        let scenario = Registry::builtin().resolve("raft-healthy", &[]).unwrap();
        let e = registry
            .run(&scenario, 1, &RunOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains("`raft` is not registered"), "{e}");
    }

    #[test]
    fn added_scenarios_are_listed_and_replace_their_namesake() {
        let mut registry = Registry::builtin();
        let healthy = registry.scenario_text("raft-healthy").unwrap().to_string();
        registry.add_scenario(
            "zz-mine",
            &healthy.replace("description", "# x\ndescription"),
        );
        registry.add_scenario(
            "raft-healthy",
            "protocol = \"raft\"\ndescription = \"mine\"\n",
        );
        let list = registry.scenarios();
        assert_eq!(list.last().map(|e| e.0), Some("zz-mine"));
        let mine = list.iter().find(|e| e.0 == "raft-healthy").unwrap();
        assert_eq!(mine.1, "mine");
        assert_eq!(list.iter().filter(|e| e.0 == "raft-healthy").count(), 1);
    }

    #[test]
    fn a_one_line_file_of_every_protocol_is_accepted() {
        let registry = Registry::builtin();
        for (protocol, _) in registry.protocols() {
            let one_line = format!("protocol = \"{protocol}\"\n");
            registry
                .parse(&one_line, "one.toml", &[])
                .unwrap_or_else(|e| panic!("{protocol}: {e}"));
        }
        // An explicit compare-and-set share is still refused by the
        // register's driver, on its line.
        let text = "protocol = \"quorum-register\"\n[workload]\ncas_fraction = 0.2\n";
        let e = registry.parse(text, "f.toml", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("workload.cas_fraction"), "{e}");
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn leader_faults_are_refused_for_leaderless_protocols() {
        // A protocol's driver says whether it has a leader: the registry asks.
        const GOOD: &str = "\nprotocol = \"quorum-register\"\nduration = \"2s\"\n\n[network]\nloss = 0.1\nlatency = { kind = \"constant\", ns = \"1ms\" }\n";
        let registry = Registry::builtin();
        let fixed = format!(
            "{GOOD}\n[faults]\nschedule = [\n  {{ at_ms = 100, duration_ms = 50, kind = \"pause\", node = 1 }},\n  {{ at_ms = 200, duration_ms = 50, kind = \"isolate_leader\" }},\n]\n"
        );
        let e = registry.parse(&fixed, "f.toml", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("faults.schedule[1].kind"), "{e}");
        assert_eq!(e.line, Some(12), "{e}");
        let with_clients = fixed.replace("\"isolate_leader\"", "\"isolate_leader_with_clients\"");
        let e = registry.parse(&with_clients, "f.toml", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("faults.schedule[1].kind"), "{e}");
        // Raft has a leader: the same faults are fine.
        let raft = fixed.replace("quorum-register", "raft");
        registry.parse(&raft, "f.toml", &[]).unwrap();

        let generated = format!(
            "{GOOD}\n[faults]\ngenerator = {{ rates = {{ crash = 1.0, isolate_leader = 0.5 }} }}\n"
        );
        for protocol in ["quorum-register", "crdt", "redlock"] {
            let text = generated.replace("quorum-register", protocol);
            let e = registry.parse(&text, "f.toml", &[]).unwrap_err();
            assert_eq!(
                e.field.as_deref(),
                Some("faults.generator.rates.isolate_leader"),
                "{protocol}: {e}"
            );
            assert_eq!(e.line, Some(10), "{e}");
        }
        // The default mix is fine: it just does not draw leader faults.
        let default_mix = format!("{GOOD}\n[faults]\ngenerator = {{}}\n");
        registry.parse(&default_mix, "f.toml", &[]).unwrap();
    }
}
