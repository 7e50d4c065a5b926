//! komodod stand-in: starts like komodod (argv, data dir, conf file, RPC
//! binding and auth), answers `getinfo` and `stop`, and shuts down slowly and
//! cleanly on SIGTERM/SIGINT, leaving `<datadir>/clean_shutdown` only when the
//! shutdown completed.
//!
//! Environment (tests only):
//! - `STANDIN_SHUTDOWN_MS` (default 2000): how long a clean shutdown takes.
//! - `STANDIN_IGNORE_TERM=1`: ignore SIGTERM/SIGINT, to test kill after grace.
//! - `STANDIN_TRUST_LOOPBACK=0`: do not admit 127.0.0.0/8 unconditionally (komodod
//!   does), so the rpcallowip list can be tested from loopback.
//!
//! Wallet calls as the daemons answer them: `importprivkey` (a compressed
//! WIF), `validateaddress` (`ismine` once the key is imported), `lockunspent`
//! and `listlockunspent`. Locks live in memory only, as in komodod and
//! litecoind ("Locks are stored in memory only ... cleared when a node stops
//! or fails"): a restart of the daemon clears them, a restart of iguana does
//! not. `STANDIN_LOCKED_UTXOS=TXID:VOUT,...` starts with those outputs locked,
//! the state a killed iguana round leaves behind.
//!
//! Run as `litecoind` (the image has it under that name too) it is a
//! litecoind: `~/.litecoin/litecoin.conf` (optional, `key=value` trimmed),
//! RPC 9332, no `getinfo` (removed in Bitcoin Core 0.16), `validateaddress`
//! without `ismine` and `getaddressinfo` with it, and litecoind's argument
//! check: a token without `-` or an option it does not know (every komodod
//! flag, `-ac_name` first) ends it with exit 1 and
//! `Error: Error parsing command line arguments: Invalid parameter -ac_name=LTC`.
//!
//! `komodod-standin orphans N [MS]` is not a daemon start but a test of the
//! init's reaping (see `dokomodo_standins::orphans`); the image has no other
//! program to `docker exec`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dokomodo_standins::conf::{self, Conf};
use dokomodo_standins::http::{self, Request, Response};
use dokomodo_standins::keys;
use dokomodo_standins::log::Log;
use dokomodo_standins::orphans;
use dokomodo_standins::signals;
use dokomodo_standins::subnet::{self, Subnet};
use serde_json::{Value, json};

const KMD: &str = "KMD";
const LTC: &str = "LTC";
const LTC_RPCPORT: u16 = 9332;

/// Which daemon this process is, from the name it was started as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Komodod,
    Litecoind,
}

impl Flavour {
    fn from_argv0() -> Flavour {
        let argv0 = std::env::args_os().next().unwrap_or_default();
        let name = Path::new(&argv0)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("litecoind") {
            Flavour::Litecoind
        } else {
            Flavour::Komodod
        }
    }
}

/// Options litecoind 0.21 knows that a notary's setup may pass. Anything
/// else is refused as ArgsManager::ParseParameters refuses it.
const LITECOIND_OPTIONS: &[&str] = &[
    "?",
    "h",
    "help",
    "version",
    "conf",
    "datadir",
    "daemon",
    "server",
    "printtoconsole",
    "rpcuser",
    "rpcpassword",
    "rpcport",
    "rpcbind",
    "rpcallowip",
    "rpcauth",
    "rpcthreads",
    "rpcworkqueue",
    "rpccookiefile",
    "port",
    "bind",
    "listen",
    "externalip",
    "addnode",
    "connect",
    "seednode",
    "maxconnections",
    "txindex",
    "dbcache",
    "prune",
    "debug",
    "debuglogfile",
    "logtimestamps",
    "shrinkdebugfile",
    "pid",
    "testnet",
    "regtest",
    "disablewallet",
    "wallet",
    "walletdir",
    "fallbackfee",
    "paytxfee",
    "rest",
    "blocksonly",
    "onlynet",
    "proxy",
    "dns",
    "dnsseed",
    "uacomment",
    "walletnotify",
    "blocknotify",
    "alertnotify",
    "deprecatedrpc",
    "zmqpubrawblock",
    "zmqpubrawtx",
    "zmqpubhashblock",
    "zmqpubhashtx",
    "whitelist",
    "whitebind",
    "maxmempool",
    "mempoolexpiry",
    "par",
    "loadblock",
    "reindex",
    "assumevalid",
];

