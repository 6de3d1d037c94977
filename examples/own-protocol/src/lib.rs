//! A primary-backup register, tested under clustersim: the template for
//! bringing your own protocol.
//!
//! Replica 0 is the primary. A client sends its operation to the primary;
//! the primary makes a write durable, applies it, forwards it to every
//! backup (resending until each acknowledges) and answers once all have it.
//! Reads are answered by the primary from its own state. There is no
//! failover: while the primary is down or cut off, operations time out.
//!
//! Known bug `stale-reads`: clients read from any replica. A backup that
//! has not yet received a write answers with the older value, after another
//! client has already read the new one: not linearizable.
//!
//! What clustersim needs from a protocol, here:
//! - processes ([`Replica`], [`Client`]) implementing `sim_core::Process`;
//! - a driver ([`PrimaryBackup`]) that builds them from a scenario, names the
//!   leader (for leader faults) and the model the history is checked
//!   against (`cas-register`: every key is a register);
//! - [`register`], which makes the protocol known under a name.

use std::collections::{BTreeMap, BTreeSet};

use harness::sim_core::{
    Ctx, Message, NodeId, OpId, OpType, Process, Sim, TimerId, Topology, MILLIS,
};
use harness::workload::{ClientOp, WorkloadSpec};
use harness::{Driver, InputError, Registrar, Scenario};
use serde::Serialize;
use serde_json::Value;

/// The scenario files that come with this protocol (`own-clustersim list`).
pub const SCENARIOS: &[(&str, &str)] =
    &[("pb-faults", include_str!("../scenarios/pb-faults.toml"))];

/// Makes `primary-backup` and its scenarios known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "primary-backup",
        "a register on a fixed primary that waits for every backup",
        PrimaryBackup::new,
    );
    for (name, text) in SCENARIOS {
        registrar.scenario(name, text);
    }
}

#[derive(Debug, Clone, Hash, Serialize)]
pub enum PbMsg {
    /// Client to replica: run `op`; `req` tells replies to old requests apart.
    Request { req: u64, op: ClientOp },
    /// Replica to client: `value` is what a read saw (nothing for a write).
    Reply { req: u64, value: Option<u64> },
    /// Primary to backup: the write numbered `seq`.
    Replicate { seq: u64, key: u32, value: u64 },
    /// Backup to primary: write `seq` is durable here.
    Ack { seq: u64 },
}

// No corruption, equivocation or forgery offered: corrupted messages are
// dropped, Byzantine faults only drop, delay and replay.
impl Message for PbMsg {}

const PRIMARY: NodeId = 0;
const RESEND_EVERY: u64 = 20 * MILLIS;

/// A write the primary has applied and not yet seen acknowledged by every backup.
struct Pending {
    client: NodeId,
    req: u64,
    key: u32,
    value: u64,
    acked: BTreeSet<NodeId>,
}

/// A replica: the primary if it is node 0, a backup otherwise.
pub struct Replica {
    backups: Vec<NodeId>,
    /// key → (seq of the write that set it, value).
    values: BTreeMap<u32, (u64, u64)>,
    /// The last write number the primary gave out.
    seq: u64,
    pending: BTreeMap<u64, Pending>,
}

impl Replica {
    pub fn new(backups: Vec<NodeId>) -> Self {
        Self {
            backups,
            values: BTreeMap::new(),
            seq: 0,
            pending: BTreeMap::new(),
        }
    }

