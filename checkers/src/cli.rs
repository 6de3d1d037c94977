//! What `clustersim check FILE --model MODEL [--consistency C] [--format FMT]
//! [--json] [--budget STEPS] [--memory MB] [--timeout S]` runs.
//!
//! Prints the verdict (and, on failure, a counterexample) to stdout and any
//! error to stderr, and returns the process exit code:
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | linearizable (or sequentially consistent, with `--consistency sequential`) |
//! | 1 | not linearizable (not sequentially consistent) |
//! | 2 | bad input or usage (the message names the file and 1-based line) |
//! | 3 | unknown: a limit (steps, memory, time) ran out before a decision |
//!
//! With `--ladder` ([`ladder_command`]) it prints the consistency ladder
//! instead: 0 every rung that applies holds, 1 one fails, 3 none fails but
//! one is unknown, 2 bad input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use sim_core::history::HistoryError;

use crate::import::{self, Format, LoadedHistory};
use crate::ladder::{self, LadderInput, Rung, Standing};
use crate::linearizability::{CheckOptions, CheckReport, Consistency, Verdict};
use crate::named::{check_history_named_for, is_model_name, NamedCheckError, MODEL_NAMES};
use crate::picture::counterexample_html;
use crate::value::Scalar;

pub const EXIT_LINEARIZABLE: i32 = 0;
pub const EXIT_NOT_LINEARIZABLE: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;
pub const EXIT_UNKNOWN: i32 = 3;

/// Everything `clustersim check` takes from its command line.
#[derive(Debug, Clone, Default)]
pub struct CheckArgs {
    pub file: PathBuf,
    pub model: String,
    /// `--consistency`: `linearizable` (default) or `sequential`.
    pub consistency: Option<String>,
    pub format: Option<String>,
    pub json: bool,
    /// `--budget STEPS`: search steps over all partitions.
    pub budget: Option<u64>,
    /// `--memory MB`: megabytes (10^6 bytes) for all search tables.
    pub memory_mb: Option<u64>,
    /// `--timeout S`: seconds of wall-clock time.
    pub timeout_s: Option<f64>,
    /// `--write-edn FILE`: also write the history read as an EDN vector
    /// (the Knossos shape), for Jepsen's tools.
    pub write_edn: Option<PathBuf>,
    /// `--html FILE`: also write the verdict as a page, with a picture of
    /// the counterexample when there is one.
    pub html: Option<PathBuf>,
    /// `--ladder`: print the consistency ladder (linearizable, causal, ...)
    /// instead of the linearizability verdict alone.
    pub ladder: bool,
}

impl CheckArgs {
    /// The limits: the defaults ([`CheckOptions::default`]) where no flag
    /// is given. The clock starts now.
    pub fn options(&self) -> Result<CheckOptions, String> {
        let mut options = CheckOptions::default();
        if let Some(steps) = self.budget {
            options.max_steps = Some(steps);
        }
        if let Some(mb) = self.memory_mb {
            options.max_memory_bytes =
                Some(usize::try_from(mb.saturating_mul(1_000_000)).unwrap_or(usize::MAX));
        }
        if let Some(s) = self.timeout_s {
            if !(s.is_finite() && s >= 0.0) {
                return Err(format!(
                    "--timeout must be a number of seconds >= 0, got {s}"
                ));
            }
            options.deadline = Some(Instant::now() + Duration::from_secs_f64(s));
        }
        Ok(options)
    }
}

/// The subcommand, printing to the process's stdout and stderr.
pub fn check_command(args: &CheckArgs) -> i32 {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let options = match args.options() {
        Ok(o) => o,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_BAD_INPUT;
        }
    };
    let mut err = stderr.lock();
    let consistency = match args.consistency.as_deref().map(Consistency::from_name) {
        None => Consistency::Linearizable,
        Some(Some(c)) => c,
        Some(None) => {
            let _ = writeln!(
                err,
                "error: unknown consistency `{}` (expected one of: {})",
                args.consistency.as_deref().unwrap_or_default(),
                Consistency::NAMES.join(", ")
            );
            return EXIT_BAD_INPUT;
        }
    };
    if let Some(out) = &args.write_edn {
        if let Err(message) = write_edn(&args.file, args.format.as_deref(), out) {
            let _ = writeln!(err, "error: {message}");
            return EXIT_BAD_INPUT;
        }
    }
    if args.ladder {
        if args.html.is_some() {
            let _ = writeln!(err, "error: --html draws a linearizability counterexample; it does not go with --ladder");
            return EXIT_BAD_INPUT;
        }
        return ladder_command(
            &args.file,
            &args.model,
            args.format.as_deref(),
            args.json,
            &options,
            &mut stdout.lock(),
            &mut err,
        );
    }
    run_check(
        &args.file,
        &args.model,
        consistency,
        args.format.as_deref(),
        args.json,
        &options,
        args.html.as_deref(),
        &mut stdout.lock(),
        &mut err,
    )
}

