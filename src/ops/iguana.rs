//! iguana's start-up sequence, as operators' `m_notary_*` scripts ran it with
//! curl after starting iguana, in the order they used:
//!
//! 1. wait until iguana's RPC (127.0.0.1:7776, or 7779 for `3rd_party`) answers;
//! 2. `{"agent":"SuperNET","method":"myipaddr","ipaddr":IP}`;
//! 3. `{"agent":"iguana","method":"addnotary","ipaddr":IP}` per peer notary;
//! 4. per chain, once its komodod answers getinfo: the rendered addcoin JSON;
//! 5. `{"method":"walletpassphrase","params":[PASSPHRASE,9999999]}`;
//! 6. `{"agent":"iguana","method":"dpow","symbol":NAME,"pubkey":PUBKEY}` per chain.
//!
//! Each step logs one line. A peer iguana refuses (`addnotary`) or an
//! address it does not take (`myipaddr`) is a warning: iguana learns peers
//! from each other. An error from `addcoin`, `walletpassphrase` or `dpow`
//! stops the sequence, as does a chain or iguana that never answers.

use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::json;
use crate::ops::probe;
use crate::ops::rpc::{self, RpcError};
use crate::render;
use crate::secrets::passphrase::Passphrase;
use crate::secrets::seed::Seed;
use zeroize::Zeroize;

/// How long each step may take.
#[derive(Debug, Clone)]
pub struct StartupOptions {
    /// iguana's RPC port on 127.0.0.1.
    pub iguana_port: u16,
    /// Until iguana first answers.
    pub iguana_wait: Duration,
    /// Until each chain answers getinfo (komodod loads its block index
    /// first, which takes minutes on KMD).
    pub chain_wait: Duration,
    /// For one call to iguana (addcoin opens the coin's files).
    pub call_timeout: Duration,
}

