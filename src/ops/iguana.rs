//! iguana's start-up, as upstream runs it (dPoW's `m_notary_main`,
//! `add_coins`, `dpowassets`; the calls and replies are in
//! docs/iguana-api.md), with each coin's outcome checked on its own.
//!
//! Before iguana starts (`prepare`, any failure is a config error and iguana
//! never starts): the public address for `myipaddr` and the peers for
//! `addnotary` (the YAML's `iguana.notaries`, else the seeds of the elected
//! file iguana reads).
//!
//! Once iguana runs (`startup`): `myipaddr`, one `addnotary` per peer, and a
//! check that the dPoW bus is bound (`dpow ipaddrs`). Then every coin goes
//! through its own steps as soon as its daemon answers, so a daemon still
//! loading never holds the others back:
//!
//! 1. unlock what a killed iguana left locked (`listlockunspent`, then
//!    `lockunspent true [...]`, on the daemon);
//! 2. the notary key in the daemon's wallet (`validateaddress`, and
//!    `importprivkey` without rescan unless it is already `ismine`): iguana's
//!    `dpow` refuses a coin whose daemon, or its destination's, lacks it, and
//!    iguana's own `walletpassphrase` imports it only into the first coin;
//! 3. `addcoin`, verified through iguana (`passthru` of `getinfo`, or
//!    `getblockchaininfo` for a coin that is not komodod): addcoin's own
//!    answer is "coin added" even when iguana cannot read the conf;
//! 4. `dpow`, once its destination (KMD; LTC for KMD) is added.
//!
//! Upstream's order is kept where it matters: KMD is added first, then
//! `walletpassphrase`, then every other coin; every `dpow` comes after
//! `walletpassphrase`; `dpow KMD` after LTC is added. The notary iguana runs
//! `dpow` for every coin but LTC; the 3rd-party iguana only for its own coins
//! (neither KMD nor LTC).
//!
//! Each coin's state (`waiting`, `ok`, `failed` with the reason) is kept in
//! a status file in iguana's working directory, which `dokomodo health` of the
//! iguana container reads: healthy only when every coin is `ok`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::{Chain, Config, elected};
use crate::json;
use crate::ops::probe;
use crate::ops::rpc::{self, RpcError};
use crate::render;
use crate::secrets::creds::{self, Credentials};
use crate::secrets::keys::NotaryKey;
use crate::secrets::passphrase::Passphrase;
use crate::secrets::seed::Seed;
use zeroize::Zeroize;

/// The address iguana announces, when the YAML does not give it.
pub const MYIPADDR_VAR: &str = "DOKOMODO_MYIPADDR";

/// The status file, in iguana's working directory.
pub const STATUS_FILE: &str = ".dokomodo-startup";

/// How long each step may take.
#[derive(Debug, Clone)]
pub struct StartupOptions {
    /// iguana's RPC port on 127.0.0.1.
    pub iguana_port: u16,
    /// Until iguana first answers.
    pub iguana_wait: Duration,
    /// Until a coin whose daemon does not answer is reported as failed
    /// (komodod loads its block index first, which takes minutes on KMD);
    /// its daemon keeps being waited for after that.
    pub chain_wait: Duration,
    /// For one call to iguana or a daemon.
    pub call_timeout: Duration,
    /// Until a coin added to iguana answers through it.
    pub verify_wait: Duration,
    /// After `chain_wait`, keep waiting for a silent daemon (`run iguana`:
    /// it may still be loading) or give the coin up (`iguana-startup`, a
    /// command that must end).
    pub keep_waiting: bool,
}

impl StartupOptions {
    pub fn for_config(config: &Config) -> StartupOptions {
        StartupOptions {
            iguana_port: probe::iguana_port(config),
            iguana_wait: Duration::from_secs(300),
            chain_wait: Duration::from_secs(1800),
            call_timeout: Duration::from_secs(120),
            verify_wait: Duration::from_secs(120),
            keep_waiting: true,
        }
    }
}

/// Which iguana this is: the notary iguana notarises KMD into LTC and the
/// assetchains into KMD; the 3rd-party one only its own coins into KMD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Notary,
    ThirdParty,
}

