//! The consistency ladder: which of linearizable, sequential, causal and
//! eventually convergent a history satisfies, strongest first, with the
//! first counterexample of each model it fails.
//!
//! A ladder is a list of rungs. The rungs judged from a history alone are
//! [`HISTORY_RUNGS`], one line each; a rung that needs more than the
//! history (eventual convergence needs the replicas' final states, which
//! only a run has) is given by whoever knows it, and so is a rung already
//! judged elsewhere (a run's linearizability verdict): see [`judge`]. A
//! model with no checker yet is not listed at all, never given a verdict.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_core::history::History;

use crate::causal::{check_causal, CausalVerdict};
use crate::linearizability::{CheckOptions, CheckReport, Consistency, Verdict};
use crate::named::{check_history_named_for, check_history_named_from};
use crate::value::Scalar;

pub const LINEARIZABLE: &str = "linearizable";
pub const SEQUENTIAL: &str = "sequential";
pub const CAUSAL: &str = "causal";
pub const CONVERGENT: &str = "eventually convergent";

/// Lines of a counterexample kept in a rung's detail.
pub const MAX_DETAIL_LINES: usize = 40;

/// Where a history stands on one rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Standing {
    #[serde(rename = "holds")]
    Holds,
    #[serde(rename = "fails")]
    Fails,
    /// The checker could not decide (a budget ran out, reads it could not
    /// trace to their write, a run stopped early).
    #[serde(rename = "unknown")]
    Unknown,
    /// The model does not apply: no sequential model for the operations,
    /// no replicated state to converge.
    #[serde(rename = "not applicable")]
    NotApplicable,
}

impl Standing {
    /// ✓, ✗, ? or –, for tables.
    pub fn mark(self) -> &'static str {
        match self {
            Standing::Holds => "✓",
            Standing::Fails => "✗",
            Standing::Unknown => "?",
            Standing::NotApplicable => "–",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Standing::Holds => "holds",
            Standing::Fails => "fails",
            Standing::Unknown => "unknown",
            Standing::NotApplicable => "not applicable",
        }
    }
}

/// One consistency model and where the history stands on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rung {
    /// `linearizable`, `sequential`, `causal`, `eventually convergent`.
    pub model: String,
    pub result: Standing,
    /// For `fails`: the first counterexample; for `unknown` and `not
    /// applicable`: why.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Rung {
    pub fn new(model: &str, result: Standing, detail: impl Into<String>) -> Rung {
        Rung {
            model: model.to_string(),
            result,
            detail: shorten(&detail.into()),
        }
    }

    /// The rung of a linearizability check's report.
    pub fn from_linearizability(report: &CheckReport) -> Rung {
        Self::from_search(LINEARIZABLE, report)
    }

    /// The rung `model` of a report of the linearizability search (run for
    /// linearizability, or without real-time order for sequential
    /// consistency).
    fn from_search(model: &str, report: &CheckReport) -> Rung {
        match report.verdict {
            Verdict::Linearizable => Rung::new(model, Standing::Holds, ""),
            Verdict::NotLinearizable => Rung::new(
                model,
                Standing::Fails,
                report
                    .counterexamples
                    .first()
                    .map_or(format!("not {model}"), |c| {
                        c.render_as(report.verdict_text())
                    }),
            ),
            Verdict::Unknown => Rung::new(
                model,
                Standing::Unknown,
                format!(
                    "the search hit its {}",
                    report.unknown_reason.as_deref().unwrap_or("budget")
                ),
            ),
        }
    }
}

/// At most [`MAX_DETAIL_LINES`] lines: a summary is no place for a whole
/// counterexample's prefix.
fn shorten(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_DETAIL_LINES {
        return text.trim_end().to_string();
    }
    format!(
        "{}\n… ({} more lines)",
        lines[..MAX_DETAIL_LINES].join("\n"),
        lines.len() - MAX_DETAIL_LINES
    )
}

/// The rungs of one history, strongest model first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ladder {
    pub rungs: Vec<Rung>,
    /// The strongest model the history is known to satisfy (the first rung
    /// that holds), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strongest: Option<String>,
}

