//! The ladder view's runner: `isolate-play compare --stream` in a process
//! of its own, read on a thread of its own (it measures for seconds and
//! spawns processes, which must never hold the UI loop), its updates sent
//! on a channel the loop awaits, each tagged with the run it belongs to so
//! that a cancelled run's late updates are dropped.
//!
//! A process, not a thread of the playground: its process rows fork from
//! a small compare process, as they do headless (forked from a playground
//! of hundreds of MiB, a process per call took twice as long: the fork
//! copies the parent's page tables), its isolate rows do not share the
//! playground's threads and allocator, and whatever happens to it cannot
//! take the playground down.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::compare::{Ladder, Options, StreamLine, Update};
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
                let result = run_process(id, &source, &config, &options, &mut send);
                let _ = tx.send((id, Event::Done(result)));
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

/// Runs `compare --stream` on a copy of `source` (the open buffer, saved
/// or not) in a private directory, sending each update as it comes.
/// Cancelled: SIGTERM, on which compare stops, kills its children and
/// sends the rows it measured (SIGKILL 5 s later if it has not). The
/// ladder, or why there is none: compare's own last line of errors.
fn run_process(
    id: u64,
    source: &Source,
    config: &EngineConfig,
    options: &Options,
    send: &mut dyn FnMut(Update),
) -> Result<Ladder, String> {
    let dir = std::env::temp_dir().join(format!("isolate-play-ladder-{}-{id}", std::process::id()));
    let base = Path::new(&source.name)
        .file_name()
        .map_or_else(|| "script.js".into(), |n| n.to_os_string());
    let file = dir.join(base);
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&file, &source.code))
        .map_err(|e| {
            format!(
                "cannot write the script for compare in {}: {e}",
                dir.display()
            )
        })?;
    let result = measure(&file, source, config, options, send);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(
    file: &Path,
    source: &Source,
    config: &EngineConfig,
    options: &Options,
    send: &mut dyn FnMut(Update),
) -> Result<Ladder, String> {
    let mut cmd = Command::new(&options.program);
    cmd.arg("compare")
        .arg(file)
        .arg("--stream")
        .args(["--name", &source.name])
        .args(["-n", &options.concurrency.to_string()])
        .args(["-d", &options.duration.as_secs_f64().to_string()])
        .args(["-r", &options.rounds.to_string()])
        .args(["--heap-mb", &(config.limits.heap_bytes >> 20).to_string()])
        .args([
            "--timeout-ms",
            &config.limits.timeout.as_millis().to_string(),
        ])
        .args([
            "--external-mb",
            &(config.limits.external_bytes >> 20).to_string(),
        ])
        .args([
            "--cpu-ms",
            &config.limits.cpu.map_or(0, |c| c.as_millis()).to_string(),
        ])
        .args(["--payload", &config.payload])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl, getppid and _exit take and return integers and are
    // async-signal-safe: the compare process dies with this thread (which
    // waits for it), and at once if the playground is already gone.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(137);
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", options.program.display()))?;
    let pid = child.id() as libc::pid_t;
    let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("compare's output could not be read".into());
    };
    let done = AtomicBool::new(false);
    let mut ladder = None;
    let mut errors = String::new();
    std::thread::scope(|s| {
        // Stops compare when the view does.
        s.spawn(|| {
            let mut termed: Option<Instant> = None;
            while !done.load(Ordering::Relaxed) {
                if options.cancel.load(Ordering::Relaxed) {
                    match termed {
                        None => {
                            // SAFETY: a signal to our own child, not reaped yet.
                            unsafe { libc::kill(pid, libc::SIGTERM) };
                            termed = Some(Instant::now());
                        }
                        Some(t) if t.elapsed() > Duration::from_secs(5) => {
                            // SAFETY: as above.
                            unsafe { libc::kill(pid, libc::SIGKILL) };
                            return;
                        }
                        Some(_) => {}
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        s.spawn(|| {
            // Bounded: a message, not a stream.
            let _ = (&mut stderr).take(64 << 10).read_to_string(&mut errors);
        });
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<StreamLine>(&line) {
                Ok(StreamLine::Update(u)) => send(u),
                Ok(StreamLine::Done(l)) => ladder = Some(l),
                Err(_) => {}
            }
        }
        let _ = child.wait();
        done.store(true, Ordering::Relaxed);
    });
    ladder.ok_or_else(|| {
        errors
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim_start_matches("isolate-play: error: ").to_string())
            .unwrap_or_else(|| "compare ended without a result".into())
    })
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
        let measured = crate::compare::Rung::ALL.len() as u32 - 1;
        assert!(DURATION * measured < Duration::from_secs(20));
        assert!(DURATION / ROUNDS >= Duration::from_millis(200));
    }
}
