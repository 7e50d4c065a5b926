//! The entry point. `no_main`: Rust's runtime start-up (reading
//! /proc/self/maps to place a stack guard, an alternate signal stack, a
//! SIGSEGV handler) is skipped, which is most of what separated dokomodo's
//! start from tini's; the runtime's one useful act, ignoring SIGPIPE so a
//! write to a closed pipe is an error rather than death, is done here.
// The unit-test build of this file keeps the test harness's own `main`.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const u8) -> std::ffi::c_int {
    // SAFETY: setting SIGPIPE's disposition has no other effect; the init
    // records the disposition it was started with before this runs (an
    // .init_array constructor in src/supervise/signals.rs).
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    std::ffi::c_int::from(dokomodo::cli::main())
}
