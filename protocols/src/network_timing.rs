//! How slow the network is, and whether a liveness bound can be judged on it.
//!
//! A liveness check says "within this bound, something happens". The bound
//! is only fair if the network lets a message round trip fit inside the
//! protocol's own timeouts: over links that hold messages back for hundreds
//! of milliseconds (a large extra delay, a long reorder window), a correct
//! Raft's candidates time out before their votes come back, and no bound
//! stated in election timeouts can be met. Every liveness check of the crate
//! asks this module the same two questions:
//!
//! - [`round_trip`]: the slowest round trip among a set of nodes, counting
//!   the tail of the latency distribution, the extra delay and, if messages
//!   are reordered, the whole reorder window;
//! - [`judge`]: given that round trip and the protocol's shortest timeout,
//!   either a bound scaled to the network (`base + rounds · round trip +
//!   settle`) or, when the round trip does not fit twice into the timeout, no
//!   bound at all: the interval is not judged and the verdict says so.

use std::collections::BTreeSet;

use sim_core::{Latency, LinkConfig, Message, Nanos, NodeId, Sim};

/// Links losing more than this fraction of messages do not count as
/// connected: over them no timeout-based protocol promises progress.
pub const MAX_LOSS: f64 = 0.2;

/// How far into a latency distribution's tail a message is still "on time":
/// for the unbounded distributions, the quantile at three standard
/// deviations (normal), or 1 in 1000 (Pareto).
fn latency_tail(latency: &Latency) -> Nanos {
    let capped = |x: f64| -> Nanos {
        if x.is_finite() && x < u64::MAX as f64 {
            x.max(0.0) as Nanos
        } else {
            Nanos::MAX
        }
    };
    match *latency {
        Latency::Constant { ns } => ns,
        Latency::Uniform { max, .. } => max,
        Latency::Normal { mean, stddev, min } => capped(mean as f64 + 3.0 * stddev as f64).max(min),
        Latency::LogNormal { median, sigma, min } => {
            min.saturating_add(capped(median as f64 * libm::exp(3.0 * sigma)))
        }
        Latency::Pareto { scale, alpha, cap } => {
            capped(scale as f64 / libm::pow(1e-3, 1.0 / alpha.max(1e-9))).min(cap)
        }
    }
}

/// The longest a message on a link with this configuration takes, short of
/// the latency's far tail: latency tail + extra delay + (if any message is
/// reordered) the reorder window.
pub fn one_way(link: &LinkConfig) -> Nanos {
    let reorder = if link.reorder > 0.0 {
        link.reorder_window
    } else {
        0
    };
    latency_tail(&link.latency)
        .saturating_add(link.extra_delay)
        .saturating_add(reorder)
}

/// Membership in a set of nodes, for walks over the network's sparse links
/// (every link not listed there has the default configuration).
struct Members(BTreeSet<NodeId>);

impl Members {
    fn of(nodes: &[NodeId]) -> Self {
        Self(nodes.iter().copied().collect())
    }

    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    /// A link between two distinct members.
    fn holds(&self, (a, b): (NodeId, NodeId)) -> bool {
        a != b && self.0.contains(&a) && self.0.contains(&b)
    }

    /// The links between distinct members that are set otherwise than the
    /// default, in (from, to) order.
    fn overrides<'s, M: Message>(
        &'s self,
        sim: &'s Sim<M>,
    ) -> impl Iterator<Item = ((NodeId, NodeId), &'s LinkConfig)> + 's {
        sim.network()
            .overrides()
            .iter()
            .map(|(&k, c)| (k, c))
            .filter(move |&(k, _)| self.holds(k))
    }
}

