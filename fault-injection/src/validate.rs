//! Checks of schedule actions: each error names the action's index and field.
//!
//! Unknown kinds and fields are caught earlier, by serde (with TOML's line
//! and column); what is left are values serde accepts but a run cannot use:
//! nodes that do not exist, negative or non-finite times, rates outside
//! [0, 1], malformed partitions.

use std::collections::BTreeSet;

use sim_core::{NodeId, Topology};

use crate::byzantine::Behavior;
use crate::error::FaultError;
use crate::schedule::{Fault, FaultAction};

/// Drifts a clock may have: above -1e6 ppm (at -1e6 it stops) and at most
/// 999e6 ppm (1000 times true speed). Faster clocks only overflow the
/// protocols' time arithmetic or schedule timers without end.
pub const DRIFT_PPM: std::ops::RangeInclusive<i64> = -999_999..=999_000_000;

/// The cluster's node ids, for existence checks and the error's hint.
fn describe_nodes(topology: &Topology) -> String {
    match topology.node_count() {
        0 => "the cluster has no nodes".into(),
        n => format!("the cluster has nodes 0..={}", n - 1),
    }
}

pub(crate) fn node_exists(topology: &Topology, node: NodeId) -> bool {
    topology.all().any(|n| n == node)
}

fn check_node(i: usize, field: &str, node: NodeId, topology: &Topology) -> Result<(), FaultError> {
    if node_exists(topology, node) {
        Ok(())
    } else {
        Err(FaultError::action(
            i,
            field,
            format!("node {node} does not exist ({})", describe_nodes(topology)),
        ))
    }
}

fn check_ms(i: usize, field: &str, ms: f64) -> Result<(), FaultError> {
    if !ms.is_finite() {
        Err(FaultError::action(
            i,
            field,
            format!("must be a finite number of milliseconds, got {ms}"),
        ))
    } else if ms < 0.0 {
        Err(FaultError::action(
            i,
            field,
            format!("must not be negative, got {ms}"),
        ))
    } else {
        Ok(())
    }
}

fn check_finite(i: usize, field: &str, x: f64) -> Result<(), FaultError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(FaultError::action(
            i,
            field,
            format!("must be finite, got {x}"),
        ))
    }
}

fn check_rate(i: usize, field: &str, p: f64) -> Result<(), FaultError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(FaultError::action(
            i,
            field,
            format!("must be a probability in [0, 1], got {p}"),
        ))
    }
}

/// Groups must be non-empty and disjoint (a node on two sides of a cut would
/// be cut from itself's side).
fn check_groups(i: usize, field: &str, groups: &[&[NodeId]]) -> Result<(), FaultError> {
    let mut seen = BTreeSet::new();
    for g in groups {
        if g.is_empty() {
            return Err(FaultError::action(i, field, "a group is empty"));
        }
        for &n in *g {
            if !seen.insert(n) {
                return Err(FaultError::action(
                    i,
                    field,
                    format!("node {n} is named twice"),
                ));
            }
        }
    }
    Ok(())
}

