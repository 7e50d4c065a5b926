//! The command line: parses arguments and wires the modules together.
//! Data flows one way: config -> plan -> files -> exec.

mod import;
mod keys;
mod monitor;
mod probe;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use lexopt::prelude::*;

use crate::config::{self, Chain, Config};
use crate::error::Error;
use crate::exit;
use crate::json;
use crate::render::files;
use crate::render::run::{Inputs, Role};
use crate::render::{self, Plan};
use crate::secrets::seed::{self, Seed};

pub const CONFIG_VAR: &str = "DOKOMODO_CONFIG";
pub const CHAIN_VAR: &str = "DOKOMODO_CHAIN";

const USAGE: &str = "\
dokomodo: Komodo notary containers from one YAML and one secret

Usage: dokomodo [--config PATH] COMMAND [ARGS]

Commands:
  check                          validate the YAML (and the seed secret when present)
  ports [--json] [NAME...]       the ports komodod derives for each chain (no secret needed)
  render daemon --chain NAME     write a chain's conf files under --home (default $HOME)
  render iguana                  write every chain's conf and addcoin JSON for iguana
  creds NAME                     print a chain's rpcuser and rpcpassword
  secret --chain NAME            print a chain's secret, for its daemon's container
  run daemon --chain NAME [-- EXTRA...]
                                 render, then run the chain's daemon (komodod,
                                 litecoind...) under dokomodo as PID 1
  run iguana [-- EXTRA...]       render, then run iguana under dokomodo as PID 1
  init [OPTIONS] [--] CMD [ARGS...]
                                 run any command under dokomodo as PID 1
  health [--chain NAME]          does this container's daemon (or iguana) answer? exit 0/1
  status                         every chain's ports, host, and whether its RPC answers
  wait [--timeout S] [NAME...]   block until the chains' RPC answers
  compose [OPTIONS] [NAME...]    print a Docker Compose file for the chains
  keys [--wif]                   the notary's pubkey and addresses from the wallet passphrase
  utxos [NAME...]                each coin's notarisation UTXOs and balance; exit 1 when low
  monitor --listen ADDR:PORT     serve Prometheus metrics; split UTXOs when low
  import LIST.json               print a notary YAML with upstream's assetchains
                                 (merged into --config's YAML when given)

Global options:
  --config PATH    the notary YAML (else $DOKOMODO_CONFIG, else /etc/dokomodo/notary.yaml)
  -h, --help       this help; `dokomodo COMMAND --help` for a command's
  -V, --version    the version

The seed secret is read from $DOKOMODO_SEED_FILE, else $DOKOMODO_SEED, else
/run/secrets/dokomodo_seed: the master seed, or for a chain's daemon that
chain's secret (`dokomodo secret --chain NAME`). Exit status: 0 ok, 64 usage, 74 I/O, 78 config or
secret error; see the README for the rest.
";

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// Options every command takes.
pub(crate) struct Global {
    pub(crate) config: Option<PathBuf>,
}

impl Global {
    fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .or_else(|| env(CONFIG_VAR).filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH))
    }
    pub(crate) fn load(&self) -> Result<Config> {
        Ok(config::load(&self.config_path())?)
    }
    /// `load`, and the elected file the YAML names, for what uses it.
    pub(crate) fn load_with_elected(&self) -> Result<Config> {
        let mut config = self.load()?;
        config::load_elected(&mut config)?;
        Ok(config)
    }
    /// For read-only queries: the YAML without its deployment checks.
    pub(crate) fn load_query(&self) -> Result<Config> {
        Ok(config::load_for(
            &self.config_path(),
            config::Checks::Query,
        )?)
    }
}

pub(crate) fn env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

pub(crate) fn load_seed() -> Result<Seed> {
    Ok(seed::load(&env)?)
}