/// The slowest one-way delay among the links between distinct `nodes`.
/// Walks only the links set otherwise than the default: the cost does not
/// grow with the square of the cluster.
pub fn slowest_one_way<M: Message>(sim: &Sim<M>, nodes: &[NodeId]) -> Nanos {
    let members = Members::of(nodes);
    let links = members.len() * members.len().saturating_sub(1);
    let mut overridden = 0;
    let mut worst = 0;
    for (_, c) in members.overrides(sim) {
        overridden += 1;
        worst = worst.max(one_way(c));
    }
    if overridden < links {
        worst = worst.max(one_way(sim.network().default_config()));
    }
    worst
}

/// The slowest round trip between two distinct `nodes` (there and back).
pub fn round_trip<M: Message>(sim: &Sim<M>, nodes: &[NodeId]) -> Nanos {
    let members = Members::of(nodes);
    let pairs = members.len() * members.len().saturating_sub(1) / 2;
    let net = sim.network();
    let mut touched = BTreeSet::new();
    let mut worst: Nanos = 0;
    for ((a, b), _) in members.overrides(sim) {
        if touched.insert((a.min(b), a.max(b))) {
            let there = one_way(net.config(a, b));
            let back = one_way(net.config(b, a));
            worst = worst.max(there.saturating_add(back));
        }
    }
    if (touched.len() as u64) < pairs {
        let default = one_way(net.default_config());
        worst = worst.max(default.saturating_add(default));
    }
    worst
}

/// A summary of the timing of every link between distinct `nodes` that is
/// equal for two networks exactly when each such link's [`one_way`] delay
/// is: the default's, then each link whose delay differs from it. A
/// liveness check compares it to notice that a delay fault began or ended.
pub fn timing_signature<M: Message>(sim: &Sim<M>, nodes: &[NodeId]) -> Vec<u64> {
    let members = Members::of(nodes);
    let default = one_way(sim.network().default_config());
    let mut sig = vec![default];
    for ((a, b), c) in members.overrides(sim) {
        let delay = one_way(c);
        if delay != default {
            sig.extend([u64::from(a), u64::from(b), delay]);
        }
    }
    sig
}

/// Whether a link counts as connected for liveness: not cut, and losing at
/// most [`MAX_LOSS`] of its messages.
pub fn usable<M: Message>(sim: &Sim<M>, from: NodeId, to: NodeId) -> bool {
    !sim.network().is_cut(from, to) && sim.network().config(from, to).loss <= MAX_LOSS
}

/// The links from a node of `from` to a distinct node of `to` whose
/// usability differs from the default link's, with that default first:
/// equal for two networks exactly when each such link is usable in both or
/// in neither. Walks only the cut links and the links set otherwise.
pub fn usability_signature<M: Message>(
    sim: &Sim<M>,
    from: &[NodeId],
    to: &[NodeId],
) -> (bool, BTreeSet<(NodeId, NodeId)>) {
    let (senders, receivers) = (Members::of(from), Members::of(to));
    let within =
        |(a, b): (NodeId, NodeId)| a != b && senders.0.contains(&a) && receivers.0.contains(&b);
    let net = sim.network();
    let default = net.default_config().loss <= MAX_LOSS;
    let exceptions = net
        .cuts()
        .iter()
        .copied()
        .chain(net.overrides().keys().copied())
        .filter(|&k| within(k) && usable(sim, k.0, k.1) != default)
        .collect();
    (default, exceptions)
}

/// A liveness bound against the network of one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Judge the interval: the awaited event must happen within this long.
    Within(Nanos),
    /// The round trip does not fit twice into the protocol's timeout: no
    /// correct protocol can be held to a bound here.
    TooSlow { round_trip: Nanos, timeout: Nanos },
}

/// The bound for an interval whose slowest round trip is `round_trip`:
/// `base` (stated for a fast network) plus `rounds` round trips (each of the
/// protocol's message rounds may take that much longer) plus `settle` (how
/// long messages sent before the interval, on a slower network, may still
/// arrive). `timeout` is the protocol's shortest timeout that expects an
/// answer (an election timeout, a client's request timeout): a round trip
/// above half of it is too slow to judge.
pub fn judge(base: Nanos, rounds: u64, round_trip: Nanos, settle: Nanos, timeout: Nanos) -> Bound {
    judge_awaiting(base, rounds, round_trip, settle, timeout, 2)
}

