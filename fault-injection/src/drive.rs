//! Running a simulation under a fault schedule.
//!
//! [`drive`] runs the simulation from action time to action time with
//! `Sim::run_until_checked` (the observer's invariants checked after every
//! event) and applies each action through the kernel's hooks in between. Each
//! application is noted in the trace and the fingerprint (`Sim::note_fault`),
//! and so is each end of an interval.
//!
//! The driver owns the network's cuts and link settings for the run: it keeps
//! the state it found at the start as the baseline, and after every change
//! recomputes each link as the baseline plus the faults in force. So faults
//! that overlap compose (two partitions cut the union of their links; two
//! loss faults lose with probability 1 - (1-p)(1-q); delays add; the latest
//! latency distribution wins), and ending one restores exactly what the
//! others leave. Clock skews and drifts of one node layer the same way: the
//! latest in force wins, and when none is left the clock returns to the skew
//! or drift it had before the first. Clock jumps are instants: they stay. At equal times, ends come before starts, and actions apply
//! in schedule order.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sim_core::{CrashMode, Finding, LinkConfig, Message, Nanos, NodeId, Sim, Topology};

use crate::byzantine;
use crate::label;
use crate::ms;
use crate::resolve;
use crate::schedule::{Fault, FaultSchedule};

/// What the runner knows about the protocol under test.
pub trait Observer<M: Message> {
    /// Invariants checked after every event; a finding stops the run.
    fn check(&mut self, _sim: &Sim<M>) -> Option<Finding> {
        None
    }

    /// The node that leads now, for `isolate_leader`.
    fn leader(&self, _sim: &Sim<M>) -> Option<NodeId> {
        None
    }
}

/// An observer that checks nothing and knows no leader.
pub struct NoObserver;

impl<M: Message> Observer<M> for NoObserver {}

/// One fault as it was applied, for reports and `summary.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AppliedFault {
    /// True time it was applied.
    pub start: Nanos,
    /// True time it ended: equal to `start` for an instant action, `None` if
    /// it was still in force when the run ended.
    pub end: Option<Nanos>,
    /// The action's `kind`.
    pub kind: String,
    /// In words, with every choice resolved ("isolate leader n3").
    pub label: String,
    /// The nodes it hit.
    pub nodes: Vec<NodeId>,
    /// Index of the action in the schedule.
    #[serde(default)]
    pub action: usize,
}

/// Runs `sim` to `end`, applying `schedule` at its times; returns what was
/// applied, in order of application. Actions after `end` are not applied. An
/// action naming a node the simulation lacks (a schedule that was not
/// validated) is skipped and recorded as skipped, never a panic.
pub fn drive<M: Message>(
    sim: &mut Sim<M>,
    schedule: &FaultSchedule,
    topology: &Topology,
    end: Nanos,
    observer: &mut dyn Observer<M>,
) -> Vec<AppliedFault> {
    let actions = &schedule.schedule;
    let mut order: Vec<usize> = (0..actions.len()).collect();
    order.sort_by_key(|&i| (actions[i].at(), i));
    let mut state = State::new(sim, topology);
    let mut next = 0;
    let mut ends: BTreeSet<(Nanos, usize)> = BTreeSet::new();
    loop {
        let start = order.get(next).map(|&i| (actions[i].at(), i));
        let stop = ends.first().copied();
        let (t, is_end, i) = match (start, stop) {
            (None, None) => break,
            (Some((ts, i)), Some((te, _))) if te > ts => (ts, false, i),
            (_, Some((te, j))) => (te, true, j),
            (Some((ts, i)), None) => (ts, false, i),
        };
        if t > end || !sim.run_until_checked(t, |s| observer.check(s)) {
            break;
        }
        if is_end {
            ends.remove(&(t, i));
            state.finish(sim, i);
        } else {
            next += 1;
            if let Some(d) = state.apply(sim, i, &actions[i], observer) {
                ends.insert((sim.now().saturating_add(d), i));
            }
        }
    }
    if sim.finding().is_none() && sim.now() < end {
        sim.run_until_checked(end, |s| observer.check(s));
    }
    state.applied
}

