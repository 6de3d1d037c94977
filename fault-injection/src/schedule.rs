//! Fault schedules as plain data: what a scenario's `[faults]` table says and
//! what a run's `faults.json` records.
//!
//! A schedule is a list of timed actions. In a scenario an action may leave a
//! random choice open (`kind = "isolate"` without a `node`); the concrete
//! schedule of one seed ([`FaultConfig::schedule`]) has every such choice
//! drawn, so `faults.json` says exactly which faults hit the run and replays
//! them unchanged. The one choice left to run time is `isolate_leader`: who
//! leads is known only then, and the applied record names the node.
//!
//! The TOML form, one inline table per action:
//!
//! ```toml
//! [faults]
//! schedule = [
//!   { at_ms = 1000, duration_ms = 2000, kind = "partition_majority" },
//!   { at_ms = 1500, kind = "crash", node = 2, mode = "lose_unsynced" },
//!   { at_ms = 4000, kind = "restart", node = 2 },
//!   { at_ms = 5000, duration_ms = 1000, kind = "loss", rate = 0.3 },
//!   { at_ms = 5500, duration_ms = 300, kind = "delay", extra_ms = 900, from = [3], to = [5] },
//!   { at_ms = 6000, kind = "byzantine", node = 1, behavior = { kind = "equivocate" } },
//! ]
//! generator = { mode = "swarm", rates = { crash = 0.2, partition_halves = 0.1 } }
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sim_core::{CrashMode, Latency, Nanos, NodeId, Topology};

use crate::byzantine::Behavior;
use crate::error::FaultError;
use crate::generator::{FaultMix, GeneratorConfig};
use crate::ms;
use crate::resolve;
use crate::validate;

/// One timed fault. `at_ms` is true time from the start of the run;
/// `duration_ms`, where a kind takes one, is how long the fault lasts before
/// it is undone (partitions healed, link settings restored, a crashed node
/// restarted, a clock set back). Without it the fault lasts until a later
/// action undoes it (`heal`, `restart`) or the run ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultAction {
    pub at_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    #[serde(flatten)]
    pub fault: Fault,
}

