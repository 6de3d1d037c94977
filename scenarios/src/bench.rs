//! `clustersim bench`: how fast the simulator runs, per protocol and size,
//! and the kernel next to a bare binary heap.
//!
//! Each case is a healthy scenario of one protocol (its defaults, no
//! faults) with N clients, run at seed 1 through the same runner as `run`,
//! with the linearizability check off: what is measured is the simulation
//! with every invariant checked after every event, not the checker or the
//! report. A run ends at its virtual duration or at its event budget,
//! whichever comes first, so that a large size stays short. Sizes a
//! protocol cannot run (over a limit) are listed with the reason.
//!
//! Figures are wall-clock measurements: they vary from machine to machine
//! and run to run, and nothing asserts them. `--write-readme` puts the table
//! between the README's bench markers, so one command regenerates it.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use sim_core::flood;
use sim_core::Nanos;

use crate::error::InputError;
use crate::registry::Registry;
use crate::runner::RunOptions;

/// One scenario to measure: a protocol, with extra scenario text.
#[derive(Debug, Clone)]
pub struct Case {
    /// How the table names it.
    pub label: String,
    pub protocol: String,
    /// TOML appended to the generated scenario (options of a variant).
    pub extra: String,
}

/// What `clustersim bench` was asked for.
#[derive(Debug, Clone)]
pub struct BenchPlan {
    pub cases: Vec<Case>,
    pub sizes: Vec<u32>,
    pub duration: Nanos,
    pub max_events: u64,
    /// Events of the kernel flood (and of the bare heap next to it).
    pub kernel_events: u64,
    /// A case whose run took longer than this (wall seconds) is not run at
    /// larger sizes: the bench stays a few minutes long.
    pub max_wall_s: f64,
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct Measured {
    pub events: u64,
    pub delivered: u64,
    pub virtual_ns: Nanos,
    pub wall_s: f64,
    /// Peak resident memory during the run, if the platform tells.
    pub peak_mb: Option<f64>,
}

impl Measured {
    fn per_second(&self, n: u64) -> f64 {
        n as f64 / self.wall_s.max(1e-9)
    }
}

/// One row: a case at a size, measured or why not.
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub size: u32,
    pub result: Result<Measured, String>,
}

/// The default cases: every registered protocol, and Raft with batching
/// off (one entry per AppendEntries).
pub fn default_cases(registry: &Registry) -> Vec<Case> {
    let mut cases: Vec<Case> = registry
        .protocols()
        .into_iter()
        .map(|(name, _)| Case {
            label: name.to_string(),
            protocol: name.to_string(),
            extra: String::new(),
        })
        .collect();
    if cases.iter().any(|c| c.protocol == "raft") {
        cases.push(Case {
            label: "raft, max_batch = 1".into(),
            protocol: "raft".into(),
            extra: "[options]\nmax_batch = 1\n".into(),
        });
    }
    cases
}

/// The scenario of `case` with `clients` clients.
fn scenario_text(case: &Case, clients: u32, plan: &BenchPlan) -> String {
    format!(
        "protocol = \"{}\"\nduration = \"{}\"\n\n[workload]\nclients = {clients}\n\n\
         [checks]\nlinearizability = false\nmax_events = {}\n\n{}",
        case.protocol,
        sim_core::time::duration::format(plan.duration),
        plan.max_events,
        case.extra
    )
}

/// Runs one case at one size.
pub fn measure(
    registry: &Registry,
    case: &Case,
    clients: u32,
    plan: &BenchPlan,
) -> Result<Measured, InputError> {
    let text = scenario_text(case, clients, plan);
    let source = format!("bench {} at {clients} clients", case.label);
    let scenario = registry.parse(&text, &source, &[])?;
    reset_peak_memory();
    let started = Instant::now();
    let outcome = registry.run(&scenario, 1, &RunOptions::default())?;
    let wall_s = started.elapsed().as_secs_f64();
    let summary = &outcome.summary;
    Ok(Measured {
        events: summary.events.handled,
        delivered: summary.messages.delivered,
        virtual_ns: summary.virtual_time_ns,
        wall_s,
        peak_mb: peak_memory_mb(),
    })
}

/// Runs every case at every size, calling `each` with each row as it is done.
pub fn run(registry: &Registry, plan: &BenchPlan, mut each: impl FnMut(&Row)) -> Vec<Row> {
    let mut rows = Vec::new();
    for case in &plan.cases {
        let mut too_slow: Option<(u32, f64)> = None;
        for &size in &plan.sizes {
            let result = match too_slow {
                Some((smaller, wall)) => Err(format!(
                    "{smaller} clients took {wall:.0} s (over --max-wall {:.0} s)",
                    plan.max_wall_s
                )),
                None => measure(registry, case, size, plan).map_err(|e| e.to_string()),
            };
            if let Ok(m) = &result {
                if m.wall_s > plan.max_wall_s {
                    too_slow = Some((size, m.wall_s));
                }
            }
            let row = Row {
                label: case.label.clone(),
                size,
                result,
            };
            each(&row);
            rows.push(row);
        }
    }
    rows
}

