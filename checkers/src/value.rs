//! A hashable, ordered value for model states.
//!
//! `serde_json::Value` has no `Hash` or `Ord`, and model states must be hashed
//! (the search's cache) and compared cheaply. A `Scalar` keeps the common cases
//! (null, booleans, integers, strings) native and any other JSON value as its
//! canonical text, so two equal JSON values always map to equal scalars.

use std::fmt;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    /// Any other JSON value (float, array, object), as compact JSON text.
    Json(String),
}

impl Scalar {
    pub fn from_json(value: &Value) -> Scalar {
        match value {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Scalar::Int(i),
                None => Scalar::Json(n.to_string()),
            },
            Value::String(s) => Scalar::Str(s.clone()),
            other => Scalar::Json(other.to_string()),
        }
    }

    /// Bytes of text this value owns on the heap.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Scalar::Str(s) | Scalar::Json(s) => s.capacity(),
            _ => 0,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Scalar::Null)
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Null => write!(f, "nil"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Str(s) => write!(f, "{s:?}"),
            Scalar::Json(j) => write!(f, "{j}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_json_gives_equal_scalars() {
        assert_eq!(Scalar::from_json(&json!(3)), Scalar::Int(3));
        assert_eq!(Scalar::from_json(&json!(null)), Scalar::Null);
        assert_eq!(
            Scalar::from_json(&json!([1, 2])),
            Scalar::from_json(&json!([1, 2]))
        );
        assert_ne!(Scalar::from_json(&json!("3")), Scalar::from_json(&json!(3)));
        assert_eq!(Scalar::from_json(&json!(1.5)).to_string(), "1.5");
    }
}
