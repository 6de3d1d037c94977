//! `clustersim diff`: where two traces of one scenario part ways.
//!
//! A trace (`trace.jsonl`, written by `run --trace` or `replay --trace`) is
//! one JSON line per event, serialized the same way every time, so two runs
//! agree up to an event exactly when their lines are byte-equal up to it.
//! Both files are streamed side by side: memory holds the last few common
//! lines and the few after the split, never a whole trace.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};

use crate::error::InputError;

/// Where two traces part ways, with events around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// The 1-based number of the first event (line) that differs.
    pub event: u64,
    /// Up to `context` common events just before it.
    pub before: Vec<String>,
    /// The first trace's events from the differing one on (up to
    /// `context + 1`); empty when it ended there.
    pub a: Vec<String>,
    /// The same for the second trace.
    pub b: Vec<String>,
}

/// What comparing two traces found.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    /// Every event equal; this many of them.
    Identical(u64),
    Differ(Divergence),
}

/// The trace file of `path`: a run directory's `trace.jsonl`, or the file
/// itself. A missing trace is bad input that says how to record one.
pub fn trace_file(path: &Path) -> Result<PathBuf, InputError> {
    let file = if path.is_dir() {
        path.join("trace.jsonl")
    } else {
        path.to_path_buf()
    };
    if file.is_file() {
        return Ok(file);
    }
    let message = if path.is_dir() {
        format!(
            "no trace.jsonl in this run directory: record one with `clustersim replay {} --trace` \
             (or `clustersim run SCENARIO --trace`)",
            path.display()
        )
    } else {
        "no such trace file or run directory".to_string()
    };
    Err(InputError::new(path.display().to_string(), message))
}

/// One trace being read, named for errors.
struct Trace<R> {
    path: String,
    lines: Lines<R>,
    read: u64,
}

impl<R: BufRead> Trace<R> {
    fn new(path: &str, reader: R) -> Self {
        Self {
            path: path.to_string(),
            lines: reader.lines(),
            read: 0,
        }
    }

    /// The next event's line, `None` at the end; a read error names the
    /// file and line.
    fn next(&mut self) -> Result<Option<String>, InputError> {
        match self.lines.next().transpose() {
            Ok(line) => {
                self.read += line.is_some() as u64;
                Ok(line)
            }
            Err(e) => Err(InputError::new(&self.path, format!("cannot read: {e}"))
                .at(self.read as usize + 1, 1)),
        }
    }

    /// `first` (if any) and up to `n - 1` lines after it.
    fn take(&mut self, first: Option<String>, n: usize) -> Result<Vec<String>, InputError> {
        let mut taken: Vec<String> = first.into_iter().collect();
        while !taken.is_empty() && taken.len() < n {
            match self.next()? {
                Some(line) => taken.push(line),
                None => break,
            }
        }
        Ok(taken)
    }
}

/// Compares the traces at `a` and `b` (files), keeping `context` events of
/// context on each side of the first difference.
pub fn compare_files(a: &Path, b: &Path, context: usize) -> Result<Comparison, InputError> {
    let open = |p: &Path| {
        File::open(p)
            .map(BufReader::new)
            .map_err(|e| InputError::io(p, e))
    };
    compare(
        (&a.display().to_string(), open(a)?),
        (&b.display().to_string(), open(b)?),
        context,
    )
}

/// Compares two named traces event by event.
pub fn compare<A: BufRead, B: BufRead>(
    (a_name, a): (&str, A),
    (b_name, b): (&str, B),
    context: usize,
) -> Result<Comparison, InputError> {
    let mut a = Trace::new(a_name, a);
    let mut b = Trace::new(b_name, b);
    let mut before = VecDeque::with_capacity(context + 1);
    let mut event = 0u64;
    loop {
        event += 1;
        let (x, y) = (a.next()?, b.next()?);
        match (x, y) {
            (None, None) => return Ok(Comparison::Identical(event - 1)),
            (Some(x), Some(y)) if x == y => {
                before.push_back(x);
                if before.len() > context {
                    before.pop_front();
                }
            }
            (x, y) => {
                return Ok(Comparison::Differ(Divergence {
                    event,
                    before: before.into(),
                    a: a.take(x, context + 1)?,
                    b: b.take(y, context + 1)?,
                }))
            }
        }
    }
}

/// The event's virtual time in seconds, for the reader (`t` of its line).
pub fn event_time(line: &str) -> Option<f64> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(value.get("t")?.as_u64()? as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Comparison {
        compare(("a", a.as_bytes()), ("b", b.as_bytes()), 2).unwrap()
    }

    #[test]
    fn equal_traces_are_identical() {
        assert_eq!(cmp("1\n2\n3\n", "1\n2\n3\n"), Comparison::Identical(3));
        assert_eq!(cmp("", ""), Comparison::Identical(0));
    }

    #[test]
    fn the_first_differing_event_comes_with_context() {
        let Comparison::Differ(d) = cmp("1\n2\n3\n4\nx\n6\n7\n8\n", "1\n2\n3\n4\ny\n6\n") else {
            panic!("they differ");
        };
        assert_eq!(d.event, 5);
        assert_eq!(d.before, ["3", "4"]);
        assert_eq!(d.a, ["x", "6", "7"]);
        assert_eq!(d.b, ["y", "6"]);
    }

    #[test]
    fn a_trace_that_ends_early_differs_where_it_ends() {
        let Comparison::Differ(d) = cmp("1\n2\n", "1\n2\n3\n") else {
            panic!("they differ");
        };
        assert_eq!(
            (d.event, d.a.len(), d.b.as_slice()),
            (3, 0, &["3".to_string()][..])
        );
    }

    #[test]
    fn the_time_is_read_from_the_line() {
        assert_eq!(
            event_time(r#"{"ev":"start","t":1500000000,"node":0}"#),
            Some(1.5)
        );
        assert_eq!(event_time("not json"), None);
    }
}