/// What the start-up needs that is known before iguana starts.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub myipaddr: Ipv4Addr,
    /// Where the address came from, for the log.
    pub origin: &'static str,
    /// One `addnotary` each.
    pub peers: Vec<String>,
    pub role: Role,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PrepareError {
    #[error(
        "iguana needs this notary's public IPv4 address for myipaddr (without it iguana never \
         binds its dPoW bus and is silently off the notary network): set iguana.myipaddr in the \
         YAML or {MYIPADDR_VAR}{found}"
    )]
    NoAddress { found: String },
    #[error("{MYIPADDR_VAR} `{value}` is not an IPv4 address")]
    BadAddress { value: String },
    #[error(
        "iguana reads its elected file {path}: {reason}; set iguana.elected_file to this season's \
         elected file (dPoW iguana/{elected}), or put it there"
    )]
    Elected {
        path: PathBuf,
        elected: String,
        reason: String,
    },
    #[error(
        "{path} gives dPoW port {from_file}, but the YAML has iguana.dpow_port {from_yaml}: \
         iguana binds the file's port, so the published one would be wrong"
    )]
    PortDiffers {
        path: PathBuf,
        from_file: u16,
        from_yaml: u16,
    },
}

/// Checks, before iguana starts, what its start-up will need.
pub fn prepare(
    config: &Config,
    home: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Prepared, PrepareError> {
    let (myipaddr, origin) = my_ip(config, env)?;
    let path = home
        .join(render::iguana_workdir(config))
        .join(config.iguana.elected_file_name());
    let elected = elected::load(&path).map_err(|reason| PrepareError::Elected {
        path: path.clone(),
        elected: config.iguana.elected_file_name().to_owned(),
        reason,
    })?;
    if let Some(from_yaml) = config.iguana.dpow_port.filter(|p| *p != elected.port) {
        return Err(PrepareError::PortDiffers {
            path,
            from_file: elected.port,
            from_yaml,
        });
    }
    let peers = if config.iguana.notaries.is_empty() {
        elected.seeds
    } else {
        config
            .iguana
            .notaries
            .iter()
            .map(Ipv4Addr::to_string)
            .collect()
    };
    Ok(Prepared {
        myipaddr,
        origin,
        peers,
        role: role(config),
    })
}

pub fn role(config: &Config) -> Role {
    if config.iguana.elected == "3rd_party" {
        Role::ThirdParty
    } else {
        Role::Notary
    }
}

/// The address iguana announces: the YAML's, else `DOKOMODO_MYIPADDR`, else
/// this host's own when it is public. A private one (a container on a bridge
/// network) is useless to peers.
fn my_ip(
    config: &Config,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<(Ipv4Addr, &'static str), PrepareError> {
    if let Some(ip) = config.iguana.myipaddr {
        return Ok((ip, "from the YAML"));
    }
    if let Some(value) = env(MYIPADDR_VAR).filter(|v| !v.is_empty()) {
        let value = value.to_string_lossy().into_owned();
        return value
            .trim()
            .parse()
            .map(|ip| (ip, "from DOKOMODO_MYIPADDR"))
            .map_err(|_| PrepareError::BadAddress { value });
    }
    match discover_ipv4() {
        Some(ip) if is_public(ip) => Ok((ip, "this host's address on its default route")),
        Some(ip) => Err(PrepareError::NoAddress {
            found: format!("; this host's own address {ip} is not public (a bridge network?)"),
        }),
        None => Err(PrepareError::NoAddress {
            found: "; this host has no default route".to_owned(),
        }),
    }
}

/// Where a coin stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Waiting(String),
    Ok(String),
    Failed(String),
}

/// Every coin's state, in the YAML's order.
pub type Report = Vec<(String, State)>;

/// Whether every coin is ready; else one line naming the others and why.
pub fn verdict(report: &Report) -> Result<(), String> {
    let not_ready: Vec<String> = report
        .iter()
        .filter_map(|(name, state)| match state {
            State::Ok(_) => None,
            State::Waiting(why) => Some(format!("{name} waiting ({why})")),
            State::Failed(why) => Some(format!("{name} failed ({why})")),
        })
        .collect();
    if not_ready.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} coin(s) not ready: {}",
            not_ready.len(),
            report.len(),
            not_ready.join("; ")
        ))
    }
}

/// `startup`, then `verdict`: the error names every coin not ready.
pub fn startup_verdict(
    config: &Config,
    home: &Path,
    seed: &Seed,
    passphrase: Option<&Passphrase>,
    prepared: &Prepared,
    options: &StartupOptions,
) -> Result<(), String> {
    verdict(&startup(config, home, seed, passphrase, prepared, options))
        .map_err(|why| format!("iguana start-up: {why}"))
}

