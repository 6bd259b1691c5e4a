//! The playground: one event loop on a single-threaded tokio runtime that
//! awaits every source directly in one `select!`: the terminal's events
//! (crossterm's async stream: keys, mouse, paste, resize), catchable signals,
//! the frame timer, and the channels that other threads send into without
//! blocking (engine reports, file changes, file walks, highlighted text,
//! system samples, panics). Slow work (V8, highlighting, sysinfo) stays on those
//! threads; this loop only updates the model and draws it, at most `fps`
//! times a second and only when something changed.

pub mod action;
pub mod app;
pub mod editor;
pub mod highlight;
pub mod input;
pub mod keymap;
pub mod ladder;
pub mod lesson;
pub mod mouse;
pub mod state;
pub mod terminal;
pub mod threads;
pub mod view;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use ratatui::crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config::UiSection;
use crate::engine::EngineConfig;
use crate::system::Sampler;
use crate::watch::Debounce;
use action::Action;
use app::App;
use terminal::{Fatal, Session};

/// Engine reports taken per wake before the loop looks at other sources
/// again (a flood under load must not starve keys or frames).
const REPORTS_PER_WAKE: usize = 10_000;

/// Runs the playground on `root` until the person quits or a signal comes.
/// Returns the process's exit code: success on quit, 128 + the signal's
/// number after a signal (the terminal is restored first and the signal
/// named on stderr). A panic on another thread ends the playground with an
/// error naming the thread and the panic.
pub fn run(root: PathBuf, config: EngineConfig, ui: UiSection) -> anyhow::Result<ExitCode> {
    let overrides = keymap::Overrides::parse(&ui.keys)?;
    let mut app = App::new(root.clone(), config)?;
    app.state.overrides = overrides;
    let (files_tx, files) = flume::unbounded();
    let mut watch = crate::watch::watch(&root, files_tx)?;
    watch.watch_dirs(&app.dirs);
    watch.follow_links(app.state.files.iter().map(|f| f.path.as_path()));
    let highlighter = highlight::Highlighter::spawn();
    let (system_tx, system) = flume::unbounded();
    std::thread::Builder::new()
        .name("sysinfo".into())
        .spawn(move || {
            let mut sampler = Sampler::new();
            loop {
                std::thread::sleep(crate::system::SAMPLE_EVERY);
                if system_tx.send(sampler.sample()).is_err() {
                    return;
                }
            }
        })?;

    // The runtime first: signal handlers need its driver, and a failure
    // here leaves the terminal untouched.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let ended = rt.block_on(async {
        let signals = Signals::new()?;
        let (mut session, fatal) = Session::start()?;
        let mut l = Loop {
            app: &mut app,
            highlighter: &highlighter,
            frames: Frames::new(ui.fps),
            debounce: Debounce::new(
                Duration::from_millis(ui.debounce_ms),
                Duration::from_millis(ui.debounce_max_ms),
            ),
            highlights: HighlightRequests::default(),
            stamps: LatencyStamps::default(),
            abandoned: 0,
        };
        let ended = l
            .run(&mut session, signals, &mut watch, &files, &system, &fatal)
            .await;
        drop(session);
        ended
    })?;
    match ended {
        Ended::Quit => Ok(ExitCode::SUCCESS),
        Ended::Signal(name, number) => {
            eprintln!("isolate-play: stopped by {name}");
            Ok(ExitCode::from(128 + number))
        }
        Ended::Fatal(Fatal(what)) => {
            anyhow::bail!("the playground stopped: {what} (a bug in isolate-play)")
        }
    }
}

/// How the loop ended.
enum Ended {
    Quit,
    /// A catchable signal: its name and number.
    Signal(&'static str, u8),
    /// A panic on another thread.
    Fatal(Fatal),
}

/// The signals the loop handles: those that end the playground cleanly
/// (terminal restored), and job control's stop and continue.
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
    quit: Signal,
    tstp: Signal,
    cont: Signal,
}

