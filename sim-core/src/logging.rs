//! `tracing` output stamped with virtual time and node, never wall time.
//!
//! The simulator sets a thread-local (time, node) before each process callback
//! (and around a crash or restart); the timer below prints it. One simulation
//! runs per thread at a time, so this works unchanged in parallel sweeps.
//!
//! Where a line goes is decided per thread as well: to stderr, or — while a
//! [`NodeLogs`] capture is active on the thread (a single run with
//! `--node-logs`) — lines written inside node N to `DIR/nN.log`. Nothing here
//! reads a clock or a thread id, so the log of a seed is the same bytes on
//! every run. Protocols just call `tracing::debug!(term, "became leader")`;
//! when the level is off, the macro's cached callsite interest skips the
//! event before anything is formatted.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::time::Nanos;

const HARNESS: u32 = u32::MAX;

thread_local! {
    static CURRENT: Cell<(Nanos, u32)> = const { Cell::new((0, HARNESS)) };
    static CAPTURE: RefCell<Option<NodeLogs>> = const { RefCell::new(None) };
}

// Inlined: the simulator sets and clears the context around every process
// callback, and out of line each is a call to reach the thread-local.
#[inline]
pub(crate) fn set_current(t: Nanos, node: u32) {
    CURRENT.with(|c| c.set((t, node)));
}

#[inline]
pub(crate) fn clear_current() {
    CURRENT.with(|c| c.set((c.get().0, HARNESS)));
}

/// Runs `f` (which logs) as if inside `node` at `t`: for what the kernel
/// does to a node from outside (a crash, a restart), so that it shows in the
/// node's own log.
pub(crate) fn as_node(t: Nanos, node: u32, f: impl FnOnce()) {
    let before = CURRENT.with(Cell::get);
    set_current(t, node);
    f();
    CURRENT.with(|c| c.set(before));
}

/// The (true time, node) of the callback running on this thread, if any.
pub fn current() -> (Nanos, Option<u32>) {
    let (t, node) = CURRENT.with(Cell::get);
    (t, (node != HARNESS).then_some(node))
}

/// Prints `t=SECONDS.NANOS n=NODE` (or `n=-` outside a node) in place of a timestamp.
#[derive(Debug, Clone, Copy, Default)]
pub struct VirtualTime;

impl FormatTime for VirtualTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let (t, node) = current();
        let secs = t / 1_000_000_000;
        let nanos = t % 1_000_000_000;
        match node {
            Some(n) => write!(w, "t={secs}.{nanos:09} n={n}"),
            None => write!(w, "t={secs}.{nanos:09} n=-"),
        }
    }
}

/// Which filter applies, in order: the `--log` flag, then `RUST_LOG` (when
/// set and not empty), then `default`. Returns the directives and where they
/// came from, for error messages.
pub fn choose_filter<'a>(
    flag: Option<&'a str>,
    env: Option<&'a str>,
    default: &'a str,
) -> (&'a str, &'static str) {
    match (flag, env.filter(|e| !e.trim().is_empty())) {
        (Some(f), _) => (f, "--log"),
        (None, Some(e)) => (e, "RUST_LOG"),
        (None, None) => (default, "the default log level"),
    }
}

/// Parses `directives` as an `EnvFilter` (`warn`, `debug`,
/// `protocols::raft=debug,protocols::pbft=info`); the error names `source`.
pub fn parse_filter(directives: &str, source: &str) -> Result<EnvFilter, String> {
    EnvFilter::builder()
        .parse(directives)
        .map_err(|e| format!("{source}: invalid log filter {directives:?}: {e}"))
}

/// The subscriber clustersim logs through: `filter`, virtual timestamps, the
/// target (module) of each line, no colours, lines routed by [`LogWriter`].
pub fn subscriber(filter: EnvFilter) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(VirtualTime)
        .with_ansi(false)
        .with_writer(LogWriter)
        .finish()
}

/// Installs [`subscriber`] for the whole process. Calling it again is harmless
/// (the first one stays).
pub fn install(filter: EnvFilter) {
    let _ = tracing::subscriber::set_global_default(subscriber(filter));
}

/// Sends each formatted line to the capturing node's file or to stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let captured = match current().1 {
            Some(node) => CAPTURE.with(|c| match c.borrow_mut().as_mut() {
                Some(logs) => {
                    logs.write(node, line);
                    true
                }
                None => false,
            }),
            None => false,
        };
        if !captured {
            io::stderr().lock().write_all(line)?;
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

/// One log file per node, `DIR/nN.log`, created at the node's first line.
/// Active on the thread that called [`NodeLogs::capture`] until the guard's
/// [`NodeLogGuard::finish`] (or drop).
#[derive(Debug)]
pub struct NodeLogs {
    dir: PathBuf,
    files: BTreeMap<u32, BufWriter<File>>,
    /// The first write that failed: reported by `finish`, later lines dropped.
    error: Option<(PathBuf, io::Error)>,
}

impl NodeLogs {
    /// The file of `node` in `dir`.
    pub fn path(dir: &Path, node: u32) -> PathBuf {
        dir.join(format!("n{node}.log"))
    }

    /// Routes the lines written inside nodes on this thread to files in `dir`
    /// (created if missing) until the returned guard is finished or dropped.
    pub fn capture(dir: &Path) -> io::Result<NodeLogGuard> {
        std::fs::create_dir_all(dir)?;
        let logs = NodeLogs {
            dir: dir.to_path_buf(),
            files: BTreeMap::new(),
            error: None,
        };
        CAPTURE.with(|c| *c.borrow_mut() = Some(logs));
        Ok(NodeLogGuard { _private: () })
    }

    fn write(&mut self, node: u32, line: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let path = Self::path(&self.dir, node);
        let written = match self.files.entry(node) {
            std::collections::btree_map::Entry::Occupied(f) => f.into_mut().write_all(line),
            std::collections::btree_map::Entry::Vacant(slot) => {
                File::create(&path).and_then(|f| slot.insert(BufWriter::new(f)).write_all(line))
            }
        };
        if let Err(e) = written {
            self.error = Some((path, e));
        }
    }

    /// Flushes every file; the first error names its file.
    fn close(mut self) -> Result<Vec<PathBuf>, (PathBuf, io::Error)> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let mut written = Vec::new();
        for (node, mut file) in std::mem::take(&mut self.files) {
            let path = Self::path(&self.dir, node);
            file.flush().map_err(|e| (path.clone(), e))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Ends a [`NodeLogs`] capture on its thread.
#[derive(Debug)]
#[must_use = "the capture ends when the guard is finished or dropped"]
pub struct NodeLogGuard {
    _private: (),
}

impl NodeLogGuard {
    /// Ends the capture: the files written, in node order, or the first
    /// file that could not be written.
    pub fn finish(self) -> Result<Vec<PathBuf>, (PathBuf, io::Error)> {
        // Taken here, so that the drop that follows finds nothing to close.
        let logs = CAPTURE.with(|c| c.borrow_mut().take());
        logs.map_or(Ok(Vec::new()), NodeLogs::close)
    }
}

impl Drop for NodeLogGuard {
    fn drop(&mut self) {
        if let Some(logs) = CAPTURE.with(|c| c.borrow_mut().take()) {
            let _ = logs.close();
        }
    }
}
