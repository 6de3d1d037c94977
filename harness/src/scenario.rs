//! Scenario files: what to run, on what network, under which faults, judged how.
//!
//! A scenario is a TOML file (the built-in catalogue is a folder of them).
//! Unknown keys are errors, never silently ignored, and every error names the
//! file, the line and the field (or the `--set` it came from). Durations are
//! strings with a unit ("5s", "250ms", "800us"); a bare number is an error.
//! Every field has a default that fits the protocol (`protocol = "pbft"` alone
//! is a scenario), and sizes are bounded ([`MAX_REPLICAS`], [`MAX_CLIENTS`],
//! [`MAX_DURATION`]).
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

use crate::error::InputError;
use crate::workload::WorkloadSpec;

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
    /// 3 by default (4 for pbft: 3f+1 with f = 1).
    #[serde(default = "default_replicas")]
    pub replicas: u32,
    /// The seed `clustersim run` uses when no `--seed` is given (1 when
    /// this is unset too): a shrunk scenario records the seed it fails at,
    /// so that running the file alone reproduces the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
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
    /// `event-budget` finding instead of running for ever. A tenth of it
    /// may be pending at once (events scheduled faster than handled).
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

/// Upper bounds on a scenario's sizes: beyond them a value is a typo (or a
/// hand-edited `summary.json`), and the run would exhaust memory or never end.
/// The network keeps per link only what differs from the default, so a node
/// costs memory for its own state alone: 100,000 nodes fit a few gigabytes
/// (a 10,000-client run takes a few hundred megabytes, see `clustersim bench`).
pub const MAX_REPLICAS: u32 = 100_000;
/// See [`MAX_REPLICAS`].
pub const MAX_CLIENTS: u32 = 100_000;
/// A day of virtual time; see [`MAX_REPLICAS`].
pub const MAX_DURATION: Nanos = 86_400 * SECONDS;

fn default_replicas() -> u32 {
    3
}

fn default_duration() -> Nanos {
    5 * SECONDS
}

/// What reading a scenario needs from the protocols it may name: a
/// registry of protocols implements it.
pub trait KnownProtocols {
    /// The protocol names a scenario's `protocol` may take.
    fn names(&self) -> Vec<&str>;

    /// Sets the defaults the scenario's protocol wants for the fields the
    /// file left out (`given` says whether a dotted field was set): every
    /// default must fit every protocol, so that a one-line
    /// `protocol = "..."` file runs.
    fn fill_defaults(&self, scenario: &mut Scenario, given: &dyn Fn(&str) -> bool);

    /// What the protocol's driver has against the scenario before any run:
    /// its bugs and options, its workload, faults it cannot honour (a leader
    /// fault on a leaderless protocol). Errors name the field.
    fn check(&self, scenario: &Scenario) -> Result<(), InputError>;
}

/// A plain list of names: no defaults of their own, no driver to ask.
impl<const N: usize> KnownProtocols for [&str; N] {
    fn names(&self) -> Vec<&str> {
        self.to_vec()
    }

    fn fill_defaults(&self, _: &mut Scenario, _: &dyn Fn(&str) -> bool) {}

    fn check(&self, _: &Scenario) -> Result<(), InputError> {
        Ok(())
    }
}

impl Scenario {
    /// Parses scenario text; `source` names it in errors: an error in the
    /// file names its line, an error in a `--set` override names the
    /// override. Any `protocol` name
    /// is accepted: [`Scenario::parse_for`] also checks it against the
    /// protocols a registry knows.
    ///
    /// ```
    /// use harness::Scenario;
    ///
    /// let text = "protocol = \"counter\"\nreplicas = 2\n[workload]\nclients = 1\n";
    /// let s = Scenario::parse(text, "counter.toml", &["duration=\"1s\"".into()]).unwrap();
    /// assert_eq!((s.name.as_str(), s.replicas, s.duration), ("counter", 2, 1_000_000_000));
    ///
    /// let bad = Scenario::parse("protocol = \"counter\"\nreplicas = 0\n", "c.toml", &[]);
    /// let e = bad.unwrap_err();
    /// assert_eq!((e.line, e.field.as_deref()), (Some(2), Some("replicas")));
    /// assert_eq!(e.to_string(), "c.toml:2:1: field `replicas`: a cluster needs at least one replica");
    /// ```
    pub fn parse(text: &str, source: &str, overrides: &[String]) -> Result<Self, InputError> {
        Self::parse_for(text, source, overrides, None)
    }