/// Runs the start-up against the iguana `run iguana` just started. The
/// passphrase unlocks iguana's wallet and gives the notary key each daemon
/// must hold; without it nothing can be notarised, and the coins `dpow`
/// would need are reported as failed.
pub fn startup(
    config: &Config,
    home: &Path,
    seed: &Seed,
    passphrase: Option<&Passphrase>,
    prepared: &Prepared,
    options: &StartupOptions,
) -> Report {
    let start = Instant::now();
    let status = StatusFile::new(home.join(render::iguana_workdir(config)).join(STATUS_FILE));
    let coins = Coins::plan(config, prepared.role);
    let board = Board::new(&coins, status);
    let iguana = Iguana {
        port: options.iguana_port,
        timeout: options.call_timeout,
    };

    if let Err(why) = iguana.wait(options.iguana_wait) {
        board.fail_all(&why);
        return board.report();
    }
    info!(
        "iguana answers at 127.0.0.1:{} (after {})",
        iguana.port,
        rpc::seconds(probe::round(start.elapsed()))
    );
    if let Err(why) = join_the_network(&iguana, prepared) {
        board.off_the_network(&why);
    }

    let key = passphrase.and_then(NotaryKey::from_passphrase);
    let steps = Steps {
        config,
        home,
        seed,
        passphrase,
        key: key.as_ref(),
        iguana: &iguana,
        options,
        coins: &coins,
        board: &board,
    };
    std::thread::scope(|s| {
        for coin in &coins.list {
            let steps = &steps;
            let spawned = std::thread::Builder::new()
                .name(format!("coin-{}", coin.chain.name))
                .spawn_scoped(s, move || steps.run(coin));
            if let Err(e) = spawned {
                steps.board.set(
                    &coin.chain.name,
                    State::Failed(format!("cannot start its thread: {e}")),
                );
            }
        }
    });
    let report = board.report();
    let ready = report
        .iter()
        .filter(|(_, s)| matches!(s, State::Ok(_)))
        .count();
    info!(
        "iguana start-up done: {ready} of {} coin(s) ready, {} notary peer(s), in {}",
        report.len(),
        prepared.peers.len(),
        rpc::seconds(probe::round(start.elapsed()))
    );
    report
}

/// `myipaddr`, one `addnotary` per peer, and whether the dPoW bus is bound.
fn join_the_network(iguana: &Iguana, prepared: &Prepared) -> Result<(), String> {
    let ip = prepared.myipaddr.to_string();
    let reply = iguana.call(&object(&[
        ("agent", "SuperNET"),
        ("method", "myipaddr"),
        ("ipaddr", &ip),
    ]))?;
    match json::member(&reply, "result").and_then(json::string) {
        Some(set) if set == ip => info!("myipaddr {ip} ({})", prepared.origin),
        // iguana keeps the first address it was given until it restarts.
        Some(set) => warn!(
            "myipaddr: iguana keeps {set}, not {ip} ({})",
            prepared.origin
        ),
        None => warn!("myipaddr {ip}: iguana answered {}", rpc::printable(&reply)),
    }
    for peer in &prepared.peers {
        iguana.call(&object(&[
            ("agent", "iguana"),
            ("method", "addnotary"),
            ("ipaddr", peer),
        ]))?;
    }
    info!("addnotary: {} peer(s)", prepared.peers.len());
    // addnotary answers "notary node added" whether or not it bound the bus.
    let peers = iguana.call(br#"{"agent":"dpow","method":"ipaddrs"}"#)?;
    match json::items(&peers) {
        Some(items) if items.is_empty() => Err(
            "iguana's dPoW bus is not bound (addnotary after myipaddr bound nothing; see iguana's \
             log for `need to set ipaddr before nanomsg` or `error binding to dpowsock`)"
                .to_owned(),
        ),
        Some(items) => {
            info!("iguana's dPoW bus is bound: {} address(es)", items.len());
            Ok(())
        }
        None => {
            warn!(
                "dpow ipaddrs: cannot tell whether iguana's dPoW bus is bound: {}",
                rpc::printable(&peers)
            );
            Ok(())
        }
    }
}

/// One coin of the start-up.
struct Coin<'c> {
    chain: &'c Chain,
    /// Whether `dpow` is sent for it.
    dpow: bool,
    /// The coin it notarises into: LTC for KMD, KMD for the others.
    dest: Option<&'static str>,
}

struct Coins<'c> {
    list: Vec<Coin<'c>>,
    /// Added before `walletpassphrase`, every other coin after: KMD, else the
    /// first coin of the YAML.
    first: String,
}

impl<'c> Coins<'c> {
    fn plan(config: &'c Config, role: Role) -> Coins<'c> {
        let list = config
            .chains
            .iter()
            .map(|chain| {
                let (dpow, dest) = match (role, chain.is_kmd(), chain.is_ltc()) {
                    (_, _, true) => (false, None),
                    (Role::Notary, true, _) => (true, Some("LTC")),
                    (Role::ThirdParty, true, _) => (false, None),
                    (_, false, false) => (true, Some("KMD")),
                };
                Coin { chain, dpow, dest }
            })
            .collect();
        let first = config
            .chains
            .iter()
            .find(|c| c.is_kmd())
            .or(config.chains.first())
            .map(|c| c.name.clone())
            .unwrap_or_default();
        Coins { list, first }
    }

    fn named(&self, name: &str) -> Option<&Coin<'c>> {
        self.list.iter().find(|c| c.chain.name == name)
    }
}

