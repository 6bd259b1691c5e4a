//! One child process per call, the way a process-per-call platform runs a
//! function: spawn, wait, reap. Each call is bounded by a kill timeout (so
//! a script that never ends cannot hang the comparison), its output goes to
//! memory files that cannot grow past [`OUTPUT_CAP`] (so a script that
//! prints forever cannot fill memory), and the kernel's own accounting of
//! the child (`wait4`'s rusage: user + system CPU, peak RSS) is read when
//! it is reaped.
//!
//! The namespaced variant runs the child inside fresh user, pid, mount,
//! network, uts and ipc namespaces, as `unshare -U -r -p -m -n -u -i -f`
//! does: `unshare(2)` in the forked child, then a second fork, because a
//! new pid namespace only takes the caller's *children*; the grandchild is
//! pid 1 of the new namespace and runs the program, the intermediate waits
//! for it and exits with its status (so the parent's `wait4` still sees the
//! grandchild's CPU and peak RSS, which the kernel adds to its reaper's).

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Most bytes of a child's stdout or stderr kept: writes past it fail
/// (the memory file is sealed at this size).
pub const OUTPUT_CAP: u64 = 8 << 20;

/// Marks the line a child prints its answer on (our child and the runtime
/// wrappers alike), so that the script's own console output around it does
/// not matter.
pub const MARKER: &str = "@@isolate-play-compare@@";

/// The namespaces of the namespaced row.
pub const NAMESPACES: libc::c_int = libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC;

/// What to run for one call.
#[derive(Clone, Debug)]
pub struct Spec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    /// Run inside fresh namespaces ([`NAMESPACES`]).
    pub namespaced: bool,
    /// Killed (SIGKILL) when still running after this long.
    pub kill_after: Duration,
}

/// How a child ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    /// Exited with this status.
    Code(i32),
    /// Killed by this signal (not ours).
    Signal(i32),
    /// Killed by us at the kill timeout.
    TimedOut,
    /// Killed by us because the comparison was cancelled.
    Cancelled,
}

/// One finished child.
#[derive(Clone, Debug)]
pub struct Exit {
    /// From the spawn to the child reaped.
    pub wall: Duration,
    /// User + system CPU of the child (and of what it reaped), ns.
    pub cpu_ns: u64,
    pub ending: Ending,
    pub stdout: String,
    pub stderr: String,
}

/// What a child answered on its [`MARKER`] line.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Answer {
    /// The script's result, as text.
    #[serde(default)]
    pub ok: Option<String>,
    /// Why the script failed (one line).
    #[serde(default)]
    pub error: Option<String>,
    /// The child's pid as it saw it (1 inside a fresh pid namespace).
    #[serde(default)]
    pub pid: Option<i64>,
    /// The child's own peak resident set since its exec (bytes), read
    /// from its `/proc/self/status` (VmHWM) as it answers. Not wait4's
    /// `ru_maxrss`: Linux keeps the pre-exec memory's high-water mark in
    /// it, so a child forked from a large parent weighs at least the
    /// parent's resident set then (the playground's own tens of MiB).
    #[serde(default)]
    pub hwm: Option<u64>,
}

/// This process's peak resident set since its exec (bytes): VmHWM.
pub fn own_hwm() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl Exit {
    /// The last [`MARKER`] line of stdout, parsed.
    pub fn answer(&self) -> Option<Answer> {
        let at = self.stdout.rfind(MARKER)?;
        let line = self.stdout[at + MARKER.len()..].lines().next()?;
        serde_json::from_str(line).ok()
    }

    /// The script's result, or one line saying why there is none.
    pub fn outcome(&self, kill_after: Duration) -> Result<String, String> {
        match (&self.ending, self.answer()) {
            (Ending::Code(0), Some(Answer { ok: Some(r), .. })) => Ok(r),
            (Ending::Code(_), Some(Answer { error: Some(e), .. })) => Err(e),
            (Ending::TimedOut, _) => Err(format!(
                "timed out: killed after {} ms without an answer (the kill timeout)",
                kill_after.as_millis()
            )),
            (Ending::Cancelled, _) => Err("cancelled".into()),
            (Ending::Signal(s), _) => Err(format!(
                "killed by signal {s} ({}){}",
                signal_name(*s),
                last_line(&self.stderr)
            )),
            (Ending::Code(c), _) => Err(format!(
                "exited with status {c} without a result{}",
                last_line(&self.stderr)
            )),
        }
    }
}

/// The telling line of a child's stderr: a fatal error's or an
/// exception's if there is one (a runtime that aborts prints its stack
/// after it), else the last.
fn last_line(s: &str) -> String {
    let lines = || s.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .find(|l| l.to_ascii_lowercase().contains("fatal") || l.contains("Error:"))
        .or_else(|| lines().next_back())
        .map(|l| {
            let l: String = l.chars().take(200).collect();
            format!(": {l}")
        })
        .unwrap_or_default()
}

