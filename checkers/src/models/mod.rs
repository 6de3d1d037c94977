//! The sequential models: one module per data type.

pub mod counter;
pub mod kv;
pub mod lock;
pub mod register;
pub mod set;

pub use counter::Counter;
pub use kv::Kv;
pub use lock::Lock;
pub use register::Register;
pub use set::Set;

use serde_json::Value;

/// Reads an integer from a JSON value (a number, or a string of digits).
pub(crate) fn json_i64(value: &Value, what: &str) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{what} must be an integer, got {value}")),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{what} must be an integer, got {value}")),
        _ => Err(format!("{what} must be an integer, got {value}")),
    }
}

pub(crate) fn unknown_f(f: &str, model: &str, allowed: &str) -> String {
    format!("unknown operation `{f}` for model {model} (expected one of: {allowed})")
}
