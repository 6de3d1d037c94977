//! Sweeps: one scenario over a range of seeds, in parallel.
//!
//! Each simulation is single-threaded and deterministic, so seeds are simply
//! shared out among the threads of a local rayon pool. Whatever the number of
//! threads, the results are the same: a seed's line in `sweep.jsonl` depends
//! on the seed alone (no wall-clock field), and lines are written in seed
//! order (a small reorder buffer holds results that finish early), so the
//! file is byte-identical for 1 or N jobs. `--shard K/N` keeps the seeds
//! `s % N == K`, so that shards run on different machines and their files
//! concatenate into the whole.
//!
//! A seed whose run panics outside the simulated processes (in the runner or
//! a checker: panics inside processes are already findings) is caught and
//! recorded as a failure of that seed; the sweep goes on.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sim_core::{Finding, LinkStats, Nanos};

use crate::driver::Verdict;
use crate::error::InputError;
use crate::runner::{self, RunOptions, RunOutcome};
use crate::scenario::Scenario;
use crate::summary::{EventCounts, OpCounts, Percentiles};

/// Seeds `start..end` (end excluded), as `--seeds A..B` or `A..=B`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedRange {
    pub start: u64,
    pub end: u64,
}

impl SeedRange {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let bad = |m: String| InputError::new("--seeds", m).with_field("seeds");
        let (a, b, inclusive) = if let Some((a, b)) = text.split_once("..=") {
            (a, b, true)
        } else if let Some((a, b)) = text.split_once("..") {
            (a, b, false)
        } else {
            return Err(bad(format!("`{text}` is not a range A..B (e.g. 0..200)")));
        };
        let number = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| bad(format!("`{s}` in `{text}` is not a seed (0 to 2^64-1)")))
        };
        let (start, last) = (number(a)?, number(b)?);
        let end = if inclusive {
            last.checked_add(1)
                .ok_or_else(|| bad(format!("`{text}` ends past the last seed")))?
        } else {
            last
        };
        if end <= start {
            return Err(bad(format!(
                "`{text}` is empty: the end must be above the start"
            )));
        }
        Ok(Self { start, end })
    }

    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

impl std::fmt::Display for SeedRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// Shard `index` of `count`: the seeds `s % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let bad = |m: String| InputError::new("--shard", m).with_field("shard");
        let Some((k, n)) = text.split_once('/') else {
            return Err(bad(format!("`{text}` is not K/N (e.g. 0/4)")));
        };
        let number = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| bad(format!("`{s}` in `{text}` is not a number")))
        };
        let (index, count) = (number(k)?, number(n)?);
        if count == 0 || index >= count {
            return Err(bad(format!(
                "`{text}`: K must be below N (shards 0/N to {}/N)",
                count.max(1) - 1
            )));
        }
        Ok(Self { index, count })
    }

    pub fn holds(&self, seed: u64) -> bool {
        seed % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What to sweep and how.
#[derive(Debug, Clone)]
pub struct SweepPlan {
    pub scenario: Scenario,
    /// The scenario as the user named it (catalogue name or file), and the
    /// `--set` overrides: the replay command of a failing seed repeats them.
    pub scenario_arg: String,
    pub sets: Vec<String>,
    pub seeds: SeedRange,
    pub shard: Option<Shard>,
    /// Threads of the pool (at least 1).
    pub jobs: usize,
    /// Draw a progress bar on stderr (when stderr is a terminal).
    pub progress: bool,
}

impl SweepPlan {
    /// The seeds this plan runs, in increasing order.
    pub fn seeds(&self) -> Vec<u64> {
        (self.seeds.start..self.seeds.end)
            .filter(|&s| self.shard.is_none_or(|shard| shard.holds(s)))
            .collect()
    }

    /// The command that reruns `seed` alone.
    pub fn replay_command(&self, seed: u64) -> String {
        let mut cmd = format!(
            "clustersim run {} --seed {seed}",
            shell_quote(&self.scenario_arg)
        );
        for set in &self.sets {
            cmd.push_str(" --set ");
            cmd.push_str(&shell_quote(set));
        }
        cmd
    }
}

/// Quotes `s` for a POSIX shell when it holds anything but plain characters.
fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// One line of `sweep.jsonl`: what one seed gave. No wall-clock field, so the
/// line is a function of (scenario, seed) only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    pub seed: u64,
    /// The scenario's name.
    pub scenario: String,
    pub passed: bool,
    pub verdicts: Vec<Verdict>,
    /// The run's finding; for a seed whose runner panicked or failed, a
    /// finding of kind [`RUNNER_PANIC`] or [`RUNNER_ERROR`] at time 0.
    pub finding: Option<Finding>,
    /// The kinds of fault applied during the run, sorted, each once.
    pub fault_kinds: Vec<String>,
    /// The fields below are absent (`null`) when the run did not finish.
    pub virtual_time_ns: Option<Nanos>,
    pub ops: Option<OpCounts>,
    pub latency_ms: Option<Percentiles>,
    pub throughput: Option<f64>,
    pub events: Option<EventCounts>,
    pub messages: Option<LinkStats>,
    pub fingerprint: Option<String>,
}

