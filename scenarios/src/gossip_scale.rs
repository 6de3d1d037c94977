//! The gossip study: how long a large `crdt` cluster takes to converge
//! against gossip fanout and interval, and what a run costs.
//!
//! Each point runs `crdt` with `replicas` replicas, four clients updating
//! until the last `quiesce` of the run, 1 % message loss and no other fault;
//! the figure is the driver's `convergence_ms` (how long after the clients
//! stopped every live replica held one state), the median over the seeds.
//! `clustersim gossip-scale` prints the table and draws
//! `gossip-convergence.svg/png`: one line per interval, fanout on the x axis.

use std::path::Path;
use std::time::Instant;

use sim_core::Nanos;

use crate::bench::{peak_memory_mb, reset_peak_memory};
use crate::error::InputError;
use crate::registry::Registry;
use crate::runner::RunOptions;

#[derive(Debug, Clone)]
pub struct GossipPlan {
    pub replicas: u32,
    pub fanouts: Vec<usize>,
    pub intervals: Vec<Nanos>,
    pub seeds: u64,
}

/// One setting's figures.
#[derive(Debug, Clone)]
pub struct Point {
    pub fanout: usize,
    pub interval: Nanos,
    /// Median over the seeds; `None` if some run never converged.
    pub convergence_ms: Option<f64>,
    pub events: u64,
    pub events_per_s: f64,
    pub peak_mb: Option<f64>,
}

fn scenario_text(plan: &GossipPlan, fanout: usize, interval: Nanos) -> String {
    let ms = interval as f64 / 1e6;
    format!(
        "protocol = \"crdt\"\nreplicas = {}\nduration = \"4s\"\n\n\
         [workload]\nclients = 4\nthink_ms = 5\ntimeout_ms = 50\n\n\
         [network]\nlatency = {{ kind = \"uniform\", min = \"500us\", max = \"5ms\" }}\nloss = 0.01\n\n\
         [checks]\nlinearizability = false\n\n\
         [options]\ngossip = \"{ms}ms\"\nfanout = {fanout}\nquiesce = \"3s\"\n",
        plan.replicas
    )
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Runs every (interval, fanout) of `plan`, calling `each` with each point.
pub fn run(
    registry: &Registry,
    plan: &GossipPlan,
    mut each: impl FnMut(&Point),
) -> Result<Vec<Point>, InputError> {
    let mut points = Vec::new();
    for &interval in &plan.intervals {
        for &fanout in &plan.fanouts {
            let text = scenario_text(plan, fanout, interval);
            let source = format!("gossip-scale fanout {fanout}");
            let scenario = registry.parse(&text, &source, &[])?;
            let (mut times, mut events, mut wall) = (Vec::new(), 0, 0.0);
            let mut converged = true;
            reset_peak_memory();
            for seed in 1..=plan.seeds.max(1) {
                let started = Instant::now();
                let outcome = registry.run(&scenario, seed, &RunOptions::default())?;
                wall += started.elapsed().as_secs_f64();
                events += outcome.summary.events.handled;
                match outcome.summary.stats.get("convergence_ms") {
                    Some(&ms) => times.push(ms),
                    None => converged = false,
                }
            }
            let point = Point {
                fanout,
                interval,
                convergence_ms: converged.then(|| median(times)),
                events,
                events_per_s: events as f64 / wall.max(1e-9),
                peak_mb: peak_memory_mb(),
            };
            each(&point);
            points.push(point);
        }
    }
    Ok(points)
}

pub const TABLE_HEADER: &str = "| interval | fanout | convergence (median) | events | events/s | peak memory |\n|---:|---:|---:|---:|---:|---:|\n";

pub fn table_row(p: &Point) -> String {
    let converged = p
        .convergence_ms
        .map_or("did not converge".to_string(), |ms| format!("{ms:.0} ms"));
    let peak = p
        .peak_mb
        .map_or("-".to_string(), |mb| format!("{mb:.0} MB"));
    format!(
        "| {} ms | {} | {converged} | {} | {:.0} k | {peak} |\n",
        p.interval / 1_000_000,
        p.fanout,
        p.events,
        p.events_per_s / 1e3
    )
}

/// Draws convergence time against fanout, one line per interval, into `dir`.
pub fn plot(plan: &GossipPlan, points: &[Point], dir: &Path) -> Result<(), InputError> {
    let series = plan
        .intervals
        .iter()
        .map(|&interval| reports::Series {
            label: format!("gossip every {} ms", interval / 1_000_000),
            points: points
                .iter()
                .filter(|p| p.interval == interval)
                .filter_map(|p| Some((p.fanout as f64, p.convergence_ms?)))
                .collect(),
        })
        .collect();
    let chart = reports::XyPlot {
        name: "gossip-convergence",
        title: format!(
            "{} CRDT replicas: convergence after the clients stop",
            plan.replicas
        ),
        x_label: "gossip fanout (peers per round)".into(),
        y_label: "convergence time (ms)".into(),
        log2_x: false,
        series,
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| InputError::new(dir.display().to_string(), e.to_string()))?;
    reports::write_xy_plot(&chart, dir)
        .map(|_| ())
        .map_err(|e| InputError::new(dir.display().to_string(), e.to_string()))
}
