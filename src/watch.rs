//! File watching and the debounce in front of reloads.
//!
//! [`watch`] turns notify events under the watched path into plain path
//! lists on a channel the UI loop awaits. [`Debounce`] decides when a burst
//! of them is acted on: after a quiet period, or at the latest a maximum
//! wait after the burst began, so a file rewritten 100 times a second still
//! reloads a few times a second instead of never. It is pure (the caller
//! passes the time), so tests drive it with made-up instants.
//!
//! A burst released by its maximum wait is one whose writes are still
//! going on: a file read then may be half-written (truncated, not yet
//! written again). [`FileRead`] and [`stable`] decide whether such a read
//! can be used: the same bytes and modification time read again a moment
//! later ([`STABLE_AFTER`]). A burst released after its quiet period is
//! read once, as it is (a file emptied and left alone loads as empty).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

/// Keeps the watcher alive; dropping it stops watching.
pub struct Watch {
    watcher: notify::RecommendedWatcher,
    /// Directories watched, the root's first (canonical paths).
    dirs: Vec<PathBuf>,
    /// Subfolders watched because the file list walked them: (as walked,
    /// canonical).
    walked: Vec<(PathBuf, PathBuf)>,
}

impl Watch {
    /// Watches exactly the folders the file list walked (see
    /// `files::scan`), each non-recursively: new ones are added, ones no
    /// longer walked (deleted, or now out of bounds) are dropped. Folders
    /// are watched by the path they were reached by, so events name files
    /// as the list does. Returns whether a folder was added: a file made in
    /// it before its watch began is only seen by listing again.
    pub fn watch_dirs(&mut self, dirs: &[PathBuf]) -> bool {
        let watcher = &mut self.watcher;
        self.walked.retain(|(p, _)| {
            let keep = dirs.contains(p);
            if !keep {
                // Gone from disk: the kernel dropped the watch already.
                let _ = watcher.unwatch(p);
            }
            keep
        });
        let mut added = false;
        for d in dirs {
            if self.walked.iter().any(|(p, _)| p == d) {
                continue;
            }
            let canon = d.canonicalize().unwrap_or_else(|_| d.clone());
            if self.dirs.contains(&canon) || self.walked.iter().any(|(_, c)| *c == canon) {
                continue;
            }
            match self.watcher.watch(d, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    tracing::debug!(dir = %d.display(), "watching a subfolder");
                    added = true;
                    self.walked.push((d.clone(), canon));
                }
                Err(e) => {
                    tracing::warn!(dir = %d.display(), error = %e, "cannot watch a subfolder")
                }
            }
        }
        added
    }

    /// Also watches the directory of each symlink's target among `files`
    /// (once each), so a change to the target is seen: notify reports it
    /// under the target's path, which the playground compares by canonical
    /// path. A directory that can't be watched is logged and skipped.
    pub fn follow_links<'a>(&mut self, files: impl IntoIterator<Item = &'a Path>) {
        for f in files {
            let is_link = std::fs::symlink_metadata(f).is_ok_and(|m| m.file_type().is_symlink());
            if !is_link {
                continue;
            }
            let Some(dir) = f
                .canonicalize()
                .ok()
                .and_then(|t| t.parent().map(Path::to_path_buf))
            else {
                continue;
            };
            if self.dirs.contains(&dir) || self.walked.iter().any(|(_, c)| *c == dir) {
                continue;
            }
            match self.watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    tracing::debug!(dir = %dir.display(), link = %f.display(), "watching a link's target")
                }
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot watch a link's target")
                }
            }
            self.dirs.push(dir);
        }
    }
}

