//! The whole start of a daemon as data: its files, program, arguments,
//! environment, working directory, user and stop settings, a pure function
//! of (config, role, chain, seed, home, environment). `cli`'s `run` builds
//! it, writes the files, and hands the rest to the init.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Chain, Config};
use crate::init::user::Target;
use crate::init::{self, OptionError, Options, Spawn};
use crate::render::{self, Plan};
use crate::secrets::seed::{self, Seed};

/// The two roles a container plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// One chain's daemon: komodod (or a fork), or a coin's own (litecoind).
    Daemon,
    /// iguana, with every chain's conf and addcoin JSON.
    Iguana,
}

/// iguana installs no signal handlers (SIGTERM ends it at once), so a long
/// grace only delays a stop that failed for another reason.
pub const IGUANA_GRACE: Duration = Duration::from_secs(30);

/// The variables naming the daemons' binaries, in order of precedence (else
/// the chain's `daemon`, by default `komodod`, and `iguana`, on PATH).
/// `DOKOMODO_KOMODOD` is the older name of `DOKOMODO_DAEMON`.
pub const DAEMON_VARS: [&str; 2] = ["DOKOMODO_DAEMON", "DOKOMODO_KOMODOD"];
pub const IGUANA_VAR: &str = "DOKOMODO_IGUANA";

/// What a role's daemon is started with.
#[derive(Debug)]
pub struct RunPlan {
    /// The files to write under `home` first.
    pub files: Plan,
    pub home: PathBuf,
    /// Searched in PATH when it has no slash.
    pub program: OsString,
    /// The arguments after argv[0].
    pub argv: Vec<OsString>,
    /// The daemon's whole environment.
    pub env: Vec<(OsString, OsString)>,
    pub cwd: PathBuf,
    /// Who the daemon runs as, when the init runs as root.
    pub user: Option<Target>,
    pub options: Options,
}

/// What the plan is built from besides the YAML and the seed: facts the
/// caller looked up (the user, HOME) and dokomodo's own environment.
pub struct Inputs<'a> {
    pub role: Role,
    /// The chain, for the daemon role.
    pub chain: Option<&'a Chain>,
    pub home: &'a Path,
    pub user: Option<Target>,
    /// The arguments after `--`, appended to the daemon's.
    pub extra: Vec<OsString>,
    /// dokomodo's environment, in order.
    pub environ: &'a [(OsString, OsString)],
}

/// The run plan of a role. Fails only on a bad `DOKOMODO_GRACE` or
/// `DOKOMODO_STOP_SIGNAL`.
pub fn plan(config: &Config, seed: &Seed, inputs: Inputs<'_>) -> Result<RunPlan, OptionError> {
    let lookup = |name: &str| {
        inputs
            .environ
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut options = Options::from_lookup(&lookup)?;
    let grace_set = lookup(init::GRACE_ENV).is_some_and(|v| !v.is_empty());
    let home = inputs.home;
    let (files, program, argv, cwd) = match (inputs.role, inputs.chain) {
        (Role::Daemon, Some(chain)) => (
            render::daemon(config, chain, seed),
            DAEMON_VARS
                .iter()
                .find_map(|var| lookup(var).filter(|v| !v.is_empty()))
                .unwrap_or_else(|| chain.daemon.clone().into()),
            render::daemon_args(config, chain, home),
            home.to_path_buf(),
        ),
        _ => {
            if !grace_set {
                options.grace = IGUANA_GRACE;
            }
            (
                render::iguana(config, seed, home),
                daemon_path(&lookup, IGUANA_VAR, "iguana"),
                vec![config.iguana.elected.clone()],
                home.join(render::iguana_workdir(config)),
            )
        }
    };
    let mut argv: Vec<OsString> = argv.into_iter().map(OsString::from).collect();
    argv.extend(inputs.extra);
    Ok(RunPlan {
        files,
        home: home.to_path_buf(),
        program,
        argv,
        env: daemon_env(inputs.environ, home),
        cwd,
        user: inputs.user,
        options,
    })
}

impl RunPlan {
    /// What the init starts, once the files are written.
    pub fn spawn(self) -> (Options, Spawn) {
        let spawn = Spawn {
            program: self.program,
            args: self.argv,
            env: self.env,
            cwd: Some(self.cwd),
            user: self.user,
        };
        (self.options, spawn)
    }

    /// Every directory and file of the plan, with their parents below HOME
    /// (or below the parent of an absolute iguana.workdir, as absolute
    /// paths): what the daemon's user must own.
    pub fn owned_paths(&self) -> Vec<PathBuf> {
        // The paths alone: the contents are not needed to split them by root.
        let paths_only = Plan {
            dirs: self.files.dirs.clone(),
            files: (self.files.files.iter())
                .map(|f| render::File {
                    path: f.path.clone(),
                    contents: String::new(),
                })
                .collect(),
        };
        let mut paths = std::collections::BTreeSet::new();
        for (root, plan) in paths_only.by_root(&self.home) {
            let below = |p: &Path| {
                if root == self.home {
                    p.to_path_buf()
                } else {
                    root.join(p)
                }
            };
            for path in plan.dirs.iter().chain(plan.files.iter().map(|f| &f.path)) {
                for ancestor in path.ancestors().filter(|a| !a.as_os_str().is_empty()) {
                    paths.insert(below(ancestor));
                }
            }
        }
        paths.into_iter().collect()
    }
}

/// The daemon's environment: dokomodo's own, without any variable that holds
/// or names a secret, with HOME set to where its files were rendered.
fn daemon_env(environ: &[(OsString, OsString)], home: &Path) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = environ
        .iter()
        .filter(|(k, _)| k != "HOME" && !seed::ENV_VARS.iter().any(|s| k == s))
        .cloned()
        .collect();
    env.push(("HOME".into(), home.as_os_str().to_owned()));
    env
}

