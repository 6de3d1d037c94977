//! Plots and HTML reports of runs and sweeps, drawn without system libraries.
//!
//! A report is rendered from a directory on disk, never from in-memory types
//! of the scenarios crate (which depends on this one): a run directory holds
//! `summary.json` and `history.jsonl`, a sweep directory holds `sweep.jsonl`
//! (and `sweep-summary.json`). Re-rendering is therefore always possible,
//! and `clustersim report DIR` does just that.
//!
//! Every plot is written as PNG and SVG, byte-identical for the same input.
//! `report.html` links them by relative name, so it opens from disk.

mod axis;
mod consistency;
mod counterexample;
mod error;
mod fault_band;
mod fault_kind;
mod figure;
mod font;
mod html;
mod node_logs;
mod run;
mod run_input;
mod run_plots;
mod sweep;
mod sweep_input;
mod sweep_plots;
mod timeline;
mod xy_plot;

use std::path::{Path, PathBuf};

pub use error::{ErrorKind, ReportError};
pub use fault_kind::fault_colour_svg;
pub use run::render_run;
pub use run_input::FaultInterval;
pub use sweep::{render_sweep, DEFAULT_METRIC};
pub use timeline::MAX_MESSAGES as TIMELINE_MAX_MESSAGES;
pub use xy_plot::{write_xy_plot, Series, XyPlot};

/// The plots of a run, by file stem (each as `.png` and `.svg`).
pub const RUN_PLOTS: [&str; 3] = ["latency", "throughput", "latency-cdf"];
/// The plots of a sweep, by file stem (each as `.png` and `.svg`).
pub const SWEEP_PLOTS: [&str; 2] = ["violations", "histogram"];

/// What a directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirKind {
    Run,
    Sweep,
}

/// A sweep directory has `sweep.jsonl`; a run directory has `summary.json`.
pub fn detect(dir: &Path) -> Result<DirKind, ReportError> {
    if dir.join("sweep.jsonl").is_file() {
        Ok(DirKind::Sweep)
    } else if dir.join("summary.json").is_file() {
        Ok(DirKind::Run)
    } else {
        Err(ReportError::input(
            dir.display().to_string(),
            "neither a run directory (summary.json) nor a sweep directory (sweep.jsonl)",
        ))
    }
}

/// Renders whatever `dir` holds (`metric` is used by sweeps only).
pub fn render_dir(dir: &Path, metric: &str) -> Result<(DirKind, Vec<PathBuf>), ReportError> {
    let kind = detect(dir)?;
    let written = match kind {
        DirKind::Run => render_run(dir)?,
        DirKind::Sweep => render_sweep(dir, metric)?,
    };
    Ok((kind, written))
}
