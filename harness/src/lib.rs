//! What a protocol gives clustersim's runner, and what the runner gives back.
//!
//! A protocol is a set of [`sim_core::Process`] implementations (replicas and
//! clients) plus a [`Driver`]: the driver builds them into a simulation from a
//! [`Scenario`], says which node leads (for leader faults), which invariants
//! hold after every event, what is checked at the end (liveness, convergence)
//! and which sequential model the client history is checked against
//! ([`Driver::model`], one of [`checkers::MODEL_NAMES`]). A protocol makes
//! itself known with a `register` function that hands its driver (and its
//! scenario files) to a [`Registrar`]; `scenarios::registry::Registry` is the
//! registrar the `clustersim` command line runs from.
//!
//! This crate sits below `protocols` so that a protocol, built in or in an
//! outside crate, depends on it and never on the runner. It re-exports the
//! crates a protocol's code names, so that an outside crate needs only this
//! one (and `scenarios` for the command line):
//!
//! | re-export | for |
//! |---|---|
//! | [`sim_core`] | `Process`, `Ctx`, `Message`, `Sim`, virtual time, history |
//! | [`fault_injection`] | fault kinds a driver refuses or adapts to |
//! | [`checkers`] | models for linearizability, the convergence checker |
//!
//! # A whole protocol in one page
//!
//! A register held by one server, read and written by clients drawing the
//! shared [`workload`]; the driver builds it and has it judged as a
//! `cas-register` (every key is a register).
//!
//! ```
//! use harness::sim_core::{Ctx, Message, NodeId, OpId, OpType, Process, Sim, Topology};
//! use harness::workload::{ClientOp, WorkloadSpec};
//! use harness::{Driver, InputError, Registrar, Scenario};
//! use std::collections::BTreeMap;
//!
//! #[derive(Clone, Debug, Hash, serde::Serialize)]
//! enum Msg {
//!     Request(ClientOp),
//!     Reply(Option<u64>),
//! }
//! impl Message for Msg {}
//!
//! /// The server: a map from key to value, lost on a crash (it syncs nothing).
//! #[derive(Default)]
//! struct Server(BTreeMap<u32, u64>);
//!
//! impl Process for Server {
//!     type Msg = Msg;
//!     fn on_start(&mut self, _: &mut Ctx<'_, Msg>) {}
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, Msg>, from: NodeId, msg: Msg) {
//!         let Msg::Request(op) = msg else { return };
//!         let seen = match op {
//!             ClientOp::Read { key } => self.0.get(&key).copied(),
//!             ClientOp::Write { key, value } => self.0.insert(key, value).and(None),
//!             ClientOp::Cas { .. } => return, // never drawn: see `SingleServer`'s constructor
//!         };
//!         ctx.send(from, Msg::Reply(seen));
//!     }
//!     fn on_timer(&mut self, _: &mut Ctx<'_, Msg>, _: u64) {}
//! }
//!
//! /// A client: one operation at a time, each recorded in the history.
//! struct Client { server: NodeId, spec: WorkloadSpec, open: Option<(OpId, ClientOp)> }
//!
//! impl Client {
//!     fn next(&mut self, ctx: &mut Ctx<'_, Msg>) {
//!         let op = self.spec.next_op(ctx.rng());
//!         let id = ctx.invoke(op.f(), self.spec.history_key(&op), op.invoke_value());
//!         self.open = Some((id, op));
//!         ctx.send(self.server, Msg::Request(op));
//!     }
//! }
//!
//! impl Process for Client {
//!     type Msg = Msg;
//!     fn on_start(&mut self, ctx: &mut Ctx<'_, Msg>) { self.next(ctx) }
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, Msg>, _: NodeId, msg: Msg) {
//!         if let (Some((id, op)), Msg::Reply(value)) = (self.open.take(), msg) {
//!             let seen = match op {
//!                 ClientOp::Read { .. } => value.into(),
//!                 _ => serde_json::Value::Null,
//!             };
//!             ctx.complete(id, OpType::Ok, seen);
//!             self.next(ctx);
//!         }
//!     }
//!     fn on_timer(&mut self, _: &mut Ctx<'_, Msg>, _: u64) {}
//! }
//!
//! struct SingleServer;
//!
//! impl Driver for SingleServer {
//!     type Msg = Msg;
//!     fn build(&mut self, scenario: &Scenario, sim: &mut Sim<Msg>) -> Topology {
//!         let server = sim.add_node(Server::default);
//!         let clients = (0..scenario.workload.clients)
//!             .map(|_| {
//!                 let spec = scenario.workload.clone();
//!                 sim.add_node(move || Client { server, spec: spec.clone(), open: None })
//!             })
//!             .collect();
//!         Topology { replicas: vec![server], clients }
//!     }
//!     // A single server leads for as long as it lives.
//!     fn leader(&self, _: &Sim<Msg>) -> Option<NodeId> { Some(0) }
//! }
//!
//! /// What a protocol exports: its driver under a name.
//! pub fn register(registrar: &mut impl Registrar) {
//!     registrar.protocol("single-server", "one server, no replication", |s: &Scenario| {
//!         if s.replicas != 1 {
//!             return Err(s.error("replicas", "single-server has exactly one replica"));
//!         }
//!         if s.workload.cas_fraction > 0.0 {
//!             return Err(s.error("workload.cas_fraction", "single-server has no cas"));
//!         }
//!         Ok(SingleServer)
//!     });
//! }
//! # struct Names(Vec<String>);
//! # impl Registrar for Names {
//! #     fn protocol<D: Driver + 'static>(&mut self, name: &str, _: &str,
//! #         _: fn(&Scenario) -> Result<D, InputError>) { self.0.push(name.into()) }
//! #     fn scenario(&mut self, _: &str, _: &str) {}
//! # }
//! # let mut names = Names(Vec::new());
//! # register(&mut names);
//! # assert_eq!(names.0, ["single-server"]);
//! ```
//!
//! `scenarios::registry::Registry` runs it under every fault with
//! linearizability checked; `examples/own-protocol/` in the repository is the
//! same idea as a crate to copy.

pub mod driver;
pub mod error;
pub mod registrar;
pub mod scenario;
pub mod workload;

pub use driver::{Driver, Verdict};
pub use error::InputError;
pub use registrar::Registrar;
pub use scenario::{Checks, KnownProtocols, Scenario};

pub use checkers;
pub use fault_injection;
pub use sim_core;
