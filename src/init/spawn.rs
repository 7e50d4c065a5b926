//! Starting the child with `clone(CLONE_VM | CLONE_VFORK)` and execve, as
//! posix_spawn does: the child runs on its own small stack in the parent's
//! memory, and the parent is suspended until the child has exec'd or exited.
//! Nothing is copied, so there are no page-table copies and no copy-on-write
//! faults on either side (a plain fork cost the init's start-up a tenth of a
//! millisecond here). Everything the child needs is built before the clone;
//! the child makes only async-signal-safe calls, allocates nothing and
//! changes no memory but the report slot. A failure in the child (exec,
//! privilege drop, chdir) is written to that slot before it exits; once the
//! parent resumes, an empty slot means exec succeeded.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use libc::{c_char, c_int, pid_t};

use super::Spawn;
use super::signals::Signals;
use crate::exit;

/// PATH when the child's environment has none (glibc's and Docker's default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot run `{program}`: {reason}")]
    NotFound {
        program: String,
        reason: &'static str,
    },
    #[error("cannot run `{program}`: {reason}")]
    CannotExecute { program: String, reason: String },
    #[error("cannot run `{program}`: {what} contains a NUL byte")]
    NulByte { program: String, what: &'static str },
    #[error("cannot switch to {target}: {step}: {source}")]
    SwitchUser {
        target: String,
        step: &'static str,
        source: io::Error,
    },
    #[error("cannot enter working directory {}: {source}", dir.display())]
    Chdir { dir: PathBuf, source: io::Error },
    #[error("cannot start `{program}`: {what}: {source}")]
    System {
        program: String,
        what: &'static str,
        source: io::Error,
    },
}

impl SpawnError {
    pub fn exit_code(&self) -> u8 {
        match self {
            SpawnError::NotFound { .. } => exit::NOT_FOUND,
            SpawnError::CannotExecute { .. } => exit::CANNOT_EXECUTE,
            SpawnError::NulByte { .. }
            | SpawnError::SwitchUser { .. }
            | SpawnError::Chdir { .. } => exit::CONFIG,
            SpawnError::System { .. } => exit::IO,
        }
    }
}

/// The steps of the child that can fail, as written to the report slot.
#[derive(Clone, Copy)]
#[repr(i32)]
enum Step {
    SetGroups = 1,
    SetGid = 2,
    SetUid = 3,
    Chdir = 4,
    Exec = 5,
}

impl Step {
    fn from_i32(n: i32) -> Option<Step> {
        [
            Step::SetGroups,
            Step::SetGid,
            Step::SetUid,
            Step::Chdir,
            Step::Exec,
        ]
        .into_iter()
        .find(|s| *s as i32 == n)
    }
}

/// Everything the child needs, allocated before fork.
struct Prepared {
    /// Paths to try in order (PATH search, as execvp does it).
    candidates: Vec<CString>,
    argv: Vec<CString>,
    envp: Vec<CString>,
    cwd: Option<CString>,
    /// Only set when the init is root and a user was asked for.
    user: Option<(Vec<libc::gid_t>, libc::gid_t, libc::uid_t)>,
    /// The init owns the terminal's foreground: hand it to the child's group.
    take_terminal: bool,
}