    /// [`Scenario::parse`], and when `protocols` is given, an unknown
    /// `protocol` is an error at its line that lists the known ones.
    pub fn parse_for(
        text: &str,
        source: &str,
        overrides: &[String],
        protocols: Option<&dyn KnownProtocols>,
    ) -> Result<Self, InputError> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| toml_error(text, source, &e))?;
        let mut set_paths = Vec::with_capacity(overrides.len());
        for set in overrides {
            set_paths.push((apply_override(&mut table, set)?, set.as_str()));
        }
        let locate = Locator {
            text,
            source,
            sets: &set_paths,
        };
        let mut scenario: Scenario = if overrides.is_empty() {
            toml::from_str(text).map_err(|e| toml_error(text, source, &e))?
        } else {
            // Re-serialized only to find which field a type error is about;
            // the error then points at the file's line or at the `--set`.
            let merged = toml::to_string(&table).unwrap_or_default();
            toml::from_str(&merged).map_err(|e| {
                let field = e.span().and_then(|span| field_at(&merged, span.start));
                locate.error(field.as_deref().unwrap_or_default(), e.message().trim())
            })?
        };
        scenario.source = source.to_string();
        if scenario.name.is_empty() {
            scenario.name = Path::new(source)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".into());
        }
        let given = |path: &str| {
            let mut at = Some(&table);
            let (parents, last) = path.rsplit_once('.').unwrap_or(("", path));
            for key in parents.split('.').filter(|k| !k.is_empty()) {
                at = at.and_then(|t| t.get(key)).and_then(toml::Value::as_table);
            }
            at.is_some_and(|t| t.contains_key(last))
        };
        if let Some(known) = protocols {
            scenario
                .validate_protocol(&known.names())
                .map_err(|(field, message)| locate.error(&field, message))?;
            known.fill_defaults(&mut scenario, &given);
        }
        let checked = scenario.check().and_then(|()| match protocols {
            Some(known) => known.check(&scenario),
            None => Ok(()),
        });
        checked.map_err(|e| match &e.field {
            Some(field) if e.line.is_none() => locate.error(field, e.message),
            _ => e,
        })?;
        Ok(scenario)
    }

    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, InputError> {
        let text = std::fs::read_to_string(path).map_err(|e| InputError::io(path, e))?;
        Self::parse(&text, &path.display().to_string(), overrides)
    }

    /// [`Scenario::validate`], with the error naming the field and this
    /// scenario's source. A registry adds the protocol's own checks
    /// ([`KnownProtocols::check`]) to it.
    pub fn check(&self) -> Result<(), InputError> {
        self.validate()
            .map_err(|(field, message)| self.error(&field, message))
    }

    /// Checks what serde cannot: ranges and cross-field rules. The error is
    /// (dotted field path, message).
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.replicas == 0 {
            return Err((
                "replicas".into(),
                "a cluster needs at least one replica".into(),
            ));
        }
        if self.replicas > MAX_REPLICAS {
            return Err((
                "replicas".into(),
                format!(
                    "{} replicas is more than the {MAX_REPLICAS} supported",
                    self.replicas
                ),
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
        if self.duration > MAX_DURATION {
            return Err((
                "duration".into(),
                format!(
                    "{} is longer than the {} a run may last",
                    dur::format(self.duration),
                    dur::format(MAX_DURATION)
                ),
            ));
        }
        if self.workload.clients == 0 {
            return Err((
                "workload.clients".into(),
                "a run without clients invokes no operation and tests nothing".into(),
            ));
        }
        if self.workload.clients > MAX_CLIENTS {
            return Err((
                "workload.clients".into(),
                format!(
                    "{} clients is more than the {MAX_CLIENTS} supported",
                    self.workload.clients
                ),
            ));
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
        self.faults
            .check_within(self.duration)
            .map_err(|e| (e.path, e.message))?;
        Ok(())
    }

    /// Whether `protocol` is one of `known`; the error is (field, message).
    pub fn validate_protocol(&self, known: &[&str]) -> Result<(), (String, String)> {
        if known.contains(&self.protocol.as_str()) {
            return Ok(());
        }
        let message = format!(
            "unknown protocol `{}` (known: {})",
            self.protocol,
            known.join(", ")
        );
        Err(("protocol".into(), message))
    }

    /// An input error about `field` of this scenario, naming its file.
    pub fn error(&self, field: &str, message: impl Into<String>) -> InputError {
        InputError::new(&self.source, message).with_field(field)
    }

    /// The `[options]` table read as a protocol's options type (which should
    /// deny unknown fields, so that a misspelt option is an error).
    /// The error names the option at fault: the options type has defaults,
    /// so the first key that fails alone is the one (the parser then points
    /// at its line or `--set`).
    pub fn protocol_options<T: serde::de::DeserializeOwned>(&self) -> Result<T, InputError> {
        let read = |table: toml::Table| toml::Value::Table(table).try_into::<T>();
        read(self.options.clone()).map_err(|e| {
            let culprit = self.options.iter().find(|&(key, value)| {
                read(toml::Table::from_iter([(key.clone(), value.clone())])).is_err()
            });
            let field = culprit.map_or("options".into(), |(key, _)| format!("options.{key}"));
            self.error(&field, e.message().trim())
        })
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
    table_line.or_else(|| line_of_nested_key(text, field))
}

/// For a field set inside inline tables (`generator = { rates = { loss = 1 } }`
/// under `[faults]` for `faults.generator.rates.loss`): the first line of a
/// section the field lies in that sets its last key, else its outermost key.
fn line_of_nested_key(text: &str, field: &str) -> Option<usize> {
    let segments: Vec<&str> = field.split('.').collect();
    let sets_key = |line: &str, key: &str| {
        line.match_indices(key).any(|(at, _)| {
            let before = line[..at].chars().next_back();
            let after = line[at + key.len()..].trim_start();
            before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) && after.starts_with('=')
        })
    };
    for key in [segments.last()?, segments.first()?] {
        let mut section = String::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with('[') {
                section = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
                continue;
            }
            let inside = section.is_empty() || field.starts_with(&format!("{section}."));
            if inside && sets_key(t, key) {
                return Some(i + 1);
            }
        }
    }
    None
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

/// Places an error about a field: on the `--set` that gave the field (or a
/// table holding it), else on the line of the file that sets it.
struct Locator<'a> {
    text: &'a str,
    source: &'a str,
    /// (dotted path, `key=value` as given) of every override.
    sets: &'a [(String, &'a str)],
}