    /// Applies a write and makes it durable before anyone hears of it.
    fn store(&mut self, ctx: &mut Ctx<'_, PbMsg>, seq: u64, key: u32, value: u64) {
        if self.values.get(&key).is_some_and(|(s, _)| *s >= seq) {
            return; // a resend of a write already applied, or an older one
        }
        self.values.insert(key, (seq, value));
        let bytes = serde_json::to_vec(&(seq, value)).expect("two numbers serialize");
        ctx.storage().write(format!("key/{key}"), bytes);
        ctx.storage()
            .write("seq", seq.max(self.seq).to_le_bytes().to_vec());
        ctx.storage().sync();
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, PbMsg>, client: NodeId, req: u64, op: ClientOp) {
        match op {
            ClientOp::Read { key } => {
                let value = self.values.get(&key).map(|(_, v)| *v);
                ctx.send(client, PbMsg::Reply { req, value });
            }
            ClientOp::Write { key, value } if ctx.id() == PRIMARY => {
                self.seq += 1;
                let seq = self.seq;
                self.store(ctx, seq, key, value);
                self.pending.insert(
                    seq,
                    Pending {
                        client,
                        req,
                        key,
                        value,
                        acked: BTreeSet::new(),
                    },
                );
                ctx.send_all(self.backups.clone(), &PbMsg::Replicate { seq, key, value });
                self.answer_if_replicated(ctx, seq);
            }
            // A backup takes no writes, and the driver refuses a workload with
            // compare-and-set: the client times out.
            ClientOp::Write { .. } | ClientOp::Cas { .. } => {}
        }
    }

    fn answer_if_replicated(&mut self, ctx: &mut Ctx<'_, PbMsg>, seq: u64) {
        let done = self
            .pending
            .get(&seq)
            .is_some_and(|p| self.backups.iter().all(|b| p.acked.contains(b)));
        if let Some(p) = done.then(|| self.pending.remove(&seq)).flatten() {
            let reply = PbMsg::Reply {
                req: p.req,
                value: None,
            };
            ctx.send(p.client, reply);
        }
    }
}

impl Process for Replica {
    type Msg = PbMsg;

    /// Recovers what storage kept: after a restart, only the durable state.
    fn on_start(&mut self, ctx: &mut Ctx<'_, PbMsg>) {
        let storage = ctx.storage();
        for (key, bytes) in storage.scan("key/") {
            let (Some(key), Ok((seq, value))) = (
                key.strip_prefix("key/").and_then(|k| k.parse().ok()),
                serde_json::from_slice::<(u64, u64)>(bytes),
            ) else {
                continue;
            };
            self.values.insert(key, (seq, value));
        }
        if let Some(bytes) = storage.read("seq").and_then(|b| b.try_into().ok()) {
            self.seq = u64::from_le_bytes(bytes);
        }
        if ctx.id() == PRIMARY {
            ctx.set_timer(RESEND_EVERY, 0);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, PbMsg>, from: NodeId, msg: PbMsg) {
        match msg {
            PbMsg::Request { req, op } => self.on_request(ctx, from, req, op),
            PbMsg::Replicate { seq, key, value } => {
                self.store(ctx, seq, key, value);
                ctx.send(from, PbMsg::Ack { seq });
            }
            PbMsg::Ack { seq } => {
                if let Some(p) = self.pending.get_mut(&seq) {
                    p.acked.insert(from);
                }
                self.answer_if_replicated(ctx, seq);
            }
            PbMsg::Reply { .. } => {}
        }
    }

    /// The primary resends every write some backup has not acknowledged.
    fn on_timer(&mut self, ctx: &mut Ctx<'_, PbMsg>, _tag: u64) {
        for (&seq, p) in &self.pending {
            let (key, value) = (p.key, p.value);
            for &b in self.backups.iter().filter(|b| !p.acked.contains(b)) {
                ctx.send(b, PbMsg::Replicate { seq, key, value });
            }
        }
        ctx.set_timer(RESEND_EVERY, 0);
    }
}

const TIMER_NEXT_OP: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

/// A client: one operation at a time from the shared workload, each one
/// recorded in the history (invoke, then ok, fail or info).
pub struct Client {
    replicas: Vec<NodeId>,
    spec: WorkloadSpec,
    stale_reads: bool,
    req: u64,
    open: Option<(OpId, ClientOp)>,
    timeout: Option<TimerId>,
}

impl Client {
    pub fn new(replicas: Vec<NodeId>, spec: WorkloadSpec, stale_reads: bool) -> Self {
        Self {
            replicas,
            spec,
            stale_reads,
            req: 0,
            open: None,
            timeout: None,
        }
    }

