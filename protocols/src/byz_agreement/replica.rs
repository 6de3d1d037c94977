//! An agreement replica: instance after instance, rounds of propose, vote,
//! commit, decide (see the module documentation for the rules and why).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sim_core::{Ctx, Nanos, NodeId, OpId, OpType, Process, TimerId};

use super::msg::{AgreementMsg, Body, Cert};
use super::{input, is_input, Bugs};

#[derive(Debug, Clone)]
pub struct Config {
    pub replicas: Vec<NodeId>,
    pub round_timeout: Nanos,
    /// Between a decision and the next instance.
    pub pause: Nanos,
    pub bugs: Bugs,
}

impl Config {
    pub fn f(&self) -> usize {
        (self.replicas.len() - 1) / 3
    }

    pub fn quorum(&self) -> usize {
        2 * self.f() + 1
    }

    pub fn proposer(&self, instance: u64, round: u64) -> NodeId {
        self.replicas[(instance.wrapping_add(round) % self.replicas.len() as u64) as usize]
    }

    /// Whether `cert` holds 2f+1 authentic messages from distinct replicas,
    /// each `kind` (a vote or a commit, as `expected` builds it) for its
    /// (instance, round, value).
    pub fn valid_cert(
        &self,
        cert: &Cert,
        instance: u64,
        expected: fn(u64, u64, u64) -> Body,
    ) -> bool {
        let body = expected(instance, cert.round, cert.value);
        let mut signers: Vec<NodeId> = cert
            .signed
            .iter()
            .filter(|m| m.body == body && m.authentic() && self.replicas.contains(&m.from))
            .map(|m| m.from)
            .collect();
        signers.sort_unstable();
        signers.dedup();
        signers.len() >= self.quorum()
    }

    /// What proves a decision: 2f+1 commits (2f+1 votes with `one-phase`).
    fn decision_kind(&self) -> fn(u64, u64, u64) -> Body {
        if self.bugs.one_phase {
            vote
        } else {
            commit
        }
    }

    pub fn valid_decision(&self, instance: u64, proof: &Cert) -> bool {
        self.valid_cert(proof, instance, self.decision_kind())
    }
}

fn vote(instance: u64, round: u64, value: u64) -> Body {
    Body::Vote {
        instance,
        round,
        value,
    }
}

fn commit(instance: u64, round: u64, value: u64) -> Body {
    Body::Commit {
        instance,
        round,
        value,
    }
}

/// What survives a crash.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Durable {
    instance: u64,
    round: u64,
    lock: Option<Cert>,
}

const STATE_KEY: &str = "agr/state";
fn decided_key(instance: u64) -> String {
    format!("agr/decided/{instance:012}")
}

const TIMER_ROUND: u64 = 0;
const TIMER_NEXT_INSTANCE: u64 = 1;
/// Round timeouts double up to this many times the configured one.
const MAX_BACKOFF: u64 = 8;

/// Signed messages per sender and (round, value) of the current instance.
type Tally = BTreeMap<(u64, u64), BTreeMap<NodeId, AgreementMsg>>;

/// Counts `msg` (a vote or a commit for `value` in `round`) in `tally`, once
/// per sender: the certificate of the first `quorum` senders once there
/// are that many. Votes make a lock, commits a decision.
fn certify(
    tally: &mut Tally,
    quorum: usize,
    msg: AgreementMsg,
    round: u64,
    value: u64,
) -> Option<Cert> {
    let signers = tally.entry((round, value)).or_default();
    signers.entry(msg.from).or_insert(msg);
    (signers.len() >= quorum).then(|| Cert {
        round,
        value,
        signed: signers.values().take(quorum).cloned().collect(),
    })
}

