//! The model the UI renders: data (files, results, counters, metrics) and
//! view state (focus, selection, overlays). Render reads it, never writes.

use std::path::PathBuf;
use std::time::Duration;

use ratatui::style::Style;

use super::action::{Pane, Setting};
use super::editor::Buffer;
use super::keymap::Overrides;
use crate::compare::{Row, RowStatus, Rung, Update};
use crate::engine::{
    Engine, ErrorKind, Invocation, Mode, ScriptError, Threads, WorkerSnapshot, WorkerState,
};
use crate::metrics::Percentiles;
use crate::system::SystemSample;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileEntry {
    pub path: PathBuf,
    /// As shown and as named in errors.
    pub name: String,
    /// Its last run failed.
    pub failing: bool,
    /// Changed on disk since it was last loaded (files not open).
    pub changed_on_disk: bool,
}

/// The file in the editor.
#[derive(Clone, Debug, Default)]
pub struct OpenFile {
    pub path: PathBuf,
    pub name: String,
    pub buffer: Buffer,
    /// The text on disk as last loaded or saved.
    pub saved_text: String,
    /// Disk changed while the buffer had unsaved edits.
    pub disk_conflict: bool,
    /// The file is gone from disk (the buffer keeps the text).
    pub deleted: bool,
}

impl OpenFile {
    pub fn unsaved(&self) -> bool {
        // Compared in place: joining a 10 MB buffer every frame cost a
        // keystroke 34–66 ms.
        self.deleted || !self.buffer.is_text(&self.saved_text)
    }
}

/// What one isolate last reported.
#[derive(Clone, Debug, Default)]
pub struct IsolateResults {
    pub last: Option<Invocation>,
    /// The last successful result and its version, kept when a later version
    /// fails so it can be shown as stale.
    pub last_ok: Option<(u64, String)>,
    /// The isolate that reported `last` was replaced since (a switch of
    /// thread model): `last` is shown as from before the switch until the
    /// new isolate reports.
    pub replaced: bool,
}

/// Where the error of the version that ran points in the edited buffer.
#[derive(Clone, Copy, Debug)]
pub struct ErrorMarker<'a> {
    pub error: &'a ScriptError,
    /// The line (1-based) in the text that ran.
    pub ran_line: usize,
    /// The same line (1-based) in the buffer now: mapped through the edits
    /// when they are all above it or all below it and the line itself is
    /// unchanged; None when it cannot be told exactly (the line was
    /// edited, or edits surround it).
    pub line: Option<usize>,
}

/// Line `line` (1-based) of `ran` in `now`, when that is exact: the line
/// and everything on one side of it are unchanged, so every edit lies on
/// the other side. One pass over the lines, no copy of the text.
pub fn map_line(ran: &str, now: &Buffer, line: usize) -> Option<usize> {
    let idx = line.checked_sub(1)?;
    fn strip(l: &str) -> &str {
        l.strip_suffix('\r').unwrap_or(l)
    }
    let ran_len = ran.bytes().filter(|&b| b == b'\n').count() + 1;
    let now_len = now.lines.len();
    if idx >= ran_len {
        return None;
    }
    // Unchanged up to and including the line: the edits are below it.
    if idx < now_len
        && ran
            .split('\n')
            .take(idx + 1)
            .zip(now.lines.iter())
            .all(|(a, b)| strip(a) == b.as_str())
    {
        return Some(line);
    }
    // Unchanged from the line to the end: the edits are above it.
    let from_end = ran_len - idx;
    if from_end <= now_len
        && ran
            .rsplit('\n')
            .take(from_end)
            .zip(now.lines.iter().rev())
            .all(|(a, b)| strip(a) == b.as_str())
    {
        return Some(now_len - from_end + 1);
    }
    None
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    QuitUnsaved,
    SwitchUnsaved(usize),
    OverwriteDisk,
}