/// A signal the loop acts on.
enum Sig {
    /// Ends the playground: the signal's name and number.
    End(&'static str, u8),
    /// SIGTSTP (a shell's Ctrl-Z, `kill -TSTP`): give the terminal back
    /// and stop.
    Stop,
    /// SIGCONT: continued after a stop (also one the loop did not see,
    /// `kill -STOP`): take the terminal again and redraw.
    Cont,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
            quit: signal(SignalKind::quit())?,
            tstp: signal(SignalKind::from_raw(libc::SIGTSTP))?,
            cont: signal(SignalKind::from_raw(libc::SIGCONT))?,
        })
    }

    /// The next one to arrive.
    async fn recv(&mut self) -> Sig {
        tokio::select! {
            _ = self.term.recv() => Sig::End("SIGTERM", 15),
            _ = self.int.recv() => Sig::End("SIGINT", 2),
            _ = self.hup.recv() => Sig::End("SIGHUP", 1),
            _ = self.quit.recv() => Sig::End("SIGQUIT", 3),
            _ = self.tstp.recv() => Sig::Stop,
            _ = self.cont.recv() => Sig::Cont,
        }
    }
}

/// The frame-rate cap and whether the model changed since the last frame.
struct Frames {
    /// Shortest time between two frames (1 / fps).
    frame: Duration,
    last: Instant,
    dirty: bool,
}

impl Frames {
    fn new(fps: u32) -> Frames {
        let frame = Duration::from_millis(1000 / u64::from(fps.clamp(1, 120)));
        Frames {
            frame,
            last: Instant::now() - frame,
            dirty: true,
        }
    }

    /// A frame is due: something changed and the cap allows it (`urgent`
    /// skips the cap, for a reload's first result).
    fn due(&self, urgent: bool) -> bool {
        self.dirty && (urgent || self.last.elapsed() >= self.frame)
    }

    fn drawn(&mut self) {
        self.last = Instant::now();
        self.dirty = false;
    }
}

/// Terminal events taken in one wake (one read's worth is a few; a paste
/// arrives as one event).
const MAX_EVENTS_PER_READ: usize = 1024;

/// Which buffer revision and rows the highlighter was last asked for, so
/// each (revision, rows shown) is sent once: an edit or a scroll asks
/// again, and the highlighter drops what it was doing for it.
#[derive(Default)]
struct HighlightRequests {
    requested: Option<(u64, std::ops::Range<usize>)>,
}

impl HighlightRequests {
    /// The (revision, lines, rows) to send, if the open buffer's revision
    /// or the rows on screen changed since the last request. The rows are
    /// taken from the whole screen's height (a little more than the editor
    /// shows; the highlighter adds a margin anyway).
    fn next(&mut self, s: &state::State) -> Option<(u64, editor::Lines, std::ops::Range<usize>)> {
        let open = s.open.as_ref()?;
        let rev = open.buffer.revision;
        let rows = open.buffer.rows_shown(usize::from(s.screen.1.max(1)));
        let key = (rev, rows.clone());
        if self.requested.as_ref() == Some(&key) {
            return None;
        }
        self.requested = Some(key);
        Some((rev, open.buffer.lines.clone(), rows))
    }
}

/// When the inputs the next frame answers arrived: the first key since the
/// last frame (the reload's stamp is kept by `App`, which knows when its
/// first result came).
#[derive(Default)]
struct LatencyStamps {
    key: Option<Instant>,
}

impl LatencyStamps {
    fn key(&mut self, at: Instant) {
        self.key.get_or_insert(at);
    }

    /// After a frame: input → frame and reload → frame into the model.
    /// Returns whether the model changed (the numbers are on screen).
    fn frame_drawn(&mut self, app: &mut App) -> bool {
        let mut changed = false;
        if let Some(at) = self.key.take() {
            app.state.input_latency = Some(at.elapsed());
            changed = true;
        }
        if let Some(at) = app.reload_drawn.take() {
            app.state.reload_latency = Some(at.elapsed());
            changed = true;
        }
        changed
    }
}

/// The loop's state: the model and what the loop itself keeps track of.
struct Loop<'a> {
    app: &'a mut App,
    highlighter: &'a highlight::Highlighter,
    frames: Frames,
    debounce: Debounce,
    highlights: HighlightRequests,
    stamps: LatencyStamps,
    /// Isolates V8 gave up on, as last seen (each prints over the screen).
    abandoned: u64,
}

