//! The one integration test binary (each test binary links V8, so there is
//! exactly one). Engine tests run against real V8; CLI tests run the real
//! binary.

mod cli;
mod compare;
mod e2e;
mod editor;
mod engine;
mod format;
mod hostile;
mod metrics;
mod scheduler;
mod snapshot;
mod support;
mod tour;
mod tui;
mod view;
