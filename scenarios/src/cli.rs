//! The `clustersim` command line. Exit codes everywhere: 0 every check
//! passed, 1 a check found a violation (or a replay diverged, or two traces
//! differ), 2 bad input, 3 `check` could not decide ([`EXIT_CODES`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

use crate::bench;
use crate::error::InputError;
use crate::gossip_scale;
use crate::out_dir::{self, OutKind};
use crate::registry::Registry;
use crate::runner::{self, RunOptions, RunOutcome};
use crate::shard_env;
use crate::summary::Summary;
use crate::sweep::{self, SeedRange, SweepPlan, SweepSummary, SweepTiming};

/// The exit codes, as `--help` lists them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  every check passed (replay: same fingerprint; diff: identical traces;
     check: linearizable, check --ladder: every rung that applies holds;
     shrink: the run passes, nothing to shrink)
  1  a check failed (replay: diverged; diff: the traces differ; shrink: the
     shrunk run is written and fails; check: not linearizable, check
     --ladder: a rung fails)
  2  bad input: the message names the file, line and field (or the flag)
  3  check only: unknown, a limit (--budget, --memory, --timeout) ran out
     (--ladder: no rung fails, one is unknown)";

#[derive(Parser, Debug)]
#[command(
    name = "clustersim",
    version,
    about = "Deterministic discrete-event cluster simulator",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Which log lines to show: a level (error, warn, info, debug, trace) or
    /// RUST_LOG-style directives (`protocols::raft=debug,warn`). Overrides
    /// RUST_LOG; default warn, or debug with --node-logs. Lines carry the
    /// virtual time and node (`t=1.250000000 n=2`) and go to stderr.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the scenarios, one line each, then the protocols.
    List,
    /// Run a scenario (a built-in name or a .toml file) at one seed.
    Run {
        /// A built-in scenario's name (`clustersim list`) or a scenario file.
        scenario: String,
        /// The run's seed (default: the scenario's `seed`, else 1).
        #[arg(long)]
        seed: Option<u64>,
        /// Run directory (default: runs/NAME-SEED).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write every event to DIR/trace.jsonl.
        #[arg(long)]
        trace: bool,
        /// Override a scenario field: --set network.loss=0.1 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Replace the scenario's faults by a fixed schedule (a run's faults.json).
        #[arg(long, value_name = "FAULTS.json")]
        faults: Option<PathBuf>,
        /// Write each node's log lines to DIR/logs/nN.log instead of stderr
        /// (linked from report.html).
        #[arg(long)]
        node_logs: bool,
    },
    /// Re-run a recorded run; exit 0 if the fingerprint matches, 1 if not.
    Replay {
        /// The run directory (its summary.json holds scenario and seed).
        dir: PathBuf,
        /// Also write every event of the replay to DIR/trace.jsonl.
        #[arg(long)]
        trace: bool,
        /// Write each node's log lines to DIR/logs/nN.log instead of stderr
        /// (report.html is rendered again to link them).
        #[arg(long)]
        node_logs: bool,
    },
    /// The first event where two traces part ways, with the events around
    /// it; exit 0 if identical, 1 if they differ.
    Diff {
        /// A run directory holding trace.jsonl (recorded with --trace), or a
        /// trace file.
        run_a: PathBuf,
        /// The other run directory or trace file.
        run_b: PathBuf,
        /// Events shown before and after the first difference.
        #[arg(long, default_value_t = 3)]
        context: usize,
    },
    /// Shrink a failing run to the fewest faults, shortest time and fewest
    /// clients that still fail the same check; writes the result as a run.
    Shrink {
        /// The failing run's directory (summary.json and faults.json).
        dir: PathBuf,
        /// Where to write the shrunk run and its scenario file shrunk.toml
        /// (default: DIR/shrunk).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Runs the search may spend.
        #[arg(long, default_value_t = 400)]
        max_runs: usize,
    },
    /// Run a scenario over many seeds in parallel; exit 1 if any seed fails.
    Sweep {
        /// A built-in scenario's name (`clustersim list`) or a scenario file.
        scenario: String,
        /// Seeds to run: A..B (B excluded) or A..=B.
        #[arg(long)]
        seeds: String,
        /// Parallel simulations (default: the number of cores); never more
        /// than there are seeds, nor than 256.
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only the seeds s with s % N == K, given as K/N; or `auto`
        /// (a Slurm job array: K and N from SLURM_ARRAY_TASK_ID/_MIN/_STEP
        /// and SLURM_ARRAY_TASK_COUNT); or `auto/N` (K from
        /// JOB_COMPLETION_INDEX of a Kubernetes Indexed Job, or from Slurm's).
        #[arg(long, value_name = "K/N|auto|auto/N")]
        shard: Option<String>,
        /// Sweep directory (default: runs/sweep-NAME-A-B).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a scenario field: --set network.loss=0.1 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// The metric of the report's histogram, a field of sweep.jsonl.
        #[arg(long, default_value = reports::DEFAULT_METRIC)]
        metric: String,
    },
    /// Merge the shard directories of one sweep (`sweep --shard`) into the
    /// sweep directory the unsharded sweep writes, byte for byte; exit 1 if
    /// any seed failed, 2 if the shards are not all of one sweep, each once.
    Merge {
        /// The sweep directories of the shards (`sweep --shard`), one per
        /// shard, in any order.
        #[arg(required = true, value_name = "SHARD_DIR")]
        dirs: Vec<PathBuf>,
        /// The merged sweep directory.
        #[arg(long)]
        out: PathBuf,
        /// The metric of the report's histogram, a field of sweep.jsonl.
        #[arg(long, default_value = reports::DEFAULT_METRIC)]
        metric: String,
    },
    /// (Re)render the plots and report.html of a run or sweep directory.
    Report {
        /// A run directory (summary.json) or a sweep directory (sweep.jsonl).
        dir: PathBuf,
        /// For a sweep: the metric of the histogram, a field of sweep.jsonl.
        #[arg(long, default_value = reports::DEFAULT_METRIC)]
        metric: String,
    },
    /// Measure the simulator: per protocol and size, events/s, delivered
    /// messages/s, virtual seconds per wall second and peak memory; then the
    /// kernel flood next to a bare binary heap. Prints a Markdown table.
    Bench {
        /// Client counts to run each protocol at.
        #[arg(long, value_delimiter = ',', default_value = "5,50,500,5000")]
        sizes: Vec<u32>,
        /// Only these protocols (default: all, and Raft with batching off).
        #[arg(long, value_delimiter = ',')]
        protocols: Vec<String>,
        /// Virtual time of each run.
        #[arg(long, default_value = "10s")]
        duration: String,
        /// Events after which a run stops (keeps large sizes short).
        #[arg(long, default_value_t = 2_000_000)]
        max_events: u64,
        /// Events of the kernel flood and of the bare heap.
        #[arg(long, default_value_t = 2_000_000)]
        kernel_events: u64,
        /// A protocol whose run took longer than this many wall seconds is
        /// not run at larger sizes.
        #[arg(long, default_value_t = 30.0)]
        max_wall: f64,
        /// Also write the figures between the bench markers of this file.
        #[arg(long, value_name = "README")]
        write_readme: Option<PathBuf>,
    },
    /// Study gossip at scale: a `crdt` cluster's convergence time against
    /// gossip fanout and interval, and what each run costs. Prints a
    /// Markdown table and draws OUT/gossip-convergence.svg and .png.
    GossipScale {
        #[arg(long, default_value_t = 1000)]
        replicas: u32,
        #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
        fanouts: Vec<usize>,
        /// Gossip intervals.
        #[arg(long, value_delimiter = ',', default_value = "10ms,20ms,50ms")]
        intervals: Vec<String>,
        /// Seeds per setting (the figure is their median).
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        #[arg(long, default_value = "gossip-scale")]
        out: PathBuf,
    },
    /// PBFT's figures, in virtual time (deterministic): throughput and
    /// latency against batch size next to Raft on the same network, and
    /// operations over time under the faulty-client attack. Writes PNG and
    /// SVG plots and the tables (pbft-figures.md) into --out.
    PbftFigures {
        #[arg(long, default_value = "runs/pbft-figures")]
        out: PathBuf,
        /// Also write the tables between the pbft-figures markers of this file.
        #[arg(long, value_name = "README")]
        write_readme: Option<PathBuf>,
    },
    /// Compare the lock designs (redlock, lease-lock, coord) under the same
    /// six faults, with the guarded resource fencing and not: per cell,
    /// runs with interleaved writes at the resource, runs whose lock
    /// history is not a mutex's, and the wait for the lock. Prints a
    /// Markdown table; writes it (lock-compare.md) and PNG/SVG plots into
    /// --out. A scenario not built shows as "not built".
    LockCompare {
        /// Seeds 1..=N of every cell.
        #[arg(long, default_value_t = 50)]
        seeds: u64,
        #[arg(long, default_value = "runs/lock-compare")]
        out: PathBuf,
        /// Also write the table between the lock-compare markers of this file.
        #[arg(long, value_name = "README")]
        write_readme: Option<PathBuf>,
    },
    /// Check an external or recorded history for linearizability.
    /// Exit 0 linearizable, 1 not, 2 bad input, 3 unknown (a limit ran out).
    Check {
        /// The history file (a Jepsen log or EDN, Knossos EDN, or
        /// clustersim's history.jsonl).
        history: PathBuf,
        /// register, cas-register, kv, lock, lease, set, counter (with
        /// --ladder: the model of the linearizable rung, default cas-register).
        #[arg(long, required_unless_present = "ladder")]
        model: Option<String>,
        /// Print the consistency ladder: linearizable, causal (read/write
        /// histories), each with its first counterexample. Exit 0 all
        /// that apply hold, 1 one fails, 3 none fails but one is unknown.
        #[arg(long)]
        ladder: bool,
        /// What to check: linearizable (default), or sequential (sequential
        /// consistency: only each process's own order counts, all keys
        /// together).
        #[arg(long, value_name = "C")]
        consistency: Option<String>,
        /// jepsen-log, jepsen-edn, knossos-edn or jsonl (detected when not given).
        #[arg(long)]
        format: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Search steps allowed over all keys (default 50 000 000).
        #[arg(long, value_name = "STEPS")]
        budget: Option<u64>,
        /// Memory for all search tables, in MB (default 1074).
        #[arg(long, value_name = "MB")]
        memory: Option<u64>,
        /// Wall-clock limit in seconds (the verdict is then `unknown`, exit 3).
        #[arg(long, value_name = "S")]
        timeout: Option<f64>,
        /// Also write the history as EDN (one vector, Knossos's shape).
        #[arg(long, value_name = "FILE")]
        write_edn: Option<PathBuf>,
        /// Also write the verdict as an HTML page with a picture of the
        /// counterexample (operations per client on a time axis).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
}

