//! The TOML config file: defaults for the engine flags and the UI. Flags
//! given on the command line win over the file; the file wins over defaults.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::{EngineConfig, Limits, Mode, Threads};

/// The allowed range of one numeric engine setting. The one place these
/// rules live: the flags' value parsers and [`Config::load`] both use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// The config key (`[engine]`); the flag is `--` and the key with dashes.
    pub key: &'static str,
    pub min: u64,
    pub max: u64,
}

/// Isolates.
pub const ISOLATES: Range = Range {
    key: "isolates",
    min: 1,
    max: 10_000,
};
/// Heap limit per isolate, MiB.
pub const HEAP_MB: Range = Range {
    key: "heap_mb",
    min: 4,
    max: 16384,
};
/// Budget for memory outside the V8 heap per isolate, MiB.
pub const EXTERNAL_MB: Range = Range {
    key: "external_mb",
    min: 1,
    max: 16384,
};
/// Wall-clock limit per invocation, ms (at most an hour).
pub const TIMEOUT_MS: Range = Range {
    key: "timeout_ms",
    min: 1,
    max: 3_600_000,
};

/// CPU-time limit per invocation, ms (0: none).
pub const CPU_MS: Range = Range {
    key: "cpu_ms",
    min: 0,
    max: 3_600_000,
};

/// The threads rule: a count, "cores" or "per-isolate".
pub fn parse_threads(text: &str) -> Result<Threads, String> {
    text.parse()
}

/// `threads = 4` and `threads = "per-isolate"` both read as text.
fn number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match toml::Value::deserialize(d)? {
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::String(t) => Ok(t),
        other => Err(serde::de::Error::custom(format!(
            "threads must be a number from 1 to 1024, \"cores\" or \"per-isolate\", not {other}"
        ))),
    }
}

impl Range {
    /// `value` when it is in range, else why not (without the key).
    pub fn check(&self, value: u64) -> Result<u64, String> {
        if (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(format!("{value} is not in {}..={}", self.min, self.max))
        }
    }

    /// Parses a flag's value: a whole number in range.
    pub fn parse(&self, text: &str) -> Result<u64, String> {
        let value = text.trim().parse::<u64>().map_err(|_| {
            format!(
                "{text:?} is not a whole number in {}..={}",
                self.min, self.max
            )
        })?;
        self.check(value)
    }
}

/// The payload rule: any JSON document.
pub fn check_payload(text: &str) -> Result<(), String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|_| ())
        .map_err(|e| format!("not valid JSON: {e}"))
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub engine: EngineSection,
    pub ui: UiSection,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSection {
    /// Isolates.
    pub isolates: usize,
    /// Executor threads: a number, "cores" (the machine's), or
    /// "per-isolate" (a thread for each isolate).
    #[serde(deserialize_with = "number_or_string")]
    pub threads: String,
    /// warm, context or cold.
    pub mode: Mode,
    /// Heap limit per isolate, MiB.
    pub heap_mb: usize,
    /// Budget per isolate for ArrayBuffer memory (outside the heap), MiB.
    pub external_mb: usize,
    /// Wall-clock limit per invocation, ms.
    pub timeout_ms: u64,
    /// CPU-time limit per invocation, ms; 0: none.
    pub cpu_ms: u64,
    /// JSON passed to handlers as event.payload.
    pub payload: String,
}

impl Default for EngineSection {
    fn default() -> Self {
        let d = EngineConfig::default();
        EngineSection {
            isolates: d.isolates,
            threads: "cores".into(),
            mode: d.mode,
            heap_mb: d.limits.heap_bytes >> 20,
            external_mb: d.limits.external_bytes >> 20,
            timeout_ms: d.limits.timeout.as_millis() as u64,
            cpu_ms: d.limits.cpu.map_or(0, |c| c.as_millis() as u64),
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
    /// Longest a reload waits while a file keeps changing, ms (so a file
    /// rewritten without pause still reloads this often).
    pub debounce_max_ms: u64,
    /// Extra key bindings: key (e.g. "ctrl-r", "F5", "x") to action name.
    pub keys: std::collections::BTreeMap<String, String>,
}

impl EngineSection {
    /// Checks every value with the flags' rules; the error names the key,
    /// the value and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        for (range, value) in [
            (ISOLATES, self.isolates as u64),
            (HEAP_MB, self.heap_mb as u64),
            (EXTERNAL_MB, self.external_mb as u64),
            (TIMEOUT_MS, self.timeout_ms),
            (CPU_MS, self.cpu_ms),
        ] {
            range
                .check(value)
                .map_err(|why| format!("engine.{} = {value}: {why}", range.key))?;
        }
        parse_threads(&self.threads)
            .map_err(|why| format!("engine.threads = {:?}: {why}", self.threads))?;
        check_payload(&self.payload)
            .map_err(|why| format!("engine.payload = {:?}: {why}", self.payload))
    }
}

impl Default for UiSection {
    fn default() -> Self {
        UiSection {
            fps: 30,
            debounce_ms: 30,
            debounce_max_ms: 500,
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
            Ok(text) => Self::from_toml(&text, &path),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Config::default())
            }
            Err(e) => Err(anyhow::anyhow!(
                "cannot read config {}: {e}",
                path.display()
            )),
        }
    }

    /// Parses and validates a config file's text; `origin` names the file
    /// in the error, which is one line: `config FILE:LINE: SOURCE LINE:
    /// WHY` for TOML errors, `config FILE: engine.KEY = VALUE: WHY` for
    /// values the flags would refuse too.
    pub fn from_toml(text: &str, origin: &Path) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| {
            // toml's own Display quotes the source over several lines.
            let message = e.message().trim().replace('\n', "; ");
            match e.span().and_then(|s| text.get(..s.start)) {
                Some(before) => {
                    let line = before.matches('\n').count() + 1;
                    let from = before.rfind('\n').map_or(0, |i| i + 1);
                    let source = text[from..].lines().next().unwrap_or("").trim();
                    let source: String = source.chars().take(80).collect();
                    anyhow::anyhow!("config {}:{line}: {source}: {message}", origin.display())
                }
                None => anyhow::anyhow!("config {}: {message}", origin.display()),
            }
        })?;
        config
            .engine
            .validate()
            .map_err(|e| anyhow::anyhow!("config {}: {e}", origin.display()))?;
        Ok(config)
    }

    /// The default config as TOML, for `--print-config`.
    pub fn default_toml() -> String {
        toml::to_string_pretty(&Config::default()).expect("the default config serializes")
    }

    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            isolates: self.engine.isolates,
            mode: self.engine.mode,
            threads: parse_threads(&self.engine.threads).unwrap_or_default(),
            limits: Limits {
                heap_bytes: self.engine.heap_mb << 20,
                external_bytes: self.engine.external_mb << 20,
                timeout: std::time::Duration::from_millis(self.engine.timeout_ms),
                cpu: (self.engine.cpu_ms > 0)
                    .then(|| std::time::Duration::from_millis(self.engine.cpu_ms)),
            },
            payload: self.engine.payload.clone(),
            ..EngineConfig::default()
        }
    }
}