/// A value being typed in a prompt: a number of isolates, the payload,
/// the timeout or the heap limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValueEntry {
    pub setting: Setting,
    pub text: String,
    /// Why the last Enter was refused (the prompt stays open, the text
    /// kept).
    pub error: Option<String>,
}

impl ValueEntry {
    /// An empty prompt for `setting` (the payload's starts with the
    /// current payload, to edit, unless that is the default `null`, which
    /// typed JSON would be appended to).
    pub fn new(setting: Setting, s: &State) -> ValueEntry {
        ValueEntry {
            setting,
            text: match setting {
                Setting::Payload if s.engine.payload.trim() != "null" => s.engine.payload.clone(),
                _ => String::new(),
            },
            error: None,
        }
    }

    /// Most characters the text takes (long enough for any mistake worth
    /// showing in a number; a payload of a few lines).
    pub fn max_chars(&self) -> usize {
        match self.setting {
            Setting::Payload => 4096,
            _ => 12,
        }
    }
}

/// How isolates get threads, and what the executor threads did in the last
/// [`THREADS_WINDOW`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadsLive {
    pub model: Threads,
    /// None until a whole window has been measured in this model.
    pub window: Option<ThreadsWindow>,
}

/// Window of the threads line: readings of the engine's cumulative thread
/// and isolate counters this far apart are turned into rates.
pub const THREADS_WINDOW: Duration = Duration::from_secs(1);

/// One window's numbers; a field that nothing measured is empty / None.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadsWindow {
    /// Pool threads of the current model seen at both ends of the window,
    /// by id: the share of the window each spent running slices (0..=1).
    pub busy: Vec<f64>,
    /// CPU time the isolates used over the window, in cores (1.0 = one
    /// core all the time); None when no isolate was seen at both ends.
    pub cpu: Option<f64>,
    /// Isolate switches (slices taken off the ready queue) per second by
    /// the current model's threads; None when no thread was seen at both ends.
    pub switches: Option<f64>,
    /// How long ready isolates waited for a thread (count 0: none waited).
    pub queue_wait: Percentiles,
    /// CPU per call: isolate CPU time over calls completed; None without calls.
    pub cpu_per_call: Option<Duration>,
    /// Threads parked for good with an isolate V8 gave up on.
    pub parked: usize,
}

/// Counts over all isolates, taken with their snapshots (the table shows a
/// screenful of rows; this is the rest).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IsolatesSummary {
    pub running: usize,
    pub idle: usize,
    pub starting: usize,
    pub recycling: usize,
    pub stopped: usize,
    /// Waiting in the pool's queue for a thread.
    pub queued: usize,
    pub errors: u64,
    pub recycles: u64,
}

impl IsolatesSummary {
    pub fn of(snapshots: &[WorkerSnapshot]) -> Self {
        let mut s = IsolatesSummary::default();
        for w in snapshots {
            match w.state {
                WorkerState::Running => s.running += 1,
                WorkerState::Idle => s.idle += 1,
                WorkerState::Starting => s.starting += 1,
                WorkerState::Recycling => s.recycling += 1,
                WorkerState::Stopped => s.stopped += 1,
                WorkerState::Queued => s.queued += 1,
            }
            s.errors += w.errors;
            s.recycles += w.recycles;
        }
        s
    }
}

/// syntect output for some lines of one buffer revision: per line, styled
/// pieces that together are the line's whole text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Highlighted {
    /// Index (0-based) of the first line in `lines`.
    pub first: usize,
    pub lines: Vec<Vec<(Style, String)>>,
}

