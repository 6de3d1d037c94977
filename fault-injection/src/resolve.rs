//! Drawing the random choices a schedule leaves open (which half, which
//! node), so that the schedule of a seed is concrete before the run starts.

use rand::SeedableRng;
use sim_core::rng::{between, SimRng};
use sim_core::{NodeId, Topology};

use crate::byzantine::Behavior;
use crate::error::FaultError;
use crate::schedule::{Fault, FaultAction};

/// A child stream seeded from `parent`: one draw of the parent per child, so
/// the children's order is fixed and each is independent of how much the
/// others draw.
pub(crate) fn child(parent: &mut SimRng) -> SimRng {
    SimRng::from_rng(parent)
}

/// The nodes faults choose from: the replicas, or every node if the topology
/// names no replica.
pub(crate) fn pool(topology: &Topology) -> Vec<NodeId> {
    if topology.replicas.is_empty() {
        topology.all().collect()
    } else {
        topology.replicas.clone()
    }
}

/// Fisher–Yates with `u64` draws (never a `usize` draw: its width is the platform's).
pub(crate) fn shuffle<T>(items: &mut [T], rng: &mut SimRng) {
    for i in (1..items.len()).rev() {
        let j = between(rng, 0, i as u64) as usize;
        items.swap(i, j);
    }
}

pub(crate) fn pick(items: &[NodeId], rng: &mut SimRng) -> Option<NodeId> {
    if items.is_empty() {
        None
    } else {
        Some(items[between(rng, 0, items.len() as u64 - 1) as usize])
    }
}

fn sorted(mut v: Vec<NodeId>) -> Vec<NodeId> {
    v.sort_unstable();
    v
}

/// Two random halves of `pool` (the first the smaller when the count is odd).
pub(crate) fn halves(pool: &[NodeId], rng: &mut SimRng) -> Vec<Vec<NodeId>> {
    let mut p = pool.to_vec();
    shuffle(&mut p, rng);
    let b = p.split_off(p.len() / 2);
    vec![sorted(p), sorted(b)]
}

/// A random majority and minority of `pool`, the minority of `minority` nodes.
pub(crate) fn majority(pool: &[NodeId], minority: usize, rng: &mut SimRng) -> Vec<Vec<NodeId>> {
    let mut p = pool.to_vec();
    shuffle(&mut p, rng);
    let small = p.split_off(p.len() - minority);
    vec![sorted(p), sorted(small)]
}

/// The largest minority of `n` nodes.
pub(crate) fn max_minority(n: usize) -> usize {
    n.saturating_sub(1) / 2
}

/// A random bridge: (side a, side b, bridge node).
pub(crate) fn bridge(pool: &[NodeId], rng: &mut SimRng) -> (Vec<NodeId>, Vec<NodeId>, NodeId) {
    let mut p = pool.to_vec();
    shuffle(&mut p, rng);
    let x = p.pop().expect("a bridge needs nodes");
    let b = p.split_off(p.len() / 2);
    (sorted(p), sorted(b), x)
}

pub(crate) fn ring(pool: &[NodeId], rng: &mut SimRng) -> Vec<NodeId> {
    let mut p = pool.to_vec();
    shuffle(&mut p, rng);
    p
}

/// A random one-way split: `from` (1 to `max_from` nodes) unheard by the rest.
pub(crate) fn one_way(
    pool: &[NodeId],
    max_from: usize,
    rng: &mut SimRng,
) -> (Vec<NodeId>, Vec<NodeId>) {
    let mut p = pool.to_vec();
    shuffle(&mut p, rng);
    let k = between(rng, 1, max_from.clamp(1, p.len() - 1) as u64) as usize;
    let to = p.split_off(k);
    (sorted(p), sorted(to))
}

/// Half of the replicas other than `node`, drawn: who an equivocator lies to.
pub(crate) fn equivocation_peers(pool: &[NodeId], node: NodeId, rng: &mut SimRng) -> Vec<NodeId> {
    let mut others: Vec<NodeId> = pool.iter().copied().filter(|&n| n != node).collect();
    shuffle(&mut others, rng);
    others.truncate(others.len().div_ceil(2));
    sorted(others)
}

