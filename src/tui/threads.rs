//! The threads line's numbers: two readings of the engine's cumulative
//! counters (executor threads, isolates' CPU and calls) a window apart
//! become utilisation, switches per second and CPU per call; the queue-wait
//! distribution is drained once per window. Pure arithmetic, so tests feed
//! it made-up readings.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::state::ThreadsWindow;
use crate::engine::{ThreadSnapshot, WorkerSnapshot};
use crate::metrics::Percentiles;

/// One reading: threads sorted by id, and per isolate (by id) its CPU (ns)
/// and calls so far.
struct Reading {
    at: Instant,
    threads: Vec<ThreadSnapshot>,
    workers: Vec<(u64, u64)>,
}

#[derive(Default)]
pub struct ThreadsMeter {
    last: Option<Reading>,
    /// Threads with a lower id belong to a model switched away from (they
    /// may still be finishing in the background) and are not counted.
    since_id: usize,
}

impl ThreadsMeter {
    /// Starts afresh after a model switch: threads below `since_id` are the
    /// old model's.
    pub fn restart(&mut self, since_id: usize) {
        self.last = None;
        self.since_id = since_id;
    }

    /// When the last reading was taken.
    pub fn last_at(&self) -> Option<Instant> {
        self.last.as_ref().map(|r| r.at)
    }

    /// Takes a reading; returns the window since the previous one (None
    /// for the first reading, or when no time passed). `queue_wait` is what
    /// the engine recorded since the previous reading.
    pub fn observe(
        &mut self,
        now: Instant,
        mut threads: Vec<ThreadSnapshot>,
        queue_wait: &Histogram<u64>,
        workers: &[WorkerSnapshot],
        pool: bool,
    ) -> Option<ThreadsWindow> {
        threads.retain(|t| t.id >= self.since_id);
        threads.sort_by_key(|t| t.id);
        let reading = Reading {
            at: now,
            threads,
            workers: workers
                .iter()
                .map(|w| (w.cpu.as_nanos() as u64, w.invocations))
                .collect(),
        };
        let prev = self.last.replace(reading)?;
        let cur = self.last.as_ref()?;
        let secs = cur.at.checked_duration_since(prev.at)?.as_secs_f64();
        if secs <= 0.0 {
            return None;
        }
        let mut w = ThreadsWindow {
            queue_wait: Percentiles::of(queue_wait),
            parked: cur.threads.iter().filter(|t| t.parked).count(),
            ..Default::default()
        };
        let mut slices = 0u64;
        let mut seen = false;
        for t in &cur.threads {
            let Ok(i) = prev.threads.binary_search_by_key(&t.id, |p| p.id) else {
                continue;
            };
            let p = &prev.threads[i];
            seen = true;
            slices += t.slices.saturating_sub(p.slices);
            if pool && !t.parked {
                let busy = t.busy_ns.saturating_sub(p.busy_ns) as f64 / 1e9 / secs;
                w.busy.push(busy.clamp(0.0, 1.0));
            }
        }
        if seen {
            w.switches = Some(slices as f64 / secs);
        }
        // Per isolate; a counter that went down belongs to a new isolate
        // in that place (a model switch replaces them all), counted from 0.
        let (mut cpu, mut calls) = (0u64, 0u64);
        for (i, &(c, n)) in cur.workers.iter().enumerate() {
            let (pc, pn) = prev.workers.get(i).copied().unwrap_or((0, 0));
            if c < pc || n < pn {
                cpu += c;
                calls += n;
            } else {
                cpu += c - pc;
                calls += n - pn;
            }
        }
        if !cur.workers.is_empty() {
            w.cpu = Some(cpu as f64 / 1e9 / secs);
        }
        w.cpu_per_call = cpu.checked_div(calls).map(Duration::from_nanos);
        Some(w)
    }
}
