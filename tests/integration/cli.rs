use std::process::Output;
use std::time::Duration;

use crate::support::{bin, command, within};

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn run_concat_on_200_isolates() {
    let o = bin(&["run", "samples/02-concat.js", "--isolates", "200"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("  HelloWorld  ("))
            .count(),
        200,
        "{out}"
    );
    let summary = out.lines().find(|l| l.starts_with("summary:")).unwrap();
    assert!(
        summary.starts_with("summary: 200 invocations (200 ok, 0 failed)"),
        "{summary}"
    );
    assert!(
        summary.contains("cold start") && summary.contains("RSS"),
        "{summary}"
    );
    // The last line says how the isolates shared their threads.
    let threads = out.lines().last().unwrap();
    assert!(
        threads.starts_with("threads: pool of ")
            && threads.contains("busy")
            && threads.contains("isolate switches/s")
            && threads.contains("queue wait p50")
            && threads.contains("CPU/call"),
        "{threads}"
    );
}

#[test]
fn run_json_shape() {
    let o = bin(&[
        "run",
        "samples/08-ladder.mjs",
        "-n",
        "3",
        "-i",
        "2",
        "--json",
        "--payload",
        r#"{"items":[{"name":"pen","price":2,"qty":3}]}"#,
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(v["kind"], "handler");
    assert_eq!(v["mode"], "warm");
    assert_eq!(v["isolates"], 3);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["isolate"], i);
        assert_eq!(r["invocations"], 2);
        assert_eq!(r["failures"], 0);
        assert!(
            r["result"].as_str().unwrap().contains("total: 6"),
            "{}",
            r["result"]
        );
        assert!(r["heap"]["used"].as_u64().unwrap() > 0);
        assert!(r["error"].is_null());
    }
    let s = &v["summary"];
    assert_eq!(s["invocations"], 6);
    assert_eq!(s["ok"], 6);
    assert!(s["throughput_per_s"].as_f64().unwrap() > 0.0);
    assert!(s["latency"]["p99_us"].as_f64().unwrap() > 0.0);
    assert_eq!(s["cold_start"]["count"], 3);
    assert!(s["rss_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn hostile_samples_fail_cleanly_with_status_1() {
    let cases = [
        ("samples/06-time-limits.js", "timed out after 300 ms"),
        ("samples/04-heap-limit.js", "heap limit exceeded"),
        (
            "samples/05-external-memory.js",
            "the isolate's external-memory budget of 64 MiB for ArrayBuffer memory refused it",
        ),
        (
            "samples/09-syntax-error.js",
            "samples/09-syntax-error.js:4:28: SyntaxError: Unexpected token ';'",
        ),
        ("samples/10-exception.js", "TypeError: not an object: oops"),
    ];
    for (file, needle) in cases {
        let o = bin(&[
            "run",
            file,
            "-n",
            "2",
            "--timeout-ms",
            "300",
            "--heap-mb",
            "16",
        ]);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{file}: {out}\n{err}");
        assert!(out.contains(needle), "{file}: {out}");
        assert!(
            out.contains("summary: 2 invocations (0 ok, 2 failed)"),
            "{out}"
        );
        assert!(err.is_empty(), "{file}: nothing on stderr: {err}");
    }
    let o = bin(&["run", "samples/10-exception.js", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["results"][0]["error"]["kind"], "exception");
    assert_eq!(v["results"][0]["error"]["location"]["line"], 5);
}

#[test]
fn bad_flags_and_files_are_one_line_errors() {
    for (args, needle) in [
        (
            vec!["run", "samples/02-concat.js", "--isolates", "0"],
            "--isolates",
        ),
        (
            vec!["run", "samples/02-concat.js", "--mode", "hot"],
            "--mode",
        ),
        (
            vec!["run", "samples/02-concat.js", "--payload", "{nope"],
            "not valid JSON",
        ),
        (vec!["run", "samples/02-concat.js", "--bogus"], "--bogus"),
    ] {
        let o = bin(&args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = bin(&["run", "samples/does-not-exist.js"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("isolate-play: error: cannot read samples/does-not-exist.js"),
        "{err}"
    );
    let o = bin(&["run", "Cargo.lock/x.js"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn run_reads_binary_files_as_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bin.js");
    std::fs::write(&f, [0u8, 159, 146, 150]).unwrap();
    let o = bin(&["run", f.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("not UTF-8"), "{err}");
}

/// The benchmark's shape, not its speed: both sides ran, in the rounds
/// asked for, and the ratio is the one of the two rates.
#[test]
fn bench_json_runs_engine_and_baseline_in_rounds() {
    let o = bin(&[
        "bench",
        "samples/02-concat.js",
        "-n",
        "2",
        "-d",
        "0.2",
        "--rounds",
        "2",
        "--json",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["machine"].as_str().unwrap().contains("CPUs"), "{v}");
    let t = &v["throughput"];
    assert_eq!(t["mode"], "warm");
    assert_eq!(t["isolates"], 2);
    let (e, b) = (
        t["engine_per_s"].as_f64().unwrap(),
        t["baseline_per_s"].as_f64().unwrap(),
    );
    assert!(e > 0.0 && b > 0.0, "{t}");
    assert!((t["ratio"].as_f64().unwrap() - e / b).abs() < 1e-9, "{t}");
    assert_eq!(t["round_ratios"].as_array().unwrap().len(), 2, "{t}");
    assert_eq!(t["round_cpu_ratios"].as_array().unwrap().len(), 2, "{t}");
    assert!(t["cpu_ratio"].as_f64().unwrap() > 0.0, "{t}");
    assert!(t["latency"]["count"].as_u64().unwrap() > 0, "{t}");
    assert_eq!(t["baseline"]["model"], "bare", "{t}");
    assert_eq!(t["baseline"]["threads"], 2, "a thread per isolate: {t}");
}

/// The thread-model comparison's shape, not its speed: at each N asked
/// for (deduplicated, ascending), pool, per-isolate and bare, each with its
/// rate, its ratio to bare and, for the pool, the scheduler's numbers; the
/// text table has every column.
#[test]
fn bench_threads_compare_runs_every_model() {
    let o = within(
        command(&[
            "bench",
            "samples/02-concat.js",
            "--threads-compare",
            "--sizes",
            "3,1,3",
            "-t",
            "2",
            "-d",
            "0.2",
            "--rounds",
            "2",
            "--warmup",
            "0.05",
            "--json",
        ]),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = v["threads_compare"].as_array().unwrap();
    assert_eq!(
        c.iter()
            .map(|c| c["isolates"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 3],
        "{v}"
    );
    for cmp in c {
        let n = cmp["isolates"].as_u64().unwrap();
        let rows = cmp["rows"].as_array().unwrap();
        let models: Vec<_> = rows.iter().map(|r| r["model"].as_str().unwrap()).collect();
        assert_eq!(
            models,
            ["pool", "per-isolate", "bare pool", "bare"],
            "{cmp}"
        );
        let threads: Vec<_> = rows
            .iter()
            .map(|r| r["threads"].as_u64().unwrap())
            .collect();
        assert_eq!(threads, [2, n, 2, n], "{cmp}");
        let bare = rows[3]["per_s"].as_f64().unwrap();
        for r in rows {
            let per_s = r["per_s"].as_f64().unwrap();
            assert!(per_s > 0.0, "{r}");
            assert!(
                (r["ratio"].as_f64().unwrap() - per_s / bare).abs() < 1e-9,
                "{r}"
            );
            assert_eq!(r["round_ratios"].as_array().unwrap().len(), 2, "{r}");
            assert!(r["start_s"].as_f64().unwrap() > 0.0, "{r}");
            assert!(r["vs_smallest"].as_f64().unwrap() > 0.0, "{r}");
            assert!(r["per_cpu_s"].as_f64().unwrap() > 0.0, "{r}");
        }
        // The engine against the bare loop with its own thread model.
        let twin = |i: usize, j: usize| {
            rows[i]["per_s"].as_f64().unwrap() / rows[j]["per_s"].as_f64().unwrap()
        };
        assert!((rows[0]["twin_ratio"].as_f64().unwrap() - twin(0, 2)).abs() < 1e-9);
        assert!((rows[1]["twin_ratio"].as_f64().unwrap() - twin(1, 3)).abs() < 1e-9);
        assert!(rows[2]["twin_ratio"].is_null() && rows[3]["twin_ratio"].is_null());
        let pool = &rows[0];
        assert!(pool["queue_wait"]["count"].as_u64().unwrap() > 0, "{pool}");
        assert!(pool["switches_per_s"].as_f64().unwrap() > 0.0, "{pool}");
        let busy = pool["threads_busy"].as_f64().unwrap();
        assert!(busy > 0.0 && busy < 1.5, "{pool}");
        assert!(pool["latency"]["count"].as_u64().unwrap() > 0, "{pool}");
        assert!(rows[1]["queue_wait"].is_null(), "{cmp}");
        assert!(
            rows[2]["latency"].is_null() && rows[3]["latency"].is_null(),
            "{cmp}"
        );
    }

    let o = within(
        command(&[
            "bench",
            "samples/02-concat.js",
            "--threads-compare",
            "--sizes",
            "2",
            "-d",
            "0.2",
            "--rounds",
            "1",
            "--warmup",
            "0.05",
        ]),
        Duration::from_secs(120),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("CPUs"), "the machine: {out}");
    let header = out
        .lines()
        .find(|l| l.starts_with("| isolates | model |"))
        .unwrap_or_else(|| panic!("a table: {out}"));
    for col in [
        "calls/s",
        "ratio to bare",
        "engine / bare twin",
        "calls/CPU-s",
        "call p99",
        "queue wait p99",
        "switches/s",
        "threads busy",
        "start",
        "stop",
    ] {
        assert!(header.contains(col), "{col}: {header}");
    }
    for model in [
        "| 2 | pool | ",
        "| 2 | per-isolate | 2 |",
        "| 2 | bare pool | ",
        "| 2 | bare | 2 |",
    ] {
        assert!(out.contains(model), "{model}: {out}");
    }
    assert!(out.contains("thread per isolate"), "what bare is: {out}");
}

/// The density probe's shape: every isolate started, ran once and
/// stopped, in a child process, with RSS per isolate; then idle memory for
/// each thread model.
#[test]
fn bench_density_probe_runs() {
    let o = within(
        command(&[
            "bench",
            "samples/02-concat.js",
            "--density=40",
            "-t",
            "2",
            "--json",
        ]),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &v["density"];
    assert_eq!(d["isolates"], 40, "{d}");
    assert_eq!(d["threads"], 2, "{d}");
    assert_eq!(d["ok"], 40, "{d}");
    assert_eq!(d["failed"], 0, "{d}");
    for key in ["start_s", "run_s", "stop_s"] {
        assert!(d[key].as_f64().unwrap() > 0.0, "{key}: {d}");
    }
    assert!(
        d["rss_after_run"].as_u64().unwrap() > d["rss_before"].as_u64().unwrap(),
        "{d}"
    );
    assert!(d["rss_per_isolate"].as_u64().unwrap() > 0, "{d}");
    assert!(d["heap_used_per_isolate"].as_u64().unwrap() > 0, "{d}");
    let idle = v["idle"].as_array().unwrap();
    let holders: Vec<_> = idle.iter().map(|m| m["holder"].clone()).collect();
    assert_eq!(
        holders,
        [
            serde_json::json!({ "pool": 2 }),
            "per-isolate".into(),
            "bare".into()
        ],
        "{v}"
    );
    for m in idle {
        assert_eq!(m["isolates"], 40, "{m}");
        assert!(m["rss_per_isolate"].as_u64().unwrap() > 0, "{m}");
    }

    let o = within(
        command(&["bench", "samples/02-concat.js", "--density=20"]),
        Duration::from_secs(120),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    for col in [
        "| isolates | start | run once each | stop |",
        "RSS / isolate after run",
        "| idle isolates | model | RSS / isolate |",
        "| 20 | per-isolate (thread per isolate) |",
        "| 20 | bare v8 (thread per isolate) |",
    ] {
        assert!(out.contains(col), "{col}: {out}");
    }
    assert!(out.contains("| 20 / 0 |"), "20 ok, 0 failed: {out}");
}

/// A bad value in the config file is refused with the flag's own rule, as
/// one line naming the file, the key, the value and what is allowed, before
/// any isolate starts.
#[test]
fn bad_config_values_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "payload = \"{bad\"",
            "engine.payload = \"{bad\": not valid JSON",
        ),
        ("isolates = 0", "engine.isolates = 0: 0 is not in 1..=10000"),
        (
            "isolates = 10001",
            "engine.isolates = 10001: 10001 is not in 1..=10000",
        ),
        (
            "threads = 0",
            "engine.threads = \"0\": threads must be a number from 1 to 1024",
        ),
        (
            "threads = \"many\"",
            "engine.threads = \"many\": threads must be a number from 1 to 1024, \"cores\" or \"per-isolate\"",
        ),
        (
            "cpu_ms = 3600001",
            "engine.cpu_ms = 3600001: 3600001 is not in 0..=3600000",
        ),
        ("heap_mb = 1", "engine.heap_mb = 1: 1 is not in 4..=16384"),
        (
            "timeout_ms = 0",
            "engine.timeout_ms = 0: 0 is not in 1..=3600000",
        ),
        (
            "external_mb = 0",
            "engine.external_mb = 0: 0 is not in 1..=16384",
        ),
        ("isolates = -1", ":2: isolates = -1: "),
        (
            "mode = \"hot\"",
            ":2: mode = \"hot\": unknown variant `hot`",
        ),
        ("heap = 64", ":2: heap = 64: unknown field `heap`"),
    ];
    for (i, (line, needle)) in cases.into_iter().enumerate() {
        let file = dir.path().join(format!("config-{i}.toml"));
        std::fs::write(&file, format!("[engine]\n{line}\n")).unwrap();
        let file = file.to_str().unwrap();
        let o = within(
            command(&["run", "samples/02-concat.js", "--config", file]),
            Duration::from_secs(60),
        );
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{line}: {out}\n{err}");
        assert_eq!(err.lines().count(), 1, "{line}: {err}");
        assert!(
            err.starts_with(&format!("isolate-play: error: config {file}")),
            "{line}: {err}"
        );
        assert!(err.contains(needle), "{line}: {err}");
        assert!(out.is_empty(), "{line}: nothing ran: {out}");
    }
    // The flags say the same.
    for (flag, value, range) in [
        ("--isolates", "0", "1..=10000"),
        ("--cpu-ms", "3600001", "0..=3600000"),
        ("--threads", "0", "1 to 1024"),
        ("--heap-mb", "1", "4..=16384"),
        ("--timeout-ms", "0", "1..=3600000"),
        ("--external-mb", "0", "1..=16384"),
        ("--external-mb", "lots", "1..=16384"),
    ] {
        let o = bin(&["run", "samples/02-concat.js", flag, value]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(flag) && err.contains(range), "{flag}: {err}");
    }
}

/// `external_mb` and `--external-mb` reach the engine's limits; the flag
/// wins over the file, and `--print-config` shows the key.
#[test]
fn external_mb_from_config_and_flag() {
    use clap::Parser;
    use isolate_play::cli::{Cli, Command as Sub};
    use isolate_play::config::Config;

    let path = std::path::Path::new("test.toml");
    let config = Config::from_toml("[engine]\nexternal_mb = 128\n", path).unwrap();
    assert_eq!(config.engine_config().limits.external_bytes, 128 << 20);
    assert_eq!(
        Config::default().engine_config().limits.external_bytes,
        64 << 20
    );
    let cli = Cli::try_parse_from(["isolate-play", "run", "x.js", "--external-mb", "32"]).unwrap();
    let Some(Sub::Run(args)) = cli.command else {
        panic!("a run command")
    };
    assert_eq!(args.engine.resolve(&config).limits.external_bytes, 32 << 20);

    let o = bin(&["--print-config"]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert!(out.contains("external_mb = 64"), "{out}");
    assert_eq!(Config::from_toml(&out, path).unwrap(), Config::default());
}

/// `--log FILE` (or ISOLATE_PLAY_LOG) writes a plain-text log that starts
/// with the command and version; a log that cannot be opened is an error.
#[test]
fn log_file_from_flag_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let flag_log = dir.path().join("flag.log");
    let o = within(
        command(&[
            "run",
            "samples/02-concat.js",
            "--log",
            flag_log.to_str().unwrap(),
        ]),
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let log = std::fs::read_to_string(&flag_log).expect("the log exists");
    let start = log
        .lines()
        .find(|l| l.contains("isolate-play starting"))
        .unwrap_or_else(|| panic!("no start line: {log}"));
    assert!(start.contains(" INFO "), "{start}");
    assert!(start.contains("command=\"run\""), "{start}");
    assert!(
        start.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{start}"
    );
    assert!(!log.contains('\x1b'), "plain text: {log:?}");

    let env_log = dir.path().join("env.log");
    let mut c = command(&["run", "samples/02-concat.js"]);
    c.env("ISOLATE_PLAY_LOG", &env_log);
    let o = within(c, Duration::from_secs(60));
    assert!(o.status.success(), "{:?}", text(&o));
    let log = std::fs::read_to_string(&env_log).expect("the log exists");
    assert!(log.contains("isolate-play starting"), "{log}");

    // An empty variable is no log, not an error.
    let mut c = command(&["run", "samples/02-concat.js"]);
    c.env("ISOLATE_PLAY_LOG", "");
    let o = within(c, Duration::from_secs(60));
    assert!(o.status.success(), "{:?}", text(&o));

    let o = bin(&[
        "run",
        "samples/02-concat.js",
        "--log",
        dir.path().to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot open log file"), "{err}");
}

/// More isolates than the kernel's memory-mapping limit can hold are a
/// one-line error before any is made, not a crash inside V8 (10,000 on the
/// default vm.max_map_count of 65,530 died of SIGSEGV).
#[test]
fn isolates_past_the_mapping_limit_are_refused_up_front() {
    use isolate_play::engine::capacity;
    // 7.9k fit on the default limit with 1k mappings in use; live ones count.
    assert_eq!(capacity::fit(0, 65_530, 1000), 7_810);
    assert_eq!(capacity::fit(100, 65_530, 1000), 7_910);
    assert_eq!(capacity::fit(0, 1000, 5000), 0);
    // A thread per isolate takes more mappings each.
    assert_eq!(
        capacity::fit_for(0, 65_530, 1000, isolate_play::engine::Threads::PerIsolate),
        5_206
    );
    let Some(fit) = capacity::max_isolates(0) else {
        return; // not Linux: no such limit to test
    };
    if fit >= 10_000 {
        return; // a raised limit: 10,000 would really run
    }
    let o = bin(&["run", "samples/02-concat.js", "-n", "10000"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}\n{err}");
    assert!(
        err.contains("10000 isolates do not fit: at most") && err.contains("vm.max_map_count"),
        "{err}"
    );
    assert!(out.is_empty());
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.js");
    std::fs::write(&path, "'x'.repeat(50000)").unwrap();
    // `run … | head -c 10`: ~400 KB of results into a pipe whose reader
    // stops after a few bytes.
    let mut child = command(&["run", path.to_str().unwrap(), "-n", "8"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
