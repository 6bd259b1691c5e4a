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
        if let Ok(ev) = res
            && !matches!(ev.kind, notify::EventKind::Access(_))
        {
            let _ = tx.send(ev.paths);
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(Watch { _watcher: watcher })
}
