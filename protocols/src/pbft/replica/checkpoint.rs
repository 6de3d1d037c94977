//! Checkpoints, garbage collection, state transfer and what a replica keeps
//! on disk.
//!
//! Every K executed sequence numbers a replica snapshots its state and
//! multicasts CHECKPOINT(seq, digest). 2f+1 matching ones make the
//! checkpoint *stable* (at least f+1 honest replicas hold that state): the
//! low watermark h moves there and everything about sequence numbers at or
//! below it is dropped. Those 2f+1 messages are the checkpoint's proof,
//! carried in VIEW-CHANGE (a new view re-proposes only above the highest
//! proven checkpoint) and in state transfer.
//!
//! State transfer: a replica that sees a stable checkpoint it has not
//! executed (it lagged, or restarted), f+1 replicas in a view it missed
//! the start of, or waits for a request while it executed nothing for a
//! whole re-send period, asks every replica with FETCH-STATE at its next
//! re-send period. They answer with their stable checkpoint (snapshot and
//! proof; the snapshot must match the digest the proof signs), the NEW-VIEW
//! of their view (checked like any NEW-VIEW), and what they said about each
//! slot of the view they committed past the asker's last execution: one
//! honest answer suffices, and a replica that merely lags catches up without
//! blaming the primary with a view change.
//!
//! On disk (synced at each write): the view this replica last entered or
//! asked for, and its prepared certificates above h. A restarted replica
//! recovers both, so its VIEW-CHANGE still carries what it prepared; since it
//! forgot which votes it sent, it sends none in views up to the recovered one
//! (it listens, executes and fetches state meanwhile) and votes again from the
//! next view on. A wiped disk loses even that: the replica then abstains up
//! to the first view it catches up with, which is safe unless it had already
//! sent a NEW-VIEW for a later one (a wiped replica is faulty for that view).

use std::collections::BTreeMap;

use sim_core::integrity::AUTH_REJECTED;
use sim_core::{Ctx, NodeId};

use super::super::msg::*;
use super::Replica;

/// Most CHECKPOINT messages kept per sender above h (its newest): the two
/// checkpoints of the window, one past it, and one more for a lagging peer.
pub const CHECKPOINTS_PER_SENDER: usize = 4;

/// Counter: states installed from another replica's stable checkpoint.
pub const STATE_TRANSFERS: &str = "pbft.state_transfers";

const VIEW_KEY: &str = "pbft/view";
const CERT_PREFIX: &str = "pbft/cert/";

fn cert_key(seq: u64) -> String {
    format!("{CERT_PREFIX}{seq:020}")
}

impl Replica {
    // ---- checkpoints

    /// After executing `seq` (a multiple of K): snapshot, announce, count our own.
    pub(super) fn take_checkpoint(&mut self, ctx: &mut Ctx<'_, PbftMsg>, seq: u64) {
        let snapshot = Snapshot {
            store: self.store.clone(),
            last_reply: self.last_reply.clone(),
        };
        let digest = snapshot.digest();
        self.snapshots.insert(seq, snapshot);
        let msg = PbftMsg::signed(self.id, Body::Checkpoint { seq, digest });
        ctx.send_all(self.others(), &msg);
        self.record_checkpoint(ctx, msg);
    }

    pub(super) fn on_checkpoint(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        if matches!(msg.body, Body::Checkpoint { seq, .. } if seq > self.stable) {
            self.record_checkpoint(ctx, msg);
        }
    }

    /// Keeps a CHECKPOINT vote (at most [`CHECKPOINTS_PER_SENDER`] per
    /// sender, its newest) and sees whether its checkpoint became stable.
    fn record_checkpoint(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let Body::Checkpoint { seq, .. } = msg.body else {
            return;
        };
        let from = msg.from;
        self.checkpoint_votes
            .entry(seq)
            .or_default()
            .insert(from, msg);
        let mine: Vec<u64> = self
            .checkpoint_votes
            .iter()
            .filter(|(_, votes)| votes.contains_key(&from))
            .map(|(&s, _)| s)
            .collect();
        if mine.len() > CHECKPOINTS_PER_SENDER {
            let oldest = mine[0];
            let votes = self.checkpoint_votes.get_mut(&oldest).expect("listed");
            votes.remove(&from);
            if votes.is_empty() {
                self.checkpoint_votes.remove(&oldest);
            }
        }
        let Some(votes) = self.checkpoint_votes.get(&seq) else {
            return;
        };
        let proof: Vec<PbftMsg> = votes.values().cloned().collect();
        if let Some(digest) = self.proven_digest(seq, &proof) {
            self.adopt_stable(ctx, seq, digest, proof);
        }
    }

