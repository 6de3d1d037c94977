//! Redlock: a distributed lock over independent lock servers, as its authors
//! describe it, run where its critics said it breaks.
//!
//! Each server holds one lock key with an owner and an expiry, judged by the
//! server's own clock (`SET key owner NX PX ttl`). A client picks a random
//! owner value, asks every server, and holds the lock if a majority granted
//! it and time is left: validity = ttl − elapsed − drift allowance, elapsed
//! measured on the client's own monotonic clock (a wall clock set back while
//! grants are in flight would make an expired lease look valid). It then works for a while and
//! releases (servers delete the key only if the owner matches). A client that
//! fails to get a majority releases what it got and retries after a random
//! back-off.
//!
//! Judged as a mutex (the `lock` model), the history shows whether two
//! clients ever held the lock at once. With a healthy network and clocks it
//! does not happen. A client paused longer than its lease (a GC pause), or a
//! server whose clock jumps forward, lets a second client in while the first
//! still believes it holds the lock — Kleppmann's 2016 critique, which a
//! sweep finds in seconds. Redlock issues no fencing token that would let the
//! resource reject the stale holder, so acquires return `null`.
//!
//! While it holds the lock a client writes to the guarded resource (the
//! lease lock's `Resource`, a node after the clients) every tenth of the
//! ttl, its last write a tenth of the ttl before it releases (so that on a
//! healthy network no write of its is still in flight when the next holder
//! starts). Its writes carry no token: there is none to carry. With
//! `options.fencing = true` the resource has nothing to compare and accepts
//! them all, so a holder paused past its lease writes between the next
//! holder's writes whatever fencing says: the `resource` verdict
//! (`checkers::fenced_writes`) catches the interleaving.
//!
//! Known-bug variants: `no-validity-check` (a client takes a majority of
//! grants as the lock even when its lease ran out while it was collecting
//! them), `wall-clock-lease` (elapsed time measured on the wall clock: a
//! client whose clock jumps back while it collects grants believes a lease
//! that expired on the servers is still valid), `no-client-timeout` (a client
//! waits for every server's answer to its lock or unlock request: one
//! request lost to a crashed server leaves it stuck for good, which the
//! liveness check catches once the faults heal).

mod driver;
pub use crate::lock_expiry::EXPIRY_PROCESS;
pub use driver::register;

use std::collections::BTreeSet;

use harness::checkers::fenced_writes::FencedWrite;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_core::{Ctx, Message, Nanos, NodeId, OpId, OpType, Process, TimerId};

use crate::lease_lock::GuardedWriteMsg;

pub const BUGS: [&str; 3] = ["no-validity-check", "wall-clock-lease", "no-client-timeout"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    pub no_validity_check: bool,
    pub wall_clock_lease: bool,
    pub no_client_timeout: bool,
}

