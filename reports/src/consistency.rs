//! The run report's consistency ladder: one row per model of the summary's
//! `consistency.rungs` (linearizable, causal, eventually convergent, ...),
//! with ✓ / ✗ / unknown / n/a and the first counterexample of a model the
//! history fails. Read as plain JSON, like the rest of the summary.

use serde_json::Value;

use crate::html::{escape, Page};

/// The mark and CSS class of a rung's `result`.
fn mark(result: &str) -> (&'static str, &'static str) {
    match result {
        "holds" => ("✓ holds", "pass"),
        "fails" => ("✗ fails", "fail"),
        "not applicable" => ("n/a", "na"),
        _ => ("? unknown", "unknown"),
    }
}

/// Adds the "Consistency" section when the summary has a ladder (runs made
/// before it existed have none).
pub(crate) fn section(page: &mut Page, summary: &Value) {
    let Some(rungs) = summary
        .pointer("/consistency/rungs")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
    else {
        return;
    };
    let text = |v: &Value, name: &str| {
        v.get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    page.heading("Consistency");
    let strongest = summary
        .pointer("/consistency/strongest")
        .and_then(Value::as_str)
        .map_or("none known".to_string(), |s| {
            format!("<b>{}</b>", escape(s))
        });
    page.paragraph(&format!(
        "Which consistency models the client history satisfies, strongest first \
         (a description of the run, not a check of it). Strongest satisfied: {strongest}."
    ));
    let rows: Vec<Vec<String>> = rungs
        .iter()
        .map(|r| {
            let (shown, class) = mark(&text(r, "result"));
            let detail = text(r, "detail");
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!("<pre>{}</pre>", escape(&detail))
            };
            vec![
                escape(&text(r, "model")),
                format!("<span class=\"{class}\">{shown}</span>"),
                detail,
            ]
        })
        .collect();
    page.table(&["model", "result", "first counterexample, or why"], &rows);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_row_per_rung_with_its_mark_and_counterexample() {
        let summary = json!({"consistency": {"strongest": "causal", "rungs": [
            {"model": "linearizable", "result": "fails", "detail": "op 3 <read>"},
            {"model": "causal", "result": "holds"},
            {"model": "eventually convergent", "result": "not applicable", "detail": "no replicas"},
        ]}});
        let mut page = Page::new("t");
        section(&mut page, &summary);
        let html = page.finish("t");
        assert!(
            html.contains("✗ fails") && html.contains("✓ holds") && html.contains("n/a"),
            "{html}"
        );
        assert!(html.contains("op 3 &lt;read&gt;"), "{html}");
        assert!(
            html.contains("Strongest satisfied: <b>causal</b>"),
            "{html}"
        );
    }

    #[test]
    fn no_ladder_no_section() {
        let mut page = Page::new("t");
        section(&mut page, &json!({"verdicts": []}));
        assert!(!page.finish("t").contains("Consistency"));
    }
}
