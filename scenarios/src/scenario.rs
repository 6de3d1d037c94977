//! Scenario files: what to run, on what network, under which faults, judged how.
//!
//! A scenario is a TOML file (the built-in catalogue is a folder of them).
//! Unknown keys are errors, never silently ignored, and every error names the
//! file, the line and the field. Durations are strings with a unit ("5s",
//! "250ms", "800us").
//!
//! ```toml
//! description = "3 replicas, 3 clients, a healthy network"
//! protocol = "quorum-register"
//! replicas = 3
//! duration = "5s"
//! bugs = []
//!
//! [workload]
//! clients = 3
//! read_fraction = 0.5
//!
//! [network]
//! latency = { kind = "uniform", min = "500us", max = "2ms" }
//! loss = 0.01
//! ```

use std::path::Path;

use fault_injection::FaultConfig;
use serde::{Deserialize, Serialize};
use sim_core::time::duration as dur;
use sim_core::{LinkConfig, Nanos, Topology, SECONDS};

use protocols::workload::WorkloadSpec;

use crate::error::InputError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Defaults to the file's name without `.toml`.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Which protocol's driver builds the cluster (`clustersim list` shows them).
    pub protocol: String,
    #[serde(default = "default_replicas")]
    pub replicas: u32,
    /// Virtual time the run lasts.
    #[serde(default = "default_duration", with = "dur")]
    pub duration: Nanos,
    /// Known-bug variants of the protocol to switch on.
    #[serde(default)]
    pub bugs: Vec<String>,
    #[serde(default)]
    pub workload: WorkloadSpec,
    #[serde(default)]
    pub network: LinkConfig,
    /// A fixed fault schedule and/or a generator (see `fault_injection::FaultConfig`).
    #[serde(default)]
    pub faults: FaultConfig,
    #[serde(default)]
    pub checks: Checks,
    /// Where the scenario was read from, for error messages (not serialized).
    #[serde(skip)]
    pub source: String,
    /// Protocol-specific options, read by the protocol's driver.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub options: toml::Table,
}

/// Which checks judge the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Checks {
    /// Check the client history for linearizability.
    pub linearizability: bool,
    /// Search steps the linearizability checker may take before it answers `unknown`.
    pub linearizability_budget: u64,
    /// Events a run may handle: a protocol that livelocks (messages bouncing
    /// at one instant, timers re-armed at zero delay) is stopped with an
    /// `event-budget` finding instead of running for ever.
    pub max_events: u64,
    /// Liveness of the protocols without a leader check of their own: once
    /// every fault has healed, a client operation must complete within this
    /// long (on a fast network; the check adds a few of the network's round
    /// trips, and leaves unjudged what is too slow for the protocol's
    /// timeouts). Raft's check derives its bounds from its timeouts instead.
    #[serde(with = "dur")]
    pub liveness_within: Nanos,
}

impl Default for Checks {
    fn default() -> Self {
        Self {
            linearizability: true,
            linearizability_budget: 20_000_000,
            max_events: 50_000_000,
            liveness_within: 2 * SECONDS,
        }
    }
}

fn default_replicas() -> u32 {
    3
}

fn default_duration() -> Nanos {
    5 * SECONDS
}

