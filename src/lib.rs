//! isolate-play: a terminal playground for V8 isolates.
//!
//! The binary is a thin shell over this library so that tests drive the
//! same code a person does.

// Every `unsafe` block says why it is sound in a `// SAFETY:` comment.
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod bench;
pub mod cli;
pub mod compare;
pub mod config;
pub mod engine;
pub mod files;
pub mod log;
pub mod metrics;
pub mod out;
pub mod run;
pub mod system;
pub mod tui;
pub mod watch;

use std::process::ExitCode;

use cli::{Cli, Command};
use config::Config;

/// Runs what the command line asked for; errors are one-line messages.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if cli.print_config {
        crate::out!("{}", Config::default_toml());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = cli.log_path() {
        log::init(&path)?;
        let command = match &cli.command {
            Some(Command::Run(_)) => "run",
            Some(Command::Bench(_)) => "bench",
            Some(Command::Compare(_)) => "compare",
            None => "playground",
        };
        tracing::info!(
            command,
            version = env!("CARGO_PKG_VERSION"),
            pid = std::process::id(),
            "isolate-play starting"
        );
    }
    let result = dispatch_command(cli);
    match &result {
        Ok(_) => tracing::info!("isolate-play done"),
        Err(e) => tracing::error!("isolate-play exiting on an error: {e:#}"),
    }
    result
}

/// The isolates asked for must fit in the process's memory mappings.
fn check_capacity(c: &engine::EngineConfig) -> anyhow::Result<()> {
    engine::capacity::check_for(c.isolates, 0, c.threads).map_err(anyhow::Error::msg)
}

fn dispatch_command(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Some(Command::Run(args)) => {
            let source = engine::Source::from_file(&args.file)?;
            let engine_config = args.engine.resolve(&config);
            check_capacity(&engine_config)?;
            tracing::info!(
                file = %args.file.display(),
                invocations = args.invocations,
                ?engine_config,
                "run"
            );
            let report = run::execute(source, engine_config, args.invocations);
            if args.json {
                crate::outln!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                crate::out!("{}", run::render_text(&report));
            }
            Ok(if report.summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Some(Command::Bench(args)) => {
            let source = engine::Source::from_file(&args.file)?;
            let engine_config = args.engine.resolve(&config);
            check_capacity(&engine_config)?;
            tracing::info!(file = %args.file.display(), ?engine_config, "bench");
            bench::main(source, engine_config, &args)
        }
        Some(Command::Compare(args)) => {
            let mut source = engine::Source::from_file(&args.file)?;
            if let Some(name) = &args.name {
                source.name = name.clone();
            }
            let mut engine_config = config.engine_config();
            args.limits.apply(&mut engine_config);
            let mut options = compare::Options::default();
            if let Some(n) = args.concurrency {
                options.concurrency = n as usize;
            }
            if let Some(d) = args.duration {
                options.duration = std::time::Duration::from_secs_f64(d);
            }
            if let Some(r) = args.rounds {
                options.rounds = r;
            }
            let per_round = options.duration / options.rounds.max(1);
            anyhow::ensure!(
                per_round >= compare::MIN_ROUND,
                "-d {:.3} over -r {} gives each row {} ms a round; a round needs at least {} ms \
                 (each row also warms up before its window)",
                options.duration.as_secs_f64(),
                options.rounds,
                per_round.as_millis(),
                compare::MIN_ROUND.as_millis()
            );
            tracing::info!(file = %args.file.display(), ?engine_config, ?options, "compare");
            compare::cancel_on_signals(options.cancel.clone())?;
            let verbose = !args.json && !args.stream;
            if verbose {
                eprintln!("  first call under every rung, then the memory probes…");
            }
            let stream = |line: compare::StreamLine| {
                if let Ok(json) = serde_json::to_string(&line) {
                    crate::outln!("{json}");
                }
            };
            let ladder = compare::run(&source, &engine_config, &options, &mut |u| {
                if args.stream {
                    stream(compare::StreamLine::Update(u));
                } else if let (true, compare::Update::Round { round, rounds }) = (verbose, &u) {
                    eprintln!("  round {round} of {rounds}…");
                }
            })?;
            if args.stream {
                stream(compare::StreamLine::Done(ladder.clone()));
            } else if args.json {
                crate::outln!("{}", serde_json::to_string_pretty(&ladder)?);
            } else {
                crate::out!("{}", compare::render_text(&ladder));
            }
            // 1 when the script did not run to the end as a warm call (it
            // failed, or the comparison stopped): the rows say why.
            let warm_ok = ladder
                .rows
                .iter()
                .any(|r| r.rung == compare::Rung::Warm && r.status == compare::RowStatus::Measured);
            Ok(if warm_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        None => {
            let root = match cli.path {
                Some(p) => p,
                None if std::path::Path::new("samples").is_dir() => "samples".into(),
                None => ".".into(),
            };
            let engine_config = cli.engine.resolve(&config);
            check_capacity(&engine_config)?;
            tracing::info!(root = %root.display(), ?engine_config, "playground");
            tui::run(root, engine_config, config.ui)
        }
    }
}