/// What a fault does. Fields in `Option`s are random choices a scenario may
/// leave open; a concrete schedule has them all set.
///
/// Partitions act on replicas only unless nodes are named: a node no group
/// names (a client, a bridge) stays connected to everyone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Cuts every link between nodes of different groups, both ways.
    Partition { groups: Vec<Vec<NodeId>> },
    /// Two random halves of the replicas.
    PartitionHalves {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        groups: Option<Vec<Vec<NodeId>>>,
    },
    /// A random majority (`groups[0]`) and minority (`groups[1]`) of the replicas.
    PartitionMajority {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        groups: Option<Vec<Vec<NodeId>>>,
    },
    /// One replica cut off from the other replicas.
    Isolate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
    },
    /// The replica that leads when the action applies (asked of the
    /// [`crate::Observer`]), cut off from the other replicas.
    IsolateLeader,
    /// The leader cut off from the other replicas with every client on its
    /// side: the clients keep talking to a leader that can no longer commit,
    /// while the majority elects a new one that hears no client (the
    /// situation of the Raft paper's Figure 8).
    IsolateLeaderWithClients,
    /// Two sides that cannot hear each other, and one `bridge` node that hears
    /// and is heard by both.
    Bridge {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sides: Option<(Vec<NodeId>, Vec<NodeId>)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bridge: Option<NodeId>,
    },
    /// Each node hears only its two neighbours in `order` (read as a circle).
    Ring {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<Vec<NodeId>>,
    },
    /// Messages from `from` to `to` are lost; `from` still hears `to`.
    OneWay {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Vec<NodeId>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Vec<NodeId>>,
    },
    /// Ends every partition now.
    Heal,
    /// Adds `extra_ms` to the latency of the links touching `nodes` (all
    /// links if absent), both ways. With `from` and/or `to` instead, only
    /// the directed links from a node of `from` to a node of `to` (a side
    /// left out is every node): messages sent on them while the fault is in
    /// force arrive `extra_ms` late, the reverse direction is untouched (a
    /// holder's write held in the network past its lease).
    Delay {
        extra_ms: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<Vec<NodeId>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Vec<NodeId>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Vec<NodeId>>,
    },
    /// Replaces the latency distribution of the links (a latency spike, a long tail).
    Latency {
        latency: Latency,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<Vec<NodeId>>,
    },
    /// Each message is lost with probability `rate`.
    Loss {
        rate: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<Vec<NodeId>>,
    },
    /// Each message is delivered twice with probability `rate`.
    Duplicate {
        rate: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<Vec<NodeId>>,
    },
    /// Each message is held back by up to `window_ms` with probability `rate`.
    Reorder {
        rate: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window_ms: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<Vec<NodeId>>,
    },
    /// Each message's content is altered in flight with probability `rate`.
    Corrupt {
        rate: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<Vec<NodeId>>,
    },
    /// The node crashes; with `duration_ms` it restarts (over its durable
    /// storage) when that has passed.
    Crash {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
        #[serde(default = "Fault::default_crash_mode")]
        mode: CrashMode,
    },
    /// A crashed node starts again, over its durable storage or, with `wipe`, empty.
    Restart {
        node: NodeId,
        #[serde(default)]
        wipe: bool,
    },
    /// Stop-the-world pause for `duration_ms` (required): nothing is handled,
    /// then what came due is handled late, in order.
    Pause {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
    },
    /// Crash losing unsynced writes, then restart with empty storage (at once,
    /// or after `duration_ms`).
    KillWipe {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
    },
    /// The node's clock reads true time plus `offset_ms` (signed).
    ClockSkew {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
        offset_ms: f64,
    },
    /// The node's clock runs `ppm` parts per million fast (negative: slow).
    ClockDrift {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
        ppm: i64,
    },
    /// The node's clock jumps by `delta_ms` (signed) at once.
    ClockJump {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
        delta_ms: f64,
    },
    /// The node turns Byzantine: its honest process runs on, and what it
    /// sends is rewritten by `behavior` (see [`crate::byzantine`]).
    Byzantine {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeId>,
        #[serde(alias = "behaviour")]
        behavior: Behavior,
    },
}

impl Fault {
    fn default_crash_mode() -> CrashMode {
        CrashMode::LoseUnsynced
    }

    /// Whether this fault acts on "the leader", which only a protocol with
    /// one can name.
    pub fn targets_leader(&self) -> bool {
        matches!(self, Fault::IsolateLeader | Fault::IsolateLeaderWithClients)
    }

