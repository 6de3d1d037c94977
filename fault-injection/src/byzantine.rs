//! Byzantine behaviours: what a node's outgoing traffic becomes while its
//! honest process runs unchanged.
//!
//! The runner turns node N Byzantine from time T on without the protocol's
//! driver wrapping anything: [`install`] puts an [`Adversary`] into the
//! kernel's per-node send interceptor (`Sim::set_send_interceptor`, see
//! `sim_core::byzantine` for why a kernel hook and not a wrapper process).
//! Every message the node sends passes through the adversary's behaviours, in
//! the order they were switched on; what comes out is what the trace records
//! as sent. Each behaviour draws from a random stream of its own,
//! `byzantine/<node>/<action index>`, so switching one on shifts no other draw.
//!
//! The protocol's part is `Message::equivocate` and `Message::forge`. A
//! protocol that offers no variant still runs: equivocation falls back to a
//! corrupted copy (`Message::corrupt`) and, failing that, the original
//! (counted as `byzantine_no_variant`); forgery falls back to the original
//! (counted as `byzantine_forge_unsupported`).
//!
//! Counters (in the run's summary): `byzantine_muted`, `byzantine_equivocated`,
//! `byzantine_forged`, `byzantine_replayed`, `byzantine_dropped`, `byzantine_delayed`.

use std::any::Any;
use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use sim_core::byzantine::{InterceptCtx, Outgoing, SendInterceptor};
use sim_core::integrity::checksum;
use sim_core::rng::{between, chance, SimRng};
use sim_core::{Message, NodeId, Sim};

use crate::ms;

/// One Byzantine behaviour, as a schedule's `behavior = { kind = ".." }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Behavior {
    /// Sends nothing at all (a crash that keeps listening).
    Mute,
    /// Peers in `peers` get another version of each message
    /// (`Message::equivocate`); the others get the original. Every peer of
    /// `peers` gets the same variant of one message, so the cluster sees
    /// exactly two versions. Drawn (half of the other replicas) if absent.
    Equivocate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peers: Option<Vec<NodeId>>,
    },
    /// Replaces each message, with probability `rate`, by a forgery (`Message::forge`).
    Forge {
        #[serde(default = "Behavior::one")]
        rate: f64,
    },
    /// After each message, with probability `rate`, sends the same peer one
    /// of the node's last `window` messages again.
    Replay {
        #[serde(default = "Behavior::half")]
        rate: f64,
        #[serde(default = "Behavior::default_window")]
        window: u32,
    },
    /// Messages to `peers` (all peers if absent) are dropped with probability
    /// `drop`, and the others held back by `delay_ms`.
    Selective {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peers: Option<Vec<NodeId>>,
        #[serde(default)]
        drop: f64,
        #[serde(default)]
        delay_ms: f64,
    },
}

impl Behavior {
    fn one() -> f64 {
        1.0
    }
    fn half() -> f64 {
        0.5
    }
    fn default_window() -> u32 {
        32
    }

    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Behavior::Mute => "mute",
            Behavior::Equivocate { .. } => "equivocate",
            Behavior::Forge { .. } => "forge",
            Behavior::Replay { .. } => "replay",
            Behavior::Selective { .. } => "selective",
        }
    }

    /// Nodes the behaviour names.
    pub fn peers(&self) -> &[NodeId] {
        match self {
            Behavior::Equivocate { peers } | Behavior::Selective { peers, .. } => {
                peers.as_deref().unwrap_or_default()
            }
            _ => &[],
        }
    }

    /// Checks the numbers; an error names the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let rate = |field: &'static str, p: f64| {
            if (0.0..=1.0).contains(&p) {
                Ok(())
            } else {
                Err((field, format!("must be a probability in [0, 1], got {p}")))
            }
        };
        match *self {
            Behavior::Forge { rate: p } => rate("rate", p),
            Behavior::Replay { rate: p, window } => {
                rate("rate", p)?;
                if window == 0 {
                    return Err(("window", "must be at least 1".into()));
                }
                Ok(())
            }
            Behavior::Selective { drop, delay_ms, .. } => {
                rate("drop", drop)?;
                if !(delay_ms.is_finite() && delay_ms >= 0.0) {
                    return Err((
                        "delay_ms",
                        format!("must be finite and not negative, got {delay_ms}"),
                    ));
                }
                Ok(())
            }
            Behavior::Mute | Behavior::Equivocate { .. } => Ok(()),
        }
    }

    /// Words for a label.
    pub fn describe(&self) -> String {
        let set = |p: &Option<Vec<NodeId>>| match p {
            Some(p) => crate::label::nodes(p),
            None => "all peers".into(),
        };
        match self {
            Behavior::Mute => "mute".into(),
            Behavior::Equivocate { peers } => format!("equivocate to {}", set(peers)),
            Behavior::Forge { rate } => format!("forge {}% of messages", rate * 100.0),
            Behavior::Replay { rate, window } => {
                format!("replay (rate {rate}, last {window} messages)")
            }
            Behavior::Selective {
                peers,
                drop,
                delay_ms,
            } => format!(
                "to {}: drop {}%, delay {}",
                set(peers),
                drop * 100.0,
                ms::label(*delay_ms)
            ),
        }
    }
}

/// One behaviour switched on, with its state.
struct Active<M> {
    /// The schedule action that switched it on (to switch it off again).
    action: usize,
    behavior: Behavior,
    rng: SimRng,
    /// Replay: the node's last messages (destination and content).
    sent: VecDeque<M>,
    /// Equivocate: the last original's checksum and its variant, so that
    /// every peer of `peers` gets the same variant of one broadcast.
    variant: Option<(u64, M)>,
}

