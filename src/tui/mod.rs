//! The playground: terminal setup and restore, and the one event loop where
//! keys, ticks, debounced file events, engine reports, highlight results and
//! system samples arrive as one `Event` enum. Slow work (V8, highlighting,
//! sysinfo) happens on other threads; this loop only updates the model and
//! draws it, at most `fps` times a second and only when something changed.

pub mod action;
pub mod app;
pub mod editor;
pub mod highlight;
pub mod keymap;
pub mod state;
pub mod threads;
pub mod view;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event as TermEvent, KeyEvent, KeyEventKind};

use crate::config::UiSection;
use crate::engine::{EngineConfig, Report};
use crate::system::{Sampler, SystemSample};
use app::App;
use state::Highlighted;

pub enum Event {
    Key(KeyEvent, Instant),
    Resize,
    Report(Report),
    Files(Vec<PathBuf>, Instant),
    System(SystemSample),
    Highlight(u64, Highlighted),
}

/// Restores the terminal when dropped, whatever way the loop ends.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Forwards a crossbeam channel into the loop's channel on its own thread.
fn forward<T: Send + 'static>(
    name: &str,
    rx: crossbeam_channel::Receiver<T>,
    tx: tokio::sync::mpsc::UnboundedSender<Event>,
    wrap: impl Fn(T) -> Event + Send + 'static,
) {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            for item in rx {
                if tx.send(wrap(item)).is_err() {
                    return;
                }
            }
        })
        .expect("spawn a forwarder");
}

/// Runs the playground on `root` until the person quits.
pub fn run(root: PathBuf, config: EngineConfig, ui: UiSection) -> anyhow::Result<()> {
    let overrides = keymap::Overrides::parse(&ui.keys)?;
    let mut app = App::new(root.clone(), config)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();

    forward(
        "reports",
        app.engine.reports().clone(),
        tx.clone(),
        Event::Report,
    );
    let (files_tx, files_rx) = crossbeam_channel::unbounded();
    let _watch = crate::watch::watch(&root, files_tx)?;
    forward("files", files_rx, tx.clone(), |p| {
        Event::Files(p, Instant::now())
    });
    let highlighter = highlight::Highlighter::spawn();
    forward(
        "highlights",
        highlighter.rx.clone(),
        tx.clone(),
        |(r, h)| Event::Highlight(r, h),
    );
    {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("sysinfo".into())
            .spawn(move || {
                let mut sampler = Sampler::new();
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                    if tx.send(Event::System(sampler.sample())).is_err() {
                        return;
                    }
                }
            })?;
    }

    let mut terminal = ratatui::try_init()?;
    let _guard = TerminalGuard;
    {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("keys".into())
            .spawn(move || {
                loop {
                    match event::read() {
                        Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => {
                            if tx.send(Event::Key(k, Instant::now())).is_err() {
                                return;
                            }
                        }
                        Ok(TermEvent::Resize(..)) => {
                            let _ = tx.send(Event::Resize);
                        }
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            })?;
    }

    let frame = Duration::from_millis(1000 / u64::from(ui.fps.clamp(1, 120)));
    let debounce = Duration::from_millis(ui.debounce_ms);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut tick = tokio::time::interval(frame);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut dirty = true;
        let mut last_draw = Instant::now() - frame;
        let mut key_at: Option<Instant> = None;
        let mut pending_files: Vec<PathBuf> = Vec::new();
        let mut files_first_seen: Option<Instant> = None;
        let mut files_last_seen = Instant::now();
        let mut highlight_requested = (u64::MAX, 0..0);
        let mut abandoned = 0;
        loop {
            let debounce_deadline = files_first_seen.map(|_| files_last_seen + debounce);
            let mut handle = |ev: Event, app: &mut App, dirty: &mut bool| match ev {
                Event::Key(k, at) => {
                    if let Some(a) = keymap::map(k, &app.state, &overrides) {
                        app.apply(a);
                        *dirty = true;
                        key_at.get_or_insert(at);
                    }
                }
                Event::Resize => *dirty = true,
                Event::Report(r) => {
                    app.on_report(r);
                    *dirty = true;
                }
                Event::Files(paths, at) => {
                    files_first_seen.get_or_insert(at);
                    files_last_seen = at;
                    pending_files.extend(paths);
                }
                Event::System(s) => {
                    app.on_system(s);
                    *dirty = true;
                }
                Event::Highlight(rev, h) => {
                    if app
                        .state
                        .open
                        .as_ref()
                        .is_some_and(|o| o.buffer.revision == rev)
                    {
                        app.state.highlight = Some((rev, h));
                        *dirty = true;
                    }
                }
            };
            tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else { break };
                    handle(ev, &mut app, &mut dirty);
                    // Take what else is waiting, bounded so keys never starve.
                    for _ in 0..10_000 {
                        match rx.try_recv() {
                            Ok(ev) => handle(ev, &mut app, &mut dirty),
                            Err(_) => break,
                        }
                    }
                }
                _ = tick.tick() => {
                    dirty |= app.on_tick(Instant::now());
                }
                // Wake exactly when the debounce window closes, not at the next tick.
                _ = tokio::time::sleep_until(debounce_deadline.unwrap_or_else(Instant::now).into()), if debounce_deadline.is_some() => {}
            }
            if let Some(first) = files_first_seen
                && files_last_seen.elapsed() >= debounce
            {
                let paths = std::mem::take(&mut pending_files);
                files_first_seen = None;
                app.on_files_changed(&paths, first);
                dirty = true;
            }
            if app.state.quit {
                break;
            }
            if let Some(open) = &app.state.open {
                let rows = open.buffer.rows_shown(usize::from(terminal.size()?.height));
                if highlight_requested != (open.buffer.revision, rows.clone()) {
                    highlighter.request(open.buffer.revision, open.buffer.lines.clone(), rows.clone());
                    highlight_requested = (open.buffer.revision, rows);
                }
            }
            // When V8 gives up on an isolate it prints its GC trace to
            // stderr, over the screen: draw everything afresh.
            let now_abandoned = app.state.abandoned;
            if now_abandoned != abandoned {
                abandoned = now_abandoned;
                redraw_all(&mut terminal)?;
                dirty = true;
            }
            // A reload's first result is drawn at once; otherwise cap the frame rate.
            if dirty && (last_draw.elapsed() >= frame || app.reload_drawn.is_some()) {
                terminal.draw(|f| view::render(f, &app.state))?;
                last_draw = Instant::now();
                dirty = false;
                if let Some(at) = key_at.take() {
                    app.state.input_latency = Some(at.elapsed());
                    dirty = true;
                }
                if let Some(at) = app.reload_drawn.take() {
                    app.state.reload_latency = Some(at.elapsed());
                    dirty = true;
                }
                // Slow engine work goes after the frame that announced it.
                if app.has_deferred() {
                    app.run_deferred();
                    dirty = true;
                }
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    drop(_guard);
    Ok(())
}

/// Clears the screen and makes the next draw repaint every cell (the diff
/// is then against a blank frame). `Terminal::clear` would do it, but it
/// asks the terminal for the cursor position, whose answer the input
/// thread would swallow.
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
