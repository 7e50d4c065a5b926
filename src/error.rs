//! Every way a command can fail, and the one place where a failure becomes an
//! exit status (`Error::exit_code`, held against the README's table by a
//! test). Each layer keeps its own error type with the context a user needs;
//! this enum, at the top beside the command line, only wraps them.
//!
//! What a running daemon's end becomes (its own status, 126, 127, 128+N) is
//! the init's business, not an error: see `init::supervise_with`.

use crate::config::ConfigError;
use crate::exit;
use crate::init::OptionError;
use crate::init::user::UserError;
use crate::ops::compose::ComposeError;
use crate::ops::iguana::PrepareError;
use crate::render::files::FilesError;
use crate::secrets::passphrase::PassphraseError;
use crate::secrets::seed::SecretError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong; `help` is the command whose `--help` to try.
    #[error("{message}")]
    Usage { message: String, help: &'static str },
    /// The YAML is wrong (it carries the snippet to show under the message).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The YAML is valid, but what the command asks of it is not there
    /// (a chain it does not have).
    #[error("{0}")]
    NotInConfig(String),
    #[error(transparent)]
    Seed(#[from] SecretError),
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    #[error(transparent)]
    User(#[from] UserError),
    /// `DOKOMODO_GRACE` or `DOKOMODO_STOP_SIGNAL` (for `run`).
    #[error(transparent)]
    InitOption(#[from] OptionError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// What iguana's start-up needs before iguana starts (its address, its
    /// elected file).
    #[error(transparent)]
    IguanaStartup(#[from] PrepareError),
    #[error(transparent)]
    Files(#[from] FilesError),
    /// Another system call failed (HOME could not be resolved).
    #[error("{0}")]
    Io(String),
    /// `health`, `wait`, `iguana-startup`: a daemon did not answer as it should.
    #[error("{0}")]
    NoAnswer(String),
}

impl Error {
    /// A usage error whose hint is `dokomodo --help`.
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            help: "dokomodo --help",
        }
    }

    /// The exit status, as the README's table gives it.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } => exit::USAGE,
            Error::Config(_) | Error::NotInConfig(_) | Error::Seed(_) | Error::Passphrase(_) => {
                exit::CONFIG
            }
            Error::User(UserError::Read { .. } | UserError::Chown { .. }) => exit::IO,
            Error::User(_) => exit::CONFIG,
            Error::InitOption(OptionError::Usage(_)) => exit::USAGE,
            Error::InitOption(OptionError::Env { .. }) => exit::CONFIG,
            Error::Compose(ComposeError::Usage(_)) => exit::USAGE,
            Error::Compose(_) => exit::CONFIG,
            Error::IguanaStartup(_) => exit::CONFIG,
            Error::Files(_) | Error::Io(_) => exit::IO,
            Error::NoAnswer(_) => exit::FAILURE,
        }
    }

    /// What to show under the one-line message: the YAML around a config
    /// error, or where to find help for a usage error.
    pub fn detail(&self) -> Option<String> {
        match self {
            Error::Config(err) => err.snippet(),
            Error::Usage { help, .. } => Some(format!("try `{help}`")),
            Error::Compose(ComposeError::Usage(_)) => {
                Some("try `dokomodo compose --help`".to_owned())
            }
            _ => None,
        }
    }
}

impl From<lexopt::Error> for Error {
    fn from(err: lexopt::Error) -> Error {
        Error::usage(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The README's exit-status table: status (or range) and meaning.
    fn readme_statuses() -> Vec<(String, String)> {
        let readme = include_str!("../README.md");
        let table = readme
            .split("## Exit status")
            .nth(1)
            .expect("README has an Exit status section");
        table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[1].to_owned(), cells[2].to_owned())
            })
            .collect()
    }

    fn io() -> std::io::Error {
        std::io::Error::from_raw_os_error(libc::EACCES)
    }

    /// One of each kind of error, with the words its README row must hold.
    fn examples() -> Vec<(Error, &'static str)> {
        let config = crate::config::parse(std::path::Path::new("n.yaml"), "chains: 5\n")
            .expect_err("chains must be a mapping");
        vec![
            (Error::usage("no command given"), "command line is wrong"),
            (Error::Config(config), "YAML or a secret is wrong"),
            (
                Error::NotInConfig("no chain `X`".into()),
                "YAML or a secret is wrong",
            ),
            (
                Error::Seed(SecretError::BothSet),
                "YAML or a secret is wrong",
            ),
            (
                Error::Passphrase(PassphraseError::Empty {
                    path: PathBuf::from("/run/secrets/wallet_passphrase"),
                }),
                "YAML or a secret is wrong",
            ),
            (
                Error::User(UserError::BadSpec {
                    spec: "a:b:c".into(),
                }),
                "YAML or a secret is wrong",
            ),
            (
                Error::User(UserError::Chown {
                    path: PathBuf::from("/home/komodo"),
                    target: "komodo".into(),
                    source: io(),
                }),
                "could not be written",
            ),
            (
                Error::InitOption(OptionError::Usage("--grace needs a value".into())),
                "command line is wrong",
            ),
            (
                Error::InitOption(OptionError::Env {
                    var: "DOKOMODO_GRACE",
                    problem: "not a number".into(),
                }),
                "YAML or a secret is wrong",
            ),
            (
                Error::Compose(ComposeError::Usage("--subnet needs a CIDR".into())),
                "command line is wrong",
            ),
            (
                Error::Compose(ComposeError::IguanaName { chain: "X".into() }),
                "YAML or a secret is wrong",
            ),
            (
                Error::Files(FilesError::ReadExisting {
                    path: PathBuf::from("/home/komodo/.komodo"),
                    source: io(),
                }),
                "could not be written",
            ),
            (
                Error::IguanaStartup(PrepareError::BadAddress { value: "x".into() }),
                "YAML or a secret is wrong",
            ),
            (
                Error::Io("cannot resolve HOME".into()),
                "could not be written",
            ),
            (
                Error::NoAnswer("BEER did not answer".into()),
                "did not answer",
            ),
        ]
    }

    /// Exhaustive on purpose: a new variant does not compile until it is
    /// named here, and then the count below fails until it has an example.
    fn variant(err: &Error) -> &'static str {
        match err {
            Error::Usage { .. } => "Usage",
            Error::Config(_) => "Config",
            Error::NotInConfig(_) => "NotInConfig",
            Error::Seed(_) => "Seed",
            Error::Passphrase(_) => "Passphrase",
            Error::User(_) => "User",
            Error::InitOption(_) => "InitOption",
            Error::Compose(_) => "Compose",
            Error::IguanaStartup(_) => "IguanaStartup",
            Error::Files(_) => "Files",
            Error::Io(_) => "Io",
            Error::NoAnswer(_) => "NoAnswer",
        }
    }
    const VARIANTS: usize = 12;

    #[test]
    fn every_error_exits_with_the_status_the_readme_gives_it() {
        let table = readme_statuses();
        assert!(table.len() >= 10, "README table: {table:?}");
        let mut seen = std::collections::BTreeSet::new();
        for (err, meaning) in examples() {
            seen.insert(variant(&err));
            let code = err.exit_code().to_string();
            let row = table
                .iter()
                .find(|(status, _)| *status == code)
                .unwrap_or_else(|| panic!("{err:?}: status {code} is not in the README"));
            assert!(
                row.1.contains(meaning),
                "{err:?} exits {code}, whose README meaning is `{}`, not `{meaning}`",
                row.1
            );
        }
        assert_eq!(seen.len(), VARIANTS, "every variant has an example");
    }

    #[test]
    fn usage_errors_say_where_help_is_and_config_errors_show_the_yaml() {
        assert_eq!(
            Error::usage("x").detail().as_deref(),
            Some("try `dokomodo --help`")
        );
        let config = crate::config::parse(std::path::Path::new("n.yaml"), "chains: 5\n")
            .expect_err("chains must be a mapping");
        assert!(
            Error::Config(config)
                .detail()
                .unwrap()
                .contains("chains: 5")
        );
        assert_eq!(Error::Io("x".into()).detail(), None);
    }
}