/// Watches `root` (a directory, or a file's directory) and sends the paths
/// that changed. The sender never blocks (the channel is unbounded).
pub fn watch(root: &Path, tx: flume::Sender<Vec<PathBuf>>) -> anyhow::Result<Watch> {
    let dir = if root.is_dir() {
        root.to_path_buf()
    } else {
        root.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    };
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        match res {
            Ok(ev) if !matches!(ev.kind, notify::EventKind::Access(_)) => {
                let _ = tx.send(ev.paths);
            }
            Ok(_) => {}
            // The playground keeps going on what it has; the log says why
            // a change on disk may not have shown up.
            Err(e) => tracing::warn!(error = %e, paths = ?e.paths, "file watcher error"),
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    tracing::debug!(dir = %dir.display(), "watching");
    let dirs = vec![dir.canonicalize().unwrap_or(dir)];
    Ok(Watch {
        watcher,
        dirs,
        walked: Vec::new(),
    })
}

/// A burst of file events, released by [`Debounce::take_due`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Every path seen in the burst, once each, in the order first seen.
    pub paths: Vec<PathBuf>,
    /// When the burst's first event arrived (reload latency counts from here).
    pub first_seen: Instant,
    /// Released after its quiet period (true), or by its maximum wait
    /// while events kept coming (false: files may be mid-write; read them
    /// with [`stable`]).
    pub settled: bool,
}

/// How long after a read during a write storm a file is read again to
/// confirm it: longer than a writer's gap between truncating a file and
/// writing it again, short enough to leave most versions of a file
/// rewritten 100 times a second confirmable.
pub const STABLE_AFTER: Duration = Duration::from_millis(5);

/// One read of a file: its bytes and modification time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRead {
    pub bytes: Vec<u8>,
    /// None where the platform has no modification times.
    pub modified: Option<std::time::SystemTime>,
}

impl FileRead {
    /// Reads `path` (the time first, so a write during the read shows as
    /// a changed time on the next read).
    pub fn of(path: &Path) -> std::io::Result<FileRead> {
        let modified = std::fs::metadata(path)?.modified().ok();
        let bytes = std::fs::read(path)?;
        Ok(FileRead { bytes, modified })
    }
}

/// Whether a file read during a write storm (`first`) can be used, given
/// a read [`STABLE_AFTER`] later (`again`): only when nothing changed in
/// between, bytes or time. A half-written file (emptied, or partly written,
/// by a writer still at it) is changed again within that time; a file
/// that truly is empty reads empty both times.
pub fn stable(first: &FileRead, again: &FileRead) -> bool {
    first == again
}

/// Collects file events until they are due: `quiet` after the last event,
/// or `max_wait` after the first one of the burst, whichever comes first.
#[derive(Clone, Debug)]
pub struct Debounce {
    quiet: Duration,
    max_wait: Duration,
    paths: Vec<PathBuf>,
    /// (first, last) event of the pending burst.
    seen: Option<(Instant, Instant)>,
}

impl Debounce {
    /// `max_wait` below `quiet` is raised to it (a burst can't be due
    /// before its own quiet period could end).
    pub fn new(quiet: Duration, max_wait: Duration) -> Self {
        Debounce {
            quiet,
            max_wait: max_wait.max(quiet),
            paths: Vec::new(),
            seen: None,
        }
    }

    /// Records events for `paths` seen at `at`.
    pub fn push(&mut self, paths: impl IntoIterator<Item = PathBuf>, at: Instant) {
        for p in paths {
            if !self.paths.contains(&p) {
                self.paths.push(p);
            }
        }
        self.seen = Some(match self.seen {
            Some((first, last)) => (first, last.max(at)),
            None => (at, at),
        });
    }

