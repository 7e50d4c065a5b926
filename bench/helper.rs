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
//!   helper exit-lag DIR ROUNDS SETTLE_MS GAP_MS NAME=INIT... (INIT: the init's
//!                             command line, split at spaces, e.g.
//!                             `tini-static=/usr/bin/tini-static --`)
//!                             each round, start every init at once with
//!                             `helper exit-stamp` as its child; the children
//!                             exit SETTLE_MS + k * GAP_MS later (k rotates
//!                             each round), so no two exits overlap. For each
//!                             init, the time from its child's stamp to this
//!                             process seeing the init exit (waitpid). Prints
//!                             one line per init: `NAME us us us ...`.
//!   helper exit-stamp FILE MS sleep MS, then write CLOCK_MONOTONIC ns to FILE
//!                             and _exit(0) at once: the main child of an init.

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
        "exit-lag" => exit_lag(&args[2..]),
        "exit-stamp" => exit_stamp(
            arg(&args, 2),
            arg(&args, 3).parse().unwrap_or_else(|_| die("MS")),
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

fn exit_stamp(path: &str, ms: u64) {
    // Open first, so only the clock read, one write and the exit are left
    // between the stamp and the moment the init can see the child exit.
    let mut out = std::fs::File::create(path).unwrap_or_else(|_| die("cannot create stamp file"));
    std::thread::sleep(Duration::from_millis(ms));
    let line = format!("{}\n", monotonic_ns());
    let _ = out.write_all(line.as_bytes());
    // SAFETY: ends the process at once; nothing is left to flush.
    unsafe { _exit(0) };
}

fn exit_lag(args: &[String]) {
    let dir = arg(args, 0);
    let rounds: usize = arg(args, 1).parse().unwrap_or_else(|_| die("ROUNDS"));
    let settle: u64 = arg(args, 2).parse().unwrap_or_else(|_| die("SETTLE_MS"));
    let gap: u64 = arg(args, 3).parse().unwrap_or_else(|_| die("GAP_MS"));
    let inits: Vec<(&str, Vec<&str>)> = args[4..]
        .iter()
        .map(|a| {
            let (name, cmd) = a.split_once('=').unwrap_or_else(|| die("NAME=INIT"));
            (name, cmd.split_whitespace().collect())
        })
        .collect();
    if inits.is_empty() {
        die("no init to measure");
    }
    let me = std::env::current_exe().unwrap_or_else(|_| die("cannot find own path"));
    let mut lags: Vec<Vec<i128>> = vec![Vec::new(); inits.len()];
    for round in 0..rounds {
        let mut running: Vec<(i32, usize, String)> = Vec::new();
        for (i, (name, cmd)) in inits.iter().enumerate() {
            let slot = ((i + round) % inits.len()) as u64;
            let stamp = format!("{dir}/{name}.{round}");
            let child = std::process::Command::new(cmd[0])
                .args(&cmd[1..])
                .arg(&me)
                .arg("exit-stamp")
                .arg(&stamp)
                .arg((settle + slot * gap).to_string())
                .spawn()
                .unwrap_or_else(|e| die(&format!("cannot start {name}: {e}")));
            running.push((child.id() as i32, i, stamp));
        }
        while !running.is_empty() {
            let mut status = 0;
            // SAFETY: waits for any child of ours; status is a valid int.
            let pid = unsafe { waitpid(-1, &mut status, 0) };
            let seen = monotonic_ns();
            if pid < 0 {
                die("waitpid failed");
            }
            let Some(at) = running.iter().position(|r| r.0 == pid) else { continue };
            let (_, i, stamp) = running.swap_remove(at);
            if status != 0 {
                die(&format!("{} exited with wait status {status:#x}", inits[i].0));
            }
            let stamped: i128 = std::fs::read_to_string(&stamp)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or_else(|| die(&format!("{}: no stamp in {stamp}", inits[i].0)));
            lags[i].push(seen - stamped);
        }
    }
    for (i, (name, _)) in inits.iter().enumerate() {
        let us: Vec<String> = lags[i].iter().map(|ns| format!("{:.1}", *ns as f64 / 1e3)).collect();
        println!("{name} {}", us.join(" "));
    }
}
