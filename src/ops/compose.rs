//! `dokomodo compose`: a Docker Compose file for the chains of the YAML, so an
//! operator never copies a port or a chain name by hand (the old dokomodo's
//! generate_docker_compose, for any number of chains).
//!
//! The text is written by hand, not serialised, so it reads like the shipped
//! compose.yaml and is byte-identical for the same YAML and options.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use lexopt::prelude::*;

use crate::config::{Chain, Config};

pub const USAGE: &str = "\
Usage: dokomodo [--config PATH] compose [OPTIONS] [NAME...]

Prints a Docker Compose file: one komodod service per chain of the YAML (or
per NAME), named as the chain's `host`, plus the iguana service, which starts
once every chain it calls is healthy. Needs no secret. Typical use:
    dokomodo --config notary.yaml compose > compose.yaml

Which chains: without NAMEs, every chain whose `host` is a plain name (a
service here) or loopback (runs in iguana's network namespace); chains whose
host has a dot or is an address run elsewhere and are listed in a comment.
NAMEs select chains explicitly, wherever their host points.

Options:
  --image-prefix PREFIX  image names are PREFIX + komodod / iguana (default dokomodo/)
  --tag TAG              image tag (default ${DOKOMODO_TAG:-latest})
  --no-build             no build sections: pull the images from a registry
  --yaml-file PATH       the host file mounted at /etc/dokomodo/notary.yaml
                         (default: the --config path); relative to the compose file
  --secrets-dir DIR      the host directory holding each chain's secret
                         (<service>_seed, from `dokomodo secret --chain NAME`),
                         and iguana's dokomodo_seed (the master) and
                         wallet_passphrase (default ./secrets)
  --subnet CIDR          the containers' IPv4 network (default: taken from rpc.allow);
                         rpc.allow must cover it or list iguana's address in it
  --publish-rpc ADDR     also publish each chain's RPC port on the host address ADDR
                         (127.0.0.1, or a private address for an iguana on another
                         host); never all addresses
  --no-iguana            leave iguana out (chains for another host)
  --elected FILE         this season's elected file: iguana's dPoW port is its
                         `port` (else `iguana.dpow_port` of the YAML)
  --project NAME         the compose project name (default dokomodo)
";

/// What the operator chose on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub image_prefix: String,
    pub tag: Option<String>,
    pub build: bool,
    pub yaml_file: Option<String>,
    pub secrets_dir: String,
    pub subnet: Option<Net>,
    pub publish_rpc: Option<IpAddr>,
    pub iguana: bool,
    pub project: String,
    pub chains: Vec<String>,
    /// `--elected FILE`: the season's elected file, whose `port` iguana's
    /// dPoW bus listens on (else `iguana.dpow_port` of the YAML).
    pub elected: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            image_prefix: "dokomodo/".to_owned(),
            tag: None,
            build: true,
            yaml_file: None,
            secrets_dir: "./secrets".to_owned(),
            subnet: None,
            publish_rpc: None,
            iguana: true,
            project: "dokomodo".to_owned(),
            chains: Vec::new(),
            elected: None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ComposeError {
    #[error("{0}")]
    Usage(String),
    #[error("{file}: no chain `{name}` (the YAML has: {known})")]
    UnknownChain {
        file: String,
        name: String,
        known: String,
    },
    #[error(
        "chains {first} and {second} both have host `{service}`: each chain runs in its own \
         container, so give each its own `host`"
    )]
    SameService {
        first: String,
        second: String,
        service: String,
    },
    #[error(
        "chain {chain}: host `iguana` is the iguana service's name; set the chain's `host` to another name"
    )]
    IguanaName { chain: String },
    #[error(
        "{file}: iguana's dPoW port comes from this season's elected file: pass --elected FILE, \
         or set iguana.elected_file, or iguana.dpow_port to the file's `port`"
    )]
    NoDpowPort { file: String },
    #[error("{path}: {reason}")]
    Elected { path: String, reason: String },
    #[error(
        "{path} gives dPoW port {from_file}, but {file} has iguana.dpow_port {from_yaml}: \
         iguana binds the file's port, so correct iguana.dpow_port"
    )]
    DpowPortDiffers {
        path: String,
        file: String,
        from_file: u16,
        from_yaml: u16,
    },
    #[error(
        "{file}: rpc.allow ({allow}) has no IPv4 network or address for the containers' network, so \
         komodod would refuse iguana's RPC calls: add one (for example 172.20.0.0/16) to rpc.allow, \
         or pass --subnet CIDR and add that network to rpc.allow"
    )]
    NoSubnet { file: String, allow: String },
    #[error(
        "{file}: --subnet {subnet} is not covered by rpc.allow ({allow}), so komodod would refuse \
         iguana's RPC calls: add {subnet} (or iguana's fixed address in it) to rpc.allow"
    )]
    SubnetNotAllowed {
        file: String,
        subnet: Net,
        allow: String,
    },
}

/// An IPv4 network, address and prefix length, as Docker's IPAM takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    pub addr: u32,
    pub prefix: u8,
}