impl<M: Message> Active<M> {
    fn apply(&mut self, ctx: &mut InterceptCtx<'_>, o: Outgoing<M>, out: &mut Vec<Outgoing<M>>) {
        match &self.behavior {
            Behavior::Mute => ctx.count("byzantine_muted", 1),
            Behavior::Equivocate { peers } => {
                if !peers.as_deref().unwrap_or_default().contains(&o.to) {
                    out.push(o);
                    return;
                }
                let key = checksum(&o.msg);
                let variant = match &self.variant {
                    Some((k, v)) if *k == key => Some(v.clone()),
                    _ => {
                        let v = o.msg.equivocate(&mut self.rng).or_else(|| {
                            let mut c = o.msg.clone();
                            c.corrupt(&mut self.rng).then_some(c)
                        });
                        if let Some(v) = &v {
                            self.variant = Some((key, v.clone()));
                        }
                        v
                    }
                };
                match variant {
                    Some(msg) => {
                        ctx.count("byzantine_equivocated", 1);
                        out.push(Outgoing { msg, ..o });
                    }
                    None => {
                        ctx.count("byzantine_no_variant", 1);
                        out.push(o);
                    }
                }
            }
            Behavior::Forge { rate } => {
                if !chance(&mut self.rng, *rate) {
                    out.push(o);
                    return;
                }
                match o.msg.forge(&mut self.rng) {
                    Some(msg) => {
                        ctx.count("byzantine_forged", 1);
                        out.push(Outgoing { msg, ..o });
                    }
                    None => {
                        ctx.count("byzantine_forge_unsupported", 1);
                        out.push(o);
                    }
                }
            }
            Behavior::Replay { rate, window } => {
                // An old message is chosen before this one joins the window,
                // so a replay is never the message just sent.
                if !self.sent.is_empty() && chance(&mut self.rng, *rate) {
                    let i = between(&mut self.rng, 0, self.sent.len() as u64 - 1) as usize;
                    let old = self.sent[i].clone();
                    ctx.count("byzantine_replayed", 1);
                    self.remember(o.msg.clone(), *window);
                    let to = o.to;
                    out.push(o);
                    out.push(Outgoing {
                        to,
                        msg: old,
                        delay: 0,
                    });
                } else {
                    self.remember(o.msg.clone(), *window);
                    out.push(o);
                }
            }
            Behavior::Selective {
                peers,
                drop,
                delay_ms,
            } => {
                let targeted = peers.as_ref().is_none_or(|p| p.contains(&o.to));
                if !targeted {
                    out.push(o);
                } else if chance(&mut self.rng, *drop) {
                    ctx.count("byzantine_dropped", 1);
                } else {
                    let hold = ms::to_nanos(*delay_ms);
                    if hold > 0 {
                        ctx.count("byzantine_delayed", 1);
                    }
                    out.push(Outgoing {
                        delay: o.delay + hold,
                        ..o
                    });
                }
            }
        }
    }

    fn remember(&mut self, msg: M, window: u32) {
        if self.sent.len() >= window as usize {
            self.sent.pop_front();
        }
        self.sent.push_back(msg);
    }
}

/// The send interceptor of one Byzantine node: its behaviours, in the order
/// they were switched on, each applied to what the previous one emitted.
pub struct Adversary<M: Message> {
    active: Vec<Active<M>>,
    scratch: Vec<Outgoing<M>>,
}

impl<M: Message> Adversary<M> {
    /// The behaviours switched on, by schedule action index.
    pub fn behaviors(&self) -> Vec<(usize, &Behavior)> {
        self.active
            .iter()
            .map(|a| (a.action, &a.behavior))
            .collect()
    }
}

impl<M: Message> SendInterceptor<M> for Adversary<M> {
    fn intercept(
        &mut self,
        ctx: &mut InterceptCtx<'_>,
        msg: Outgoing<M>,
        out: &mut Vec<Outgoing<M>>,
    ) {
        out.push(msg);
        for active in &mut self.active {
            std::mem::swap(out, &mut self.scratch);
            for o in self.scratch.drain(..) {
                active.apply(ctx, o, out);
            }
        }
    }
}

fn adversary_mut<M: Message>(sim: &mut Sim<M>, node: NodeId) -> Option<&mut Adversary<M>> {
    let any: &mut dyn Any = sim.send_interceptor_mut(node)?;
    any.downcast_mut::<Adversary<M>>()
}

/// Switches `behavior` on for `node`, on behalf of schedule action `action`
/// (which also names its random stream). Another kind of interceptor already
/// on the node is replaced.
pub fn install<M: Message>(sim: &mut Sim<M>, node: NodeId, action: usize, behavior: Behavior) {
    let rng = sim_core::rng::stream(sim.seed(), &format!("byzantine/{node}/{action}"));
    let active = Active {
        action,
        behavior,
        rng,
        sent: VecDeque::new(),
        variant: None,
    };
    if let Some(adversary) = adversary_mut(sim, node) {
        adversary.active.push(active);
        return;
    }
    let adversary = Adversary {
        active: vec![active],
        scratch: Vec::new(),
    };
    sim.set_send_interceptor(node, Some(Box::new(adversary)));
}

/// Switches off what action `action` switched on for `node`; the node is
/// honest again when nothing is left.
pub fn uninstall<M: Message>(sim: &mut Sim<M>, node: NodeId, action: usize) {
    let Some(adversary) = adversary_mut(sim, node) else {
        return;
    };
    adversary.active.retain(|a| a.action != action);
    if adversary.active.is_empty() {
        sim.set_send_interceptor(node, None);
    }
}
