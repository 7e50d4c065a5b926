//! Privilege drop (gosu semantics) and user lookup by parsing /etc/passwd and
//! /etc/group directly (never NSS in a static binary). (skeleton)

use std::path::PathBuf;

/// The user the daemon runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, set before gid and uid.
    pub groups: Vec<u32>,
    pub home: PathBuf,
}
