//! `isolate-play compare`: the real binary, short windows. Every row must
//! have figures or a reason, the rows must run the same script to the same
//! result, and hostile scripts must end every row in bounded time.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{command, within};

/// Every rung, in ladder order, as the JSON names them.
const RUNGS: [&str; 10] = [
    "warm",
    "context",
    "cold",
    "snapshot",
    "process",
    "namespaced",
    "node",
    "deno",
    "qjs",
    "vm",
];

/// The concat sample, under its tour name or its old one.
fn concat() -> &'static str {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if root.join("samples/02-concat.js").exists() {
        "samples/02-concat.js"
    } else {
        "samples/concat.js"
    }
}

fn compare_json(args: &[&str], limit: Duration) -> (Value, i32, Duration) {
    let mut a = vec!["compare"];
    a.extend_from_slice(args);
    a.push("--json");
    let t = Instant::now();
    let o = within(command(&a), limit);
    let took = t.elapsed();
    let out = String::from_utf8_lossy(&o.stdout);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (v, o.status.code().unwrap_or(-1), took)
}

fn rows(v: &Value) -> &Vec<Value> {
    v["rows"].as_array().expect("rows")
}

fn row<'a>(v: &'a Value, rung: &str) -> &'a Value {
    rows(v)
        .iter()
        .find(|r| r["rung"] == rung)
        .unwrap_or_else(|| panic!("no {rung} row"))
}

