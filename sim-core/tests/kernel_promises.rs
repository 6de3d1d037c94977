//! One test per promise of the kernel contract (see DESIGN.md, "The kernel contract").

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use serde_json::json;
use sim_core::*;

#[derive(Debug, Clone, Hash, Serialize)]
struct Ping(u64);
impl Message for Ping {}

type Log = Rc<RefCell<Vec<String>>>;
type StartFn = Rc<dyn Fn(&mut Ctx<'_, Ping>)>;
type TimerFn = Rc<dyn Fn(&mut Ctx<'_, Ping>, u64)>;

/// A process whose reactions are given by closures, logging what it sees.
struct Probe {
    log: Log,
    on_start: StartFn,
    on_timer: TimerFn,
}

impl Process for Probe {
    type Msg = Ping;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Ping>) {
        (self.on_start)(ctx);
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Ping>, from: NodeId, msg: Ping) {
        let line = format!(
            "n{} got {} from n{} at {}",
            ctx.id(),
            msg.0,
            from,
            ctx.now()
        );
        self.log.borrow_mut().push(line);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Ping>, tag: u64) {
        let line = format!("n{} timer {} at {}", ctx.id(), tag, ctx.now());
        self.log.borrow_mut().push(line);
        (self.on_timer)(ctx, tag);
    }
}

fn probe(
    log: &Log,
    on_start: impl Fn(&mut Ctx<'_, Ping>) + 'static,
    on_timer: impl Fn(&mut Ctx<'_, Ping>, u64) + 'static,
) -> impl Fn() -> Probe + 'static {
    let log = log.clone();
    let on_start: StartFn = Rc::new(on_start);
    let on_timer: TimerFn = Rc::new(on_timer);
    move || Probe {
        log: log.clone(),
        on_start: on_start.clone(),
        on_timer: on_timer.clone(),
    }
}

fn idle(log: &Log) -> impl Fn() -> Probe + 'static {
    probe(log, |_| {}, |_, _| {})
}

fn constant(ns: Nanos) -> LinkConfig {
    LinkConfig {
        latency: Latency::Constant { ns },
        ..Default::default()
    }
}

/// The third word of each log line (the tag or the ping's payload).
fn third_words(log: &Log) -> Vec<String> {
    log.borrow()
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap().to_string())
        .collect()
}

#[test]
fn equal_times_run_in_scheduling_order() {
    let log = Log::default();
    let mut sim = Sim::new(1, constant(100));
    sim.add_node(probe(
        &log,
        |ctx| {
            for tag in [5, 3, 9, 1] {
                ctx.set_timer(1_000, tag);
            }
        },
        |_, _| {},
    ));
    sim.run_until(SECONDS);
    assert_eq!(third_words(&log), ["5", "3", "9", "1"]);
}

#[test]
fn messages_sent_at_one_instant_with_equal_latency_arrive_in_send_order() {
    let log = Log::default();
    let mut sim = Sim::new(1, constant(100));
    let receiver = sim.add_node(idle(&log));
    sim.add_node(probe(
        &log,
        move |ctx| {
            for i in 0..5 {
                ctx.send(receiver, Ping(i));
            }
        },
        |_, _| {},
    ));
    sim.run_until(SECONDS);
    assert_eq!(third_words(&log), ["0", "1", "2", "3", "4"]);
}

#[test]
fn a_process_sees_its_clock_offset_drift_and_jump_but_true_time_does_not_move() {
    let log = Log::default();
    let mut sim = Sim::new(1, constant(100));
    let n = sim.add_node(probe(
        &log,
        |ctx| {
            ctx.set_timer(1_000_000, 0);
        },
        |ctx, tag| {
            if tag < 3 {
                ctx.set_timer(1_000_000, tag + 1);
            }
        },
    ));
    sim.run_until(0);
    sim.adjust_clock(n, |c, now| c.set_offset(now, 5_000_000));
    assert_eq!(sim.local_time(n), 5_000_000);
    assert_eq!(sim.now(), 0, "true time is not moved by a skew");
    sim.run_until(2_000_000);
    // 10% fast from true 2 ms on.
    sim.adjust_clock(n, |c, now| c.set_drift(now, 100_000));
    sim.run_until(3_500_000);
    sim.adjust_clock(n, |c, now| c.jump(now, -2_000_000));
    sim.run_until(10_000_000);
    let lines = log.borrow().clone();
    assert_eq!(
        lines[0], "n0 timer 0 at 6000000",
        "offset seen by the process"
    );
    assert_eq!(lines[1], "n0 timer 1 at 7000000");
    assert_eq!(
        lines[2], "n0 timer 2 at 8100000",
        "drift: 1 ms true = 1.1 ms local"
    );
    // Timer 3 was set at local 8.1 ms for 1 ms local (0.909 ms true); a 2 ms
    // backwards jump at true 3.5 ms happened meanwhile.
    let local: u64 = lines[3].rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        (7_099_000..=7_100_001).contains(&local),
        "jump seen: {}",
        lines[3]
    );
    assert_eq!(sim.now(), 10_000_000);
}

