//! The notary's wallet passphrase, which iguana's `walletpassphrase` takes:
//! the seed of the notary's keys, the most sensitive secret on the machine.
//!
//! Read only from a file (`DOKOMODO_WALLET_PASSPHRASE_FILE`, else the Docker
//! or compose secret `/run/secrets/wallet_passphrase`), never from the
//! environment or argv, which other processes can read. Kept in memory that
//! is wiped on drop, never logged, never written to disk.

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use zeroize::Zeroize;

pub const FILE_VAR: &str = "DOKOMODO_WALLET_PASSPHRASE_FILE";
pub const DEFAULT_FILE: &str = "/run/secrets/wallet_passphrase";

/// A passphrase is words or a WIF key, not a document.
pub const MAX_LEN: usize = 4 << 10;

pub struct Passphrase {
    text: String,
    pub path: PathBuf,
}

impl Passphrase {
    /// Builds a passphrase from bytes already read (tests). One trailing
    /// newline is stripped, as for the seed.
    pub fn from_bytes(mut bytes: Vec<u8>, path: PathBuf) -> Result<Passphrase, PassphraseError> {
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        if bytes.is_empty() {
            return Err(PassphraseError::Empty { path });
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Passphrase { text, path }),
            Err(e) => {
                let mut bytes = e.into_bytes();
                bytes.zeroize();
                Err(PassphraseError::NotText { path })
            }
        }
    }

    pub fn expose(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Passphrase(<from {}>)", self.path.display())
    }
}

impl Drop for Passphrase {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PassphraseError {
    #[error("{FILE_VAR} is set but empty; set it to the path of the wallet passphrase file")]
    EmptyPath,
    #[error("the wallet passphrase {path} does not exist (named by {FILE_VAR})")]
    Missing { path: PathBuf },
    #[error("cannot read the wallet passphrase {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the wallet passphrase {path} is a directory, not a file")]
    IsDirectory { path: PathBuf },
    #[error("the wallet passphrase {path} is empty")]
    Empty { path: PathBuf },
    #[error("the wallet passphrase {path} is not UTF-8 text")]
    NotText { path: PathBuf },
    #[error("the wallet passphrase {path} is larger than {} KiB", MAX_LEN >> 10)]
    TooLarge { path: PathBuf },
}

/// The passphrase, or `None` when no file is named and the default secret is
/// not mounted (iguana then runs with a locked wallet, and says so).
pub fn load(env: &dyn Fn(&str) -> Option<OsString>) -> Result<Option<Passphrase>, PassphraseError> {
    let (path, named) = match env(FILE_VAR) {
        Some(path) if path.is_empty() => return Err(PassphraseError::EmptyPath),
        Some(path) => (PathBuf::from(path), true),
        None => (PathBuf::from(DEFAULT_FILE), false),
    };
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PassphraseError::Missing { path });
        }
        Err(e) => {
            return Err(PassphraseError::Unreadable {
                reason: crate::describe_io(&e),
                path,
            });
        }
    };
    if meta.is_dir() {
        return Err(PassphraseError::IsDirectory { path });
    }
    let unreadable = |e: std::io::Error, path: &PathBuf| PassphraseError::Unreadable {
        reason: crate::secrets::seed::permission_hint(&e),
        path: path.clone(),
    };
    let file = std::fs::File::open(&path).map_err(|e| unreadable(e, &path))?;
    // Sized up front so the buffer never grows (a growing Vec leaves copies
    // of the secret in freed memory).
    let mut bytes = Vec::with_capacity(MAX_LEN + 1);
    let read = file.take(MAX_LEN as u64 + 1).read_to_end(&mut bytes);
    if let Err(e) = read {
        bytes.zeroize();
        return Err(unreadable(e, &path));
    }
    if bytes.len() > MAX_LEN {
        bytes.zeroize();
        return Err(PassphraseError::TooLarge { path });
    }
    Passphrase::from_bytes(bytes, path).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(path: &std::path::Path) -> impl Fn(&str) -> Option<OsString> + '_ {
        move |name| (name == FILE_VAR).then(|| path.as_os_str().to_owned())
    }

    #[test]
    fn read_from_the_named_file_with_one_newline_stripped() {
        let dir = std::env::temp_dir().join(format!("dokomodo-pass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("wp");
        std::fs::write(&file, "word1 word2 \"quoted\"\n").unwrap();
        let pass = load(&env_with(&file)).unwrap().unwrap();
        assert_eq!(pass.expose(), "word1 word2 \"quoted\"");
        assert!(!format!("{pass:?}").contains("word1"));
        std::fs::write(&file, "\n").unwrap();
        assert_eq!(
            load(&env_with(&file)).unwrap_err().to_string(),
            format!("the wallet passphrase {} is empty", file.display())
        );
        std::fs::write(&file, vec![b'x'; MAX_LEN + 1]).unwrap();
        assert!(matches!(
            load(&env_with(&file)),
            Err(PassphraseError::TooLarge { .. })
        ));
        let missing = dir.join("nope");
        assert_eq!(
            load(&env_with(&missing)).unwrap_err(),
            PassphraseError::Missing {
                path: missing.clone()
            }
        );
        assert!(matches!(
            load(&env_with(&dir)),
            Err(PassphraseError::IsDirectory { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_variable_is_an_error() {
        assert_eq!(
            load(&|_| Some(OsString::new())).unwrap_err(),
            PassphraseError::EmptyPath
        );
    }
}
