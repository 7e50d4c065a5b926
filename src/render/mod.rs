//! What each role needs on disk, as data: a pure function of (config, seed,
//! role, home). Nothing here touches the disk; `files` writes the result.

pub mod files;
pub mod run;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::config::ports;
use crate::config::{Chain, Coin, Config};
use crate::secrets::creds::{self, Credentials};
use crate::secrets::seed::Seed;

/// The genesis block every Komodo assetchain shares, as komodod writes it into
/// the addcoin JSON (`NAME_7776`); its double-SHA256 is `GENESIS_HASH`.
const GENESIS_BLOCK: &str = include_str!("genesis.hex");
const GENESIS_HASH: &str = "027e3758c3a65b12aa1046462b486d0a63bfa1beae327897f56c5cfb7daaae71";

/// One file to write, relative to HOME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: PathBuf,
    pub contents: String,
}

/// Everything one role needs, relative to HOME.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Directories that must exist even if no file goes in them.
    pub dirs: Vec<PathBuf>,
    pub files: Vec<File>,
}

impl Plan {
    /// The plan split by the directory its paths are written under: HOME for
    /// relative paths (everything but an absolute `iguana.workdir`), and for
    /// each absolute directory of `dirs` its parent, with paths made relative
    /// to it. The parent must exist; the directory itself is created, and no
    /// symlink below the parent is followed, as below HOME.
    pub fn by_root(self, home: &Path) -> Vec<(PathBuf, Plan)> {
        let mut roots: Vec<(PathBuf, Plan)> = vec![(home.to_path_buf(), Plan::default())];
        let outside: Vec<PathBuf> = self
            .dirs
            .iter()
            .filter(|d| d.is_absolute())
            .cloned()
            .collect();
        // The root of an absolute path: the parent of the absolute directory
        // it is in (a file outside all of them: its own parent).
        let root_of = |path: &Path| -> (PathBuf, PathBuf) {
            let top = outside
                .iter()
                .find(|d| path.starts_with(d))
                .map(PathBuf::as_path)
                .unwrap_or(path);
            let root = top.parent().unwrap_or(Path::new("/")).to_path_buf();
            let relative = path.strip_prefix(&root).unwrap_or(path).to_path_buf();
            (root, relative)
        };
        let slot = |roots: &mut Vec<(PathBuf, Plan)>, root: PathBuf| -> usize {
            match roots.iter().position(|(r, _)| *r == root) {
                Some(i) => i,
                None => {
                    roots.push((root, Plan::default()));
                    roots.len() - 1
                }
            }
        };
        for dir in self.dirs {
            if dir.is_absolute() {
                let (root, relative) = root_of(&dir);
                let i = slot(&mut roots, root);
                roots[i].1.dirs.push(relative);
            } else {
                roots[0].1.dirs.push(dir);
            }
        }
        for file in self.files {
            if file.path.is_absolute() {
                let (root, relative) = root_of(&file.path);
                let i = slot(&mut roots, root);
                roots[i].1.files.push(File {
                    path: relative,
                    contents: file.contents,
                });
            } else {
                roots[0].1.files.push(file);
            }
        }
        roots
    }
}

/// Where the iguana role writes each coin's addcoin JSON, relative to HOME.
pub fn addcoin_dir(config: &Config) -> PathBuf {
    iguana_workdir(config).join("addcoin")
}

/// iguana's working directory, relative to HOME unless the YAML made it
/// absolute (then `Plan::by_root` writes it under its own parent).
pub fn iguana_workdir(config: &Config) -> PathBuf {
    PathBuf::from(&config.iguana.workdir)
}

/// The files of the daemon role for one chain: its conf, nothing else.
///
/// No KMD conf for an assetchain: komodod reads `~/.komodo/komodo.conf` (for
/// KMD's credentials) only when the assetchain's own conf has no `rpcport`
/// (`komodo_args`: `komodo_userpass` finds it, so `komodo_configfile` is
/// skipped), and ours always has one. Writing it would only spread KMD's
/// password (KMD holds the notary wallet) into every assetchain's container,
/// and shrink KMD's own conf when both share a HOME.
pub fn daemon(config: &Config, chain: &Chain, seed: &Seed) -> Plan {
    Plan {
        dirs: vec![chain.data_dir()],
        files: vec![File {
            path: chain.conf_path(),
            contents: chain_conf(config, chain, seed),
        }],
    }
}

