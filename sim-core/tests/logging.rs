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