impl Net {
    fn mask(self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }
    fn network(self) -> Net {
        Net {
            addr: self.addr & self.mask(),
            prefix: self.prefix,
        }
    }
    fn contains(self, addr: u32) -> bool {
        addr & self.mask() == self.addr & self.mask()
    }
    fn covers(self, other: Net) -> bool {
        self.prefix <= other.prefix && self.contains(other.addr)
    }
    /// An rpc.allow entry (`a.b.c.d`, `a.b.c.d/n`, `a.b.c.d/m.m.m.m`) as a
    /// network; `None` for IPv6 and non-contiguous netmasks.
    pub fn parse_allow(s: &str) -> Option<Net> {
        let (addr, mask) = match s.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (s, None),
        };
        let addr = u32::from(addr.parse::<Ipv4Addr>().ok()?);
        let prefix = match mask {
            None => 32,
            Some(m) => match m.parse::<u8>() {
                Ok(p) if p <= 32 => p,
                Ok(_) => return None,
                Err(_) => {
                    let m = u32::from(m.parse::<Ipv4Addr>().ok()?);
                    if m.leading_ones() + m.trailing_zeros() != 32 {
                        return None;
                    }
                    m.leading_ones() as u8
                }
            },
        };
        Some(Net { addr, prefix })
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.addr), self.prefix)
    }
}

fn usage(message: impl Into<String>) -> ComposeError {
    ComposeError::Usage(message.into())
}

impl From<lexopt::Error> for ComposeError {
    fn from(err: lexopt::Error) -> ComposeError {
        usage(err.to_string())
    }
}

/// Parses the command's arguments; `None` when `--help` was asked for.
/// `--config` after the command is accepted, as `render` does.
pub fn parse_args(
    parser: &mut lexopt::Parser,
    config: &mut Option<std::path::PathBuf>,
) -> Result<Option<Options>, ComposeError> {
    let mut o = Options::default();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(None),
            Long("config") => *config = Some(parser.value()?.into()),
            Long("image-prefix") => {
                let v = parser.value()?.string()?;
                if !v
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/:".contains(c))
                {
                    return Err(usage(format!(
                        "--image-prefix `{v}`: expected an image repository prefix (a-z, 0-9, `._-/:`)"
                    )));
                }
                o.image_prefix = v;
            }
            Long("tag") => {
                let v = parser.value()?.string()?;
                let ok = (1..=128).contains(&v.len())
                    && v.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
                if !ok {
                    return Err(usage(format!(
                        "--tag `{v}`: expected an image tag (letters, digits, `._-`, at most 128)"
                    )));
                }
                o.tag = Some(v);
            }
            Long("no-build") => o.build = false,
            Long("yaml-file") => o.yaml_file = Some(path_value(parser, "--yaml-file")?),
            Long("secrets-dir") => o.secrets_dir = path_value(parser, "--secrets-dir")?,
            Long("subnet") => {
                let v = parser.value()?.string()?;
                match Net::parse_allow(&v) {
                    Some(net) if v.contains('/') && (8..=30).contains(&net.prefix) => {
                        o.subnet = Some(net.network())
                    }
                    _ => {
                        return Err(usage(format!(
                            "--subnet `{v}`: expected an IPv4 network from /8 to /30, like 172.20.0.0/16"
                        )));
                    }
                }
            }
            Long("publish-rpc") => {
                let v = parser.value()?.string()?;
                match v.parse::<IpAddr>() {
                    Ok(ip) if !ip.is_unspecified() => o.publish_rpc = Some(ip),
                    Ok(_) => {
                        return Err(usage(format!(
                            "--publish-rpc {v}: publishing RPC on every address exposes it to anyone who can reach the host; name one address"
                        )));
                    }
                    Err(_) => {
                        return Err(usage(format!(
                            "--publish-rpc `{v}`: expected an IP address, like 127.0.0.1"
                        )));
                    }
                }
            }
            Long("no-iguana") => o.iguana = false,
            Long("elected") => o.elected = Some(path_value(parser, "--elected")?.into()),
            Long("project") => {
                let v = parser.value()?.string()?;
                let ok = v.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && v.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c));
                if !ok {
                    return Err(usage(format!(
                        "--project `{v}`: expected lower-case letters, digits, `_` and `-`"
                    )));
                }
                o.project = v;
            }
            Value(name) => o.chains.push(name.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    Ok(Some(o))
}

fn path_value(parser: &mut lexopt::Parser, flag: &str) -> Result<String, ComposeError> {
    let v = parser.value()?.string()?;
    if v.is_empty() || v.chars().any(|c| c.is_control()) {
        return Err(usage(format!("{flag}: expected a path")));
    }
    Ok(v)
}

/// Where a chain's komodod runs, as this compose file sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    /// Its own container on the notary network, reached at its service name.
    Service,
    /// Its own container inside iguana's network namespace (`host: 127.0.0.1`).
    BesideIguana,
}

struct Planned<'c> {
    chain: &'c Chain,
    service: String,
    placement: Placement,
}

/// A plain host name is a compose service here; a dotted name or an address
/// is another machine.
fn is_service_name(host: &str) -> bool {
    !host.contains('.')
        && !host.contains(':')
        && host.parse::<IpAddr>().is_err()
        && host != "localhost"
}

/// The network: its subnet, and iguana's fixed address when rpc.allow names
/// one address rather than the whole subnet.
struct Network {
    subnet: Option<Net>,
    iguana_ip: Option<Ipv4Addr>,
}

