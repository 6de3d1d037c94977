//! `clustersim pbft-figures`: what PBFT's batching and the faulty-client
//! attack do to the service clients get, measured in virtual time.
//!
//! - Throughput and mean latency against the batch size B (1 … 32), with
//!   [`PIPELINE`] sequence numbers in flight, next to Raft serving the same
//!   clients on the same network (the dashed line).
//! - Operations completed per 100 ms under the faulty-client attack
//!   (`pbft-faulty-client`), with vouching and in the naive design, and
//!   both without the attack.
//!
//! Every figure is a function of the scenarios and seed 1: the simulator is
//! deterministic, so the same build gives the same numbers on any machine
//! (unlike `bench`, which measures the simulator's own speed).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use reports::{write_xy_plot, Series, XyPlot};
use sim_core::{History, Nanos, OpType, MILLIS, SECONDS};

use crate::error::InputError;
use crate::registry::Registry;
use crate::runner::{RunOptions, RunOutcome};

/// The batch sizes of the curve.
pub const BATCHES: [usize; 6] = [1, 2, 4, 8, 16, 32];
/// Sequence numbers the primary may have in flight: what makes batching
/// pay in a simulation where a message costs no CPU.
pub const PIPELINE: u64 = 2;
/// Virtual time of each run, and the seed.
const DURATION: &str = "2s";
const SEED: u64 = 1;
/// The width of one point of the attack's time series.
const WINDOW: Nanos = 100 * MILLIS;

/// The clients and network both protocols serve.
const SHARED: &str = "[workload]\nclients = 32\nthink_ms = 5\nkeys = 4\ncas_fraction = 0.1\n\n\
[network]\nlatency = { kind = \"uniform\", min = \"500us\", max = \"3ms\" }\n\n\
[checks]\nlinearizability = false\n";

/// One configuration's service over a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub label: String,
    /// Operations that completed (ok, or a definite cas failure) per
    /// virtual second.
    pub ops_per_s: f64,
    /// Mean time from invocation to completion of those operations.
    pub mean_latency_ms: f64,
    /// Operations completed in each [`WINDOW`] of the run.
    pub per_window: Vec<u64>,
    pub view_changes: i64,
}

impl Service {
    fn of(label: String, outcome: &RunOutcome, duration: Nanos) -> Self {
        let (done, latency) = completions(&outcome.history);
        let mut per_window = vec![0; duration.div_ceil(WINDOW) as usize];
        for &(at, _) in &done {
            if let Some(w) = per_window.get_mut((at / WINDOW) as usize) {
                *w += 1;
            }
        }
        let n = done.len().max(1) as f64;
        Self {
            label,
            ops_per_s: done.len() as f64 / (duration as f64 / SECONDS as f64),
            mean_latency_ms: latency as f64 / n / MILLIS as f64,
            per_window,
            view_changes: outcome
                .summary
                .counters
                .get("pbft.view_changes")
                .copied()
                .unwrap_or(0),
        }
    }
}

/// Completed operations (time, latency) and their summed latency: each
/// history process has one operation open at a time.
fn completions(history: &History) -> (Vec<(Nanos, Nanos)>, Nanos) {
    let mut open = std::collections::BTreeMap::new();
    let mut done = Vec::new();
    for e in &history.entries {
        match e.op_type {
            OpType::Invoke => {
                open.insert(e.process, e.time);
            }
            OpType::Ok | OpType::Fail => {
                if let Some(at) = open.remove(&e.process) {
                    done.push((e.time, e.time - at));
                }
            }
            OpType::Info => {
                open.remove(&e.process);
            }
        }
    }
    let total = done.iter().map(|&(_, l)| l).sum();
    (done, total)
}

fn run_text(registry: &Registry, text: &str, source: &str) -> Result<RunOutcome, InputError> {
    let scenario = registry.parse(text, source, &[])?;
    registry.run(&scenario, SEED, &RunOptions::default())
}

/// PBFT at each batch size, then Raft on the same clients and network.
pub fn batching(registry: &Registry) -> Result<(Vec<Service>, Service), InputError> {
    let duration = sim_core::time::duration::parse(DURATION).expect("a valid duration");
    let mut pbft = Vec::new();
    for b in BATCHES {
        let text = format!(
            "protocol = \"pbft\"\nduration = \"{DURATION}\"\n\n{SHARED}\n\
             [options]\nbatch = {b}\npipeline = {PIPELINE}\n"
        );
        let outcome = run_text(registry, &text, &format!("pbft-figures: pbft, batch {b}"))?;
        pbft.push(Service::of(format!("B = {b}"), &outcome, duration));
    }
    let text = format!("protocol = \"raft\"\nreplicas = 3\nduration = \"{DURATION}\"\n\n{SHARED}");
    let raft = run_text(registry, &text, "pbft-figures: raft")?;
    Ok((
        pbft,
        Service::of("raft, 3 replicas".into(), &raft, duration),
    ))
}

