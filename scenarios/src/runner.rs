//! Runs one scenario at one seed: builds the cluster through the protocol's
//! driver, drives the simulation with its invariants checked after every
//! event, then judges the history and writes the run directory.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use fault_injection::{FaultSchedule, Observer};
use sim_core::{fingerprint, History, Sim, Topology};

use crate::driver::{Driver, Verdict};
use crate::error::InputError;
use crate::scenario::Scenario;
use crate::summary::{EventCounts, LinkSummary, OpCounts, Percentiles, Summary};

/// How to run (not what: that is the scenario and the seed).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stream every event to this file as JSON lines.
    pub trace: Option<PathBuf>,
    /// Write each node's log lines to `nN.log` in this directory instead of
    /// stderr (what the installed log filter lets through; see
    /// `sim_core::logging`).
    pub node_logs: Option<PathBuf>,
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub summary: Summary,
    pub history: History,
    /// The concrete fault schedule of this run (what `faults.json` holds):
    /// replayed as a fixed schedule, it gives the same run.
    pub schedule: FaultSchedule,
    /// A picture of the linearizability counterexample, if that check failed
    /// (`counterexample.svg` in the run directory).
    pub counterexample_svg: Option<String>,
    /// The same counterexample as data (`counterexample.json`): the report
    /// highlights its operations in the space-time diagram.
    pub counterexample_json: Option<String>,
}

/// Runs `scenario` at `seed` with the built-in driver its `protocol` names
/// (see [`crate::registry::Registry::run`] for other protocols).
pub fn run(scenario: &Scenario, seed: u64, options: &RunOptions) -> Result<RunOutcome, InputError> {
    crate::registry::Registry::builtin().run(scenario, seed, options)
}

/// Runs `scenario` at `seed` with `driver`: the part every protocol shares.
pub fn run_with<D: Driver>(
    mut driver: D,
    scenario: &Scenario,
    seed: u64,
    options: &RunOptions,
) -> Result<RunOutcome, InputError> {
    let mut sim: Sim<D::Msg> = Sim::new(seed, scenario.network.clone());
    let topology = driver.build(scenario, &mut sim);
    debug_assert_eq!(
        topology,
        scenario.topology(),
        "drivers add replicas first, then clients"
    );
    let schedule = scenario
        .faults
        .for_protocol(driver.has_leader())
        .and_then(|faults| faults.schedule(&topology, scenario.duration, seed))
        .map_err(|e| InputError::new(&scenario.source, e.message).with_field(e.path))?;
    if let Some(path) = &options.trace {
        let file = File::create(path)
            .map_err(|e| InputError::new(path.display().to_string(), e.to_string()))?;
        sim.set_trace_output(Box::new(BufWriter::new(file)));
    }
    let node_logs = match &options.node_logs {
        Some(dir) => Some(
            sim_core::logging::NodeLogs::capture(dir)
                .map_err(|e| InputError::new(dir.display().to_string(), e.to_string()))?,
        ),
        None => None,
    };
    // Idle clients are down before they start: they never invoke, and the
    // other nodes keep their ids and random streams.
    for &idle in &scenario.workload.idle_clients {
        sim.crash(
            topology.clients[idle as usize],
            sim_core::CrashMode::KeepUnsynced,
        );
    }
    let applied = fault_injection::drive(
        &mut sim,
        &schedule,
        &topology,
        scenario.duration,
        &mut DriverObserver {
            driver: &mut driver,
            max_events: scenario.checks.max_events,
        },
    );
    sim.finish_trace()
        .map_err(|e| InputError::new("trace", format!("writing the trace failed: {e}")))?;
    if let Some(guard) = node_logs {
        guard.finish().map_err(|(path, e)| {
            InputError::new(path.display().to_string(), format!("cannot write: {e}"))
        })?;
    }

    let mut verdicts = Vec::new();
    let finding = sim.finding().cloned();
    let stopped_by = finding.as_ref().map(|f| f.kind.as_str());
    verdicts.push(match finding.as_ref().filter(|f| f.kind == "panic") {
        Some(f) => Verdict::fail("no-panic", f.message.clone()).at(Some(f.time)),
        None => Verdict::pass("no-panic"),
    });
    let invariants = driver.invariants();
    for &name in &invariants {
        verdicts.push(match &finding {
            Some(f) if f.kind == name => Verdict::fail(name, f.message.clone()).at(Some(f.time)),
            // A run stopped early by another finding did not see this one out.
            Some(_) => Verdict::unknown(
                name,
                format!("run stopped early by {}", stopped_by.unwrap_or("?")),
            ),
            None => Verdict::pass(name),
        });
    }
    // A finding that is neither a panic nor a watched invariant (the event
    // budget, say) is a failed check of its own.
    if let Some(f) = finding
        .as_ref()
        .filter(|f| f.kind != "panic" && !invariants.contains(&f.kind.as_str()))
    {
        verdicts.push(Verdict::fail(&f.kind, f.message.clone()).at(Some(f.time)));
    }
    if finding.is_none() {
        verdicts.extend(driver.check_end(&sim));
        verdicts.push(workload_verdict(sim.history()));
    }
    let (mut counterexample_svg, mut counterexample_json) = (None, None);
    let history = driver.judged_history(&sim);
    if scenario.checks.linearizability {
        if let Some(model) = driver.model() {
            let (verdict, counterexample) =
                linearizability(model, &history, scenario.checks.linearizability_budget);
            verdicts.push(verdict);
            (counterexample_svg, counterexample_json) = counterexample.unzip();
        }
    }

    let consistency = crate::consistency::run_ladder(
        scenario,
        &history,
        driver.model(),
        &verdicts,
        finding.as_ref(),
    );
    // The history the driver judged is the run's own, unless the driver
    // added to it: then it is a copy already. The run's own is taken out of
    // the simulation at the end, never copied (a long run's history is large).
    let judged: Option<History> = match history {
        Cow::Owned(history) => Some(history),
        Cow::Borrowed(_) => None,
    };
    let mut summary = summarize(scenario, seed, &topology, &mut sim, finding, verdicts);
    summary.consistency = consistency;
    summary.corruption = fault_injection::corruption_summary(&sim);
    summary.fault_mix = schedule.mix.clone();
    summary.faults_applied = applied;
    summary.stats = driver.stats(&sim).into_iter().collect();
    let history = judged.unwrap_or_else(|| sim.take_history());
    Ok(RunOutcome {
        summary,
        history,
        schedule,
        counterexample_svg,
        counterexample_json,
    })
}

