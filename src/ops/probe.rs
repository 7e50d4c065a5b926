//! Is it up? A chain answers when `getinfo` (a coin: `getblockchaininfo`) succeeds with the credentials
//! derived from the seed; iguana answers when any HTTP comes back. The
//! commands built on these (`health`, `status`, `wait`) are in `cli::probe`.

use std::time::{Duration, Instant};

use crate::config::{Chain, Config};
use crate::ops::rpc::{self, RpcError};
use crate::secrets::creds::{self, Credentials};
use crate::secrets::seed::Seed;

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

/// The call a chain's daemon answers once its RPC is up: `getinfo` for
/// komodod; `getblockchaininfo` for a coin (litecoind has no `getinfo`).
/// Both answers have `blocks`.
pub fn alive_call(chain: &Chain) -> &'static str {
    if chain.coin.is_some() {
        "getblockchaininfo"
    } else {
        "getinfo"
    }
}

/// `alive_call` on the chain's daemon at `host:port`.
pub fn ask_alive(
    chain: &Chain,
    host: &str,
    port: u16,
    creds: &Credentials,
    timeout: Duration,
) -> Result<String, RpcError> {
    rpc::json_rpc(host, port, creds, alive_call(chain), "[]", timeout)
}

/// Any HTTP answer from iguana means it is alive (it has no auth and no
/// health call; an error reply is still a reply).
pub fn iguana_answers(port: u16, timeout: Duration) -> Result<(), RpcError> {
    rpc::post("127.0.0.1", port, None, IGUANA_PING.as_bytes(), timeout).map(|_| ())
}

/// Every chain's answer to getinfo from here, probed in parallel: "answers,
/// N blocks", or "no: " and why.
pub fn answers(chains: &[&Chain], seed: &Seed, timeout: Duration) -> Vec<String> {
    std::thread::scope(|s| {
        let probes: Vec<_> = chains
            .iter()
            .map(|chain| {
                let creds = creds::for_chain(seed, chain);
                s.spawn(move || {
                    match ask_alive(chain, rpc_host(chain), chain.rpc_port(), &creds, timeout) {
                        Ok(info) => match crate::json::member(&info, "blocks") {
                            Some(blocks) => format!("answers, {blocks} blocks"),
                            None => "answers".to_owned(),
                        },
                        Err(e) => format!("no: {e}"),
                    }
                })
            })
            .collect();
        probes
            .into_iter()
            .map(|p| {
                p.join()
                    .unwrap_or_else(|_| "no: the probe failed".to_owned())
            })
            .collect()
    })
}

/// Waits, in parallel, until every chain answers or `timeout` passes;
/// the chains that never answered, each with its last failure.
pub fn wait_all(chains: &[&Chain], seed: &Seed, timeout: Duration) -> Vec<String> {
    let start = Instant::now();
    let deadline = start + timeout;
    std::thread::scope(|s| {
        let waits: Vec<_> = chains
            .iter()
            .map(|chain| {
                let creds = creds::for_chain(seed, chain);
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
    })
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
        ask_alive(chain, host, port, creds, t)
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
