//! What `dokomodo monitor` measures and serves: each chain's daemon asked
//! at scrape time (getinfo, the notarised block, the notarisation UTXOs),
//! iguana's liveness and its start-up status file, written in the Prometheus
//! text format (version 0.0.4). A chain that does not answer is
//! `dokomodo_chain_up 0` and no other sample, never a failed scrape.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::{Chain, Config};
use crate::json;
use crate::ops::iguana::{self, State};
use crate::ops::probe::{alive_call, iguana_answers, rpc_host};
use crate::ops::rpc;
use crate::ops::utxos;
use crate::secrets::creds::{self, Credentials};
use crate::secrets::seed::Seed;

/// What the monitor needs besides the YAML and the seed.
pub struct Monitor {
    pub config: Config,
    pub seed: Seed,
    /// Per chain (the YAML's order): the notary's address on it, when the
    /// wallet passphrase is there; else every notarisation-size UTXO counts.
    pub addresses: Vec<Option<String>>,
    /// iguana's RPC port on 127.0.0.1.
    pub iguana_port: u16,
    /// iguana's start-up status file (`dpow_active`).
    pub status_file: PathBuf,
    /// Per RPC call.
    pub timeout: Duration,
    /// Splits asked of iguana since start, by chain.
    pub splits: Mutex<BTreeMap<String, u64>>,
}

/// One chain's answers; `None` where the daemon did not say.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ChainSample {
    pub up: bool,
    pub blocks: Option<f64>,
    pub longest_chain: Option<f64>,
    pub connections: Option<f64>,
    pub notarized_height: Option<f64>,
    pub notarized_time: Option<f64>,
    pub utxos: Option<f64>,
    pub balance: Option<f64>,
}

fn number(text: &str, key: &str) -> Option<f64> {
    json::member(text, key)?.trim().parse().ok()
}

/// Asks one chain's daemon. The first call decides `up`; later calls that
/// fail only leave their samples out.
pub fn sample_chain(
    chain: &Chain,
    creds: &Credentials,
    address: Option<&str>,
    timeout: Duration,
) -> ChainSample {
    let (host, port) = (rpc_host(chain), chain.rpc_port());
    let ask =
        |method: &str, params: &str| rpc::json_rpc(host, port, creds, method, params, timeout);
    let Ok(info) = ask(alive_call(chain), "[]") else {
        return ChainSample::default();
    };
    let mut s = ChainSample {
        up: true,
        blocks: number(&info, "blocks"),
        ..ChainSample::default()
    };
    if chain.coin.is_some() {
        // litecoind: getblockchaininfo's `headers` is the longest chain it knows.
        s.longest_chain = number(&info, "headers");
        s.connections = ask("getnetworkinfo", "[]")
            .ok()
            .and_then(|n| number(&n, "connections"));
    } else {
        s.longest_chain = number(&info, "longestchain");
        s.connections = number(&info, "connections");
        s.notarized_height = number(&info, "notarized");
        let hash = json::member(&info, "notarizedhash").and_then(json::string);
        // A chain never notarised has height 0 and a zero hash: no block to ask for.
        if s.notarized_height.unwrap_or(0.0) > 0.0 {
            if let Some(hash) = hash {
                let mut params = String::from("[");
                json::string_literal(&mut params, &hash);
                params.push(']');
                s.notarized_time = ask("getblock", &params)
                    .ok()
                    .and_then(|b| number(&b, "time"));
            }
        }
    }
    if let Ok(count) = utxos::count(chain, creds, address, timeout) {
        s.utxos = Some(f64::from(count.utxos));
        s.balance = Some(count.balance);
    }
    s
}

/// Every chain in parallel, in the YAML's order.
pub fn sample_chains(m: &Monitor) -> Vec<ChainSample> {
    std::thread::scope(|scope| {
        let probes: Vec<_> = m
            .config
            .chains
            .iter()
            .zip(&m.addresses)
            .map(|(chain, address)| {
                let creds = creds::for_chain(&m.seed, chain);
                scope.spawn(move || sample_chain(chain, &creds, address.as_deref(), m.timeout))
            })
            .collect();
        probes
            .into_iter()
            .map(|p| p.join().unwrap_or_default())
            .collect()
    })
}