    /// The digest that 2f+1 distinct replicas sign in CHECKPOINT messages
    /// for `seq` among `proof`, if any.
    pub(super) fn proven_digest(&self, seq: u64, proof: &[PbftMsg]) -> Option<u64> {
        let mut by_digest: BTreeMap<u64, Vec<NodeId>> = BTreeMap::new();
        for m in proof {
            let Body::Checkpoint { seq: s, digest } = m.body else {
                continue;
            };
            let signed = self.cfg.bugs.no_mac_check || m.authentic();
            let senders = by_digest.entry(digest).or_default();
            if s == seq && signed && self.is_replica(m.from) && !senders.contains(&m.from) {
                senders.push(m.from);
            }
        }
        by_digest
            .into_iter()
            .find(|(_, senders)| senders.len() >= self.cfg.quorum())
            .map(|(digest, _)| digest)
    }

    /// A proven checkpoint `seq`: stable here if this replica holds that
    /// state, otherwise the state to fetch.
    pub(super) fn adopt_stable(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        seq: u64,
        digest: u64,
        proof: Vec<PbftMsg>,
    ) {
        if seq <= self.stable {
            return;
        }
        if self
            .snapshots
            .get(&seq)
            .is_some_and(|s| s.digest() == digest)
        {
            self.make_stable(ctx, seq, proof);
        } else if seq > self.last_exec && self.behind.as_ref().is_none_or(|(b, _)| seq > *b) {
            self.behind = Some((seq, proof));
        }
    }

    /// Moves h to `seq` and drops everything at or below it.
    fn make_stable(&mut self, ctx: &mut Ctx<'_, PbftMsg>, seq: u64, proof: Vec<PbftMsg>) {
        self.stable = seq;
        self.stable_proof = proof;
        self.log.retain(|&(_, s), _| s > seq);
        let dropped: Vec<u64> = self.certs.range(..=seq).map(|(&s, _)| s).collect();
        for s in dropped {
            self.certs.remove(&s);
            ctx.storage().delete(&cert_key(s));
        }
        ctx.storage().sync();
        self.committed.retain(|&s, _| s > seq);
        // Executed digests stay for two windows below h, so that the
        // agreement check sees every execution before it is dropped (a
        // replica executes at most a window past its previous h at once).
        let keep_from = seq.saturating_sub(2 * self.cfg.window());
        self.executed.retain(|&s, _| s > keep_from);
        self.snapshots.retain(|&s, _| s >= seq);
        self.checkpoint_votes.retain(|&s, _| s > seq);
        if self.behind.as_ref().is_some_and(|(b, _)| *b <= seq) {
            self.behind = None;
        }
        // The window moved: the primary proposes what waited for it.
        if self.is_primary() {
            self.propose_ready(ctx);
        }
    }

    /// Sends again this replica's newest checkpoint that is not stable yet
    /// (a lost CHECKPOINT would hold h, and so the window, where it is).
    pub(super) fn resend_checkpoint(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let Some((&seq, snapshot)) = self.snapshots.range(self.stable + 1..).next_back() else {
            return;
        };
        let digest = snapshot.digest();
        let msg = PbftMsg::signed(self.id, Body::Checkpoint { seq, digest });
        ctx.send_all(self.others(), &msg);
        ctx.count(super::RESENT, 1);
    }

    // ---- state transfer

    /// f+1 replicas showed normal-case traffic of a view past ours (or of the
    /// view we are changing to): at least one honest replica entered it.
    fn missed_a_view(&self) -> bool {
        let ahead = self
            .peer_views
            .values()
            .filter(|&&v| v > self.view || (v == self.view && self.changing))
            .count();
        ahead > self.cfg.f()
    }

    /// The view whose NEW-VIEW this replica has entered (as far as it knows).
    fn entered_view(&self) -> u64 {
        if self.changing {
            self.view.saturating_sub(1)
        } else {
            self.view
        }
    }

    pub(super) fn fetch_if_behind(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let lagging = self
            .behind
            .as_ref()
            .is_some_and(|(seq, _)| *seq > self.last_exec);
        let stalled = self.waiting() && self.last_exec == self.exec_at_last_tick;
        self.exec_at_last_tick = self.last_exec;
        if lagging || stalled || self.missed_a_view() {
            self.fetch_state(ctx);
        }
    }