    /// The `kind` tag, as in the serde form.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Partition { .. } => "partition",
            Fault::PartitionHalves { .. } => "partition_halves",
            Fault::PartitionMajority { .. } => "partition_majority",
            Fault::Isolate { .. } => "isolate",
            Fault::IsolateLeader => "isolate_leader",
            Fault::IsolateLeaderWithClients => "isolate_leader_with_clients",
            Fault::Bridge { .. } => "bridge",
            Fault::Ring { .. } => "ring",
            Fault::OneWay { .. } => "one_way",
            Fault::Heal => "heal",
            Fault::Delay { .. } => "delay",
            Fault::Latency { .. } => "latency",
            Fault::Loss { .. } => "loss",
            Fault::Duplicate { .. } => "duplicate",
            Fault::Reorder { .. } => "reorder",
            Fault::Corrupt { .. } => "corrupt",
            Fault::Crash { .. } => "crash",
            Fault::Restart { .. } => "restart",
            Fault::Pause { .. } => "pause",
            Fault::KillWipe { .. } => "kill_wipe",
            Fault::ClockSkew { .. } => "clock_skew",
            Fault::ClockDrift { .. } => "clock_drift",
            Fault::ClockJump { .. } => "clock_jump",
            Fault::Byzantine { .. } => "byzantine",
        }
    }

    /// Whether `duration_ms` means anything for this kind. `heal`, `restart`
    /// and `clock_jump` happen at an instant.
    pub fn takes_duration(&self) -> bool {
        !matches!(
            self,
            Fault::Heal | Fault::Restart { .. } | Fault::ClockJump { .. }
        )
    }

    /// Whether this kind needs `duration_ms`.
    pub fn needs_duration(&self) -> bool {
        matches!(self, Fault::Pause { .. })
    }

    /// Every node the action names (resolved choices included), for validation.
    pub(crate) fn named_nodes(&self) -> Vec<(&'static str, NodeId)> {
        let mut out = Vec::new();
        let mut add = |field: &'static str, nodes: &[NodeId]| {
            out.extend(nodes.iter().map(|&n| (field, n)));
        };
        match self {
            Fault::Partition { groups } => groups.iter().for_each(|g| add("groups", g)),
            Fault::PartitionHalves { groups } | Fault::PartitionMajority { groups } => {
                groups.iter().flatten().for_each(|g| add("groups", g))
            }
            Fault::Bridge { sides, bridge } => {
                if let Some((a, b)) = sides {
                    add("sides", a);
                    add("sides", b);
                }
                add("bridge", bridge.as_slice());
            }
            Fault::Ring { order } => add("order", order.as_deref().unwrap_or_default()),
            Fault::OneWay { from, to } => {
                add("from", from.as_deref().unwrap_or_default());
                add("to", to.as_deref().unwrap_or_default());
            }
            Fault::Delay {
                nodes, from, to, ..
            } => {
                add("nodes", nodes.as_deref().unwrap_or_default());
                add("from", from.as_deref().unwrap_or_default());
                add("to", to.as_deref().unwrap_or_default());
            }
            Fault::Latency { nodes, .. }
            | Fault::Loss { nodes, .. }
            | Fault::Duplicate { nodes, .. }
            | Fault::Reorder { nodes, .. }
            | Fault::Corrupt { nodes, .. } => add("nodes", nodes.as_deref().unwrap_or_default()),
            Fault::Restart { node, .. } => add("node", &[*node]),
            Fault::Isolate { node }
            | Fault::Crash { node, .. }
            | Fault::Pause { node }
            | Fault::KillWipe { node }
            | Fault::ClockSkew { node, .. }
            | Fault::ClockDrift { node, .. }
            | Fault::ClockJump { node, .. } => add("node", node.as_slice()),
            Fault::Byzantine { node, behavior } => {
                add("node", node.as_slice());
                add("behavior.peers", behavior.peers());
            }
            Fault::IsolateLeader | Fault::IsolateLeaderWithClients | Fault::Heal => {}
        }
        out
    }
}

impl FaultAction {
    /// True time at which the action applies.
    pub fn at(&self) -> Nanos {
        ms::to_nanos(self.at_ms)
    }

    /// How long it lasts, if it says.
    pub fn duration(&self) -> Option<Nanos> {
        self.duration_ms.map(ms::to_nanos)
    }
}

/// A concrete schedule: what `faults.json` holds. Every random choice is
/// drawn; actions are sorted by time (ties in the order given).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSchedule {
    /// The fault mix a generator drew for this seed (rates and intensities),
    /// for reports; replaying ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix: Option<FaultMix>,
    #[serde(default)]
    pub schedule: Vec<FaultAction>,
}

impl FaultSchedule {
    /// Checks that every action names existing nodes, has sane numbers and
    /// leaves no random choice open.
    pub fn validate(&self, topology: &Topology) -> Result<(), FaultError> {
        for (i, action) in self.schedule.iter().enumerate() {
            validate::action(i, action, topology)?;
            validate::concrete(i, &action.fault)?;
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a schedule serializes")
    }

    /// Reads `faults.json`.
    pub fn from_json(text: &str) -> Result<Self, FaultError> {
        serde_json::from_str(text).map_err(|e| FaultError::new("faults.json", e.to_string()))
    }

    /// The nodes named anywhere in the schedule.
    pub fn nodes(&self) -> BTreeSet<NodeId> {
        self.schedule
            .iter()
            .flat_map(|a| a.fault.named_nodes())
            .map(|(_, n)| n)
            .collect()
    }
}

/// The `[faults]` table of a scenario: a fixed `schedule` and/or a
/// `generator`. The default is no faults at all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<FaultAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<GeneratorConfig>,
}