#[test]
fn timers_are_set_in_local_durations() {
    let fast_log = Log::default();
    let slow_log = Log::default();
    let mut sim = Sim::new(1, constant(100));
    let fast = sim.add_node(probe(
        &fast_log,
        |ctx| {
            ctx.set_timer(10_000_000, 1);
        },
        |_, _| {},
    ));
    let slow = sim.add_node(probe(
        &slow_log,
        |ctx| {
            ctx.set_timer(10_000_000, 2);
        },
        |_, _| {},
    ));
    // Clocks set before the nodes start (start events run at the first step).
    sim.adjust_clock(fast, |c, now| c.set_drift(now, 1_000_000));
    sim.adjust_clock(slow, |c, now| c.set_drift(now, -500_000));
    sim.run_until(4_999_999);
    assert!(fast_log.borrow().is_empty());
    sim.run_until(5_000_000);
    assert_eq!(
        fast_log.borrow().len(),
        1,
        "twice-fast clock: 10 ms local = 5 ms true"
    );
    sim.run_until(19_999_999);
    assert!(slow_log.borrow().is_empty());
    sim.run_until(20_000_000);
    assert_eq!(
        slow_log.borrow().len(),
        1,
        "half-speed clock: 10 ms local = 20 ms true"
    );
}

/// The workload ends on the harness's (true) clock: nodes whose own clocks
/// are seconds ahead or behind, or run at half speed, all see it end at the
/// same true instant, and so does a node restarted after it.
#[test]
fn the_workload_ends_at_one_true_time_whatever_a_node_clock_says() {
    let log: Log = Rc::new(RefCell::new(Vec::new()));
    let seen: Rc<RefCell<Vec<(NodeId, bool)>>> = Rc::new(RefCell::new(Vec::new()));
    let mut sim = Sim::new(1, LinkConfig::default());
    let nodes: Vec<NodeId> = (0..3)
        .map(|_| {
            let seen = seen.clone();
            sim.add_node(probe(
                &log,
                |ctx| {
                    ctx.set_timer(MILLIS, 0);
                },
                move |ctx, _| {
                    seen.borrow_mut().push((ctx.id(), ctx.workload_over()));
                    ctx.set_timer(MILLIS, 0);
                },
            ))
        })
        .collect();
    sim.adjust_clock(nodes[0], |c, now| c.set_offset(now, 5 * SECONDS as i64));
    sim.adjust_clock(nodes[1], |c, now| c.set_offset(now, -(5 * SECONDS as i64)));
    sim.adjust_clock(nodes[2], |c, now| c.set_drift(now, 1_000_000));
    sim.end_workload_at(40 * MILLIS);
    sim.run_until(40 * MILLIS - 1);
    assert!(!seen.borrow().is_empty());
    assert!(
        seen.borrow().iter().all(|&(_, over)| !over),
        "not over before 40 ms of true time"
    );
    seen.borrow_mut().clear();
    sim.crash(nodes[1], CrashMode::KeepUnsynced);
    sim.run_until(45 * MILLIS);
    sim.restart(nodes[1], false);
    sim.run_until(60 * MILLIS);
    let seen = seen.borrow();
    assert!(seen.iter().all(|&(_, over)| over), "over from 40 ms on");
    for n in nodes {
        assert!(
            seen.iter().any(|&(m, _)| m == n),
            "node {n} ran after 40 ms"
        );
    }
}

/// Sends `count` pings from node 1 to node 0 at start, over `link`.
fn flood(seed: u64, link: LinkConfig, count: u64) -> (Sim<Ping>, Log) {
    let log = Log::default();
    let mut sim = Sim::new(seed, link);
    let rx = sim.add_node(idle(&log));
    sim.add_node(probe(
        &Log::default(),
        move |ctx| {
            for i in 0..count {
                ctx.send(rx, Ping(i));
            }
        },
        |_, _| {},
    ));
    sim.run_until(100 * SECONDS);
    (sim, log)
}

