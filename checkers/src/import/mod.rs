//! Reading histories recorded by us or by other tools into one
//! `sim_core::history::History`, remembering each entry's line in the file so
//! that every later error can point at it.
//!
//! | format       | content                                                  |
//! |--------------|----------------------------------------------------------|
//! | `jsonl`      | ours: one serde-JSON `HistoryEntry` per line             |
//! | `jepsen-log` | Jepsen etcd logs, `INFO jepsen.util - P :type :f value`  |
//! | `jepsen-edn` | Jepsen EDN maps, one per line (`{:process 0, :type ...}`)|
//! | `knossos-edn`| one EDN vector or list of such maps over many lines (`knossos`) |
//!
//! Imported entries get their line number as time: the files are in event
//! order and carry no usable clock.

pub mod edn;
pub mod jepsen_edn;
pub mod jepsen_log;
pub mod jsonl;
pub mod knossos;

use std::fmt;
use std::path::Path;

use sim_core::history::History;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    JepsenLog,
    JepsenEdn,
    KnossosEdn,
}

impl Format {
    pub const NAMES: &'static [&'static str] =
        &["jsonl", "jepsen-log", "jepsen-edn", "knossos-edn"];

    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "jsonl" | "json" => Some(Format::Jsonl),
            "jepsen-log" | "log" => Some(Format::JepsenLog),
            "jepsen-edn" | "edn" => Some(Format::JepsenEdn),
            "knossos-edn" | "knossos" => Some(Format::KnossosEdn),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::JepsenLog => "jepsen-log",
            Format::JepsenEdn => "jepsen-edn",
            Format::KnossosEdn => "knossos-edn",
        }
    }
}

/// A bad input: the 1-based line (0 when the whole file is at fault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub line: usize,
    pub message: String,
}

impl ImportError {
    pub fn at(line: usize, message: impl Into<String>) -> ImportError {
        ImportError {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ImportError {}

/// A history and where each entry came from.
#[derive(Debug, Clone)]
pub struct LoadedHistory {
    pub history: History,
    /// `lines[i]`: the 1-based line of entry `i`.
    pub lines: Vec<usize>,
    pub format: Format,
    /// A Knossos file not written by us: its registers start at 0
    /// ([`knossos::KNOSSOS_REGISTER_INITIAL`]).
    pub knossos_conventions: bool,
}

impl LoadedHistory {
    pub fn line_of(&self, entry: usize) -> Option<usize> {
        self.lines.get(entry).copied()
    }
}

/// Guesses the format from the first line that looks like a history line
/// (`;` comment lines skipped; one opening `[` or `(` is a Knossos file).
pub fn detect(text: &str) -> Option<Format> {
    for line in text.lines() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with(';') {
            continue;
        }
        if t.starts_with('[') || t.starts_with('(') {
            return Some(Format::KnossosEdn);
        }
        if jepsen_log::op_fields(line).is_some() {
            return Some(Format::JepsenLog);
        }
        if t.starts_with("{:") || t.starts_with("{ :") {
            return Some(Format::JepsenEdn);
        }
        if t.starts_with('{') {
            return Some(Format::Jsonl);
        }
    }
    None
}

/// Parses `text` in the given format (or the detected one).
pub fn parse(text: &str, format: Option<Format>) -> Result<LoadedHistory, ImportError> {
    let format = match format {
        Some(f) => f,
        None => detect(text).ok_or_else(|| {
            ImportError::at(
                0,
                format!(
                    "cannot tell the history format (no line looks like {}); pass --format",
                    Format::NAMES.join(", ")
                ),
            )
        })?,
    };
    let (history, lines) = match format {
        Format::Jsonl => jsonl::parse(text)?,
        Format::JepsenLog => jepsen_log::parse(text)?,
        Format::JepsenEdn => jepsen_edn::parse(text)?,
        Format::KnossosEdn => knossos::parse(text)?,
    };
    Ok(LoadedHistory {
        history,
        lines,
        format,
        knossos_conventions: format == Format::KnossosEdn && !knossos::is_own(text),
    })
}

/// Reads and parses a file. Errors are complete messages naming the file
/// and, where it applies, the line.
pub fn load(path: &Path, format: Option<Format>) -> Result<LoadedHistory, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        format!("{}:{line}: not valid UTF-8", path.display())
    })?;
    parse(&text, format).map_err(|e| {
        if e.line == 0 {
            format!("{}: {}", path.display(), e.message)
        } else {
            format!("{}:{}: {}", path.display(), e.line, e.message)
        }
    })
}
