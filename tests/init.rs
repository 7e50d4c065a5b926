//! `dokomodo init` run as a user would: the real binary, as PID 1 of a fresh
//! PID namespace (`unshare --pid --fork --mount-proc`) and as a plain process
//! (subreaper). Needs root, like the containers it is for. Test children are
//! small `sh` scripts; `$PPID` in them is the init.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dokomodo");

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// PID 1 of a new PID namespace.
    Pid1,
    /// An ordinary process, which registers as child subreaper.
    Subreaper,
}
use Mode::*;

const MODES: [Mode; 2] = [Pid1, Subreaper];

/// One run of `dokomodo init ARGS`, built up then `run()`.
struct Init {
    command: Command,
}

/// `dokomodo init ARGS...` in `mode`.
fn init(mode: Mode, args: &[&str]) -> Init {
    let mut command = match mode {
        Pid1 => {
            let mut c = Command::new("unshare");
            // --kill-child: if the test times out and kills unshare, the
            // namespace goes with it.
            c.args(["--pid", "--fork", "--mount-proc", "--kill-child", BIN]);
            c
        }
        Subreaper => Command::new(BIN),
    };
    command.arg("init").args(args);
    command
        .env_remove("DOKOMODO_GRACE")
        .env_remove("DOKOMODO_STOP_SIGNAL")
        .env_remove("DOKOMODO_USER");
    Init { command }
}

/// `dokomodo init [OPTIONS] -- sh -c SCRIPT`.
fn init_sh(mode: Mode, options: &[&str], script: &str) -> Init {
    let mut args = options.to_vec();
    args.extend(["--", "sh", "-c", script]);
    init(mode, &args)
}

struct Done {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Init {
    fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Starts the init with these signals ignored and these blocked, as a
    /// parent process might have left them.
    fn given(mut self, ignored: &'static [i32], blocked: &'static [i32]) -> Self {
        // SAFETY: runs in the forked child before exec; only calls
        // async-signal-safe libc functions on stack data.
        unsafe {
            self.command.pre_exec(move || {
                for &sig in ignored {
                    libc::signal(sig, libc::SIG_IGN);
                }
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                for &sig in blocked {
                    libc::sigaddset(&mut set, sig);
                }
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                Ok(())
            });
        }
        self
    }

    /// Runs to the end; fails the test if it takes more than 30 s.
    fn run(mut self) -> Done {
        let start = Instant::now();
        let mut child = self
            .command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            out.read_to_string(&mut s).ok();
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            err.read_to_string(&mut s).ok();
            s
        });
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(30) {
                child.kill().ok();
                child.wait().ok();
                panic!("timed out; stderr so far: {}", err.join().unwrap());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = start.elapsed();
        let done = Done {
            code: status
                .code()
                .unwrap_or_else(|| panic!("init died of a signal: {status:?}")),
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
            elapsed,
        };
        eprintln!(
            "--- {:?} -> {} in {:?}\n{}",
            self.command, done.code, done.elapsed, done.stderr
        );
        done
    }
}

/// A fresh directory for files the test children write.
fn scratch() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dokomodo-init-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    // World-writable, for children running as nobody.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn rtmin_plus_3() -> i32 {
    libc::SIGRTMIN() + 3
}

// ---- exit status ----------------------------------------------------------

#[test]
fn every_exit_status_passes_through() {
    for mode in MODES {
        for code in 0..=255 {
            let done = init_sh(mode, &[], &format!("exit {code}")).run();
            assert_eq!(done.code, code, "{mode:?}");
        }
    }
}

#[test]
fn death_by_signal_is_128_plus_the_signal() {
    for mode in MODES {
        for (sig, code) in [("TERM", 143), ("KILL", 137), ("SEGV", 139)] {
            let done = init_sh(mode, &[], &format!("ulimit -c 0; kill -{sig} $$")).run();
            assert_eq!(done.code, code, "{mode:?} {sig}");
        }
    }
}