pub struct Replica {
    cfg: Config,
    id: NodeId,
    instance: u64,
    round: u64,
    /// A restarted replica takes no part in rounds up to this one of the
    /// instance it recovered: it may have voted there before the crash.
    abstain_through: Option<u64>,
    op: Option<OpId>,
    voted: bool,
    committed: bool,
    proposed: bool,
    lock: Option<Cert>,
    votes: Tally,
    commits: Tally,
    /// Round changes of this instance, per round and sender.
    round_changes: BTreeMap<u64, BTreeMap<NodeId, AgreementMsg>>,
    /// The highest round each replica said it moved to.
    highest_round: BTreeMap<NodeId, u64>,
    /// Messages of the next instance, kept (bounded) until this one is decided.
    next: Vec<(NodeId, AgreementMsg)>,
    /// Every decision with its proof.
    decided: BTreeMap<u64, Cert>,
    /// The instance this replica last asked the others to prove decided.
    asked: Option<u64>,
    timer: Option<TimerId>,
    timeout: Nanos,
    /// Round changes this incarnation made, over all instances.
    round_changes_made: u64,
}

impl Replica {
    pub fn new(cfg: Config) -> Self {
        let timeout = cfg.round_timeout;
        Self {
            cfg,
            id: 0,
            instance: 0,
            round: 0,
            abstain_through: None,
            op: None,
            voted: false,
            committed: false,
            proposed: false,
            lock: None,
            votes: Tally::new(),
            commits: Tally::new(),
            round_changes: BTreeMap::new(),
            highest_round: BTreeMap::new(),
            next: Vec::new(),
            decided: BTreeMap::new(),
            asked: None,
            timer: None,
            timeout,
            round_changes_made: 0,
        }
    }