impl Highlighted {
    /// The styled pieces of line `i` (0-based), if it was highlighted.
    pub fn line(&self, i: usize) -> Option<&[(Style, String)]> {
        let k = i.checked_sub(self.first)?;
        self.lines.get(k).map(Vec::as_slice)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Live {
    /// Invocations per second over `metrics::RATE_WINDOW`.
    pub rate: f64,
    /// The span `rate` was measured over (None: not measured yet).
    pub rate_window: Option<Duration>,
    pub latency: Percentiles,
    /// The span `latency` covers (None: no call timed in it).
    pub latency_window: Option<Duration>,
    /// Share of the window's invocations that `latency` timed (0..=1).
    pub timed_share: f64,
    pub cold_start: Percentiles,
    /// Invocations per second, one value per second, oldest first.
    pub history: Vec<u64>,
    pub system: SystemSample,
    /// Invocations this session; only grows (removed isolates' runs stay).
    pub total_invocations: u64,
}

/// What the engine is set to, read from it in one place
/// ([`EngineStatus::read`]) after every change, never copied field by field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineStatus {
    pub mode: Mode,
    pub isolates: usize,
    /// Heap limit per isolate, bytes.
    pub heap_limit: u64,
    /// External-memory budget per isolate (bytes), for rows that have not
    /// reported theirs yet.
    pub external_limit: u64,
    /// Continuous load is on.
    pub loading: bool,
    /// Engine version of the current source (0 before any).
    pub version: u64,
    /// Wall-clock limit per invocation.
    pub timeout: Duration,
    /// The JSON handlers get as `event.payload`.
    pub payload: String,
    /// Snapshot mode: the newest blob's build, once one finished.
    pub snapshot: Option<SnapshotStatus>,
}

/// A snapshot build, as the Throughput pane shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotStatus {
    /// The engine version it was built for.
    pub version: u64,
    /// Wall time of the build (a child process), ms.
    pub build_ms: u64,
    /// The blob's size in bytes, or why there is none (calls then run as
    /// plain cold isolates).
    pub blob: Result<u64, String>,
}

impl SnapshotStatus {
    /// The engine's newest build, in snapshot mode only.
    pub fn read(e: &Engine) -> Option<SnapshotStatus> {
        if e.mode() != Mode::Snapshot {
            return None;
        }
        e.snapshot_info().map(|i| SnapshotStatus {
            version: i.version,
            build_ms: (i.build_s * 1e3).round() as u64,
            blob: match (i.blob_bytes, i.failure) {
                (Some(b), _) => Ok(b as u64),
                (None, why) => Err(why.unwrap_or_else(|| "not built".into())),
            },
        })
    }
}

impl EngineStatus {
    pub fn read(e: &Engine) -> EngineStatus {
        EngineStatus {
            mode: e.mode(),
            isolates: e.isolates(),
            heap_limit: e.config().limits.heap_bytes as u64,
            external_limit: e.config().limits.external_bytes as u64,
            loading: e.is_loading(),
            version: e.source().map_or(0, |s| s.version),
            timeout: e.config().limits.timeout,
            payload: e.config().payload.clone(),
            snapshot: SnapshotStatus::read(e),
        }
    }
}

/// The ladder view (`l` in the panes, F10 anywhere): whether it is open,
/// where it is scrolled, and the comparison it shows (kept when it is
/// closed after finishing, so opening it again on the same version shows
/// the same figures).
#[derive(Clone, Debug, Default)]
pub struct LadderView {
    pub open: bool,
    /// The first rung shown when the screen is too short for all (the
    /// view clamps it).
    pub scroll: usize,
    pub run: Option<LadderRun>,
}

/// One comparison of one version of one file, as far as it got.
#[derive(Clone, Debug)]
pub struct LadderRun {
    /// Tells this run's updates from a cancelled earlier one's.
    pub id: u64,
    /// The file as the playground names it (relative to the root).
    pub file: String,
    /// The engine version of the text measured (the text last saved or
    /// loaded).
    pub version: u64,
    /// The editor had unsaved edits when the run started: they are not in
    /// the figures.
    pub unsaved: bool,
    /// Calls in flight at once in every row.
    pub concurrency: usize,
    pub rounds: u32,
    /// Measured wall time per row, split over the rounds.
    pub duration: Duration,
    /// One row per rung, in [`Rung::ALL`] order.
    pub rows: Vec<Row>,
    /// The round running (from 1) and how many there are; None before the
    /// first starts.
    pub round: Option<(u32, u32)>,
    pub outcome: LadderOutcome,
}

