//! What `clustersim check FILE --model MODEL [--format FMT] [--json]` runs.
//!
//! Prints the verdict (and, on failure, a counterexample) to stdout and any
//! error to stderr, and returns the process exit code:
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | linearizable |
//! | 1 | not linearizable |
//! | 2 | bad input or usage (the message names the file and 1-based line) |
//! | 3 | unknown: the search budget ran out before a decision |

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::import::{self, Format};
use crate::linearizability::{CheckOptions, CheckReport, Verdict};
use crate::named::{check_history_named, is_model_name, NamedCheckError, MODEL_NAMES};

pub const EXIT_LINEARIZABLE: i32 = 0;
pub const EXIT_NOT_LINEARIZABLE: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;
pub const EXIT_UNKNOWN: i32 = 3;

/// The subcommand, printing to the process's stdout and stderr, with the
/// default budget ([`CheckOptions::default`]).
pub fn check_command(file: &Path, model: &str, format: Option<&str>, json: bool) -> i32 {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    check_command_with(
        file,
        model,
        format,
        json,
        &CheckOptions::default(),
        &mut stdout.lock(),
        &mut stderr.lock(),
    )
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
    // Output errors (a closed pipe) cannot change the verdict: ignore them.
    let fail = |err: &mut dyn Write, message: String| {
        let _ = writeln!(err, "error: {message}");
        EXIT_BAD_INPUT
    };
    if !is_model_name(model) {
        return fail(
            err,
            format!(
                "unknown model `{model}` (expected one of: {})",
                MODEL_NAMES.join(", ")
            ),
        );
    }
    let format = match format {
        None => None,
        Some(name) => match Format::from_name(name) {
            Some(f) => Some(f),
            None => {
                return fail(
                    err,
                    format!(
                        "unknown format `{name}` (expected one of: {})",
                        Format::NAMES.join(", ")
                    ),
                )
            }
        },
    };
    let loaded = match import::load(file, format) {
        Ok(l) => l,
        Err(message) => return fail(err, message),
    };
    let mut report = match check_history_named(model, &loaded.history, options) {
        Ok(r) => r,
        Err(NamedCheckError::BadHistory(e)) => {
            let line = loaded.line_of(e.index).unwrap_or(0);
            return fail(err, format!("{}:{line}: {}", file.display(), e.message));
        }
        Err(e) => return fail(err, e.to_string()),
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
        report.verdict, report.model, report.operations, report.partitions, report.steps
    );
    for c in &report.counterexamples {
        text.push_str(&c.render());
    }
    if report.verdict == Verdict::Unknown {
        let parts: Vec<String> = report
            .unknown_partitions
            .iter()
            .map(|p| {
                if p.is_empty() {
                    "(whole history)".to_string()
                } else {
                    format!("{p:?}")
                }
            })
            .collect();
        text.push_str(&format!(
            "unknown: the search hit its {} before deciding; undecided: {}\n",
            report.unknown_reason.as_deref().unwrap_or("budget"),
            parts.join(", ")
        ));
    }
    text
}
