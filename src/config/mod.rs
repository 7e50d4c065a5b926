//! The shared YAML, the operator's single source of truth: its model and its
//! validation. Every error names the file, the line and column, and the field.

pub mod acparams;
pub mod elected;
pub mod flags;
pub mod import;
pub mod ports;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use acparams::Kind;
use ports::Ports;
use yaml::{Key, Node, Pos, Value};

/// Where the YAML is read from when neither `--config` nor `DOKOMODO_CONFIG` is given.
pub const DEFAULT_PATH: &str = "/etc/dokomodo/notary.yaml";

/// A 60-chain YAML is about 10 KiB; anything this large is a mistake.
pub const MAX_SIZE: u64 = 4 << 20;

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from, as given.
    pub path: PathBuf,
    /// The notary pubkey, passed as `-pubkey=` to every komodod.
    pub pubkey: Option<String>,
    /// Who may call a daemon's RPC from outside its container.
    pub rpc_allow: Vec<String>,
    /// The user the daemons run as when dokomodo starts as root.
    pub user: Option<String>,
    pub iguana: Iguana,
    /// `utxos:`: how many notarisation UTXOs each coin should keep (`utxos`, `monitor`).
    pub utxos: Utxos,
    /// In the order the YAML lists them.
    pub chains: Vec<Chain>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iguana {
    /// iguana's first argument: `notary` (the elected file) or `3rd_party`.
    pub elected: String,
    /// iguana's working directory (DB/, tmp/, confs/); relative to HOME unless absolute.
    pub workdir: String,
    /// Whether `run iguana` drives iguana's start-up calls (myipaddr,
    /// addnotary, addcoin, walletpassphrase, dpow) once it answers.
    pub startup: bool,
    /// The public IPv4 address iguana announces; discovered when absent.
    pub myipaddr: Option<std::net::Ipv4Addr>,
    /// Other notaries' IPv4 addresses, given to iguana's `addnotary`.
    pub notaries: Vec<std::net::Ipv4Addr>,
    /// The dPoW port of this season's elected file (`port`), for the files
    /// that publish it (compose, Kubernetes); `run iguana` checks it against
    /// the elected file iguana reads.
    pub dpow_port: Option<u16>,
    /// `elected_file`: the season's elected file, read with the YAML and
    /// rendered into iguana's working directory as the file it reads.
    pub elected_file: Option<ElectedFile>,
}

/// `utxos:` of the YAML: a coin with fewer than `min` notarisation-size
/// UTXOs is low; the monitor then asks iguana to split `split` more
/// (0: never split). Defaults are iguana's own for an assetchain
/// (`dpow_checkutxo`, iguana/dpow/dpow_fsm.c: split 50 when 49 or fewer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utxos {
    pub min: u32,
    pub split: u32,
}

impl Default for Utxos {
    fn default() -> Self {
        Utxos { min: 50, split: 50 }
    }
}

/// An elected file named by the YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectedFile {
    /// As the YAML gives it (relative to the YAML's directory, or absolute).
    pub path: String,
    /// Where it was written in the YAML, for an error about its content.
    pub pos: Pos,
    /// Its text and what iguana reads of it, once `load` has read it.
    pub loaded: Option<(String, elected::Elected)>,
}

impl Iguana {
    /// The name of the elected file iguana reads from its working directory:
    /// `elected` for `iguana notary`, the argument itself otherwise
    /// (`3rd_party`), as iguana's `komodo_initjson` does.
    pub fn elected_file_name(&self) -> &str {
        if self.elected == "notary" {
            "elected"
        } else {
            &self.elected
        }
    }

    /// The dPoW port: the YAML's, else the elected file's when it names one.
    pub fn dpow_port(&self) -> Option<u16> {
        self.dpow_port.or_else(|| {
            self.elected_file
                .as_ref()
                .and_then(|f| f.loaded.as_ref())
                .map(|(_, e)| e.port)
        })
    }
}

impl Default for Iguana {
    fn default() -> Self {
        Iguana {
            elected: "notary".to_owned(),
            workdir: "iguana".to_owned(),
            startup: true,
            myipaddr: None,
            notaries: Vec::new(),
            dpow_port: None,
            elected_file: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The key under `chains:`.
    pub name: String,
    /// komodod's `-ac_name`; `KMD` for Komodo itself; the chain's name for a coin.
    pub ac_name: String,
    /// The data directory: under `~/.komodo` for an assetchain; `None` for
    /// KMD, whose data is `~/.komodo` itself; a coin's own directory under
    /// HOME (`.litecoin`).
    pub datadir: Option<String>,
    /// Every `-ac_*` parameter but `ac_name`, as written after `-ac_x=`.
    pub params: BTreeMap<String, String>,
    /// Seed nodes: the chain's own, then the top-level ones, without repeats.
    pub addnode: Vec<String>,
    /// Where other containers reach this chain's RPC.
    pub host: String,
    /// As komodod derives them from the command line (a coin's: as given).
    pub derived: Ports,
    /// `p2p_port_override`: passed as `-port=`.
    pub p2p_override: Option<u16>,
    /// `rpc_port_override`: written as `rpcport=`.
    pub rpc_override: Option<u16>,
    /// `args`: further daemon flags that are not part of the chain's identity
    /// (`-earlytxid=...`, `-addressindex=1`), after the ones dokomodo manages.
    pub args: Vec<String>,
    /// The daemon's binary: `daemon`, else `komodod` (a coin's own default).
    pub daemon: String,
    /// Set for a coin that is not komodod (LTC).
    pub coin: Option<Coin>,
}

/// A bitcoind-style coin that is not komodod (Litecoin): its daemon reads a
/// conf of its own, takes no `-ac_*` identity, and its ports and address
/// prefixes are facts of the coin, not derived. The YAML's `coin:` mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coin {
    /// The conf file's name in the data directory (`litecoin.conf`).
    pub conf: String,
    /// iguana's `netmagic`: 8 hex digits.
    pub netmagic: String,
    /// Address prefixes: iguana's `pubval`, `p2shval`, `wifval`.
    pub pubval: u8,
    pub p2shval: u8,
    pub wifval: u8,
    /// Further fields of iguana's addcoin JSON, in order, each value as JSON.
    pub addcoin: Vec<(String, String)>,
}

/// The coins dokomodo knows by name, as dPoW's start-up scripts add them.
pub mod coins {
    /// Litecoin, which KMD notarises into: upstream's `iguana/coins/ltc_7776`.
    pub const LTC: Builtin = Builtin {
        name: "LTC",
        daemon: "litecoind",
        dir: ".litecoin",
        conf: "litecoin.conf",
        p2p: 9333,
        rpc: 9332,
        netmagic: "deadbeef",
        pubval: 48,
        p2shval: 5,
        wifval: 176,
        addcoin: &[
            ("RELAY", "-1"),
            ("VALIDATE", "0"),
            ("active", "1"),
            ("agent", "\"iguana\""),
            ("endpend", "64"),
            ("maxpeers", "512"),
            ("method", "\"addcoin\""),
            ("minconfirms", "1"),
            ("name", "\"litecoin\""),
            ("poll", "1"),
            ("portp2p", "10111"),
            ("prefetchlag", "-1"),
            ("services", "0"),
            ("startpend", "64"),
        ],
    };

    /// A coin's facts, built in.
    pub struct Builtin {
        pub name: &'static str,
        pub daemon: &'static str,
        pub dir: &'static str,
        pub conf: &'static str,
        pub p2p: u16,
        pub rpc: u16,
        pub netmagic: &'static str,
        pub pubval: u8,
        pub p2shval: u8,
        pub wifval: u8,
        pub addcoin: &'static [(&'static str, &'static str)],
    }

    pub const ALL: &[&Builtin] = &[&LTC];

    pub fn builtin(name: &str) -> Option<&'static Builtin> {
        ALL.iter().copied().find(|c| c.name == name)
    }
}

