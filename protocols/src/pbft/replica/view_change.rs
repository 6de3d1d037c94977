//! View change: when the primary stops making progress, replicas move to
//! the next view, carrying the requests they prepared, and the new primary
//! re-proposes them so that nothing committed is lost.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::integrity::AUTH_REJECTED;
use sim_core::{Ctx, NodeId};

use super::super::msg::*;
use super::{Replica, TIMER_VIEW_CHANGE};

impl Replica {
    pub(super) fn start_view_change(&mut self, ctx: &mut Ctx<'_, PbftMsg>, view: u64) {
        if view <= self.view && self.changing {
            return;
        }
        tracing::info!(view, old_view = self.view, "view change started");
        self.view = view;
        self.changing = true;
        ctx.count(super::VIEW_CHANGES, 1);
        let prepared = self.certs.values().map(|(_, c)| c.clone()).collect();
        let vc = PbftMsg::signed(self.id, Body::ViewChange { view, prepared });
        ctx.send_all(self.others(), &vc);
        self.view_changes
            .entry(view)
            .or_default()
            .insert(self.id, vc);
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        // If this view does not start in time, try the next, waiting longer.
        self.timer = Some(ctx.set_timer(self.timeout, TIMER_VIEW_CHANGE));
        self.timeout = (self.timeout * 2).min(self.cfg.view_change_timeout * 64);
        self.try_new_view(ctx, view);
    }

    /// A certificate is valid if its pre-prepare comes from the view's primary
    /// and enough distinct backups signed matching prepares.
    pub(super) fn valid_cert(&self, cert: &Cert) -> bool {
        let check = |m: &PbftMsg| self.cfg.bugs.no_mac_check || m.authentic();
        let Body::PrePrepare { view, seq, req } = &cert.pre_prepare.body else {
            return false;
        };
        let primary = self.cfg.primary(*view);
        if cert.pre_prepare.from != primary || !check(&cert.pre_prepare) {
            return false;
        }
        if let Some(req) = req {
            if !self.cfg.bugs.no_mac_check && !req.authentic() {
                return false;
            }
        }
        let d = digest(req);
        let senders: BTreeSet<NodeId> = cert
            .prepares
            .iter()
            .filter(|p| {
                check(p)
                    && p.from != primary
                    && self.is_replica(p.from)
                    && p.body
                        == Body::Prepare {
                            view: *view,
                            seq: *seq,
                            digest: d,
                        }
            })
            .map(|p| p.from)
            .collect();
        senders.len() >= self.cfg.prepare_quorum()
    }

    /// Is `vc` a well-formed VIEW-CHANGE for `view` whose certificates all check?
    pub(super) fn valid_view_change(&self, vc: &PbftMsg, view: u64) -> bool {
        let Body::ViewChange { view: v, prepared } = &vc.body else {
            return false;
        };
        *v == view
            && self.is_replica(vc.from)
            && (self.cfg.bugs.no_mac_check || vc.authentic())
            && prepared.iter().all(|c| self.valid_cert(c))
    }

    pub(super) fn on_view_change(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let Body::ViewChange { view, .. } = msg.body else {
            return;
        };
        if view < self.view || (view == self.view && !self.changing) {
            return;
        }
        if !self.valid_view_change(&msg, view) {
            ctx.count(AUTH_REJECTED, 1);
            return;
        }
        self.view_changes
            .entry(view)
            .or_default()
            .insert(msg.from, msg);
        // f+1 replicas ask for views above ours: at least one honest replica
        // does, so join the smallest of them rather than wait for our timer.
        let ahead: BTreeSet<NodeId> = self
            .view_changes
            .range(self.view + 1..)
            .flat_map(|(_, m)| m.keys().copied())
            .collect();
        if ahead.len() > self.cfg.f() {
            let smallest = self
                .view_changes
                .range(self.view + 1..)
                .map(|(&v, _)| v)
                .next()
                .expect("non-empty");
            self.start_view_change(ctx, smallest);
        }
        self.try_new_view(ctx, view);
    }

