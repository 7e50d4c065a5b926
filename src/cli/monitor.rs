//! `dokomodo utxos` (the notarisation UTXOs of every coin, for an operator)
//! and `dokomodo monitor` (Prometheus metrics and the UTXO upkeep). What
//! they ask of the daemons is `ops::utxos` and `ops::monitor`.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;
use std::time::Duration;

use lexopt::prelude::*;

use super::{Global, Result, env, home_dir, load_seed_serving, print, select};
use crate::config::Config;
use crate::error::Error;
use crate::exit;
use crate::ops::monitor::{self, Monitor};
use crate::ops::probe::{iguana_port, rpc_host};
use crate::ops::{iguana, utxos};
use crate::secrets::creds;
use crate::secrets::keys::{self, NotaryKey};
use crate::secrets::passphrase;

fn seconds(parser: &mut lexopt::Parser, option: &str, zero: bool) -> Result<Duration> {
    let value = parser.value()?.string()?;
    match value.parse::<f64>() {
        Ok(s) if (s > 0.0 || (zero && s == 0.0)) && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(Error::usage(format!(
            "{option} takes a number of seconds (up to 86400), not `{value}`"
        ))),
    }
}

/// The notary's address on each chain, when the wallet passphrase is there.
fn addresses(config: &Config) -> Result<Vec<Option<String>>> {
    let Some(passphrase) = passphrase::load(&env)? else {
        return Ok(vec![None; config.chains.len()]);
    };
    let key = NotaryKey::from_passphrase(&passphrase).ok_or_else(|| {
        Error::NotInConfig(format!(
            "{}: this passphrase gives no valid secp256k1 key",
            passphrase.path.display()
        ))
    })?;
    Ok(config
        .chains
        .iter()
        .map(|chain| {
            let pubval = chain
                .coin
                .as_ref()
                .map_or(keys::KOMODO_PUBVAL, |c| c.pubval);
            Some(key.address(pubval))
        })
        .collect())
}

pub(super) const UTXOS_USAGE: &str = "\
Usage: dokomodo [--config PATH] utxos [--timeout SECONDS] [NAME...]

