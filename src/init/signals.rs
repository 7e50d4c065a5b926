//! Signals: the init blocks every signal it handles and takes them one at a
//! time with `sigtimedwait`, so none is lost (a blocked signal stays pending,
//! even one sent to a PID 1 that has no handler) and none interrupts the init
//! halfway through something. The child gets back the mask and the ignored
//! dispositions the init was started with (posix_spawn sets them, spawn.rs).

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use libc::c_int;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};

/// Raised by the init's own code when it is broken: never blocked, so a bug
/// still kills the init instead of being forwarded to the child.
const FAULTS: [Signal; 7] = [
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGTRAP,
    Signal::SIGSYS,
    Signal::SIGABRT,
];

/// The highest signal number (SIGRTMAX on Linux is 64 with glibc).
fn last_signal() -> c_int {
    libc::SIGRTMAX()
}

// std's runtime sets SIGPIPE to SIG_IGN before `main`, so by the time the
// init looks, the disposition it was started with is gone. A constructor in
// .init_array runs before the runtime (in test binaries too) and records it;
// /proc/self/status would already show std's SIG_IGN, and std's
// `#[unix_sigpipe]` is unstable.
static SIGPIPE_IGNORED_AT_START: AtomicBool = AtomicBool::new(false);

extern "C" fn record_sigpipe_disposition() {
    if disposition_is_ignore(libc::SIGPIPE) {
        SIGPIPE_IGNORED_AT_START.store(true, Ordering::Relaxed);
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static RECORD_SIGPIPE_DISPOSITION: extern "C" fn() = record_sigpipe_disposition;

/// The mask dokomodo was started with, when [`block_early`] blocked signals
/// before anything else ran: the child gets this one back, not the blocked
/// mask `take_over` then finds.
static MASK_AT_START: OnceLock<SigSet> = OnceLock::new();

/// Every signal the init handles (all but the fault signals).
fn handled_set() -> SigSet {
    let mut handled = SigSet::all();
    for sig in FAULTS {
        handled.remove(sig);
    }
    handled
}

/// Blocks every signal the init handles, first thing in `main`, and records
/// the mask dokomodo was started with. As PID 1 a signal with the default
/// disposition is discarded by the kernel unless it is blocked: without this
/// a SIGTERM during start-up (parsing the YAML, rendering) would be lost and
/// the daemon would start anyway. Blocked, it stays pending until the init
/// looks at it ([`take_pending_stop`], then the supervision loop). Every
/// thread started later inherits the blocked mask, so none of them can take
/// a signal meant for the supervising thread.
pub fn block_early() {
    let handled = handled_set();
    if let Ok(original) = handled.thread_swap_mask(SigmaskHow::SIG_BLOCK) {
        let _ = MASK_AT_START.set(original);
    }
}

/// Puts back the mask [`block_early`] replaced, for the commands that are
/// not an init (`check`, `render`, `wait`...): Ctrl-C must stop them as
/// usual. A signal that arrived meanwhile is delivered now, as it would have
/// been then.
pub fn release_early() {
    if let Some(original) = MASK_AT_START.get() {
        let _ = original.thread_set_mask();
    }
}

/// A stop request (SIGTERM or SIGINT) that arrived before the daemon was
/// started, taken from the pending set; None when there is none. Other
/// pending signals stay pending, for the supervision loop to forward.
pub fn take_pending_stop() -> Option<c_int> {
    let mut stops = SigSet::empty();
    stops.add(Signal::SIGTERM);
    stops.add(Signal::SIGINT);
    let pending = pending_set()?;
    // SAFETY: `pending` is an initialised sigset_t; sigismember only reads it.
    let is_pending = |sig: c_int| unsafe { libc::sigismember(&pending, sig) } == 1;
    if !is_pending(libc::SIGTERM) && !is_pending(libc::SIGINT) {
        return None;
    }
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
    // SAFETY: `stops` is an initialised sigset_t, `info` points to writable
    // memory of the right size, the timeout outlives the call. The signals
    // are blocked (block_early or take_over), so this only dequeues.
    let signo = unsafe { libc::sigtimedwait(stops.as_ref(), info.as_mut_ptr(), &zero) };
    (signo > 0).then_some(signo)
}

fn pending_set() -> Option<libc::sigset_t> {
    let mut set = MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: `set` points to writable memory of the right size, zeroed
    // (a valid empty set) and filled on success.
    if unsafe { libc::sigpending(set.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: zeroed above and filled by sigpending.
    Some(unsafe { set.assume_init() })
}

/// What the init was started with, and the set it now takes signals from.
pub struct Signals {
    handled: SigSet,
    /// The mask the init was started with; the child gets it back.
    original_mask: SigSet,
    /// SIGPIPE was ignored when the init started (std ignores it since).
    pipe_ignored_at_start: bool,
}

/// One signal taken from the pending set.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    pub signo: c_int,
    /// Sent by the init to itself, e.g. SIGPIPE from writing to a closed
    /// stderr: never forwarded.
    pub from_self: bool,
}

pub enum Wait {
    Signal(Received),
    TimedOut,
    /// `sigtimedwait` failed for a reason other than a timeout or an
    /// interruption: a bug (the set and the timeout are built here), which
    /// would repeat on every call. The caller stops the init (exit 70).
    Failed(std::io::Error),
}

impl Signals {
    /// Blocks every signal except the fault signals, remembering the mask and
    /// the ignored dispositions the init was given. Call before spawning, so
    /// a signal that arrives while the child is being spawned stays pending.
    pub fn take_over() -> nix::Result<Self> {
        let handled = handled_set();
        let current = handled.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        // After block_early, the current mask is its doing: the child gets
        // the one dokomodo was started with.
        let original_mask = MASK_AT_START.get().copied().unwrap_or(current);

        // The init changes two dispositions, and only they can differ from
        // what the child must inherit: SIGPIPE (ignored by std's runtime;
        // what it was at start was recorded before that) and SIGCHLD (set
        // back to the default below when it was ignored). Every other ignored
        // signal stays ignored across posix_spawn and exec by itself, and
        // every handler (std's SIGSEGV one) is reset to the default by them.
        let pipe_ignored_at_start = SIGPIPE_IGNORED_AT_START.load(Ordering::Relaxed);
        // With SIGCHLD ignored the kernel reaps children itself and their exit
        // statuses are lost: the init needs the default back (and the child
        // gets it too: see spawn.rs).
        if disposition_is_ignore(libc::SIGCHLD) {
            set_disposition(libc::SIGCHLD, libc::SIG_DFL);
        }

        Ok(Signals {
            handled,
            original_mask,
            pipe_ignored_at_start,
        })
    }

    /// Takes the next pending signal; blocks until one arrives, or until
    /// `deadline` if there is one (the only timer the init ever sets).
    pub fn wait(&self, deadline: Option<Instant>) -> Wait {
        loop {
            let timeout = deadline.map(|d| {
                let left = d.saturating_duration_since(Instant::now());
                libc::timespec {
                    tv_sec: libc::time_t::try_from(left.as_secs()).unwrap_or(libc::time_t::MAX),
                    tv_nsec: libc::c_long::from(left.subsec_nanos()),
                }
            });
            let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
            let timeout_ptr = timeout.as_ref().map_or(ptr::null(), ptr::from_ref);
            // SAFETY: `handled` is an initialised sigset_t, `info` points to
            // writable memory of the right size, and the timeout is null or
            // points to a timespec that outlives the call.
            let signo = unsafe {
                libc::sigtimedwait(self.handled.as_ref(), info.as_mut_ptr(), timeout_ptr)
            };
            if signo > 0 {
                // SAFETY: sigtimedwait filled `info` when it returned a signal
                // (and it was zeroed before, so it is initialised either way).
                let info = unsafe { info.assume_init() };
                return Wait::Signal(Received {
                    signo,
                    from_self: sent_by_self(&info),
                });
            }
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EAGAIN) => return Wait::TimedOut,
                // A stop and continue of the init, or a ptrace attach.
                Some(libc::EINTR) => continue,
                _ => return Wait::Failed(err),
            }
        }
    }

    /// The child's signal mask: the one the init was started with.
    pub fn original_mask(&self) -> &SigSet {
        &self.original_mask
    }

    /// The signals posix_spawn must set back to the default in the child:
    /// SIGPIPE, unless it was ignored at start (std's runtime ignores it).
    pub fn to_reset_in_child(&self) -> SigSet {
        let mut set = SigSet::empty();
        if !self.pipe_ignored_at_start {
            set.add(Signal::SIGPIPE);
        }
        set
    }
}

/// Sets `sig` to SIG_DFL or SIG_IGN.
pub fn set_disposition(sig: c_int, disposition: libc::sighandler_t) {
    debug_assert!(disposition == libc::SIG_DFL || disposition == libc::SIG_IGN);
    // SAFETY: neither SIG_DFL nor SIG_IGN is a handler that could run; the
    // call only changes how the kernel delivers `sig`.
    unsafe { libc::signal(sig, disposition) };
}

fn disposition_is_ignore(sig: c_int) -> bool {
    let mut old = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null `act` only queries; `old` points to writable memory of
    // the right size, zeroed (a valid sigaction) and filled on success.
    unsafe {
        libc::sigaction(sig, ptr::null(), old.as_mut_ptr()) == 0
            && old.assume_init().sa_sigaction == libc::SIG_IGN
    }
}

fn sent_by_self(info: &libc::siginfo_t) -> bool {
    // Kernel-generated SIGPIPE carries SI_USER and the receiver's own pid.
    // SAFETY: si_pid is meaningful for SI_USER/SI_TKILL (si_code <= 0),
    // checked first.
    info.si_code <= 0 && unsafe { info.si_pid() } == std::process::id() as libc::pid_t
}

const NAMES: [(c_int, &str); 31] = [
    (libc::SIGHUP, "HUP"),
    (libc::SIGINT, "INT"),
    (libc::SIGQUIT, "QUIT"),
    (libc::SIGILL, "ILL"),
    (libc::SIGTRAP, "TRAP"),
    (libc::SIGABRT, "ABRT"),
    (libc::SIGBUS, "BUS"),
    (libc::SIGFPE, "FPE"),
    (libc::SIGKILL, "KILL"),
    (libc::SIGUSR1, "USR1"),
    (libc::SIGSEGV, "SEGV"),
    (libc::SIGUSR2, "USR2"),
    (libc::SIGPIPE, "PIPE"),
    (libc::SIGALRM, "ALRM"),
    (libc::SIGTERM, "TERM"),
    (libc::SIGSTKFLT, "STKFLT"),
    (libc::SIGCHLD, "CHLD"),
    (libc::SIGCONT, "CONT"),
    (libc::SIGSTOP, "STOP"),
    (libc::SIGTSTP, "TSTP"),
    (libc::SIGTTIN, "TTIN"),
    (libc::SIGTTOU, "TTOU"),
    (libc::SIGURG, "URG"),
    (libc::SIGXCPU, "XCPU"),
    (libc::SIGXFSZ, "XFSZ"),
    (libc::SIGVTALRM, "VTALRM"),
    (libc::SIGPROF, "PROF"),
    (libc::SIGWINCH, "WINCH"),
    (libc::SIGIO, "IO"),
    (libc::SIGPWR, "PWR"),
    (libc::SIGSYS, "SYS"),
];

/// Parses `TERM`, `SIGTERM`, `sigterm`, `15`, `RTMIN+3`, `SIGRTMAX-1`.
pub fn parse(text: &str) -> Option<c_int> {
    let text = text.trim();
    if let Ok(n) = text.parse::<c_int>() {
        return (1..=last_signal()).contains(&n).then_some(n);
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(n, _)) = NAMES.iter().find(|(_, s)| *s == name) {
        return Some(n);
    }
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    let n = if let Some(rest) = name.strip_prefix("RTMIN") {
        min + offset(rest, '+')?
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        max - offset(rest, '-')?
    } else {
        return None;
    };
    (min..=max).contains(&n).then_some(n)
}

fn offset(rest: &str, sign: char) -> Option<c_int> {
    if rest.is_empty() {
        return Some(0);
    }
    let digits = rest.strip_prefix(sign)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `SIGTERM`, `SIGRTMIN+3`, or the number for anything else.
pub fn name(sig: c_int) -> String {
    if let Some((_, n)) = NAMES.iter().find(|(n, _)| *n == sig) {
        return format!("SIG{n}");
    }
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if sig == min {
        "SIGRTMIN".to_string()
    } else if sig > min && sig <= max {
        format!("SIGRTMIN+{}", sig - min)
    } else {
        format!("signal {sig}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_numbers_and_realtime_offsets() {
        assert_eq!(parse("TERM"), Some(libc::SIGTERM));
        assert_eq!(parse("SIGINT"), Some(libc::SIGINT));
        assert_eq!(parse("sigquit"), Some(libc::SIGQUIT));
        assert_eq!(parse("10"), Some(libc::SIGUSR1));
        assert_eq!(parse("RTMIN"), Some(libc::SIGRTMIN()));
        assert_eq!(parse("SIGRTMIN+3"), Some(libc::SIGRTMIN() + 3));
        assert_eq!(parse("RTMAX-1"), Some(libc::SIGRTMAX() - 1));
        for bad in [
            "", "0", "65", "-1", "NOPE", "RTMIN+", "RTMIN-1", "RTMAX+1", "RTMIN+99", "SIG",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for sig in 1..=last_signal() {
            if sig == 32 || sig == 33 {
                continue; // reserved by glibc, below SIGRTMIN
            }
            assert_eq!(parse(&name(sig)), Some(sig), "{}", name(sig));
        }
    }
}