fn assert_near(what: &str, actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual}, expected {expected} ± {tolerance}"
    );
}

#[test]
fn loss_duplication_and_reorder_rates_are_within_tolerance() {
    let n = 20_000;
    let lossy = LinkConfig {
        loss: 0.2,
        ..constant(1_000)
    };
    let (sim, log) = flood(5, lossy, n);
    let s = sim.network().stats(1, 0);
    assert_eq!(s.sent, n);
    assert_eq!(s.delivered + s.dropped, n);
    assert_near(
        "delivered",
        log.borrow().len() as f64 / n as f64,
        0.8,
        0.015,
    );

    let duplicating = LinkConfig {
        duplicate: 0.1,
        ..constant(1_000)
    };
    let (sim, log) = flood(5, duplicating, n);
    let received = log.borrow().len();
    assert_near("duplicated", received as f64 / n as f64 - 1.0, 0.1, 0.01);
    assert_eq!(
        sim.network().stats(1, 0).duplicated as usize,
        received - n as usize
    );

    let reordering = LinkConfig {
        reorder: 0.3,
        reorder_window: 1_000_000,
        ..constant(1_000)
    };
    let (_, log) = flood(5, reordering, n);
    // With constant latency only held-back messages arrive out of send order:
    // a message is late if a later-sent one arrived before it.
    let arrival: Vec<u64> = third_words(&log)
        .iter()
        .map(|w| w.parse().unwrap())
        .collect();
    let mut max_before = 0;
    let mut late = 0;
    for &m in &arrival {
        if m < max_before {
            late += 1;
        }
        max_before = max_before.max(m);
    }
    assert_near("reordered", late as f64 / n as f64, 0.3, 0.02);
}

fn ping_every_ms(ctx: &mut Ctx<'_, Ping>, _: u64) {
    let other = 1 - ctx.id();
    let now = ctx.now();
    ctx.send(other, Ping(now));
    ctx.set_timer(1_000_000, 0);
}

#[test]
fn a_one_way_cut_stops_one_direction_only() {
    let log = Log::default();
    let mut sim = Sim::new(1, constant(100));
    let start = |ctx: &mut Ctx<'_, Ping>| {
        ctx.set_timer(1_000_000, 0);
    };
    let a = sim.add_node(probe(&log, start, ping_every_ms));
    let b = sim.add_node(probe(&log, start, ping_every_ms));
    sim.network_mut().cut(a, b);
    sim.run_until(10_500_000);
    let got_by = |n: u32| {
        log.borrow()
            .iter()
            .filter(|l| l.starts_with(&format!("n{n} got")))
            .count()
    };
    assert_eq!(got_by(b), 0, "b hears nothing from a");
    assert_eq!(got_by(a), 10, "a still hears b");
    assert_eq!(sim.network().stats(a, b).dropped, 10);
    sim.network_mut().heal_all();
    sim.run_until(20_500_000);
    assert_eq!(got_by(b), 10, "healed: b hears a again");
}

/// A node that counts its starts in durable storage, syncing or not.
struct StartCounter {
    sync: bool,
    seen_at_start: Rc<RefCell<Vec<u64>>>,
}

impl Process for StartCounter {
    type Msg = Ping;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Ping>) {
        let n = ctx
            .storage()
            .read("starts")
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()));
        self.seen_at_start.borrow_mut().push(n);
        ctx.storage()
            .write("starts", (n + 1).to_le_bytes().to_vec());
        if self.sync {
            ctx.storage().sync();
        }
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Ping>, _: NodeId, _: Ping) {}
    fn on_timer(&mut self, _: &mut Ctx<'_, Ping>, _: u64) {}
}

fn starts_seen(sync: bool, crashes: &[(CrashMode, bool)]) -> Vec<u64> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut sim = Sim::new(1, constant(100));
    let s2 = seen.clone();
    let n = sim.add_node(move || StartCounter {
        sync,
        seen_at_start: s2.clone(),
    });
    for (round, &(mode, wipe)) in crashes.iter().enumerate() {
        sim.run_until((round as u64 + 1) * MILLIS);
        sim.crash(n, mode);
        assert_eq!(sim.status(n), NodeStatus::Down);
        sim.restart(n, wipe);
    }
    sim.run_until(10 * MILLIS);
    let out = seen.borrow().clone();
    out
}