/// Linux keeps a process's peak resident set in `VmHWM`; writing 5 to
/// `clear_refs` resets it, so each run gets its own peak. Elsewhere the
/// figure is left out.
pub(crate) fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub(crate) fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.0} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// The header of the table.
pub const TABLE_HEADER: &str = "| protocol | clients | events/s | delivered msgs/s | virtual s / wall s | peak memory | events | wall |\n|---|---:|---:|---:|---:|---:|---:|---:|\n";

/// One row of the table, as Markdown.
pub fn table_row(row: &Row) -> String {
    match &row.result {
        Ok(m) => format!(
            "| {} | {} | {} | {} | {:.2} | {} | {} | {:.2} s |\n",
            row.label,
            row.size,
            si(m.per_second(m.events)),
            si(m.per_second(m.delivered)),
            m.virtual_ns as f64 / 1e9 / m.wall_s.max(1e-9),
            m.peak_mb
                .map_or_else(|| "-".to_string(), |mb| format!("{mb:.0} MB")),
            m.events,
            m.wall_s
        ),
        Err(why) => format!(
            "| {} | {} | not run: {} | | | | | |\n",
            row.label,
            row.size,
            why.replace('|', "/").replace('\n', " ")
        ),
    }
}

/// The kernel line, as Markdown.
pub fn kernel_line(kernel: f64, heap: f64) -> String {
    format!(
        "Kernel flood ({} nodes, ~{} events pending): {} events per CPU second; a bare `BinaryHeap` \
         pop-one-push-one over as many events: {} events per CPU second; the kernel at {:.0} % of the heap.\n",
        flood::NODES,
        flood::NODES * flood::IN_FLIGHT,
        si(kernel),
        si(heap),
        100.0 * kernel / heap
    )
}

/// The whole figures section: the table and the kernel line.
pub fn markdown(plan: &BenchPlan, rows: &[Row], kernel: (f64, f64)) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Each protocol's defaults, no faults, seed 1, every invariant checked after every \
         event, linearizability off; a run ends at {} of virtual time or {} events.\n",
        sim_core::time::duration::format(plan.duration),
        plan.max_events
    );
    out.push_str(TABLE_HEADER);
    for row in rows {
        out.push_str(&table_row(row));
    }
    out.push('\n');
    out.push_str(&kernel_line(kernel.0, kernel.1));
    out
}

pub const README_BEGIN: &str = "<!-- bench:begin (clustersim bench --write-readme README.md) -->";
pub const README_END: &str = "<!-- bench:end -->";

/// Replaces what lies between the bench markers of the file at `path`.
pub fn write_readme(path: &Path, figures: &str) -> Result<(), InputError> {
    write_between_markers(path, (README_BEGIN, README_END), figures)
}

/// Replaces what lies between the markers `begin` and `end` of the file at
/// `path` (every command that regenerates README figures goes through here).
pub fn write_between_markers(
    path: &Path,
    (begin_marker, end_marker): (&str, &str),
    figures: &str,
) -> Result<(), InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| InputError::io(path, e))?;
    let (Some(begin), Some(end)) = (text.find(begin_marker), text.find(end_marker)) else {
        return Err(InputError::new(
            path.display().to_string(),
            format!("no bench markers: the figures go between `{begin_marker}` and `{end_marker}`"),
        ));
    };
    if end < begin {
        return Err(InputError::new(
            path.display().to_string(),
            "the bench end marker comes before the begin marker",
        ));
    }
    let updated = format!(
        "{}{begin_marker}\n{figures}{}",
        &text[..begin],
        &text[end..]
    );
    std::fs::write(path, updated).map_err(|e| InputError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_figures_go_between_the_markers_and_nowhere_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("README.md");
        std::fs::write(
            &path,
            format!("intro\n{README_BEGIN}\nold\n{README_END}\nrest\n"),
        )
        .unwrap();
        write_readme(&path, "new figures\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("intro\n{README_BEGIN}\nnew figures\n{README_END}\nrest\n")
        );
        std::fs::write(&path, "no markers\n").unwrap();
        let e = write_readme(&path, "x").unwrap_err().to_string();
        assert!(e.contains("bench markers"), "{e}");
    }

    #[test]
    fn a_small_case_is_measured_and_an_impossible_size_says_why() {
        let registry = Registry::builtin();
        let plan = BenchPlan {
            cases: default_cases(&registry),
            sizes: vec![2],
            duration: 200 * sim_core::MILLIS,
            max_events: 100_000,
            kernel_events: 1000,
            max_wall_s: 60.0,
        };
        let raft = plan.cases.iter().find(|c| c.protocol == "raft").unwrap();
        let m = measure(&registry, raft, 2, &plan).unwrap();
        assert!(m.events > 0 && m.delivered > 0, "{m:?}");
        assert_eq!(m.virtual_ns, plan.duration);
        let e = measure(&registry, raft, u32::MAX, &plan).unwrap_err();
        assert!(e.to_string().contains("workload.clients"), "{e}");
        assert!(table_row(&Row {
            label: "raft".into(),
            size: u32::MAX,
            result: Err(e.to_string())
        })
        .contains("not run"));
    }
}
