//! `clustersim lock-compare`: the three lock designs side by side under the
//! same six faults, with the guarded resource fencing and not.
//!
//! Every cell of the comparison is a catalogue scenario (the one table
//! [`SCENARIOS`] says which), run over seeds 1..=N with
//! `options.fencing` set on or off. Per cell it counts the runs whose
//! guarded resource saw two holders' writes interleave (the `resource`
//! verdicts, `checkers::fenced_writes`), the runs whose lock history is not
//! that of a mutex (the `linearizability` verdict, the `lock` model), and
//! the runs where any other check failed (liveness, the herd); and it
//! measures how long a client waited for the lock: from its first acquire
//! attempt after it last held the lock (retries included) to the grant, in
//! virtual time, pooled over the runs. A scenario not in the registry shows
//! as "not built" rather than failing the comparison.
//!
//! Redlock issues no fencing token: its writes reach the resource without
//! one, and fencing has nothing to compare. Its fencing cells say "n/a";
//! both settings are run, and show the same.
//!
//! The runs go in parallel (rayon) and are collected in cell and seed
//! order, so the table depends on the seeds only.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use reports::{write_xy_plot, Series, XyPlot};
use sim_core::{History, Nanos, OpType, MILLIS};

use crate::error::InputError;
use crate::registry::Registry;
use crate::runner::{RunOptions, RunOutcome};

/// A lock design and the fencing token it hands its holders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Design {
    /// Its protocol name.
    pub name: &'static str,
    /// The token it offers the resource, `None` if it has none.
    pub token: Option<&'static str>,
}

pub const DESIGNS: [Design; 3] = [
    Design {
        name: "redlock",
        token: None,
    },
    Design {
        name: "lease-lock",
        token: Some("item version"),
    },
    Design {
        name: "coord",
        token: Some("zxid"),
    },
];

/// The faults compared, in the columns' order.
pub const FAULTS: [&str; 6] = [
    "client GC pause longer than the lease",
    "clock jump forward on a lock server",
    "clock jump backward on a client",
    "lock server restart without persistence",
    "a write delayed in the network past the lease",
    "partitions between clients and the service",
];

/// The scenario of each (design, fault): a row per design of [`DESIGNS`],
/// a column per fault of [`FAULTS`].
pub const SCENARIOS: [[&str; 6]; 3] = [
    [
        "redlock-client-pauses",
        "redlock-clock-jumps",
        "redlock-client-clock-jumps",
        "redlock-server-restarts-no-persistence",
        "redlock-delayed-write",
        "redlock-client-partitions",
    ],
    [
        "lease-lock-client-pauses",
        "lease-lock-store-clock-jumps",
        "lease-lock-client-clock-jumps",
        "lease-lock-store-restarts-no-persistence",
        "lease-lock-delayed-write",
        "lease-lock-client-partitions",
    ],
    [
        "coord-client-pauses",
        "coord-server-clock-jumps",
        "coord-client-clock-jumps",
        "coord-replica-restarts-no-persistence",
        "coord-delayed-write",
        "coord-client-partitions",
    ],
];

/// One cell: a design under a fault, with the resource fencing or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub design: Design,
    /// Index into [`FAULTS`].
    pub fault: usize,
    pub scenario: &'static str,
    pub fencing: bool,
}

/// Every cell of the comparison: design by design, fault by fault, fencing
/// on then off.
pub fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for (design, row) in DESIGNS.iter().zip(SCENARIOS) {
        for (fault, scenario) in row.into_iter().enumerate() {
            for fencing in [true, false] {
                cells.push(Cell {
                    design: *design,
                    fault,
                    scenario,
                    fencing,
                });
            }
        }
    }
    cells
}

