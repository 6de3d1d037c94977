//! `pn-counter`: clients add positive and negative amounts; the final value
//! must be the acknowledged sum plus a subset of the indeterminate amounts.
//! Bug `one-g-counter` (see [`crate::crdt::pn_counter`]).
//!
//! Op-based, the operation is the amount, and applying it adds it to the
//! origin's entry: not idempotent, so an operation applied twice counts
//! twice. Bug `no-dedup` (op mode only, see [`super::causal`]) lets the
//! network's duplicates and anti-entropy's re-sends through.

use rand::Rng;
use serde_json::{json, Value};
use sim_core::history::{History, HistoryError};
use sim_core::rng::SimRng;

use super::{Config, Env, ReplicatedType, Session, NO_DEDUP};
use crate::crdt::or_set::Dot;
use crate::crdt::pn_counter::PnCounter;

pub type PnType = PnCounter;

pub const ONE_G_COUNTER: &str = "one-g-counter";

impl ReplicatedType for PnCounter {
    const NAME: &'static str = "pn-counter";
    const DESCRIPTION: &'static str =
        "PN-counter (increments and decrements) with delta gossip, judged by its final read";
    const BUGS: &'static [&'static str] = &[ONE_G_COUNTER, NO_DEDUP];
    type Request = i64;
    type Reply = ();
    type Local = ();
    type Session = AddSession;
    type Op = i64;

    fn execute(&mut self, _: &mut (), env: &Env, amount: &i64) -> (Option<Self>, ()) {
        let delta = self.add(env.me, *amount, env.config.bug(ONE_G_COUNTER));
        (Some(delta), ())
    }

    fn prepare(&self, _: &mut (), _: &Env, amount: &i64) -> (Option<i64>, ()) {
        (Some(*amount), ())
    }

    fn effect(&mut self, (origin, _): Dot, amount: &i64, config: &Config) {
        self.add(origin, *amount, config.bug(ONE_G_COUNTER));
    }

    fn final_value(&self) -> Value {
        json!(self.value())
    }

    fn final_read(history: &History, value: &Value) -> Result<Vec<String>, HistoryError> {
        match value.as_i64() {
            Some(v) => checkers::final_read::counter(history, v),
            None => Ok(vec![format!("{value} is not a number")]),
        }
    }
}

/// Adds amounts in −5..=5 without 0, a decrement one time in two.
#[derive(Default)]
pub struct AddSession;

impl Session for AddSession {
    type Request = i64;
    type Reply = ();

    fn next(&mut self, rng: &mut SimRng, _fresh: u64) -> (&'static str, Value, i64) {
        let magnitude = rng.random_range(1..=5i64);
        let amount = if rng.random_bool(0.5) {
            -magnitude
        } else {
            magnitude
        };
        ("add", json!(amount), amount)
    }

    fn done(&mut self, _: &i64, _: &()) -> Value {
        Value::Null
    }
}