impl Ladder {
    /// The same rungs with `strongest` set: the first rung that holds.
    pub fn with_strongest(mut self) -> Ladder {
        self.strongest = self
            .rungs
            .iter()
            .find(|r| r.result == Standing::Holds)
            .map(|r| r.model.clone());
        self
    }

    pub fn rung(&self, model: &str) -> Option<&Rung> {
        self.rungs.iter().find(|r| r.model == model)
    }

    /// The text form: one line per rung, then each failing rung's
    /// counterexample.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for r in &self.rungs {
            let first = r.detail.lines().next().unwrap_or_default();
            text.push_str(&format!(
                "  {:<22} {} {:<15} {first}\n",
                r.model,
                r.result.mark(),
                r.result.name()
            ));
        }
        text.push_str(&format!(
            "strongest model satisfied: {}\n",
            self.strongest.as_deref().unwrap_or("none known")
        ));
        for r in self.rungs.iter().filter(|r| r.result == Standing::Fails) {
            text.push_str(&format!("\nnot {}:\n{}\n", r.model, r.detail));
        }
        text
    }
}

/// What the rungs judged from a history need.
pub struct LadderInput<'a> {
    pub history: &'a History,
    /// The sequential model of the operations (`checkers::MODEL_NAMES`), if any.
    pub model: Option<&'a str>,
    /// The registers' initial value, when not `null` (Knossos files: 0).
    pub initial: Option<Value>,
    pub options: CheckOptions,
}

/// A rung judged from the history alone.
pub type JudgeRung = fn(&LadderInput) -> Rung;

/// The rungs judged from the history alone, strongest first: each model
/// implies the ones below it (linearizable ⇒ sequential ⇒ causal).
pub const HISTORY_RUNGS: &[(&str, JudgeRung)] = &[
    (LINEARIZABLE, linearizable_rung),
    (SEQUENTIAL, sequential_rung),
    (CAUSAL, causal_rung),
];

/// The order the rungs are judged in, cheapest first: the causal check is
/// one pass, the sequential one a search that can be much harder than the
/// linearizability search (no real-time order to prune with). A cheap
/// verdict can settle an expensive one: see [`judge`].
const JUDGING_ORDER: [usize; 3] = [0, 2, 1];

/// The ladder of `input`: each of [`HISTORY_RUNGS`], taken from `known`
/// when that has a rung of the same model (judged elsewhere already), else
/// implied by the others (a stronger model that holds, or a weaker one that
/// fails, settles it without a search), else judged here; then the rest of
/// `known` in its order.
pub fn judge(input: &LadderInput, known: Vec<Rung>) -> Ladder {
    let mut known = known;
    let mut slots: Vec<Option<Rung>> = vec![None; HISTORY_RUNGS.len()];
    for at in JUDGING_ORDER {
        let (model, judge_rung) = HISTORY_RUNGS[at];
        let stronger_holds = slots[..at]
            .iter()
            .flatten()
            .find(|r| r.result == Standing::Holds);
        let weaker_fails = slots[at + 1..]
            .iter()
            .flatten()
            .find(|r| r.result == Standing::Fails);
        let rung = if let Some(i) = known.iter().position(|r| r.model == model) {
            known.remove(i)
        } else if let Some(r) = stronger_holds {
            Rung::new(model, Standing::Holds, format!("implied by {}", r.model))
        } else if let Some(r) = weaker_fails {
            Rung::new(model, Standing::Fails, format!("implied: not {}", r.model))
        } else {
            judge_rung(input)
        };
        slots[at] = Some(rung);
    }
    // A weaker rung judged before a stronger one held (causal unknown for
    // repeated values, say) is settled by it now.
    for at in 1..slots.len() {
        let stronger = slots[..at]
            .iter()
            .flatten()
            .find(|r| r.result == Standing::Holds)
            .map(|r| r.model.clone());
        if let (Some(model), Some(rung)) = (stronger, slots[at].as_mut()) {
            if rung.result == Standing::Unknown {
                *rung = Rung::new(
                    &rung.model.clone(),
                    Standing::Holds,
                    format!("implied by {model}"),
                );
            }
        }
    }
    let mut rungs: Vec<Rung> = slots.into_iter().flatten().collect();
    rungs.extend(known);
    Ladder {
        rungs,
        strongest: None,
    }
    .with_strongest()
}