fn signal_name(s: i32) -> &'static str {
    match s {
        libc::SIGKILL => "SIGKILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGXFSZ => "SIGXFSZ: output past the cap",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// A memory file for a child's output: sealed at [`OUTPUT_CAP`] bytes, so
/// writes past it fail; the child shares its file offset with ours, which
/// is how many bytes it wrote.
fn output_file(name: &str) -> io::Result<File> {
    let cname = CString::new(name).map_err(io::Error::other)?;
    // SAFETY: a valid C string; the returned fd is ours alone.
    let fd =
        unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    let file = unsafe { File::from_raw_fd(fd) };
    file.set_len(OUTPUT_CAP)?;
    // SAFETY: fcntl on our own valid fd with an int argument.
    let rc = unsafe {
        libc::fcntl(
            file.as_raw_fd(),
            libc::F_ADD_SEALS,
            libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

/// What the child wrote: the shared offset says how much.
fn written(file: &File) -> String {
    // SAFETY: lseek on our own valid fd; it only reads the offset.
    let end = unsafe { libc::lseek(file.as_raw_fd(), 0, libc::SEEK_CUR) };
    let len = (end.max(0) as u64).min(OUTPUT_CAP) as usize;
    let mut buf = vec![0; len];
    let n = file.read_at(&mut buf, 0).unwrap_or(0);
    buf.truncate(n);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Everything the namespaced child's setup needs, made before the fork
/// (only async-signal-safe calls happen after it).
struct NsSetup {
    setgroups: CString,
    uid_map_path: CString,
    gid_map_path: CString,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

impl NsSetup {
    fn new() -> NsSetup {
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let c = |s: &str| CString::new(s).expect("no NUL");
        NsSetup {
            setgroups: c("/proc/self/setgroups"),
            uid_map_path: c("/proc/self/uid_map"),
            gid_map_path: c("/proc/self/gid_map"),
            // Root inside, this user outside: what `unshare -r` does.
            uid_map: format!("0 {uid} 1\n").into_bytes(),
            gid_map: format!("0 {gid} 1\n").into_bytes(),
        }
    }
}

/// Writes `data` to `path`; async-signal-safe.
fn write_file(path: &CString, data: &[u8]) -> io::Result<()> {
    // SAFETY: a valid C path; the fd is closed before returning.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let e = io::Error::last_os_error();
        libc::close(fd);
        if n < 0 {
            return Err(e);
        }
    }
    Ok(())
}

/// In the forked child, before exec: SIGKILL when the thread that spawned
/// it ends (it waits for the child, so only when compare itself is killed
/// or exits): a child must not outlive the comparison (a script that never
/// ends under node would run forever, orphaned). `parent` is our pid, read
/// before the fork: a parent already gone by the time the signal is asked
/// for ends the child here. Async-signal-safe.
fn die_with_parent(parent: libc::pid_t) {
    // SAFETY: prctl, getppid and _exit take and return plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(137);
        }
    }
}

/// In the forked child, before exec: new namespaces, then a fork so that
/// the program runs as pid 1 of the new pid namespace. Only
/// async-signal-safe calls (the parent has other threads).
fn enter_namespaces(ns: &NsSetup, parent: libc::pid_t) -> io::Result<()> {
    die_with_parent(parent);
    // SAFETY: unshare takes flags only.
    if unsafe { libc::unshare(NAMESPACES) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // An unprivileged user may only map its own ids, and gid_map needs
    // setgroups denied first; as root these may fail harmlessly.
    let _ = write_file(&ns.setgroups, b"deny");
    write_file(&ns.uid_map_path, &ns.uid_map)?;
    write_file(&ns.gid_map_path, &ns.gid_map)?;
    // SAFETY: fork in a single-threaded child (the one std forked); both
    // sides only make async-signal-safe calls until exec or _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // The grandchild, pid 1 inside: die with the intermediate (so the
        // kill timeout, which kills the intermediate, kills it too).
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        return Ok(());
    }
    // The intermediate: close every descriptor but stdio (std's exec-error
    // pipe among them, else `spawn` would wait for this process to end),
    // wait for the grandchild and pass on how it ended.
    // SAFETY: close_range / close / waitpid / _exit are async-signal-safe
    // and take plain integers and a valid out-pointer.
    unsafe {
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) != 0 {
            for fd in 3..4096 {
                libc::close(fd);
            }
        }
        let mut status = 0;
        loop {
            let r = libc::waitpid(pid, &mut status, 0);
            if r == pid {
                break;
            }
            if r < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(127);
            }
        }
        if libc::WIFEXITED(status) {
            libc::_exit(libc::WEXITSTATUS(status));
        }
        libc::_exit(128 + libc::WTERMSIG(status));
    }
}

/// Runs one call: spawns `spec`, waits at most `spec.kill_after` (or until
/// `cancel`), reaps it and reads what it wrote.
///
/// Errors: the spawn failed (for a namespaced spec, this is where the
/// kernel's refusal of `unshare` shows, with its errno).
pub fn run_once(spec: &Spec, cancel: &AtomicBool) -> io::Result<Exit> {
    let out = output_file("stdout")?;
    let err = output_file("stderr")?;
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(err.try_clone()?));
    let parent = std::process::id() as libc::pid_t;
    if spec.namespaced {
        let ns = NsSetup::new();
        // SAFETY: the closure makes only async-signal-safe calls (see
        // `enter_namespaces`); everything it needs was allocated above.
        unsafe { cmd.pre_exec(move || enter_namespaces(&ns, parent)) };
    } else {
        // A closure (this one only ties the child's life to ours, see
        // `die_with_parent`) makes std fork instead of
        // posix_spawn (a vfork): after a vfork, exec records the *parent's*
        // peak RSS as the child's (the kernel keeps the peak of the memory
        // it replaced), and every child would weigh what compare weighs.
        // SAFETY: prctl with integer arguments is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                die_with_parent(parent);
                Ok(())
            })
        };
    }
    let t0 = Instant::now();
    let child = cmd.spawn()?;
    drop(cmd);
    let pid = child.id() as libc::pid_t;
    let ending = wait_exit(pid, t0 + spec.kill_after, cancel);
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid out-pointers; `pid` is our unreaped child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        if r < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(io::Error::last_os_error());
        }
    }
    let wall = t0.elapsed();
    drop(child);
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    let ending = ending.unwrap_or(if libc::WIFEXITED(status) {
        let code = libc::WEXITSTATUS(status);
        // The namespaced intermediate passes a signal on as 128 + it.
        if spec.namespaced && code > 128 {
            Ending::Signal(code - 128)
        } else {
            Ending::Code(code)
        }
    } else {
        Ending::Signal(libc::WTERMSIG(status))
    });
    Ok(Exit {
        wall,
        cpu_ns: tv(ru.ru_utime) + tv(ru.ru_stime),
        ending,
        stdout: written(&out),
        stderr: written(&err),
    })
}

