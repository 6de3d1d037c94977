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
        self.persist_view(ctx);
        ctx.count(super::VIEW_CHANGES, 1);
        let prepared = self.certs.values().map(|(_, c)| c.clone()).collect();
        let body = Body::ViewChange {
            view,
            stable: self.stable,
            proof: self.stable_proof.clone(),
            prepared,
        };
        let vc = PbftMsg::signed(self.id, body);
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
        let Body::PrePrepare { view, seq, reqs } = &cert.pre_prepare.body else {
            return false;
        };
        let primary = self.cfg.primary(*view);
        if cert.pre_prepare.from != primary || !check(&cert.pre_prepare) {
            return false;
        }
        // Signed requests are checked here; with MAC authenticators this
        // replica may not be able to, and the 2f prepares vouch for them
        // instead (an honest backup prepares only what it authenticated or
        // what f+1 backups prepared).
        let signed_ok = self.cfg.auth == AuthMode::Macs
            || self.cfg.bugs.no_mac_check
            || reqs.iter().all(|r| r.authentic_for(self.id));
        if !signed_ok {
            return false;
        }
        let d = digest(reqs);
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

    /// Is `vc` a well-formed VIEW-CHANGE for `view` whose checkpoint proof
    /// and certificates all check?
    pub(super) fn valid_view_change(&self, vc: &PbftMsg, view: u64) -> bool {
        let Body::ViewChange {
            view: v,
            stable,
            proof,
            prepared,
        } = &vc.body
        else {
            return false;
        };
        *v == view
            && self.is_replica(vc.from)
            && (self.cfg.bugs.no_mac_check || vc.authentic())
            && (*stable == 0 || self.proven_digest(*stable, proof).is_some())
            && prepared.iter().all(|c| self.valid_cert(c))
    }

    pub(super) fn on_view_change(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let Body::ViewChange { view, .. } = msg.body else {
            return;
        };
        if view == self.view && !self.changing {
            // A replica still asking for the view we are in missed its
            // NEW-VIEW: the primary sends it again.
            if let Some(nv) = self.new_view.clone().filter(|_| self.is_primary()) {
                ctx.send(msg.from, nv);
                ctx.count(super::HELPED, 1);
            }
            return;
        }
        if view < self.view {
            return;
        }
        if !self.valid_view_change(&msg, view) {
            ctx.count(AUTH_REJECTED, 1);
            return;
        }
        // One VIEW-CHANGE per replica, its highest view: n at most.
        let from = msg.from;
        if self
            .view_changes
            .range(view + 1..)
            .any(|(_, m)| m.contains_key(&from))
        {
            return;
        }
        for m in self.view_changes.values_mut() {
            m.remove(&from);
        }
        self.view_changes.retain(|_, m| !m.is_empty());
        self.view_changes.entry(view).or_default().insert(from, msg);
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

    /// The highest stable checkpoint among `view_changes` (min-s in the
    /// paper), with the VIEW-CHANGE that proves it.
    pub(super) fn highest_checkpoint(view_changes: &[PbftMsg]) -> (u64, Option<&PbftMsg>) {
        view_changes
            .iter()
            .filter_map(|vc| match &vc.body {
                Body::ViewChange { stable, .. } => Some((*stable, Some(vc))),
                _ => None,
            })
            .max_by_key(|&(stable, _)| stable)
            .unwrap_or((0, None))
    }

    /// The pre-prepares a new view must carry, computed from its view-changes:
    /// above the highest stable checkpoint they prove, at each sequence
    /// number the request prepared in the highest view (ties, impossible with
    /// honest quorums, go to the first sender), no-ops in gaps.
    pub(super) fn proposals(view_changes: &[PbftMsg]) -> BTreeMap<u64, Vec<Request>> {
        let (low, _) = Self::highest_checkpoint(view_changes);
        let mut best: BTreeMap<u64, (u64, Vec<Request>)> = BTreeMap::new();
        for vc in view_changes {
            let Body::ViewChange { prepared, .. } = &vc.body else {
                continue;
            };
            for cert in prepared {
                if let Body::PrePrepare { view, seq, reqs } = &cert.pre_prepare.body {
                    if *seq > low && best.get(seq).is_none_or(|(v, _)| view > v) {
                        best.insert(*seq, (*view, reqs.clone()));
                    }
                }
            }
        }
        let max = best.keys().next_back().copied().unwrap_or(low);
        (low + 1..=max)
            .map(|s| (s, best.remove(&s).map(|(_, r)| r).unwrap_or_default()))
            .collect()
    }

    pub(super) fn try_new_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, view: u64) {
        if view != self.view
            || !self.changing
            || self.cfg.primary(view) != self.id
            || !self.votes_in(view)
        {
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
            .map(|(seq, reqs)| PbftMsg::signed(self.id, Body::PrePrepare { view, seq, reqs }))
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
            .map(|(seq, reqs)| Body::PrePrepare {
                view: *view,
                seq,
                reqs,
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
        self.new_view = Some(nv.clone());
        let Body::NewView {
            view,
            view_changes,
            pre_prepares,
        } = nv.body
        else {
            return;
        };
        tracing::info!(view, proposals = pre_prepares.len(), "entered view");
        self.view = view;
        self.changing = false;
        if self.wiped {
            // Nothing on disk said which views it voted in: none up to this one.
            self.wiped = false;
            self.abstain_upto = Some(view);
        }
        self.persist_view(ctx);
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        self.view_changes.retain(|&v, _| v > view);
        // Slots of earlier views are done with: what prepared there lives on
        // in `certs`, and the new view re-proposes it.
        self.log.retain(|&(v, _), _| v >= view);
        // The checkpoint the new view starts from.
        let (low, proof) = Self::highest_checkpoint(&view_changes);
        if let Some(Body::ViewChange { proof, .. }) = proof.map(|vc| &vc.body) {
            if let Some(digest) = self.proven_digest(low, proof) {
                self.adopt_stable(ctx, low, digest, proof.clone());
            }
        }
        self.assigned.clear();
        self.next_seq = low.max(self.stable) + 1;
        for pp in pre_prepares {
            if let Body::PrePrepare { seq, reqs, .. } = &pp.body {
                self.next_seq = self.next_seq.max(seq + 1);
                for r in reqs {
                    let id = self.assigned.entry(r.client).or_insert(r.id);
                    *id = (*id).max(r.id);
                }
            }
            // Checked with the NEW-VIEW's proof: re-proposals of prepared
            // batches, whose prepares vouch for their requests.
            self.accept_pre_prepare(ctx, pp, true);
        }
        let early = std::mem::take(&mut self.early);
        for msg in early {
            self.dispatch(ctx, msg);
        }
        if self.is_primary() {
            // Requests that were waiting in the old view get numbers now.
            self.propose_ready(ctx);
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