/// `pbft-faulty-client` with and without the attack, vouching and naive.
pub fn attack(registry: &Registry) -> Result<Vec<Service>, InputError> {
    let cases = [
        ("no attack, vouching", vec!["options.faulty_clients=0"]),
        (
            "no attack, naive",
            vec!["options.faulty_clients=0", "options.request_vouches=0"],
        ),
        ("attack, vouching", vec![]),
        ("attack, naive", vec!["options.request_vouches=0"]),
    ];
    cases
        .into_iter()
        .map(|(label, sets)| {
            let mut sets: Vec<String> = sets.into_iter().map(String::from).collect();
            sets.push("checks.linearizability=false".into());
            let scenario = registry.resolve("pbft-faulty-client", &sets)?;
            let outcome = registry.run(&scenario, SEED, &RunOptions::default())?;
            Ok(Service::of(label.into(), &outcome, scenario.duration))
        })
        .collect()
}

/// The figures as Markdown tables.
pub fn markdown(pbft: &[Service], raft: &Service, attack: &[Service]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "32 clients (think 5 ms), 4 keys, latency 0.5–3 ms, {DURATION} virtual, seed 1; \
         PBFT with 4 replicas and {PIPELINE} sequence numbers in flight; Raft with 3 \
         replicas and its own batching.\n"
    );
    out.push_str("| configuration | ops/s | mean latency |\n|---|---:|---:|\n");
    for s in pbft.iter().chain(std::iter::once(raft)) {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.1} ms |",
            if s.label.starts_with("B =") {
                format!("pbft, {}", s.label)
            } else {
                s.label.clone()
            },
            s.ops_per_s,
            s.mean_latency_ms
        );
    }
    let _ = writeln!(
        out,
        "\nThe faulty-client attack (`pbft-faulty-client`: 4 clients, one faulty):\n\n\
         | configuration | ops/s | mean latency | view changes |\n|---|---:|---:|---:|"
    );
    for s in attack {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.1} ms | {} |",
            s.label, s.ops_per_s, s.mean_latency_ms, s.view_changes
        );
    }
    out
}

/// What [`write`] measured and wrote.
#[derive(Debug, Clone)]
pub struct Figures {
    /// PBFT at each of [`BATCHES`], and Raft.
    pub pbft: Vec<Service>,
    pub raft: Service,
    /// See [`attack`].
    pub attack: Vec<Service>,
    /// The Markdown tables (also `pbft-figures.md`).
    pub tables: String,
    pub files: Vec<PathBuf>,
}

/// Runs everything and writes the plots and the tables into `dir`.
pub fn write(registry: &Registry, dir: &Path) -> Result<Figures, InputError> {
    let (pbft, raft) = batching(registry)?;
    let attack = attack(registry)?;
    let cannot_write = |path: &Path, e: std::io::Error| {
        InputError::new(path.display().to_string(), format!("cannot write: {e}"))
    };
    std::fs::create_dir_all(dir).map_err(|e| cannot_write(dir, e))?;
    let curve = |f: &dyn Fn(&Service) -> f64| Series {
        label: "pbft".into(),
        points: BATCHES
            .iter()
            .zip(&pbft)
            .map(|(&b, s)| (b as f64, f(s)))
            .collect(),
    };
    let raft_line = |f: &dyn Fn(&Service) -> f64| Series {
        label: raft.label.clone(),
        points: vec![(0.0, f(&raft))],
    };
    let throughput = |s: &Service| s.ops_per_s;
    let latency = |s: &Service| s.mean_latency_ms;
    let plots = [
        XyPlot {
            name: "pbft-batching-throughput",
            title: "PBFT throughput against batch size (Raft on the same network dashed)".into(),
            x_label: "B, requests per pre-prepare".into(),
            y_label: "operations per second".into(),
            log2_x: true,
            series: vec![curve(&throughput), raft_line(&throughput)],
        },
        XyPlot {
            name: "pbft-batching-latency",
            title: "PBFT mean latency against batch size (Raft dashed)".into(),
            x_label: "B, requests per pre-prepare".into(),
            y_label: "mean latency, ms".into(),
            log2_x: true,
            series: vec![curve(&latency), raft_line(&latency)],
        },
        XyPlot {
            name: "pbft-faulty-client",
            title: "Operations per 100 ms, with and without the faulty-client attack".into(),
            x_label: "virtual time, s".into(),
            y_label: "operations completed per 100 ms".into(),
            log2_x: false,
            series: attack
                .iter()
                .map(|s| Series {
                    label: s.label.clone(),
                    points: s
                        .per_window
                        .iter()
                        .enumerate()
                        .map(|(i, &n)| ((i as u64 * WINDOW) as f64 / SECONDS as f64, n as f64))
                        .collect(),
                })
                .collect(),
        },
    ];
    let mut files = Vec::new();
    for plot in &plots {
        let written = write_xy_plot(plot, dir)
            .map_err(|e| InputError::new(dir.display().to_string(), e.to_string()))?;
        files.extend(written);
    }
    let tables = markdown(&pbft, &raft, &attack);
    let md = dir.join("pbft-figures.md");
    std::fs::write(&md, &tables).map_err(|e| cannot_write(&md, e))?;
    files.push(md);
    Ok(Figures {
        pbft,
        raft,
        attack,
        tables,
        files,
    })
}

pub const README_BEGIN: &str =
    "<!-- pbft-figures:begin (clustersim pbft-figures --write-readme README.md) -->";
pub const README_END: &str = "<!-- pbft-figures:end -->";
