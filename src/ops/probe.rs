//! Is it up? `health` (a container's HEALTHCHECK: fast, quiet on success),
//! `status` (a table for an operator) and `wait` (start ordering: block
//! until chains answer). A chain answers when `getinfo` succeeds with the
//! credentials derived from the seed; iguana answers when any HTTP comes back.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lexopt::prelude::*;

use crate::cli::{self, Failure, Global};
use crate::config::{Chain, Config};
use crate::exit;
use crate::ops::rpc::{self, RpcError};
use crate::secrets::creds::{self, Credentials};

/// What `health` sends iguana: a read-only call that any iguana answers.
pub const IGUANA_PING: &str = r#"{"agent":"SuperNET","method":"help"}"#;

/// iguana's RPC port: 7776 for the notary iguana, 7779 for the third-party one.
pub fn iguana_port(config: &Config) -> u16 {
    if config.iguana.elected == "3rd_party" {
        7779
    } else {
        7776
    }
}

/// Where this container reaches a chain's RPC: its `host`, or 127.0.0.1 for
/// a loopback host (komodod binds 127.0.0.1; `localhost` may resolve to ::1).
pub fn rpc_host(chain: &Chain) -> &str {
    if chain.is_remote() {
        &chain.host
    } else {
        "127.0.0.1"
    }
}

/// `getinfo`, the call every komodod answers once its RPC is up.
pub fn getinfo(
    host: &str,
    port: u16,
    creds: &Credentials,
    timeout: Duration,
) -> Result<String, RpcError> {
    rpc::json_rpc(host, port, creds, "getinfo", "[]", timeout)
}

/// Any HTTP answer from iguana means it is alive (it has no auth and no
/// health call; an error reply is still a reply).
pub fn iguana_answers(port: u16, timeout: Duration) -> Result<(), RpcError> {
    rpc::post("127.0.0.1", port, None, IGUANA_PING.as_bytes(), timeout).map(|_| ())
}

fn seconds_arg(parser: &mut lexopt::Parser, option: &str) -> Result<Duration, Failure> {
    let value = parser.value()?.string()?;
    match value.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(Failure::usage(format!(
            "{option} takes a number of seconds (up to 86400), not `{value}`"
        ))),
    }
}

fn port_arg(parser: &mut lexopt::Parser) -> Result<u16, Failure> {
    let value = parser.value()?.string()?;
    value
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Failure::usage(format!("--port takes a port number, not `{value}`")))
}

fn failed(message: String) -> Failure {
    Failure::new(exit::FAILURE, message)
}

pub const HEALTH_USAGE: &str = "\
Usage: dokomodo [--config PATH] health [--chain NAME] [--timeout SECONDS] [--port PORT]

A container's health check. With a chain (--chain or $DOKOMODO_CHAIN): calls
getinfo on the komodod in this container, at 127.0.0.1 and the chain's RPC
port, with the credentials derived from the seed. Without one (the iguana
container): any HTTP answer from iguana at 127.0.0.1:7776 (7779 for
`iguana.elected: 3rd_party`) is healthy.
Prints nothing and exits 0 when it answers; exits 1 with one line saying why
not (nothing listening, no answer, credentials refused); 78 when the YAML or
the seed is wrong.
  --timeout SECONDS    give up after this long (default 5)
  --port PORT          probe this port instead of the derived one
";

