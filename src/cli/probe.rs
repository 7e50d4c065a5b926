//! The probing commands: `health` (a container's HEALTHCHECK: fast, quiet on
//! success), `status` (a table for an operator), `wait` (start ordering), and
//! the hidden `iguana-startup`. What they ask of the daemons is `ops::probe`.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use lexopt::prelude::*;

use super::{
    Global, Result, env, find_chain, home_dir, load_seed, load_seed_serving, print, select,
};
use crate::error::Error;
use crate::exit;
use crate::ops::iguana;
use crate::ops::probe::{self, iguana_answers, iguana_port, rpc_host};
use crate::ops::rpc;
use crate::secrets::creds;

fn seconds_arg(parser: &mut lexopt::Parser, option: &str) -> Result<Duration> {
    let value = parser.value()?.string()?;
    match value.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(Error::usage(format!(
            "{option} takes a number of seconds (up to 86400), not `{value}`"
        ))),
    }
}

fn port_arg(parser: &mut lexopt::Parser) -> Result<u16> {
    let value = parser.value()?.string()?;
    value
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Error::usage(format!("--port takes a port number, not `{value}`")))
}

fn failed(message: String) -> Error {
    Error::NoAnswer(message)
}

pub const HEALTH_USAGE: &str = "\
Usage: dokomodo [--config PATH] health [--chain NAME] [--timeout SECONDS] [--port PORT] [--alive]

A container's health check. With a chain (--chain or $DOKOMODO_CHAIN): calls
getinfo on the komodod in this container, at 127.0.0.1 and the chain's RPC
port, with the credentials derived from the seed. Without one (the iguana
container): iguana answers HTTP at 127.0.0.1:7776 (7779 for
`iguana.elected: 3rd_party`) and, unless `iguana.startup: false`, every coin
of its start-up is ready (added, verified through iguana, and under dpow);
otherwise exit 1 names the coins that are not, and why.
  --alive              iguana answers, whatever its coins (a liveness probe:
                       a daemon still loading must not get iguana restarted)
Prints nothing and exits 0 when it answers; exits 1 with one line saying why
not (nothing listening, no answer, credentials refused); 78 when the YAML or
the seed is wrong.
  --timeout SECONDS    give up after this long (default 5)
  --port PORT          probe this port instead of the derived one
";

pub(super) fn health(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let mut chain = None;
    let mut timeout = Duration::from_secs(5);
    let mut port = None;
    let mut alive_only = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return print(HEALTH_USAGE),
            Long("alive") => alive_only = true,
            Long("chain") => chain = Some(parser.value()?.string()?),
            Long("timeout") => timeout = seconds_arg(parser, "--timeout")?,
            Long("port") => port = Some(port_arg(parser)?),
            Long("config") => global.config = Some(parser.value()?.into()),
            other => return Err(other.unexpected().into()),
        }
    }
    let chain = chain.or_else(|| {
        env(super::CHAIN_VAR)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string_lossy().into_owned())
    });
    let config = global.load()?;
    match chain {
        Some(name) => {
            let chain = find_chain(&config, &name)?;
            let seed = load_seed()?;
            seed.serves(chain)?;
            let port = port.unwrap_or(chain.rpc_port());
            probe::ask_alive(
                chain,
                "127.0.0.1",
                port,
                &creds::for_chain(&seed, chain),
                timeout,
            )
            .map_err(|e| failed(format!("{} at 127.0.0.1:{port}: {e}", chain.name)))?;
        }
        None => {
            let port = port.unwrap_or(iguana_port(&config));
            iguana_answers(port, timeout)
                .map_err(|e| failed(format!("iguana at 127.0.0.1:{port}: {e}")))?;
            // With the start-up on, healthy only when every coin is ready
            // (`--alive`: iguana answers, whatever its coins).
            if config.iguana.startup && !alive_only {
                let path = iguana::status_path(&config, &home_dir(None)?);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    failed(format!(
                        "iguana answers, but its start-up has not begun ({}: {})",
                        path.display(),
                        crate::describe_io(&e)
                    ))
                })?;
                iguana::verdict(&iguana::parse_status(&text))
                    .map_err(|why| failed(format!("iguana answers, but {why}")))?;
            }
        }
    }
    Ok(exit::OK)
}

pub const STATUS_USAGE: &str = "\
Usage: dokomodo [--config PATH] status [--timeout SECONDS] [NAME...]

Every chain (or the named ones) with its ports, its host, and whether its RPC
answers getinfo from here with the credentials derived from the seed (at
host:rpcport, or 127.0.0.1 for a loopback host). Exit 0 whatever the
answers; 78 when the YAML or the seed is wrong.
  --timeout SECONDS    per chain (default 3); chains are probed in parallel
";