/// The finding kind of a seed whose run panicked outside the simulation.
pub const RUNNER_PANIC: &str = "runner-panic";
/// The finding kind of a seed whose runner returned an error.
pub const RUNNER_ERROR: &str = "runner-error";

impl SeedResult {
    pub fn of(seed: u64, outcome: &RunOutcome) -> Self {
        let s = &outcome.summary;
        Self {
            seed,
            scenario: s.scenario.name.clone(),
            passed: s.passed,
            verdicts: s.verdicts.clone(),
            finding: s.finding.clone(),
            fault_kinds: fault_kinds(s),
            virtual_time_ns: Some(s.virtual_time_ns),
            ops: Some(s.ops),
            latency_ms: Some(s.latency_ms),
            throughput: Some(s.throughput),
            events: Some(s.events),
            messages: Some(s.messages),
            fingerprint: Some(s.fingerprint.clone()),
        }
    }

    /// A seed that produced no run: `kind` is [`RUNNER_PANIC`] or [`RUNNER_ERROR`].
    pub fn broken(seed: u64, scenario: &str, kind: &str, message: String) -> Self {
        Self {
            seed,
            scenario: scenario.to_string(),
            passed: false,
            verdicts: Vec::new(),
            finding: Some(Finding {
                kind: kind.to_string(),
                time: 0,
                node: None,
                message,
            }),
            fault_kinds: Vec::new(),
            virtual_time_ns: None,
            ops: None,
            latency_ms: None,
            throughput: None,
            events: None,
            messages: None,
            fingerprint: None,
        }
    }

    /// What failed: the failed checks, else the finding's kind.
    pub fn failures(&self) -> Vec<String> {
        let failed: Vec<String> = self
            .verdicts
            .iter()
            .filter(|v| v.failed())
            .map(|v| v.check.clone())
            .collect();
        match (&self.finding, failed.is_empty()) {
            (Some(f), true) => vec![f.kind.clone()],
            (None, true) if !self.passed => vec!["unknown".into()],
            _ => failed,
        }
    }

    /// The first line of what went wrong, for the summary.
    pub fn first_message(&self) -> String {
        let text = match &self.finding {
            Some(f) => f.message.as_str(),
            None => self
                .verdicts
                .iter()
                .find(|v| v.failed())
                .map_or("", |v| v.detail.as_str()),
        };
        text.lines().next().unwrap_or_default().to_string()
    }
}

/// The kinds of fault applied during the run, sorted, each once.
fn fault_kinds(summary: &crate::summary::Summary) -> Vec<String> {
    let kinds: std::collections::BTreeSet<&str> = summary
        .faults_applied
        .iter()
        .map(|f| f.kind.as_str())
        .collect();
    kinds.into_iter().map(String::from).collect()
}

/// What a sweep produced.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    /// One per seed, sorted by seed.
    pub results: Vec<SeedResult>,
    pub wall: Duration,
    pub jobs: usize,
}