/// Linearizability against `input.model`.
pub fn linearizable_rung(input: &LadderInput) -> Rung {
    let Some(model) = input.model else {
        return Rung::new(
            LINEARIZABLE,
            Standing::NotApplicable,
            "no sequential model for these operations",
        );
    };
    let initial = input.initial.as_ref().map(Scalar::from_json);
    match check_history_named_from(model, initial.as_ref(), input.history, &input.options) {
        Ok(report) => Rung::from_linearizability(&report),
        Err(e) => Rung::new(
            LINEARIZABLE,
            Standing::NotApplicable,
            format!("the history does not fit model {model}: {e}"),
        ),
    }
}

/// Sequential consistency against `input.model`: the linearizability
/// search without real-time order, all keys together
/// ([`crate::sequential`]).
pub fn sequential_rung(input: &LadderInput) -> Rung {
    let Some(model) = input.model else {
        return Rung::new(
            SEQUENTIAL,
            Standing::NotApplicable,
            "no sequential model for these operations",
        );
    };
    let initial = input.initial.as_ref().map(Scalar::from_json);
    match check_history_named_for(
        model,
        initial.as_ref(),
        input.history,
        &input.options,
        Consistency::Sequential,
    ) {
        Ok(report) => Rung::from_search(SEQUENTIAL, &report),
        Err(e) => Rung::new(
            SEQUENTIAL,
            Standing::NotApplicable,
            format!("the history does not fit model {model}: {e}"),
        ),
    }
}

