//! The init: runs one daemon as PID 1 (or as a subreaper), forwards signals,
//! reaps zombies, stops gracefully, passes on the exit status.
//!
//! The shape is tini's: take over the signals, spawn, then loop taking one
//! signal at a time (SIGCHLD means reap, TERM/INT mean stop, anything else is
//! forwarded) until the main child has been reaped; then stop whatever it
//! left behind and exit with its status. docs/init.md is the user's side.

mod command;
mod reap;
mod signals;
mod spawn;
pub mod user;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use libc::pid_t;

pub use command::{GRACE_ENV, OptionError, STOP_SIGNAL_ENV, USER_ENV, init_command};
use reap::Sent;
use signals::{Signals, Wait};

/// Long enough for komodod to flush its coin database cache on a busy chain;
/// the orchestrator's own timeout must be longer (docs/init.md).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(300);

/// How the init behaves; every field also has an environment variable.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long the daemon (and, after it, its leftovers) may take to stop
    /// before SIGKILL.
    pub grace: Duration,
    /// The signal sent to the daemon when the init is asked to stop (SIGTERM).
    pub stop_signal: i32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            grace: DEFAULT_GRACE,
            stop_signal: libc::SIGTERM,
        }
    }
}

impl Options {
    /// The defaults, overridden by `DOKOMODO_GRACE` and `DOKOMODO_STOP_SIGNAL`
    /// as `env` gives them (for `run`, which has no init flags).
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<OsString>) -> Result<Options, OptionError> {
        command::options_from(None, None, env)
    }
}

/// What to start.
#[derive(Clone, Debug)]
pub struct Spawn {
    /// Searched in the child's PATH (from `env`) when it has no slash.
    pub program: OsString,
    /// The arguments after argv[0] (which is `program`).
    pub args: Vec<OsString>,
    /// The child's whole environment (nothing else is inherited).
    pub env: Vec<(OsString, OsString)>,
    /// Entered by the init itself before it starts the child.
    pub cwd: Option<PathBuf>,
    /// Applied only when the init runs as root, to the init itself before it
    /// starts the child; otherwise the child runs as the init's own user.
    pub user: Option<crate::init::user::Target>,
}

/// Where a requested stop stands.
#[derive(Clone, Copy)]
enum Stop {
    NotAsked,
    /// The stop signal was sent; SIGKILL at the deadline (None: the grace
    /// is too long to represent, i.e. never).
    Asked {
        deadline: Option<Instant>,
    },
    Killed,
}

/// Blocks the signals the init handles, first thing in `main`, so that a
/// stop during start-up is kept rather than discarded (see
/// `signals::block_early`).
pub fn block_signals_early() {
    signals::block_early();
}

/// For commands that are not an init: the signal mask dokomodo was started
/// with, back in place.
pub fn release_early_signals() {
    signals::release_early();
}

/// A stop request (SIGTERM or SIGINT) that arrived before `program` was
/// started: logged, and returned as the status to exit with, 128+N as if
/// `program` had been stopped by it (143 for SIGTERM). `program` is then
/// never started. None when no stop is pending.
pub fn stop_before_start(program: &str) -> Option<u8> {
    let sig = signals::take_pending_stop()?;
    let code = crate::exit::SIGNAL_BASE.saturating_add(u8::try_from(sig).unwrap_or(u8::MAX));
    info!(
        "received {} before `{program}` started: not starting it; exit status {code}",
        signals::name(sig)
    );
    Some(code)
}

/// Starts the child and supervises it until it has been reaped; returns the
/// init's exit status. Call it last, from a single-threaded process, once
/// everything that needs root is done: it blocks signals for the rest of the
/// process's life and, as root with `spawn.user`, drops to that user for
/// good before it starts the child.
pub fn supervise(opts: &Options, spawn: Spawn) -> u8 {
    supervise_with(opts, spawn, None)
}

/// Work to start once the child runs (iguana's start-up sequence), given the
/// child's pid. It runs on the supervising thread, after every signal is
/// blocked and after the privilege drop, so a thread it spawns inherits the
/// blocked mask (it never steals a signal meant for the child) and never
/// runs as root.
pub type AfterStart = Box<dyn FnOnce(libc::pid_t) + Send>;

