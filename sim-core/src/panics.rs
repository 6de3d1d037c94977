//! Panics inside simulated processes are findings, not crashes of the tool.
//!
//! The default panic hook prints to stderr, which in a sweep of thousands of
//! seeds buries the summary. While a process callback runs, our hook stays
//! silent and keeps the message and location for the finding instead.

use std::cell::{Cell, RefCell};
use std::sync::Once;

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook once per program; other panics still reach the previous hook.
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if INSIDE.with(Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST.with(|l| *l.borrow_mut() = Some(at));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic inside it is caught, kept off stderr, and returned as
/// its message with the location it was raised at.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    catch_hooked(f)
}

/// [`catch`], once [`install_hook`] has run (a [`crate::Sim`] installs it
/// when it is made): the simulator catches every process callback, so
/// this is inlined there, without checking for the hook each time.
#[inline]
pub(crate) fn catch_hooked<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let was = INSIDE.with(|i| i.replace(true));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    INSIDE.with(|i| i.set(was));
    out.map_err(describe)
}

/// The panic's message, with its location when the hook saw it.
fn describe(payload: Box<dyn std::any::Any + Send>) -> String {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    };
    let at = LAST.with(|l| l.borrow_mut().take()).unwrap_or_default();
    format!("{message}{at}")
}