/// Writes `message` as an error and gives the bad-input exit code. Output
/// errors (a closed pipe) cannot change the verdict: they are ignored.
fn bad_input(err: &mut dyn Write, message: String) -> i32 {
    let _ = writeln!(err, "error: {message}");
    EXIT_BAD_INPUT
}

/// The history in `file` (in `format`, or the detected one) for a check by
/// `model`: an unknown model or format, or a file that does not load, is
/// the message to refuse it with.
fn load_for(file: &Path, model: &str, format: Option<&str>) -> Result<LoadedHistory, String> {
    if !is_model_name(model) {
        return Err(format!(
            "unknown model `{model}` (expected one of: {})",
            MODEL_NAMES.join(", ")
        ));
    }
    let format = match format {
        None => None,
        Some(name) => Some(Format::from_name(name).ok_or_else(|| {
            format!(
                "unknown format `{name}` (expected one of: {})",
                Format::NAMES.join(", ")
            )
        })?),
    };
    import::load(file, format)
}

/// A history entry that makes no operation, named by its line in `file`.
fn malformed_at(file: &Path, loaded: &LoadedHistory, e: &HistoryError) -> String {
    let line = loaded.line_of(e.index).unwrap_or(0);
    format!("{}:{line}: {}", file.display(), e.message)
}

/// `check --ladder`: the consistency ladder of a saved history, with
/// `model` for the linearizable rung. A saved history has no replica
/// states, so eventual convergence is not judged. Exit 0 when every rung
/// that applies holds, 1 when one fails, 3 when none fails but one is
/// unknown, 2 for bad input.
pub fn ladder_command(
    file: &Path,
    model: &str,
    format: Option<&str>,
    json: bool,
    options: &CheckOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let loaded = match load_for(file, model, format) {
        Ok(l) => l,
        Err(message) => return bad_input(err, message),
    };
    if let Err(e) = loaded.history.operations() {
        return bad_input(err, malformed_at(file, &loaded, &e));
    }
    let input = LadderInput {
        history: &loaded.history,
        model: Some(model),
        // A Knossos file's registers start at 0 (ours at nil).
        initial: loaded
            .knossos_conventions
            .then_some(serde_json::json!(import::knossos::KNOSSOS_REGISTER_INITIAL)),
        options: options.clone(),
    };
    let mut ladder = ladder::judge(&input, Vec::new());
    ladder.rungs.push(Rung::new(
        ladder::CONVERGENT,
        Standing::NotApplicable,
        "a saved history has no replica states to compare",
    ));
    if json {
        let text = serde_json::to_string_pretty(&ladder)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        let _ = writeln!(out, "{text}");
    } else {
        let _ = write!(
            out,
            "{}: consistency ladder (model {model} for linearizability)\n{}",
            file.display(),
            ladder.render()
        );
    }
    let standing = |s| ladder.rungs.iter().any(|r| r.result == s);
    if standing(Standing::Fails) {
        EXIT_NOT_LINEARIZABLE
    } else if standing(Standing::Unknown) {
        EXIT_UNKNOWN
    } else {
        EXIT_LINEARIZABLE
    }
}

/// Reads `file` (in `format`, or the detected one) and writes it to `out` as
/// EDN ([`import::knossos::write`]).
pub fn write_edn(file: &Path, format: Option<&str>, out: &Path) -> Result<(), String> {
    let format = match format {
        None => None,
        Some(name) => {
            Some(Format::from_name(name).ok_or_else(|| format!("unknown format `{name}`"))?)
        }
    };
    let loaded = import::load(file, format)?;
    std::fs::write(out, import::knossos::write(&loaded.history))
        .map_err(|e| format!("{}: cannot write: {e}", out.display()))
}

