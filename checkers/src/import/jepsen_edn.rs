//! Jepsen-style EDN histories, one map per line:
//! `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}`.

use sim_core::history::{History, HistoryEntry, OpType};

use super::edn::{self, Edn};
use super::ImportError;

pub fn parse(text: &str) -> Result<(History, Vec<usize>), ImportError> {
    let mut history = History::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let map = edn::parse(line).map_err(|e| ImportError::at(n, e))?;
        history.push(entry_from_map(&map, n, n as u64)?);
        lines.push(n);
    }
    Ok((history, lines))
}

/// One operation map (`{:process 0, :type :invoke, :f :read, :value nil}`)
/// as a history entry at `time`; errors name `line`.
pub(crate) fn entry_from_map(map: &Edn, n: usize, time: u64) -> Result<HistoryEntry, ImportError> {
    if !matches!(map, Edn::Map(_)) {
        return Err(ImportError::at(
            n,
            "expected an EDN map `{:process ..., :type ..., :f ...}`",
        ));
    }
    let field = |name: &str| {
        map.get(name)
            .ok_or_else(|| ImportError::at(n, format!("missing :{name}")))
    };
    let process = match field("process")? {
        Edn::Int(p) if *p >= 0 => *p as u64,
        other => {
            return Err(ImportError::at(
                n,
                format!(
                    ":process must be a non-negative integer, got {}",
                    other.to_json()
                ),
            ))
        }
    };
    let op_type = match field("type")? {
        Edn::Keyword(k) => match k.as_str() {
            "invoke" => OpType::Invoke,
            "ok" => OpType::Ok,
            "fail" => OpType::Fail,
            "info" => OpType::Info,
            other => {
                return Err(ImportError::at(
                    n,
                    format!("unknown operation type `:{other}`"),
                ))
            }
        },
        other => {
            return Err(ImportError::at(
                n,
                format!(":type must be a keyword, got {}", other.to_json()),
            ))
        }
    };
    let f = match field("f")? {
        Edn::Keyword(k) | Edn::Symbol(k) | Edn::Str(k) => k.clone(),
        other => {
            return Err(ImportError::at(
                n,
                format!(":f must be a keyword, got {}", other.to_json()),
            ))
        }
    };
    let key = match map.get("key") {
        None | Some(Edn::Nil) => None,
        Some(Edn::Str(s)) => Some(s.clone()),
        Some(Edn::Int(k)) => Some(k.to_string()),
        Some(Edn::Keyword(k)) => Some(k.clone()),
        Some(other) => {
            return Err(ImportError::at(
                n,
                format!(":key must be a string or integer, got {}", other.to_json()),
            ))
        }
    };
    let value = map
        .get("value")
        .map_or(serde_json::Value::Null, Edn::to_json);
    Ok(HistoryEntry {
        process,
        op_type,
        f,
        key,
        value,
        time,
    })
}