    /// The pre-prepares a new view must carry, computed from its view-changes:
    /// at each sequence number, the request prepared in the highest view
    /// (ties, impossible with honest quorums, go to the first sender), no-ops in gaps.
    pub(super) fn proposals(view_changes: &[PbftMsg]) -> BTreeMap<u64, Option<Request>> {
        let mut best: BTreeMap<u64, (u64, Option<Request>)> = BTreeMap::new();
        for vc in view_changes {
            let Body::ViewChange { prepared, .. } = &vc.body else {
                continue;
            };
            for cert in prepared {
                if let Body::PrePrepare { view, seq, req } = &cert.pre_prepare.body {
                    if best.get(seq).is_none_or(|(v, _)| view > v) {
                        best.insert(*seq, (*view, req.clone()));
                    }
                }
            }
        }
        let max = best.keys().next_back().copied().unwrap_or(0);
        (1..=max)
            .map(|s| (s, best.remove(&s).and_then(|(_, r)| r)))
            .collect()
    }

    pub(super) fn try_new_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, view: u64) {
        if view != self.view || !self.changing || self.cfg.primary(view) != self.id {
            return;
        }
        let Some(vcs) = self.view_changes.get(&view) else {
            return;
        };
        if vcs.len() < self.cfg.quorum() || !vcs.contains_key(&self.id) {
            return;
        }
        let view_changes: Vec<PbftMsg> = vcs.values().take(self.cfg.quorum()).cloned().collect();
        let pre_prepares = Self::proposals(&view_changes)
            .into_iter()
            .map(|(seq, req)| PbftMsg::signed(self.id, Body::PrePrepare { view, seq, req }))
            .collect();
        let nv = PbftMsg::signed(
            self.id,
            Body::NewView {
                view,
                view_changes,
                pre_prepares,
            },
        );
        tracing::info!(view, "new view sent as primary");
        ctx.send_all(self.others(), &nv);
        self.enter_view(ctx, nv);
    }

    pub(super) fn on_new_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let Body::NewView {
            view,
            view_changes,
            pre_prepares,
        } = &msg.body
        else {
            return;
        };
        if *view < self.view || (*view == self.view && !self.changing) {
            return;
        }
        if msg.from != self.cfg.primary(*view) {
            return;
        }
        // The proof: 2f+1 valid view-changes from distinct replicas, and
        // exactly the pre-prepares they imply.
        let senders: BTreeSet<NodeId> = view_changes
            .iter()
            .filter(|vc| self.valid_view_change(vc, *view))
            .map(|vc| vc.from)
            .collect();
        let expected: Vec<Body> = Self::proposals(view_changes)
            .into_iter()
            .map(|(seq, req)| Body::PrePrepare {
                view: *view,
                seq,
                req,
            })
            .collect();
        let carried: Vec<&Body> = pre_prepares.iter().map(|p| &p.body).collect();
        let signed = pre_prepares
            .iter()
            .all(|p| p.from == msg.from && (self.cfg.bugs.no_mac_check || p.authentic()));
        if senders.len() < self.cfg.quorum()
            || senders.len() != view_changes.len()
            || !signed
            || carried != expected.iter().collect::<Vec<_>>()
        {
            tracing::debug!(view, primary = msg.from, "new view rejected: bad proof");
            ctx.count(AUTH_REJECTED, 1);
            return;
        }
        self.enter_view(ctx, msg);
    }

    pub(super) fn enter_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, nv: PbftMsg) {
        let Body::NewView {
            view, pre_prepares, ..
        } = nv.body
        else {
            return;
        };
        tracing::info!(view, proposals = pre_prepares.len(), "entered view");
        self.view = view;
        self.changing = false;
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        self.view_changes.retain(|&v, _| v > view);
        self.assigned.clear();
        self.next_seq = pre_prepares.len() as u64 + 1;
        for pp in pre_prepares {
            if let Body::PrePrepare { req: Some(r), .. } = &pp.body {
                self.assigned.insert((r.client, r.id));
            }
            self.accept_pre_prepare(ctx, pp);
        }
        let early = std::mem::take(&mut self.early);
        for msg in early {
            self.dispatch(ctx, msg);
        }
        if self.is_primary() {
            // Requests that were waiting in the old view get numbers now.
            let waiting: Vec<Request> = self.pending.values().cloned().collect();
            for req in waiting {
                self.assign(ctx, req);
            }
        } else {
            let primary = self.cfg.primary(view);
            for req in self.pending.values() {
                ctx.send(
                    primary,
                    PbftMsg::signed(self.id, Body::Request(req.clone())),
                );
            }
        }
        self.update_timer(ctx, true);
    }
}
