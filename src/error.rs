//! Errors and exit statuses, in one place so the README table and the code
//! cannot drift.

/// Exit statuses. They follow sysexits.h where one fits, and tini's
/// conventions for the init.
pub mod exit {
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
}

/// An I/O error as a person reads it: "No such file or directory", without
/// Rust's "(os error 2)" suffix.
pub fn describe_io(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}