fn daemon_path(lookup: &dyn Fn(&str) -> Option<OsString>, var: &str, default: &str) -> OsString {
    lookup(var)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::seed::Source;

    const YAML: &str = "\
pubkey: 02a854251adfee222bede8396fed0756985d4ea905f72611740867c7a4ad6488c1
rpc: {allow: [172.20.0.0/16]}
addnode: [78.47.196.146]
iguana: {workdir: dpow/iguana}
chains:
  KMD: {}
  BEER: {ac_supply: 100000000, args: [-addressindex=1]}
";

    fn config() -> Config {
        crate::config::parse(Path::new("notary.yaml"), YAML).unwrap()
    }

    fn seed() -> Seed {
        Seed::from_bytes(b"correct horse battery staple".to_vec(), Source::Env).unwrap()
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    fn strings(items: &[OsString]) -> Vec<&str> {
        items.iter().map(|s| s.to_str().unwrap()).collect()
    }

    fn beer(environ: &[(OsString, OsString)], extra: &[&str]) -> RunPlan {
        let config = config();
        let inputs = Inputs {
            role: Role::Daemon,
            chain: config.chain("BEER"),
            home: Path::new("/home/komodo"),
            user: None,
            extra: extra.iter().map(OsString::from).collect(),
            environ,
        };
        plan(&config, &seed(), inputs).unwrap()
    }

    #[test]
    fn komodod_gets_its_identity_seeds_pubkey_own_args_then_the_extra_ones() {
        let plan = beer(&vars(&[("PATH", "/usr/bin")]), &["-printtoconsole"]);
        assert_eq!(plan.program, "komodod");
        assert_eq!(
            strings(&plan.argv),
            [
                "-ac_name=BEER",
                "-ac_supply=100000000",
                "-addnode=78.47.196.146",
                "-pubkey=02a854251adfee222bede8396fed0756985d4ea905f72611740867c7a4ad6488c1",
                "-addressindex=1",
                "-printtoconsole",
            ]
        );
        assert_eq!(plan.cwd, Path::new("/home/komodo"));
        assert_eq!(plan.options.grace, init::DEFAULT_GRACE);
        assert_eq!(plan.options.stop_signal, libc::SIGTERM);
        let files: Vec<_> = plan.files.files.iter().map(|f| f.path.clone()).collect();
        assert!(
            files.contains(&PathBuf::from(".komodo/BEER/BEER.conf")),
            "{files:?}"
        );
    }

    #[test]
    fn the_daemon_gets_no_secret_variable_and_its_rendered_home() {
        let environ = vars(&[
            ("PATH", "/usr/bin"),
            ("HOME", "/root"),
            ("DOKOMODO_SEED", "a-long-random-seed-for-the-demo"),
            ("DOKOMODO_SEED_FILE", "/run/secrets/seed"),
            ("DOKOMODO_WALLET_PASSPHRASE_FILE", "/run/secrets/wallet"),
            ("DOKOMODO_WALLET_PASSPHRASE", "x"),
            ("TZ", "UTC"),
        ]);
        let plan = beer(&environ, &[]);
        assert_eq!(
            plan.env,
            vars(&[
                ("PATH", "/usr/bin"),
                ("TZ", "UTC"),
                ("HOME", "/home/komodo")
            ])
        );
    }

    #[test]
    fn the_environment_names_the_binary_and_the_stop_settings() {
        let environ = vars(&[
            ("DOKOMODO_KOMODOD", "/opt/komodo/komodod"),
            ("DOKOMODO_GRACE", "120"),
            ("DOKOMODO_STOP_SIGNAL", "INT"),
        ]);
        let plan = beer(&environ, &[]);
        assert_eq!(plan.program, "/opt/komodo/komodod");
        assert_eq!(plan.options.grace, Duration::from_secs(120));
        assert_eq!(plan.options.stop_signal, libc::SIGINT);
        let config = config();
        let bad = vars(&[("DOKOMODO_GRACE", "soon")]);
        let inputs = Inputs {
            role: Role::Daemon,
            chain: config.chain("BEER"),
            home: Path::new("/h"),
            user: None,
            extra: Vec::new(),
            environ: &bad,
        };
        let err = super::plan(&config, &seed(), inputs).unwrap_err();
        assert!(err.to_string().starts_with("DOKOMODO_GRACE: "), "{err}");
    }

    #[test]
    fn iguana_runs_its_elected_file_in_its_workdir_with_a_short_grace() {
        let config = config();
        let environ = vars(&[("DOKOMODO_IGUANA", "/usr/local/bin/iguana")]);
        let inputs = Inputs {
            role: Role::Iguana,
            chain: None,
            home: Path::new("/home/komodo"),
            user: None,
            extra: vec!["-v".into()],
            environ: &environ,
        };
        let plan = plan(&config, &seed(), inputs).unwrap();
        assert_eq!(plan.program, "/usr/local/bin/iguana");
        assert_eq!(strings(&plan.argv), ["notary", "-v"]);
        assert_eq!(plan.cwd, Path::new("/home/komodo/dpow/iguana"));
        assert_eq!(plan.options.grace, IGUANA_GRACE);
        let with_grace = vars(&[("DOKOMODO_GRACE", "90")]);
        let inputs = Inputs {
            role: Role::Iguana,
            chain: None,
            home: Path::new("/home/komodo"),
            user: None,
            extra: Vec::new(),
            environ: &with_grace,
        };
        let plan = super::plan(&config, &seed(), inputs).unwrap();
        assert_eq!(plan.options.grace, Duration::from_secs(90));
    }

    #[test]
    fn the_user_owns_every_rendered_path_and_its_parents_below_home() {
        let plan = beer(&[], &[]);
        let owned = plan.owned_paths();
        for path in [".komodo", ".komodo/BEER", ".komodo/BEER/BEER.conf"] {
            assert!(owned.contains(&PathBuf::from(path)), "{owned:?}");
        }
        assert!(owned.iter().all(|p| p.is_relative()));
    }

    #[test]
    fn an_absolute_iguana_workdir_is_owned_from_its_parent_down() {
        let config = crate::config::parse(
            Path::new("notary.yaml"),
            &YAML.replace("{workdir: dpow/iguana}", "{workdir: /srv/iguana}"),
        )
        .unwrap();
        let inputs = Inputs {
            role: Role::Iguana,
            chain: None,
            home: Path::new("/home/komodo"),
            user: None,
            extra: Vec::new(),
            environ: &[],
        };
        let plan = plan(&config, &seed(), inputs).unwrap();
        assert_eq!(plan.cwd, Path::new("/srv/iguana"));
        let owned = plan.owned_paths();
        for path in [
            ".komodo",
            ".komodo/BEER/BEER.conf",
            "/srv/iguana",
            "/srv/iguana/addcoin/BEER.json",
        ] {
            assert!(owned.contains(&PathBuf::from(path)), "{path}: {owned:?}");
        }
        assert!(!owned.contains(&PathBuf::from("/srv")), "{owned:?}");
        assert!(!owned.contains(&PathBuf::from("/")), "{owned:?}");
    }
}
