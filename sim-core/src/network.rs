//! The simulated network: per-link latency, loss, duplication, reordering,
//! corruption and cuts.
//!
//! Every ordered pair of nodes is a link with its own [`LinkConfig`] (stored
//! only where it differs from the default); a cut link
//! drops what is sent on it and what is in flight on it when it arrives (a
//! partition that starts while a message travels loses that message, as a real
//! one does). Cuts are one-way, so a two-way partition is two cuts.

use std::collections::{BTreeMap, BTreeSet};

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::link_counts::{Link, LinkCounts};
use crate::rng::{between, chance, standard_normal, unit};
use crate::time::{duration as dur, Nanos, MAX_MESSAGE_DELAY};

/// The distribution one message's latency is drawn from, in nanoseconds.
/// Whatever is drawn, a message's whole delay is capped at
/// [`MAX_MESSAGE_DELAY`] (one virtual hour).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    Constant {
        #[serde(with = "dur")]
        ns: Nanos,
    },
    Uniform {
        #[serde(with = "dur")]
        min: Nanos,
        #[serde(with = "dur")]
        max: Nanos,
    },
    /// Normal, truncated at `min` (latency is never below the wire's floor).
    Normal {
        #[serde(with = "dur")]
        mean: Nanos,
        #[serde(with = "dur")]
        stddev: Nanos,
        #[serde(default, with = "dur")]
        min: Nanos,
    },
    /// Log-normal with the given median and shape `sigma`, plus a floor `min`.
    LogNormal {
        #[serde(with = "dur")]
        median: Nanos,
        sigma: f64,
        #[serde(default, with = "dur")]
        min: Nanos,
    },
    /// Pareto with scale (the minimum) and shape `alpha`: a long tail.
    /// `cap` bounds a draw so one message cannot stall a run for ever.
    Pareto {
        #[serde(with = "dur")]
        scale: Nanos,
        alpha: f64,
        #[serde(default = "Latency::default_cap", with = "dur")]
        cap: Nanos,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Uniform {
            min: 500 * crate::time::MICROS,
            max: 2 * crate::time::MILLIS,
        }
    }
}

impl Latency {
    fn default_cap() -> Nanos {
        10 * crate::time::SECONDS
    }

    #[inline]
    pub fn sample(&self, rng: &mut impl RngCore) -> Nanos {
        match *self {
            Latency::Constant { ns } => ns,
            Latency::Uniform { min, max } => between(rng, min, max),
            Latency::Normal { mean, stddev, min } => {
                let x = mean as f64 + stddev as f64 * standard_normal(rng);
                // `as` saturates: a draw beyond u64 reads as u64::MAX.
                (x.max(min as f64)) as Nanos
            }
            Latency::LogNormal { median, sigma, min } => {
                let x = median as f64 * libm::exp(sigma * standard_normal(rng));
                min.saturating_add(x as Nanos)
            }
            Latency::Pareto { scale, alpha, cap } => {
                let u = 1.0 - unit(rng); // (0, 1]
                let x = scale as f64 / libm::pow(u, 1.0 / alpha.max(1e-9));
                (x.min(cap as f64)) as Nanos
            }
        }
    }

    /// Checks parameters; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Latency::Uniform { min, max } if min > max => {
                Err(format!("uniform latency: min ({min}) is above max ({max})"))
            }
            Latency::LogNormal { sigma, .. } if !(sigma.is_finite() && sigma >= 0.0) => Err(
                format!("log_normal latency: sigma must be finite and >= 0, got {sigma}"),
            ),
            Latency::Pareto { alpha, .. } if !(alpha.is_finite() && alpha > 0.0) => Err(format!(
                "pareto latency: alpha must be finite and > 0, got {alpha}"
            )),
            _ => Ok(()),
        }
    }
}

