//! Starting the child with fork and execve. Everything the child needs is
//! built before fork, so between fork and exec it only makes
//! async-signal-safe calls. A failure in the child (exec, privilege drop,
//! chdir) travels back to the parent over a close-on-exec pipe: end of file
//! means exec succeeded.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

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

/// The steps of the child that can fail, as sent over the report pipe.
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

/// Forks and execs the child in its own process group; returns its pid once
/// exec has succeeded.
pub fn start(spawn: &Spawn, signals: &Signals) -> Result<pid_t, SpawnError> {
    let program = spawn.program.to_string_lossy().into_owned();
    let prepared = prepare(spawn, &program)?;
    let argv = null_terminated(&prepared.argv);
    let envp = null_terminated(&prepared.envp);
    let system = |what, source| SpawnError::System {
        program: program.clone(),
        what,
        source,
    };

    let mut report: [c_int; 2] = [-1; 2];
    // SAFETY: `report` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(report.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(system("pipe", io::Error::last_os_error()));
    }
    let [report_read, report_write] = report;

    // SAFETY: the child only runs `child_after_fork`, which uses memory
    // allocated before fork and async-signal-safe calls, then execs or exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error();
        close(report_read);
        close(report_write);
        return Err(system("fork", e));
    }
    if pid == 0 {
        child_after_fork(&prepared, &argv, &envp, signals, report_write);
    }

    close(report_write);
    // The child does this too; whichever runs first wins, so a signal
    // forwarded to the group right after spawn cannot miss it.
    // SAFETY: setpgid has no memory effects; it fails harmlessly once the
    // child has exec'd.
    unsafe { libc::setpgid(pid, pid) };

    let failure = read_report(report_read);
    close(report_read);
    let Some((step, errno)) = failure else {
        return Ok(pid);
    };
    super::reap::wait_for(pid);
    Err(describe(spawn, &program, step, errno))
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
        let mut pair = OsString::from(key);
        pair.push("=");
        pair.push(value);
        envp.push(cstring(&pair, "the environment")?);
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
        .filter(|_| crate::user::is_root())
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

/// The child between fork and exec. Never returns.
fn child_after_fork(
    prepared: &Prepared,
    argv: &[*const c_char],
    envp: &[*const c_char],
    signals: &Signals,
    report: c_int,
) -> ! {
    // SAFETY (whole function): only async-signal-safe libc calls on memory
    // prepared before fork; nothing here allocates or takes a lock.
    unsafe {
        // Own process group, so the init can signal the daemon and all it
        // starts as one, and a terminal's Ctrl-C reaches them directly.
        libc::setpgid(0, 0);
        if prepared.take_terminal {
            // SIGTTOU is still blocked here, so a background group may do
            // this; without a terminal there is nothing to take.
            libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid());
        }
        if let Some((groups, gid, uid)) = &prepared.user {
            // gosu's order: groups and gid while still root, uid last.
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
                fail(report, Step::SetGroups);
            }
            if libc::setgid(*gid) != 0 {
                fail(report, Step::SetGid);
            }
            if libc::setuid(*uid) != 0 {
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

fn fail(report: c_int, step: Step) -> ! {
    send_report(report, step, last_errno());
    // SAFETY: _exit is async-signal-safe and skips Rust's and libc's cleanup,
    // which must not run in a forked child.
    unsafe { libc::_exit(exit::CONFIG as c_int) }
}

fn send_report(report: c_int, step: Step, errno: c_int) {
    let mut message = [0u8; 8];
    message[..4].copy_from_slice(&(step as i32).to_ne_bytes());
    message[4..].copy_from_slice(&errno.to_ne_bytes());
    // SAFETY: writes 8 bytes from a local buffer; a pipe write this small
    // is atomic.
    unsafe { libc::write(report, message.as_ptr().cast(), message.len()) };
}

/// Reads the child's report: None once exec closed the pipe.
fn read_report(fd: c_int) -> Option<(Step, c_int)> {
    let mut message = [0u8; 8];
    let mut got = 0;
    while got < message.len() {
        // SAFETY: reads into the unfilled tail of a local buffer.
        let n = unsafe { libc::read(fd, message[got..].as_mut_ptr().cast(), message.len() - got) };
        if n > 0 {
            got += n as usize;
        } else if n == 0 || last_errno() != libc::EINTR {
            break;
        }
    }
    if got < message.len() {
        return None;
    }
    let step = i32::from_ne_bytes([message[0], message[1], message[2], message[3]]);
    let errno = i32::from_ne_bytes([message[4], message[5], message[6], message[7]]);
    Some((Step::from_i32(step)?, errno))
}

fn close(fd: c_int) {
    // SAFETY: closes a descriptor this module opened and owns.
    unsafe { libc::close(fd) };
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