/// A run in which no client invoked anything tested nothing (too short a
/// run, clients down from the start): that is not a pass.
fn workload_verdict(history: &History) -> Verdict {
    const CHECK: &str = "workload";
    if OpCounts::of(history).invoked == 0 {
        Verdict::fail(CHECK, "no operation was invoked: the run tested nothing")
    } else {
        Verdict::pass(CHECK)
    }
}

/// The share of `checks.max_events` that may wait in the queue at once.
const PENDING_SHARE: u64 = 10;

/// Lets the fault driver ask the protocol's driver for invariants and the
/// leader, and stops a run that exceeds its event budget: events handled,
/// or a tenth of that pending.
struct DriverObserver<'a, D> {
    driver: &'a mut D,
    max_events: u64,
}

impl<D: Driver> Observer<D::Msg> for DriverObserver<'_, D> {
    fn check(&mut self, sim: &Sim<D::Msg>) -> Option<sim_core::Finding> {
        let handled = sim.events_handled();
        // Events scheduled faster than they are handled (a timer far shorter
        // than any answer, re-sending each time) fill memory long before the
        // handled count reaches the budget: the queue has a budget too.
        let pending = sim.pending_events() as u64;
        let (what, limit) = if handled > self.max_events {
            ("events", self.max_events)
        } else if pending > self.max_events / PENDING_SHARE {
            ("events pending", self.max_events / PENDING_SHARE)
        } else {
            return self.driver.check_step(sim);
        };
        Some(sim_core::Finding {
            kind: "event-budget".into(),
            time: sim.now(),
            node: None,
            message: format!(
                "more than {limit} {what} by {:.6} s of virtual time: a livelock, or raise \
                 checks.max_events",
                sim.now() as f64 / 1e9
            ),
        })
    }

    fn leader(&self, sim: &Sim<D::Msg>) -> Option<sim_core::NodeId> {
        self.driver.leader(sim)
    }
}

