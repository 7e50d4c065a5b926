//! `dokomodo init [OPTIONS] [--] CMD [ARGS...]`: a general-purpose init.
//! Every option is also an environment variable, because `docker --init`
//! style setups and compose files cannot pass flags; a flag wins over its
//! variable, and an empty variable counts as unset.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::time::Duration;

use super::{Options, Spawn, signals, supervise};
use crate::exit;

pub const GRACE_ENV: &str = "DOKOMODO_GRACE";
pub const STOP_SIGNAL_ENV: &str = "DOKOMODO_STOP_SIGNAL";
pub const USER_ENV: &str = "DOKOMODO_USER";

/// Never passed to the daemon: the seed secret stays with dokomodo.
const SECRET_ENV: [&str; 2] = ["DOKOMODO_SEED", "DOKOMODO_SEED_FILE"];

const USAGE: &str = "\
Usage: dokomodo init [OPTIONS] [--] CMD [ARGS...]

Runs CMD as a child and stays as its init: forwards signals to its process
group, reaps zombies, stops it gracefully, exits with its status.

Options (each also an environment variable; the flag wins):
  --grace SECONDS     time CMD has to stop after the stop signal, and its
                      leftover processes after it exits, before SIGKILL
                      (at most 86400) [DOKOMODO_GRACE, default 300]
  --stop-signal SIG   sent to CMD when the init gets SIGTERM: TERM, INT,
                      QUIT, HUP, USR1, USR2, WINCH, PWR or RTMIN..RTMAX
                      [DOKOMODO_STOP_SIGNAL, default TERM]
  --user SPEC         run CMD as NAME, UID, NAME:GROUP or UID:GID (only when
                      started as root) [DOKOMODO_USER]
  -h, --help          print this help

Exit status: CMD's own; 128+N if it died of signal N; 126 cannot execute;
127 not found; 64 bad command line; 78 bad environment or unknown user.
See docs/init.md.
";

#[derive(Debug, thiserror::Error)]
pub enum OptionError {
    /// A flag or the command line itself is wrong.
    #[error("{0} (see `dokomodo init --help`)")]
    Usage(String),
    /// An environment variable is wrong.
    #[error("{var}: {problem}")]
    Env { var: &'static str, problem: String },
}

impl OptionError {
    pub fn exit_code(&self) -> u8 {
        match self {
            OptionError::Usage(_) => exit::USAGE,
            OptionError::Env { .. } => exit::CONFIG,
        }
    }
}

enum Parsed {
    Help,
    Run {
        options: Options,
        user: Option<String>,
        program: OsString,
        args: Vec<OsString>,
    },
}

/// `args` are those after `init`.
pub fn init_command(args: Vec<OsString>) -> u8 {
    let parsed = match parse(args, &|k| std::env::var_os(k)) {
        Ok(p) => p,
        Err(e) => {
            error!("{e}");
            return e.exit_code();
        }
    };
    let Parsed::Run {
        options,
        user,
        program,
        args,
    } = parsed
    else {
        let _ = std::io::stdout().write_all(USAGE.as_bytes());
        return exit::OK;
    };

    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !SECRET_ENV.iter().any(|s| k == s))
        .collect();
    let target = match user.as_deref().map(crate::init::user::resolve) {
        None => None,
        Some(Ok(target)) => Some(target),
        Some(Err(e)) => {
            error!("{e}");
            return e.exit_code();
        }
    };
    if let Some(target) = target.as_ref().filter(|_| crate::init::user::is_root()) {
        // gosu sets HOME from the passwd entry; the daemon would otherwise
        // write its dotfiles into root's home.
        env.retain(|(k, _)| k != "HOME");
        env.push(("HOME".into(), target.home.clone().into_os_string()));
    }

    supervise(
        &options,
        Spawn {
            program,
            args,
            env,
            cwd: None,
            user: target,
        },
    )
}

fn parse(
    args: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Parsed, OptionError> {
    use lexopt::prelude::*;

    let usage = |e: lexopt::Error| OptionError::Usage(e.to_string());
    let mut parser = lexopt::Parser::from_args(args);
    let (mut grace, mut stop_signal, mut user) = (None, None, None);
    let mut command = None;
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Long("grace") => grace = Some(parser.value().map_err(usage)?),
            Long("stop-signal") => stop_signal = Some(parser.value().map_err(usage)?),
            Long("user") => user = Some(parser.value().map_err(usage)?),
            Short('h') | Long("help") => return Ok(Parsed::Help),
            // The first word that is not an option is CMD; all after it
            // belongs to CMD, options or not.
            Value(program) => {
                let rest: Vec<OsString> = parser.raw_args().map_err(usage)?.collect();
                command = Some((program, rest));
                break;
            }
            other => return Err(usage(other.unexpected())),
        }
    }
    let Some((program, args)) = command else {
        return Err(OptionError::Usage("no command given".into()));
    };

    let options = options_from(grace.as_deref(), stop_signal.as_deref(), env)?;
    let user = match user {
        Some(spec) => Some(flag_text("--user", &spec)?),
        None => env_text(USER_ENV, env)?,
    };
    Ok(Parsed::Run {
        options,
        user,
        program,
        args,
    })
}

