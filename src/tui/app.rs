//! The playground's logic: applies actions, engine reports, file changes
//! and samples to the model, and drives the engine. No terminal here, so
//! tests drive it directly.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::action::{Action, EditAction, Pane, Setting};
use super::editor::Buffer;
use super::keymap;
use super::ladder;
use super::state::{
    EngineStatus, FileEntry, IsolateResults, LadderOutcome, LadderRun, OpenFile, Prompt, State,
    THREADS_WINDOW, ValueEntry,
};
use super::threads::ThreadsMeter;
use super::view::fit::plural;
use crate::config::{HEAP_MB, ISOLATES, Range, TIMEOUT_MS};
use crate::engine::{Engine, EngineConfig, Report, Source, Threads};
use crate::metrics::{Metrics, fmt_bytes, fmt_duration};
use crate::system::SystemSample;
use crate::watch::{Batch, FileRead, STABLE_AFTER};

/// How often the tick reads the engine's per-isolate counters (a pass over
/// every isolate): often enough for people, rare enough that 10,000
/// isolates cost the UI loop little.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// An engine call on the UI loop that took this long is named in the
/// status message (a person saw the screen stand still).
const SLOW_CALL: Duration = Duration::from_millis(50);

/// Engine work that replaces every isolate: the status line says it is
/// coming, and it runs right after the frame that shows that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Deferred {
    SwitchThreads,
}

pub struct App {
    pub state: State,
    pub engine: Engine,
    metrics: Metrics,
    threads: ThreadsMeter,
    /// The pool size to switch back to from a thread per isolate.
    pool_size: usize,
    /// When the engine's counters were last read.
    sampled_at: Option<Instant>,
    /// Slow engine work announced on screen, run after the next frame.
    deferred: Option<Deferred>,
    /// A reload waiting for its first result: (version, when the change was seen).
    pending_reload: Option<(u64, Instant)>,
    /// The first result of a reload is in the model; the loop times the draw.
    pub reload_drawn: Option<Instant>,
    /// The folders the file list walked: the loop has the watcher watch
    /// these.
    pub dirs: Vec<PathBuf>,
    /// A read of the open file during a write storm, waiting to be
    /// confirmed by another (see `watch::stable`).
    recheck: Option<Recheck>,
    /// Walks the root off the UI loop after changes; the loop awaits its
    /// results and hands them to [`App::on_walked`].
    pub walker: crate::files::Walker,
    /// The last walk request a result applied answered.
    walked: u64,
    /// Runs the ladder's comparison off the UI loop; the loop awaits its
    /// events and hands them to [`App::on_ladder`].
    pub ladder: ladder::Runner,
    /// Continuous load was on when the ladder opened: paused while it
    /// measures (it would share the CPU with every row), resumed when it
    /// closes.
    load_before_ladder: bool,
}

/// How many times a read during a write storm is tried before waiting
/// for the storm's next release (each try [`STABLE_AFTER`] apart).
const RECHECK_TRIES: u8 = 3;

/// A read of the open file waiting for its confirming read.
#[derive(Clone, Debug)]
struct Recheck {
    path: PathBuf,
    first: FileRead,
    seen_at: Instant,
    /// When to read again.
    at: Instant,
    tries: u8,
}

/// `text` (an error naming `path` as it was opened, maybe absolute) with
/// the path as the playground names the file (relative to the root).
fn named(text: &str, path: &Path, name: &str) -> String {
    text.replace(&path.display().to_string(), name)
}

/// Opens a yes/no prompt; the status message is cleared (the prompt names
/// its keys, an older message may name keys that now do nothing).
fn ask(s: &mut State, p: Prompt) {
    s.prompt = Some(p);
    s.message.clear();
}

/// The typed number of isolates, held to the flag's rule.
pub fn parse_isolates(text: &str) -> Result<usize, String> {
    if text.chars().all(|c| matches!(c, '_' | ',' | ' ')) {
        return Err(format!(
            "type a number of isolates from {} to {}",
            ISOLATES.min, ISOLATES.max
        ));
    }
    parse_number(ISOLATES, text, "isolates go", "").map(|n| n as usize)
}

/// The files under `root` as the list shows them (see `files::scan`),
/// with the folders walked and what the bounds left out.
/// Each is named relative to the root (see `files::name_under`), in the
/// list, in messages and in the engine's error locations.
pub fn scan(root: &Path) -> (Vec<FileEntry>, Vec<PathBuf>, Option<String>) {
    entries(root, crate::files::scan(root))
}

/// A walk of `root` as the list's entries, the folders walked and what
/// the bounds left out.
fn entries(
    root: &Path,
    found: crate::files::Scan,
) -> (Vec<FileEntry>, Vec<PathBuf>, Option<String>) {
    let files = found
        .files
        .into_iter()
        .map(|path| FileEntry {
            name: crate::files::name_under(root, &path),
            path,
            ..Default::default()
        })
        .collect();
    (files, found.dirs, found.cut)
}

pub use crate::files::is_js;

/// A number typed for `range`, held to its flag's rule; `what` names the
/// value in messages ("isolates go", "the timeout goes"), `unit` follows
/// the range ("", " ms", " MiB"). `_` and `,` between digits are allowed.
fn parse_number(range: Range, text: &str, what: &str, unit: &str) -> Result<u64, String> {
    let digits: String = text.chars().filter(|c| !matches!(c, '_' | ',')).collect();
    let digits = digits.trim();
    let (min, max) = (range.min, range.max);
    if digits.is_empty() {
        return Err(format!("type a number from {min} to {max}{unit}"));
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a number: type {min} to {max}{unit}"))?;
    range
        .check(n)
        .map_err(|_| format!("{n} is out of range: {what} from {min} to {max}{unit}"))
}

/// A value typed in a prompt, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Isolates(usize),
    /// JSON text, valid.
    Payload(String),
    TimeoutMs(u64),
    HeapMb(u64),
}