#[test]
fn missing_command_is_127_and_unexecutable_is_126_with_one_line_naming_it() {
    for mode in MODES {
        for (cmd, code, says) in [
            (
                "/no/such/daemon",
                127,
                "cannot run `/no/such/daemon`: no such file",
            ),
            (
                "no-such-daemon",
                127,
                "cannot run `no-such-daemon`: command not found in PATH",
            ),
            ("/etc", 126, "cannot run `/etc`: is a directory"),
            (
                "/etc/passwd",
                126,
                "cannot run `/etc/passwd`: permission denied",
            ),
        ] {
            let done = init(mode, &["--", cmd]).run();
            assert_eq!(done.code, code, "{mode:?} {cmd}");
            assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
            assert!(
                done.stderr.starts_with(&format!("dokomodo: error: {says}")),
                "{}",
                done.stderr
            );
        }
    }
}

#[test]
fn usage_and_configuration_errors() {
    let done = init(Subreaper, &[]).run();
    assert_eq!(done.code, 64);
    assert!(done.stderr.contains("no command given"), "{}", done.stderr);

    let done = init(Subreaper, &["--grace", "soon", "--", "true"]).run();
    assert_eq!(done.code, 64);
    assert!(
        done.stderr
            .contains("--grace: `soon` is not a number of seconds"),
        "{}",
        done.stderr
    );

    let done = init(Subreaper, &["--", "true"])
        .env("DOKOMODO_GRACE", "soon")
        .run();
    assert_eq!(done.code, 78);
    assert_eq!(
        done.stderr,
        "dokomodo: error: DOKOMODO_GRACE: `soon` is not a number of seconds\n"
    );

    let done = init(Subreaper, &["--", "true"])
        .env("DOKOMODO_STOP_SIGNAL", "SIGNOPE")
        .run();
    assert_eq!(done.code, 78);
    assert!(
        done.stderr.contains("DOKOMODO_STOP_SIGNAL"),
        "{}",
        done.stderr
    );

    let done = init(Subreaper, &["--help"]).run();
    assert_eq!(done.code, 0);
    assert!(
        done.stdout.starts_with("Usage: dokomodo init"),
        "{}",
        done.stdout
    );
}

// ---- signals ----------------------------------------------------------------

/// A child that traps each of `signals`, appends its name to `got` when it
/// arrives, and sends `send` to the init one at a time, waiting for each.
fn echo_signals_script(got: &Path, traps: &[&str], send: &[&str]) -> String {
    let got = got.display();
    let mut script = String::new();
    for s in traps {
        script += &format!("trap 'echo {s} >> {got}' {s}\n");
    }
    for s in send {
        script += &format!(
            "kill -{s} $PPID\n\
             n=0; until grep -qx {s} {got} 2>/dev/null; do n=$((n+1)); [ $n -gt 500 ] && exit 99; sleep 0.01; done\n"
        );
    }
    script + "exit 0\n"
}

#[test]
fn every_catchable_signal_is_forwarded_as_sent() {
    let rt = rtmin_plus_3().to_string();
    // INT last: it starts the grace period, and a second TERM or INT would
    // then mean SIGKILL.
    let signals = [
        "HUP", "QUIT", "USR1", "USR2", "WINCH", "CONT", "ALRM", "PIPE", &rt, "INT",
    ];
    for mode in MODES {
        let dir = scratch();
        let got = dir.join("got");
        let done = init_sh(mode, &[], &echo_signals_script(&got, &signals, &signals)).run();
        assert_eq!(done.code, 0, "{mode:?}: {}", read(&got));
        assert_eq!(read(&got).lines().collect::<Vec<_>>(), signals, "{mode:?}");
    }
}

#[test]
fn term_reaches_the_child_as_the_stop_signal() {
    for mode in MODES {
        for (options, env, expect) in [
            (vec![], None, "TERM"),
            (vec!["--stop-signal", "SIGUSR1"], None, "USR1"),
            (vec![], Some("QUIT"), "QUIT"),
            (vec!["--stop-signal", "usr2"], Some("QUIT"), "USR2"),
        ] {
            let dir = scratch();
            let got = dir.join("got");
            let script = format!(
                "for s in TERM USR1 USR2 QUIT; do trap \"echo $s > {g}; exit 0\" $s; done\n\
                 kill -TERM $PPID; while :; do sleep 0.05; done",
                g = got.display()
            );
            let mut run = init_sh(mode, &options, &script);
            if let Some(sig) = env {
                run = run.env("DOKOMODO_STOP_SIGNAL", sig);
            }
            let done = run.run();
            assert_eq!(done.code, 0, "{mode:?} {options:?}");
            assert_eq!(read(&got).trim(), expect, "{mode:?} {options:?} {env:?}");
        }
    }
}

