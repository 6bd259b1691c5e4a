//! Thin entry point: parse the command line, initialize V8 before any other
//! thread exists, hand over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    isolate_play::engine::platform::init();
    if isolate_play::bench::maybe_run_memory_probe() {
        return ExitCode::SUCCESS;
    }
    if let Some(code) = isolate_play::compare::maybe_run_child() {
        // At once: a process-per-call child ends the way such platforms
        // end theirs, the kernel reclaiming everything.
        std::process::exit(code);
    }
    // A snapshot builder answers on stdout and ends the process itself.
    if isolate_play::engine::snapshot::maybe_run_builder() {
        return ExitCode::SUCCESS;
    }
    let cli = isolate_play::cli::Cli::parse();
    match isolate_play::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("isolate-play: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