/// The seed, for a command that calls these chains' daemons: the master, or
/// the chain secret of the one chain it calls (else exit 78 naming the chain
/// the secret belongs to).
pub(crate) fn load_seed_serving<'c>(chains: impl IntoIterator<Item = &'c Chain>) -> Result<Seed> {
    let seed = load_seed()?;
    seed.serves_all(chains)?;
    Ok(seed)
}

/// The seed, checked for the role: the master for iguana, which derives every
/// chain's credentials; the master or the chain's own secret for a daemon.
fn load_seed_for(role: Role, chain: Option<&Chain>) -> Result<Seed> {
    let seed = load_seed()?;
    match (role, chain) {
        (Role::Daemon, Some(chain)) => seed.serves(chain)?,
        _ => seed.require_master("the iguana role (it derives every chain's credentials)")?,
    }
    Ok(seed)
}

pub fn main() -> u8 {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match dispatch(args) {
        Ok(status) => status,
        Err(err) => {
            crate::log::emit_with_detail(
                crate::log::Level::Error,
                &err.to_string(),
                err.detail().as_deref(),
            );
            err.exit_code()
        }
    }
}

fn dispatch(args: Vec<OsString>) -> Result<u8> {
    let mut global = Global { config: None };
    let mut parser = lexopt::Parser::from_args(args.clone());
    let command = loop {
        match parser.next()? {
            Some(Long("config")) => global.config = Some(parser.value()?.into()),
            Some(Short('h') | Long("help")) => return print(USAGE),
            Some(Short('V') | Long("version")) => {
                return print(&format!("dokomodo {}\n", env!("CARGO_PKG_VERSION")));
            }
            Some(Value(command)) => break command.string()?,
            Some(other) => return Err(other.unexpected().into()),
            None => return Err(Error::usage("no command given")),
        }
    };
    if !matches!(command.as_str(), "init" | "run") {
        // Only an init keeps the signals main blocked (a stop during its
        // start-up must not be lost); any other command stops on Ctrl-C.
        crate::init::release_early_signals();
    }
    match command.as_str() {
        // `init` takes the rest of the command line verbatim: its options,
        // then the command, which may itself look like options.
        "init" => Ok(crate::init::init_command(
            args[command_index(&args) + 1..].to_vec(),
        )),
        "check" => check(&global, &mut parser),
        "ports" => ports(&global, &mut parser),
        "render" => render(&mut global, &mut parser),
        "creds" => creds(&mut global, &mut parser),
        "secret" => secret(&mut global, &mut parser),
        "run" => run(&mut global, &mut parser),
        "health" => probe::health(&mut global, &mut parser),
        "status" => probe::status(&mut global, &mut parser),
        "wait" => probe::wait(&mut global, &mut parser),
        "iguana-startup" => probe::iguana_startup(&mut global, &mut parser),
        "compose" => compose(&mut global, &mut parser),
        "keys" => keys::keys(&mut global, &mut parser),
        "import" => import::command(&mut global, &mut parser),
        "utxos" => monitor::utxos(&mut global, &mut parser),
        "monitor" => monitor::monitor(&mut global, &mut parser),
        "help" => print(USAGE),
        other => Err(Error::usage(format!("unknown command `{other}`"))),
    }
}

/// Where the command word is: after the global options (`--config PATH`,
/// `--config=PATH`), which is where lexopt found it. (`--config init init`
/// must not take the path for the command.)
fn command_index(args: &[OsString]) -> usize {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        match arg.to_str() {
            Some("--config") => i += 2,
            Some(a) if a.starts_with('-') => i += 1,
            _ => return i,
        }
    }
    i
}

pub(crate) fn print(text: &str) -> Result<u8> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A closed stdout (`dokomodo ports | head -1`) is not an error worth a status.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    Ok(exit::OK)
}

const CHECK_USAGE: &str = "\
Usage: dokomodo [--config PATH] check

Validates the YAML and, when a seed secret is configured or mounted, the
secret. Prints each chain with its ports. Exit 0 when valid, 78 otherwise.
";