#[test]
fn a_burst_of_signals_leaves_the_init_alive() {
    let rt = rtmin_plus_3();
    for mode in MODES {
        // 6000 signals, standard and real-time (which queue), from the child
        // itself; the child ignores what comes back to it.
        let script = format!(
            "trap '' USR1 USR2 {rt}\n\
             i=0; while [ $i -lt 2000 ]; do kill -USR1 $PPID; kill -USR2 $PPID; kill -{rt} $PPID; i=$((i+1)); done 2>/dev/null\n\
             exit 7"
        );
        let done = init_sh(mode, &[], &script).run();
        assert_eq!(done.code, 7, "{mode:?}");
    }
}

/// SigBlk and SigIgn of the process that ran `grep ^Sig /proc/self/status`,
/// without signals 32 and 33: glibc reserves them, and a static glibc test
/// binary hands them to its children ignored, which the init passes on.
fn mask_and_ignored(stdout: &str) -> (u64, u64) {
    let field = |name: &str| {
        let line = stdout.lines().find(|l| l.starts_with(name)).expect(stdout);
        let hex = line.split_whitespace().nth(1).unwrap();
        u64::from_str_radix(hex, 16).unwrap() & !(0b11 << 31)
    };
    (field("SigBlk:"), field("SigIgn:"))
}

fn bits(signals: &[i32]) -> u64 {
    signals.iter().map(|s| 1u64 << (s - 1)).sum()
}

#[test]
fn terminal_stop_signals_do_not_stop_the_init() {
    // Sent to a background init by the terminal; default action: stop. A
    // stopped init would never report the exit and the test would time out.
    for mode in MODES {
        let done = init_sh(
            mode,
            &[],
            "kill -TTIN $PPID; kill -TTOU $PPID; sleep 0.2; exit 6",
        )
        .run();
        assert_eq!(done.code, 6, "{mode:?}");
    }
}

#[test]
fn the_child_gets_an_empty_mask_and_no_ignored_signals() {
    for mode in MODES {
        let done = init(mode, &["--", "grep", "^Sig", "/proc/self/status"]).run();
        assert_eq!(done.code, 0);
        assert_eq!(mask_and_ignored(&done.stdout), (0, 0), "{mode:?}");
    }
}

#[test]
fn the_child_gets_the_mask_and_ignored_signals_the_init_was_given() {
    let done = init(Subreaper, &["--", "grep", "^Sig", "/proc/self/status"])
        .given(
            &[libc::SIGHUP, libc::SIGPIPE, libc::SIGCHLD],
            &[libc::SIGUSR2],
        )
        .run();
    // Also shows that an init started with SIGCHLD ignored still gets its
    // child's status (or it would hang). SIGCHLD reaches the child as the
    // default: posix_spawn cannot set it to ignored, and ignoring it in the
    // init while spawning would let the kernel discard a quick child's status.
    assert_eq!(done.code, 0);
    assert_eq!(
        mask_and_ignored(&done.stdout),
        (bits(&[libc::SIGUSR2]), bits(&[libc::SIGHUP, libc::SIGPIPE]))
    );
}

// ---- reaping ------------------------------------------------------------------

