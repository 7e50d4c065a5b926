//! SIGTERM/SIGINT for the komodod stand-in: blocked in every thread and read
//! synchronously by one, so a stop request is a plain value, not a handler.

use std::io;

fn stop_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset only write into the set we own; the
    // zeroed value is a valid starting point that sigemptyset overwrites.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        set
    }
}

/// Must run before any thread is spawned: threads inherit the mask.
pub fn block_stop_signals() -> io::Result<()> {
    let set = stop_set();
    // SAFETY: pthread_sigmask with a valid set and a null old-set pointer.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Blocks until SIGTERM or SIGINT arrives; returns its number.
pub fn wait_stop_signal() -> io::Result<i32> {
    let set = stop_set();
    let mut sig: libc::c_int = 0;
    // SAFETY: sigwait reads the set and writes one int we own.
    let rc = unsafe { libc::sigwait(&set, &mut sig) };
    if rc == 0 {
        Ok(sig)
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// For tests of kill-after-grace: the process then only dies of SIGKILL.
pub fn ignore_stop_signals() -> io::Result<()> {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: installing SIG_IGN runs no code of ours in signal context.
        if unsafe { libc::signal(sig, libc::SIG_IGN) } == libc::SIG_ERR {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}