/// The text typed for `setting`, held to the same rule as its flag and
/// config key; the error says what is allowed.
pub fn parse_value(setting: Setting, text: &str) -> Result<Value, String> {
    match setting {
        Setting::Isolates => parse_isolates(text).map(Value::Isolates),
        Setting::Timeout => {
            parse_number(TIMEOUT_MS, text, "the timeout goes", " ms").map(Value::TimeoutMs)
        }
        Setting::Heap => {
            parse_number(HEAP_MB, text, "the heap limit goes", " MiB").map(Value::HeapMb)
        }
        Setting::Payload => {
            let t = text.trim();
            if t.is_empty() {
                return Err("type a JSON value, e.g. {\"n\": 1}, \"text\", 42 or null".into());
            }
            crate::config::check_payload(t)
                .map(|()| Value::Payload(t.to_string()))
                .map_err(|e| format!("the payload is {e}"))
        }
    }
}

impl App {
    /// Opens the playground on `root`; fails with a clear message when it
    /// does not exist. A folder without JavaScript opens too: the files
    /// pane says how to add a file, and it appears as soon as it is made.
    pub fn new(root: PathBuf, config: EngineConfig) -> anyhow::Result<App> {
        if !root.exists() {
            anyhow::bail!("{} does not exist", root.display());
        }
        // The first walk before the screen is up; later ones on the walker.
        let (files, dirs, cut) = scan(&root);
        let root_for_walks = root.clone();
        let mut state = State::new(
            root,
            config.mode,
            config.isolates,
            config.limits.heap_bytes as u64,
        );
        state.files = files;
        state.files_cut = cut;
        state.results = vec![IsolateResults::default(); config.isolates];
        state.threads.model = config.threads;
        let pool_size = match (config.threads, Threads::cores()) {
            (Threads::Pool(t), _) | (_, Threads::Pool(t)) => t,
            _ => 1,
        };
        let engine = Engine::new(config);
        let walker = crate::files::Walker::spawn(root_for_walks)?;
        let mut app = App {
            state,
            engine,
            metrics: Metrics::new(),
            threads: ThreadsMeter::default(),
            pool_size,
            sampled_at: None,
            deferred: None,
            pending_reload: None,
            reload_drawn: None,
            dirs,
            recheck: None,
            walker,
            walked: 0,
            ladder: ladder::Runner::for_this_program(),
            load_before_ladder: false,
        };
        app.open_selected();
        app.sync_status();
        Ok(app)
    }

    /// Reads what the engine is set to into the model (after any change).
    fn sync_status(&mut self) {
        self.state.engine = EngineStatus::read(&self.engine);
    }

    /// Applies one action (from a key, or a test).
    pub fn apply(&mut self, action: Action) {
        self.apply_action(action);
        // A filter is typed in the Files pane only.
        if self.state.focus != Pane::Files {
            self.state.filter = None;
        }
        self.keep_editor_view();
        self.sync_status();
    }

    /// Keeps the editor's view where the screen last showed it (moved
    /// only as far as the cursor needs), so the text doesn't jump under a
    /// click; sized from the last frame's screen.
    fn keep_editor_view(&mut self) {
        let (w, h) = self.state.screen;
        let Some(areas) = super::view::layout(ratatui::layout::Rect::new(0, 0, w, h), &self.state)
        else {
            return;
        };
        let (rows, cols) = super::view::editor_text_size(areas.editor, &self.state);
        if let Some(open) = self.state.open.as_mut() {
            open.buffer.keep_view(rows, cols);
        }
    }

