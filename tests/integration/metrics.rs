//! The numbers the throughput pane derives from engine counters.

use std::time::{Duration, Instant};

use isolate_play::engine::new_histogram;
use isolate_play::metrics::Metrics;

fn timed(n: u64, ns: u64) -> hdrhistogram::Histogram<u64> {
    let mut h = new_histogram();
    h.record_n(ns, n).unwrap();
    h
}

#[test]
fn rate_and_timed_share_follow_the_counters() {
    let mut m = Metrics::new();
    let t0 = Instant::now();
    let none = new_histogram();
    m.observe(t0, 0, new_histogram(), &none);
    // One second: 1,600 invocations, 100 of them timed.
    m.observe(t0 + Duration::from_secs(1), 1_600, timed(100, 150), &none);
    assert!((m.rate() - 1_600.0).abs() < 1e-6, "{}", m.rate());
    assert!((m.timed_share() - 1.0 / 16.0).abs() < 1e-9);
    assert_eq!(m.latency().p50, Duration::from_nanos(150));
    // Then every call timed (slow calls): the share rises toward 1.
    m.observe(
        t0 + Duration::from_secs(2),
        1_700,
        timed(100, 5_000_000),
        &none,
    );
    assert!((m.timed_share() - 200.0 / 1_700.0).abs() < 1e-9);
    // Outside the window, old observations no longer count.
    m.observe(
        t0 + Duration::from_secs(60),
        1_800,
        timed(100, 5_000_000),
        &none,
    );
    assert!((m.timed_share() - 1.0).abs() < 1e-9);
    // After a reset (mode change) the calls made before it are not counted
    // against the new mode's timed calls.
    m.reset_distributions();
    m.observe(
        t0 + Duration::from_secs(61),
        900_000,
        timed(50, 200_000),
        &none,
    );
    m.observe(
        t0 + Duration::from_secs(62),
        900_100,
        timed(100, 200_000),
        &none,
    );
    assert!((m.timed_share() - 1.0).abs() < 1e-9, "{}", m.timed_share());
    assert!(
        m.latency().p99 < Duration::from_millis(1),
        "the 5 ms calls are gone"
    );
}