#[test]
fn a_thousand_orphans_are_reaped_and_the_status_kept() {
    for mode in MODES {
        let dir = scratch();
        let zombies = dir.join("zombies");
        // Each `(true &)` leaves an orphan re-parented to the init. Then
        // count zombies whose parent is the init until none is left.
        let script = format!(
            "i=0; while [ $i -lt 1000 ]; do (true &); i=$((i+1)); done\n\
             count() {{ for f in /proc/[0-9]*/status; do grep -q '^State:.*Z' $f 2>/dev/null && grep -q \"^PPid:[[:space:]]*$PPID\\$\" $f && echo; done | wc -l; }}\n\
             n=0; while [ $(count) -gt 0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done\n\
             count > {z}; exit 5",
            z = zombies.display()
        );
        let done = init_sh(mode, &[], &script).run();
        assert_eq!(done.code, 5, "{mode:?}");
        assert_eq!(read(&zombies).trim(), "0", "{mode:?}");
    }
}

// ---- stopping ---------------------------------------------------------------

#[test]
fn a_child_ignoring_the_stop_signal_is_killed_after_the_grace() {
    for mode in MODES {
        let done = init_sh(
            mode,
            &["--grace", "1"],
            "trap '' TERM; kill -TERM $PPID; sleep 30",
        )
        .run();
        assert_eq!(done.code, 137, "{mode:?}");
        assert!(
            done.elapsed >= Duration::from_millis(900),
            "{:?}",
            done.elapsed
        );
        assert!(done.elapsed < Duration::from_secs(10), "{:?}", done.elapsed);
        assert!(done.stderr.contains("sending SIGKILL"), "{}", done.stderr);
    }
    // The same through the environment.
    let done = init_sh(Pid1, &[], "trap '' TERM; kill -TERM $PPID; sleep 30")
        .env("DOKOMODO_GRACE", "1")
        .run();
    assert_eq!(done.code, 137);
    assert!(done.elapsed < Duration::from_secs(10), "{:?}", done.elapsed);
}

#[test]
fn a_second_term_or_int_during_the_grace_kills_at_once() {
    for mode in MODES {
        for (first, second) in [("TERM", "TERM"), ("TERM", "INT"), ("INT", "TERM")] {
            let script = format!(
                "trap '' TERM INT; kill -{first} $PPID; sleep 0.3; kill -{second} $PPID; sleep 30"
            );
            let done = init_sh(mode, &["--grace", "60"], &script).run();
            assert_eq!(done.code, 137, "{mode:?}");
            assert!(done.elapsed < Duration::from_secs(10), "{:?}", done.elapsed);
        }
    }
}

#[test]
fn leftovers_get_term_when_the_main_child_exits() {
    for mode in MODES {
        let dir = scratch();
        let got = dir.join("got");
        // An orphan in its own session (out of the child's group) that
        // records SIGTERM and exits.
        let script = format!(
            "(setsid sh -c \"trap 'echo TERM > {g}; exit 0' TERM; while :; do sleep 0.1; done\" &)\n\
             sleep 0.3; exit 3",
            g = got.display()
        );
        let done = init_sh(mode, &["--grace", "20"], &script).run();
        assert_eq!(done.code, 3, "{mode:?}");
        assert_eq!(read(&got).trim(), "TERM", "{mode:?}");
        assert!(done.elapsed < Duration::from_secs(10), "{:?}", done.elapsed);
    }
}

#[test]
fn leftovers_ignoring_term_are_killed_after_the_grace() {
    for mode in MODES {
        let dir = scratch();
        let pid_file = dir.join("pid");
        let script = format!(
            "(setsid sh -c \"trap '' TERM; exec sleep 1000\" & echo $! > {p})\n\
             sleep 1000 &\n\
             sleep 0.3; exit 4",
            p = pid_file.display()
        );
        let done = init_sh(mode, &["--grace", "1"], &script).run();
        assert_eq!(done.code, 4, "{mode:?}");
        assert!(
            done.elapsed >= Duration::from_millis(900),
            "{:?}",
            done.elapsed
        );
        assert!(done.elapsed < Duration::from_secs(10), "{:?}", done.elapsed);
        if let Subreaper = mode {
            // Host pid: it must be gone (killed and reaped), not a zombie.
            let pid = read(&pid_file).trim().to_string();
            assert!(
                !Path::new(&format!("/proc/{pid}")).exists(),
                "leftover {pid} still there"
            );
        }
    }
}

// ---- hygiene ----------------------------------------------------------------