    fn apply_action(&mut self, action: Action) {
        let s = &mut self.state;
        if let Action::NotHere(key) = &action {
            s.message = keymap::not_here(s, key);
            return;
        }
        if let Some(entry) = s.entry.as_mut() {
            let max = entry.max_chars();
            let push = |entry: &mut ValueEntry, c: char| {
                if entry.text.chars().count() < max {
                    entry.text.push(c);
                }
            };
            match action {
                Action::Edit(EditAction::Insert(c)) => {
                    push(entry, c);
                    entry.error = None;
                }
                Action::Edit(EditAction::Backspace) => {
                    entry.text.pop();
                    entry.error = None;
                }
                Action::Edit(EditAction::Paste(text)) => {
                    // Line breaks in pasted JSON are spaces (the same JSON).
                    for c in text.chars() {
                        match c {
                            '\n' | '\r' | '\t' => push(entry, ' '),
                            c if c.is_control() => {}
                            c => push(entry, c),
                        }
                    }
                    entry.error = None;
                }
                Action::Confirm => {
                    let (setting, text) = (entry.setting, entry.text.clone());
                    if let Err(e) = self.apply_value(setting, &text)
                        && let Some(entry) = self.state.entry.as_mut()
                    {
                        entry.error = Some(e);
                    }
                }
                Action::Cancel | Action::Quit => {
                    let what = match entry.setting {
                        Setting::Isolates => format!("isolates unchanged: {}", s.engine.isolates),
                        Setting::Payload => "payload unchanged".into(),
                        Setting::Timeout => {
                            format!("timeout unchanged: {}", fmt_duration(s.engine.timeout))
                        }
                        Setting::Heap => {
                            format!("heap limit unchanged: {}", fmt_bytes(s.engine.heap_limit))
                        }
                    };
                    s.entry = None;
                    s.message = what;
                }
                _ => {}
            }
            return;
        }
        if let Some(prompt) = s.prompt.clone() {
            match action {
                Action::Confirm => {
                    s.prompt = None;
                    match prompt {
                        Prompt::QuitUnsaved => s.quit = true,
                        Prompt::SwitchUnsaved(i) => {
                            s.selected_file = i;
                            self.open_selected();
                        }
                        Prompt::OverwriteDisk => self.write_open(),
                    }
                }
                Action::Cancel | Action::Quit => {
                    s.prompt = None;
                    s.message = "kept your edits".into();
                    if prompt == Prompt::OverwriteDisk
                        && let Some(k) =
                            keymap::key_says(s, &Action::ReloadFromDisk, "loads the disk version")
                    {
                        s.message = format!("kept your edits, not saved · {k}");
                    }
                }
                _ => {}
            }
            return;
        }
        if s.help {
            match action {
                Action::ToggleHelp | Action::Cancel | Action::Quit => s.help = false,
                Action::Up => s.help_scroll = s.help_scroll.saturating_sub(1),
                Action::Down => s.help_scroll += 1,
                Action::PageUp => s.help_scroll = s.help_scroll.saturating_sub(10),
                Action::PageDown => s.help_scroll += 10,
                Action::Home => s.help_scroll = 0,
                // The view clamps it to the last screenful.
                Action::End => s.help_scroll = usize::MAX / 2,
                _ => {}
            }
            return;
        }
        if s.ladder.open {
            match action {
                Action::ToggleLadder | Action::Cancel => self.close_ladder(),
                Action::RunOnce => self.start_ladder(),
                Action::ToggleHelp => s.help = true,
                Action::Up => s.ladder.scroll = s.ladder.scroll.saturating_sub(1),
                Action::Down => s.ladder.scroll += 1,
                Action::PageUp => s.ladder.scroll = s.ladder.scroll.saturating_sub(5),
                Action::PageDown => s.ladder.scroll += 5,
                Action::Home => s.ladder.scroll = 0,
                // The view clamps it to the last rung that fills the screen.
                Action::End => s.ladder.scroll = usize::MAX / 2,
                Action::Quit => {
                    if s.open.as_ref().is_some_and(OpenFile::unsaved) {
                        ask(s, Prompt::QuitUnsaved);
                    } else {
                        s.quit = true;
                    }
                }
                _ => {}
            }
            return;
        }
        if let Some(filter) = s.filter.as_mut().filter(|_| s.focus == Pane::Files) {
            match &action {
                Action::Edit(EditAction::Insert(c)) => filter.push(*c),
                Action::Edit(EditAction::Backspace) => {
                    filter.pop();
                }
                Action::Edit(EditAction::Paste(text)) => {
                    filter.extend(text.chars().filter(|c| !c.is_control()));
                }
                Action::Cancel => {
                    s.filter = None;
                    s.message = "filter cleared".into();
                    return;
                }
                Action::Open => {
                    let any = !s.shown_files().is_empty();
                    s.filter = None;
                    if !any {
                        s.message = "no file matched the filter".into();
                        return;
                    }
                }
                _ => {}
            }
            if matches!(action, Action::Edit(_)) {
                s.refilter();
                return;
            }
        }
        match action {
            Action::Quit => {
                if s.open.as_ref().is_some_and(OpenFile::unsaved) {
                    ask(s, Prompt::QuitUnsaved);
                } else {
                    s.quit = true;
                }
            }
            Action::RunOnce => {
                if self.nothing_to_run() {
                    return;
                }
                self.engine.run(1);
                self.state.message = format!(
                    "ran once on {}",
                    plural(self.engine.isolates() as u64, "isolate", "isolates")
                );
            }
            Action::ToggleLoad => {
                let on = !self.engine.is_loading();
                if on && self.nothing_to_run() {
                    return;
                }
                self.engine.set_load(on);
                self.state.message = if on {
                    "continuous load started"
                } else {
                    "load stopped"
                }
                .into();
            }
            Action::AddIsolates(k) => self.resize(self.engine.isolates() + k),
            Action::RemoveIsolates(k) => {
                if self.engine.isolates() <= 1 {
                    self.state.message = "already 1 isolate, the fewest".into();
                } else {
                    self.resize(self.engine.isolates().saturating_sub(k).max(1))
                }
            }
            Action::Ask(setting) => {
                s.entry = Some(ValueEntry::new(setting, s));
                // The prompt names its keys; an older message may not.
                s.message.clear();
            }
            Action::SwitchThreads => {
                if self.deferred.is_none() {
                    self.state.message = match self.engine.threads() {
                        Threads::Pool(_) => format!(
                            "switching to one thread per isolate: starting {}…",
                            plural(self.engine.isolates() as u64, "thread", "threads")
                        ),
                        Threads::PerIsolate => format!(
                            "switching to a pool of {}…",
                            plural(self.pool_size as u64, "thread", "threads")
                        ),
                    };
                    self.deferred = Some(Deferred::SwitchThreads);
                }
            }
            Action::CycleMode => {
                let m = self.engine.mode().next();
                self.engine.set_mode(m);
                self.metrics.reset_distributions();
                self.state.message = format!("mode: {m}");
                self.say_how_to_run();
            }
            Action::FocusNext => s.focus = s.focus.next(),
            Action::FocusPrev => s.focus = s.focus.prev(),
            Action::Focus(Pane::Editor) if s.open.is_none() => {
                s.message = if s.files.is_empty() {
                    "no file to edit: create a .js file in this folder first".into()
                } else {
                    match keymap::key_for(s, &Action::Open) {
                        Some(k) => format!("no file open: {k} on a file in Files opens it"),
                        None => "no file open: open one from Files".into(),
                    }
                };
            }
            Action::Focus(p) => s.focus = p,
            Action::NextFailing => match s.select_next_failing() {
                Some(i) => {
                    let what = s.results[i]
                        .last
                        .as_ref()
                        .and_then(|inv| inv.outcome.as_ref().err())
                        .map(|e| e.headline())
                        .unwrap_or_default();
                    s.message = format!("isolate {i}: {what}");
                }
                None => s.message = format!("no isolate failed on v{}", s.engine.version),
            },
            // The loop repaints the terminal; nothing in the model changes.
            Action::Redraw => {}
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
                let delta: isize = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -10,
                    _ => 10,
                };
                match s.focus {
                    Pane::Results => s.scroll_results(match action {
                        Action::PageUp => -s.results_page(),
                        Action::PageDown => s.results_page(),
                        _ => delta,
                    }),
                    pane => self.scroll(pane, delta),
                }
            }
            Action::Home | Action::End => {
                let edge = if action == Action::End {
                    isize::MAX
                } else {
                    isize::MIN
                };
                match s.focus {
                    Pane::Editor => {}
                    pane => self.scroll(pane, edge),
                }
            }
            Action::Scroll(pane, rows) => self.scroll(pane, rows),
            Action::Filter if s.files.is_empty() => {
                s.message = "no files to filter: this folder has no .js or .mjs files".into();
            }
            Action::Filter => {
                s.focus = Pane::Files;
                s.filter = Some(String::new());
                s.message = "filter: type part of a file's path".into();
                for (action, what) in [(Action::Open, "opens"), (Action::Cancel, "clears")] {
                    if let Some(k) = keymap::key_says(s, &action, what) {
                        s.message.push_str(&format!(" · {k}"));
                    }
                }
            }
            Action::ClickFile(i) => {
                if i >= s.files.len() {
                    return;
                }
                if s.focus == Pane::Files && s.selected_file == i {
                    s.filter = None;
                    self.open_file(i);
                } else {
                    s.focus = Pane::Files;
                    s.selected_file = i;
                }
            }
            Action::ClickEditor(..) if s.open.is_none() => {
                self.apply_action(Action::Focus(Pane::Editor));
            }
            Action::ClickEditor(line, col) => {
                s.focus = Pane::Editor;
                if let Some(open) = s.open.as_mut() {
                    open.buffer.move_to(line, col);
                }
            }
            Action::ClickIsolate(i) => {
                s.focus = Pane::Isolates;
                if i < s.results.len() {
                    if s.selected_isolate != i {
                        s.results_scroll = 0;
                    }
                    s.selected_isolate = i;
                }
            }
            Action::Open => {
                if s.shown_files().is_empty() {
                    s.message = if s.files.is_empty() {
                        "no file to open: this folder has no .js or .mjs files".into()
                    } else {
                        "no file matches the filter".into()
                    };
                    return;
                }
                let target = s.selected_file;
                self.open_file(target);
            }
            Action::ToggleHelp => s.help = !s.help,
            Action::ToggleLadder => self.open_ladder(),
            Action::Cancel => {
                if s.focus == Pane::Editor {
                    s.focus = Pane::Files;
                }
            }
            Action::Confirm => {}
            // Handled first, above.
            Action::NotHere(_) => {}
            Action::Edit(e) => self.edit(e),
            Action::Save => {
                let Some(open) = s.open.as_mut() else {
                    s.message = "nothing to save: no file open".into();
                    return;
                };
                // A change the watcher did not report (a missed event, a
                // link's target elsewhere) is still never overwritten
                // silently: the disk must hold what was loaded or saved.
                if !open.deleted
                    && std::fs::read(&open.path).is_ok_and(|d| d != open.saved_text.as_bytes())
                {
                    open.disk_conflict = true;
                }
                if open.disk_conflict && !open.deleted {
                    ask(s, Prompt::OverwriteDisk);
                } else {
                    self.write_open();
                }
            }
            Action::ReloadFromDisk => match &s.open {
                Some(open) => {
                    let path = open.path.clone();
                    self.load_from_disk(&path, None, None);
                }
                None => s.message = "nothing to reload: no file open".into(),
            },
        }
    }

    /// Applies a value typed in a prompt and closes it; the error (the
    /// prompt stays open with the text) says what is allowed. Nothing
    /// runs: the status line says what changed and that F5 runs it.
    fn apply_value(&mut self, setting: Setting, text: &str) -> Result<(), String> {
        let value = parse_value(setting, text)?;
        if let Value::Isolates(n) = value {
            crate::engine::capacity::check_for(n, self.engine.isolates(), self.engine.threads())?;
        }
        self.state.entry = None;
        let t0 = Instant::now();
        let mut limits = self.engine.config().limits;
        let message = match value {
            Value::Isolates(n) => {
                let before = self.engine.isolates();
                if n == before {
                    self.state.message =
                        format!("already {}", plural(n as u64, "isolate", "isolates"));
                    return Ok(());
                }
                self.resize(n);
                format!("{before} → {}", plural(n as u64, "isolate", "isolates"))
            }
            Value::Payload(json) => {
                if json == self.engine.config().payload {
                    self.state.message = "payload unchanged".into();
                    return Ok(());
                }
                self.engine
                    .set_payload(&json)
                    .map_err(|e| format!("{e:#}"))?;
                format!("payload {}", super::view::fit::elide_middle(&json, 40))
            }
            Value::TimeoutMs(ms) => {
                let before = limits.timeout;
                limits.timeout = Duration::from_millis(ms);
                if limits.timeout == before {
                    self.state.message = format!("already a timeout of {}", fmt_duration(before));
                    return Ok(());
                }
                self.engine.set_limits(limits);
                format!(
                    "timeout {} → {}",
                    fmt_duration(before),
                    fmt_duration(limits.timeout)
                )
            }
            Value::HeapMb(mb) => {
                let before = limits.heap_bytes;
                limits.heap_bytes = (mb as usize) << 20;
                if limits.heap_bytes == before {
                    self.state.message =
                        format!("already a heap limit of {}", fmt_bytes(before as u64));
                    return Ok(());
                }
                self.engine.set_limits(limits);
                format!(
                    "heap limit {} → {} (each isolate is made anew with it)",
                    fmt_bytes(before as u64),
                    fmt_bytes(limits.heap_bytes as u64)
                )
            }
        };
        let took = t0.elapsed();
        self.state.message = message;
        self.say_how_to_run();
        if took >= SLOW_CALL {
            self.state
                .message
                .push_str(&format!(" (the change held the UI {})", fmt_duration(took)));
        }
        Ok(())
    }

    fn resize(&mut self, n: usize) {
        if let Err(why) =
            crate::engine::capacity::check_for(n, self.engine.isolates(), self.engine.threads())
        {
            self.state.message = why;
            return;
        }
        self.engine.set_isolates(n);
        let s = &mut self.state;
        s.results.resize(n, IsolateResults::default());
        s.selected_isolate = s.selected_isolate.min(n - 1);
        s.message = plural(n as u64, "isolate", "isolates");
        self.say_how_to_run();
    }

    /// Settings changes don't run the script (a person may change several
    /// first): the status message says what to press, unless load runs.
    fn say_how_to_run(&mut self) {
        if !self.engine.is_loading()
            && self.engine.source().is_some()
            && let Some(k) = keymap::key_says(&self.state, &Action::RunOnce, "runs it")
        {
            self.state.message.push_str(&format!(" · {k}"));
        }
    }

    /// No source to run: says so and returns true.
    fn nothing_to_run(&mut self) -> bool {
        if self.engine.source().is_some() {
            return false;
        }
        self.state.message = if self.state.files.is_empty() {
            "nothing to run: create a .js file in this folder first".into()
        } else {
            match keymap::key_for(&self.state, &Action::Open) {
                Some(k) => format!("nothing to run: open a file first ({k} on a file)"),
                None => "nothing to run: open a file first".into(),
            }
        };
        true
    }

    /// Opens the ladder view: the figures kept when they are for the
    /// version that runs now and were measured to the end, else a fresh
    /// comparison. Continuous load pauses while it is open.
    fn open_ladder(&mut self) {
        let Some(src) = self.engine.source() else {
            self.nothing_to_run();
            self.state.message = self
                .state
                .message
                .replace("nothing to run", "nothing to compare");
            return;
        };
        let (name, version) = (src.name.clone(), src.version);
        let s = &mut self.state;
        s.ladder.open = true;
        s.ladder.scroll = 0;
        s.message.clear();
        if self.engine.is_loading() {
            self.engine.set_load(false);
            self.load_before_ladder = true;
            self.state.message = "load paused while the ladder is open".into();
        }
        let kept = self.state.ladder.run.as_ref().is_some_and(|r| {
            r.file == name
                && r.version == version
                && matches!(r.outcome, LadderOutcome::Done { .. })
        });
        if kept {
            // Edits made since it ran are not in its figures: say so.
            let unsaved = self.state.open.as_ref().is_some_and(OpenFile::unsaved);
            if let Some(run) = self.state.ladder.run.as_mut() {
                run.unsaved = unsaved;
            }
        } else {
            self.start_ladder();
        }
    }

    /// A fresh comparison of the version that runs now (the text last
    /// saved or loaded), cancelling any still running.
    fn start_ladder(&mut self) {
        let Some(src) = self.engine.source() else {
            return;
        };
        let source: Source = (**src).clone();
        let (name, version) = (src.name.clone(), src.version);
        let options = self.ladder.options();
        let mut run = LadderRun::new(0, name, version, &options);
        run.unsaved = self.state.open.as_ref().is_some_and(OpenFile::unsaved);
        match self
            .ladder
            .start(source, self.engine.config().clone(), options)
        {
            Ok(id) => run.id = id,
            Err(e) => run.outcome = LadderOutcome::Failed(format!("cannot start a thread: {e}")),
        }
        self.state.ladder.run = Some(run);
    }

    /// Closes the ladder view, cancelling a comparison still running
    /// (its rows keep what they measured); continuous load resumes if
    /// the ladder paused it.
    fn close_ladder(&mut self) {
        let s = &mut self.state;
        s.ladder.open = false;
        s.message = "ladder closed".into();
        if let Some(run) = s.ladder.run.as_mut().filter(|r| r.running()) {
            self.ladder.cancel();
            run.stop();
            s.message = "ladder closed, its run cancelled".into();
        }
        if std::mem::take(&mut self.load_before_ladder) {
            self.engine.set_load(true);
            self.state.message.push_str("; load resumed");
        }
    }

    /// An event of ladder run `id`: applied when it is the run shown,
    /// dropped when it is from a run cancelled since.
    pub fn on_ladder(&mut self, id: u64, event: ladder::Event) {
        let Some(run) = self.state.ladder.run.as_mut().filter(|r| r.id == id) else {
            return;
        };
        match event {
            ladder::Event::Update(u) => run.apply(u),
            ladder::Event::Done(result) => {
                if run.outcome == LadderOutcome::Running {
                    run.finish(result);
                }
            }
        }
    }

    /// Slow engine work is waiting for the frame that announces it.
    pub fn has_deferred(&self) -> bool {
        self.deferred.is_some()
    }

    /// Runs the slow engine work announced on screen (the loop calls this
    /// right after a frame; tests call it after the action).
    pub fn run_deferred(&mut self) {
        match self.deferred.take() {
            Some(Deferred::SwitchThreads) => self.switch_threads(),
            None => {}
        }
        self.sync_status();
    }

    /// A pool ↔ a thread per isolate, live: the engine replaces every
    /// isolate in the background; the latency numbers and the threads line
    /// start afresh.
    fn switch_threads(&mut self) {
        let next = match self.engine.threads() {
            Threads::Pool(_) => Threads::PerIsolate,
            Threads::PerIsolate => Threads::Pool(self.pool_size),
        };
        if next == Threads::PerIsolate {
            // The pool's isolates go, and each new one takes its thread's
            // mappings on top: count the old ones as a credit of what they
            // hold.
            use crate::engine::capacity::{MAPS_PER_ISOLATE, MAPS_PER_ISOLATE_THREAD, check_for};
            let n = self.engine.isolates();
            let credit = n * MAPS_PER_ISOLATE / MAPS_PER_ISOLATE_THREAD;
            if let Err(why) = check_for(n, credit, next) {
                self.state.message = why;
                return;
            }
        }
        // Threads started from here on are the new model's.
        let since = self
            .engine
            .thread_stats()
            .iter()
            .map(|t| t.id + 1)
            .max()
            .unwrap_or(0);
        let t0 = Instant::now();
        self.engine.set_threads(next);
        let took = t0.elapsed();
        self.metrics.reset_distributions();
        self.threads.restart(since);
        let _ = self.engine.drain_queue_wait();
        let now = Instant::now();
        let snapshots = self.engine.snapshots();
        self.threads.observe(
            now,
            self.engine.thread_stats(),
            &self.engine.drain_queue_wait(),
            &snapshots,
            matches!(next, Threads::Pool(_)),
        );
        let s = &mut self.state;
        s.set_snapshots(snapshots);
        s.isolates_replaced();
        s.threads.model = next;
        s.threads.window = None;
        s.message = match next {
            Threads::Pool(t) => format!(
                "threads: a pool of {}; every isolate replaced",
                plural(t as u64, "thread", "threads")
            ),
            Threads::PerIsolate => format!(
                "threads: one per isolate ({}); every isolate replaced",
                plural(self.engine.isolates() as u64, "thread", "threads")
            ),
        };
        if took >= SLOW_CALL {
            s.message
                .push_str(&format!(" (the switch held the UI {})", fmt_duration(took)));
        }
        self.say_how_to_run();
    }

    /// Opens file `target` (an index into the list): the editor takes focus
    /// when it is open already; unsaved edits to another file are asked
    /// about first.
    fn open_file(&mut self, target: usize) {
        let s = &mut self.state;
        let Some(file) = s.files.get(target) else {
            return;
        };
        let same = s.open.as_ref().is_some_and(|o| o.path == file.path);
        if same {
            s.focus = Pane::Editor;
        } else if s.open.as_ref().is_some_and(OpenFile::unsaved) {
            ask(s, Prompt::SwitchUnsaved(target));
        } else {
            s.selected_file = target;
            self.open_selected();
        }
    }

    /// Moves `pane`'s selection (Files, Isolates), scrolls it (Results) or
    /// moves the editor's cursor by `rows`; `isize::MIN` / `MAX` go to the
    /// first / last.
    fn scroll(&mut self, pane: Pane, rows: isize) {
        let s = &mut self.state;
        match pane {
            Pane::Files => s.move_file(rows),
            Pane::Isolates => {
                let n = s.results.len().max(1) as isize;
                let to = (s.selected_isolate as isize)
                    .saturating_add(rows)
                    .clamp(0, n - 1) as usize;
                if to != s.selected_isolate {
                    s.results_scroll = 0;
                }
                s.selected_isolate = to;
            }
            Pane::Results => s.scroll_results(rows),
            Pane::Editor => {
                let step = if rows < 0 {
                    EditAction::Up
                } else {
                    EditAction::Down
                };
                let lines = s.open.as_ref().map_or(0, |o| o.buffer.lines.len());
                for _ in 0..rows.unsigned_abs().min(lines) {
                    self.edit(step.clone());
                }
            }
        }
    }

    fn edit(&mut self, e: EditAction) {
        let Some(open) = self.state.open.as_mut() else {
            return;
        };
        open.buffer.apply(&e);
    }

    /// Opens the selected file: into the editor, then onto the isolates.
    fn open_selected(&mut self) {
        let Some(entry) = self.state.files.get(self.state.selected_file).cloned() else {
            return;
        };
        match Source::from_file(&entry.path) {
            Ok(src) => {
                // A stale "last good result" is the file's own: another
                // file's would read as this one's.
                if self
                    .state
                    .open
                    .as_ref()
                    .is_none_or(|o| o.path != entry.path)
                {
                    for r in &mut self.state.results {
                        r.last_ok = None;
                    }
                }
                self.state.open = Some(OpenFile {
                    path: entry.path.clone(),
                    name: entry.name.clone(),
                    buffer: Buffer::new(&src.code),
                    saved_text: src.code.clone(),
                    ..Default::default()
                });
                self.state.highlight = None;
                self.state.files[self.state.selected_file].changed_on_disk = false;
                self.state.message = format!("opened {}", entry.name);
                self.install(Source::new(entry.name, src.code));
            }
            Err(e) => {
                self.state.message = named(&format!("{e:#}"), &entry.path, &entry.name);
                self.state.files[self.state.selected_file].failing = true;
            }
        }
    }

    /// Puts a new version on the isolates and runs it once (unless under
    /// load, where the next invocations pick it up).
    fn install(&mut self, src: Source) -> u64 {
        let v = self.engine.set_source(src);
        self.state.engine.version = v;
        if !self.engine.is_loading() {
            self.engine.run(1);
        }
        v
    }

    fn write_open(&mut self) {
        let Some(open) = self.state.open.as_mut() else {
            return;
        };
        let text = open.buffer.text();
        match std::fs::write(&open.path, &text) {
            Ok(()) => {
                open.saved_text = text.clone();
                open.disk_conflict = false;
                open.deleted = false;
                let name = open.name.clone();
                self.state.message = format!("saved {name}");
                self.install(Source::new(name, text));
            }
            Err(e) => {
                tracing::warn!(path = %open.path.display(), error = %e, "cannot save");
                self.state.message = format!("cannot save {}: {e}", open.name);
            }
        }
    }

    /// Replaces the buffer with the disk text (cursor and view kept where
    /// possible): `bytes` already read from `path`, or read now.
    fn load_from_disk(&mut self, path: &Path, seen_at: Option<Instant>, bytes: Option<Vec<u8>>) {
        let Some(open) = self.state.open.as_mut() else {
            return;
        };
        let loaded = match bytes {
            Some(b) => Source::from_bytes(path, b),
            None => Source::from_file(path),
        };
        match loaded {
            Ok(src) => {
                let (cursor, scroll) = (open.buffer.cursor, open.buffer.scroll);
                open.buffer = Buffer::new(&src.code);
                open.buffer.scroll = scroll;
                let row = cursor.0.min(open.buffer.lines.len() - 1);
                open.buffer.cursor = (row, cursor.1.min(open.buffer.lines[row].chars().count()));
                open.saved_text = src.code.clone();
                open.disk_conflict = false;
                open.deleted = false;
                let name = open.name.clone();
                self.state.highlight = None;
                self.state.message = format!("reloaded {name} from disk");
                let v = self.install(Source::new(name, src.code));
                if let Some(t) = seen_at {
                    self.pending_reload = Some((v, t));
                }
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot reload from disk: {e:#}");
                self.state.message = named(&format!("{e:#}"), path, &open.name);
            }
        }
    }

    /// Debounced file-system changes under the watched path, quiet since
    /// (the open file is read once, as it is).
    pub fn on_files_changed(&mut self, paths: &[PathBuf], seen_at: Instant) {
        self.files_changed(paths, seen_at, true);
        self.sync_status();
    }

    /// A burst released by the debounce: when it was released by its
    /// maximum wait (writes still going on), the open file's read is
    /// confirmed [`STABLE_AFTER`] later before it is used
    /// ([`App::wake_at`], [`App::on_wake`]).
    pub fn on_batch(&mut self, batch: &Batch) {
        self.files_changed(&batch.paths, batch.first_seen, batch.settled);
        self.sync_status();
    }

    /// When the loop should call [`App::on_wake`] (a read to confirm).
    pub fn wake_at(&self) -> Option<Instant> {
        self.recheck.as_ref().map(|r| r.at)
    }

    /// Reads the open file again to confirm a read made during a write
    /// storm: used when unchanged; else tried again a few times, then
    /// left to the storm's next release (a change in between raised an
    /// event, so one comes).
    pub fn on_wake(&mut self, now: Instant) {
        let Some(r) = self.recheck.take_if(|r| r.at <= now) else {
            return;
        };
        if self.state.open.as_ref().is_none_or(|o| o.path != r.path) {
            return;
        }
        match FileRead::of(&r.path) {
            Ok(again) if crate::watch::stable(&r.first, &again) => {
                self.use_disk(again.bytes, r.seen_at);
            }
            Ok(again) if r.tries < RECHECK_TRIES => {
                self.recheck = Some(Recheck {
                    first: again,
                    at: now + STABLE_AFTER,
                    tries: r.tries + 1,
                    ..r
                });
            }
            Ok(_) => tracing::debug!(path = %r.path.display(), "still being written"),
            // Gone meanwhile: its own event says so.
            Err(_) => {}
        }
        self.sync_status();
    }

    /// Asks the walker to list the files again (the result comes to
    /// [`App::on_walked`]).
    pub fn request_walk(&mut self) {
        self.walker.request();
    }

    /// Waits up to `timeout` for the walk that answers the last request
    /// and applies what comes, for callers without a loop (tests, tools);
    /// returns whether it came.
    pub fn await_walk(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.walked < self.walker.asked() {
            let Ok(w) = self.walker.results.recv_deadline(deadline) else {
                return false;
            };
            self.on_walked(w);
        }
        true
    }

    /// A walk's result: the file list anew, selection, marks and filter
    /// kept; the folders to watch in [`App::dirs`].
    pub fn on_walked(&mut self, walked: crate::files::Walked) {
        self.walked = self.walked.max(walked.answers);
        let selected_path = self
            .state
            .files
            .get(self.state.selected_file)
            .map(|f| f.path.clone());
        let old: Vec<FileEntry> = std::mem::take(&mut self.state.files);
        let (mut files, dirs, cut) = entries(&self.state.root, walked.scan);
        self.dirs = dirs;
        self.state.files_cut = cut;
        for f in &mut files {
            if let Some(o) = old.iter().find(|o| o.path == f.path) {
                f.failing = o.failing;
                f.changed_on_disk = o.changed_on_disk;
            }
        }
        self.state.files = files;
        self.state.selected_file = selected_path
            .and_then(|p| self.state.files.iter().position(|f| f.path == p))
            .unwrap_or(0)
            .min(self.state.files.len().saturating_sub(1));
        self.state.refilter();
        if old.is_empty()
            && let Some(first) = self.state.files.first()
            && self.state.open.is_none()
        {
            let mut m = format!(
                "{} appeared",
                super::view::shown_path(&self.state, &first.path)
            );
            if let Some(k) = keymap::key_says(&self.state, &Action::Open, "opens it") {
                m.push_str(&format!(" · {k}"));
            }
            self.state.message = m;
        }
        self.sync_status();
    }

    /// Changes on disk: the file list is walked again off the loop; the
    /// open file is reloaded (or a conflict said) and other listed files
    /// marked changed now.
    fn files_changed(&mut self, paths: &[PathBuf], seen_at: Instant, settled: bool) {
        self.request_walk();
        let open_path = self.state.open.as_ref().map(|o| o.path.clone());
        for p in paths {
            let same_file = |a: &Path, b: &Path| {
                a == b
                    || a.canonicalize()
                        .ok()
                        .zip(b.canonicalize().ok())
                        .is_some_and(|(x, y)| x == y)
                    || a.file_name() == b.file_name() && !b.exists()
            };
            if open_path.as_deref().is_some_and(|o| same_file(o, p)) {
                self.open_file_changed(seen_at, settled);
            } else if let Some(f) = self.state.files.iter_mut().find(|f| same_file(&f.path, p)) {
                f.changed_on_disk = true;
            }
        }
    }

    /// The open file changed on disk: deleted, reloaded (no unsaved
    /// edits) or a conflict. `settled`: read it now; else read it now and
    /// confirm it later (see [`App::on_batch`]).
    fn open_file_changed(&mut self, seen_at: Instant, settled: bool) {
        // A newer change: any read waiting for confirmation is stale.
        self.recheck = None;
        let Some(open) = self.state.open.as_mut() else {
            return;
        };
        if !open.path.exists() {
            if !open.deleted {
                open.deleted = true;
                let mut m = format!(
                    "{} was deleted or renamed on disk; your text is kept",
                    open.name
                );
                if let Some(k) = keymap::key_says(&self.state, &Action::Save, "writes it back") {
                    m.push_str(&format!(" ({k})"));
                }
                self.state.message = m;
            }
            return;
        }
        let disk = match FileRead::of(&open.path) {
            Ok(r) => r,
            Err(e) => {
                let path = open.path.display();
                tracing::warn!(%path, error = %e, "cannot read a changed file");
                self.state.message = format!("cannot read {}: {e}", open.name);
                return;
            }
        };
        if settled {
            self.use_disk(disk.bytes, seen_at);
        } else {
            self.recheck = Some(Recheck {
                path: open.path.clone(),
                first: disk,
                seen_at,
                at: Instant::now() + STABLE_AFTER,
                tries: 1,
            });
        }
    }

    /// The open file's text on disk, read whole and stable: nothing to do
    /// (the buffer's own), loaded (no unsaved edits), or a conflict.
    fn use_disk(&mut self, disk: Vec<u8>, seen_at: Instant) {
        let Some(open) = self.state.open.as_mut() else {
            return;
        };
        if disk == open.saved_text.as_bytes() && !open.deleted {
            return; // our own save, or a touch
        }
        if open.buffer.text() == open.saved_text && !open.deleted {
            let path = open.path.clone();
            self.load_from_disk(&path, Some(seen_at), Some(disk));
        } else {
            open.disk_conflict = true;
            open.deleted = false;
            let name = open.name.clone();
            // Short: the keys must fit beside the hints at 80 columns.
            let mut m = format!("{name} changed on disk, your edits kept");
            for (a, what) in [
                (Action::Save, "overwrites it"),
                (Action::ReloadFromDisk, "loads it"),
            ] {
                if let Some(k) = keymap::key_says(&self.state, &a, what) {
                    m.push_str(&format!(" · {k}"));
                }
            }
            self.state.message = m;
        }
    }

    pub fn on_report(&mut self, report: Report) {
        let Report::Invocation(inv) = report else {
            return;
        };
        let s = &mut self.state;
        let Some(slot) = s.results.get_mut(inv.worker) else {
            return;
        };
        if let Ok(r) = &inv.outcome {
            slot.last_ok = Some((inv.version, r.clone()));
        }
        if inv.version == s.engine.version {
            let failed = inv.outcome.is_err();
            if let Some(f) = s
                .files
                .iter_mut()
                .find(|f| s.open.as_ref().is_some_and(|o| o.path == f.path))
            {
                f.failing = failed;
            }
            if let Some((v, t)) = self.pending_reload
                && v == inv.version
            {
                self.pending_reload = None;
                self.reload_drawn = Some(t);
                s.reload_version = Some(v);
            }
        }
        slot.replaced = false;
        slot.last = Some(*inv);
    }

    /// Once per tick: counters, histograms and the derived numbers, read
    /// from the engine at most every [`SAMPLE_EVERY`] (and at once when the
    /// number of isolates changed); the threads line every
    /// [`THREADS_WINDOW`]. Returns whether anything visible changed (so an
    /// idle screen is not redrawn).
    pub fn on_tick(&mut self, now: Instant) -> bool {
        let due = self
            .sampled_at
            .is_none_or(|t| now.saturating_duration_since(t) >= SAMPLE_EVERY)
            || self.state.snapshots.len() != self.engine.isolates();
        if !due {
            return false;
        }
        self.sampled_at = Some(now);
        let snapshots = self.engine.snapshots();
        let total = self
            .metrics
            .session_total(snapshots.iter().map(|w| w.invocations));
        let (lat, cold) = self.engine.telemetry().drain();
        self.metrics.observe(now, total, lat, &cold);
        let mut changed =
            snapshots != self.state.snapshots || total != self.state.live.total_invocations;
        // A snapshot build ends on its own thread, with no report.
        let snapshot = super::state::SnapshotStatus::read(&self.engine);
        if snapshot != self.state.engine.snapshot {
            self.state.engine.snapshot = snapshot;
            changed = true;
        }
        if self
            .threads
            .last_at()
            .is_none_or(|t| now.saturating_duration_since(t) >= THREADS_WINDOW)
        {
            let window = self.threads.observe(
                now,
                self.engine.thread_stats(),
                &self.engine.drain_queue_wait(),
                &snapshots,
                matches!(self.engine.threads(), Threads::Pool(_)),
            );
            if window.is_some() {
                self.state.threads.window = window;
                changed = true;
            }
        }
        let s = &mut self.state;
        s.set_snapshots(snapshots);
        s.live.rate = self.metrics.rate();
        s.live.rate_window = self.metrics.rate_window();
        s.live.latency = self.metrics.latency();
        s.live.latency_window = self.metrics.latency_window(now);
        s.live.timed_share = self.metrics.timed_share();
        s.live.cold_start = self.metrics.cold_start();
        s.live.history = self.metrics.history.iter().copied().collect();
        s.live.total_invocations = total;
        // A call the watchdog stopped that has not come back is inside a
        // built-in V8 cannot interrupt: say so, since the pane can't.
        let stuck = self.engine.stuck_workers(Duration::from_secs(2));
        if !stuck.is_empty() {
            let mut ids: Vec<String> = stuck.iter().take(5).map(|w| w.to_string()).collect();
            if stuck.len() > 5 {
                ids.push(format!("… ({} in all)", stuck.len()));
            }
            let msg = format!(
                "isolate {} timed out inside a built-in that V8 cannot stop (or its thread got no CPU); it runs on until it returns",
                ids.join(", ")
            );
            if s.message != msg {
                s.message = msg;
                return true;
            }
        }
        changed
    }

    pub fn on_system(&mut self, sample: SystemSample) {
        self.state.live.system = sample;
    }
}