fn f(r: &Value, key: &str) -> f64 {
    r[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {r}"))
}

fn temp_script(name: &str, code: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("isolate-play-compare-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, code).unwrap();
    p
}

#[test]
fn compare_json_has_every_rung_with_figures_or_a_reason_and_one_result() {
    let (v, code, _) = compare_json(&[concat(), "-d", "0.6"], Duration::from_secs(180));
    assert_eq!(code, 0, "{v:#}");
    let names: Vec<&str> = rows(&v)
        .iter()
        .map(|r| r["rung"].as_str().unwrap())
        .collect();
    assert_eq!(names, RUNGS);
    assert_eq!(v["concurrency"], 1);
    assert_eq!(v["rounds"], 3);
    assert!(v["machine"].as_str().unwrap().contains("CPUs"), "{v:#}");
    let warm = row(&v, "warm");
    assert_eq!(warm["status"], "measured", "{warm:#}");
    assert_eq!(warm["result"], "HelloWorld");
    assert_eq!(f(warm, "ratio_to_warm"), 1.0);
    for r in rows(&v) {
        match r["status"].as_str().unwrap() {
            "measured" => {
                for key in [
                    "calls_per_s",
                    "p50_ns",
                    "p99_ns",
                    "cpu_per_call_ns",
                    "time_per_call_ns",
                    "ratio_to_warm",
                ] {
                    assert!(f(r, key) > 0.0, "{key} of {r:#}");
                }
                // A restored isolate lives only for its call: its memory
                // is the blob it starts from, said in the note.
                if r["rung"] == "snapshot" {
                    let note = r["memory_note"].as_str().unwrap();
                    assert!(note.contains("blob, built once"), "{r:#}");
                } else {
                    assert!(f(r, "memory_per_unit") > 0.0, "memory of {r:#}");
                }
                assert!(r["calls"].as_u64().unwrap() > 0, "{r:#}");
                assert!(!r["memory_note"].as_str().unwrap().is_empty(), "{r:#}");
                // Every rung ran the same script to the same result.
                assert_eq!(r["result"], warm["result"], "{r:#}");
            }
            "unavailable" => {
                let reason = r["reason"].as_str().unwrap();
                assert!(!reason.is_empty(), "{r:#}");
                match r["rung"].as_str().unwrap() {
                    "node" | "deno" | "qjs" => assert!(
                        reason.ends_with("not found on PATH"),
                        "a runtime on PATH must run the script: {r:#}"
                    ),
                    "namespaced" => assert!(reason.starts_with("unshare("), "{r:#}"),
                    "snapshot" => {}
                    _ => panic!("{r:#} should have run"),
                }
            }
            "reference" => {
                assert_eq!(r["rung"], "vm");
                assert!(
                    r["source"].as_str().unwrap().contains("Firecracker"),
                    "{r:#}"
                );
                assert_eq!(r["calls"], 0, "not measured here: {r:#}");
            }
            s => panic!("status {s} at the end: {r:#}"),
        }
    }
    // A process per call costs at least a hundred warm calls.
    let process = row(&v, "process");
    assert_eq!(process["status"], "measured", "{process:#}");
    assert!(
        f(process, "ratio_to_warm") >= 100.0,
        "process / warm = {}",
        f(process, "ratio_to_warm")
    );
    assert!(f(process, "time_per_call_ns") >= 100.0 * f(warm, "time_per_call_ns"));
    // Its memory is the child's own peak, not compare's.
    assert!(
        f(process, "memory_per_unit") < 200.0 * 1024.0 * 1024.0,
        "{process:#}"
    );
}

#[test]
fn compare_text_has_the_table_the_lessons_and_the_vm_row_not_measured_here() {
    let o = within(
        command(&["compare", concat(), "-d", "0.3", "-r", "1"]),
        Duration::from_secs(180),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(
        out.lines().nth(1).unwrap().starts_with("machine: "),
        "{out}"
    );
    for needle in [
        "isolate, warm",
        "isolate, cold",
        "process per call",
        "microVM",
        "published, not measured here",
        "vm row, not measured here: Firecracker",
        "lessons:",
        "columns, over each row's measured windows",
        "× warm",
        "= warm",
    ] {
        assert!(out.contains(needle), "{needle:?} missing:\n{out}");
    }
    // One lesson per rung.
    let lessons = out
        .split("lessons:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.is_empty())
        .count();
    assert_eq!(lessons, RUNGS.len(), "{out}");
}

#[test]
fn compare_handler_module_gives_the_same_result_in_every_row() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(sample) = ["samples/08-ladder.mjs", "samples/transform.mjs"]
        .into_iter()
        .find(|s| root.join(s).exists())
    else {
        panic!("no handler sample");
    };
    let (v, code, _) = compare_json(&[sample, "-d", "0.3", "-r", "1"], Duration::from_secs(180));
    assert_eq!(code, 0, "{v:#}");
    let warm = row(&v, "warm")["result"].clone();
    assert!(warm.as_str().is_some_and(|w| !w.is_empty()), "{v:#}");
    for r in rows(&v).iter().filter(|r| r["status"] == "measured") {
        assert_eq!(r["result"], warm, "{r:#}");
    }
}

#[test]
fn compare_an_endless_loop_ends_every_row_with_its_timeout_in_bounded_time() {
    let script = temp_script("spin.js", "let i = 0;\nwhile (true) { i++; }\n");
    let (v, code, took) = compare_json(
        &[script.to_str().unwrap(), "-d", "0.5", "--timeout-ms", "300"],
        Duration::from_secs(60),
    );
    assert_eq!(code, 1, "the script never finished: {v:#}");
    // Isolate rows stop at 300 ms, children are killed 3 s after it.
    assert!(took < Duration::from_secs(30), "took {took:?}");
    for r in rows(&v) {
        let rung = r["rung"].as_str().unwrap();
        if matches!(rung, "snapshot" | "vm") {
            continue;
        }
        let reason = r["reason"].as_str().unwrap_or_default();
        if reason.ends_with("not found on PATH") || reason.starts_with("unshare(") {
            continue;
        }
        assert_eq!(r["status"], "unavailable", "{r:#}");
        assert!(reason.contains("timed out"), "{rung}: {reason}");
    }
}

#[test]
fn compare_a_throwing_script_reports_its_error_in_every_row() {
    let script = temp_script("boom.js", "throw new RangeError('boom ' + (40 + 2));\n");
    let (v, code, _) = compare_json(
        &[script.to_str().unwrap(), "-d", "0.3"],
        Duration::from_secs(60),
    );
    assert_eq!(code, 1, "{v:#}");
    for r in rows(&v) {
        let reason = r["reason"].as_str().unwrap_or_default();
        if matches!(r["rung"].as_str().unwrap(), "snapshot" | "vm")
            || reason.ends_with("not found on PATH")
            || reason.starts_with("unshare(")
        {
            continue;
        }
        assert!(reason.contains("RangeError: boom 42"), "{r:#}");
    }
}

#[test]
fn compare_exit_codes_for_bad_input() {
    let missing = within(
        command(&["compare", "samples/no-such-file.js"]),
        Duration::from_secs(30),
    );
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("no-such-file.js"), "{err}");
    for bad in [["-d", "0"], ["-n", "0"], ["-d", "x"], ["-r", "0"]] {
        let o = within(
            command(&["compare", concat(), bad[0], bad[1]]),
            Duration::from_secs(30),
        );
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("invalid value"),
            "{bad:?}"
        );
    }
    // Rounds too short to hold a call: refused up front, not measured as
    // rows of dashes (nor a long run of warm-ups).
    for bad in [["-d", "1e-9", "-r", "3"], ["-d", "0.001", "-r", "100"]] {
        let mut a = vec!["compare", concat()];
        a.extend(bad);
        let o = within(command(&a), Duration::from_secs(30));
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("a round needs at least 50 ms"),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn compare_run_stops_at_cancel_and_keeps_the_rounds_it_measured() {
    use isolate_play::compare::{self, Options, RowStatus, Rung, Update};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(concat());
    let source = isolate_play::engine::Source::from_file(&path).unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let options = Options {
        concurrency: 1,
        duration: Duration::from_secs(1),
        rounds: 2,
        program: env!("CARGO_BIN_EXE_isolate-play").into(),
        cancel: cancel.clone(),
    };
    let mut updates = 0;
    let mut cancelled_at = None;
    let ladder = compare::run(&source, &Default::default(), &options, &mut |u| {
        updates += 1;
        // Round 2 starts: the view closes.
        if let Update::Round { round: 2, .. } = u {
            cancel.store(true, Ordering::Relaxed);
            cancelled_at = Some(Instant::now());
        }
    })
    .unwrap();
    let stopped = cancelled_at.expect("round 2 began").elapsed();
    assert!(stopped < Duration::from_secs(5), "{stopped:?}");
    assert_eq!(ladder.rounds, 1);
    assert!(updates > Rung::ALL.len(), "{updates}");
    let warm = &ladder.rows[0];
    assert_eq!(warm.rung, Rung::Warm);
    // Round 1 is kept: figures, and not "measured" (a round is missing).
    assert_eq!(warm.status, RowStatus::Running, "{warm:?}");
    assert!(warm.calls > 0 && warm.calls_per_s.is_some(), "{warm:?}");
}

#[test]
fn compare_says_exactly_why_the_kernel_refused_the_namespaces() {
    // Inside a user namespace of our own, its network-namespace limit set
    // to 0 (a per-namespace sysctl, so the machine is untouched): the
    // namespaced row must name the errno, the namespace and the sysctl.
    let usable = std::process::Command::new("unshare")
        .args(["-U", "-r", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !usable {
        eprintln!("no unshare(1) or no user namespaces here: nothing to refuse");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_isolate-play");
    let script = format!(
        "echo 0 > /proc/sys/user/max_net_namespaces && exec {bin} compare {} -d 0.2 -r 1 --json",
        concat()
    );
    let mut c = std::process::Command::new("unshare");
    c.args(["-U", "-r", "sh", "-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    let o = within(c, Duration::from_secs(120));
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    let ns = row(&v, "namespaced");
    assert_eq!(ns["status"], "unavailable", "{ns:#}");
    let reason = ns["reason"].as_str().unwrap();
    for needle in [
        "unshare(",
        "os error 28",
        "refused alone: network",
        "user.max_net_namespaces = 0",
    ] {
        assert!(reason.contains(needle), "{needle:?} not in {reason}");
    }
    // The rest went on.
    assert_eq!(row(&v, "process")["status"], "measured");
}

/// The pids whose parent is `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so after the last ')'.
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        let ppid = after.split_whitespace().nth(1).and_then(|s| s.parse().ok());
        if ppid == Some(pid) {
            out.push(p);
        }
    }
    out
}

/// Whether `pid` is alive (a zombie is not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        let after = &s[s.rfind(')').map_or(0, |i| i + 1)..];
        after.split_whitespace().next() != Some("Z")
    })
}

/// compare's children (a process per call, the memory probes, node...)
/// with the script's copy, until some run.
fn wait_for_children(pid: u32) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let kids = children_of(pid);
        if kids.len() >= 2 || Instant::now() > deadline {
            let grand: Vec<u32> = kids.iter().flat_map(|&k| children_of(k)).collect();
            return kids.into_iter().chain(grand).collect();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A Ctrl-C (SIGINT to compare alone, as a supervisor sends it) stops the
/// comparison: its children killed and reaped, its copy of the script
/// removed, the rows it has printed. A SIGKILL, which compare cannot
/// catch, still takes its children with it (they were orphaned before,
/// and a script that never ends under node ran forever).
#[test]
fn compare_stopped_by_a_signal_leaves_no_process_and_no_copy() {
    let script = temp_script("forever.js", "let x = 0; for (;;) { x++ }\n");
    let path = script.to_str().unwrap();
    let args = ["compare", path, "--timeout-ms", "6000", "-d", "3"];
    let copies = |pid: u32| {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("isolate-play-compare-{pid}-"))
            })
            .count()
    };

    let mut c = command(&args);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("compare starts");
    let pid = child.id();
    let kids = wait_for_children(pid);
    assert!(!kids.is_empty(), "no children seen");
    assert_eq!(copies(pid), 1);
    // SAFETY: kill with a pid of our own child and a signal number.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let t0 = Instant::now();
    let out = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "still running after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SIGINT: stopping"), "{stderr}");
    assert!(stdout.contains("isolate, warm"), "{stdout}");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(copies(pid), 0, "the script's copy is left behind");
    for k in &kids {
        assert!(!alive(*k), "child {k} outlived compare");
    }

    let mut child = command(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("compare starts");
    let kids = wait_for_children(child.id());
    assert!(!kids.is_empty(), "no children seen");
    child.kill().unwrap();
    child.wait().unwrap();
    let t0 = Instant::now();
    while kids.iter().any(|&k| alive(k)) && t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for k in &kids {
        assert!(!alive(*k), "child {k} outlived a killed compare");
    }
}

