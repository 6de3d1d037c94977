//! Output directories: a run (or a sweep) owns the directory it writes.
//!
//! Reusing `--out` must not mix two runs: a report reads whatever
//! `trace.jsonl` or `timeline.svg` lies in the directory, so an old one would
//! show up beside the new summary. Before writing, every file this kind of
//! directory may hold is removed. A directory holding anything else (another
//! kind of output, files of the user's) is refused rather than cleared, so
//! that a mistyped `--out` never deletes what is not ours.

use std::path::Path;

use crate::error::InputError;

/// The subdirectory of a run directory holding one log per node
/// (`--node-logs`: `logs/n0.log`, `logs/n1.log`, …).
pub const NODE_LOGS: &str = "logs";

/// What a directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutKind {
    /// `run` and `shrink`: a run directory.
    Run,
    /// `sweep`: a sweep directory.
    Sweep,
}

impl OutKind {
    /// The file whose presence makes a directory one of this kind.
    fn marker(self) -> &'static str {
        match self {
            OutKind::Run => "summary.json",
            OutKind::Sweep => "sweep.jsonl",
        }
    }

    /// Every file a directory of this kind may hold.
    pub fn files(self) -> Vec<String> {
        let (written, plots): (&[&str], &[&str]) = match self {
            OutKind::Run => (
                &[
                    "summary.json",
                    "history.jsonl",
                    "faults.json",
                    "trace.jsonl",
                    "timeline.svg",
                    "counterexample.svg",
                    "counterexample.json",
                    "report.html",
                ],
                &reports::RUN_PLOTS,
            ),
            OutKind::Sweep => (
                &[
                    "sweep.jsonl",
                    "sweep-summary.json",
                    "sweep-timing.json",
                    "report.html",
                ],
                &reports::SWEEP_PLOTS,
            ),
        };
        let plot_files = plots
            .iter()
            .flat_map(|p| [format!("{p}.png"), format!("{p}.svg")]);
        written
            .iter()
            .map(|f| f.to_string())
            .chain(plot_files)
            .collect()
    }

    fn name(self) -> &'static str {
        match self {
            OutKind::Run => "run",
            OutKind::Sweep => "sweep",
        }
    }
}

/// Makes `dir` ready for a new output of `kind`: created if missing, the
/// files of an earlier output of the same kind removed. Refused (bad input)
/// when it holds anything else, unless it is already marked as this kind
/// (then other entries, e.g. a `shrunk/` directory, are left alone).
pub fn claim(dir: &Path, kind: OutKind) -> Result<(), InputError> {
    let name = || dir.display().to_string();
    let io = |what: &str, e: std::io::Error| InputError::new(name(), format!("cannot {what}: {e}"));
    std::fs::create_dir_all(dir).map_err(|e| io("create", e))?;
    let ours = kind.files();
    let mut foreign = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io("read", e))? {
        let entry = entry.map_err(|e| io("read", e))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let node_logs = kind == OutKind::Run && file == NODE_LOGS;
        if !ours.contains(&file) && !node_logs {
            foreign.push(file);
        }
    }
    foreign.sort();
    if !foreign.is_empty() && !dir.join(kind.marker()).is_file() {
        return Err(InputError::new(
            name(),
            format!(
                "holds files that are not a {}'s output ({}): choose an empty or new directory",
                kind.name(),
                foreign.join(", ")
            ),
        )
        .with_field("--out"));
    }
    for file in &ours {
        let path = dir.join(file);
        if path.is_file() {
            std::fs::remove_file(&path).map_err(|e| io(&format!("remove {file}"), e))?;
        }
    }
    if kind == OutKind::Run {
        clear_node_logs(dir)?;
    }
    Ok(())
}

/// Removes the node logs of an earlier run from `dir/logs` (the files
/// `nN.log` only), and the directory itself if that leaves it empty.
pub fn clear_node_logs(dir: &Path) -> Result<(), InputError> {
    let logs = dir.join(NODE_LOGS);
    if !logs.is_dir() {
        return Ok(());
    }
    let io = |e: std::io::Error| InputError::new(logs.display().to_string(), e.to_string());
    for entry in std::fs::read_dir(&logs).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if is_node_log(&path) {
            std::fs::remove_file(&path).map_err(io)?;
        }
    }
    if std::fs::read_dir(&logs).map_err(io)?.next().is_none() {
        std::fs::remove_dir(&logs).map_err(io)?;
    }
    Ok(())
}

/// `nN.log`, as `sim_core::logging::NodeLogs` names a node's log.
fn is_node_log(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.strip_prefix('n')
        .and_then(|n| n.strip_suffix(".log"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_run_directory_loses_every_old_file_and_keeps_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for f in OutKind::Run.files() {
            std::fs::write(dir.join(&f), "old").unwrap();
        }
        std::fs::create_dir(dir.join("shrunk")).unwrap();
        std::fs::create_dir(dir.join(NODE_LOGS)).unwrap();
        std::fs::write(dir.join("logs/n0.log"), "old").unwrap();
        std::fs::write(dir.join("logs/n12.log"), "old").unwrap();
        claim(dir, OutKind::Run).unwrap();
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, ["shrunk"]);
    }

    #[test]
    fn old_node_logs_go_and_anything_else_in_logs_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let logs = tmp.path().join(NODE_LOGS);
        std::fs::create_dir(&logs).unwrap();
        for f in ["n3.log", "notes.txt", "n.log", "nx.log"] {
            std::fs::write(logs.join(f), "x").unwrap();
        }
        clear_node_logs(tmp.path()).unwrap();
        let mut left: Vec<_> = std::fs::read_dir(&logs)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["n.log", "notes.txt", "nx.log"]);
    }

    #[test]
    fn a_directory_holding_something_else_is_refused_and_left_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("thesis.tex"), "mine").unwrap();
        std::fs::write(dir.join("trace.jsonl"), "old").unwrap();
        let e = claim(dir, OutKind::Run).unwrap_err();
        assert!(e.message.contains("thesis.tex"), "{e}");
        assert!(dir.join("trace.jsonl").exists() && dir.join("thesis.tex").exists());
        // A sweep directory is not a run directory, and the other way round.
        let sweep = tmp.path().join("sweep");
        std::fs::create_dir(&sweep).unwrap();
        std::fs::write(sweep.join("sweep.jsonl"), "{}").unwrap();
        assert!(claim(&sweep, OutKind::Run).is_err());
        claim(&sweep, OutKind::Sweep).unwrap();
        assert!(!sweep.join("sweep.jsonl").exists());
    }
}