/// What the runs of one cell showed.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub runs: u64,
    /// Runs whose resource saw two holders' writes interleave.
    pub resource_unsafe: u64,
    /// Runs whose lock history is not a mutex's.
    pub lock_unsafe: u64,
    /// Runs in which some other check failed.
    pub other_failed: u64,
    /// Median and 99th percentile of the wait for the lock, in ms (`None`:
    /// no client ever got it).
    pub wait_ms: Option<(f64, f64)>,
}

/// A cell and what its runs showed (`None`: its scenario is not built).
#[derive(Debug, Clone, PartialEq)]
pub struct CellResult {
    pub cell: Cell,
    pub figures: Option<Figures>,
}

/// What one run contributes to its cell.
struct RunFigures {
    resource_unsafe: bool,
    lock_unsafe: bool,
    other_failed: bool,
    waits: Vec<Nanos>,
}

impl RunFigures {
    fn of(outcome: &RunOutcome) -> Self {
        let failed = |pick: &dyn Fn(&str) -> bool| {
            outcome
                .summary
                .verdicts
                .iter()
                .any(|v| v.failed() && pick(&v.check))
        };
        let resource = |c: &str| c == "resource" || c.starts_with("resource-");
        let lock = |c: &str| c == "linearizability";
        Self {
            resource_unsafe: failed(&resource),
            lock_unsafe: failed(&lock),
            other_failed: failed(&|c| !resource(c) && !lock(c)),
            waits: lock_waits(&outcome.history),
        }
    }
}

/// How long each grant of `history` was waited for: from the client's
/// first acquire after it last held the lock (retries included) to the
/// acquire that succeeded. Each history process is one client incarnation.
pub fn lock_waits(history: &History) -> Vec<Nanos> {
    let mut waiting_since = std::collections::BTreeMap::new();
    let mut waits = Vec::new();
    for e in &history.entries {
        match (e.f.as_str(), e.op_type) {
            ("acquire", OpType::Invoke) => {
                waiting_since.entry(e.process).or_insert(e.time);
            }
            ("acquire", OpType::Ok) => {
                if let Some(since) = waiting_since.remove(&e.process) {
                    waits.push(e.time.saturating_sub(since));
                }
            }
            _ => {}
        }
    }
    waits
}

/// The value at quantile `q` of `sorted` (nearest rank), in ms.
fn quantile_ms(sorted: &[Nanos], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / MILLIS as f64
}

/// Runs every cell of `cells` at seeds 1..=`seeds`, in parallel.
pub fn run(registry: &Registry, cells: &[Cell], seeds: u64) -> Result<Vec<CellResult>, InputError> {
    let seeds = seeds.max(1);
    let built: Vec<Cell> = cells
        .iter()
        .copied()
        .filter(|c| registry.scenario_text(c.scenario).is_some())
        .collect();
    let jobs: Vec<(Cell, u64)> = built
        .iter()
        .flat_map(|&c| (1..=seeds).map(move |s| (c, s)))
        .collect();
    let runs: Vec<RunFigures> = jobs
        .par_iter()
        .map(|&(cell, seed)| {
            let set = [format!("options.fencing={}", cell.fencing)];
            let scenario = registry.resolve(cell.scenario, &set)?;
            let outcome = registry.run(&scenario, seed, &RunOptions::default())?;
            Ok(RunFigures::of(&outcome))
        })
        .collect::<Result<_, InputError>>()?;
    let mut per_cell = runs.chunks(seeds as usize);
    Ok(cells
        .iter()
        .map(|&cell| {
            let figures = built
                .contains(&cell)
                .then(|| per_cell.next().map(figures_of))
                .flatten();
            CellResult { cell, figures }
        })
        .collect())
}

fn figures_of(runs: &[RunFigures]) -> Figures {
    let count = |f: &dyn Fn(&RunFigures) -> bool| runs.iter().filter(|r| f(r)).count() as u64;
    let mut waits: Vec<Nanos> = runs.iter().flat_map(|r| r.waits.iter().copied()).collect();
    waits.sort_unstable();
    Figures {
        runs: runs.len() as u64,
        resource_unsafe: count(&|r| r.resource_unsafe),
        lock_unsafe: count(&|r| r.lock_unsafe),
        other_failed: count(&|r| r.other_failed),
        wait_ms: (!waits.is_empty()).then(|| (quantile_ms(&waits, 0.5), quantile_ms(&waits, 0.99))),
    }
}