/// Everything a coin's thread needs.
struct Steps<'a> {
    config: &'a Config,
    home: &'a Path,
    seed: &'a Seed,
    passphrase: Option<&'a Passphrase>,
    key: Option<&'a NotaryKey>,
    iguana: &'a Iguana,
    options: &'a StartupOptions,
    coins: &'a Coins<'a>,
    board: &'a Board,
}

impl Steps<'_> {
    fn run(&self, coin: &Coin<'_>) {
        let name = &coin.chain.name;
        let state = match self.steps(coin) {
            Ok(done) => {
                info!("{name}: {done}");
                State::Ok(done)
            }
            Err(why) => {
                error!("{name}: {why}");
                State::Failed(why)
            }
        };
        self.board.set(name, state);
        self.board.ended(name);
    }

    fn steps(&self, coin: &Coin<'_>) -> Result<String, String> {
        let chain = coin.chain;
        let creds = creds::for_chain(self.seed, chain);
        self.wait_for_daemon(chain, &creds)?;
        self.unlock(chain, &creds);
        let imported = self.import_key(chain, &creds);

        let is_first = chain.name == self.coins.first;
        if !is_first {
            // Every coin but the first is added after walletpassphrase, or
            // once the first coin failed (then the first added coin unlocks).
            let first = &self.coins.first;
            self.board
                .wait(|p| p.wallet.is_some() || p.failed_before_adding(first));
        }
        self.addcoin(chain)?;
        self.board.added(&chain.name);
        if self.board.take_wallet_turn() {
            let result = self.walletpassphrase();
            if let Err(why) = &result {
                error!("walletpassphrase: {why}");
            }
            self.board.wallet_done(result);
        }
        imported?;

        if !coin.dpow {
            return Ok("added and verified through iguana".to_owned());
        }
        let Some(pubkey) = self.config.pubkey.as_deref() else {
            return Ok("added and verified; no `pubkey` in the YAML, so not notarised".to_owned());
        };
        self.board.wait(|p| p.wallet.is_some());
        if let Some(Err(why)) = self.board.lock().wallet.clone() {
            return Err(format!("not notarised: walletpassphrase failed: {why}"));
        }
        if let Some(dest) = coin.dest {
            if self.coins.named(dest).is_none() {
                return Err(match dest {
                    "LTC" => "not notarised: KMD notarises into Litecoin, and the YAML has no \
                              LTC (add `LTC: {}` under chains)"
                        .to_owned(),
                    _ => format!("not notarised: the YAML has no {dest}, which it notarises into"),
                });
            }
            self.board.set(
                &chain.name,
                State::Waiting(format!(
                    "added; waiting for {dest}, which it notarises into"
                )),
            );
            self.board
                .wait(|p| p.added.contains(dest) || p.ended.contains(dest));
            if !self.board.lock().added.contains(dest) {
                return Err(format!(
                    "not notarised: {dest}, which it notarises into, was not added to iguana"
                ));
            }
        }
        if let Some(why) = self.board.lock().network.clone() {
            return Err(format!("not notarised: {why}"));
        }
        self.dpow(chain, pubkey)?;
        Ok("added, verified and notarised (dpow)".to_owned())
    }

    /// Waits until the daemon answers; after `chain_wait` the coin is
    /// reported as failed, and the wait goes on (unless `keep_waiting` is
    /// off: then the coin is given up).
    fn wait_for_daemon(&self, chain: &Chain, creds: &Credentials) -> Result<(), String> {
        let (host, port) = (probe::rpc_host(chain), chain.rpc_port());
        let start = Instant::now();
        let report_at = start + self.options.chain_wait;
        let mut reported = false;
        self.board.set(
            &chain.name,
            State::Waiting(format!("waiting for its daemon at {host}:{port} to answer")),
        );
        loop {
            // Retries in slices of at most a minute, one of them ending when
            // the coin is due to be reported.
            let now = Instant::now();
            let slice_end = now + Duration::from_secs(60);
            let deadline = if now < report_at {
                slice_end.min(report_at)
            } else {
                slice_end
            };
            let answer = rpc::retry(deadline, Duration::from_secs(5), |t| {
                probe::ask_alive(chain, host, port, creds, t)
            });
            let e = match answer {
                Ok(_) => {
                    info!(
                        "{} answers at {host}:{port} (after {})",
                        chain.name,
                        rpc::seconds(probe::round(start.elapsed()))
                    );
                    return Ok(());
                }
                Err(e) => e,
            };
            let late = format!(
                "its daemon at {host}:{port} did not answer within {} ({e})",
                rpc::seconds(self.options.chain_wait)
            );
            if Instant::now() < report_at {
                self.board.set(
                    &chain.name,
                    State::Waiting(format!(
                        "its daemon at {host}:{port} does not answer yet ({e})"
                    )),
                );
            } else if !self.options.keep_waiting {
                return Err(late);
            } else if !reported {
                // Reported once, and left so while the wait goes on.
                reported = true;
                let why = format!("{late}; still waiting");
                error!("{}: {why}", chain.name);
                self.board.set(&chain.name, State::Failed(why));
            }
        }
    }

    /// Unlocks what a killed iguana left locked. A failure is a warning: the
    /// coin may still notarise with its other UTXOs.
    fn unlock(&self, chain: &Chain, creds: &Credentials) {
        let (host, port) = (probe::rpc_host(chain), chain.rpc_port());
        let t = self.options.call_timeout;
        let locked = match rpc::json_rpc(host, port, creds, "listlockunspent", "[]", t) {
            Ok(list) => list,
            Err(e) => {
                warn!("{}: listlockunspent: {e}", chain.name);
                return;
            }
        };
        let count = json::items(&locked).map_or(0, |i| i.len());
        if count == 0 {
            return;
        }
        match rpc::json_rpc(
            host,
            port,
            creds,
            "lockunspent",
            &format!("[true,{locked}]"),
            t,
        ) {
            Ok(_) => info!(
                "{}: unlocked {count} output(s) a previous iguana left locked",
                chain.name
            ),
            Err(e) => warn!("{}: lockunspent true ({count} output(s)): {e}", chain.name),
        }
    }

    /// The notary key in the daemon's wallet, unless it is there already.
    fn import_key(&self, chain: &Chain, creds: &Credentials) -> Result<(), String> {
        let Some(key) = self.key else {
            return match self.passphrase {
                None => Ok(()),
                Some(_) => Err("the wallet passphrase gives no valid key".to_owned()),
            };
        };
        let (pubval, wifval) = match &chain.coin {
            Some(coin) => (coin.pubval, coin.wifval),
            None => (
                crate::secrets::keys::KOMODO_PUBVAL,
                crate::secrets::keys::KOMODO_WIFVAL,
            ),
        };
        let address = key.address(pubval);
        let (host, port) = (probe::rpc_host(chain), chain.rpc_port());
        let t = self.options.call_timeout;
        let mut quoted = String::new();
        json::string_literal(&mut quoted, &address);
        if self.is_mine(chain, creds, &quoted)? {
            return Ok(());
        }
        let mut wif = key.wif(wifval);
        let mut params = String::with_capacity(wif.len() + 16);
        params.push_str("[\"");
        params.push_str(&wif);
        params.push_str("\",\"\",false]");
        let result = rpc::json_rpc(host, port, creds, "importprivkey", &params, t);
        params.zeroize();
        wif.zeroize();
        result.map_err(|e| format!("importprivkey of the notary key into its daemon: {e}"))?;
        info!(
            "{}: the notary key {address} is now in its daemon's wallet (no rescan)",
            chain.name
        );
        Ok(())
    }

    /// `validateaddress` says `ismine`; litecoind (0.21) says it only in
    /// `getaddressinfo`, as iguana's `dpow_is015` asks.
    fn is_mine(&self, chain: &Chain, creds: &Credentials, quoted: &str) -> Result<bool, String> {
        let (host, port) = (probe::rpc_host(chain), chain.rpc_port());
        let t = self.options.call_timeout;
        let params = format!("[{quoted}]");
        let asked = rpc::json_rpc(host, port, creds, "validateaddress", &params, t)
            .map_err(|e| format!("validateaddress of the notary address: {e}"))?;
        let mine = match json::member(&asked, "ismine") {
            Some(mine) => mine,
            None => {
                let info = rpc::json_rpc(host, port, creds, "getaddressinfo", &params, t)
                    .map_err(|e| format!("getaddressinfo of the notary address: {e}"))?;
                return Ok(json::member(&info, "ismine") == Some("true"));
            }
        };
        Ok(mine == "true")
    }

    fn addcoin(&self, chain: &Chain) -> Result<(), String> {
        let path = self
            .home
            .join(render::addcoin_dir(self.config))
            .join(format!("{}.json", chain.name));
        let body = std::fs::read(&path).map_err(|e| {
            format!(
                "cannot read {}: {} (it is written by `render iguana`)",
                path.display(),
                crate::describe_io(&e)
            )
        })?;
        let reply = self
            .iguana
            .call(&body)
            .map_err(|e| format!("addcoin: {e}"))?;
        if let Some(problem) = problem(&reply) {
            return Err(format!("addcoin: iguana answered {problem}"));
        }
        self.verify(chain)
    }

    /// Asks the daemon through iguana, at the host and with the credentials
    /// iguana's dPoW will use.
    fn verify(&self, chain: &Chain) -> Result<(), String> {
        let function = probe::alive_call(chain);
        let body = object(&[
            ("agent", "iguana"),
            ("method", "passthru"),
            ("asset", &chain.name),
            ("function", function),
            ("hex", ""),
        ]);
        let deadline = Instant::now() + self.options.verify_wait;
        let verified = rpc::retry(deadline, self.options.call_timeout, |_| {
            let reply = self.iguana.call(&body)?;
            if let Some(problem) = problem(&reply) {
                return Err(format!("iguana cannot reach its daemon: {problem}"));
            }
            match (
                &chain.coin,
                json::member(&reply, "name").and_then(json::string),
            ) {
                (Some(_), _) if json::member(&reply, "chain").is_some() => Ok(()),
                (None, Some(name)) if name == chain.ac_name => Ok(()),
                (None, Some(name)) => Err(format!(
                    "iguana reaches the daemon of {name}, not {}",
                    chain.ac_name
                )),
                _ => Err(format!(
                    "iguana's passthru {function} answered {}",
                    rpc::printable(&reply)
                )),
            }
        });
        verified.map_err(|why| {
            format!("added, but not usable: {why} (the conf, rpchost or rpcallowip?)")
        })
    }

    /// The one call that carries the passphrase: its body is sized so it
    /// never reallocates, and wiped after; iguana's reply is not shown.
    fn walletpassphrase(&self) -> Result<(), String> {
        let Some(passphrase) = self.passphrase else {
            return Err(format!(
                "no wallet passphrase: {} is not set and {} is not mounted, so iguana's wallet \
                 stays locked and cannot sign",
                crate::secrets::passphrase::FILE_VAR,
                crate::secrets::passphrase::DEFAULT_FILE
            ));
        };
        let secret = passphrase.expose();
        // string_literal writes at most 6 bytes (\u00XX) per input byte.
        let mut body = String::with_capacity(secret.len() * 6 + 64);
        body.push_str("{\"method\":\"walletpassphrase\",\"params\":[");
        json::string_literal(&mut body, secret);
        body.push_str(",9999999]}");
        let result = rpc::post(
            "127.0.0.1",
            self.iguana.port,
            None,
            body.as_bytes(),
            self.iguana.timeout,
        );
        body.zeroize();
        let mut response = result.map_err(|e| format!("iguana did not answer: {e}"))?;
        let unlocked = std::str::from_utf8(&response.body)
            .ok()
            .and_then(|text| json::member(text, "result").and_then(json::string))
            .is_some_and(|r| r == "success");
        response.body.zeroize();
        if !unlocked {
            return Err(
                "iguana did not unlock its wallet (its reply is not shown: it may echo \
                        the passphrase); check the passphrase file"
                    .to_owned(),
            );
        }
        info!(
            "walletpassphrase: iguana's wallet is unlocked (passphrase from {})",
            passphrase.path.display()
        );
        Ok(())
    }

    fn dpow(&self, chain: &Chain, pubkey: &str) -> Result<(), String> {
        let reply = self
            .iguana
            .call(&object(&[
                ("agent", "iguana"),
                ("method", "dpow"),
                ("symbol", &chain.name),
                ("pubkey", pubkey),
            ]))
            .map_err(|e| format!("dpow: {e}"))?;
        match problem(&reply) {
            None => Ok(()),
            // A restarted start-up against an iguana that kept running.
            Some(p) if p.contains("same coin again") => Ok(()),
            Some(p) => Err(format!("dpow: iguana answered {p}")),
        }
    }
}