impl StartupOptions {
    pub fn for_config(config: &Config) -> StartupOptions {
        StartupOptions {
            iguana_port: probe::iguana_port(config),
            iguana_wait: Duration::from_secs(300),
            chain_wait: Duration::from_secs(1800),
            call_timeout: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("iguana start-up: iguana did not answer at 127.0.0.1:{port} within {} ({last})", rpc::seconds(*waited))]
    IguanaSilent {
        port: u16,
        waited: Duration,
        last: RpcError,
    },
    #[error("iguana start-up: waited {} for {what}", rpc::seconds(*waited))]
    ChainSilent { what: String, waited: Duration },
    #[error("iguana start-up: cannot read {path}: {reason} (it is written by `render iguana`)")]
    Addcoin { path: PathBuf, reason: String },
    #[error("iguana start-up: {step}: iguana did not answer: {error}")]
    Call { step: String, error: RpcError },
    #[error("iguana start-up: {step}: iguana answered with an error: {reply}")]
    Refused { step: String, reply: String },
}

/// Runs the start-up sequence against the iguana that `run iguana` just
/// started, with the seed `run` already loaded (for the chains' credentials).
/// Returns at once, with a log line, when `iguana.startup` is false. With no
/// passphrase the wallet stays locked, with a warning.
pub fn startup(
    config: &Config,
    home: &Path,
    seed: &Seed,
    passphrase: Option<&Passphrase>,
) -> Result<(), StartupError> {
    startup_with(
        config,
        home,
        seed,
        passphrase,
        &StartupOptions::for_config(config),
    )
}

/// `startup`, with the seed and the timeouts given.
pub fn startup_with(
    config: &Config,
    home: &Path,
    seed: &Seed,
    passphrase: Option<&Passphrase>,
    options: &StartupOptions,
) -> Result<(), StartupError> {
    if !config.iguana.startup {
        info!("iguana.startup is false: not calling iguana's start-up methods");
        return Ok(());
    }
    let iguana = Iguana {
        port: options.iguana_port,
        timeout: options.call_timeout,
    };

    let start = Instant::now();
    rpc::retry(start + options.iguana_wait, Duration::from_secs(5), |t| {
        probe::iguana_answers(iguana.port, t)
    })
    .map_err(|last| StartupError::IguanaSilent {
        port: iguana.port,
        waited: options.iguana_wait,
        last,
    })?;
    info!(
        "iguana answers at 127.0.0.1:{} (after {})",
        iguana.port,
        rpc::seconds(probe::round(start.elapsed()))
    );

    match my_ip(config) {
        Some((ip, origin)) => {
            iguana.call(
                "myipaddr",
                &object(&[
                    ("agent", "SuperNET"),
                    ("method", "myipaddr"),
                    ("ipaddr", &ip.to_string()),
                ]),
                Strict::No,
            )?;
            info!("myipaddr {ip} ({origin})");
        }
        None => {
            warn!("myipaddr skipped: set `iguana.myipaddr` to this notary's public IPv4 address")
        }
    }

    for ip in &config.iguana.notaries {
        iguana.call(
            "addnotary",
            &object(&[
                ("agent", "iguana"),
                ("method", "addnotary"),
                ("ipaddr", &ip.to_string()),
            ]),
            Strict::No,
        )?;
        info!("addnotary {ip}");
    }

    for chain in &config.chains {
        let creds = crate::secrets::creds::for_chain(seed, chain);
        let now = Instant::now();
        probe::wait_for_chain(chain, &creds, now, now + options.chain_wait).map_err(|what| {
            StartupError::ChainSilent {
                what,
                waited: options.chain_wait,
            }
        })?;
        let path = home
            .join(render::addcoin_dir(config))
            .join(format!("{}.json", chain.name));
        let body = std::fs::read(&path).map_err(|e| StartupError::Addcoin {
            reason: crate::describe_io(&e),
            path: path.clone(),
        })?;
        iguana.call(&format!("addcoin {}", chain.name), &body, Strict::Yes)?;
        info!("addcoin {} ({})", chain.name, path.display());
    }

    match passphrase {
        Some(passphrase) => {
            iguana.unlock(passphrase)?;
            info!(
                "walletpassphrase: wallet unlocked (passphrase from {})",
                passphrase.path.display()
            );
        }
        None => warn!(
            "walletpassphrase skipped: no {} and {} is not mounted; the wallet stays locked and iguana cannot sign",
            crate::secrets::passphrase::FILE_VAR,
            crate::secrets::passphrase::DEFAULT_FILE
        ),
    }

    match config.pubkey.as_deref() {
        // Without a pubkey this is a plain (non-notary) node: coins are
        // added, nothing is notarised.
        None => warn!("dpow skipped: the YAML has no `pubkey`, so this node does not notarise"),
        Some(pubkey) => {
            for chain in &config.chains {
                let body = object(&[
                    ("agent", "iguana"),
                    ("method", "dpow"),
                    ("symbol", &chain.name),
                    ("pubkey", pubkey),
                ]);
                iguana.call(&format!("dpow {}", chain.name), &body, Strict::Yes)?;
                info!("dpow {}", chain.name);
            }
        }
    }
    info!(
        "iguana start-up done: {} chain(s), {} notary peer(s), in {}",
        config.chains.len(),
        config.iguana.notaries.len(),
        rpc::seconds(probe::round(start.elapsed()))
    );
    Ok(())
}

/// Whether an error reply stops the sequence.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strict {
    Yes,
    No,
}

struct Iguana {
    port: u16,
    timeout: Duration,
}

impl Iguana {
    fn call(&self, step: &str, body: &[u8], strict: Strict) -> Result<(), StartupError> {
        let response =
            rpc::post("127.0.0.1", self.port, None, body, self.timeout).map_err(|error| {
                StartupError::Call {
                    step: step.to_owned(),
                    error,
                }
            })?;
        match problem(response.status, &response.reason, &response.text()) {
            None => Ok(()),
            // A coin or peer iguana already has (it keeps some across restarts).
            Some(problem) if problem.contains("already") => {
                info!("{step}: {}", rpc::printable(&problem));
                Ok(())
            }
            Some(problem) if strict == Strict::No => {
                warn!(
                    "{step}: iguana answered with an error: {}",
                    rpc::printable(&problem)
                );
                Ok(())
            }
            Some(problem) => Err(StartupError::Refused {
                step: step.to_owned(),
                reply: rpc::printable(&problem),
            }),
        }
    }