impl SweepOutcome {
    pub fn failed(&self) -> impl Iterator<Item = &SeedResult> {
        self.results.iter().filter(|r| !r.passed)
    }

    pub fn seeds_per_second(&self) -> f64 {
        self.results.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Runs the plan with the built-in protocols; each result is written to `jsonl` (when
/// given) as soon as every lower seed's is.
pub fn sweep(plan: &SweepPlan, jsonl: Option<&mut dyn Write>) -> std::io::Result<SweepOutcome> {
    let scenario = &plan.scenario;
    sweep_with(plan, jsonl, |seed| {
        runner::run(scenario, seed, &RunOptions::default())
    })
}

/// [`sweep`] with another way to run one seed: a registry's protocols (the
/// command line), or a panicking runner (tests).
pub fn sweep_with<F>(
    plan: &SweepPlan,
    mut jsonl: Option<&mut dyn Write>,
    run_seed: F,
) -> std::io::Result<SweepOutcome>
where
    F: Fn(u64) -> Result<RunOutcome, InputError> + Sync,
{
    let seeds = plan.seeds();
    let jobs = plan.jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("sweep-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    let bar = progress_bar(plan.progress, seeds.len() as u64);
    let started = Instant::now();

    // Workers take seeds in increasing order from a shared cursor, so results
    // arrive nearly in order and the reorder buffer stays about `jobs` long.
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, SeedResult)>();
    let name = plan.scenario.name.as_str();
    let one = |seed: u64| run_one(seed, name, &run_seed);

    let mut results = Vec::with_capacity(seeds.len());
    let mut written = 0usize;
    let mut pending: BTreeMap<usize, SeedResult> = BTreeMap::new();
    let (mut passes, mut violations) = (0u64, 0u64);
    let mut write_error = None;
    std::thread::scope(|threads| {
        threads.spawn(|| {
            pool.scope(|scope| {
                for _ in 0..jobs {
                    let tx = tx.clone();
                    let (next, stop, seeds, one) = (&next, &stop, &seeds, &one);
                    scope.spawn(move |_| loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= seeds.len() || stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if tx.send((i, one(seeds[i]))).is_err() {
                            break;
                        }
                    });
                }
            });
            drop(tx);
        });
        for (i, result) in &rx {
            if result.passed {
                passes += 1;
            } else {
                violations += 1;
            }
            bar.inc(1);
            bar.set_message(format!("passed {passes}, violations {violations}"));
            pending.insert(i, result);
            while let Some(result) = pending.remove(&written) {
                if let (Some(out), None) = (jsonl.as_deref_mut(), &write_error) {
                    if let Err(e) = write_line(out, &result) {
                        write_error = Some(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                results.push(result);
                written += 1;
            }
        }
    });
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e);
    }
    Ok(SweepOutcome {
        results,
        wall: started.elapsed(),
        jobs,
    })
}

/// Runs one seed; a panic or an error of the runner becomes a failed result.
fn run_one<F>(seed: u64, scenario: &str, run_seed: &F) -> SeedResult
where
    F: Fn(u64) -> Result<RunOutcome, InputError>,
{
    match sim_core::panics::catch(|| run_seed(seed)) {
        Ok(Ok(outcome)) => SeedResult::of(seed, &outcome),
        Ok(Err(e)) => SeedResult::broken(seed, scenario, RUNNER_ERROR, e.to_string()),
        Err(message) => SeedResult::broken(seed, scenario, RUNNER_PANIC, message),
    }
}

fn write_line(out: &mut dyn Write, result: &SeedResult) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, result)?;
    out.write_all(b"\n")?;
    // Flushed per line: a sweep stopped half-way keeps what it found.
    out.flush()
}

fn progress_bar(show: bool, len: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} seeds, {per_sec}, {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// `sweep-summary.json`, and what the sweep prints at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub scenario: String,
    /// The sweep's command line, minus `--out` and `--jobs`.
    pub command: String,
    pub seeds: String,
    pub shard: Option<String>,
    pub jobs: usize,
    pub total: u64,
    pub passed: u64,
    pub failed: u64,
    /// Every failing seed, with the command that replays it.
    pub failing: Vec<FailingSeed>,
    /// Failing seeds per failed check (or finding kind).
    pub violations_by_check: BTreeMap<String, u64>,
    pub wall_seconds: f64,
    pub seeds_per_second: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailingSeed {
    pub seed: u64,
    pub failed: Vec<String>,
    pub message: String,
    pub replay: String,
}

impl SweepSummary {
    pub fn of(plan: &SweepPlan, outcome: &SweepOutcome) -> Self {
        let mut command = format!(
            "clustersim sweep {} --seeds {}",
            shell_quote(&plan.scenario_arg),
            plan.seeds
        );
        if let Some(shard) = plan.shard {
            command.push_str(&format!(" --shard {shard}"));
        }
        for set in &plan.sets {
            command.push_str(" --set ");
            command.push_str(&shell_quote(set));
        }
        let mut violations_by_check = BTreeMap::new();
        let failing: Vec<FailingSeed> = outcome
            .failed()
            .map(|r| {
                let failed = r.failures();
                for check in &failed {
                    *violations_by_check.entry(check.clone()).or_default() += 1;
                }
                FailingSeed {
                    seed: r.seed,
                    failed,
                    message: r.first_message(),
                    replay: plan.replay_command(r.seed),
                }
            })
            .collect();
        let total = outcome.results.len() as u64;
        Self {
            scenario: plan.scenario.name.clone(),
            command,
            seeds: plan.seeds.to_string(),
            shard: plan.shard.map(|s| s.to_string()),
            jobs: outcome.jobs,
            total,
            passed: total - failing.len() as u64,
            failed: failing.len() as u64,
            failing,
            violations_by_check,
            wall_seconds: outcome.wall.as_secs_f64(),
            seeds_per_second: outcome.seeds_per_second(),
        }
    }

    /// The end-of-sweep text for stdout.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let shard = self
            .shard
            .as_ref()
            .map(|s| format!(" (shard {s})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "sweep        {}, seeds {}{shard}, {} jobs\n",
            self.scenario, self.seeds, self.jobs
        ));
        out.push_str(&format!(
            "seeds        {} run: {} passed, {} failed\n",
            self.total, self.passed, self.failed
        ));
        out.push_str(&format!(
            "speed        {:.1} seeds/s ({:.2} s wall)\n",
            self.seeds_per_second, self.wall_seconds
        ));
        for (check, n) in &self.violations_by_check {
            out.push_str(&format!("violations   {n} x {check}\n"));
        }
        for f in &self.failing {
            out.push_str(&format!(
                "FAIL seed {}  {}: {}\n  replay with  {}\n",
                f.seed,
                f.failed.join(", "),
                f.message,
                f.replay
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_parse_and_reject_nonsense_naming_the_flag() {
        assert_eq!(
            SeedRange::parse("0..200").unwrap(),
            SeedRange { start: 0, end: 200 }
        );
        assert_eq!(SeedRange::parse("3..=5").unwrap().len(), 3);
        for bad in [
            "5..2",
            "5..5",
            "a..b",
            "7",
            "1..-3",
            "0..=18446744073709551615",
        ] {
            let e = SeedRange::parse(bad).unwrap_err();
            assert!(e.to_string().contains("--seeds"), "{bad}: {e}");
        }
    }

    #[test]
    fn shards_parse_and_partition_the_seeds() {
        assert!(Shard::parse("3/2").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("1").is_err());
        let shards: Vec<Shard> = (0..3)
            .map(|k| Shard::parse(&format!("{k}/3")).unwrap())
            .collect();
        for seed in 0..30 {
            assert_eq!(shards.iter().filter(|s| s.holds(seed)).count(), 1);
        }
    }

    #[test]
    fn replay_commands_quote_what_the_shell_would_split() {
        assert_eq!(shell_quote("register-healthy"), "register-healthy");
        assert_eq!(shell_quote("duration=\"1s\""), "'duration=\"1s\"'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