    /// When the pending burst becomes due; None when nothing is pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.seen
            .map(|(first, last)| (last + self.quiet).min(first + self.max_wait))
    }

    /// The pending burst if it is due at `now` (and starts a new one).
    pub fn take_due(&mut self, now: Instant) -> Option<Batch> {
        if self.deadline()? > now {
            return None;
        }
        let (first, last) = self.seen.take()?;
        Some(Batch {
            paths: std::mem::take(&mut self.paths),
            first_seen: first,
            settled: now >= last + self.quiet,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn a_single_event_is_due_after_the_quiet_period() {
        let t0 = Instant::now();
        let mut d = Debounce::new(30 * MS, 500 * MS);
        assert_eq!(d.deadline(), None);
        assert_eq!(d.take_due(t0), None);
        d.push([p("a.js")], t0);
        assert_eq!(d.deadline(), Some(t0 + 30 * MS));
        assert_eq!(d.take_due(t0 + 29 * MS), None);
        let b = d.take_due(t0 + 30 * MS).expect("due");
        assert_eq!(b.paths, vec![p("a.js")]);
        assert_eq!(b.first_seen, t0);
        assert_eq!(d.deadline(), None, "nothing pending after a take");
    }

    #[test]
    fn events_in_the_quiet_period_push_the_deadline_and_merge() {
        let t0 = Instant::now();
        let mut d = Debounce::new(30 * MS, 500 * MS);
        d.push([p("a.js")], t0);
        d.push([p("b.js"), p("a.js")], t0 + 20 * MS);
        assert_eq!(d.take_due(t0 + 30 * MS), None);
        let b = d.take_due(t0 + 50 * MS).expect("due");
        assert_eq!(b.paths, vec![p("a.js"), p("b.js")]);
        assert_eq!(b.first_seen, t0);
    }

    /// A file rewritten every 10 ms never goes quiet: it is still released
    /// every `max_wait`, each batch timed from its own first event.
    #[test]
    fn a_write_storm_is_released_every_max_wait() {
        let t0 = Instant::now();
        let mut d = Debounce::new(30 * MS, 500 * MS);
        let mut released = Vec::new();
        for i in 0..200u32 {
            let now = t0 + i * 10 * MS;
            if let Some(b) = d.take_due(now) {
                released.push((now, b.first_seen));
            }
            d.push([p("storm.js")], now);
        }
        // 2 s of writes: released every 500 ms (the write at the moment of
        // a release starts the next burst).
        let at: Vec<u128> = released
            .iter()
            .map(|(now, _)| (*now - t0).as_millis())
            .collect();
        assert_eq!(at, vec![500, 1000, 1500]);
        for (now, first) in &released {
            assert!(*now - *first <= 500 * MS);
        }
    }

    #[test]
    fn a_batch_says_whether_its_writes_went_quiet() {
        let t0 = Instant::now();
        let mut d = Debounce::new(30 * MS, 100 * MS);
        d.push([p("a.js")], t0);
        assert!(d.take_due(t0 + 30 * MS).expect("due").settled);
        for i in 0..=10u32 {
            d.push([p("a.js")], t0 + 100 * MS + i * 10 * MS);
        }
        let b = d.take_due(t0 + 200 * MS).expect("due by max wait");
        assert!(!b.settled, "writes were still coming");
    }

    fn read(bytes: &[u8], at_ms: u64) -> FileRead {
        FileRead {
            bytes: bytes.to_vec(),
            modified: Some(std::time::UNIX_EPOCH + Duration::from_millis(at_ms)),
        }
    }

    /// A read during a storm is used only when a read a moment later
    /// finds the same bytes and time; an emptied file that stays empty
    /// is used (as empty).
    #[test]
    fn a_read_mid_storm_is_used_only_when_it_reads_the_same_again() {
        // Truncated by `echo … > file`, then written: not used.
        assert!(!stable(&read(b"", 10), &read(b"'v10'", 10)));
        // Partly written.
        assert!(!stable(&read(b"'v1", 10), &read(b"'v10'", 11)));
        // Rewritten with other text in between.
        assert!(!stable(&read(b"'v10'", 10), &read(b"'v11'", 20)));
        // The same text rewritten in between (a new time): not yet.
        assert!(!stable(&read(b"'v10'", 10), &read(b"'v10'", 20)));
        // Unchanged: used, an empty file too.
        assert!(stable(&read(b"'v10'", 10), &read(b"'v10'", 10)));
        assert!(stable(&read(b"", 10), &read(b"", 10)));
    }

    /// FileRead reads what is on disk; a write changes what it reads.
    #[test]
    fn file_reads_see_writes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let f = dir.path().join("a.js");
        std::fs::write(&f, "one").expect("write");
        let a = FileRead::of(&f).expect("read");
        assert!(stable(&a, &FileRead::of(&f).expect("read")));
        std::fs::write(&f, "").expect("write");
        let b = FileRead::of(&f).expect("read");
        assert_eq!(b.bytes, b"");
        assert!(!stable(&a, &b));
    }

    #[test]
    fn max_wait_is_never_below_quiet() {
        let t0 = Instant::now();
        let mut d = Debounce::new(100 * MS, 10 * MS);
        d.push([p("a.js")], t0);
        assert_eq!(d.deadline(), Some(t0 + 100 * MS));
    }
}
