//! Nemesis generators: a schedule drawn from the seed's `faults` stream.
//!
//! `random` mode draws each fault kind as a Poisson process at its rate
//! (faults per second of true time), each fault lasting a uniform time in
//! `[min_duration_ms, max_duration_ms]`. `swarm` mode first draws, per seed,
//! which kinds are on (each with probability 1/2) and how hard (each rate
//! scaled by 2^u, u uniform in [-2, 2], and each intensity by 2^u, u in
//! [-1, 1]), so that a sweep over seeds covers many fault mixes rather than
//! one average mix (swarm testing, Groce et al. 2012).
//!
//! The cluster must be able to recover: every generated fault has an end
//! (crashed nodes restart, partitions heal, links and clocks are restored,
//! Byzantine nodes turn honest) no later than `quiet_ms` before the run's
//! end. With `minority = true` (the default) at most a minority of the
//! replicas is faulty at any time — crashed, paused, wiped, Byzantine, or on
//! the small side of a partition — so a correct protocol stays live; a leader
//! isolated at run time counts as one faulty node, and a ring (where no node
//! may reach a majority) is only drawn when nothing else is faulty, for at
//! most five replicas, and blocks other node faults while it lasts.
//! `max_faulty` overrides the bound (e.g. 1 for a 4-node BFT cluster).
//! Byzantine faults draw their behaviour from `byzantine_behaviors` (all
//! kinds if empty), and act as one adversary: every equivocating node of a
//! schedule sends its variants to the same victims, as colluding nodes
//! would. The victims, drawn once, are half of the replicas the bound leaves
//! honest, and equivocators are drawn among the others: with the bound at
//! f+1 of 3f+1, each side holds 2f+1 replicas with the liars, which is what
//! splitting a BFT protocol's honest replicas takes.
//! Link faults (delay, loss, duplication, reordering, corruption) hit every
//! link and clock faults only skew time: neither counts as a faulty node.
//!
//! Each kind draws from its own child stream of `faults`, so turning one kind
//! off leaves the arrivals of the others where they were.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sim_core::rng::{between, chance, unit, SimRng};
use sim_core::{CrashMode, Nanos, NodeId, Topology, MICROS, SECONDS};

use crate::byzantine::Behavior;
use crate::error::FaultError;
use crate::ms;
use crate::resolve::{self, child, pick};
use crate::schedule::{Fault, FaultAction};

/// A kind of fault a generator can draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenKind {
    PartitionHalves,
    PartitionMajority,
    Isolate,
    IsolateLeader,
    Bridge,
    Ring,
    OneWay,
    Delay,
    Loss,
    Duplicate,
    Reorder,
    Corrupt,
    Crash,
    Pause,
    KillWipe,
    ClockSkew,
    ClockDrift,
    ClockJump,
    Byzantine,
    /// Last, so that adding it shifted no other kind's stream.
    IsolateLeaderWithClients,
}

impl GenKind {
    /// The kind's name as a scenario spells it (`isolate_leader`).
    pub fn name(self) -> String {
        let value = serde_json::to_value(self).expect("kind serializes");
        value.as_str().unwrap_or_default().to_string()
    }

    /// Every kind, in the fixed order their random streams are drawn.
    pub const ALL: [GenKind; 20] = [
        GenKind::PartitionHalves,
        GenKind::PartitionMajority,
        GenKind::Isolate,
        GenKind::IsolateLeader,
        GenKind::Bridge,
        GenKind::Ring,
        GenKind::OneWay,
        GenKind::Delay,
        GenKind::Loss,
        GenKind::Duplicate,
        GenKind::Reorder,
        GenKind::Corrupt,
        GenKind::Crash,
        GenKind::Pause,
        GenKind::KillWipe,
        GenKind::ClockSkew,
        GenKind::ClockDrift,
        GenKind::ClockJump,
        GenKind::Byzantine,
        GenKind::IsolateLeaderWithClients,
    ];
}