#[test]
fn no_descriptor_leaks_into_the_child() {
    for mode in MODES {
        // fd 7 is open (not close-on-exec) when the init starts.
        let args = ["--", "ls", "/proc/self/fd"];
        let mut run = match mode {
            Pid1 => {
                let mut c = Command::new("unshare");
                c.args([
                    "--pid",
                    "--fork",
                    "--mount-proc",
                    "--kill-child",
                    "sh",
                    "-c",
                ]);
                c
            }
            Subreaper => {
                let mut c = Command::new("sh");
                c.arg("-c");
                c
            }
        };
        run.arg(format!(
            "exec 7</etc/passwd; exec {BIN} init {}",
            args.join(" ")
        ));
        let done = Init { command: run }.run();
        assert_eq!(done.code, 0);
        // 3 is the directory ls itself opens.
        assert_eq!(
            done.stdout.split_whitespace().collect::<Vec<_>>(),
            ["0", "1", "2", "3"],
            "{mode:?}"
        );
    }
}

#[test]
fn the_seed_never_reaches_the_child_environment() {
    for mode in MODES {
        let done = init(mode, &["--", "cat", "/proc/self/environ"])
            .env("DOKOMODO_SEED", "correct horse battery staple")
            .env("DOKOMODO_SEED_FILE", "/run/secrets/seed")
            .env("KEPT", "yes")
            .run();
        assert_eq!(done.code, 0);
        let vars: Vec<&str> = done.stdout.split('\0').collect();
        assert!(vars.contains(&"KEPT=yes"), "{vars:?}");
        assert!(
            !vars.iter().any(|v| v.starts_with("DOKOMODO_SEED")),
            "{vars:?}"
        );
        assert!(!done.stderr.contains("horse"), "{}", done.stderr);
    }
}

#[test]
fn with_a_terminal_the_child_group_is_in_the_foreground() {
    // `script` runs the init on a new pseudo-terminal, as `docker run -t`
    // does. The child is in its own group, and that group is the
    // terminal's foreground group, so Ctrl-C goes to it.
    let check = "set -- $(cat /proc/self/stat); me=$5; fg=$8; set -- $(cat /proc/$PPID/stat); echo \"child=$me fg=$fg init=$5\"";
    let inner = format!("{BIN} init -- sh -c '{check}'");
    let done = Init {
        command: {
            let mut c = Command::new("script");
            c.args(["-qec", &inner, "/dev/null"]);
            c
        },
    }
    .run();
    assert_eq!(done.code, 0, "{}", done.stdout);
    let line = done
        .stdout
        .lines()
        .find(|l| l.starts_with("child="))
        .expect(&done.stdout);
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(field("child"), field("fg"), "{line}");
    assert_ne!(field("child"), field("init"), "{line}");
}