/// The files of the iguana role: every chain's conf, byte-identical to what
/// the komodod role writes for it, and every coin's addcoin JSON.
pub fn iguana(config: &Config, seed: &Seed, home: &Path) -> Plan {
    let mut plan = Plan {
        dirs: vec![iguana_workdir(config)],
        files: Vec::with_capacity(2 * config.chains.len()),
    };
    let keys = creds::Keys::new(seed);
    for chain in &config.chains {
        plan.files.push(File {
            path: chain.conf_path(),
            contents: conf(config, chain, &keys),
        });
    }
    if let Some((text, _)) = config
        .iguana
        .elected_file
        .as_ref()
        .and_then(|f| f.loaded.as_ref())
    {
        // The file iguana reads from its working directory, by its role's name.
        plan.files.push(File {
            path: iguana_workdir(config).join(config.iguana.elected_file_name()),
            contents: text.clone(),
        });
    }
    let addcoin_dir = addcoin_dir(config);
    for chain in &config.chains {
        plan.files.push(File {
            path: addcoin_dir.join(format!("{}.json", chain.name)),
            contents: addcoin(chain, home),
        });
    }
    plan
}

/// The daemon's command line for a chain, after the program name: its
/// identity (`-ac_name` and every `-ac_*`, which komodod reads before its
/// conf), its seeds, the notary pubkey, and `-datadir`/`-port` only where
/// komodod's defaults would be wrong. KMD gets no `-ac_*`; a coin (LTC) gets
/// only its own seeds, `-port` and `args`: its daemon reads its conf from
/// its default data directory, as upstream starts it.
pub fn daemon_args(config: &Config, chain: &Chain, home: &Path) -> Vec<String> {
    let mut args = Vec::new();
    if chain.coin.is_some() {
        args.extend(chain.addnode.iter().map(|seed| format!("-addnode={seed}")));
        if let Some(port) = chain.p2p_override {
            args.push(format!("-port={port}"));
        }
        args.extend(chain.args.iter().cloned());
        return args;
    }
    if !chain.is_kmd() {
        args.push(format!("-ac_name={}", chain.ac_name));
        for (name, value) in &chain.params {
            args.push(format!("-{name}={value}"));
        }
    }
    for seed in &chain.addnode {
        args.push(format!("-addnode={seed}"));
    }
    if let Some(pubkey) = &config.pubkey {
        args.push(format!("-pubkey={pubkey}"));
    }
    if chain.needs_datadir_flag() {
        args.push(format!(
            "-datadir={}",
            home.join(chain.data_dir()).display()
        ));
    }
    if let Some(port) = chain.p2p_override {
        args.push(format!("-port={port}"));
    }
    args.extend(chain.args.iter().cloned());
    args
}

/// A chain's conf: strict `key=value` lines, no spaces, no comments (komodod
/// and iguana match keys as substrings and komodod keeps spaces before `=`).
/// Never `daemon=1`: komodod would fork away from the init.
pub fn chain_conf(config: &Config, chain: &Chain, seed: &Seed) -> String {
    conf(config, chain, &creds::Keys::new(seed))
}

/// `chain_conf` with the seed keyed once for many chains.
fn conf(config: &Config, chain: &Chain, keys: &creds::Keys) -> String {
    let creds = keys.for_chain(chain);
    let mut conf = credentials_lines(&creds, chain.rpc_port());
    conf.push_str("server=1\ntxindex=1\nrpcworkqueue=256\n");
    if config.rpc_allow.is_empty() {
        // komodod's own default: loopback only.
        conf.push_str("rpcbind=127.0.0.1\nrpcallowip=127.0.0.1\n");
    } else {
        // rpcbind is ignored without rpcallowip; 0.0.0.0 also covers loopback,
        // which the health probe in the container uses.
        conf.push_str("rpcbind=0.0.0.0\nrpcallowip=127.0.0.1\n");
        for allow in &config.rpc_allow {
            let _ = writeln!(conf, "rpcallowip={allow}");
        }
    }
    conf
}