/// What the coins' threads share: each coin's state, and what the order
/// waits on.
struct Board {
    progress: Mutex<Progress>,
    changed: Condvar,
    status: StatusFile,
}

#[derive(Default)]
struct Progress {
    states: BTreeMap<String, State>,
    /// The YAML's order.
    order: Vec<String>,
    /// Added to iguana and verified.
    added: std::collections::BTreeSet<String>,
    /// Coins whose thread has ended (added or not).
    ended: std::collections::BTreeSet<String>,
    /// Whether a thread has taken walletpassphrase on.
    wallet_taken: bool,
    wallet: Option<Result<(), String>>,
    /// Why iguana is off the notary network, if it is.
    network: Option<String>,
}

impl Progress {
    /// The coin failed (or its daemon is late past `chain_wait`) before
    /// iguana added it: the other coins go on without it.
    fn failed_before_adding(&self, name: &str) -> bool {
        matches!(self.states.get(name), Some(State::Failed(_))) && !self.added.contains(name)
    }
}

impl Board {
    fn new(coins: &Coins<'_>, status: StatusFile) -> Board {
        let mut progress = Progress::default();
        for coin in &coins.list {
            let name = coin.chain.name.clone();
            progress.order.push(name.clone());
            progress.states.insert(
                name,
                State::Waiting("the start-up has not reached it".to_owned()),
            );
        }
        let board = Board {
            progress: Mutex::new(progress),
            changed: Condvar::new(),
            status,
        };
        board.publish(&board.lock());
        board
    }

    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, name: &str, state: State) {
        let mut p = self.lock();
        p.states.insert(name.to_owned(), state);
        self.publish(&p);
        drop(p);
        self.changed.notify_all();
    }

    /// A coin's thread has ended, whatever its outcome.
    fn ended(&self, name: &str) {
        self.lock().ended.insert(name.to_owned());
        self.changed.notify_all();
    }

    fn added(&self, name: &str) {
        self.lock().added.insert(name.to_owned());
        self.changed.notify_all();
    }

    /// True for the one thread that sends walletpassphrase: the first whose
    /// coin was added.
    fn take_wallet_turn(&self) -> bool {
        let mut p = self.lock();
        !std::mem::replace(&mut p.wallet_taken, true)
    }

    fn wallet_done(&self, result: Result<(), String>) {
        self.lock().wallet = Some(result);
        self.changed.notify_all();
    }

    fn wait(&self, ready: impl Fn(&Progress) -> bool) {
        let mut p = self.lock();
        while !ready(&p) {
            p = self.changed.wait(p).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn fail_all(&self, why: &str) {
        let mut p = self.lock();
        let names = p.order.clone();
        for name in names {
            p.states.insert(name, State::Failed(why.to_owned()));
        }
        self.publish(&p);
        error!("{why}");
    }

    /// iguana is off the notary network: no coin can be notarised.
    fn off_the_network(&self, why: &str) {
        error!("{why}");
        self.lock().network = Some(why.to_owned());
    }

    fn report(&self) -> Report {
        let p = self.lock();
        p.order
            .iter()
            .map(|name| (name.clone(), p.states[name].clone()))
            .collect()
    }

    fn publish(&self, p: &Progress) {
        let report: Report = p
            .order
            .iter()
            .map(|name| (name.clone(), p.states[name].clone()))
            .collect();
        self.status.write(&report);
    }
}

/// The status file `dokomodo health` reads: one line per coin,
/// `NAME<TAB>waiting|ok|failed<TAB>why`, replaced whole at each change.
struct StatusFile {
    path: PathBuf,
}

impl StatusFile {
    fn new(path: PathBuf) -> StatusFile {
        StatusFile { path }
    }

    fn write(&self, report: &Report) {
        let text = format_status(report);
        let temp = self.path.with_extension("tmp");
        let written = std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, &self.path));
        if let Err(e) = written {
            warn!(
                "cannot write {}: {}",
                self.path.display(),
                crate::describe_io(&e)
            );
        }
    }
}