#[test]
fn with_a_terminal_ctrl_c_goes_straight_to_the_child() {
    use std::io::{BufRead, BufReader, Write};
    // Type Ctrl-C once the init says it started CMD (by then CMD's group has
    // the terminal). SIGINT must reach CMD from the terminal, not through
    // the init, which would log "received SIGINT".
    let mut script = Command::new("script")
        .args(["-qec", &format!("{BIN} init -- sleep 30"), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut keyboard = script.stdin.take().unwrap();
    let mut screen = BufReader::new(script.stdout.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while screen.read_line(&mut line).unwrap() > 0 {
        seen += &line;
        if line.contains("info: started") {
            keyboard.write_all(b"\x03").unwrap();
        }
        line.clear();
    }
    let status = script.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("killed by SIGINT"), "{seen}");
    assert!(!seen.contains("received SIGINT"), "{seen}");
}

// ---- privilege drop -----------------------------------------------------------

/// What `id` and HOME say inside the child.
const WHO: &str = "echo \"$(id -u) $(id -g) [$(id -G)] $HOME\"";

#[test]
fn user_option_drops_privileges_like_gosu() {
    for (spec, expect) in [
        ("nobody", "65534 65534 [65534] /nonexistent"),
        ("65534", "65534 65534 [65534] /nonexistent"),
        ("nobody:daemon", "65534 1 [1] /nonexistent"),
        ("12345", "12345 0 [0] /"),
        ("12345:54321", "12345 54321 [54321] /"),
    ] {
        for mode in MODES {
            let done = init_sh(mode, &["--user", spec], WHO)
                .env("HOME", "/root")
                .run();
            assert_eq!(done.code, 0, "{spec}");
            assert_eq!(done.stdout.trim(), expect, "{mode:?} --user {spec}");
        }
        let done = init_sh(Pid1, &[], WHO).env("DOKOMODO_USER", spec).run();
        assert_eq!(done.stdout.trim(), expect, "DOKOMODO_USER={spec}");
    }
}

#[test]
fn supplementary_groups_come_from_the_group_file() {
    let dir = scratch();
    std::fs::write(
        dir.join("passwd"),
        "komodo:x:4242:4243::/home/komodo:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("group"),
        "komodo:x:4243:\nnotary:x:4244:other,komodo\nelse:x:4245:other\n",
    )
    .unwrap();
    let done = init_sh(Pid1, &["--user", "komodo"], WHO)
        .env("DOKOMODO_PASSWD_FILE", dir.join("passwd"))
        .env("DOKOMODO_GROUP_FILE", dir.join("group"))
        .run();
    assert_eq!(done.code, 0);
    assert_eq!(done.stdout.trim(), "4242 4243 [4243 4244] /home/komodo");
}

#[test]
fn an_unknown_user_is_a_config_error() {
    for mode in MODES {
        let done = init_sh(mode, &["--user", "no-such-user"], "exit 0").run();
        assert_eq!(done.code, 78);
        assert_eq!(
            done.stderr,
            "dokomodo: error: unknown user `no-such-user` (not in /etc/passwd)\n"
        );
        let done = init_sh(mode, &["--user", "nobody:no-such-group"], "exit 0").run();
        assert_eq!(done.code, 78);
        assert!(
            done.stderr.contains("unknown group `no-such-group`"),
            "{}",
            done.stderr
        );
    }
}

#[test]
fn started_as_a_non_root_user_it_runs_without_switching() {
    // The outer init drops to nobody; the inner one, not root, is asked for
    // daemon and runs its child as nobody anyway.
    let inner = format!("{BIN} init --user daemon -- sh -c '{WHO}'");
    let done = init_sh(Subreaper, &["--user", "nobody"], &inner).run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(done.stdout.trim(), "65534 65534 [65534] /nonexistent");
    assert!(
        done.stderr.contains("not started as root"),
        "{}",
        done.stderr
    );
}

// ---- a stop during start-up -----------------------------------------------

/// The host pid of `unshare`'s child (PID 1 of the new namespace) once it
/// runs dokomodo; None if it ended first.
fn pid1_of(unshare: u32) -> Option<u32> {
    let children = format!("/proc/{unshare}/task/{unshare}/children");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let text = std::fs::read_to_string(&children).ok()?;
        if let Some(pid) = text.split_whitespace().next().and_then(|p| p.parse().ok()) {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "dokomodo" {
                return Some(pid);
            }
        }
        std::hint::spin_loop();
    }
    None
}

/// dokomodo's own code has started in `pid`: SIGTERM is blocked (what it
/// does first) or SIGPIPE is ignored (what std's runtime does before
/// `main`). Until then the kernel is still loading the binary.
fn own_code_runs(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mask = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .unwrap_or(0)
    };
    let bit = |sig: i32| 1u64 << (sig - 1);
    mask("SigBlk:") & bit(libc::SIGTERM) != 0 || mask("SigIgn:") & bit(libc::SIGPIPE) != 0
}

