//! Starting the child with glibc's `posix_spawn`: the hard part (a child
//! sharing the init's memory until it execs, with every handler reset before
//! the signal mask is restored) is glibc's, maintained upstream. The init
//! only describes the child:
//!
//! - its signal mask: the one the init was started with
//!   (`POSIX_SPAWN_SETSIGMASK`), set by glibc last, after the dispositions;
//! - its dispositions: SIGPIPE back to the default unless it was ignored at
//!   start (`POSIX_SPAWN_SETSIGDEF`); handlers are reset by glibc and exec,
//!   ignored signals stay ignored, but for SIGCHLD: posix_spawn can only reset
//!   to the default, so a SIGCHLD ignored at start reaches the child as the
//!   default (see [`start`]);
//! - its own process group (`POSIX_SPAWN_SETPGROUP`), and with a terminal the
//!   foreground of it (glibc's `posix_spawn_file_actions_addtcsetpgrp_np`).
//!
//! The init has already switched user and entered the working directory
//! itself, so the child needs nothing else, and a failed chdir is reported
//! as such rather than as an exec errno. posix_spawn returns the exec errno,
//! from which the 126/127 messages are made.
//!
//! nix's `spawn` module has no way to add the tcsetpgrp action (and keeps its
//! glibc objects private), so the two glibc objects are wrapped here.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libc::{c_char, c_int, pid_t};
use rustix::fs::Access;
use rustix::io::Errno;

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
            SpawnError::NulByte { .. } | SpawnError::Chdir { .. } => exit::CONFIG,
            SpawnError::System { .. } => exit::IO,
        }
    }
}

/// What exec needs, built before the first attempt.
struct Prepared {
    /// Paths to try in order (PATH search, as execvp does it).
    candidates: Vec<CString>,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

/// Starts the child in its own process group, in `spawn.cwd` (which the
/// init enters too); returns its pid once exec has succeeded. The caller
/// has already switched user.
pub fn start(spawn: &Spawn, signals: &Signals) -> Result<pid_t, SpawnError> {
    let program = spawn.program.to_string_lossy().into_owned();
    let prepared = prepare(spawn, &program)?;
    if let Some(dir) = &spawn.cwd {
        std::env::set_current_dir(dir).map_err(|source| SpawnError::Chdir {
            dir: dir.clone(),
            source,
        })?;
    }
    let settings = Settings::new(signals, owns_terminal_foreground()).map_err(|source| {
        SpawnError::System {
            program: program.clone(),
            what: "posix_spawn",
            source,
        }
    })?;
    let argv = exec_array(&prepared.argv);
    let envp = exec_array(&prepared.envp);

    // SIGCHLD ignored at start is not passed on: posix_spawn can only set a
    // signal to the default, and ignoring it in the init while it spawns
    // lets the kernel reap a child that exits at once, losing its status.
    // The child gets SIGCHLD's default, which every daemon expects.
    // execvp's search: skip entries where the file is missing, remember a
    // permission error, stop at any other error.
    let mut result = Err(libc::ENOENT);
    for path in &prepared.candidates {
        // A missing file is what most PATH entries give: found here without
        // a spawn, since the init already has the child's user and cwd.
        let exists = rustix::fs::access(path.as_c_str(), Access::EXISTS);
        if matches!(exists, Err(Errno::NOENT | Errno::NOTDIR)) {
            continue;
        }
        match settings.spawn(path, &argv, &envp) {
            Ok(pid) => {
                result = Ok(pid);
                break;
            }
            Err(libc::ENOENT | libc::ENOTDIR) => {}
            Err(libc::EACCES) => result = Err(libc::EACCES),
            Err(other) => {
                result = Err(other);
                break;
            }
        }
    }
    match result {
        Ok(pid) => Ok(pid),
        // glibc has reaped a child whose exec failed.
        Err(errno) => Err(describe(spawn, &program, errno)),
    }
}

/// glibc's spawn attributes and file actions for the child, destroyed on
/// drop. Boxed: POSIX does not promise they may move once initialised.
struct Settings {
    attr: Box<MaybeUninit<libc::posix_spawnattr_t>>,
    /// Only with a terminal to hand over (no actions otherwise).
    actions: Option<Box<MaybeUninit<libc::posix_spawn_file_actions_t>>>,
}

impl Settings {
    fn new(signals: &Signals, take_terminal: bool) -> io::Result<Settings> {
        let check = |err: c_int| {
            if err == 0 {
                Ok(())
            } else {
                Err(io::Error::from_raw_os_error(err))
            }
        };
        let mut attr = Box::new(MaybeUninit::uninit());
        // SAFETY: `attr` points to writable memory for a posix_spawnattr_t,
        // which posix_spawnattr_init initialises.
        check(unsafe { libc::posix_spawnattr_init(attr.as_mut_ptr()) })?;
        // From here on, drop destroys what was initialised.
        let mut settings = Settings {
            attr,
            actions: None,
        };
        let flags = libc::POSIX_SPAWN_SETPGROUP
            | libc::POSIX_SPAWN_SETSIGMASK
            | libc::POSIX_SPAWN_SETSIGDEF;
        let attr = settings.attr.as_mut_ptr();
        // SAFETY: `attr` was initialised above; the sets are initialised
        // sigset_t values that glibc copies. The flags fit a short (glibc's
        // type) and the group 0 means "a new group, the child's pid".
        unsafe {
            check(libc::posix_spawnattr_setflags(attr, flags as libc::c_short))?;
            check(libc::posix_spawnattr_setpgroup(attr, 0))?;
            check(libc::posix_spawnattr_setsigmask(
                attr,
                signals.original_mask().as_ref(),
            ))?;
            check(libc::posix_spawnattr_setsigdefault(
                attr,
                signals.to_reset_in_child().as_ref(),
            ))?;
        }
        if take_terminal {
            let mut actions = Box::new(MaybeUninit::uninit());
            // SAFETY: `actions` points to writable memory for a
            // posix_spawn_file_actions_t, which this initialises.
            check(unsafe { libc::posix_spawn_file_actions_init(actions.as_mut_ptr()) })?;
            let actions = settings.actions.insert(actions).as_mut_ptr();
            // The child, in its new group, makes that group the terminal's
            // foreground, with every signal still blocked (SIGTTOU would
            // otherwise stop a background group doing this).
            // SAFETY: `actions` was initialised above.
            check(unsafe {
                libc::posix_spawn_file_actions_addtcsetpgrp_np(actions, libc::STDIN_FILENO)
            })?;
        }
        Ok(settings)
    }