/// `supervise`, running `after_start` once the child has been started.
pub fn supervise_with(opts: &Options, spawn: Spawn, after_start: Option<AfterStart>) -> u8 {
    let signals = match Signals::take_over() {
        Ok(s) => s,
        Err(e) => {
            error!("cannot block signals: {e}");
            return crate::exit::SOFTWARE;
        }
    };
    let program = spawn.program.to_string_lossy().into_owned();
    // The last moment a stop can keep the child from starting; one that
    // comes after this stays pending and stops it gracefully.
    if let Some(code) = stop_before_start(&program) {
        return code;
    }
    become_subreaper();
    spawn::keep_inherited_fds_from_child();

    if let Some(target) = &spawn.user {
        if user::is_root() {
            // Everything that needed root (rendering, chown) is done: from
            // here on the init, the child and any thread `after_start`
            // starts run as the target user.
            if let Err(e) = user::switch_to(target) {
                error!("{e}");
                return e.exit_code();
            }
        } else {
            let uid = rustix::process::getuid().as_raw();
            info!("not started as root: running `{program}` as uid {uid}, not as {target}");
        }
    }
    let child = match spawn::start(&spawn, &signals) {
        Ok(pid) => pid,
        Err(e) => {
            error!("{e}");
            return e.exit_code();
        }
    };
    // Freed while the child starts rather than after it ends.
    drop(spawn);
    info!(
        "started `{program}` (pid {child}); on SIGTERM: {}, SIGKILL after {}",
        signals::name(opts.stop_signal),
        seconds(opts.grace)
    );
    if let Some(after_start) = after_start {
        after_start(child);
    }
    // Start-up's heap (the parsed YAML, the rendered files) is free by now;
    // glibc keeps freed heap below its top unless asked.
    // SAFETY: malloc_trim only returns free memory to the kernel.
    unsafe { libc::malloc_trim(0) };

    let mut stop = Stop::NotAsked;
    let ended = loop {
        let grace_ends = match stop {
            Stop::Asked { deadline } => deadline,
            _ => None,
        };
        let received = match signals.wait(grace_ends) {
            Wait::Signal(received) => received,
            Wait::Failed(e) => return wait_failed(&e),
            // Not the grace's end (a wake-up a hair early): wait again.
            Wait::TimedOut if grace_ends.is_none_or(|end| Instant::now() < end) => continue,
            Wait::TimedOut => {
                warn!(
                    "`{program}` still running {} after the stop signal: sending SIGKILL",
                    seconds(opts.grace)
                );
                reap::signal_child(child, libc::SIGKILL);
                stop = Stop::Killed;
                continue;
            }
        };
        match received.signo {
            libc::SIGCHLD => {
                if let Some(ended) = reap::reap(child).main {
                    break ended;
                }
            }
            libc::SIGTERM | libc::SIGINT => {
                stop = on_stop_request(stop, received.signo, child, &program, opts);
            }
            // Sent by the terminal to a background init: meant for the init,
            // and blocked so they cannot stop it.
            libc::SIGTTIN | libc::SIGTTOU => {}
            _ if received.from_self => {}
            sig => reap::signal_child(child, sig),
        }
    };

    let code = ended.exit_code();
    match ended {
        reap::Ended::Exited(status) => info!("`{program}` exited with status {status}"),
        reap::Ended::Signaled(sig) => {
            info!(
                "`{program}` was killed by {}: exit status {code}",
                signals::name(sig)
            )
        }
    }

    let deadline = match stop {
        Stop::NotAsked => Instant::now().checked_add(opts.grace),
        Stop::Asked { deadline } => deadline,
        Stop::Killed => Some(Instant::now()),
    };
    match stop_leftovers(&signals, child, deadline, opts.grace) {
        Ok(()) => code,
        Err(status) => status,
    }
}