impl Chain {
    pub fn is_kmd(&self) -> bool {
        self.datadir.is_none()
    }
    /// Litecoin, into which KMD notarises.
    pub fn is_ltc(&self) -> bool {
        self.coin.is_some() && self.name == coins::LTC.name
    }
    /// An assetchain (or a komodod fork's chain): komodod with `-ac_name`.
    pub fn is_assetchain(&self) -> bool {
        self.datadir.is_some() && self.coin.is_none()
    }
    pub fn p2p_port(&self) -> u16 {
        self.p2p_override.unwrap_or(self.derived.p2p)
    }
    pub fn rpc_port(&self) -> u16 {
        self.rpc_override.unwrap_or(self.derived.rpc)
    }
    /// The data directory, relative to HOME.
    pub fn data_dir(&self) -> PathBuf {
        match (&self.datadir, &self.coin) {
            (None, _) => PathBuf::from(".komodo"),
            (Some(dir), Some(_)) => PathBuf::from(dir),
            (Some(dir), None) => Path::new(".komodo").join(dir),
        }
    }
    /// The conf file the daemon reads, relative to HOME.
    pub fn conf_path(&self) -> PathBuf {
        match (&self.datadir, &self.coin) {
            (None, _) => PathBuf::from(".komodo/komodo.conf"),
            (Some(_), Some(coin)) => self.data_dir().join(&coin.conf),
            (Some(_), None) => self.data_dir().join(format!("{}.conf", self.ac_name)),
        }
    }
    /// Whether komodod finds this data directory without `-datadir`.
    pub fn needs_datadir_flag(&self) -> bool {
        self.coin.is_none() && self.datadir.as_deref().is_some_and(|d| d != self.ac_name)
    }
    /// Whether other containers call this chain's RPC (so it must listen beyond loopback).
    pub fn is_remote(&self) -> bool {
        !is_loopback(&self.host)
    }
    /// `host:rpcport` as iguana's `rpchost` and libcurl take it: an IPv6
    /// address in brackets.
    pub fn rpchost(&self) -> String {
        rpchost(&self.host, self.rpc_port())
    }
}

/// `host:port`, with an IPv6 address in brackets (libcurl reads the last
/// `:` of an unbracketed one as the port's).
pub fn rpchost(host: &str, port: u16) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// iguana copies `rpchost` into `char serverport[128]` without a bound: 128
/// bytes or more run into the credentials that follow (seen in its log).
pub const MAX_RPCHOST: usize = 127;

/// What `check` warns about without refusing: a chain whose `host` may be
/// outside a private network. iguana's `walletpassphrase` sends the notary's
/// key to a daemon over plain HTTP at that host.
pub fn warnings(config: &Config) -> Vec<String> {
    config
        .chains
        .iter()
        .filter(|c| !is_private_host(&c.host))
        .map(|c| {
            format!(
                "chains.{}.host `{}` is not a private or loopback address: iguana calls it over \
                 plain HTTP with the chain's credentials, and walletpassphrase sends the \
                 notary's key to a daemon that way; keep iguana and its daemons on an internal \
                 network",
                c.name, c.host
            )
        })
        .collect()
}

/// A loopback or private address, or a single-label name (a compose service
/// or Kubernetes Service name, resolved on the node's own network). A dotted
/// name can be anywhere.
fn is_private_host(host: &str) -> bool {
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.is_unique_local() || ip.is_unicast_link_local()
        }
        Err(_) => !host.contains('.'),
    }
}

impl Config {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
    pub fn chain_names(&self) -> Vec<&str> {
        self.chains.iter().map(|c| c.name.as_str()).collect()
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// A configuration error: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// Where in the file, when the error is about its content.
    pub pos: Option<Pos>,
    /// The dotted path of the field, `chains.PIZZA.ac_supply`.
    pub field: Option<String>,
    pub message: String,
    /// The offending line of the file, to show under the message.
    pub source_line: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(pos) = self.pos.filter(|p| p.line > 0) {
            write!(f, ":{}:{}", pos.line, pos.column)?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn file(file: &Path, message: String) -> ConfigError {
        ConfigError {
            file: file.to_owned(),
            pos: None,
            field: None,
            message,
            source_line: None,
        }
    }

    /// The offending line with a caret under the column, as a compiler shows it.
    pub fn snippet(&self) -> Option<String> {
        let line = self.source_line.as_ref()?;
        let pos = self.pos?;
        let number = pos.line.to_string();
        let pad = " ".repeat(number.len());
        // The caret goes under the column in characters; tabs are kept so the
        // caret lines up in a terminal.
        let lead: String = line
            .chars()
            .take(pos.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        Some(format!("{pad} |\n{number} | {line}\n{pad} | {lead}^"))
    }
}

/// How much a command needs of the YAML.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checks {
    /// Everything, also that the chains can be deployed as written (a chain
    /// iguana reaches over the network needs `rpc.allow`): `check`, `render`,
    /// `run` and the rest.
    Deploy,
    /// The model without the deployment checks: read-only queries (`ports`,
    /// `creds`) answer from a YAML that is not yet complete.
    Query,
}

/// Reads and validates the YAML at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_for(path, Checks::Deploy)
}

/// Reads the YAML at `path`, validated as far as `checks` asks.
pub fn load_for(path: &Path, checks: Checks) -> Result<Config, ConfigError> {
    let text = read_text(path)?;
    parse_for(path, &text, checks).map_err(|err| hide_unless_notary_yaml(path, &text, err))
}

/// A file with content but no top-level `key:` line is not a notary YAML, and
/// may be a secret under the config's name (two mounts swapped, a seed of
/// words or hex is a valid YAML string): its error shows nothing of it, not
/// a line, not a quoted value. A notary YAML always has such a line
/// (`chains:`); an empty file's error quotes nothing.
fn hide_unless_notary_yaml(path: &Path, text: &str, err: ConfigError) -> ConfigError {
    if text.trim().is_empty() || text.lines().any(is_top_level_key) {
        return err;
    }
    ConfigError::file(
        path,
        "is not a notary YAML: no line starts with a top-level key such as `chains:`; \
         nothing of it is shown, in case it is a secret (are the config and a secret \
         mounted the other way round?)"
            .to_owned(),
    )
}

/// `chains:`, `rpc: {allow: ...}`: a plain key at column 1, then `:` and a
/// space or the end of the line.
fn is_top_level_key(line: &str) -> bool {
    let Some((key, rest)) = line.split_once(':') else {
        return false;
    };
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && (rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// A secret's file is never read as a YAML or an elected file: its error
/// would show its lines.
fn refuse_secret_file(path: &Path) -> Result<(), ConfigError> {
    match crate::redact::secret_file(path) {
        Some(what) => Err(ConfigError::file(
            path,
            format!(
                "is {what}, not a YAML file; nothing of it is read or shown \
                 (does --config, DOKOMODO_CONFIG or a mount point at the wrong file?)"
            ),
        )),
        None => Ok(()),
    }
}

/// Reads the elected file `iguana.elected_file` names (relative to the
/// YAML's directory), checks it as iguana would, and holds it against
/// `iguana.dpow_port`. Only what needs it reads it (`check`, the iguana role,
/// `compose`): a daemon's container has no reason to mount it. Errors point
/// at the YAML's `elected_file`.
pub fn load_elected(config: &mut Config) -> Result<(), ConfigError> {
    let yaml_path = config.path.clone();
    let Some(file) = config.iguana.elected_file.as_mut() else {
        return Ok(());
    };
    let full = yaml_path
        .parent()
        .unwrap_or(Path::new("."))
        .join(&file.path);
    let fail = |why: String| {
        // The YAML again, only to show its line under the error.
        let text = std::fs::read_to_string(&yaml_path).unwrap_or_default();
        let cx = Cx {
            file: &yaml_path,
            text: &text,
        };
        cx.err(
            file.pos,
            Some("iguana.elected_file"),
            format!("{}: {why}", full.display()),
        )
    };
    if let Some(what) = crate::redact::secret_file(&full) {
        return Err(fail(format!(
            "is {what}, not an elected file; nothing of it is read or shown"
        )));
    }
    let contents = std::fs::read_to_string(&full).map_err(|e| fail(crate::describe_io(&e)))?;
    let elected = elected::parse(&contents).map_err(&fail)?;
    if let Some(port) = config.iguana.dpow_port.filter(|p| *p != elected.port) {
        return Err(fail(format!(
            "its port is {}, but iguana.dpow_port is {port}: iguana binds the file's port, so \
             correct or remove iguana.dpow_port",
            elected.port
        )));
    }
    file.loaded = Some((contents, elected));
    Ok(())
}

fn read_text(path: &Path) -> Result<String, ConfigError> {
    refuse_secret_file(path)?;
    let io_err = |e: std::io::Error| {
        ConfigError::file(
            path,
            format!("cannot read the config: {}", crate::describe_io(&e)),
        )
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if meta.is_dir() {
        return Err(ConfigError::file(
            path,
            "is a directory, not a YAML file".to_owned(),
        ));
    }
    if !meta.is_file() {
        return Err(ConfigError::file(path, "is not a regular file".to_owned()));
    }
    let file = std::fs::File::open(path).map_err(io_err)?;
    // Sized from the metadata, so reading a YAML touches its size in pages
    // once instead of growing (and copying) a buffer in steps.
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_SIZE) as usize + 1);
    file.take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(ConfigError::file(
            path,
            format!(
                "is larger than {} MiB; this is not a notary YAML",
                MAX_SIZE >> 20
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let column = before.iter().rev().take_while(|&&b| b != b'\n').count() as u64 + 1;
        ConfigError {
            file: path.to_owned(),
            pos: Some(Pos { line, column }),
            field: None,
            message: "the file is not UTF-8 text".to_owned(),
            source_line: None,
        }
    })
}

/// Validates YAML text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    parse_for(path, text, Checks::Deploy)
}

/// `parse`, validated as far as `checks` asks.
pub fn parse_for(path: &Path, text: &str, checks: Checks) -> Result<Config, ConfigError> {
    let cx = Cx { file: path, text };
    let root = yaml::parse(text).map_err(|e| cx.err(e.pos, None, e.message))?;
    Validator { cx, checks }.config(&root)
}

/// What an error needs to point at the YAML.
struct Cx<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Cx<'_> {
    fn err(&self, pos: Pos, field: Option<&str>, message: String) -> ConfigError {
        let source_line = (pos.line > 0)
            .then(|| self.text.lines().nth(pos.line as usize - 1))
            .flatten()
            .map(str::to_owned);
        // Keys and parser messages can carry a user's newlines or terminal
        // escapes (`"a\nb": 1`); an error stays one printable line.
        ConfigError {
            file: self.file.to_owned(),
            pos: Some(pos),
            field: field.map(crate::redact::escape_controls),
            message: crate::redact::escape_controls(&message),
            source_line,
        }
    }
}

type Result<T, E = ConfigError> = std::result::Result<T, E>;

const TOP_KEYS: &[&str] = &[
    "pubkey", "addnode", "rpc", "user", "iguana", "utxos", "chains",
];
const UTXOS_KEYS: &[&str] = &["min", "split"];
const RPC_KEYS: &[&str] = &["allow"];
const IGUANA_KEYS: &[&str] = &[
    "elected",
    "workdir",
    "startup",
    "myipaddr",
    "notaries",
    "dpow_port",
    "elected_file",
];
/// The keys of a chain besides its `-ac_*` parameters (`acparams::PARAMS`).
pub const CHAIN_KEYS: &[&str] = &[
    "ac_name",
    "datadir",
    "addnode",
    "host",
    "p2p_port",
    "rpc_port",
    "p2p_port_override",
    "rpc_port_override",
    "args",
    "daemon",
    "coin",
];
/// The keys of a chain's `coin:` mapping.
const COIN_KEYS: &[&str] = &[
    "dir", "conf", "p2p_port", "rpc_port", "netmagic", "pubval", "p2shval", "wifval", "addcoin",
];

struct Validator<'a> {
    cx: Cx<'a>,
    checks: Checks,
}