/// Checks the history against `model`; the checker splits it by key
/// (P-compositionality) and schedules the keys' searches. On a violation,
/// also gives the counterexample's picture and the counterexample as JSON.
fn linearizability(
    model: &str,
    history: &History,
    budget: u64,
) -> (Verdict, Option<(String, String)>) {
    const CHECK: &str = "linearizability";
    let options = checkers::CheckOptions::with_max_steps(budget);
    let report = match checkers::check_history_named(model, history, &options) {
        Err(e) => {
            let message = format!("the history itself is malformed: {e}");
            return (Verdict::fail(CHECK, message), None);
        }
        Ok(report) => report,
    };
    let picture = report.counterexamples.first().map(|c| {
        let json = serde_json::to_string_pretty(c).expect("a counterexample serializes");
        (checkers::picture::counterexample_svg(c), json + "\n")
    });
    let verdict = match report.verdict {
        checkers::Verdict::Linearizable => Verdict::pass(CHECK),
        checkers::Verdict::Unknown => {
            // Named as `check` names them: a single-key history's partition
            // has no label, and a bare list of labels would read empty.
            let undecided: Vec<String> = report
                .partition_reports
                .iter()
                .filter(|p| p.status.is_undecided())
                .map(|p| format!("{} ({})", p.name(), p.progress()))
                .collect();
            let reason = report.unknown_reason.unwrap_or_default();
            let detail = format!("{reason}; undecided: {}", undecided.join(", "));
            Verdict::unknown(CHECK, detail)
        }
        checkers::Verdict::NotLinearizable => {
            let first = report.counterexamples.first();
            let detail = first
                .map(|c| c.render())
                .unwrap_or_else(|| "not linearizable".into());
            let shows_at = first.and_then(|c| c.unplaceable.complete_time);
            Verdict::fail(CHECK, detail).at(shows_at)
        }
    };
    (verdict, picture)
}

fn summarize<M: sim_core::Message>(
    scenario: &Scenario,
    seed: u64,
    topology: &Topology,
    sim: &mut Sim<M>,
    finding: Option<sim_core::Finding>,
    verdicts: Vec<Verdict>,
) -> Summary {
    let history = sim.history();
    let ops = OpCounts::of(history);
    let virtual_time = sim.now();
    let passed = finding.is_none() && !verdicts.iter().any(Verdict::failed);
    Summary {
        clustersim: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario.clone(),
        seed,
        cluster: topology.clone(),
        virtual_time_ns: virtual_time,
        events: EventCounts {
            handled: sim.events_handled(),
            recorded: sim.events_recorded(),
        },
        messages: sim.network().totals(),
        links: sim
            .network()
            .busy_links()
            .into_iter()
            .map(|(from, to, stats)| LinkSummary { from, to, stats })
            .collect(),
        ops,
        latency_ms: Percentiles::of_history(history),
        throughput: if virtual_time == 0 {
            0.0
        } else {
            ops.ok as f64 / (virtual_time as f64 / 1e9)
        },
        counters: sim
            .counters()
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        stats: Default::default(),
        faults_applied: Vec::new(),
        fault_mix: None,
        corruption: Default::default(),
        finding,
        verdicts,
        consistency: Default::default(),
        passed,
        fingerprint: fingerprint::to_hex(sim.fingerprint()),
    }
}

/// Writes `summary.json`, `history.jsonl`, `faults.json` and, when
/// linearizability failed, `counterexample.svg` and `counterexample.json`
/// into `dir`.
pub fn write_run_dir(dir: &Path, outcome: &RunOutcome) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut summary = BufWriter::new(File::create(dir.join("summary.json"))?);
    serde_json::to_writer_pretty(&mut summary, &outcome.summary)?;
    summary.write_all(b"\n")?;
    summary.flush()?;
    let mut history = BufWriter::new(File::create(dir.join("history.jsonl"))?);
    outcome.history.write_jsonl(&mut history)?;
    history.flush()?;
    std::fs::write(dir.join("faults.json"), outcome.schedule.to_json() + "\n")?;
    for (name, content) in [
        ("counterexample.svg", &outcome.counterexample_svg),
        ("counterexample.json", &outcome.counterexample_json),
    ] {
        let path = dir.join(name);
        match content {
            Some(text) => std::fs::write(path, text)?,
            // A reused directory must not show an earlier run's counterexample.
            None if path.exists() => std::fs::remove_file(path)?,
            None => {}
        }
    }
    Ok(())
}