fn need(i: usize, kind: &str, at_least: usize, pool: &[NodeId]) -> Result<(), FaultError> {
    if pool.len() >= at_least {
        Ok(())
    } else {
        Err(FaultError::action(
            i,
            "kind",
            format!(
                "{kind} needs at least {at_least} replicas, the cluster has {}",
                pool.len()
            ),
        ))
    }
}

/// The action with every open choice drawn from `rng` (in field order, so
/// the draws of a schedule are reproducible from its text).
pub(crate) fn action(
    i: usize,
    a: &FaultAction,
    topology: &Topology,
    rng: &mut SimRng,
) -> Result<FaultAction, FaultError> {
    let pool = pool(topology);
    let node = |n: &Option<NodeId>, rng: &mut SimRng| -> Result<Option<NodeId>, FaultError> {
        match n {
            Some(n) => Ok(Some(*n)),
            None => {
                need(i, a.fault.kind(), 1, &pool)?;
                Ok(pick(&pool, rng))
            }
        }
    };
    let fault = match &a.fault {
        Fault::PartitionHalves { groups: None } => {
            need(i, "partition_halves", 2, &pool)?;
            Fault::PartitionHalves {
                groups: Some(halves(&pool, rng)),
            }
        }
        Fault::PartitionMajority { groups: None } => {
            need(i, "partition_majority", 3, &pool)?;
            Fault::PartitionMajority {
                groups: Some(majority(&pool, max_minority(pool.len()), rng)),
            }
        }
        Fault::Isolate { node: n } => Fault::Isolate {
            node: node(n, rng)?,
        },
        Fault::Bridge { sides, bridge: b } if sides.is_none() || b.is_none() => {
            need(i, "bridge", 3, &pool)?;
            let (x, y, z) = bridge(&pool, rng);
            Fault::Bridge {
                sides: Some(sides.clone().unwrap_or((x, y))),
                bridge: Some(b.unwrap_or(z)),
            }
        }
        Fault::Ring { order: None } => {
            need(i, "ring", 3, &pool)?;
            Fault::Ring {
                order: Some(ring(&pool, rng)),
            }
        }
        Fault::OneWay { from, to } if from.is_none() || to.is_none() => {
            need(i, "one_way", 2, &pool)?;
            let (f, t) = one_way(&pool, pool.len() - 1, rng);
            Fault::OneWay {
                from: Some(from.clone().unwrap_or(f)),
                to: Some(to.clone().unwrap_or(t)),
            }
        }
        Fault::Crash { node: n, mode } => Fault::Crash {
            node: node(n, rng)?,
            mode: *mode,
        },
        Fault::Pause { node: n } => Fault::Pause {
            node: node(n, rng)?,
        },
        Fault::KillWipe { node: n } => Fault::KillWipe {
            node: node(n, rng)?,
        },
        Fault::ClockSkew { node: n, offset_ms } => Fault::ClockSkew {
            node: node(n, rng)?,
            offset_ms: *offset_ms,
        },
        Fault::ClockDrift { node: n, ppm } => Fault::ClockDrift {
            node: node(n, rng)?,
            ppm: *ppm,
        },
        Fault::ClockJump { node: n, delta_ms } => Fault::ClockJump {
            node: node(n, rng)?,
            delta_ms: *delta_ms,
        },
        Fault::Byzantine { node: n, behavior } => {
            let n = node(n, rng)?;
            let behavior = match behavior {
                Behavior::Equivocate { peers: None } => Behavior::Equivocate {
                    peers: Some(equivocation_peers(&pool, n.expect("drawn"), rng)),
                },
                other => other.clone(),
            };
            Fault::Byzantine { node: n, behavior }
        }
        other => other.clone(),
    };
    Ok(FaultAction {
        at_ms: a.at_ms,
        duration_ms: a.duration_ms,
        fault,
    })
}
