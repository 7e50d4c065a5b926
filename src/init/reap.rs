//! Reaping: every child that has exited is collected with
//! `waitpid(-1, WNOHANG)`, the main child among them, and orphans re-parented
//! to the init too. Statuses are decoded from the raw int (nix's wrapper
//! mishandles real-time signals; rustix's keeps the raw status).

use libc::{c_int, pid_t};
use rustix::io::Errno;
use rustix::process::{WaitOptions, wait};

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(u8),
    Signaled(c_int),
}

impl Ended {
    /// The init's exit status: the child's own, or 128+N for signal N.
    pub fn exit_code(self) -> u8 {
        match self {
            Ended::Exited(code) => code,
            // Signal numbers stop at 64, so this cannot overflow a u8.
            Ended::Signaled(sig) => crate::exit::SIGNAL_BASE.saturating_add(sig as u8),
        }
    }

    fn decode(raw: i32) -> Option<Ended> {
        if libc::WIFEXITED(raw) {
            Some(Ended::Exited(libc::WEXITSTATUS(raw) as u8))
        } else if libc::WIFSIGNALED(raw) {
            Some(Ended::Signaled(libc::WTERMSIG(raw)))
        } else {
            None
        }
    }
}

/// What one round of reaping found.
pub struct Reaped {
    /// Set when the main child was among the reaped processes.
    pub main: Option<Ended>,
    /// No child of the init is left, dead or alive.
    pub none_left: bool,
}

/// Reaps every child that has already exited, without blocking.
pub fn reap(main: pid_t) -> Reaped {
    let mut reaped = Reaped {
        main: None,
        none_left: false,
    };
    loop {
        // rustix's `wait` is waitpid(-1): any child (its waitpid(None) is 0,
        // the caller's group only).
        match wait(WaitOptions::NOHANG) {
            Ok(Some((pid, status))) => {
                if pid.as_raw_pid() == main {
                    reaped.main = Ended::decode(status.as_raw());
                }
            }
            Err(Errno::INTR) => {}
            Err(Errno::CHILD) => {
                reaped.none_left = true;
                return reaped;
            }
            // Ok(None): children left, none exited yet.
            _ => return reaped,
        }
    }
}

/// Waits for one specific process.
#[cfg(test)]
pub fn wait_for(pid: pid_t) -> Option<Ended> {
    let pid = rustix::process::Pid::from_raw(pid)?;
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, status))) => return Ended::decode(status.as_raw()),
            Err(Errno::INTR) => {}
            _ => return None,
        }
    }
}

/// `kill(2)`: a positive pid is a process, a negative one a process group,
/// -1 every process the caller may signal. libc's, not rustix's or nix's:
/// theirs cannot name -1 or a real-time signal without unsafe code either.
fn kill(pid: pid_t, sig: c_int) -> Result<(), Errno> {
    // SAFETY: kill(2) takes no pointers and has no effect on this process's
    // memory; any pid and signal number is safe to pass (a bad one is EINVAL
    // or ESRCH).
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::INVAL))
    }
}

/// Sends `sig` to the child's process group, or to the child alone if it has
/// left its group (setsid, setpgid) or has not joined it yet.
pub fn signal_child(child: pid_t, sig: c_int) {
    if kill(-child, sig).is_err() {
        let _ = kill(child, sig);
    }
}

/// What a round of [`signal_leftovers`] achieved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sent {
    /// Some child of the init may be signalled (or none is left).
    Some,
    /// Every child of the init left refuses signals from it (EPERM):
    /// processes of another user, which a non-root init cannot signal.
    /// Waiting for them would be forever.
    AllRefused,
}

/// Sends `sig` to whatever is left once the main child has gone. As PID 1
/// that is every process of the namespace (`kill(-1)` never signals the
/// init itself). As a subreaper (where `kill(-1)` would reach the whole host)
/// it is the main child's group plus the init's own children, found in /proc,
/// and the groups they lead; `skip` lists what was already sent `sig` (a
/// negative entry is a group), and gets what is sent now. A non-root init
/// only reaches processes of its own uid; whether any child is within its
/// reach is asked of each child (`kill(-1)` succeeds if it reached anyone).
pub fn signal_leftovers(main: pid_t, sig: c_int, skip: &mut Vec<pid_t>) -> Sent {
    let children = children_of_self();
    if std::process::id() == 1 {
        let _ = kill(-1, sig);
    } else {
        if !skip.contains(&-main) {
            skip.push(-main);
            let _ = kill(-main, sig);
        }
        for &(pid, leads_group) in &children {
            if skip.contains(&pid) {
                continue;
            }
            skip.push(pid);
            let _ = kill(pid, sig);
            // A group the child leads cannot contain the init, whose own
            // group must never be signalled (it is the caller's shell's).
            if leads_group {
                let _ = kill(-pid, sig);
            }
        }
    }
    let refuses = |&(pid, _): &(pid_t, bool)| kill(pid, 0) == Err(Errno::PERM);
    if !children.is_empty() && children.iter().all(refuses) {
        Sent::AllRefused
    } else {
        Sent::Some
    }
}

/// The init's children, from /proc/*/stat, and whether each leads its group.
fn children_of_self() -> Vec<(pid_t, bool)> {
    let me = std::process::id() as pid_t;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let pid: pid_t = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace().skip(1);
        let ppid: pid_t = fields.next()?.parse().ok()?;
        let pgrp: pid_t = fields.next()?.parse().ok()?;
        (ppid == me).then_some((pid, pgrp == pid))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_pass_through_and_signals_add_128() {
        assert_eq!(Ended::Exited(0).exit_code(), 0);
        assert_eq!(Ended::Exited(255).exit_code(), 255);
        assert_eq!(Ended::Signaled(libc::SIGTERM).exit_code(), 143);
        assert_eq!(Ended::Signaled(libc::SIGKILL).exit_code(), 137);
        assert_eq!(Ended::Signaled(64).exit_code(), 192);
    }

    #[test]
    fn decodes_raw_statuses_including_realtime_signals() {
        assert_eq!(Ended::decode(3 << 8), Some(Ended::Exited(3)));
        assert_eq!(Ended::decode(libc::SIGKILL), Some(Ended::Signaled(9)));
        // Killed by SIGRTMIN+3 (37), with the core-dump bit clear.
        assert_eq!(Ended::decode(37), Some(Ended::Signaled(37)));
        // Stopped (0x7f low byte) is not an end.
        assert_eq!(Ended::decode((libc::SIGSTOP << 8) | 0x7f), None);
    }
}
