//! The `clustersim` command line. Exit codes everywhere: 0 every check
//! passed, 1 a check found a violation (or a replay diverged), 2 bad input.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::catalogue;
use crate::error::InputError;
use crate::runner::{self, RunOptions, RunOutcome};
use crate::summary::Summary;

#[derive(Parser, Debug)]
#[command(
    name = "clustersim",
    version,
    about = "Deterministic discrete-event cluster simulator"
)]
pub struct Cli {
    /// Log level for messages from inside nodes (error, warn, info, debug, trace).
    #[arg(long, global = true, default_value = "warn")]
    pub log: tracing::Level,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the built-in scenarios, one line each.
    List,
    /// Run a scenario (a built-in name or a .toml file) at one seed.
    Run {
        scenario: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Run directory (default: runs/NAME-SEED).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write every event to DIR/trace.jsonl.
        #[arg(long)]
        trace: bool,
        /// Override a scenario field: --set network.loss=0.1 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Re-run a recorded run; exit 0 if the fingerprint matches, 1 if not.
    Replay { dir: PathBuf },
    /// Check an external or recorded history for linearizability.
    Check {
        history: PathBuf,
        /// register, cas-register, kv, lock, lease, set, counter.
        #[arg(long)]
        model: String,
        /// jepsen-log, jepsen-edn or jsonl (detected when not given).
        #[arg(long)]
        format: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Parses the arguments and runs the command; returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    sim_core::logging::install(cli.log);
    let code = match cli.command {
        Command::List => list(),
        Command::Run {
            scenario,
            seed,
            out,
            trace,
            sets,
        } => run(&scenario, seed, out, trace, &sets),
        Command::Replay { dir } => replay(&dir),
        Command::Check {
            history,
            model,
            format,
            json,
        } => checkers::cli::check_command(&history, &model, format.as_deref(), json),
    };
    ExitCode::from(code as u8)
}

fn list() -> i32 {
    let entries = catalogue::list();
    let width = entries.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, description) in entries {
        println!("{name:<width$}  {description}");
    }
    0
}

/// Prints a bad-input error and returns exit code 2.
fn bad_input(e: &InputError) -> i32 {
    eprintln!("error: {e}");
    2
}

fn run(name: &str, seed: u64, out: Option<PathBuf>, trace: bool, sets: &[String]) -> i32 {
    let scenario = match catalogue::resolve(name, sets) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    let dir =
        out.unwrap_or_else(|| PathBuf::from("runs").join(format!("{}-{seed}", scenario.name)));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return bad_input(&InputError::new(
            dir.display().to_string(),
            format!("cannot create: {e}"),
        ));
    }
    let options = RunOptions {
        trace: trace.then(|| dir.join("trace.jsonl")),
    };
    let started = std::time::Instant::now();
    let outcome = match runner::run(&scenario, seed, &options) {
        Ok(o) => o,
        Err(e) => return bad_input(&e),
    };
    let wall = started.elapsed();
    if let Err(e) = runner::write_run_dir(&dir, &outcome) {
        return bad_input(&InputError::new(
            dir.display().to_string(),
            format!("cannot write: {e}"),
        ));
    }
    print_summary(&outcome, &dir, wall);
    exit_code(&outcome.summary)
}

fn exit_code(summary: &Summary) -> i32 {
    if summary.passed {
        0
    } else {
        1
    }
}

fn print_summary(outcome: &RunOutcome, dir: &Path, wall: std::time::Duration) {
    let s = &outcome.summary;
    let m = &s.messages;
    println!(
        "scenario     {} (protocol {}, seed {})",
        s.scenario.name, s.scenario.protocol, s.seed
    );
    println!(
        "cluster      {} replicas, {} clients; {:.3} s virtual in {:.3} s wall",
        s.cluster.replicas.len(),
        s.cluster.clients.len(),
        s.virtual_time_ns as f64 / 1e9,
        wall.as_secs_f64()
    );
    let rate = s.events.handled as f64 / wall.as_secs_f64().max(1e-9);
    println!(
        "events       {} handled, {} recorded ({rate:.0} events/s)",
        s.events.handled, s.events.recorded
    );
    println!(
        "messages     {} sent, {} delivered, {} dropped, {} duplicated, {} corrupted",
        m.sent, m.delivered, m.dropped, m.duplicated, m.corrupted
    );
    println!(
        "operations   {} invoked: {} ok, {} fail, {} info; {:.1} ok/s",
        s.ops.invoked, s.ops.ok, s.ops.fail, s.ops.info, s.throughput
    );
    let l = &s.latency_ms;
    println!(
        "latency ms   p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        l.p50, l.p90, l.p99, l.max
    );
    if let Some(f) = &s.finding {
        let node = f.node.map(|n| format!(" on node {n}")).unwrap_or_default();
        println!(
            "FINDING      {} at {:.6} s{node} (seed {}): {}",
            f.kind,
            f.time as f64 / 1e9,
            s.seed,
            f.message
        );
    }
    for v in &s.verdicts {
        let mark = match v.result.as_str() {
            "pass" => "pass",
            "fail" => "FAIL",
            _ => "unknown",
        };
        let detail = if v.detail.is_empty() {
            String::new()
        } else {
            format!("  {}", first_line(&v.detail))
        };
        println!("check        {mark:<7} {}{detail}", v.check);
    }
    println!("fingerprint  {}", s.fingerprint);
    println!("written to   {}", dir.display());
    if !s.passed {
        println!("replay with  clustersim replay {}", dir.display());
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Reads a run directory's summary; errors name the file and line.
pub fn read_summary(dir: &Path) -> Result<Summary, InputError> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| InputError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        InputError::new(path.display().to_string(), e.to_string()).at(e.line(), e.column())
    })
}

fn replay(dir: &Path) -> i32 {
    let recorded = match read_summary(dir) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    let outcome = match runner::run(&recorded.scenario, recorded.seed, &RunOptions::default()) {
        Ok(o) => o,
        Err(e) => return bad_input(&e),
    };
    let now = &outcome.summary;
    if now.fingerprint != recorded.fingerprint {
        println!(
            "DIVERGED: {} seed {}: recorded fingerprint {}, replay gives {}",
            recorded.scenario.name, recorded.seed, recorded.fingerprint, now.fingerprint
        );
        return 1;
    }
    println!(
        "replay matches: {} seed {}, fingerprint {}",
        recorded.scenario.name, recorded.seed, now.fingerprint
    );
    if let Some(f) = &now.finding {
        println!(
            "same finding: {} at {:.6} s: {}",
            f.kind,
            f.time as f64 / 1e9,
            f.message
        );
    }
    0
}