/// Starts the child in its own process group; returns its pid once exec has
/// succeeded.
pub fn start(spawn: &Spawn, signals: &Signals) -> Result<pid_t, SpawnError> {
    let program = spawn.program.to_string_lossy().into_owned();
    let prepared = prepare(spawn, &program)?;
    let argv = null_terminated(&prepared.argv);
    let envp = null_terminated(&prepared.envp);
    let child = Child {
        prepared: &prepared,
        argv: &argv,
        envp: &envp,
        signals,
        report: AtomicU64::new(0),
    };
    // The child's stack: execve and the few calls before it need little.
    // Left uninitialised (capacity, not zeroed length): the child touches
    // only the pages at its top, and zeroing the rest cost 16 page faults.
    let mut stack: Vec<u8> = Vec::with_capacity(CHILD_STACK_BYTES);
    // SAFETY: the stack top is one past the end of the allocation, 16-byte
    // aligned (the x86-64 ABI); the child writes only below it, within the
    // allocation, and never reads what it did not write. `stack` and `child`
    // outlive the child's use of them: CLONE_VFORK suspends this thread until
    // the child has exec'd or exited. `child_main` only makes
    // async-signal-safe calls.
    let pid = unsafe {
        let top = stack.as_mut_ptr().add(stack.capacity());
        let top = top.sub(top as usize % 16);
        libc::clone(
            child_main,
            top.cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&raw const child).cast_mut().cast(),
        )
    };
    if pid < 0 {
        return Err(SpawnError::System {
            program,
            what: "clone",
            source: io::Error::last_os_error(),
        });
    }
    let Some((step, errno)) = decode_report(child.report.load(Ordering::Relaxed)) else {
        return Ok(pid);
    };
    super::reap::wait_for(pid);
    Err(describe(spawn, &program, step, errno))
}

/// The child's stack size: 64 KiB, of which it touches a few pages.
const CHILD_STACK_BYTES: usize = 64 * 1024;

/// What the child reads, and the slot where it reports a failure: step in
/// the high 32 bits, errno in the low 32; zero while nothing failed.
struct Child<'a> {
    prepared: &'a Prepared,
    argv: &'a [*const c_char],
    envp: &'a [*const c_char],
    signals: &'a Signals,
    report: AtomicU64,
}

fn prepare(spawn: &Spawn, program: &str) -> Result<Prepared, SpawnError> {
    let nul = |what| SpawnError::NulByte {
        program: program.to_string(),
        what,
    };
    let cstring = |s: &OsStr, what| CString::new(s.as_bytes()).map_err(|_| nul(what));

    if spawn.program.is_empty() {
        return Err(SpawnError::NotFound {
            program: program.to_string(),
            reason: "empty command",
        });
    }
    let mut argv = vec![cstring(&spawn.program, "the command")?];
    for arg in &spawn.args {
        argv.push(cstring(arg, "an argument")?);
    }
    let mut envp = Vec::with_capacity(spawn.env.len());
    for (key, value) in &spawn.env {
        // `KEY=VALUE` and its NUL in one allocation.
        let (key, value) = (key.as_bytes(), value.as_bytes());
        let mut pair = Vec::with_capacity(key.len() + value.len() + 2);
        pair.extend_from_slice(key);
        pair.push(b'=');
        pair.extend_from_slice(value);
        envp.push(CString::new(pair).map_err(|_| nul("the environment"))?);
    }

    let candidates = if spawn.program.as_bytes().contains(&b'/') {
        vec![argv[0].clone()]
    } else {
        let path = spawn
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_os_str())
            .unwrap_or(OsStr::new(DEFAULT_PATH));
        let mut candidates = Vec::new();
        for dir in path.as_bytes().split(|&b| b == b':') {
            // An empty PATH entry means the current directory.
            let dir = if dir.is_empty() { b".".as_slice() } else { dir };
            let mut full = dir.to_vec();
            full.push(b'/');
            full.extend_from_slice(spawn.program.as_bytes());
            candidates.push(CString::new(full).map_err(|_| nul("PATH"))?);
        }
        candidates
    };

    let cwd = match &spawn.cwd {
        Some(dir) => Some(cstring(dir.as_os_str(), "the working directory")?),
        None => None,
    };
    let user = spawn
        .user
        .as_ref()
        .filter(|_| crate::init::user::is_root())
        .map(|t| (t.groups.clone(), t.gid, t.uid));

    Ok(Prepared {
        candidates,
        argv,
        envp,
        cwd,
        user,
        take_terminal: owns_terminal_foreground(),
    })
}