/// Whether iguana's start-up put each chain under dPoW, from the status
/// file it keeps: asking iguana `dpow` would START dPoW for a coin that is
/// not under it, so the monitor never sends it.
pub fn dpow_active(config: &Config, status: Option<&str>) -> Vec<bool> {
    let report = status.map(iguana::parse_status).unwrap_or_default();
    config
        .chains
        .iter()
        .map(|c| {
            report
                .iter()
                .any(|(name, state)| *name == c.name && matches!(state, State::Ok(_)))
        })
        .collect()
}

/// Everything a scrape shows, as plain values (so the text is testable).
pub struct Scrape {
    pub chains: Vec<(String, ChainSample)>,
    pub iguana_up: bool,
    pub dpow_active: Vec<bool>,
    pub utxos_min: u32,
    pub splits: BTreeMap<String, u64>,
    /// Unix seconds.
    pub now: f64,
}

/// One metric family: its name, type, help, and a value per chain.
struct Family<'a> {
    name: &'a str,
    kind: &'a str,
    help: &'a str,
}

fn label(out: &mut String, chain: &str) {
    // Chain names are [A-Za-z0-9_-] (config::is_name): nothing to escape,
    // but escape anyway so the format can never break.
    out.push_str("{chain=\"");
    for c in chain.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push_str("\"}");
}

fn value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl Scrape {
    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let family = |out: &mut String, f: Family<'_>, values: &[(&str, Option<f64>)]| {
            if values.iter().all(|(_, v)| v.is_none()) {
                return;
            }
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
            for (chain, v) in values {
                if let Some(v) = v {
                    out.push_str(f.name);
                    label(out, chain);
                    let _ = writeln!(out, " {}", value(*v));
                }
            }
        };
        let per_chain = |get: &dyn Fn(&ChainSample) -> Option<f64>| -> Vec<(&str, Option<f64>)> {
            self.chains
                .iter()
                .map(|(n, s)| (n.as_str(), get(s)))
                .collect()
        };
        let gauge = |name, help| Family {
            name,
            kind: "gauge",
            help,
        };
        family(
            &mut out,
            gauge(
                "dokomodo_chain_up",
                "1 when the chain's daemon answered this scrape, else 0.",
            ),
            &per_chain(&|s| Some(if s.up { 1.0 } else { 0.0 })),
        );
        family(
            &mut out,
            gauge(
                "dokomodo_chain_blocks",
                "Blocks the daemon has (getinfo blocks).",
            ),
            &per_chain(&|s| s.blocks),
        );
        family(
            &mut out,
            gauge(
                "dokomodo_chain_longest_chain",
                "The longest chain the daemon's peers announce (getinfo longestchain; a coin: headers).",
            ),
            &per_chain(&|s| s.longest_chain),
        );
        family(
            &mut out,
            gauge(
                "dokomodo_chain_connections",
                "The daemon's peer connections.",
            ),
            &per_chain(&|s| s.connections),
        );
        family(
            &mut out,
            gauge(
                "dokomodo_chain_notarized_height",
                "Height of the chain's last notarised block (getinfo notarized).",
            ),
            &per_chain(&|s| s.notarized_height),
        );
        family(
            &mut out,
            gauge(
                "dokomodo_chain_blocks_since_notarization",
                "Blocks since the last notarised block (absent before the first).",
            ),
            // Absent before the first notarisation (height 0), as the age is.
            &per_chain(&|s| {
                let notarized = s.notarized_height.filter(|h| *h > 0.0)?;
                Some(s.blocks? - notarized)
            }),
        );
        family(
            &mut out,
            gauge(
                "dokomodo_chain_seconds_since_notarization",
                "Seconds since the time of the last notarised block (getblock notarizedhash).",
            ),
            &per_chain(&|s| Some((self.now - s.notarized_time?).max(0.0))),
        );
        family(
            &mut out,
            gauge(
                "dokomodo_chain_notarization_utxos",
                "Spendable outputs of exactly 0.0001 coin (iguana's notarisation UTXOs).",
            ),
            &per_chain(&|s| s.utxos),
        );
        family(
            &mut out,
            gauge(
                "dokomodo_chain_notarization_utxos_min",
                "The YAML's utxos.min: fewer notarisation UTXOs than this is low.",
            ),
            &per_chain(&|_| Some(f64::from(self.utxos_min))),
        );
        family(
            &mut out,
            gauge(
                "dokomodo_chain_balance",
                "The wallet's balance in coins (getbalance).",
            ),
            &per_chain(&|s| s.balance),
        );
        let dpow: Vec<(&str, Option<f64>)> = self
            .chains
            .iter()
            .zip(&self.dpow_active)
            .map(|((n, _), a)| (n.as_str(), Some(if *a { 1.0 } else { 0.0 })))
            .collect();
        family(
            &mut out,
            gauge(
                "dokomodo_dpow_active",
                "1 when iguana's start-up put the chain under dPoW (its status file says ok).",
            ),
            &dpow,
        );
        let splits: Vec<(&str, Option<f64>)> = self
            .chains
            .iter()
            .map(|(n, _)| {
                (
                    n.as_str(),
                    Some(self.splits.get(n).copied().unwrap_or(0) as f64),
                )
            })
            .collect();
        family(
            &mut out,
            Family {
                name: "dokomodo_utxo_splits_total",
                kind: "counter",
                help: "splitfunds calls iguana accepted since the monitor started.",
            },
            &splits,
        );
        let _ = writeln!(
            out,
            "# HELP dokomodo_iguana_up 1 when iguana answered HTTP this scrape, else 0.\n\
             # TYPE dokomodo_iguana_up gauge\n\
             dokomodo_iguana_up {}",
            u8::from(self.iguana_up)
        );
        out
    }
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64().floor())
        .unwrap_or(0.0)
}