/// How one directed link treats the messages sent on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkConfig {
    pub latency: Latency,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice (the copy with its own latency).
    pub duplicate: f64,
    /// Probability that a message is held back by up to `reorder_window` extra,
    /// so that later messages overtake it.
    pub reorder: f64,
    #[serde(with = "dur")]
    pub reorder_window: Nanos,
    /// Probability that a message's content is altered in flight (see
    /// [`crate::Message::corrupt`]).
    pub corrupt: f64,
    /// Extra delay added to every message (a latency spike).
    #[serde(with = "dur")]
    pub extra_delay: Nanos,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            latency: Latency::default(),
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_window: 10 * crate::time::MILLIS,
            corrupt: 0.0,
            extra_delay: 0,
        }
    }
}

impl LinkConfig {
    /// No fault at all (no loss, reorder, duplication, corruption, extra
    /// delay): a message's fate is its latency draw and nothing else, and
    /// [`LinkConfig::fate`] would draw nothing more.
    fn is_quiet(&self) -> bool {
        self.loss <= 0.0
            && self.duplicate <= 0.0
            && self.reorder <= 0.0
            && self.corrupt <= 0.0
            && self.extra_delay == 0
    }

    pub fn validate(&self) -> Result<(), String> {
        self.latency.validate()?;
        for (name, p) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("corrupt", self.corrupt),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be a probability in [0, 1], got {p}"));
            }
        }
        Ok(())
    }
}

/// Message counts of one directed link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStats {
    pub sent: u64,
    pub delivered: u64,
    /// Lost to the loss rate, a cut, or a crashed receiver.
    pub dropped: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub corrupted: u64,
}

impl LinkStats {
    pub fn add(&mut self, other: &LinkStats) {
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.dropped += other.dropped;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
        self.corrupted += other.corrupted;
    }
}

/// The links of an `n`-node cluster, stored sparsely: one default
/// configuration, and per link only what differs from it (a setting, a cut,
/// counts of messages carried). A node costs nothing until a link of its is
/// set or carries a message, so clusters of many thousand nodes fit in memory;
/// maps are ordered, so every walk over them is deterministic.
#[derive(Debug, Clone)]
pub struct Network {
    n: usize,
    default: LinkConfig,
    /// Links whose configuration is not the default.
    overrides: BTreeMap<(u32, u32), LinkConfig>,
    cut: BTreeSet<(u32, u32)>,
    /// The counts of each link that carried a message.
    stats: LinkCounts,
    /// Every link is set as the default and the default is quiet
    /// ([`LinkConfig::is_quiet`]): a message's fate is one latency draw,
    /// with no look-up and no fault checks. Kept by every method that
    /// changes `default` or `overrides`.
    all_quiet: bool,
}

impl Network {
    pub fn new(n: usize, config: LinkConfig) -> Self {
        Self {
            n,
            all_quiet: config.is_quiet(),
            default: config,
            overrides: BTreeMap::new(),
            cut: BTreeSet::new(),
            stats: LinkCounts::default(),
        }
    }

