//! Exit statuses, in one place so the README table and the code cannot drift.
//! `error::Error::exit_code` maps every failure to one of them.
//!
//! They follow sysexits.h where one fits, and tini's conventions for the init.

/// Success.
pub const OK: u8 = 0;
/// A probe or wait that did not succeed (health, wait).
pub const FAILURE: u8 = 1;
/// The command line itself is wrong (EX_USAGE).
pub const USAGE: u8 = 64;
/// A bug in dokomodo (EX_SOFTWARE).
pub const SOFTWARE: u8 = 70;
/// Files could not be written or a system call failed (EX_IOERR).
pub const IO: u8 = 74;
/// The YAML or a secret is wrong (EX_CONFIG).
pub const CONFIG: u8 = 78;
/// The daemon could not be executed (not executable, a directory).
pub const CANNOT_EXECUTE: u8 = 126;
/// The daemon was not found.
pub const NOT_FOUND: u8 = 127;
/// Added to a signal number when the child died of that signal.
pub const SIGNAL_BASE: u8 = 128;