/// True when stdin is a terminal whose foreground group is the init's own,
/// i.e. Ctrl-C there is meant for what the init runs.
fn owns_terminal_foreground() -> bool {
    // SAFETY: tcgetpgrp and getpgrp have no memory effects.
    unsafe {
        let foreground = libc::tcgetpgrp(libc::STDIN_FILENO);
        foreground > 0 && foreground == libc::getpgrp()
    }
}

fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The child, between clone and exec. Never returns: it execs or exits.
extern "C" fn child_main(arg: *mut libc::c_void) -> c_int {
    // SAFETY: `arg` is the `Child` that `start` passed, alive until this
    // child execs or exits (CLONE_VFORK).
    let child = unsafe { &*arg.cast::<Child>() };
    let Child {
        prepared,
        argv,
        envp,
        signals,
        report,
    } = child;
    // SAFETY (whole function): only async-signal-safe calls on memory
    // prepared before the clone; nothing here allocates or takes a lock.
    // The privilege drop uses raw system calls: glibc's wrappers would, in a
    // process with threads, signal the parent's threads to change their
    // credentials too, and this child shares the parent's memory.
    unsafe {
        // Own process group, so the init can signal the daemon and all it
        // starts as one, and a terminal's Ctrl-C reaches them directly. The
        // parent runs again only after this (CLONE_VFORK), so the group
        // exists before the init can signal it.
        libc::setpgid(0, 0);
        if prepared.take_terminal {
            // SIGTTOU is still blocked here, so a background group may do
            // this; without a terminal there is nothing to take.
            libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid());
        }
        if let Some((groups, gid, uid)) = &prepared.user {
            // gosu's order: groups and gid while still root, uid last.
            if libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) != 0 {
                fail(report, Step::SetGroups);
            }
            if libc::syscall(libc::SYS_setgid, *gid) != 0 {
                fail(report, Step::SetGid);
            }
            if libc::syscall(libc::SYS_setuid, *uid) != 0 {
                fail(report, Step::SetUid);
            }
        }
        if let Some(dir) = &prepared.cwd {
            if libc::chdir(dir.as_ptr()) != 0 {
                fail(report, Step::Chdir);
            }
        }
        signals.restore_in_child();

        // execvp's search: skip entries where the file is missing, remember
        // a permission error, stop at any other error.
        let mut errno = libc::ENOENT;
        for path in &prepared.candidates {
            libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            match last_errno() {
                libc::ENOENT | libc::ENOTDIR => {}
                libc::EACCES => errno = libc::EACCES,
                other => {
                    errno = other;
                    break;
                }
            }
        }
        send_report(report, Step::Exec, errno);
        libc::_exit(if errno == libc::ENOENT {
            exit::NOT_FOUND
        } else {
            exit::CANNOT_EXECUTE
        } as c_int)
    }
}

