//! Our own `history.jsonl`: one serde-JSON `HistoryEntry` per line.

use sim_core::history::{History, HistoryEntry};

use super::ImportError;

pub fn parse(text: &str) -> Result<(History, Vec<usize>), ImportError> {
    let mut history = History::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: HistoryEntry = serde_json::from_str(line)
            .map_err(|e| ImportError::at(i + 1, format!("bad history entry: {e}")))?;
        history.push(entry);
        lines.push(i + 1);
    }
    Ok((history, lines))
}
