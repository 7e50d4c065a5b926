//! The init: runs one daemon as PID 1 (or as a subreaper), forwards signals,
//! reaps zombies, stops gracefully, passes on the exit status.
//! (skeleton: to be filled in)

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// How the init behaves; every field also has an environment variable.
#[derive(Clone, Debug)]
pub struct Options {
    pub grace: Duration,
    /// The signal sent to the daemon when the init is asked to stop (SIGTERM).
    pub stop_signal: i32,
}

/// What to start.
#[derive(Clone, Debug)]
pub struct Spawn {
    pub program: OsString,
    pub args: Vec<OsString>,
    /// The child's whole environment (nothing else is inherited).
    pub env: Vec<(OsString, OsString)>,
    pub cwd: Option<PathBuf>,
    pub user: Option<crate::user::Target>,
}

/// Starts the child and supervises it until it has been reaped; returns the
/// init's exit status.
pub fn supervise(opts: &Options, spawn: Spawn) -> u8 {
    let _ = (opts, spawn);
    crate::exit::SOFTWARE
}

/// `dokomodo init [OPTIONS] [--] CMD [ARGS...]`; `args` are those after `init`.
pub fn init_command(args: Vec<OsString>) -> u8 {
    let _ = args;
    crate::exit::SOFTWARE
}