/// What ending an action must undo.
enum Undo {
    /// Its cuts are in `State::cuts`.
    Cuts,
    /// Its link change is in `State::links`.
    Link,
    Restart {
        node: NodeId,
        wipe: bool,
    },
    Offset {
        node: NodeId,
    },
    Drift {
        node: NodeId,
    },
    Byzantine {
        node: NodeId,
    },
    /// Nothing to undo (a pause ends by itself): just close the record.
    Nothing,
}

struct State {
    n: u32,
    /// Nodes partitions act on when none are named.
    pool: Vec<NodeId>,
    /// The clients, for partitions that put them on one side.
    clients: Vec<NodeId>,
    /// The network as the run found it: the default link, the links set
    /// otherwise, the cut links (sparse, as the network keeps them).
    base_default: LinkConfig,
    base_links: BTreeMap<(NodeId, NodeId), LinkConfig>,
    base_cuts: BTreeSet<(NodeId, NodeId)>,
    /// Partitions in force: action → cut links.
    cuts: BTreeMap<usize, Vec<(NodeId, NodeId)>>,
    /// Link faults in force, in the order they started.
    links: Vec<(usize, Fault)>,
    undo: BTreeMap<usize, Undo>,
    skews: BTreeMap<NodeId, ClockLayer>,
    drifts: BTreeMap<NodeId, ClockLayer>,
    /// Crashes without a duration, per node: closed by a later restart.
    down: BTreeMap<NodeId, Vec<usize>>,
    applied: Vec<AppliedFault>,
    /// Action → its record in `applied`.
    record: BTreeMap<usize, usize>,
}

/// Clock faults in force on one node, like link faults: the latest one in
/// force wins, and when none is left the clock returns to `base`, what it had
/// before the first (its skew, or its drift).
struct ClockLayer {
    base: i64,
    active: Vec<(usize, i64)>,
}

impl ClockLayer {
    fn push(layers: &mut BTreeMap<NodeId, ClockLayer>, node: NodeId, base: i64, i: usize, v: i64) {
        layers
            .entry(node)
            .or_insert(ClockLayer {
                base,
                active: Vec::new(),
            })
            .active
            .push((i, v));
    }

    /// Ends action `i`; returns the value the clock must now have.
    fn pop(layers: &mut BTreeMap<NodeId, ClockLayer>, node: NodeId, i: usize) -> Option<i64> {
        let layer = layers.get_mut(&node)?;
        layer.active.retain(|&(j, _)| j != i);
        match layer.active.last() {
            Some(&(_, v)) => Some(v),
            None => layers.remove(&node).map(|l| l.base),
        }
    }
}

/// `1 - (1-p)(1-q)`: two independent chances; exact when either is zero.
fn combine(p: f64, q: f64) -> f64 {
    if p == 0.0 {
        q
    } else if q == 0.0 {
        p
    } else {
        1.0 - (1.0 - p) * (1.0 - q)
    }
}

