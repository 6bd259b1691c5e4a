//! Turns raw counters and drained histograms into the numbers people read,
//! each with its window: throughput over a sliding window, a per-second
//! history for charts, latency percentiles over the last few seconds, the
//! cold-start distribution since the last reset, and a session total that
//! only grows. Each window is reported as it was actually measured (a rate
//! over 2 s of samples says 2 s, not the 5 s it is allowed to span), and a
//! number nothing measured is `None`, never 0.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::engine::new_histogram;

/// Window for the throughput figure.
pub const RATE_WINDOW: Duration = Duration::from_secs(5);
/// Window for latency percentiles.
pub const LATENCY_WINDOW: Duration = Duration::from_secs(10);
/// Seconds of per-second history kept for the chart.
pub const HISTORY_SECS: usize = 60;

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    #[serde(rename = "p50_us", serialize_with = "ser_us")]
    pub p50: Duration,
    #[serde(rename = "p90_us", serialize_with = "ser_us")]
    pub p90: Duration,
    #[serde(rename = "p99_us", serialize_with = "ser_us")]
    pub p99: Duration,
    #[serde(rename = "max_us", serialize_with = "ser_us")]
    pub max: Duration,
}

/// Durations in JSON are microseconds (floats).
pub fn ser_us<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e6)
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let d = |q: f64| Duration::from_nanos(h.value_at_quantile(q));
        Percentiles {
            count: h.len(),
            p50: d(0.50),
            p90: d(0.90),
            p99: d(0.99),
            max: Duration::from_nanos(h.max()),
        }
    }
}