/// ArgsManager::ParseParameters and bitcoind's token check (Bitcoin Core 0.21,
/// which Litecoin Core 0.21 is).
fn litecoind_check_args(argv: &[String]) -> Result<(), String> {
    for arg in argv {
        if !arg.starts_with('-') {
            return Err(format!(
                "Command line contains unexpected token '{arg}', see litecoind -h for a list of options."
            ));
        }
        let name = arg.trim_start_matches('-');
        let key = name.split_once('=').map_or(name, |(k, _)| k);
        let known = |k: &str| LITECOIND_OPTIONS.contains(&k);
        if !(known(key) || key.strip_prefix("no").is_some_and(known)) {
            return Err(format!(
                "Error parsing command line arguments: Invalid parameter {arg}"
            ));
        }
    }
    Ok(())
}
const KMD_RPCPORT: u16 = 7771;
const MARKER: &str = "clean_shutdown";
const DATADIR_POLL: Duration = Duration::from_secs(3);

/// komodod's command line: `-key=value` or `-key` (also with `--`); anything
/// else is ignored, as komodod ignores it.
struct Args {
    all: Vec<String>,
    options: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(argv: Vec<String>) -> Args {
        let options = argv
            .iter()
            .filter_map(|arg| {
                let name = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
                Some(match name.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (name.to_string(), None),
                })
            })
            .collect();
        Args { all: argv, options }
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    /// The argv as it may be logged: anything that looks like a secret is
    /// replaced (dokomodo never passes one, but a log must not depend on that).
    fn loggable(&self) -> String {
        self.all
            .iter()
            .map(|a| match a.split_once('=') {
                Some((k, _)) if is_secret_name(k) => format!("{k}=<redacted>"),
                _ => a.clone(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn is_secret_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("passphrase")
        || k.contains("userpass")
        || k.contains("seed")
}

struct Chain {
    flavour: Flavour,
    name: String,
    datadir: PathBuf,
    conf_path: PathBuf,
    pubkey: Option<String>,
}

impl Chain {
    fn from_args(args: &Args, home: &Path, flavour: Flavour) -> Chain {
        if flavour == Flavour::Litecoind {
            let datadir = args
                .value("datadir")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".litecoin"));
            let conf_path = match args.value("conf") {
                Some(c) if Path::new(c).is_absolute() => PathBuf::from(c),
                Some(c) => datadir.join(c),
                None => datadir.join("litecoin.conf"),
            };
            return Chain {
                flavour,
                name: LTC.to_string(),
                datadir,
                conf_path,
                pubkey: None,
            };
        }
        let name = args
            .value("ac_name")
            .filter(|n| !n.is_empty())
            .unwrap_or(KMD)
            .to_string();
        let komodo_dir = home.join(".komodo");
        let datadir = match args.value("datadir") {
            Some(d) => PathBuf::from(d),
            None if name == KMD => komodo_dir,
            None => komodo_dir.join(&name),
        };
        let conf_file = if name == KMD {
            "komodo.conf".to_string()
        } else {
            format!("{name}.conf")
        };
        Chain {
            flavour,
            conf_path: datadir.join(conf_file),
            datadir,
            pubkey: args.value("pubkey").map(str::to_string),
            name,
        }
    }

    fn is_kmd(&self) -> bool {
        self.name == KMD
    }
}

/// What the RPC server needs, fixed at start.
struct Rpc {
    flavour: Flavour,
    wallet: Mutex<Wallet>,
    chain_name: String,
    rpcport: u16,
    pubkey: Option<String>,
    userpass: Option<String>,
    /// None: no rpcallowip, loopback only. Some: every client checked.
    allow: Option<Vec<Subnet>>,
    trust_loopback: bool,
    stopping: AtomicBool,
    served: AtomicU64,
    log: Arc<Log>,
    stop: Sender<String>,
}

/// What the wallet calls touch: imported keys (as hash160 of the compressed
/// pubkey) and the locked outputs, both in memory.
#[derive(Default)]
struct Wallet {
    keys: Vec<[u8; 20]>,
    locks: Vec<(String, u64)>,
}

fn seeded_locks() -> Result<Vec<(String, u64)>, String> {
    let Ok(spec) = std::env::var("STANDIN_LOCKED_UTXOS") else {
        return Ok(Vec::new());
    };
    spec.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| {
            let (txid, vout) = item
                .trim()
                .split_once(':')
                .ok_or_else(|| format!("STANDIN_LOCKED_UTXOS: {item:?} is not TXID:VOUT"))?;
            let vout = vout
                .parse()
                .map_err(|_| format!("STANDIN_LOCKED_UTXOS: bad vout in {item:?}"))?;
            Ok((txid.to_string(), vout))
        })
        .collect()
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().is_some_and(|a| a == "orphans") {
        return orphans_mode(&argv[1..]);
    }
    let flavour = Flavour::from_argv0();
    match run(flavour) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) if flavour == Flavour::Litecoind => {
            // InitError: "Error: " + message, on stderr.
            eprintln!("Error: {msg}");
            ExitCode::FAILURE
        }
        Err(msg) => {
            eprintln!("komodod-standin: Error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn orphans_mode(args: &[String]) -> ExitCode {
    let result = orphans::parse(args).and_then(|(n, lifetime)| {
        orphans::leave_orphans(n, lifetime).map_err(|e| format!("fork: {e}"))
    });
    match result {
        Ok(pids) => {
            let pids: Vec<String> = pids.iter().map(i32::to_string).collect();
            println!("{}", pids.join(" "));
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("komodod-standin: Error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn env_flag(name: &str) -> Option<bool> {
    std::env::var(name)
        .ok()
        .map(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn run(flavour: Flavour) -> Result<(), String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if flavour == Flavour::Litecoind {
        litecoind_check_args(&argv)?;
    }
    let args = Args::parse(argv);
    let ignore_term = env_flag("STANDIN_IGNORE_TERM").unwrap_or(false);
    if ignore_term {
        signals::ignore_stop_signals().map_err(|e| format!("cannot ignore SIGTERM: {e}"))?;
    }
    let chain = Chain::from_args(&args, &dokomodo_standins::home_dir(), flavour);
    if flavour == Flavour::Litecoind {
        if args.value("datadir").is_some() && !chain.datadir.is_dir() {
            return Err(format!(
                "Specified data directory \"{}\" does not exist.",
                chain.datadir.display()
            ));
        }
        // litecoind creates its default data dir.
        std::fs::create_dir_all(&chain.datadir)
            .map_err(|e| format!("cannot create {}: {e}", chain.datadir.display()))?;
    }
    let locks = seeded_locks()?;

    // komodod's own loop: a missing data dir is waited for, never created.
    while !chain.datadir.is_dir() {
        eprintln!("waiting for datadir {}", chain.datadir.display());
        std::thread::sleep(DATADIR_POLL);
    }

    // Before any thread exists, so every thread inherits the blocked mask and
    // only the signal thread ever sees SIGTERM.
    if !ignore_term {
        signals::block_stop_signals().map_err(|e| format!("cannot block SIGTERM: {e}"))?;
    }

    let log = Arc::new(Log::new(&format!("komodod-standin {}", chain.name)));
    let log_path = chain.datadir.join("standin.log");
    if let Err(e) = log.to_file(&log_path) {
        log.line(&format!(
            "cannot write {}: {e} (logging to stderr only)",
            log_path.display()
        ));
    }
    let marker = chain.datadir.join(MARKER);
    match std::fs::remove_file(&marker) {
        Ok(()) => log.line("removed the clean_shutdown marker of the previous run"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot remove {}: {e}", marker.display())),
    }
    log.line(&format!("starting: {}", args.loggable()));
    log.line(&format!("datadir {}", chain.datadir.display()));

    let (conf, text) = read_conf(&chain, &log)?;
    if conf.get("daemon") == Some("1") {
        return Err(format!(
            "{} has daemon=1: komodod would fork and this process would exit at once",
            chain.conf_path.display()
        ));
    }
    let credentials = if flavour == Flavour::Litecoind {
        // litecoind's own parser: key=value, both trimmed.
        let get = |k: &str| {
            let text = String::from_utf8_lossy(&text).into_owned();
            text.lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .filter_map(|l| l.split_once('='))
                .filter(|(key, _)| key.trim() == k)
                .map(|(_, v)| v.trim().to_string())
                .next_back()
        };
        conf::QuirkyCredentials {
            rpcuser: get("rpcuser"),
            rpcpassword: get("rpcpassword"),
            rpcport: Some(get("rpcport").unwrap_or_else(|| LTC_RPCPORT.to_string())),
        }
    } else {
        conf::quirky_credentials(&text)
    };
    // komodod's komodo_args: komodo_configfile, the only reader of KMD's
    // conf, runs only when the assetchain's own conf has no rpcport.
    if !chain.is_kmd() && flavour == Flavour::Komodod && credentials.rpcport.is_none() {
        read_kmd_conf(&log);
    }
    let rpcport = rpcport(&chain, &credentials)?;
    if !locks.is_empty() {
        log.line(&format!(
            "{} output(s) locked at start (STANDIN_LOCKED_UTXOS)",
            locks.len()
        ));
    }
    let userpass = credentials.userpass();
    if userpass.is_none() {
        log.line("no rpcuser/rpcpassword in the conf: komodod would use a cookie; every request will be refused");
    }

    let allow = allow_list(&conf)?;
    let listeners = bind(&conf, rpcport, allow.is_some(), &log)?;
    let (stop_tx, stop_rx) = mpsc::channel::<String>();

    let rpc = Arc::new(Rpc {
        flavour,
        wallet: Mutex::new(Wallet {
            keys: Vec::new(),
            locks,
        }),
        chain_name: chain.name.clone(),
        rpcport,
        pubkey: chain.pubkey.clone(),
        userpass,
        allow,
        trust_loopback: env_flag("STANDIN_TRUST_LOOPBACK").unwrap_or(true),
        stopping: AtomicBool::new(false),
        served: AtomicU64::new(0),
        log: Arc::clone(&log),
        stop: stop_tx.clone(),
    });
    for listener in listeners {
        let rpc = Arc::clone(&rpc);
        std::thread::spawn(move || {
            http::serve(
                listener,
                Arc::new(move |req: &Request, peer: SocketAddr| rpc.handle(req, peer)),
            )
        });
    }
    if !ignore_term {
        std::thread::spawn(move || {
            if let Ok(sig) = signals::wait_stop_signal() {
                let _ = stop_tx.send(signals::name(sig).to_string());
            }
        });
    } else {
        log.line("STANDIN_IGNORE_TERM=1: SIGTERM and SIGINT are ignored");
    }
    log.line("ready");

    let reason = stop_rx
        .recv()
        .map_err(|_| "every stop path is gone".to_string())?;
    rpc.stopping.store(true, Ordering::SeqCst);
    shut_down(&chain, &reason, &log)
}

fn read_conf(chain: &Chain, log: &Log) -> Result<(Conf, Vec<u8>), String> {
    let text = match std::fs::read(&chain.conf_path) {
        Ok(t) => t,
        Err(e)
            if chain.flavour == Flavour::Litecoind && e.kind() == std::io::ErrorKind::NotFound =>
        {
            log.line(&format!(
                "no {}: litecoind runs with defaults",
                chain.conf_path.display()
            ));
            Vec::new()
        }
        Err(e) if chain.is_kmd() => {
            return Err(format!(
                "cannot read {}: {e} (komodod refuses to start KMD without komodo.conf; it may be empty)",
                chain.conf_path.display()
            ));
        }
        Err(e) => {
            // Real komodod would write a conf with random credentials here,
            // which no other container could know: the stand-in refuses.
            return Err(format!(
                "cannot read {}: {e} (komodod would write one with random credentials)",
                chain.conf_path.display()
            ));
        }
    };
    let conf = Conf::parse(&String::from_utf8_lossy(&text));
    // Keys only: values include the password.
    log.line(&format!(
        "conf {} read, keys: {}",
        chain.conf_path.display(),
        conf.keys().collect::<Vec<_>>().join(",")
    ));
    Ok((conf, text))
}

fn rpcport(chain: &Chain, credentials: &conf::QuirkyCredentials) -> Result<u16, String> {
    match credentials.rpcport.as_deref() {
        Some(p) => {
            p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| {
                format!("{}: rpcport={p:?} is not a port", chain.conf_path.display())
            })
        }
        None if chain.is_kmd() => Ok(KMD_RPCPORT),
        None => Err(format!(
            "{} has no rpcport: komodod would bind {KMD_RPCPORT} and collide with KMD",
            chain.conf_path.display()
        )),
    }
}

/// An assetchain whose conf has no rpcport reads KMD's conf (for KMD's
/// credentials, to verify notarisations against KMD). With an rpcport it never
/// does, and komodod skips that check (komodo_verifynotarization).
fn read_kmd_conf(log: &Log) {
    let path = dokomodo_standins::home_dir()
        .join(".komodo")
        .join("komodo.conf");
    match std::fs::read(&path) {
        Ok(text) => {
            let c = conf::quirky_credentials(&text);
            log.line(&format!(
                "KMD conf {} read: rpcuser {}, rpcpassword {}, rpcport {}",
                path.display(),
                if c.rpcuser.is_some() {
                    "set"
                } else {
                    "missing"
                },
                if c.rpcpassword.is_some() {
                    "set"
                } else {
                    "missing"
                },
                c.rpcport.as_deref().unwrap_or("missing (default 7771)"),
            ));
        }
        Err(e) => log.line(&format!(
            "no KMD conf at {}: {e} (komodod cannot verify notarisations against KMD)",
            path.display()
        )),
    }
}

fn allow_list(conf: &Conf) -> Result<Option<Vec<Subnet>>, String> {
    let specs = conf.get_all("rpcallowip");
    if specs.is_empty() {
        return Ok(None);
    }
    specs
        .iter()
        .map(|s| Subnet::parse(s).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// komodod's rule: without rpcallowip only loopback, and rpcbind is ignored.
fn bind(conf: &Conf, rpcport: u16, has_allow: bool, log: &Log) -> Result<Vec<TcpListener>, String> {
    let binds = conf.get_all("rpcbind");
    let addrs: Vec<SocketAddr> = if !has_allow {
        if !binds.is_empty() {
            log.line("rpcbind ignored: no rpcallowip, so RPC listens on 127.0.0.1 only");
        }
        vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), rpcport)]
    } else if binds.is_empty() {
        vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), rpcport)]
    } else {
        binds
            .iter()
            .map(|b| parse_bind(b, rpcport))
            .collect::<Result<Vec<_>, _>>()?
    };
    let mut listeners = Vec::new();
    for addr in addrs {
        match TcpListener::bind(addr) {
            Ok(l) => {
                log.line(&format!("RPC listening on {addr}"));
                listeners.push(l);
            }
            Err(e) => log.line(&format!("cannot bind RPC on {addr}: {e}")),
        }
    }
    if listeners.is_empty() {
        return Err("unable to bind any endpoint for RPC server".into());
    }
    Ok(listeners)
}

fn parse_bind(spec: &str, rpcport: u16) -> Result<SocketAddr, String> {
    if let Ok(addr) = spec.parse::<SocketAddr>() {
        return Ok(addr);
    }
    spec.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, rpcport))
        .map_err(|_| format!("rpcbind={spec:?} is not an address"))
}