    /// One posix_spawn; the exec errno on failure.
    fn spawn(
        &self,
        path: &CStr,
        argv: &[*mut c_char],
        envp: &[*mut c_char],
    ) -> Result<pid_t, c_int> {
        let actions = self
            .actions
            .as_ref()
            .map_or(std::ptr::null(), |a| a.as_ptr());
        let mut pid: pid_t = 0;
        // SAFETY: the attributes (and the actions, when not null) were
        // initialised by `new`; `path` is NUL-terminated; `argv` and `envp`
        // are null-terminated arrays of pointers to NUL-terminated strings
        // (from `exec_array`) that outlive the call, and glibc only reads them.
        let err = unsafe {
            libc::posix_spawn(
                &mut pid,
                path.as_ptr(),
                actions,
                self.attr.as_ptr(),
                argv.as_ptr(),
                envp.as_ptr(),
            )
        };
        if err == 0 { Ok(pid) } else { Err(err) }
    }
}

impl Drop for Settings {
    fn drop(&mut self) {
        // SAFETY: `attr` is initialised whenever a Settings exists, and
        // `actions` whenever it is Some (see `new`); neither is used again.
        unsafe {
            libc::posix_spawnattr_destroy(self.attr.as_mut_ptr());
            if let Some(actions) = &mut self.actions {
                libc::posix_spawn_file_actions_destroy(actions.as_mut_ptr());
            }
        }
    }
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

    // The child's PATH, not the init's (posix_spawnp would search the
    // init's): each candidate is tried in turn.
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

    Ok(Prepared {
        candidates,
        argv,
        envp,
    })
}

/// True when stdin is a terminal whose foreground group is the init's own,
/// i.e. Ctrl-C there is meant for what the init runs.
fn owns_terminal_foreground() -> bool {
    rustix::termios::tcgetpgrp(std::io::stdin())
        .is_ok_and(|foreground| foreground == rustix::process::getpgrp())
}

/// The null-terminated array of pointers exec takes; the strings must
/// outlive it. `*mut` only because of C's type: nothing writes through them.
fn exec_array(strings: &[CString]) -> Vec<*mut c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr().cast_mut())
        .chain(std::iter::once(std::ptr::null_mut()))
        .collect()
}

fn describe(spawn: &Spawn, program: &str, errno: c_int) -> SpawnError {
    let has_slash = spawn.program.as_bytes().contains(&b'/');
    match errno {
        libc::ENOENT if has_slash && Path::new(&spawn.program).exists() => {
            SpawnError::CannotExecute {
                program: program.to_string(),
                reason: "bad interpreter (the #! line names a missing program)".to_string(),
            }
        }
        libc::ENOENT => SpawnError::NotFound {
            program: program.to_string(),
            reason: if has_slash {
                "no such file"
            } else {
                "command not found in PATH"
            },
        },
        _ => {
            let is_dir = has_slash && Path::new(&spawn.program).is_dir();
            let reason = if is_dir {
                "is a directory".to_string()
            } else {
                match errno {
                    libc::EACCES => "permission denied (not executable?)".to_string(),
                    libc::ENOEXEC => "not an executable format (missing #! line?)".to_string(),
                    _ => io::Error::from_raw_os_error(errno).to_string(),
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
        let group = rustix::process::getpgid(rustix::process::Pid::from_raw(pid)).unwrap();
        // The child may already be a zombie; its group is still its own.
        assert_eq!(group.as_raw_pid(), pid);
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