#[test]
fn unsynced_writes_are_lost_on_crash_synced_ones_kept_and_restart_reads_storage() {
    let power_loss = [(CrashMode::LoseUnsynced, false); 2];
    assert_eq!(
        starts_seen(true, &power_loss),
        [0, 1, 2],
        "synced writes survive"
    );
    assert_eq!(
        starts_seen(false, &power_loss),
        [0, 0, 0],
        "unsynced writes are lost"
    );
    let process_crash = [(CrashMode::KeepUnsynced, false); 2];
    assert_eq!(
        starts_seen(false, &process_crash),
        [0, 1, 2],
        "page cache survives a process crash"
    );
    let wipe = [(CrashMode::KeepUnsynced, true)];
    assert_eq!(
        starts_seen(true, &wipe),
        [0, 0],
        "a wiped node starts empty"
    );
}

#[test]
fn a_crashed_node_loses_its_timers_and_incoming_messages() {
    let log = Log::default();
    let mut sim = Sim::new(1, constant(1_000_000));
    let rx = sim.add_node(probe(
        &log,
        |ctx| {
            ctx.set_timer(5_000_000, 1);
        },
        |_, _| {},
    ));
    sim.add_node(probe(
        &Log::default(),
        move |ctx| ctx.send(rx, Ping(1)),
        |_, _| {},
    ));
    sim.run_until(100);
    sim.crash(rx, CrashMode::LoseUnsynced);
    sim.run_until(2_000_000);
    sim.restart(rx, false);
    sim.run_until(20_000_000);
    // Only the restarted process's own timer (set at 2 ms, 5 ms long) fires.
    assert_eq!(*log.borrow(), ["n0 timer 1 at 7000000"]);
    assert_eq!(sim.network().stats(1, 0).dropped, 1);
}

#[test]
fn a_paused_node_handles_nothing_then_runs_late_events_in_order() {
    let log = Log::default();
    let mut sim = Sim::new(1, constant(1_000_000));
    let n = sim.add_node(probe(
        &log,
        |ctx| {
            ctx.set_timer(2_000_000, 1);
            ctx.set_timer(3_000_000, 2);
        },
        |_, _| {},
    ));
    sim.add_node(probe(
        &Log::default(),
        move |ctx| ctx.send(n, Ping(9)),
        |_, _| {},
    ));
    sim.run_until(500_000);
    sim.pause(n, 10_000_000);
    sim.run_until(10_499_999);
    assert!(
        log.borrow().is_empty(),
        "handled during the pause: {:?}",
        log.borrow()
    );
    sim.run_until(10_500_000);
    assert_eq!(
        *log.borrow(),
        [
            "n0 got 9 from n1 at 10500000",
            "n0 timer 1 at 10500000",
            "n0 timer 2 at 10500000"
        ]
    );
}

#[test]
fn cancelled_timers_do_not_fire_or_linger() {
    let log = Log::default();
    let mut sim = Sim::new(1, constant(100));
    sim.add_node(probe(
        &log,
        |ctx| {
            // Re-arming a timer many times, as election timers are reset.
            let mut t = ctx.set_timer(1_000, 0);
            for i in 1..10_000 {
                ctx.cancel_timer(t);
                t = ctx.set_timer(1_000 + i, i);
            }
        },
        |_, _| {},
    ));
    sim.step();
    assert!(sim.pending_events() <= 1);
    sim.run_until(SECONDS);
    assert_eq!(*log.borrow(), ["n0 timer 9999 at 10999"]);
}

