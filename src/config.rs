//! The TOML config file: defaults for the engine flags and the UI. Flags
//! given on the command line win over the file; the file wins over defaults.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::{EngineConfig, Limits, Mode};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub engine: EngineSection,
    pub ui: UiSection,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSection {
    /// Isolates in the pool.
    pub isolates: usize,
    /// warm, context or cold.
    pub mode: Mode,
    /// Heap limit per isolate, MiB.
    pub heap_mb: usize,
    /// Wall-clock limit per invocation, ms.
    pub timeout_ms: u64,
    /// JSON passed to handlers as event.payload.
    pub payload: String,
}

impl Default for EngineSection {
    fn default() -> Self {
        let d = EngineConfig::default();
        EngineSection {
            isolates: d.isolates,
            mode: d.mode,
            heap_mb: d.limits.heap_bytes >> 20,
            timeout_ms: d.limits.timeout.as_millis() as u64,
            payload: d.payload,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiSection {
    /// Most frames drawn per second.
    pub fps: u32,
    /// Quiet period for file events before a reload, ms.
    pub debounce_ms: u64,
    /// Extra key bindings: key (e.g. "ctrl-r", "F5", "x") to action name.
    pub keys: std::collections::BTreeMap<String, String>,
}

impl Default for UiSection {
    fn default() -> Self {
        UiSection {
            fps: 30,
            debounce_ms: 30,
            keys: Default::default(),
        }
    }
}

impl Config {
    /// `<config dir>/isolate-play/config.toml` (e.g. ~/.config on Linux).
    pub fn default_path() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("isolate-play").join("config.toml"))
    }

    /// Loads `path`, or the default path when it exists, else defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => match Self::default_path() {
                Some(p) => (p, false),
                None => return Ok(Config::default()),
            },
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))
            }
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Config::default())
            }
            Err(e) => Err(anyhow::anyhow!(
                "cannot read config {}: {e}",
                path.display()
            )),
        }
    }

    /// The default config as TOML, for `--print-config`.
    pub fn default_toml() -> String {
        toml::to_string_pretty(&Config::default()).expect("the default config serializes")
    }

    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            isolates: self.engine.isolates,
            mode: self.engine.mode,
            limits: Limits {
                heap_bytes: self.engine.heap_mb << 20,
                external_bytes: EngineConfig::default().limits.external_bytes,
                timeout: std::time::Duration::from_millis(self.engine.timeout_ms),
            },
            payload: self.engine.payload.clone(),
            ..EngineConfig::default()
        }
    }
}