fn network(config: &Config, opts: &Options, needed: bool) -> Result<Network, ComposeError> {
    let allow: Vec<Net> = config
        .rpc_allow
        .iter()
        .filter_map(|s| Net::parse_allow(s))
        .collect();
    // Docker gives the first host address to the gateway.
    let usable = |subnet: Net, ip: u32| {
        let host = ip & !subnet.mask();
        host > 1 && host != !subnet.mask()
    };
    let file = config.path.display().to_string();
    let allow_text = if config.rpc_allow.is_empty() {
        "empty".to_owned()
    } else {
        config.rpc_allow.join(", ")
    };
    if let Some(subnet) = opts.subnet {
        if !needed || allow.iter().any(|a| a.covers(subnet)) {
            return Ok(Network {
                subnet: Some(subnet),
                iguana_ip: None,
            });
        }
        if let Some(a) = allow
            .iter()
            .find(|a| a.prefix == 32 && subnet.contains(a.addr) && usable(subnet, a.addr))
        {
            return Ok(Network {
                subnet: Some(subnet),
                iguana_ip: Some(Ipv4Addr::from(a.addr)),
            });
        }
        return Err(ComposeError::SubnetNotAllowed {
            file,
            subnet,
            allow: allow_text,
        });
    }
    if let Some(a) = allow.iter().find(|a| (8..=30).contains(&a.prefix)) {
        return Ok(Network {
            subnet: Some(a.network()),
            iguana_ip: None,
        });
    }
    // One allowed address is iguana's, fixed in a /24 around it; without
    // iguana it is some other machine's (the multi-host case), whose network
    // this file must not claim.
    let around = |a: &Net| {
        Net {
            addr: a.addr,
            prefix: 24,
        }
        .network()
    };
    if let Some(a) = allow
        .iter()
        .find(|a| opts.iguana && a.prefix == 32 && usable(around(a), a.addr))
    {
        return Ok(Network {
            subnet: Some(around(a)),
            iguana_ip: Some(Ipv4Addr::from(a.addr)),
        });
    }
    if needed {
        return Err(ComposeError::NoSubnet {
            file,
            allow: allow_text,
        });
    }
    Ok(Network {
        subnet: None,
        iguana_ip: None,
    })
}

/// The compose file for `config`, as text.
/// iguana's dPoW port: the elected file's, or the YAML's when no file is given.
fn dpow_port(config: &Config, opts: &Options) -> Result<u16, ComposeError> {
    let file = config.path.display().to_string();
    let Some(path) = &opts.elected else {
        return config
            .iguana
            .dpow_port()
            .ok_or(ComposeError::NoDpowPort { file });
    };
    let shown = path.display().to_string();
    let elected = crate::config::elected::load(path).map_err(|reason| ComposeError::Elected {
        path: shown.clone(),
        reason,
    })?;
    match config.iguana.dpow_port() {
        Some(from_yaml) if from_yaml != elected.port => Err(ComposeError::DpowPortDiffers {
            path: shown,
            file,
            from_file: elected.port,
            from_yaml,
        }),
        _ => Ok(elected.port),
    }
}

pub fn generate(config: &Config, opts: &Options) -> Result<String, ComposeError> {
    let file = config.path.display().to_string();
    let selected: Vec<&Chain> = if opts.chains.is_empty() {
        config.chains.iter().collect()
    } else {
        let mut v = Vec::new();
        for name in &opts.chains {
            let chain = config
                .chain(name)
                .ok_or_else(|| ComposeError::UnknownChain {
                    file: file.clone(),
                    name: name.clone(),
                    known: config.chain_names().join(", "),
                })?;
            if !v.iter().any(|c: &&Chain| c.name == chain.name) {
                v.push(chain);
            }
        }
        v
    };
    let mut planned: Vec<Planned> = Vec::new();
    let mut elsewhere: Vec<&Chain> = Vec::new();
    for chain in selected {
        let (service, placement) = if !chain.is_remote() && opts.iguana {
            (chain.name.to_ascii_lowercase(), Placement::BesideIguana)
        } else if chain.is_remote() && is_service_name(&chain.host) {
            (chain.host.clone(), Placement::Service)
        } else if opts.chains.is_empty() {
            elsewhere.push(chain);
            continue;
        } else {
            // Named explicitly for another machine (or loopback without iguana):
            // it runs here on the network, under its lower-case name.
            (chain.name.to_ascii_lowercase(), Placement::Service)
        };
        if opts.iguana && service == "iguana" {
            return Err(ComposeError::IguanaName {
                chain: chain.name.clone(),
            });
        }
        if let Some(first) = planned.iter().find(|p| p.service == service) {
            return Err(ComposeError::SameService {
                first: first.chain.name.clone(),
                second: chain.name.clone(),
                service,
            });
        }
        planned.push(Planned {
            chain,
            service,
            placement,
        });
    }
    let on_network = planned.iter().any(|p| p.placement == Placement::Service);
    let net = network(config, opts, opts.iguana && on_network)?;
    // Without iguana no dPoW port is published, so none is needed.
    let dpow_port = if opts.iguana {
        dpow_port(config, opts)?
    } else {
        0
    };
    Ok(Writer {
        config,
        opts,
        planned: &planned,
        elsewhere: &elsewhere,
        net: &net,
        dpow_port,
        out: String::new(),
    }
    .write())
}

/// Double-quoted YAML scalar for an operator-supplied string; `$` is doubled
/// because compose interpolates it.
/// The compose secret (and the file in --secrets-dir) holding a chain's own
/// secret: `<service>_seed`, mounted at the daemon's /run/secrets/dokomodo_seed.
fn chain_secret_name(p: &Planned) -> String {
    format!("{}_seed", p.service)
}

fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A path as compose reads it: relative paths need `./` to be a bind mount.
fn host_path(s: &str) -> String {
    if s.starts_with('/') || s.starts_with("./") || s.starts_with("../") || s.starts_with('~') {
        s.to_owned()
    } else {
        format!("./{s}")
    }
}

struct Writer<'a> {
    config: &'a Config,
    opts: &'a Options,
    planned: &'a [Planned<'a>],
    elsewhere: &'a [&'a Chain],
    net: &'a Network,
    /// iguana's dPoW port (see `dpow_port`).
    dpow_port: u16,
    out: String,
}