/// The default mix, faults per second. Kill-and-wipe and Byzantine faults
/// are outside the crash-recovery model most protocols promise to survive,
/// so they are drawn only when named in `rates`.
pub const DEFAULT_RATES: [(GenKind, f64); 17] = [
    (GenKind::PartitionHalves, 0.05),
    (GenKind::PartitionMajority, 0.05),
    (GenKind::Isolate, 0.05),
    (GenKind::IsolateLeader, 0.05),
    (GenKind::Bridge, 0.03),
    (GenKind::Ring, 0.02),
    (GenKind::OneWay, 0.03),
    (GenKind::Delay, 0.05),
    (GenKind::Loss, 0.05),
    (GenKind::Duplicate, 0.03),
    (GenKind::Reorder, 0.03),
    (GenKind::Corrupt, 0.02),
    (GenKind::Crash, 0.1),
    (GenKind::Pause, 0.1),
    (GenKind::ClockSkew, 0.03),
    (GenKind::ClockDrift, 0.03),
    (GenKind::ClockJump, 0.03),
];

/// How hard each drawn fault hits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Intensity {
    /// Loss probability during a `loss` fault.
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    pub reorder_window_ms: f64,
    pub corrupt: f64,
    /// Extra latency of a `delay` fault.
    pub delay_ms: f64,
    /// Largest clock offset (either sign) of a `clock_skew`.
    pub skew_ms: f64,
    /// Largest drift (either sign) of a `clock_drift`.
    pub drift_ppm: i64,
    /// Largest jump (either way) of a `clock_jump`.
    pub jump_ms: f64,
}

impl Default for Intensity {
    fn default() -> Self {
        Self {
            loss: 0.2,
            duplicate: 0.2,
            reorder: 0.3,
            reorder_window_ms: 20.0,
            corrupt: 0.05,
            delay_ms: 50.0,
            skew_ms: 500.0,
            drift_ppm: 20_000,
            jump_ms: 1_000.0,
        }
    }
}

/// Random or swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenMode {
    #[default]
    Random,
    Swarm,
}

/// The mix one seed drew: the kinds on, at which rate, and how hard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultMix {
    pub rates: BTreeMap<GenKind, f64>,
    pub intensity: Intensity,
}

/// The `generator = { ... }` of a scenario's `[faults]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorConfig {
    pub mode: GenMode,
    /// Faults per second of each kind; empty means [`DEFAULT_RATES`]. In swarm
    /// mode these are the kinds a seed may turn on and their base rates.
    pub rates: BTreeMap<GenKind, f64>,
    pub min_duration_ms: f64,
    pub max_duration_ms: f64,
    /// No generated fault starts before this (let the cluster settle first).
    pub start_ms: f64,
    /// Every generated fault has ended this long before the run's end.
    pub quiet_ms: f64,
    /// At most a minority of replicas faulty at once.
    pub minority: bool,
    /// Overrides the bound on replicas faulty at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_faulty: Option<u32>,
    /// The Byzantine behaviours drawn (`kind` names); empty: all of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub byzantine_behaviors: Vec<String>,
    pub intensity: Intensity,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            mode: GenMode::Random,
            rates: BTreeMap::new(),
            min_duration_ms: 200.0,
            max_duration_ms: 3_000.0,
            start_ms: 1_000.0,
            quiet_ms: 2_000.0,
            minority: true,
            max_faulty: None,
            byzantine_behaviors: Vec::new(),
            intensity: Intensity::default(),
        }
    }
}

/// The Byzantine behaviours a generator draws from, by `kind` name.
const BEHAVIOR_KINDS: [&str; 5] = ["mute", "equivocate", "forge", "replay", "selective"];

/// Most faults per second of one kind: more is a typo, and would make
/// generation slow.
const MAX_RATE: f64 = 1_000.0;

fn gen_err(field: &str, message: impl Into<String>) -> FaultError {
    FaultError::new(format!("faults.generator.{field}"), message)
}