/// Checks everything about one action except whether its choices are drawn.
pub(crate) fn action(i: usize, a: &FaultAction, topology: &Topology) -> Result<(), FaultError> {
    check_ms(i, "at_ms", a.at_ms)?;
    match a.duration_ms {
        Some(d) => {
            check_ms(i, "duration_ms", d)?;
            if !a.fault.takes_duration() {
                return Err(FaultError::action(
                    i,
                    "duration_ms",
                    format!(
                        "{} happens at an instant and takes no duration",
                        a.fault.kind()
                    ),
                ));
            }
        }
        None if a.fault.needs_duration() => {
            return Err(FaultError::action(
                i,
                "duration_ms",
                format!("{} needs a duration", a.fault.kind()),
            ));
        }
        None => {}
    }
    for (field, node) in a.fault.named_nodes() {
        check_node(i, field, node, topology)?;
    }
    match &a.fault {
        Fault::Partition { groups } => {
            let gs: Vec<&[NodeId]> = groups.iter().map(Vec::as_slice).collect();
            if gs.len() < 2 {
                return Err(FaultError::action(
                    i,
                    "groups",
                    "a partition needs at least two groups",
                ));
            }
            check_groups(i, "groups", &gs)?;
        }
        Fault::PartitionHalves {
            groups: Some(groups),
        } => {
            let gs: Vec<&[NodeId]> = groups.iter().map(Vec::as_slice).collect();
            check_groups(i, "groups", &gs)?;
            if gs.len() != 2 || gs[0].len().abs_diff(gs[1].len()) > 1 {
                return Err(FaultError::action(
                    i,
                    "groups",
                    "halves are two groups whose sizes differ by at most one",
                ));
            }
        }
        Fault::PartitionMajority {
            groups: Some(groups),
        } => {
            let gs: Vec<&[NodeId]> = groups.iter().map(Vec::as_slice).collect();
            check_groups(i, "groups", &gs)?;
            if gs.len() != 2 || gs[0].len() <= gs[1].len() {
                return Err(FaultError::action(
                    i,
                    "groups",
                    "a majority/minority split is two groups, the first larger",
                ));
            }
        }
        Fault::Bridge {
            sides: Some((a, b)),
            bridge,
        } => {
            let mut gs: Vec<&[NodeId]> = vec![a, b];
            if let Some(x) = bridge {
                gs.push(std::slice::from_ref(x));
            }
            check_groups(i, "sides", &gs)?;
        }
        Fault::Ring { order: Some(order) } => {
            let singles: Vec<&[NodeId]> = order.iter().map(std::slice::from_ref).collect();
            check_groups(i, "order", &singles)?;
            if order.len() < 3 {
                return Err(FaultError::action(
                    i,
                    "order",
                    "a ring needs at least three nodes",
                ));
            }
        }
        Fault::OneWay {
            from: Some(from),
            to: Some(to),
        } => check_groups(i, "to", &[from, to])?,
        Fault::Delay {
            extra_ms,
            nodes,
            from,
            to,
        } => {
            check_ms(i, "extra_ms", *extra_ms)?;
            if nodes.is_some() && (from.is_some() || to.is_some()) {
                return Err(FaultError::action(
                    i,
                    "nodes",
                    "give either `nodes` (links touching them, both ways) or `from`/`to` (directed links), not both",
                ));
            }
            for (field, side) in [("nodes", nodes), ("from", from), ("to", to)] {
                if side.as_ref().is_some_and(Vec::is_empty) {
                    return Err(FaultError::action(
                        i,
                        field,
                        "names no node (leave it out for every node)",
                    ));
                }
            }
        }
        Fault::Latency { latency, .. } => latency
            .validate()
            .map_err(|e| FaultError::action(i, "latency", e))?,
        Fault::Loss { rate, .. } | Fault::Duplicate { rate, .. } | Fault::Corrupt { rate, .. } => {
            check_rate(i, "rate", *rate)?
        }
        Fault::Reorder {
            rate, window_ms, ..
        } => {
            check_rate(i, "rate", *rate)?;
            if let Some(w) = window_ms {
                check_ms(i, "window_ms", *w)?;
            }
        }
        Fault::ClockSkew { offset_ms, .. } => check_finite(i, "offset_ms", *offset_ms)?,
        Fault::ClockJump { delta_ms, .. } => check_finite(i, "delta_ms", *delta_ms)?,
        Fault::ClockDrift { ppm, .. } if !DRIFT_PPM.contains(ppm) => {
            return Err(FaultError::action(
                i,
                "ppm",
                format!(
                    "a drift of {ppm} ppm would stop or reverse the clock, or run it more than \
                     1000 times as fast as true time (must be > -1000000 and <= 999000000)"
                ),
            ));
        }
        Fault::Byzantine { behavior, .. } => behavior
            .validate()
            .map_err(|(field, msg)| FaultError::action(i, &format!("behavior.{field}"), msg))?,
        _ => {}
    }
    Ok(())
}

/// Checks that no random choice is left open (a concrete schedule).
pub(crate) fn concrete(i: usize, fault: &Fault) -> Result<(), FaultError> {
    let open = match fault {
        Fault::PartitionHalves { groups: None } | Fault::PartitionMajority { groups: None } => {
            Some("groups")
        }
        Fault::Bridge { sides: None, .. } => Some("sides"),
        Fault::Bridge { bridge: None, .. } => Some("bridge"),
        Fault::Ring { order: None } => Some("order"),
        Fault::OneWay { from: None, .. } => Some("from"),
        Fault::OneWay { to: None, .. } => Some("to"),
        Fault::Isolate { node: None }
        | Fault::Crash { node: None, .. }
        | Fault::Pause { node: None }
        | Fault::KillWipe { node: None }
        | Fault::ClockSkew { node: None, .. }
        | Fault::ClockDrift { node: None, .. }
        | Fault::ClockJump { node: None, .. }
        | Fault::Byzantine { node: None, .. } => Some("node"),
        Fault::Byzantine {
            behavior: Behavior::Equivocate { peers: None },
            ..
        } => Some("behavior.peers"),
        _ => None,
    };
    match open {
        Some(field) => Err(FaultError::action(
            i,
            field,
            "left open: a concrete schedule (faults.json) draws every choice",
        )),
        None => Ok(()),
    }
}