    fn start(&mut self, ctx: &mut Ctx<'_, PbMsg>) {
        let op = self.spec.next_op(ctx.rng());
        let key = self.spec.history_key(&op);
        let id = ctx.invoke(op.f(), key, op.invoke_value());
        self.open = Some((id, op));
        self.req += 1;
        let to = match op {
            ClientOp::Read { .. } if self.stale_reads => {
                self.replicas[self.req as usize % self.replicas.len()]
            }
            _ => PRIMARY,
        };
        ctx.send(to, PbMsg::Request { req: self.req, op });
        self.timeout = Some(ctx.set_timer(self.spec.timeout(), TIMER_TIMEOUT));
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, PbMsg>, outcome: OpType, value: Value) {
        if let Some((id, _)) = self.open.take() {
            ctx.complete(id, outcome, value);
        }
        if let Some(t) = self.timeout.take() {
            ctx.cancel_timer(t);
        }
        ctx.set_timer(self.spec.think(), TIMER_NEXT_OP);
    }
}

impl Process for Client {
    type Msg = PbMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, PbMsg>) {
        ctx.set_timer(self.spec.think(), TIMER_NEXT_OP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, PbMsg>, _from: NodeId, msg: PbMsg) {
        let PbMsg::Reply { req, value } = msg else {
            return;
        };
        let Some((_, op)) = self.open.filter(|_| req == self.req) else {
            return; // the answer to a request that already timed out
        };
        let seen = match op {
            ClientOp::Read { .. } => value.map_or(Value::Null, Value::from),
            ClientOp::Write { value, .. } => value.into(),
            ClientOp::Cas { .. } => Value::Null,
        };
        self.finish(ctx, OpType::Ok, seen);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, PbMsg>, tag: u64) {
        match tag {
            TIMER_NEXT_OP if self.open.is_none() => self.start(ctx),
            TIMER_TIMEOUT => {
                self.timeout = None;
                // An unanswered read changed nothing; a write may have
                // reached the primary: indeterminate.
                let outcome = match self.open {
                    Some((_, ClientOp::Read { .. })) => OpType::Fail,
                    _ => OpType::Info,
                };
                self.finish(ctx, outcome, Value::Null);
            }
            _ => {}
        }
    }
}

/// How the runner builds and judges a primary-backup cluster.
pub struct PrimaryBackup {
    stale_reads: bool,
}

impl PrimaryBackup {
    /// Refuses, naming the field, what this protocol cannot run.
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let mut stale_reads = false;
        for bug in &scenario.bugs {
            match bug.as_str() {
                "stale-reads" => stale_reads = true,
                other => {
                    let message = format!("unknown bug `{other}` (known: stale-reads)");
                    return Err(scenario.error("bugs", message));
                }
            }
        }
        if scenario.workload.cas_fraction > 0.0 {
            return Err(scenario.error(
                "workload.cas_fraction",
                "primary-backup has no compare-and-set: set it to 0",
            ));
        }
        if let Some(key) = scenario.options.keys().next() {
            let field = format!("options.{key}");
            return Err(scenario.error(&field, "primary-backup takes no options"));
        }
        Ok(Self { stale_reads })
    }
}

impl Driver for PrimaryBackup {
    type Msg = PbMsg;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<PbMsg>) -> Topology {
        let replicas: Vec<NodeId> = (0..scenario.replicas).collect();
        let backups: Vec<NodeId> = replicas[1..].to_vec();
        for _ in &replicas {
            let backups = backups.clone();
            sim.add_node(move || Replica::new(backups.clone()));
        }
        let stale_reads = self.stale_reads;
        let clients = (0..scenario.workload.clients)
            .map(|_| {
                let (replicas, spec) = (replicas.clone(), scenario.workload.clone());
                sim.add_node(move || Client::new(replicas.clone(), spec.clone(), stale_reads))
            })
            .collect();
        Topology { replicas, clients }
    }

    /// The primary leads, always: faults aimed at the leader hit node 0.
    fn leader(&self, _sim: &Sim<PbMsg>) -> Option<NodeId> {
        Some(PRIMARY)
    }

    fn model(&self) -> Option<&'static str> {
        Some("cas-register")
    }
}