fn shut_down(chain: &Chain, reason: &str, log: &Log) -> Result<(), String> {
    let delay_ms: u64 = std::env::var("STANDIN_SHUTDOWN_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    log.line(&format!(
        "{reason}: shutting down (flushing for {delay_ms} ms)"
    ));
    std::thread::sleep(Duration::from_millis(delay_ms));
    let marker = chain.datadir.join(MARKER);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    std::fs::write(&marker, format!("clean shutdown after {reason} at {now}\n"))
        .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    log.line("shutdown complete");
    Ok(())
}

impl Rpc {
    fn handle(&self, req: &Request, peer: SocketAddr) -> Response {
        let ip = peer.ip();
        if let Some(allow) = &self.allow {
            let trusted = self.trust_loopback && subnet::is_loopback(ip);
            if !trusted && !allow.iter().any(|s| s.contains(ip)) {
                self.log
                    .line(&format!("rpc from {ip} refused: 403, not in rpcallowip"));
                return Response::empty(403);
            }
        }
        if self.stopping.load(Ordering::SeqCst) {
            return Response::json(503, &json!("Rejecting request while shutting down"));
        }
        if req.method != "POST" {
            return Response::json(405, &json!("JSONRPC server handles only POST requests"));
        }
        if !self.authorized(req) {
            // Never log what the client sent: it may be a real password.
            self.log.line(&format!(
                "rpc from {ip} refused: 401, wrong or missing credentials"
            ));
            let mut r = Response::empty(401);
            r.headers
                .push(("WWW-Authenticate".into(), "Basic realm=\"jsonrpc\"".into()));
            return r;
        }
        let request: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(_) => return Response::json(500, &rpc_error(Value::Null, -32700, "Parse error")),
        };
        match request {
            Value::Array(batch) => {
                let replies: Vec<Value> = batch.iter().map(|r| self.call(r, ip).1).collect();
                Response::json(200, &Value::Array(replies))
            }
            single => {
                let (status, reply) = self.call(&single, ip);
                Response::json(status, &reply)
            }
        }
    }

    fn authorized(&self, req: &Request) -> bool {
        match (&self.userpass, req.basic_auth()) {
            (Some(expected), Some(given)) => {
                constant_time_eq(expected.as_bytes(), given.as_bytes())
            }
            _ => false,
        }
    }

    fn call(&self, request: &Value, ip: IpAddr) -> (u16, Value) {
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let method = request.get("method").and_then(Value::as_str).unwrap_or("");
        let n = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        self.log.line(&format!("rpc #{n} {method:?} from {ip}"));
        let params = request
            .get("params")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let litecoind = self.flavour == Flavour::Litecoind;
        let answer = |r: Result<Value, (i64, &str)>| match r {
            Ok(result) => (200, json!({"result": result, "error": null, "id": id})),
            Err((code, msg)) => (500, rpc_error(id.clone(), code, msg)),
        };
        match method {
            "getinfo" if !litecoind => (
                200,
                json!({"result": self.getinfo(), "error": null, "id": id}),
            ),
            "getblockchaininfo" if litecoind => answer(Ok(json!({
                "chain": "main", "blocks": chain_state().blocks,
                "headers": chain_state().longest, "standin": true
            }))),
            "getnetworkinfo" if litecoind => answer(Ok(json!({
                "connections": chain_state().connections, "standin": true
            }))),
            "getblock" => answer(self.getblock(&params)),
            "listunspent" => answer(Ok(self.listunspent())),
            "getbalance" => answer(Ok(self.getbalance())),
            "getblockcount" => answer(Ok(json!(0))),
            "importprivkey" => answer(self.importprivkey(&params)),
            "validateaddress" => answer(Ok(self.validateaddress(&params, !litecoind))),
            "getaddressinfo" if litecoind => answer(self.getaddressinfo(&params)),
            "listlockunspent" => answer(Ok(self.listlockunspent())),
            "lockunspent" => answer(self.lockunspent(&params)),
            "stop" => {
                let stop = self.stop.clone();
                // Let the reply leave before shutdown starts.
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(100));
                    let _ = stop.send("RPC stop".into());
                });
                (
                    200,
                    json!({"result": "Komodo server stopping", "error": null, "id": id}),
                )
            }
            _ => (404, rpc_error(id, -32601, "Method not found")),
        }
    }

    fn types(&self) -> (u8, u8) {
        match self.flavour {
            Flavour::Komodod => (keys::KMD_PUBTYPE, keys::KMD_WIFTYPE),
            Flavour::Litecoind => (keys::LTC_PUBTYPE, keys::LTC_WIFTYPE),
        }
    }

    fn wallet(&self) -> std::sync::MutexGuard<'_, Wallet> {
        self.wallet.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// importprivkey "WIF" ( "label" rescan ): result null.
    fn importprivkey(&self, params: &[Value]) -> Result<Value, (i64, &'static str)> {
        let (pubtype, wiftype) = self.types();
        let wif = params.first().and_then(Value::as_str).unwrap_or("");
        let privkey =
            keys::wif_privkey(wiftype, wif).ok_or((-5, "Invalid private key encoding"))?;
        let pubkey = keys::pubkey33(&privkey).ok_or((-5, "Private key outside allowed range"))?;
        let (_, hash) = keys::address_hash(&keys::address(pubtype, &pubkey))
            .ok_or((-5, "Invalid private key encoding"))?;
        let mut wallet = self.wallet();
        if !wallet.keys.contains(&hash) {
            wallet.keys.push(hash);
        }
        // Never the WIF itself.
        self.log.line(&format!(
            "importprivkey: key for {} imported",
            keys::address(pubtype, &pubkey)
        ));
        Ok(Value::Null)
    }

    /// (address, mine) for a valid address of this chain.
    fn address_of(&self, params: &[Value]) -> Option<(String, bool)> {
        let (pubtype, _) = self.types();
        let addr = params.first().and_then(Value::as_str)?;
        let (version, hash) = keys::address_hash(addr)?;
        (version == pubtype).then(|| (addr.to_string(), self.wallet().keys.contains(&hash)))
    }

    /// komodod answers `ismine`; litecoind 0.21 no longer does (getaddressinfo).
    fn validateaddress(&self, params: &[Value], with_ismine: bool) -> Value {
        match self.address_of(params) {
            None => json!({"isvalid": false}),
            Some((addr, mine)) if with_ismine => json!({
                "isvalid": true, "address": addr, "ismine": mine, "iswatchonly": false,
                "isscript": false, "iscompressed": true, "account": ""
            }),
            Some((addr, _)) => json!({
                "isvalid": true, "address": addr, "isscript": false, "iswitness": false
            }),
        }
    }

    fn getaddressinfo(&self, params: &[Value]) -> Result<Value, (i64, &'static str)> {
        let (addr, mine) = self.address_of(params).ok_or((-5, "Invalid address"))?;
        Ok(
            json!({"address": addr, "ismine": mine, "solvable": mine, "iswatchonly": false,
                  "isscript": false, "iswitness": false}),
        )
    }

    fn listlockunspent(&self) -> Value {
        let wallet = self.wallet();
        Value::Array(
            wallet
                .locks
                .iter()
                .map(|(txid, vout)| json!({"txid": txid, "vout": vout}))
                .collect(),
        )
    }

    /// lockunspent unlock ([{"txid":..,"vout":..},...]): `false` locks,
    /// `true` unlocks; `true` alone unlocks everything. komodod checks only
    /// the txid's form and the vout's sign; litecoind also refuses to unlock
    /// an output that is not locked and to lock one twice.
    fn lockunspent(&self, params: &[Value]) -> Result<Value, (i64, &'static str)> {
        let unlock = params.first().and_then(Value::as_bool).ok_or((
            -1,
            "lockunspent unlock ( [{\"txid\":\"txid\",\"vout\":n},...] )",
        ))?;
        let mut wallet = self.wallet();
        let Some(outputs) = params.get(1) else {
            if unlock {
                wallet.locks.clear();
            }
            return Ok(json!(true));
        };
        let outputs = outputs.as_array().ok_or((-3, "Expected type array"))?;
        let mut parsed = Vec::new();
        for o in outputs {
            let txid = o.get("txid").and_then(Value::as_str).unwrap_or("");
            if txid.len() != 64 || keys::unhex(txid).is_none() {
                return Err((-8, "Invalid parameter, expected hex txid"));
            }
            let vout = o
                .get("vout")
                .and_then(Value::as_i64)
                .ok_or((-8, "Invalid parameter, missing vout key"))?;
            let vout = u64::try_from(vout)
                .map_err(|_| (-8, "Invalid parameter, vout must be positive"))?;
            parsed.push((txid.to_string(), vout));
        }
        if self.flavour == Flavour::Litecoind {
            for item in &parsed {
                let locked = wallet.locks.contains(item);
                if unlock && !locked {
                    return Err((-8, "Invalid parameter, expected locked output"));
                }
                if !unlock && locked {
                    return Err((-8, "Invalid parameter, output already locked"));
                }
            }
        }
        for item in parsed {
            wallet.locks.retain(|l| *l != item);
            if !unlock {
                wallet.locks.push(item);
            }
        }
        Ok(json!(true))
    }

    /// getblock "hash": the notarised block (its height and time), else -5.
    fn getblock(&self, params: &[Value]) -> Result<Value, (i64, &'static str)> {
        let state = chain_state();
        let hash = params.first().and_then(Value::as_str).unwrap_or("");
        if state.notarized == 0 || hash != notarized_hash(&self.chain_name, state.notarized) {
            return Err((-5, "Block not found"));
        }
        Ok(json!({"hash": hash, "height": state.notarized, "time": state.notarized_time}))
    }

    /// The wallet's address: the first imported key's, else the all-zero
    /// hash160's (a valid address nobody holds).
    fn wallet_address(&self) -> String {
        let (pubtype, _) = self.types();
        let hash = self.wallet().keys.first().copied().unwrap_or([0; 20]);
        let mut payload = vec![pubtype];
        payload.extend_from_slice(&hash);
        keys::base58check_encode(&payload)
    }

    /// STANDIN_UTXOS outputs of 0.0001 and one of 2.5, to the wallet's address.
    fn listunspent(&self) -> Value {
        let address = self.wallet_address();
        let n = chain_state().utxos;
        let mut items: Vec<Value> = (0..n)
            .map(|i| {
                json!({"txid": notarized_hash("utxo", i + 1), "vout": i, "address": address,
                       "amount": UTXO_AMOUNT, "confirmations": 10, "spendable": true})
            })
            .collect();
        items.push(
            json!({"txid": notarized_hash("change", 1), "vout": 0, "address": address,
                          "amount": CHANGE_AMOUNT, "confirmations": 10, "spendable": true}),
        );
        Value::Array(items)
    }

    fn getbalance(&self) -> Value {
        let sats = chain_state().utxos * 10_000 + 250_000_000;
        json!(sats as f64 / 1e8)
    }

    fn getinfo(&self) -> Value {
        let state = chain_state();
        json!({
            "version": 3000300,
            "protocolversion": 170010,
            "name": self.chain_name,
            "rpcport": self.rpcport,
            "p2pport": self.rpcport - 1,
            "blocks": state.blocks,
            "longestchain": state.longest,
            "connections": state.connections,
            "notarized": state.notarized,
            "notarizedhash": notarized_hash(&self.chain_name, state.notarized),
            "notarizedtxid": notarized_hash("txid", state.notarized),
            "notaryid": -1,
            "pubkey": self.pubkey,
            "standin": true,
        })
    }
}