    /// The value decided in each instance.
    pub fn decisions(&self) -> impl DoubleEndedIterator<Item = (u64, u64)> + '_ {
        self.decided.iter().map(|(&k, c)| (k, c.value))
    }

    /// The proof of `instance`'s decision, if this replica decided it.
    pub fn decision(&self, instance: u64) -> Option<&Cert> {
        self.decided.get(&instance)
    }

    pub fn round_changes_made(&self) -> u64 {
        self.round_changes_made
    }

    fn abstaining(&self) -> bool {
        self.abstain_through.is_some_and(|r| self.round <= r)
    }

    fn persist(&self, ctx: &mut Ctx<'_, AgreementMsg>) {
        let state = Durable {
            instance: self.instance,
            round: self.round,
            lock: self.lock.clone(),
        };
        let bytes = serde_json::to_vec(&state).expect("plain data serializes");
        ctx.storage().write(STATE_KEY.to_string(), bytes);
        ctx.storage().sync();
    }

    fn broadcast(&self, ctx: &mut Ctx<'_, AgreementMsg>, body: Body) {
        let msg = AgreementMsg::signed(self.id, body);
        ctx.send_all(self.cfg.replicas.clone(), &msg);
    }

    fn enter_instance(&mut self, ctx: &mut Ctx<'_, AgreementMsg>, instance: u64) {
        self.instance = instance;
        self.round = 0;
        self.lock = None;
        self.abstain_through = None;
        self.clear_round();
        self.votes.clear();
        self.commits.clear();
        self.round_changes.clear();
        self.highest_round.clear();
        self.timeout = self.cfg.round_timeout;
        self.persist(ctx);
        self.invoke(ctx);
        self.start_round(ctx);
        for (from, msg) in std::mem::take(&mut self.next) {
            self.on_message(ctx, from, msg);
        }
    }

    fn invoke(&mut self, ctx: &mut Ctx<'_, AgreementMsg>) {
        let mine = input(self.instance, self.id);
        self.op = Some(ctx.invoke("propose", None, json!(mine)));
    }

    fn clear_round(&mut self) {
        self.voted = false;
        self.committed = false;
        self.proposed = false;
    }

    fn start_round(&mut self, ctx: &mut Ctx<'_, AgreementMsg>) {
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        self.timer = Some(ctx.set_timer(self.timeout, TIMER_ROUND));
        if self.round == 0 && self.cfg.proposer(self.instance, 0) == self.id && !self.abstaining() {
            self.proposed = true;
            let value = input(self.instance, self.id);
            tracing::debug!(instance = self.instance, value, "propose");
            self.broadcast(
                ctx,
                Body::Propose {
                    instance: self.instance,
                    round: 0,
                    value,
                    justification: Vec::new(),
                },
            );
        }
        self.propose_justified(ctx);
    }

    /// Moves to `round` of the current instance and says so, with the lock.
    fn advance_to(&mut self, ctx: &mut Ctx<'_, AgreementMsg>, round: u64) {
        tracing::debug!(instance = self.instance, round, "round change");
        self.round = round;
        self.round_changes_made += 1;
        self.clear_round();
        self.persist(ctx);
        self.broadcast(
            ctx,
            Body::RoundChange {
                instance: self.instance,
                round,
                lock: self.lock.clone(),
            },
        );
        self.start_round(ctx);
    }

    /// The value a proposal in round `round` must carry given its
    /// justification (`None`: any valid input), or `Err` if the
    /// justification does not hold.
    fn justified_value(
        &self,
        round: u64,
        justification: &[AgreementMsg],
    ) -> Result<Option<u64>, ()> {
        let mut senders = Vec::new();
        let mut highest: Option<&Cert> = None;
        for m in justification {
            let Body::RoundChange {
                instance,
                round: r,
                lock,
            } = &m.body
            else {
                return Err(());
            };
            if *instance != self.instance || *r != round || !m.authentic() {
                return Err(());
            }
            if let Some(cert) = lock {
                if cert.round >= round || !self.cfg.valid_cert(cert, self.instance, vote) {
                    return Err(());
                }
                if highest.is_none_or(|h| cert.round > h.round) {
                    highest = Some(cert);
                }
            }
            senders.push(m.from);
        }
        senders.sort_unstable();
        senders.dedup();
        if senders.len() < self.cfg.quorum()
            || !senders.iter().all(|s| self.cfg.replicas.contains(s))
        {
            return Err(());
        }
        Ok(highest.map(|c| c.value))
    }

    /// As the proposer of a round past 0, proposes once 2f+1 round changes are in.
    fn propose_justified(&mut self, ctx: &mut Ctx<'_, AgreementMsg>) {
        if self.round == 0
            || self.proposed
            || self.abstaining()
            || self.cfg.proposer(self.instance, self.round) != self.id
        {
            return;
        }
        let Some(changes) = self.round_changes.get(&self.round) else {
            return;
        };
        if changes.len() < self.cfg.quorum() {
            return;
        }
        let justification: Vec<AgreementMsg> =
            changes.values().take(self.cfg.quorum()).cloned().collect();
        let Ok(required) = self.justified_value(self.round, &justification) else {
            return;
        };
        let value = required.unwrap_or(input(self.instance, self.id));
        self.proposed = true;
        tracing::debug!(
            instance = self.instance,
            round = self.round,
            value,
            "propose"
        );
        self.broadcast(
            ctx,
            Body::Propose {
                instance: self.instance,
                round: self.round,
                value,
                justification,
            },
        );
    }

    fn on_propose(
        &mut self,
        ctx: &mut Ctx<'_, AgreementMsg>,
        from: NodeId,
        round: u64,
        value: u64,
        justification: &[AgreementMsg],
    ) {
        if round != self.round
            || self.voted
            || self.abstaining()
            || from != self.cfg.proposer(self.instance, round)
        {
            return;
        }
        if !self.cfg.bugs.no_validity_check
            && !is_input(self.instance, value, self.cfg.replicas.len())
        {
            ctx.count("byz_agreement.invalid_proposal", 1);
            return;
        }
        if round > 0 {
            match self.justified_value(round, justification) {
                Ok(Some(required)) if required != value => {
                    ctx.count("byz_agreement.unjustified_proposal", 1);
                    return;
                }
                Ok(_) => {}
                Err(()) => {
                    ctx.count("byz_agreement.unjustified_proposal", 1);
                    return;
                }
            }
        }
        self.voted = true;
        self.broadcast(
            ctx,
            Body::Vote {
                instance: self.instance,
                round,
                value,
            },
        );
    }

    fn on_vote(
        &mut self,
        ctx: &mut Ctx<'_, AgreementMsg>,
        msg: AgreementMsg,
        round: u64,
        value: u64,
    ) {
        let Some(cert) = certify(&mut self.votes, self.cfg.quorum(), msg, round, value) else {
            return;
        };
        if self.lock.as_ref().is_none_or(|l| l.round < round) {
            self.lock = Some(cert.clone());
            self.persist(ctx);
        }
        // A commit (or, with `one-phase`, a decision) only while still in the
        // round: a replica that has announced a later round without this
        // lock must not help decide in this one.
        if round != self.round || self.committed || self.abstaining() {
            return;
        }
        self.committed = true;
        if self.cfg.bugs.one_phase {
            return self.decide(ctx, cert);
        }
        self.broadcast(
            ctx,
            Body::Commit {
                instance: self.instance,
                round,
                value,
            },
        );
    }

    fn on_commit(
        &mut self,
        ctx: &mut Ctx<'_, AgreementMsg>,
        msg: AgreementMsg,
        round: u64,
        value: u64,
    ) {
        let proof = certify(&mut self.commits, self.cfg.quorum(), msg, round, value);
        // With `one-phase` a decision was made on votes alone.
        if let Some(proof) = proof.filter(|_| !self.cfg.bugs.one_phase) {
            self.decide(ctx, proof);
        }
    }

    fn on_round_change(&mut self, ctx: &mut Ctx<'_, AgreementMsg>, msg: AgreementMsg) {
        let Body::RoundChange { round, lock, .. } = &msg.body else {
            return;
        };
        let round = *round;
        if let Some(cert) = lock {
            if !self.cfg.valid_cert(cert, self.instance, vote) {
                return;
            }
            // A genuine certificate: holding the highest one is always safe.
            if self.lock.as_ref().is_none_or(|l| l.round < cert.round) {
                self.lock = Some(cert.clone());
                self.persist(ctx);
            }
        }
        let from = msg.from;
        let high = self.highest_round.entry(from).or_insert(0);
        *high = (*high).max(round);
        if round >= self.round {
            self.round_changes
                .entry(round)
                .or_default()
                .insert(from, msg);
        }
        // f+1 replicas past this round: at least one honest one timed out.
        let mut rounds: Vec<u64> = self.highest_round.values().copied().collect();
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(&r) = rounds.get(self.cfg.f()) {
            if r > self.round && !self.decided.contains_key(&self.instance) {
                return self.advance_to(ctx, r);
            }
        }
        self.propose_justified(ctx);
    }

    fn decide(&mut self, ctx: &mut Ctx<'_, AgreementMsg>, proof: Cert) {
        if self.decided.contains_key(&self.instance) {
            return;
        }
        let value = proof.value;
        tracing::info!(
            instance = self.instance,
            round = proof.round,
            value,
            "decided"
        );
        let bytes = serde_json::to_vec(&proof).expect("plain data serializes");
        ctx.storage().write(decided_key(self.instance), bytes);
        ctx.storage().sync();
        self.decided.insert(self.instance, proof);
        if let Some(op) = self.op.take() {
            ctx.complete(op, OpType::Ok, json!(value));
        }
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        self.timer = Some(ctx.set_timer(self.cfg.pause, TIMER_NEXT_INSTANCE));
    }

    /// A message of an instance this replica decided: a lagging sender's
    /// round change gets the decision's proof.
    fn answer_lagging(&self, ctx: &mut Ctx<'_, AgreementMsg>, from: NodeId, msg: &AgreementMsg) {
        if matches!(msg.body, Body::RoundChange { .. }) {
            self.answer(ctx, from, msg.body.instance());
        }
    }

    /// Sends `instance`'s decision and its proof to `to`, if decided here.
    fn answer(&self, ctx: &mut Ctx<'_, AgreementMsg>, to: NodeId, instance: u64) {
        if let Some(proof) = self.decided.get(&instance) {
            let answer = AgreementMsg::signed(
                self.id,
                Body::Decided {
                    instance,
                    proof: proof.clone(),
                },
            );
            ctx.send(to, answer);
        }
    }
}