/// [`judge`] for a timeout that must hold `round_trips` round trips: two
/// for a step that awaits a quorum with room for a retry (an election, a
/// quorum read), one for a client awaiting a single replica's answer (a
/// CRDT update): a round trip above `timeout / round_trips` is too slow.
pub fn judge_awaiting(
    base: Nanos,
    rounds: u64,
    round_trip: Nanos,
    settle: Nanos,
    timeout: Nanos,
    round_trips: u64,
) -> Bound {
    if round_trip.saturating_mul(round_trips) > timeout {
        return Bound::TooSlow {
            round_trip,
            timeout,
        };
    }
    Bound::Within(
        base.saturating_add(round_trip.saturating_mul(rounds))
            .saturating_add(settle),
    )
}

/// Intervals left unjudged because the network was too slow, summarised for
/// a verdict's detail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unjudged {
    pub intervals: u64,
    /// The slowest round trip seen, and the timeout it was held against.
    pub worst: Option<(Nanos, Nanos)>,
}

impl Unjudged {
    pub fn note(&mut self, round_trip: Nanos, timeout: Nanos) {
        self.intervals += 1;
        if self.worst.is_none_or(|(rt, _)| round_trip > rt) {
            self.worst = Some((round_trip, timeout));
        }
    }

    /// "" when every interval was judged, otherwise what was left out and why.
    pub fn describe(&self) -> String {
        match self.worst {
            None => String::new(),
            Some((rt, timeout)) => format!(
                "{} interval(s) not judged: the network was too slow (round trip up to {:.1} ms \
                 against a timeout of {:.1} ms)",
                self.intervals,
                rt as f64 / 1e6,
                timeout as f64 / 1e6
            ),
        }
    }
}