/// How a [`LadderRun`] stands.
#[derive(Clone, Debug, PartialEq)]
pub enum LadderOutcome {
    Running,
    /// Every round done: the whole comparison's wall time (s) and the
    /// machine it ran on.
    Done {
        seconds: f64,
        machine: String,
    },
    /// The comparison could not run at all (rows that could not are
    /// [`RowStatus::Unavailable`] instead): the error, one line.
    Failed(String),
    /// Cancelled before the end (the view was closed): the rows keep what
    /// they measured.
    Stopped,
}

impl LadderRun {
    /// A run about to start: every rung pending, labelled and with its
    /// lesson (the comparison's own rows replace these as they come).
    pub fn new(
        id: u64,
        file: String,
        version: u64,
        options: &crate::compare::Options,
    ) -> LadderRun {
        LadderRun {
            id,
            file,
            version,
            unsaved: false,
            concurrency: options.concurrency,
            rounds: options.rounds,
            duration: options.duration,
            rows: Rung::ALL.iter().map(|&r| Row::pending(r)).collect(),
            round: None,
            outcome: LadderOutcome::Running,
        }
    }

    /// The row's new figures in its rung's place; a label or lesson the
    /// comparison left empty keeps the one shown.
    pub fn set_row(&mut self, mut row: Row) {
        let Some(at) = self.rows.iter().position(|r| r.rung == row.rung) else {
            self.rows.push(row);
            return;
        };
        let old = &self.rows[at];
        if row.label.trim().is_empty() {
            row.label = old.label.clone();
        }
        if row.lesson.trim().is_empty() {
            row.lesson = old.lesson.clone();
        }
        self.rows[at] = row;
    }

    /// One update from the running comparison.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Row(row) => self.set_row(*row),
            Update::Round { round, rounds } => self.round = Some((round, rounds)),
        }
    }

    /// The comparison ended: its final rows, or why it could not run.
    pub fn finish(&mut self, result: Result<crate::compare::Ladder, String>) {
        match result {
            Ok(ladder) => {
                for row in ladder.rows {
                    self.set_row(row);
                }
                self.concurrency = ladder.concurrency;
                self.rounds = ladder.rounds;
                self.outcome = LadderOutcome::Done {
                    seconds: ladder.seconds,
                    machine: ladder.machine,
                };
            }
            Err(e) => self.outcome = LadderOutcome::Failed(e),
        }
    }

    /// Still measuring.
    pub fn running(&self) -> bool {
        self.outcome == LadderOutcome::Running
    }

    /// Cancelled: rows still pending or running say so.
    pub fn stop(&mut self) {
        if self.running() {
            self.outcome = LadderOutcome::Stopped;
        }
    }

    /// Rows with every round measured.
    pub fn measured(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.status == RowStatus::Measured)
            .count()
    }
}

#[derive(Clone, Debug)]
pub struct State {
    pub root: PathBuf,
    pub files: Vec<FileEntry>,
    pub selected_file: usize,
    pub open: Option<OpenFile>,
    pub focus: Pane,
    pub help: bool,
    pub prompt: Option<Prompt>,
    /// The prompt for a typed value, while open.
    pub entry: Option<ValueEntry>,
    /// The filter over the file list while one is typed (`/`): the list
    /// shows the files whose path (relative to the root) contains it,
    /// ignoring case.
    pub filter: Option<String>,
    /// What the file list's bounds left out (None: nothing was).
    pub files_cut: Option<String>,
    /// Help's first line shown (it scrolls when taller than the screen).
    pub help_scroll: usize,
    /// The config's `[ui.keys]`, listed in help.
    pub overrides: Overrides,
    pub engine: EngineStatus,
    pub threads: ThreadsLive,
    pub results: Vec<IsolateResults>,
    pub snapshots: Vec<WorkerSnapshot>,
    /// Over `snapshots`, taken with them.
    pub summary: IsolatesSummary,
    /// Isolates V8 gave up on (over the live workers), taken with the snapshots.
    pub abandoned: u64,
    pub selected_isolate: usize,
    pub live: Live,
    /// One line for the status bar (errors, hints, what just happened).
    pub message: String,
    /// From a file change on disk to its first result on screen.
    pub reload_latency: Option<Duration>,
    /// From a key press to the frame that shows it.
    pub input_latency: Option<Duration>,
    pub highlight: Option<(u64, Highlighted)>,
    pub quit: bool,
    /// The version `reload_latency` was measured on: the line is shown only
    /// while that version is current.
    pub reload_version: Option<u64>,
    /// Rows the Results pane's scrolling part is scrolled down by.
    pub results_scroll: usize,
    /// The terminal's size (columns, rows) at the last draw; (0, 0) before
    /// it. Scrolling clamps with it (a page is what the pane shows).
    pub screen: (u16, u16),
    /// The isolation ladder (`l`, F10).
    pub ladder: LadderView,
}

