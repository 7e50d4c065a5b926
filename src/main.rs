//! The entry point: std's runtime starts as usual (it opens /dev/null on any
//! of fds 0-2 that is closed, and ignores SIGPIPE so a write to a closed pipe
//! is an error rather than death). The SIGPIPE disposition dokomodo was
//! started with, which the daemon must inherit, is recorded before that by a
//! constructor in src/init/signals.rs.
//!
//! Before anything else, even std's runtime, a constructor blocks the
//! signals the init handles: as PID 1 a SIGTERM that is neither blocked nor
//! handled is discarded by the kernel, and a stop during start-up would be
//! lost (docs/init.md, "No stop is lost"). Commands that are not an init put
//! the mask back as soon as the command word is read (src/cli/mod.rs).

extern "C" fn block_signals_first() {
    dokomodo::init::block_signals_early();
}

// In the binary only: the library's test binaries keep their signals.
#[used]
#[unsafe(link_section = ".init_array")]
static BLOCK_SIGNALS_FIRST: extern "C" fn() = block_signals_first;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(dokomodo::cli::main())
}