impl Bugs {
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let [no_validity_check, wall_clock_lease, no_client_timeout] =
            crate::bug_names::switched_on("redlock", names, BUGS)?;
        Ok(Bugs {
            no_validity_check,
            wall_clock_lease,
            no_client_timeout,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LockMsg {
    /// Take the lock for `owner` for `ttl` (local) nanoseconds if it is free or expired.
    Lock {
        owner: u64,
        ttl: Nanos,
    },
    LockReply {
        owner: u64,
        granted: bool,
    },
    /// Delete the lock if `owner` holds it.
    Unlock {
        owner: u64,
    },
    UnlockReply {
        owner: u64,
        released: bool,
    },
    /// To the guarded resource: a write by the holder of the grant `owner`.
    /// Redlock has no token to put in it.
    Write {
        owner: u64,
    },
}

impl Message for LockMsg {}

impl GuardedWriteMsg for LockMsg {
    /// The network cannot alter a `LockMsg` (it drops a corrupted one).
    fn guarded_write(self, _: &mut Ctx<'_, Self>) -> Option<FencedWrite> {
        match self {
            LockMsg::Write { owner } => Some(FencedWrite {
                token: None,
                holder: owner,
            }),
            _ => None,
        }
    }
}

/// A lock server: one key, its owner, and when it expires on this server's clock.
#[derive(Default)]
pub struct Server {
    held: Option<(u64, Nanos)>,
}

impl Process for Server {
    type Msg = LockMsg;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, LockMsg>) {
        // Like Redis without persistence: a restarted server forgets its locks.
        self.held = None;
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, LockMsg>, from: NodeId, msg: LockMsg) {
        let now = ctx.now();
        if let Some((owner, expiry)) = self.held.filter(|&(_, expiry)| expiry <= now) {
            tracing::debug!(owner, expiry, "lock expired");
            self.held = None;
        }
        match msg {
            LockMsg::Lock { owner, ttl } => {
                let granted = self.held.is_none();
                if granted {
                    tracing::debug!(owner, client = from, ttl, "lock granted");
                    self.held = Some((owner, now.saturating_add(ttl)));
                }
                ctx.send(from, LockMsg::LockReply { owner, granted });
            }
            LockMsg::Unlock { owner } => {
                let released = self.held.is_some_and(|(o, _)| o == owner);
                if released {
                    tracing::debug!(owner, client = from, "lock released");
                    self.held = None;
                }
                ctx.send(from, LockMsg::UnlockReply { owner, released });
            }
            LockMsg::LockReply { .. } | LockMsg::UnlockReply { .. } | LockMsg::Write { .. } => {}
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, LockMsg>, _: u64) {}
}

/// How clients use the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub servers: Vec<NodeId>,
    /// The guarded resource a holder writes to.
    pub resource: NodeId,
    /// Lease length.
    pub ttl: Nanos,
    /// Allowance for clock drift subtracted from the validity (the
    /// algorithm's recommendation: 1% of the ttl plus a little).
    pub drift: Nanos,
    /// How long a client works while holding the lock.
    pub hold: Nanos,
    /// Give up collecting grants after this long.
    pub timeout: Nanos,
    /// Pause between attempts (randomised up to twice this).
    pub backoff: Nanos,
    pub bugs: Bugs,
}

enum Phase {
    Idle,
    Acquiring {
        op: OpId,
        /// When the first request went out, on [`Client::elapsed_clock`].
        started: Nanos,
        granted: BTreeSet<NodeId>,
        replied: BTreeSet<NodeId>,
    },
    Holding {
        /// When the holder releases, on its monotonic clock.
        release_at: Nanos,
    },
    Releasing {
        op: OpId,
        replied: BTreeSet<NodeId>,
    },
}

const TIMER_NEXT: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;
const TIMER_RELEASE: u64 = 2;
const TIMER_WRITE: u64 = 3;

/// A client that acquires, works, releases, and starts again.
pub struct Client {
    cfg: ClientConfig,
    owner: u64,
    phase: Phase,
    timeout: Option<TimerId>,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Self {
        Self {
            cfg,
            owner: 0,
            phase: Phase::Idle,
            timeout: None,
        }
    }

    fn majority(&self) -> usize {
        self.cfg.servers.len() / 2 + 1
    }

    fn backoff(&self, ctx: &mut Ctx<'_, LockMsg>) -> Nanos {
        let b = self.cfg.backoff.max(1);
        ctx.rng().random_range(b..=2 * b)
    }

    /// The clock lease validity is measured on: monotonic, or the wall
    /// clock with the `wall-clock-lease` bug.
    fn elapsed_clock(&self, ctx: &Ctx<'_, LockMsg>) -> Nanos {
        if self.cfg.bugs.wall_clock_lease {
            ctx.now()
        } else {
            ctx.monotonic_now()
        }
    }

    /// Gives up waiting for answers after the configured timeout (never, with
    /// the `no-client-timeout` bug).
    fn await_answers(&mut self, ctx: &mut Ctx<'_, LockMsg>) {
        if !self.cfg.bugs.no_client_timeout {
            self.timeout = Some(ctx.set_timer(self.cfg.timeout, TIMER_TIMEOUT));
        }
    }

    fn acquire(&mut self, ctx: &mut Ctx<'_, LockMsg>) {
        self.owner = ctx.rng().random();
        let op = ctx.invoke("acquire", None, Value::Null);
        let started = self.elapsed_clock(ctx);
        self.phase = Phase::Acquiring {
            op,
            started,
            granted: BTreeSet::new(),
            replied: BTreeSet::new(),
        };
        let msg = LockMsg::Lock {
            owner: self.owner,
            ttl: self.cfg.ttl,
        };
        ctx.send_all(self.cfg.servers.clone(), &msg);
        self.await_answers(ctx);
    }

    /// All servers answered, or time ran out: decide.
    fn decide(&mut self, ctx: &mut Ctx<'_, LockMsg>) {
        let Phase::Acquiring {
            op,
            started,
            granted,
            ..
        } = &self.phase
        else {
            return;
        };
        let elapsed = self.elapsed_clock(ctx).saturating_sub(*started);
        let validity = self
            .cfg
            .ttl
            .saturating_sub(elapsed.saturating_add(self.cfg.drift));
        let valid = validity > 0 || self.cfg.bugs.no_validity_check;
        let op = *op;
        if let Some(t) = self.timeout.take() {
            ctx.cancel_timer(t);
        }
        if granted.len() >= self.majority() && valid {
            tracing::debug!(grants = granted.len(), validity, "lock acquired");
            ctx.complete(op, OpType::Ok, Value::Null);
            // Work only while the lease is believed valid.
            let work = if self.cfg.bugs.no_validity_check {
                self.cfg.hold
            } else {
                self.cfg.hold.min(validity)
            };
            self.phase = Phase::Holding {
                release_at: ctx.monotonic_now().saturating_add(work),
            };
            ctx.set_timer(work, TIMER_RELEASE);
            self.write(ctx);
        } else {
            // Not acquired: give back what was granted, so others need not wait
            // for the lease to run out. Some grants may be unknown yet, so the
            // acquire's effect is not certain either way until they expire;
            // releasing everywhere makes "did not take effect" true.
            tracing::debug!(grants = granted.len(), validity, "lock not acquired");
            ctx.send_all(
                self.cfg.servers.clone(),
                &LockMsg::Unlock { owner: self.owner },
            );
            ctx.complete(op, OpType::Fail, Value::Null);
            self.phase = Phase::Idle;
            let wait = self.backoff(ctx);
            ctx.set_timer(wait, TIMER_NEXT);
        }
    }

    /// The time between two writes to the resource: a tenth of the ttl.
    fn write_every(&self) -> Nanos {
        (self.cfg.ttl / 10).max(1)
    }

    /// One write to the resource, and the next one [`Self::write_every`]
    /// later unless that would leave less than that before the release.
    /// The write is not preceded by a look at the clock: a client paused
    /// while its next write was due makes it when it wakes, as a process
    /// paused between its check and its write does.
    fn write(&mut self, ctx: &mut Ctx<'_, LockMsg>) {
        let Phase::Holding { release_at } = self.phase else {
            return;
        };
        ctx.send(self.cfg.resource, LockMsg::Write { owner: self.owner });
        let every = self.write_every();
        let next = ctx.monotonic_now().saturating_add(every);
        if next.saturating_add(every) <= release_at {
            ctx.set_timer(every, TIMER_WRITE);
        }
    }

    fn release(&mut self, ctx: &mut Ctx<'_, LockMsg>) {
        let op = ctx.invoke("release", None, Value::Null);
        self.phase = Phase::Releasing {
            op,
            replied: BTreeSet::new(),
        };
        ctx.send_all(
            self.cfg.servers.clone(),
            &LockMsg::Unlock { owner: self.owner },
        );
        self.await_answers(ctx);
    }

    fn released(&mut self, ctx: &mut Ctx<'_, LockMsg>, outcome: OpType) {
        let Phase::Releasing { op, .. } = &self.phase else {
            return;
        };
        tracing::debug!(?outcome, "lock given back");
        ctx.complete(*op, outcome, Value::Null);
        if let Some(t) = self.timeout.take() {
            ctx.cancel_timer(t);
        }
        self.phase = Phase::Idle;
        let wait = self.backoff(ctx);
        ctx.set_timer(wait, TIMER_NEXT);
    }
}

impl Process for Client {
    type Msg = LockMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, LockMsg>) {
        let wait = self.backoff(ctx);
        ctx.set_timer(wait, TIMER_NEXT);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, LockMsg>, from: NodeId, msg: LockMsg) {
        let servers = self.cfg.servers.len();
        match (&mut self.phase, msg) {
            (
                Phase::Acquiring {
                    granted, replied, ..
                },
                LockMsg::LockReply {
                    owner,
                    granted: yes,
                },
            ) if owner == self.owner => {
                replied.insert(from);
                if yes {
                    granted.insert(from);
                }
                if replied.len() == servers {
                    self.decide(ctx);
                }
            }
            (Phase::Releasing { replied, .. }, LockMsg::UnlockReply { owner, .. })
                if owner == self.owner =>
            {
                replied.insert(from);
                if replied.len() == servers {
                    // Whatever each server said, the lock is no longer ours anywhere.
                    self.released(ctx, OpType::Ok);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, LockMsg>, tag: u64) {
        match tag {
            TIMER_NEXT if matches!(self.phase, Phase::Idle) => self.acquire(ctx),
            TIMER_RELEASE if matches!(self.phase, Phase::Holding { .. }) => self.release(ctx),
            TIMER_WRITE => self.write(ctx),
            TIMER_TIMEOUT => {
                self.timeout = None;
                match self.phase {
                    Phase::Acquiring { .. } => self.decide(ctx),
                    // Unanswered unlocks: the lease runs out on its own.
                    Phase::Releasing { .. } => self.released(ctx, OpType::Info),
                    _ => {}
                }
            }
            _ => {}
        }
    }
}