impl Scenario {
    /// Parses scenario text; `source` names it in errors.
    pub fn parse(text: &str, source: &str, overrides: &[String]) -> Result<Self, InputError> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| toml_error(text, source, &e))?;
        for set in overrides {
            apply_override(&mut table, set)?;
        }
        let overridden;
        let text = if overrides.is_empty() {
            text
        } else {
            // Re-serialize so that errors after an override still have lines.
            overridden = toml::to_string(&table).unwrap_or_default();
            &overridden
        };
        let mut scenario: Scenario =
            toml::from_str(text).map_err(|e| toml_error(text, source, &e))?;
        scenario.source = source.to_string();
        if scenario.name.is_empty() {
            scenario.name = Path::new(source)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".into());
        }
        scenario.validate().map_err(|(field, message)| {
            let err = InputError::new(source, message).with_field(field.clone());
            match line_of_field(text, &field) {
                Some(line) => err.at(line, 1),
                None => err,
            }
        })?;
        Ok(scenario)
    }

    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, InputError> {
        let text = std::fs::read_to_string(path).map_err(|e| InputError::io(path, e))?;
        Self::parse(&text, &path.display().to_string(), overrides)
    }

    /// Checks what serde cannot: ranges and cross-field rules. The error is
    /// (dotted field path, message).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let protocols = crate::drivers::PROTOCOLS;
        if !protocols.iter().any(|(name, _)| *name == self.protocol) {
            let known: Vec<&str> = protocols.iter().map(|(n, _)| *n).collect();
            let message = format!(
                "unknown protocol `{}` (known: {})",
                self.protocol,
                known.join(", ")
            );
            return Err(("protocol".into(), message));
        }
        if self.replicas == 0 {
            return Err((
                "replicas".into(),
                "a cluster needs at least one replica".into(),
            ));
        }
        if self.replicas > 1_000 {
            return Err((
                "replicas".into(),
                format!("{} replicas is more than the 1000 supported", self.replicas),
            ));
        }
        if self.checks.liveness_within == 0 {
            return Err((
                "checks.liveness_within".into(),
                "liveness_within must be longer than 0s".into(),
            ));
        }
        if self.duration == 0 {
            return Err(("duration".into(), "the run must last longer than 0s".into()));
        }
        self.network
            .validate()
            .map_err(|m| (format!("network.{}", first_word(&m)), m))?;
        self.workload
            .validate()
            .map_err(|m| (format!("workload.{}", first_word(&m)), m))?;
        // Drawing a schedule validates every fixed action and the generator.
        self.faults
            .schedule(&self.topology(), self.duration, 0)
            .map_err(|e| (e.path, e.message))?;
        Ok(())
    }

    /// An input error about `field` of this scenario, naming its file.
    pub fn error(&self, field: &str, message: impl Into<String>) -> InputError {
        InputError::new(&self.source, message).with_field(field)
    }

    /// The `[options]` table read as a protocol's options type (which should
    /// deny unknown fields, so that a misspelt option is an error).
    pub fn protocol_options<T: serde::de::DeserializeOwned>(&self) -> Result<T, InputError> {
        toml::Value::Table(self.options.clone())
            .try_into()
            .map_err(|e: toml::de::Error| self.error("options", e.message().trim()))
    }

    /// The node ids a driver gives this scenario's cluster: replicas first,
    /// then clients (the `Driver::build` contract).
    pub fn topology(&self) -> Topology {
        let replicas = self.replicas;
        Topology {
            replicas: (0..replicas).collect(),
            clients: (replicas..replicas + self.workload.clients).collect(),
        }
    }
}

/// The field a validation message starts with (`loss must be ...` → `loss`).
fn first_word(message: &str) -> String {
    message
        .split([' ', ':'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Converts a TOML error into one naming the line, column and field.
fn toml_error(text: &str, source: &str, e: &toml::de::Error) -> InputError {
    let message = e.message().trim().to_string();
    let Some(span) = e.span() else {
        return InputError::new(source, message);
    };
    let (line, column) = line_col(text, span.start);
    let mut err = InputError::new(source, message).at(line, column);
    if let Some(field) = field_at(text, span.start) {
        err = err.with_field(field);
    }
    err
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// The dotted path of the key on the line holding `offset`, if that line is
/// `key = ...` (with the enclosing `[table]`).
fn field_at(text: &str, offset: usize) -> Option<String> {
    let (line_no, _) = line_col(text, offset);
    let mut table = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
        if i + 1 == line_no {
            if t.starts_with('[') {
                return Some(table);
            }
            let key = t.split('=').next()?.trim();
            if key.is_empty() || key.starts_with('#') {
                return None;
            }
            return Some(if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            });
        }
    }
    None
}

/// The line on which dotted `field` is set, for errors found after parsing.
fn line_of_field(text: &str, field: &str) -> Option<usize> {
    if let Some(index) = fault_action_index(field) {
        return line_of_fault_action(text, index);
    }
    let (table, key) = match field.rsplit_once('.') {
        Some((t, k)) => (t, k),
        None => ("", field),
    };
    let mut current = String::new();
    let mut table_line = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            current = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            if current == table {
                table_line = Some(i + 1);
            }
            continue;
        }
        let k = t.split('=').next().unwrap_or_default().trim();
        if current == table && k == key {
            return Some(i + 1);
        }
        // `table = { key = ... }` or `table.key = ...` at top level.
        if current.is_empty() && !table.is_empty() && (k == table || k == field) && t.contains(key)
        {
            return Some(i + 1);
        }
    }
    table_line
}

/// `faults.schedule[3].node` → 3.
fn fault_action_index(field: &str) -> Option<usize> {
    let rest = field.strip_prefix("faults.schedule[")?;
    rest.split(']').next()?.parse().ok()
}