fn sorted_unique(nodes: impl IntoIterator<Item = NodeId>) -> Vec<NodeId> {
    nodes
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Both directions between every pair of nodes in different groups.
fn group_cuts(groups: &[&[NodeId]]) -> Vec<(NodeId, NodeId)> {
    let mut out = Vec::new();
    for (gi, a) in groups.iter().enumerate() {
        for (gj, b) in groups.iter().enumerate() {
            if gi != gj {
                for &x in *a {
                    for &y in *b {
                        out.push((x, y));
                    }
                }
            }
        }
    }
    out
}

fn ring_cuts(order: &[NodeId]) -> Vec<(NodeId, NodeId)> {
    let k = order.len();
    let mut out = Vec::new();
    for i in 0..k {
        for j in 0..k {
            let d = i.abs_diff(j);
            if i != j && d != 1 && d != k - 1 {
                out.push((order[i], order[j]));
            }
        }
    }
    out
}

impl State {
    fn new<M: Message>(sim: &Sim<M>, topology: &Topology) -> Self {
        let n = sim.node_count();
        let net = sim.network();
        Self {
            n,
            pool: resolve::pool(topology),
            clients: topology.clients.clone(),
            base_default: net.default_config().clone(),
            base_links: net.overrides().clone(),
            base_cuts: net.cuts().clone(),
            cuts: BTreeMap::new(),
            links: Vec::new(),
            undo: BTreeMap::new(),
            skews: BTreeMap::new(),
            drifts: BTreeMap::new(),
            down: BTreeMap::new(),
            applied: Vec::new(),
            record: BTreeMap::new(),
        }
    }

    fn all_nodes(&self) -> Vec<NodeId> {
        (0..self.n).collect()
    }

    /// Sets every link's cut to the baseline plus the partitions in force.
    fn apply_cuts<M: Message>(&self, sim: &mut Sim<M>) {
        let mut want = self.base_cuts.clone();
        want.extend(
            self.cuts
                .values()
                .flatten()
                .copied()
                .filter(|&(a, b)| a != b),
        );
        if *sim.network().cuts() != want {
            sim.network_mut().set_cuts(want);
        }
    }

    /// Sets every link's configuration to the baseline plus the link faults
    /// in force. Faults on all links change the default; only the links of
    /// the baseline's own settings and those of faults on named nodes are
    /// computed one by one (each with every fault in force, in order, so
    /// that the latest latency wins as on any link).
    fn apply_links<M: Message>(&self, sim: &mut Sim<M>) {
        let mut default = self.base_default.clone();
        let mut named: BTreeSet<(NodeId, NodeId)> = self.base_links.keys().copied().collect();
        for (_, fault) in &self.links {
            match links_of(fault) {
                Links::All => modify(&mut default, fault),
                links => named.extend(links.each(self.n)),
            }
        }
        let mut links = BTreeMap::new();
        for (a, b) in named {
            let mut c = self
                .base_links
                .get(&(a, b))
                .unwrap_or(&self.base_default)
                .clone();
            for (_, fault) in &self.links {
                if links_of(fault).contains(a, b) {
                    modify(&mut c, fault);
                }
            }
            links.insert((a, b), c);
        }
        let net = sim.network();
        let unchanged = *net.default_config() == default
            && net.overrides().len() == links.values().filter(|c| **c != default).count()
            && net.overrides().iter().all(|(k, c)| links.get(k) == Some(c));
        if !unchanged {
            sim.network_mut().set_links(default, links);
        }
    }

    fn open(&mut self, sim_now: Nanos, i: usize, kind: &str, label: String, nodes: Vec<NodeId>) {
        self.record.insert(i, self.applied.len());
        self.applied.push(AppliedFault {
            start: sim_now,
            end: None,
            kind: kind.to_string(),
            label,
            nodes,
            action: i,
        });
    }

    fn close(&mut self, i: usize, at: Nanos) {
        if let Some(&r) = self.record.get(&i) {
            self.applied[r].end.get_or_insert(at);
        }
    }

    /// Applies action `i`; returns its duration if an end must be scheduled.
    fn apply<M: Message>(
        &mut self,
        sim: &mut Sim<M>,
        i: usize,
        action: &crate::schedule::FaultAction,
        observer: &dyn Observer<M>,
    ) -> Option<Nanos> {
        let now = sim.now();
        let fault = &action.fault;
        let kind = fault.kind();
        let duration = action.duration().filter(|_| fault.takes_duration());
        let for_ = |label: String| match action.duration_ms {
            Some(d) if fault.takes_duration() => format!("{label} for {}", ms::label(d)),
            _ => label,
        };

        if let Some(problem) = self.problem(fault) {
            let label = format!("skipped {kind}: {problem}");
            sim.note_fault(&label);
            self.open(now, i, kind, label, vec![]);
            self.close(i, now);
            return None;
        }

        // (label, nodes, what its end undoes; None: an instant action)
        let (label, nodes, undo): (String, Vec<NodeId>, Option<Undo>) = match fault {
            Fault::Partition { groups } => {
                let gs: Vec<&[NodeId]> = groups.iter().map(Vec::as_slice).collect();
                let words: Vec<String> = groups.iter().map(|g| label::nodes(g)).collect();
                self.partition(sim, i, group_cuts(&gs));
                (
                    format!("partition {}", words.join(" | ")),
                    sorted_unique(groups.iter().flatten().copied()),
                    Some(Undo::Cuts),
                )
            }
            Fault::PartitionHalves {
                groups: Some(groups),
            } => {
                let gs: Vec<&[NodeId]> = groups.iter().map(Vec::as_slice).collect();
                self.partition(sim, i, group_cuts(&gs));
                (
                    format!(
                        "partition halves {} | {}",
                        label::nodes(gs[0]),
                        label::nodes(gs[1])
                    ),
                    sorted_unique(groups.iter().flatten().copied()),
                    Some(Undo::Cuts),
                )
            }
            Fault::PartitionMajority {
                groups: Some(groups),
            } => {
                let gs: Vec<&[NodeId]> = groups.iter().map(Vec::as_slice).collect();
                self.partition(sim, i, group_cuts(&gs));
                (
                    format!(
                        "partition majority {} | minority {}",
                        label::nodes(gs[0]),
                        label::nodes(gs[1])
                    ),
                    sorted_unique(groups.iter().flatten().copied()),
                    Some(Undo::Cuts),
                )
            }
            Fault::Isolate { node: Some(x) } => {
                self.isolate(sim, i, *x);
                (
                    format!("isolate {}", label::node(*x)),
                    vec![*x],
                    Some(Undo::Cuts),
                )
            }
            Fault::IsolateLeader => match observer.leader(sim).filter(|&x| x < self.n) {
                Some(x) => {
                    self.isolate(sim, i, x);
                    (
                        format!("isolate leader {}", label::node(x)),
                        vec![x],
                        Some(Undo::Cuts),
                    )
                }
                None => (
                    "isolate leader: no leader, nothing isolated".into(),
                    vec![],
                    None,
                ),
            },
            Fault::IsolateLeaderWithClients => match observer.leader(sim).filter(|&x| x < self.n) {
                Some(x) => {
                    let mut side: Vec<NodeId> = vec![x];
                    side.extend(self.clients.iter().copied().filter(|&c| c < self.n));
                    let rest: Vec<NodeId> = self.pool.iter().copied().filter(|&n| n != x).collect();
                    self.partition(sim, i, group_cuts(&[&side, &rest]));
                    (
                        format!("isolate leader {} with the clients", label::node(x)),
                        side,
                        Some(Undo::Cuts),
                    )
                }
                None => (
                    "isolate leader with clients: no leader, nothing isolated".into(),
                    vec![],
                    None,
                ),
            },
            Fault::Bridge {
                sides: Some((a, b)),
                bridge: Some(x),
            } => {
                self.partition(sim, i, group_cuts(&[a, b]));
                (
                    format!(
                        "bridge {} between {} and {}",
                        label::node(*x),
                        label::nodes(a),
                        label::nodes(b)
                    ),
                    sorted_unique(a.iter().chain(b).copied().chain([*x])),
                    Some(Undo::Cuts),
                )
            }
            Fault::Ring { order: Some(order) } => {
                self.partition(sim, i, ring_cuts(order));
                let words: Vec<String> = order.iter().map(u32::to_string).collect();
                (
                    format!("ring {}", words.join("-")),
                    sorted_unique(order.iter().copied()),
                    Some(Undo::Cuts),
                )
            }
            Fault::OneWay {
                from: Some(from),
                to: Some(to),
            } => {
                let cuts = from
                    .iter()
                    .flat_map(|&f| to.iter().map(move |&t| (f, t)))
                    .collect();
                self.partition(sim, i, cuts);
                (
                    format!(
                        "one-way: {} unheard by {}",
                        label::nodes(from),
                        label::nodes(to)
                    ),
                    sorted_unique(from.iter().chain(to).copied()),
                    Some(Undo::Cuts),
                )
            }
            Fault::Heal => {
                let healed: Vec<usize> = self.cuts.keys().copied().collect();
                let nodes = sorted_unique(self.cuts.values().flatten().map(|&(a, _)| a));
                self.cuts.clear();
                self.apply_cuts(sim);
                for j in healed {
                    self.undo.remove(&j);
                    self.close(j, now);
                }
                ("heal all partitions".into(), nodes, None)
            }
            Fault::Delay { .. }
            | Fault::Latency { .. }
            | Fault::Loss { .. }
            | Fault::Duplicate { .. }
            | Fault::Reorder { .. }
            | Fault::Corrupt { .. } => {
                self.links.push((i, fault.clone()));
                self.apply_links(sim);
                let links = links_of(fault);
                let hit = match links {
                    Links::All => self.all_nodes(),
                    Links::Touching(ns) => sorted_unique(ns.iter().copied()),
                    Links::Directed { from, to } => {
                        sorted_unique(from.into_iter().chain(to).flatten().copied())
                    }
                };
                (
                    format!("{} on {}", link_words(fault), links.words()),
                    hit,
                    Some(Undo::Link),
                )
            }
            Fault::Crash {
                node: Some(x),
                mode,
            } => {
                let x = *x;
                let was_down = sim.status(x) == sim_core::NodeStatus::Down;
                sim.crash(x, *mode);
                let mut label = format!("crash {} ({})", label::node(x), crash_words(*mode));
                if was_down {
                    label.push_str(", already down");
                }
                if duration.is_none() {
                    self.down.entry(x).or_default().push(i);
                }
                (
                    label,
                    vec![x],
                    Some(Undo::Restart {
                        node: x,
                        wipe: false,
                    }),
                )
            }
            Fault::Restart { node, wipe } => {
                let x = *node;
                let was_up = sim.status(x) == sim_core::NodeStatus::Up;
                sim.restart(x, *wipe);
                for j in self.down.remove(&x).unwrap_or_default() {
                    self.close(j, now);
                }
                let mut label = if *wipe {
                    format!("restart {} with wiped storage", label::node(x))
                } else {
                    format!("restart {}", label::node(x))
                };
                if was_up {
                    label.push_str(" (already up: no effect)");
                }
                (label, vec![x], None)
            }
            Fault::Pause { node: Some(x) } => {
                let d = duration.unwrap_or(0);
                let label = if sim.status(*x) == sim_core::NodeStatus::Down {
                    format!("pause {} (down: no effect)", label::node(*x))
                } else {
                    format!("pause {}", label::node(*x))
                };
                sim.pause(*x, d);
                (label, vec![*x], Some(Undo::Nothing))
            }
            Fault::KillWipe { node: Some(x) } => {
                let x = *x;
                sim.crash(x, CrashMode::LoseUnsynced);
                let label = format!("kill {} and wipe its storage", label::node(x));
                if duration.is_none() {
                    sim.restart(x, true);
                    (label, vec![x], None)
                } else {
                    (
                        label,
                        vec![x],
                        Some(Undo::Restart {
                            node: x,
                            wipe: true,
                        }),
                    )
                }
            }
            Fault::ClockSkew {
                node: Some(x),
                offset_ms,
            } => {
                let x = *x;
                let skew = sim
                    .clock(x)
                    .skew(now)
                    .clamp(i64::MIN as i128, i64::MAX as i128) as i64;
                let offset = ms::to_signed_nanos(*offset_ms);
                ClockLayer::push(&mut self.skews, x, skew, i, offset);
                sim.adjust_clock(x, |c, t| c.set_offset(t, offset));
                (
                    format!("clock skew {} {:+}ms", label::node(x), offset_ms),
                    vec![x],
                    Some(Undo::Offset { node: x }),
                )
            }
            Fault::ClockDrift { node: Some(x), ppm } => {
                let x = *x;
                let before = sim.clock(x).drift_ppm();
                ClockLayer::push(&mut self.drifts, x, before, i, *ppm);
                sim.adjust_clock(x, |c, t| c.set_drift(t, *ppm));
                (
                    format!("clock drift {} {:+} ppm", label::node(x), ppm),
                    vec![x],
                    Some(Undo::Drift { node: x }),
                )
            }
            Fault::ClockJump {
                node: Some(x),
                delta_ms,
            } => {
                let delta = ms::to_signed_nanos(*delta_ms);
                sim.adjust_clock(*x, |c, t| c.jump(t, delta));
                (
                    format!("clock jump {} {:+}ms", label::node(*x), delta_ms),
                    vec![*x],
                    None,
                )
            }
            Fault::Byzantine {
                node: Some(x),
                behavior,
            } => {
                byzantine::install(sim, *x, i, behavior.clone());
                (
                    format!("byzantine {}: {}", label::node(*x), behavior.describe()),
                    vec![*x],
                    Some(Undo::Byzantine { node: *x }),
                )
            }
            // `problem` has turned away every unresolved choice.
            _ => unreachable!("unresolved actions are skipped"),
        };
        let label = if undo.is_some() { for_(label) } else { label };
        sim.note_fault(&label);
        self.open(now, i, kind, label, nodes);
        match undo {
            None => {
                self.close(i, now);
                None
            }
            Some(u) => {
                self.undo.insert(i, u);
                duration
            }
        }
    }

    /// Why action `fault` cannot be applied to this simulation, if it cannot.
    fn problem(&self, fault: &Fault) -> Option<String> {
        if let Some((field, node)) = fault.named_nodes().into_iter().find(|&(_, n)| n >= self.n) {
            return Some(format!(
                "{field}: node {node} does not exist (the simulation has {} nodes)",
                self.n
            ));
        }
        crate::validate::concrete(0, fault).err().map(|e| {
            format!(
                "{} left open",
                e.path.rsplit('.').next().unwrap_or("a choice")
            )
        })
    }

    fn partition<M: Message>(&mut self, sim: &mut Sim<M>, i: usize, cuts: Vec<(NodeId, NodeId)>) {
        self.cuts.insert(i, cuts);
        self.apply_cuts(sim);
    }

    fn isolate<M: Message>(&mut self, sim: &mut Sim<M>, i: usize, x: NodeId) {
        let rest: Vec<NodeId> = self.pool.iter().copied().filter(|&n| n != x).collect();
        self.partition(sim, i, group_cuts(&[&[x], &rest]));
    }

    /// Ends action `i` (its duration has passed).
    fn finish<M: Message>(&mut self, sim: &mut Sim<M>, i: usize) {
        let Some(undo) = self.undo.remove(&i) else {
            return; // already ended (a heal ended a partition)
        };
        match undo {
            Undo::Cuts => {
                self.cuts.remove(&i);
                self.apply_cuts(sim);
            }
            Undo::Link => {
                self.links.retain(|(j, _)| *j != i);
                self.apply_links(sim);
            }
            Undo::Restart { node, wipe } => sim.restart(node, wipe),
            Undo::Offset { node } => {
                if let Some(skew) = ClockLayer::pop(&mut self.skews, node, i) {
                    sim.adjust_clock(node, |c, t| c.set_offset(t, skew));
                }
            }
            Undo::Drift { node } => {
                if let Some(ppm) = ClockLayer::pop(&mut self.drifts, node, i) {
                    sim.adjust_clock(node, |c, t| c.set_drift(t, ppm));
                }
            }
            Undo::Byzantine { node } => byzantine::uninstall(sim, node, i),
            Undo::Nothing => {}
        }
        if let Some(&r) = self.record.get(&i) {
            let label = format!("end: {}", self.applied[r].label);
            sim.note_fault(&label);
        }
        self.close(i, sim.now());
    }
}

/// The links a link fault acts on.
#[derive(Clone, Copy)]
enum Links<'a> {
    All,
    /// Every link with an end among these nodes, both ways.
    Touching(&'a [NodeId]),
    /// The links from a node of `from` to a node of `to` (`None`: any node).
    Directed {
        from: Option<&'a [NodeId]>,
        to: Option<&'a [NodeId]>,
    },
}

impl Links<'_> {
    fn contains(self, a: NodeId, b: NodeId) -> bool {
        let among = |side: Option<&[NodeId]>, x: NodeId| side.is_none_or(|ns| ns.contains(&x));
        match self {
            Links::All => true,
            Links::Touching(ns) => ns.contains(&a) || ns.contains(&b),
            Links::Directed { from, to } => among(from, a) && among(to, b),
        }
    }

    /// Every link it names in a network of `n` nodes (not called for `All`:
    /// that changes the default link instead).
    fn each(self, n: NodeId) -> Vec<(NodeId, NodeId)> {
        let everyone: Vec<NodeId> = (0..n).collect();
        let (from, to): (&[NodeId], &[NodeId]) = match self {
            Links::All => (&everyone, &everyone),
            Links::Touching(ns) => {
                return ns
                    .iter()
                    .flat_map(|&x| (0..n).flat_map(move |y| [(x, y), (y, x)]))
                    .collect();
            }
            Links::Directed { from, to } => (from.unwrap_or(&everyone), to.unwrap_or(&everyone)),
        };
        from.iter()
            .flat_map(|&x| to.iter().map(move |&y| (x, y)))
            .collect()
    }

    fn words(self) -> String {
        match self {
            Links::All => "all links".into(),
            Links::Touching(ns) => format!("links of {}", label::nodes(ns)),
            Links::Directed {
                from: Some(f),
                to: Some(t),
            } => format!("links {} → {}", label::nodes(f), label::nodes(t)),
            Links::Directed { from: Some(f), .. } => format!("links from {}", label::nodes(f)),
            Links::Directed { to: Some(t), .. } => format!("links to {}", label::nodes(t)),
            Links::Directed { .. } => "all links".into(),
        }
    }
}

