//! The seed secret: where it is read from, and how it is kept.
//!
//! Sources, in order: `DOKOMODO_SEED_FILE` (a path), `DOKOMODO_SEED` (the
//! value), the Docker/compose secret `/run/secrets/dokomodo_seed`. Kubernetes
//! Secret volumes are a symlink through `..data`; plain path resolution
//! follows it. Errors name the source, never the value.
//!
//! Each source holds either the master seed or one chain's secret
//! (`secrets::chain`, recognised by its `dkc1-` prefix). A chain secret
//! serves only its own chain's daemon: `serves` and `require_master` are
//! the checks the commands make before deriving anything.

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use zeroize::Zeroize;

use crate::config::Chain;
use crate::secrets::chain::{self, ChainSecret};
use crate::secrets::creds::Material;

pub const FILE_VAR: &str = "DOKOMODO_SEED_FILE";
pub const VALUE_VAR: &str = "DOKOMODO_SEED";
pub const DEFAULT_FILE: &str = "/run/secrets/dokomodo_seed";

/// Variables that hold or point at a secret: never passed to a daemon.
pub const ENV_VARS: &[&str] = &[
    FILE_VAR,
    VALUE_VAR,
    "DOKOMODO_WALLET_PASSPHRASE",
    "DOKOMODO_WALLET_PASSPHRASE_FILE",
];

/// Fewer bytes than this is a guessable seed.
pub const MIN_LEN: usize = 16;
/// A seed is a passphrase or a random string, not a document.
pub const MAX_LEN: usize = 64 << 10;

/// Where the seed came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Env,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "seed secret {}", path.display()),
            Source::Env => write!(f, "seed secret in {VALUE_VAR}"),
        }
    }
}

/// The seed: the master, or one chain's secret. It has no Debug or Display
/// that could print it, and its memory is overwritten when it is dropped.
pub struct Seed {
    bytes: Vec<u8>,
    pub source: Source,
    chain: Option<ChainSecret>,
}

impl Seed {
    /// Builds a seed from bytes already read (tests, benchmarks).
    pub fn from_bytes(bytes: Vec<u8>, source: Source) -> Result<Seed, SecretError> {
        let mut bytes = strip_newline(bytes);
        if chain::looks_like(&bytes) {
            let parsed = chain::parse(&bytes);
            return match parsed {
                Ok(secret) => Ok(Seed {
                    bytes,
                    source,
                    chain: Some(secret),
                }),
                Err(reason) => {
                    bytes.zeroize();
                    Err(SecretError::BadChainSecret {
                        origin: source,
                        reason,
                    })
                }
            };
        }
        if bytes.len() < MIN_LEN {
            return Err(SecretError::TooShort {
                origin: source,
                len: bytes.len(),
            });
        }
        Ok(Seed {
            bytes,
            source,
            chain: None,
        })
    }

    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// The chain this secret belongs to, when it is a chain secret.
    pub fn chain_name(&self) -> Option<&str> {
        self.chain.as_ref().map(|c| c.name.as_str())
    }

    /// A chain secret's material (`creds::Keys` uses it as it is).
    pub(crate) fn chain_material(&self) -> Option<&Material> {
        self.chain.as_ref().map(|c| &c.material)
    }

    /// Can this secret derive `chain`'s credentials? The master can derive
    /// every chain's; a chain secret only its own chain's.
    pub fn serves(&self, chain: &Chain) -> Result<(), SecretError> {
        match self.chain_name() {
            Some(owner) if owner != chain.name => Err(SecretError::OtherChain {
                origin: self.source.clone(),
                owner: owner.to_owned(),
                chain: chain.name.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// `serves` for each chain, in order.
    pub fn serves_all<'c>(
        &self,
        chains: impl IntoIterator<Item = &'c Chain>,
    ) -> Result<(), SecretError> {
        chains.into_iter().try_for_each(|chain| self.serves(chain))
    }

    /// For what needs every chain's credentials or the master itself: the
    /// iguana role, `secret`. `what` names it in the message.
    pub fn require_master(&self, what: &str) -> Result<(), SecretError> {
        match self.chain_name() {
            Some(owner) => Err(SecretError::NotMaster {
                origin: self.source.clone(),
                owner: owner.to_owned(),
                what: what.to_owned(),
            }),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.chain_name() {
            Some(name) => write!(f, "Seed(<chain secret of {name} from {}>)", self.source),
            None => write!(f, "Seed(<{} bytes from {}>)", self.bytes.len(), self.source),
        }
    }
}

impl Drop for Seed {
    fn drop(&mut self) {
        // The whole allocation, so the secret does not linger in freed memory.
        self.bytes.zeroize();
    }
}

/// One trailing newline (`\n` or `\r\n`) is how editors and `echo` end a file.
fn strip_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    bytes
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("both {FILE_VAR} and {VALUE_VAR} are set; set only one")]
    BothSet,
    #[error("{FILE_VAR} is set but empty; set it to the path of the seed file")]
    EmptyPath,
    #[error(
        "no seed secret: {path} {reason} (mount the dokomodo_seed secret, or set {FILE_VAR} or {VALUE_VAR})"
    )]
    Missing { path: PathBuf, reason: String },
    #[error("cannot read the seed secret {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the seed secret {path} is a directory, not a file")]
    IsDirectory { path: PathBuf },
    #[error(
        "the seed secret {path} is not a regular file (a FIFO, socket or device); mount the secret as a file"
    )]
    NotAFile { path: PathBuf },
    #[error("the {origin} is {len} bytes; at least {MIN_LEN} are needed")]
    TooShort { origin: Source, len: usize },
    #[error("the seed secret {path} is larger than {} KiB", MAX_LEN >> 10)]
    TooLarge { path: PathBuf },
    #[error("the {origin} starts like a chain secret but is {reason}")]
    BadChainSecret {
        origin: Source,
        reason: chain::Malformed,
    },
    #[error(
        "the {origin} is the chain secret of {owner}, not of {chain}: use {chain}'s (`dokomodo secret --chain {chain}`) or the master seed"
    )]
    OtherChain {
        origin: Source,
        owner: String,
        chain: String,
    },
    #[error("the {origin} is the chain secret of {owner}; {what} needs the master seed")]
    NotMaster {
        origin: Source,
        owner: String,
        what: String,
    },
}