/// The line of the `index`-th action of `schedule = [ ... ]` in the
/// `[faults]` table (one action per line, or `[[faults.schedule]]` tables).
fn line_of_fault_action(text: &str, index: usize) -> Option<usize> {
    let mut in_faults = false;
    let mut seen = 0;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') && !t.starts_with("[[faults.schedule") {
            in_faults = t == "[faults]";
            continue;
        }
        let starts_action =
            t.starts_with("[[faults.schedule") || (in_faults && t.contains("at_ms"));
        if starts_action {
            if seen == index {
                return Some(i + 1);
            }
            seen += 1;
        }
    }
    None
}

/// Applies `--set a.b=value`: the value is read as TOML (`0.1`, `true`,
/// `"x"`, `["a"]`), or as a bare string when it is not valid TOML.
fn apply_override(table: &mut toml::Table, set: &str) -> Result<(), InputError> {
    let Some((path, raw)) = set.split_once('=') else {
        return Err(InputError::new(
            "--set",
            format!("`{set}` is not key=value"),
        ));
    };
    let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let keys: Vec<&str> = path.trim().split('.').collect();
    let (last, parents) = keys.split_last().expect("split yields at least one");
    let mut at = table;
    for key in parents {
        let entry = at
            .entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()));
        at = entry.as_table_mut().ok_or_else(|| {
            InputError::new("--set", format!("`{key}` in `{path}` is not a table"))
                .with_field(path.to_string())
        })?;
    }
    at.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
protocol = "quorum-register"
duration = "2s"

[network]
loss = 0.1
latency = { kind = "constant", ns = "1ms" }
"#;

    #[test]
    fn a_good_scenario_parses_with_defaults() {
        let s = Scenario::parse(GOOD, "x/good.toml", &[]).unwrap();
        assert_eq!(s.name, "good");
        assert_eq!(s.duration, 2 * SECONDS);
        assert_eq!(s.network.loss, 0.1);
        assert_eq!(s.replicas, 3);
    }

    #[test]
    fn unknown_keys_name_line_and_field() {
        let text = GOOD.replace("loss = 0.1", "loss = 0.1\nlosss = 0.2");
        let e = Scenario::parse(&text, "f.toml", &[]).unwrap_err();
        assert_eq!(e.line, Some(7), "{e}");
        assert_eq!(e.field.as_deref(), Some("network.losss"), "{e}");
        assert!(e.message.contains("unknown field"), "{e}");
    }

    #[test]
    fn wrong_types_name_line_and_field() {
        let text = GOOD.replace("loss = 0.1", "loss = \"lots\"");
        let e = Scenario::parse(&text, "f.toml", &[]).unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(6), Some("network.loss")),
            "{e}"
        );
    }

    #[test]
    fn out_of_range_values_name_line_and_field() {
        let text = GOOD.replace("loss = 0.1", "loss = 1.5");
        let e = Scenario::parse(&text, "f.toml", &[]).unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(6), Some("network.loss")),
            "{e}"
        );
    }

    #[test]
    fn missing_protocol_is_named() {
        let e = Scenario::parse("replicas = 3\n", "f.toml", &[]).unwrap_err();
        assert!(e.to_string().contains("protocol"), "{e}");
    }

    #[test]
    fn bad_fault_actions_name_their_line_and_field() {
        let text = format!(
            "{GOOD}\n[faults]\nschedule = [\n  {{ at_ms = 100, duration_ms = 50, kind = \"pause\", node = 1 }},\n  {{ at_ms = 200, kind = \"crash\", node = 9 }},\n]\n"
        );
        let e = Scenario::parse(&text, "f.toml", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("faults.schedule[1].node"), "{e}");
        assert_eq!(e.line, Some(12), "{e}");
        let unknown = text.replace("\"crash\"", "\"meteor\"");
        let e = Scenario::parse(&unknown, "f.toml", &[]).unwrap_err();
        assert_eq!(e.line, Some(12), "{e}");
        assert!(e.message.contains("meteor"), "{e}");
        let negative = text
            .replace("duration_ms = 50", "duration_ms = -50")
            .replace("node = 9", "node = 2");
        let e = Scenario::parse(&negative, "f.toml", &[]).unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("faults.schedule[0].duration_ms"),
            "{e}"
        );
        assert_eq!(e.line, Some(11), "{e}");
    }

    #[test]
    fn overrides_replace_fields() {
        let sets = [
            "network.loss=0.3".to_string(),
            "replicas=5".to_string(),
            "bugs=[\"no-sync\"]".to_string(),
        ];
        let s = Scenario::parse(GOOD, "f.toml", &sets).unwrap();
        assert_eq!((s.network.loss, s.replicas), (0.3, 5));
        assert_eq!(s.bugs, ["no-sync"]);
        let e = Scenario::parse(GOOD, "f.toml", &["network.loss=7".to_string()]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("network.loss"));
    }
}