    /// Recomputes [`Network::all_quiet`] after `default` or `overrides` changed.
    fn settings_changed(&mut self) {
        self.all_quiet = self.overrides.is_empty() && self.default.is_quiet();
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Makes room for nodes added after construction: their links start
    /// with the default configuration.
    pub(crate) fn grow(&mut self, n: usize) {
        self.n = self.n.max(n);
    }

    pub fn config(&self, from: u32, to: u32) -> &LinkConfig {
        if self.overrides.is_empty() {
            return &self.default;
        }
        self.overrides.get(&(from, to)).unwrap_or(&self.default)
    }

    /// The configuration of `from → to`, to change; the link keeps its own
    /// copy from then on.
    pub fn config_mut(&mut self, from: u32, to: u32) -> &mut LinkConfig {
        // The link gets its own entry: no longer are all links the default.
        self.all_quiet = false;
        let default = &self.default;
        self.overrides
            .entry((from, to))
            .or_insert_with(|| default.clone())
    }

    /// The configuration of every link not set otherwise.
    pub fn default_config(&self) -> &LinkConfig {
        &self.default
    }

    /// The links set otherwise than the default, in (from, to) order.
    pub fn overrides(&self) -> &BTreeMap<(u32, u32), LinkConfig> {
        &self.overrides
    }

    /// Replaces every link's configuration: `default` for all links but
    /// those of `overrides` (entries equal to the default are not kept).
    pub fn set_links(
        &mut self,
        default: LinkConfig,
        mut overrides: BTreeMap<(u32, u32), LinkConfig>,
    ) {
        overrides.retain(|_, c| *c != default);
        self.default = default;
        self.overrides = overrides;
        self.settings_changed();
    }

    /// Applies `f` to every link's configuration (visits all n² links).
    pub fn configure_all(&mut self, mut f: impl FnMut(u32, u32, &mut LinkConfig)) {
        for from in 0..self.n as u32 {
            for to in 0..self.n as u32 {
                let mut c = self.config(from, to).clone();
                f(from, to, &mut c);
                if c == self.default {
                    self.overrides.remove(&(from, to));
                } else {
                    self.overrides.insert((from, to), c);
                }
            }
        }
        self.settings_changed();
    }

    /// Cuts the link `from → to` (one-way): `to` stops hearing `from`.
    pub fn cut(&mut self, from: u32, to: u32) {
        self.cut.insert((from, to));
    }

    #[inline]
    pub fn is_cut(&self, from: u32, to: u32) -> bool {
        !self.cut.is_empty() && self.cut.contains(&(from, to))
    }

    /// The cut links, in (from, to) order.
    pub fn cuts(&self) -> &BTreeSet<(u32, u32)> {
        &self.cut
    }

    /// Makes exactly the links of `cuts` cut.
    pub fn set_cuts(&mut self, cuts: BTreeSet<(u32, u32)>) {
        self.cut = cuts;
    }

    /// Cuts both directions between every node of `a` and every node of `b`.
    pub fn partition(&mut self, a: &[u32], b: &[u32]) {
        for &x in a {
            for &y in b {
                self.cut(x, y);
                self.cut(y, x);
            }
        }
    }

    pub fn heal_link(&mut self, from: u32, to: u32) {
        self.cut.remove(&(from, to));
    }

    /// Restores every link.
    pub fn heal_all(&mut self) {
        self.cut.clear();
    }

    /// The counts of `from → to` (zero for a link that never carried anything).
    pub fn stats(&self, from: u32, to: u32) -> LinkStats {
        self.stats.get(from, to).copied().unwrap_or_default()
    }

    #[cfg(test)]
    pub(crate) fn stats_mut(&mut self, from: u32, to: u32) -> &mut LinkStats {
        self.stats.get_mut(from, to)
    }

    /// The number of the link `from → to`, which a message in flight keeps
    /// so that its delivery or drop is counted without looking the link up again.
    #[inline]
    pub(crate) fn link(&mut self, from: u32, to: u32) -> Link {
        self.stats.link(from, to)
    }

    /// The counts of the link numbered `link`.
    #[inline]
    pub(crate) fn link_stats_mut(&mut self, link: Link) -> &mut LinkStats {
        self.stats.at_mut(link)
    }

    /// Sum over all links.
    pub fn totals(&self) -> LinkStats {
        self.stats.total()
    }

    /// Per-link counts of links that carried anything, as (from, to, stats),
    /// in (from, to) order.
    pub fn busy_links(&self) -> Vec<(u32, u32, LinkStats)> {
        let mut links = self.stats.sorted();
        links.retain(|(_, _, s)| s.sent > 0);
        links
    }
}

/// What the network decided for one sent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fate {
    /// Delay of the first copy, or `None` if the message is lost.
    pub first: Option<Nanos>,
    /// Delay of a duplicate copy, if any.
    pub duplicate: Option<Nanos>,
    pub reordered: bool,
    pub corrupt: bool,
}

impl Fate {
    /// The delay of a message delivered once and unaltered, neither lost nor
    /// touched by any fault; `None` for any other fate.
    #[inline]
    pub(crate) fn untouched(&self) -> Option<Nanos> {
        match *self {
            Fate {
                first: Some(delay),
                duplicate: None,
                reordered: false,
                corrupt: false,
            } => Some(delay),
            _ => None,
        }
    }
}