impl Loop<'_> {
    async fn run(
        &mut self,
        session: &mut Session,
        mut signals: Signals,
        watch: &mut crate::watch::Watch,
        files: &flume::Receiver<Vec<PathBuf>>,
        system: &flume::Receiver<crate::system::SystemSample>,
        fatal: &flume::Receiver<Fatal>,
    ) -> anyhow::Result<Ended> {
        let mut events = EventStream::new();
        let reports = self.app.engine.reports().clone();
        let highlighted = self.highlighter.rx.clone();
        let walked = self.app.walker.results.clone();
        let ladder = self.app.ladder.events.clone();
        let mut tick = tokio::time::interval(self.frames.frame);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let debounce_at = self.debounce.deadline();
            let wake_at = self.app.wake_at();
            tokio::select! {
                ev = events.next() => {
                    // The events of one read arrive together: take them
                    // all, so input::repair sees an Esc with what followed.
                    // Bounded, and ended by an error or the end of input:
                    // a terminal that is gone answers at once, forever.
                    let mut batch = vec![ev];
                    while batch.len() < MAX_EVENTS_PER_READ
                        && matches!(batch.last(), Some(Some(Ok(_))))
                    {
                        let Some(ev) = events.next().now_or_never() else { break };
                        batch.push(ev);
                    }
                    let mut read = Vec::with_capacity(batch.len());
                    for ev in batch {
                        match ev {
                            Some(Ok(ev)) => read.push(ev),
                            Some(Err(e)) => anyhow::bail!("cannot read the terminal: {e}"),
                            None => anyhow::bail!("the terminal's input closed"),
                        }
                    }
                    for ev in input::repair(read) {
                        self.on_terminal(ev, session)?;
                    }
                }
                sig = signals.recv() => match sig {
                    Sig::End(name, number) => return Ok(Ended::Signal(name, number)),
                    Sig::Stop => {
                        // Returns after `fg`; the SIGCONT that continued
                        // the process is handled below too (harmless).
                        session.suspend();
                        self.resume(session)?;
                    }
                    Sig::Cont => self.resume(session)?,
                },
                f = fatal.recv_async() => {
                    if let Ok(f) = f {
                        return Ok(Ended::Fatal(f));
                    }
                }
                r = reports.recv_async() => {
                    // The engine holds a sender for as long as it lives.
                    let Ok(r) = r else { anyhow::bail!("the engine stopped reporting") };
                    self.app.on_report(r);
                    for r in reports.try_iter().take(REPORTS_PER_WAKE) {
                        self.app.on_report(r);
                    }
                    self.frames.dirty = true;
                }
                paths = files.recv_async() => match paths {
                    Ok(paths) => self.debounce.push(paths, Instant::now()),
                    Err(_) => return Ok(stopped(fatal, "the file watcher")),
                },
                w = walked.recv_async() => match w {
                    Ok(w) => {
                        self.app.on_walked(w);
                        // A new folder's files made before its watch began
                        // are found by walking once more.
                        if watch.watch_dirs(&self.app.dirs) {
                            self.app.request_walk();
                        }
                        watch.follow_links(self.app.state.files.iter().map(|f| f.path.as_path()));
                        self.frames.dirty = true;
                    }
                    Err(_) => return Ok(stopped(fatal, "the file walk thread")),
                },
                h = highlighted.recv_async() => match h {
                    Ok((rev, h)) => {
                        if self.app.state.open.as_ref().is_some_and(|o| o.buffer.revision == rev) {
                            self.app.state.highlight = Some((rev, h));
                            self.frames.dirty = true;
                        }
                    }
                    Err(_) => return Ok(stopped(fatal, "the highlight thread")),
                },
                // The ladder's comparison, measured on its own thread; the
                // runner holds a sender, so this never disconnects.
                Ok((id, ev)) = ladder.recv_async() => {
                    self.app.on_ladder(id, ev);
                    for (id, ev) in ladder.try_iter().take(REPORTS_PER_WAKE) {
                        self.app.on_ladder(id, ev);
                    }
                    self.frames.dirty = true;
                }
                s = system.recv_async() => match s {
                    Ok(s) => {
                        self.app.on_system(s);
                        self.frames.dirty = true;
                    }
                    Err(_) => return Ok(stopped(fatal, "the sysinfo thread")),
                },
                _ = tick.tick() => self.frames.dirty |= self.app.on_tick(Instant::now()),
                // Wake exactly when the debounce is due, not at the next tick.
                _ = tokio::time::sleep_until(debounce_at.unwrap_or_else(Instant::now).into()), if debounce_at.is_some() => {}
                // A read made during a write storm, to confirm.
                _ = tokio::time::sleep_until(wake_at.unwrap_or_else(Instant::now).into()), if wake_at.is_some() => {
                    self.app.on_wake(Instant::now());
                    self.frames.dirty = true;
                }
            }
            // Events that arrived while the loop was busy count first: a
            // burst is quiet only if none is waiting.
            for paths in files.try_iter() {
                self.debounce.push(paths, Instant::now());
            }
            if let Some(batch) = self.debounce.take_due(Instant::now()) {
                // Asks for a walk of the files; its result is an event.
                self.app.on_batch(&batch);
                self.frames.dirty = true;
            }
            if self.app.state.quit {
                return Ok(Ended::Quit);
            }
            if let Some((rev, lines, rows)) = self.highlights.next(&self.app.state) {
                self.highlighter.request(rev, lines, rows);
            }
            self.after_events(session)?;
        }
    }

    /// After a stop: the terminal taken again and every cell drawn anew.
    fn resume(&mut self, session: &mut Session) -> anyhow::Result<()> {
        session.resume()?;
        redraw_all(&mut session.terminal)?;
        self.frames.dirty = true;
        Ok(())
    }

    /// A key, a mouse event, a paste or a resize.
    fn on_terminal(&mut self, ev: TermEvent, session: &mut Session) -> anyhow::Result<()> {
        let s = &self.app.state;
        let action = match ev {
            TermEvent::Key(k) if k.kind != KeyEventKind::Release => keymap::map(k, s, &s.overrides),
            // Hit-tested against the frame on screen.
            TermEvent::Mouse(m) => mouse::map(
                m,
                s,
                ratatui::layout::Rect::new(0, 0, s.screen.0, s.screen.1),
            ),
            TermEvent::Paste(text) => keymap::paste(text, s),
            TermEvent::Resize(..) => {
                self.frames.dirty = true;
                None
            }
            _ => None,
        };
        let Some(action) = action else { return Ok(()) };
        if action == Action::Redraw {
            redraw_all(&mut session.terminal)?;
        }
        self.app.apply(action);
        self.frames.dirty = true;
        self.stamps.key(Instant::now());
        Ok(())
    }

    /// Draws when due, and runs what waits for a frame.
    fn after_events(&mut self, session: &mut Session) -> anyhow::Result<()> {
        // When V8 gives up on an isolate it prints its GC trace to
        // stderr, over the screen: draw everything afresh.
        let abandoned = self.app.state.abandoned;
        if abandoned != self.abandoned {
            self.abandoned = abandoned;
            redraw_all(&mut session.terminal)?;
            self.frames.dirty = true;
        }
        // A reload's first result is drawn at once; otherwise cap the frame rate.
        if self.frames.due(self.app.reload_drawn.is_some()) {
            // Scrolling pages by what the screen shows.
            if let Ok(size) = session.terminal.size() {
                self.app.state.screen = (size.width, size.height);
            }
            let state = &self.app.state;
            session.terminal.draw(|f| view::render(f, state))?;
            self.frames.drawn();
            self.frames.dirty |= self.stamps.frame_drawn(self.app);
            // Slow engine work goes after the frame that announced it.
            if self.app.has_deferred() {
                self.app.run_deferred();
                self.frames.dirty = true;
            }
        }
        Ok(())
    }
}

/// A worker thread's channel closed: it ended, most likely by a panic the
/// hook has sent (or is sending) with its message.
fn stopped(fatal: &flume::Receiver<Fatal>, what: &str) -> Ended {
    let f = fatal
        .recv_timeout(Duration::from_millis(100))
        .unwrap_or_else(|_| Fatal(format!("{what} stopped")));
    Ended::Fatal(f)
}

/// Clears the screen and makes the next draw repaint every cell (the diff
/// is then against a blank frame). `Terminal::clear` would do it, but it
/// asks the terminal for the cursor position, whose answer the event
/// stream could take.
fn redraw_all<B: ratatui::backend::Backend>(
    terminal: &mut ratatui::Terminal<B>,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    use ratatui::backend::ClearType;
    terminal
        .backend_mut()
        .clear_region(ClearType::All)
        .map_err(anyhow::Error::new)?;
    terminal.draw(|_| {}).map_err(anyhow::Error::new)?;
    Ok(())
}