/// Waits until child `pid` has exited (it stays unreaped, so the pid
/// cannot be reused and killing it is safe), killing it at `deadline` or
/// on `cancel`; returns what we did to it, if anything.
fn wait_exit(pid: libc::pid_t, deadline: Instant, cancel: &AtomicBool) -> Option<Ending> {
    // SAFETY: pidfd_open takes a pid and flags; the fd, if any, is ours.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    let pidfd = (pidfd >= 0).then(|| {
        // SAFETY: a fresh fd owned by nothing else.
        unsafe { File::from_raw_fd(pidfd) }
    });
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let killed = if cancel.load(Relaxed) {
            Some(Ending::Cancelled)
        } else if left.is_zero() {
            Some(Ending::TimedOut)
        } else {
            None
        };
        if let Some(k) = killed {
            // SAFETY: `pid` is our child, not yet reaped (see above).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return Some(k);
        }
        // Wake at least every 50 ms to see a cancel.
        let slice = left.min(Duration::from_millis(50));
        match &pidfd {
            Some(fd) => {
                let mut p = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                let ms = slice.as_millis().max(1) as libc::c_int;
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut p, 1, ms) } > 0 {
                    return None;
                }
            }
            None => {
                // No pidfd (a kernel before 5.3): poll with WNOWAIT.
                // SAFETY: an all-zero siginfo is valid; waitid fills it.
                let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
                // SAFETY: valid out-pointer; WNOWAIT leaves it unreaped.
                let r = unsafe {
                    libc::waitid(
                        libc::P_PID,
                        pid as libc::id_t,
                        &mut info,
                        libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                    )
                };
                // SAFETY: reading the pid field waitid filled (0 if none).
                if r == 0 && unsafe { info.si_pid() } == pid {
                    return None;
                }
                std::thread::sleep(slice.min(Duration::from_micros(200)));
            }
        }
    }
}

