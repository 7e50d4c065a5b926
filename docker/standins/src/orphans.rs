//! A test mode for the init's reaping: `komodod-standin orphans N [MS]` forks N
//! children that each exit after MS milliseconds (default 1000), prints their
//! pids and exits at once, without waiting for them. Run with `docker exec`,
//! the children are orphaned and re-parented to the container's PID 1, which
//! must reap them when they exit, or they stay zombies.

use std::io;
use std::time::Duration;

/// Forks `count` children that sleep `lifetime` and exit 0; returns their pids.
/// Must be called while the process is single-threaded: the children run Rust
/// code (a sleep) after fork, which is only sound without other threads.
pub fn leave_orphans(count: u32, lifetime: Duration) -> io::Result<Vec<i32>> {
    let mut pids = Vec::new();
    for _ in 0..count {
        // SAFETY: fork in a single-threaded process (see above); the child
        // only sleeps and calls _exit, never returning into our caller.
        match unsafe { libc::fork() } {
            -1 => return Err(io::Error::last_os_error()),
            0 => {
                // The caller (`docker exec`, a test's pipe) waits for EOF on
                // these: an orphan holding them would make it wait for the
                // orphan too, and hide whether the init reaps.
                for fd in 0..=2 {
                    // SAFETY: closing our own standard descriptors.
                    unsafe { libc::close(fd) };
                }
                std::thread::sleep(lifetime);
                // SAFETY: _exit ends the child without running the parent's
                // atexit handlers or flushing its copied stdio buffers.
                unsafe { libc::_exit(0) }
            }
            pid => pids.push(pid),
        }
    }
    Ok(pids)
}

/// `orphans N [MS]`, from the arguments after the program name.
pub fn parse(args: &[String]) -> Result<(u32, Duration), String> {
    let count = args
        .first()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("orphans N [MS]: N must be a number, got {:?}", args.first()))?;
    let ms = match args.get(1) {
        Some(ms) => ms
            .parse()
            .map_err(|_| format!("orphans N [MS]: MS must be a number, got {ms:?}"))?,
        None => 1000,
    };
    Ok((count, Duration::from_millis(ms)))
}