/// The verdict of a liveness check that judged `judged` intervals and left
/// `unjudged` out because the network was too slow: `pass` (saying what was
/// left out), or `unknown` when nothing could be judged. A violation never
/// gets here: it stopped the run as a finding.
pub fn liveness_verdict(check: &str, judged: u64, unjudged: &Unjudged) -> harness::Verdict {
    let detail = unjudged.describe();
    if judged == 0 && unjudged.intervals > 0 {
        harness::Verdict::unknown(check, detail)
    } else {
        harness::Verdict {
            detail,
            ..harness::Verdict::pass(check)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::MILLIS;

    /// The definitions over every pair, to hold the sparse walks against.
    fn dense<M: Message>(sim: &Sim<M>, nodes: &[NodeId]) -> (Nanos, Nanos, Vec<Nanos>) {
        let (mut slowest, mut rt, mut delays) = (0, 0, Vec::new());
        for &a in nodes {
            for &b in nodes {
                if a != b {
                    let there = one_way(sim.network().config(a, b));
                    let back = one_way(sim.network().config(b, a));
                    slowest = slowest.max(there);
                    rt = rt.max(there + back);
                    delays.push(there);
                }
            }
        }
        (slowest, rt, delays)
    }

    #[test]
    fn sparse_walks_agree_with_every_pair() {
        #[derive(Debug, Clone, Hash, serde::Serialize)]
        struct Nothing;
        impl Message for Nothing {}
        struct Idle;
        impl sim_core::Process for Idle {
            type Msg = Nothing;
            fn on_start(&mut self, _: &mut sim_core::Ctx<'_, Nothing>) {}
            fn on_message(&mut self, _: &mut sim_core::Ctx<'_, Nothing>, _: NodeId, _: Nothing) {}
            fn on_timer(&mut self, _: &mut sim_core::Ctx<'_, Nothing>, _: u64) {}
        }
        let mut sim: Sim<Nothing> = Sim::new(1, LinkConfig::default());
        for _ in 0..6 {
            sim.add_node(|| Idle);
        }
        let all: Vec<NodeId> = (0..6).collect();
        let some = [1, 2, 4];
        let mut signatures = vec![];
        let mut check = |sim: &Sim<Nothing>| {
            for nodes in [&all[..], &some[..]] {
                let (slowest, rt, _) = dense(sim, nodes);
                assert_eq!(slowest_one_way(sim, nodes), slowest);
                assert_eq!(round_trip(sim, nodes), rt);
            }
            signatures.push((timing_signature(sim, &all), dense(sim, &all).2));
        };
        check(&sim);
        sim.network_mut().config_mut(1, 2).extra_delay = 50 * MILLIS;
        check(&sim);
        sim.network_mut().config_mut(2, 1).extra_delay = 70 * MILLIS;
        check(&sim);
        // Outside `some`: changes only the walk over all nodes.
        sim.network_mut().config_mut(0, 5).extra_delay = 90 * MILLIS;
        check(&sim);
        // Set, but as slow as the default: no new timing.
        sim.network_mut().config_mut(3, 4).loss = 0.5;
        check(&sim);
        // Every link of `some` slower: the default no longer counts there.
        for &a in &some {
            for &b in &some {
                if a != b {
                    sim.network_mut().config_mut(a, b).extra_delay = 10 * MILLIS;
                }
            }
        }
        check(&sim);
        // The signature changes exactly when some pair's delay does.
        for w in signatures.windows(2) {
            assert_eq!(w[0].0 == w[1].0, w[0].1 == w[1].1, "{w:?}");
        }
        let (default_usable, exceptions) = usability_signature(&sim, &all, &some);
        assert!(default_usable);
        assert_eq!(exceptions.into_iter().collect::<Vec<_>>(), vec![(3, 4)]);
        sim.network_mut().cut(0, 2);
        let (_, exceptions) = usability_signature(&sim, &all, &some);
        assert_eq!(
            exceptions.into_iter().collect::<Vec<_>>(),
            vec![(0, 2), (3, 4)]
        );
    }

    #[test]
    fn one_way_counts_the_tail_the_extra_delay_and_the_reorder_window() {
        let mut link = LinkConfig {
            latency: Latency::Uniform {
                min: MILLIS,
                max: 5 * MILLIS,
            },
            ..LinkConfig::default()
        };
        assert_eq!(one_way(&link), 5 * MILLIS);
        link.extra_delay = 100 * MILLIS;
        assert_eq!(one_way(&link), 105 * MILLIS);
        link.reorder = 0.1;
        link.reorder_window = 300 * MILLIS;
        assert_eq!(one_way(&link), 405 * MILLIS);
        link.latency = Latency::Pareto {
            scale: MILLIS,
            alpha: 1.0,
            cap: 10 * sim_core::SECONDS,
        };
        assert_eq!(one_way(&link), 1400 * MILLIS, "1 ms · 1000, plus the rest");
    }

    #[test]
    fn a_round_trip_above_half_the_timeout_is_not_judged() {
        let ms = MILLIS;
        assert_eq!(
            judge(1000 * ms, 4, 10 * ms, 0, 150 * ms),
            Bound::Within(1040 * ms)
        );
        assert_eq!(
            judge(1000 * ms, 4, 10 * ms, 7 * ms, 150 * ms),
            Bound::Within(1047 * ms)
        );
        assert_eq!(
            judge(1000 * ms, 4, 80 * ms, 0, 150 * ms),
            Bound::TooSlow {
                round_trip: 80 * ms,
                timeout: 150 * ms
            }
        );
        assert_eq!(
            judge_awaiting(1000 * ms, 4, 30 * ms, 0, 50 * ms, 1),
            Bound::Within(1120 * ms),
            "one round trip awaited: 30 ms fits into 50 ms"
        );
        assert!(matches!(
            judge(Nanos::MAX, 4, Nanos::MAX / 4, 0, Nanos::MAX),
            Bound::Within(Nanos::MAX)
        ));
    }
}