impl Validator<'_> {
    fn err(&self, pos: Pos, field: Field<'_>, message: impl Into<String>) -> ConfigError {
        self.cx.err(pos, Some(&field.to_string()), message.into())
    }

    fn config(&self, root: &Node) -> Result<Config> {
        let entries = match &root.value {
            Value::Map(entries) => entries,
            Value::Null => {
                return Err(self.cx.err(
                    Pos { line: 1, column: 1 },
                    None,
                    "the file is empty; expected a mapping with a `chains:` key".to_owned(),
                ));
            }
            other => {
                return Err(self.cx.err(
                    root.pos,
                    None,
                    format!(
                        "expected a mapping with a `chains:` key, found {}",
                        other.kind()
                    ),
                ));
            }
        };
        let mut pubkey = None;
        let mut addnode = Vec::new();
        let mut rpc_allow = Vec::new();
        let mut user = None;
        let mut iguana = Iguana::default();
        let mut utxos = Utxos::default();
        let mut chains_node = None;
        for (key, node) in entries {
            match key.name.as_str() {
                "pubkey" => pubkey = Some(self.pubkey(node)?),
                "addnode" => addnode = self.seeds(node, &"addnode")?,
                "rpc" => rpc_allow = self.rpc(node)?,
                "user" => user = Some(self.user(node)?),
                "iguana" => iguana = self.iguana(node)?,
                "utxos" => utxos = self.utxos(node)?,
                "chains" => chains_node = Some((key, node)),
                // Extension keys hold anchors for `<<` merges, as in compose files.
                name if name.starts_with("x-") => {}
                _ => return Err(self.unknown_key(key, "", TOP_KEYS)),
            }
        }
        let Some((chains_key, chains_node)) = chains_node else {
            return Err(self.cx.err(
                Pos { line: 1, column: 1 },
                None,
                "no `chains:` key; the YAML must list at least one chain".to_owned(),
            ));
        };
        let chains = self.chains(chains_key, chains_node, &addnode)?;
        let config = Config {
            path: self.cx.file.to_owned(),
            pubkey,
            rpc_allow,
            user,
            iguana,
            utxos,
            chains,
        };
        self.cross_checks(&config, chains_node)?;
        self.notary_flags(&config, chains_node)?;
        self.case_clashes(&config, chains_node)?;
        Ok(config)
    }

    fn unknown_key(&self, key: &Key, parent: &str, known: &[&str]) -> ConfigError {
        let field = join(parent, &key.name);
        let mut message = format!("unknown key `{}`", key.name);
        if let Some(near) = suggest(&key.name, known) {
            message.push_str(&format!(" (did you mean `{near}`?)"));
        }
        self.err(key.pos, &field, message)
    }

    fn map<'n>(&self, node: &'n Node, field: Field<'_>) -> Result<&'n [(Key, Node)]> {
        match &node.value {
            Value::Map(entries) => Ok(entries),
            Value::Null => Ok(&[]),
            other => Err(self.err(
                node.pos,
                field,
                format!("expected a mapping, found {}", other.kind()),
            )),
        }
    }

    fn string<'n>(&self, node: &'n Node, field: Field<'_>, what: &str) -> Result<&'n str> {
        match &node.value {
            Value::Str(s) => Ok(s),
            other => Err(self.err(
                node.pos,
                field,
                format!("expected {what}, found {}", other.kind()),
            )),
        }
    }

    fn list<'n>(&self, node: &'n Node, field: Field<'_>, what: &str) -> Result<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Ok(items),
            other => Err(self.err(
                node.pos,
                field,
                format!("expected a list of {what}, found {}", other.kind()),
            )),
        }
    }

    fn pubkey(&self, node: &Node) -> Result<String> {
        let what = "a notary pubkey (66 hex characters starting with 02 or 03)";
        let s = self.string(node, &"pubkey", what)?;
        let param = acparams::lookup("ac_pubkey");
        match param.map(|p| acparams::check(p, s)) {
            Some(Ok(())) if s.len() == 66 => Ok(s.to_owned()),
            _ => Err(self.err(node.pos, &"pubkey", format!("expected {what}"))),
        }
    }

    fn user(&self, node: &Node) -> Result<String> {
        let what = "a user name, uid, or uid:gid";
        let s = match &node.value {
            Value::Int(i) => i.to_string(),
            _ => self.string(node, &"user", what)?.to_owned(),
        };
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(self.err(node.pos, &"user", format!("expected {what}")));
        }
        Ok(s)
    }

    fn seeds(&self, node: &Node, field: Field<'_>) -> Result<Vec<String>> {
        let what = "seed nodes (IP addresses or host names, optionally with :port)";
        let mut seeds = Vec::new();
        for (i, item) in self.list(node, field, what)?.iter().enumerate() {
            let item_field = Indexed(field, i);
            let s = self.string(item, &item_field, "an IP address or host name")?;
            if !is_seed(s) {
                return Err(self.err(
                    item.pos,
                    &item_field,
                    format!(
                        "`{}` is not an IP address or host name (with an optional :port)",
                        printable(s)
                    ),
                ));
            }
            seeds.push(s.to_owned());
        }
        Ok(seeds)
    }

    fn rpc(&self, node: &Node) -> Result<Vec<String>> {
        let mut allow = Vec::new();
        for (key, value) in self.map(node, &"rpc")? {
            match key.name.as_str() {
                "allow" => {
                    let what = "addresses or networks (172.20.0.0/16)";
                    for (i, item) in self.list(value, &"rpc.allow", what)?.iter().enumerate() {
                        let field = format!("rpc.allow[{i}]");
                        let s = self.string(item, &field, "an address or network")?;
                        if !is_allow(s) {
                            return Err(self.err(
                                item.pos,
                                &field,
                                format!(
                                    "`{}` is not an IP address or network (like 172.20.0.0/16)",
                                    printable(s)
                                ),
                            ));
                        }
                        allow.push(s.to_owned());
                    }
                }
                _ => return Err(self.unknown_key(key, "rpc", RPC_KEYS)),
            }
        }
        Ok(allow)
    }

    fn utxos(&self, node: &Node) -> Result<Utxos> {
        let mut utxos = Utxos::default();
        for (key, value) in self.map(node, &"utxos")? {
            let (field, slot, low) = match key.name.as_str() {
                "min" => ("utxos.min", &mut utxos.min, 1),
                "split" => ("utxos.split", &mut utxos.split, 0),
                _ => return Err(self.unknown_key(key, "utxos", UTXOS_KEYS)),
            };
            // iguana's own splits go up to 256 outputs (KMD); 1000 is far above any use.
            match &value.value {
                Value::Int(i) if (low..=1000).contains(i) => *slot = *i as u32,
                other => {
                    return Err(self.err(
                        value.pos,
                        &field,
                        format!(
                            "expected a count from {low} to 1000, found {}",
                            kind_or_value(other)
                        ),
                    ));
                }
            }
        }
        Ok(utxos)
    }

    fn iguana(&self, node: &Node) -> Result<Iguana> {
        let mut iguana = Iguana::default();
        for (key, value) in self.map(node, &"iguana")? {
            match key.name.as_str() {
                "elected" => {
                    let what = "iguana's elected-file name (`notary`, `3rd_party`)";
                    let s = self.string(value, &"iguana.elected", what)?;
                    if !is_name(s) {
                        return Err(self.err(
                            value.pos,
                            &"iguana.elected",
                            format!("expected {what}"),
                        ));
                    }
                    iguana.elected = s.to_owned();
                }
                "workdir" => iguana.workdir = self.workdir(value)?,
                "startup" => match &value.value {
                    Value::Bool(b) => iguana.startup = *b,
                    other => {
                        return Err(self.err(
                            value.pos,
                            &"iguana.startup",
                            format!("expected true or false, found {}", other.kind()),
                        ));
                    }
                },
                "myipaddr" => iguana.myipaddr = Some(self.ipv4(value, &"iguana.myipaddr")?),
                "dpow_port" => iguana.dpow_port = Some(self.port(value, &"iguana.dpow_port")?),
                "elected_file" => {
                    let what = "the path of this season's elected file";
                    let s = self.string(value, &"iguana.elected_file", what)?;
                    if s.chars().any(char::is_control) || s.is_empty() {
                        return Err(self.err(
                            value.pos,
                            &"iguana.elected_file",
                            format!("expected {what}"),
                        ));
                    }
                    iguana.elected_file = Some(ElectedFile {
                        path: s.to_owned(),
                        pos: value.pos,
                        loaded: None,
                    });
                }
                "notaries" => {
                    let items = self.list(
                        value,
                        &"iguana.notaries",
                        "the other notaries' IPv4 addresses",
                    )?;
                    for (i, item) in items.iter().enumerate() {
                        let ip = self.ipv4(item, &format!("iguana.notaries[{i}]"))?;
                        // Operators' lists repeat peers across seasons; one addnotary each is enough.
                        if !iguana.notaries.contains(&ip) {
                            iguana.notaries.push(ip);
                        }
                    }
                }
                _ => return Err(self.unknown_key(key, "iguana", IGUANA_KEYS)),
            }
        }
        Ok(iguana)
    }

    /// iguana's working directory, written as the files are: `./a//b/` is
    /// `a/b`. Not HOME itself and not `/`: iguana fills it with DB/, tmp/ and
    /// confs/.
    fn workdir(&self, node: &Node) -> Result<String> {
        let field = &"iguana.workdir";
        let what = "a directory (relative to HOME, or absolute)";
        let s = self.string(node, field, what)?;
        if !is_safe_path(s) {
            return Err(self.err(
                node.pos,
                field,
                format!("expected {what} without `..`, whitespace or control characters"),
            ));
        }
        let parts: Vec<&str> = s
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.is_empty() {
            let names = if s.starts_with('/') {
                "the root directory"
            } else {
                "HOME itself"
            };
            return Err(self.err(
                node.pos,
                field,
                format!(
                    "`{}` names {names}; give iguana a directory of its own for DB/, tmp/ \
                     and confs/ (e.g. `iguana`)",
                    printable(s)
                ),
            ));
        }
        let lead = if s.starts_with('/') { "/" } else { "" };
        Ok(format!("{lead}{}", parts.join("/")))
    }

    /// iguana keeps peer and own addresses as 32-bit IPv4 numbers.
    fn ipv4(&self, node: &Node, field: Field<'_>) -> Result<std::net::Ipv4Addr> {
        let what = "an IPv4 address (iguana takes no host names and no IPv6)";
        let s = self.string(node, field, what)?;
        s.parse()
            .map_err(|_| self.err(node.pos, field, format!("`{}` is not {what}", printable(s))))
    }

    fn chains(&self, key: &Key, node: &Node, default_seeds: &[String]) -> Result<Vec<Chain>> {
        let entries = match &node.value {
            Value::Map(entries) if !entries.is_empty() => entries,
            Value::Map(_) | Value::Null => {
                return Err(self.err(
                    key.pos,
                    &"chains",
                    "lists no chain; name at least one (KMD: {})",
                ));
            }
            other => {
                return Err(self.err(
                    node.pos,
                    &"chains",
                    format!("expected a mapping of chain names, found {}", other.kind()),
                ));
            }
        };
        entries
            .iter()
            .map(|(key, node)| self.chain(key, node, default_seeds))
            .collect()
    }

    fn chain(&self, key: &Key, node: &Node, default_seeds: &[String]) -> Result<Chain> {
        let name = key.name.as_str();
        let field = Dotted(&"chains", name);
        if !is_name(name) {
            return Err(self.err(
                key.pos,
                &"chains",
                format!(
                    "`{}` is not a valid chain name: {NAME_RULE}",
                    printable(name)
                ),
            ));
        }
        let entries = match &node.value {
            Value::Map(entries) => entries.as_slice(),
            Value::Null => &[],
            other => {
                return Err(self.err(
                    node.pos,
                    &field,
                    format!("expected the chain's parameters as a mapping (`{name}: {{}}` for none), found {}", other.kind()),
                ));
            }
        };
        let mut ac_name = name.to_owned();
        let mut datadir: Option<(String, Pos)> = None;
        let mut own_seeds = Vec::new();
        let mut host = None;
        let mut params = BTreeMap::new();
        let mut claimed: Vec<(&str, &Node)> = Vec::new();
        let mut overrides: [Option<u16>; 2] = [None, None];
        let mut extra_args = Vec::new();
        let mut daemon = None;
        let mut coin_node = None;
        let mut ac_name_pos = None;
        for (k, v) in entries {
            let f = Dotted(&field, &k.name);
            match k.name.as_str() {
                "ac_name" => {
                    let s = self.string(v, &f, "a chain name")?;
                    if !is_name(s) {
                        return Err(self.err(
                            v.pos,
                            &f,
                            format!("`{}` is not a valid -ac_name: {NAME_RULE}", printable(s)),
                        ));
                    }
                    ac_name = s.to_owned();
                    ac_name_pos = Some(k.pos);
                }
                "datadir" => {
                    let s = self.string(v, &f, "a directory name under ~/.komodo")?;
                    if !is_name(s) {
                        return Err(self.err(
                            v.pos,
                            &f,
                            format!(
                                "`{}` is not a directory name under ~/.komodo: {NAME_RULE}",
                                printable(s)
                            ),
                        ));
                    }
                    datadir = Some((s.to_owned(), v.pos));
                }
                "addnode" => own_seeds = self.seeds(v, &f)?,
                "host" => {
                    let s = self.string(v, &f, "a host name or IP address")?;
                    if !is_host(s) {
                        return Err(self.err(
                            v.pos,
                            &f,
                            format!("`{}` is not a host name or IP address", printable(s)),
                        ));
                    }
                    host = Some((s.to_owned(), v.pos));
                }
                "p2p_port" | "rpc_port" => claimed.push((k.name.as_str(), v)),
                "p2p_port_override" => overrides[0] = Some(self.port(v, &f)?),
                "rpc_port_override" => overrides[1] = Some(self.port(v, &f)?),
                "args" => extra_args = self.komodod_flags(v, &f)?,
                "daemon" => daemon = Some((self.program(v, &f)?, v.pos)),
                "coin" => coin_node = Some((k, v)),
                other => match acparams::lookup(other) {
                    Some(param) => {
                        params.insert(other.to_owned(), self.ac_value(param, v, &f)?);
                    }
                    None => return Err(self.unknown_chain_key(k, &field.to_string())),
                },
            }
        }
        let builtin = coins::builtin(name);
        if builtin.is_some() || coin_node.is_some() {
            let claims: Vec<(&str, Pos)> = claimed.iter().map(|(w, v)| (*w, v.pos)).collect();
            let rejected = CoinRejects {
                ac_name: ac_name_pos,
                datadir: datadir.as_ref().map(|d| d.1),
                param: params.keys().next().map(String::as_str),
                claims: &claims,
            };
            self.reject_for_coin(key, &field, &rejected)?;
            let (coin, dir, derived, default_daemon) =
                self.coin(name, builtin, coin_node.map(|(_, v)| v), &field)?;
            let Some(daemon) = daemon.map(|d| d.0).or(default_daemon) else {
                return Err(self.err(
                    key.pos,
                    &field,
                    "is a coin dokomodo does not know: name its daemon's binary with `daemon` \
                     (for example `daemon: dogecoind`)",
                ));
            };
            let host_pos = host.as_ref().map_or(key.pos, |h| h.1);
            return self.within_iguana_buffer(
                Chain {
                    name: name.to_owned(),
                    ac_name,
                    datadir: Some(dir),
                    params,
                    // The top-level seeds are Komodo's: a coin has its own network.
                    addnode: own_seeds,
                    host: host.map_or_else(|| name.to_ascii_lowercase(), |h| h.0),
                    derived,
                    p2p_override: overrides[0],
                    rpc_override: overrides[1],
                    args: extra_args,
                    daemon,
                    coin: Some(coin),
                },
                host_pos,
                &field,
            );
        }
        if let Some(fork) = params
            .keys()
            .find(|p| acparams::FORK_PARAMS.contains(&p.as_str()))
            .filter(|_| daemon.is_none())
        {
            return Err(self.err(
                key.pos,
                &field,
                format!(
                    "`{fork}` is read only by a fork of komodod (mainline komodod ignores it and \
                     would run another chain): name the fork's binary with `daemon` (for \
                     example `daemon: /opt/marmara/komodod`)"
                ),
            ));
        }
        let is_kmd = ac_name == "KMD";
        if !is_kmd && ac_name.eq_ignore_ascii_case("KMD") {
            return Err(self.err(
                key.pos,
                &field,
                format!(
                    "the ac_name `{ac_name}` is not KMD: komodod's chain names are case-sensitive, \
                     so this would be a new assetchain named `{ac_name}`; write `KMD` for Komodo itself"
                ),
            ));
        }
        if is_kmd {
            if let Some(param) = params.keys().next() {
                return Err(self.err(
                    key.pos,
                    &field,
                    format!("KMD takes no -ac_* parameters, but `{param}` is set"),
                ));
            }
            if let Some((_, pos)) = &datadir {
                return Err(self.err(
                    *pos,
                    &Dotted(&field, "datadir"),
                    "KMD's data directory is ~/.komodo itself; remove `datadir`",
                ));
            }
        }
        acparams::check_combination(&params).map_err(|why| self.err(key.pos, &field, why))?;
        if !is_kmd {
            acparams::check_startup(&ac_name, &params)
                .map_err(|why| self.err(key.pos, &field, why))?;
        }
        let derived = ports::derive(&ac_name, &params);
        for (which, v) in claimed {
            let f = Dotted(&field, which);
            let claimed = self.port(v, &f)?;
            let (derived_port, override_key) = match which {
                "p2p_port" => (overrides[0].unwrap_or(derived.p2p), "p2p_port_override"),
                _ => (overrides[1].unwrap_or(derived.rpc), "rpc_port_override"),
            };
            if claimed != derived_port {
                return Err(self.err(
                    v.pos,
                    &f,
                    format!(
                        "is {claimed}, but komodod derives {derived_port} from this chain's parameters \
                         (a typo in an -ac_* value makes a different chain); if this chain really \
                         listens elsewhere, write `{override_key}: {claimed}`"
                    ),
                ));
            }
        }
        let addnode = merge_seeds(own_seeds, default_seeds);
        let host_pos = host.as_ref().map_or(key.pos, |h| h.1);
        let chain = Chain {
            name: name.to_owned(),
            datadir: if is_kmd {
                None
            } else {
                Some(datadir.map(|d| d.0).unwrap_or_else(|| ac_name.clone()))
            },
            ac_name,
            params,
            addnode,
            host: host.map_or_else(|| name.to_ascii_lowercase(), |h| h.0),
            derived,
            p2p_override: overrides[0],
            rpc_override: overrides[1],
            args: extra_args,
            daemon: daemon.map_or_else(|| "komodod".to_owned(), |d| d.0),
            coin: None,
        };
        self.within_iguana_buffer(chain, host_pos, &field)
    }

    /// Refuses a `host:rpcport` iguana cannot hold (see `MAX_RPCHOST`).
    fn within_iguana_buffer(&self, chain: Chain, pos: Pos, field: Field<'_>) -> Result<Chain> {
        let rpchost = chain.rpchost();
        if rpchost.len() > MAX_RPCHOST {
            return Err(self.err(
                pos,
                &Dotted(field, "host"),
                format!(
                    "`{rpchost}` is {} bytes; iguana holds at most {MAX_RPCHOST} bytes of \
                     host:port (a longer one overflows into the chain's credentials): use a \
                     shorter name",
                    rpchost.len()
                ),
            ));
        }
        Ok(chain)
    }

    /// What a coin cannot have: an -ac_* identity, a datadir under
    /// ~/.komodo, claimed ports (its ports are facts, under `coin:`).
    fn reject_for_coin(&self, key: &Key, field: Field<'_>, r: &CoinRejects<'_>) -> Result<()> {
        let name = &key.name;
        if let Some(pos) = r.ac_name {
            return Err(self.err(
                pos,
                &Dotted(field, "ac_name"),
                format!("{name} is a coin, not a komodod chain: it has no -ac_name"),
            ));
        }
        if let Some(param) = r.param {
            return Err(self.err(
                key.pos,
                field,
                format!(
                    "{name} is a coin, not a komodod chain: it takes no -ac_* parameters, but \
                     `{param}` is set (an assetchain needs another name)"
                ),
            ));
        }
        if let Some(pos) = r.datadir {
            return Err(self.err(
                pos,
                &Dotted(field, "datadir"),
                format!("{name} is a coin: its data directory is `coin.dir`"),
            ));
        }
        if let Some((which, pos)) = r.claims.first() {
            return Err(self.err(
                *pos,
                &Dotted(field, which),
                format!(
                    "{name} is a coin: its ports are not derived; set `coin.{which}` \
                     (or `{which}_override`)"
                ),
            ));
        }
        Ok(())
    }

    /// A coin's facts: the built-in ones, with what `coin:` sets over them.
    /// Returns the coin, its data directory, its ports and its default daemon.
    fn coin(
        &self,
        name: &str,
        builtin: Option<&coins::Builtin>,
        node: Option<&Node>,
        field: Field<'_>,
    ) -> Result<(Coin, String, Ports, Option<String>)> {
        let field = Dotted(field, "coin");
        let mut dir = builtin.map(|b| b.dir.to_owned());
        let mut conf = builtin.map(|b| b.conf.to_owned());
        let mut p2p = builtin.map(|b| b.p2p);
        let mut rpc = builtin.map(|b| b.rpc);
        let mut netmagic = builtin.map(|b| b.netmagic.to_owned());
        let mut pubval = builtin.map(|b| b.pubval);
        let mut p2shval = builtin.map(|b| b.p2shval);
        let mut wifval = builtin.map(|b| b.wifval);
        let mut addcoin: Vec<(String, String)> = builtin
            .map(|b| {
                b.addcoin
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let entries = match node {
            Some(node) => self.map(node, &field)?,
            None => &[],
        };
        for (k, v) in entries {
            let f = Dotted(&field, &k.name);
            match k.name.as_str() {
                "dir" => {
                    let s = self.string(v, &f, "a directory under HOME (`.litecoin`)")?;
                    if !is_coin_dir(s) {
                        return Err(self.err(
                            v.pos,
                            &f,
                            format!(
                                "`{}` is not a directory name under HOME: a `.` then {NAME_RULE}",
                                printable(s)
                            ),
                        ));
                    }
                    dir = Some(s.to_owned());
                }
                "conf" => {
                    let s = self.string(v, &f, "a file name (`litecoin.conf`)")?;
                    if !is_name(s) {
                        return Err(self.err(
                            v.pos,
                            &f,
                            format!("`{}` is not a file name: {NAME_RULE}", printable(s)),
                        ));
                    }
                    conf = Some(s.to_owned());
                }
                "p2p_port" => p2p = Some(self.port(v, &f)?),
                "rpc_port" => rpc = Some(self.port(v, &f)?),
                "netmagic" => {
                    let s = self.string(v, &f, "8 hex digits")?;
                    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(self.err(
                            v.pos,
                            &f,
                            format!("`{}` is not 8 hex digits", printable(s)),
                        ));
                    }
                    netmagic = Some(s.to_ascii_lowercase());
                }
                "pubval" => pubval = Some(self.byte(v, &f)?),
                "p2shval" => p2shval = Some(self.byte(v, &f)?),
                "wifval" => wifval = Some(self.byte(v, &f)?),
                "addcoin" => {
                    for (ak, av) in self.map(v, &f)? {
                        let af = Dotted(&f, &ak.name);
                        let value = self.addcoin_value(ak, av, &af)?;
                        match addcoin.iter_mut().find(|(k, _)| *k == ak.name) {
                            Some(slot) => slot.1 = value,
                            None => addcoin.push((ak.name.clone(), value)),
                        }
                    }
                }
                _ => return Err(self.unknown_key(k, &field.to_string(), COIN_KEYS)),
            }
        }
        let missing = |what: &str| {
            self.err(
                node.map_or(Pos::default(), |n| n.pos),
                &field,
                format!("{name} is not a coin dokomodo knows: set `coin.{what}`"),
            )
        };
        let dir = dir.ok_or_else(|| missing("dir"))?;
        let conf = conf.ok_or_else(|| missing("conf"))?;
        let p2p = p2p.ok_or_else(|| missing("p2p_port"))?;
        let rpc = rpc.ok_or_else(|| missing("rpc_port"))?;
        let netmagic = netmagic.ok_or_else(|| missing("netmagic"))?;
        let pubval = pubval.ok_or_else(|| missing("pubval"))?;
        let p2shval = p2shval.ok_or_else(|| missing("p2shval"))?;
        let wifval = wifval.ok_or_else(|| missing("wifval"))?;
        let mut magic_bytes = [0u8; 4];
        for (i, byte) in magic_bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&netmagic[2 * i..2 * i + 2], 16).unwrap_or(0);
        }
        let derived = Ports {
            magic: u32::from_le_bytes(magic_bytes),
            p2p,
            rpc,
        };
        let coin = Coin {
            conf,
            netmagic,
            pubval,
            p2shval,
            wifval,
            addcoin,
        };
        Ok((coin, dir, derived, builtin.map(|b| b.daemon.to_owned())))
    }

    /// One field of a coin's addcoin JSON: a number or a string. The fields
    /// dokomodo writes itself cannot be set.
    fn addcoin_value(&self, key: &Key, node: &Node, field: Field<'_>) -> Result<String> {
        const MANAGED: &[&str] = &[
            "conf", "path", "newcoin", "netmagic", "p2p", "rpc", "rpchost", "userpass", "pubval",
            "p2shval", "wifval",
        ];
        if MANAGED.contains(&key.name.as_str()) {
            return Err(self.err(
                key.pos,
                field,
                "is written by dokomodo from the chain (its ports, prefixes, conf and host); \
                 set it through the `coin` keys",
            ));
        }
        match &node.value {
            Value::Int(i) => Ok(i.to_string()),
            Value::Str(s) => {
                let mut out = String::new();
                crate::json::string_literal(&mut out, s);
                Ok(out)
            }
            other => Err(self.err(
                node.pos,
                field,
                format!("expected a number or a string, found {}", other.kind()),
            )),
        }
    }

    fn byte(&self, node: &Node, field: Field<'_>) -> Result<u8> {
        match &node.value {
            Value::Int(i) if (0..=255).contains(i) => Ok(*i as u8),
            other => Err(self.err(
                node.pos,
                field,
                format!(
                    "expected an address prefix (0-255), found {}",
                    describe(other)
                ),
            )),
        }
    }

    /// `daemon`: a program name looked up in PATH, or an absolute path.
    fn program(&self, node: &Node, field: Field<'_>) -> Result<String> {
        let s = self.string(node, field, "a program name or absolute path")?;
        let ok = is_name(s) || (s.starts_with('/') && is_safe_path(s) && !s.ends_with('/'));
        if !ok {
            return Err(self.err(
                node.pos,
                field,
                format!(
                    "`{}` is not a program name (looked up in PATH) or an absolute path",
                    printable(s)
                ),
            ));
        }
        Ok(s.to_owned())
    }

    fn unknown_chain_key(&self, key: &Key, parent: &str) -> ConfigError {
        let known: Vec<&str> = CHAIN_KEYS
            .iter()
            .copied()
            .chain(acparams::PARAMS.iter().map(|p| p.name))
            .collect();
        let mut err = self.unknown_key(key, parent, &known);
        if key.name.starts_with("ac_") && suggest(&key.name, &known).is_none() {
            err.message.push_str(
                ": komodod does not know this -ac_* parameter and would silently ignore it",
            );
        }
        err
    }

    /// `args`: `-name` or `-name=value` flags, under the policy of
    /// `flags::check` (which the EXTRA arguments of `run komodod` share).
    /// Whether they go with the YAML's `pubkey` is `notary_flags`' question.
    fn komodod_flags(&self, node: &Node, field: Field<'_>) -> Result<Vec<String>> {
        let what = "komodod flags like -earlytxid=HEX";
        let items = self.list(node, field, what)?;
        let mut flags = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let f = Indexed(field, i);
            flags.push(
                self.string(item, &f, "a komodod flag (-name or -name=value)")?
                    .to_owned(),
            );
        }
        flags::check(&flags, false).map_err(|refusal| {
            let f = Indexed(field, refusal.index);
            self.err(items[refusal.index].pos, &f, refusal.message)
        })?;
        Ok(flags)
    }

    /// Chain names differing only in case: komodod would take them as two
    /// chains, but their compose services and default hosts (the name in
    /// lower case) are one.
    fn case_clashes(&self, config: &Config, chains_node: &Node) -> Result<()> {
        let Value::Map(entries) = &chains_node.value else {
            return Ok(());
        };
        for (i, (key, _)) in entries.iter().enumerate() {
            let Some((other, _)) = entries[..i]
                .iter()
                .find(|(k, _)| k.name.eq_ignore_ascii_case(&key.name))
            else {
                continue;
            };
            let lower = key.name.to_ascii_lowercase();
            let host_note = if config.chains.iter().any(|c| c.host == lower) {
                format!(" and default hosts (`{lower}`)")
            } else {
                String::new()
            };
            return Err(self.err(
                key.pos,
                &Dotted(&"chains", &key.name),
                format!(
                    "differs from chain `{}` only in case: their compose services{host_note} \
                     would be one; give one of them another name",
                    other.name
                ),
            ));
        }
        Ok(())
    }

    /// The chains' `args` again, now that the YAML's `pubkey` is known.
    fn notary_flags(&self, config: &Config, chains_node: &Node) -> Result<()> {
        let Value::Map(entries) = &chains_node.value else {
            return Ok(());
        };
        for chain in &config.chains {
            let Err(refusal) = flags::check(&chain.args, config.pubkey.is_some()) else {
                continue;
            };
            let args_node = entries
                .iter()
                .find(|(k, _)| k.name == chain.name)
                .and_then(|(_, node)| match &node.value {
                    Value::Map(keys) => keys.iter().find(|(k, _)| k.name == "args"),
                    _ => None,
                })
                .map(|(_, node)| node);
            let pos = match args_node.map(|n| &n.value) {
                Some(Value::Seq(items)) => items.get(refusal.index).map(|n| n.pos),
                _ => None,
            };
            let field = format!("chains.{}.args[{}]", chain.name, refusal.index);
            return Err(self.err(pos.unwrap_or(chains_node.pos), &field, refusal.message));
        }
        Ok(())
    }

    fn port(&self, node: &Node, field: Field<'_>) -> Result<u16> {
        match &node.value {
            Value::Int(i) if (1..=65535).contains(i) => Ok(*i as u16),
            Value::Int(i) => Err(self.err(node.pos, field, format!("{i} is not a port (1-65535)"))),
            other => Err(self.err(
                node.pos,
                field,
                format!("expected a port number, found {}", other.kind()),
            )),
        }
    }

    /// Turns a YAML value into the text komodod reads after `-ac_x=`.
    fn ac_value(&self, param: &acparams::Param, node: &Node, field: Field<'_>) -> Result<String> {
        let scalar = |node: &Node| -> Result<String> {
            match &node.value {
                Value::Int(i) => Ok(i.to_string()),
                Value::Str(s) => Ok(s.clone()),
                Value::Bool(b) => Err(self.err(
                    node.pos,
                    field,
                    format!("expected {}, found a boolean (write {}, not {b})", expectation(param.kind), u8::from(*b)),
                )),
                Value::Float(_) => Err(self.err(
                    node.pos,
                    field,
                    format!("expected {}, found a floating-point number (write the integer in full, e.g. 100000000, not 1e8)", expectation(param.kind)),
                )),
                other => Err(self.err(node.pos, field, format!("expected {}, found {}", expectation(param.kind), other.kind()))),
            }
        };
        let text = match (&node.value, param.kind) {
            (Value::Seq(items), Kind::IntList) => {
                if items.is_empty() {
                    return Err(self.err(
                        node.pos,
                        field,
                        "is an empty list; remove the key or give at least one value",
                    ));
                }
                let parts = items.iter().map(scalar).collect::<Result<Vec<_>>>()?;
                parts.join(",")
            }
            (Value::Seq(_), _) => {
                return Err(self.err(
                    node.pos,
                    field,
                    format!("expected {}, found a list", expectation(param.kind)),
                ));
            }
            _ => scalar(node)?,
        };
        acparams::check(param, &text).map_err(|expected| {
            self.err(
                node.pos,
                field,
                format!("`{}` is not valid: expected {expected}", printable(&text)),
            )
        })?;
        Ok(text)
    }

    fn cross_checks(&self, config: &Config, chains_node: &Node) -> Result<()> {
        let Value::Map(entries) = &chains_node.value else {
            return Ok(());
        };
        let key_of = |name: &str| {
            entries
                .iter()
                .find(|(k, _)| k.name == name)
                .map(|(k, _)| k.pos)
                .unwrap_or_default()
        };
        let mut ports: BTreeMap<u16, (&str, &str)> = BTreeMap::new();
        // Keyed by the directory's name under ~/.komodo ("" for KMD's
        // ~/.komodo itself): the same test as comparing data_dir() paths,
        // without building and ordering a PathBuf per chain.
        let mut dirs: BTreeMap<&str, &str> = BTreeMap::new();
        for chain in &config.chains {
            let field = Dotted(&"chains", &chain.name);
            for (port, kind) in [(chain.p2p_port(), "p2p"), (chain.rpc_port(), "rpc")] {
                if let Some((other, other_kind)) = ports.insert(port, (chain.name.as_str(), kind)) {
                    return Err(self.err(
                        key_of(&chain.name),
                        &field,
                        format!(
                            "its {kind} port {port} is also chain {other}'s {other_kind} port; \
                             two chains cannot share a port (same -ac_* parameters make the same chain)"
                        ),
                    ));
                }
            }
            if let Some(other) = dirs.insert(chain.datadir.as_deref().unwrap_or(""), &chain.name) {
                return Err(self.err(
                    key_of(&chain.name),
                    &field,
                    format!(
                        "its data directory ~/{} is also chain {other}'s; give one of them its own `datadir`",
                        chain.data_dir().display()
                    ),
                ));
            }
            if self.checks == Checks::Deploy && chain.is_remote() && config.rpc_allow.is_empty() {
                return Err(self.err(
                    key_of(&chain.name),
                    &field,
                    format!(
                        "iguana reaches this chain at host `{}`, but `rpc.allow` is empty, so komodod would \
                         refuse every caller but 127.0.0.1; list iguana's network under `rpc.allow`, \
                         or set `host: 127.0.0.1` if the chain runs beside iguana",
                        chain.host
                    ),
                ));
            }
        }
        Ok(())
    }
}