#[test]
fn a_panic_in_a_process_is_a_finding_not_a_crash_of_the_tool() {
    let mut sim = Sim::new(42, constant(100));
    sim.add_node(probe(
        &Log::default(),
        |ctx| {
            ctx.set_timer(3_000, 0);
        },
        |_, _| panic!("invariant broken in node"),
    ));
    assert!(!sim.run_until(SECONDS));
    let f = sim.finding().expect("a finding");
    assert_eq!(f.kind, "panic");
    assert_eq!(f.time, 3_000);
    assert_eq!(f.node, Some(0));
    assert!(
        f.message.contains("invariant broken in node"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("kernel_promises.rs"),
        "location: {}",
        f.message
    );
    assert_eq!(sim.step(), Step::Stopped);
}

#[test]
fn history_records_invoke_and_completion_in_true_time() {
    let mut sim = Sim::new(1, constant(100));
    sim.add_node(probe(
        &Log::default(),
        |ctx| {
            let op = ctx.invoke("write", None, json!(3));
            ctx.set_timer(500, op.0);
        },
        |ctx, op| ctx.complete(OpId(op), OpType::Ok, json!(3)),
    ));
    sim.run_until(SECONDS);
    let h = sim.history();
    assert_eq!(h.entries.len(), 2);
    assert_eq!(
        (h.entries[0].op_type, h.entries[0].time),
        (OpType::Invoke, 0)
    );
    assert_eq!((h.entries[1].op_type, h.entries[1].time), (OpType::Ok, 500));
    let ops = h.operations().unwrap();
    assert_eq!(ops[0].latency(), Some(500));
}

#[test]
fn each_incarnation_is_a_history_process_of_its_own_and_request_ids_never_repeat() {
    let log = Log::default();
    let mut sim = Sim::new(1, constant(100));
    let ids: Rc<RefCell<Vec<(u32, u64, u64)>>> = Rc::default();
    let seen = ids.clone();
    sim.add_node(idle(&log));
    let client = sim.add_node(probe(
        &log,
        move |ctx| {
            // Invoke at once; a crash before the timer leaves it open.
            let op = ctx.invoke("write", None, json!(1));
            let id = ctx.request_id();
            seen.borrow_mut()
                .push((ctx.incarnation(), ctx.history_process(), id));
            ctx.set_timer(MILLIS, op.0);
        },
        |ctx, op| ctx.complete(OpId(op), OpType::Ok, json!(1)),
    ));
    sim.run_until(MILLIS / 2);
    // Crash with the operation open, restart: no panic, a new process.
    sim.crash(client, CrashMode::LoseUnsynced);
    sim.restart(client, true);
    sim.run_until(3 * MILLIS);
    sim.crash(client, CrashMode::KeepUnsynced);
    sim.restart(client, false);
    sim.run_until(10 * MILLIS);
    assert!(sim.finding().is_none(), "{:?}", sim.finding());
    let seen = ids.borrow().clone();
    let processes: Vec<u64> = seen.iter().map(|s| s.1).collect();
    assert_eq!(processes, [1, 3, 5], "incarnation × 2 nodes + node 1");
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 1, 2]);
    let ids: Vec<u64> = seen.iter().map(|s| s.2).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    assert_eq!(ids[0], 1);
    assert_eq!(ids[1], 1 << REQUEST_SEQ_BITS | 1);
    // The first incarnation's operation stays open; the others complete.
    let ops = sim.history().operations().unwrap();
    let outcome: Vec<(u64, Option<OpType>)> = ops
        .iter()
        .map(|o| (o.invoke.process, o.completion.map(|c| c.op_type)))
        .collect();
    assert_eq!(
        outcome,
        [(1, None), (3, Some(OpType::Ok)), (5, Some(OpType::Ok))]
    );
}

#[test]
fn the_monotonic_clock_drifts_but_never_jumps() {
    let seen: Rc<RefCell<Vec<(Nanos, Nanos)>>> = Rc::default();
    let s2 = seen.clone();
    let mut sim = Sim::new(1, constant(100));
    let n = sim.add_node(probe(
        &Log::default(),
        |ctx| {
            ctx.set_timer(MILLIS, 0);
        },
        move |ctx, _| {
            s2.borrow_mut().push((ctx.now(), ctx.monotonic_now()));
            ctx.set_timer(MILLIS, 0);
        },
    ));
    sim.run_until(MILLIS);
    sim.adjust_clock(n, |c, t| c.jump(t, -(500 * MILLIS as i64)));
    sim.run_until(2 * MILLIS);
    sim.adjust_clock(n, |c, t| c.set_offset(t, 7 * SECONDS as i64));
    sim.adjust_clock(n, |c, t| c.set_drift(t, 100_000));
    sim.run_until(3 * MILLIS + MILLIS / 2);
    let seen = seen.borrow().clone();
    let mono: Vec<Nanos> = seen.iter().map(|s| s.1).collect();
    // The wall clock was set back and forward; the monotonic one ran on,
    // 10 % fast after the drift change at 2 ms (the 1.1 ms timer fires at 3 ms true).
    assert_eq!(mono, [MILLIS, 2 * MILLIS, 3_100_000]);
    assert_eq!(seen[0].0, MILLIS);
    assert_eq!(seen[2].0, 7 * SECONDS + 3 * MILLIS + 100_000);
}

