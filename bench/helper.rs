//! Bench-only helper for bench/run.sh, built with plain `rustc` (no crates),
//! so the suite needs nothing beyond the Rust toolchain that builds dokomodo.
//! It is never shipped and is not part of `cargo test`.
//!
//!   helper orphans N          fork a child that forks N short-lived grandchildren
//!                             and exits without waiting; then wait until the init
//!                             has reaped every one of them (meant to run as the
//!                             init's child in a new PID namespace, so /proc lists
//!                             only that namespace). Prints `reap_ms=.. left=..`.
//!   helper storm-child FILE   block USR1/USR2/TERM and count them; writes `ready`,
//!                             then `marker_ns=` on USR2 and `usr1_seen=` on TERM.
//!   helper storm-send PID N   send N SIGUSR1 to PID as fast as possible, then one
//!                             SIGUSR2 as an end marker. Prints `start_ns=` `sent_ns=`.

use std::io::Write;
use std::time::{Duration, Instant};

const SIGUSR1: i32 = 10;
const SIGUSR2: i32 = 12;
const SIGTERM: i32 = 15;
const SIG_BLOCK: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// glibc's sigset_t: 1024 bits.
#[repr(C)]
struct SigSet([u64; 16]);

unsafe extern "C" {
    fn fork() -> i32;
    fn _exit(status: i32) -> !;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    fn sigemptyset(set: *mut SigSet) -> i32;
    fn sigaddset(set: *mut SigSet, sig: i32) -> i32;
    fn sigprocmask(how: i32, set: *const SigSet, old: *mut SigSet) -> i32;
    fn sigwaitinfo(set: *const SigSet, info: *mut u8) -> i32;
}

/// CLOCK_MONOTONIC in ns: comparable across processes, unlike Instant.
fn monotonic_ns() -> i128 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec for clock_gettime to fill.
    unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

fn die(msg: &str) -> ! {
    eprintln!("helper: {msg}");
    std::process::exit(2)
}

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map(String::as_str).unwrap_or_else(|| die("missing argument"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match arg(&args, 1) {
        "orphans" => orphans(arg(&args, 2).parse().unwrap_or_else(|_| die("N"))),
        "storm-child" => storm_child(arg(&args, 2)),
        "storm-send" => storm_send(
            arg(&args, 2).parse().unwrap_or_else(|_| die("PID")),
            arg(&args, 3).parse().unwrap_or_else(|_| die("N")),
        ),
        other => die(&format!("unknown mode {other}")),
    }
}

/// Processes in this PID namespace other than the init (1) and us.
fn others() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    n.bytes().all(|b| b.is_ascii_digit()) && n != "1" && n != me
                })
                .count()
        })
        .unwrap_or(usize::MAX)
}

fn orphans(n: usize) {
    if std::process::id() == 1 {
        die("orphans must run under an init");
    }
    let start = Instant::now();
    // SAFETY: single-threaded; the child only forks and _exits.
    let parent = unsafe { fork() };
    if parent < 0 {
        die("fork failed");
    }
    if parent == 0 {
        for _ in 0..n {
            // SAFETY: the grandchild exits at once without touching anything.
            let pid = unsafe { fork() };
            if pid == 0 {
                unsafe { _exit(0) };
            }
        }
        // Exit without waiting: every grandchild becomes the init's orphan.
        unsafe { _exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { waitpid(parent, &mut status, 0) };
    let timeout = Duration::from_secs(10);
    let mut left = others();
    while left > 0 && start.elapsed() < timeout {
        std::thread::sleep(Duration::from_micros(200));
        left = others();
    }
    println!("reap_ms={:.1} left={left}", start.elapsed().as_secs_f64() * 1e3);
}

fn storm_child(path: &str) {
    let mut out = std::fs::File::create(path).unwrap_or_else(|_| die("cannot create report file"));
    let mut set = SigSet([0; 16]);
    // SAFETY: set is a valid sigset_t-sized buffer.
    unsafe {
        sigemptyset(&mut set);
        for sig in [SIGUSR1, SIGUSR2, SIGTERM] {
            sigaddset(&mut set, sig);
        }
        sigprocmask(SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let _ = writeln!(out, "ready");
    let mut usr1 = 0u64;
    loop {
        // SAFETY: a null info pointer is allowed.
        let sig = unsafe { sigwaitinfo(&set, std::ptr::null_mut()) };
        match sig {
            SIGUSR1 => usr1 += 1,
            SIGUSR2 => {
                let _ = writeln!(out, "marker_ns={}", monotonic_ns());
            }
            SIGTERM => {
                let _ = writeln!(out, "usr1_seen={usr1}");
                std::process::exit(0);
            }
            _ => {}
        }
    }
}

fn storm_send(pid: i32, n: usize) {
    let start = monotonic_ns();
    let mut failed = 0;
    for _ in 0..n {
        // SAFETY: kill has no memory effects.
        if unsafe { kill(pid, SIGUSR1) } != 0 {
            failed += 1;
        }
    }
    let sent = monotonic_ns();
    unsafe { kill(pid, SIGUSR2) };
    println!("start_ns={start} sent_ns={sent} failed={failed}");
}