impl Process for Replica {
    type Msg = AgreementMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, AgreementMsg>) {
        self.id = ctx.id();
        let decided: Vec<(u64, Cert)> = ctx
            .storage()
            .scan("agr/decided/")
            .filter_map(|(k, v)| {
                let k = k.strip_prefix("agr/decided/")?.parse().ok()?;
                Some((k, serde_json::from_slice(v).ok()?))
            })
            .collect();
        self.decided = decided.into_iter().collect();
        let recovered: Option<Durable> = ctx
            .storage()
            .read(STATE_KEY)
            .and_then(|b| serde_json::from_slice(b).ok());
        match recovered {
            None => self.enter_instance(ctx, 0),
            Some(state) if self.decided.contains_key(&state.instance) => {
                self.instance = state.instance;
                self.timer = Some(ctx.set_timer(self.cfg.pause, TIMER_NEXT_INSTANCE));
            }
            Some(state) => {
                tracing::debug!(instance = state.instance, round = state.round, "recovered");
                self.instance = state.instance;
                self.round = state.round;
                self.lock = state.lock;
                self.abstain_through = Some(state.round);
                self.invoke(ctx);
                self.start_round(ctx);
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, AgreementMsg>, from: NodeId, msg: AgreementMsg) {
        if let Body::Learn { instance } = msg.body {
            // Anyone may ask; the proof speaks for itself.
            return self.answer(ctx, from, instance);
        }
        if msg.from != from || !msg.authentic() || !self.cfg.replicas.contains(&from) {
            ctx.count("byz_agreement.auth_rejected", 1);
            return;
        }
        let instance = msg.body.instance();
        let done = self.decided.contains_key(&self.instance);
        if instance < self.instance || (instance == self.instance && done) {
            return self.answer_lagging(ctx, from, &msg);
        }
        if instance > self.instance {
            // Bounded: a Byzantine replica cannot fill it past this.
            if instance == self.instance + 1 && self.next.len() < 8 * self.cfg.replicas.len() {
                self.next.push((from, msg));
            }
            // Others are past an instance this replica has not decided: it
            // missed the commits. Ask for the proof once, instead of
            // waiting for a round timeout per instance behind.
            if !done && self.asked != Some(self.instance) {
                self.asked = Some(self.instance);
                let ask = Body::Learn {
                    instance: self.instance,
                };
                self.broadcast(ctx, ask);
            }
            return;
        }
        match msg.body.clone() {
            Body::Propose {
                round,
                value,
                justification,
                ..
            } => self.on_propose(ctx, from, round, value, &justification),
            Body::Vote { round, value, .. } => self.on_vote(ctx, msg, round, value),
            Body::Commit { round, value, .. } => self.on_commit(ctx, msg, round, value),
            Body::RoundChange { .. } => self.on_round_change(ctx, msg),
            Body::Decided { proof, .. } => {
                if self.cfg.valid_decision(instance, &proof) {
                    self.decide(ctx, proof);
                }
            }
            Body::Learn { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, AgreementMsg>, tag: u64) {
        self.timer = None;
        match tag {
            TIMER_NEXT_INSTANCE => self.enter_instance(ctx, self.instance + 1),
            _ => {
                self.timeout = (self.timeout * 2).min(self.cfg.round_timeout * MAX_BACKOFF);
                self.advance_to(ctx, self.round + 1);
            }
        }
    }
}