/// Causal consistency ([`crate::causal`]).
pub fn causal_rung(input: &LadderInput) -> Rung {
    let report = match check_causal(input.history, input.initial.as_ref()) {
        Ok(report) => report,
        Err(e) => return Rung::new(CAUSAL, Standing::Unknown, format!("malformed history: {e}")),
    };
    let why = report.reason.clone().unwrap_or_default();
    match report.verdict {
        CausalVerdict::Causal => Rung::new(CAUSAL, Standing::Holds, ""),
        CausalVerdict::NotCausal => {
            let mut detail = report
                .violations
                .first()
                .map(|v| v.render())
                .unwrap_or_default();
            if report.violation_count > 1 {
                detail.push_str(&format!("({} violations in all)\n", report.violation_count));
            }
            Rung::new(CAUSAL, Standing::Fails, detail)
        }
        CausalVerdict::Unknown => Rung::new(CAUSAL, Standing::Unknown, why),
        CausalVerdict::NotApplicable => Rung::new(CAUSAL, Standing::NotApplicable, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sim_core::history::{HistoryEntry, OpType};

    /// Two writers, two readers that see the writes in opposite orders:
    /// causal, not linearizable.
    fn opposite_orders() -> History {
        let mut h = History::new();
        let mut t = 0;
        let mut op = |h: &mut History, p: u64, f: &str, v: Value| {
            for (ty, value) in [
                (
                    OpType::Invoke,
                    if f == "read" { Value::Null } else { v.clone() },
                ),
                (OpType::Ok, v),
            ] {
                t += 10;
                h.push(HistoryEntry {
                    process: p,
                    op_type: ty,
                    f: f.into(),
                    key: None,
                    value,
                    time: t,
                });
            }
        };
        op(&mut h, 1, "write", json!(1));
        op(&mut h, 2, "write", json!(2));
        op(&mut h, 3, "read", json!(1));
        op(&mut h, 3, "read", json!(2));
        op(&mut h, 4, "read", json!(2));
        op(&mut h, 4, "read", json!(1));
        h
    }

    fn input(history: &History) -> LadderInput<'_> {
        LadderInput {
            history,
            model: Some("register"),
            initial: None,
            options: CheckOptions::default(),
        }
    }

    #[test]
    fn a_causal_history_that_is_not_linearizable() {
        let history = opposite_orders();
        let ladder = judge(&input(&history), Vec::new());
        let models: Vec<&str> = ladder.rungs.iter().map(|r| r.model.as_str()).collect();
        assert_eq!(models, [LINEARIZABLE, SEQUENTIAL, CAUSAL]);
        assert_eq!(ladder.rungs[0].result, Standing::Fails);
        assert!(!ladder.rungs[0].detail.is_empty());
        // Two readers see the writes in opposite orders: no one order of
        // all operations explains both, so not sequential either.
        assert_eq!(ladder.rungs[1].result, Standing::Fails);
        // Each rung's counterexample is headed by its own model.
        let sequential = &ladder.rungs[1].detail;
        assert!(
            sequential.starts_with("not sequentially consistent"),
            "{sequential}"
        );
        assert!(ladder.rungs[0].detail.starts_with("not linearizable"));
        assert_eq!(ladder.rungs[2].result, Standing::Holds);
        assert_eq!(ladder.strongest.as_deref(), Some(CAUSAL));
        let text = ladder.render();
        assert!(text.contains("strongest model satisfied: causal"), "{text}");
        assert!(text.contains("not linearizable:"), "{text}");
    }

    #[test]
    fn known_rungs_replace_judged_ones_and_others_follow() {
        let history = opposite_orders();
        let known = vec![
            Rung::new(CONVERGENT, Standing::NotApplicable, "no replicas"),
            Rung::new(LINEARIZABLE, Standing::Unknown, "not judged"),
        ];
        let ladder = judge(&input(&history), known);
        let models: Vec<&str> = ladder.rungs.iter().map(|r| r.model.as_str()).collect();
        assert_eq!(models, [LINEARIZABLE, SEQUENTIAL, CAUSAL, CONVERGENT]);
        assert_eq!(ladder.rungs[0].result, Standing::Unknown);
        // An unknown rung implies nothing; the sequential one is searched
        // (the causal one holds, so it cannot settle it).
        assert_eq!(ladder.rungs[1].result, Standing::Fails);
        assert!(ladder.rungs[1].detail != "implied: not causal");
    }

    /// A rung that holds implies the weaker ones below it, without a search.
    #[test]
    fn a_rung_that_holds_implies_the_weaker_ones() {
        let history = opposite_orders();
        let known = vec![Rung::new(LINEARIZABLE, Standing::Holds, "")];
        let ladder = judge(&input(&history), known);
        let results: Vec<Standing> = ladder.rungs.iter().map(|r| r.result).collect();
        assert_eq!(results, [Standing::Holds; 3]);
        assert_eq!(ladder.rungs[1].detail, "implied by linearizable");
        assert_eq!(ladder.rungs[2].detail, "implied by linearizable");
    }

    /// A weaker rung that fails settles the stronger ones: no search.
    #[test]
    fn a_rung_that_fails_settles_the_stronger_ones() {
        let history = opposite_orders();
        let known = vec![Rung::new(CAUSAL, Standing::Fails, "read-your-writes")];
        let ladder = judge(&input(&history), known);
        assert_eq!(ladder.rungs[1].result, Standing::Fails);
        assert_eq!(ladder.rungs[1].detail, "implied: not causal");
    }

    #[test]
    fn without_a_model_linearizability_does_not_apply() {
        let history = opposite_orders();
        let ladder = judge(
            &LadderInput {
                model: None,
                ..input(&history)
            },
            Vec::new(),
        );
        assert_eq!(ladder.rungs[0].result, Standing::NotApplicable);
    }

    #[test]
    fn long_details_are_cut() {
        let long: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let rung = Rung::new(CAUSAL, Standing::Fails, long);
        assert_eq!(rung.detail.lines().count(), MAX_DETAIL_LINES + 1);
        assert!(rung.detail.ends_with("(60 more lines)"));
    }

    #[test]
    fn a_ladder_round_trips_through_json() {
        let history = opposite_orders();
        let ladder = judge(&input(&history), Vec::new());
        let text = serde_json::to_string(&ladder).unwrap();
        assert!(text.contains("\"result\":\"fails\""), "{text}");
        assert_eq!(serde_json::from_str::<Ladder>(&text).unwrap(), ladder);
    }
}