/// The fencing column: `n/a` for a design without a token.
fn fencing_words(cell: &Cell) -> String {
    let on_off = if cell.fencing { "on" } else { "off" };
    match cell.design.token {
        Some(_) => on_off.to_string(),
        None => format!("n/a (set {on_off})"),
    }
}

/// The comparison as a Markdown table, with what it measures above it.
pub fn markdown(results: &[CellResult], seeds: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Seeds 1–{seeds} of each scenario, with `options.fencing` on and off. \
         *resource*: runs in which two holders' writes interleaved at the guarded \
         resource; *lock*: runs whose lock history is not a mutex's (two holders at \
         once as the clients saw it); *other*: runs in which another check \
         (liveness, herd) failed; *wait*: how long a client waited for the lock, \
         first attempt to grant, median / p99 over all grants. Redlock has no \
         fencing token: its writes carry none, the resource has nothing to \
         compare, and its fencing is n/a (both settings run, the same runs).\n"
    );
    out.push_str(
        "| design (token) | fault | fencing | resource | lock | other | wait median / p99 | scenario |\n\
         |---|---|---|---:|---:|---:|---:|---|\n",
    );
    for r in results {
        let c = &r.cell;
        let design = format!(
            "{} ({})",
            c.design.name,
            c.design.token.unwrap_or("no token")
        );
        let cells = match &r.figures {
            None => "not built | not built | not built | not built".to_string(),
            Some(f) => {
                let wait = f.wait_ms.map_or("no grant".to_string(), |(m, p)| {
                    format!("{m:.1} / {p:.1} ms")
                });
                format!(
                    "{}/{n} | {}/{n} | {}/{n} | {wait}",
                    f.resource_unsafe,
                    f.lock_unsafe,
                    f.other_failed,
                    n = f.runs
                )
            }
        };
        let _ = writeln!(
            out,
            "| {design} | {} | {} | {cells} | `{}` |",
            FAULTS[c.fault],
            fencing_words(c),
            c.scenario
        );
    }
    out
}

/// The two plots: runs with interleaved writes at the resource per fault,
/// one line per design and fencing setting (Redlock once: fencing changes
/// nothing for it); the median wait for the lock per fault, one line per
/// design with fencing on. Faults are numbered as in [`FAULTS`], from 1.
pub fn plots(results: &[CellResult]) -> Vec<XyPlot> {
    let series =
        |pick: &dyn Fn(&CellResult) -> bool, label: String, y: &dyn Fn(&Figures) -> Option<f64>| {
            let points: Vec<(f64, f64)> = results
                .iter()
                .filter(|r| pick(r))
                .filter_map(|r| Some(((r.cell.fault + 1) as f64, y(r.figures.as_ref()?)?)))
                .collect();
            // A single point would be drawn as a reference line: leave it out.
            (points.len() > 1).then_some(Series { label, points })
        };
    let share = |f: &Figures| Some(100.0 * f.resource_unsafe as f64 / f.runs.max(1) as f64);
    let median = |f: &Figures| f.wait_ms.map(|(m, _)| m);
    let mut violations = Vec::new();
    let mut waits = Vec::new();
    for d in DESIGNS {
        for fencing in [true, false] {
            if d.token.is_none() && !fencing {
                continue;
            }
            let label = match (d.token, fencing) {
                (None, _) => format!("{} (no token)", d.name),
                (Some(_), true) => format!("{}, fencing on", d.name),
                (Some(_), false) => format!("{}, fencing off", d.name),
            };
            let pick = |r: &CellResult| r.cell.design == d && r.cell.fencing == fencing;
            violations.extend(series(&pick, label, &share));
        }
        let pick = |r: &CellResult| r.cell.design == d && r.cell.fencing;
        waits.extend(series(&pick, d.name.to_string(), &median));
    }
    let x_label = "fault: 1 GC pause, 2 server clock jump, 3 client clock jump, \
                   4 restart without persistence, 5 delayed write, 6 client partitions";
    vec![
        XyPlot {
            name: "lock-compare-violations",
            title: "Runs with two holders' writes interleaved at the resource".into(),
            x_label: x_label.into(),
            y_label: "% of runs".into(),
            log2_x: false,
            series: violations,
        },
        XyPlot {
            name: "lock-compare-wait",
            title: "Median wait for the lock, first attempt to grant (fencing on)".into(),
            x_label: x_label.into(),
            y_label: "ms".into(),
            log2_x: false,
            series: waits,
        },
    ]
}