const NAME_RULE: &str =
    "use letters, digits, `_`, `-` and `.`, starting with a letter or digit, at most 64 characters";

/// Chain names, ac_names and datadirs: what komodod accepts as a symbol, and
/// nothing that could leave ~/.komodo (no `/`, no `..`, no leading `.`).
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn is_host(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        })
}

fn is_seed(s: &str) -> bool {
    if s.parse::<std::net::SocketAddr>().is_ok() || is_host(s) {
        return true;
    }
    match s.rsplit_once(':') {
        Some((host, port)) => is_host(host) && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

/// komodod's rpcallowip: an address, address/prefix or address/netmask.
fn is_allow(s: &str) -> bool {
    let (addr, mask) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    match mask {
        None => true,
        Some(m) => {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            m.parse::<u8>().is_ok_and(|p| p <= max)
                || (ip.is_ipv4() && m.parse::<std::net::Ipv4Addr>().is_ok())
        }
    }
}

/// A coin's data directory under HOME: `.` and a name (`.litecoin`).
fn is_coin_dir(s: &str) -> bool {
    s != ".komodo" && s.strip_prefix('.').is_some_and(is_name)
}

/// The chain's own seeds, then the top-level ones, without repeats.
fn merge_seeds(own: Vec<String>, default_seeds: &[String]) -> Vec<String> {
    let mut addnode = own;
    for seed in default_seeds {
        if !addnode.contains(seed) {
            addnode.push(seed.clone());
        }
    }
    addnode
}

/// A value as "expected X, found Y" names it: an integer by its value.
fn describe(value: &Value) -> String {
    match value {
        Value::Int(i) => i.to_string(),
        other => other.kind().to_owned(),
    }
}

/// What was written on a coin that only a komodod chain can have.
struct CoinRejects<'a> {
    ac_name: Option<Pos>,
    datadir: Option<Pos>,
    param: Option<&'a str>,
    claims: &'a [(&'a str, Pos)],
}

