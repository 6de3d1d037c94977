//! Knossos-style EDN histories: the whole file is one EDN vector or list of
//! operation maps, spread over many lines, with `;` comments:
//!
//! ```text
//! ; a register history
//! [{:process 0, :type :invoke, :f :write, :value 3}
//!  {:process 0, :type :ok,     :f :write, :value 3}]
//! ```
//!
//! Knossos's conventions, applied when reading:
//! * an `:ok` read whose value is `nil` read nothing known: it becomes an
//!   indeterminate read (which constrains nothing);
//! * a `cas-register` starts at 0 (see [`KNOSSOS_REGISTER_INITIAL`]).
//!
//! Entries carry their `:time` when every map has an integer one, and their
//! position (1, 2, ...) otherwise: the files are in event order.
//!
//! [`write`] produces this format from any history, so histories go both
//! ways between this tool and Jepsen's; what it writes starts with
//! [`OWN_HEADER`], and in such a file a `nil` read means the register held
//! `nil` (our convention), not an unknown value.

use serde_json::Value;
use sim_core::history::{History, OpType};

use super::edn::{self, Edn};
use super::jepsen_edn::entry_from_map;
use super::ImportError;

/// The value a Knossos `cas-register` starts with.
pub const KNOSSOS_REGISTER_INITIAL: i64 = 0;

/// First line of the files [`write`] produces.
pub const OWN_HEADER: &str = "; clustersim history (EDN): an :ok read of nil read nil";

/// True when `text` was written by [`write`] (our value conventions).
pub fn is_own(text: &str) -> bool {
    text.starts_with(OWN_HEADER)
}

pub fn parse(text: &str) -> Result<(History, Vec<usize>), ImportError> {
    let items =
        edn::parse_collection_with_lines(text).map_err(|(line, e)| ImportError::at(line, e))?;
    let all_timed = items
        .iter()
        .all(|(map, _)| matches!(map.get("time"), Some(Edn::Int(t)) if *t >= 0));
    let knossos_reads = !is_own(text);
    let mut history = History::new();
    let mut lines = Vec::with_capacity(items.len());
    for (i, (map, line)) in items.iter().enumerate() {
        let time = match map.get("time") {
            Some(Edn::Int(t)) if all_timed => *t as u64,
            _ => i as u64 + 1,
        };
        let mut entry = entry_from_map(map, *line, time)?;
        if knossos_reads
            && entry.op_type == OpType::Ok
            && entry.f == "read"
            && entry.value.is_null()
        {
            entry.op_type = OpType::Info;
        }
        history.push(entry);
        lines.push(*line);
    }
    Ok((history, lines))
}

/// The history as one EDN vector, a map per line, with `:time`.
pub fn write(history: &History) -> String {
    let mut out = String::with_capacity(history.entries.len() * 80);
    out.push_str(OWN_HEADER);
    out.push_str("\n[");
    for (i, e) in history.entries.iter().enumerate() {
        if i > 0 {
            out.push_str("\n ");
        }
        let op_type = match e.op_type {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        };
        out.push_str(&format!(
            "{{:process {}, :type :{op_type}, :f {}",
            e.process,
            keyword_or_string(&e.f)
        ));
        if let Some(key) = &e.key {
            out.push_str(", :key ");
            out.push_str(&edn_string(key));
        }
        out.push_str(", :value ");
        out.push_str(&to_edn(&e.value));
        out.push_str(&format!(", :time {}}}", e.time));
    }
    out.push_str("]\n");
    out
}

/// `:name` when `name` is a valid keyword, else a string.
fn keyword_or_string(name: &str) -> String {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"*!_?$%&=<>/.+-".contains(&b))
        && !name.as_bytes()[0].is_ascii_digit();
    if valid {
        format!(":{name}")
    } else {
        edn_string(name)
    }
}

fn edn_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// JSON as EDN. Strings that read as keywords (`":ok"`, as the reader turns
/// keywords into JSON) are written back as keywords.
fn to_edn(value: &Value) -> String {
    match value {
        Value::Null => "nil".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => match s.strip_prefix(':') {
            Some(name) if keyword_or_string(name).starts_with(':') => s.clone(),
            _ => edn_string(s),
        },
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(to_edn).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{} {}", keyword_or_string(k), to_edn(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}