/// A node that sends one ping per start to node 0.
fn one_ping_to(to: NodeId) -> impl Fn() -> Probe + 'static {
    probe(&Log::default(), move |ctx| ctx.send(to, Ping(1)), |_, _| {})
}

#[test]
fn huge_latencies_are_capped_at_one_virtual_hour_without_overflow() {
    for latency in [
        Latency::Constant { ns: u64::MAX },
        Latency::LogNormal {
            median: SECONDS,
            sigma: 1_000.0,
            min: u64::MAX - 1,
        },
        Latency::Uniform {
            min: u64::MAX / 2,
            max: u64::MAX,
        },
    ] {
        let link = LinkConfig {
            latency,
            extra_delay: u64::MAX,
            reorder: 1.0,
            reorder_window: u64::MAX,
            duplicate: 1.0,
            ..Default::default()
        };
        let log = Log::default();
        let mut sim = Sim::new(3, link);
        sim.add_node(idle(&log));
        sim.add_node(one_ping_to(0));
        sim.run_until(SECONDS);
        assert!(log.borrow().is_empty(), "not yet delivered");
        assert!(sim.run_until(u64::MAX));
        assert_eq!(sim.network().stats(1, 0).delivered, 2, "sent and copied");
        assert_eq!(
            *log.borrow(),
            vec![format!("n0 got 1 from n1 at {MAX_MESSAGE_DELAY}"); 2]
        );
    }
}

fn chatty_run(seed: u64) -> (u64, u64) {
    use rand::Rng;
    let mut sim = Sim::new(
        seed,
        LinkConfig {
            loss: 0.1,
            duplicate: 0.05,
            ..Default::default()
        },
    );
    for _ in 0..4 {
        sim.add_node(probe(
            &Log::default(),
            |ctx| {
                ctx.set_timer(1_000_000, 0);
            },
            |ctx, _| {
                let to = ctx.rng().random_range(0..4u32);
                let now = ctx.now();
                ctx.send(to, Ping(now));
                let next = ctx.rng().random_range(100_000..2_000_000u64);
                ctx.set_timer(next, 0);
            },
        ));
    }
    sim.run_until(2 * SECONDS);
    (sim.fingerprint(), sim.events_recorded())
}

#[test]
fn the_same_seed_gives_the_same_fingerprint_and_another_seed_another() {
    let a = chatty_run(7);
    assert_eq!(a, chatty_run(7));
    assert_ne!(a.0, chatty_run(8).0);
    assert!(a.1 > 1_000, "a real run: {} events", a.1);
}

/// One thing a run can differ in, at node 0's fifth timer.
#[derive(Clone, Copy, PartialEq)]
enum OneChange {
    None,
    /// The ping it sends carries another number.
    Payload,
    /// The ping goes to the other peer.
    Destination,
    /// Its next timer fires one nanosecond later.
    Time,
}

/// Three nodes pinging round a ring every millisecond; `change` alters one event.
fn ring_run(change: OneChange) -> u64 {
    let mut sim = Sim::new(7, constant(50 * MICROS));
    for _ in 0..3 {
        sim.add_node(probe(
            &Log::default(),
            |ctx| {
                ctx.set_timer(MILLIS, 0);
            },
            move |ctx, tag| {
                let here = ctx.id() == 0 && tag == 5;
                let mut to = (ctx.id() + 1) % 3;
                let mut payload = tag;
                let mut next = MILLIS;
                match change {
                    OneChange::Payload if here => payload += 1_000,
                    OneChange::Destination if here => to = (ctx.id() + 2) % 3,
                    OneChange::Time if here => next += 1,
                    _ => {}
                }
                ctx.send(to, Ping(payload));
                ctx.set_timer(next, tag + 1);
            },
        ));
    }
    sim.run_until(20 * MILLIS);
    sim.fingerprint()
}

#[test]
fn one_event_differing_in_time_payload_or_destination_changes_the_fingerprint() {
    let base = ring_run(OneChange::None);
    assert_eq!(base, ring_run(OneChange::None));
    let changed = [
        ring_run(OneChange::Payload),
        ring_run(OneChange::Destination),
        ring_run(OneChange::Time),
    ];
    for (i, f) in changed.iter().enumerate() {
        assert_ne!(*f, base, "change {i} left the fingerprint as it was");
        for g in &changed[i + 1..] {
            assert_ne!(f, g, "two different changes, one fingerprint");
        }
    }
}