    fn fetch_state(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let body = Body::FetchState {
            last_exec: self.last_exec,
            view: self.entered_view(),
        };
        ctx.send_all(self.others(), &PbftMsg::signed(self.id, body));
        ctx.count(super::RESENT, 1);
    }

    pub(super) fn on_fetch_state(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        from: NodeId,
        last_exec: u64,
        view: u64,
    ) {
        let checkpoint = (self.stable > last_exec)
            .then(|| {
                self.snapshots
                    .get(&self.stable)
                    .map(|snapshot| StableCheckpoint {
                        seq: self.stable,
                        snapshot: snapshot.clone(),
                        proof: self.stable_proof.clone(),
                    })
            })
            .flatten();
        let new_view = (!self.changing && self.view > view)
            .then(|| self.new_view.clone().map(Box::new))
            .flatten();
        if checkpoint.is_some() || new_view.is_some() {
            let body = Body::State {
                checkpoint,
                new_view,
            };
            ctx.send(from, PbftMsg::signed(self.id, body));
        }
        if !self.changing && self.view == view {
            // Slots of our view the asker has not executed and we committed.
            let first = last_exec.max(self.stable) + 1;
            let seqs: Vec<u64> = self
                .log
                .range((view, first)..(view + 1, 0))
                .filter(|(_, slot)| slot.committed)
                .map(|(&(_, seq), _)| seq)
                .collect();
            for seq in seqs {
                self.help(ctx, from, view, seq);
            }
        }
    }

    pub(super) fn on_state(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        checkpoint: Option<StableCheckpoint>,
        new_view: Option<Box<PbftMsg>>,
    ) {
        if let Some(cp) = checkpoint {
            if cp.seq > self.last_exec {
                if self.proven_digest(cp.seq, &cp.proof) == Some(cp.snapshot.digest()) {
                    self.install(ctx, cp);
                } else {
                    ctx.count(AUTH_REJECTED, 1);
                }
            }
        }
        if let Some(nv) = new_view {
            if self.cfg.bugs.no_mac_check || nv.authentic() {
                self.on_new_view(ctx, *nv);
            } else {
                ctx.count(AUTH_REJECTED, 1);
            }
        }
    }

    /// Takes a stable checkpoint's state as this replica's own.
    fn install(&mut self, ctx: &mut Ctx<'_, PbftMsg>, cp: StableCheckpoint) {
        ctx.count(STATE_TRANSFERS, 1);
        self.store = cp.snapshot.store.clone();
        self.last_reply = cp.snapshot.last_reply.clone();
        self.last_exec = cp.seq;
        // What ran below the checkpoint ran elsewhere: nothing to compare.
        self.executed.clear();
        self.snapshots.insert(cp.seq, cp.snapshot);
        self.make_stable(ctx, cp.seq, cp.proof);
        let done: Vec<NodeId> = self
            .pending
            .values()
            .filter(|r| self.done(r))
            .map(|r| r.client)
            .collect();
        for client in done {
            self.pending.remove(&client);
        }
        self.execute(ctx);
        self.update_timer(ctx, true);
    }

    // ---- persistence

    /// Called whenever `self.view` changes.
    pub(super) fn persist_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        ctx.storage()
            .write(VIEW_KEY, self.view.to_le_bytes().to_vec());
        ctx.storage().sync();
    }

    pub(super) fn persist_cert(
        &mut self,
        ctx: &mut Ctx<'_, PbftMsg>,
        seq: u64,
        view: u64,
        cert: &Cert,
    ) {
        let bytes = serde_json::to_vec(&(view, cert)).expect("a certificate serializes");
        ctx.storage().write(cert_key(seq), bytes);
        ctx.storage().sync();
    }

    /// At start: the view and certificates from disk; after a restart, ask
    /// the others for their stable checkpoint and view.
    pub(super) fn recover(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let restarted = ctx.incarnation() > 0;
        let view = ctx
            .storage()
            .read(VIEW_KEY)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes);
        match view {
            Some(v) => {
                self.view = v;
                self.abstain_upto = Some(v);
            }
            None if restarted => {
                self.wiped = true;
                self.abstain_upto = Some(0);
            }
            None => self.persist_view(ctx),
        }
        for (_, bytes) in ctx.storage().scan(CERT_PREFIX) {
            if let Ok((view, cert)) = serde_json::from_slice::<(u64, Cert)>(bytes) {
                if let Body::PrePrepare { seq, .. } = cert.pre_prepare.body {
                    self.certs.insert(seq, (view, cert));
                }
            }
        }
        if restarted {
            self.fetch_state(ctx);
        }
    }
}