fn is_safe_path(s: &str) -> bool {
    !s.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && !Path::new(s)
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
}

fn expectation(kind: Kind) -> &'static str {
    match kind {
        Kind::IntList => "an integer or a list of integers",
        Kind::Int => "an integer",
        _ => "a string",
    }
}

/// Shows a user's value in a message without letting control characters
/// mangle the terminal.
fn printable(s: &str) -> String {
    s.chars().flat_map(char::escape_debug).collect::<String>()
}

/// Where in the YAML an error is, as its message names it
/// (`chains.BEER.ac_supply`): built into text only when there is an error.
type Field<'a> = &'a dyn fmt::Display;

/// `PARENT.KEY`, formatted on demand.
struct Dotted<'a>(Field<'a>, &'a str);

impl fmt::Display for Dotted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// `LIST[INDEX]`, formatted on demand.
struct Indexed<'a>(Field<'a>, usize);

impl fmt::Display for Indexed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The closest known key, if it is close enough to be a typo.
fn suggest<'k>(unknown: &str, known: &[&'k str]) -> Option<&'k str> {
    let (best, distance) = known
        .iter()
        .map(|k| (*k, edit_distance(unknown, k)))
        .min_by_key(|(_, d)| *d)?;
    let limit = (unknown.chars().count() / 3).clamp(2, 3);
    (distance <= limit).then_some(best)
}

