//! Jepsen etcd logs: a compare-and-set register.
//!
//! Relevant lines read `... jepsen.util - PROC :TYPE :F VALUE` (any white
//! space between fields); all other lines are ignored. A line whose fields
//! after `jepsen.util -` start with a process number and a keyword is an
//! operation line, and must then be well formed.

use serde_json::Value;
use sim_core::history::{History, HistoryEntry, OpType};

use super::edn::{self, Edn};
use super::ImportError;

/// The fields after `jepsen.util -` if they start like an operation line:
/// (process, type keyword, the rest).
pub(crate) fn op_fields(line: &str) -> Option<(u64, &str, &str)> {
    let at = line.find("jepsen.util")?;
    let rest = line[at + "jepsen.util".len()..].trim_start();
    let rest = rest.strip_prefix('-')?.trim_start();
    let (process, rest) = rest.split_once(char::is_whitespace)?;
    let process: u64 = process.parse().ok()?;
    let rest = rest.trim_start();
    if !rest.starts_with(':') {
        return None;
    }
    let (kind, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Some((process, kind, rest.trim()))
}

fn int(e: &Edn) -> Option<i64> {
    match e {
        Edn::Int(i) => Some(*i),
        _ => None,
    }
}

pub fn parse(text: &str) -> Result<(History, Vec<usize>), ImportError> {
    let mut history = History::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let Some((process, kind, rest)) = op_fields(line) else {
            continue;
        };
        let op_type = match kind {
            ":invoke" => OpType::Invoke,
            ":ok" => OpType::Ok,
            ":fail" => OpType::Fail,
            ":info" => OpType::Info,
            other => {
                return Err(ImportError::at(
                    n,
                    format!("unknown operation type `{other}`"),
                ))
            }
        };
        let (f, value_text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let f = match f {
            ":read" => "read",
            ":write" => "write",
            ":cas" => "cas",
            "" => return Err(ImportError::at(n, "missing operation name after the type")),
            other => {
                return Err(ImportError::at(
                    n,
                    format!("unknown operation `{other}` (expected :read, :write or :cas)"),
                ))
            }
        };
        let value_text = value_text.trim();
        let value = if value_text.is_empty() {
            Edn::Nil
        } else {
            edn::parse(value_text).map_err(|e| ImportError::at(n, e))?
        };
        // Check the values that the register will read; others are free.
        let json = match (op_type, f) {
            (OpType::Invoke | OpType::Ok, "write") => match int(&value) {
                Some(v) => Value::from(v),
                None => {
                    return Err(ImportError::at(
                        n,
                        format!("write needs an integer, got `{value_text}`"),
                    ))
                }
            },
            (OpType::Invoke | OpType::Ok, "cas") => match &value {
                Edn::Vector(items)
                    if items.len() == 2 && items.iter().all(|x| int(x).is_some()) =>
                {
                    value.to_json()
                }
                _ => {
                    return Err(ImportError::at(
                        n,
                        format!("cas needs [expected new] integers, got `{value_text}`"),
                    ))
                }
            },
            (OpType::Ok, "read") => match &value {
                Edn::Nil => Value::Null,
                Edn::Int(v) => Value::from(*v),
                _ => {
                    return Err(ImportError::at(
                        n,
                        format!("read returned neither nil nor an integer: `{value_text}`"),
                    ))
                }
            },
            _ => value.to_json(),
        };
        history.push(HistoryEntry {
            process,
            op_type,
            f: f.to_string(),
            key: None,
            value: json,
            time: n as u64,
        });
        lines.push(n);
    }
    Ok((history, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_operation_lines_and_skips_others() {
        let text = "INFO  jepsen.util - 4\t:invoke\t:read\tnil\n\
                    some other line\n\
                    INFO  jepsen.util - 4\t:ok\t:read\t3\n\
                    INFO  jepsen.util - 2 :invoke :cas [1 4]\n\
                    INFO  jepsen.util - 2 :info :cas :timed-out\n";
        let (h, lines) = parse(text).unwrap();
        assert_eq!(h.entries.len(), 4);
        assert_eq!(lines, vec![1, 3, 4, 5]);
        assert_eq!(h.entries[1].value, Value::from(3));
        assert_eq!(h.entries[2].value, serde_json::json!([1, 4]));
        assert_eq!(h.entries[3].op_type, OpType::Info);
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let e = parse("x\nINFO jepsen.util - 1 :invoke :frob 3\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains(":frob"));
        let e = parse("INFO jepsen.util - 1 :invoke :write [1\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("INFO jepsen.util - 1 :start :write 1\n").unwrap_err();
        assert!(e.message.contains("unknown operation type"));
    }
}