#[test]
fn process_rows_weigh_the_child_not_the_process_that_forked_it() {
    use isolate_play::compare::{self, Options, RowStatus, Rung};
    // The playground runs the ladder in its own process, tens of MiB
    // large: a child forked from it must not be charged for that.
    let ballast = std::hint::black_box(vec![1u8; 300 << 20]);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(concat());
    let source = isolate_play::engine::Source::from_file(&path).unwrap();
    let options = Options {
        concurrency: 1,
        duration: Duration::from_millis(600),
        rounds: 1,
        program: env!("CARGO_BIN_EXE_isolate-play").into(),
        cancel: Default::default(),
    };
    let ladder = compare::run(&source, &Default::default(), &options, &mut |_| {}).unwrap();
    let mut checked = 0;
    for r in &ladder.rows {
        if !matches!(r.rung, Rung::Process | Rung::Namespaced | Rung::Node)
            || r.status != RowStatus::Measured
        {
            continue;
        }
        let mem = r.memory_per_unit.unwrap_or_else(|| panic!("{r:?}"));
        assert!(
            (1 << 20..200 << 20).contains(&mem),
            "{:?}: {mem} bytes ({})",
            r.rung,
            r.memory_note
        );
        checked += 1;
    }
    assert!(checked >= 1, "{:?}", ladder.rows);
    drop(ballast);
}

#[test]
fn cancel_ends_first_calls_that_would_run_to_a_long_timeout() {
    use isolate_play::compare::{self, Options};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    // A top level that never ends: the snapshot row's build runs it too.
    let path = temp_script("spin-forever.mjs", "for (;;) {}\nexport default () => 1;");
    let source = isolate_play::engine::Source::from_file(&path).unwrap();
    let mut config = isolate_play::engine::EngineConfig::default();
    config.limits.timeout = Duration::from_secs(60);
    let cancel = Arc::new(AtomicBool::new(false));
    let options = Options {
        concurrency: 1,
        duration: Duration::from_millis(600),
        rounds: 1,
        program: env!("CARGO_BIN_EXE_isolate-play").into(),
        cancel: cancel.clone(),
    };
    let flag = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        flag.store(true, Ordering::Relaxed);
    });
    let t = Instant::now();
    let _ = compare::run(&source, &config, &options, &mut |_| {});
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "cancel took {:?} with a 60 s timeout",
        t.elapsed()
    );
}