/// An I/O error as a person reads it; for a permission error, who this
/// process is and what to do: a compose file secret is a bind mount that
/// keeps the host file's owner and mode, so a root-owned 0600 file is
/// unreadable to the images' uid.
pub fn permission_hint(err: &std::io::Error) -> String {
    let text = crate::describe_io(err);
    if err.kind() != std::io::ErrorKind::PermissionDenied {
        return text;
    }
    let uid = rustix::process::getuid().as_raw();
    format!(
        "{text}: this process runs as uid {uid}; give it the file (`sudo chown {uid} FILE` on \
         the host for a compose secret, keeping mode 0600) or make it readable by its group"
    )
}

/// Is any seed source configured or present? (`check` validates the seed only then.)
pub fn present(env: &dyn Fn(&str) -> Option<OsString>) -> bool {
    env(FILE_VAR).is_some()
        || env(VALUE_VAR).is_some()
        || std::path::Path::new(DEFAULT_FILE).exists()
}

/// Loads the seed from the sources above; `env` reads an environment variable.
pub fn load(env: &dyn Fn(&str) -> Option<OsString>) -> Result<Seed, SecretError> {
    match (env(FILE_VAR), env(VALUE_VAR)) {
        (Some(_), Some(_)) => Err(SecretError::BothSet),
        (Some(path), None) if path.is_empty() => Err(SecretError::EmptyPath),
        (Some(path), None) => read_file(PathBuf::from(path), false),
        (None, Some(value)) => Seed::from_bytes(value.into_encoded_bytes(), Source::Env),
        (None, None) => read_file(PathBuf::from(DEFAULT_FILE), true),
    }
}

fn read_file(path: PathBuf, is_default: bool) -> Result<Seed, SecretError> {
    let reason = |e: &std::io::Error| permission_hint(e);
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let reason = if is_default {
                "does not exist".to_owned()
            } else {
                "does not exist (named by DOKOMODO_SEED_FILE)".to_owned()
            };
            return Err(SecretError::Missing { path, reason });
        }
        Err(e) => {
            return Err(SecretError::Unreadable {
                reason: reason(&e),
                path,
            });
        }
    };
    if meta.is_dir() {
        return Err(SecretError::IsDirectory { path });
    }
    // Opening a FIFO blocks until a writer appears, and a device can be read
    // forever: the entrypoint would hang instead of saying what is wrong.
    if !meta.is_file() {
        return Err(SecretError::NotAFile { path });
    }
    // O_NONBLOCK: if the path was swapped for a FIFO since the check, open
    // does not wait for a writer, and the fstat below refuses it.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .map_err(|e| SecretError::Unreadable {
            reason: reason(&e),
            path: path.clone(),
        })?;
    match file.metadata() {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Err(SecretError::NotAFile { path }),
        Err(e) => {
            return Err(SecretError::Unreadable {
                reason: reason(&e),
                path,
            });
        }
    }
    let mut bytes = Vec::with_capacity(256);
    let read = file.take(MAX_LEN as u64 + 1).read_to_end(&mut bytes);
    if let Err(e) = read {
        bytes.zeroize();
        return Err(SecretError::Unreadable {
            reason: reason(&e),
            path,
        });
    }
    if bytes.len() > MAX_LEN {
        bytes.zeroize();
        return Err(SecretError::TooLarge { path });
    }
    Seed::from_bytes(bytes, Source::File(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn value_from_environment_with_one_newline_stripped() {
        let seed = load(&env(&[(VALUE_VAR, "0123456789abcdef\n\n")])).unwrap();
        assert_eq!(seed.expose(), b"0123456789abcdef\n");
        let seed = load(&env(&[(VALUE_VAR, "0123456789abcdef\r\n")])).unwrap();
        assert_eq!(seed.expose(), b"0123456789abcdef");
    }

    #[test]
    fn both_sources_is_an_error() {
        let err = load(&env(&[(VALUE_VAR, "0123456789abcdef"), (FILE_VAR, "/x")])).unwrap_err();
        assert_eq!(err, SecretError::BothSet);
    }

    #[test]
    fn short_seed_is_an_error_that_does_not_show_it() {
        let err = load(&env(&[(VALUE_VAR, "hunter2\n")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the seed secret in DOKOMODO_SEED is 7 bytes; at least 16 are needed"
        );
    }

    #[test]
    fn debug_does_not_show_the_seed() {
        let seed = load(&env(&[(VALUE_VAR, "correct horse battery staple")])).unwrap();
        assert!(!format!("{seed:?}").contains("horse"));
    }
}