/// Starts `init` (a `Pid1` one), sends SIGTERM `delay` after dokomodo's exec
/// from outside the namespace, as `docker stop` does, and runs it to the end.
///
/// The only moment no program can protect is between the exec and its first
/// instruction (the kernel loading the binary: milliseconds for this debug
/// build of 20 MB on a busy machine): a signal sent then to a PID 1 with no
/// handler is discarded. The send waits out that moment (until the binary's
/// own code runs, see `own_code_runs`), so an init that blocks signals any
/// later than its first instruction, even in std's runtime, fails here.
fn stopped_after(init: Init, delay: Duration) -> Done {
    let mut init = init;
    let mut child = init
        .command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid1 = pid1_of(child.id()).expect("dokomodo started");
    let t0 = Instant::now();
    while t0.elapsed() < delay {
        std::hint::spin_loop();
    }
    let cap = Instant::now() + Duration::from_secs(2);
    while !own_code_runs(pid1) && Instant::now() < cap {}
    let sent = t0.elapsed();
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid1 as i32, libc::SIGTERM) };
    let start = Instant::now();
    let mut err = child.stderr.take().unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().ok();
            child.wait().ok();
            panic!("SIGTERM {sent:?} after exec was lost: still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut stderr = String::new();
    err.read_to_string(&mut stderr).ok();
    eprintln!(
        "--- TERM at {sent:?} -> {status:?} in {:?}\n{stderr}",
        start.elapsed()
    );
    Done {
        code: status.code().expect("exit status"),
        stdout: String::new(),
        stderr,
        elapsed: start.elapsed(),
    }
}

const INSTANTS_MS: [u64; 4] = [0, 1, 5, 20];

#[test]
fn a_stop_at_any_instant_of_start_up_is_kept_init() {
    for ms in INSTANTS_MS {
        let done = stopped_after(
            init(Pid1, &["--", "sleep", "100"]),
            Duration::from_millis(ms),
        );
        assert_eq!(done.code, 143, "TERM at {ms} ms: {}", done.stderr);
        assert!(done.elapsed < Duration::from_secs(5), "{:?}", done.elapsed);
        // Either it came before the start, or `sleep` got it.
        assert!(
            done.stderr
                .contains("received SIGTERM before `sleep` started: not starting it")
                || done.stderr.contains("sending SIGTERM to `sleep`"),
            "{}",
            done.stderr
        );
    }
}

#[test]
fn a_stop_at_any_instant_of_start_up_is_kept_run() {
    let yaml = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/all-chains.yaml");
    for ms in INSTANTS_MS {
        let dir = scratch();
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let report = dir.join("komodod.report");
        let komodod = dir.join("komodod");
        std::fs::write(
            &komodod,
            format!(
                "#!/bin/sh\necho started >> {r}\n\
                 trap 'echo stopped >> {r}; exit 143' TERM\n\
                 while :; do sleep 0.05; done\n",
                r = report.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &komodod,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let mut run = Command::new("unshare");
        run.args(["--pid", "--fork", "--mount-proc", "--kill-child", BIN])
            .args(["run", "komodod", "--chain", "KMD"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env("DOKOMODO_CONFIG", &yaml)
            .env("DOKOMODO_SEED", "correct horse battery staple")
            .env("DOKOMODO_KOMODOD", &komodod)
            .current_dir(&dir);
        let done = stopped_after(Init { command: run }, Duration::from_millis(ms));
        assert_eq!(done.code, 143, "TERM at {ms} ms: {}", done.stderr);
        assert!(done.elapsed < Duration::from_secs(5), "{:?}", done.elapsed);
        let report = read(&report);
        assert!(
            report.is_empty() || report == "started\nstopped\n",
            "the daemon never starts, or is stopped gracefully: {report:?}"
        );
        if report.is_empty() {
            // Not started, or started and stopped by the stop signal before
            // its shell got as far as writing the report.
            assert!(
                done.stderr.contains(&format!(
                    "received SIGTERM before `{}` started: not starting it; exit status 143",
                    komodod.display()
                )) || done.stderr.contains("received SIGTERM: sending SIGTERM"),
                "{}",
                done.stderr
            );
        }
        // Rendered completely or not at all: no temporary file left.
        let conf = home.join(".komodo/komodo.conf");
        let files = walk(&home);
        assert!(
            files.iter().all(
                |f| !f.file_name().unwrap().to_string_lossy().starts_with(".")
                    || f.ends_with(".komodo")
            ),
            "{files:?}"
        );
        if conf.exists() {
            assert!(read(&conf).contains("rpcpassword="), "{}", read(&conf));
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}
