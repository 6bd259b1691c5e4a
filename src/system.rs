//! Process CPU and RSS from sysinfo. Sampling reads /proc, so callers do it
//! off the UI loop (the TUI samples on a blocking task).

use std::time::Duration;

use serde::Serialize;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// How often the TUI samples: the window a sample's CPU share covers.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct SystemSample {
    /// CPU use of this process since the previous sample, in % of one core.
    pub cpu_percent: f32,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}

pub struct Sampler {
    /// None where sysinfo cannot read this platform: samples are then zeros.
    sys: Option<System>,
    pid: Pid,
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Sampler {
    pub fn new() -> Self {
        let mut s = Sampler {
            sys: System::new().ok(),
            pid: sysinfo::get_current_pid().unwrap_or(Pid::from_u32(std::process::id())),
        };
        s.sample();
        s
    }

    pub fn sample(&mut self) -> SystemSample {
        let Some(sys) = self.sys.as_mut() else {
            return SystemSample::default();
        };
        sys.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[self.pid]),
            false,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        match sys.process(self.pid) {
            Some(p) => SystemSample {
                cpu_percent: p.cpu_usage(),
                rss_bytes: p.memory(),
            },
            None => SystemSample::default(),
        }
    }
}

/// RSS of this process right now (bytes), without a sampler.
pub fn rss_now() -> u64 {
    Sampler::new().sample().rss_bytes
}

/// Peak resident set size of this process so far, in bytes (`VmHWM` from
/// /proc/self/status on Linux; 0 where it cannot be read).
pub fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