/// Flags first, then their variables, then the defaults.
pub(super) fn options_from(
    grace: Option<&OsStr>,
    stop_signal: Option<&OsStr>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Options, OptionError> {
    let mut options = Options::default();
    if let Some(value) = grace {
        options.grace = from_flag("--grace", value, parse_grace)?;
    } else if let Some(g) = from_env(GRACE_ENV, env, parse_grace)? {
        options.grace = g;
    }
    if let Some(value) = stop_signal {
        options.stop_signal = from_flag("--stop-signal", value, parse_signal)?;
    } else if let Some(s) = from_env(STOP_SIGNAL_ENV, env, parse_signal)? {
        options.stop_signal = s;
    }
    Ok(options)
}

fn from_flag<T>(
    name: &str,
    value: &OsStr,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, OptionError> {
    let text = flag_text(name, value)?;
    parse(&text).map_err(|problem| OptionError::Usage(format!("{name}: {problem}")))
}

fn from_env<T>(
    var: &'static str,
    env: &dyn Fn(&str) -> Option<OsString>,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, OptionError> {
    env_text(var, env)?
        .map(|text| parse(&text).map_err(|problem| OptionError::Env { var, problem }))
        .transpose()
}

fn flag_text(name: &str, value: &OsStr) -> Result<String, OptionError> {
    value
        .to_str()
        .map(str::to_string)
        .ok_or_else(|| OptionError::Usage(format!("{name}: not valid UTF-8")))
}

fn env_text(
    var: &'static str,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Option<String>, OptionError> {
    match env(var) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v.into_string().map(Some).map_err(|_| OptionError::Env {
            var,
            problem: "not valid UTF-8".into(),
        }),
    }
}

/// The longest grace: a day. A longer one would mean "never SIGKILL" in
/// practice, and no orchestrator waits that long anyway.
pub const MAX_GRACE: Duration = Duration::from_secs(86_400);

/// Seconds, possibly fractional: `300`, `0.5`; at most [`MAX_GRACE`].
fn parse_grace(text: &str) -> Result<Duration, String> {
    let grace = text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds"))?;
    if grace > MAX_GRACE {
        return Err(format!(
            "`{text}` is more than {} seconds (one day), the longest grace",
            MAX_GRACE.as_secs()
        ));
    }
    Ok(grace)
}

/// The signals a daemon can be asked to stop with: each can be caught and
/// means "stop" (or is a daemon's own convention for it: WINCH is Apache's
/// graceful stop, PWR lxc's, the real-time ones systemd's).
const STOP_SIGNALS: &str = "TERM, INT, QUIT, HUP, USR1, USR2, WINCH, PWR or RTMIN..RTMAX";

fn parse_signal(text: &str) -> Result<i32, String> {
    let sig = signals::parse(text)
        .ok_or_else(|| format!("`{text}` is not a signal (TERM, SIGINT, RTMIN+3, 15...)"))?;
    let allowed = [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGWINCH,
        libc::SIGPWR,
    ];
    if allowed.contains(&sig) || (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&sig) {
        return Ok(sig);
    }
    let why = match sig {
        libc::SIGKILL | libc::SIGSTOP => {
            "cannot be caught, so the daemon gets no chance to stop cleanly"
        }
        libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU | libc::SIGCONT => {
            "is job control: it suspends or resumes, it does not stop"
        }
        libc::SIGCHLD => "is the kernel's notice that a child ended",
        libc::SIGSEGV
        | libc::SIGBUS
        | libc::SIGFPE
        | libc::SIGILL
        | libc::SIGABRT
        | libc::SIGTRAP
        | libc::SIGSYS => "is a fault signal: it makes the daemon crash, not stop",
        _ => "is not a stop request",
    };
    Err(format!("{} {why}; use {STOP_SIGNALS}", signals::name(sig)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn run(
        args: &[&str],
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> (Options, Option<String>, Vec<OsString>) {
        match parse(os(args), env) {
            Ok(Parsed::Run {
                options,
                user,
                program,
                args,
            }) => {
                let mut cmd = vec![program];
                cmd.extend(args);
                (options, user, cmd)
            }
            Ok(Parsed::Help) => panic!("help"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn everything_after_the_command_belongs_to_it() {
        let (o, user, cmd) = run(&["--grace", "2", "sleep", "--grace", "5"], &no_env);
        assert_eq!(o.grace, Duration::from_secs(2));
        assert_eq!(user, None);
        assert_eq!(cmd, os(&["sleep", "--grace", "5"]));
        let (_, _, cmd) = run(&["--", "--odd-name", "-x"], &no_env);
        assert_eq!(cmd, os(&["--odd-name", "-x"]));
    }

    #[test]
    fn defaults_then_env_then_flags() {
        let (o, _, _) = run(&["true"], &no_env);
        assert_eq!(
            (o.grace, o.stop_signal),
            (Duration::from_secs(300), libc::SIGTERM)
        );

        let env = |k: &str| match k {
            GRACE_ENV => Some("0.5".into()),
            STOP_SIGNAL_ENV => Some("SIGQUIT".into()),
            USER_ENV => Some("nobody".into()),
            _ => None,
        };
        let (o, user, _) = run(&["true"], &env);
        assert_eq!(
            (o.grace, o.stop_signal),
            (Duration::from_millis(500), libc::SIGQUIT)
        );
        assert_eq!(user.as_deref(), Some("nobody"));

        let (o, user, _) = run(
            &["--grace=7", "--stop-signal", "INT", "--user", "1:1", "true"],
            &env,
        );
        assert_eq!(
            (o.grace, o.stop_signal),
            (Duration::from_secs(7), libc::SIGINT)
        );
        assert_eq!(user.as_deref(), Some("1:1"));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let env = |_: &str| Some(OsString::new());
        let (o, user, _) = run(&["true"], &env);
        assert_eq!(o.grace, Duration::from_secs(300));
        assert_eq!(user, None);
    }

    #[test]
    fn bad_flags_are_usage_errors_and_bad_variables_config_errors() {
        let err = |args: &[&str], env: &dyn Fn(&str) -> Option<OsString>| match parse(os(args), env)
        {
            Err(e) => (e.exit_code(), e.to_string()),
            Ok(_) => panic!("accepted {args:?}"),
        };
        assert_eq!(
            err(&["--grace", "soon", "true"], &no_env),
            (
                64,
                "--grace: `soon` is not a number of seconds (see `dokomodo init --help`)".into()
            )
        );
        assert_eq!(err(&["--grace", "-1", "true"], &no_env).0, 64);
        assert_eq!(err(&["--stop-signal", "NOPE", "true"], &no_env).0, 64);
        assert_eq!(err(&["--bogus", "true"], &no_env).0, 64);
        assert_eq!(err(&["--grace"], &no_env).0, 64);
        assert_eq!(
            err(&[], &no_env),
            (64, "no command given (see `dokomodo init --help`)".into())
        );

        let bad_grace = |k: &str| (k == GRACE_ENV).then(|| "1m".into());
        assert_eq!(
            err(&["true"], &bad_grace),
            (78, "DOKOMODO_GRACE: `1m` is not a number of seconds".into())
        );
        let bad_signal = |k: &str| (k == STOP_SIGNAL_ENV).then(|| "99".into());
        assert_eq!(err(&["true"], &bad_signal).0, 78);

        // Bounds: a grace of at most a day, a stop signal that can be caught.
        let never = |k: &str| (k == GRACE_ENV).then(|| "99999999999".into());
        assert_eq!(
            err(&["true"], &never),
            (
                78,
                "DOKOMODO_GRACE: `99999999999` is more than 86400 seconds (one day), the longest grace".into()
            )
        );
        assert_eq!(
            err(&["--grace", "86400.5", "true"], &no_env),
            (
                64,
                "--grace: `86400.5` is more than 86400 seconds (one day), the longest grace (see `dokomodo init --help`)".into()
            )
        );
        assert_eq!(
            run(&["--grace", "86400", "true"], &no_env).0.grace,
            MAX_GRACE
        );
        let kill = |k: &str| (k == STOP_SIGNAL_ENV).then(|| "KILL".into());
        assert_eq!(
            err(&["true"], &kill),
            (
                78,
                "DOKOMODO_STOP_SIGNAL: SIGKILL cannot be caught, so the daemon gets no chance to stop cleanly; use TERM, INT, QUIT, HUP, USR1, USR2, WINCH, PWR or RTMIN..RTMAX".into()
            )
        );
        assert_eq!(
            err(&["--stop-signal", "stop", "true"], &no_env),
            (
                64,
                "--stop-signal: SIGSTOP cannot be caught, so the daemon gets no chance to stop cleanly; use TERM, INT, QUIT, HUP, USR1, USR2, WINCH, PWR or RTMIN..RTMAX (see `dokomodo init --help`)".into()
            )
        );
        for refused in [
            "TSTP", "TTIN", "TTOU", "CONT", "CHLD", "SEGV", "BUS", "FPE", "ILL", "ABRT", "TRAP",
            "SYS", "PIPE", "ALRM", "9", "19",
        ] {
            assert_eq!(
                err(&["--stop-signal", refused, "true"], &no_env).0,
                64,
                "{refused}"
            );
        }
        for allowed in [
            "TERM", "INT", "QUIT", "HUP", "USR1", "USR2", "WINCH", "PWR", "RTMIN", "RTMAX-2",
        ] {
            run(&["--stop-signal", allowed, "true"], &no_env);
        }
        // A flag replaces its variable, so the bad variable is not read.
        assert_eq!(
            run(&["--grace", "1", "true"], &bad_grace).0.grace,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn help_wins() {
        assert!(matches!(parse(os(&["--help"]), &no_env), Ok(Parsed::Help)));
        assert!(matches!(
            parse(os(&["-h", "true"]), &no_env),
            Ok(Parsed::Help)
        ));
    }
}
