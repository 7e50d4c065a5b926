//! dokomodo: one YAML and one secret become every Komodo notary container's
//! config files; then the daemon runs under dokomodo as PID 1.
//!
//! Data flows one way: `config` (the YAML, validated) -> `ports` and `creds`
//! (pure derivations) -> `render` (the files a role needs, as data) ->
//! `files` (written atomically) -> `supervise` (the daemon, as PID 1).

#[macro_use]
pub mod log;
pub mod acparams;
pub mod cli;
pub mod config;
pub mod creds;
pub mod exit;
pub mod files;
pub mod iguana;
pub mod json;
pub mod passphrase;
pub mod ports;
pub mod probe;
pub mod rpc;
pub mod secret;
pub mod supervise;
pub mod user;
pub mod yaml;

/// An I/O error as a person reads it: "No such file or directory", without
/// Rust's "(os error 2)" suffix.
pub fn describe_io(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}
pub mod compose;
pub mod render;
