//! A run's consistency ladder (`consistency` in `summary.json`): the
//! linearizable rung from the run's own linearizability verdict (never
//! searched twice), the other rungs of `checkers::ladder::HISTORY_RUNGS`
//! judged on the judged history, and eventual convergence from the
//! protocol's end-of-run convergence verdicts.
//!
//! The ladder describes the history; it is not a verdict: a store that
//! promises only causal consistency passes its run while its ladder says
//! `linearizable ✗`. Its history rungs follow `checks.linearizability`
//! (the switch for the checks of the client history, which `bench` turns off).

use checkers::ladder::{self, Ladder, LadderInput, Rung, Standing};
use checkers::CheckOptions;
use sim_core::{Finding, History};

use crate::driver::Verdict;
use crate::scenario::Scenario;

/// The run's verdict named `linearizability`.
const LINEARIZABILITY: &str = "linearizability";

/// The ladder of a run that judged `history` with `model` (the driver's)
/// and gave `verdicts`; `finding` stopped it early, if set.
pub fn run_ladder(
    scenario: &Scenario,
    history: &History,
    model: Option<&str>,
    verdicts: &[Verdict],
    finding: Option<&Finding>,
) -> Ladder {
    let convergent = convergent_rung(verdicts, finding);
    if !scenario.checks.linearizability {
        let off =
            "not judged: the client history's checks are off (checks.linearizability = false)";
        let mut rungs: Vec<Rung> = ladder::HISTORY_RUNGS
            .iter()
            .map(|&(name, _)| Rung::new(name, Standing::Unknown, off))
            .collect();
        rungs.push(convergent);
        return Ladder {
            rungs,
            strongest: None,
        }
        .with_strongest();
    }
    let linearizable = match (verdicts.iter().find(|v| v.check == LINEARIZABILITY), model) {
        (Some(v), _) => Rung::new(ladder::LINEARIZABLE, standing(v), v.detail.clone()),
        (None, None) => Rung::new(
            ladder::LINEARIZABLE,
            Standing::NotApplicable,
            "the protocol names no sequential model for its operations",
        ),
        (None, Some(model)) => Rung::new(
            ladder::LINEARIZABLE,
            Standing::Unknown,
            format!("no linearizability verdict for model {model}"),
        ),
    };
    // A store judged by its own model's checker has that rung already.
    let own = [ladder::SEQUENTIAL, ladder::CAUSAL]
        .into_iter()
        .filter_map(|model| {
            let check = format!("{model} consistency");
            verdicts
                .iter()
                .find(|v| v.check == check)
                .map(|v| Rung::new(model, standing(v), v.detail.clone()))
        });
    let mut known = vec![linearizable];
    known.extend(own);
    known.push(convergent);
    // The ladder describes a run, it does not judge it: its searches get a
    // small budget of their own, so that a failing run (where the
    // sequential search, without real-time order, may be much harder than
    // the linearizability one) costs no more than a second or so.
    let budget = scenario.checks.linearizability_budget.min(LADDER_STEPS);
    let input = LadderInput {
        history,
        model,
        initial: None,
        options: CheckOptions::with_max_steps(budget),
    };
    ladder::judge(&input, known)
}

/// Search steps of the ladder's own searches in a run.
const LADDER_STEPS: u64 = 200_000;

fn standing(v: &Verdict) -> Standing {
    match v.result.as_str() {
        "pass" => Standing::Holds,
        "fail" => Standing::Fails,
        _ => Standing::Unknown,
    }
}

/// Eventual convergence: the end-of-run `convergence` verdicts (one per
/// replicated type: `convergence`, `convergence (g-set)`, ...), not the
/// timed `convergence within bound`.
fn convergent_rung(verdicts: &[Verdict], finding: Option<&Finding>) -> Rung {
    let name = ladder::CONVERGENT;
    let checks: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| v.check == "convergence" || v.check.starts_with("convergence ("))
        .collect();
    if let Some(failed) = checks.iter().find(|v| v.failed()) {
        let detail = format!("{}: {}", failed.check, failed.detail);
        return Rung::new(name, Standing::Fails, detail);
    }
    if let Some(unknown) = checks.iter().find(|v| v.result != "pass") {
        return Rung::new(name, Standing::Unknown, unknown.detail.clone());
    }
    match (checks.is_empty(), finding) {
        (false, _) => Rung::new(name, Standing::Holds, ""),
        (true, Some(f)) => Rung::new(
            name,
            Standing::Unknown,
            format!(
                "the run stopped early ({}), before its end-of-run checks",
                f.kind
            ),
        ),
        (true, None) => Rung::new(
            name,
            Standing::NotApplicable,
            "the protocol has no replicated state judged by convergence",
        ),
    }
}