impl FaultConfig {
    /// Parses a TOML document holding a `[faults]` table (or nothing: no
    /// faults). Errors carry TOML's line and column.
    pub fn from_toml(text: &str) -> Result<Self, FaultError> {
        #[derive(Deserialize)]
        struct Doc {
            #[serde(default)]
            faults: FaultConfig,
        }
        toml::from_str::<Doc>(text)
            .map(|d| d.faults)
            .map_err(|e| FaultError::new("faults", e.to_string()))
    }

    /// The concrete schedule for this seed: the fixed actions, with their open
    /// choices drawn, plus the generated ones, sorted by time (fixed actions
    /// first among equal times). Every draw comes from the seed's `faults`
    /// stream; `duration` is the run's length (generators end every fault
    /// before it).
    pub fn schedule(
        &self,
        topology: &Topology,
        duration: Nanos,
        seed: u64,
    ) -> Result<FaultSchedule, FaultError> {
        for (i, action) in self.schedule.iter().enumerate() {
            validate::action(i, action, topology)?;
        }
        if let Some(g) = &self.generator {
            g.validate()?;
        }
        let mut faults = sim_core::rng::stream(seed, "faults");
        // Two independent child streams, drawn in a fixed order, so that adding
        // a generator does not change how the fixed actions' choices fall.
        let mut resolve_rng = resolve::child(&mut faults);
        let mut generate_rng = resolve::child(&mut faults);
        let mut actions = Vec::with_capacity(self.schedule.len());
        for (i, action) in self.schedule.iter().enumerate() {
            actions.push(resolve::action(i, action, topology, &mut resolve_rng)?);
        }
        let mut mix = None;
        if let Some(g) = &self.generator {
            let (drawn_mix, generated) = g.generate(topology, duration, &mut generate_rng);
            actions.extend(generated);
            mix = Some(drawn_mix);
        }
        // Stable: equal times keep fixed-before-generated and their given order.
        actions.sort_by_key(FaultAction::at);
        let schedule = FaultSchedule {
            mix,
            schedule: actions,
        };
        schedule.validate(topology)?;
        Ok(schedule)
    }
}

impl FaultConfig {
    /// This configuration for a protocol with or without a leader. Without
    /// one, a fixed action or an explicit generator rate that targets the
    /// leader would silently do nothing, so it is refused; a generator on the
    /// default mix simply does not draw those kinds.
    pub fn for_protocol(&self, has_leader: bool) -> Result<FaultConfig, FaultError> {
        if has_leader {
            return Ok(self.clone());
        }
        for (i, action) in self.schedule.iter().enumerate() {
            if action.fault.targets_leader() {
                return Err(FaultError::action(
                    i,
                    "kind",
                    format!(
                        "{} needs a protocol with a leader; this one has none",
                        action.fault.kind()
                    ),
                ));
            }
        }
        let generator = self
            .generator
            .as_ref()
            .map(GeneratorConfig::without_leader_kinds)
            .transpose()?;
        Ok(FaultConfig {
            schedule: self.schedule.clone(),
            generator,
        })
    }

    /// Refuses fixed actions that start at or after the run's end: they would
    /// never be applied.
    pub fn check_within(&self, duration: Nanos) -> Result<(), FaultError> {
        for (i, action) in self.schedule.iter().enumerate() {
            if action.at() >= duration {
                return Err(FaultError::action(
                    i,
                    "at_ms",
                    format!(
                        "{} ms is not before the run's end ({} ms): the fault would never happen",
                        action.at_ms,
                        ms::from_nanos(duration)
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A recorded `faults.json` replayed as a fixed schedule.
impl From<FaultSchedule> for FaultConfig {
    fn from(s: FaultSchedule) -> Self {
        FaultConfig {
            schedule: s.schedule,
            generator: None,
        }
    }
}
