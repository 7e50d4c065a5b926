//! Stand-ins for komodod and iguana, for dokomodo's container tests.
//!
//! They start the way the real daemons start (same argv, same conf file
//! locations, the same parser quirks, the same RPC binding and auth rules) but
//! keep no chain: what they do is prove that the files dokomodo rendered would
//! have let the real daemons start and talk to each other. Never shipped in a
//! production image.

pub mod base64;
pub mod conf;
pub mod http;
pub mod keys;
pub mod log;
pub mod orphans;
pub mod signals;
pub mod subnet;

/// `$HOME`, or `/` when it is unset or empty: komodod's rule for its data dir.
pub fn home_dir() -> std::path::PathBuf {
    match std::env::var_os("HOME") {
        Some(h) if !h.is_empty() => h.into(),
        _ => "/".into(),
    }
}