impl Writer<'_> {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn image(&self, role: &str) -> String {
        let tag = match &self.opts.tag {
            Some(t) => t.clone(),
            None => "${DOKOMODO_TAG:-latest}".to_owned(),
        };
        format!("{}{role}:{tag}", self.opts.image_prefix)
    }

    fn yaml_file(&self) -> String {
        let path = self
            .opts
            .yaml_file
            .clone()
            .unwrap_or_else(|| self.config.path.display().to_string());
        host_path(&path)
    }

    fn secret_file(&self, name: &str) -> String {
        format!(
            "{}/{name}",
            host_path(self.opts.secrets_dir.trim_end_matches('/'))
        )
    }

    fn rpc_publish(&self, port: u16) -> Option<String> {
        self.opts.publish_rpc.map(|ip| match ip {
            IpAddr::V4(v4) => format!("\"{v4}:{port}:{port}\""),
            IpAddr::V6(v6) => format!("\"[{v6}]:{port}:{port}\""),
        })
    }

    fn write(mut self) -> String {
        self.header();
        let _ = writeln!(self.out, "name: {}\n", self.opts.project);
        self.anchors();
        self.line("services:");
        for p in self.planned {
            self.chain_service(p);
        }
        if self.opts.iguana {
            self.iguana_service();
            self.monitor_service();
        }
        self.networks();
        self.line("# One volume per daemon, never shared: each container renders its own copy");
        self.line("# of the conf files it needs from the same YAML and seed.");
        self.line("volumes:");
        for p in self.planned {
            let _ = writeln!(self.out, "  {}-data: {{}}", p.service);
        }
        if self.opts.iguana {
            self.line("  iguana-data: {}");
        }
        self.line("");
        self.line("secrets:");
        for p in self.planned {
            let name = chain_secret_name(p);
            let _ = writeln!(
                self.out,
                "  {name}:\n    file: {}",
                quoted(&self.secret_file(&name))
            );
        }
        if self.opts.iguana {
            let _ = writeln!(
                self.out,
                "  dokomodo_seed:\n    file: {}",
                quoted(&self.secret_file("dokomodo_seed"))
            );
            let _ = writeln!(
                self.out,
                "  wallet_passphrase:\n    file: {}",
                quoted(&self.secret_file("wallet_passphrase"))
            );
        }
        self.out
    }

    fn header(&mut self) {
        let n = self.planned.len();
        let with = if self.opts.iguana { " and iguana" } else { "" };
        let _ = writeln!(
            self.out,
            "# Generated by `dokomodo compose` from {}: {n} chain(s){with}.",
            self.config.path.display()
        );
        self.line("# Regenerate it after editing the YAML rather than editing it by hand.");
        self.line("#");
        self.line("# Before `docker compose up -d`: the secrets, never committed, readable by uid");
        self.line("# 10001 (the images' user; a compose file secret keeps the host file's owner):");
        if self.opts.iguana {
            let _ = writeln!(
                self.out,
                "#   {}  the master seed, iguana's only: it derives every chain's credentials",
                self.secret_file("dokomodo_seed")
            );
            let _ = writeln!(
                self.out,
                "#   {}  iguana's wallet passphrase",
                self.secret_file("wallet_passphrase")
            );
        }
        self.line(
            "# and each daemon's own chain secret, derived from the master, so that a daemon's",
        );
        self.line("# container holds its own chain's credentials and no other's:");
        for p in self.planned {
            let _ = writeln!(
                self.out,
                "#   dokomodo secret --chain {} > {}",
                p.chain.name,
                self.secret_file(&chain_secret_name(p))
            );
        }
        match (self.net.subnet, self.net.iguana_ip) {
            (Some(subnet), None) => {
                let _ = writeln!(
                    self.out,
                    "# Network {subnet}: from rpc.allow, so komodod accepts RPC calls from iguana at any"
                );
                self.line("# address in it. Pass --subnet if it overlaps a network of this host.");
            }
            (Some(subnet), Some(ip)) => {
                let _ = writeln!(
                    self.out,
                    "# Network {subnet}, iguana fixed at {ip}: the address rpc.allow lets call RPC."
                );
            }
            (None, _) => {
                self.line("# Network: Docker's choice (no chain is called over it by iguana here).")
            }
        }
        self.line("# P2P ports are published on every address (peers must reach them); RPC ports");
        match self.opts.publish_rpc {
            None => self.line("# are not published."),
            Some(ip) => {
                let _ = writeln!(self.out, "# are published on {ip} only.");
            }
        }
        self.line(
            "# stop_grace_period 330s is longer than dokomodo's own 300 s grace, so dokomodo,",
        );
        self.line("# not Docker's SIGKILL, decides when a daemon has had long enough to flush.");
        if !self.elsewhere.is_empty() {
            self.line("#");
            self.line(
                "# Not in this file, their host is another machine (generate theirs there with",
            );
            self.line("# `dokomodo compose --no-iguana NAME...`):");
            for chain in self.elsewhere {
                let _ = writeln!(self.out, "#   {} at {}", chain.name, chain.host);
            }
        }
        self.line("");
    }

    fn anchors(&mut self) {
        self.line("x-daemon: &daemon");
        self.line("  restart: unless-stopped");
        self.line("  stop_grace_period: 330s");
        self.line("  # dokomodo is the init (PID 1): no docker-init in front of it.");
        self.line("  init: false");
        self.line("  read_only: true");
        self.line("  tmpfs:\n    - /tmp");
        self.line("  cap_drop:\n    - ALL");
        self.line("  security_opt:\n    - no-new-privileges:true");
        self.line("");
        self.line("x-komodod: &komodod");
        self.line("  <<: *daemon");
        self.komodod_image("  ");
        self.line("  networks:");
        self.line("    notary: {}");
        self.line("");
        self.line("# komodod may take many minutes to load its block index: failed probes in");
        self.line("# start_period do not count, and iguana waits for every chain to be healthy.");
        self.line("x-health: &health");
        self.line("  interval: 30s");
        self.line("  timeout: 20s");
        self.line("  retries: 5");
        self.line("  start_period: 900s");
        self.line("");
    }

    fn komodod_image(&mut self, indent: &str) {
        let image = self.image("komodod");
        let _ = writeln!(self.out, "{indent}image: {image}");
        if self.opts.build {
            let _ = writeln!(
                self.out,
                "{indent}build:\n{indent}  context: .\n{indent}  dockerfile: Dockerfile.komodod"
            );
        }
    }

    /// A coin's own image (LTC: dokomodo/litecoind, from Dockerfile.litecoind),
    /// named after its daemon, over the komodod image the anchor gives.
    fn coin_image(&mut self, chain: &Chain) {
        let image = self.image(&chain.daemon);
        let _ = writeln!(self.out, "    image: {image}");
        if self.opts.build {
            let _ = writeln!(
                self.out,
                "    build:\n      context: .\n      dockerfile: Dockerfile.{}",
                chain.daemon
            );
        }
    }

    fn config_mount(&mut self) {
        let source = quoted(&self.yaml_file());
        let _ = writeln!(
            self.out,
            "      - type: bind\n        source: {source}\n        target: /etc/dokomodo/notary.yaml\n        read_only: true"
        );
    }

    fn chain_service(&mut self, p: &Planned) {
        let chain = p.chain;
        let _ = writeln!(self.out, "  {}:", p.service);
        match p.placement {
            Placement::Service => {
                self.line("    <<: *komodod");
                if chain.coin.is_some() {
                    self.coin_image(chain);
                }
            }
            Placement::BesideIguana => {
                self.line("    <<: *daemon");
                self.komodod_image("    ");
                if chain.coin.is_some() {
                    self.coin_image(chain);
                }
                self.line(
                    "    # host 127.0.0.1: iguana calls it on loopback, so it shares iguana's",
                );
                self.line(
                    "    # network namespace; its ports are published by the iguana service.",
                );
                self.line("    network_mode: \"service:iguana\"");
            }
        }
        let _ = writeln!(
            self.out,
            "    environment:\n      DOKOMODO_CHAIN: {}",
            chain.name
        );
        let _ = writeln!(
            self.out,
            "    # {}'s own secret, where dokomodo reads the seed: never the master.\n    secrets:\n      - source: {}\n        target: dokomodo_seed",
            chain.name,
            chain_secret_name(p)
        );
        if p.placement == Placement::Service {
            let _ = writeln!(
                self.out,
                "    ports:\n      - \"{0}:{0}\"",
                chain.p2p_port()
            );
            if let Some(rpc) = self.rpc_publish(chain.rpc_port()) {
                let _ = writeln!(self.out, "      - {rpc}");
            }
        }
        let _ = writeln!(
            self.out,
            "    volumes:\n      - {}-data:/home/komodo",
            p.service
        );
        self.config_mount();
        self.line("    healthcheck:\n      <<: *health");
        let _ = writeln!(
            self.out,
            "      test: [\"CMD\", \"/usr/local/bin/dokomodo\", \"health\", \"--chain\", \"{}\"]",
            chain.name
        );
        self.line("");
    }

    /// `dokomodo monitor` in iguana's network namespace (iguana's RPC is
    /// loopback-only), reading iguana's start-up status from its volume.
    fn monitor_service(&mut self) {
        self.line("  # Metrics for Prometheus and the UTXO upkeep: `dokomodo monitor`, scraped at");
        self.line("  # iguana's address, port 9641 (deploy/prometheus/rules.yml).");
        self.line("  monitor:");
        self.line("    <<: *daemon");
        let image = self.image("iguana");
        let _ = writeln!(self.out, "    image: {image}");
        self.line("    entrypoint: [\"/usr/local/bin/dokomodo\", \"init\", \"--\", \"/usr/local/bin/dokomodo\", \"monitor\", \"--listen\", \"0.0.0.0:9641\"]");
        self.line("    network_mode: \"service:iguana\"");
        self.line("    volumes:\n      - iguana-data:/home/komodo:ro");
        self.config_mount();
        self.line("    secrets:\n      - dokomodo_seed\n      - wallet_passphrase");
        self.line("    depends_on:\n      iguana:\n        condition: service_started\n        restart: true");
        self.line("");
    }

    fn iguana_service(&mut self) {
        self.line("  iguana:");
        self.line("    <<: *daemon");
        let image = self.image("iguana");
        let _ = writeln!(self.out, "    image: {image}");
        if self.opts.build {
            self.line(
                "    build:\n      context: .\n      dockerfile: Dockerfile.iguana\n      args:",
            );
            self.line(
                "        # No default: there is no official iguana image (see Dockerfile.iguana).",
            );
            self.line(
                "        IGUANA_IMAGE: ${IGUANA_IMAGE:?set IGUANA_IMAGE to an image with iguana on PATH that you built (see Dockerfile.iguana)}",
            );
        }
        self.line("    secrets:\n      - dokomodo_seed\n      - wallet_passphrase");
        if self.config.iguana.myipaddr.is_none() {
            self.line("    environment:");
            self.line("      # The public IPv4 address iguana announces (myipaddr).");
            self.line(
                "      DOKOMODO_MYIPADDR: ${DOKOMODO_MYIPADDR:?set DOKOMODO_MYIPADDR to this notary's public IPv4 address (or iguana.myipaddr in the YAML)}",
            );
        }
        self.line("    networks:");
        match self.net.iguana_ip {
            Some(ip) => {
                let _ = writeln!(self.out, "      notary:\n        ipv4_address: {ip}");
            }
            None => self.line("      notary: {}"),
        }
        self.line("    ports:");
        let peer = self.dpow_port;
        let _ = writeln!(
            self.out,
            "      # dPoW peer port. iguana's own RPC is unauthenticated: never publish it.\n      - \"{peer}:{peer}\""
        );
        let beside: Vec<&Planned> = self
            .planned
            .iter()
            .filter(|p| p.placement == Placement::BesideIguana)
            .collect();
        for p in &beside {
            let port = p.chain.p2p_port();
            let _ = writeln!(
                self.out,
                "      - \"{port}:{port}\"  # {} P2P",
                p.chain.name
            );
            if let Some(rpc) = self.rpc_publish(p.chain.rpc_port()) {
                let _ = writeln!(self.out, "      - {rpc}  # {} RPC", p.chain.name);
            }
        }
        self.line("    volumes:\n      - iguana-data:/home/komodo");
        self.config_mount();
        if let Some(file) = &self.config.iguana.elected_file {
            // Beside the YAML, where iguana.elected_file names it.
            let yaml = self.yaml_file();
            let dir = std::path::Path::new(&yaml)
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let source = if file.path.starts_with('/') || dir.is_empty() {
                file.path.clone()
            } else {
                format!("{dir}/{}", file.path)
            };
            let target = if file.path.starts_with('/') {
                file.path.clone()
            } else {
                format!("/etc/dokomodo/{}", file.path)
            };
            let _ = writeln!(
                self.out,
                "      - type: bind\n        source: {}\n        target: {}\n        read_only: true",
                quoted(&host_path(&source)),
                quoted(&target)
            );
        }
        self.line("    healthcheck:\n      <<: *health");
        self.line("      test: [\"CMD\", \"/usr/local/bin/dokomodo\", \"health\"]");
        let on_network: Vec<&Planned> = self
            .planned
            .iter()
            .filter(|p| p.placement == Placement::Service)
            .collect();
        if !on_network.is_empty() {
            self.line(
                "    # Started once every chain answers RPC, so its addcoin calls find them.",
            );
            self.line("    depends_on:");
            for p in on_network {
                let _ = writeln!(
                    self.out,
                    "      {}:\n        condition: service_healthy",
                    p.service
                );
            }
        }
        self.line("");
    }

    fn networks(&mut self) {
        self.line("networks:");
        match self.net.subnet {
            Some(subnet) => {
                let _ = writeln!(
                    self.out,
                    "  notary:\n    ipam:\n      config:\n        - subnet: {subnet}"
                );
            }
            None => self.line("  notary: {}"),
        }
        self.line("");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(yaml: &str) -> Config {
        crate::config::parse(Path::new("notary.yaml"), yaml).unwrap()
    }

    const DEV: &str = "rpc:\n  allow: [172.20.0.0/16]\nchains:\n  KMD: {}\n  BEER:\n    ac_supply: 100000000\n  PIZZA:\n    ac_supply: 100000000\n";

    fn generate_with(yaml: &str, args: &[&str]) -> Result<String, ComposeError> {
        let mut parser = lexopt::Parser::from_args(args.iter().map(|a| a.to_string()));
        let mut path = None;
        let opts = parse_args(&mut parser, &mut path)?.expect("not --help");
        generate(&config(yaml), &opts)
    }

    /// dPoW's elected files, as CI has them beside the clone.
    fn upstream_elected(name: &str) -> String {
        format!(
            "{}/../shared/upstream/dpow/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// `generate_with`, given this season's elected file unless `args` name one.
    fn generated(yaml: &str, args: &[&str]) -> String {
        let elected = upstream_elected("elected");
        let mut args = args.to_vec();
        if !args.contains(&"--elected") {
            args.extend(["--elected", &elected]);
        }
        generate_with(yaml, &args).unwrap()
    }

    /// The lines of one service's block.
    fn service<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
        let start = format!("  {name}:");
        let mut lines = text.lines().skip_while(|l| *l != start);
        let first = lines
            .next()
            .unwrap_or_else(|| panic!("no service {name} in:\n{text}"));
        std::iter::once(first)
            .chain(
                lines
                    .take_while(|l| l.starts_with("    ") || l.is_empty())
                    .filter(|l| !l.is_empty()),
            )
            .collect()
    }

    #[test]
    fn one_service_per_chain_named_as_its_host_with_derived_ports() {
        let text = generated(DEV, &[]);
        let beer = service(&text, "beer").join("\n");
        assert!(beer.contains("DOKOMODO_CHAIN: BEER"), "{beer}");
        assert!(beer.contains("- \"8922:8922\""), "{beer}");
        assert!(
            !beer.contains("8923"),
            "RPC must not be published by default: {beer}"
        );
        assert!(beer.contains("- beer-data:/home/komodo"));
        assert!(beer.contains("\"health\", \"--chain\", \"BEER\""));
        let kmd = service(&text, "kmd").join("\n");
        assert!(
            kmd.contains("- \"7770:7770\"") && !kmd.contains("7771"),
            "{kmd}"
        );
        assert!(
            service(&text, "pizza")
                .join("\n")
                .contains("- \"11607:11607\"")
        );
    }

    #[test]
    fn iguana_waits_for_every_chain_to_be_healthy() {
        let text = generated(DEV, &[]);
        let iguana = service(&text, "iguana").join("\n");
        for name in ["kmd", "beer", "pizza"] {
            assert!(
                iguana.contains(&format!(
                    "      {name}:\n        condition: service_healthy"
                )),
                "{iguana}"
            );
        }
        assert!(iguana.contains("- wallet_passphrase") && iguana.contains("- dokomodo_seed"));
        // Each daemon gets its own chain's secret where the seed is read; the
        // master is iguana's only.
        for name in ["kmd", "beer", "pizza"] {
            let daemon = service(&text, name).join("\n");
            assert!(
                daemon.contains(&format!(
                    "    secrets:\n      - source: {name}_seed\n        target: dokomodo_seed"
                )),
                "{daemon}"
            );
            assert!(!daemon.contains("- dokomodo_seed"), "{daemon}");
        }
        // The master: iguana's, and the monitor's beside it.
        assert_eq!(text.matches("- dokomodo_seed").count(), 2, "{text}");
        let monitor = service(&text, "monitor").join("\n");
        assert!(
            monitor.contains("network_mode: \"service:iguana\""),
            "{monitor}"
        );
        assert!(
            monitor.contains("- iguana-data:/home/komodo:ro"),
            "{monitor}"
        );
        assert!(iguana.contains("- \"13848:13848\""));
        assert!(iguana.contains("\"/usr/local/bin/dokomodo\", \"health\"]"));
    }

    #[test]
    fn shared_settings_and_a_volume_per_daemon() {
        let text = generated(DEV, &[]);
        for needle in [
            "  restart: unless-stopped\n",
            "  stop_grace_period: 330s\n",
            "  image: dokomodo/komodod:${DOKOMODO_TAG:-latest}\n",
            "    image: dokomodo/iguana:${DOKOMODO_TAG:-latest}\n",
            "        IGUANA_IMAGE: ${IGUANA_IMAGE:?set IGUANA_IMAGE to an image with iguana on PATH that you built (see Dockerfile.iguana)}\n",
            "      DOKOMODO_MYIPADDR: ${DOKOMODO_MYIPADDR:?set DOKOMODO_MYIPADDR to this notary's public IPv4 address (or iguana.myipaddr in the YAML)}\n",
            "volumes:\n  kmd-data: {}\n  beer-data: {}\n  pizza-data: {}\n  iguana-data: {}\n",
            "  dokomodo_seed:\n    file: \"./secrets/dokomodo_seed\"\n",
            "  kmd_seed:\n    file: \"./secrets/kmd_seed\"\n",
            "  beer_seed:\n    file: \"./secrets/beer_seed\"\n",
            "  pizza_seed:\n    file: \"./secrets/pizza_seed\"\n",
            "#   dokomodo secret --chain BEER > ./secrets/beer_seed\n",
            "  wallet_passphrase:\n    file: \"./secrets/wallet_passphrase\"\n",
            "        source: \"./notary.yaml\"\n        target: /etc/dokomodo/notary.yaml\n        read_only: true\n",
            "  notary:\n    ipam:\n      config:\n        - subnet: 172.20.0.0/16\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert_eq!(
            text,
            generated(DEV, &[]),
            "the same input gives the same text"
        );
    }

    #[test]
    fn options_change_images_paths_and_rpc_publishing() {
        let text = generated(
            DEV,
            &[
                "--image-prefix",
                "registry.example.org:5000/notary/",
                "--tag",
                "v1",
                "--no-build",
                "--yaml-file",
                "conf/my notary.yaml",
                "--secrets-dir",
                "/srv/s/",
                "--publish-rpc",
                "127.0.0.1",
                "--project",
                "n1",
            ],
        );
        assert!(text.contains("image: registry.example.org:5000/notary/komodod:v1\n"));
        assert!(text.contains("image: registry.example.org:5000/notary/iguana:v1\n"));
        assert!(!text.contains("build:") && !text.contains("IGUANA_IMAGE"));
        assert!(text.contains("source: \"./conf/my notary.yaml\""));
        assert!(text.contains("file: \"/srv/s/dokomodo_seed\""));
        assert!(
            text.contains("- \"127.0.0.1:8923:8923\"")
                && text.contains("- \"127.0.0.1:7771:7771\"")
        );
        assert!(text.starts_with("# Generated") && text.contains("\nname: n1\n"));
    }

    #[test]
    fn bad_options_are_usage_errors() {
        for args in [
            &["--publish-rpc", "0.0.0.0"][..],
            &["--publish-rpc", "nowhere"],
            &["--subnet", "10.0.0.1"],
            &["--subnet", "10.0.0.0/31"],
            &["--tag", "a b"],
            &["--image-prefix", "Upper/"],
            &["--frobnicate"],
        ] {
            let err = generate_with(DEV, args).unwrap_err();
            assert!(matches!(err, ComposeError::Usage(_)), "{args:?}: {err}");
        }
    }

    #[test]
    fn subnet_comes_from_rpc_allow_or_must_be_covered_by_it() {
        let netmask =
            "rpc:\n  allow: [10.9.0.0/255.255.0.0]\nchains:\n  BEER: {ac_supply: 100000000}\n";
        assert!(generated(netmask, &[]).contains("- subnet: 10.9.0.0/16\n"));
        let one = "rpc:\n  allow: [172.30.77.10]\nchains:\n  BEER: {ac_supply: 100000000}\n";
        let text = generated(one, &[]);
        assert!(
            text.contains("- subnet: 172.30.77.0/24\n")
                && text.contains("ipv4_address: 172.30.77.10\n"),
            "{text}"
        );
        assert!(
            generated(DEV, &["--subnet", "172.20.5.0/24"]).contains("- subnet: 172.20.5.0/24\n")
        );
        let err = generate_with(DEV, &["--subnet", "10.1.0.0/16"]).unwrap_err();
        assert!(
            matches!(err, ComposeError::SubnetNotAllowed { .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("not covered by rpc.allow (172.20.0.0/16)"),
            "{err}"
        );
        let v6 = "rpc:\n  allow: [fd00::/8]\nchains:\n  BEER: {ac_supply: 100000000}\n";
        assert!(matches!(
            generate_with(v6, &[]),
            Err(ComposeError::NoSubnet { .. })
        ));
    }

    #[test]
    fn chains_elsewhere_are_left_out_and_can_be_named() {
        let yaml = "rpc:\n  allow: [172.20.0.0/16, 10.1.2.3]\nchains:\n  KMD: {}\n  BEER:\n    ac_supply: 100000000\n    host: beer.example.org\n";
        let text = generated(yaml, &[]);
        assert!(text.contains("#   BEER at beer.example.org\n"), "{text}");
        assert!(!text.contains("DOKOMODO_CHAIN: BEER") && !text.contains("  beer:"));
        let there = generated(yaml, &["--no-iguana", "--publish-rpc", "10.0.0.5", "BEER"]);
        assert!(there.contains("DOKOMODO_CHAIN: BEER") && !there.contains("DOKOMODO_CHAIN: KMD"));
        assert!(
            !there.contains("iguana") || !there.contains("  iguana:"),
            "{there}"
        );
        assert!(there.contains("- \"10.0.0.5:8923:8923\""));
        assert!(!there.contains("wallet_passphrase"));
        let only_iguana_host = "rpc:\n  allow: [10.0.0.4]\nchains:\n  BEER: {ac_supply: 100000000, host: beer.example.org}\n";
        let there = generated(only_iguana_host, &["--no-iguana", "BEER"]);
        assert!(
            !there.contains("10.0.0.0/24") && there.contains("  notary: {}\n"),
            "{there}"
        );
    }

    #[test]
    fn a_loopback_chain_shares_iguanas_network_namespace() {
        let yaml = "rpc:\n  allow: [172.20.0.0/16]\nchains:\n  KMD: {host: 127.0.0.1}\n  BEER:\n    ac_supply: 100000000\n";
        let text = generated(yaml, &[]);
        let kmd = service(&text, "kmd").join("\n");
        assert!(
            kmd.contains("network_mode: \"service:iguana\"") && !kmd.contains("ports:"),
            "{kmd}"
        );
        let iguana = service(&text, "iguana").join("\n");
        assert!(iguana.contains("- \"7770:7770\"  # KMD P2P"), "{iguana}");
        assert!(
            !iguana.contains("kmd:\n"),
            "iguana cannot wait for a chain in its own namespace: {iguana}"
        );
        assert!(iguana.contains("beer:\n        condition: service_healthy"));
    }

    #[test]
    fn clashing_service_names_are_refused() {
        let yaml = "rpc:\n  allow: [172.20.0.0/16]\nchains:\n  BEER: {ac_supply: 100000000, host: node1}\n  PIZZA: {ac_supply: 100000000, host: node1}\n";
        let err = generate_with(yaml, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "chains BEER and PIZZA both have host `node1`: each chain runs in its own container, so give each its own `host`"
        );
        let yaml = "rpc:\n  allow: [172.20.0.0/16]\nchains:\n  IGUANA: {ac_supply: 100000000}\n";
        assert!(matches!(
            generate_with(yaml, &[]),
            Err(ComposeError::IguanaName { .. })
        ));
        assert!(matches!(
            generate_with(DEV, &["DOGE"]),
            Err(ComposeError::UnknownChain { .. })
        ));
    }

    #[test]
    fn third_party_iguana_publishes_its_own_peer_port() {
        let yaml = "rpc:\n  allow: [172.20.0.0/16]\niguana:\n  elected: 3rd_party\nchains:\n  BEER: {ac_supply: 100000000}\n";
        let elected = upstream_elected("3rd_party");
        let text = generated(yaml, &["--elected", &elected]);
        assert!(text.contains("- \"13845:13845\""), "{text}");
    }

    #[test]
    fn the_dpow_port_comes_from_the_elected_file_or_the_yaml() {
        let notary = upstream_elected("elected");
        assert!(generated(DEV, &[]).contains("- \"13848:13848\""));
        let with_port = DEV.replace("chains:", "iguana: {dpow_port: 13348}\nchains:");
        assert!(
            generate_with(&with_port, &[])
                .unwrap()
                .contains("- \"13348:13348\"")
        );
        assert_eq!(
            generate_with(DEV, &[]).unwrap_err().to_string(),
            "notary.yaml: iguana's dPoW port comes from this season's elected file: pass \
             --elected FILE, or set iguana.elected_file, or iguana.dpow_port to the file's `port`"
        );
        assert_eq!(
            generate_with(&with_port, &["--elected", &notary])
                .unwrap_err()
                .to_string(),
            format!(
                "{notary} gives dPoW port 13848, but notary.yaml has iguana.dpow_port 13348: \
                 iguana binds the file's port, so correct iguana.dpow_port"
            )
        );
        assert!(
            generate_with(DEV, &["--no-iguana"]).is_ok(),
            "no iguana, no port needed"
        );
    }
}