fn credentials_lines(creds: &Credentials, rpcport: u16) -> String {
    format!(
        "rpcuser={}\nrpcpassword={}\nrpcport={rpcport}\n",
        creds.rpcuser, creds.rpcpassword
    )
}

/// The JSON iguana's `addcoin` takes for this chain, in the field order
/// komodod itself writes into `NAME_7776`. `path` is the data directory
/// relative to `/`, as iguana expects. A chain in another container gets
/// `rpchost`; iguana still reads the credentials from the conf at `path`.
pub fn addcoin(chain: &Chain, home: &Path) -> String {
    if let Some(coin) = &chain.coin {
        return coin_addcoin(chain, coin, home);
    }
    let data_dir = home.join(chain.data_dir());
    let path = data_dir.to_string_lossy();
    let path = path.trim_start_matches('/');
    let conf = chain.conf_path();
    let conf_name = conf
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let notarypay = chain
        .params
        .get("ac_notarypay")
        .and_then(|v| v.split(',').next())
        .unwrap_or("0");
    let seed_ip = chain.addnode.first().map(String::as_str).unwrap_or("");
    let mut json = crate::json::Object::with_capacity(GENESIS_BLOCK.len() + 1024);
    json.string("conf", &conf_name);
    json.string("path", path);
    json.string("unitval", "20");
    json.raw("zcash", "1");
    json.raw("RELAY", "-1");
    json.raw("VALIDATE", "0");
    json.raw("prefetchlag", "-1");
    // KMD's differ: upstream adds it with iguana/coins/kmd_7776, an
    // assetchain with the NAME_7776 komodod writes.
    let kmd = chain.is_kmd();
    json.raw("poll", if kmd { "10" } else { "100" });
    json.raw("active", "1");
    json.string("agent", "iguana");
    json.string("method", "addcoin");
    json.raw("startpend", if kmd { "8" } else { "4" });
    json.raw("endpend", if kmd { "8" } else { "4" });
    json.raw("services", if kmd { "0" } else { "129" });
    json.raw("maxpeers", if kmd { "32" } else { "8" });
    json.string("newcoin", &chain.name);
    json.string("name", if kmd { "Komodo" } else { &chain.name });
    json.raw("hasheaders", "1");
    json.raw("useaddmultisig", "0");
    json.hex("netmagic", &ports::netmagic(chain.derived.magic));
    json.number("p2p", chain.p2p_port().into());
    json.number("rpc", chain.rpc_port().into());
    if chain.is_remote() {
        json.string("rpchost", &chain.rpchost());
    }
    json.raw("pubval", "60");
    json.raw("p2shval", "85");
    json.raw("wifval", "188");
    json.string("txfee_satoshis", "10000");
    json.raw("isPoS", "0");
    json.raw("minoutput", "10000");
    json.raw("minconfirms", "2");
    json.hex("genesishash", GENESIS_HASH);
    json.raw("protover", "170002");
    json.hex("genesisblock", GENESIS_BLOCK.trim());
    json.raw("debug", "0");
    if !kmd {
        json.string("seedipaddr", seed_ip);
    }
    json.raw("sapling", "1");
    if !kmd {
        json.raw("notarypay", notarypay);
    }
    json.finish() + "\n"
}