fn check(global: &Global, parser: &mut lexopt::Parser) -> Result<u8> {
    match parser.next()? {
        None => {}
        Some(Short('h') | Long("help")) => return print(CHECK_USAGE),
        Some(other) => return Err(other.unexpected().into()),
    }
    let config = global.load_with_elected()?;
    for warning in config::warnings(&config) {
        warn!("{warning}");
    }
    let mut out = format!(
        "{}: {} chain(s), valid\n",
        config.path.display(),
        config.chains.len()
    );
    out.push_str(&chain_table(
        &config.chains.iter().collect::<Vec<_>>(),
        true,
    ));
    let passphrase = crate::secrets::passphrase::load(&env)?;
    keys::check_pubkey(&config, passphrase.as_ref())?;
    if let Some(passphrase) = &passphrase {
        let _ = writeln!(
            out,
            "{}: valid, its key is the YAML's pubkey",
            passphrase.path.display()
        );
    }
    if seed::present(&env) {
        let seed = load_seed()?;
        match seed.chain_name() {
            Some(name) => {
                seed.serves(find_chain(&config, name)?)?;
                let _ = writeln!(out, "{}: valid, the chain secret of {name}", seed.source);
            }
            None => {
                let _ = writeln!(out, "{}: valid", seed.source);
            }
        }
    } else {
        let _ = writeln!(
            out,
            "seed secret: not present (render and run will need it)"
        );
    }
    print(&out)
}

const PORTS_USAGE: &str = "\
Usage: dokomodo [--config PATH] ports [--json] [NAME...]

The ports komodod derives for each chain (or the named ones): name, ac_name,
p2p port, rpc port and magic (komodod's signed 32-bit value). Needs no secret.
  --json    a JSON array of {name, ac_name, p2p_port, rpc_port, magic, daemon}
";

fn ports(global: &Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let mut json = false;
    let mut names = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("json") => json = true,
            Long("config") => return Err(Error::usage("--config goes before the command")),
            Short('h') | Long("help") => return print(PORTS_USAGE),
            Value(name) => names.push(name.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let config = global.load_query()?;
    let chains = select(&config, &names)?;
    if json {
        let mut out = String::from("[");
        for (i, chain) in chains.iter().enumerate() {
            out.push_str(if i == 0 { "\n  " } else { ",\n  " });
            let mut member = json::Object::with_capacity(128);
            member
                .string("name", &chain.name)
                .string("ac_name", &chain.ac_name)
                .number("p2p_port", chain.p2p_port().into())
                .number("rpc_port", chain.rpc_port().into())
                .number("magic", (chain.derived.magic as i32).into())
                .string("daemon", &chain.daemon);
            out.push_str(&member.finish());
        }
        out.push_str(if chains.is_empty() { "]\n" } else { "\n]\n" });
        print(&out)
    } else {
        print(&chain_table(&chains, false))
    }
}

pub(crate) fn select<'c>(config: &'c Config, names: &[String]) -> Result<Vec<&'c Chain>> {
    if names.is_empty() {
        return Ok(config.chains.iter().collect());
    }
    names.iter().map(|name| find_chain(config, name)).collect()
}

pub(crate) fn find_chain<'c>(config: &'c Config, name: &str) -> Result<&'c Chain> {
    config.chain(name).ok_or_else(|| {
        Error::NotInConfig(format!(
            "{}: no chain `{name}` (the YAML has: {})",
            config.path.display(),
            config.chain_names().join(", ")
        ))
    })
}

/// The width of a table column: its header's, or its widest cell's.
pub(crate) fn column_width(header: &str, cells: impl IntoIterator<Item = usize>) -> usize {
    cells.into_iter().fold(header.len(), usize::max)
}

