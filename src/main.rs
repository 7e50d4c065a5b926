//! The entry point: std's runtime starts as usual (it opens /dev/null on any
//! of fds 0-2 that is closed, and ignores SIGPIPE so a write to a closed pipe
//! is an error rather than death). The SIGPIPE disposition dokomodo was
//! started with, which the daemon must inherit, is recorded before that by a
//! constructor in src/init/signals.rs.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(dokomodo::cli::main())
}
