//! dokomodo: one YAML and one secret become every Komodo notary container's
//! config files; then the daemon runs under dokomodo as PID 1.
//!
//! The tree is the data flow, one way:
//!
//! - `config`: the YAML (its own parser), validated, and the ports komodod derives;
//! - `secrets`: the seed, the credentials derived from it, the wallet passphrase;
//! - `render`: what a role needs as plain data (the files, and the program to run),
//!   and the atomic write of the files;
//! - `init`: the daemon as PID 1 (spawn, signals, reaping, the privilege drop);
//! - `ops`: what talks to running daemons (RPC, health, iguana's start-up, compose);
//! - `cli`: the command line, which only parses arguments and wires the above.
//!
//! `exit`, `log` and `json` are shared by every layer and import none of them;
//! `redact` (no secret in any message) is shared too, and knows only where
//! `secrets` reads from.

#[macro_use]
pub mod log;
pub mod error;
pub mod exit;
pub mod json;
pub mod redact;

pub mod cli;
pub mod config;
pub mod init;
pub mod ops;
pub mod render;
pub mod secrets;

/// An I/O error as a person reads it: "No such file or directory", without
/// Rust's "(os error 2)" suffix.
pub fn describe_io(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}