Every coin (or the named ones) with its notarisation UTXOs (spendable outputs
of exactly 0.0001 coin, iguana's size), its balance, and whether it is below
the YAML's `utxos.min`. Asks each daemon at host:rpcport with the credentials
derived from the seed (listunspent, getbalance). With the wallet passphrase
($DOKOMODO_WALLET_PASSPHRASE_FILE, else /run/secrets/wallet_passphrase) only
outputs to the notary's address count; without it, every such output.
Exit 0 when every coin answers and none is low; 1 when one is low or did not
answer; 78 when the YAML or a secret is wrong.
  --timeout SECONDS    per call (default 5); coins are asked in parallel
";

pub(super) fn utxos(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let mut timeout = Duration::from_secs(5);
    let mut names = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return print(UTXOS_USAGE),
            Long("timeout") => timeout = seconds(parser, "--timeout", false)?,
            Long("config") => global.config = Some(parser.value()?.into()),
            Value(name) => names.push(name.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let config = global.load_query()?;
    let chains = select(&config, &names)?;
    let seed = load_seed_serving(chains.iter().copied())?;
    let all = addresses(&config)?;
    let address = |name: &str| {
        config
            .chains
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| all[i].clone())
    };
    let counts: Vec<_> = std::thread::scope(|s| {
        let asks: Vec<_> = chains
            .iter()
            .map(|chain| {
                let creds = creds::for_chain(&seed, chain);
                let address = address(&chain.name);
                s.spawn(move || utxos::count(chain, &creds, address.as_deref(), timeout))
            })
            .collect();
        asks.into_iter()
            .map(|a| {
                a.join()
                    .unwrap_or_else(|_| Err("the query failed".to_owned()))
            })
            .collect()
    });
    let name_w = super::column_width("NAME", chains.iter().map(|c| c.name.len()));
    let mut out = format!(
        "{:name_w$}  {:>5}  {:>5}  {:>18}  STATE\n",
        "NAME", "UTXOS", "MIN", "BALANCE"
    );
    let mut bad = Vec::new();
    for (chain, count) in chains.iter().zip(counts) {
        let min = config.utxos.min;
        match count {
            Ok(c) => {
                let state = if utxos::is_low(&config, &c) {
                    bad.push(format!("{} low ({} < {min})", chain.name, c.utxos));
                    "low"
                } else {
                    "ok"
                };
                let _ = writeln!(
                    out,
                    "{:name_w$}  {:>5}  {min:>5}  {:>18.8}  {state}",
                    chain.name, c.utxos, c.balance
                );
            }
            Err(e) => {
                bad.push(format!("{} did not answer", chain.name));
                let _ = writeln!(
                    out,
                    "{:name_w$}  {:>5}  {min:>5}  {:>18}  no answer: {e}",
                    chain.name, "-", "-"
                );
            }
        }
    }
    print(&out)?;
    if bad.is_empty() {
        Ok(exit::OK)
    } else {
        Err(Error::NoAnswer(format!(
            "{} of {} coin(s): {}",
            bad.len(),
            chains.len(),
            bad.join("; ")
        )))
    }
}

pub(super) const MONITOR_USAGE: &str = "\
Usage: dokomodo [--config PATH] monitor --listen ADDR:PORT [--upkeep SECONDS]
                [--timeout SECONDS] [--iguana-port PORT]

Serves Prometheus metrics at http://ADDR:PORT/metrics: every chain's daemon
(asked at host:rpcport at each scrape), iguana (127.0.0.1:7776, 7779 for
`iguana.elected: 3rd_party`) and its start-up status file; the README lists
the metrics. Every --upkeep seconds (default 600; 0: never) it counts each
coin's notarisation UTXOs and asks iguana to `splitfunds` `utxos.split` more
for a coin below `utxos.min`, logging each split. Runs until killed; exits 78
when the YAML or a secret is wrong, 74 when it cannot listen.
  --timeout SECONDS    per RPC call (default 3)
  --iguana-port PORT   iguana's RPC port, instead of the YAML's
";

pub(super) fn monitor(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let mut listen: Option<SocketAddr> = None;
    let mut upkeep = Duration::from_secs(600);
    let mut timeout = Duration::from_secs(3);
    let mut port = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return print(MONITOR_USAGE),
            Long("listen") => {
                let value = parser.value()?.string()?;
                listen = Some(value.parse().map_err(|_| {
                    Error::usage(format!("--listen takes ADDR:PORT, not `{value}`"))
                })?);
            }
            Long("upkeep") => upkeep = seconds(parser, "--upkeep", true)?,
            Long("timeout") => timeout = seconds(parser, "--timeout", false)?,
            Long("iguana-port") => {
                let value = parser.value()?.string()?;
                port = Some(
                    value
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| {
                            Error::usage(format!(
                                "--iguana-port takes a port number, not `{value}`"
                            ))
                        })?,
                );
            }
            Long("config") => global.config = Some(parser.value()?.into()),
            other => return Err(other.unexpected().into()),
        }
    }
    let Some(listen) = listen else {
        return Err(Error::usage("monitor needs --listen ADDR:PORT"));
    };
    let config = global.load_query()?;
    // It calls every chain's daemon.
    let seed = load_seed_serving(&config.chains)?;
    let addresses = addresses(&config)?;
    let listener = TcpListener::bind(listen).map_err(|e| {
        Error::Io(format!(
            "cannot listen on {listen}: {}",
            crate::describe_io(&e)
        ))
    })?;
    let m = Monitor {
        iguana_port: port.unwrap_or(iguana_port(&config)),
        status_file: iguana::status_path(&config, &home_dir(None)?),
        addresses,
        seed,
        timeout,
        splits: Mutex::new(Default::default()),
        config,
    };
    let hosts: Vec<String> = m
        .config
        .chains
        .iter()
        .map(|c| format!("{} at {}:{}", c.name, rpc_host(c), c.rpc_port()))
        .collect();
    info!(
        "monitor: metrics at http://{}/metrics; {}; upkeep {}",
        listener.local_addr().unwrap_or(listen),
        hosts.join(", "),
        if upkeep.is_zero() || m.config.utxos.split == 0 {
            "off".to_owned()
        } else {
            format!(
                "every {}: split {} when below {}",
                crate::ops::rpc::seconds(upkeep),
                m.config.utxos.split,
                m.config.utxos.min
            )
        }
    );
    std::thread::scope(|s| {
        if !upkeep.is_zero() {
            let m = &m;
            s.spawn(move || {
                loop {
                    monitor::upkeep(m);
                    std::thread::sleep(upkeep);
                }
            });
        }
        monitor::serve(&m, listener);
    });
    Ok(exit::OK)
}