fn chain_table(chains: &[&Chain], with_host: bool) -> String {
    let name_w = column_width("NAME", chains.iter().map(|c| c.name.len()));
    let ac_w = column_width("AC_NAME", chains.iter().map(|c| c.ac_name.len()));
    let mut out = format!(
        "{:name_w$}  {:ac_w$}  {:>5}  {:>5}  {:>11}",
        "NAME", "AC_NAME", "P2P", "RPC", "MAGIC"
    );
    if with_host {
        out.push_str("  HOST");
    }
    out.push('\n');
    for chain in chains {
        let _ = write!(
            out,
            "{:name_w$}  {:ac_w$}  {:>5}  {:>5}  {:>11}",
            chain.name,
            chain.ac_name,
            chain.p2p_port(),
            chain.rpc_port(),
            chain.derived.magic as i32
        );
        if with_host {
            let _ = write!(out, "  {}", chain.host);
        }
        out.push('\n');
    }
    out
}

const RENDER_USAGE: &str = "\
Usage: dokomodo [--config PATH] render daemon --chain NAME [--home DIR]
       dokomodo [--config PATH] render iguana [--home DIR]

Writes the files the role needs under DIR (default $HOME), atomically, and
lists them. The chain can also come from $DOKOMODO_CHAIN.
";

/// What `render` and `run` share: the role, the chain, HOME, extra args.
struct RoleArgs {
    role: Role,
    chain: Option<String>,
    home: Option<PathBuf>,
    extra: Vec<OsString>,
}

fn role_args(
    global: &mut Global,
    parser: &mut lexopt::Parser,
    usage: &str,
    allow_extra: bool,
) -> Result<Option<RoleArgs>> {
    let mut role = None;
    let mut chain = None;
    let mut home = None;
    let mut extra = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => {
                let _ = print(usage);
                return Ok(None);
            }
            Long("chain") => chain = Some(parser.value()?.string()?),
            Long("home") => home = Some(PathBuf::from(parser.value()?)),
            Long("config") => global.config = Some(parser.value()?.into()),
            Value(v) if role.is_none() => {
                role = Some(match v.to_str() {
                    // `komodod`: the role's name before coins (LTC) had daemons of their own.
                    Some("daemon" | "komodod") => Role::Daemon,
                    Some("iguana") => Role::Iguana,
                    _ => {
                        return Err(Error::usage(format!(
                            "unknown role `{}`; expected daemon (or komodod) or iguana",
                            v.to_string_lossy()
                        )));
                    }
                })
            }
            Value(v) if allow_extra => {
                extra.push(v);
                extra.extend(parser.raw_args()?);
            }
            other => return Err(other.unexpected().into()),
        }
    }
    let Some(role) = role else {
        return Err(Error::usage(
            "expected a role: daemon (or komodod) or iguana",
        ));
    };
    if role == Role::Daemon && chain.is_none() {
        chain = env(CHAIN_VAR)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string_lossy().into_owned());
        if chain.is_none() {
            return Err(Error::usage(format!(
                "the daemon role needs --chain NAME (or ${CHAIN_VAR})"
            )));
        }
    }
    Ok(Some(RoleArgs {
        role,
        chain,
        home,
        extra,
    }))
}

impl RoleArgs {
    /// The chain `--chain` (or $DOKOMODO_CHAIN) names, looked up in `config`.
    fn chain_in<'c>(&self, config: &'c Config) -> Result<Option<&'c Chain>> {
        self.chain
            .as_deref()
            .map(|name| find_chain(config, name))
            .transpose()
    }
}

fn render(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let Some(args) = role_args(global, parser, RENDER_USAGE, false)? else {
        return Ok(exit::OK);
    };
    let config = match args.role {
        Role::Iguana => global.load_with_elected()?,
        Role::Daemon => global.load()?,
    };
    let chain = args.chain_in(&config)?;
    let seed = load_seed_for(args.role, chain)?;
    let home = home_dir(args.home)?;
    let files = match (args.role, chain) {
        (Role::Daemon, Some(chain)) => render::daemon(&config, chain, &seed),
        _ => render::iguana(&config, &seed, &home),
    };
    let written = write_plan(files, &home)?;
    // Built without the formatting machinery: 2000 lines for 1000 chains.
    let mut out = String::with_capacity(written.len() * (home.as_os_str().len() + 48));
    for (path, outcome) in written {
        let word = outcome_word(outcome);
        out.push_str(word);
        out.push_str(&"          "[word.len()..]);
        out.push_str(&home.join(path).to_string_lossy());
        out.push('\n');
    }
    print(&out)
}