    /// The one call that carries the passphrase: its body is sized so it
    /// never reallocates, and wiped after; iguana's reply is neither shown
    /// nor kept.
    fn unlock(&self, passphrase: &Passphrase) -> Result<(), StartupError> {
        let secret = passphrase.expose();
        // json_string writes at most 6 bytes (\u00XX) per input byte.
        let mut body = String::with_capacity(secret.len() * 6 + 64);
        body.push_str("{\"method\":\"walletpassphrase\",\"params\":[");
        render::json_string(&mut body, secret);
        body.push_str(",9999999]}");
        let result = rpc::post("127.0.0.1", self.port, None, body.as_bytes(), self.timeout);
        body.zeroize();
        let step = "walletpassphrase".to_owned();
        let mut response = result.map_err(|error| StartupError::Call {
            step: step.clone(),
            error,
        })?;
        let refused = problem(
            response.status,
            &response.reason,
            std::str::from_utf8(&response.body).unwrap_or(""),
        )
        .is_some();
        response.body.zeroize();
        if refused {
            return Err(StartupError::Refused {
                step,
                reply: "(not shown: it may echo the passphrase); check the passphrase file"
                    .to_owned(),
            });
        }
        Ok(())
    }
}

/// What is wrong with an iguana reply: an HTTP error status, or an `error`
/// member that is not null. iguana's successful replies vary by method.
fn problem(status: u16, reason: &str, text: &str) -> Option<String> {
    if let Some(error) = json::member(text, "error").filter(|e| *e != "null") {
        return Some(json::string(error).unwrap_or_else(|| error.to_owned()));
    }
    (status >= 400).then(|| format!("HTTP {status} {reason}"))
}

/// A flat JSON object of string members, in order.
fn object(members: &[(&str, &str)]) -> Vec<u8> {
    let mut out = String::from("{");
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        render::json_string(&mut out, key);
        out.push(':');
        render::json_string(&mut out, value);
    }
    out.push('}');
    out.into_bytes()
}

/// The address iguana announces: the YAML's, else this host's own. A
/// private address (a container on a bridge network) is useless to peers,
/// so it is not sent.
fn my_ip(config: &Config) -> Option<(Ipv4Addr, &'static str)> {
    if let Some(ip) = config.iguana.myipaddr {
        return Some((ip, "from the YAML"));
    }
    match discover_ipv4() {
        Some(ip) if is_public(ip) => Some((ip, "this host's address on its default route")),
        Some(ip) => {
            warn!("this container's address {ip} is not public (a bridge network?)");
            None
        }
        None => {
            warn!("cannot find this host's IPv4 address (no default route)");
            None
        }
    }
}

/// The source address the kernel would use towards the public internet: a
/// UDP socket "connected" to a public address picks its route and source
/// without sending anything (no packet leaves, no outside service is asked,
/// unlike the operators' `curl checkip.amazonaws.com`). Behind NAT this is
/// the private address, hence the check above.
pub fn discover_ipv4() -> Option<Ipv4Addr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    // 192.0.2.0/24 would be simpler but has no route on many hosts; any
    // public address works, this one is a root DNS server's.
    socket.connect((Ipv4Addr::new(198, 41, 0, 4), 53)).ok()?;
    match socket.local_addr().ok()?.ip() {
        std::net::IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

/// Reachable by other notaries: not private, loopback, link-local, shared
/// (carrier-grade NAT), documentation, or broadcast.
pub fn is_public(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b);
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || shared
        || a == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_json_shapes() {
        assert_eq!(
            String::from_utf8(object(&[
                ("agent", "iguana"),
                ("method", "dpow"),
                ("symbol", "BEER"),
                ("pubkey", "02ab")
            ]))
            .unwrap(),
            r#"{"agent":"iguana","method":"dpow","symbol":"BEER","pubkey":"02ab"}"#
        );
    }

    #[test]
    fn public_addresses() {
        for ip in ["78.47.196.146", "8.8.8.8", "100.128.0.1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.1.2.3",
            "172.20.0.5",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "192.0.2.1",
            "0.0.0.0",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn iguana_errors_are_found_in_replies() {
        assert_eq!(problem(200, "OK", r#"{"result":"success"}"#), None);
        assert_eq!(problem(200, "OK", r#"{"result":"x","error":null}"#), None);
        assert_eq!(problem(200, "OK", "not json"), None);
        assert_eq!(
            problem(200, "OK", r#"{"error":"no coin"}"#).as_deref(),
            Some("no coin")
        );
        assert_eq!(
            problem(500, "Internal Server Error", "").as_deref(),
            Some("HTTP 500 Internal Server Error")
        );
    }
}