/// Draws [`plots`] and writes the table (`lock-compare.md`) into `dir`;
/// returns the files written.
pub fn write(results: &[CellResult], table: &str, dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let cannot_write = |path: &Path, e: std::io::Error| {
        InputError::new(path.display().to_string(), format!("cannot write: {e}"))
    };
    std::fs::create_dir_all(dir).map_err(|e| cannot_write(dir, e))?;
    let mut files = Vec::new();
    for plot in plots(results) {
        let written = write_xy_plot(&plot, dir)
            .map_err(|e| InputError::new(dir.display().to_string(), e.to_string()))?;
        files.extend(written);
    }
    let md = dir.join("lock-compare.md");
    std::fs::write(&md, table).map_err(|e| cannot_write(&md, e))?;
    files.push(md);
    Ok(files)
}

pub const README_BEGIN: &str =
    "<!-- lock-compare:begin (clustersim lock-compare --write-readme README.md) -->";
pub const README_END: &str = "<!-- lock-compare:end -->";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use sim_core::history::HistoryEntry;

    fn entry(process: u64, op_type: OpType, f: &str, ms: u64) -> HistoryEntry {
        HistoryEntry {
            process,
            op_type,
            f: f.into(),
            key: None,
            value: Value::Null,
            time: ms * MILLIS,
        }
    }

    #[test]
    fn a_wait_runs_from_the_first_attempt_to_the_grant_retries_included() {
        let mut h = History::new();
        for e in [
            entry(1, OpType::Invoke, "acquire", 0),
            entry(1, OpType::Fail, "acquire", 2),
            entry(2, OpType::Invoke, "acquire", 3),
            entry(2, OpType::Ok, "acquire", 4),
            entry(1, OpType::Invoke, "acquire", 10),
            entry(1, OpType::Ok, "acquire", 15),
            entry(1, OpType::Invoke, "release", 20),
            entry(1, OpType::Ok, "release", 21),
            entry(1, OpType::Invoke, "acquire", 30),
            entry(1, OpType::Ok, "acquire", 31),
            // Never granted: no wait recorded.
            entry(3, OpType::Invoke, "acquire", 40),
        ] {
            h.push(e);
        }
        assert_eq!(lock_waits(&h), [MILLIS, 15 * MILLIS, MILLIS]);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let xs: Vec<Nanos> = (1..=100).map(|i| i * MILLIS).collect();
        assert_eq!(quantile_ms(&xs, 0.5), 50.0);
        assert_eq!(quantile_ms(&xs, 0.99), 99.0);
        assert_eq!(quantile_ms(&xs[..1], 0.99), 1.0);
    }

    #[test]
    fn every_design_has_a_scenario_for_every_fault_named_after_it() {
        let cells = cells();
        assert_eq!(cells.len(), DESIGNS.len() * FAULTS.len() * 2);
        for c in cells {
            assert!(c.scenario.starts_with(c.design.name), "{c:?}");
        }
    }
}