/// TERM (translated to the stop signal) or INT (as is) starts the grace
/// period; a second one during it means "now".
fn on_stop_request(stop: Stop, sig: i32, child: pid_t, program: &str, opts: &Options) -> Stop {
    match stop {
        Stop::NotAsked => {
            let sent = if sig == libc::SIGTERM {
                opts.stop_signal
            } else {
                sig
            };
            info!(
                "received {}: sending {} to `{program}`, SIGKILL after {}",
                signals::name(sig),
                signals::name(sent),
                seconds(opts.grace)
            );
            reap::signal_child(child, sent);
            Stop::Asked {
                deadline: Instant::now().checked_add(opts.grace),
            }
        }
        Stop::Asked { .. } => {
            warn!(
                "received {} again: sending SIGKILL to `{program}`",
                signals::name(sig)
            );
            reap::signal_child(child, libc::SIGKILL);
            Stop::Killed
        }
        Stop::Killed => Stop::Killed,
    }
}

/// After the main child: TERM to whatever is left (its group, re-parented
/// orphans), KILL at the deadline or on a second TERM/INT, and reap them all
/// so the init never exits with children it has not waited for, except
/// those it may not signal (another user's, once the init is not root).
/// Err is the init's exit status when it cannot go on.
fn stop_leftovers(
    signals: &Signals,
    child: pid_t,
    deadline: Option<Instant>,
    grace: Duration,
) -> Result<(), u8> {
    if reap::reap(child).none_left {
        return Ok(());
    }
    let already_due = deadline.is_some_and(|d| d <= Instant::now());
    if !already_due {
        info!(
            "stopping leftover processes: SIGTERM, SIGKILL after {}",
            seconds(grace)
        );
        let mut termed = Vec::new();
        // Nothing that could be signalled: straight to the last round.
        let refused = reap::signal_leftovers(child, libc::SIGTERM, &mut termed) == Sent::AllRefused;
        if !refused {
            loop {
                match signals.wait(deadline) {
                    Wait::TimedOut => break,
                    Wait::Failed(e) => return Err(wait_failed(&e)),
                    Wait::Signal(r) if r.signo == libc::SIGCHLD => {
                        if reap::reap(child).none_left {
                            return Ok(());
                        }
                        // Orphans of the leftovers are re-parented to the
                        // init as their parents exit: they get SIGTERM too.
                        if std::process::id() != 1 {
                            reap::signal_leftovers(child, libc::SIGTERM, &mut termed);
                        }
                    }
                    Wait::Signal(r) if r.signo == libc::SIGTERM || r.signo == libc::SIGINT => {
                        break;
                    }
                    // The daemon is gone: nothing to forward to.
                    Wait::Signal(_) => {}
                }
            }
            warn!("leftover processes still running: sending SIGKILL");
        }
    }
    loop {
        let sent = reap::signal_leftovers(child, libc::SIGKILL, &mut Vec::new());
        if reap::reap(child).none_left {
            return Ok(());
        }
        if sent == Sent::AllRefused {
            // Orphans of another user (a root `docker exec`) that a non-root
            // init may not signal: waiting would be forever. As PID 1 the
            // kernel kills them when the init exits.
            warn!(
                "leftover processes of another user cannot be signalled by uid {}: not waiting for them",
                rustix::process::getuid().as_raw()
            );
            return Ok(());
        }
        // Killed processes go quickly; the timeout catches orphans of
        // orphans re-parented to the init after the last round.
        if let Wait::Failed(e) = signals.wait(Instant::now().checked_add(Duration::from_secs(1))) {
            return Err(wait_failed(&e));
        }
    }
}

/// `sigtimedwait` failed for a reason that would repeat on every call:
/// logged once, and the init stops rather than spin (exit 70).
fn wait_failed(e: &std::io::Error) -> u8 {
    error!("cannot wait for signals ({e}): a bug in dokomodo; exiting");
    crate::exit::SOFTWARE
}

fn become_subreaper() {
    if std::process::id() == 1 {
        return;
    }
    // Orphans of the daemon are re-parented to the init instead of to the
    // real PID 1, so the init can reap them and stop them at the end.
    if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
        warn!(
            "cannot become a child subreaper ({}): orphans will not be reaped by dokomodo",
            std::io::Error::from(e)
        );
    }
}

fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}