impl GeneratorConfig {
    pub fn validate(&self) -> Result<(), FaultError> {
        for (kind, &r) in &self.rates {
            if !(r.is_finite() && (0.0..=MAX_RATE).contains(&r)) {
                return Err(gen_err(
                    &format!("rates.{}", kind.name()),
                    format!("must be a rate in [0, {MAX_RATE}] faults per second, got {r}"),
                ));
            }
        }
        for (field, v) in [
            ("min_duration_ms", self.min_duration_ms),
            ("max_duration_ms", self.max_duration_ms),
            ("start_ms", self.start_ms),
            ("quiet_ms", self.quiet_ms),
            (
                "intensity.reorder_window_ms",
                self.intensity.reorder_window_ms,
            ),
            ("intensity.delay_ms", self.intensity.delay_ms),
            ("intensity.skew_ms", self.intensity.skew_ms),
            ("intensity.jump_ms", self.intensity.jump_ms),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(gen_err(
                    field,
                    format!("must be finite and not negative, got {v}"),
                ));
            }
        }
        if self.min_duration_ms > self.max_duration_ms {
            return Err(gen_err(
                "min_duration_ms",
                format!(
                    "is above max_duration_ms ({} > {})",
                    self.min_duration_ms, self.max_duration_ms
                ),
            ));
        }
        for (field, p) in [
            ("intensity.loss", self.intensity.loss),
            ("intensity.duplicate", self.intensity.duplicate),
            ("intensity.reorder", self.intensity.reorder),
            ("intensity.corrupt", self.intensity.corrupt),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(gen_err(
                    field,
                    format!("must be a probability in [0, 1], got {p}"),
                ));
            }
        }
        for name in &self.byzantine_behaviors {
            if !BEHAVIOR_KINDS.contains(&name.as_str()) {
                return Err(gen_err(
                    "byzantine_behaviors",
                    format!(
                        "unknown behaviour {name:?}; known: {}",
                        BEHAVIOR_KINDS.join(", ")
                    ),
                ));
            }
        }
        if !(0..1_000_000).contains(&self.intensity.drift_ppm) {
            return Err(gen_err(
                "intensity.drift_ppm",
                format!("must be in [0, 1000000), got {}", self.intensity.drift_ppm),
            ));
        }
        Ok(())
    }

    /// This generator for a protocol without a leader: an explicit rate for
    /// a kind that targets the leader is refused (it would draw faults that
    /// do nothing); the default mix loses those kinds.
    pub fn without_leader_kinds(&self) -> Result<Self, FaultError> {
        const LEADER_KINDS: [GenKind; 2] =
            [GenKind::IsolateLeader, GenKind::IsolateLeaderWithClients];
        for kind in LEADER_KINDS {
            if self.rates.get(&kind).is_some_and(|&r| r > 0.0) {
                return Err(gen_err(
                    &format!("rates.{}", kind.name()),
                    "targets the leader, and this protocol has none",
                ));
            }
        }
        let mut leaderless = self.clone();
        leaderless.rates = self.base_rates();
        leaderless.rates.retain(|k, _| !LEADER_KINDS.contains(k));
        Ok(leaderless)
    }

    /// The kinds and base rates this generator draws from.
    fn base_rates(&self) -> BTreeMap<GenKind, f64> {
        if self.rates.is_empty() {
            DEFAULT_RATES.into_iter().collect()
        } else {
            self.rates.clone()
        }
    }

    /// The mix of one seed: in random mode the configured one; in swarm mode
    /// a subset of the kinds, each rate and intensity scaled.
    pub fn draw_mix(&self, rng: &mut SimRng) -> FaultMix {
        let base = self.base_rates();
        if self.mode == GenMode::Random {
            return FaultMix {
                rates: base.into_iter().filter(|&(_, r)| r > 0.0).collect(),
                intensity: self.intensity.clone(),
            };
        }
        // Every kind draws its coin and its factor whether on or not, so one
        // kind's draws never shift another's.
        let mut rates = BTreeMap::new();
        for (&kind, &rate) in &base {
            let on = chance(rng, 0.5);
            let factor = libm::exp2(4.0 * unit(rng) - 2.0);
            if on && rate > 0.0 {
                rates.insert(kind, round6(rate * factor));
            }
        }
        let candidates: Vec<(GenKind, f64)> = base
            .iter()
            .filter(|&(_, &r)| r > 0.0)
            .map(|(&k, &r)| (k, r))
            .collect();
        if rates.is_empty() && !candidates.is_empty() {
            let (k, r) = candidates[between(rng, 0, candidates.len() as u64 - 1) as usize];
            rates.insert(k, r);
        }
        let mut scale = |x: f64| x * libm::exp2(2.0 * unit(rng) - 1.0);
        let i = &self.intensity;
        let intensity = Intensity {
            loss: round6(scale(i.loss)).min(1.0),
            duplicate: round6(scale(i.duplicate)).min(1.0),
            reorder: round6(scale(i.reorder)).min(1.0),
            reorder_window_ms: round_us(scale(i.reorder_window_ms)),
            corrupt: round6(scale(i.corrupt)).min(1.0),
            delay_ms: round_us(scale(i.delay_ms)),
            skew_ms: round_us(scale(i.skew_ms)),
            drift_ppm: (scale(i.drift_ppm as f64) as i64).min(999_999),
            jump_ms: round_us(scale(i.jump_ms)),
        };
        FaultMix { rates, intensity }
    }

    /// Draws the mix and the schedule for a run of `duration`.
    pub(crate) fn generate(
        &self,
        topology: &Topology,
        duration: Nanos,
        rng: &mut SimRng,
    ) -> (FaultMix, Vec<FaultAction>) {
        let mut mix_rng = child(rng);
        let mut kind_rngs: BTreeMap<GenKind, SimRng> =
            GenKind::ALL.iter().map(|&k| (k, child(rng))).collect();
        let mix = self.draw_mix(&mut mix_rng);

        let start = ms::to_nanos(self.start_ms);
        let last_end = duration.saturating_sub(ms::to_nanos(self.quiet_ms));
        let (min_us, max_us) = (
            ms::to_nanos(self.min_duration_ms) / MICROS,
            ms::to_nanos(self.max_duration_ms) / MICROS,
        );
        // Arrivals of each kind, with their durations, from the kind's stream.
        let mut candidates = Vec::new();
        for (&kind, &rate) in &mix.rates {
            let r = kind_rngs.get_mut(&kind).expect("every kind has a stream");
            let mut t = start as f64;
            loop {
                // Exponential gap; 1 - unit lies in (0, 1], so the log is finite.
                t += -libm::log(1.0 - unit(r)) / rate * SECONDS as f64;
                if t >= last_end as f64 {
                    break;
                }
                let at = (t as Nanos) / MICROS * MICROS;
                let length = between(r, min_us, max_us.max(min_us)) * MICROS;
                candidates.push((at, kind, length));
            }
        }
        candidates.sort_by_key(|&(at, kind, _)| (at, kind));

        let pool = resolve::pool(topology);
        let bound = self
            .max_faulty
            .map(|m| m as usize)
            .unwrap_or(if self.minority {
                resolve::max_minority(pool.len())
            } else {
                pool.len()
            });
        let mut placer = Placer {
            pool,
            bound,
            minority: self.minority,
            active: Vec::new(),
            intensity: &mix.intensity,
            behaviors: if self.byzantine_behaviors.is_empty() {
                BEHAVIOR_KINDS.to_vec()
            } else {
                BEHAVIOR_KINDS
                    .into_iter()
                    .filter(|k| self.byzantine_behaviors.iter().any(|b| b == k))
                    .collect()
            },
            victims: None,
        };
        let mut actions = Vec::new();
        for (at, kind, length) in candidates {
            let length = length.min(last_end - at);
            if length == 0 && kind != GenKind::ClockJump {
                continue;
            }
            let r = kind_rngs.get_mut(&kind).expect("every kind has a stream");
            if let Some(fault) = placer.place(kind, at, at + length, r) {
                actions.push(FaultAction {
                    at_ms: ms::from_nanos(at),
                    duration_ms: fault.takes_duration().then(|| ms::from_nanos(length)),
                    fault,
                });
            }
        }
        (mix, actions)
    }
}

