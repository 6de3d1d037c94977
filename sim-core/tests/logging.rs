//! Log lines from inside a node carry virtual time and the node id, not wall time.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sim_core::logging::VirtualTime;
use sim_core::*;

#[derive(Debug, Clone, Hash, Serialize)]
struct Nothing;
impl Message for Nothing {}

struct Talker;

impl Process for Talker {
    type Msg = Nothing;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Nothing>) {
        ctx.set_timer(1_500_000_000, 0);
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Nothing>, _: NodeId, _: Nothing) {}
    fn on_timer(&mut self, _: &mut Ctx<'_, Nothing>, _: u64) {
        tracing::info!("election timeout");
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn log_lines_carry_virtual_time_and_node() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_timer(VirtualTime)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut sim = Sim::new(1, LinkConfig::default());
        sim.add_node(|| Talker);
        sim.add_node(|| Talker);
        sim.run_until(2 * SECONDS);
    });
    let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("t=1.500000000 n=0"), "{out}");
    assert!(lines[1].starts_with("t=1.500000000 n=1"), "{out}");
    assert!(lines[0].contains("election timeout"));
}

/// Logs at debug on its timers and at trace on its messages; node 1 also
/// talks to node 0, so both levels occur.
struct Chatty;

impl Process for Chatty {
    type Msg = Nothing;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Nothing>) {
        ctx.set_timer(250_000_000, 0);
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Nothing>, from: NodeId, _: Nothing) {
        tracing::trace!(from, "heard");
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Nothing>, round: u64) {
        tracing::debug!(round, "tick");
        if ctx.id() == 1 {
            ctx.send(0, Nothing);
        }
        if round < 3 {
            ctx.set_timer(250_000_000, round + 1);
        }
    }
}

/// Runs two chatty nodes at `seed` under `filter` with node logs in `dir`
/// (node 1 crashes at 0.6 s); returns the files written.
fn chatty_run(seed: u64, filter: &str, dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let filter = logging::parse_filter(filter, "test").unwrap();
    tracing::subscriber::with_default(logging::subscriber(filter), || {
        let guard = logging::NodeLogs::capture(dir).unwrap();
        let mut sim = Sim::new(seed, LinkConfig::default());
        sim.add_node(|| Chatty);
        sim.add_node(|| Chatty);
        sim.run_until(600 * MILLIS);
        sim.crash(1, CrashMode::LoseUnsynced);
        sim.run_until(2 * SECONDS);
        guard.finish().unwrap()
    })
}

use sim_core::logging;

#[test]
fn node_logs_hold_each_nodes_lines_and_are_the_same_bytes_for_the_same_seed() {
    let tmp = std::env::temp_dir().join(format!("sim-core-node-logs-{}", std::process::id()));
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    let files = chatty_run(5, "trace", &a);
    chatty_run(5, "trace", &b);
    let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap()).collect();
    assert_eq!(names, ["n0.log", "n1.log"]);
    let n0 = std::fs::read_to_string(a.join("n0.log")).unwrap();
    let n1 = std::fs::read_to_string(a.join("n1.log")).unwrap();
    assert!(
        n0.lines()
            .next()
            .unwrap()
            .starts_with("t=0.250000000 n=0 DEBUG"),
        "{n0}"
    );
    assert!(
        n0.contains("tick round=0") && n0.contains("heard from=1"),
        "{n0}"
    );
    assert!(n0.lines().all(|l| l.contains(" n=0 ")), "{n0}");
    assert!(n1.lines().all(|l| l.contains(" n=1 ")), "{n1}");
    // What the kernel does to a node shows in that node's log.
    assert!(
        n1.lines()
            .last()
            .unwrap()
            .starts_with("t=0.600000000 n=1 DEBUG")
            && n1.contains("crashed"),
        "{n1}"
    );
    for file in ["n0.log", "n1.log"] {
        let (x, y) = (a.join(file), b.join(file));
        assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn a_filter_keeps_what_it_names_and_drops_the_rest() {
    let tmp = std::env::temp_dir().join(format!("sim-core-log-filter-{}", std::process::id()));
    // This module is the nodes' log target: debug passes, trace does not.
    chatty_run(5, &format!("warn,{}=debug", module_path!()), &tmp);
    let n0 = std::fs::read_to_string(tmp.join("n0.log")).unwrap();
    assert!(n0.contains("tick") && !n0.contains("heard"), "{n0}");
    // The kernel's own lines (target sim_core) are below warn.
    let n1 = std::fs::read_to_string(tmp.join("n1.log")).unwrap();
    assert!(!n1.contains("crashed"), "{n1}");
    std::fs::remove_dir_all(&tmp).unwrap();

    // A level no node logs at writes no file at all.
    let quiet = std::env::temp_dir().join(format!("sim-core-log-quiet-{}", std::process::id()));
    assert!(chatty_run(5, "info", &quiet).is_empty());
    std::fs::remove_dir_all(&quiet).unwrap();
}

#[test]
fn the_flag_beats_rust_log_which_beats_the_default_and_bad_filters_are_named() {
    let choose = logging::choose_filter;
    assert_eq!(
        choose(Some("info"), Some("debug"), "warn"),
        ("info", "--log")
    );
    assert_eq!(choose(None, Some("debug"), "warn"), ("debug", "RUST_LOG"));
    assert_eq!(choose(None, Some(" "), "warn").0, "warn");
    assert_eq!(choose(None, None, "warn").0, "warn");
    let e = logging::parse_filter("protocols::raft=loud", "RUST_LOG").unwrap_err();
    assert!(e.starts_with("RUST_LOG: invalid log filter"), "{e}");
    assert!(logging::parse_filter("protocols::raft=debug,warn", "--log").is_ok());
}