/// Isolates whose current-version results are the same, for the "at a
/// glance" line: `HelloWorld ×498 · timed out ×2 (#17, #301)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The result as the engine formatted it, a short name for a limit
    /// stop (`timed out`), or the error's first line.
    pub label: String,
    pub kind: GroupKind,
    pub count: usize,
    /// The first few isolate ids, ascending (at most [`GROUP_IDS`]).
    pub ids: Vec<usize>,
}

/// What a [`Group`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKind {
    Ok,
    Failed,
    /// No result of the current version in the current mode yet.
    Pending,
}

/// Isolate ids kept per group (the rest are counted).
pub const GROUP_IDS: usize = 3;

/// A short name for an error, the same for every isolate that hit it.
pub fn error_label(e: &ScriptError) -> String {
    match e.kind {
        ErrorKind::Timeout => "timed out".into(),
        ErrorKind::CpuLimit => "CPU limit".into(),
        ErrorKind::HeapLimit => "heap limit".into(),
        ErrorKind::ExternalLimit => "external-memory limit".into(),
        _ => e.message.lines().next().unwrap_or("error").to_string(),
    }
}

impl State {
    pub fn new(root: PathBuf, mode: Mode, isolates: usize, heap_limit: u64) -> Self {
        State {
            root,
            files: Vec::new(),
            selected_file: 0,
            open: None,
            focus: Pane::Files,
            help: false,
            prompt: None,
            entry: None,
            filter: None,
            files_cut: None,
            help_scroll: 0,
            overrides: Overrides::default(),
            engine: EngineStatus {
                mode,
                isolates,
                heap_limit,
                external_limit: 64 << 20,
                loading: false,
                version: 0,
                timeout: Duration::from_secs(1),
                payload: "null".into(),
                snapshot: None,
            },
            threads: ThreadsLive::default(),
            results: Vec::new(),
            snapshots: Vec::new(),
            summary: IsolatesSummary::default(),
            abandoned: 0,
            selected_isolate: 0,
            live: Live::default(),
            message: String::new(),
            reload_latency: None,
            input_latency: None,
            highlight: None,
            quit: false,
            reload_version: None,
            results_scroll: 0,
            screen: (0, 0),
            ladder: LadderView::default(),
        }
    }

