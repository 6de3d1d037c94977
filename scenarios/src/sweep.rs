//! Sweeps: one scenario over a range of seeds, in parallel.
//!
//! Each simulation is single-threaded and deterministic, so seeds are simply
//! shared out among `--jobs` threads. Whatever the number of threads, the
//! results are the same: a seed's line in `sweep.jsonl` depends on the seed
//! alone (no wall-clock field), and lines are written in seed order, so the
//! file is byte-identical for 1 or N jobs.
//!
//! Memory stays bounded whatever the range (`--seeds 0..18446744073709551615`
//! included): seeds are drawn lazily from an iterator, each result is written
//! and folded into running totals as soon as every lower seed's is, and a
//! thread does not start a seed more than [`REORDER_WINDOW_PER_JOB`] × jobs
//! ahead of the last one written, so the reorder buffer never holds more than
//! that many results. Only the first [`MAX_LISTED_FAILURES`] failing seeds are
//! kept for the summary; `sweep.jsonl` has them all. `--shard K/N` keeps the seeds
//! `s % N == K`, so that shards run on different machines (`--shard auto`
//! reads a batch scheduler's task index, see [`crate::shard_env`]) and
//! `clustersim merge` ([`crate::merge`]) makes them one sweep directory,
//! identical to the unsharded sweep's.
//!
//! A seed whose run panics outside the simulated processes (in the runner or
//! a checker: panics inside processes are already findings) is caught and
//! recorded as a failure of that seed; the sweep goes on.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Condvar, Mutex};
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
        if count == 0 {
            return Err(bad(format!("`{text}`: N must be at least 1 shard")));
        }
        if index >= count {
            return Err(bad(format!(
                "`{text}`: K must be below N (shards 0/{count} to {}/{count})",
                count - 1
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
    /// The binary the printed commands name: `clustersim`, or an outside
    /// crate's own (see `cli::program_name`).
    pub program: String,
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

/// Most threads a sweep starts, whatever `--jobs` says: far more than any
/// machine has cores, few enough that starting them is instant.
pub const MAX_JOBS: usize = 256;
/// How far ahead of the last result written a thread may start a seed, per
/// thread: the bound on results held back for ordering.
pub const REORDER_WINDOW_PER_JOB: u64 = 4;
/// Failing seeds a sweep summary lists (the rest are counted).
pub const MAX_LISTED_FAILURES: usize = 1_000;

/// The seeds of a plan in increasing order, drawn lazily: a range of 2^64
/// seeds costs nothing until it is run.
#[derive(Debug, Clone)]
pub struct Seeds {
    next: Option<u64>,
    end: u64,
    step: u64,
}

impl Iterator for Seeds {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let seed = self.next.filter(|&s| s < self.end)?;
        self.next = seed.checked_add(self.step);
        Some(seed)
    }
}

impl Seeds {
    /// How many seeds are left.
    pub fn remaining(&self) -> u64 {
        match self.next {
            Some(s) if s < self.end => (self.end - 1 - s) / self.step + 1,
            _ => 0,
        }
    }
}

impl SweepPlan {
    /// The seeds this plan runs, in increasing order, lazily.
    pub fn seeds(&self) -> Seeds {
        let SeedRange { start, end } = self.seeds;
        let (first, step) = match self.shard {
            None => (Some(start), 1),
            Some(Shard { index, count }) => {
                // The first seed >= start with seed % count == index.
                let r = start % count;
                let ahead = if index >= r {
                    index - r
                } else {
                    count - (r - index)
                };
                (start.checked_add(ahead), count)
            }
        };
        Seeds {
            next: first,
            end,
            step,
        }
    }

    /// The threads this plan runs on: `jobs`, but no more than there are
    /// seeds or than [`MAX_JOBS`], and at least one.
    pub fn threads(&self) -> usize {
        let seeds = usize::try_from(self.seeds().remaining()).unwrap_or(usize::MAX);
        self.jobs.min(MAX_JOBS).min(seeds).max(1)
    }

    /// The command that reruns `seed` alone.
    pub fn replay_command(&self, seed: u64) -> String {
        let mut cmd = format!(
            "{} run {} --seed {seed}",
            self.program,
            shell_quote(&self.scenario_arg)
        );
        for set in &self.sets {
            cmd.push_str(" --set ");
            cmd.push_str(&shell_quote(set));
        }
        cmd
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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

    /// The checks that could not judge a run that passed otherwise (a
    /// search budget ran out, the network was too slow): such a seed is
    /// counted `unknown`, not passed. Empty for a failed run.
    pub fn unknowns(&self) -> Vec<String> {
        if !self.passed {
            return Vec::new();
        }
        self.verdicts
            .iter()
            .filter(|v| v.result == "unknown")
            .map(|v| v.check.clone())
            .collect()
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

/// What a sweep produced: running totals, not every result (those went to
/// `sweep.jsonl`).
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    /// Seeds run: passed, failed or unknown (no check failed, one could
    /// not judge), each seed counted once.
    pub total: u64,
    pub passed: u64,
    pub failed: u64,
    pub unknown: u64,
    /// The first [`MAX_LISTED_FAILURES`] failing seeds' results, by seed.
    pub failing: Vec<SeedResult>,
    /// Failing seeds per failed check (or finding kind).
    pub violations_by_check: BTreeMap<String, u64>,
    /// Unknown seeds per check that could not judge.
    pub unknown_by_check: BTreeMap<String, u64>,
    pub wall: Duration,
    /// Threads the sweep ran on.
    pub jobs: usize,
}

impl SweepOutcome {
    fn new(jobs: usize) -> Self {
        Self {
            total: 0,
            passed: 0,
            failed: 0,
            unknown: 0,
            failing: Vec::new(),
            violations_by_check: BTreeMap::new(),
            unknown_by_check: BTreeMap::new(),
            wall: Duration::ZERO,
            jobs,
        }
    }

    /// Folds in the next result, in seed order.
    fn add(&mut self, result: SeedResult) {
        self.total += 1;
        if result.passed {
            let unknowns = result.unknowns();
            if unknowns.is_empty() {
                self.passed += 1;
            } else {
                self.unknown += 1;
            }
            for check in unknowns {
                *self.unknown_by_check.entry(check).or_default() += 1;
            }
            return;
        }
        self.failed += 1;
        for check in result.failures() {
            *self.violations_by_check.entry(check).or_default() += 1;
        }
        if self.failing.len() < MAX_LISTED_FAILURES {
            self.failing.push(result);
        }
    }

    /// The failing seeds listed (the first [`MAX_LISTED_FAILURES`]).
    pub fn failed(&self) -> impl Iterator<Item = &SeedResult> {
        self.failing.iter()
    }

    pub fn seeds_per_second(&self) -> f64 {
        self.total as f64 / self.wall.as_secs_f64().max(1e-9)
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

/// The seeds handed out to the threads, with their position in seed order.
struct Feed {
    seeds: Seeds,
    next_index: u64,
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
    let jobs = plan.threads();
    let window = jobs as u64 * REORDER_WINDOW_PER_JOB;
    let seeds = plan.seeds();
    let bar = progress_bar(plan.progress, seeds.remaining());
    let started = Instant::now();

    // Threads take seeds in increasing order from the feed, and wait before
    // starting one more than `window` past the last result written.
    let feed = Mutex::new(Feed {
        seeds,
        next_index: 0,
    });
    let written_upto = Mutex::new(0u64);
    let progressed = Condvar::new();
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(u64, SeedResult)>();
    let name = plan.scenario.name.as_str();
    let one = |seed: u64| run_one(seed, name, &run_seed);
    let worker = |tx: mpsc::Sender<(u64, SeedResult)>| loop {
        let (index, seed) = {
            let mut feed = feed.lock().expect("feed lock");
            let Some(seed) = feed.seeds.next() else { break };
            feed.next_index += 1;
            (feed.next_index - 1, seed)
        };
        let mut written = written_upto.lock().expect("progress lock");
        while index >= *written + window && !stop.load(Ordering::Relaxed) {
            written = progressed.wait(written).expect("progress lock");
        }
        drop(written);
        if stop.load(Ordering::Relaxed) || tx.send((index, one(seed))).is_err() {
            break;
        }
    };

    let mut outcome = SweepOutcome::new(jobs);
    let mut written = 0u64;
    let mut pending: BTreeMap<u64, SeedResult> = BTreeMap::new();
    let (mut passes, mut violations) = (0u64, 0u64);
    let mut write_error = None;
    std::thread::scope(|threads| {
        for i in 0..jobs {
            let tx = tx.clone();
            std::thread::Builder::new()
                .name(format!("sweep-{i}"))
                .spawn_scoped(threads, || worker(tx))
                .expect("a sweep thread starts");
        }
        drop(tx);
        for (index, result) in &rx {
            if result.passed {
                passes += 1;
            } else {
                violations += 1;
            }
            bar.inc(1);
            bar.set_message(format!("passed {passes}, violations {violations}"));
            pending.insert(index, result);
            while let Some(result) = pending.remove(&written) {
                if let (Some(out), None) = (jsonl.as_deref_mut(), &write_error) {
                    if let Err(e) = write_line(out, &result) {
                        write_error = Some(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                outcome.add(result);
                written += 1;
            }
            *written_upto.lock().expect("progress lock") = written;
            progressed.notify_all();
        }
    });
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e);
    }
    outcome.wall = started.elapsed();
    Ok(outcome)
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

/// `sweep-summary.json`, and what the sweep prints at the end. A function of
/// the scenario, the seeds and the `--set`s only: no wall clock, no thread
/// count, so that the same sweep gives the same file on any machine, and
/// shards merged give the unsharded sweep's file byte for byte (timings go to
/// [`SweepTiming`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub scenario: String,
    /// The sweep's command line, minus `--out` and `--jobs`.
    pub command: String,
    pub seeds: String,
    pub shard: Option<String>,
    pub total: u64,
    pub passed: u64,
    pub failed: u64,
    /// Seeds in which no check failed but one could not judge (absent from
    /// summaries written before it was counted: read as 0).
    #[serde(default)]
    pub unknown: u64,
    /// The failing seeds, with the command that replays each: the first
    /// [`MAX_LISTED_FAILURES`] (`sweep.jsonl` has them all).
    pub failing: Vec<FailingSeed>,
    /// Failing seeds beyond those listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failing_unlisted: u64,
    /// Failing seeds per failed check (or finding kind).
    pub violations_by_check: BTreeMap<String, u64>,
    /// Unknown seeds per check that could not judge.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_by_check: BTreeMap<String, u64>,
}

/// `sweep-timing.json`: what the sweep cost on this machine, kept apart from
/// the summary because it changes from one run to the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepTiming {
    /// Threads the sweep ran on.
    pub jobs: usize,
    pub wall_seconds: f64,
    pub seeds_per_second: f64,
}

impl SweepTiming {
    pub fn of(outcome: &SweepOutcome) -> Self {
        Self {
            jobs: outcome.jobs,
            wall_seconds: outcome.wall.as_secs_f64(),
            seeds_per_second: outcome.seeds_per_second(),
        }
    }

    /// The end-of-sweep line for stdout.
    pub fn render(&self) -> String {
        format!(
            "speed        {:.1} seeds/s ({:.2} s wall, {} jobs)\n",
            self.seeds_per_second, self.wall_seconds, self.jobs
        )
    }
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
            "{} sweep {} --seeds {}",
            plan.program,
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
        let failing: Vec<FailingSeed> = outcome
            .failed()
            .map(|r| FailingSeed {
                seed: r.seed,
                failed: r.failures(),
                message: r.first_message(),
                replay: plan.replay_command(r.seed),
            })
            .collect();
        Self {
            scenario: plan.scenario.name.clone(),
            command,
            seeds: plan.seeds.to_string(),
            shard: plan.shard.map(|s| s.to_string()),
            total: outcome.total,
            passed: outcome.passed,
            failed: outcome.failed,
            unknown: outcome.unknown,
            failing_unlisted: outcome.failed - failing.len() as u64,
            failing,
            violations_by_check: outcome.violations_by_check.clone(),
            unknown_by_check: outcome.unknown_by_check.clone(),
        }
    }

    /// The command line of the whole sweep this shard is part of (its own
    /// when it is not a shard): what a merge of the shards writes.
    pub fn unsharded_command(&self) -> String {
        match &self.shard {
            Some(shard) => self.command.replacen(
                &format!(" --seeds {} --shard {shard}", self.seeds),
                &format!(" --seeds {}", self.seeds),
                1,
            ),
            None => self.command.clone(),
        }
    }

    /// The text of `sweep-summary.json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The end-of-sweep text for stdout (timings apart: [`SweepTiming::render`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let shard = self
            .shard
            .as_ref()
            .map(|s| format!(" (shard {s})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "sweep        {}, seeds {}{shard}\n",
            self.scenario, self.seeds
        ));
        out.push_str(&format!(
            "seeds        {} run: {} passed, {} failed, {} unknown\n",
            self.total, self.passed, self.failed, self.unknown
        ));
        for (check, n) in &self.violations_by_check {
            out.push_str(&format!("violations   {n} x {check}\n"));
        }
        for (check, n) in &self.unknown_by_check {
            out.push_str(&format!("unknown      {n} x {check}\n"));
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
        if self.failing_unlisted > 0 {
            out.push_str(&format!(
                "and {} more failing seeds (see sweep.jsonl)\n",
                self.failing_unlisted
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
        let e = Shard::parse("3/2").unwrap_err().to_string();
        assert!(
            e.contains("`3/2`: K must be below N (shards 0/2 to 1/2)"),
            "{e}"
        );
        let e = Shard::parse("0/0").unwrap_err().to_string();
        assert!(e.contains("`0/0`: N must be at least 1 shard"), "{e}");
        assert!(Shard::parse("1").is_err());
        let shards: Vec<Shard> = (0..3)
            .map(|k| Shard::parse(&format!("{k}/3")).unwrap())
            .collect();
        for seed in 0..30 {
            assert_eq!(shards.iter().filter(|s| s.holds(seed)).count(), 1);
        }
    }

    fn plan_over(seeds: &str, shard: Option<&str>, jobs: usize) -> SweepPlan {
        SweepPlan {
            program: "clustersim".into(),
            scenario: crate::catalogue::resolve("register-healthy", &[]).unwrap(),
            scenario_arg: "register-healthy".into(),
            sets: Vec::new(),
            seeds: SeedRange::parse(seeds).unwrap(),
            shard: shard.map(|s| Shard::parse(s).unwrap()),
            jobs,
            progress: false,
        }
    }

    #[test]
    fn the_seed_iterator_is_lazy_over_the_whole_range() {
        let all = plan_over("0..18446744073709551615", None, 4);
        assert_eq!(all.seeds().remaining(), u64::MAX);
        assert_eq!(all.seeds().take(3).collect::<Vec<_>>(), [0, 1, 2]);
        let sharded = plan_over("5..18446744073709551615", Some("1/3"), 4);
        assert_eq!(sharded.seeds().take(3).collect::<Vec<_>>(), [7, 10, 13]);
        assert_eq!(sharded.seeds().remaining(), (u64::MAX - 1 - 7) / 3 + 1);
        // The last seeds of a range that ends at the top stop without overflow.
        let top = plan_over("18446744073709551610..18446744073709551615", Some("0/2"), 1);
        let seeds: Vec<u64> = top.seeds().collect();
        assert_eq!(seeds.len() as u64, top.seeds().remaining());
        assert!(
            seeds.iter().all(|s| s % 2 == 0) && seeds.len() == 3,
            "{seeds:?}"
        );
    }

    #[test]
    fn threads_are_capped_by_the_seeds_and_a_maximum() {
        assert_eq!(plan_over("0..4", None, 3000).threads(), 4);
        assert_eq!(plan_over("0..100000", None, 3000).threads(), MAX_JOBS);
        assert_eq!(plan_over("0..9", Some("0/3"), 8).threads(), 3);
        assert_eq!(plan_over("0..9", None, 2).threads(), 2);
    }

    #[test]
    fn replay_commands_quote_what_the_shell_would_split() {
        assert_eq!(shell_quote("register-healthy"), "register-healthy");
        assert_eq!(shell_quote("duration=\"1s\""), "'duration=\"1s\"'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
