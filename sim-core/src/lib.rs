//! The deterministic kernel of clustersim.
pub mod history;
pub mod time;