/// The addcoin JSON of a coin that is not komodod (LTC): what dokomodo knows
/// of the chain (conf, path, ports, prefixes, host), then the coin's own
/// fields as upstream's `iguana/coins/<coin>_7776` gives them.
fn coin_addcoin(chain: &Chain, coin: &Coin, home: &Path) -> String {
    let data_dir = home.join(chain.data_dir());
    let path = data_dir.to_string_lossy();
    let mut json = crate::json::Object::with_capacity(512);
    json.string("conf", &coin.conf)
        .string("path", path.trim_start_matches('/'))
        .string("newcoin", &chain.name)
        .string("netmagic", &coin.netmagic)
        .number("p2p", chain.p2p_port().into())
        .number("rpc", chain.rpc_port().into());
    if chain.is_remote() {
        json.string("rpchost", &chain.rpchost());
    }
    json.number("pubval", coin.pubval.into())
        .number("p2shval", coin.p2shval.into())
        .number("wifval", coin.wifval.into());
    for (key, value) in &coin.addcoin {
        json.raw(key, value);
    }
    json.finish() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::seed::Source;

    fn seed() -> Seed {
        Seed::from_bytes(b"correct horse battery staple".to_vec(), Source::Env).unwrap()
    }

    fn config(text: &str) -> Config {
        crate::config::parse(Path::new("notary.yaml"), text).unwrap()
    }

    const YAML: &str = "rpc: {allow: [172.20.0.0/16]}\naddnode: [78.47.196.146]\nchains:\n  KMD: {}\n  BEER: {ac_supply: 100000000}\n";

    /// A daemon given its chain's secret (`secrets::chain`) instead of the
    /// master writes byte-identical files.
    #[test]
    fn a_chain_secret_renders_what_the_master_renders() {
        let c = config(YAML);
        let master = seed();
        for chain in &c.chains {
            let text = crate::secrets::chain::text(&creds::Keys::new(&master), chain);
            let own = Seed::from_bytes(text.into_bytes(), Source::Env).unwrap();
            let (a, b) = (daemon(&c, chain, &master), daemon(&c, chain, &own));
            assert_eq!(a.dirs, b.dirs);
            let files = |p: &Plan| -> Vec<(PathBuf, String)> {
                p.files
                    .iter()
                    .map(|f| (f.path.clone(), f.contents.clone()))
                    .collect()
            };
            assert_eq!(files(&a), files(&b), "{}", chain.name);
        }
    }

    #[test]
    fn komodod_conf_for_beer() {
        let c = config(YAML);
        let plan = daemon(&c, c.chain("BEER").unwrap(), &seed());
        assert_eq!(plan.dirs, [PathBuf::from(".komodo/BEER")]);
        let paths: Vec<_> = plan
            .files
            .iter()
            .map(|f| f.path.to_str().unwrap())
            .collect();
        assert_eq!(paths, [".komodo/BEER/BEER.conf"]);
        assert_eq!(
            plan.files[0].contents,
            "rpcuser=user6c7c7a10aa152bb9\n\
             rpcpassword=pass1a05281bae455236e7c8ded0c0c56c3aa01eb9561b67f7f0338e0cc7fb1296ef\n\
             rpcport=8923\nserver=1\ntxindex=1\nrpcworkqueue=256\n\
             rpcbind=0.0.0.0\nrpcallowip=127.0.0.1\nrpcallowip=172.20.0.0/16\n"
        );
    }

    #[test]
    fn kmds_credentials_stay_in_kmds_home_and_iguanas() {
        let c = config(YAML);
        let kmd = c.chain("KMD").unwrap();
        let kmd_conf = chain_conf(&c, kmd, &seed());
        let password = kmd_conf.lines().nth(1).unwrap();
        assert!(password.starts_with("rpcpassword=pass"), "{kmd_conf}");
        for chain in c.chains.iter().filter(|c| !c.is_kmd()) {
            let plan = daemon(&c, chain, &seed());
            assert!(
                plan.files
                    .iter()
                    .all(|f| f.path != kmd.conf_path() && !f.contents.contains(password)),
                "{}: {plan:?}",
                chain.name
            );
        }
        let kmds = daemon(&c, kmd, &seed());
        assert_eq!(kmds.files[0].contents, kmd_conf);
        let iguanas = iguana(&c, &seed(), Path::new("/home/iguana"));
        assert!(iguanas.files.iter().any(|f| f.contents == kmd_conf));
    }

    #[test]
    fn no_daemon_and_no_spaces_ever() {
        let c = config(YAML);
        for chain in &c.chains {
            let conf = chain_conf(&c, chain, &seed());
            assert!(!conf.contains("daemon"));
            assert!(
                conf.lines()
                    .all(|l| !l.contains(' ') && l.split('=').count() == 2),
                "{conf}"
            );
        }
    }

    #[test]
    fn iguana_confs_match_komodod_confs() {
        let c = config(YAML);
        let iguana = iguana(&c, &seed(), Path::new("/home/iguana"));
        for chain in &c.chains {
            let mine = daemon(&c, chain, &seed());
            let theirs = iguana
                .files
                .iter()
                .find(|f| f.path == chain.conf_path())
                .unwrap();
            assert_eq!(mine.files[0], *theirs);
        }
    }

    #[test]
    fn addcoin_json_names_the_conf_and_remote_host() {
        let c = config(YAML);
        let json = addcoin(c.chain("BEER").unwrap(), Path::new("/home/iguana"));
        assert!(
            json.starts_with(
                "{\"conf\":\"BEER.conf\",\"path\":\"home/iguana/.komodo/BEER\",\"unitval\":\"20\""
            ),
            "{json}"
        );
        assert!(json.contains(",\"p2p\":8922,\"rpc\":8923,\"rpchost\":\"beer:8923\","));
        assert!(json.contains("\"seedipaddr\":\"78.47.196.146\""));
        let kmd = addcoin(c.chain("KMD").unwrap(), Path::new("/home/iguana"));
        assert!(kmd.contains("\"conf\":\"komodo.conf\",\"path\":\"home/iguana/.komodo\""));
        assert!(kmd.contains("\"netmagic\":\"f9eee48d\""), "{kmd}");
    }

    #[test]
    fn komodod_command_lines() {
        let c = config(
            "rpc: {allow: [10.0.0.0/8]}\naddnode: [1.2.3.4]\npubkey: 02df9bda7bfe2bcaa938b29a399fb0ba58cfb6cc3ddc0001062a600f60a8237ad9\nchains:\n  KMD: {}\n  GLEEC_OLD:\n    ac_name: GLEEC\n    datadir: GLEEC_OLD\n    ac_supply: 210000000\n    ac_staked: 100\n    ac_public: 1\n    p2p_port_override: 30000\n    args: [-earlytxid=ab]\n",
        );
        let home = Path::new("/home/komodo");
        assert_eq!(
            daemon_args(&c, &c.chains[0], home),
            [
                "-addnode=1.2.3.4",
                "-pubkey=02df9bda7bfe2bcaa938b29a399fb0ba58cfb6cc3ddc0001062a600f60a8237ad9"
            ]
        );
        assert_eq!(
            daemon_args(&c, &c.chains[1], home),
            [
                "-ac_name=GLEEC",
                "-ac_public=1",
                "-ac_staked=100",
                "-ac_supply=210000000",
                "-addnode=1.2.3.4",
                "-pubkey=02df9bda7bfe2bcaa938b29a399fb0ba58cfb6cc3ddc0001062a600f60a8237ad9",
                "-datadir=/home/komodo/.komodo/GLEEC_OLD",
                "-port=30000",
                "-earlytxid=ab",
            ]
        );
    }

    #[test]
    fn genesis_block_is_intact() {
        assert_eq!(GENESIS_BLOCK.trim().len(), 2974);
    }

    #[test]
    fn strings_written_as_hex_are_hex() {
        let c = config(YAML);
        let hex = [
            GENESIS_BLOCK.trim(),
            GENESIS_HASH,
            &ports::netmagic(c.chains[1].derived.magic),
        ];
        for h in hex {
            assert!(h.bytes().all(|b| b.is_ascii_hexdigit()), "{h}");
        }
    }

    #[test]
    fn an_absolute_iguana_workdir_is_written_under_its_own_parent() {
        let c = config(&YAML.replace("chains:", "iguana: {workdir: /srv/dpow/iguana}\nchains:"));
        let plan = iguana(&c, &seed(), Path::new("/home/iguana"));
        let roots = plan.by_root(Path::new("/home/iguana"));
        let paths = |plan: &Plan| -> Vec<String> {
            plan.dirs
                .iter()
                .chain(plan.files.iter().map(|f| &f.path))
                .map(|p| p.display().to_string())
                .collect()
        };
        assert_eq!(roots.len(), 2);
        assert_eq!(roots[0].0, Path::new("/home/iguana"));
        assert_eq!(
            paths(&roots[0].1),
            [".komodo/komodo.conf", ".komodo/BEER/BEER.conf"]
        );
        assert_eq!(roots[1].0, Path::new("/srv/dpow"));
        assert_eq!(
            paths(&roots[1].1),
            [
                "iguana",
                "iguana/addcoin/KMD.json",
                "iguana/addcoin/BEER.json"
            ]
        );
        // Relative workdirs stay under HOME, in one set.
        let c = config(YAML);
        let roots = iguana(&c, &seed(), Path::new("/h")).by_root(Path::new("/h"));
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].1.dirs, [PathBuf::from("iguana")]);
    }
}