/// The links link fault `fault` acts on.
fn links_of(fault: &Fault) -> Links<'_> {
    match fault {
        Fault::Delay {
            nodes: None,
            from: from @ Some(_),
            to,
            ..
        }
        | Fault::Delay {
            nodes: None,
            from,
            to: to @ Some(_),
            ..
        } => Links::Directed {
            from: from.as_deref(),
            to: to.as_deref(),
        },
        Fault::Delay { nodes, .. }
        | Fault::Latency { nodes, .. }
        | Fault::Loss { nodes, .. }
        | Fault::Duplicate { nodes, .. }
        | Fault::Reorder { nodes, .. }
        | Fault::Corrupt { nodes, .. } => nodes.as_deref().map_or(Links::All, Links::Touching),
        _ => Links::All,
    }
}

/// Applies link fault `fault` to a link's configuration (one it acts on).
fn modify(c: &mut LinkConfig, fault: &Fault) {
    match fault {
        Fault::Delay { extra_ms, .. } => {
            c.extra_delay = c.extra_delay.saturating_add(ms::to_nanos(*extra_ms));
        }
        Fault::Latency { latency, .. } => c.latency = latency.clone(),
        Fault::Loss { rate, .. } => c.loss = combine(c.loss, *rate),
        Fault::Duplicate { rate, .. } => c.duplicate = combine(c.duplicate, *rate),
        Fault::Corrupt { rate, .. } => c.corrupt = combine(c.corrupt, *rate),
        Fault::Reorder {
            rate, window_ms, ..
        } => {
            c.reorder = combine(c.reorder, *rate);
            if let Some(w) = window_ms {
                c.reorder_window = ms::to_nanos(*w);
            }
        }
        _ => {}
    }
}

fn percent(p: f64) -> String {
    format!("{}%", (p * 1e4).round() / 1e2)
}

fn link_words(fault: &Fault) -> String {
    match fault {
        Fault::Delay { extra_ms, .. } => format!("delay +{}", ms::label(*extra_ms)),
        Fault::Latency { latency, .. } => format!("latency {latency:?}"),
        Fault::Loss { rate, .. } => format!("loss {}", percent(*rate)),
        Fault::Duplicate { rate, .. } => format!("duplicate {}", percent(*rate)),
        Fault::Reorder {
            rate, window_ms, ..
        } => match window_ms {
            Some(w) => format!("reorder {} within {}", percent(*rate), ms::label(*w)),
            None => format!("reorder {}", percent(*rate)),
        },
        Fault::Corrupt { rate, .. } => format!("corrupt {}", percent(*rate)),
        other => other.kind().to_string(),
    }
}

fn crash_words(mode: CrashMode) -> String {
    match mode {
        CrashMode::KeepUnsynced => "unsynced writes kept".into(),
        CrashMode::LoseUnsynced => "unsynced writes lost".into(),
        CrashMode::KeepFirst(n) => format!("first {n} unsynced writes kept"),
    }
}