impl Locator<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> InputError {
        // The set at fault: one at or above the field, or one below a field
        // the file does not have (`--set nosuch.x=1` made `nosuch`).
        let made_by_set = |path: &str| {
            path.starts_with(&format!("{field}."))
                && !field.is_empty()
                && line_of_field(self.text, field).is_none()
        };
        let overridden = self.sets.iter().rev().find(|(path, _)| {
            field == path
                || field.starts_with(&format!("{path}."))
                || field.starts_with(&format!("{path}["))
                || made_by_set(path)
        });
        if let Some((_, set)) = overridden {
            let err = InputError::new(format!("--set {set}"), message);
            return if field.is_empty() {
                err
            } else {
                err.with_field(field)
            };
        }
        let err = InputError::new(self.source, message);
        if field.is_empty() {
            return err;
        }
        let err = err.with_field(field);
        match line_of_field(self.text, field) {
            Some(line) => err.at(line, 1),
            None => err,
        }
    }
}

/// Applies `--set a.b=value`: the value is read as TOML (`0.1`, `true`,
/// `"x"`, `["a"]`), or as a bare string when it is not valid TOML. Returns
/// the dotted path it set.
fn apply_override(table: &mut toml::Table, set: &str) -> Result<String, InputError> {
    let Some((path, raw)) = set.split_once('=') else {
        return Err(InputError::new(
            format!("--set {set}"),
            "not key=value (e.g. --set network.loss=0.1)",
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
            InputError::new(format!("--set {set}"), format!("`{key}` is not a table"))
                .with_field(path.trim().to_string())
        })?;
    }
    at.insert(last.to_string(), value);
    Ok(keys.join("."))
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

    /// Parses `text`, which must be refused at `line` naming `field`; the
    /// error, for what else a test asserts of it.
    fn refused_at(text: &str, line: usize, field: &str) -> InputError {
        let e = Scenario::parse(text, "f.toml", &[]).unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(line), Some(field)),
            "{e}"
        );
        e
    }

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
        let e = refused_at(&text, 7, "network.losss");
        assert!(e.message.contains("unknown field"), "{e}");
    }

    #[test]
    fn wrong_types_name_line_and_field() {
        let text = GOOD.replace("loss = 0.1", "loss = \"lots\"");
        refused_at(&text, 6, "network.loss");
    }

    #[test]
    fn out_of_range_values_name_line_and_field() {
        let text = GOOD.replace("loss = 0.1", "loss = 1.5");
        refused_at(&text, 6, "network.loss");
    }

    #[test]
    fn unknown_protocols_are_named_at_their_line() {
        let e = Scenario::parse_for(GOOD, "f.toml", &[], Some(&["raft", "crdt"])).unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some("protocol")),
            "{e}"
        );
        assert!(e.message.contains("known: raft, crdt"), "{e}");
        assert!(Scenario::parse_for(GOOD, "f.toml", &[], Some(&["quorum-register"])).is_ok());
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
        refused_at(&text, 12, "faults.schedule[1].node");
        let unknown = text.replace("\"crash\"", "\"meteor\"");
        let e = Scenario::parse(&unknown, "f.toml", &[]).unwrap_err();
        assert_eq!(e.line, Some(12), "{e}");
        assert!(e.message.contains("meteor"), "{e}");
        let negative = text
            .replace("duration_ms = 50", "duration_ms = -50")
            .replace("node = 9", "node = 2");
        refused_at(&negative, 11, "faults.schedule[0].duration_ms");
    }

    /// The TOML example of this module's documentation.
    fn documented_example() -> String {
        let source = include_str!("scenario.rs");
        let block: Vec<&str> = source
            .lines()
            .skip_while(|l| *l != "//! ```toml")
            .skip(1)
            .take_while(|l| *l != "//! ```")
            .map(|l| l.trim_start_matches("//!").trim_start())
            .collect();
        assert!(!block.is_empty(), "the module doc has a ```toml example");
        block.join("\n")
    }

    #[test]
    fn the_documented_example_is_accepted() {
        let s = Scenario::parse(&documented_example(), "doc.toml", &[]).unwrap();
        assert_eq!(
            (s.protocol.as_str(), s.workload.clients),
            ("quorum-register", 3)
        );
    }

    #[test]
    fn durations_without_a_unit_are_refused_on_their_line() {
        let text = GOOD.replace("duration = \"2s\"", "duration = 5");
        let e = refused_at(&text, 3, "duration");
        assert!(e.message.contains("no unit"), "{e}");
        let nested = GOOD.replace("ns = \"1ms\"", "ns = 1000");
        let e = Scenario::parse(&nested, "f.toml", &[]).unwrap_err();
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.message.contains("no unit"), "{e}");
    }

    #[test]
    fn a_run_without_clients_is_refused() {
        let text = format!("{GOOD}\n[workload]\nclients = 0\n");
        refused_at(&text, 10, "workload.clients");
    }

    #[test]
    fn idle_clients_must_name_clients_and_leave_one_running() {
        for idle in ["[3]", "[0, 1, 2]"] {
            let text = format!("{GOOD}\n[workload]\nclients = 3\nidle_clients = {idle}\n");
            let e = Scenario::parse(&text, "f.toml", &[]).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("workload.idle_clients"), "{e}");
        }
        let text = format!("{GOOD}\n[workload]\nclients = 3\nidle_clients = [0, 2]\n");
        assert!(Scenario::parse(&text, "f.toml", &[]).is_ok());
    }

    #[test]
    fn sizes_have_upper_bounds() {
        for (set, field) in [
            ("replicas=4294967295", "replicas"),
            ("workload.clients=100001", "workload.clients"),
            ("duration=\"1000000s\"", "duration"),
        ] {
            let e = Scenario::parse(GOOD, "f.toml", &[set.to_string()]).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{e}");
        }
    }

    #[test]
    fn faults_after_the_run_are_refused_naming_the_action() {
        let text = format!(
            "{GOOD}\n[faults]\nschedule = [\n  {{ at_ms = 100, kind = \"crash\", node = 1 }},\n  {{ at_ms = 2000, kind = \"restart\", node = 1 }},\n]\n"
        );
        refused_at(&text, 12, "faults.schedule[1].at_ms");
        let inside = text.replace("at_ms = 2000", "at_ms = 1999");
        Scenario::parse(&inside, "f.toml", &[]).unwrap();
    }

    #[test]
    fn errors_in_overrides_name_the_override() {
        for set in [
            "network.loss=7",
            "network.loss=lots",
            "replicas=0",
            "workload.clientz=3",
        ] {
            let e = Scenario::parse(GOOD, "f.toml", &[set.to_string()]).unwrap_err();
            assert_eq!(e.source, format!("--set {set}"), "{e}");
            assert_eq!(e.line, None, "{e}");
        }
        // A bad line of the file is still the file's, overrides or not.
        let text = GOOD.replace("loss = 0.1", "loss = 0.1\nlosss = 0.2");
        let e = Scenario::parse(&text, "f.toml", &["replicas=5".to_string()]).unwrap_err();
        assert_eq!((e.source.as_str(), e.line), ("f.toml", Some(7)), "{e}");
        assert_eq!(e.field.as_deref(), Some("network.losss"), "{e}");
        let e = Scenario::parse(GOOD, "f.toml", &["nonsense".to_string()]).unwrap_err();
        assert_eq!(e.source, "--set nonsense", "{e}");
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
