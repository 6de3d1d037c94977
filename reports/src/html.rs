//! The building blocks of `report.html`: one self-contained page per run or
//! sweep that opens from disk with no server. Styles are inline, there is no
//! script, and plots are linked by relative file name so the directory can
//! be moved or archived as a whole.

use std::fmt::Write;

use serde_json::Value;

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1000px;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:0.5em 0}\
td,th{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.pass{color:#1a7f37;font-weight:bold}.fail{color:#c62828;font-weight:bold}\
.unknown{color:#b26a00;font-weight:bold}.na{color:#777}\
pre{background:#f8f8f8;padding:0.5em;overflow-x:auto;white-space:pre-wrap;margin:0}\
figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}\
figcaption{font-size:0.9em;color:#555}code{background:#f4f4f4;padding:0 0.2em}\
div.svg{overflow-x:auto;border:1px solid #ddd}";

/// A page under construction: sections are appended in reading order.
pub(crate) struct Page {
    body: String,
}

impl Page {
    pub fn new(title: &str) -> Self {
        let mut body = String::new();
        let _ = writeln!(body, "<h1>{}</h1>", escape(title));
        Self { body }
    }

    pub fn heading(&mut self, text: &str) {
        let _ = writeln!(self.body, "<h2>{}</h2>", escape(text));
    }

    pub fn paragraph(&mut self, html: &str) {
        let _ = writeln!(self.body, "<p>{html}</p>");
    }

    /// A plot: the PNG shown, linking to the SVG.
    pub fn figure(&mut self, name: &str, caption: &str) {
        let name = escape(name);
        let _ = writeln!(
            self.body,
            "<figure><a href=\"{name}.svg\"><img src=\"{name}.png\" alt=\"{caption}\"></a>\
             <figcaption>{caption} (<a href=\"{name}.svg\">SVG</a>)</figcaption></figure>",
            caption = escape(caption)
        );
    }

    /// An SVG picture in the page itself, not behind `<img>`: its hover
    /// `<title>`s then show. Scrolls sideways when wider than the page.
    pub fn inline_svg(&mut self, svg: &str) {
        let _ = writeln!(self.body, "<div class=\"svg\">\n{}\n</div>", svg.trim_end());
    }

    /// A two-column table of (name, value) rows; values are already HTML.
    pub fn key_values(&mut self, rows: &[(&str, String)]) {
        self.body.push_str("<table>\n");
        for (k, v) in rows {
            let _ = writeln!(self.body, "<tr><th>{}</th><td>{v}</td></tr>", escape(k));
        }
        self.body.push_str("</table>\n");
    }

    /// A table with a header row; cells are already HTML.
    pub fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        self.body.push_str("<table>\n<tr>");
        for h in header {
            let _ = write!(self.body, "<th>{}</th>", escape(h));
        }
        self.body.push_str("</tr>\n");
        for row in rows {
            self.body.push_str("<tr>");
            for cell in row {
                let _ = write!(self.body, "<td>{cell}</td>");
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</table>\n");
    }

    pub fn preformatted(&mut self, text: &str) {
        let _ = writeln!(self.body, "<pre>{}</pre>", escape(text));
    }

    pub fn finish(self, title: &str) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
            escape(title),
            self.body
        )
    }
}

/// A verdict (`pass`, `fail`, `unknown`) coloured by its class.
pub(crate) fn verdict(result: &str) -> String {
    let class = match result {
        "pass" | "fail" => result,
        _ => "unknown",
    };
    format!("<span class=\"{class}\">{}</span>", escape(result))
}

/// The value at dotted `path` in `v`, for a table cell (`—` when absent).
pub(crate) fn cell(v: &Value, path: &str) -> String {
    match lookup(v, path) {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => escape(s),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if n.is_f64() => escape(&format!("{f:.3}")),
            _ => escape(&n.to_string()),
        },
        Some(Value::Array(items)) if items.is_empty() => "none".into(),
        Some(Value::Array(items)) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), String::from))
                .collect();
            escape(&items.join(", "))
        }
        Some(other) => escape(&other.to_string()),
    }
}

/// The value at dotted `path` (`latency_ms.p99`) in `v`.
pub(crate) fn lookup<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |v, key| v.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn cells_read_dotted_paths() {
        let v: Value = serde_json::json!({"a": {"b": 1.5, "c": 2, "s": "<x>"}});
        assert_eq!(cell(&v, "a.b"), "1.500");
        assert_eq!(cell(&v, "a.c"), "2");
        assert_eq!(cell(&v, "a.s"), "&lt;x&gt;");
        assert_eq!(cell(&v, "a.missing"), "—");
        let v: Value = serde_json::json!({"bugs": [], "kinds": ["a", "b"]});
        assert_eq!(
            (cell(&v, "bugs"), cell(&v, "kinds")),
            ("none".into(), "a, b".into())
        );
    }
}
