//! Helpers shared by the integration tests: a small history builder.
#![allow(dead_code)]

use serde_json::Value;
use sim_core::history::{History, HistoryEntry, OpType};

/// Builds a history entry by entry, in the order given.
#[derive(Default)]
pub struct Builder {
    pub history: History,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    pub fn entry(
        mut self,
        time: u64,
        process: u64,
        op_type: OpType,
        f: &str,
        key: Option<&str>,
        value: Value,
    ) -> Builder {
        self.history.push(HistoryEntry {
            process,
            op_type,
            f: f.to_string(),
            key: key.map(str::to_string),
            value,
            time,
        });
        self
    }

    pub fn invoke(self, time: u64, process: u64, f: &str, value: Value) -> Builder {
        self.entry(time, process, OpType::Invoke, f, None, value)
    }

    pub fn ok(self, time: u64, process: u64, f: &str, value: Value) -> Builder {
        self.entry(time, process, OpType::Ok, f, None, value)
    }

    pub fn fail(self, time: u64, process: u64, f: &str, value: Value) -> Builder {
        self.entry(time, process, OpType::Fail, f, None, value)
    }

    pub fn info(self, time: u64, process: u64, f: &str, value: Value) -> Builder {
        self.entry(time, process, OpType::Info, f, None, value)
    }

    pub fn build(self) -> History {
        self.history
    }
}