    /// The isolates' current results ([`State::is_current`]) grouped by equal value or
    /// error, largest group first; isolates without one form a pending
    /// group. One pass over the isolates.
    pub fn result_groups(&self) -> Vec<Group> {
        use std::borrow::Cow;
        use std::hash::{Hash, Hasher};
        // Runs every frame over every isolate, and a result may be 64 KiB:
        // buckets are keyed by the label's length and its ends only, and a
        // label joins a group when it equals the group's first one (a
        // memcmp, not a hash of every byte).
        fn bucket_key(kind: GroupKind, label: &str) -> (GroupKind, usize, u64) {
            let b = label.as_bytes();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            b[..b.len().min(64)].hash(&mut h);
            b[b.len().saturating_sub(64)..].hash(&mut h);
            (kind, b.len(), h.finish())
        }
        let mut buckets: std::collections::HashMap<(GroupKind, usize, u64), Vec<usize>> =
            std::collections::HashMap::new();
        let mut groups: Vec<(Group, Cow<'_, str>)> = Vec::new();
        for (id, r) in self.results.iter().enumerate() {
            let (kind, label) = match r.last.as_ref().filter(|i| self.is_current(i)) {
                None => (GroupKind::Pending, Cow::Borrowed("")),
                Some(i) => match &i.outcome {
                    Ok(v) => (GroupKind::Ok, Cow::Borrowed(v.as_str())),
                    Err(e) => (GroupKind::Failed, Cow::Owned(error_label(e))),
                },
            };
            let bucket = buckets.entry(bucket_key(kind, &label)).or_default();
            let g = match bucket.iter().copied().find(|&g| groups[g].1 == label) {
                Some(g) => g,
                None => {
                    bucket.push(groups.len());
                    groups.push((
                        Group {
                            label: String::new(),
                            kind,
                            count: 0,
                            ids: Vec::new(),
                        },
                        label,
                    ));
                    groups.len() - 1
                }
            };
            let g = &mut groups[g].0;
            g.count += 1;
            if g.ids.len() < GROUP_IDS {
                g.ids.push(id);
            }
        }
        let mut groups: Vec<Group> = groups
            .into_iter()
            .map(|(mut g, label)| {
                g.label = label.into_owned();
                g
            })
            .collect();
        groups.sort_by(|a, b| {
            (a.kind == GroupKind::Pending)
                .cmp(&(b.kind == GroupKind::Pending))
                .then(b.count.cmp(&a.count))
                .then(a.ids.cmp(&b.ids))
        });
        groups
    }

    /// Whether isolate `i`'s current-version result is an error.
    pub fn is_failing(&self, i: usize) -> bool {
        self.results.get(i).is_some_and(|r| {
            r.last
                .as_ref()
                .is_some_and(|l| self.is_current(l) && l.outcome.is_err())
        })
    }

    /// Selects the next isolate (after the selected one, wrapping) whose
    /// current-version result is an error and scrolls its results to the
    /// top; returns it, or None when none is (the selection stays).
    pub fn select_next_failing(&mut self) -> Option<usize> {
        let n = self.results.len();
        let next = (1..=n)
            .map(|k| (self.selected_isolate + k) % n)
            .find(|&i| self.is_failing(i))?;
        self.selected_isolate = next;
        self.results_scroll = 0;
        Some(next)
    }

    /// Scrolls the Results pane's console (and a result too long to pin)
    /// by `delta` rows, clamped to what there is; `isize::MIN` / `MAX` go
    /// to the top / the end.
    pub fn scroll_results(&mut self, delta: isize) {
        let max = super::view::results_scroll_max(self);
        let now = self.results_scroll.min(max) as isize;
        self.results_scroll = now.saturating_add(delta).clamp(0, max as isize) as usize;
    }

    /// Rows a page up / down scrolls the Results pane by.
    pub fn results_page(&self) -> isize {
        super::view::results_page(self).max(1) as isize
    }

    /// Every isolate was replaced (a switch of thread model): the results
    /// they reported are from before the switch until their successors
    /// report.
    pub fn isolates_replaced(&mut self) {
        for r in &mut self.results {
            r.replaced = r.last.is_some();
        }
    }

    /// New isolate snapshots and what is counted over them.
    pub fn set_snapshots(&mut self, snapshots: Vec<WorkerSnapshot>) {
        self.summary = IsolatesSummary::of(&snapshots);
        self.abandoned = snapshots.iter().map(|w| w.abandoned).sum();
        self.snapshots = snapshots;
    }

    /// The files the list shows, as indexes into `files`: those matching
    /// the filter, or all.
    pub fn shown_files(&self) -> Vec<usize> {
        match self.filter.as_deref() {
            None | Some("") => (0..self.files.len()).collect(),
            Some(f) => {
                let f = f.to_lowercase();
                self.files
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| {
                        super::view::shown_path(self, &e.path)
                            .to_lowercase()
                            .contains(&f)
                    })
                    .map(|(i, _)| i)
                    .collect()
            }
        }
    }

