//! The ladder view's runner: `compare::run` on a thread of its own (it
//! measures for seconds and spawns processes, which must never hold the UI
//! loop), its updates sent on a channel the loop awaits, each tagged with
//! the run it belongs to so that a cancelled run's late updates are
//! dropped. Also the rungs' labels and lessons shown before the
//! comparison reports its own rows.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::compare::{self, Ladder, Options, Update};
use crate::engine::{EngineConfig, Source};

/// Calls in flight at once in every row: one, so each row's figures are
/// one call's own time on this shared 2-core machine (two would put a
/// call beside the UI thread and the other helpers' work).
pub const CONCURRENCY: usize = 1;

/// Measured rounds per row; the rows alternate round by round, so a
/// machine that slows down for a moment slows every row a little, not one
/// row a lot.
pub const ROUNDS: u32 = 3;

/// Measured wall time per row, over all rounds (0.4 s a round). Nine rows
/// measure at most (the VM row is a published figure): about 11 s of
/// measuring plus each row's start (a process row's first call, finding
/// `node`...), well under 30 s in all, short enough to watch, and a
/// process row (≈ 15 ms a call) still makes ~80 calls for its p99.
pub const DURATION: Duration = Duration::from_millis(1200);

/// What the runner sends: an update of run `id`, or its end.
#[derive(Debug)]
pub enum Event {
    Update(Update),
    /// The comparison returned: its rows, or why it could not run (one
    /// line, with its causes).
    Done(Result<Ladder, String>),
}

/// Runs comparisons one at a time off the UI loop. The loop awaits
/// [`Runner::events`]; a new run cancels the one before, which its thread
/// waits for before measuring (two runs at once would skew both).
pub struct Runner {
    tx: flume::Sender<(u64, Event)>,
    /// Every run's events, tagged with the run's id.
    pub events: flume::Receiver<(u64, Event)>,
    /// The binary the process rows run.
    program: PathBuf,
    last_id: u64,
    current: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Runner {
    /// A runner whose process rows run `program` (normally
    /// `std::env::current_exe()`; tests give the built binary).
    pub fn new(program: PathBuf) -> Runner {
        let (tx, events) = flume::unbounded();
        Runner {
            tx,
            events,
            program,
            last_id: 0,
            current: None,
        }
    }

    /// A runner for this program (`std::env::current_exe()`, else the
    /// name `isolate-play` to be found on PATH).
    pub fn for_this_program() -> Runner {
        Runner::new(std::env::current_exe().unwrap_or_else(|_| PathBuf::from("isolate-play")))
    }

    /// The options the view runs with (the defaults above), with a fresh
    /// cancel flag.
    pub fn options(&self) -> Options {
        Options {
            concurrency: CONCURRENCY,
            duration: DURATION,
            rounds: ROUNDS,
            program: self.program.clone(),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts comparing `source` under `config` with `options` (see
    /// [`Runner::options`]), cancelling the run before; returns the new
    /// run's id. Fails only when no thread can be started.
    pub fn start(
        &mut self,
        source: Source,
        config: EngineConfig,
        options: Options,
    ) -> std::io::Result<u64> {
        let before = self.cancel();
        self.last_id += 1;
        let id = self.last_id;
        let tx = self.tx.clone();
        let cancel = options.cancel.clone();
        let thread = std::thread::Builder::new()
            .name("ladder".into())
            .spawn(move || {
                if let Some(before) = before {
                    let _ = before.join();
                }
                let mut send = |u: Update| {
                    let _ = tx.send((id, Event::Update(u)));
                };
                let result = compare::run(&source, &config, &options, &mut send);
                let _ = tx.send((id, Event::Done(result.map_err(|e| format!("{e:#}")))));
            })?;
        self.current = Some((cancel, thread));
        Ok(id)
    }

    /// Asks the running comparison to stop (it keeps what it measured);
    /// returns its thread, to wait for.
    pub fn cancel(&mut self) -> Option<JoinHandle<()>> {
        let (cancel, thread) = self.current.take()?;
        cancel.store(true, Ordering::SeqCst);
        Some(thread)
    }
}

impl Drop for Runner {
    /// Cancels the run and waits a little for it to end, so that its
    /// child processes are gone when the playground is.
    fn drop(&mut self) {
        let Some(thread) = self.cancel() else { return };
        let deadline = Instant::now() + Duration::from_secs(2);
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The view's defaults stay short: under 30 s of measuring.
    #[test]
    fn defaults_are_short() {
        let measured = compare::Rung::ALL.len() as u32 - 1;
        assert!(DURATION * measured < Duration::from_secs(20));
        assert!(DURATION / ROUNDS >= Duration::from_millis(200));
    }
}