/// `[--timeout SECONDS] [NAME...]`, shared by `status` and `wait`; `None`
/// when `--help` was printed.
fn timeout_and_names(
    global: &mut Global,
    parser: &mut lexopt::Parser,
    usage: &str,
    default: Duration,
) -> Result<Option<(Duration, Vec<String>)>> {
    let mut timeout = default;
    let mut names = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => {
                print(usage)?;
                return Ok(None);
            }
            Long("timeout") => timeout = seconds_arg(parser, "--timeout")?,
            Long("config") => global.config = Some(parser.value()?.into()),
            Value(name) => names.push(name.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    Ok(Some((timeout, names)))
}

pub(super) fn status(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let Some((timeout, names)) =
        timeout_and_names(global, parser, STATUS_USAGE, Duration::from_secs(3))?
    else {
        return Ok(exit::OK);
    };
    let config = global.load()?;
    let chains = select(&config, &names)?;
    let seed = load_seed_serving(chains.iter().copied())?;
    let answers = probe::answers(&chains, &seed, timeout);
    let name_w = super::column_width("NAME", chains.iter().map(|c| c.name.len()));
    let host_w = super::column_width("HOST", chains.iter().map(|c| rpc_host(c).len()));
    let mut out = format!(
        "{:name_w$}  {:>5}  {:>5}  {:host_w$}  RPC ANSWERS\n",
        "NAME", "P2P", "RPC", "HOST"
    );
    for (chain, answer) in chains.iter().zip(answers) {
        let _ = writeln!(
            out,
            "{:name_w$}  {:>5}  {:>5}  {:host_w$}  {answer}",
            chain.name,
            chain.p2p_port(),
            chain.rpc_port(),
            rpc_host(chain)
        );
    }
    print(&out)
}

pub const WAIT_USAGE: &str = "\
Usage: dokomodo [--config PATH] wait [--timeout SECONDS] [NAME...]

Blocks until every chain (or the named ones) answers getinfo at host:rpcport
with the credentials derived from the seed, retrying each every 0.5 s, then
1, 2, 4, 5, 5... s, and logs one line per chain as it answers. For start
ordering: an init container, or a command before iguana starts.
Exit 0 when all answer; 1 when the timeout passes (naming the chains that
never answered); 78 when the YAML or the seed is wrong.
  --timeout SECONDS    give up after this long (default 600)
";

pub(super) fn wait(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let Some((timeout, names)) =
        timeout_and_names(global, parser, WAIT_USAGE, Duration::from_secs(600))?
    else {
        return Ok(exit::OK);
    };
    let config = global.load()?;
    let chains = select(&config, &names)?;
    let seed = load_seed_serving(chains.iter().copied())?;
    let names: Vec<&str> = chains.iter().map(|c| c.name.as_str()).collect();
    info!(
        "waiting up to {} for {}",
        rpc::seconds(timeout),
        names.join(", ")
    );
    let silent = probe::wait_all(&chains, &seed, timeout);
    if silent.is_empty() {
        return Ok(exit::OK);
    }
    Err(failed(format!(
        "timed out after {}: no answer from {}",
        rpc::seconds(timeout),
        silent.join("; ")
    )))
}

const STARTUP_USAGE: &str = "\
Usage: dokomodo [--config PATH] iguana-startup [--home DIR] [--iguana-port PORT]
                [--iguana-wait SECONDS] [--chain-wait SECONDS]

Runs iguana's start-up against an iguana that is already running (what `run
iguana` does by itself; docs/iguana-api.md): myipaddr, addnotary, then per
coin once its daemon answers: unlock, the notary key, addcoin (verified
through iguana), walletpassphrase after the first, dpow. Exit 0 when every
coin is ready, 1 naming the others. For tests and manual recovery.
";

/// The hidden `iguana-startup` command.
pub(super) fn iguana_startup(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let mut home: Option<PathBuf> = None;
    let mut port = None;
    let mut iguana_wait = None;
    let mut chain_wait = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return print(STARTUP_USAGE),
            Long("home") => home = Some(PathBuf::from(parser.value()?)),
            Long("iguana-port") => port = Some(port_arg(parser)?),
            Long("iguana-wait") => iguana_wait = Some(seconds_arg(parser, "--iguana-wait")?),
            Long("chain-wait") => chain_wait = Some(seconds_arg(parser, "--chain-wait")?),
            Long("config") => global.config = Some(parser.value()?.into()),
            other => return Err(other.unexpected().into()),
        }
    }
    let config = global.load_with_elected()?;
    let seed = load_seed()?;
    seed.require_master("iguana's start-up (it derives every chain's credentials)")?;
    let env = |name: &str| -> Option<OsString> { env(name) };
    let passphrase = crate::secrets::passphrase::load(&env)?;
    let home = home_dir(home)?;
    let mut options = iguana::StartupOptions::for_config(&config);
    if let Some(port) = port {
        options.iguana_port = port;
    }
    options.iguana_wait = iguana_wait.unwrap_or(options.iguana_wait);
    options.chain_wait = chain_wait.unwrap_or(options.chain_wait);
    // A command ends: a daemon silent past --chain-wait is given up.
    options.keep_waiting = false;
    let prepared = iguana::prepare(&config, &home, &env)?;
    iguana::startup_verdict(
        &config,
        &home,
        &seed,
        passphrase.as_ref(),
        &prepared,
        &options,
    )
    .map_err(failed)?;
    Ok(exit::OK)
}