    /// Moves the file selection by `delta` rows among the files shown,
    /// clamped; `isize::MIN` / `MAX` go to the first / last. With nothing
    /// shown the selection stays.
    pub fn move_file(&mut self, delta: isize) {
        let shown = self.shown_files();
        if shown.is_empty() {
            return;
        }
        let at = shown
            .iter()
            .position(|&i| i == self.selected_file)
            .unwrap_or(0) as isize;
        let to = at.saturating_add(delta).clamp(0, shown.len() as isize - 1);
        self.selected_file = shown[to as usize];
    }

    /// After the filter changed: the selection stays when its file still
    /// matches, else goes to the first that does.
    pub fn refilter(&mut self) {
        let shown = self.shown_files();
        if !shown.contains(&self.selected_file)
            && let Some(&first) = shown.first()
        {
            self.selected_file = first;
        }
    }

    /// A prompt or overlay has the keys.
    pub fn modal(&self) -> bool {
        self.help || self.prompt.is_some() || self.entry.is_some() || self.ladder.open
    }

    /// The open file's lesson: its opening `//` comment lines (see
    /// [`super::lesson::of`]), as the editor has them now.
    pub fn lesson(&self) -> Option<String> {
        let open = self.open.as_ref()?;
        super::lesson::of(open.buffer.lines.iter().take(3).map(|l| l.as_str()))
    }

    /// Whether `inv` is a result of what runs now: the current version in
    /// the current mode.
    pub fn is_current(&self, inv: &Invocation) -> bool {
        inv.version == self.engine.version && inv.mode == self.engine.mode
    }

    /// The error that marks a line in the editor: from the current version,
    /// pointing into the open file (the selected isolate's, else the first
    /// isolate's that has one), with its line mapped into the edited buffer
    /// (see [`map_line`]; the text that ran is the one last saved or loaded,
    /// which is what the current version installed).
    pub fn error_marker(&self) -> Option<ErrorMarker<'_>> {
        let open = self.open.as_ref()?;
        let error = self
            .results
            .get(self.selected_isolate)
            .and_then(|r| self.open_file_error(r, open))
            .or_else(|| {
                self.results
                    .iter()
                    .find_map(|r| self.open_file_error(r, open))
            })?;
        let ran_line = error.location.as_ref()?.line as usize;
        let line = if open.unsaved() {
            map_line(&open.saved_text, &open.buffer, ran_line)
        } else {
            Some(ran_line)
        };
        Some(ErrorMarker {
            error,
            ran_line,
            line,
        })
    }

    fn open_file_error<'a>(
        &self,
        r: &'a IsolateResults,
        open: &OpenFile,
    ) -> Option<&'a ScriptError> {
        r.last
            .as_ref()
            .filter(|i| self.is_current(i))
            .and_then(|i| i.outcome.as_ref().err())
            .filter(|e| e.location.as_ref().is_some_and(|l| l.file == open.name))
    }

    /// The current version does not compile: results shown are stale.
    pub fn current_version_broken(&self) -> bool {
        self.results.iter().any(|r| {
            r.last.as_ref().is_some_and(|i| {
                self.is_current(i)
                    && matches!(&i.outcome, Err(e) if matches!(e.kind, ErrorKind::Syntax | ErrorKind::Module))
            })
        })
    }

    /// (ok, failed) among the isolates' latest results of the current
    /// version and mode.
    pub fn tally(&self) -> (usize, usize) {
        let mut t = (0, 0);
        for r in &self.results {
            if let Some(i) = r.last.as_ref().filter(|i| self.is_current(i)) {
                if i.outcome.is_ok() {
                    t.0 += 1;
                } else {
                    t.1 += 1;
                }
            }
        }
        t
    }
}