/// HOME as komodod sees it: `--home`, else $HOME, else `/` (komodod's rule),
/// made absolute because iguana's addcoin JSON names paths from `/`.
pub(crate) fn home_dir(explicit: Option<PathBuf>) -> Result<PathBuf> {
    let home = explicit
        .or_else(|| env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/"));
    if home.is_absolute() {
        return Ok(home);
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(home))
        .map_err(|e| Error::Io(format!("cannot resolve HOME: {}", crate::describe_io(&e))))
}

/// Writes the plan's files under HOME (and an absolute iguana.workdir under
/// its own parent: `Plan::by_root`), one atomic set per root. Takes the plan:
/// the contents move to the writer instead of being copied (the iguana role
/// renders megabytes). Paths come back relative to HOME, or absolute.
fn write_plan(plan: Plan, home: &Path) -> Result<Vec<(PathBuf, files::Outcome)>> {
    let mut written = Vec::new();
    for (root, plan) in plan.by_root(home) {
        let specs: Vec<files::FileSpec> = plan
            .files
            .into_iter()
            .map(|f| files::FileSpec {
                path: f.path,
                contents: f.contents.into_bytes(),
            })
            .collect();
        let outcomes = files::write_set(
            &root,
            &plan.dirs,
            &specs,
            files::Modes::for_current_process(),
        )?;
        written.extend(outcomes.into_iter().map(|(path, outcome)| {
            let path = if root == home { path } else { root.join(path) };
            (path, outcome)
        }));
    }
    Ok(written)
}

fn outcome_word(outcome: files::Outcome) -> &'static str {
    match outcome {
        files::Outcome::Created => "created",
        files::Outcome::Replaced => "replaced",
        files::Outcome::Unchanged => "unchanged",
    }
}

const CREDS_USAGE: &str = "\
Usage: dokomodo [--config PATH] creds NAME

Prints the chain's rpcuser= and rpcpassword= lines, derived from the seed
secret, for an operator's komodo-cli or curl. The password is a secret.
";

fn creds(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let mut name = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return print(CREDS_USAGE),
            Long("config") => global.config = Some(parser.value()?.into()),
            Value(v) if name.is_none() => name = Some(v.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let Some(name) = name else {
        return Err(Error::usage("creds needs a chain NAME"));
    };
    let config = global.load_query()?;
    let chain = find_chain(&config, &name)?;
    let seed = load_seed()?;
    seed.serves(chain)?;
    let creds = crate::secrets::creds::for_chain(&seed, chain);
    print(&format!(
        "rpcuser={}\nrpcpassword={}\n",
        creds.rpcuser, creds.rpcpassword
    ))
}

const SECRET_USAGE: &str = "\
Usage: dokomodo [--config PATH] secret --chain NAME

Prints the chain's secret, derived from the master seed: give it to the
chain's daemon container instead of the master (as its dokomodo_seed secret).
With it the daemon renders the same files, and a container that is taken
gives away that chain's RPC credentials only. It names its chain; another
chain's container, iguana, and the master-only commands refuse it (78).
Needs the master seed. The output is a secret.
";

fn secret(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let mut name = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return print(SECRET_USAGE),
            Long("chain") => name = Some(parser.value()?.string()?),
            Long("config") => global.config = Some(parser.value()?.into()),
            other => return Err(other.unexpected().into()),
        }
    }
    let Some(name) = name else {
        return Err(Error::usage("secret needs --chain NAME"));
    };
    let config = global.load_query()?;
    let chain = find_chain(&config, &name)?;
    let seed = load_seed()?;
    seed.require_master("`dokomodo secret`")?;
    let mut text = crate::secrets::chain::text(&crate::secrets::creds::Keys::new(&seed), chain);
    text.push('\n');
    let status = print(&text);
    zeroize::Zeroize::zeroize(&mut text);
    status
}