fn last_errno() -> c_int {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

fn fail(report: &AtomicU64, step: Step) -> ! {
    send_report(report, step, last_errno());
    // SAFETY: _exit is async-signal-safe and skips Rust's and libc's cleanup,
    // which must not run in a child sharing the parent's memory.
    unsafe { libc::_exit(exit::CONFIG as c_int) }
}

fn send_report(report: &AtomicU64, step: Step, errno: c_int) {
    report.store(
        u64::from(step as u32) << 32 | u64::from(errno as u32),
        Ordering::Relaxed,
    );
}

/// The child's report: None when it exec'd without writing one.
fn decode_report(report: u64) -> Option<(Step, c_int)> {
    let step = Step::from_i32((report >> 32) as i32)?;
    Some((step, report as u32 as c_int))
}

fn describe(spawn: &Spawn, program: &str, step: Step, errno: c_int) -> SpawnError {
    let source = io::Error::from_raw_os_error(errno);
    let has_slash = spawn.program.as_bytes().contains(&b'/');
    let target = spawn
        .user
        .as_ref()
        .map(|t| t.to_string())
        .unwrap_or_default();
    let switch = |step| SpawnError::SwitchUser {
        target: target.clone(),
        step,
        source: io::Error::from_raw_os_error(errno),
    };
    match step {
        Step::SetGroups => switch("setgroups"),
        Step::SetGid => switch("setgid"),
        Step::SetUid => switch("setuid"),
        Step::Chdir => SpawnError::Chdir {
            dir: spawn.cwd.clone().unwrap_or_default(),
            source,
        },
        Step::Exec if errno == libc::ENOENT && has_slash && Path::new(&spawn.program).exists() => {
            SpawnError::CannotExecute {
                program: program.to_string(),
                reason: "bad interpreter (the #! line names a missing program)".to_string(),
            }
        }
        Step::Exec if errno == libc::ENOENT => SpawnError::NotFound {
            program: program.to_string(),
            reason: if has_slash {
                "no such file"
            } else {
                "command not found in PATH"
            },
        },
        Step::Exec => {
            let is_dir = has_slash && Path::new(&spawn.program).is_dir();
            let reason = if is_dir {
                "is a directory".to_string()
            } else {
                match errno {
                    libc::EACCES => "permission denied (not executable?)".to_string(),
                    libc::ENOEXEC => "not an executable format (missing #! line?)".to_string(),
                    _ => source.to_string(),
                }
            };
            SpawnError::CannotExecute {
                program: program.to_string(),
                reason,
            }
        }
    }
}

/// Marks every descriptor above stderr close-on-exec, so nothing the init
/// inherited (or that whoever called `supervise` opened) leaks into the
/// daemon. Descriptors Rust opens are close-on-exec already.
pub fn keep_inherited_fds_from_child() {
    // SAFETY: close_range with CLOEXEC only changes descriptor flags.
    let done =
        unsafe { libc::close_range(3, libc::c_uint::MAX, libc::CLOSE_RANGE_CLOEXEC as c_int) } == 0;
    if done {
        return;
    }
    // Kernels before 5.11: walk /proc/self/fd instead.
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        crate::warn!("cannot list /proc/self/fd: descriptors above 2 may leak into the child");
        return;
    };
    let fds: Vec<c_int> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: F_SETFD only changes this descriptor's flags; a stale
        // number (the directory's own fd, now closed) fails with EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

#[cfg(test)]
mod tests {
    use super::super::reap::{Ended, wait_for};
    use super::*;
    use std::ffi::OsString;

    fn spawn(program: &str, args: &[&str], cwd: Option<&str>) -> Spawn {
        Spawn {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
            env: vec![("PATH".into(), DEFAULT_PATH.into())],
            cwd: cwd.map(PathBuf::from),
            user: None,
        }
    }

    fn start_in_test(spawn: &Spawn) -> Result<pid_t, SpawnError> {
        // Blocks signals on this test thread only (pthread_sigmask).
        let signals = Signals::take_over().expect("block signals");
        start(spawn, &signals)
    }

    #[test]
    fn the_child_runs_in_its_own_process_group_with_its_exit_status() {
        let pid = start_in_test(&spawn("sh", &["-c", "exit 7"], None)).expect("started");
        // SAFETY: getpgid has no memory effects.
        let group = unsafe { libc::getpgid(pid) };
        // The child may already be a zombie; its group is still its own.
        assert_eq!(group, pid);
        assert_eq!(wait_for(pid), Some(Ended::Exited(7)));
    }

    #[test]
    fn a_failed_chdir_comes_back_as_a_config_error() {
        let err = start_in_test(&spawn("true", &[], Some("/no/such/dir"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot enter working directory /no/such/dir: No such file or directory (os error 2)"
        );
        assert_eq!(err.exit_code(), exit::CONFIG);
    }

    #[test]
    fn exec_errors_come_back_with_their_errno() {
        let err = start_in_test(&spawn("no-such-program-anywhere", &[], None)).unwrap_err();
        assert_eq!(err.exit_code(), exit::NOT_FOUND);
        let err = start_in_test(&spawn("/etc/passwd", &[], None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot run `/etc/passwd`: permission denied (not executable?)"
        );
        assert_eq!(err.exit_code(), exit::CANNOT_EXECUTE);
    }
}