/// Levenshtein distance, with a transposition counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// An integer is named by its value in a range error, anything else by its kind.
fn kind_or_value(value: &Value) -> String {
    match value {
        Value::Int(i) => i.to_string(),
        other => other.kind().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config> {
        parse(Path::new("notary.yaml"), text)
    }

    fn error(text: &str) -> String {
        load(text).unwrap_err().to_string()
    }

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(
            suggest("ac_suply", &["ac_supply", "ac_staked"]),
            Some("ac_supply")
        );
        assert_eq!(suggest("chian", TOP_KEYS), Some("chains"));
        assert_eq!(suggest("zzzzzz", TOP_KEYS), None);
        assert_eq!(edit_distance("ac_sapling", "ac_saplnig"), 1);
    }

    #[test]
    fn names_that_leave_the_data_directory_are_refused() {
        for bad in [
            "..",
            "../x",
            "a/b",
            "",
            ".hidden",
            "a b",
            "a\0b",
            "-x",
            &"A".repeat(65),
        ] {
            assert!(!is_name(bad), "{bad:?}");
        }
        for good in ["KMD", "GLEEC_OLD", "VOTE2021", "k64", "A.B-C"] {
            assert!(is_name(good), "{good}");
        }
    }

    #[test]
    fn chains_keep_yaml_order_and_defaults() {
        let c = load("rpc: {allow: [10.0.0.0/8]}\naddnode: [1.2.3.4]\nchains:\n  PIZZA:\n    ac_supply: 100000000\n    addnode: [5.6.7.8, 1.2.3.4]\n  KMD: {}\n").unwrap();
        assert_eq!(c.chain_names(), ["PIZZA", "KMD"]);
        let pizza = &c.chains[0];
        assert_eq!(pizza.ac_name, "PIZZA");
        assert_eq!(pizza.datadir.as_deref(), Some("PIZZA"));
        assert_eq!(pizza.host, "pizza");
        assert_eq!(pizza.addnode, ["5.6.7.8", "1.2.3.4"]);
        assert_eq!(pizza.conf_path(), Path::new(".komodo/PIZZA/PIZZA.conf"));
        let kmd = &c.chains[1];
        assert!(kmd.is_kmd());
        assert_eq!(kmd.conf_path(), Path::new(".komodo/komodo.conf"));
        assert_eq!(kmd.addnode, ["1.2.3.4"]);
    }

    #[test]
    fn utxos_thresholds_and_their_defaults() {
        let c = load("utxos: {min: 20, split: 0}\nchains:\n  KMD: {host: 127.0.0.1}\n").unwrap();
        assert_eq!(c.utxos, Utxos { min: 20, split: 0 });
        let d = load("chains:\n  KMD: {host: 127.0.0.1}\n").unwrap();
        assert_eq!(d.utxos, Utxos { min: 50, split: 50 });
        assert_eq!(
            error("utxos: {min: 0}\nchains:\n  KMD: {host: 127.0.0.1}\n"),
            "notary.yaml:1:14: utxos.min: expected a count from 1 to 1000, found 0"
        );
        assert_eq!(
            error("utxos: {split: many}\nchains:\n  KMD: {host: 127.0.0.1}\n"),
            "notary.yaml:1:16: utxos.split: expected a count from 0 to 1000, found a string"
        );
    }

    #[test]
    fn list_values_become_komodod_comma_lists() {
        let c = load(
            "chains:\n  X:\n    host: 127.0.0.1\n    ac_reward: [100, 200]\n    ac_end: \"1,2\"\n",
        )
        .unwrap();
        assert_eq!(c.chains[0].params["ac_reward"], "100,200");
        assert_eq!(c.chains[0].params["ac_end"], "1,2");
    }

    #[test]
    fn shared_ac_name_with_its_own_datadir() {
        let c = load("rpc: {allow: [10.0.0.0/8]}\nchains:\n  GLEEC:\n    ac_supply: 210000000\n    ac_public: 1\n    ac_staked: 100\n  GLEEC_OLD:\n    ac_name: GLEEC\n    datadir: GLEEC_OLD\n    ac_supply: 200000000\n").unwrap();
        let old = &c.chains[1];
        assert_eq!(old.conf_path(), Path::new(".komodo/GLEEC_OLD/GLEEC.conf"));
        assert!(old.needs_datadir_flag());
        assert!(!c.chains[0].needs_datadir_flag());
    }

    #[test]
    fn remote_host_needs_rpc_allow() {
        assert!(
            error("chains:\n  BEER: {ac_supply: 100000000}\n").contains("`rpc.allow` is empty")
        );
    }

    #[test]
    fn kmd_takes_no_ac_parameters() {
        assert_eq!(
            error("chains:\n  KMD:\n    ac_supply: 5\n"),
            "notary.yaml:2:3: chains.KMD: KMD takes no -ac_* parameters, but `ac_supply` is set"
        );
    }

    #[test]
    fn iguana_startup_keys() {
        let c = load("iguana:\n  startup: false\n  myipaddr: 203.0.113.7\n  notaries: [198.51.100.1, 198.51.100.2, 198.51.100.1]\nchains:\n  KMD: {host: 127.0.0.1}\n").unwrap();
        assert!(!c.iguana.startup);
        assert_eq!(c.iguana.myipaddr, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(
            c.iguana.notaries,
            [
                "198.51.100.1".parse::<std::net::Ipv4Addr>().unwrap(),
                "198.51.100.2".parse().unwrap()
            ]
        );
        let d = load("chains:\n  KMD: {host: 127.0.0.1}\n").unwrap();
        assert!(d.iguana.startup && d.iguana.myipaddr.is_none() && d.iguana.notaries.is_empty());
        assert_eq!(
            error("iguana:\n  startup: yes please\nchains:\n  KMD: {host: 127.0.0.1}\n"),
            "notary.yaml:2:12: iguana.startup: expected true or false, found a string"
        );
        assert_eq!(
            error(
                "iguana:\n  notaries: [1.2.3.4, seed.example.org]\nchains:\n  KMD: {host: 127.0.0.1}\n"
            ),
            "notary.yaml:2:23: iguana.notaries[1]: `seed.example.org` is not an IPv4 address (iguana takes no host names and no IPv6)"
        );
        assert_eq!(
            error("iguana:\n  myipaddr: ::1\nchains:\n  KMD: {host: 127.0.0.1}\n"),
            "notary.yaml:2:13: iguana.myipaddr: `::1` is not an IPv4 address (iguana takes no host names and no IPv6)"
        );
    }

    #[test]
    fn x_keys_hold_anchors() {
        let c =
            load("x-seeds: &s [1.2.3.4]\nchains:\n  KMD:\n    host: 127.0.0.1\n    addnode: *s\n")
                .unwrap();
        assert_eq!(c.chains[0].addnode, ["1.2.3.4"]);
    }

    #[test]
    fn snippet_points_at_the_column() {
        let err = load("chains:\n  KMD:\n    hots: x\n").unwrap_err();
        assert_eq!(err.snippet().unwrap(), "  |\n3 |     hots: x\n  |     ^");
    }

    #[test]
    fn extra_komodod_flags() {
        let c = load("chains:\n  THC:\n    host: 127.0.0.1\n    ac_supply: 251253103\n    args: [-earlytxid=7e4a76, -addressindex=1]\n").unwrap();
        assert_eq!(c.chains[0].args, ["-earlytxid=7e4a76", "-addressindex=1"]);
        for (flag, why) in [
            (
                "-ac_supply=5",
                "-ac_supply is managed by dokomodo; use its own key under the chain",
            ),
            (
                "-rpcpassword=x",
                "-rpcpassword is managed by dokomodo; use `rpc.allow` or `rpc_port_override`",
            ),
            ("-daemon", "-daemon is managed by dokomodo"),
            ("earlytxid=1", "is not a komodod flag"),
        ] {
            let err = error(&format!(
                "chains:\n  X:\n    host: 127.0.0.1\n    args: [\"{flag}\"]\n"
            ));
            assert!(err.contains(why), "{flag}: {err}");
            assert!(
                err.starts_with("notary.yaml:4:12: chains.X.args[0]: "),
                "{err}"
            );
        }
    }

    #[test]
    fn allow_and_seed_syntax() {
        assert!(
            is_allow("172.20.0.0/16")
                && is_allow("10.0.0.1")
                && is_allow("10.0.0.0/255.0.0.0")
                && is_allow("fd00::/8")
        );
        assert!(!is_allow("10.0.0.0/33") && !is_allow("anything") && !is_allow("10.0.0.0/"));
        assert!(
            is_seed("78.47.196.146") && is_seed("seed.example.org:7770") && is_seed("[::1]:7770")
        );
        assert!(!is_seed("1.2.3.4 #x") && !is_seed("a=b") && !is_seed(""));
    }

    #[test]
    fn iguana_workdir_is_written_as_the_files_are() {
        for (given, kept) in [
            ("./dpow//iguana/", "dpow/iguana"),
            ("iguana", "iguana"),
            ("/srv//iguana/", "/srv/iguana"),
        ] {
            let c = load(&format!(
                "iguana: {{workdir: '{given}'}}\nchains:\n  KMD: {{host: 127.0.0.1}}\n"
            ))
            .unwrap();
            assert_eq!(c.iguana.workdir, kept, "{given}");
        }
    }

    #[test]
    fn kmd_is_kmd_whatever_its_key_but_not_whatever_its_case() {
        let c = load("chains:\n  kmd: {ac_name: KMD, host: 127.0.0.1}\n").unwrap();
        assert!(c.chains[0].is_kmd());
        assert!(
            error("chains:\n  X: {ac_name: Kmd, host: 127.0.0.1}\n")
                .contains("the ac_name `Kmd` is not KMD")
        );
    }

    #[test]
    fn queries_skip_the_deployment_checks_only() {
        let yaml = "chains:\n  BEER: {ac_supply: 100000000}\n";
        assert!(parse_for(Path::new("n.yaml"), yaml, Checks::Query).is_ok());
        assert!(parse_for(Path::new("n.yaml"), yaml, Checks::Deploy).is_err());
        let clash = "chains:\n  BEER: {ac_supply: 100000000}\n  Beer: {ac_supply: 1}\n";
        assert!(parse_for(Path::new("n.yaml"), clash, Checks::Query).is_err());
    }
}