/// Why the namespaced row cannot run here, in full: the errno, and which
/// namespace and which policy refused it.
pub fn diagnose_namespaces(e: &io::Error) -> String {
    let mut why = format!("unshare(CLONE_NEWUSER|NEWPID|NEWNS|NEWNET|NEWUTS|NEWIPC) failed: {e}");
    match e.raw_os_error() {
        Some(libc::ENOSPC) => why.push_str(" (a namespace count limit is reached)"),
        Some(libc::EPERM) => why.push_str(
            " (not permitted: unprivileged user namespaces are switched off, or a policy such as seccomp, AppArmor or a container runtime refuses them)",
        ),
        Some(libc::EINVAL) => why.push_str(" (this kernel lacks a namespace kind)"),
        Some(libc::EUSERS) => why.push_str(" (user namespaces nested too deep)"),
        _ => {}
    }
    let kinds = [
        (libc::CLONE_NEWUSER, "user", "user"),
        (libc::CLONE_NEWPID, "pid", "pid"),
        (libc::CLONE_NEWNS, "mount", "mnt"),
        (libc::CLONE_NEWNET, "network", "net"),
        (libc::CLONE_NEWUTS, "uts", "uts"),
        (libc::CLONE_NEWIPC, "ipc", "ipc"),
    ];
    let refused: Vec<_> = kinds
        .into_iter()
        .filter(|(flag, ..)| try_unshare(*flag).is_err())
        .collect();
    if !refused.is_empty() {
        let names: Vec<&str> = refused.iter().map(|(_, n, _)| *n).collect();
        why.push_str(&format!("; refused alone: {}", names.join(", ")));
    }
    let mut sysctls: Vec<(String, String)> = refused
        .iter()
        .map(|(_, _, k)| {
            (
                format!("/proc/sys/user/max_{k}_namespaces"),
                format!("user.max_{k}_namespaces"),
            )
        })
        .collect();
    for (path, name) in [
        (
            "/proc/sys/kernel/unprivileged_userns_clone",
            "kernel.unprivileged_userns_clone",
        ),
        (
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "kernel.apparmor_restrict_unprivileged_userns",
        ),
    ] {
        sysctls.push((path.into(), name.into()));
    }
    for (path, name) in sysctls {
        if let Ok(v) = std::fs::read_to_string(&path) {
            why.push_str(&format!("; {name} = {}", v.trim()));
        }
    }
    why
}

/// `unshare(flag)` in a throwaway child: whether the kernel allows it.
fn try_unshare(flag: libc::c_int) -> io::Result<()> {
    let mut cmd = Command::new("/bin/true");
    // SAFETY: unshare is async-signal-safe and takes flags only.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(flag) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    };
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, namespaced: bool, kill_after: Duration) -> io::Result<Exit> {
        let spec = Spec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: Vec::new(),
            namespaced,
            kill_after,
        };
        run_once(&spec, &AtomicBool::new(false))
    }

    /// Whether a process whose command line has `needle` is alive.
    fn alive(needle: &str) -> bool {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
    }

    #[test]
    fn a_child_answers_on_its_marker_line_with_its_memory() {
        let e = sh(
            &format!("echo noise; echo '{MARKER}{{\"ok\":\"x\",\"hwm\":4096}}'; echo after"),
            false,
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(e.ending, Ending::Code(0));
        assert_eq!(e.outcome(Duration::ZERO), Ok("x".into()));
        assert_eq!(e.answer().and_then(|a| a.hwm), Some(4096));
        // This process's own figure, as a child reports it.
        assert!(own_hwm().is_some_and(|b| b > 1 << 20));
    }

    #[test]
    fn a_child_past_its_kill_timeout_is_killed_and_says_so() {
        let t = Instant::now();
        let e = sh("sleep 30.1234", false, Duration::from_millis(200)).unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(e.ending, Ending::TimedOut);
        assert!(
            e.outcome(Duration::from_millis(200))
                .unwrap_err()
                .contains("timed out")
        );
    }

    #[test]
    fn output_past_the_cap_is_cut_and_the_call_ends() {
        let e = sh(
            "head -c 20000000 /dev/zero; echo done >&2",
            false,
            Duration::from_secs(20),
        )
        .unwrap();
        assert!(e.stdout.len() as u64 <= OUTPUT_CAP);
        assert!(
            e.stderr.contains("done") || e.stderr.contains("rror"),
            "{}",
            e.stderr
        );
    }

    #[test]
    fn a_namespaced_child_is_pid_1_and_dies_with_its_kill_timeout() {
        match sh(
            "echo pid=$$; echo host=$(cat /proc/sys/kernel/hostname)",
            true,
            Duration::from_secs(10),
        ) {
            Ok(e) => {
                assert_eq!(e.ending, Ending::Code(0), "{e:?}");
                assert!(e.stdout.contains("pid=1\n"), "{}", e.stdout);
            }
            // A kernel or policy that refuses namespaces: the row says why.
            Err(e) => {
                eprintln!("namespaces refused here: {}", diagnose_namespaces(&e));
                return;
            }
        }
        let t = Instant::now();
        let e = sh("sleep 31.4159", true, Duration::from_millis(300)).unwrap();
        assert_eq!(e.ending, Ending::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(5));
        // The program inside (pid 1 there, a grandchild here) went with it.
        let deadline = Instant::now() + Duration::from_secs(3);
        while alive("31.4159") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !alive("31.4159"),
            "the namespaced program outlived its kill"
        );
    }
}
