//! How many isolates this process can hold before the kernel refuses it
//! memory mappings. Linux caps the mappings of one process at
//! `vm.max_map_count` (65,530 by default); an isolate takes about seven (its
//! heap pages, its code range, two small regions), and V8 does not survive
//! running out of them while it sets up an isolate: its out-of-memory path
//! reads the half-built heap and the process dies of SIGSEGV (seen at
//! 10,000 isolates on the default limit). So the number of isolates is
//! checked against what fits before any is made, and a request past it is
//! an error that says how to raise the limit.

use super::Threads;

/// Mappings budgeted per isolate in a pool: 7.1 measured at N = 1000 after
/// a run (three 256 KiB heap pages, two 64 KiB regions, a reserved code
/// range and its committed part), rounded up; heaps that grow take more.
pub const MAPS_PER_ISOLATE: usize = 8;

/// Mappings budgeted per isolate with a thread of its own: 11.8 measured
/// at N = 300 (its thread's stack and guard page, and its share of malloc
/// arenas, come on top), rounded up.
pub const MAPS_PER_ISOLATE_THREAD: usize = 12;

/// The budget per isolate for a thread model.
pub fn maps_per_isolate(threads: Threads) -> usize {
    match threads {
        Threads::Pool(_) => MAPS_PER_ISOLATE,
        Threads::PerIsolate => MAPS_PER_ISOLATE_THREAD,
    }
}

/// Mappings kept free for everything else (threads, malloc, heap growth).
pub const MAPS_RESERVE: usize = 2048;

/// `vm.max_map_count`, or None where unknown (not Linux).
pub fn max_map_count() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Mappings this process has now (lines of /proc/self/maps; ~5 ms at
/// 40,000 mappings), or None where unknown.
pub fn map_count() -> Option<usize> {
    std::fs::read("/proc/self/maps")
        .ok()
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
}

/// Most isolates in all that this process can hold, counting the `live`
/// ones it has already: None where the limit is unknown.
pub fn max_isolates(live: usize) -> Option<usize> {
    max_isolates_for(live, Threads::Pool(1))
}

/// [`max_isolates`] for a thread model.
pub fn max_isolates_for(live: usize, threads: Threads) -> Option<usize> {
    Some(fit_for(live, max_map_count()?, map_count()?, threads))
}

/// Isolates that fit in a pool with `live` made already, `max` mappings
/// allowed and `used` in use.
pub fn fit(live: usize, max: usize, used: usize) -> usize {
    fit_for(live, max, used, Threads::Pool(1))
}

/// [`fit`] for a thread model.
pub fn fit_for(live: usize, max: usize, used: usize, threads: Threads) -> usize {
    live + max.saturating_sub(used + MAPS_RESERVE) / maps_per_isolate(threads)
}

/// Ok when `wanted` isolates fit (with `live` of them made already), else
/// the one-line reason and the fix.
pub fn check(wanted: usize, live: usize) -> Result<(), String> {
    check_for(wanted, live, Threads::Pool(1))
}

/// [`check`] for a thread model (a thread per isolate takes more). All N
/// count, in cold mode too, where only the running ones are live: a live
/// switch to warm would make all N.
pub fn check_for(wanted: usize, live: usize, threads: Threads) -> Result<(), String> {
    match max_isolates_for(live, threads) {
        Some(fit) if wanted > fit => Err(format!(
            "{wanted} isolates do not fit: at most {fit} here (~{} memory mappings each{}, vm.max_map_count {}); \
             use fewer, or raise it: sudo sysctl -w vm.max_map_count=262144",
            maps_per_isolate(threads),
            if threads == Threads::PerIsolate {
                " with its thread"
            } else {
                ""
            },
            max_map_count().unwrap_or(0)
        )),
        _ => Ok(()),
    }
}
