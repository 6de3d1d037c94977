//! What a failed check tells the person debugging it.
//!
//! For one failing partition (key): the longest linearization the search
//! found, the model state after it, the operation that completed before it
//! could be placed, and the other operations that could have gone next (none
//! fits). Serialises to JSON; renders as plain text.

use serde::Serialize;

/// One operation, as shown in a counterexample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpReport {
    /// Position among the history's operations (invocation order), 0-based.
    pub op: usize,
    pub process: u64,
    /// e.g. `read -> 3`, `cas 1->2`, `append "k" "x"`.
    pub description: String,
    pub invoke_time: u64,
    /// `None`: indeterminate.
    pub complete_time: Option<u64>,
    /// 0-based index of the invocation entry in the history.
    pub invoke_entry: usize,
    pub complete_entry: Option<usize>,
    /// 1-based line of the invocation in the input file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_line: Option<usize>,
}

/// A linearized operation and the model state right after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrefixStep {
    pub op: OpReport,
    pub state_after: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counterexample {
    /// The partition (e.g. the key); `None` for an unpartitioned model.
    pub partition: Option<String>,
    pub initial_state: String,
    /// The longest linearizable prefix found, in linearization order.
    pub prefix: Vec<PrefixStep>,
    /// The model state after the prefix.
    pub state: String,
    /// The operation that could not be placed: it completed, yet no order of
    /// the operations pending after the prefix lets it take effect.
    pub unplaceable: OpReport,
    /// The other operations that could have been linearized next.
    pub candidates: Vec<OpReport>,
    /// The partition's operations around the failure (from the calls of the
    /// last prefix steps and candidates to the unplaceable op's return), in
    /// call order: what the picture draws.
    pub window: Vec<OpReport>,
}

impl OpReport {
    /// Fills `invoke_line` / `complete_line` from entry indices.
    pub fn set_lines(&mut self, line_of: &dyn Fn(usize) -> Option<usize>) {
        self.invoke_line = line_of(self.invoke_entry);
        self.complete_line = self.complete_entry.and_then(line_of);
    }

    fn where_(&self) -> String {
        let span = match self.complete_time {
            Some(t) => format!("[{}, {}]", self.invoke_time, t),
            None => format!("[{}, indeterminate]", self.invoke_time),
        };
        match (self.invoke_line, self.complete_line) {
            (Some(a), Some(b)) => format!("{span}, lines {a}-{b}"),
            (Some(a), None) => format!("{span}, line {a}"),
            _ => span,
        }
    }

    fn line(&self) -> String {
        format!(
            "op #{} (process {}) {}  {}",
            self.op,
            self.process,
            self.description,
            self.where_()
        )
    }
}

/// How many linearized operations the text form shows before the failure.
const SHOWN_PREFIX: usize = 12;

impl Counterexample {
    pub fn set_lines(&mut self, line_of: &dyn Fn(usize) -> Option<usize>) {
        for step in &mut self.prefix {
            step.op.set_lines(line_of);
        }
        self.unplaceable.set_lines(line_of);
        for c in self.candidates.iter_mut().chain(&mut self.window) {
            c.set_lines(line_of);
        }
    }

    /// Plain-text explanation, a few lines long.
    pub fn render(&self) -> String {
        self.render_as("not linearizable")
    }

    /// [`Counterexample::render`] headed by `verdict` (a search without
    /// real-time order finds a history "not sequentially consistent").
    pub fn render_as(&self, verdict: &str) -> String {
        let mut out = String::new();
        match &self.partition {
            Some(p) => out.push_str(&format!("{verdict}: key {p:?}\n")),
            None => out.push_str(&format!("{verdict}\n")),
        }
        out.push_str(&format!(
            "  longest linearizable prefix: {} operation(s), from initial state {}\n",
            self.prefix.len(),
            self.initial_state
        ));
        let skip = self.prefix.len().saturating_sub(SHOWN_PREFIX);
        if skip > 0 {
            out.push_str(&format!("    ... {skip} earlier operation(s)\n"));
        }
        for step in &self.prefix[skip..] {
            out.push_str(&format!(
                "    {}  => {}\n",
                step.op.line(),
                step.state_after
            ));
        }
        out.push_str(&format!("  state after the prefix: {}\n", self.state));
        out.push_str(&format!(
            "  cannot be placed: {}\n",
            self.unplaceable.line()
        ));
        if self.candidates.is_empty() {
            out.push_str("  no other operation was pending\n");
        } else {
            out.push_str("  pending operations tried before it (none leads to a linearization):\n");
            for c in &self.candidates {
                out.push_str(&format!("    {}\n", c.line()));
            }
        }
        out
    }
}
