//! The JavaScript files the playground lists: a walk of the root's folders,
//! bounded so that pointing the playground at a home directory or a
//! project with a huge `node_modules` stays quick (it runs again after
//! every change on disk) and cannot loop through symlinks. What the bounds
//! left out is said, never silently dropped. After the first, walks run on
//! their own thread ([`Walker`]): the UI loop asks for one and takes its
//! result as an event, answering keys meanwhile.
//!
//! The folders walked are returned too: the watcher watches exactly those
//! (see `watch::Watch::watch_dirs`), so a file saved in a subfolder reloads
//! like one at the top.

use std::path::{Path, PathBuf};
use std::time::Instant;

/// At most this many files are listed.
pub const MAX_FILES: usize = 2_000;
/// Folders nested deeper than this below the root are not looked into.
pub const MAX_DEPTH: usize = 8;
/// At most this many directory entries are looked at in one walk (files
/// of any kind and folders), so a huge tree costs a bounded time (~50 ms
/// for this many with the tree in the page cache, on the walker's thread
/// after each change on disk).
pub const MAX_ENTRIES: usize = 20_000;

/// Folder names never walked into: dependencies and build output.
pub const SKIPPED_DIRS: &[&str] = &["node_modules", "target"];

/// One walk's result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// `.js` / `.mjs` files, sorted by path (so `lib/util.js` sits between
    /// `hello.js` and `throws.js`).
    pub files: Vec<PathBuf>,
    /// The folders walked, the root's first (the file's folder when the
    /// root is a file), as reached from the root (not canonicalized).
    pub dirs: Vec<PathBuf>,
    /// What a bound left out, as a person reads it; None when nothing was.
    pub cut: Option<String>,
}

/// `path` (found under `root`, or `root` itself) as a person reads it:
/// relative to the root (`lib/util.js`), or the file's name when the root
/// is that file. Messages, the editor and error locations all use it.
pub fn name_under(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
    }
}

/// A file the playground runs.
pub fn is_js(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("js" | "mjs"))
}

/// Hidden folders, dependencies and build output are not walked into.
fn skipped_dir(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_DIRS.contains(&name)
}

/// The JavaScript files under `root` (or `root` itself when it is a file),
/// walking subfolders to [`MAX_DEPTH`] and following symlinks (a link back
/// to a folder being walked is skipped), listing at most [`MAX_FILES`]
/// after looking at at most [`MAX_ENTRIES`] entries. Unreadable folders
/// are skipped (and logged).
pub fn scan(root: &Path) -> Scan {
    if root.is_file() {
        let dir = root
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        return Scan {
            files: vec![root.to_path_buf()],
            dirs: vec![dir],
            cut: None,
        };
    }
    let mut out = Scan::default();
    let mut cuts: Vec<String> = Vec::new();
    let mut seen = 0usize;
    let walk = walkdir::WalkDir::new(root)
        .follow_links(true)
        .max_depth(MAX_DEPTH + 1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !e.file_type().is_dir()
                || !skipped_dir(&e.file_name().to_string_lossy())
        });
    for entry in walk {
        seen += 1;
        if seen > MAX_ENTRIES {
            // The first thing to say: the rest of the tree was not looked at.
            cuts.insert(0, format!("stopped after {MAX_ENTRIES} entries"));
            break;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                // A symlink loop or an unreadable folder: skip it.
                tracing::debug!(error = %e, "skipped while listing files");
                continue;
            }
        };
        if entry.file_type().is_dir() {
            if entry.depth() > MAX_DEPTH {
                if !cuts.iter().any(|c| c.contains("levels")) {
                    cuts.push(format!("folders over {MAX_DEPTH} levels deep left out"));
                }
                continue;
            }
            out.dirs.push(entry.into_path());
        } else if entry.file_type().is_file() && is_js(entry.path()) {
            if out.files.len() == MAX_FILES {
                cuts.push(format!("the first {MAX_FILES} files listed"));
                break;
            }
            out.files.push(entry.into_path());
        }
    }
    out.files.sort();
    if !cuts.is_empty() {
        out.cut = Some(cuts.join("; "));
    }
    out
}

/// A walk's result, with when it ran.
#[derive(Clone, Debug)]
pub struct Walked {
    pub scan: Scan,
    /// The last request (see [`Walker::request`]) this walk answers: every
    /// one up to it was made before the walk began.
    pub answers: u64,
    pub started: Instant,
    pub finished: Instant,
}

/// A thread that walks the root when asked ([`Walker::request`]) and
/// sends each [`Walked`] on [`Walker::results`], which the UI loop awaits.
/// Requests made while a walk runs are served by one walk after it (a
/// burst of changes costs two walks, not one each). The thread ends when
/// the walker is dropped.
pub struct Walker {
    requests: flume::Sender<u64>,
    pub results: flume::Receiver<Walked>,
    /// The last request's number (from 1).
    asked: u64,
}

impl Walker {
    /// Starts the thread for `root`; fails only when no thread can start.
    pub fn spawn(root: PathBuf) -> std::io::Result<Walker> {
        let (requests, asked) = flume::unbounded::<u64>();
        let (done, results) = flume::unbounded();
        std::thread::Builder::new()
            .name("file walk".into())
            .spawn(move || {
                while let Ok(mut answers) = asked.recv() {
                    // Everything asked so far is answered by this walk.
                    for n in asked.try_iter() {
                        answers = answers.max(n);
                    }
                    let started = Instant::now();
                    let scan = scan(&root);
                    let walked = Walked {
                        scan,
                        answers,
                        started,
                        finished: Instant::now(),
                    };
                    if done.send(walked).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Walker {
            requests,
            results,
            asked: 0,
        })
    }

    /// Asks for a walk (never blocks); returns the request's number, which
    /// the walk that answers it carries in [`Walked::answers`].
    pub fn request(&mut self) -> u64 {
        self.asked += 1;
        // The thread ended only if it panicked, which the panic hook reports.
        let _ = self.requests.send(self.asked);
        self.asked
    }

    /// The last request's number (0 before any).
    pub fn asked(&self) -> u64 {
        self.asked
    }
}