pub(crate) fn health(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8, Failure> {
    let mut chain = None;
    let mut timeout = Duration::from_secs(5);
    let mut port = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return cli::print(HEALTH_USAGE),
            Long("chain") => chain = Some(parser.value()?.string()?),
            Long("timeout") => timeout = seconds_arg(parser, "--timeout")?,
            Long("port") => port = Some(port_arg(parser)?),
            Long("config") => global.config = Some(parser.value()?.into()),
            other => return Err(other.unexpected().into()),
        }
    }
    let chain = chain.or_else(|| {
        cli::env(cli::CHAIN_VAR)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string_lossy().into_owned())
    });
    let config = global.load()?;
    match chain {
        Some(name) => {
            let chain = cli::find_chain(&config, &name)?;
            let seed = cli::load_seed()?;
            let port = port.unwrap_or(chain.rpc_port());
            getinfo("127.0.0.1", port, &creds::for_chain(&seed, chain), timeout)
                .map_err(|e| failed(format!("{} at 127.0.0.1:{port}: {e}", chain.name)))?;
        }
        None => {
            let port = port.unwrap_or(iguana_port(&config));
            iguana_answers(port, timeout)
                .map_err(|e| failed(format!("iguana at 127.0.0.1:{port}: {e}")))?;
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
) -> Result<Option<(Duration, Vec<String>)>, Failure> {
    let mut timeout = default;
    let mut names = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => {
                cli::print(usage)?;
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

pub(crate) fn status(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8, Failure> {
    let Some((timeout, names)) =
        timeout_and_names(global, parser, STATUS_USAGE, Duration::from_secs(3))?
    else {
        return Ok(crate::exit::OK);
    };
    let config = global.load()?;
    let chains = cli::select(&config, &names)?;
    let seed = cli::load_seed()?;
    let answers: Vec<String> = std::thread::scope(|s| {
        let probes: Vec<_> = chains
            .iter()
            .map(|chain| {
                let creds = creds::for_chain(&seed, chain);
                s.spawn(
                    move || match getinfo(rpc_host(chain), chain.rpc_port(), &creds, timeout) {
                        Ok(info) => match crate::json::member(&info, "blocks") {
                            Some(blocks) => format!("answers, {blocks} blocks"),
                            None => "answers".to_owned(),
                        },
                        Err(e) => format!("no: {e}"),
                    },
                )
            })
            .collect();
        probes
            .into_iter()
            .map(|p| {
                p.join()
                    .unwrap_or_else(|_| "no: the probe failed".to_owned())
            })
            .collect()
    });
    let name_w = cli::column_width("NAME", chains.iter().map(|c| c.name.len()));
    let host_w = cli::column_width("HOST", chains.iter().map(|c| rpc_host(c).len()));
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
    cli::print(&out)
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

pub(crate) fn wait(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8, Failure> {
    let Some((timeout, names)) =
        timeout_and_names(global, parser, WAIT_USAGE, Duration::from_secs(600))?
    else {
        return Ok(crate::exit::OK);
    };
    let config = global.load()?;
    let chains = cli::select(&config, &names)?;
    let seed = cli::load_seed()?;
    let start = Instant::now();
    let deadline = start + timeout;
    let names: Vec<&str> = chains.iter().map(|c| c.name.as_str()).collect();
    info!(
        "waiting up to {} for {}",
        rpc::seconds(timeout),
        names.join(", ")
    );
    let silent: Vec<String> = std::thread::scope(|s| {
        let waits: Vec<_> = chains
            .iter()
            .map(|chain| {
                let creds = creds::for_chain(&seed, chain);
                s.spawn(move || wait_for_chain(chain, &creds, start, deadline).err())
            })
            .collect();
        waits
            .into_iter()
            .filter_map(|w| {
                w.join()
                    .unwrap_or_else(|_| Some("the wait failed".to_owned()))
            })
            .collect()
    });
    if silent.is_empty() {
        return Ok(exit::OK);
    }
    Err(failed(format!(
        "timed out after {}: no answer from {}",
        rpc::seconds(timeout),
        silent.join("; ")
    )))
}

/// Retries getinfo until it succeeds (logged) or the deadline passes; the
/// error names the chain and its last failure.
pub fn wait_for_chain(
    chain: &Chain,
    creds: &Credentials,
    start: Instant,
    deadline: Instant,
) -> Result<(), String> {
    let (host, port) = (rpc_host(chain), chain.rpc_port());
    match rpc::retry(deadline, Duration::from_secs(5), |t| {
        getinfo(host, port, creds, t)
    }) {
        Ok(_) => {
            info!(
                "{} answers at {host}:{port} (after {})",
                chain.name,
                rpc::seconds(round(start.elapsed()))
            );
            Ok(())
        }
        Err(e) => Err(format!("{} at {host}:{port} ({e})", chain.name)),
    }
}

/// Tenths of a second are enough in a log line.
pub fn round(d: Duration) -> Duration {
    Duration::from_millis((d.as_millis() as u64).div_ceil(100) * 100)
}

const STARTUP_USAGE: &str = "\
Usage: dokomodo [--config PATH] iguana-startup [--home DIR] [--iguana-port PORT]
                [--iguana-wait SECONDS] [--chain-wait SECONDS]

Runs iguana's start-up calls against an iguana that is already running (what
`run iguana` does by itself): myipaddr, addnotary, addcoin per chain once it
answers, walletpassphrase, dpow per chain. For tests and manual recovery.
";

/// The hidden `iguana-startup` command.
pub(crate) fn iguana_startup(
    global: &mut Global,
    parser: &mut lexopt::Parser,
) -> Result<u8, Failure> {
    let mut home: Option<PathBuf> = None;
    let mut port = None;
    let mut iguana_wait = None;
    let mut chain_wait = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return cli::print(STARTUP_USAGE),
            Long("home") => home = Some(PathBuf::from(parser.value()?)),
            Long("iguana-port") => port = Some(port_arg(parser)?),
            Long("iguana-wait") => iguana_wait = Some(seconds_arg(parser, "--iguana-wait")?),
            Long("chain-wait") => chain_wait = Some(seconds_arg(parser, "--chain-wait")?),
            Long("config") => global.config = Some(parser.value()?.into()),
            other => return Err(other.unexpected().into()),
        }
    }
    let config = global.load()?;
    let seed = cli::load_seed()?;
    let env = |name: &str| -> Option<OsString> { cli::env(name) };
    let passphrase =
        crate::secrets::passphrase::load(&env).map_err(|e| Failure::new(exit::CONFIG, e))?;
    let home = cli::home_dir(home)?;
    let mut options = crate::ops::iguana::StartupOptions::for_config(&config);
    if let Some(port) = port {
        options.iguana_port = port;
    }
    options.iguana_wait = iguana_wait.unwrap_or(options.iguana_wait);
    options.chain_wait = chain_wait.unwrap_or(options.chain_wait);
    crate::ops::iguana::startup_with(&config, &home, &seed, passphrase.as_ref(), &options)
        .map_err(|e| failed(e.to_string()))?;
    Ok(exit::OK)
}