/// The name this binary was started by: `clustersim`, or an outside
/// crate's own binary built on [`main_with`], so that the commands it prints
/// (replay, trace) are ones the user can paste.
pub fn program_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(Path::new)
        .and_then(Path::file_stem)
        .and_then(|s| s.to_str())
        .unwrap_or("clustersim")
        .to_string()
}

/// Whether standard output was closed under us (`clustersim list | head -1`).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to standard output; once the reader has gone (a closed pipe), the
/// rest of the output is dropped quietly and the command finishes with its
/// own exit code (`println!` would panic, exit 101).
fn write_stdout(args: std::fmt::Arguments) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        } else {
            eprintln!("error: cannot write to standard output: {e}");
        }
    }
}

macro_rules! out {
    ($($arg:tt)*) => { write_stdout(format_args!($($arg)*)) };
}

macro_rules! outln {
    ($($arg:tt)*) => { write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Parses the arguments and runs the command with the built-in protocols
/// and catalogue; returns the exit code.
pub fn main() -> ExitCode {
    main_with(Registry::builtin())
}

/// The whole command line (`run`, `replay`, `sweep`, `shrink`, `report`,
/// `check`, `list`) over the protocols and scenarios of `registry`: what an
/// outside crate's binary calls to run its own protocol (see
/// `examples/own-protocol/`).
pub fn main_with(registry: Registry) -> ExitCode {
    let cli = Cli::parse();
    let registry = &registry;
    if let Err(message) = install_logging(&cli) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    let code = match cli.command {
        Command::List => list(registry),
        Command::Run {
            scenario,
            seed,
            out,
            trace,
            sets,
            faults,
            node_logs,
        } => run(
            registry,
            &scenario,
            seed,
            out,
            RunFlags { trace, node_logs },
            &sets,
            faults.as_deref(),
        ),
        Command::Shrink { dir, out, max_runs } => shrink(registry, &dir, out, max_runs),
        Command::Replay {
            dir,
            trace,
            node_logs,
        } => replay(registry, &dir, RunFlags { trace, node_logs }),
        Command::Diff {
            run_a,
            run_b,
            context,
        } => diff(&run_a, &run_b, context),
        Command::Sweep {
            scenario,
            seeds,
            jobs,
            shard,
            out,
            sets,
            metric,
        } => match sweep_plan(registry, &scenario, &seeds, jobs, shard.as_deref(), &sets) {
            Ok(plan) => run_sweep(registry, &plan, out, &metric),
            Err(e) => bad_input(&e),
        },
        Command::Merge { dirs, out, metric } => merge(&dirs, &out, &metric),
        Command::Report { dir, metric } => report(&dir, &metric),
        Command::Bench {
            sizes,
            protocols,
            duration,
            max_events,
            kernel_events,
            max_wall,
            write_readme,
        } => bench(
            registry,
            sizes,
            &protocols,
            &duration,
            (max_events, kernel_events, max_wall),
            write_readme.as_deref(),
        ),
        Command::GossipScale {
            replicas,
            fanouts,
            intervals,
            seeds,
            out,
        } => gossip_scale(registry, replicas, fanouts, &intervals, seeds, &out),
        Command::PbftFigures { out, write_readme } => {
            pbft_figures(registry, &out, write_readme.as_deref())
        }
        Command::LockCompare {
            seeds,
            out,
            write_readme,
        } => lock_compare(registry, seeds, &out, write_readme.as_deref()),
        Command::Check {
            history,
            model,
            consistency,
            format,
            json,
            budget,
            memory,
            timeout,
            write_edn,
            html,
            ladder,
        } => checkers::cli::check_command(&checkers::cli::CheckArgs {
            file: history,
            // Present unless --ladder (clap requires it otherwise).
            model: model.unwrap_or_else(|| "cas-register".to_string()),
            consistency,
            ladder,
            format,
            json,
            budget,
            memory_mb: memory,
            timeout_s: timeout,
            write_edn,
            html,
        }),
    };
    ExitCode::from(code as u8)
}

/// Installs the log subscriber with the filter of `--log`, else `RUST_LOG`,
/// else `warn` (`debug` when the run keeps node logs: they are for reading
/// what happened). A filter that does not parse is bad input.
fn install_logging(cli: &Cli) -> Result<(), String> {
    let node_logs = matches!(
        cli.command,
        Command::Run {
            node_logs: true,
            ..
        } | Command::Replay {
            node_logs: true,
            ..
        }
    );
    let env = std::env::var("RUST_LOG").ok();
    let default = if node_logs { "debug" } else { "warn" };
    let (directives, source) =
        sim_core::logging::choose_filter(cli.log.as_deref(), env.as_deref(), default);
    sim_core::logging::install(sim_core::logging::parse_filter(directives, source)?);
    Ok(())
}

/// What `run` and `replay` record besides the run directory's usual files.
#[derive(Debug, Clone, Copy)]
struct RunFlags {
    /// Every event, to DIR/trace.jsonl.
    trace: bool,
    /// Each node's log lines, to DIR/logs/nN.log.
    node_logs: bool,
}

impl RunFlags {
    fn options(self, dir: &Path) -> RunOptions {
        RunOptions {
            trace: self.trace.then(|| dir.join("trace.jsonl")),
            node_logs: self.node_logs.then(|| dir.join(out_dir::NODE_LOGS)),
        }
    }
}

fn list(registry: &Registry) -> i32 {
    let scenarios = registry.scenarios();
    let protocols = registry.protocols();
    let width = scenarios
        .iter()
        .map(|(n, _)| n.len())
        .chain(protocols.iter().map(|(n, _)| n.len()))
        .max()
        .unwrap_or(0);
    for (name, description) in &scenarios {
        outln!("{name:<width$}  {description}");
    }
    outln!("\nprotocols:");
    for (name, description) in protocols {
        outln!("{name:<width$}  {description}");
    }
    0
}

fn bench(
    registry: &Registry,
    sizes: Vec<u32>,
    protocols: &[String],
    duration: &str,
    (max_events, kernel_events, max_wall_s): (u64, u64, f64),
    readme: Option<&Path>,
) -> i32 {
    let duration = match sim_core::time::duration::parse(duration) {
        Ok(d) if d > 0 => d,
        Ok(_) => return bad_input(&InputError::new("--duration", "must be longer than 0s")),
        Err(m) => return bad_input(&InputError::new("--duration", m)),
    };
    let mut cases = bench::default_cases(registry);
    if !protocols.is_empty() {
        let known: Vec<&str> = registry.protocols().into_iter().map(|p| p.0).collect();
        if let Some(unknown) = protocols.iter().find(|p| !known.contains(&p.as_str())) {
            return bad_input(&InputError::new(
                "--protocols",
                format!("no protocol `{unknown}` (known: {})", known.join(", ")),
            ));
        }
        cases.retain(|c| protocols.contains(&c.protocol));
    }
    let plan = bench::BenchPlan {
        cases,
        sizes,
        duration,
        max_events,
        kernel_events,
        max_wall_s,
    };
    out!("{}", bench::TABLE_HEADER);
    let rows = bench::run(registry, &plan, |row| out!("{}", bench::table_row(row)));
    let kernel = sim_core::flood::kernel_vs_heap(plan.kernel_events);
    outln!("\n{}", bench::kernel_line(kernel.0, kernel.1).trim_end());
    if let Some(path) = readme {
        let figures = bench::markdown(&plan, &rows, kernel);
        if let Err(e) = bench::write_readme(path, &figures) {
            return bad_input(&e);
        }
        outln!("figures written to {}", path.display());
    }
    0
}

fn gossip_scale(
    registry: &Registry,
    replicas: u32,
    fanouts: Vec<usize>,
    intervals: &[String],
    seeds: u64,
    out: &Path,
) -> i32 {
    let mut parsed = Vec::new();
    for text in intervals {
        match sim_core::time::duration::parse(text) {
            Ok(d) if d >= 1_000_000 => parsed.push(d),
            Ok(_) => return bad_input(&InputError::new("--intervals", "each at least 1ms")),
            Err(m) => return bad_input(&InputError::new("--intervals", m)),
        }
    }
    if replicas < 2 || fanouts.contains(&0) {
        return bad_input(&InputError::new(
            "--replicas/--fanouts",
            "at least 2 replicas and a fanout of at least 1",
        ));
    }
    let plan = gossip_scale::GossipPlan {
        replicas,
        fanouts,
        intervals: parsed,
        seeds,
    };
    out!("{}", gossip_scale::TABLE_HEADER);
    let points =
        match gossip_scale::run(registry, &plan, |p| out!("{}", gossip_scale::table_row(p))) {
            Ok(points) => points,
            Err(e) => return bad_input(&e),
        };
    if let Err(e) = gossip_scale::plot(&plan, &points, out) {
        return bad_input(&e);
    }
    outln!(
        "plot written to {}",
        out.join("gossip-convergence.svg").display()
    );
    0
}

fn pbft_figures(registry: &Registry, out: &Path, readme: Option<&Path>) -> i32 {
    let figures = match crate::pbft_figures::write(registry, out) {
        Ok(figures) => figures,
        Err(e) => return bad_input(&e),
    };
    let tables = figures.tables;
    out!("{tables}");
    for f in figures.files {
        outln!("written      {}", f.display());
    }
    if let Some(path) = readme {
        let markers = (
            crate::pbft_figures::README_BEGIN,
            crate::pbft_figures::README_END,
        );
        if let Err(e) = bench::write_between_markers(path, markers, &tables) {
            return bad_input(&e);
        }
        outln!("figures written to {}", path.display());
    }
    0
}

fn lock_compare(registry: &Registry, seeds: u64, out: &Path, readme: Option<&Path>) -> i32 {
    use crate::lock_compare;
    if seeds == 0 {
        return bad_input(&InputError::new("--seeds", "at least 1 seed"));
    }
    let results = match lock_compare::run(registry, &lock_compare::cells(), seeds) {
        Ok(results) => results,
        Err(e) => return bad_input(&e),
    };
    let table = lock_compare::markdown(&results, seeds);
    out!("{table}");
    match lock_compare::write(&results, &table, out) {
        Ok(files) => {
            for f in files {
                outln!("written      {}", f.display());
            }
        }
        Err(e) => return bad_input(&e),
    }
    if let Some(path) = readme {
        let markers = (lock_compare::README_BEGIN, lock_compare::README_END);
        if let Err(e) = bench::write_between_markers(path, markers, &table) {
            return bad_input(&e);
        }
        outln!("table written to {}", path.display());
    }
    0
}

/// Prints a bad-input error and returns exit code 2.
fn bad_input(e: &InputError) -> i32 {
    eprintln!("error: {e}");
    2
}

fn run(
    registry: &Registry,
    name: &str,
    seed: Option<u64>,
    out: Option<PathBuf>,
    flags: RunFlags,
    sets: &[String],
    faults: Option<&Path>,
) -> i32 {
    let mut scenario = match registry.resolve(name, sets) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    let seed = seed.or(scenario.seed).unwrap_or(1);
    if let Some(path) = faults {
        match read_schedule(path) {
            Ok(schedule) => scenario.faults = fault_injection::FaultConfig::from(schedule),
            Err(e) => return bad_input(&e),
        }
        scenario.source = path.display().to_string();
        if let Err(e) = registry.check(&scenario) {
            return bad_input(&e);
        }
    }
    let dir =
        out.unwrap_or_else(|| PathBuf::from("runs").join(format!("{}-{seed}", scenario.name)));
    if let Err(e) = out_dir::claim(&dir, OutKind::Run) {
        return bad_input(&e);
    }
    let options = flags.options(&dir);
    let started = std::time::Instant::now();
    let outcome = match registry.run(&scenario, seed, &options) {
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
    if flags.node_logs {
        outln!("node logs    {}", dir.join(out_dir::NODE_LOGS).display());
    }
    if let Err(code) = render(reports::render_run(&dir)) {
        return code;
    }
    exit_code(&outcome.summary)
}

/// Reports the outcome of rendering plots and report.html after a run or a
/// sweep. Drawing failures are warnings (the verdict's exit code stands); a
/// file that cannot be written is an I/O failure: `Err(2)`.
fn render(rendered: Result<Vec<PathBuf>, reports::ReportError>) -> Result<(), i32> {
    match rendered {
        Ok(files) => {
            if let Some(html) = files.iter().find(|f| f.ends_with("report.html")) {
                outln!("report       {}", html.display());
            }
            Ok(())
        }
        Err(e) if e.kind == reports::ErrorKind::Io => {
            eprintln!("error: {e}");
            Err(2)
        }
        Err(e) => {
            eprintln!("warning: no report: {e}");
            Ok(())
        }
    }
}

fn run_sweep(registry: &Registry, plan: &SweepPlan, out: Option<PathBuf>, metric: &str) -> i32 {
    let dir = out.unwrap_or_else(|| {
        let shard = plan
            .shard
            .map(|s| format!("-shard{}of{}", s.index, s.count))
            .unwrap_or_default();
        PathBuf::from("runs").join(format!(
            "sweep-{}-{}-{}{shard}",
            plan.scenario.name, plan.seeds.start, plan.seeds.end
        ))
    });
    let cannot_write = |path: &Path, e: std::io::Error| {
        InputError::new(path.display().to_string(), format!("cannot write: {e}"))
    };
    if let Err(e) = out_dir::claim(&dir, OutKind::Sweep) {
        return bad_input(&e);
    }
    let jsonl_path = dir.join("sweep.jsonl");
    let file = match std::fs::File::create(&jsonl_path) {
        Ok(f) => f,
        Err(e) => return bad_input(&cannot_write(&jsonl_path, e)),
    };
    let mut jsonl = std::io::BufWriter::new(file);
    let run_seed = |seed| registry.run(&plan.scenario, seed, &RunOptions::default());
    let outcome = match sweep::sweep_with(plan, Some(&mut jsonl), run_seed) {
        Ok(o) => o,
        Err(e) => return bad_input(&cannot_write(&jsonl_path, e)),
    };
    let summary = SweepSummary::of(plan, &outcome);
    let timing = SweepTiming::of(&outcome);
    let summary_path = dir.join("sweep-summary.json");
    if let Err(e) = std::fs::write(&summary_path, summary.to_json()) {
        return bad_input(&cannot_write(&summary_path, e));
    }
    let timing_path = dir.join("sweep-timing.json");
    let timing_text = serde_json::to_string_pretty(&timing).unwrap_or_default() + "\n";
    if let Err(e) = std::fs::write(&timing_path, timing_text) {
        return bad_input(&cannot_write(&timing_path, e));
    }
    out!("{}{}", summary.render(), timing.render());
    outln!("written to   {}", dir.display());
    finish_sweep(&dir, &summary, metric)
}

/// Renders a sweep directory's plots and report; the sweep's exit code.
fn finish_sweep(dir: &Path, summary: &SweepSummary, metric: &str) -> i32 {
    let rendered = reports::render_sweep(dir, metric);
    // A --metric that names no field is bad input, like any other flag.
    if let Err(e) = rendered.as_ref() {
        if e.path == "--metric" {
            eprintln!("error: {e}");
            return 2;
        }
    }
    if let Err(code) = render(rendered) {
        return code;
    }
    if summary.failed > 0 {
        1
    } else {
        0
    }
}

/// Checks a sweep's arguments; every error names its flag.
fn sweep_plan(
    registry: &Registry,
    name: &str,
    seeds: &str,
    jobs: Option<usize>,
    shard: Option<&str>,
    sets: &[String],
) -> Result<SweepPlan, InputError> {
    let seeds = SeedRange::parse(seeds)?;
    let environment = |name: &str| std::env::var(name).ok();
    let shard = shard
        .map(|s| shard_env::resolve(s, &environment))
        .transpose()?;
    let jobs = match jobs {
        Some(0) => {
            return Err(InputError::new("--jobs", "must be at least 1").with_field("jobs"));
        }
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    Ok(SweepPlan {
        program: program_name(),
        scenario: registry.resolve(name, sets)?,
        scenario_arg: name.to_string(),
        sets: sets.to_vec(),
        seeds,
        shard,
        jobs,
        progress: true,
    })
}

/// `clustersim merge`: the shards' directories made one sweep directory.
fn merge(dirs: &[PathBuf], out: &Path, metric: &str) -> i32 {
    let summary = match crate::merge::merge(dirs, out) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    out!("{}", summary.render());
    outln!("merged       {} shards", dirs.len());
    outln!("written to   {}", out.display());
    finish_sweep(out, &summary, metric)
}

fn report(dir: &Path, metric: &str) -> i32 {
    match reports::render_dir(dir, metric) {
        Ok((_, files)) => {
            for f in files {
                outln!("wrote        {}", f.display());
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
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
    outln!(
        "scenario     {} (protocol {}, seed {})",
        s.scenario.name,
        s.scenario.protocol,
        s.seed
    );
    outln!(
        "cluster      {} replicas, {} clients; {:.3} s virtual in {:.3} s wall",
        s.cluster.replicas.len(),
        s.cluster.clients.len(),
        s.virtual_time_ns as f64 / 1e9,
        wall.as_secs_f64()
    );
    let rate = s.events.handled as f64 / wall.as_secs_f64().max(1e-9);
    outln!(
        "events       {} handled, {} recorded ({rate:.0} events/s)",
        s.events.handled,
        s.events.recorded
    );
    outln!(
        "messages     {} sent, {} delivered, {} dropped, {} duplicated, {} corrupted",
        m.sent,
        m.delivered,
        m.dropped,
        m.duplicated,
        m.corrupted
    );
    if !s.stats.is_empty() {
        let stats: Vec<String> = s.stats.iter().map(|(k, v)| format!("{k} {v:.3}")).collect();
        outln!("stats        {}", stats.join(", "));
    }
    let c = &s.corruption;
    if c.injected > 0 {
        outln!(
            "corruption   {} injected: {} delivered, {} detected, {} undetected, {} dropped",
            c.injected,
            c.delivered,
            c.detected,
            c.undetected,
            c.dropped
        );
    }
    outln!(
        "operations   {} invoked: {} ok, {} fail, {} info; {:.1} ok/s",
        s.ops.invoked,
        s.ops.ok,
        s.ops.fail,
        s.ops.info,
        s.throughput
    );
    let l = &s.latency_ms;
    outln!(
        "latency ms   p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        l.p50,
        l.p90,
        l.p99,
        l.max
    );
    if let Some(f) = &s.finding {
        let node = f.node.map(|n| format!(" on node {n}")).unwrap_or_default();
        outln!(
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
        let at = v
            .time
            .map(|t| format!(" (shows at {:.6} s)", t as f64 / 1e9))
            .unwrap_or_default();
        outln!("check        {mark:<7} {}{detail}{at}", v.check);
    }
    if !s.consistency.rungs.is_empty() {
        let rungs: Vec<String> = s
            .consistency
            .rungs
            .iter()
            .map(|r| format!("{} {}", r.model, r.result.mark()))
            .collect();
        outln!(
            "consistency  {}  (strongest satisfied: {})",
            rungs.join(", "),
            s.consistency.strongest.as_deref().unwrap_or("none known")
        );
    }
    outln!("fingerprint  {}", s.fingerprint);
    outln!("written to   {}", dir.display());
    if !s.passed {
        outln!("replay with  {} replay {}", program_name(), dir.display());
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Reads a fault schedule (a run's `faults.json`); errors name the file.
fn read_schedule(path: &Path) -> Result<fault_injection::FaultSchedule, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| InputError::io(path, e))?;
    fault_injection::FaultSchedule::from_json(&text)
        .map_err(|e| InputError::new(path.display().to_string(), e.to_string()))
}

/// `clustersim shrink DIR`: exit 1 with the smaller failing run written out,
/// 0 if the run passes (nothing to shrink), 2 on bad input.
fn shrink(registry: &Registry, dir: &Path, out: Option<PathBuf>, max_runs: usize) -> i32 {
    let recorded = match read_summary(registry, dir) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    if recorded.passed {
        outln!(
            "{} seed {} passes every check: nothing to shrink",
            recorded.scenario.name,
            recorded.seed
        );
        return 0;
    }
    let schedule = match read_schedule(&dir.join("faults.json")) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    let mut scenario = recorded.scenario.clone();
    scenario.source = dir.join("summary.json").display().to_string();
    let shrunk =
        match crate::shrink::shrink(registry, &scenario, recorded.seed, &schedule, max_runs) {
            Ok(s) => s,
            Err(e) => return bad_input(&e),
        };
    let out = out.unwrap_or_else(|| dir.join("shrunk"));
    if let Err(e) = out_dir::claim(&out, OutKind::Run) {
        return bad_input(&e);
    }
    let toml_path = out.join("shrunk.toml");
    let text = match shrunk_toml(dir, &shrunk.scenario) {
        Ok(text) => text,
        Err(e) => return bad_input(&InputError::new(toml_path.display().to_string(), e)),
    };
    let written = runner::write_run_dir(&out, &shrunk.outcome)
        .and_then(|()| std::fs::write(&toml_path, text));
    if let Err(e) = written {
        return bad_input(&InputError::new(
            out.display().to_string(),
            format!("cannot write: {e}"),
        ));
    }
    let failed: Vec<String> = crate::shrink::failed_checks(&shrunk.outcome.summary)
        .into_iter()
        .collect();
    outln!(
        "shrunk {} seed {} in {} runs: faults {} -> {}, duration {:.0} ms -> {:.0} ms, running clients {} -> {}; still fails {}",
        recorded.scenario.name,
        recorded.seed,
        shrunk.runs,
        shrunk.faults_before,
        shrunk.faults_after,
        crate::shrink::ms(recorded.scenario.duration),
        crate::shrink::ms(shrunk.scenario.duration),
        recorded.scenario.workload.running_clients(),
        shrunk.scenario.workload.running_clients(),
        failed.join(", ")
    );
    for fault in &shrunk.outcome.summary.faults_applied {
        outln!(
            "  fault at {:.3} ms: {}",
            crate::shrink::ms(fault.start),
            fault.label
        );
    }
    outln!("written to   {}", out.display());
    outln!("scenario     {}", toml_path.display());
    outln!(
        "trace with   {} run {} --trace --out DIR",
        program_name(),
        toml_path.display()
    );
    outln!("replay with  {} replay {}", program_name(), out.display());
    if let Err(code) = render(reports::render_run(&out)) {
        return code;
    }
    1
}

/// The shrunk scenario as a scenario file: the fixed fault schedule inline,
/// the seed it fails at set, so `clustersim run` of the file alone replays
/// the shrunk run.
/// (TOML integers are signed 64-bit: a seed above `i64::MAX` cannot be
/// written.)
fn shrunk_toml(dir: &Path, scenario: &crate::scenario::Scenario) -> Result<String, String> {
    let body = toml::to_string_pretty(scenario)
        .map_err(|e| format!("cannot write the shrunk scenario as TOML: {e}"))?;
    Ok(format!(
        "# Shrunk from the run in {} by `{program} shrink`.\n\
         # Run it with: {program} run THIS_FILE --trace\n\n{body}",
        dir.display(),
        program = program_name()
    ))
}

/// Reads a run directory's summary; errors name the file and line.
/// Its scenario is checked like a scenario file (a hand-edited summary may
/// hold anything): errors name the field, `scenario.` and all.
pub fn read_summary(registry: &Registry, dir: &Path) -> Result<Summary, InputError> {
    let path = dir.join("summary.json");
    let source = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| InputError::io(&path, e))?;
    let mut summary: Summary = serde_json::from_str(&text)
        .map_err(|e| InputError::new(&source, e.to_string()).at(e.line(), e.column()))?;
    summary.scenario.source = source.clone();
    registry.check(&summary.scenario).map_err(|e| {
        let field = e.field.as_deref().map(|f| format!("scenario.{f}"));
        let line = field.as_deref().and_then(|f| json_line_of(&text, f));
        let mut located = InputError::new(&source, e.message);
        located.field = field;
        match line {
            Some(line) => located.at(line, 1),
            None => located,
        }
    })?;
    Ok(summary)
}

/// The line of pretty-printed JSON on which the last key of dotted `field`
/// is first set after its parents' keys (`scenario.network.loss`).
fn json_line_of(text: &str, field: &str) -> Option<usize> {
    let mut keys = field
        .split('.')
        .map(|k| k.split('[').next().unwrap_or(k))
        .peekable();
    let mut want = keys.next()?;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with(&format!("\"{want}\":")) {
            match keys.next() {
                Some(next) => want = next,
                None => return Some(i + 1),
            }
        }
    }
    None
}

fn replay(registry: &Registry, dir: &Path, flags: RunFlags) -> i32 {
    let recorded = match read_summary(registry, dir) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    if flags.node_logs {
        if let Err(e) = out_dir::clear_node_logs(dir) {
            return bad_input(&e);
        }
    }
    let options = flags.options(dir);
    let outcome = match registry.run(&recorded.scenario, recorded.seed, &options) {
        Ok(o) => o,
        Err(e) => return bad_input(&e),
    };
    let now = &outcome.summary;
    if now.fingerprint != recorded.fingerprint {
        outln!(
            "DIVERGED: {} seed {}: recorded fingerprint {}, replay gives {}",
            recorded.scenario.name,
            recorded.seed,
            recorded.fingerprint,
            now.fingerprint
        );
        return 1;
    }
    outln!(
        "replay matches: {} seed {}, fingerprint {}",
        recorded.scenario.name,
        recorded.seed,
        now.fingerprint
    );
    if let Some(f) = &now.finding {
        outln!(
            "same finding: {} at {:.6} s: {}",
            f.kind,
            f.time as f64 / 1e9,
            f.message
        );
    }
    if flags.node_logs {
        outln!("node logs    {}", dir.join(out_dir::NODE_LOGS).display());
        // The report links the logs it finds.
        if let Err(code) = render(reports::render_run(dir)) {
            return code;
        }
    }
    0
}

/// `clustersim diff A B`: 0 identical traces, 1 they part ways, 2 bad input.
fn diff(a: &Path, b: &Path, context: usize) -> i32 {
    use crate::trace_diff::{self, Comparison};
    let files = trace_diff::trace_file(a).and_then(|fa| Ok((fa, trace_diff::trace_file(b)?)));
    let comparison = files.and_then(|(fa, fb)| trace_diff::compare_files(&fa, &fb, context));
    let d = match comparison {
        Ok(Comparison::Identical(events)) => {
            outln!("traces identical: {events} events");
            return 0;
        }
        Ok(Comparison::Differ(d)) => d,
        Err(e) => return bad_input(&e),
    };
    let at = |lines: &[String]| {
        lines
            .first()
            .and_then(|l| trace_diff::event_time(l))
            .map(|t| format!("{t:.6} s"))
            .unwrap_or_else(|| "the end of the trace".into())
    };
    outln!(
        "traces part ways at event {} (A at {}, B at {})",
        d.event,
        at(&d.a),
        at(&d.b)
    );
    let first = d.event - d.before.len() as u64;
    let show = |label: &str, lines: &[String], from: u64| {
        for (i, line) in lines.iter().enumerate() {
            outln!("{label} {:>8}  {line}", from + i as u64);
        }
    };
    show(" ", &d.before, first);
    outln!("--- A: {}", a.display());
    show("A", &d.a, d.event);
    if d.a.is_empty() {
        outln!("A           (trace ends)");
    }
    outln!("--- B: {}", b.display());
    show("B", &d.b, d.event);
    if d.b.is_empty() {
        outln!("B           (trace ends)");
    }
    1
}