pub fn format_status(report: &Report) -> String {
    let mut out = String::new();
    for (name, state) in report {
        let (word, why) = match state {
            State::Waiting(why) => ("waiting", why),
            State::Ok(why) => ("ok", why),
            State::Failed(why) => ("failed", why),
        };
        // One line each, whatever a reason holds.
        let why: String = why
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        out.push_str(&format!("{name}\t{word}\t{why}\n"));
    }
    out
}

/// The coins of a status file, as `format_status` wrote them.
pub fn parse_status(text: &str) -> Report {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let (name, word, why) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
            let why = why.to_owned();
            let state = match word {
                "ok" => State::Ok(why),
                "failed" => State::Failed(why),
                _ => State::Waiting(why),
            };
            Some((name.to_owned(), state))
        })
        .collect()
}

/// Where `health` finds the status file.
pub fn status_path(config: &Config, home: &Path) -> PathBuf {
    home.join(render::iguana_workdir(config)).join(STATUS_FILE)
}

struct Iguana {
    port: u16,
    timeout: Duration,
}

impl Iguana {
    fn wait(&self, wait: Duration) -> Result<(), String> {
        rpc::retry(Instant::now() + wait, Duration::from_secs(5), |t| {
            probe::iguana_answers(self.port, t)
        })
        .map_err(|last| {
            format!(
                "iguana did not answer at 127.0.0.1:{} within {} ({last})",
                self.port,
                rpc::seconds(wait)
            )
        })
    }

