//! What can go wrong while rendering, sorted by what the caller should do.
//!
//! A run that finished must keep its verdict's exit code even when its plots
//! fail to draw, but a disk that refuses writes is an I/O failure (exit 2). So
//! the error says which of the two (or bad input) it is.

use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A file of the directory is missing or malformed.
    Input,
    /// Writing an output file failed.
    Io,
    /// Drawing failed (a plotters error): nothing was wrong with the input.
    Draw,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError {
    pub kind: ErrorKind,
    /// The file at fault (or `--metric` for a bad option).
    pub path: String,
    pub line: Option<usize>,
    /// The field at fault, as a dotted path, when known.
    pub field: Option<String>,
    pub message: String,
}

impl ReportError {
    pub fn input(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Input,
            path: path.into(),
            line: None,
            field: None,
            message: message.into(),
        }
    }

    pub fn io(path: &Path, e: &std::io::Error) -> Self {
        Self {
            kind: ErrorKind::Io,
            ..Self::input(path.display().to_string(), format!("cannot write: {e}"))
        }
    }

    pub fn draw(path: &Path, message: impl fmt::Display) -> Self {
        Self {
            kind: ErrorKind::Draw,
            ..Self::input(
                path.display().to_string(),
                format!("drawing failed: {message}"),
            )
        }
    }

    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Reading `path` failed (missing, unreadable).
    pub(crate) fn unreadable(path: &Path, e: &std::io::Error) -> Self {
        Self::input(path.display().to_string(), format!("cannot read: {e}"))
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ReportError {}
