//! Driver of the eventual store: replicas, clients, and the verdicts of its
//! model: liveness, `convergence` and the final read of every key.

use serde::Deserialize;
use serde_json::{json, Value};
use sim_core::history::History;
use sim_core::{Finding, Nanos, Sim, Topology, MILLIS, SECONDS};

use super::replica::{Msg, Replica, Settings};
use super::session::{EventualSession, Resolver};
use crate::store_client::{self, StoreRun};
use harness::{Driver, InputError, Registrar, Scenario, Verdict};

pub const BUGS: [&str; 1] = ["resolve-by-own-component"];

/// The `[options]` of an eventual-store scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    /// Replicas in a key's preference list (default: 3, or every replica
    /// of a smaller cluster).
    n: Option<usize>,
    /// Replicas a read merges (default: a majority of `n`).
    r: Option<usize>,
    /// Replicas that acknowledge a write before it is answered (default: a
    /// majority of `n`).
    w: Option<usize>,
    /// How long a coordinator waits for its quorum before asking the
    /// replicas past the preference list.
    #[serde(with = "sim_core::time::setting")]
    sloppy_after: Nanos,
    /// Anti-entropy interval.
    #[serde(with = "sim_core::time::timer")]
    gossip: Nanos,
    /// Clients stop this long before the end, so anti-entropy can quiesce.
    #[serde(with = "sim_core::time::setting")]
    quiesce: Nanos,
    /// How a client resolves siblings: `max` or `min`.
    resolver: Resolver,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            n: None,
            r: None,
            w: None,
            sloppy_after: 20 * MILLIS,
            gossip: 20 * MILLIS,
            quiesce: SECONDS,
            resolver: Resolver::Max,
        }
    }
}

pub struct EventualStore {
    options: Options,
    settings: Settings,
    keys: u32,
    run: StoreRun,
}

impl EventualStore {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let err = |field: &str, m: String| scenario.error(field, m);
        let [own_component] = crate::bug_names::switched_on("eventual-store", &scenario.bugs, BUGS)
            .map_err(|m| err("bugs", m))?;
        let o: Options = scenario.protocol_options()?;
        store_client::check_scenario(scenario, o.quiesce)?;
        let replicas = scenario.replicas as usize;
        // Defaults follow the cluster, so that `replicas = 1` alone is a
        // scenario: only what the user set can be out of range.
        let n = o.n.unwrap_or(replicas.min(3));
        if n == 0 || n > replicas {
            return Err(err(
                "options.n",
                format!("n must be between 1 and the {replicas} replicas"),
            ));
        }
        let (r, w) = (o.r.unwrap_or(n / 2 + 1), o.w.unwrap_or(n / 2 + 1));
        for (field, q) in [("options.r", r), ("options.w", w)] {
            if q == 0 || q > n {
                return Err(err(field, format!("must be between 1 and n = {n}")));
            }
        }
        for (field, t) in [
            ("options.gossip", o.gossip),
            ("options.sloppy_after", o.sloppy_after),
        ] {
            if t == 0 {
                return Err(err(field, "must be above 0".into()));
            }
        }
        let settings = Settings {
            n,
            r,
            w,
            sloppy_after: o.sloppy_after,
            gossip: o.gossip,
            own_component,
        };
        Ok(Self {
            options: o,
            settings,
            keys: scenario.workload.keys,
            run: StoreRun::default(),
        })
    }
}

/// The part of `history` about `key` (all of it when there is one key: its
/// entries carry none).
pub fn key_history(history: &History, key: u32, keys: u32) -> History {
    let name = key.to_string();
    History {
        entries: history
            .entries
            .iter()
            .filter(|e| keys == 1 || e.key.as_deref() == Some(name.as_str()))
            .cloned()
            .collect(),
    }
}

/// A replica's final siblings per key: write ids by key.
fn held(p: &Replica) -> Value {
    let mut out = serde_json::Map::new();
    for (key, reg) in p.store() {
        let ids: Vec<u64> = reg.siblings().iter().map(|s| s.write).collect();
        if !ids.is_empty() {
            out.insert(key.to_string(), json!(ids));
        }
    }
    Value::Object(out)
}

impl Driver for EventualStore {
    type Msg = Msg;

    fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        crate::reads_and_writes::fill_defaults(scenario, given);
    }

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<Msg>) -> Topology {
        let (settings, resolver) = (self.settings, self.options.resolver);
        self.run.build(
            scenario,
            sim,
            self.options.quiesce,
            move |peers| Replica::new(peers.to_vec(), settings),
            move |_, peers| EventualSession::new(peers.to_vec(), resolver),
        )
    }

    fn check_step(&mut self, sim: &Sim<Msg>) -> Option<Finding> {
        self.run.check_step(sim)
    }

    fn check_end(&mut self, sim: &Sim<Msg>) -> Vec<Verdict> {
        let (mut verdicts, groups) = self.run.liveness_and_convergence(sim, held);
        let name = "final read (eventual-store)";
        let mut problems = Vec::new();
        for (text, (value, _)) in &groups {
            for key in 0..self.keys {
                let finals = value
                    .get(key.to_string())
                    .and_then(Value::as_array)
                    .map(|ids| ids.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default();
                let history = key_history(sim.history(), key, self.keys);
                match checkers::final_read::mv_register(&history, &finals) {
                    Err(e) => problems.push(format!("malformed history: {e}")),
                    Ok(found) => problems.extend(found.into_iter().map(|p| {
                        if groups.len() > 1 {
                            format!("{text}: key {key}: {p}")
                        } else {
                            format!("key {key}: {p}")
                        }
                    })),
                }
            }
        }
        verdicts.push(if problems.is_empty() {
            Verdict::pass(name)
        } else {
            Verdict::fail(name, problems.join("\n"))
        });
        verdicts
    }

    /// Stale reads and siblings are what the store promises: no
    /// linearizability.
    fn model(&self) -> Option<&'static str> {
        None
    }
}

/// Makes `eventual-store` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "eventual-store",
        "Dynamo-style key-value store: siblings on dotted version vectors, sloppy quorums (n, r, w), anti-entropy, client-side resolver",
        EventualStore::new,
    );
}