#[derive(Serialize)]
struct JsonOutput<'a> {
    file: String,
    format: &'a str,
    #[serde(flatten)]
    report: &'a CheckReport,
}

/// The subcommand with explicit options and output streams (for tests and
/// for callers that capture the output).
pub fn check_command_with(
    file: &Path,
    model: &str,
    format: Option<&str>,
    json: bool,
    options: &CheckOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    run_check(
        file,
        model,
        Consistency::Linearizable,
        format,
        json,
        options,
        None,
        out,
        err,
    )
}

/// The subcommand, writing the HTML page to `html` when given.
#[allow(clippy::too_many_arguments)]
pub fn run_check(
    file: &Path,
    model: &str,
    consistency: Consistency,
    format: Option<&str>,
    json: bool,
    options: &CheckOptions,
    html: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let loaded = match load_for(file, model, format) {
        Ok(l) => l,
        Err(message) => return bad_input(err, message),
    };
    // A Knossos file's registers start at 0 (ours at nil).
    let initial = loaded
        .knossos_conventions
        .then_some(Scalar::Int(import::knossos::KNOSSOS_REGISTER_INITIAL));
    let checked = check_history_named_for(
        model,
        initial.as_ref(),
        &loaded.history,
        options,
        consistency,
    );
    let mut report = match checked {
        Ok(r) => r,
        Err(NamedCheckError::BadHistory(e)) => {
            return bad_input(err, malformed_at(file, &loaded, &e))
        }
        Err(e) => return bad_input(err, e.to_string()),
    };
    report.set_lines(&|entry| loaded.line_of(entry));

    if json {
        let doc = JsonOutput {
            file: file.display().to_string(),
            format: loaded.format.name(),
            report: &report,
        };
        let text = serde_json::to_string_pretty(&doc)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        let _ = writeln!(out, "{text}");
    } else {
        let _ = write!(
            out,
            "{}",
            render_report(&file.display().to_string(), &report)
        );
    }
    if let Some(path) = html {
        let name = file.display().to_string();
        let page = match report.counterexamples.first() {
            Some(c) => counterexample_html(&name, c),
            None => format!(
                "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body><pre>{}</pre></body></html>\n",
                render_report(&name, &report)
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
            ),
        };
        if let Err(e) = std::fs::write(path, page) {
            return bad_input(err, format!("{}: cannot write: {e}", path.display()));
        }
    }
    if report.verdict == Verdict::Unknown {
        let _ = writeln!(
            err,
            "{}: verdict unknown: the search hit its {} before a decision",
            file.display(),
            report.unknown_reason.as_deref().unwrap_or("budget")
        );
    }
    exit_code(report.verdict)
}

pub fn exit_code(verdict: Verdict) -> i32 {
    match verdict {
        Verdict::Linearizable => EXIT_LINEARIZABLE,
        Verdict::NotLinearizable => EXIT_NOT_LINEARIZABLE,
        Verdict::Unknown => EXIT_UNKNOWN,
    }
}

/// The text form of a report: a summary line, then each counterexample.
pub fn render_report(name: &str, report: &CheckReport) -> String {
    let mut text = format!(
        "{name}: {} (model {}, {} operations, {} partition(s), {} search steps)\n",
        report.verdict_text(),
        report.model,
        report.operations,
        report.partitions,
        report.steps
    );
    for c in &report.counterexamples {
        text.push_str(&c.render_as(report.verdict_text()));
    }
    if report.verdict == Verdict::Unknown {
        text.push_str(&format!(
            "unknown: the search hit its {} before deciding\n",
            report.unknown_reason.as_deref().unwrap_or("budget"),
        ));
        text.push_str(&render_partitions(report));
    }
    text
}

/// One line per partition: what was decided, and for an undecided one the
/// longest linearizable prefix its search found.
pub fn render_partitions(report: &CheckReport) -> String {
    let mut text = String::new();
    for p in &report.partition_reports {
        text.push_str(&format!(
            "  {}: {} ({} operations, {} steps",
            p.name(),
            p.status,
            p.operations,
            p.steps
        ));
        if p.status.is_undecided() {
            text.push_str(&format!(", {}", p.progress()));
        }
        text.push_str(")\n");
    }
    text
}