pub struct Metrics {
    /// (time, total invocations) samples inside RATE_WINDOW.
    totals: VecDeque<(Instant, u64)>,
    /// Per observation inside LATENCY_WINDOW: the latency histogram drained
    /// (if any) and the invocations completed, i.e. how many calls the
    /// histograms stand for (workers time only a sample of very fast calls).
    latency: VecDeque<(Instant, Option<Histogram<u64>>, u64)>,
    /// Set by a reset: the next observation's invocations were mostly
    /// made before it (e.g. in the old mode), so they are not counted.
    fresh: bool,
    cold: Histogram<u64>,
    /// Invocations completed in each of the last HISTORY_SECS whole seconds.
    pub history: VecDeque<u64>,
    second_start: Option<(Instant, u64)>,
    /// The start of what the first observation since creation or the
    /// last reset drained: latency covers no more than the time since.
    since: Option<Instant>,
    /// When the last observation was made (the next one's histograms
    /// cover the time since).
    last_observed: Option<Instant>,
    /// Per isolate slot, its invocation counter at the last
    /// [`Metrics::session_total`]; and the total over the session.
    per_isolate: Vec<u64>,
    session: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Metrics {
            totals: VecDeque::new(),
            latency: VecDeque::new(),
            fresh: false,
            cold: new_histogram(),
            history: VecDeque::new(),
            second_start: None,
            since: None,
            last_observed: None,
            per_isolate: Vec::new(),
            session: 0,
        }
    }

    /// Invocations completed in this session: the isolates' counters (one
    /// per slot, in slot order) added up as they grow. Removing isolates
    /// does not take their runs away; a counter that went down belongs to
    /// a new isolate in that slot (e.g. after a thread-model switch) and is
    /// counted from 0. Only grows.
    pub fn session_total(&mut self, per_isolate: impl IntoIterator<Item = u64>) -> u64 {
        let mut now = Vec::with_capacity(self.per_isolate.len());
        for (i, n) in per_isolate.into_iter().enumerate() {
            let before = self.per_isolate.get(i).copied().unwrap_or(0);
            self.session += if n >= before { n - before } else { n };
            now.push(n);
        }
        self.per_isolate = now;
        self.session
    }

    /// Feeds one observation: the total invocation count now and the
    /// histograms drained from the engine since the last call.
    pub fn observe(
        &mut self,
        now: Instant,
        total: u64,
        latency: Histogram<u64>,
        cold: &Histogram<u64>,
    ) {
        // What this observation drained was recorded since the last one.
        self.since.get_or_insert(self.last_observed.unwrap_or(now));
        self.last_observed = Some(now);
        let done = match self.totals.back() {
            Some((_, before)) if !std::mem::take(&mut self.fresh) => total.saturating_sub(*before),
            _ => 0,
        };
        self.totals.push_back((now, total));
        while self
            .totals
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
            && self.totals.len() > 2
        {
            self.totals.pop_front();
        }
        if !latency.is_empty() || done > 0 {
            let timed = (!latency.is_empty()).then_some(latency);
            self.latency.push_back((now, timed, done));
        }
        while self
            .latency
            .front()
            .is_some_and(|(t, _, _)| now.duration_since(*t) > LATENCY_WINDOW)
        {
            self.latency.pop_front();
        }
        let _ = self.cold.add(cold);
        match self.second_start {
            None => self.second_start = Some((now, total)),
            Some((start, base)) => {
                let secs = now.duration_since(start).as_secs();
                if secs >= 1 {
                    // Spread evenly over whole seconds that passed (usually 1).
                    let per = total.saturating_sub(base) / secs;
                    for _ in 0..secs.min(HISTORY_SECS as u64) {
                        self.history.push_back(per);
                    }
                    while self.history.len() > HISTORY_SECS {
                        self.history.pop_front();
                    }
                    self.second_start = Some((start + Duration::from_secs(secs), total));
                }
            }
        }
    }

    /// The span [`Metrics::rate`] was measured over: at most RATE_WINDOW,
    /// less after a start; None until two samples exist.
    pub fn rate_window(&self) -> Option<Duration> {
        match (self.totals.front(), self.totals.back()) {
            (Some((t0, _)), Some((t1, _))) if t1 > t0 => Some(t1.duration_since(*t0)),
            _ => None,
        }
    }

    /// The span [`Metrics::latency`] covers at `now`: LATENCY_WINDOW, or
    /// the time since the first observation after a start or reset when
    /// that is shorter; None when no call was timed in it.
    pub fn latency_window(&self, now: Instant) -> Option<Duration> {
        let timed = self.latency.iter().any(|(_, h, _)| h.is_some());
        let since = self.since?;
        timed.then(|| now.saturating_duration_since(since).min(LATENCY_WINDOW))
    }

    /// Invocations per second over RATE_WINDOW (0 until two samples exist;
    /// see [`Metrics::rate_window`]).
    pub fn rate(&self) -> f64 {
        match (self.totals.front(), self.totals.back()) {
            (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => {
                n1.saturating_sub(*n0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }

    /// Latency percentiles over LATENCY_WINDOW.
    pub fn latency(&self) -> Percentiles {
        let mut h = new_histogram();
        for l in self.latency.iter().filter_map(|(_, l, _)| l.as_ref()) {
            let _ = h.add(l);
        }
        Percentiles::of(&h)
    }

    /// The share of invocations in LATENCY_WINDOW that were timed (workers
    /// time only a sample of very fast calls under load); 1 when unknown.
    pub fn timed_share(&self) -> f64 {
        let timed: u64 = self
            .latency
            .iter()
            .filter_map(|(_, h, _)| h.as_ref().map(|h| h.len()))
            .sum();
        let done: u64 = self.latency.iter().map(|(_, _, n)| n).sum();
        if done == 0 {
            1.0
        } else {
            (timed as f64 / done as f64).min(1.0)
        }
    }

    /// Cold start (isolate + context creation) since the last reset.
    pub fn cold_start(&self) -> Percentiles {
        Percentiles::of(&self.cold)
    }

    /// Forgets latency and cold-start samples (e.g. after a mode change).
    pub fn reset_distributions(&mut self) {
        self.latency.clear();
        self.fresh = true;
        self.cold.reset();
        self.since = None;
    }
}

/// "1.2 µs", "3.4 ms", "1.20 s".
pub fn fmt_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1_000_000_000.0 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// "512 KiB", "3.4 MiB".
pub fn fmt_bytes(b: u64) -> String {
    let b = b as f64;
    if b < 1024.0 * 1024.0 {
        format!("{:.0} KiB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2} GiB", b / 1024.0 / 1024.0 / 1024.0)
    }
}

/// "12.3k/s" style rate.
pub fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2}M/s", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1}k/s", r / 1e3)
    } else {
        format!("{r:.0}/s")
    }
}
