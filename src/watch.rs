//! File watching: notify events for the watched path, as plain paths on a
//! channel. Debouncing happens in the event loop, which owns time.

use std::path::{Path, PathBuf};

use crossbeam_channel::Sender;
use notify::{RecursiveMode, Watcher};

/// Keeps the watcher alive; dropping it stops watching.
pub struct Watch {
    _watcher: notify::RecommendedWatcher,
}

/// Watches `root` (a directory, or a file's directory) and sends the paths
/// that changed.
pub fn watch(root: &Path, tx: Sender<Vec<PathBuf>>) -> anyhow::Result<Watch> {
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
    Ok(Watch { _watcher: watcher })
}