    /// A call and iguana's reply text; an HTTP error status is an error.
    fn call(&self, body: &[u8]) -> Result<String, String> {
        let response = rpc::post("127.0.0.1", self.port, None, body, self.timeout)
            .map_err(|e: RpcError| format!("iguana did not answer: {e}"))?;
        if response.status >= 400 {
            return Err(format!(
                "iguana answered HTTP {} {}",
                response.status, response.reason
            ));
        }
        Ok(response.text())
    }
}

/// The `error` member of an iguana reply, when it is not null.
fn problem(text: &str) -> Option<String> {
    let error = json::member(text, "error").filter(|e| *e != "null")?;
    Some(rpc::printable(
        &json::string(error).unwrap_or_else(|| error.to_owned()),
    ))
}

/// A flat JSON object of string members, in order.
fn object(members: &[(&str, &str)]) -> Vec<u8> {
    let mut out = json::Object::with_capacity(128);
    for (key, value) in members {
        out.string(key, value);
    }
    out.finish().into_bytes()
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

    fn config(yaml: &str) -> Config {
        crate::config::parse(Path::new("notary.yaml"), yaml).unwrap()
    }

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
        assert_eq!(problem(r#"{"result":"success","tag":"1"}"#), None);
        assert_eq!(problem(r#"{"result":"x","error":null}"#), None);
        assert_eq!(problem("not json"), None);
        assert_eq!(
            problem(r#"{"error":"cant dPoW KMD without LTC"}"#).as_deref(),
            Some("cant dPoW KMD without LTC")
        );
    }

    #[test]
    fn the_notary_iguana_notarises_all_but_ltc_kmd_into_ltc() {
        let c = config(
            "chains:\n  BEER: {ac_supply: 100000000, host: 127.0.0.1}\n  KMD: {host: 127.0.0.1}\n  LTC: {host: 127.0.0.1}\n",
        );
        let coins = Coins::plan(&c, Role::Notary);
        assert_eq!(coins.first, "KMD", "KMD first, wherever the YAML lists it");
        let plan: Vec<_> = coins
            .list
            .iter()
            .map(|c| (c.chain.name.as_str(), c.dpow, c.dest))
            .collect();
        assert_eq!(
            plan,
            [
                ("BEER", true, Some("KMD")),
                ("KMD", true, Some("LTC")),
                ("LTC", false, None)
            ]
        );
        let third = Coins::plan(&c, Role::ThirdParty);
        let dpow: Vec<_> = third
            .list
            .iter()
            .filter(|c| c.dpow)
            .map(|c| c.chain.name.as_str())
            .collect();
        assert_eq!(
            dpow,
            ["BEER"],
            "the 3rd-party iguana notarises only its own coins"
        );
    }

    #[test]
    fn the_address_comes_from_the_yaml_or_the_environment_never_a_private_discovery() {
        let c = config("iguana: {myipaddr: 203.0.113.9}\nchains:\n  KMD: {host: 127.0.0.1}\n");
        assert_eq!(
            my_ip(&c, &|_| None).unwrap().0,
            Ipv4Addr::new(203, 0, 113, 9)
        );
        let c = config("chains:\n  KMD: {host: 127.0.0.1}\n");
        let env = |k: &str| (k == MYIPADDR_VAR).then(|| OsString::from("198.51.100.4"));
        assert_eq!(my_ip(&c, &env).unwrap().0, Ipv4Addr::new(198, 51, 100, 4));
        let bad = |k: &str| (k == MYIPADDR_VAR).then(|| OsString::from("my.host"));
        assert_eq!(
            my_ip(&c, &bad).unwrap_err(),
            PrepareError::BadAddress {
                value: "my.host".into()
            }
        );
    }

    #[test]
    fn the_status_file_round_trips_one_line_per_coin() {
        let report = vec![
            ("KMD".to_owned(), State::Ok("added".to_owned())),
            ("LTC".to_owned(), State::Failed("no\nanswer".to_owned())),
            ("BEER".to_owned(), State::Waiting("daemon".to_owned())),
        ];
        let text = format_status(&report);
        assert_eq!(text.lines().count(), 3);
        let back = parse_status(&text);
        assert_eq!(back[1].1, State::Failed("no answer".to_owned()));
        assert_eq!(back[0], report[0]);
        assert_eq!(back[2], report[2]);
    }
}
