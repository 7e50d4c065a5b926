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
pub mod exit;
pub mod files;
pub mod ports;
pub mod supervise;
pub mod user;