/// The chain as the stand-in pretends it is, from the environment:
/// STANDIN_BLOCKS (0), STANDIN_LONGEST (= blocks), STANDIN_CONNECTIONS (0),
/// STANDIN_NOTARIZED (0: never notarised), STANDIN_NOTARIZED_TIME (unix
/// seconds of the notarised block; default now - 600), STANDIN_UTXOS (0:
/// notarisation-size outputs in the wallet).
struct ChainState {
    blocks: u64,
    longest: u64,
    connections: u64,
    notarized: u64,
    notarized_time: u64,
    utxos: u64,
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn chain_state() -> ChainState {
    let blocks = env_u64("STANDIN_BLOCKS").unwrap_or(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    ChainState {
        blocks,
        longest: env_u64("STANDIN_LONGEST").unwrap_or(blocks),
        connections: env_u64("STANDIN_CONNECTIONS").unwrap_or(0),
        notarized: env_u64("STANDIN_NOTARIZED").unwrap_or(0),
        notarized_time: env_u64("STANDIN_NOTARIZED_TIME").unwrap_or(now.saturating_sub(600)),
        utxos: env_u64("STANDIN_UTXOS").unwrap_or(0),
    }
}

/// komodod's zero hash before the first notarisation, else a hash made up
/// from the chain and height (stable across calls).
fn notarized_hash(tag: &str, height: u64) -> String {
    if height == 0 {
        return "0".repeat(64);
    }
    keys::hex(&keys::sha256(format!("{tag}/{height}").as_bytes()))
}

/// A notarisation UTXO: 0.0001 coin, iguana's `DPOW_UTXOSIZE`.
const UTXO_AMOUNT: f64 = 0.0001;
/// Besides the notarisation UTXOs, one bigger output to split from.
const CHANGE_AMOUNT: f64 = 2.5;

fn rpc_error(id: Value, code: i64, message: &str) -> Value {
    json!({"result": null, "error": {"code": code, "message": message}, "id": id})
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
