//! A small reader for the EDN subset that Jepsen histories use: maps,
//! vectors, lists, sets, strings, keywords, integers, floats, nil, booleans
//! and bare symbols. Commas are white space. Enough for history lines; not a
//! general EDN implementation (no tagged literals, no characters).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Keyword(String),
    Symbol(String),
    Vector(Vec<Edn>),
    List(Vec<Edn>),
    Set(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    /// The value as JSON: keywords become `":name"` strings, maps with
    /// keyword keys become objects keyed by the name.
    pub fn to_json(&self) -> Value {
        match self {
            Edn::Nil => Value::Null,
            Edn::Bool(b) => Value::Bool(*b),
            Edn::Int(i) => Value::from(*i),
            Edn::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Edn::Str(s) | Edn::Symbol(s) => Value::String(s.clone()),
            Edn::Keyword(k) => Value::String(format!(":{k}")),
            Edn::Vector(items) | Edn::List(items) | Edn::Set(items) => {
                Value::Array(items.iter().map(Edn::to_json).collect())
            }
            Edn::Map(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Edn::Keyword(name) | Edn::Str(name) | Edn::Symbol(name) => name.clone(),
                            other => other.to_json().to_string(),
                        };
                        (key, v.to_json())
                    })
                    .collect(),
            ),
        }
    }

    /// Looks up a keyword key in a map.
    pub fn get(&self, keyword: &str) -> Option<&Edn> {
        match self {
            Edn::Map(pairs) => pairs.iter().find_map(|(k, v)| match k {
                Edn::Keyword(name) if name == keyword => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// Parses exactly one EDN value from `text` (surrounding white space allowed).
/// Errors give the 1-based column.
pub fn parse(text: &str) -> Result<Edn, String> {
    let mut reader = Reader {
        text: text.as_bytes(),
        pos: 0,
    };
    let value = reader.value()?;
    reader.skip_ws();
    if reader.pos < reader.text.len() {
        return Err(reader.error("unexpected text after the value"));
    }
    Ok(value)
}

/// Parses a text that is one EDN vector or list spanning many lines (with
/// `;` comments), giving each element and the 1-based line it starts on.
/// Errors give the line and a message naming the column.
pub fn parse_collection_with_lines(text: &str) -> Result<Vec<(Edn, usize)>, (usize, String)> {
    let mut reader = Reader {
        text: text.as_bytes(),
        pos: 0,
    };
    let fail = |r: &Reader, what: &str| (r.line(), r.error(what));
    reader.skip_ws();
    let close = match reader.text.get(reader.pos) {
        Some(b'[') => b']',
        Some(b'(') => b')',
        _ => {
            return Err(fail(
                &reader,
                "expected a vector `[...]` or list `(...)` of operations",
            ))
        }
    };
    reader.pos += 1;
    let mut items = Vec::new();
    // Lines are counted incrementally: the text may hold 10^5 operations.
    let (mut line, mut counted) = (1usize, 0usize);
    loop {
        reader.skip_ws();
        match reader.text.get(reader.pos) {
            None => {
                return Err(fail(
                    &reader,
                    &format!("missing closing `{}`", close as char),
                ))
            }
            Some(&b) if b == close => {
                reader.pos += 1;
                break;
            }
            Some(_) => {
                line += reader.text[counted..reader.pos]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                counted = reader.pos;
                let value = reader.value().map_err(|e| (reader.line(), e))?;
                items.push((value, line));
            }
        }
    }
    reader.skip_ws();
    if reader.pos < reader.text.len() {
        return Err(fail(&reader, "unexpected text after the collection"));
    }
    Ok(items)
}

struct Reader<'a> {
    text: &'a [u8],
    pos: usize,
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b',' | b'{' | b'}' | b'[' | b']' | b'(' | b')' | b'"' | b';'
        )
}

impl Reader<'_> {
    fn error(&self, what: &str) -> String {
        let line_start = self.text[..self.pos.min(self.text.len())]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        format!("bad EDN at column {}: {what}", self.pos - line_start + 1)
    }

    /// The 1-based line of the reader's position.
    fn line(&self) -> usize {
        1 + self.text[..self.pos.min(self.text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.text.get(self.pos) {
            if b.is_ascii_whitespace() || b == b',' {
                self.pos += 1;
            } else if b == b';' {
                // A comment runs to the end of the line.
                while self.pos < self.text.len() && self.text[self.pos] != b'\n' {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn value(&mut self) -> Result<Edn, String> {
        self.skip_ws();
        let Some(&b) = self.text.get(self.pos) else {
            return Err(self.error("unexpected end of input, expected a value"));
        };
        match b {
            b'{' => {
                self.pos += 1;
                let items = self.sequence(b'}')?;
                if items.len() % 2 != 0 {
                    return Err(self.error("a map needs an even number of forms"));
                }
                let mut pairs = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                Ok(Edn::Map(pairs))
            }
            b'[' => {
                self.pos += 1;
                Ok(Edn::Vector(self.sequence(b']')?))
            }
            b'(' => {
                self.pos += 1;
                Ok(Edn::List(self.sequence(b')')?))
            }
            b'#' if self.text.get(self.pos + 1) == Some(&b'{') => {
                self.pos += 2;
                Ok(Edn::Set(self.sequence(b'}')?))
            }
            b'"' => self.string(),
            b'}' | b']' | b')' => Err(self.error(&format!("unexpected `{}`", b as char))),
            _ => self.atom(),
        }
    }

    fn sequence(&mut self, close: u8) -> Result<Vec<Edn>, String> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.text.get(self.pos) {
                None => return Err(self.error(&format!("missing closing `{}`", close as char))),
                Some(&b) if b == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(_) => items.push(self.value()?),
            }
        }
    }

    fn string(&mut self) -> Result<Edn, String> {
        self.pos += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&b) = self.text.get(self.pos) else {
                return Err(self.error("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&esc) = self.text.get(self.pos) else {
                        return Err(self.error("unterminated string"));
                    };
                    self.pos += 1;
                    out.push(match esc {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'"' => b'"',
                        b'\\' => b'\\',
                        other => {
                            return Err(self.error(&format!("unknown escape `\\{}`", other as char)))
                        }
                    });
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out)
            .map(Edn::Str)
            .map_err(|_| self.error("string is not UTF-8"))
    }

    fn atom(&mut self) -> Result<Edn, String> {
        let start = self.pos;
        while self.pos < self.text.len() && !is_delimiter(self.text[self.pos]) {
            self.pos += 1;
        }
        let token = std::str::from_utf8(&self.text[start..self.pos])
            .map_err(|_| self.error("token is not UTF-8"))?;
        if let Some(name) = token.strip_prefix(':') {
            if name.is_empty() {
                return Err(self.error("empty keyword"));
            }
            return Ok(Edn::Keyword(name.to_string()));
        }
        match token {
            "nil" => return Ok(Edn::Nil),
            "true" => return Ok(Edn::Bool(true)),
            "false" => return Ok(Edn::Bool(false)),
            _ => {}
        }
        let first = token.as_bytes()[0];
        let numeric = first.is_ascii_digit()
            || ((first == b'-' || first == b'+')
                && token.len() > 1
                && token.as_bytes()[1].is_ascii_digit());
        if numeric {
            let digits = token.trim_end_matches('N');
            if let Ok(i) = digits.parse::<i64>() {
                return Ok(Edn::Int(i));
            }
            if let Ok(f) = token.trim_end_matches('M').parse::<f64>() {
                return Ok(Edn::Float(f));
            }
            self.pos = start;
            return Err(self.error(&format!("bad number `{token}`")));
        }
        if first.is_ascii_alphabetic() || b"*!_?$%&=<>/.+-".contains(&first) {
            return Ok(Edn::Symbol(token.to_string()));
        }
        self.pos = start;
        Err(self.error(&format!("unexpected `{}`", first as char)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_history_line() {
        let e = parse(r#"{:process 3, :type :ok, :f :get, :key "4", :value "x 0 1 yx 0 2 y"}"#)
            .unwrap();
        assert_eq!(e.get("process"), Some(&Edn::Int(3)));
        assert_eq!(e.get("type"), Some(&Edn::Keyword("ok".into())));
        assert_eq!(e.get("value"), Some(&Edn::Str("x 0 1 yx 0 2 y".into())));
        assert_eq!(
            parse("[1 -2]").unwrap(),
            Edn::Vector(vec![Edn::Int(1), Edn::Int(-2)])
        );
        assert_eq!(parse(" nil ").unwrap(), Edn::Nil);
    }

    #[test]
    fn rejects_bad_input_with_a_column() {
        for bad in ["{:a 1", "{:a}", "[1 2", "\"abc", "1 2", "}", "@x", ":"] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("column"), "{bad}: {err}");
        }
    }
}