/// One scrape's worth of questions to the daemons and iguana.
pub fn scrape(m: &Monitor) -> Scrape {
    // iguana is asked while the chains are, so a silent one costs one timeout.
    let (samples, iguana_up) = std::thread::scope(|s| {
        let iguana = s.spawn(|| iguana_answers(m.iguana_port, m.timeout).is_ok());
        (sample_chains(m), iguana.join().unwrap_or(false))
    });
    let status = std::fs::read_to_string(&m.status_file).ok();
    Scrape {
        chains: m
            .config
            .chains
            .iter()
            .map(|c| c.name.clone())
            .zip(samples)
            .collect(),
        iguana_up,
        dpow_active: dpow_active(&m.config, status.as_deref()),
        utxos_min: m.config.utxos.min,
        splits: m.splits.lock().map(|s| s.clone()).unwrap_or_default(),
        now: unix_now(),
    }
}

/// One pass of the UTXO upkeep: every coin below `utxos.min` gets
/// `utxos.split` new ones from iguana's `splitfunds`, each logged.
pub fn upkeep(m: &Monitor) {
    if m.config.utxos.split == 0 {
        return;
    }
    for (chain, address) in m.config.chains.iter().zip(&m.addresses) {
        let creds = creds::for_chain(&m.seed, chain);
        let count = match utxos::count(chain, &creds, address.as_deref(), m.timeout) {
            Ok(count) => count,
            Err(e) => {
                warn!("utxo upkeep: {}: {e}", chain.name);
                continue;
            }
        };
        if !utxos::is_low(&m.config, &count) {
            continue;
        }
        let n = m.config.utxos.split;
        match utxos::split(
            chain,
            n,
            m.iguana_port,
            m.timeout.max(Duration::from_secs(30)),
        ) {
            Ok(txid) => {
                info!(
                    "utxo upkeep: {} had {} notarisation UTXOs (min {}): splitfunds {n}, txid {txid}",
                    chain.name, count.utxos, m.config.utxos.min
                );
                if let Ok(mut splits) = m.splits.lock() {
                    *splits.entry(chain.name.clone()).or_default() += 1;
                }
            }
            Err(e) => warn!(
                "utxo upkeep: {} had {} notarisation UTXOs (min {}): splitfunds {n} failed: {e}",
                chain.name, count.utxos, m.config.utxos.min
            ),
        }
    }
}