impl Network {
    /// Draws the fate of one message sent `from → to`, as its link's
    /// [`LinkConfig::fate`] does, with the same draws: on a network whose
    /// links are all the quiet default, that is one latency draw, taken
    /// here without looking the link up or checking each fault's rate.
    #[inline]
    pub(crate) fn fate(&self, from: u32, to: u32, rng: &mut impl RngCore) -> Fate {
        if self.all_quiet {
            let delay = self.default.latency.sample(rng).min(MAX_MESSAGE_DELAY);
            return Fate {
                first: Some(delay),
                duplicate: None,
                reordered: false,
                corrupt: false,
            };
        }
        self.config(from, to).fate(rng)
    }
}

impl LinkConfig {
    /// Draws the fate of one message. Draws for a fault happen only when its
    /// rate is non-zero, so a quiet network's draws do not depend on which
    /// faults exist.
    pub(crate) fn fate(&self, rng: &mut impl RngCore) -> Fate {
        if chance(rng, self.loss) {
            return Fate {
                first: None,
                duplicate: None,
                reordered: false,
                corrupt: false,
            };
        }
        let mut delay = self.latency.sample(rng).saturating_add(self.extra_delay);
        let reordered = chance(rng, self.reorder);
        if reordered {
            delay = delay.saturating_add(between(rng, 1, self.reorder_window.max(1)));
        }
        let duplicate = if chance(rng, self.duplicate) {
            let copy = self.latency.sample(rng).saturating_add(self.extra_delay);
            Some(copy.min(MAX_MESSAGE_DELAY))
        } else {
            None
        };
        let delay = delay.min(MAX_MESSAGE_DELAY);
        let corrupt = chance(rng, self.corrupt);
        Fate {
            first: Some(delay),
            duplicate,
            reordered,
            corrupt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn mean_of(l: &Latency, n: usize) -> f64 {
        let mut r = stream(3, "lat");
        (0..n).map(|_| l.sample(&mut r) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn latency_distributions_have_their_shape() {
        assert_eq!(mean_of(&Latency::Constant { ns: 5 }, 10), 5.0);
        let m = mean_of(&Latency::Uniform { min: 100, max: 300 }, 20_000);
        assert!((m - 200.0).abs() < 3.0, "uniform mean {m}");
        let m = mean_of(
            &Latency::Normal {
                mean: 1000,
                stddev: 100,
                min: 0,
            },
            20_000,
        );
        assert!((m - 1000.0).abs() < 5.0, "normal mean {m}");
        // Log-normal median: half the draws below it.
        let mut r = stream(3, "ln");
        let l = Latency::LogNormal {
            median: 1000,
            sigma: 1.0,
            min: 0,
        };
        let below = (0..20_000).filter(|_| l.sample(&mut r) < 1000).count();
        assert!(
            (9_500..10_500).contains(&below),
            "log-normal below median {below}"
        );
        // Pareto: never below scale, and P(X > 2*scale) = 2^-alpha.
        let mut r = stream(3, "p");
        let l = Latency::Pareto {
            scale: 1000,
            alpha: 2.0,
            cap: u64::MAX,
        };
        let draws: Vec<u64> = (0..20_000).map(|_| l.sample(&mut r)).collect();
        assert!(draws.iter().all(|&d| d >= 1000));
        let tail = draws.iter().filter(|&&d| d > 2000).count();
        assert!((4_700..5_300).contains(&tail), "pareto tail {tail}");
    }

    #[test]
    fn links_are_stored_only_where_they_differ_from_the_default() {
        let mut net = Network::new(0, LinkConfig::default());
        net.grow(2_000);
        assert_eq!(net.len(), 2_000);
        assert!(net.overrides().is_empty() && net.cuts().is_empty());
        assert!(net.busy_links().is_empty());
        assert_eq!(net.stats(3, 1_999), LinkStats::default());
        net.config_mut(7, 8).loss = 0.5;
        assert_eq!(net.config(7, 8).loss, 0.5);
        assert_eq!(net.config(8, 7).loss, 0.0, "one direction only");
        assert_eq!(net.overrides().len(), 1);
        net.cut(1, 2);
        assert!(net.is_cut(1, 2) && !net.is_cut(2, 1));
        // Replacing the links drops entries equal to the new default.
        let lossy = LinkConfig {
            loss: 0.5,
            ..LinkConfig::default()
        };
        let mut links = BTreeMap::new();
        links.insert((7, 8), lossy.clone());
        links.insert((8, 7), LinkConfig::default());
        net.set_links(lossy.clone(), links);
        assert_eq!(net.overrides().keys().collect::<Vec<_>>(), vec![&(8, 7)]);
        assert_eq!(net.config(0, 1).loss, 0.5);
        assert_eq!(net.config(8, 7).loss, 0.0);
        // configure_all (a walk over all n² links) keeps only what differs.
        net.configure_all(|from, _, c| c.loss = if from == 0 { 0.1 } else { 0.5 });
        assert_eq!(net.overrides().len(), 2_000, "the links from node 0");
        assert!(net.overrides().keys().all(|&(from, _)| from == 0));
        // Counts, in (from, to) order.
        net.stats_mut(5, 1).sent += 1;
        net.stats_mut(2, 9).sent += 2;
        net.stats_mut(2, 3).sent += 1;
        let busy: Vec<(u32, u32)> = net.busy_links().iter().map(|l| (l.0, l.1)).collect();
        assert_eq!(busy, vec![(2, 3), (2, 9), (5, 1)]);
        assert_eq!(net.totals().sent, 4);
    }

    /// The network's fate of a message is its link's `LinkConfig::fate`,
    /// draw for draw, whether every link is the quiet default (one latency
    /// draw, taken without a look-up) or not, and however the settings got
    /// there.
    #[test]
    fn the_networks_fate_is_the_links_fate() {
        fn same_fates(net: &Network, from: u32, to: u32) {
            let (mut a, mut b) = (stream(5, "fate"), stream(5, "fate"));
            for _ in 0..200 {
                assert_eq!(
                    net.fate(from, to, &mut a),
                    net.config(from, to).fate(&mut b)
                );
            }
            assert_eq!(a.next_u64(), b.next_u64(), "as many draws");
        }
        let quiet = LinkConfig::default();
        let lossy = LinkConfig {
            loss: 1.0,
            ..LinkConfig::default()
        };
        let mut net = Network::new(4, quiet.clone());
        assert!(net.all_quiet);
        same_fates(&net, 0, 1);
        net.config_mut(0, 1).loss = 1.0;
        assert!(!net.all_quiet);
        same_fates(&net, 0, 1);
        same_fates(&net, 1, 0);
        assert_eq!(net.fate(0, 1, &mut stream(5, "x")).first, None, "lost");
        net.set_links(quiet.clone(), BTreeMap::new());
        assert!(net.all_quiet, "back to the quiet default");
        net.set_links(lossy.clone(), BTreeMap::new());
        assert!(!net.all_quiet);
        same_fates(&net, 2, 3);
        net.configure_all(|_, _, c| c.loss = 0.0);
        assert!(!net.all_quiet, "every link set otherwise than the default");
        same_fates(&net, 2, 3);
        net.set_links(quiet.clone(), BTreeMap::new());
        net.configure_all(|_, _, c| c.extra_delay = 0);
        assert!(net.all_quiet, "configure_all that changes nothing");
        for delayed in [
            LinkConfig {
                extra_delay: 1,
                ..quiet.clone()
            },
            LinkConfig {
                reorder: 0.5,
                ..quiet.clone()
            },
            LinkConfig {
                duplicate: 0.5,
                ..quiet.clone()
            },
            LinkConfig {
                corrupt: 0.5,
                ..quiet.clone()
            },
        ] {
            net.set_links(delayed, BTreeMap::new());
            assert!(!net.all_quiet);
            same_fates(&net, 1, 2);
        }
    }

    #[test]
    fn bad_parameters_are_named() {
        let e = Latency::Uniform { min: 5, max: 1 }.validate().unwrap_err();
        assert!(e.contains("min"));
        let c = LinkConfig {
            loss: 1.5,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().contains("loss"));
    }
}