const RUN_USAGE: &str = "\
Usage: dokomodo [--config PATH] run daemon --chain NAME [-- EXTRA...]
       dokomodo [--config PATH] run iguana [-- EXTRA...]

Renders the role's files exactly as `render` does (exit 78 and nothing started
if the YAML or seed is wrong), then runs the daemon under dokomodo as PID 1:
  komodod -ac_name=NAME -ac_...=... -addnode=SEED... [-pubkey=..] [-datadir=..] EXTRA
  litecoind [-addnode=SEED...] EXTRA   (a coin: its own seeds only)
  iguana notary EXTRA            (in its working directory)
The binaries are the chain's `daemon` (default `komodod`; LTC's `litecoind`) and
`iguana` on PATH, or $DOKOMODO_DAEMON (older name $DOKOMODO_KOMODOD) / $DOKOMODO_IGUANA.
`komodod` is accepted as the name of the daemon role.
Started as root with `user:` in the YAML or $DOKOMODO_USER, files are given to
that user and the daemon runs as it. Init options come from the environment:
DOKOMODO_GRACE (default 300 s for a chain's daemon, 30 s for iguana) and
DOKOMODO_STOP_SIGNAL (default TERM); see docs/init.md.
";

fn run(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    use crate::init::{self, user};

    let Some(args) = role_args(global, parser, RUN_USAGE, true)? else {
        return Ok(exit::OK);
    };
    let config = match args.role {
        Role::Iguana => global.load_with_elected()?,
        Role::Daemon => global.load()?,
    };
    let chain = args.chain_in(&config)?;
    if let Some(chain) = chain {
        // EXTRA goes on komodod's command line after the chain's `args`: same policy.
        config::flags::check_extra(&config, chain, &args.extra)?;
    }
    let seed = load_seed_for(args.role, chain)?;
    // Read before any privilege drop: the secret may be readable by root only.
    let passphrase = match args.role {
        Role::Iguana => crate::secrets::passphrase::load(&env)?,
        Role::Daemon => None,
    };
    keys::check_pubkey(&config, passphrase.as_ref())?;
    let target = run_as(&config)?;
    let home = match (args.home, &target) {
        (Some(home), _) => home_dir(Some(home))?,
        (None, Some(target)) => {
            let home = user::home_to_render(target)?;
            let who = target.account.as_deref().unwrap_or_default();
            info!("rendering into {}, the home of `{who}`", home.display());
            home
        }
        (None, None) => writable_home()?,
    };
    let environ: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let mut plan = render::run::plan(
        &config,
        &seed,
        Inputs {
            role: args.role,
            chain,
            home: &home,
            user: target,
            extra: args.extra,
            environ: &environ,
        },
    )?;
    drop(environ);

    // A stop that came while the YAML was read: nothing is rendered or
    // started. One that comes while rendering lets the render finish (the
    // writes are atomic) and keeps the daemon from starting.
    if let Some(code) = init::stop_before_start(&plan.program.to_string_lossy()) {
        return Ok(code);
    }
    let owned = match plan.user {
        Some(_) => plan.owned_paths(),
        None => Vec::new(),
    };
    let written = write_plan(std::mem::take(&mut plan.files), &home)?;
    for (path, outcome) in written {
        match outcome {
            files::Outcome::Replaced => warn!(
                "replaced {} (its content differed from what the YAML and seed give)",
                home.join(path).display()
            ),
            other => info!("{} {}", outcome_word(other), home.join(path).display()),
        }
    }
    if let Some(target) = &plan.user {
        for path in owned {
            user::chown(&home.join(&path), target)?;
        }
    }

    // What iguana's start-up needs from outside (its address, its peers from
    // the elected file it reads), checked before iguana starts.
    let prepared = match args.role {
        Role::Iguana if config.iguana.startup => {
            Some(crate::ops::iguana::prepare(&config, &home, &env)?)
        }
        _ => None,
    };
    let after_start = match args.role {
        // The start-up sequence derives the chains' credentials from the
        // seed; komodod's run is done with it.
        Role::Iguana => iguana_startup(config, home, seed, passphrase, prepared),
        Role::Daemon => {
            drop(seed);
            // Nothing of the configuration is needed while supervising: it
            // is freed once komodod runs, off the path to its exec.
            let after_start: init::AfterStart = Box::new(move |_pid| drop(config));
            after_start
        }
    };
    let (options, spawn) = plan.spawn();
    Ok(init::supervise_with(&options, spawn, Some(after_start)))
}

/// The user the daemon runs as: `DOKOMODO_USER` or the YAML's `user:`, when
/// started as root; otherwise the current one.
fn run_as(config: &Config) -> Result<Option<crate::init::user::Target>> {
    use crate::init::{self, user};
    let spec = env(init::USER_ENV)
        .filter(|v| !v.is_empty())
        .map(|v| v.to_string_lossy().into_owned())
        .or_else(|| config.user.clone());
    Ok(match (&spec, user::is_root()) {
        (Some(spec), true) => Some(user::resolve(spec)?),
        (Some(spec), false) => {
            info!("not started as root: running as the current user, not as `{spec}`");
            None
        }
        (None, true) => {
            warn!("running the daemon as root: set `user:` in the YAML or DOKOMODO_USER");
            None
        }
        (None, false) => None,
    })
}

/// iguana's start-up (docs/iguana-api.md), on its own thread once iguana
/// runs. Each coin's outcome is logged and kept for `health`; iguana keeps
/// running whatever happens, so the operator can finish by hand.
fn iguana_startup(
    config: Config,
    home: PathBuf,
    seed: Seed,
    passphrase: Option<crate::secrets::passphrase::Passphrase>,
    prepared: Option<crate::ops::iguana::Prepared>,
) -> crate::init::AfterStart {
    use crate::ops::iguana;
    Box::new(move |_pid| {
        let Some(prepared) = prepared else {
            info!("iguana.startup is false: not calling iguana's start-up methods");
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("iguana-startup".into())
            .spawn(move || {
                let options = iguana::StartupOptions::for_config(&config);
                let outcome = iguana::startup_verdict(
                    &config,
                    &home,
                    &seed,
                    passphrase.as_ref(),
                    &prepared,
                    &options,
                );
                if let Err(why) = outcome {
                    error!("{why}");
                }
            });
        if let Err(e) = spawned {
            error!("cannot start iguana's start-up sequence: {e}");
        }
    })
}

/// HOME for a non-root process: $HOME when it is a writable directory (the
/// images set HOME to a group-0 writable volume), else /tmp, with a warning
/// that nothing will persist (OpenShift's random uid with HOME=/).
fn writable_home() -> Result<PathBuf> {
    let home = home_dir(None)?;
    if is_writable_dir(&home) {
        return Ok(home);
    }
    let fallback = PathBuf::from("/tmp");
    warn!(
        "HOME ({}) is not a writable directory; rendering into {} instead, which does not persist",
        home.display(),
        fallback.display()
    );
    Ok(fallback)
}

fn is_writable_dir(path: &Path) -> bool {
    use rustix::fs::Access;
    path.is_dir() && rustix::fs::access(path, Access::WRITE_OK | Access::EXEC_OK).is_ok()
}

fn compose(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    use crate::ops::compose;
    let Some(options) = compose::parse_args(parser, &mut global.config)? else {
        return print(compose::USAGE);
    };
    let config = global.load_with_elected()?;
    print(&compose::generate(&config, &options)?)
}