/// The HTTP side: `GET /metrics` is a scrape, anything else 404 (405 for
/// another method). One connection at a time: Prometheus scrapes rarely.
pub fn serve(m: &Monitor, listener: TcpListener) {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                if let Err(e) = answer(m, stream) {
                    warn!("monitor: a request failed: {e}");
                }
            }
            Err(e) => warn!("monitor: accept failed: {e}"),
        }
    }
}

fn answer(m: &Monitor, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    // The request line and headers; a scrape has no body.
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.lines().next().unwrap_or("").split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", scrape(m).render()),
        (_, "/metrics") => ("405 Method Not Allowed", "only GET\n".to_owned()),
        _ => (
            "404 Not Found",
            "not found; metrics are at /metrics\n".to_owned(),
        ),
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_in_the_text_format() {
        let scrape = Scrape {
            chains: vec![
                (
                    "KMD".into(),
                    ChainSample {
                        up: true,
                        blocks: Some(1000.0),
                        longest_chain: Some(1001.0),
                        connections: Some(8.0),
                        notarized_height: Some(990.0),
                        notarized_time: Some(1_700_000_000.0),
                        utxos: Some(12.0),
                        balance: Some(1.2345),
                    },
                ),
                ("BEER".into(), ChainSample::default()),
            ],
            iguana_up: false,
            dpow_active: vec![true, false],
            utxos_min: 50,
            splits: BTreeMap::from([("KMD".to_owned(), 2)]),
            now: 1_700_000_600.0,
        };
        let text = scrape.render();
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                r#"dokomodo_chain_up{chain="KMD"} 1"#,
                r#"dokomodo_chain_up{chain="BEER"} 0"#,
                r#"dokomodo_chain_blocks{chain="KMD"} 1000"#,
                r#"dokomodo_chain_longest_chain{chain="KMD"} 1001"#,
                r#"dokomodo_chain_connections{chain="KMD"} 8"#,
                r#"dokomodo_chain_notarized_height{chain="KMD"} 990"#,
                r#"dokomodo_chain_blocks_since_notarization{chain="KMD"} 10"#,
                r#"dokomodo_chain_seconds_since_notarization{chain="KMD"} 600"#,
                r#"dokomodo_chain_notarization_utxos{chain="KMD"} 12"#,
                r#"dokomodo_chain_notarization_utxos_min{chain="KMD"} 50"#,
                r#"dokomodo_chain_notarization_utxos_min{chain="BEER"} 50"#,
                r#"dokomodo_chain_balance{chain="KMD"} 1.2345"#,
                r#"dokomodo_dpow_active{chain="KMD"} 1"#,
                r#"dokomodo_dpow_active{chain="BEER"} 0"#,
                r#"dokomodo_utxo_splits_total{chain="KMD"} 2"#,
                r#"dokomodo_utxo_splits_total{chain="BEER"} 0"#,
                "dokomodo_iguana_up 0",
            ]
        );
        assert!(text.contains("# TYPE dokomodo_utxo_splits_total counter\n"));
    }

    #[test]
    fn dpow_is_active_where_the_start_up_said_ok() {
        let config = crate::config::parse(
            std::path::Path::new("n.yaml"),
            "chains:\n  KMD: {host: 127.0.0.1}\n  BEER: {host: 127.0.0.1, ac_supply: 100000000}\n",
        )
        .unwrap();
        let status = "KMD\tok\tdpow\nBEER\tfailed\tcant dPoW\n";
        assert_eq!(dpow_active(&config, Some(status)), [true, false]);
        assert_eq!(dpow_active(&config, None), [false, false]);
    }
}