fn round_us(ms: f64) -> f64 {
    (ms * 1e3).round() / 1e3
}

/// Six decimals: short numbers in `faults.json` that read back exactly.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A signed uniform draw in [-max, max] milliseconds, in whole microseconds.
fn signed_ms(rng: &mut SimRng, max_ms: f64) -> f64 {
    let us = (max_ms * 1e3).round() as u64;
    let magnitude = between(rng, 0, us) as f64 / 1e3;
    if chance(rng, 0.5) {
        -magnitude
    } else {
        magnitude
    }
}

/// Chooses the nodes of each drawn fault so that the faulty bound holds.
struct Placer<'a> {
    pool: Vec<NodeId>,
    bound: usize,
    minority: bool,
    /// Faults in force: (end, faulty nodes, faulty nodes not known yet).
    active: Vec<(Nanos, Vec<NodeId>, usize)>,
    intensity: &'a Intensity,
    /// Byzantine behaviours to draw from.
    behaviors: Vec<&'static str>,
    /// The replicas every equivocator of this schedule lies to.
    victims: Option<Vec<NodeId>>,
}

/// Attempts at a random partition that respects the bound before giving up.
const PARTITION_TRIES: usize = 4;

impl Placer<'_> {
    fn place(&mut self, kind: GenKind, at: Nanos, end: Nanos, rng: &mut SimRng) -> Option<Fault> {
        self.active.retain(|&(e, _, _)| e > at);
        let faulty: BTreeSet<NodeId> = self
            .active
            .iter()
            .flat_map(|a| a.1.iter().copied())
            .collect();
        let unknown: usize = self.active.iter().map(|a| a.2).sum();
        let fits = |extra: &[NodeId], extra_unknown: usize| {
            let mut all = faulty.clone();
            all.extend(extra.iter().copied());
            all.len() + unknown + extra_unknown <= self.bound
        };
        let free: Vec<NodeId> = self
            .pool
            .iter()
            .copied()
            .filter(|n| !faulty.contains(n))
            .collect();
        let n = self.pool.len();
        let i = self.intensity;

        // (fault, faulty nodes, unknown faulty count)
        let placed: Option<(Fault, Vec<NodeId>, usize)> = match kind {
            GenKind::PartitionHalves if n >= 2 => (0..PARTITION_TRIES).find_map(|_| {
                let groups = resolve::halves(&self.pool, rng);
                let small = groups[0].clone();
                let fault = Fault::PartitionHalves {
                    groups: Some(groups),
                };
                fits(&small, 0).then_some((fault, small, 0))
            }),
            GenKind::PartitionMajority if n >= 3 => (0..PARTITION_TRIES).find_map(|_| {
                let k = between(rng, 1, resolve::max_minority(n) as u64) as usize;
                let groups = resolve::majority(&self.pool, k, rng);
                let small = groups[1].clone();
                let fault = Fault::PartitionMajority {
                    groups: Some(groups),
                };
                fits(&small, 0).then_some((fault, small, 0))
            }),
            GenKind::Isolate => pick(&free, rng)
                .filter(|&x| fits(&[x], 0))
                .map(|x| (Fault::Isolate { node: Some(x) }, vec![x], 0)),
            GenKind::IsolateLeader => fits(&[], 1).then_some((Fault::IsolateLeader, vec![], 1)),
            GenKind::IsolateLeaderWithClients => {
                fits(&[], 1).then_some((Fault::IsolateLeaderWithClients, vec![], 1))
            }
            GenKind::Bridge if n >= 3 => (0..PARTITION_TRIES).find_map(|_| {
                let (a, b, x) = resolve::bridge(&self.pool, rng);
                let small = a.clone();
                fits(&small, 0).then(|| {
                    let fault = Fault::Bridge {
                        sides: Some((a, b)),
                        bridge: Some(x),
                    };
                    (fault, small, 0)
                })
            }),
            GenKind::Ring if n >= 3 => {
                // In a ring no node may reach a majority beyond five nodes, and
                // with any other node down none may: alone, or not at all.
                let alone = faulty.is_empty() && unknown == 0;
                if !self.minority || (alone && n <= 5) {
                    let order = resolve::ring(&self.pool, rng);
                    let block = if self.minority { self.bound } else { 0 };
                    Some((Fault::Ring { order: Some(order) }, vec![], block))
                } else {
                    None
                }
            }
            GenKind::OneWay if n >= 2 => (0..PARTITION_TRIES).find_map(|_| {
                let room = self.bound.saturating_sub(faulty.len() + unknown).max(1);
                let (from, to) = resolve::one_way(&self.pool, room.min(n - 1), rng);
                fits(&from, 0).then(|| {
                    let unheard = from.clone();
                    let fault = Fault::OneWay {
                        from: Some(from),
                        to: Some(to),
                    };
                    (fault, unheard, 0)
                })
            }),
            GenKind::Delay => Some((
                Fault::Delay {
                    extra_ms: i.delay_ms,
                    nodes: None,
                    from: None,
                    to: None,
                },
                vec![],
                0,
            )),
            GenKind::Loss => Some((
                Fault::Loss {
                    rate: i.loss,
                    nodes: None,
                },
                vec![],
                0,
            )),
            GenKind::Duplicate => Some((
                Fault::Duplicate {
                    rate: i.duplicate,
                    nodes: None,
                },
                vec![],
                0,
            )),
            GenKind::Reorder => Some((
                Fault::Reorder {
                    rate: i.reorder,
                    window_ms: Some(i.reorder_window_ms),
                    nodes: None,
                },
                vec![],
                0,
            )),
            GenKind::Corrupt => Some((
                Fault::Corrupt {
                    rate: i.corrupt,
                    nodes: None,
                },
                vec![],
                0,
            )),
            GenKind::Crash => pick(&free, rng).filter(|&x| fits(&[x], 0)).map(|x| {
                let mode = if chance(rng, 0.5) {
                    CrashMode::LoseUnsynced
                } else {
                    CrashMode::KeepUnsynced
                };
                (
                    Fault::Crash {
                        node: Some(x),
                        mode,
                    },
                    vec![x],
                    0,
                )
            }),
            GenKind::Pause => pick(&free, rng)
                .filter(|&x| fits(&[x], 0))
                .map(|x| (Fault::Pause { node: Some(x) }, vec![x], 0)),
            GenKind::KillWipe => pick(&free, rng)
                .filter(|&x| fits(&[x], 0))
                .map(|x| (Fault::KillWipe { node: Some(x) }, vec![x], 0)),
            GenKind::ClockSkew => pick(&self.pool, rng).map(|x| {
                let offset_ms = signed_ms(rng, i.skew_ms);
                let fault = Fault::ClockSkew {
                    node: Some(x),
                    offset_ms,
                };
                (fault, vec![], 0)
            }),
            GenKind::ClockDrift => pick(&self.pool, rng).map(|x| {
                let magnitude = between(rng, 1, i.drift_ppm.max(1) as u64) as i64;
                let ppm = if chance(rng, 0.5) {
                    -magnitude
                } else {
                    magnitude
                };
                (Fault::ClockDrift { node: Some(x), ppm }, vec![], 0)
            }),
            GenKind::ClockJump => pick(&self.pool, rng).map(|x| {
                let delta_ms = signed_ms(rng, i.jump_ms);
                (
                    Fault::ClockJump {
                        node: Some(x),
                        delta_ms,
                    },
                    vec![],
                    0,
                )
            }),
            GenKind::Byzantine => {
                let last = self.behaviors.len() as u64 - 1;
                let kind = self.behaviors[between(rng, 0, last) as usize];
                let mut candidates = free.clone();
                if kind == "equivocate" {
                    let (pool, bound) = (&self.pool, self.bound);
                    let victims = self.victims.get_or_insert_with(|| {
                        let mut drawn = pool.clone();
                        resolve::shuffle(&mut drawn, rng);
                        drawn.truncate(pool.len().saturating_sub(bound).div_ceil(2));
                        drawn.sort_unstable();
                        drawn
                    });
                    candidates.retain(|n| !victims.contains(n));
                }
                pick(&candidates, rng).filter(|&x| fits(&[x], 0)).map(|x| {
                    let behavior = match kind {
                        "mute" => Behavior::Mute,
                        "equivocate" => Behavior::Equivocate {
                            peers: self.victims.clone(),
                        },
                        "forge" => Behavior::Forge { rate: 0.5 },
                        "replay" => Behavior::Replay {
                            rate: 0.5,
                            window: 32,
                        },
                        _ => Behavior::Selective {
                            peers: None,
                            drop: 0.5,
                            delay_ms: 50.0,
                        },
                    };
                    let fault = Fault::Byzantine {
                        node: Some(x),
                        behavior,
                    };
                    (fault, vec![x], 0)
                })
            }
            // Too few replicas for this partition shape.
            _ => None,
        };
        let (fault, nodes, unknown_added) = placed?;
        if !nodes.is_empty() || unknown_added > 0 {
            self.active.push((end, nodes, unknown_added));
        }
        Some(fault)
    }
}
